// ackmq_memory_soak: resident memory of a steady bus at the default BrokerConfig, run by hand (minutes, too
// slow for the unit suite). One producer sends N 100-byte messages (default 5M) to one push consumer that
// consumes every one; the program prints resident memory as it goes and at the end, then starts a second
// group from the first offset and counts what it can still replay.
//
//   ackmq_memory_soak [messages]
//
// Exits non-zero when resident memory at the end passes 128 MiB, or fewer than 100k messages replay.

#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <unistd.h>

namespace {

constexpr std::uint64_t kMaxResident = std::uint64_t{128} << 20;
constexpr std::int64_t kMinReplay = 100'000;

double residentMiB() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  unsigned long long size = 0;
  unsigned long long resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (got != 2) return -1;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

void report(const char* when, const ackmq::Broker& broker, std::uint64_t sent, std::uint64_t consumed) {
  const auto s = ackmq::testing::storeStats(broker);
  std::printf(
      "%-10s sent %9llu consumed %9llu lag %7lld  RSS %7.1f MiB  store %6.1f MiB: history %6.1f, "
      "backlog %6.1f, %zu resident segments, %llu reclaimed\n",
      when, static_cast<unsigned long long>(sent), static_cast<unsigned long long>(consumed),
      static_cast<long long>(sent) - static_cast<long long>(consumed), residentMiB(),
      static_cast<double>(s.allocatedBytes) / 1048576.0,
      static_cast<double>(s.retainedConsumedBytes) / 1048576.0,
      static_cast<double>(s.backlogBytes) / 1048576.0, s.residentSegments,
      static_cast<unsigned long long>(s.reclaimedSegments));
  std::fflush(stdout);
}

// Waits until `count` reaches `target`, or `timeout` passes; true when it did.
bool waitFor(const std::atomic<std::uint64_t>& count, std::uint64_t target, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (count.load(std::memory_order_acquire) < target) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 5'000'000;
  const ackmq::BrokerConfig defaults;
  std::printf(
      "ackmq_memory_soak: %llu messages of 100 bytes, default BrokerConfig (maxStoreBytes %zu MiB, "
      "maxConsumedHistoryBytes %zu MiB, segments of %zu MiB)\n",
      static_cast<unsigned long long>(n), defaults.maxStoreBytes >> 20,
      defaults.maxConsumedHistoryBytes >> 20, defaults.commitLogSegmentBytes >> 20);
  std::printf("RSS: resident pages of /proc/self/statm x page size, the whole process\n");

  ackmq::Broker broker;
  broker.createTopic("Soak", 4);
  ackmq::Producer producer(broker, "soak-producer");
  producer.start();
  std::atomic<std::uint64_t> consumed{0};
  ackmq::PushConsumer consumer(broker, "soak");
  consumer.subscribe("Soak", "*");
  consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
        consumed.fetch_add(msgs.size(), std::memory_order_release);
        return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
      }});
  consumer.start();
  report("start", broker, 0, 0);

  const std::string body(100, 'm');
  std::uint64_t notOk = 0;
  for (std::uint64_t i = 1; i <= n; ++i) {
    if (producer.send(ackmq::Message("Soak", "", body)).getSendStatus() != ackmq::SendStatus::SEND_OK)
      ++notOk;
    if (i % 500'000 == 0) report("sending", broker, i, consumed.load(std::memory_order_acquire));
  }
  const bool all = waitFor(consumed, n, std::chrono::seconds(120));
  (void)ackmq::testing::awaitIdle(consumer, std::chrono::seconds(60));
  report("consumed", broker, n, consumed.load());
  const double endRss = residentMiB();
  // The periodic clean-up (cleanResourceInterval) trims what was consumed after the last segment opened.
  std::this_thread::sleep_for(defaults.cleanResourceInterval + std::chrono::seconds(1));
  report("clean-up", broker, n, consumed.load());
  const double cleanRss = residentMiB();

  // Replay: a new group from the first offset reads whatever history is left.
  std::int64_t retained = 0;
  for (int q = 0; q < 4; ++q) {
    const ackmq::MessageQueue mq("Soak", broker.getBrokerName(), q);
    retained += broker.maxOffset(mq) - broker.minOffset(mq);
  }
  std::atomic<std::uint64_t> replayed{0};
  ackmq::PushConsumer replay(broker, "soak-replay");
  replay.setConsumeFromWhere(ackmq::ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET);
  replay.subscribe("Soak", "*");
  replay.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
        replayed.fetch_add(msgs.size(), std::memory_order_release);
        return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
      }});
  replay.start();
  const bool replayedAll = waitFor(replayed, static_cast<std::uint64_t>(retained), std::chrono::seconds(60));
  std::printf("replay     %lld messages retained, %llu replayed from the first offset by a new group\n",
              static_cast<long long>(retained), static_cast<unsigned long long>(replayed.load()));

  std::printf(
      "result     RSS after consuming %.1f MiB, after clean-up %.1f MiB (limit %llu MiB); sends not "
      "SEND_OK %llu\n",
      endRss, cleanRss, static_cast<unsigned long long>(kMaxResident >> 20),
      static_cast<unsigned long long>(notOk));
  replay.shutdown();
  consumer.shutdown();
  producer.shutdown();
  const bool ok = all && replayedAll && notOk == 0 &&
                  endRss * 1048576.0 <= static_cast<double>(kMaxResident) &&
                  static_cast<std::int64_t>(replayed.load()) >= kMinReplay;
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
