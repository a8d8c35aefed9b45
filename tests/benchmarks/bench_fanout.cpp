// Scenario fanout: the same stored messages consumed by one group vs by four groups (each group one
// consumer with one listener thread); cost per delivery.

#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

// The N messages are stored before the clock starts, so both cases time the same thing: delivering and
// acknowledging what is stored (with the send inside the window, 4 groups would share one send cost among
// 4 deliveries and look cheaper for it). Timed from starting the consumers until every group is idle.
double nanosPerDelivery(std::size_t n, int groups) {
  ackmq::Broker broker;
  broker.createTopic("Bench", 4);
  ackmq::Producer producer(broker, "bench-producer");
  producer.start();
  std::uint64_t notOk = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (producer.send(ackmq::Message("Bench", "", makeBody())).getSendStatus() != ackmq::SendStatus::SEND_OK)
      ++notOk;
  }
  checkCount(notOk, 0, "ackmq sends not SEND_OK");

  const std::uint64_t total = static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(groups);
  Completion delivered(total);
  std::atomic<std::uint64_t> badBodies{0};
  std::vector<std::unique_ptr<ackmq::PushConsumer>> consumers;
  for (int g = 0; g < groups; ++g) {
    auto c = std::make_unique<ackmq::PushConsumer>(broker, "bench-fanout-" + std::to_string(g));
    c->subscribe("Bench", "*");
    c->setConsumeThreadMin(1);
    c->setConsumeThreadMax(1);
    c->setConsumeFromWhere(ackmq::ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET);  // the stored messages
    c->registerMessageListener(ackmq::MessageListenerConcurrently{
        [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
          for (const auto& m : msgs) {
            if (m.getBody().size() != kBodyBytes) badBodies.fetch_add(1, std::memory_order_relaxed);
          }
          delivered.arrive(msgs.size());
          return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
        }});
    consumers.push_back(std::move(c));
  }

  const auto t0 = Steady::now();
  for (auto& c : consumers)
    c->start();
  if (!delivered.wait(kRunTimeout)) {
    fail("fanout timed out: " + std::to_string(delivered.count()) + " of " + std::to_string(total) +
         " delivered");
  }
  bool idle = true;
  for (auto& c : consumers)
    idle = ackmq::testing::awaitIdle(*c, kRunTimeout) && idle;
  const auto t1 = Steady::now();

  check(idle, "a fanout consumer did not become idle");
  checkCount(delivered.count(), total, "deliveries over all groups");
  checkCount(badBodies.load(), 0, "bodies of the wrong size");
  for (int g = 0; g < groups; ++g) {
    const std::string group = "bench-fanout-" + std::to_string(g);
    const ackmq::ConsumerStats s = ackmq::testing::consumerStats(*consumers[static_cast<std::size_t>(g)]);
    checkCount(s.delivered, n, group + " consumerStats.delivered");
    checkCount(s.succeeded, n, group + " consumerStats.succeeded");
    std::int64_t committed = 0;
    for (const auto& [mq, offset] : ackmq::testing::committedOffsets(broker, group)) {
      if (mq.getTopic() == "Bench") committed += offset;
    }
    checkCount(static_cast<std::uint64_t>(committed), n, group + " committed offsets summed over the queues");
  }
  for (auto& c : consumers)
    c->shutdown();
  producer.shutdown();
  return nanosBetween(t0, t1) / static_cast<double>(total);
}

}  // namespace

void runFanout(const Options& opt) {
  const std::size_t n = scaled(1'000'000, opt);
  heading("fanout", "the same " + std::to_string(n) + " stored messages consumed by 1 group vs by 4 groups");
  std::printf(
      "  each group: one PushConsumer, 1 listener thread, CONSUME_FROM_FIRST_OFFSET; messages stored before "
      "the clock; timed from consumer start to all groups idle\n");
  std::printf(
      "  cost per delivery = elapsed / (messages x groups); interleaved 1, 4, 1, 4 ...; lower is better\n");

  const std::vector<Contender> contenders = {
      {"1_group",
       [n](int) {
         return Sample{{"ns_per_delivery", nanosPerDelivery(n, 1)}};
       }},
      {"4_groups",
       [n](int) {
         return Sample{{"ns_per_delivery", nanosPerDelivery(n, 4)}};
       }},
  };
  const Results r = runInterleaved(opt, contenders);
  printSummary(r, {"1_group", "4_groups"}, "ns_per_delivery", "ns per delivery");
  const double ratio = printRatios("4_groups/1_group",
                                   perRepRatios(r, "4_groups", "1_group", "ns_per_delivery"), kLowerIsBetter);
  ResultLine("fanout", "ns_per_delivery")
      .value("groups1", r.med("1_group", "ns_per_delivery"))
      .value("groups4", r.med("4_groups", "ns_per_delivery"))
      .ratio("ratio_4_1", ratio)
      .print();
}

}  // namespace bench
