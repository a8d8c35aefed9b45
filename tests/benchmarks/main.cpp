// ackmq_bench: ackmq against in-process peers.
//
//   ackmq_bench [--scenario NAME]... [--reps N] [--scale F] [--list]
//
// Build: cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DACKMQ_BUILD_BENCHMARKS=ON
//        cmake --build build-bench -j2 && build-bench/tests/benchmarks/ackmq_bench
// The benchmark target is compiled with -O2 (its own flag, not a global one). The peers are optional: each is
// used when CMake found it (moodycamel's concurrentqueue, ZeroMQ with cppzmq) and skipped with a NOTICE
// otherwise.
//
// Method
// ------
// * Interleaved repetitions. A scenario runs its systems A B C A B C ..., --reps times each (default 5), so
//   that the drift of a shared, noisy machine (other tenants, frequency changes) affects all of them alike.
//   Each repetition of each system runs in a child process of its own (fork), so that none inherits a heap
//   another system grew and faulted in; in it, the repetition runs once unmeasured and then measured, so
//   that each system is timed in its own steady state rather than at a cold start (the memory scenario,
//   which measures a pristine process, skips the warm-up). Every repetition of every system does the same
//   work: the same message count, 100-byte bodies built per message by the sender (std::string(100, 'x')),
//   the same number of threads.
// * Per system: median, min and max of its metric. Ratios are formed per repetition (repetition i of ackmq
//   with repetition i of the peer, which ran next to it in time), and their median is reported. The ratio
//   is always ackmq/peer (or variant/baseline): for throughput higher is better, for costs, latencies and
//   memory lower is better; each ratio line says which.
// * Timing: std::chrono::steady_clock inside the process. Brokers, consumers, sockets and threads are set up
//   before the clock starts and torn down after it stops; each repetition uses a fresh broker. End-to-end
//   runs are timed from the first send until the last message is acknowledged: the listener's count reaches
//   N, then ackmq::testing::awaitIdle(consumer) waits until every acknowledgement is committed. Nothing in a
//   timed section sleeps; waiting is done with counters, condition variables and awaitIdle.
// * ackmq push consumers use one listener thread (setConsumeThreadMin/Max(1)), like the peers' one receiving
//   thread, unless a scenario says otherwise. Topics are created first (4 queues), then the consumer is
//   started, then the messages are sent.
// * Self-checks: every run verifies what it measured (counts delivered == sent, SEND_OK, committed offsets,
//   consumer statistics, dead-letter counts, deadline order, ...). A mismatch prints "FAILED scenario=..."
//   and exits with status 1 at once: a benchmark that measured the wrong thing is worse than none.
// * --scale F multiplies every message count (0.1 for a quick smoke run). Each scenario ends with exactly one
//   machine-readable line "RESULT scenario=... metric=... <system>=<median> ... ratio_<peer>=<median ratio>".
//
// Scenarios (default counts; the README states the targets)
// ---------------------------------------------------------
//   e2e          2,000,000 messages: one producer thread sync-sending, one consumer group (one consumer, one
//                listener thread, CONSUME_SUCCESS) vs ZeroMQ inproc PUSH/PULL (unbounded HWM) and moodycamel
//                BlockingConcurrentQueue<std::string> (enqueue(std::move) / wait_dequeue). msgs_per_s.
//                Also ackmq-steady: the same pass on a bus that has been running (one broker, producer
//                and consumer; unmeasured passes until the store has reclaimed consumed history and reuses
//                reclaimed memory).
//   producer     2,000,000 sync sends with no consumer vs moodycamel ConcurrentQueue<std::string>::enqueue,
//                one thread. sends_per_s.
//   latency      ping-pong, one message in flight: 20,000 round trips after 1,000 warm-up; ackmq (Ping topic,
//                group P answers on topic Pong, group Q wakes the sender) vs a moodycamel queue pair and
//                ZeroMQ inproc PAIR sockets, each with one echo thread. One-way = round trip / 2; p50, p99,
//                p99.9.
//   request_reply 20,000 producer.request() round trips after 1,000 warm-up (group P's listener replies with
//                createReplyMessage), interleaved with the latency scenario's two ackmq cases; round-trip
//                p50, p99, p99.9, and request p50 / ping-pong one-way p50.
//   retry        ManualClock: 100,000 messages consumed once (success) vs 100,000 that always fail and walk
//                the whole back-off ladder into %DLQ%<group> (17 deliveries each, 1.7M in all), interleaved.
//                cost_per_delivery_ns; 1 listener thread; messages stored before the clock.
//   timer_wheel  1,000,000 timers, seeded random delays uniform up to 2 h: ackmq::detail::TimerWheel
//   (schedule
//                all, one advanceTo) vs std::priority_queue min-heap (push all, pop all). ns_per_timer.
//   memory       resident bytes per retained message, 1,000,000 messages: ackmq broker with no consumer vs
//                std::deque<std::string>; each measured in a fresh child process. bytes_per_message.
//   memory_passed resident memory after 5,000,000 messages passed through a consumer: ackmq broker at the
//                defaults with one push consumer vs moodycamel BlockingConcurrentQueue<std::string> and
//                ZeroMQ inproc PUSH/PULL, one receiving thread each; fresh child process each. resident_mib.
//   fanout       the same 1,000,000 stored messages consumed by 1 group vs by 4 groups (one consumer and one
//                listener thread each). ns_per_delivery = elapsed / (messages x groups).
//   orderly      1,000,000 messages: MessageListenerOrderly (16 queues, round-robin send, 2 listener threads)
//                interleaved with scenario e2e's ackmq case at the same count. msgs_per_s, orderly/e2e.
//   defaults     300,000 messages per body size (16 B, 100 B, 1 KiB, 4 KiB): scenario e2e's pipeline with the
//                consumer at its defaults (no thread setting) vs setConsumeThreadMin/Max(1), ZeroMQ and
//                moodycamel with the same bodies. msgs_per_s, one RESULT line per size.
//   backpressure 300,000 messages into an 8 MiB store at the default StoreFullPolicy (WAIT), sent faster
//                than a one-thread consumer spending ~2 us a message takes them, vs that consumer reading the
//                same messages stored beforehand. Every send must succeed. msgs_per_s, at-bound/alone.
//   sql_filter   1,000,000 messages with three properties each: a SQL92 subscription of three clauses that
//                matches half of them, against the same messages with no filter and against scenario e2e's
//                ackmq case. delivered msgs_per_s, sql/nofilter and sql/e2e.
//   transaction  1,000,000 messages: sendMessageInTransaction committed at once (half, committed copy and op:
//                three store writes), one push consumer, 1 listener thread, interleaved with scenario e2e's
//                ackmq case at the same count. msgs_per_s, transaction/e2e.
//   durable_log  the durable store's file layer in a fresh directory under the working directory: 2,000
//                records appended and made durable by group commit from 1 and from 4 threads, and 200,000
//                appends with one flush at the end, vs a raw pwrite + fdatasync loop of 2,000 records.
//                records_per_s, each / the loop.
//   durable_broker  a SYNC_FLUSH broker's sync sends, 2,000 from 1 and from 4 threads, vs the same loop; and
//                200,000 messages end to end on an ASYNC_FLUSH broker vs the in-memory broker. per_s, ratios.

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "peers.hpp"
#include "scenarios.hpp"

namespace {

struct Scenario {
  std::string_view name;
  std::string_view summary;
  void (*run)(const bench::Options&);
};

constexpr Scenario kScenarios[] = {
    {"e2e", "end-to-end throughput vs zmq PUSH/PULL and moodycamel", bench::runE2E},
    {"producer", "sync sends per second, no consumer, vs moodycamel enqueue", bench::runProducer},
    {"latency", "ping-pong one-way latency p50/p99/p99.9 vs moodycamel and zmq PAIR", bench::runLatency},
    {"request_reply", "request-reply round trip p50/p99 beside the latency scenario's ackmq p50",
     bench::runRequestReply},
    {"retry", "cost per delivery: retry storm to the DLQ vs success path (ManualClock)", bench::runRetry},
    {"timer_wheel", "TimerWheel vs std::priority_queue, 1M random timers", bench::runTimerWheel},
    {"memory", "resident bytes per retained message vs std::deque<std::string>", bench::runMemory},
    {"memory_passed", "resident memory after 5M messages consumed, vs moodycamel and zmq",
     bench::runMemoryPassed},
    {"fanout", "cost per delivery, 4 consumer groups vs 1", bench::runFanout},
    {"orderly", "orderly vs concurrent end-to-end throughput", bench::runOrderly},
    {"defaults", "e2e at the consumer's defaults vs one thread, zmq, moodycamel; 16 B to 4 KiB bodies",
     bench::runDefaults},
    {"backpressure", "producer faster than its consumer, store at its bound: every send succeeds",
     bench::runBackpressure},
    {"sql_filter", "end-to-end per delivered message: SQL92 filter matching half vs no filter",
     bench::runSqlFilter},
    {"transaction", "transactional send, commit and delivery vs plain sync send end to end",
     bench::runTransaction},
    {"durable_log",
     "the durable store's file layer: SYNC_FLUSH appends, 1 and 4 threads, and ASYNC_FLUSH vs fdatasync",
     bench::runDurableLog},
    {"durable_broker",
     "a durable broker: SYNC_FLUSH sends, 1 and 4 threads, vs fdatasync; ASYNC_FLUSH e2e vs memory",
     bench::runDurableBroker},
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "ackmq_bench: %s\nusage: ackmq_bench [--scenario NAME]... [--reps N] [--scale F] [--list]\n",
               why);
  std::exit(2);
}

std::string cpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

void printMachineAndMethod(const bench::Options& opt, const std::vector<const Scenario*>& chosen) {
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", std::localtime(&now));
  utsname u{};
  uname(&u);
  std::printf("ackmq_bench\n");
  std::printf("date:     %s\n", date);
  std::printf("machine:  nproc %ld (hardware_concurrency %u), CPU %s\n", sysconf(_SC_NPROCESSORS_ONLN),
              std::thread::hardware_concurrency(), cpuModel().c_str());
  std::printf("system:   %s %s %s\n", u.sysname, u.release, u.machine);
  std::printf("compiler: %s, %s\n", __VERSION__,
#if defined(__OPTIMIZE__) && defined(NDEBUG)
              "optimised, NDEBUG"
#elif defined(__OPTIMIZE__)
              "optimised, assertions ON"
#else
              "NOT OPTIMISED (configure with -DCMAKE_BUILD_TYPE=Release): numbers are meaningless"
#endif
  );
  std::printf("peers:    moodycamel %s, zmq %s\n", bench::kHaveMoodycamel ? "yes" : "no (skipped)",
              bench::kHaveZmq ? "yes" : "no (skipped)");
  std::printf("settings: --reps %d --scale %g; scenarios:", opt.reps, opt.scale);
  for (const Scenario* s : chosen)
    std::printf(" %.*s", static_cast<int>(s->name.size()), s->name.data());
  std::printf("\n");
  std::printf(
      "method:   each scenario runs its systems interleaved (A B C A B C ...), %d repetitions each, with the "
      "same\n"
      "          message count, 100-byte bodies built per message by the sender, and the same thread count.\n"
      "          Per system: median, min, max. Ratios ackmq/peer are formed per repetition (rep i with rep "
      "i)\n"
      "          and their median reported: throughput ratios higher-is-better, cost/latency/memory ratios\n"
      "          lower-is-better. steady_clock, from the first send to the last acknowledgement (ackmq:\n"
      "          awaitIdle, so offsets are committed); set-up and teardown untimed; fresh broker per run.\n"
      "          Every run self-checks its counts and exits non-zero on a mismatch.\n",
      opt.reps);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  // The memory scenario re-executes this binary to measure one system in a pristine process.
  if (argc == 5 && std::strcmp(argv[1], "--memory-child") == 0)
    return bench::memoryChild(argv[2], argv[3], argv[4]);

  bench::Options opt;
  std::vector<const Scenario*> chosen;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value after " + std::string(arg)).c_str());
      return argv[++i];
    };
    if (arg == "--list") {
      for (const Scenario& s : kScenarios)
        std::printf("%-12.*s %.*s\n", static_cast<int>(s.name.size()), s.name.data(),
                    static_cast<int>(s.summary.size()), s.summary.data());
      return 0;
    } else if (arg == "--scenario") {
      const std::string_view name = value();
      const Scenario* found = nullptr;
      for (const Scenario& s : kScenarios) {
        if (s.name == name) found = &s;
      }
      if (found == nullptr) usage(("unknown scenario \"" + std::string(name) + "\" (see --list)").c_str());
      chosen.push_back(found);
    } else if (arg == "--reps") {
      char* end = nullptr;
      const long reps = std::strtol(value(), &end, 10);
      if (*end != '\0' || reps < 1 || reps > 1000) usage("--reps takes an integer in 1..1000");
      opt.reps = static_cast<int>(reps);
    } else if (arg == "--scale") {
      char* end = nullptr;
      opt.scale = std::strtod(value(), &end);
      if (*end != '\0' || !(opt.scale > 0) || opt.scale > 100) usage("--scale takes a number in (0, 100]");
    } else if (arg == "--help" || arg == "-h") {
      usage("help");
    } else {
      usage(("unknown argument \"" + std::string(arg) + "\"").c_str());
    }
  }
  if (chosen.empty()) {
    for (const Scenario& s : kScenarios)
      chosen.push_back(&s);
  }

  printMachineAndMethod(opt, chosen);
  // Each scenario's output ends with its RESULT line; the wall time of each is reported at the end.
  const auto start = bench::Steady::now();
  std::string runtimes;
  for (const Scenario* s : chosen) {
    const auto t0 = bench::Steady::now();
    s->run(opt);
    char took[96];
    std::snprintf(took, sizeof took, "%s%.*s %.1f s", runtimes.empty() ? "" : ", ",
                  static_cast<int>(s->name.size()), s->name.data(),
                  bench::secondsBetween(t0, bench::Steady::now()));
    runtimes += took;
  }
  std::printf("\nruntime: %s\ntotal runtime: %.1f s\n", runtimes.c_str(),
              bench::secondsBetween(start, bench::Steady::now()));
  return 0;
}
