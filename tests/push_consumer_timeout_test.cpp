// The push consumer, concurrent: the consume timeout, which sends back a message its listener holds too long.
#include <ackmq/push_consumer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::ConsumeConcurrentlyContext;
using ackmq::testing::awaitIdle;
using ackmq_test::Fragile;
using ackmq_test::HeldMessage;
using ackmq_test::SUCCESS;

TEST_SUITE("push_consumer") {
  TEST_CASE("the consume timeout sends back a message the listener holds too long, on the clock" *
            doctest::timeout(60)) {
    HeldMessage h;
    h.w.clock.advance(1min);  // the scan runs every consumeTimeout: held exactly 1 min, not past it
    CHECK(ackmq::testing::consumerStats(h.c).expired == 0);
    h.w.clock.advance(1min);
    CHECK(ackmq::testing::consumerStats(h.c).expired == 1);
    CHECK(h.w.broker.queryConsumerOffset("g", h.q) == 1);
    h.w.clock.advance(
        10s);  // level 3: the retry copy arrives and is consumed while the first call still runs
    while (h.calls.load() < 2)
      std::this_thread::yield();
    h.release.count_down();
    REQUIRE(awaitIdle(h.c));
    CHECK(h.calls.load() == 2);
  }

  TEST_CASE("a timed-out message whose send-back fails stays with the listener and is tried again" *
            doctest::timeout(60)) {
    HeldMessage h;
    h.w.clock.advance(1min);
    ackmq::testing::failNextSendBacks(h.w.broker, 1);
    h.w.clock.advance(1min);  // expired, but neither the send-back nor its fallback is stored
    CHECK(ackmq::testing::consumerStats(h.c).expired == 0);
    CHECK(h.w.broker.queryConsumerOffset("g", h.q) == 0);  // still held back: nothing stands for the message
    CHECK(ackmq::testing::topicMessages(h.w.broker, "%RETRY%g").empty());
    h.w.clock.advance(1min);  // the next scan sends it back
    CHECK(ackmq::testing::consumerStats(h.c).expired == 1);
    CHECK(h.w.broker.queryConsumerOffset("g", h.q) == 1);
    h.release.count_down();
    REQUIRE(awaitIdle(h.c));
    h.w.clock.advance(10s);  // level 3: the copy arrives in %RETRY%g
    REQUIRE(awaitIdle(h.c));
    CHECK(ackmq::testing::topicMessages(h.w.broker, "%RETRY%g").size() == 1);
    CHECK(h.calls.load() == 2);  // the retry copy, once
  }

  TEST_CASE("a timed-out message whose body cannot be copied stays with the listener until a scan can" *
            doctest::timeout(60)) {
    ackmq::ManualClock clock;
    ackmq::BasicBroker<Fragile, ackmq::ManualClock> broker(clock);
    broker.createTopic("T", 1);
    ackmq::BasicProducer<decltype(broker)> producer(broker, "p");
    producer.start();
    ackmq::BasicPushConsumer<decltype(broker)> consumer(broker, "g");
    consumer.subscribe("T", "*");
    consumer.setConsumeTimeout(1min);
    consumer.setConsumeThreadMin(2);
    consumer.setConsumeThreadMax(4);
    std::latch in(1), release(1);
    std::atomic<int> calls{0};
    consumer.registerMessageListener(ackmq::BasicMessageListenerConcurrently<Fragile>{
        [&](const ackmq::BasicMessageExtList<Fragile>&, ConsumeConcurrentlyContext&) {
          if (calls++ == 0) {
            in.count_down();
            release.wait();
          }
          return SUCCESS;
        }});
    consumer.start();
    const ackmq::MessageQueue q("T", "broker-a", 0);
    producer.send(ackmq::BasicMessage<Fragile>("T", "", Fragile(7)), q);
    in.wait();
    Fragile::refused.store(7);
    clock.advance(2min);  // the scan cannot copy the message: it neither sends it back nor lets it go
    Fragile::refused.store(-1);
    CHECK(ackmq::testing::consumerStats(consumer).expired == 0);
    CHECK(broker.queryConsumerOffset("g", q) == 0);
    clock.advance(1min);
    CHECK(ackmq::testing::consumerStats(consumer).expired == 1);
    CHECK(broker.queryConsumerOffset("g", q) == 1);
    release.count_down();
    REQUIRE(awaitIdle(consumer));
    clock.advance(10s);
    REQUIRE(awaitIdle(consumer));
    CHECK(calls.load() == 2);
    consumer.shutdown();
  }

  TEST_CASE("a timed-out message whose send-back fails is settled by the listener's own result" *
            doctest::timeout(60)) {
    HeldMessage h;
    ackmq::testing::failNextSendBacks(h.w.broker, 1);
    h.w.clock.advance(2min);
    CHECK(ackmq::testing::consumerStats(h.c).expired == 0);
    CHECK(h.w.broker.queryConsumerOffset("g", h.q) == 0);
    h.release.count_down();
    REQUIRE(awaitIdle(h.c));
    CHECK(h.w.broker.queryConsumerOffset("g", h.q) == 1);
    CHECK(ackmq::testing::consumerStats(h.c).succeeded == 1);
    CHECK(ackmq::testing::topicMessages(h.w.broker, "%RETRY%g").empty());
    CHECK(h.calls.load() == 1);
  }
}
