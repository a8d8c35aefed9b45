// The simple consumer: receive, ack and changeInvisibleDuration on the POP model.
#include <ackmq/simple_consumer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;
using ackmq::testing::ManualSimpleConsumer;
using ackmq_test::World;

namespace {

std::unique_ptr<ManualSimpleConsumer> simple(World& w, const std::string& group,
                                             const std::string& topic = "T", const std::string& expr = "*") {
  auto c = std::make_unique<ManualSimpleConsumer>(w.broker, group);
  c->subscribe(topic, expr);
  c->start();
  return c;
}

}  // namespace

TEST_SUITE("simple_consumer") {
  TEST_CASE("a message not acked comes back after exactly its invisible duration, with reconsumeTimes + 1" *
            doctest::timeout(30)) {
    World w;
    auto c = simple(w, "g");
    const auto sent = w.producer.send(ackmq::Message("T", "TagA", "k1", "hello"));
    auto first = c->receive(16, 30s);
    REQUIRE(first.size() == 1);
    CHECK(first[0].getBody() == "hello");
    CHECK(first[0].getMsgId() == sent.getMsgId());
    CHECK(first[0].getReconsumeTimes() == 0);
    CHECK(first[0].getDeliveryAttempt() == 1);
    CHECK_FALSE(first[0].getReceiptHandle().empty());
    CHECK(c->receive(16, 30s).empty());  // invisible to the group meanwhile
    w.clock.advance(30s - 1ms);
    CHECK(c->receive(16, 30s).empty());
    w.clock.advance(1ms);
    auto again = c->receive(16, 30s);
    REQUIRE(again.size() == 1);
    CHECK(again[0].getMsgId() == sent.getMsgId());
    CHECK(again[0].getTopic() == "T");
    CHECK(again[0].getTags() == "TagA");
    CHECK(again[0].getKeys() == "k1");
    CHECK(again[0].getBody() == "hello");
    CHECK(again[0].getReconsumeTimes() == 1);
    CHECK(again[0].getDeliveryAttempt() == 2);
    CHECK(again[0].getReceiptHandle() != first[0].getReceiptHandle());
  }

  TEST_CASE("an acked message is not delivered again" * doctest::timeout(30)) {
    World w;
    auto c = simple(w, "g");
    w.producer.send(ackmq::Message("T", "", "x"));
    auto got = c->receive(1, 10s);
    REQUIRE(got.size() == 1);
    c->ack(got[0]);
    w.clock.advance(1h);
    CHECK(c->receive(32, 10s).empty());
    CHECK_THROWS_AS(c->ack(got[0]), ackmq::MQBrokerException);  // a handle is used once
    const auto s = ackmq::testing::consumerStats(*c);
    CHECK(s.received == 1);
    CHECK(s.acked == 1);
    CHECK(s.inFlight == 0);
  }

  TEST_CASE(
      "changeInvisibleDuration extends the invisible time and renews the handle, and the old one fails" *
      doctest::timeout(30)) {
    World w;
    auto c = simple(w, "g");
    w.producer.send(ackmq::Message("T", "", "x"));
    auto got = c->receive(1, 10s);
    REQUIRE(got.size() == 1);
    ackmq::MessageView old = got[0];
    w.clock.advance(8s);
    c->changeInvisibleDuration(got[0], 60s);  // invisible until 8 s + 60 s
    CHECK(got[0].getReceiptHandle() != old.getReceiptHandle());
    try {
      c->ack(old);
      FAIL("the old handle was accepted");
    } catch (const ackmq::MQBrokerException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::INVALID_RECEIPT_HANDLE);
    }
    w.clock.advance(60s - 1ms);
    CHECK(c->receive(1, 10s).empty());
    c->ack(got[0]);
    w.clock.advance(1h);
    CHECK(c->receive(1, 10s).empty());
  }

  TEST_CASE(
      "acking after the invisible duration fails with INVALID_RECEIPT_HANDLE and does not undo the "
      "redelivery" *
      doctest::timeout(30)) {
    World w;
    auto c = simple(w, "g");
    w.producer.send(ackmq::Message("T", "", "x"));
    auto got = c->receive(1, 10s);
    REQUIRE(got.size() == 1);
    w.clock.advance(10s);
    CHECK_THROWS_WITH_AS(c->ack(got[0]), doctest::Contains("no longer valid"), ackmq::MQBrokerException);
    CHECK_THROWS_AS(c->changeInvisibleDuration(got[0], 10s), ackmq::MQBrokerException);
    auto again = c->receive(1, 10s);
    REQUIRE(again.size() == 1);
    CHECK(again[0].getReconsumeTimes() == 1);
  }

  TEST_CASE("the 17th expiry sends the message to %DLQ%<group> instead of delivering it again" *
            doctest::timeout(30)) {
    World w;
    auto c = simple(w, "g");
    const auto sent = w.producer.send(ackmq::Message("T", "", "never acked"));
    int deliveries = 0;
    for (int i = 0; i < 20; ++i) {
      auto got = c->receive(1, 10s);
      if (got.empty()) break;
      CHECK(got[0].getReconsumeTimes() == deliveries);
      ++deliveries;
      w.clock.advance(10s);
    }
    CHECK(deliveries == 17);  // maxAttempts: 16 retries + 1
    const auto dlq = ackmq::testing::topicMessages(w.broker, "%DLQ%g");
    REQUIRE(dlq.size() == 1);
    CHECK(dlq[0].getMsgId() == sent.getMsgId());
    CHECK(dlq[0].getBody() == "never acked");
    CHECK(dlq[0].getProperty("DLQ_ORIGIN_TOPIC") == "T");
    w.clock.advance(1h);
    CHECK(c->receive(32, 10s).empty());
  }

  TEST_CASE("acks are per message: a slow message holds back nothing but itself" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    auto c = simple(w, "g");
    const ackmq::MessageQueue q("T", "broker-a", 0);
    for (int i = 0; i < 10; ++i)
      w.producer.send(ackmq::Message("T", "", std::to_string(i)), q);
    auto batch = c->receive(10, 1h);
    REQUIRE(batch.size() == 10);
    for (std::size_t i = 1; i < batch.size(); ++i)
      c->ack(batch[i]);  // message 0 is slow
    for (int i = 10; i < 20; ++i)
      w.producer.send(ackmq::Message("T", "", std::to_string(i)), q);
    auto more = c->receive(32, 1h);
    CHECK(more.size() == 10);  // received although message 0 is still in flight
    for (auto& m : more)
      c->ack(m);
    CHECK(ackmq::testing::consumerStats(*c).inFlight == 1);
    // The committed offset stays at the slow message, so the store keeps it for a redelivery.
    CHECK(w.broker.queryConsumerOffset("g", q) == 0);
    c->ack(batch[0]);
    CHECK(w.broker.queryConsumerOffset("g", q) == 20);
  }

  TEST_CASE("two consumers of one group share the messages and never hold one visible at once" *
            doctest::timeout(60)) {
    World w;
    w.broker.createTopic("T", 4);
    auto a = simple(w, "g");
    auto b = simple(w, "g");
    constexpr int kMessages = 2000;
    for (int i = 0; i < kMessages; ++i)
      w.producer.send(ackmq::Message("T", "", std::to_string(i)));
    std::mutex mu;
    std::multiset<std::string> held;
    auto drain = [&](ManualSimpleConsumer& c) {
      for (;;) {
        auto got = c.receive(8, 1h);
        if (got.empty()) return;
        std::lock_guard l(mu);
        for (auto& m : got)
          held.insert(m.getBody());
      }
    };
    // Each takes a share, then both race for the rest.
    for (ManualSimpleConsumer* c : {a.get(), b.get()}) {
      auto got = c->receive(8, 1h);
      CHECK(got.size() == 8);
      for (auto& m : got)
        held.insert(m.getBody());
    }
    std::thread ta([&] { drain(*a); });
    std::thread tb([&] { drain(*b); });
    ta.join();
    tb.join();
    CHECK(held.size() == kMessages);
    CHECK(std::set<std::string>(held.begin(), held.end()).size() == kMessages);  // no message twice
    CHECK(ackmq::testing::consumerStats(*a).received + ackmq::testing::consumerStats(*b).received ==
          kMessages);
    // Unacked, all come back after the invisible duration, again each to one consumer.
    w.clock.advance(1h);
    held.clear();
    std::thread ta2([&] { drain(*a); });
    std::thread tb2([&] { drain(*b); });
    ta2.join();
    tb2.join();
    CHECK(held.size() == kMessages);
    CHECK(std::set<std::string>(held.begin(), held.end()).size() == kMessages);
  }

  TEST_CASE("receive waits up to the await duration on the broker's clock, or until a message arrives" *
            doctest::timeout(60)) {
    World w;
    auto c = simple(w, "g");
    c->shutdown();
    auto waiting = std::make_unique<ManualSimpleConsumer>(w.broker, "g2");
    waiting->subscribe("T", "*");
    waiting->setAwaitDuration(20s);
    waiting->start();
    // Nothing arrives: receive returns empty once the clock has moved 20 s.
    auto empty = std::async(std::launch::async, [&] { return waiting->receive(4, 30s); });
    while (empty.wait_for(0ms) != std::future_status::ready)
      w.clock.advance(1s);
    CHECK(empty.get().empty());
    // A message arrives while it waits: receive returns it without the clock moving.
    const std::int64_t before = w.clock.nowMillis();
    auto arriving = std::async(std::launch::async, [&] { return waiting->receive(4, 30s); });
    CHECK(arriving.wait_for(50ms) == std::future_status::timeout);  // it is waiting
    w.producer.send(ackmq::Message("T", "", "wake up"));
    const auto got = arriving.get();
    REQUIRE(got.size() == 1);
    CHECK(got[0].getBody() == "wake up");
    CHECK(w.clock.nowMillis() == before);
  }

  TEST_CASE("receive passes over messages whose tag the subscription does not name" * doctest::timeout(30)) {
    World w;
    auto c = simple(w, "g", "T", "TagA || TagB");
    for (const char* tag : {"TagA", "TagC", "TagB", ""})
      w.producer.send(ackmq::Message("T", tag, std::string("m") + tag));
    auto got = c->receive(32, 10s);
    std::set<std::string> bodies;
    for (auto& m : got)
      bodies.insert(m.getBody());
    CHECK(bodies == std::set<std::string>{"mTagA", "mTagB"});
  }

  TEST_CASE("different groups each receive every message, and a new group starts at the end" *
            doctest::timeout(30)) {
    World w;
    w.producer.send(ackmq::Message("T", "", "before anyone"));
    auto a = simple(w, "ga");
    auto b = simple(w, "gb");
    w.producer.send(ackmq::Message("T", "", "after"));
    auto ra = a->receive(32, 10s);
    auto rb = b->receive(32, 10s);
    REQUIRE(ra.size() == 1);
    REQUIRE(rb.size() == 1);
    CHECK(ra[0].getBody() == "after");
    CHECK(rb[0].getBody() == "after");
  }

  TEST_CASE("messages in flight count in awaitIdle and the counters" * doctest::timeout(30)) {
    World w;
    auto c = simple(w, "g");
    for (int i = 0; i < 3; ++i)
      w.producer.send(ackmq::Message("T", "", std::to_string(i)));
    auto got = c->receive(32, 10s);
    REQUIRE(got.size() == 3);
    CHECK(ackmq::testing::consumerStats(*c).inFlight == 3);
    CHECK_FALSE(ackmq::testing::awaitIdle(*c, 20ms));
    std::thread acker([&] {
      for (auto& m : got)
        c->ack(m);
    });
    CHECK(ackmq::testing::awaitIdle(*c, 10s));
    acker.join();
    CHECK(ackmq::testing::consumerStats(*c).acked == 3);
  }

  TEST_CASE("bad arguments and a consumer not started are refused, naming the rule" * doctest::timeout(30)) {
    World w;
    ManualSimpleConsumer c(w.broker, "g");
    CHECK_THROWS_WITH_AS(c.receive(1, 10s), doctest::Contains("not started"), ackmq::MQClientException);
    CHECK_THROWS_WITH_AS(c.start(), doctest::Contains("subscribes to nothing"), ackmq::MQClientException);
    c.subscribe("T", "*");
    c.start();
    CHECK_THROWS_WITH_AS(c.receive(0, 10s), doctest::Contains("out of range 1..32"),
                         ackmq::MQClientException);
    CHECK_THROWS_WITH_AS(c.receive(33, 10s), doctest::Contains("out of range 1..32"),
                         ackmq::MQClientException);
    CHECK_THROWS_WITH_AS(c.receive(1, 0s), doctest::Contains("(0, 12 h]"), ackmq::MQClientException);
    CHECK_THROWS_WITH_AS(c.receive(1, 13h), doctest::Contains("(0, 12 h]"), ackmq::MQClientException);
    CHECK_THROWS_AS(c.setAwaitDuration(-1ms), ackmq::MQClientException);
    ackmq::MessageView forged;
    CHECK_THROWS_AS(c.ack(forged), ackmq::MQBrokerException);
    c.shutdown();
    CHECK_THROWS_WITH_AS(c.receive(1, 10s), doctest::Contains("shut down"), ackmq::MQClientException);
  }

  TEST_CASE("with the system clock, a waiting receive returns when a message is sent" *
            doctest::timeout(60)) {
    ackmq::Broker broker;
    ackmq::Producer producer(broker, "p");
    producer.start();
    ackmq::SimpleConsumer c(broker, "g");
    c.subscribe("T", "*");
    c.setAwaitDuration(30s);
    c.start();
    auto got = std::async(std::launch::async, [&] { return c.receive(1, 30s); });
    producer.send(ackmq::Message("T", "", "now"));
    const auto msgs = got.get();
    REQUIRE(msgs.size() == 1);
    c.ack(msgs[0]);
  }
}
