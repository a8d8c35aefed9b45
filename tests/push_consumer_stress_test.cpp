// The push consumer under load: many messages, several groups and members, random failures. Meant to run
// under ThreadSanitizer as much as without it.
#include <ackmq/push_consumer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;
using ackmq::testing::ManualPushConsumer;

namespace {

// Fails about one delivery in ten, the same way every run: a hash of the message and its attempt.
bool failsThisTime(int index, int reconsumeTimes) {
  std::uint64_t h =
      static_cast<std::uint64_t>(index) * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(reconsumeTimes);
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 32;
  return h % 10 == 0;
}

}  // namespace

TEST_SUITE("push_consumer_stress") {
  TEST_CASE(
      "100k messages, 2 groups x 3 members, random failures: each group consumes every message, and the "
      "counters add up exactly" *
      doctest::timeout(600)) {
    constexpr int kMessages = 100'000;
    constexpr int kGroups = 2;
    constexpr int kMembers = 3;
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    broker.createTopic("Stress", 8);

    // successes[g][i]: how many times group g consumed message i successfully.
    std::vector<std::unique_ptr<std::atomic<int>[]>> successes;
    std::vector<std::unique_ptr<ManualPushConsumer>> consumers;
    for (int g = 0; g < kGroups; ++g) {
      successes.emplace_back(new std::atomic<int>[kMessages]());
      for (int m = 0; m < kMembers; ++m) {
        auto c = std::make_unique<ManualPushConsumer>(broker, "stress-" + std::to_string(g));
        c->subscribe("Stress", "*");
        c->setInstanceName("m" + std::to_string(m));
        c->setConsumeThreadMin(2);
        c->setConsumeThreadMax(2);
        c->setConsumeMessageBatchMaxSize(m == 0 ? 1 : 4);
        auto* counts = successes.back().get();
        c->registerMessageListener(ackmq::MessageListenerConcurrently{
            [counts](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext& ctx) {
              for (std::size_t i = 0; i < msgs.size(); ++i) {
                const int index = std::stoi(msgs[i].getBody());
                if (failsThisTime(index, msgs[i].getReconsumeTimes())) {
                  // Acknowledge the ones before it; it and the rest go back.
                  ctx.setAckIndex(static_cast<int>(i) - 1);
                  for (std::size_t j = 0; j < i; ++j)
                    ++counts[std::stoi(msgs[j].getBody())];
                  return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
                }
              }
              for (const auto& msg : msgs)
                ++counts[std::stoi(msg.getBody())];
              return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
            }});
        consumers.push_back(std::move(c));
      }
    }
    for (auto& c : consumers)
      c->start();
    for (auto& c : consumers)
      REQUIRE(ackmq::testing::awaitIdle(*c));

    // Two producer threads, while the consumers run.
    std::vector<std::thread> producers;
    for (int p = 0; p < 2; ++p) {
      producers.emplace_back([&broker, p] {
        ManualProducer producer(broker, "stress-producer");
        producer.start();
        for (int i = p; i < kMessages; i += 2)
          producer.sendOneway(ackmq::Message("Stress", "", std::to_string(i)));
      });
    }
    for (auto& t : producers)
      t.join();

    // Retries wait on the ManualClock: let them come due until everything is consumed.
    auto missing = [&](int g) {
      int n = 0;
      for (int i = 0; i < kMessages; ++i)
        n += successes[static_cast<std::size_t>(g)][static_cast<std::size_t>(i)].load() == 0;
      return n;
    };
    auto settle = [&] {
      for (auto& c : consumers) {
        if (!ackmq::testing::awaitIdle(*c, 300s)) return false;
      }
      return true;
    };
    for (int round = 0; round < 10 && (missing(0) > 0 || missing(1) > 0); ++round) {
      REQUIRE(ackmq::testing::advanceAndSettle(clock, 2h, settle));
    }

    for (int g = 0; g < kGroups; ++g) {
      const std::string group = "stress-" + std::to_string(g);
      CHECK(missing(g) == 0);
      ackmq::ConsumerStats sum;
      for (int m = 0; m < kMembers; ++m) {
        const auto s = ackmq::testing::consumerStats(*consumers[static_cast<std::size_t>(g * kMembers + m)]);
        CHECK(s.delivered == s.succeeded + s.failed);
        CHECK(s.failed == s.retried + s.deadLettered + s.reconsumedLocally + s.dropped);
        CHECK(s.expired == 0);  // the clock only moved while everything was consumed
        CHECK(s.inFlight == 0);
        CHECK(s.lag == 0);
        sum.delivered += s.delivered;
        sum.succeeded += s.succeeded;
        sum.failed += s.failed;
        sum.retried += s.retried;
        sum.deadLettered += s.deadLettered;
      }
      // Nobody joined or left while messages flowed, so nothing was consumed twice.
      CHECK(sum.succeeded == static_cast<std::uint64_t>(kMessages));
      CHECK(sum.deadLettered == 0);
      CHECK(sum.failed > kMessages / 20);
      // Every failure became exactly one retry copy, every copy was delivered.
      CHECK(ackmq::testing::topicMessages(broker, "%RETRY%" + group).size() == sum.retried);
      CHECK(sum.delivered == static_cast<std::uint64_t>(kMessages) + sum.retried);
      std::int64_t committed = 0;
      for (const auto& [mq, o] : ackmq::testing::committedOffsets(broker, group)) {
        if (mq.topic == "Stress") committed += o;
      }
      CHECK(committed == kMessages);
    }
  }
}
