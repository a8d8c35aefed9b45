// SQL92 subscriptions on the three consumer kinds: the broker hands out only what the expression matches,
// counts the rest as consumed, filters the group's retries alike, and refuses what RocketMQ refuses.
#include <ackmq/message_selector.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/lite_pull_consumer.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/push_consumer.hpp>
#include <ackmq/simple_consumer.hpp>
#include <ackmq/testing.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::MessageSelector;
using ackmq::testing::awaitIdle;
using ackmq::testing::ManualLitePullConsumer;
using ackmq::testing::ManualPushConsumer;
using ackmq::testing::ManualSimpleConsumer;
using ackmq_test::errorOf;
using ackmq_test::LATER;
using ackmq_test::mentions;
using ackmq_test::Recorder;
using ackmq_test::SUCCESS;
using ackmq_test::World;

namespace {

const ackmq::MessageQueue q0("T", "broker-a", 0);

// Sends "<i>" with region = eu for even i and us for odd i, amount = i * 10, to queue 0 of T.
void sendOrders(World& w, int n, const std::string& tags = "") {
  for (int i = 0; i < n; ++i) {
    ackmq::Message m("T", tags, std::to_string(i));
    m.putUserProperty("region", i % 2 == 0 ? "eu" : "us");
    m.putUserProperty("amount", std::to_string(i * 10));
    w.producer.send(m, q0);
  }
}

std::set<std::string> bodiesOf(const std::vector<ackmq::MessageExt>& msgs) {
  std::set<std::string> out;
  for (const auto& m : msgs)
    out.insert(m.getBody());
  return out;
}

const auto kEvenAbove20 = MessageSelector::bySql("region = 'eu' AND amount > 20");

}  // namespace

TEST_SUITE("sql92 subscriptions") {
  TEST_CASE("MessageSelector records its language and expression") {
    const auto sql = MessageSelector::bySql("a > 1");
    CHECK(sql.getExpressionType() == ackmq::ExpressionType::SQL92);
    CHECK(sql.getExpression() == "a > 1");
    const auto tag = MessageSelector::byTag("A || B");
    CHECK(tag.getExpressionType() == ackmq::ExpressionType::TAG);
    CHECK(ackmq::nameOf(tag.getExpressionType()) == "TAG");
    CHECK(sql != tag);
  }

  TEST_CASE(
      "a push consumer receives only what its SQL92 expression matches, and the offset passes the "
      "rest" *
      doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", kEvenAbove20);
    Recorder rec;
    listen(c, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
    c.start();
    sendOrders(w, 10);
    REQUIRE(awaitIdle(c));
    CHECK(rec.bodies() == std::multiset<std::string>{"4", "6", "8"});
    CHECK(w.broker.queryConsumerOffset("g", q0) == 10);
    // A batch the filter rejects entirely still moves the offset, and nothing is retried.
    sendOrders(w, 2);  // 0 and 1: neither matches
    REQUIRE(awaitIdle(c));
    CHECK(rec.size() == 3);
    CHECK(w.broker.queryConsumerOffset("g", q0) == 12);
    w.clock.advance(1h);
    REQUIRE(awaitIdle(c));
    CHECK(rec.size() == 3);
    CHECK(ackmq::testing::topicMessages(w.broker, ackmq::MixAll::getRetryTopic("g")).empty());
  }

  TEST_CASE("TAGS is the message's tag, absent for an untagged message (RocketMQ SqlFilterIT)" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", MessageSelector::bySql("(TAGS is not null and TAGS in ('TagA', 'TagB'))"));
    Recorder rec;
    listen(c, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
    c.start();
    for (const char* tag : {"TagA", "TagB", "TagC", ""}) {
      for (int i = 0; i < 4; ++i)
        w.producer.send(ackmq::Message("T", tag, std::string(tag) + std::to_string(i)), q0);
    }
    REQUIRE(awaitIdle(c));
    CHECK(rec.size() == 8);
    for (const auto& d : rec.all())
      CHECK((d.tags == "TagA" || d.tags == "TagB"));
    CHECK(w.broker.queryConsumerOffset("g", q0) == 16);
  }

  TEST_CASE("a retry copy is filtered by its original topic's expression" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    {
      // A member that took everything and failed it: both copies wait in the group's retry ladder.
      ManualPushConsumer all(w.broker, "g");
      all.subscribe("T", "*");
      Recorder first;
      listen(all, w.clock, first, [](auto&, auto&) { return LATER; });
      all.start();
      sendOrders(w, 2);  // 0: eu, 1: us
      REQUIRE(awaitIdle(all));
      REQUIRE(first.size() == 2);
      all.shutdown();
    }
    // The group comes back subscribed by SQL92: of the two retries only the matching one is delivered.
    ManualPushConsumer eu(w.broker, "g");
    eu.subscribe("T", MessageSelector::bySql("region = 'eu'"));
    Recorder rec;
    listen(eu, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
    eu.start();
    REQUIRE(ackmq::testing::advanceAndSettle(w.clock, 10s, eu));
    const auto got = rec.all();
    REQUIRE(got.size() == 1);
    CHECK(got[0].body == "0");
    CHECK(got[0].reconsumeTimes == 1);
    const ackmq::MessageQueue retry(ackmq::MixAll::getRetryTopic("g"), "broker-a", 0);
    CHECK(w.broker.queryConsumerOffset("g", retry) == 2);  // the other copy counts as consumed
  }

  TEST_CASE("a matching message that fails is retried, and its retry matches again" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", MessageSelector::bySql("region = 'eu'"));
    Recorder rec;
    listen(c, w.clock, rec, [](const ackmq::MessageExtList& msgs, auto&) {
      return msgs[0].getReconsumeTimes() == 0 ? LATER : SUCCESS;
    });
    c.start();
    sendOrders(w, 2);
    REQUIRE(ackmq::testing::advanceAndSettle(w.clock, 10s, c));
    const auto got = rec.all();
    REQUIRE(got.size() == 2);
    CHECK(got[0].body == "0");
    CHECK(got[1].body == "0");
    CHECK(got[1].reconsumeTimes == 1);
  }

  TEST_CASE("a simple consumer receives only what its SQL92 expression matches" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualSimpleConsumer c(w.broker, "g");
    c.subscribe("T", kEvenAbove20);
    c.start();
    sendOrders(w, 10);
    auto got = c.receive(32, 30s);
    std::set<std::string> bodies;
    for (auto& m : got) {
      bodies.insert(m.getBody());
      c.ack(m);
    }
    CHECK(bodies == std::set<std::string>{"4", "6", "8"});
    CHECK(c.receive(32, 30s).empty());
    CHECK(w.broker.queryConsumerOffset("g", q0) == 10);
  }

  TEST_CASE("a simple consumer's message that is not acked comes back, still matching" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualSimpleConsumer c(w.broker, "g");
    c.subscribe("T", MessageSelector::bySql("region = 'us'"));
    c.start();
    sendOrders(w, 2);
    auto first = c.receive(32, 30s);
    REQUIRE(first.size() == 1);
    CHECK(first[0].getBody() == "1");
    w.clock.advance(30s);
    auto again = c.receive(32, 30s);
    REQUIRE(again.size() == 1);
    CHECK(again[0].getBody() == "1");
    CHECK(again[0].getReconsumeTimes() == 1);
  }

  TEST_CASE("a lite pull consumer polls only what its SQL92 expression matches" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualLitePullConsumer c(w.broker, "g");
    c.subscribe("T", kEvenAbove20);
    c.setAutoCommit(false);
    c.start();
    sendOrders(w, 10);
    std::set<std::string> bodies;
    for (int i = 0; i < 4; ++i) {
      for (const auto& b : bodiesOf(c.poll(0ms)))
        bodies.insert(b);
    }
    CHECK(bodies == std::set<std::string>{"4", "6", "8"});
    c.commitSync();
    CHECK(w.broker.queryConsumerOffset("g", q0) == 10);
  }

  TEST_CASE("byTag subscribes exactly as the string form does" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g"), twin(w.broker, "g");
    c.subscribe("T", MessageSelector::byTag("TagA || TagB"));
    twin.subscribe("T", "TagB || TagA");
    Recorder rec;
    listen(c, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
    listen(twin, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
    c.start();
    CHECK_NOTHROW(twin.start());  // the same subscription: the group accepts the second member
    for (const char* tag : {"TagA", "TagB", "TagC"})
      w.producer.send(ackmq::Message("T", tag, tag), q0);
    REQUIRE(awaitIdle(c));
    REQUIRE(awaitIdle(twin));
    CHECK(rec.bodies() == std::multiset<std::string>{"TagA", "TagB"});
  }

  TEST_CASE(
      "a malformed expression is refused at subscribe, naming the position and what was expected, and "
      "nothing is subscribed") {
    World w;
    ManualPushConsumer push(w.broker, "g");
    ManualSimpleConsumer simple(w.broker, "s");
    ManualLitePullConsumer pull(w.broker, "p");
    const auto bad = MessageSelector::bySql("region = 'eu' AND amount >");
    for (const std::string& e :
         {errorOf([&] { push.subscribe("T", bad); }), errorOf([&] { simple.subscribe("T", bad); }),
          errorOf([&] { pull.subscribe("T", bad); })}) {
      INFO(e);
      CHECK(mentions(e, "at column 27"));
      CHECK(mentions(e, "expected a literal, a property"));
    }
    CHECK(mentions(errorOf([&] { push.subscribe("T", MessageSelector::bySql("")); }), "empty"));
    push.registerMessageListener(ackmq::MessageListenerConcurrently{[](auto&, auto&) { return SUCCESS; }});
    CHECK(mentions(errorOf([&] { push.start(); }), "subscribes to nothing"));
  }

  TEST_CASE(
      "with enablePropertyFilter off, SQL92 is refused at subscribe on every consumer kind, tags are "
      "not") {
    World w(ackmq::BrokerConfig{.enablePropertyFilter = false});
    ManualPushConsumer push(w.broker, "g");
    ManualSimpleConsumer simple(w.broker, "s");
    ManualLitePullConsumer pull(w.broker, "p");
    const auto sql = MessageSelector::bySql("a > 1");
    for (const std::string& e :
         {errorOf([&] { push.subscribe("T", sql); }), errorOf([&] { simple.subscribe("T", sql); }),
          errorOf([&] { pull.subscribe("T", sql); })}) {
      INFO(e);
      CHECK(mentions(e, "does not support filtering messages by SQL92"));
      CHECK(mentions(e, "enablePropertyFilter"));
    }
    CHECK_NOTHROW(push.subscribe("T", MessageSelector::byTag("TagA")));
    CHECK_THROWS_AS(push.subscribe("T", sql), ackmq::MQClientException);
  }

  TEST_CASE(
      "members of a group that subscribe with different expressions are refused at start, naming "
      "both" *
      doctest::timeout(30)) {
    World w;
    ManualPushConsumer a(w.broker, "g"), b(w.broker, "g"), byTag(w.broker, "g"), same(w.broker, "g");
    a.subscribe("T", MessageSelector::bySql("amount > 1"));
    b.subscribe("T", MessageSelector::bySql("amount > 2"));
    byTag.subscribe("T", "*");
    same.subscribe("T", MessageSelector::bySql("amount > 1"));
    for (auto* c : {&a, &b, &byTag, &same})
      c->registerMessageListener(ackmq::MessageListenerConcurrently{[](auto&, auto&) { return SUCCESS; }});
    a.start();
    const std::string e = errorOf([&] { b.start(); });
    CHECK(mentions(e, "T: SQL92 \"amount > 1\""));
    CHECK(mentions(e, "T: SQL92 \"amount > 2\""));
    CHECK(mentions(errorOf([&] { byTag.start(); }), "every member of a group must subscribe alike"));
    CHECK_NOTHROW(same.start());
  }

  TEST_CASE("a simple consumer and a lite pull consumer of one group must agree on the expression too" *
            doctest::timeout(30)) {
    World w;
    ManualSimpleConsumer a(w.broker, "s"), b(w.broker, "s");
    a.subscribe("T", MessageSelector::bySql("amount > 1"));
    b.subscribe("T", MessageSelector::bySql("amount >= 1"));
    a.start();
    CHECK(mentions(errorOf([&] { b.start(); }), "SQL92 \"amount >= 1\""));
    ManualLitePullConsumer c(w.broker, "p"), d(w.broker, "p");
    c.subscribe("T", MessageSelector::bySql("amount > 1"));
    d.subscribe("T", "*");
    c.start();
    CHECK(mentions(errorOf([&] { d.start(); }), "SQL92 \"amount > 1\""));
  }
}
