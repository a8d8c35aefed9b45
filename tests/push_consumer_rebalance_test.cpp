// The push consumer, concurrent: groups, broadcasting, the allocation strategies and rebalancing.
#include <ackmq/push_consumer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <string>
#include <vector>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::MessageExtList;
using ackmq::testing::awaitIdle;
using ackmq::testing::ManualPushConsumer;
using ackmq_test::LATER;
using ackmq_test::listen;
using ackmq_test::Recorder;
using ackmq_test::SUCCESS;
using ackmq_test::sumOffsets;
using ackmq_test::World;

TEST_SUITE("push_consumer") {
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
}
