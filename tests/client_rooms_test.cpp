// The consumers' rooms tested alone: the event count every client wait sleeps on, the offset a consumer
// commits, the rebalancer's reconciliation, and who owns which threads.
#include <ackmq/detail/client/event_count.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/detail/client/offset_store.hpp>
#include <ackmq/detail/client/rebalancer.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/push_consumer.hpp>
#include <ackmq/testing.hpp>

#include <dirent.h>
#include <atomic>
#include <chrono>
#include <latch>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using ackmq::detail::EventCount;

namespace {

// The threads of this process, from /proc (Linux).
int threadCount() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
  }
  return n;
}

// The threads of this process once a sanitizer's runtime has started the helper thread it starts with the
// first thread a program creates: the baseline the thread tests count from.
int baselineThreadCount() {
  std::thread([] {}).join();
  return threadCount();
}

}  // namespace

TEST_SUITE("event count") {
  TEST_CASE("a waiter that checks after announcing itself never misses a notify" * doctest::timeout(60)) {
    // The notifier sets the flag, then notifies; the waiter announces, checks, then sleeps. Whichever way the
    // two interleave, the waiter wakes: 2000 hand-offs in a row must all complete.
    EventCount events;
    std::atomic<int> posted{0};
    std::atomic<int> taken{0};
    std::thread waiter([&] {
      for (int i = 1; i <= 2000; ++i) {
        ackmq::detail::spinThenPark(
            events, [&] { return posted.load(std::memory_order_seq_cst) >= i; }, [] { return false; }, [] {});
        taken.store(i, std::memory_order_seq_cst);
      }
    });
    for (int i = 1; i <= 2000; ++i) {
      posted.store(i, std::memory_order_seq_cst);
      events.notifyOne();
      while (taken.load(std::memory_order_seq_cst) < i)
        std::this_thread::yield();
    }
    waiter.join();
    CHECK(taken.load() == 2000);
  }

  TEST_CASE("a cancelled wait leaves no waiter announced, and a notify without waiters costs nothing" *
            doctest::timeout(10)) {
    EventCount events;
    CHECK_FALSE(events.anyWaiting());
    const auto key = events.prepareWait();
    CHECK(events.anyWaiting());
    events.cancelWait();
    CHECK_FALSE(events.anyWaiting());
    events.notifyAll();  // nobody to wake: returns at once
    // A notify after the announcement ends the wait at once.
    const auto again = events.prepareWait();
    CHECK(again == key);
    events.notifyAll();
    events.commitWait(again);
    CHECK_FALSE(events.anyWaiting());
  }

  TEST_CASE("a timed wait ends at its deadline without a notify, and at the notify with one" *
            doctest::timeout(10)) {
    EventCount events;
    const auto key = events.prepareWait();
    CHECK_FALSE(events.commitWaitUntil(key, std::chrono::steady_clock::now() + 1ms));
    std::atomic<bool> ready{false};
    std::thread notifier([&] {
      while (!events.anyWaiting())
        std::this_thread::yield();
      ready.store(true, std::memory_order_seq_cst);
      events.notifyAll();
    });
    const auto never = [] { return false; };
    CHECK(ackmq::detail::spinThenParkUntil(
        events, [&] { return ready.load(std::memory_order_seq_cst); }, never, [] {},
        std::chrono::steady_clock::now() + 30s));
    notifier.join();
    CHECK_FALSE(ackmq::detail::spinThenParkUntil(
        events, never, never, [] {}, std::chrono::steady_clock::now() + 1ms));
  }
}

TEST_SUITE("offset store") {
  TEST_CASE("commits only move a queue's offset forward, though an overwrite may move it back" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ackmq::testing::ManualBroker broker(clock);
    broker.createTopic("T", 1);
    const ackmq::MessageQueue mq("T", "broker-a", 0);
    auto& core = ackmq::detail::BrokerAccess::core(broker);
    ackmq::detail::QueueOffset offset(core.offsetSlot("g", mq));
    CHECK(offset.committed() == -1);
    CHECK(offset.commitIncreasing(5));
    CHECK_FALSE(offset.commitIncreasing(3));  // a late result of an earlier batch
    CHECK(broker.queryConsumerOffset("g", mq) == 5);
    offset.overwrite(2);  // a lite pull consumer's seek back, then commit
    CHECK(broker.queryConsumerOffset("g", mq) == 2);
    CHECK(offset.committed() == 2);
  }
}

TEST_SUITE("rebalancer") {
  TEST_CASE("reconcile lets unwanted queues go, takes the wanted ones, and counts what it could not take" *
            doctest::timeout(10)) {
    using R = ackmq::detail::Rebalancer<ackmq::detail::BrokerCore<std::string, ackmq::ManualClock>>;
    const ackmq::MessageQueue a("T", "broker-a", 0), b("T", "broker-a", 1), c("T", "broker-a", 2);
    std::map<ackmq::MessageQueue, int> owned{{a, 1}, {b, 2}};
    std::vector<ackmq::MessageQueue> dropped;
    const std::size_t missed = R::reconcile(
        owned, std::set<ackmq::MessageQueue>{b, c},
        [&](const ackmq::MessageQueue& mq, int) { dropped.push_back(mq); },
        [&](const ackmq::MessageQueue&) { return false; });  // c's lock is held by another member
    CHECK(dropped == std::vector<ackmq::MessageQueue>{a});
    CHECK(owned.size() == 1);
    CHECK(owned.contains(b));
    CHECK(missed == 1);
  }
}

TEST_SUITE("threads") {
  TEST_CASE("a broker on a ManualClock owns no thread, however much it stores" * doctest::timeout(30)) {
    const int before = baselineThreadCount();
    REQUIRE(before > 0);
    ackmq::ManualClock clock;
    // Segments of 4 MiB: large enough that a SystemClock broker would warm their pages.
    ackmq::testing::ManualBroker broker(clock, {.commitLogSegmentBytes = std::size_t{4} << 20});
    ackmq::testing::ManualProducer producer(broker, "p");
    producer.start();  // a producer starts its callback thread only for an async send
    for (int i = 0; i < 50'000; ++i)
      producer.sendOneway(ackmq::Message("T", "", std::string(200, 'x')));
    clock.advance(1h);
    CHECK(threadCount() == before);
  }

  TEST_CASE("warmMappedFileEnable off: a SystemClock broker runs only its timer thread" *
            doctest::timeout(30)) {
    const int before = baselineThreadCount();
    ackmq::Broker broker({.commitLogSegmentBytes = std::size_t{4} << 20, .warmMappedFileEnable = false});
    ackmq::Producer producer(broker, "p");
    producer.start();
    for (int i = 0; i < 50'000; ++i)
      producer.sendOneway(ackmq::Message("T", "", std::string(200, 'x')));
    CHECK(threadCount() == before + 1);  // the broker's timer thread
    producer.shutdown();
    broker.shutdown();
    CHECK(threadCount() == before);  // every thread joined
  }

  TEST_CASE("a consumer's threads are all joined by shutdown" * doctest::timeout(30)) {
    ackmq::ManualClock clock;
    ackmq::testing::ManualBroker broker(clock);
    const int before = baselineThreadCount();
    {
      ackmq::testing::ManualPushConsumer consumer(broker, "g");
      consumer.subscribe("T", "*");
      consumer.setConsumeThreadMin(3);
      consumer.setConsumeThreadMax(3);
      consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
          [](auto&, auto&) { return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS; }});
      consumer.start();
      CHECK(threadCount() >= before + 1);  // the dispatcher, and listener threads as work comes
      consumer.shutdown();
      CHECK(threadCount() == before);
    }
  }
}
