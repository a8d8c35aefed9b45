// DefaultMQPullConsumer through the rocketmq-client-cpp compatible headers: queues, pulls by offset and tag,
// the statuses a pull returns, and the offsets the program keeps.
#include "DefaultMQProducer.h"
#include "DefaultMQPullConsumer.h"
#include "MQueueListener.h"
#include "PullResult.h"

#include <doctest/doctest.h>

#include <ackmq/testing.hpp>

#include <string>
#include <vector>

#include "compat_support.hpp"

using compat_test::BoundBroker;
using compat_test::thrownMessage;
using compat_test::thrownType;
using rocketmq::DefaultMQProducer;
using rocketmq::DefaultMQPullConsumer;
using rocketmq::MQMessage;
using rocketmq::MQMessageQueue;
using rocketmq::PullResult;

namespace {

struct World {
  World() : producer("compat-producers"), consumer("compat-readers") {
    producer.setNamesrvAddr(broker.address);
    producer.start();
    consumer.setNamesrvAddr(broker.address);
  }
  // Sends `bodies` to queue 0 of Orders, tagged `tags`.
  void send(const std::vector<std::string>& bodies, const std::string& tags = "created") {
    for (const auto& body : bodies) {
      MQMessage msg("Orders", tags, body);
      producer.send(msg, queue);
    }
  }

  BoundBroker broker;
  DefaultMQProducer producer;
  DefaultMQPullConsumer consumer;
  MQMessageQueue queue{"Orders", "broker-a", 0};
};

std::vector<std::string> bodies(const PullResult& r) {
  std::vector<std::string> out;
  for (const auto& m : r.msgFoundList)
    out.push_back(m.getBody());
  return out;
}

struct QueueListener : rocketmq::MQueueListener {
  void messageQueueChanged(const std::string& t, std::vector<MQMessageQueue>& all,
                           std::vector<MQMessageQueue>& mine) override {
    topic = t;
    allCount = all.size();
    mineCount = mine.size();
  }
  std::string topic;
  std::size_t allCount = 0;
  std::size_t mineCount = 0;
};

}  // namespace

TEST_SUITE("compat pull consumer") {
  TEST_CASE("fetchSubscribeMessageQueues lists every queue of a topic, and an unknown topic throws") {
    World w;
    w.send({"a"});
    w.consumer.start();
    std::vector<MQMessageQueue> mqs;
    w.consumer.fetchSubscribeMessageQueues("Orders", mqs);
    REQUIRE(mqs.size() == 4);
    for (int i = 0; i < 4; ++i)
      CHECK(mqs[static_cast<std::size_t>(i)] == MQMessageQueue("Orders", "broker-a", i));
    CHECK(thrownType([&] { w.consumer.fetchSubscribeMessageQueues("Nowhere", mqs); }) == "MQClientException");
  }

  TEST_CASE("a pull returns FOUND with up to maxNums messages and the offset to pull next") {
    World w;
    w.send({"0", "1", "2", "3", "4"});
    w.consumer.start();
    PullResult r = w.consumer.pull(w.queue, "*", 0, 3);
    CHECK(r.pullStatus == rocketmq::FOUND);
    CHECK(bodies(r) == std::vector<std::string>{"0", "1", "2"});
    CHECK(r.nextBeginOffset == 3);
    CHECK(r.minOffset == 0);
    CHECK(r.maxOffset == 5);
    r = w.consumer.pull(w.queue, "*", r.nextBeginOffset, 32);
    CHECK(bodies(r) == std::vector<std::string>{"3", "4"});
    CHECK(r.nextBeginOffset == 5);
    CHECK(r.msgFoundList[0].getQueueOffset() == 3);
  }

  TEST_CASE("a pull past the last message says NO_NEW_MSG, and outside the queue OFFSET_ILLEGAL") {
    World w;
    w.send({"0", "1"});
    w.consumer.start();
    PullResult r = w.consumer.pull(w.queue, "*", 2, 32);
    CHECK(r.pullStatus == rocketmq::NO_NEW_MSG);
    CHECK(r.nextBeginOffset == 2);
    r = w.consumer.pull(w.queue, "*", 7, 32);
    CHECK(r.pullStatus == rocketmq::OFFSET_ILLEGAL);
    CHECK(r.nextBeginOffset == 2);
    r = w.consumer.pull(w.queue, "*", -1, 32);
    CHECK(r.pullStatus == rocketmq::OFFSET_ILLEGAL);
    CHECK(r.nextBeginOffset == 0);
  }

  TEST_CASE("a pull filters by tag, and only other tags found means NO_MATCHED_MSG past them") {
    World w;
    w.send({"c0", "c1"}, "created");
    w.send({"p0"}, "paid");
    w.consumer.start();
    PullResult r = w.consumer.pull(w.queue, "paid || shipped", 0, 32);
    CHECK(r.pullStatus == rocketmq::FOUND);
    CHECK(bodies(r) == std::vector<std::string>{"p0"});
    CHECK(r.nextBeginOffset == 3);
    r = w.consumer.pull(w.queue, "shipped", 0, 32);
    CHECK(r.pullStatus == rocketmq::NO_MATCHED_MSG);
    CHECK(r.nextBeginOffset == 3);
    CHECK(w.consumer.pull(w.queue, "null", 0, 32).msgFoundList.size() == 3);
  }

  TEST_CASE("a pull of more than one batch returns them all") {
    World w;
    std::vector<std::string> many;
    for (int i = 0; i < 100; ++i)
      many.push_back(std::to_string(i));
    w.send(many);
    w.consumer.start();
    const PullResult r = w.consumer.pull(w.queue, "*", 0, 80);
    CHECK(r.msgFoundList.size() == 80);
    CHECK(r.nextBeginOffset == 80);
  }

  TEST_CASE("pullBlockIfNotFound returns at once when there is something to return") {
    World w;
    w.send({"0"});
    w.consumer.start();
    const PullResult r = w.consumer.pullBlockIfNotFound(w.queue, "*", 0, 32);
    CHECK(r.pullStatus == rocketmq::FOUND);
  }

  TEST_CASE("bad pulls are refused with MQClientException") {
    World w;
    w.send({"0"});
    CHECK(thrownMessage([&] { w.consumer.pull(w.queue, "*", 0, 32); }).find("not started") !=
          std::string::npos);
    w.consumer.start();
    CHECK(thrownType([&] { w.consumer.pull(w.queue, "*", 0, 0); }) == "MQClientException");
    CHECK(thrownType([&] { w.consumer.pull(MQMessageQueue("Nowhere", "broker-a", 0), "*", 0, 1); }) ==
          "MQClientException");
    CHECK(thrownType([&] { w.consumer.pull(w.queue, " || ", 0, 1); }) == "MQClientException");
    CHECK(thrownMessage([&] {
            w.consumer.pull(w.queue, "*", 0, 1, static_cast<rocketmq::PullCallback*>(nullptr));
          }).find("not supported") != std::string::npos);
    CHECK(thrownType([&] { w.consumer.updateConsumeOffset(w.queue, -1); }) == "MQClientException");
  }

  TEST_CASE("updated offsets stay in memory until persisted to the broker") {
    World w;
    w.send({"0", "1", "2"});
    w.consumer.start();
    CHECK(w.consumer.fetchConsumeOffset(w.queue, true) == -1);
    w.consumer.updateConsumeOffset(w.queue, 2);
    CHECK(w.consumer.fetchConsumeOffset(w.queue, false) == 2);
    CHECK(w.consumer.fetchConsumeOffset(w.queue, true) == -1);
    w.consumer.persistConsumerOffset();
    CHECK(w.consumer.fetchConsumeOffset(w.queue, true) == 2);
    CHECK(ackmq::testing::committedOffsets(w.broker.broker, "compat-readers")
              .at(ackmq::MessageQueue("Orders", "broker-a", 0)) == 2);
    w.consumer.updateConsumeOffset(w.queue, 3);
    w.consumer.removeConsumeOffset(w.queue);
    CHECK(w.consumer.fetchConsumeOffset(w.queue, false) == 2);
    w.consumer.updateConsumeOffset(w.queue, 3);
    w.consumer.persistConsumerOffset4PullConsumer(w.queue);
    CHECK(w.consumer.fetchConsumeOffset(w.queue, true) == 3);
  }

  TEST_CASE("shutdown() persists the offsets the program updated") {
    World w;
    w.send({"0", "1"});
    w.consumer.start();
    w.consumer.updateConsumeOffset(w.queue, 1);
    w.consumer.shutdown();
    CHECK(ackmq::testing::committedOffsets(w.broker.broker, "compat-readers")
              .at(ackmq::MessageQueue("Orders", "broker-a", 0)) == 1);
  }

  TEST_CASE("a registered MQueueListener hears every queue of its topic at start()") {
    World w;
    w.send({"0"});
    QueueListener listener;
    w.consumer.registerMessageQueueListener("Orders", &listener);
    w.consumer.start();
    CHECK(listener.topic == "Orders");
    CHECK(listener.allCount == 4);
    CHECK(listener.mineCount == 4);
  }

  TEST_CASE("a null MQueueListener registers nothing, as the client's example passes one") {
    World w;
    w.send({"0"});
    w.consumer.registerMessageQueueListener("Orders", nullptr);
    w.consumer.start();
    CHECK(w.consumer.pull(w.queue, "*", 0, 1).pullStatus == rocketmq::FOUND);
  }

  TEST_CASE("clients naming the same address share a broker, and another address is another broker") {
    const std::string a = "compat-shared-a:9876";
    const std::string b = "compat-shared-b:9876";
    {
      DefaultMQProducer producer("compat-producers");
      producer.setNamesrvAddr(a);
      producer.start();
      MQMessage msg("SharedTopic", "x");
      producer.send(msg);
    }
    rocketmq::DefaultMQPullConsumer same("compat-readers");
    same.setNamesrvAddr(a);
    same.start();
    std::vector<MQMessageQueue> mqs;
    same.fetchSubscribeMessageQueues("SharedTopic", mqs);
    CHECK(mqs.size() == 4);
    rocketmq::DefaultMQPullConsumer other("compat-readers");
    other.setNamesrvAddr(b);
    other.start();
    CHECK(thrownType([&] { other.fetchSubscribeMessageQueues("SharedTopic", mqs); }) == "MQClientException");
    same.shutdown();
    other.shutdown();
    CHECK(ackmq::compat::unbindBroker(a));
    CHECK(ackmq::compat::unbindBroker(b));
    CHECK(!ackmq::compat::unbindBroker(b));
  }
}
