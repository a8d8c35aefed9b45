// Scenario timer_wheel: ackmq's hierarchical timing wheel vs a binary heap (std::priority_queue), scheduling
// and firing the same random timers in deadline order.

#include <ackmq/detail/store/timer_wheel.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

constexpr std::int64_t kStartMillis = 1'700'000'000'000;  // a realistic epoch, as ManualClock uses
constexpr std::int64_t kMaxDelayMillis = std::chrono::milliseconds(std::chrono::hours(2)).count();

struct Timers {
  std::vector<std::int64_t> deadlines;  // timer i fires at deadlines[i]; its payload is i
  std::int64_t last = kStartMillis;     // the latest deadline
  std::uint64_t deadlineSum = 0;        // for the self-check
};

// Delays uniform in [1 ms, 2 h], from a fixed seed per repetition: both contenders get the same timers.
Timers makeTimers(std::size_t n, int rep) {
  std::mt19937_64 rng(0xACC0 + static_cast<std::uint64_t>(rep));
  std::uniform_int_distribution<std::int64_t> delay(1, kMaxDelayMillis);
  Timers t;
  t.deadlines.resize(n);
  for (auto& d : t.deadlines) {
    d = kStartMillis + delay(rng);
    t.last = std::max(t.last, d);
    t.deadlineSum += static_cast<std::uint64_t>(d);
  }
  return t;
}

// What both contenders do with each expired timer: sum its id into the sink, and check deadline order.
struct Expiry {
  std::uint64_t count = 0;
  std::uint64_t idSum = 0;
  std::uint64_t deadlineSum = 0;
  std::uint64_t outOfOrder = 0;
  std::int64_t previous = std::numeric_limits<std::int64_t>::min();
  void operator()(std::uint64_t id, std::int64_t deadline) noexcept {
    ++count;
    idSum += id;
    deadlineSum += static_cast<std::uint64_t>(deadline);
    if (deadline < previous) ++outOfOrder;
    previous = deadline;
  }
};

void verify(const Expiry& e, const Timers& t, const char* who) {
  const std::uint64_t n = t.deadlines.size();
  const std::string name = who;
  checkCount(e.count, n, name + " timers fired");
  checkCount(e.outOfOrder, 0, name + " timers fired out of deadline order");
  checkCount(e.idSum, n * (n - 1) / 2, name + " sum of fired ids");
  checkCount(e.deadlineSum, t.deadlineSum, name + " sum of fired deadlines");
}

// Timed: construction, every schedule, and one advanceTo that fires everything.
double wheelNanosPerTimer(const Timers& t) {
  Expiry e;
  const auto t0 = Steady::now();
  {
    ackmq::detail::TimerWheel<std::uint64_t> wheel(kStartMillis);
    for (std::size_t i = 0; i < t.deadlines.size(); ++i)
      wheel.schedule(t.deadlines[i], i);
    wheel.advanceTo(t.last, [&e](std::uint64_t id, std::int64_t deadline) { e(id, deadline); });
    check(wheel.empty(), "TimerWheel not empty after advancing past the last deadline");
  }
  const auto t1 = Steady::now();
  g_sink = e.idSum;
  verify(e, t, "TimerWheel");
  return nanosBetween(t0, t1) / static_cast<double>(t.deadlines.size());
}

// Timed: construction, every push, and popping everything in order.
double heapNanosPerTimer(const Timers& t) {
  using Item = std::pair<std::int64_t, std::uint64_t>;  // (deadline, id): a min-heap on the deadline
  Expiry e;
  const auto t0 = Steady::now();
  {
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
    for (std::size_t i = 0; i < t.deadlines.size(); ++i)
      heap.emplace(t.deadlines[i], i);
    while (!heap.empty()) {
      const Item top = heap.top();
      heap.pop();
      e(top.second, top.first);
    }
  }
  const auto t1 = Steady::now();
  g_sink = e.idSum;
  verify(e, t, "priority_queue");
  return nanosBetween(t0, t1) / static_cast<double>(t.deadlines.size());
}

}  // namespace

void runTimerWheel(const Options& opt) {
  const std::size_t n = scaled(1'000'000, opt);
  heading("timer_wheel", "schedule and fire " + std::to_string(n) +
                             " timers, random delays uniform in [1 ms, 2 h] (seeded, the same for both)");
  std::printf(
      "  ackmq: detail::TimerWheel<uint64_t>, schedule all, one advanceTo(last deadline); peer: "
      "std::priority_queue<(deadline, id)> min-heap, push all, pop all\n");
  std::printf(
      "  timed: construction, scheduling, firing in order, the callback (sums ids); lower is better\n"
      "  both run pinned to the same CPU in each repetition, the CPUs taken in turn\n");

  // The timers are generated outside the clock from a seed per repetition, so both contenders of a
  // repetition get the same ones (interleaved: wheel, heap, wheel, heap ...).
  const std::vector<Contender> contenders = {
      {"ackmq",
       [n](int rep) {
         const Timers timers = makeTimers(n, rep);
         return Sample{{"ns_per_timer", wheelNanosPerTimer(timers)}};
       },
       /*warmUp=*/true, /*singleThreaded=*/true},
      {"priority_queue",
       [n](int rep) {
         const Timers timers = makeTimers(n, rep);
         return Sample{{"ns_per_timer", heapNanosPerTimer(timers)}};
       },
       /*warmUp=*/true, /*singleThreaded=*/true},
  };
  const Results r = runInterleaved(opt, contenders);
  printSummary(r, {"ackmq", "priority_queue"}, "ns_per_timer", "ns per timer");
  const double ratio = printRatios(
      "ackmq/priority_queue", perRepRatios(r, "ackmq", "priority_queue", "ns_per_timer"), kLowerIsBetter);
  ResultLine("timer_wheel", "ns_per_timer")
      .value("ackmq", r.med("ackmq", "ns_per_timer"))
      .value("priority_queue", r.med("priority_queue", "ns_per_timer"))
      .ratio("ratio_priority_queue", ratio)
      .print();
}

}  // namespace bench
