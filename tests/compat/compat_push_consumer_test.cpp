// DefaultMQPushConsumer through the rocketmq-client-cpp compatible headers: concurrent and orderly listeners
// chosen by getMessageListenerType(), the client's retry rules on a ManualClock broker, and the ownership and
// shutdown rules its programs rely on.
#include "DefaultMQProducer.h"
#include "DefaultMQPushConsumer.h"
#include "MQMessageListener.h"

#include <doctest/doctest.h>

#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "compat_support.hpp"

using compat_test::BoundBroker;
using compat_test::Recorder;
using compat_test::thrownMessage;
using compat_test::thrownType;
using rocketmq::ConsumeStatus;
using rocketmq::DefaultMQProducer;
using rocketmq::DefaultMQPushConsumer;
using rocketmq::MQMessage;
using rocketmq::MQMessageExt;

namespace {

// A listener of either kind that records what it was given and answers with `answer(msg)`.
template <class Base>
struct Listener : Base {
  ConsumeStatus consumeMessage(const std::vector<MQMessageExt>& msgs) override {
    recorder.add(msgs);
    return answer ? answer(msgs.front()) : rocketmq::CONSUME_SUCCESS;
  }
  Recorder recorder;
  std::function<ConsumeStatus(const MQMessageExt&)> answer;
};
using Concurrently = Listener<rocketmq::MessageListenerConcurrently>;
using Orderly = Listener<rocketmq::MessageListenerOrderly>;

// A listener of the base class that says it is orderly: the type alone decides.
struct SaysOrderly : rocketmq::MQMessageListener {
  ConsumeStatus consumeMessage(const std::vector<MQMessageExt>& msgs) override {
    recorder.add(msgs);
    return failures.fetch_add(1) == 0 ? rocketmq::RECONSUME_LATER : rocketmq::CONSUME_SUCCESS;
  }
  rocketmq::MessageListenerType getMessageListenerType() override { return rocketmq::messageListenerOrderly; }
  Recorder recorder;
  std::atomic<int> failures{0};
};

struct World {
  World() : producer("compat-producers") {
    producer.setNamesrvAddr(broker.address);
    producer.start();
  }
  DefaultMQPushConsumer& consumer(rocketmq::MQMessageListener& listener,
                                  const std::string& group = "compat-consumers") {
    auto c = std::make_unique<DefaultMQPushConsumer>(group);
    c->setNamesrvAddr(broker.address);
    c->subscribe("Orders", "*");
    c->registerMessageListener(&listener);
    consumers.push_back(std::move(c));
    return *consumers.back();
  }
  rocketmq::SendResult send(const std::string& body, const std::string& tags = "created") {
    MQMessage msg("Orders", tags, body);
    return producer.send(msg);
  }
  bool settle(DefaultMQPushConsumer& c) { return ackmq::compat::awaitIdle(c); }
  // Moves the broker's clock by `d`, letting `c` consume whatever comes due on the way.
  bool advance(DefaultMQPushConsumer& c, std::chrono::milliseconds d) {
    return ackmq::testing::advanceAndSettle(broker.clock, d, [&] { return settle(c); });
  }
  std::size_t stored(const std::string& topic) {
    return ackmq::testing::topicMessages(broker.broker, topic).size();
  }

  BoundBroker broker;
  DefaultMQProducer producer;
  std::vector<std::unique_ptr<DefaultMQPushConsumer>> consumers;
};

}  // namespace

TEST_SUITE("compat push consumer") {
  TEST_CASE("a concurrent listener receives every message, with the producer's msgId" *
            doctest::timeout(30)) {
    Concurrently listener;
    World w;
    auto& consumer = w.consumer(listener);
    consumer.start();
    std::set<std::string> sent;
    for (int i = 0; i < 20; ++i)
      sent.insert(w.send("order " + std::to_string(i)).getMsgId());
    REQUIRE(listener.recorder.waitFor(20));
    std::set<std::string> got;
    for (const auto& m : listener.recorder.messages()) {
      got.insert(m.getMsgId());
      CHECK(m.getTopic() == "Orders");
      CHECK(m.getTags() == "created");
      CHECK(m.getReconsumeTimes() == 0);
      CHECK(m.getBody().rfind("order ", 0) == 0);
    }
    CHECK(got == sent);
  }

  TEST_CASE("a consumer started before its topic exists receives what is sent later" * doctest::timeout(30)) {
    Concurrently listener;
    World w;
    auto& consumer = w.consumer(listener);
    consumer.start();
    CHECK(w.stored("Orders") == 0);
    w.send("first");
    REQUIRE(listener.recorder.waitFor(1));
    CHECK(listener.recorder.messages()[0].getBody() == "first");
  }

  TEST_CASE("keys, flag and application properties reach the listener") {
    Concurrently listener;
    World w;
    auto& consumer = w.consumer(listener);
    consumer.start();
    MQMessage msg("Orders", "paid", "key-1 key-2", "body");
    msg.setFlag(3);
    msg.setProperty("region", "eu");
    w.producer.send(msg);
    REQUIRE(listener.recorder.waitFor(1));
    const MQMessageExt m = listener.recorder.messages()[0];
    CHECK(m.getKeys() == "key-1 key-2");
    CHECK(m.getFlag() == 3);
    CHECK(m.getProperty("region") == "eu");
    CHECK(m.getStoreHostString() == "127.0.0.1:10911");
    CHECK(m.getQueueOffset() == 0);
    CHECK(m.getOffsetMsgId() != m.getMsgId());
  }

  TEST_CASE("a subscription's tags filter what the listener gets") {
    Concurrently listener;
    World w;
    DefaultMQPushConsumer consumer("compat-consumers");
    consumer.setNamesrvAddr(w.broker.address);
    consumer.subscribe("Orders", "paid || shipped");
    consumer.registerMessageListener(&listener);
    consumer.start();
    w.send("1", "created");
    w.send("2", "paid");
    w.send("3", "shipped");
    REQUIRE(w.settle(consumer));
    std::multiset<std::string> bodies;
    for (const auto& m : listener.recorder.messages())
      bodies.insert(m.getBody());
    CHECK(bodies == std::multiset<std::string>{"2", "3"});
  }

  TEST_CASE("setConsumeMessageBatchMaxSize gives a concurrent listener batches") {
    Concurrently listener;
    World w;
    for (int i = 0; i < 8; ++i) {
      MQMessage msg("Orders", "created", std::to_string(i));
      w.producer.send(msg, rocketmq::MQMessageQueue("Orders", "broker-a", 0));
    }
    auto& consumer = w.consumer(listener);
    consumer.setConsumeFromWhere(rocketmq::CONSUME_FROM_FIRST_OFFSET);
    consumer.setConsumeMessageBatchMaxSize(4);
    consumer.start();
    REQUIRE(listener.recorder.waitFor(8));
    std::size_t largest = 0;
    for (auto n : listener.recorder.batchSizes())
      largest = std::max(largest, n);
    CHECK(largest > 1);
    CHECK(largest <= 4);
  }

  TEST_CASE("RECONSUME_LATER walks the retry ladder with getReconsumeTimes 0..16, then %DLQ%" *
            doctest::timeout(60)) {
    Concurrently listener;
    World w;
    listener.answer = [](const MQMessageExt&) { return rocketmq::RECONSUME_LATER; };
    auto& consumer = w.consumer(listener);
    consumer.start();
    const std::string id = w.send("poison").getMsgId();
    REQUIRE(listener.recorder.waitFor(1));
    REQUIRE(w.advance(consumer, std::chrono::hours(5)));
    const auto got = listener.recorder.messages();
    REQUIRE(got.size() == 17);
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].getMsgId() == id);
      CHECK(got[i].getReconsumeTimes() == static_cast<int>(i));
      CHECK(got[i].getTopic() == "Orders");
    }
    const auto dlq = ackmq::testing::topicMessages(w.broker.broker, "%DLQ%compat-consumers");
    REQUIRE(dlq.size() == 1);
    CHECK(dlq[0].getMsgId() == id);
  }

  TEST_CASE("the first retry waits 10 s on the broker's clock, as the ladder says") {
    Concurrently listener;
    World w;
    listener.answer = [](const MQMessageExt& m) {
      return m.getReconsumeTimes() == 0 ? rocketmq::RECONSUME_LATER : rocketmq::CONSUME_SUCCESS;
    };
    auto& consumer = w.consumer(listener);
    consumer.start();
    w.send("retry once");
    REQUIRE(listener.recorder.waitFor(1));
    REQUIRE(w.advance(consumer, std::chrono::milliseconds(9999)));
    CHECK(listener.recorder.size() == 1);
    REQUIRE(w.advance(consumer, std::chrono::milliseconds(1)));
    CHECK(listener.recorder.size() == 2);
    CHECK(listener.recorder.messages()[1].getReconsumeTimes() == 1);
    CHECK(w.stored("%DLQ%compat-consumers") == 0);
  }

  TEST_CASE("setMaxReconsumeTimes(2) sends the third failure to %DLQ%") {
    Concurrently listener;
    World w;
    listener.answer = [](const MQMessageExt&) { return rocketmq::RECONSUME_LATER; };
    auto& consumer = w.consumer(listener);
    consumer.setMaxReconsumeTimes(2);
    CHECK(consumer.getMaxReconsumeTimes() == 2);
    consumer.start();
    w.send("poison");
    REQUIRE(listener.recorder.waitFor(1));
    REQUIRE(w.advance(consumer, std::chrono::hours(1)));
    CHECK(listener.recorder.size() == 3);
    CHECK(w.stored("%DLQ%compat-consumers") == 1);
  }

  TEST_CASE("an orderly listener gets one message per call, in queue order" * doctest::timeout(30)) {
    Orderly listener;
    World w;
    for (int i = 0; i < 10; ++i) {
      MQMessage msg("Orders", "created", std::to_string(i));
      w.producer.send(msg, rocketmq::MQMessageQueue("Orders", "broker-a", 1));
    }
    auto& consumer = w.consumer(listener);
    consumer.setConsumeFromWhere(rocketmq::CONSUME_FROM_FIRST_OFFSET);
    consumer.setConsumeMessageBatchMaxSize(8);
    consumer.start();
    REQUIRE(listener.recorder.waitFor(10));
    for (auto n : listener.recorder.batchSizes())
      CHECK(n == 1);
    const auto got = listener.recorder.messages();
    for (std::size_t i = 0; i < got.size(); ++i)
      CHECK(got[i].getBody() == std::to_string(i));
  }

  TEST_CASE("an orderly failure is retried locally after 1 s with reconsumeTimes + 1, never via %RETRY%") {
    Orderly listener;
    World w;
    listener.answer = [](const MQMessageExt& m) {
      return m.getReconsumeTimes() < 2 ? rocketmq::RECONSUME_LATER : rocketmq::CONSUME_SUCCESS;
    };
    auto& consumer = w.consumer(listener);
    consumer.start();
    w.send("stubborn");
    REQUIRE(listener.recorder.waitFor(1));
    REQUIRE(w.settle(consumer));
    REQUIRE(w.advance(consumer, std::chrono::milliseconds(999)));
    CHECK(listener.recorder.size() == 1);
    REQUIRE(w.advance(consumer, std::chrono::milliseconds(1)));
    CHECK(listener.recorder.size() == 2);
    REQUIRE(w.advance(consumer, std::chrono::seconds(1)));
    const auto got = listener.recorder.messages();
    REQUIRE(got.size() == 3);
    CHECK(got[1].getReconsumeTimes() == 1);
    CHECK(got[2].getReconsumeTimes() == 2);
    CHECK(w.stored("%RETRY%compat-consumers") == 0);
  }

  TEST_CASE("an orderly failure is retried forever, every 5 s once it has failed 16 times, never to %DLQ%" *
            doctest::timeout(60)) {
    Orderly listener;
    World w;
    listener.answer = [](const MQMessageExt& m) {
      return m.getReconsumeTimes() < 20 ? rocketmq::RECONSUME_LATER : rocketmq::CONSUME_SUCCESS;
    };
    auto& consumer = w.consumer(listener);
    consumer.start();
    w.send("stubborn");
    REQUIRE(listener.recorder.waitFor(1));
    REQUIRE(w.advance(consumer, std::chrono::seconds(16)));  // reconsumeTimes 0..15 fail, 1 s apart
    CHECK(listener.recorder.size() == 17);
    REQUIRE(w.advance(consumer, std::chrono::milliseconds(4999)));
    CHECK(listener.recorder.size() == 17);
    REQUIRE(w.advance(consumer, std::chrono::milliseconds(1)));
    CHECK(listener.recorder.size() == 18);
    REQUIRE(w.advance(consumer, std::chrono::seconds(20)));
    CHECK(listener.recorder.size() == 21);
    CHECK(listener.recorder.messages().back().getReconsumeTimes() == 20);
    CHECK(w.stored("%DLQ%compat-consumers") == 0);
  }

  TEST_CASE("getMessageListenerType() alone picks orderly consumption") {
    SaysOrderly listener;
    World w;
    auto& consumer = w.consumer(listener);
    CHECK(consumer.getMessageListenerType() == rocketmq::messageListenerOrderly);
    consumer.start();
    w.send("once failed");
    REQUIRE(listener.recorder.waitFor(1));
    REQUIRE(w.advance(consumer, std::chrono::seconds(1)));
    CHECK(listener.recorder.size() == 2);
    CHECK(w.stored("%RETRY%compat-consumers") == 0);  // concurrently, the failure would be there
  }

  TEST_CASE("a listener may be destroyed as soon as shutdown() returns: no call runs after it" *
            doctest::timeout(30)) {
    World w;
    auto listener = std::make_unique<Concurrently>();
    std::atomic<bool> down{false};
    std::atomic<int> late{0};
    listener->answer = [&](const MQMessageExt&) {
      if (down.load()) ++late;
      return rocketmq::CONSUME_SUCCESS;
    };
    DefaultMQPushConsumer consumer("compat-consumers");
    consumer.setNamesrvAddr(w.broker.address);
    consumer.subscribe("Orders", "*");
    consumer.registerMessageListener(listener.get());
    consumer.start();
    for (int i = 0; i < 50; ++i)
      w.send("x");
    consumer.shutdown();
    down.store(true);
    CHECK(late.load() == 0);
    listener.reset();
    for (int i = 0; i < 5; ++i)
      w.send("after");
    CHECK(!ackmq::compat::awaitIdle(consumer, std::chrono::milliseconds(1)));
    CHECK(thrownType([&] { consumer.start(); }) == "MQClientException");
  }

  TEST_CASE("shutdown() from inside a listener returns at once" * doctest::timeout(30)) {
    Concurrently listener;
    World w;
    DefaultMQPushConsumer consumer("compat-consumers");
    listener.answer = [&](const MQMessageExt&) {
      consumer.shutdown();
      return rocketmq::CONSUME_SUCCESS;
    };
    consumer.setNamesrvAddr(w.broker.address);
    consumer.subscribe("Orders", "*");
    consumer.registerMessageListener(&listener);
    consumer.start();
    w.send("stop");
    REQUIRE(listener.recorder.waitFor(1));
  }

  TEST_CASE("two broadcasting consumers each receive every message" * doctest::timeout(30)) {
    Concurrently a;
    Concurrently b;
    World w;
    auto& ca = w.consumer(a);
    auto& cb = w.consumer(b);
    ca.setMessageModel(rocketmq::BROADCASTING);
    cb.setMessageModel(rocketmq::BROADCASTING);
    ca.start();
    cb.start();
    for (int i = 0; i < 6; ++i)
      w.send(std::to_string(i));
    REQUIRE(a.recorder.waitFor(6));
    REQUIRE(b.recorder.waitFor(6));
  }

  TEST_CASE("two clustering consumers of one group share the messages" * doctest::timeout(30)) {
    Concurrently a;
    Concurrently b;
    World w;
    auto& ca = w.consumer(a);
    auto& cb = w.consumer(b);
    ca.start();
    cb.start();
    for (int i = 0; i < 40; ++i)
      w.send(std::to_string(i));
    REQUIRE(w.settle(ca));
    REQUIRE(w.settle(cb));
    CHECK(a.recorder.size() + b.recorder.size() == 40);
  }

  TEST_CASE("start() without a listener, or without an address, throws MQClientException") {
    Concurrently listener;
    BoundBroker world;
    DefaultMQPushConsumer consumer("compat-consumers");
    consumer.setNamesrvAddr(world.address);
    consumer.subscribe("Orders", "*");
    CHECK(thrownMessage([&] { consumer.start(); }).find("registerMessageListener") != std::string::npos);
    consumer.registerMessageListener(&listener);
    consumer.setNamesrvAddr("");
    CHECK(thrownMessage([&] { consumer.start(); }).find("setNamesrvAddr") != std::string::npos);
  }

  TEST_CASE("start() without a subscription throws MQClientException") {
    Concurrently listener;
    BoundBroker world;
    DefaultMQPushConsumer consumer("compat-consumers");
    consumer.setNamesrvAddr(world.address);
    consumer.registerMessageListener(&listener);
    CHECK(thrownType([&] { consumer.start(); }) == "MQClientException");
  }

  TEST_CASE("the client's defaults, and out-of-range settings ignored as the client ignores them") {
    DefaultMQPushConsumer consumer("compat-consumers");
    CHECK(consumer.getMaxReconsumeTimes() == 16);
    CHECK(consumer.getConsumeMessageBatchMaxSize() == 1);
    CHECK(consumer.getMaxCacheMsgSizePerQueue() == 1000);
    CHECK(consumer.getConsumeThreadCount() >= 1);
    CHECK(consumer.getMessageModel() == rocketmq::CLUSTERING);
    CHECK(consumer.getConsumeFromWhere() == rocketmq::CONSUME_FROM_LAST_OFFSET);
    CHECK(consumer.getMessageListenerType() == rocketmq::messageListenerDefaultly);
    consumer.setConsumeThreadCount(0);
    CHECK(consumer.getConsumeThreadCount() >= 1);
    consumer.setMaxCacheMsgSizePerQueue(70000);
    CHECK(consumer.getMaxCacheMsgSizePerQueue() == 1000);
    consumer.setMaxReconsumeTimes(-1);
    CHECK(consumer.getMaxReconsumeTimes() == 16);
    consumer.setPullMsgThreadPoolCount(3);
    CHECK(consumer.getPullMsgThreadPoolCount() == 3);
    consumer.setInstanceName("me");
    CHECK(consumer.getInstanceName() == "me");
  }
}
