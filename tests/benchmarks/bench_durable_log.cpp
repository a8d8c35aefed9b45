// Scenario durable_log: the durable store's file layer on this machine's disk, against the baseline of a
// raw loop that appends one record and calls fdatasync. The layer alone (SegmentLog with its group commit),
// before any broker uses it: what a SYNC_FLUSH send can cost, with one producer and with four, and what an
// ASYNC_FLUSH append costs.

#include <ackmq/broker.hpp>
#include <ackmq/detail/durable/file_system.hpp>
#include <ackmq/detail/durable/group_commit.hpp>
#include <ackmq/detail/durable/segment_log.hpp>
#include <ackmq/producer.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

constexpr std::uint64_t kSegmentBytes = 64ull << 20;
const std::vector<std::byte> kPayload(kBodyBytes, std::byte{'x'});

// A fresh directory on the disk the benchmark runs from (not /tmp, which may be a tmpfs).
std::string freshDir() {
  std::string pattern = (std::filesystem::current_path() / "ackmq-bench-durable-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) fail("cannot create a directory under the working directory");
  return pattern;
}

// The baseline: pwrite one record's bytes after the last, fdatasync, n times.
double fdatasyncLoop(std::size_t n) {
  const std::string dir = freshDir();
  const int fd = ::open((dir + "/log").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create the baseline's file");
  const std::size_t record = ackmq::detail::SegmentLog::recordBytes(kPayload.size());
  std::vector<std::byte> bytes(record, std::byte{'x'});
  const auto t0 = Steady::now();
  for (std::size_t i = 0; i < n; ++i) {
    if (::pwrite(fd, bytes.data(), record, static_cast<off_t>(i * record)) != static_cast<ssize_t>(record) ||
        ::fdatasync(fd) != 0) {
      fail("the baseline's write or fdatasync failed");
    }
  }
  const auto t1 = Steady::now();
  ::close(fd);
  std::filesystem::remove_all(dir);
  return static_cast<double>(n) / secondsBetween(t0, t1);
}

// SYNC_FLUSH through the layer: `threads` producers, each appending a record under the append lock and
// waiting for a flush that covers it, n records in all.
double syncAppends(std::size_t n, int threads) {
  const std::string dir = freshDir();
  ackmq::detail::PosixFileSystem fs;
  ackmq::detail::SegmentLog log(fs, dir, kSegmentBytes);
  log.open();
  std::mutex appendMutex;
  ackmq::detail::GroupCommitter commit(log, appendMutex);
  const std::size_t each = n / static_cast<std::size_t>(threads);
  const auto t0 = Steady::now();
  std::vector<std::thread> producers;
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([&] {
      for (std::size_t i = 0; i < each; ++i) {
        std::int64_t end = 0;
        {
          std::lock_guard lock(appendMutex);
          log.append(kPayload);
          end = log.writtenEnd();
        }
        if (commit.awaitDurable(end, [] { return false; }) != ackmq::detail::GroupCommitter::Outcome::DURABLE)
          fail("a wait without a deadline timed out");
      }
    });
  }
  for (auto& p : producers)
    p.join();
  const auto t1 = Steady::now();
  checkCount(
      static_cast<std::uint64_t>(log.flushedEnd()),
      each * static_cast<std::size_t>(threads) * ackmq::detail::SegmentLog::recordBytes(kPayload.size()),
      "bytes made durable");
  std::filesystem::remove_all(dir);
  return static_cast<double>(each * static_cast<std::size_t>(threads)) / secondsBetween(t0, t1);
}

// ASYNC_FLUSH's write path: n appends, one flush at the end (the background flusher's work, once).
double asyncAppends(std::size_t n) {
  const std::string dir = freshDir();
  ackmq::detail::PosixFileSystem fs;
  ackmq::detail::SegmentLog log(fs, dir, kSegmentBytes);
  log.open();
  const auto t0 = Steady::now();
  for (std::size_t i = 0; i < n; ++i)
    log.append(kPayload);
  log.flush();
  const auto t1 = Steady::now();
  std::filesystem::remove_all(dir);
  return static_cast<double>(n) / secondsBetween(t0, t1);
}

// SYNC_FLUSH through the broker: `threads` threads sync-sending n messages in all through one producer.
double brokerSyncSends(std::size_t n, int threads) {
  const std::string dir = freshDir();
  std::size_t each = n / static_cast<std::size_t>(threads);
  double rate = 0;
  {
    ackmq::Broker broker({.storePathRootDir = dir,
                          .flushDiskType = ackmq::FlushDiskType::SYNC_FLUSH,
                          .mappedFileSizeCommitLog = kSegmentBytes});
    ackmq::Producer producer(broker, "bench");
    producer.start();
    const std::string body(kBodyBytes, 'x');
    const auto t0 = Steady::now();
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t) {
      senders.emplace_back([&] {
        for (std::size_t i = 0; i < each; ++i) {
          if (producer.send(ackmq::Message("Bench", "", body)).getSendStatus() != ackmq::SendStatus::SEND_OK)
            fail("a SYNC_FLUSH send was not SEND_OK");
        }
      });
    }
    for (auto& s : senders)
      s.join();
    rate = static_cast<double>(each * static_cast<std::size_t>(threads)) / secondsBetween(t0, Steady::now());
    producer.shutdown();
  }
  std::filesystem::remove_all(dir);
  return rate;
}

// ASYNC_FLUSH end to end (sync send -> listener -> ack), or the same on an in-memory broker (`dir` empty).
double brokerE2E(std::size_t n, bool durable) {
  const std::string dir = durable ? freshDir() : std::string();
  AckmqThroughputRun run;
  run.messages = n;
  run.broker.storePathRootDir = dir;
  run.broker.mappedFileSizeCommitLog = kSegmentBytes;
  const double rate = ackmqThroughput(run);
  if (durable) std::filesystem::remove_all(dir);
  return rate;
}

}  // namespace

void runDurableBroker(const Options& opt) {
  const std::size_t syncN = scaled(2'000, opt);
  const std::size_t e2eN = scaled(200'000, opt);
  heading("durable_broker", "a durable broker vs a raw append + fdatasync loop, and vs the in-memory broker");
  std::printf("  fdatasync_loop: pwrite one %zu-byte record, fdatasync, %zu times (the baseline)\n",
              kBodyBytes, syncN);
  std::printf("  sync_send_1 / sync_send_4: SYNC_FLUSH sync sends from 1 / 4 threads, %zu in all\n", syncN);
  std::printf(
      "  async_flush_e2e / memory_e2e: sync send -> listener -> ack, %zu messages, ASYNC_FLUSH / in memory\n",
      e2eN);
  const std::vector<Contender> contenders = {
      {"fdatasync_loop",
       [syncN](int) {
         return Sample{{"per_s", fdatasyncLoop(syncN)}};
       }},
      {"sync_send_1",
       [syncN](int) {
         return Sample{{"per_s", brokerSyncSends(syncN, 1)}};
       }},
      {"sync_send_4",
       [syncN](int) {
         return Sample{{"per_s", brokerSyncSends(syncN, 4)}};
       }},
      {"async_flush_e2e",
       [e2eN](int) {
         return Sample{{"per_s", brokerE2E(e2eN, true)}};
       }},
      {"memory_e2e",
       [e2eN](int) {
         return Sample{{"per_s", brokerE2E(e2eN, false)}};
       }},
  };
  const Results r = runInterleaved(opt, contenders);
  printSummary(r, {"fdatasync_loop", "sync_send_1", "sync_send_4", "async_flush_e2e", "memory_e2e"}, "per_s",
               "messages/s");
  const double one = printRatios("sync_send_1/fdatasync_loop",
                                 perRepRatios(r, "sync_send_1", "fdatasync_loop", "per_s"), kHigherIsBetter);
  const double four = printRatios("sync_send_4/fdatasync_loop",
                                  perRepRatios(r, "sync_send_4", "fdatasync_loop", "per_s"), kHigherIsBetter);
  const double e2e = printRatios("async_flush_e2e/memory_e2e",
                                 perRepRatios(r, "async_flush_e2e", "memory_e2e", "per_s"), kHigherIsBetter);
  ResultLine("durable_broker", "per_s")
      .value("fdatasync_loop", r.med("fdatasync_loop", "per_s"))
      .value("sync_send_1", r.med("sync_send_1", "per_s"))
      .value("sync_send_4", r.med("sync_send_4", "per_s"))
      .value("async_flush_e2e", r.med("async_flush_e2e", "per_s"))
      .value("memory_e2e", r.med("memory_e2e", "per_s"))
      .ratio("ratio_sync_send_1", one)
      .ratio("ratio_sync_send_4", four)
      .ratio("ratio_async_flush_e2e", e2e)
      .print();
}

void runDurableLog(const Options& opt) {
  const std::size_t syncN = scaled(2'000, opt);
  const std::size_t asyncN = scaled(200'000, opt);
  heading("durable_log", "the durable store's file layer vs a raw append + fdatasync loop, records of " +
                             std::to_string(kBodyBytes) + " bytes");
  std::printf("  fdatasync_loop: pwrite one record, fdatasync, %zu times (the baseline)\n", syncN);
  std::printf("  sync_1 / sync_4: SegmentLog append + group commit wait, 1 / 4 threads, %zu records\n",
              syncN);
  std::printf("  async: %zu SegmentLog appends, one flush at the end\n", asyncN);
  const std::vector<Contender> contenders = {
      {"fdatasync_loop",
       [syncN](int) {
         return Sample{{"records_per_s", fdatasyncLoop(syncN)}};
       }},
      {"sync_1",
       [syncN](int) {
         return Sample{{"records_per_s", syncAppends(syncN, 1)}};
       }},
      {"sync_4",
       [syncN](int) {
         return Sample{{"records_per_s", syncAppends(syncN, 4)}};
       }},
      {"async",
       [asyncN](int) {
         return Sample{{"records_per_s", asyncAppends(asyncN)}};
       }},
  };
  const Results r = runInterleaved(opt, contenders);
  printSummary(r, {"fdatasync_loop", "sync_1", "sync_4", "async"}, "records_per_s", "records/s");
  const double one = printRatios(
      "sync_1/fdatasync_loop", perRepRatios(r, "sync_1", "fdatasync_loop", "records_per_s"), kHigherIsBetter);
  const double four = printRatios(
      "sync_4/fdatasync_loop", perRepRatios(r, "sync_4", "fdatasync_loop", "records_per_s"), kHigherIsBetter);
  const double async = printRatios(
      "async/fdatasync_loop", perRepRatios(r, "async", "fdatasync_loop", "records_per_s"), kHigherIsBetter);
  ResultLine("durable_log", "records_per_s")
      .value("fdatasync_loop", r.med("fdatasync_loop", "records_per_s"))
      .value("sync_1", r.med("sync_1", "records_per_s"))
      .value("sync_4", r.med("sync_4", "records_per_s"))
      .value("async", r.med("async", "records_per_s"))
      .ratio("ratio_sync_1", one)
      .ratio("ratio_sync_4", four)
      .ratio("ratio_async", async)
      .print();
}

}  // namespace bench
