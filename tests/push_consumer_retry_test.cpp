// The push consumer, concurrent: what happens to a failure. The back-off ladder and the DLQ, ackIndex and
// delayLevelWhenNextConsume, the send-back and its fallbacks, and consuming again locally.
#include <ackmq/push_consumer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::ConsumeConcurrentlyContext;
using ackmq::ConsumeConcurrentlyStatus;
using ackmq::MessageExtList;
using ackmq::testing::awaitIdle;
using ackmq::testing::ManualPushConsumer;
using ackmq_test::Fragile;
using ackmq_test::LATER;
using ackmq_test::listen;
using ackmq_test::Recorder;
using ackmq_test::SUCCESS;
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
