// Delayed messages: the 18 delay levels, deliver times, parking in SCHEDULE_TOPIC_XXXX and the re-put.
#include <ackmq/detail/broker/schedule_service.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;

namespace {
constexpr std::int64_t kLevels[] = {1'000,   5'000,   10'000,    30'000,    60'000,    120'000,
                                    180'000, 240'000, 300'000,   360'000,   420'000,   480'000,
                                    540'000, 600'000, 1'200'000, 1'800'000, 3'600'000, 7'200'000};
}

TEST_SUITE("schedule") {
  TEST_CASE("the default delay levels are RocketMQ's 1s 5s 10s 30s 1m ... 2h" * doctest::timeout(10)) {
    const auto levels = ackmq::detail::parseDelayLevels(ackmq::BrokerConfig{}.messageDelayLevel);
    REQUIRE(levels.size() == 18);
    for (std::size_t i = 0; i < 18; ++i)
      CHECK(levels[i] == kLevels[i]);
    CHECK(ackmq::detail::parseDelayLevels("500ms 2d") == std::vector<std::int64_t>{500, 172'800'000});
  }

  TEST_CASE("each of the 18 delay levels delivers exactly its delay after the send" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    for (int level = 1; level <= 18; ++level) {
      const std::string topic = "Level" + std::to_string(level);
      ackmq::Message m(topic, "", "x");
      m.setDelayTimeLevel(level);
      producer.send(m);
      const auto delay = std::chrono::milliseconds(kLevels[level - 1]);
      clock.advance(delay - 1ms);
      CHECK_MESSAGE(ackmq::testing::topicMessages(broker, topic).empty(), "level " << level << " too early");
      clock.advance(1ms);
      CHECK_MESSAGE(ackmq::testing::topicMessages(broker, topic).size() == 1,
                    "level " << level << " not due");
    }
  }

  TEST_CASE("a delayed message is parked in SCHEDULE_TOPIC_XXXX queue level-1 with its destination" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    broker.createTopic("T", 4);
    ManualProducer producer(broker, "p");
    producer.start();
    ackmq::Message m("T", "TagA", "parked");
    m.setDelayTimeLevel(4);
    const auto r = producer.send(m, ackmq::MessageQueue("T", "broker-a", 2));
    CHECK(r.getMessageQueue() == ackmq::MessageQueue("T", "broker-a", 2));
    CHECK(broker.maxOffset(ackmq::MessageQueue("T", "broker-a", 2)) == 0);  // invisible in its real queue
    const auto parked = ackmq::testing::topicMessages(broker, "SCHEDULE_TOPIC_XXXX");
    REQUIRE(parked.size() == 1);
    CHECK(parked[0].getQueueId() == 3);
    CHECK(parked[0].getProperty("REAL_TOPIC") == "T");
    CHECK(parked[0].getProperty("REAL_QID") == "2");
    CHECK(parked[0].getDelayTimeLevel() == 4);
    CHECK(parked[0].getMsgId() == r.getMsgId());
    CHECK(r.getOffsetMsgId() == parked[0].getOffsetMsgId());
  }

  TEST_CASE("a due message is re-put as a new physical copy with the same msgId in its real queue" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock(1'000'000);
    ManualBroker broker(clock);
    broker.createTopic("T", 4);
    ManualProducer producer(broker, "p");
    producer.start();
    producer.send(ackmq::Message("T", "", "earlier"), ackmq::MessageQueue("T", "broker-a", 1));
    ackmq::Message m("T", "TagB", "key-1", "body");
    m.setDelayTimeLevel(3);
    m.putUserProperty("user", "prop");
    const auto r = producer.send(m, ackmq::MessageQueue("T", "broker-a", 1));
    clock.advance(10s);
    const auto msgs = ackmq::testing::topicMessages(broker, "T");
    REQUIRE(msgs.size() == 2);
    const auto& copy = msgs[1];
    CHECK(copy.getMsgId() == r.getMsgId());
    CHECK(copy.getOffsetMsgId() != r.getOffsetMsgId());
    CHECK(copy.getQueueId() == 1);
    CHECK(copy.getQueueOffset() == 1);
    CHECK(copy.getTopic() == "T");
    CHECK(copy.getTags() == "TagB");
    CHECK(copy.getKeys() == "key-1");
    CHECK(copy.getBody() == "body");
    CHECK(copy.getProperty("user") == "prop");
    CHECK(copy.getDelayTimeLevel() == 0);
    CHECK(copy.getProperty("REAL_TOPIC").empty());
    CHECK(copy.getProperty("REAL_QID").empty());
    CHECK(copy.getBornTimestamp() == 1'000'000);
    CHECK(copy.getStoreTimestamp() == 1'010'000);
    CHECK(broker.queryMessage("T", "key-1", 10).size() == 1);
  }

  TEST_CASE("messages of one delay level keep their order" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    broker.createTopic("T", 1);
    ManualProducer producer(broker, "p");
    producer.start();
    for (int i = 0; i < 200; ++i) {
      ackmq::Message m("T", "", std::to_string(i));
      m.setDelayTimeLevel(2);
      producer.send(m, ackmq::MessageQueue("T", "broker-a", 0));
      if (i % 50 == 0) clock.advance(1ms);
    }
    clock.advance(6s);
    const auto msgs = ackmq::testing::topicMessages(broker, "T");
    REQUIRE(msgs.size() == 200);
    for (int i = 0; i < 200; ++i)
      CHECK(msgs[static_cast<std::size_t>(i)].getBody() == std::to_string(i));
  }

  TEST_CASE("one timer serves every message parked at a delay level, a deliver time has one of its own" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    broker.createTopic("T", 1);
    ManualProducer producer(broker, "p");
    producer.start();
    const auto pendingTimers = [&] { return ackmq::detail::BrokerAccess::core(broker).timers().pending(); };
    const std::size_t before = pendingTimers();
    for (int level : {3, 3, 5, 3, 5, 3}) {
      for (int i = 0; i < 100; ++i) {
        ackmq::Message m("T", "", "level");
        m.setDelayTimeLevel(level);
        producer.send(m);
      }
      clock.advance(1ms);
    }
    CHECK(pendingTimers() == before + 2);  // one per level in use
    for (int i = 0; i < 3; ++i) {
      ackmq::Message m("T", "", "deliver-time");
      m.setDelayTimeMs(20'000 + i);
      producer.send(m);
    }
    CHECK(pendingTimers() == before + 5);
    clock.advance(10s);  // level 3: all 400 due
    CHECK(ackmq::testing::topicMessages(broker, "T").size() == 400);
    CHECK(pendingTimers() == before + 4);  // level 3 has nothing left: its timer is not re-armed
    clock.advance(60s);
    CHECK(ackmq::testing::topicMessages(broker, "T").size() == 603);
    CHECK(pendingTimers() == before);
  }

  TEST_CASE("messages parked at one level at different times each come due at their own time" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock(1'000'000);
    ManualBroker broker(clock);
    broker.createTopic("T", 1);
    ManualProducer producer(broker, "p");
    producer.start();
    // Level 2 (5 s): sent at +0, +2 s (two), +3.5 s; and again at +20 s, after the level went idle.
    const std::vector<std::pair<std::int64_t, std::string>> sends = {
        {0, "a"}, {2'000, "b"}, {2'000, "c"}, {3'500, "d"}, {20'000, "e"}};
    std::int64_t at = 0;
    for (const auto& [when, body] : sends) {
      clock.advance(std::chrono::milliseconds(when - at));
      at = when;
      ackmq::Message m("T", "", body);
      m.setDelayTimeLevel(2);
      producer.send(m);
    }
    clock.advance(10s);
    const auto msgs = ackmq::testing::topicMessages(broker, "T");
    REQUIRE(msgs.size() == sends.size());
    for (std::size_t i = 0; i < sends.size(); ++i) {
      CHECK(msgs[i].getBody() == sends[i].second);
      CHECK(msgs[i].getStoreTimestamp() == 1'000'000 + sends[i].first + 5'000);
    }
  }

  TEST_CASE("a level skips parked messages that DROP_OLDEST dropped and re-puts the rest on time" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock(1'000'000);
    ackmq::BrokerConfig c;
    c.commitLogSegmentBytes = 4096;
    c.maxStoreBytes = 2 * 4096;
    c.storeFullPolicy = ackmq::StoreFullPolicy::DROP_OLDEST;
    ManualBroker broker(clock, c);
    broker.createTopic("T", 1);
    ManualProducer producer(broker, "p");
    producer.start();
    ackmq::Message first("T", "", "dropped");
    first.setDelayTimeLevel(3);
    producer.send(first);
    for (int i = 0; i < 60; ++i)  // fills more than two segments: the one parking "dropped" goes
      producer.send(ackmq::Message("Filler", "", std::string(200, 'f')));
    REQUIRE(ackmq::testing::storeStats(broker).droppedMessages >= 1);
    clock.advance(1s);
    ackmq::Message second("T", "", "kept");
    second.setDelayTimeLevel(3);
    producer.send(second);
    clock.advance(9s);  // the level's timer fires for "dropped", which is gone
    CHECK(ackmq::testing::topicMessages(broker, "T").empty());
    clock.advance(1s);
    const auto msgs = ackmq::testing::topicMessages(broker, "T");
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].getBody() == "kept");
    CHECK(msgs[0].getStoreTimestamp() == 1'011'000);
  }

  TEST_CASE("a deliver time delivers at that time, to the millisecond" * doctest::timeout(10)) {
    ackmq::ManualClock clock(5'000'000);
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    ackmq::Message m("T", "", "at");
    m.setDeliverTimeMs(5'012'345);
    producer.send(m);
    const auto parked = ackmq::testing::topicMessages(broker, "SCHEDULE_TOPIC_XXXX");
    REQUIRE(parked.size() == 1);
    CHECK(parked[0].getQueueId() == 18);  // the queue after the 18 levels
    clock.setMillis(5'012'344);
    CHECK(ackmq::testing::topicMessages(broker, "T").empty());
    clock.setMillis(5'012'345);
    const auto msgs = ackmq::testing::topicMessages(broker, "T");
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].getDeliverTimeMs() == 0);
    CHECK(msgs[0].getStoreTimestamp() == 5'012'345);
  }

  TEST_CASE("a delay time delivers that many milliseconds after the send" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    ackmq::Message ms("T", "", "ms");
    ms.setDelayTimeMs(777);
    producer.send(ms);
    ackmq::Message sec("T", "", "sec");
    sec.setDelayTimeSec(2);
    producer.send(sec);
    clock.advance(776ms);
    CHECK(ackmq::testing::topicMessages(broker, "T").empty());
    clock.advance(1ms);
    CHECK(ackmq::testing::topicMessages(broker, "T").size() == 1);
    clock.advance(1223ms);
    CHECK(ackmq::testing::topicMessages(broker, "T").size() == 2);
  }

  TEST_CASE("a deliver time in the past delivers at once" * doctest::timeout(10)) {
    ackmq::ManualClock clock(10'000'000);
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    ackmq::Message m("T", "", "past");
    m.setDeliverTimeMs(9'000'000);
    producer.send(m);
    CHECK(ackmq::testing::topicMessages(broker, "T").size() == 1);
    CHECK(ackmq::testing::topicMessages(broker, "SCHEDULE_TOPIC_XXXX").empty());
  }

  TEST_CASE("a delay level wins over a deliver time" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    ackmq::Message m("T", "", "both");
    m.setDelayTimeLevel(1);
    m.setDelayTimeMs(60'000);
    producer.send(m);
    clock.advance(1s);
    CHECK(ackmq::testing::topicMessages(broker, "T").size() == 1);
  }

  TEST_CASE("a configured messageDelayLevel sets the levels and their count" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock, ackmq::BrokerConfig{.messageDelayLevel = "2s 1m"});
    ManualProducer producer(broker, "p");
    producer.start();
    ackmq::Message m("T", "", "x");
    m.setDelayTimeLevel(3);
    CHECK_THROWS_WITH_AS(producer.send(m), doctest::Contains("out of range 1..2"), ackmq::MQClientException);
    m.setDelayTimeLevel(1);
    producer.send(m);
    clock.advance(1999ms);
    CHECK(ackmq::testing::topicMessages(broker, "T").empty());
    clock.advance(1ms);
    CHECK(ackmq::testing::topicMessages(broker, "T").size() == 1);
  }

  TEST_CASE("pending delayed messages stay stored when the broker shuts down" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    ackmq::Message m("T", "", "pending");
    m.setDelayTimeLevel(5);
    producer.send(m);
    broker.shutdown();
    clock.advance(2min);
    CHECK(ackmq::testing::topicMessages(broker, "T").empty());
    CHECK(ackmq::testing::topicMessages(broker, "SCHEDULE_TOPIC_XXXX").size() == 1);
  }

  TEST_CASE("a delayed message parked in the oldest segment still comes due when the store is full" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ackmq::BrokerConfig c;
    c.commitLogSegmentBytes = 4096;
    c.maxStoreBytes = 3 * 4096;
    c.storeFullPolicy = ackmq::StoreFullPolicy::REJECT_NEW;  // a full store refuses at once
    ManualBroker broker(clock, c);
    broker.createTopic("T", 1);
    const ackmq::MessageQueue q("T", "broker-a", 0);
    ManualProducer producer(broker, "p");
    producer.start();
    broker.updateConsumerOffset("g", q, 0);
    ackmq::Message m("T", "", "delayed");
    m.setDelayTimeLevel(1);
    producer.send(m, q);
    // Fill the store, to the last byte, with messages group g has not consumed yet.
    for (std::size_t size : {std::size_t{300}, std::size_t{1}}) {
      CHECK_THROWS_AS(
          [&] {
            for (;;)
              producer.send(ackmq::Message("T", "", std::string(size, 'f')), q);
          }(),
          ackmq::MQBrokerException);
    }
    const std::int64_t filled = broker.maxOffset(q);
    clock.advance(1s);
    // The re-put uses the broker's one-segment allowance: the message is delivered, nothing is lost.
    CHECK(broker.maxOffset(q) == filled + 1);
    CHECK(ackmq::testing::topicMessages(broker, "T").back().getBody() == "delayed");
    CHECK(ackmq::testing::storeStats(broker).allocatedBytes <= 4 * 4096);
    // Applications are still refused until the group catches up.
    CHECK_THROWS_AS(producer.send(ackmq::Message("T", "", "x"), q), ackmq::MQBrokerException);
    broker.updateConsumerOffset("g", q, filled + 1);
    CHECK(producer.send(ackmq::Message("T", "", "x"), q).getSendStatus() == ackmq::SendStatus::SEND_OK);
    CHECK(ackmq::testing::storeStats(broker).droppedMessages == 0);
  }
}
