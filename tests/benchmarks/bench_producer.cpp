// Scenario producer: sends per second with no consumer, one thread.

#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "harness.hpp"
#include "peers.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

double ackmqSends(std::size_t n) {
  // maxStoreBytes must hold every message: nothing consumes them, and a full store refuses sends.
  // 2M records of ~190 bytes fit the default 1 GiB; make the bound explicit and scale it with n.
  ackmq::BrokerConfig config;
  config.maxStoreBytes = std::max<std::size_t>(config.maxStoreBytes, n * 512);
  ackmq::Broker broker(config);
  broker.createTopic("Bench", 4);
  ackmq::Producer producer(broker, "bench-producer");
  producer.start();

  std::uint64_t notOk = 0;
  const auto t0 = Steady::now();
  for (std::size_t i = 0; i < n; ++i) {
    const ackmq::SendResult r = producer.send(ackmq::Message("Bench", "", makeBody()));
    if (r.getSendStatus() != ackmq::SendStatus::SEND_OK) ++notOk;
  }
  const auto t1 = Steady::now();

  checkCount(notOk, 0, "ackmq sends not SEND_OK");
  std::int64_t stored = 0;
  for (const auto& mq : broker.fetchSubscribeMessageQueues("Bench"))
    stored += broker.maxOffset(mq) - broker.minOffset(mq);
  checkCount(static_cast<std::uint64_t>(stored), n, "ackmq messages retained in topic Bench");
  checkCount(ackmq::testing::storeStats(broker).storedMessages, n, "ackmq storeStats.storedMessages");
  producer.shutdown();
  return static_cast<double>(n) / secondsBetween(t0, t1);
}

#ifdef ACKMQ_BENCH_HAVE_MOODYCAMEL
double moodycamelEnqueues(std::size_t n) {
  moodycamel::ConcurrentQueue<std::string> q;
  std::uint64_t notQueued = 0;
  const auto t0 = Steady::now();
  for (std::size_t i = 0; i < n; ++i) {
    std::string body = makeBody();
    if (!q.enqueue(std::move(body))) ++notQueued;
  }
  const auto t1 = Steady::now();
  checkCount(notQueued, 0, "moodycamel enqueues that failed");
  checkCount(q.size_approx(), n, "moodycamel queue size");
  return static_cast<double>(n) / secondsBetween(t0, t1);
}
#endif

}  // namespace

void runProducer(const Options& opt) {
  const std::size_t n = scaled(2'000'000, opt);
  heading("producer", "producer only, no consumer: " + std::to_string(n) + " sends of 100 bytes, one thread");
  std::printf(
      "  ackmq: Producer::send (sync, SEND_OK checked) to topic Bench (4 queues); moodycamel: "
      "ConcurrentQueue<std::string>::enqueue(std::move(body)). Teardown untimed.\n");
  if (!kHaveMoodycamel) notice(kNoMoodycamel);

  std::vector<Contender> contenders = {{"ackmq", [n](int) {
                                          return Sample{{"sends_per_s", ackmqSends(n)}};
                                        }}};
#ifdef ACKMQ_BENCH_HAVE_MOODYCAMEL
  contenders.push_back({"moodycamel", [n](int) { return Sample{{"sends_per_s", moodycamelEnqueues(n)}}; }});
#endif
  const Results r = runInterleaved(opt, contenders);

  std::vector<std::string> systems;
  for (const auto& c : contenders)
    systems.push_back(c.name);
  printSummary(r, systems, "sends_per_s", "sends/s");
  ResultLine result("producer", "sends_per_s");
  for (const auto& s : systems)
    result.value(s, r.med(s, "sends_per_s"));
  if (r.has("moodycamel")) {
    result.ratio("ratio_moodycamel",
                 printRatios("ackmq/moodycamel", perRepRatios(r, "ackmq", "moodycamel", "sends_per_s"),
                             kHigherIsBetter));
  }
  result.print();
}

}  // namespace bench
