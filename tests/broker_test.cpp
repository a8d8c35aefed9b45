// The broker: topics, auto-creation, visibility, lookups, configuration and shutdown.
#include <ackmq/broker.hpp>

#include <doctest/doctest.h>

#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <chrono>
#include <string>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;

using ackmq_test::errorOf;
using ackmq_test::mentions;

TEST_SUITE("broker") {
  TEST_CASE("createTopic creates the queues, is idempotent, grows and never shrinks" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    broker.createTopic("Orders", 8);
    CHECK(broker.fetchSubscribeMessageQueues("Orders").size() == 8);
    broker.createTopic("Orders", 8);
    CHECK(broker.fetchSubscribeMessageQueues("Orders").size() == 8);
    broker.createTopic("Orders", 12);
    CHECK(broker.fetchSubscribeMessageQueues("Orders").size() == 12);
    broker.createTopic("Orders", 2);
    const auto queues = broker.fetchSubscribeMessageQueues("Orders");
    REQUIRE(queues.size() == 12);
    for (int i = 0; i < 12; ++i) {
      CHECK(queues[static_cast<std::size_t>(i)] == ackmq::MessageQueue("Orders", "broker-a", i));
    }
  }

  TEST_CASE("createTopic refuses bad names and queue counts, naming the rule" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    CHECK(mentions(errorOf([&] { broker.createTopic("", 4); }), "must not be empty"));
    CHECK(mentions(errorOf([&] { broker.createTopic("a b", 4); }), "character ' '"));
    CHECK(mentions(errorOf([&] { broker.createTopic(std::string(128, 'a'), 4); }), "limit is 127"));
    CHECK(mentions(errorOf([&] { broker.createTopic("SCHEDULE_TOPIC_XXXX", 4); }), "system topic"));
    CHECK(mentions(errorOf([&] { broker.createTopic("%DLQ%g", 4); }), "system topic"));
    CHECK(mentions(errorOf([&] { broker.createTopic("T", 0); }), "queueNums 0 is out of range"));
    CHECK_THROWS_AS(broker.fetchSubscribeMessageQueues("T"), ackmq::MQClientException);
  }

  TEST_CASE("fetchSubscribeMessageQueues of an unknown topic throws NOT_FOUND_TOPIC_EXCEPTION" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    try {
      broker.fetchSubscribeMessageQueues("Nope");
      FAIL("no exception");
    } catch (const ackmq::MQClientException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::NOT_FOUND_TOPIC_EXCEPTION);
    }
  }

  TEST_CASE("a topic is auto-created with defaultTopicQueueNums queues on its first send" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    producer.send(ackmq::Message("Fresh", "", "x"));
    CHECK(broker.fetchSubscribeMessageQueues("Fresh").size() == 4);

    ManualBroker eight(clock, ackmq::BrokerConfig{.defaultTopicQueueNums = 8});
    ManualProducer p8(eight, "p");
    p8.start();
    p8.send(ackmq::Message("Fresh", "", "x"));
    CHECK(eight.fetchSubscribeMessageQueues("Fresh").size() == 8);
  }

  TEST_CASE("without auto-creation a send to an unknown topic fails and stores nothing" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock, ackmq::BrokerConfig{.autoCreateTopicEnable = false});
    ManualProducer producer(broker, "p");
    producer.start();
    try {
      producer.send(ackmq::Message("Unknown", "", "x"));
      FAIL("no exception");
    } catch (const ackmq::MQClientException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::NOT_FOUND_TOPIC_EXCEPTION);
      CHECK(mentions(e.what(), "autoCreateTopicEnable"));
    }
    CHECK(ackmq::testing::topicMessages(broker, "Unknown").empty());
    broker.createTopic("Unknown", 2);
    CHECK(producer.send(ackmq::Message("Unknown", "", "x")).getSendStatus() == ackmq::SendStatus::SEND_OK);
  }

  TEST_CASE("a message is visible in its queue as soon as send returns" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    const auto r = producer.send(ackmq::Message("T", "TagA", "now"));
    CHECK(broker.maxOffset(r.getMessageQueue()) == r.getQueueOffset() + 1);
    const auto msgs = ackmq::testing::topicMessages(broker, "T");
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].getMsgId() == r.getMsgId());
  }

  TEST_CASE("a stored message keeps its fields and gets its broker's" * doctest::timeout(10)) {
    ackmq::ManualClock clock(1'234'567'000);
    ManualBroker broker(clock, ackmq::BrokerConfig{.brokerName = "broker-x"});
    ManualProducer producer(broker, "p");
    producer.start();
    ackmq::Message m("T", "TagA", "k1 k2", "payload");
    m.setFlag(9);
    m.putUserProperty("traceId", "abc");
    const auto r = producer.send(m);
    const auto v = broker.viewMessage(r.getMsgId());
    REQUIRE(v.has_value());
    CHECK(v->getTopic() == "T");
    CHECK(v->getTags() == "TagA");
    CHECK(v->getKeys() == "k1 k2");
    CHECK(v->getBody() == "payload");
    CHECK(v->getFlag() == 9);
    CHECK(v->getProperty("traceId") == "abc");
    CHECK(v->getBrokerName() == "broker-x");
    CHECK(v->getBornTimestamp() == 1'234'567'000);
    CHECK(v->getStoreTimestamp() == 1'234'567'000);
    CHECK(v->getReconsumeTimes() == 0);
    CHECK(v->getStoreSize() > 80);
    CHECK(v->getQueueId() == r.getMessageQueue().getQueueId());
    CHECK(v->getQueueOffset() == r.getQueueOffset());
    CHECK(v->getOffsetMsgId() == r.getOffsetMsgId());
    CHECK(v->getProperty("UNIQ_KEY") == r.getMsgId());
    CHECK(r.getMessageQueue().getBrokerName() == "broker-x");
  }

  TEST_CASE("viewMessage finds a copy by offset id and the newest copy by msgId" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    ackmq::Message m("T", "", "delayed");
    m.setDelayTimeLevel(1);
    const auto r = producer.send(m);
    const auto parked = broker.viewMessage(r.getOffsetMsgId());
    REQUIRE(parked.has_value());
    CHECK(parked->getTopic() == "SCHEDULE_TOPIC_XXXX");
    clock.advance(1s);
    const auto newest = broker.viewMessage(r.getMsgId());
    REQUIRE(newest.has_value());
    CHECK(newest->getTopic() == "T");
    CHECK(newest->getOffsetMsgId() != r.getOffsetMsgId());
    CHECK_FALSE(broker.viewMessage("0123456789ABCDEF0123456789ABCDEF").has_value());
    CHECK_FALSE(broker.viewMessage("not an id").has_value());
  }

  TEST_CASE("queryMessage finds messages of one topic by key" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    producer.send(ackmq::Message("A", "", "order-1 customer-9", "first"));
    producer.send(ackmq::Message("A", "", "order-2 customer-9", "second"));
    producer.send(ackmq::Message("B", "", "order-1", "other topic"));
    const auto hits = broker.queryMessage("A", "customer-9", 10);
    REQUIRE(hits.size() == 2);
    CHECK(hits[0].getBody() == "first");
    CHECK(hits[1].getBody() == "second");
    CHECK(broker.queryMessage("A", "order-1", 10).size() == 1);
    CHECK(broker.queryMessage("A", "order", 10).empty());  // keys match whole
    CHECK(broker.queryMessage("A", "customer-9", 1).size() == 1);
  }

  TEST_CASE("searchOffset finds the first message stored at or after a time" * doctest::timeout(10)) {
    ackmq::ManualClock clock(0);
    ManualBroker broker(clock);
    broker.createTopic("T", 1);
    ManualProducer producer(broker, "p");
    producer.start();
    const ackmq::MessageQueue q("T", "broker-a", 0);
    for (int i = 0; i < 5; ++i) {
      producer.send(ackmq::Message("T", "", "m"), q);
      clock.advance(100ms);
    }
    CHECK(broker.searchOffset(q, 0) == 0);
    CHECK(broker.searchOffset(q, 150) == 2);
    CHECK(broker.searchOffset(q, 200) == 2);
    CHECK(broker.searchOffset(q, 10'000) == 5);
  }

  TEST_CASE("updateConsumerOffset and queryConsumerOffset keep a group's offsets, -1 when none" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    broker.createTopic("T", 2);
    const ackmq::MessageQueue q("T", "broker-a", 1);
    CHECK(broker.queryConsumerOffset("g", q) == -1);
    broker.updateConsumerOffset("g", q, 7);
    CHECK(broker.queryConsumerOffset("g", q) == 7);
    CHECK(broker.queryConsumerOffset("other", q) == -1);
    CHECK_THROWS_AS(broker.updateConsumerOffset("g", ackmq::MessageQueue("T", "broker-a", 5), 1),
                    ackmq::MQClientException);
    CHECK_THROWS_AS(broker.updateConsumerOffset("g", q, -3), ackmq::MQClientException);
  }

  TEST_CASE("a bad broker configuration is refused, naming the field" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    auto fails = [&](ackmq::BrokerConfig c, std::string_view field) {
      const std::string what = errorOf([&] { ManualBroker b(clock, c); });
      CHECK_MESSAGE(mentions(what, field), what);
    };
    fails({.brokerName = ""}, "brokerName");
    fails({.defaultTopicQueueNums = 0}, "defaultTopicQueueNums");
    fails({.messageDelayLevel = "1s 5x"}, "messageDelayLevel");
    fails({.messageDelayLevel = ""}, "messageDelayLevel");
    fails({.maxMessageSize = 0}, "maxMessageSize");
    fails({.maxStoreBytes = 1000, .commitLogSegmentBytes = 4096}, "maxStoreBytes");
    fails({.commitLogSegmentBytes = 100}, "commitLogSegmentBytes");
    fails({.commitLogSegmentBytes = std::size_t{128} << 20}, "maxConsumedHistoryBytes");
  }

  TEST_CASE("shutdown is idempotent, refuses later sends and keeps what is stored" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    producer.send(ackmq::Message("T", "", "kept"));
    broker.shutdown();
    broker.shutdown();
    try {
      producer.send(ackmq::Message("T", "", "refused"));
      FAIL("no exception");
    } catch (const ackmq::MQClientException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::SERVICE_NOT_AVAILABLE);
    }
    const auto msgs = ackmq::testing::topicMessages(broker, "T");
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].getBody() == "kept");
  }

  TEST_CASE("a broker on the system clock starts and stops its timer thread" * doctest::timeout(30)) {
    for (int i = 0; i < 20; ++i) {
      ackmq::Broker broker;
      ackmq::Producer producer(broker, "p");
      producer.start();
      CHECK(producer.send(ackmq::Message("T", "", "x")).getSendStatus() == ackmq::SendStatus::SEND_OK);
    }
  }
}
