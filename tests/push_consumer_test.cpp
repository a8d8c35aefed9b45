// The push consumer, concurrent: acknowledgement, the retry ladder, the DLQ, offsets, filtering,
// broadcasting, flow control, the thread pool and shutdown.
#include <ackmq/push_consumer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::ConsumeConcurrentlyContext;
using ackmq::ConsumeConcurrentlyStatus;
using ackmq::MessageExtList;
using ackmq::testing::awaitIdle;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;
using ackmq::testing::ManualPushConsumer;
using ackmq_test::Fragile;
using ackmq_test::HeldMessage;
using ackmq_test::LATER;
using ackmq_test::listen;
using ackmq_test::Recorder;
using ackmq_test::SUCCESS;
using ackmq_test::sumOffsets;
using ackmq_test::World;

TEST_SUITE("push_consumer") {
  TEST_CASE("a message that always fails is delivered 17 times on the back-off ladder, then sits in the DLQ" *
            doctest::timeout(60)) {
    World w;
    ManualPushConsumer c(w.broker, "ladder");
    c.subscribe("T", "*");
    Recorder rec;
    listen(c, w.clock, rec, [](auto&, auto&) { return LATER; });
    c.start();
    const auto sent = w.send("T", "poison");
    const std::int64_t t0 = w.clock.nowMillis();
    // RocketMQ: failure k re-delivers after delay level 2 + k.
    const std::vector<std::chrono::milliseconds> gaps = {10s,  30s,  1min, 2min,  3min,  4min,  5min, 6min,
                                                         7min, 8min, 9min, 10min, 20min, 30min, 1h,   2h};
    REQUIRE(awaitIdle(c));
    REQUIRE(rec.size() == 1);
    for (std::size_t k = 0; k < gaps.size(); ++k) {
      w.clock.advance(gaps[k] - 1ms);
      REQUIRE(awaitIdle(c));
      CHECK_MESSAGE(rec.size() == k + 1, "retry " << k + 1 << " came early");
      w.clock.advance(1ms);
      REQUIRE(awaitIdle(c));
      REQUIRE_MESSAGE(rec.size() == k + 2,
                      "retry " << k + 1 << " did not come after " << gaps[k].count() << " ms");
    }
    const auto d = rec.all();
    REQUIRE(d.size() == 17);
    std::int64_t expected = t0;
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (i > 0) expected += gaps[i - 1].count();
      CHECK(d[i].at == expected);
      CHECK(d[i].reconsumeTimes == static_cast<int>(i));
      CHECK(d[i].topic == "T");
      CHECK(d[i].body == "poison");
      CHECK(d[i].msgId == sent.getMsgId());
    }
    CHECK(d[0].queue.getTopic() == "T");
    CHECK(d[1].queue == ackmq::MessageQueue("%RETRY%ladder", "broker-a", 0));
    // Nothing more comes: the 17th failure went to the dead-letter queue.
    w.clock.advance(3h);
    REQUIRE(awaitIdle(c));
    CHECK(rec.size() == 17);
    const auto dlq = ackmq::testing::topicMessages(w.broker, "%DLQ%ladder");
    REQUIRE(dlq.size() == 1);
    CHECK(dlq[0].getMsgId() == sent.getMsgId());
    CHECK(dlq[0].getBody() == "poison");
    CHECK(dlq[0].getProperty("RETRY_TOPIC") == "T");
    CHECK(dlq[0].getProperty("DLQ_ORIGIN_TOPIC") == "T");
    CHECK(dlq[0].getProperty("DLQ_ORIGIN_MESSAGE_ID") == sent.getMsgId());
    CHECK(dlq[0].getProperty("ORIGIN_MESSAGE_ID") == sent.getMsgId());
    CHECK(dlq[0].getReconsumeTimes() == 17);
    const auto s = ackmq::testing::consumerStats(c);
    CHECK(s.delivered == 17);
    CHECK(s.failed == 17);
    CHECK(s.retried == 16);
    CHECK(s.deadLettered == 1);
  }

  TEST_CASE("CONSUME_SUCCESS commits each queue's offset past its messages, at every result" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 4);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    Recorder rec;
    listen(c, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
    c.start();
    REQUIRE(awaitIdle(c));
    for (int i = 0; i < 100; ++i)
      w.send("T", "m" + std::to_string(i));
    REQUIRE(awaitIdle(c));
    CHECK(rec.size() == 100);
    const auto offsets = ackmq::testing::committedOffsets(w.broker, "g");
    CHECK(sumOffsets(offsets, "T") == 100);
    for (int q = 0; q < 4; ++q) {
      const ackmq::MessageQueue mq("T", "broker-a", q);
      CHECK(w.broker.queryConsumerOffset("g", mq) == w.broker.maxOffset(mq));
    }
    const auto s = ackmq::testing::consumerStats(c);
    CHECK(s.succeeded == 100);
    CHECK(s.inFlight == 0);
    CHECK(s.lag == 0);
    CHECK(ackmq::testing::topicMessages(w.broker, "%RETRY%g").empty());
  }

  TEST_CASE("ackIndex acknowledges the first messages of a batch, and the rest are retried" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setConsumeMessageBatchMaxSize(4);
    Recorder rec;
    std::atomic<int> calls{0};
    listen(c, w.clock, rec, [&](const MessageExtList& msgs, ConsumeConcurrentlyContext& ctx) {
      if (calls++ == 0) {
        CHECK(msgs.size() == 4);
        ctx.setAckIndex(1);  // messages 0 and 1 are consumed, 2 and 3 failed
      }
      return SUCCESS;
    });
    const ackmq::MessageQueue q("T", "broker-a", 0);
    ackmq::testing::stallQueue(w.broker, q);  // so that the four arrive in one pull
    c.start();
    for (int i = 0; i < 4; ++i)
      w.producer.send(ackmq::Message("T", "", "b" + std::to_string(i)), q);
    REQUIRE(awaitIdle(c));
    ackmq::testing::stallQueue(w.broker, q, false);
    REQUIRE(awaitIdle(c));
    auto s = ackmq::testing::consumerStats(c);
    CHECK(s.succeeded == 2);
    CHECK(s.failed == 2);
    CHECK(s.retried == 2);
    w.clock.advance(10s);
    REQUIRE(awaitIdle(c));
    const auto d = rec.all();
    REQUIRE(d.size() == 6);
    CHECK(std::multiset<std::string>{d[4].body, d[5].body} == std::multiset<std::string>{"b2", "b3"});
    CHECK(d[4].reconsumeTimes == 1);
  }

  TEST_CASE("RECONSUME_LATER fails the whole batch, whatever ackIndex says" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setConsumeMessageBatchMaxSize(3);
    Recorder rec;
    listen(c, w.clock, rec, [&](const MessageExtList&, ConsumeConcurrentlyContext& ctx) {
      ctx.setAckIndex(2);
      return LATER;
    });
    const ackmq::MessageQueue q("T", "broker-a", 0);
    ackmq::testing::stallQueue(w.broker, q);
    c.start();
    for (int i = 0; i < 3; ++i)
      w.producer.send(ackmq::Message("T", "", "x"), q);
    ackmq::testing::stallQueue(w.broker, q, false);
    REQUIRE(awaitIdle(c));
    const auto s = ackmq::testing::consumerStats(c);
    CHECK(s.succeeded == 0);
    CHECK(s.failed == 3);
    CHECK(s.retried == 3);
  }

  TEST_CASE("delayLevelWhenNextConsume -1 sends a failure straight to the DLQ" * doctest::timeout(30)) {
    World w;
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    Recorder rec;
    listen(c, w.clock, rec, [](const MessageExtList&, ConsumeConcurrentlyContext& ctx) {
      ctx.setDelayLevelWhenNextConsume(-1);
      return LATER;
    });
    c.start();
    const auto sent = w.send("T", "hopeless");
    REQUIRE(awaitIdle(c));
    w.clock.advance(3h);
    REQUIRE(awaitIdle(c));
    CHECK(rec.size() == 1);
    const auto dlq = ackmq::testing::topicMessages(w.broker, "%DLQ%g");
    REQUIRE(dlq.size() == 1);
    CHECK(dlq[0].getMsgId() == sent.getMsgId());
    CHECK(dlq[0].getReconsumeTimes() == 1);
    CHECK(ackmq::testing::consumerStats(c).deadLettered == 1);
  }

  TEST_CASE("delayLevelWhenNextConsume n retries at delay level n" * doctest::timeout(30)) {
    World w;
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    Recorder rec;
    listen(c, w.clock, rec, [](const MessageExtList& msgs, ConsumeConcurrentlyContext& ctx) {
      ctx.setDelayLevelWhenNextConsume(1);  // 1 s
      return msgs[0].getReconsumeTimes() == 0 ? LATER : SUCCESS;
    });
    c.start();
    w.send("T", "x");
    REQUIRE(awaitIdle(c));
    w.clock.advance(999ms);
    REQUIRE(awaitIdle(c));
    CHECK(rec.size() == 1);
    w.clock.advance(1ms);
    REQUIRE(awaitIdle(c));
    CHECK(rec.size() == 2);
  }

  TEST_CASE("a listener that throws counts as RECONSUME_LATER" * doctest::timeout(30)) {
    World w;
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    Recorder rec;
    listen(c, w.clock, rec,
           [](const MessageExtList& msgs, ConsumeConcurrentlyContext&) -> ConsumeConcurrentlyStatus {
             if (msgs[0].getReconsumeTimes() == 0) throw std::runtime_error("listener bug");
             return SUCCESS;
           });
    c.start();
    w.send("T", "x");
    REQUIRE(awaitIdle(c));
    auto s = ackmq::testing::consumerStats(c);
    CHECK(s.failed == 1);
    CHECK(s.retried == 1);
    w.clock.advance(10s);
    REQUIRE(awaitIdle(c));
    s = ackmq::testing::consumerStats(c);
    CHECK(s.succeeded == 1);
    CHECK(rec.size() == 2);
  }

  TEST_CASE("a retry shows the original topic, body and msgId with the current reconsumeTimes" *
            doctest::timeout(30)) {
    World w;
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    std::mutex mu;
    std::vector<ackmq::MessageExt> seen;
    c.setConsumeThreadMin(2);
    c.setConsumeThreadMax(2);
    c.registerMessageListener(ackmq::MessageListenerConcurrently{[&](const MessageExtList& msgs, auto&) {
      std::lock_guard l(mu);
      seen.push_back(msgs[0]);
      return msgs[0].getReconsumeTimes() < 2 ? LATER : SUCCESS;
    }});
    c.start();
    ackmq::Message m("T", "TagX", "key-9", "payload");
    m.putUserProperty("app", "v1");
    const auto sent = w.producer.send(m);
    for (int i = 0; i < 3; ++i) {
      REQUIRE(awaitIdle(c));
      w.clock.advance(i == 0 ? 10s : 30s);
    }
    REQUIRE(awaitIdle(c));
    REQUIRE(seen.size() == 3);
    for (int i = 0; i < 3; ++i) {
      const auto& x = seen[static_cast<std::size_t>(i)];
      CHECK(x.getTopic() == "T");
      CHECK(x.getBody() == "payload");
      CHECK(x.getTags() == "TagX");
      CHECK(x.getKeys() == "key-9");
      CHECK(x.getProperty("app") == "v1");
      CHECK(x.getMsgId() == sent.getMsgId());
      CHECK(x.getReconsumeTimes() == i);
    }
    CHECK(seen[1].getOffsetMsgId() != seen[0].getOffsetMsgId());
    CHECK(seen[1].getMessageQueue().getTopic() == "%RETRY%g");
    CHECK(seen[1].getProperty("RETRY_TOPIC") == "T");
    CHECK(seen[0].getBornTimestamp() == seen[2].getBornTimestamp());
    // A retry copy has the original's properties and where it came from, and has left the routing ones of
    // its parked copy behind: the same names at every reconsume.
    for (int i = 1; i < 3; ++i) {
      std::vector<std::string> names;
      for (const auto& [name, value] : seen[static_cast<std::size_t>(i)].getProperties())
        names.push_back(name);
      CHECK(names == std::vector<std::string>{"KEYS", "ORIGIN_MESSAGE_ID", "RETRY_TOPIC", "app"});
      CHECK(seen[static_cast<std::size_t>(i)].getProperty("ORIGIN_MESSAGE_ID") == sent.getMsgId());
    }
  }

  TEST_CASE("maxReconsumeTimes decides when a failure goes to the DLQ" * doctest::timeout(30)) {
    World w;
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setMaxReconsumeTimes(2);
    Recorder rec;
    listen(c, w.clock, rec, [](auto&, auto&) { return LATER; });
    c.start();
    w.send("T", "x");
    // Timer by timer, each delivery finished before the clock moves on: one jump of an hour could carry the
    // clock past a delivery's 15-minute consume timeout while its listener call is still finishing, and the
    // timeout's send-back would then stand beside the listener's.
    for (int i = 0; i < 5; ++i)
      REQUIRE(ackmq::testing::advanceAndSettle(w.clock, 1h, c));
    CHECK(rec.size() == 3);  // the first delivery and two reconsumes
    CHECK(ackmq::testing::topicMessages(w.broker, "%DLQ%g").size() == 1);
  }

  TEST_CASE("a failed send-back falls back to a retry message that keeps the chosen delay level" *
            doctest::timeout(30)) {
    World w;
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    Recorder rec;
    listen(c, w.clock, rec, [](const MessageExtList& msgs, ConsumeConcurrentlyContext& ctx) {
      ctx.setDelayLevelWhenNextConsume(5);  // 1 min, where RocketMQ's fallback would use level 3 (10 s)
      return msgs[0].getReconsumeTimes() == 0 ? LATER : SUCCESS;
    });
    c.start();
    ackmq::testing::failNextSendBackRequests(w.broker, 1);
    const auto sent = w.send("T", "x");
    REQUIRE(awaitIdle(c));
    CHECK(ackmq::testing::consumerStats(c).retried == 1);
    const auto parked = ackmq::testing::topicMessages(w.broker, "SCHEDULE_TOPIC_XXXX");
    REQUIRE(parked.size() == 1);
    CHECK(parked[0].getProperty("REAL_TOPIC") == "%RETRY%g");
    CHECK(parked[0].getDelayTimeLevel() == 5);
    w.clock.advance(59s);
    REQUIRE(awaitIdle(c));
    CHECK(rec.size() == 1);
    w.clock.advance(1s);
    REQUIRE(awaitIdle(c));
    REQUIRE(rec.size() == 2);
    CHECK(rec.all()[1].msgId == sent.getMsgId());
    CHECK(rec.all()[1].reconsumeTimes == 1);
  }

  TEST_CASE("the failures of one run of listener calls go back together, each on its own terms" *
            doctest::timeout(30)) {
    // Ten messages pulled at once make one task of ten calls on the one listener thread, all failing. The
    // broker refuses the first two send-backs and one fallback: m0 waits for a local re-consume, m1 goes
    // back through its fallback, the other eight as usual.
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setConsumeThreadMin(1);
    c.setConsumeThreadMax(1);
    std::atomic<int> calls{0};
    c.registerMessageListener(ackmq::MessageListenerConcurrently{[&](const MessageExtList&, auto&) {
      calls.fetch_add(1);
      return LATER;
    }});
    c.start();
    const ackmq::MessageQueue q("T", "broker-a", 0);
    REQUIRE(awaitIdle(c));
    ackmq::testing::stallQueue(w.broker, q);
    for (int i = 0; i < 10; ++i)
      w.producer.send(ackmq::Message("T", "", "m" + std::to_string(i)), q);
    ackmq::testing::failNextSendBackRequests(w.broker, 1);
    ackmq::testing::failNextSendBacks(w.broker, 1);
    ackmq::testing::stallQueue(w.broker, q, false);
    REQUIRE(awaitIdle(c));
    CHECK(calls.load() == 10);
    auto s = ackmq::testing::consumerStats(c);
    CHECK(s.failed == 10);
    CHECK(s.retried == 9);
    CHECK(s.reconsumedLocally == 1);
    CHECK(s.inFlight == 1);
    // The one waiting for its local re-consume holds the offset at itself: m0.
    CHECK(w.broker.queryConsumerOffset("g", q) == 0);
    // Nine retry copies are parked for level 3 (10 s): the send-backs' and the fallback's, none twice.
    std::set<std::string> parked;
    for (const auto& m : ackmq::testing::topicMessages(w.broker, ackmq::MixAll::SCHEDULE_TOPIC))
      parked.insert(m.getBody());
    CHECK(parked.size() == 9);
    CHECK(parked.count("m0") == 0);
    w.clock.advance(5s);  // m0 again, locally; it fails again and goes back now
    REQUIRE(awaitIdle(c));
    CHECK(calls.load() == 11);
    CHECK(ackmq::testing::consumerStats(c).retried == 10);
    CHECK(w.broker.queryConsumerOffset("g", q) == 10);
  }

  TEST_CASE("when the send-back and its fallback fail the message is consumed again locally after 5 s" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    Recorder rec;
    listen(c, w.clock, rec, [](const MessageExtList& msgs, ConsumeConcurrentlyContext&) {
      return msgs[0].getBody() == "fails once" && msgs[0].getReconsumeTimes() == 0 ? LATER : SUCCESS;
    });
    c.start();
    ackmq::testing::failNextSendBacks(w.broker, 1);
    const ackmq::MessageQueue q("T", "broker-a", 0);
    w.producer.send(ackmq::Message("T", "", "fails once"), q);
    w.producer.send(ackmq::Message("T", "", "after it"), q);
    REQUIRE(awaitIdle(c));
    auto s = ackmq::testing::consumerStats(c);
    CHECK(s.reconsumedLocally == 1);
    CHECK(s.inFlight == 1);
    // The waiting message holds the offset back: the lowest-unacked rule.
    CHECK(w.broker.queryConsumerOffset("g", q) == 0);
    w.clock.advance(4999ms);
    REQUIRE(awaitIdle(c));
    CHECK(rec.size() == 2);
    w.clock.advance(1ms);
    REQUIRE(awaitIdle(c));
    REQUIRE(rec.size() == 3);
    CHECK(rec.all()[2].body == "fails once");
    CHECK(rec.all()[2].reconsumeTimes == 1);  // counted in memory, as RocketMQ does
    CHECK(w.broker.queryConsumerOffset("g", q) == 2);
    CHECK(ackmq::testing::topicMessages(w.broker, "%RETRY%g").empty());
  }

  TEST_CASE("a body whose copy throws during the send-back is consumed again locally and pins nothing" *
            doctest::timeout(30)) {
    // While Fragile(0) is refused, the broker's copies for the send-back and for its fallback both throw.
    ackmq::ManualClock clock;
    ackmq::BrokerConfig config;
    config.commitLogSegmentBytes = 4096;
    ackmq::BasicBroker<Fragile, ackmq::ManualClock> broker(clock, config);
    broker.createTopic("T", 1);
    ackmq::BasicProducer<decltype(broker)> producer(broker, "p");
    producer.start();
    ackmq::BasicPushConsumer<decltype(broker)> consumer(broker, "g");
    consumer.subscribe("T", "*");
    std::atomic<int> deliveriesOfZero{0};
    consumer.registerMessageListener(ackmq::BasicMessageListenerConcurrently<Fragile>{
        [&](const ackmq::BasicMessageExtList<Fragile>& msgs, ConsumeConcurrentlyContext&) {
          if (msgs[0].getBody().v != 0) return SUCCESS;
          if (deliveriesOfZero.fetch_add(1) == 0) {
            Fragile::refused.store(0);  // the send-back that follows cannot copy the body
            return LATER;
          }
          Fragile::refused.store(-1);
          return SUCCESS;
        }});
    consumer.start();
    const ackmq::MessageQueue q("T", "broker-a", 0);
    producer.send(ackmq::BasicMessage<Fragile>("T", "", Fragile(0)), q);
    // Enough messages after it to fill its segment and open others, so that it can be reclaimed later.
    for (int i = 1; i <= 60; ++i)
      producer.send(ackmq::BasicMessage<Fragile>("T", "", Fragile(i)), q);
    REQUIRE(awaitIdle(consumer));
    auto s = ackmq::testing::consumerStats(consumer);
    CHECK(s.reconsumedLocally == 1);
    CHECK(s.retried == 0);
    CHECK(broker.queryConsumerOffset("g", q) == 0);  // held back by the message waiting to be consumed again
    CHECK(ackmq::testing::topicMessages(broker, "%RETRY%g").empty());

    clock.advance(5s);
    REQUIRE(awaitIdle(consumer));
    CHECK(deliveriesOfZero.load() == 2);
    CHECK(broker.queryConsumerOffset("g", q) == 61);
    // The failed copies left no segment pinned: once past fileReservedTime, the sealed ones are reclaimed.
    clock.advance(73h);
    CHECK(ackmq::testing::storeStats(broker).reclaimedSegments > 0);
    CHECK(broker.minOffset(q) > 0);
    consumer.shutdown();
  }

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

  TEST_CASE("the committed offset is the lowest message still being consumed" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setConsumeThreadMin(4);
    c.setConsumeThreadMax(4);
    std::latch slowStarted(1);
    std::latch release(1);
    std::atomic<int> done{0};
    c.registerMessageListener(ackmq::MessageListenerConcurrently{[&](const MessageExtList& msgs, auto&) {
      if (msgs[0].getBody() == "slow") {
        slowStarted.count_down();
        release.wait();
      }
      ++done;
      return SUCCESS;
    }});
    c.start();
    const ackmq::MessageQueue q("T", "broker-a", 0);
    w.producer.send(ackmq::Message("T", "", "slow"), q);
    slowStarted.wait();
    for (int i = 0; i < 9; ++i)
      w.producer.send(ackmq::Message("T", "", "fast"), q);
    while (done.load() < 9)
      std::this_thread::yield();
    // Nine later messages are done, but the slow one pins the offset (RocketMQ ProcessQueue.removeMessage).
    CHECK(w.broker.queryConsumerOffset("g", q) == 0);
    CHECK(ackmq::testing::consumerStats(c).inFlight == 1);
    release.count_down();
    REQUIRE(awaitIdle(c));
    CHECK(w.broker.queryConsumerOffset("g", q) == 10);
  }

  TEST_CASE("tag filtering is exact, and offsets move past messages the filter skips" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "TagA || TagB");
    Recorder rec;
    listen(c, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
    c.start();
    for (const char* tag : {"TagA", "TagB", "TagC", "", "TagAB", "taga", "TagB"}) {
      w.send("T", std::string("tag:") + tag, tag);
    }
    REQUIRE(awaitIdle(c));
    std::string seen;
    for (const auto& b : rec.bodies())
      seen += b + " ";
    CHECK_MESSAGE((rec.bodies() == std::multiset<std::string>{"tag:TagA", "tag:TagB", "tag:TagB"}), seen);
    CHECK(w.broker.queryConsumerOffset("g", ackmq::MessageQueue("T", "broker-a", 0)) == 7);

    ManualPushConsumer all(w.broker, "everything");
    all.subscribe("T", "*");
    all.setConsumeFromWhere(ackmq::ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET);
    Recorder rec2;
    listen(all, w.clock, rec2, [](auto&, auto&) { return SUCCESS; });
    all.start();
    REQUIRE(awaitIdle(all));
    CHECK(rec2.size() == 7);  // "*" matches a message without a tag too
    CHECK_THROWS_AS(c.subscribe("T", " || "), ackmq::MQClientException);
  }

  TEST_CASE("a new group starts at the end of each queue as it stands when the group first starts" *
            doctest::timeout(30)) {
    World w;
    for (int i = 0; i < 5; ++i)
      w.send("Old", "history");
    ManualPushConsumer c(w.broker, "newcomers");
    c.subscribe("Old", "*");
    c.subscribe("Later", "*");  // does not exist yet
    Recorder rec;
    listen(c, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
    c.start();
    REQUIRE(awaitIdle(c));
    CHECK(rec.size() == 0);  // no replay of history (RocketMQ issues #334, #617, #2166)
    w.send("Old", "new");
    w.send("Later", "first message of a topic created after the group started");
    REQUIRE(awaitIdle(c));
    CHECK(rec.bodies() ==
          std::multiset<std::string>{"new", "first message of a topic created after the group started"});
  }

  TEST_CASE("CONSUME_FROM_FIRST_OFFSET and CONSUME_FROM_TIMESTAMP start where they say" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    for (int i = 0; i < 3; ++i) {
      w.send("T", "early" + std::to_string(i));
      w.clock.advance(1s);
    }
    const std::int64_t cut = w.clock.nowMillis();
    for (int i = 0; i < 2; ++i)
      w.send("T", "late" + std::to_string(i));

    ManualPushConsumer first(w.broker, "first");
    first.subscribe("T", "*");
    first.setConsumeFromWhere(ackmq::ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET);
    Recorder r1;
    listen(first, w.clock, r1, [](auto&, auto&) { return SUCCESS; });
    first.start();
    REQUIRE(awaitIdle(first));
    CHECK(r1.size() == 5);

    ManualPushConsumer stamped(w.broker, "stamped");
    stamped.subscribe("T", "*");
    stamped.setConsumeFromWhere(ackmq::ConsumeFromWhere::CONSUME_FROM_TIMESTAMP);
    stamped.setConsumeTimestamp(cut);
    Recorder r2;
    listen(stamped, w.clock, r2, [](auto&, auto&) { return SUCCESS; });
    stamped.start();
    REQUIRE(awaitIdle(stamped));
    CHECK(r2.bodies() == std::multiset<std::string>{"late0", "late1"});
  }

  TEST_CASE("a committed offset wins over ConsumeFromWhere" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    for (int i = 0; i < 5; ++i)
      w.send("T", std::to_string(i));
    w.broker.updateConsumerOffset("g", ackmq::MessageQueue("T", "broker-a", 0), 3);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setConsumeFromWhere(ackmq::ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET);
    Recorder rec;
    listen(c, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
    c.start();
    REQUIRE(awaitIdle(c));
    CHECK(rec.bodies() == std::multiset<std::string>{"3", "4"});
  }

  TEST_CASE("different groups each receive every message" * doctest::timeout(30)) {
    World w;
    ManualPushConsumer a(w.broker, "groupA"), b(w.broker, "groupB");
    Recorder ra, rb;
    for (auto* c : {&a, &b})
      c->subscribe("T", "*");
    listen(a, w.clock, ra, [](auto&, auto&) { return SUCCESS; });
    listen(b, w.clock, rb, [](auto&, auto&) { return SUCCESS; });
    a.start();
    b.start();
    for (int i = 0; i < 50; ++i)
      w.send("T", std::to_string(i));
    REQUIRE(awaitIdle(a));
    REQUIRE(awaitIdle(b));
    CHECK(ra.size() == 50);
    CHECK(rb.size() == 50);
  }

  TEST_CASE("broadcasting: every member gets every message, failures are dropped, offsets are per member" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 4);
    ManualPushConsumer a(w.broker, "bc"), b(w.broker, "bc");
    Recorder ra, rb;
    for (auto* c : {&a, &b}) {
      c->subscribe("T", "*");
      c->setMessageModel(ackmq::MessageModel::BROADCASTING);
    }
    a.setInstanceName("a");
    b.setInstanceName("b");
    listen(a, w.clock, ra, [](auto&, auto&) { return SUCCESS; });
    listen(b, w.clock, rb, [](auto&, auto&) { return LATER; });  // b fails everything
    a.start();
    b.start();
    for (int i = 0; i < 20; ++i)
      w.send("T", std::to_string(i));
    REQUIRE(awaitIdle(a));
    REQUIRE(awaitIdle(b));
    w.clock.advance(3h);
    REQUIRE(awaitIdle(b));
    CHECK(ra.size() == 20);
    CHECK(rb.size() == 20);  // never retried
    const auto sb = ackmq::testing::consumerStats(b);
    CHECK(sb.failed == 20);
    CHECK(sb.dropped == 20);
    CHECK(sb.retried == 0);
    CHECK(ackmq::testing::topicMessages(w.broker, "%RETRY%bc").empty());
    CHECK(sumOffsets(ackmq::testing::committedOffsets(a), "T") == 20);
    CHECK(sumOffsets(ackmq::testing::committedOffsets(b), "T") == 20);
    CHECK(ackmq::testing::committedOffsets(w.broker, "bc").empty());
  }

  TEST_CASE("AllocateMessageQueueAveragely and ByCircle split queues as RocketMQ does" *
            doctest::timeout(10)) {
    std::vector<ackmq::MessageQueue> mqs;
    for (int i = 0; i < 8; ++i)
      mqs.emplace_back("T", "broker-a", i);
    const std::vector<std::string> cids{"c1", "c2", "c3"};
    auto ids = [](const std::vector<ackmq::MessageQueue>& v) {
      std::vector<int> out;
      for (const auto& m : v)
        out.push_back(m.queueId);
      return out;
    };
    ackmq::AllocateMessageQueueAveragely avg;
    CHECK(ids(avg.allocate("g", "c1", mqs, cids)) == std::vector<int>{0, 1, 2});
    CHECK(ids(avg.allocate("g", "c2", mqs, cids)) == std::vector<int>{3, 4, 5});
    CHECK(ids(avg.allocate("g", "c3", mqs, cids)) == std::vector<int>{6, 7});
    CHECK(ids(avg.allocate("g", "stranger", mqs, cids)).empty());
    const std::vector<std::string> many{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    CHECK(ids(avg.allocate("g", "a", mqs, many)) == std::vector<int>{0});
    CHECK(ids(avg.allocate("g", "j", mqs, many)).empty());
    ackmq::AllocateMessageQueueAveragelyByCircle circle;
    CHECK(ids(circle.allocate("g", "c1", mqs, cids)) == std::vector<int>{0, 3, 6});
    CHECK(ids(circle.allocate("g", "c2", mqs, cids)) == std::vector<int>{1, 4, 7});
    CHECK(ids(circle.allocate("g", "c3", mqs, cids)) == std::vector<int>{2, 5});
  }

  TEST_CASE("three members over eight queues split them 3, 3 and 2, and rebalance when one leaves" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 8);
    std::vector<std::unique_ptr<ManualPushConsumer>> members;
    Recorder rec;
    for (int i = 0; i < 3; ++i) {
      auto c = std::make_unique<ManualPushConsumer>(w.broker, "shared");
      c->subscribe("T", "*");
      c->setInstanceName("member-" + std::to_string(i));
      listen(*c, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
      c->start();
      members.push_back(std::move(c));
    }
    auto topicQueues = [](const ManualPushConsumer& c) {
      int n = 0;
      for (const auto& mq : ackmq::testing::ownedQueues(c))
        n += mq.topic == "T";
      return n;
    };
    for (auto& c : members)
      REQUIRE(awaitIdle(*c));
    CHECK(topicQueues(*members[0]) == 3);
    CHECK(topicQueues(*members[1]) == 3);
    CHECK(topicQueues(*members[2]) == 2);
    // The retry queue belongs to one member.
    int retryOwners = 0;
    for (auto& c : members) {
      for (const auto& mq : ackmq::testing::ownedQueues(*c))
        retryOwners += mq.topic == "%RETRY%shared";
    }
    CHECK(retryOwners == 1);
    for (int i = 0; i < 80; ++i)
      w.send("T", std::to_string(i));
    for (auto& c : members)
      REQUIRE(awaitIdle(*c));
    CHECK(rec.size() == 80);
    members[1]->shutdown();
    REQUIRE(awaitIdle(*members[0]));
    REQUIRE(awaitIdle(*members[2]));
    CHECK(topicQueues(*members[0]) == 4);
    CHECK(topicQueues(*members[2]) == 4);
    for (int i = 0; i < 80; ++i)
      w.send("T", std::to_string(i));
    REQUIRE(awaitIdle(*members[0]));
    REQUIRE(awaitIdle(*members[2]));
    CHECK(rec.size() == 160);
  }

  TEST_CASE("AllocateMessageQueueAveragelyByCircle can be chosen per consumer" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 8);
    ManualPushConsumer a(w.broker, "circle"), b(w.broker, "circle");
    Recorder rec;
    for (auto* c : {&a, &b}) {
      c->subscribe("T", "*");
      c->setAllocateMessageQueueStrategy(std::make_shared<ackmq::AllocateMessageQueueAveragelyByCircle>());
      listen(*c, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
    }
    a.setInstanceName("a");
    b.setInstanceName("b");
    a.start();
    b.start();
    REQUIRE(awaitIdle(a));
    REQUIRE(awaitIdle(b));
    std::vector<int> qa;
    for (const auto& mq : ackmq::testing::ownedQueues(a)) {
      if (mq.topic == "T") qa.push_back(mq.queueId);
    }
    CHECK(qa == std::vector<int>{0, 2, 4, 6});
  }

  TEST_CASE("a member shut down with a message in flight: another member gets it" * doctest::timeout(60)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer a(w.broker, "g"), b(w.broker, "g");
    a.setInstanceName("a");
    b.setInstanceName("b");
    std::latch inA(1), releaseA(1), inB(1);
    std::atomic<int> bGot{0};
    a.subscribe("T", "*");
    b.subscribe("T", "*");
    a.setAwaitTerminationMillisWhenShutdown(0);  // do not wait for the stuck listener
    a.registerMessageListener(ackmq::MessageListenerConcurrently{[&](auto&, auto&) {
      inA.count_down();
      releaseA.wait();
      return SUCCESS;
    }});
    b.registerMessageListener(ackmq::MessageListenerConcurrently{[&](const MessageExtList& msgs, auto&) {
      bGot += static_cast<int>(msgs.size());
      inB.count_down();
      return SUCCESS;
    }});
    a.start();  // "a" sorts first: it owns the topic's only queue
    b.start();
    REQUIRE(awaitIdle(b));
    w.producer.send(ackmq::Message("T", "", "unfinished"), ackmq::MessageQueue("T", "broker-a", 0));
    inA.wait();
    a.shutdown();  // leaves the group with the message unacknowledged
    inB.wait();    // the other member consumes it, from the committed offset
    CHECK(bGot.load() == 1);
    releaseA.count_down();
    REQUIRE(awaitIdle(b));
    CHECK(w.broker.queryConsumerOffset("g", ackmq::MessageQueue("T", "broker-a", 0)) == 1);
  }

  TEST_CASE("shutdown waits for listener calls in flight and commits their results" * doctest::timeout(60)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    std::latch in(1), release(1);
    c.registerMessageListener(ackmq::MessageListenerConcurrently{[&](auto&, auto&) {
      in.count_down();
      release.wait();
      return SUCCESS;
    }});
    c.start();
    w.send("T", "x");
    in.wait();
    std::thread stopper([&] { c.shutdown(); });
    release.count_down();
    stopper.join();
    CHECK(w.broker.queryConsumerOffset("g", ackmq::MessageQueue("T", "broker-a", 0)) == 1);
    CHECK(ackmq::testing::topicMessages(w.broker, "%RETRY%g").empty());
    CHECK(ackmq::testing::consumerStats(c).succeeded == 1);
  }

  TEST_CASE("shutdown is idempotent and may be called from a listener without deadlock" *
            doctest::timeout(60)) {
    World w;
    w.broker.createTopic("T", 1);
    auto c = std::make_unique<ManualPushConsumer>(w.broker, "g");
    c->subscribe("T", "*");
    std::latch shutDown(1);
    std::atomic<int> calls{0};
    c->registerMessageListener(ackmq::MessageListenerConcurrently{[&](auto&, auto&) {
      if (calls++ == 0) {
        c->shutdown();
        c->shutdown();
        shutDown.count_down();
      }
      return SUCCESS;
    }});
    c->start();
    w.send("T", "stop");
    shutDown.wait();
    c.reset();  // waits for the shutdown the listener began, and joins every thread
    // The listener's own result was committed before the member left.
    CHECK(w.broker.queryConsumerOffset("g", ackmq::MessageQueue("T", "broker-a", 0)) == 1);
    CHECK(calls.load() == 1);
  }

  TEST_CASE("destroying a started consumer without shutdown is safe" * doctest::timeout(60)) {
    World w;
    for (int round = 0; round < 10; ++round) {
      ManualPushConsumer c(w.broker, "g");
      c.subscribe("T", "*");
      c.registerMessageListener(ackmq::MessageListenerConcurrently{[](auto&, auto&) { return SUCCESS; }});
      c.start();
      for (int i = 0; i < 20; ++i)
        w.send("T", "x");
    }
    ManualPushConsumer last(w.broker, "g");
    last.subscribe("T", "*");
    Recorder rec;
    listen(last, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
    last.start();
    REQUIRE(awaitIdle(last));
    // Whatever the earlier members left unacknowledged is delivered now: nothing is lost.
    CHECK(sumOffsets(ackmq::testing::committedOffsets(w.broker, "g"), "T") == 200);
  }

  TEST_CASE("a member whose subscription differs from its group's is refused at start, naming both" *
            doctest::timeout(30)) {
    World w;
    ManualPushConsumer a(w.broker, "g"), b(w.broker, "g"), twin(w.broker, "g");
    a.subscribe("T", "TagA || TagB");
    b.subscribe("T", "TagA");
    for (auto* c : {&a, &b, &twin}) {
      c->registerMessageListener(ackmq::MessageListenerConcurrently{[](auto&, auto&) { return SUCCESS; }});
    }
    a.setInstanceName("same");
    a.start();
    try {
      b.start();
      FAIL("started");
    } catch (const ackmq::MQClientException& e) {
      const std::string what = e.what();
      CHECK(what.find("T: TagA || TagB") != std::string::npos);
      CHECK(what.find("T: TagA}") != std::string::npos);
    }
    twin.subscribe("T", "TagB||TagA");  // the same subscription, spelt differently
    twin.setInstanceName("same");
    CHECK_THROWS_WITH_AS(twin.start(), doctest::Contains("instanceName"), ackmq::MQClientException);
    twin.setInstanceName("other");
    CHECK_NOTHROW(twin.start());
  }

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

  TEST_CASE("the listener gets the stored messages by reference: no copy is made for it" *
            doctest::timeout(30)) {
    struct Counted {
      std::shared_ptr<std::atomic<int>> copies;
      Counted() : copies(std::make_shared<std::atomic<int>>(0)) {}
      Counted(std::shared_ptr<std::atomic<int>> c) : copies(std::move(c)) {}
      Counted(const Counted& o) : copies(o.copies) { ++*copies; }
      Counted& operator=(const Counted& o) {
        copies = o.copies;
        ++*copies;
        return *this;
      }
    };
    auto copies = std::make_shared<std::atomic<int>>(0);
    ackmq::ManualClock clock;
    ackmq::BasicBroker<Counted, ackmq::ManualClock> broker(clock);
    ackmq::BasicProducer<decltype(broker)> producer(broker, "p");
    ackmq::BasicPushConsumer<decltype(broker)> consumer(broker, "g");
    producer.start();
    consumer.subscribe("T", "*");
    std::atomic<int> copiesSeenInListener{-1};
    consumer.registerMessageListener(ackmq::BasicMessageListenerConcurrently<Counted>{
        [&](const ackmq::BasicMessageExtList<Counted>& msgs, auto&) {
          copiesSeenInListener.store(msgs[0].getBody().copies->load());
          return SUCCESS;
        }});
    consumer.start();
    ackmq::BasicMessage<Counted> m("T", "", Counted(copies));
    const int beforeSend = copies->load();
    producer.send(m);
    REQUIRE(awaitIdle(consumer));
    // One copy into the store, one into the consumer's process queue; none for the listener call.
    CHECK(copiesSeenInListener.load() - beforeSend == 2);
  }

  TEST_CASE("start refuses a consumer without listener or subscription, and settings are checked" *
            doctest::timeout(10)) {
    World w;
    ManualPushConsumer c(w.broker, "g");
    CHECK_THROWS_WITH_AS(c.start(), doctest::Contains("no listener"), ackmq::MQClientException);
    c.registerMessageListener(ackmq::MessageListenerConcurrently{[](auto&, auto&) { return SUCCESS; }});
    CHECK_THROWS_WITH_AS(c.start(), doctest::Contains("subscribes to nothing"), ackmq::MQClientException);
    CHECK_THROWS_WITH_AS(c.setConsumeThreadMin(0), doctest::Contains("setConsumeThreadMin"),
                         ackmq::MQClientException);
    CHECK_THROWS_WITH_AS(c.setPullBatchSize(2000), doctest::Contains("1..1024"), ackmq::MQClientException);
    CHECK_THROWS_AS(c.subscribe("SCHEDULE_TOPIC_XXXX", "*"), ackmq::MQClientException);
    CHECK_THROWS_AS(ManualPushConsumer(w.broker, "bad group"), ackmq::MQClientException);
    c.subscribe("T", "*");
    c.setConsumeThreadMin(8);
    c.setConsumeThreadMax(4);
    CHECK_THROWS_WITH_AS(c.start(), doctest::Contains("larger than consumeThreadMax"),
                         ackmq::MQClientException);
    c.setConsumeThreadMax(8);
    c.start();
    CHECK_THROWS_WITH_AS(c.subscribe("U", "*"), doctest::Contains("before start()"),
                         ackmq::MQClientException);
    c.shutdown();
    CHECK_THROWS_AS(c.start(), ackmq::MQClientException);
    CHECK(c.getPullThresholdForQueue() == 1000);
    CHECK(c.getConsumeMessageBatchMaxSize() == 1);
    CHECK(c.getMaxReconsumeTimes() == -1);
    CHECK(c.getConsumeTimeout() == std::chrono::minutes(15));
  }

  TEST_CASE("with the system clock, messages flow from producer to listener" * doctest::timeout(60)) {
    ackmq::Broker broker;
    ackmq::Producer producer(broker, "p");
    producer.start();
    ackmq::PushConsumer consumer(broker, "g");
    consumer.subscribe("T", "*");
    std::latch all(500);
    consumer.registerMessageListener(
        ackmq::MessageListenerConcurrently{[&](const MessageExtList& msgs, auto&) {
          for (std::size_t i = 0; i < msgs.size(); ++i)
            all.count_down();
          return SUCCESS;
        }});
    consumer.start();
    for (int i = 0; i < 500; ++i)
      producer.send(ackmq::Message("T", "", "x"));
    all.wait();
    CHECK(ackmq::testing::awaitIdle(consumer));
    CHECK(sumOffsets(ackmq::testing::committedOffsets(broker, "g"), "T") == 500);
  }

  TEST_CASE("a conversation between two consumers delivers every message once, in turn" *
            doctest::timeout(60)) {
    // One message in flight at a time: each reaches an idle consumer, whose listener thread is still looking
    // for work (it pulls the message itself) or has gone to sleep (the sender pulls it). A message pulled
    // twice, or by nobody, breaks the count or hangs the test.
    constexpr int kRounds = 2000;
    World w;
    w.broker.createTopic("Ping", 2);
    w.broker.createTopic("Pong", 2);
    ManualProducer ponger(w.broker, "ponger");
    ponger.start();
    std::atomic<int> pings{0};
    std::atomic<int> pongs{0};
    ManualPushConsumer echo(w.broker, "echo");
    echo.subscribe("Ping", "*");
    echo.setConsumeThreadMin(1);
    echo.setConsumeThreadMax(1);
    echo.registerMessageListener(ackmq::MessageListenerConcurrently{[&](const MessageExtList& msgs, auto&) {
      pings.fetch_add(static_cast<int>(msgs.size()));
      for (const auto& m : msgs)
        ponger.send(ackmq::Message("Pong", "", m.getBody()));
      return SUCCESS;
    }});
    ManualPushConsumer back(w.broker, "back");
    back.subscribe("Pong", "*");
    back.setConsumeThreadMin(1);
    back.setConsumeThreadMax(1);
    std::vector<std::string> order;
    back.registerMessageListener(ackmq::MessageListenerConcurrently{[&](const MessageExtList& msgs, auto&) {
      for (const auto& m : msgs)
        order.push_back(m.getBody());  // one listener thread, one message in flight: no lock needed
      pongs.fetch_add(static_cast<int>(msgs.size()), std::memory_order_release);
      return SUCCESS;
    }});
    echo.start();
    back.start();
    for (int i = 0; i < kRounds; ++i) {
      w.send("Ping", std::to_string(i));
      while (pongs.load(std::memory_order_acquire) <= i)
        std::this_thread::yield();
    }
    REQUIRE(awaitIdle(echo));
    REQUIRE(awaitIdle(back));
    CHECK(pings.load() == kRounds);
    CHECK(pongs.load() == kRounds);
    REQUIRE(order.size() == static_cast<std::size_t>(kRounds));
    for (int i = 0; i < kRounds; ++i)
      CHECK(order[static_cast<std::size_t>(i)] == std::to_string(i));
    CHECK(sumOffsets(ackmq::testing::committedOffsets(w.broker, "echo"), "Ping") == kRounds);
    CHECK(sumOffsets(ackmq::testing::committedOffsets(w.broker, "back"), "Pong") == kRounds);
  }

  TEST_CASE("with the system clock, a retry arrives after its delay level" * doctest::timeout(60)) {
    ackmq::Broker broker(ackmq::BrokerConfig{.messageDelayLevel = "5ms 5ms 5ms 5ms"});
    ackmq::Producer producer(broker, "p");
    producer.start();
    ackmq::PushConsumer consumer(broker, "g");
    consumer.subscribe("T", "*");
    std::latch retried(1);
    consumer.registerMessageListener(
        ackmq::MessageListenerConcurrently{[&](const MessageExtList& msgs, auto&) {
          if (msgs[0].getReconsumeTimes() == 0) return LATER;
          retried.count_down();
          return SUCCESS;
        }});
    consumer.start();
    producer.send(ackmq::Message("T", "", "x"));
    retried.wait();
    CHECK(ackmq::testing::awaitIdle(consumer));
  }
}
