// The lite pull consumer: poll, commit, seek, pause and resume, subscribe and assign modes.
#include <ackmq/lite_pull_consumer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualLitePullConsumer;
using ackmq::testing::ManualProducer;
using ackmq_test::World;

namespace {

// Sends n messages "<prefix>0", "<prefix>1", ... to queue `queue` of topic T.
void sendTo(World& w, int queue, int n, const std::string& prefix = "m") {
  for (int i = 0; i < n; ++i) {
    w.producer.send(ackmq::Message("T", "", prefix + std::to_string(i)),
                    ackmq::MessageQueue("T", "broker-a", queue));
  }
}

// The body of round i, "r<i>". Appended, not `"r" + std::to_string(i)`: at -O3 g++ 12 takes the insert that
// operator+ does for an overlapping memcpy, and -Werror=restrict fails the build (a false positive).
std::string roundBody(int i) {
  std::string body = "r";
  body += std::to_string(i);
  return body;
}

const ackmq::MessageQueue q0("T", "broker-a", 0);
const ackmq::MessageQueue q1("T", "broker-a", 1);

std::vector<std::string> bodies(const std::vector<ackmq::MessageExt>& msgs) {
  std::vector<std::string> out;
  for (const auto& m : msgs)
    out.push_back(m.getBody());
  return out;
}

}  // namespace

TEST_SUITE("lite_pull_consumer") {
  TEST_CASE("poll returns up to pullBatchSize messages of one queue at a time, in order" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 2);
    ManualLitePullConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setPullBatchSize(3);
    c.start();
    CHECK(c.assignment().size() == 2);
    sendTo(w, 0, 5, "a");
    sendTo(w, 1, 2, "b");
    std::vector<std::string> all;
    for (int i = 0; i < 5; ++i) {
      auto got = c.poll(0ms);
      CHECK(got.size() <= 3);
      for (auto& m : got)
        all.push_back(m.getBody());
    }
    CHECK(all.size() == 7);
    std::vector<std::string> fromA;
    for (auto& b : all) {
      if (b[0] == 'a') fromA.push_back(b);
    }
    CHECK(fromA == std::vector<std::string>{"a0", "a1", "a2", "a3", "a4"});
    CHECK(c.poll(0ms).empty());
  }

  TEST_CASE("commitSync records what poll returned, and without it nothing is committed" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualLitePullConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setAutoCommit(false);
    c.start();
    sendTo(w, 0, 4);
    CHECK(c.poll(0ms).size() == 4);
    CHECK(c.committed(q0) == 0);  // the group's start, fixed when it first started
    c.commitSync();
    CHECK(c.committed(q0) == 4);
    CHECK(w.broker.queryConsumerOffset("g", q0) == 4);
    c.commitSync({{q0, 2}});
    CHECK(c.committed(q0) == 2);
  }

  TEST_CASE("auto-commit commits at poll every autoCommitIntervalMillis on the clock" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualLitePullConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.setAutoCommitIntervalMillis(5000);
    c.start();
    sendTo(w, 0, 3);
    CHECK(c.poll(0ms).size() == 3);
    CHECK(c.committed(q0) == 0);
    w.clock.advance(4999ms);
    c.poll(0ms);
    CHECK(c.committed(q0) == 0);
    w.clock.advance(1ms);
    c.poll(0ms);
    CHECK(c.committed(q0) == 3);
  }

  TEST_CASE("assign mode polls exactly the assigned queues" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 2);
    sendTo(w, 0, 2, "zero");
    sendTo(w, 1, 2, "one");
    ManualLitePullConsumer c(w.broker, "g");
    c.setConsumeFromWhere(ackmq::ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET);
    c.assign({q1});
    c.start();
    CHECK(c.assignment() == std::vector<ackmq::MessageQueue>{q1});
    CHECK(bodies(c.poll(0ms)) == std::vector<std::string>{"one0", "one1"});
    CHECK(c.poll(0ms).empty());
    c.assign({q0});
    CHECK(bodies(c.poll(0ms)) == std::vector<std::string>{"zero0", "zero1"});
    CHECK_THROWS_AS(c.subscribe("T", "*"), ackmq::MQClientException);
  }

  TEST_CASE("seek, seekToBegin and seekToEnd move the next poll, and an offset out of range is refused" *
            doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    sendTo(w, 0, 5);
    ManualLitePullConsumer c(w.broker, "g");
    c.assign({q0});
    c.start();
    CHECK(c.poll(0ms).empty());  // assign + LAST_OFFSET: starts at the end
    c.seekToBegin(q0);
    CHECK(bodies(c.poll(0ms)) == std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"});
    c.seek(q0, 3);
    CHECK(bodies(c.poll(0ms)) == std::vector<std::string>{"m3", "m4"});
    c.seek(q0, 1);
    c.seekToEnd(q0);
    CHECK(c.poll(0ms).empty());
    CHECK_THROWS_WITH_AS(c.seek(q0, 6), doctest::Contains("out of range [0, 5]"), ackmq::MQClientException);
    CHECK_THROWS_WITH_AS(c.seek(q1, 0), doctest::Contains("not among"), ackmq::MQClientException);
  }

  TEST_CASE("a paused queue is not polled until resumed" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 2);
    ManualLitePullConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.start();
    c.pause({q0});
    sendTo(w, 0, 2, "zero");
    sendTo(w, 1, 2, "one");
    std::vector<std::string> got;
    for (int i = 0; i < 4; ++i) {
      for (auto& b : bodies(c.poll(0ms)))
        got.push_back(b);
    }
    CHECK(got == std::vector<std::string>{"one0", "one1"});
    c.resume({q0});
    CHECK(bodies(c.poll(0ms)) == std::vector<std::string>{"zero0", "zero1"});
  }

  TEST_CASE("members of a group share the queues and rebalance when one leaves" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 4);
    auto a = std::make_unique<ManualLitePullConsumer>(w.broker, "g");
    ManualLitePullConsumer b(w.broker, "g");
    a->setInstanceName("a");
    b.setInstanceName("b");
    a->subscribe("T", "*");
    b.subscribe("T", "*");
    a->start();
    b.start();
    a->poll(0ms);  // a sees b join at its next poll
    CHECK(a->assignment().size() == 2);
    CHECK(b.assignment().size() == 2);
    for (int q = 0; q < 4; ++q)
      sendTo(w, q, 3);
    std::size_t total = 0;
    for (int i = 0; i < 8; ++i)
      total += a->poll(0ms).size() + b.poll(0ms).size();
    CHECK(total == 12);
    a->shutdown();  // commits (auto-commit) and leaves
    b.poll(0ms);
    CHECK(b.assignment().size() == 4);
    for (int q = 0; q < 4; ++q)
      sendTo(w, q, 1, "late");
    std::size_t late = 0;
    for (int i = 0; i < 8; ++i)
      late += b.poll(0ms).size();
    CHECK(late == 4);  // a's queues continue from what a committed: nothing repeated
  }

  TEST_CASE("poll waits up to its timeout on the clock, and returns as soon as a message arrives" *
            doctest::timeout(60)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualLitePullConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.start();
    auto timedOut = std::async(std::launch::async, [&] { return c.poll(10s); });
    while (timedOut.wait_for(0ms) != std::future_status::ready)
      w.clock.advance(1s);
    CHECK(timedOut.get().empty());
    auto arrives = std::async(std::launch::async, [&] { return c.poll(10s); });
    CHECK(arrives.wait_for(50ms) == std::future_status::timeout);
    sendTo(w, 0, 1, "now");
    CHECK(bodies(arrives.get()) == std::vector<std::string>{"now0"});
  }

  TEST_CASE("a waiting poll sees every message sent while it waits, whether it is still looking or asleep" *
            doctest::timeout(60)) {
    // The clock never moves, so a poll that missed its wake-up would wait for ever and the timeout fails the
    // test. Each round the sender waits for the poller to take the previous message, so the next one
    // arrives while the poll waits: sometimes while it still looks for news, sometimes once it sleeps.
    World w;
    w.broker.createTopic("T", 1);
    ManualLitePullConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    c.start();
    constexpr int kRounds = 2000;
    std::atomic<int> taken{0};
    auto sender = std::async(std::launch::async, [&] {
      for (int i = 0; i < kRounds; ++i) {
        while (taken.load() < i)
          std::this_thread::yield();
        w.producer.send(ackmq::Message("T", "", roundBody(i)));
      }
    });
    int received = 0;
    while (received < kRounds) {
      const auto msgs = c.poll(1h);
      REQUIRE(msgs.size() == 1);
      CHECK(msgs.front().getBody() == roundBody(received));
      taken.store(++received);
    }
    sender.get();
  }

  TEST_CASE("subscribe mode filters by tag" * doctest::timeout(30)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualLitePullConsumer c(w.broker, "g");
    c.subscribe("T", "TagA");
    c.start();
    for (const char* tag : {"TagA", "TagB", "TagA"})
      w.producer.send(ackmq::Message("T", tag, tag), q0);
    CHECK(bodies(c.poll(0ms)) == std::vector<std::string>{"TagA", "TagA"});
  }

  TEST_CASE("a lite pull consumer not started, or without queues, is refused" * doctest::timeout(30)) {
    World w;
    ManualLitePullConsumer c(w.broker, "g");
    CHECK_THROWS_WITH_AS(c.poll(0ms), doctest::Contains("not started"), ackmq::MQClientException);
    CHECK_THROWS_WITH_AS(c.start(), doctest::Contains("no subscription"), ackmq::MQClientException);
    CHECK_THROWS_AS(c.setPullBatchSize(0), ackmq::MQClientException);
    c.subscribe("T", "*");
    c.start();
    c.shutdown();
    CHECK_THROWS_WITH_AS(c.poll(0ms), doctest::Contains("shut down"), ackmq::MQClientException);
  }
}
