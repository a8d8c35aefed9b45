// The push consumer, concurrent: committed offsets, where a new group starts, and tag filtering.
#include <ackmq/push_consumer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <set>
#include <string>
#include <thread>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::MessageExtList;
using ackmq::testing::awaitIdle;
using ackmq::testing::ManualPushConsumer;
using ackmq_test::listen;
using ackmq_test::Recorder;
using ackmq_test::SUCCESS;
using ackmq_test::sumOffsets;
using ackmq_test::World;

TEST_SUITE("push_consumer") {
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
}
