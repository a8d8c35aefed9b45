// The push consumer, concurrent: flow control. Pulls held back or paused by the cache thresholds and
// retried after a failure, and the consume thread pool.
#include <ackmq/push_consumer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <latch>
#include <mutex>
#include <thread>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::ConsumeConcurrentlyContext;
using ackmq::MessageExtList;
using ackmq::testing::awaitIdle;
using ackmq::testing::ManualPushConsumer;
using ackmq_test::Fragile;
using ackmq_test::HeldMessage;
using ackmq_test::LATER;
using ackmq_test::SUCCESS;
using ackmq_test::World;

TEST_SUITE("push_consumer") {
  TEST_CASE("a pull whose copy throws holds nothing, and the queue is pulled again 3 s later" *
            doctest::timeout(30)) {
    ackmq::ManualClock clock;
    ackmq::BasicBroker<Fragile, ackmq::ManualClock> broker(clock);
    broker.createTopic("T", 1);
    ackmq::BasicProducer<decltype(broker)> producer(broker, "p");
    producer.start();
    ackmq::BasicPushConsumer<decltype(broker)> consumer(broker, "g");
    consumer.subscribe("T", "*");
    std::atomic<int> delivered{0};
    consumer.registerMessageListener(ackmq::BasicMessageListenerConcurrently<Fragile>{
        [&](const ackmq::BasicMessageExtList<Fragile>& msgs, ConsumeConcurrentlyContext&) {
          delivered.fetch_add(static_cast<int>(msgs.size()));
          return SUCCESS;
        }});
    consumer.start();
    const ackmq::MessageQueue q("T", "broker-a", 0);
    REQUIRE(awaitIdle(consumer));
    // Stored while pulls find nothing; then copying it out for the listener throws.
    ackmq::testing::stallQueue(broker, q);
    producer.send(ackmq::BasicMessage<Fragile>("T", "", Fragile(7)), q);
    Fragile::refused.store(7);
    ackmq::testing::stallQueue(broker, q, false);
    REQUIRE(awaitIdle(consumer));
    CHECK(delivered.load() == 0);
    CHECK(broker.queryConsumerOffset("g", q) == 0);
    CHECK(ackmq::testing::consumerStats(consumer).inFlight == 0);

    Fragile::refused.store(-1);
    clock.advance(2999ms);
    REQUIRE(awaitIdle(consumer));
    CHECK(delivered.load() == 0);
    clock.advance(1ms);
    REQUIRE(awaitIdle(consumer));
    CHECK(delivered.load() == 1);
    CHECK(broker.queryConsumerOffset("g", q) == 1);
    consumer.shutdown();
  }

  TEST_CASE("a dispatcher holding its pulls back for a busy listener still pulls new messages" *
            doctest::timeout(30)) {
    // One listener thread, held in its first call; the second message's task waits in the pool behind it.
    // A third message then finds a task queued and less than a full pull waiting: the dispatcher holds back
    // for its budget only, then pulls it. Were the hold-back unbounded, the third message would stay in the
    // store while the listener is held, and the loop below would spin until the test's timeout.
    HeldMessage h(1, 1);
    h.w.send("T", "second");
    while (ackmq::testing::consumerStats(h.c).inFlight < 2)
      std::this_thread::yield();
    h.w.send("T", "third");
    while (ackmq::testing::consumerStats(h.c).inFlight < 3)
      std::this_thread::yield();
    CHECK(h.calls.load() == 1);  // still held: the pull did not wait for the listener
    h.release.count_down();
    REQUIRE(awaitIdle(h.c));
    CHECK(h.calls.load() == 3);
    CHECK(h.w.broker.queryConsumerOffset("g", h.q) == 3);
  }

  TEST_CASE("pulling pauses at pullThresholdForQueue and resumes as messages are consumed" *
            doctest::timeout(60)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setPullThresholdForQueue(10);
    c.setPullBatchSize(4);
    c.setConsumeThreadMin(1);
    c.setConsumeThreadMax(1);
    std::latch in(1), release(1);
    std::atomic<int> consumed{0};
    c.registerMessageListener(ackmq::MessageListenerConcurrently{[&](auto&, auto&) {
      if (consumed.load() == 0) {
        in.count_down();
        release.wait();
      }
      ++consumed;
      return SUCCESS;
    }});
    c.start();
    for (int i = 0; i < 100; ++i)
      w.send("T", "x");
    in.wait();
    REQUIRE(awaitIdle(c, 200ms) == false);  // busy: one listener call runs
    const auto s = ackmq::testing::consumerStats(c);
    CHECK(s.inFlight >= 10);
    CHECK(s.inFlight < 10 + 4);  // RocketMQ checks the cache before each pull
    release.count_down();
    REQUIRE(awaitIdle(c));
    CHECK(consumed.load() == 100);
  }

  TEST_CASE(
      "a queue paused by flow control resumes pulling once its cache has drained to half the threshold" *
      doctest::timeout(60)) {
    // Every send-back fails, so a failed message stays cached in the process queue, waiting 5 s to be
    // consumed again, and the consumer goes idle with its cache as full as the test wants it.
    World w;
    w.broker.createTopic("T", 1);
    ackmq::testing::failNextSendBacks(w.broker, 1'000'000);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setPullThresholdForQueue(20);
    c.setPullBatchSize(4);
    std::atomic<std::int64_t> succeedBelow{0};  // offsets below this succeed, the others fail
    c.registerMessageListener(ackmq::MessageListenerConcurrently{[&](const MessageExtList& msgs, auto&) {
      return msgs[0].getQueueOffset() < succeedBelow.load() ? SUCCESS : LATER;
    }});
    c.start();
    for (int i = 0; i < 60; ++i)
      w.send("T", "x");
    REQUIRE(awaitIdle(c));
    const std::int64_t paused = ackmq::testing::consumerStats(c).inFlight;
    REQUIRE(paused >= 20);  // paused at the threshold, checked before each pull of four
    REQUIRE(paused < 24);

    // Five consumed: 15 or more still cached, above half the threshold, so nothing more is pulled.
    succeedBelow = 5;
    w.clock.advance(5s);
    REQUIRE(awaitIdle(c));
    CHECK(ackmq::testing::consumerStats(c).inFlight == paused - 5);

    // Down to half: pulling resumes, and refills the cache to the threshold.
    succeedBelow = paused - 10;
    w.clock.advance(5s);
    REQUIRE(awaitIdle(c));
    const std::int64_t refilled = ackmq::testing::consumerStats(c).inFlight;
    CHECK(refilled >= 20);
    CHECK(refilled < 24);

    succeedBelow = 60;
    w.clock.advance(5s);
    REQUIRE(ackmq::testing::advanceAndSettle(w.clock, 1min, c));
    CHECK(w.broker.queryConsumerOffset("g", ackmq::MessageQueue("T", "broker-a", 0)) == 60);
    CHECK(ackmq::testing::consumerStats(c).inFlight == 0);
  }

  TEST_CASE("pulling pauses when cached offsets span more than consumeConcurrentlyMaxSpan" *
            doctest::timeout(60)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setConsumeConcurrentlyMaxSpan(20);
    c.setPullBatchSize(8);
    c.setConsumeThreadMin(4);
    c.setConsumeThreadMax(4);
    std::latch in(1), release(1);
    std::atomic<int> consumed{0};
    c.registerMessageListener(ackmq::MessageListenerConcurrently{[&](const MessageExtList& msgs, auto&) {
      if (msgs[0].getQueueOffset() == 0) {
        in.count_down();
        release.wait();
      }
      ++consumed;
      return SUCCESS;
    }});
    c.start();
    for (int i = 0; i < 200; ++i)
      w.send("T", "x");
    in.wait();
    while (consumed.load() < 20)
      std::this_thread::yield();
    // The head is stuck: the window stops growing near the span (RocketMQ consumeConcurrentlyMaxSpan).
    REQUIRE(awaitIdle(c, 100ms) == false);
    CHECK(ackmq::testing::consumerStats(c).lag > 150);
    release.count_down();
    REQUIRE(awaitIdle(c));
    CHECK(consumed.load() == 200);
  }

  TEST_CASE("the pool grows to consumeThreadMax when work waits, and no further" * doctest::timeout(60)) {
    for (int max : {1, 4}) {
      World w;
      w.broker.createTopic("T", 8);
      ManualPushConsumer c(w.broker, "g");
      c.subscribe("T", "*");
      c.setConsumeThreadMin(1);
      c.setConsumeThreadMax(max);
      std::atomic<int> running{0}, peak{0}, consumed{0};
      std::mutex mu;
      std::condition_variable cv;
      c.registerMessageListener(ackmq::MessageListenerConcurrently{[&](auto&, auto&) {
        const int now = ++running;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        {
          // Hold each call until `max` calls run at once (or, with one thread, not at all).
          std::unique_lock l(mu);
          cv.notify_all();
          cv.wait_for(l, 2s, [&] { return peak.load() >= max; });
        }
        --running;
        ++consumed;
        return SUCCESS;
      }});
      c.start();
      for (int i = 0; i < 40; ++i)
        w.send("T", "x");
      REQUIRE(awaitIdle(c));
      CHECK(consumed.load() == 40);
      CHECK(peak.load() == max);
    }
  }
}
