// Backpressure: at the default StoreFullPolicy::WAIT a send to a store full of unconsumed messages waits,
// within its budget on the broker's clock, for consumers to free room; REJECT_NEW refuses at once.
#include <ackmq/broker.hpp>

#include <doctest/doctest.h>

#include <ackmq/producer.hpp>
#include <ackmq/push_consumer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <latch>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;

namespace {

// Two 4 KiB segments at the default policy, topic T with one queue that group g tracks from offset 0.
struct FullStore {
  ackmq::ManualClock clock;
  ManualBroker broker;
  ManualProducer producer;
  const ackmq::MessageQueue q{"T", "broker-a", 0};

  FullStore() : broker(clock, config()), producer(broker, "p") {
    broker.createTopic("T", 1);
    producer.start();
    broker.updateConsumerOffset("g", q, 0);
  }
  static ackmq::BrokerConfig config() {
    ackmq::BrokerConfig c;
    c.commitLogSegmentBytes = 4096;
    c.maxStoreBytes = 2 * 4096;
    c.maxConsumedHistoryBytes = 4096;
    return c;
  }
  static ackmq::Message message() { return ackmq::Message("T", "", std::string(200, 'x')); }
  // Appends refused for want of room so far: once there is one, the store is full of what g has not
  // consumed, and a send at the default policy waits.
  std::int64_t rejected() const {
    return static_cast<std::int64_t>(ackmq::testing::storeStats(broker).rejectedAppends);
  }
  void consumeAll() { broker.updateConsumerOffset("g", q, broker.maxOffset(q)); }
};

// Waits, yielding, until `done()` holds or 10 s pass on the wall clock; false then.
template <class Done>
bool eventually(Done&& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_SUITE("backpressure") {
  TEST_CASE("at the default policy a send to a full store waits until a consumer frees room, then succeeds" *
            doctest::timeout(30)) {
    FullStore s;
    std::atomic<int> sent{0};
    std::atomic<bool> failed{false};
    std::thread sender([&] {
      try {
        for (int i = 0; i < 100; ++i) {
          s.producer.send(FullStore::message());
          sent.fetch_add(1);
        }
      } catch (...) {
        failed = true;
      }
    });
    REQUIRE(eventually([&] { return s.rejected() > 0; }));  // the store is full: the sender waits
    const int before = sent.load();
    CHECK(before < 100);
    CHECK(s.broker.maxOffset(s.q) == before);
    // Each commit frees room; the sender fills it again and waits again, until all 100 went in.
    REQUIRE(eventually([&] {
      s.consumeAll();
      return sent.load() == 100 || failed.load();
    }));
    sender.join();
    CHECK_FALSE(failed.load());
    CHECK(s.broker.maxOffset(s.q) == 100);
    CHECK(ackmq::testing::storeStats(s.broker).droppedMessages == 0);
  }

  TEST_CASE(
      "the wait follows the broker's clock: once sendMsgTimeout passes on it the send fails with "
      "SYSTEM_BUSY" *
      doctest::timeout(30)) {
    FullStore s;
    std::int64_t filled = 0;
    std::atomic<bool> ended{false};
    std::exception_ptr error;
    std::thread sender([&] {
      try {
        for (;;) {
          s.producer.send(FullStore::message());
          ++filled;
        }
      } catch (...) {
        error = std::current_exception();
      }
      ended = true;
    });
    REQUIRE(eventually([&] { return s.rejected() > 0; }));
    s.clock.advance(2999ms);  // still within the budget (3000 ms)
    CHECK_FALSE(ended.load());
    s.clock.advance(2ms);
    sender.join();
    REQUIRE(error);
    try {
      std::rethrow_exception(error);
    } catch (const ackmq::MQClientException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::SYSTEM_BUSY);
      CHECK(std::string(e.what()).find("waited") != std::string::npos);
      CHECK(std::string(e.what()).find("StoreFullPolicy::WAIT") != std::string::npos);
    }
    CHECK(s.broker.maxOffset(s.q) == filled);  // the refused message was not stored
  }

  TEST_CASE("an async send to a full store waits on its own budget and reports success once room comes" *
            doctest::timeout(30)) {
    FullStore s;
    std::atomic<int> succeeded{0};
    std::atomic<int> failed{0};
    std::atomic<int> returned{0};
    std::thread sender([&] {
      for (int i = 0; i < 100; ++i) {
        s.producer.send(FullStore::message(),
                        ackmq::SendCallback{[&](const ackmq::SendResult&) { succeeded.fetch_add(1); },
                                            [&](std::exception_ptr) { failed.fetch_add(1); }});
        returned.fetch_add(1);
      }
    });
    REQUIRE(eventually([&] { return s.rejected() > 0; }));
    CHECK(returned.load() < 100);  // the call itself waits: what it stores is confirmed before it returns
    REQUIRE(eventually([&] {
      s.consumeAll();
      return returned.load() == 100;
    }));
    sender.join();
    REQUIRE(eventually([&] { return succeeded.load() + failed.load() == 100; }));
    CHECK(succeeded.load() == 100);
    CHECK(s.broker.maxOffset(s.q) == 100);
  }

  TEST_CASE("a oneway send to a full store waits too, and is stored once room comes" * doctest::timeout(30)) {
    FullStore s;
    std::atomic<int> sent{0};
    std::thread sender([&] {
      for (int i = 0; i < 60; ++i) {
        s.producer.sendOneway(FullStore::message());
        sent.fetch_add(1);
      }
    });
    REQUIRE(eventually([&] { return s.rejected() > 0; }));
    CHECK(sent.load() < 60);
    REQUIRE(eventually([&] {
      s.consumeAll();
      return sent.load() == 60;
    }));
    sender.join();
    CHECK(s.broker.maxOffset(s.q) == 60);
  }

  TEST_CASE("REJECT_NEW refuses a send to a full store at once, on a clock that never moves" *
            doctest::timeout(30)) {
    ackmq::ManualClock clock;
    ackmq::BrokerConfig c = FullStore::config();
    c.storeFullPolicy = ackmq::StoreFullPolicy::REJECT_NEW;
    ManualBroker broker(clock, c);
    broker.createTopic("T", 1);
    broker.updateConsumerOffset("g", ackmq::MessageQueue("T", "broker-a", 0), 0);
    ManualProducer producer(broker, "p");
    producer.start();
    int stored = 0;
    try {
      for (; stored < 1000; ++stored)
        producer.send(FullStore::message());
      FAIL("the store never filled up");
    } catch (const ackmq::MQClientException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::SYSTEM_BUSY);
      CHECK(std::string(e.what()).find("waited") == std::string::npos);
    }
    CHECK(stored > 10);
  }

  TEST_CASE(
      "a producer faster than its push consumer is slowed to its pace: every send succeeds, nothing is "
      "lost" *
      doctest::timeout(60)) {
    ackmq::BrokerConfig c = FullStore::config();
    c.maxStoreBytes = 4 * 4096;
    ackmq::Broker broker(c);
    broker.createTopic("T", 2);
    ackmq::Producer producer(broker, "p");
    producer.start();
    ackmq::PushConsumer consumer(broker, "g");
    consumer.subscribe("T", "*");
    std::atomic<int> consumed{0};
    consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
        [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
          consumed.fetch_add(static_cast<int>(msgs.size()));
          return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
        }});
    consumer.start();
    constexpr int kMessages = 3000;  // about 40 times what the store holds
    for (int i = 0; i < kMessages; ++i)
      CHECK(producer.send(FullStore::message()).getSendStatus() == ackmq::SendStatus::SEND_OK);
    REQUIRE(ackmq::testing::awaitIdle(consumer));
    CHECK(consumed.load() == kMessages);
    CHECK(ackmq::testing::storeStats(broker).rejectedAppends > 0);  // the producer did wait
    CHECK(ackmq::testing::storeStats(broker).droppedMessages == 0);
    consumer.shutdown();
    producer.shutdown();
  }
}
