// Scenario retry: the cost of a delivery on the success path vs in a retry storm that walks every message
// through RocketMQ's whole back-off ladder into the dead-letter queue, on a ManualClock.

#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "harness.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

constexpr int kListenerThreads = 1;
// A message that always fails is delivered once and reconsumed retryMaxTimes (16) times, then dead-lettered.
constexpr std::uint64_t kDeliveriesPerStormMessage = 17;

// The bound for the bounded storm: room for the messages of about two back-off levels at a time (a failed
// delivery stores a parked copy and a retry copy, some 570 bytes), so that the store reclaims the segments
// of levels already walked and writes the next ones into their memory.
std::size_t boundedStoreBytes(std::size_t n) {
  return std::max<std::size_t>(std::size_t{64} << 20, n * 2560);
}

// One run: n messages are stored first (untimed); the clock covers starting the consumer, every delivery,
// and, in a storm, every send-back, retry copy, timer and dead-letter copy, until the consumer settles.
double costPerDelivery(std::size_t n, bool storm, bool bounded = false) {
  ackmq::ManualClock clock;
  ackmq::BrokerConfig config;  // the default 1 GiB holds every copy a storm of 100k messages makes
  if (bounded) config.maxStoreBytes = boundedStoreBytes(n);
  ackmq::testing::ManualBroker broker(clock, config);
  broker.createTopic("Bench", 4);
  ackmq::testing::ManualProducer producer(broker, "bench-producer");
  producer.start();
  std::uint64_t notOk = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (producer.send(ackmq::Message("Bench", "", makeBody())).getSendStatus() != ackmq::SendStatus::SEND_OK)
      ++notOk;
  }
  checkCount(notOk, 0, "ackmq sends not SEND_OK");

  const std::string group = storm ? "bench-storm" : "bench-success";
  ackmq::testing::ManualPushConsumer consumer(broker, group);
  consumer.subscribe("Bench", "*");
  consumer.setConsumeThreadMin(kListenerThreads);
  consumer.setConsumeThreadMax(kListenerThreads);
  consumer.setConsumeFromWhere(ackmq::ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET);  // the stored messages
  Completion firstDeliveries(n);
  std::atomic<std::uint64_t> deliveries{0};
  std::atomic<std::uint64_t> badBodies{0};
  const auto status = storm ? ackmq::ConsumeConcurrentlyStatus::RECONSUME_LATER
                            : ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
  consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
        for (const auto& m : msgs) {
          if (m.getBody().size() != kBodyBytes) badBodies.fetch_add(1, std::memory_order_relaxed);
          if (m.getReconsumeTimes() == 0) firstDeliveries.arrive();
        }
        deliveries.fetch_add(msgs.size(), std::memory_order_relaxed);
        return status;
      }});

  const auto t0 = Steady::now();
  consumer.start();
  if (!firstDeliveries.wait(kRunTimeout)) {
    fail("first deliveries timed out: " + std::to_string(firstDeliveries.count()) + " of " +
         std::to_string(n) + "; " + describe(ackmq::testing::consumerStats(consumer)));
  }
  // A storm walks the ladder: 10 s, 30 s, 1 min ... 2 h (4 h 46 min in all), one timer at a time, letting
  // the consumer settle after each so every retry is consumed when it comes due.
  const bool settled = storm ? ackmq::testing::advanceAndSettle(clock, std::chrono::hours(5), consumer)
                             : ackmq::testing::awaitIdle(consumer, kRunTimeout);
  const auto t1 = Steady::now();

  const ackmq::ConsumerStats stats = ackmq::testing::consumerStats(consumer);
  check(settled, "ackmq consumer did not settle; " + describe(stats));
  const std::uint64_t expected = storm ? kDeliveriesPerStormMessage * n : n;
  checkCount(deliveries.load(), expected, "listener deliveries (" + describe(stats) + ")");
  checkCount(stats.delivered, expected, "consumerStats.delivered");
  checkCount(badBodies.load(), 0, "bodies of the wrong size");
  checkCount(ackmq::testing::storeStats(broker).rejectedAppends, 0, "store appends rejected (store full)");
  const std::string dlqTopic = ackmq::MixAll::getDLQTopic(group);
  if (storm) {
    checkCount(stats.failed, expected, "consumerStats.failed");
    checkCount(stats.retried, (kDeliveriesPerStormMessage - 1) * n, "consumerStats.retried");
    checkCount(stats.deadLettered, n, "consumerStats.deadLettered");
    checkCount(ackmq::testing::topicMessages(broker, dlqTopic).size(), n, "messages in " + dlqTopic);
  } else {
    checkCount(stats.succeeded, n, "consumerStats.succeeded");
    std::int64_t committed = 0;
    for (const auto& [mq, offset] : ackmq::testing::committedOffsets(broker, group)) {
      if (mq.getTopic() == "Bench") committed += offset;
    }
    checkCount(static_cast<std::uint64_t>(committed), n, "committed offsets summed over the queues");
  }
  consumer.shutdown();
  producer.shutdown();
  return nanosBetween(t0, t1) / static_cast<double>(expected);
}

}  // namespace

void runRetry(const Options& opt) {
  const std::size_t n = scaled(100'000, opt);
  heading("retry", "cost per delivery, success path vs retry storm, " + std::to_string(n) +
                       " messages, ManualClock, " + std::to_string(kListenerThreads) + " listener thread");
  std::printf("  success: each message consumed once with CONSUME_SUCCESS (%zu deliveries)\n", n);
  std::printf(
      "  storm: RECONSUME_LATER always; advanceAndSettle(5 h) walks the ladder until every message is in "
      "%%DLQ%%<group> (%llu deliveries)\n",
      static_cast<unsigned long long>(kDeliveriesPerStormMessage * n));
  std::printf(
      "  storm_bounded: the same storm with maxStoreBytes %zu MiB: the segments of levels already walked\n"
      "  are reclaimed and their memory reused\n",
      boundedStoreBytes(n) >> 20);
  std::printf(
      "  messages stored before the clock starts; timed from consumer start until settled; "
      "interleaved success, storm, storm_bounded, success, ...\n");

  const std::vector<Contender> contenders = {
      {"success",
       [n](int) {
         return Sample{{"cost_per_delivery_ns", costPerDelivery(n, false)}};
       }},
      {"storm",
       [n](int) {
         return Sample{{"cost_per_delivery_ns", costPerDelivery(n, true)}};
       }},
      {"storm_bounded",
       [n](int) {
         return Sample{{"cost_per_delivery_ns", costPerDelivery(n, true, true)}};
       }},
  };
  const Results r = runInterleaved(opt, contenders);
  printSummary(r, {"success", "storm", "storm_bounded"}, "cost_per_delivery_ns", "ns per delivery");
  const double ratio = printRatios(
      "storm/success", perRepRatios(r, "storm", "success", "cost_per_delivery_ns"), kLowerIsBetter);
  const double boundedRatio =
      printRatios("storm_bounded/success",
                  perRepRatios(r, "storm_bounded", "success", "cost_per_delivery_ns"), kLowerIsBetter);
  ResultLine("retry", "cost_per_delivery_ns")
      .value("success", r.med("success", "cost_per_delivery_ns"))
      .value("storm", r.med("storm", "cost_per_delivery_ns"))
      .value("storm_bounded", r.med("storm_bounded", "cost_per_delivery_ns"))
      .ratio("ratio_storm_success", ratio)
      .ratio("ratio_storm_bounded_success", boundedRatio)
      .print();
}

}  // namespace bench
