// Lifecycle abuse: shutdown from every place it may be called from, 50 rounds each, under a watchdog that
// turns a hang into a failure. After a consumer leaves, a successor of its group receives everything it left.
#include <ackmq/testing.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/push_consumer.hpp>

#include "../stress/stress_support.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using ackmq::ConsumeConcurrentlyStatus;
using ackmq::ConsumeOrderlyStatus;
using ackmq::MessageQueue;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;
using ackmq::testing::ManualPushConsumer;

namespace {

const int kRounds = ackmq_stress::scaled(50, 2'000);

// Aborts the process, naming the round, when a round takes longer than `limit`: a deadlock fails the test
// with a message instead of holding it until the ctest timeout. The timed wait is the timeout, not a means
// of synchronisation.
class Watchdog {
 public:
  Watchdog(std::string what, std::chrono::seconds limit) : what_(std::move(what)) {
    thread_ = std::thread([this, limit] {
      std::unique_lock l(mu_);
      if (!cv_.wait_for(l, limit, [this] { return done_; })) {
        std::fprintf(stderr, "watchdog: %s did not finish within %lld s: a deadlock\n", what_.c_str(),
                     static_cast<long long>(limit.count()));
        std::abort();
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::string what_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// The bodies a group consumed successfully, across its members.
struct Consumed {
  std::mutex mu;
  std::multiset<std::string> bodies;
  void add(const std::string& body) {
    std::lock_guard l(mu);
    bodies.insert(body);
  }
  std::size_t distinct() {
    std::lock_guard l(mu);
    return std::set<std::string>(bodies.begin(), bodies.end()).size();
  }
};

void sendAll(ManualBroker& broker, const std::string& topic, int n) {
  ManualProducer producer(broker, "lifecycle-producers");
  producer.start();
  for (int i = 0; i < n; ++i)
    producer.send(ackmq::Message(topic, "", std::to_string(i)));
}

// A successor member of `group`: started after the first has gone, it must receive every message the
// first did not consume.
void successorReceivesTheRest(ManualBroker& broker, const std::string& group, bool orderly,
                              Consumed& consumed, int messages) {
  ManualPushConsumer successor(broker, group);
  successor.subscribe("Life", "*");
  successor.setConsumeThreadMin(1);
  successor.setConsumeThreadMax(1);
  if (orderly) {
    successor.registerMessageListener(
        ackmq::MessageListenerOrderly{[&](const ackmq::MessageExtList& msgs, ackmq::ConsumeOrderlyContext&) {
          for (const auto& m : msgs)
            consumed.add(m.getBody());
          return ConsumeOrderlyStatus::SUCCESS;
        }});
  } else {
    successor.registerMessageListener(ackmq::MessageListenerConcurrently{
        [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
          for (const auto& m : msgs)
            consumed.add(m.getBody());
          return ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
        }});
  }
  successor.start();
  REQUIRE(ackmq::testing::awaitIdle(successor));
  CHECK(consumed.distinct() == static_cast<std::size_t>(messages));
  const auto st = ackmq::testing::consumerStats(successor);
  CHECK(st.delivered == st.succeeded + st.failed);
  CHECK(st.lag == 0);
}

// One round of a consumer that shuts itself down from inside its listener after `after` deliveries.
void shutdownFromListener(std::uint64_t seed, int round, bool orderly) {
  std::mt19937_64 rng(ackmq_stress::mix(seed, static_cast<std::uint64_t>(round)));
  constexpr int kMessages = 40;
  const int after = 1 + static_cast<int>(rng() % kMessages);
  ackmq::ManualClock clock;
  ManualBroker broker(clock);
  broker.createTopic("Life", 4);
  const std::string group = orderly ? "life-orderly" : "life-concurrent";
  Consumed consumed;
  std::latch calledShutdown(1);
  std::atomic<int> deliveries{0};
  {
    ManualPushConsumer first(broker, group);
    first.subscribe("Life", "*");
    first.setInstanceName("first");
    first.setConsumeThreadMin(2);
    first.setConsumeThreadMax(2);
    first.setConsumeMessageBatchMaxSize(1 + static_cast<int>(rng() % 3));
    auto onDelivery = [&](const ackmq::MessageExtList& msgs) {
      for (const auto& m : msgs)
        consumed.add(m.getBody());
      const int n = static_cast<int>(msgs.size());
      const int before = deliveries.fetch_add(n);
      if (before < after && before + n >= after) {
        first.shutdown();  // returns at once; completes when this call returns
        calledShutdown.count_down();
      }
    };
    if (orderly) {
      first.registerMessageListener(ackmq::MessageListenerOrderly{
          [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeOrderlyContext&) {
            onDelivery(msgs);
            return ConsumeOrderlyStatus::SUCCESS;
          }});
    } else {
      first.registerMessageListener(ackmq::MessageListenerConcurrently{
          [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
            onDelivery(msgs);
            return ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
          }});
    }
    first.start();
    sendAll(broker, "Life", kMessages);
    calledShutdown.wait();
    first.shutdown();  // idempotent, also while the listener's shutdown completes
  }                    // the destructor waits for the shutdown to complete
  successorReceivesTheRest(broker, group, orderly, consumed, kMessages);
}

}  // namespace

TEST_SUITE("lifecycle") {
  TEST_CASE(
      "a consumer shut down from the main thread while messages arrive leaves the rest to its successor" *
      doctest::timeout(ackmq_stress::timeoutSeconds())) {
    const std::uint64_t seed = ackmq_stress::seed("shutdown from the main thread");
    CAPTURE(seed);
    for (int round = 0; round < kRounds; ++round) {
      CAPTURE(round);
      Watchdog watchdog("round " + std::to_string(round), 60s);
      std::mt19937_64 rng(ackmq_stress::mix(seed, static_cast<std::uint64_t>(round)));
      constexpr int kMessages = 60;
      const int after = static_cast<int>(rng() % kMessages);
      ackmq::ManualClock clock;
      ManualBroker broker(clock);
      broker.createTopic("Life", 4);
      Consumed consumed;
      std::latch enough(1);
      std::atomic<int> deliveries{0};
      {
        ManualPushConsumer first(broker, "life-main");
        first.subscribe("Life", "*");
        first.setConsumeThreadMin(2);
        first.setConsumeThreadMax(2);
        first.registerMessageListener(ackmq::MessageListenerConcurrently{
            [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
              for (const auto& m : msgs)
                consumed.add(m.getBody());
              if (deliveries.fetch_add(1) == after) enough.count_down();
              return ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
            }});
        first.start();
        std::thread producer([&] { sendAll(broker, "Life", kMessages); });
        enough.wait();
        first.shutdown();  // while the producer may still be sending
        producer.join();
        CHECK_THROWS_AS(first.start(), ackmq::MQClientException);  // a consumer that was shut down stays down
      }
      successorReceivesTheRest(broker, "life-main", false, consumed, kMessages);
    }
  }

  TEST_CASE("a concurrent listener that shuts its consumer down leaves the rest to its successor" *
            doctest::timeout(ackmq_stress::timeoutSeconds())) {
    const std::uint64_t seed = ackmq_stress::seed("shutdown from a concurrent listener");
    CAPTURE(seed);
    for (int round = 0; round < kRounds; ++round) {
      CAPTURE(round);
      Watchdog watchdog("round " + std::to_string(round), 60s);
      shutdownFromListener(seed, round, false);
    }
  }

  TEST_CASE("an orderly listener that shuts its consumer down leaves the rest to its successor" *
            doctest::timeout(ackmq_stress::timeoutSeconds())) {
    const std::uint64_t seed = ackmq_stress::seed("shutdown from an orderly listener");
    CAPTURE(seed);
    for (int round = 0; round < kRounds; ++round) {
      CAPTURE(round);
      Watchdog watchdog("round " + std::to_string(round), 60s);
      shutdownFromListener(seed, round, true);
    }
  }

  // Until the fix of defect 5 lands, ThreadSanitizer reports a data race here: the listener that calls
  // shutdown() records itself as the one to finish it, and the other listener thread, returning, reads that
  // record unsynchronised. The other call is released by a relaxed flag, which orders nothing, so that the
  // consumer's own synchronisation is all there is between the two.
  TEST_CASE(
      "a listener may shut its consumer down while another listener call of the same consumer is returning" *
      doctest::timeout(ackmq_stress::timeoutSeconds())) {
    for (int round = 0; round < kRounds; ++round) {
      CAPTURE(round);
      Watchdog watchdog("round " + std::to_string(round), 60s);
      ackmq::ManualClock clock;
      ManualBroker broker(clock);
      broker.createTopic("Life", 2);
      Consumed consumed;
      {
        std::atomic<int> entered{0};
        std::atomic<bool> shutDown{false};
        std::latch calledShutdown(1);
        ManualPushConsumer first(broker, "life-racing");
        first.subscribe("Life", "*");
        first.setConsumeThreadMin(2);
        first.setConsumeThreadMax(2);
        first.registerMessageListener(ackmq::MessageListenerConcurrently{
            [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
              for (const auto& m : msgs)
                consumed.add(m.getBody());
              const int me = entered.fetch_add(1);
              if (me == 0) {
                while (entered.load() < 2)  // both calls are inside the listener
                  std::this_thread::yield();
                first.shutdown();
                shutDown.store(true, std::memory_order_relaxed);
                calledShutdown.count_down();
              } else if (me == 1) {
                while (!shutDown.load(std::memory_order_relaxed))
                  std::this_thread::yield();
              }
              return ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
            }});
        first.start();
        REQUIRE(ackmq::testing::awaitIdle(first));
        ManualProducer producer(broker, "lifecycle-producers");
        producer.start();
        for (int q = 0; q < 2; ++q)
          producer.send(ackmq::Message("Life", "", std::to_string(q)), MessageQueue("Life", "broker-a", q));
        producer.send(ackmq::Message("Life", "", "2"), MessageQueue("Life", "broker-a", 0));
        calledShutdown.wait();  // the listener, not the destructor, shuts the consumer down
      }
      successorReceivesTheRest(broker, "life-racing", false, consumed, 3);
    }
  }

  TEST_CASE("a producer shut down from its async send callback reports every send exactly once" *
            doctest::timeout(ackmq_stress::timeoutSeconds())) {
    const std::uint64_t seed = ackmq_stress::seed("shutdown from an async callback");
    CAPTURE(seed);
    for (int round = 0; round < kRounds; ++round) {
      CAPTURE(round);
      Watchdog watchdog("round " + std::to_string(round), 60s);
      std::mt19937_64 rng(ackmq_stress::mix(seed, static_cast<std::uint64_t>(round)));
      constexpr int kSends = 30;
      const int at = static_cast<int>(rng() % kSends);
      ackmq::ManualClock clock;
      ManualBroker broker(clock);
      std::atomic<int> reported{0};
      std::atomic<int> accepted{0};
      std::latch shutDown(1);
      {
        ManualProducer producer(broker, "life-producers");
        producer.start();
        for (int i = 0; i < kSends; ++i) {
          try {
            producer.send(ackmq::Message("Life", "", std::to_string(i)),
                          ackmq::SendCallback{[&](const ackmq::SendResult&) {
                                                if (reported.fetch_add(1) != at) return;
                                                producer.shutdown();
                                                shutDown.count_down();
                                              },
                                              [&](std::exception_ptr) { reported.fetch_add(1); }});
            accepted.fetch_add(1);
          } catch (const ackmq::MQClientException& e) {
            CHECK(e.getResponseCode() == ackmq::ResponseCode::CLIENT_STATE_ILLEGAL);
          }
        }
        // The callback shuts the producer down first (a shutdown() racing it is the next case).
        shutDown.wait();
        producer.shutdown();
        CHECK_THROWS_AS(producer.send(ackmq::Message("Life", "", "late")), ackmq::MQClientException);
      }  // the destructor joins the callback thread, which delivered what it owed first
      CHECK(reported.load() == accepted.load());
      CHECK(accepted.load() > at);
      CHECK(ackmq::testing::topicMessages(broker, "Life").size() ==
            static_cast<std::size_t>(accepted.load()));
    }
  }

  // Until the fix of defect 1 lands: the callback's shutdown() waits for the lifecycle lock the other
  // thread holds while it waits for the callback thread, and the watchdog aborts the round.
  TEST_CASE(
      "a producer shut down from its async send callback while another thread is in shutdown() does not "
      "deadlock" *
      doctest::timeout(ackmq_stress::timeoutSeconds())) {
    const std::uint64_t seed = ackmq_stress::seed("shutdown from a callback during shutdown");
    CAPTURE(seed);
    for (int round = 0; round < kRounds; ++round) {
      CAPTURE(round);
      Watchdog watchdog("round " + std::to_string(round), 10s);
      ackmq::ManualClock clock;
      ManualBroker broker(clock);
      std::latch inCallback(1);
      std::latch mainShuttingDown(1);
      std::atomic<int> reported{0};
      ManualProducer producer(broker, "life-producers");
      producer.start();
      constexpr int kSends = 5;
      for (int i = 0; i < kSends; ++i) {
        producer.send(ackmq::Message("Life", "", std::to_string(i)),
                      ackmq::SendCallback{[&, i](const ackmq::SendResult&) {
                                            if (i == 0) {
                                              inCallback.count_down();
                                              mainShuttingDown.wait();
                                              producer.shutdown();
                                            }
                                            reported.fetch_add(1);
                                          },
                                          [&](std::exception_ptr) { reported.fetch_add(1); }});
      }
      inCallback.wait();
      std::thread other([&] {
        mainShuttingDown.count_down();
        producer.shutdown();
      });
      other.join();
      CHECK(reported.load() == kSends);
      CHECK(ackmq::testing::topicMessages(broker, "Life").size() == static_cast<std::size_t>(kSends));
    }
  }

  TEST_CASE(
      "a broker shut down under load refuses later sends with SERVICE_NOT_AVAILABLE and keeps every message "
      "it confirmed" *
      doctest::timeout(ackmq_stress::timeoutSeconds())) {
    const std::uint64_t seed = ackmq_stress::seed("broker shutdown under load");
    CAPTURE(seed);
    for (int round = 0; round < kRounds; ++round) {
      CAPTURE(round);
      Watchdog watchdog("round " + std::to_string(round), 60s);
      std::mt19937_64 rng(ackmq_stress::mix(seed, static_cast<std::uint64_t>(round)));
      const int after = 1 + static_cast<int>(rng() % 50);
      ackmq::ManualClock clock;
      ManualBroker broker(clock);
      broker.createTopic("Life", 4);
      Consumed consumed;
      ManualPushConsumer consumer(broker, "life-broker");
      consumer.subscribe("Life", "*");
      consumer.setConsumeThreadMin(2);
      consumer.setConsumeThreadMax(2);
      consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
          [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
            for (const auto& m : msgs)
              consumed.add(m.getBody());
            return ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
          }});
      consumer.start();
      std::latch enough(1);
      std::atomic<int> sent{0};
      std::mutex mu;
      std::set<std::string> confirmed;
      std::vector<ackmq::ResponseCode> refusals;
      std::vector<std::thread> producers;
      for (int p = 0; p < 2; ++p) {
        producers.emplace_back([&, p] {
          ManualProducer producer(broker, "life-producers");
          producer.start();
          for (int i = 0; i < 100; ++i) {
            const std::string body = std::to_string(p) + "-" + std::to_string(i);
            try {
              producer.send(ackmq::Message("Life", "", body));
              std::lock_guard l(mu);
              confirmed.insert(body);
            } catch (const ackmq::MQException& e) {
              std::lock_guard l(mu);
              refusals.push_back(e.getResponseCode());
            }
            if (sent.fetch_add(1) + 1 == after) enough.count_down();
          }
        });
      }
      enough.wait();
      broker.shutdown();
      for (auto& t : producers)
        t.join();
      consumer.shutdown();

      std::set<std::string> stored;
      for (const auto& m : ackmq::testing::topicMessages(broker, "Life"))
        CHECK(stored.insert(m.getBody()).second);
      CHECK(stored == confirmed);
      CHECK(confirmed.size() >= static_cast<std::size_t>(after));
      for (auto code : refusals)
        CHECK(code == ackmq::ResponseCode::SERVICE_NOT_AVAILABLE);
      ManualProducer late(broker, "life-producers");
      late.start();
      try {
        late.send(ackmq::Message("Life", "", "late"));
        FAIL("a broker that was shut down stored a message");
      } catch (const ackmq::MQException& e) {
        CHECK(e.getResponseCode() == ackmq::ResponseCode::SERVICE_NOT_AVAILABLE);
      }
      CHECK(ackmq::testing::topicMessages(broker, "Life").size() == stored.size());
    }
  }
}
