// ManualClock and SystemClock.
#include <ackmq/clock.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/detail/broker/timer_service.hpp>

#include <chrono>
#include <latch>
#include <span>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct Recorder final : ackmq::detail::TimerTarget {
  ackmq::ManualClock* clock = nullptr;
  std::vector<std::pair<std::uint64_t, std::int64_t>> fired;  // (arg, time it fired)
  void onTimer(std::uint64_t arg) noexcept override { fired.emplace_back(arg, clock->nowMillis()); }
};

// Records how its timers arrive: one at a time (a run of 1) or in runs through onTimers.
struct RunRecorder final : ackmq::detail::TimerTarget {
  std::vector<std::uint64_t> args;
  std::vector<std::size_t> runs;
  void onTimer(std::uint64_t arg) noexcept override {
    args.push_back(arg);
    runs.push_back(1);
  }
  void onTimers(std::span<const std::uint64_t> batch) noexcept override {
    args.insert(args.end(), batch.begin(), batch.end());
    runs.push_back(batch.size());
  }
};

}  // namespace

TEST_SUITE("clock") {
  TEST_CASE("a manual clock starts at the given time and moves only when told" * doctest::timeout(10)) {
    ackmq::ManualClock clock(1000);
    CHECK(clock.nowMillis() == 1000);
    CHECK(clock.steadyMillis() == 1000);
    clock.advance(250ms);
    CHECK(clock.nowMillis() == 1250);
    clock.setMillis(5000);
    CHECK(clock.nowMillis() == 5000);
  }

  TEST_CASE("a manual clock never goes backwards" * doctest::timeout(10)) {
    ackmq::ManualClock clock(1000);
    CHECK_THROWS_AS(clock.setMillis(999), std::invalid_argument);
    CHECK_THROWS_AS(clock.advance(-1ms), std::invalid_argument);
    CHECK(clock.nowMillis() == 1000);
  }

  TEST_CASE("advance fires every due timer in deadline order before it returns" * doctest::timeout(10)) {
    ackmq::ManualClock clock(0);
    ackmq::detail::TimerService<ackmq::ManualClock> timers(clock);
    Recorder rec;
    rec.clock = &clock;
    auto h = timers.registerTarget(rec);
    timers.scheduleAt(300, h, 3);
    timers.scheduleAt(100, h, 1);
    timers.scheduleAt(200, h, 2);
    timers.scheduleAt(5000, h, 4);
    clock.advance(299ms);
    REQUIRE(rec.fired.size() == 2);
    CHECK(rec.fired[0] == std::make_pair(std::uint64_t{1}, std::int64_t{100}));
    CHECK(rec.fired[1] == std::make_pair(std::uint64_t{2}, std::int64_t{200}));
    clock.advance(1ms);
    REQUIRE(rec.fired.size() == 3);
    CHECK(rec.fired[2].second == 300);
    clock.setMillis(10'000);
    REQUIRE(rec.fired.size() == 4);
    CHECK(rec.fired[3] == std::make_pair(std::uint64_t{4}, std::int64_t{5000}));
    CHECK(clock.nowMillis() == 10'000);
    timers.unregisterTarget(h);
  }

  TEST_CASE("a batched target gets timers due together in runs of at most 256, others one by one" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock(0);
    ackmq::detail::TimerService<ackmq::ManualClock> timers(clock);
    RunRecorder batched;
    RunRecorder single;
    auto hb = timers.registerTarget(batched, /*batched=*/true);
    auto hs = timers.registerTarget(single);
    for (std::uint64_t i = 0; i < 600; ++i)
      timers.scheduleAt(100, hb, i);
    timers.scheduleAt(100, hs, 1000);
    timers.scheduleAt(100, hs, 1001);
    timers.scheduleAt(200, hb, 600);
    clock.advance(150ms);
    CHECK(batched.runs == std::vector<std::size_t>{256, 256, 88});
    CHECK(single.runs == std::vector<std::size_t>{1, 1});
    clock.advance(50ms);
    CHECK(batched.runs == std::vector<std::size_t>{256, 256, 88, 1});
    std::vector<std::uint64_t> expected(601);
    for (std::uint64_t i = 0; i < 601; ++i)
      expected[i] = i;
    CHECK(batched.args == expected);
    CHECK(single.args == std::vector<std::uint64_t>{1000, 1001});
    timers.unregisterTarget(hb);
    timers.unregisterTarget(hs);
  }

  TEST_CASE("a timer due at t does not fire at t - 1 ms and fires at t" * doctest::timeout(10)) {
    ackmq::ManualClock clock(0);
    ackmq::detail::TimerService<ackmq::ManualClock> timers(clock);
    Recorder rec;
    rec.clock = &clock;
    auto h = timers.registerTarget(rec);
    timers.scheduleAfter(10'000, h, 7);
    clock.advance(9'999ms);
    CHECK(rec.fired.empty());
    clock.advance(1ms);
    CHECK(rec.fired.size() == 1);
    timers.unregisterTarget(h);
  }

  TEST_CASE("timers of two brokers on one clock fire in global deadline order" * doctest::timeout(10)) {
    ackmq::ManualClock clock(0);
    ackmq::detail::TimerService<ackmq::ManualClock> a(clock);
    ackmq::detail::TimerService<ackmq::ManualClock> b(clock);
    std::vector<std::uint64_t> order;
    struct Push final : ackmq::detail::TimerTarget {
      std::vector<std::uint64_t>* out;
      void onTimer(std::uint64_t arg) noexcept override { out->push_back(arg); }
    } pa, pb;
    pa.out = &order;
    pb.out = &order;
    auto ha = a.registerTarget(pa);
    auto hb = b.registerTarget(pb);
    a.scheduleAt(30, ha, 3);
    b.scheduleAt(10, hb, 1);
    a.scheduleAt(20, ha, 2);
    b.scheduleAt(40, hb, 4);
    clock.advance(100ms);
    CHECK(order == std::vector<std::uint64_t>{1, 2, 3, 4});
    a.unregisterTarget(ha);
    b.unregisterTarget(hb);
  }

  TEST_CASE("a timer scheduled from a firing timer fires in the same advance when due" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock(0);
    ackmq::detail::TimerService<ackmq::ManualClock> timers(clock);
    struct Chain final : ackmq::detail::TimerTarget {
      ackmq::detail::TimerService<ackmq::ManualClock>* timers;
      ackmq::detail::TargetHandle self;
      std::vector<std::int64_t> at;
      ackmq::ManualClock* clock;
      void onTimer(std::uint64_t n) noexcept override {
        at.push_back(clock->nowMillis());
        if (n > 0) timers->scheduleAfter(10, self, n - 1);
      }
    } chain;
    chain.timers = &timers;
    chain.clock = &clock;
    chain.self = timers.registerTarget(chain);
    timers.scheduleAfter(10, chain.self, 3);
    clock.advance(35ms);
    CHECK(chain.at == std::vector<std::int64_t>{10, 20, 30});
    clock.advance(5ms);
    CHECK(chain.at == std::vector<std::int64_t>{10, 20, 30, 40});
    timers.unregisterTarget(chain.self);
  }

  TEST_CASE("an unregistered target is never called back" * doctest::timeout(10)) {
    ackmq::ManualClock clock(0);
    ackmq::detail::TimerService<ackmq::ManualClock> timers(clock);
    Recorder rec;
    rec.clock = &clock;
    auto h = timers.registerTarget(rec);
    timers.scheduleAfter(5, h, 1);
    timers.unregisterTarget(h);
    clock.advance(10ms);
    CHECK(rec.fired.empty());
  }

  TEST_CASE("the system clock's timer thread fires a due timer" * doctest::timeout(30)) {
    ackmq::SystemClock clock;
    ackmq::detail::TimerService<ackmq::SystemClock> timers(clock);
    std::latch done(2);
    struct Down final : ackmq::detail::TimerTarget {
      std::latch* l;
      void onTimer(std::uint64_t) noexcept override { l->count_down(); }
    } down;
    down.l = &done;
    auto h = timers.registerTarget(down);
    timers.scheduleAfter(20, h, 0);
    timers.scheduleAfter(0, h, 0);
    done.wait();  // returns only once both fired
    timers.unregisterTarget(h);
    CHECK(timers.pending() == 0);
  }

  TEST_CASE("system clock timestamps are wall-clock milliseconds" * doctest::timeout(10)) {
    const auto now = ackmq::SystemClock::nowMillis();
    CHECK(now > 1'600'000'000'000);  // after 2020
    CHECK(ackmq::SystemClock::steadyMillis() <= ackmq::SystemClock::steadyMillis());
  }
}
