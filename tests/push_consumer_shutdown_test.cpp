// The push consumer, concurrent: shutdown and destruction with listener calls in flight.
#include <ackmq/push_consumer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <latch>
#include <memory>
#include <thread>

#include "support/fixtures.hpp"

using ackmq::testing::awaitIdle;
using ackmq::testing::ManualPushConsumer;
using ackmq_test::listen;
using ackmq_test::Recorder;
using ackmq_test::SUCCESS;
using ackmq_test::sumOffsets;
using ackmq_test::World;

TEST_SUITE("push_consumer") {
  TEST_CASE("shutdown waits for listener calls in flight and commits their results" * doctest::timeout(60)) {
    World w;
    w.broker.createTopic("T", 1);
    ManualPushConsumer c(w.broker, "g");
    c.subscribe("T", "*");
    std::latch in(1), release(1);
    c.registerMessageListener(ackmq::MessageListenerConcurrently{[&](auto&, auto&) {
      in.count_down();
      release.wait();
      return SUCCESS;
    }});
    c.start();
    w.send("T", "x");
    in.wait();
    std::thread stopper([&] { c.shutdown(); });
    release.count_down();
    stopper.join();
    CHECK(w.broker.queryConsumerOffset("g", ackmq::MessageQueue("T", "broker-a", 0)) == 1);
    CHECK(ackmq::testing::topicMessages(w.broker, "%RETRY%g").empty());
    CHECK(ackmq::testing::consumerStats(c).succeeded == 1);
  }

  TEST_CASE("shutdown is idempotent and may be called from a listener without deadlock" *
            doctest::timeout(60)) {
    World w;
    w.broker.createTopic("T", 1);
    auto c = std::make_unique<ManualPushConsumer>(w.broker, "g");
    c->subscribe("T", "*");
    std::latch shutDown(1);
    std::atomic<int> calls{0};
    c->registerMessageListener(ackmq::MessageListenerConcurrently{[&](auto&, auto&) {
      if (calls++ == 0) {
        c->shutdown();
        c->shutdown();
        shutDown.count_down();
      }
      return SUCCESS;
    }});
    c->start();
    w.send("T", "stop");
    shutDown.wait();
    c.reset();  // waits for the shutdown the listener began, and joins every thread
    // The listener's own result was committed before the member left.
    CHECK(w.broker.queryConsumerOffset("g", ackmq::MessageQueue("T", "broker-a", 0)) == 1);
    CHECK(calls.load() == 1);
  }

  TEST_CASE("destroying a started consumer without shutdown is safe" * doctest::timeout(60)) {
    World w;
    for (int round = 0; round < 10; ++round) {
      ManualPushConsumer c(w.broker, "g");
      c.subscribe("T", "*");
      c.registerMessageListener(ackmq::MessageListenerConcurrently{[](auto&, auto&) { return SUCCESS; }});
      c.start();
      for (int i = 0; i < 20; ++i)
        w.send("T", "x");
    }
    ManualPushConsumer last(w.broker, "g");
    last.subscribe("T", "*");
    Recorder rec;
    listen(last, w.clock, rec, [](auto&, auto&) { return SUCCESS; });
    last.start();
    REQUIRE(awaitIdle(last));
    // Whatever the earlier members left unacknowledged is delivered now: nothing is lost.
    CHECK(sumOffsets(ackmq::testing::committedOffsets(w.broker, "g"), "T") == 200);
  }
}
