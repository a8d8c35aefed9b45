#pragma once
// The scenarios of ackmq_bench, one function each (one source file each; e2e and orderly share one).

#include <ackmq/broker_config.hpp>
#include <ackmq/push_consumer.hpp>

#include <cstddef>
#include <string>

#include "harness.hpp"

namespace bench {

void runE2E(const Options& opt);
void runProducer(const Options& opt);
void runLatency(const Options& opt);
void runRequestReply(const Options& opt);
void runRetry(const Options& opt);
void runTimerWheel(const Options& opt);
void runMemory(const Options& opt);
void runMemoryPassed(const Options& opt);
void runFanout(const Options& opt);
void runOrderly(const Options& opt);
void runDefaults(const Options& opt);
void runBackpressure(const Options& opt);
void runSqlFilter(const Options& opt);
void runTransaction(const Options& opt);
void runDurableLog(const Options& opt);
void runDurableBroker(const Options& opt);

/// A consumer's counters, for failure messages.
inline std::string describe(const ackmq::ConsumerStats& s) {
  return "delivered=" + std::to_string(s.delivered) + " succeeded=" + std::to_string(s.succeeded) +
         " failed=" + std::to_string(s.failed) + " retried=" + std::to_string(s.retried) +
         " deadLettered=" + std::to_string(s.deadLettered) +
         " reconsumedLocally=" + std::to_string(s.reconsumedLocally) +
         " dropped=" + std::to_string(s.dropped) + " expired=" + std::to_string(s.expired) +
         " inFlight=" + std::to_string(s.inFlight) + " lag=" + std::to_string(s.lag) +
         " queues=" + std::to_string(s.queues);
}

/// One end-to-end ackmq run: a producer thread (the caller) sync-sends `messages` 100-byte messages to topic
/// "Bench" (created with `queues` queues), one push consumer with `threads` listener threads acknowledges
/// each. Timed from the first send until the consumer is idle (every acknowledgement committed). Returns
/// messages per second. Shared by e2e (concurrent, 4 queues, 1 thread), orderly (16 queues, 2 threads) and
/// sql_filter (properties on every message; a SQL92 subscription or none). `threads` 0 keeps the consumer's
/// defaults (consumeThreadMin/Max); `broker` is the broker's configuration.
struct AckmqThroughputRun {
  std::size_t messages = 0;
  int queues = 4;
  int threads = 1;
  bool orderly = false;
  std::size_t bodyBytes = kBodyBytes;
  ackmq::BrokerConfig broker{};
  /// Message i carries region = "eu" (even i) or "us" (odd i), amount = "150" or "250", kind = "live".
  bool properties = false;
  /// Non-empty: subscribe with this SQL92 expression, which must match exactly the even messages; the
  /// result is then per delivered message.
  std::string sql{};
  /// Store every message first, untimed, then time only the consumer draining them (one pass only).
  bool stored = false;
};
double ackmqThroughput(const AckmqThroughputRun& run);
/// Scenario e2e's ackmq case on a bus that has been running: the same broker, producer and consumer carry
/// unmeasured passes of `messages` until the store has reclaimed a segment (consumed history past
/// maxConsumedHistoryBytes) and reuses reclaimed segments' memory, then one measured pass. Returns messages
/// per second.
double ackmqSteadyThroughput(std::size_t messages);
#ifdef ACKMQ_BENCH_HAVE_ZMQ
/// ZeroMQ inproc PUSH/PULL (HWM 0), the caller sending `n` bodies of `bodyBytes` to one receiving thread.
double zmqThroughput(std::size_t n, std::size_t bodyBytes);
#endif
#ifdef ACKMQ_BENCH_HAVE_MOODYCAMEL
/// moodycamel BlockingConcurrentQueue<std::string>: the caller enqueues `n` bodies, one thread dequeues.
double moodycamelThroughput(std::size_t n, std::size_t bodyBytes);
#endif

/// The memory scenario measures each system in a fresh child process (the same binary, re-executed with
/// --memory-child); this is the child's side. Returns the process exit code.
int memoryChild(const char* system, const char* count, const char* fd);

}  // namespace bench
