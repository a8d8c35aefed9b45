// Defects found by driving ackmq as a demanding user would (a storm of producers and consumers, shutdown
// from callbacks, bad calls), each pinned by the test that caught it.
#include <ackmq/testing.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/lite_pull_consumer.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/push_consumer.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using ackmq::testing::awaitIdle;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;
using ackmq::testing::ManualPushConsumer;

namespace {

// Runs `f` on its own thread and waits for it up to `limit`. A call that is still blocked then is a
// deadlock: nothing can unwind it, so the process ends with a message rather than hanging until ctest's
// timeout.
template <class F>
void withinOrAbort(std::chrono::seconds limit, const char* what, F&& f) {
  auto done = std::async(std::launch::async, std::forward<F>(f));
  if (done.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "deadlock: %s did not return within %lld s\n", what,
                 static_cast<long long>(limit.count()));
    std::abort();
  }
  done.get();
}

template <class F>
ackmq::ResponseCode codeOf(F&& f) {
  try {
    f();
  } catch (const ackmq::MQException& e) {
    return e.getResponseCode();
  }
  return ackmq::ResponseCode::SUCCESS;
}

}  // namespace

TEST_SUITE("regressions") {
  TEST_CASE("a send callback may shut the producer down while another thread is shutting it down" *
            doctest::timeout(60)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    std::latch mainShuttingDown(1);
    std::atomic<bool> callbackReturned{false};
    producer.send(ackmq::Message("T", "", "x"),
                  ackmq::SendCallback{[&](const ackmq::SendResult&) {
                                        mainShuttingDown.wait();
                                        // Probe without storing anything: an empty body is refused while
                                        // the producer runs, a stopped producer refuses the call itself.
                                        const ackmq::Message empty("T", "", "");
                                        while (codeOf([&] { producer.sendOneway(empty); }) !=
                                               ackmq::ResponseCode::CLIENT_STATE_ILLEGAL) {
                                          std::this_thread::yield();
                                        }
                                        producer.shutdown();  // the main thread is in shutdown() now
                                        callbackReturned = true;
                                      },
                                      nullptr});
    withinOrAbort(10s, "producer.shutdown() with a callback calling it too", [&] {
      mainShuttingDown.count_down();
      producer.shutdown();
    });
    CHECK(callbackReturned.load());
    CHECK(codeOf([&] { producer.send(ackmq::Message("T", "", "late")); }) ==
          ackmq::ResponseCode::CLIENT_STATE_ILLEGAL);
    CHECK(ackmq::testing::topicMessages(broker, "T").size() == 1);
  }

  TEST_CASE("a send callback that shuts the producer down alone returns, and the destructor joins" *
            doctest::timeout(60)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    std::atomic<int> reported{0};
    withinOrAbort(10s, "a producer shut down by its own callback", [&] {
      ManualProducer producer(broker, "p");
      producer.start();
      std::latch second(1);
      producer.send(ackmq::Message("T", "", "a"), ackmq::SendCallback{[&](const ackmq::SendResult&) {
                                                                        producer.shutdown();
                                                                        ++reported;
                                                                        second.count_down();
                                                                      },
                                                                      nullptr});
      second.wait();
      producer.shutdown();  // from the main thread: joins the callback thread
    });
    CHECK(reported.load() == 1);
  }

  TEST_CASE("a send timeout that is not positive is refused before anything is stored, on every form" *
            doctest::timeout(30)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    const ackmq::Message msg("T", "", "x");
    std::atomic<int> callbacks{0};
    const ackmq::SendCallback counting{[&](const ackmq::SendResult&) { ++callbacks; },
                                       [&](std::exception_ptr) { ++callbacks; }};
    for (const auto timeout : {-1ms, 0ms}) {
      CAPTURE(timeout.count());
      std::string what;
      try {
        (void)producer.send(msg, timeout);
      } catch (const ackmq::MQClientException& e) {
        what = e.what();
        CHECK(e.getResponseCode() == ackmq::ResponseCode::MESSAGE_ILLEGAL);
      }
      CHECK(what.find("timeout") != std::string::npos);
      CHECK(what.find("positive") != std::string::npos);
      CHECK(codeOf([&] { producer.send(msg, counting, timeout); }) == ackmq::ResponseCode::MESSAGE_ILLEGAL);
    }
    producer.shutdown();  // delivers any callback owed
    CHECK(callbacks.load() == 0);
    CHECK(ackmq::testing::topicMessages(broker, "T").empty());
    CHECK(ackmq::testing::storeStats(broker).storedMessages == 0);
  }

  TEST_CASE("tags over 32767 bytes are refused even when the message has no properties" *
            doctest::timeout(30)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    for (const std::size_t size : {32768u, 40000u, 65535u}) {
      CAPTURE(size);
      const ackmq::Message msg("T", std::string(size, 't'), "x");
      REQUIRE(msg.getProperties().empty());
      CHECK(codeOf([&] { producer.send(msg); }) == ackmq::ResponseCode::MESSAGE_ILLEGAL);
    }
    CHECK(ackmq::testing::storeStats(broker).storedMessages == 0);
    // The limit itself is allowed.
    CHECK(producer.send(ackmq::Message("T", std::string(32767, 't'), "x")).getSendStatus() ==
          ackmq::SendStatus::SEND_OK);
  }

  TEST_CASE("a consumer's default instance name may be given to another consumer" * doctest::timeout(30)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualPushConsumer first(broker, "g1");
    ManualPushConsumer second(broker, "g2");
    CHECK(first.getInstanceName().find('#') != std::string::npos);
    second.setInstanceName(first.getInstanceName());
    CHECK(second.getInstanceName() == first.getInstanceName());
    ackmq::testing::ManualLitePullConsumer pullFirst(broker, "g3");
    ackmq::testing::ManualLitePullConsumer pullSecond(broker, "g4");
    pullSecond.setInstanceName(pullFirst.getInstanceName());
    CHECK(pullSecond.getInstanceName() == pullFirst.getInstanceName());
    // RocketMQ's own client ids are ip@instance.
    second.setInstanceName("10.0.0.7@4242");
    // Blanks and control characters are still refused, naming the setter.
    std::string what;
    try {
      second.setInstanceName("two words");
    } catch (const ackmq::MQClientException& e) {
      what = e.what();
    }
    CHECK(what.find("setInstanceName") != std::string::npos);
    CHECK(codeOf([&] { second.setInstanceName(""); }) == ackmq::ResponseCode::MESSAGE_ILLEGAL);
    CHECK(codeOf([&] { second.setInstanceName(std::string(256, 'a')); }) ==
          ackmq::ResponseCode::MESSAGE_ILLEGAL);
  }

  TEST_CASE("a listener that shuts its consumer down while other listener threads work races with nothing" *
            doctest::timeout(60)) {
    // The other pool threads finish tasks while the listener's thread records that it will complete the
    // shutdown; under ThreadSanitizer an unsynchronised record is reported here.
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    broker.createTopic("T", 4);
    auto c = std::make_unique<ManualPushConsumer>(broker, "g");
    c->subscribe("T", "*");
    c->setConsumeThreadMin(4);
    c->setConsumeThreadMax(4);
    std::atomic<int> calls{0};
    std::latch shutDown(1);
    c->registerMessageListener(ackmq::MessageListenerConcurrently{[&](auto&, auto&) {
      if (++calls == 100) {
        c->shutdown();
        shutDown.count_down();
      }
      return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
    }});
    c->start();
    for (int i = 0; i < 400; ++i)
      producer.send(ackmq::Message("T", "", "m" + std::to_string(i)));
    shutDown.wait();
    c.reset();
    CHECK(calls.load() >= 100);
    // Every committed offset covers only consumed messages: the next member starts where this one stopped.
    ManualPushConsumer next(broker, "g");
    next.subscribe("T", "*");
    std::atomic<int> rest{0};
    next.registerMessageListener(ackmq::MessageListenerConcurrently{[&](auto& msgs, auto&) {
      rest += static_cast<int>(msgs.size());
      return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
    }});
    next.start();
    REQUIRE(awaitIdle(next));
    CHECK(calls.load() + rest.load() >= 400);
  }

  TEST_CASE("the reconsume count climbs by one per delivery whichever way a failure goes back" *
            doctest::timeout(60)) {
    // Delivery 1 fails with the send-back and its fallback failing: it is consumed again locally. Delivery 3
    // fails with only the send-back failing: the fallback stores the retry copy. The rest go back normally.
    // One count must rule all three paths: 17 deliveries, reconsumeTimes 0..16, then the DLQ.
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    ManualPushConsumer c(broker, "ladder");
    c.subscribe("T", "*");
    std::mutex mu;
    std::vector<int> counts;
    c.registerMessageListener(
        ackmq::MessageListenerConcurrently{[&](const ackmq::MessageExtList& msgs, auto&) {
          std::lock_guard l(mu);
          counts.push_back(msgs[0].getReconsumeTimes());
          if (counts.size() == 1) ackmq::testing::failNextSendBacks(broker, 1);
          if (counts.size() == 3) ackmq::testing::failNextSendBackRequests(broker, 1);
          return ackmq::ConsumeConcurrentlyStatus::RECONSUME_LATER;
        }});
    c.start();
    const auto sent = producer.send(ackmq::Message("T", "", "poison"));
    REQUIRE(ackmq::testing::advanceAndSettle(clock, 6h, c));
    std::vector<int> expected(17);
    for (int i = 0; i < 17; ++i)
      expected[static_cast<std::size_t>(i)] = i;
    {
      std::lock_guard l(mu);
      CHECK(counts == expected);
    }
    const auto dlq = ackmq::testing::topicMessages(broker, "%DLQ%ladder");
    REQUIRE(dlq.size() == 1);
    CHECK(dlq[0].getMsgId() == sent.getMsgId());
    CHECK(dlq[0].getReconsumeTimes() == 17);
    const auto s = ackmq::testing::consumerStats(c);
    CHECK(s.delivered == 17);
    CHECK(s.reconsumedLocally == 1);
    CHECK(s.retried == 15);
    CHECK(s.deadLettered == 1);
    CHECK(s.failed == s.retried + s.deadLettered + s.reconsumedLocally + s.dropped);
  }
}
