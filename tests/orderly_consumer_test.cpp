// The push consumer, orderly: per-queue order, suspend and re-delivery, queue locks, autoCommit.
#include <ackmq/push_consumer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::ConsumeOrderlyContext;
using ackmq::ConsumeOrderlyStatus;
using ackmq::MessageExtList;
using ackmq::testing::awaitIdle;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;
using ackmq::testing::ManualPushConsumer;
using ackmq_test::World;

namespace {

constexpr auto SUCCESS = ConsumeOrderlyStatus::SUCCESS;
constexpr auto SUSPEND = ConsumeOrderlyStatus::SUSPEND_CURRENT_QUEUE_A_MOMENT;

// Sends "key:seq" bodies, one key always to one queue.
void sendOrdered(ManualProducer& producer, const std::string& topic, int key, int seq) {
  const std::string k = "order-" + std::to_string(key);
  producer.send(ackmq::Message(topic, "", k, k + ":" + std::to_string(seq)),
                ackmq::SelectMessageQueueByHash{}, k);
}

std::pair<std::string, int> parse(const std::string& body) {
  const auto colon = body.rfind(':');
  return {body.substr(0, colon), std::stoi(body.substr(colon + 1))};
}

// Watches the rules from inside listeners: one call per queue at a time (across every member), and every
// key's sequence numbers in order.
struct OrderChecker {
  std::mutex mu;
  std::map<ackmq::MessageQueue, int> busy;  // calls in progress per queue
  std::map<std::string, int> lastSeq;
  int overlaps = 0;
  int outOfOrder = 0;
  int duplicates = 0;
  int delivered = 0;

  void enter(const ackmq::MessageQueue& q) {
    std::lock_guard l(mu);
    if (busy[q]++ != 0) ++overlaps;
  }
  void leave(const ackmq::MessageQueue& q) {
    std::lock_guard l(mu);
    --busy[q];
  }
  void see(const std::string& body) {
    auto [key, seq] = parse(body);
    std::lock_guard l(mu);
    ++delivered;
    auto it = lastSeq.find(key);
    const int last = it == lastSeq.end() ? -1 : it->second;
    if (seq == last) {
      ++duplicates;
    } else if (seq != last + 1) {
      ++outOfOrder;
    }
    lastSeq[key] = seq;
  }
};

ackmq::BasicMessageListenerOrderly<std::string> checkedListener(OrderChecker& check) {
  return [&check](const MessageExtList& msgs, ConsumeOrderlyContext& ctx) {
    check.enter(ctx.getMessageQueue());
    for (const auto& m : msgs)
      check.see(m.getBody());
    check.leave(ctx.getMessageQueue());
    return SUCCESS;
  };
}

}  // namespace

TEST_SUITE("orderly_consumer") {
  // Order is per queue: calls for different queues run on different threads at once. Each call waits (for
  // at most 10 s) until a call for the other queue has begun; a consumer that ran one queue at a time would
  // keep the first call waiting alone, and the peak would stay at one.
  TEST_CASE("two queues are consumed at the same time, on two threads" * doctest::timeout(60)) {
    World w;
    w.broker.createTopic("Orders", 2);
    ManualPushConsumer c(w.broker, "orderly");
    c.subscribe("Orders", "*");
    c.setConsumeThreadMin(4);
    c.setConsumeThreadMax(4);
    std::mutex mu;
    std::condition_variable cv;
    int running = 0;
    int peak = 0;
    c.registerMessageListener(
        ackmq::MessageListenerOrderly{[&](const MessageExtList&, ConsumeOrderlyContext&) {
          std::unique_lock l(mu);
          peak = std::max(peak, ++running);
          cv.notify_all();
          cv.wait_for(l, 10s, [&] { return peak >= 2; });
          --running;
          return SUCCESS;
        }});
    c.start();
    for (const auto& mq : w.broker.fetchSubscribeMessageQueues("Orders"))
      w.producer.send(ackmq::Message("Orders", "", "one for queue " + std::to_string(mq.getQueueId())), mq);
    REQUIRE(awaitIdle(c, 60s));
    std::lock_guard l(mu);
    CHECK(peak == 2);
  }

  TEST_CASE(
      "100k messages over 16 queues and 1,000 keys, 8 threads: per-key order holds and a queue never has "
      "two calls at once" *
      doctest::timeout(600)) {
    World w;
    w.broker.createTopic("Orders", 16);
    ManualPushConsumer c(w.broker, "orderly");
    c.subscribe("Orders", "*");
    c.setConsumeThreadMin(8);
    c.setConsumeThreadMax(8);
    OrderChecker check;
    c.registerMessageListener(checkedListener(check));
    c.start();
    constexpr int kKeys = 1000, kPerKey = 100;
    for (int seq = 0; seq < kPerKey; ++seq) {
      for (int key = 0; key < kKeys; ++key)
        sendOrdered(w.producer, "Orders", key, seq);
    }
    REQUIRE(awaitIdle(c, 300s));
    CHECK(check.delivered == kKeys * kPerKey);
    CHECK(check.overlaps == 0);
    CHECK(check.outOfOrder == 0);
    CHECK(check.duplicates == 0);
    std::int64_t committed = 0;
    for (const auto& [mq, o] : ackmq::testing::committedOffsets(w.broker, "orderly")) {
      if (mq.topic == "Orders") committed += o;
    }
    CHECK(committed == kKeys * kPerKey);
  }

  TEST_CASE(
      "SUSPEND_CURRENT_QUEUE_A_MOMENT re-delivers the same batch after the suspend time and blocks the queue "
      "meanwhile" *
      doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    std::mutex mu;
    std::vector<std::pair<std::string, int>> seen;  // (body, reconsumeTimes)
    std::vector<std::int64_t> at;
    c.registerMessageListener(
        ackmq::MessageListenerOrderly{[&](const MessageExtList& msgs, ConsumeOrderlyContext&) {
          std::lock_guard l(mu);
          seen.emplace_back(msgs[0].getBody(), msgs[0].getReconsumeTimes());
          at.push_back(w.clock.nowMillis());
          return msgs[0].getBody() == "first" && msgs[0].getReconsumeTimes() < 2 ? SUSPEND : SUCCESS;
        }});
    c.start();
    const ackmq::MessageQueue q("T", "broker-a", 0);
    w.producer.send(ackmq::Message("T", "", "first"), q);
    w.producer.send(ackmq::Message("T", "", "second"), q);
    REQUIRE(awaitIdle(c));
    {
      std::lock_guard l(mu);
      REQUIRE(seen.size() == 1);  // "second" waits behind the failed "first"
    }
    CHECK(ackmq::testing::consumerStats(c).blockedQueues == 1);
    w.clock.advance(999ms);
    REQUIRE(awaitIdle(c));
    {
      std::lock_guard l(mu);
      CHECK(seen.size() == 1);
    }
    w.clock.advance(1ms);  // suspendCurrentQueueTimeMillis: 1000 ms by default
    REQUIRE(awaitIdle(c));
    w.clock.advance(1s);
    REQUIRE(awaitIdle(c));
    std::lock_guard l(mu);
    REQUIRE(seen.size() == 4);
    CHECK(seen[0] == std::make_pair(std::string("first"), 0));
    CHECK(seen[1] == std::make_pair(std::string("first"), 1));  // getReconsumeTimes counts the attempts
    CHECK(seen[2] == std::make_pair(std::string("first"), 2));
    CHECK(seen[3] == std::make_pair(std::string("second"), 0));
    CHECK(at[1] - at[0] == 1000);
    CHECK(at[2] - at[1] == 1000);
    CHECK(ackmq::testing::consumerStats(c).blockedQueues == 0);
    CHECK(w.broker.queryConsumerOffset("g", q) == 2);
    CHECK(ackmq::testing::topicMessages(w.broker, "%RETRY%g").empty());  // orderly retries stay local
  }

  TEST_CASE("the suspend time comes from the context, else the consumer, clamped to [10 ms, 30 s]" *
            doctest::timeout(30)) {
    for (auto [fromContext, expected] :
         {std::pair<long, long>{5, 10}, {250, 250}, {60'000, 30'000}, {-1, 700}}) {
      World w;
      w.broker.createTopic("T", 1);
      ManualPushConsumer c(w.broker, "g");
      c.subscribe("T", "*");
      c.setSuspendCurrentQueueTimeMillis(700);
      std::atomic<int> calls{0};
      std::atomic<std::int64_t> second{0};
      const std::int64_t t0 = w.clock.nowMillis();
      c.registerMessageListener(ackmq::MessageListenerOrderly{
          [&, ms = fromContext](const MessageExtList&, ConsumeOrderlyContext& ctx) {
            if (calls++ == 0) {
              ctx.setSuspendCurrentQueueTimeMillis(ms);
              return SUSPEND;
            }
            second = w.clock.nowMillis();
            return SUCCESS;
          }});
      c.start();
      w.producer.send(ackmq::Message("T", "", "x"));
      REQUIRE(ackmq::testing::advanceAndSettle(w.clock, 31s, c));
      CHECK(calls.load() == 2);
      CHECK(second.load() - t0 == expected);
    }
  }

  TEST_CASE("an exception thrown by an orderly listener suspends the queue like SUSPEND" *
            doctest::timeout(30)) {
    World w;
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    std::atomic<int> calls{0};
    c.registerMessageListener(ackmq::MessageListenerOrderly{
        [&](const MessageExtList&, ConsumeOrderlyContext&) -> ConsumeOrderlyStatus {
          if (calls++ == 0) throw std::runtime_error("bug");
          return SUCCESS;
        }});
    c.start();
    w.producer.send(ackmq::Message("T", "", "x"));
    REQUIRE(awaitIdle(c));
    CHECK(calls.load() == 1);
    w.clock.advance(1s);
    REQUIRE(awaitIdle(c));
    CHECK(calls.load() == 2);
  }

  TEST_CASE(
      "by default a failing message blocks its queue forever, visible in the counters, and other queues go "
      "on" *
      doctest::timeout(60)) {
    World w;
    w.broker.createTopic("T", 2);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    std::atomic<int> poisonCalls{0}, others{0};
    c.registerMessageListener(
        ackmq::MessageListenerOrderly{[&](const MessageExtList& msgs, ConsumeOrderlyContext&) {
          if (msgs[0].getBody() == "poison") {
            ++poisonCalls;
            return SUSPEND;
          }
          ++others;
          return SUCCESS;
        }});
    c.start();
    w.producer.send(ackmq::Message("T", "", "poison"), ackmq::MessageQueue("T", "broker-a", 0));
    w.producer.send(ackmq::Message("T", "", "stuck behind"), ackmq::MessageQueue("T", "broker-a", 0));
    for (int i = 0; i < 10; ++i)
      w.producer.send(ackmq::Message("T", "", "free"), ackmq::MessageQueue("T", "broker-a", 1));
    REQUIRE(ackmq::testing::advanceAndSettle(w.clock, 60s, c));
    CHECK(poisonCalls.load() == 61);  // RocketMQ's default maxReconsumeTimes for orderly is unbounded
    CHECK(others.load() == 10);
    const auto s = ackmq::testing::consumerStats(c);
    CHECK(s.blockedQueues == 1);
    CHECK(s.inFlight == 2);
    CHECK(ackmq::testing::topicMessages(w.broker, "%DLQ%g").empty());
  }

  TEST_CASE("with maxReconsumeTimes set, a message that reaches it goes to the DLQ and the queue moves on" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setMaxReconsumeTimes(3);
    std::mutex mu;
    std::vector<std::string> seen;
    c.registerMessageListener(
        ackmq::MessageListenerOrderly{[&](const MessageExtList& msgs, ConsumeOrderlyContext&) {
          std::lock_guard l(mu);
          seen.push_back(msgs[0].getBody() + "#" + std::to_string(msgs[0].getReconsumeTimes()));
          return msgs[0].getBody() == "poison" ? SUSPEND : SUCCESS;
        }});
    c.start();
    const ackmq::MessageQueue q("T", "broker-a", 0);
    const auto poison = w.producer.send(ackmq::Message("T", "", "poison"), q);
    w.producer.send(ackmq::Message("T", "", "next"), q);
    REQUIRE(ackmq::testing::advanceAndSettle(w.clock, 10s, c));
    {
      std::lock_guard l(mu);
      CHECK(seen == std::vector<std::string>{"poison#0", "poison#1", "poison#2", "poison#3", "next#0"});
    }
    const auto dlq = ackmq::testing::topicMessages(w.broker, "%DLQ%g");
    REQUIRE(dlq.size() == 1);
    CHECK(dlq[0].getMsgId() == poison.getMsgId());
    CHECK(dlq[0].getReconsumeTimes() == 4);
    CHECK(w.broker.queryConsumerOffset("g", q) == 2);
    const auto s = ackmq::testing::consumerStats(c);
    CHECK(s.deadLettered == 1);
    CHECK(s.blockedQueues == 0);
  }

  TEST_CASE(
      "autoCommit off: SUCCESS keeps the offset, COMMIT moves it, ROLLBACK re-delivers since the last "
      "commit" *
      doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    const ackmq::MessageQueue q("T", "broker-a", 0);
    std::mutex mu;
    std::vector<std::string> seen;
    std::atomic<bool> rolledBack{false};
    c.registerMessageListener(
        ackmq::MessageListenerOrderly{[&](const MessageExtList& msgs, ConsumeOrderlyContext& ctx) {
          ctx.setAutoCommit(false);
          const std::string body = msgs[0].getBody();
          {
            std::lock_guard l(mu);
            seen.push_back(body);
          }
          if (body == "b" && !rolledBack.exchange(true)) return ConsumeOrderlyStatus::ROLLBACK;
          if (body == "c") return ConsumeOrderlyStatus::COMMIT;
          return SUCCESS;
        }});
    c.start();
    for (const char* b : {"a", "b", "c", "d"})
      w.producer.send(ackmq::Message("T", "", b), q);
    REQUIRE(awaitIdle(c));
    {
      std::lock_guard l(mu);
      CHECK(seen == std::vector<std::string>{"a", "b"});  // ROLLBACK suspends the queue
    }
    CHECK(w.broker.queryConsumerOffset("g", q) <= 0);  // "a" succeeded but is not committed
    REQUIRE(ackmq::testing::advanceAndSettle(w.clock, 1s, c));
    {
      std::lock_guard l(mu);
      // Everything since the last commit comes again: "a" too.
      CHECK(seen == std::vector<std::string>{"a", "b", "a", "b", "c", "d"});
    }
    CHECK(w.broker.queryConsumerOffset("g", q) == 3);  // committed through "c"; "d" only succeeded
  }

  TEST_CASE("with autoCommit on, the deprecated COMMIT and ROLLBACK act as SUCCESS" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    std::atomic<int> calls{0};
    c.registerMessageListener(
        ackmq::MessageListenerOrderly{[&](const MessageExtList&, ConsumeOrderlyContext&) {
          return calls++ % 2 == 0 ? ConsumeOrderlyStatus::COMMIT : ConsumeOrderlyStatus::ROLLBACK;
        }});
    c.start();
    for (int i = 0; i < 4; ++i)
      w.producer.send(ackmq::Message("T", "", "x"), ackmq::MessageQueue("T", "broker-a", 0));
    REQUIRE(awaitIdle(c));
    CHECK(calls.load() == 4);
    CHECK(w.broker.queryConsumerOffset("g", ackmq::MessageQueue("T", "broker-a", 0)) == 4);
  }

  TEST_CASE(
      "orderly members hold their queues' locks at the broker, and a queue changes hands only after the "
      "batch in "
      "flight" *
      doctest::timeout(60)) {
    World w;
    w.broker.createTopic("T", 2);
    const ackmq::MessageQueue q0("T", "broker-a", 0);
    auto a = std::make_unique<ManualPushConsumer>(w.broker, "g");
    ManualPushConsumer b(w.broker, "g");
    a->setInstanceName("a");
    b.setInstanceName("b");
    std::latch inA(1), releaseA(1);
    std::atomic<int> aCalls{0}, bCalls{0};
    for (ManualPushConsumer* c : {a.get(), &b})
      c->subscribe("T", "*");
    a->registerMessageListener(
        ackmq::MessageListenerOrderly{[&](const MessageExtList& msgs, ConsumeOrderlyContext&) {
          if (msgs[0].getBody() == "held") {
            inA.count_down();
            releaseA.wait();
          }
          ++aCalls;
          return SUCCESS;
        }});
    b.registerMessageListener(
        ackmq::MessageListenerOrderly{[&](const MessageExtList&, ConsumeOrderlyContext&) {
          ++bCalls;
          return SUCCESS;
        }});
    a->start();
    REQUIRE(awaitIdle(*a));
    CHECK(ackmq::testing::queueLockHolder(w.broker, "g", q0) == "a");
    w.producer.send(ackmq::Message("T", "", "held"), q0);
    w.producer.send(ackmq::Message("T", "", "after"), q0);
    inA.wait();
    // b joins: q1 goes to b at once; q0 stays with a while its batch runs.
    b.start();
    REQUIRE(awaitIdle(b));
    CHECK(ackmq::testing::queueLockHolder(w.broker, "g", ackmq::MessageQueue("T", "broker-a", 1)) == "b");
    CHECK(ackmq::testing::queueLockHolder(w.broker, "g", q0) == "a");
    CHECK(bCalls.load() == 0);
    releaseA.count_down();
    REQUIRE(awaitIdle(*a));
    REQUIRE(awaitIdle(b));
    // a finished "held", committed it, and let q0 go: exactly one of them consumed "after", nobody repeated
    // "held".
    CHECK(aCalls.load() + bCalls.load() == 2);
    CHECK(w.broker.queryConsumerOffset("g", q0) == 2);
  }

  TEST_CASE("rebalance while consuming keeps per-key order, and two members never consume one queue at once" *
            doctest::timeout(300)) {
    World w;
    w.broker.createTopic("Orders", 8);
    OrderChecker check;
    std::vector<std::unique_ptr<ManualPushConsumer>> members;
    auto join = [&](int i) {
      auto c = std::make_unique<ManualPushConsumer>(w.broker, "orderly");
      c->subscribe("Orders", "*");
      c->setInstanceName("m" + std::to_string(i));
      c->setConsumeThreadMin(2);
      c->setConsumeThreadMax(4);
      c->registerMessageListener(checkedListener(check));
      c->start();
      members.push_back(std::move(c));
    };
    join(0);
    constexpr int kKeys = 200, kPerKey = 50;
    std::thread producer([&] {
      for (int seq = 0; seq < kPerKey; ++seq) {
        for (int key = 0; key < kKeys; ++key)
          sendOrdered(w.producer, "Orders", key, seq);
      }
    });
    join(1);
    join(2);
    members[1]->shutdown();
    join(3);
    producer.join();
    for (auto& c : members)
      REQUIRE(awaitIdle(*c, 120s));
    std::lock_guard l(check.mu);
    CHECK(check.overlaps == 0);
    CHECK(check.outOfOrder == 0);
    // A member that leaves commits what it finished, so nothing is repeated either.
    CHECK(check.duplicates == 0);
    CHECK(check.lastSeq.size() == kKeys);
    for (const auto& [key, last] : check.lastSeq)
      CHECK(last == kPerKey - 1);
  }

  TEST_CASE("broadcasting orderly: each member sees each queue in order, with local locks only" *
            doctest::timeout(60)) {
    World w;
    w.broker.createTopic("T", 4);
    OrderChecker checkA, checkB;
    ManualPushConsumer a(w.broker, "bc"), b(w.broker, "bc");
    a.setInstanceName("a");
    b.setInstanceName("b");
    for (auto* c : {&a, &b}) {
      c->subscribe("T", "*");
      c->setMessageModel(ackmq::MessageModel::BROADCASTING);
    }
    a.registerMessageListener(checkedListener(checkA));
    b.registerMessageListener(checkedListener(checkB));
    a.start();
    b.start();
    for (int seq = 0; seq < 50; ++seq) {
      for (int key = 0; key < 20; ++key)
        sendOrdered(w.producer, "T", key, seq);
    }
    REQUIRE(awaitIdle(a));
    REQUIRE(awaitIdle(b));
    for (OrderChecker* check : {&checkA, &checkB}) {
      CHECK(check->delivered == 1000);
      CHECK(check->outOfOrder == 0);
      CHECK(check->overlaps == 0);
    }
    CHECK(ackmq::testing::queueLockHolder(w.broker, "bc", ackmq::MessageQueue("T", "broker-a", 0)).empty());
  }

  TEST_CASE("an orderly and a concurrent member cannot share a group" * doctest::timeout(30)) {
    World w;
    ManualPushConsumer a(w.broker, "g"), b(w.broker, "g");
    a.subscribe("T", "*");
    b.subscribe("T", "*");
    a.registerMessageListener(ackmq::MessageListenerOrderly{[](auto&, auto&) { return SUCCESS; }});
    b.registerMessageListener(ackmq::MessageListenerConcurrently{
        [](auto&, auto&) { return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS; }});
    a.start();
    CHECK_THROWS_WITH_AS(b.start(), doctest::Contains("orderly push listener"), ackmq::MQClientException);
  }
}
