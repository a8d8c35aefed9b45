// The hierarchical timer wheel, as a data structure.
#include <ackmq/detail/store/timer_wheel.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

using Wheel = ackmq::detail::TimerWheel<std::uint64_t>;

namespace {
struct Fired {
  std::uint64_t id;
  std::int64_t deadline;
  std::int64_t at;
};
}  // namespace

TEST_SUITE("timer_wheel") {
  TEST_CASE("timers at random delays up to 2 h fire exactly at their deadline, in deadline order" *
            doctest::timeout(60)) {
    std::mt19937_64 rng(42);
    Wheel wheel(1'000'000);
    std::vector<std::int64_t> deadlines;
    for (std::uint64_t i = 0; i < 20'000; ++i) {
      const auto d = 1'000'000 + static_cast<std::int64_t>(rng() % (2 * 3600 * 1000));
      deadlines.push_back(d);
      wheel.schedule(d, i);
    }
    CHECK(wheel.size() == 20'000);
    std::vector<Fired> fired;
    // Step through time the way a ManualClock does: event to event.
    while (!wheel.empty()) {
      const std::int64_t t = wheel.nextEventTime();
      wheel.advanceTo(t, [&](std::uint64_t id, std::int64_t deadline) {
        fired.push_back({id, deadline, t});
      });
    }
    REQUIRE(fired.size() == 20'000);
    for (std::size_t i = 0; i < fired.size(); ++i) {
      CHECK(fired[i].deadline == deadlines[fired[i].id]);
      CHECK(fired[i].at == fired[i].deadline);
      if (i > 0) CHECK(fired[i - 1].deadline <= fired[i].deadline);
    }
  }

  TEST_CASE("timers with equal deadlines fire in scheduling order, across cascades" * doctest::timeout(10)) {
    Wheel wheel(0);
    std::vector<std::uint64_t> order;
    wheel.schedule(100'000, 1);  // lands on a high level and cascades down
    wheel.advanceTo(99'990, [&](std::uint64_t id, std::int64_t) { order.push_back(id); });
    wheel.schedule(100'000, 2);  // lands on level 0 directly
    wheel.schedule(100'000, 3);
    wheel.advanceTo(100'000, [&](std::uint64_t id, std::int64_t) { order.push_back(id); });
    CHECK(order == std::vector<std::uint64_t>{1, 2, 3});
  }

  TEST_CASE("one advance over a long span fires everything due in order" * doctest::timeout(10)) {
    Wheel wheel(0);
    for (std::uint64_t i = 1; i <= 1000; ++i)
      wheel.schedule(static_cast<std::int64_t>((1001 - i) * 7919), i);
    std::vector<std::int64_t> seen;
    wheel.advanceTo(10'000'000, [&](std::uint64_t, std::int64_t d) { seen.push_back(d); });
    CHECK(seen.size() == 1000);
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    CHECK(wheel.now() == 10'000'000);
  }

  TEST_CASE("nothing fires before its deadline" * doctest::timeout(10)) {
    Wheel wheel(0);
    wheel.schedule(4096, 1);
    int fired = 0;
    wheel.advanceTo(4095, [&](std::uint64_t, std::int64_t) { ++fired; });
    CHECK(fired == 0);
    CHECK(wheel.nextEventTime() == 4096);
    wheel.advanceTo(4096, [&](std::uint64_t, std::int64_t) { ++fired; });
    CHECK(fired == 1);
  }

  TEST_CASE("a cancelled timer never fires and its id cannot cancel a later timer" * doctest::timeout(10)) {
    Wheel wheel(0);
    const auto a = wheel.schedule(50, 1);
    CHECK(wheel.cancel(a));
    CHECK_FALSE(wheel.cancel(a));
    const auto b = wheel.schedule(60, 2);  // reuses a's storage
    CHECK_FALSE(wheel.cancel(a));
    std::vector<std::uint64_t> fired;
    wheel.advanceTo(100, [&](std::uint64_t id, std::int64_t) { fired.push_back(id); });
    CHECK(fired == std::vector<std::uint64_t>{2});
    CHECK_FALSE(wheel.cancel(b));
    CHECK(wheel.empty());
  }

  TEST_CASE("a deadline already past fires at the next advance" * doctest::timeout(10)) {
    Wheel wheel(1000);
    wheel.schedule(10, 1);
    CHECK(wheel.nextEventTime() == 1000);
    int fired = 0;
    wheel.advanceTo(1000, [&](std::uint64_t, std::int64_t) { ++fired; });
    CHECK(fired == 1);
  }

  TEST_CASE("the wheel covers every 64-bit distance" * doctest::timeout(10)) {
    Wheel wheel(0);
    const std::int64_t far = std::int64_t{1} << 62;
    wheel.schedule(far, 1);
    wheel.schedule(far + 1, 2);
    std::vector<std::uint64_t> fired;
    for (int i = 0; i < 100 && !wheel.empty(); ++i) {
      wheel.advanceTo(wheel.nextEventTime(), [&](std::uint64_t id, std::int64_t) { fired.push_back(id); });
    }
    CHECK(fired == std::vector<std::uint64_t>{1, 2});
  }

  TEST_CASE("an empty wheel reports no next event" * doctest::timeout(10)) {
    Wheel wheel(5);
    CHECK(wheel.nextEventTime() == Wheel::kNever);
    wheel.advanceTo(100, [](std::uint64_t, std::int64_t) {});
    CHECK(wheel.now() == 100);
  }
}

TEST_SUITE("timer_wheel memory") {
  TEST_CASE("id tables past a huge page: every live timer fires once, no cancelled one does" *
            doctest::timeout(60)) {
    // 600k ids: the generation table (4 bytes an id) and the free stack outgrow one 2 MiB huge page and move
    // to whole huge pages; a third of the timers are cancelled, then their ids reused by a second round.
    constexpr std::uint64_t kTimers = 600'000;
    Wheel wheel(0);
    std::vector<ackmq::detail::TimerId> ids;
    ids.reserve(kTimers);
    for (std::uint64_t i = 0; i < kTimers; ++i)
      ids.push_back(wheel.schedule(1 + static_cast<std::int64_t>((i * 7919) % 100'000), i));
    std::uint64_t cancelled = 0;
    for (std::uint64_t i = 0; i < kTimers; i += 3)
      cancelled += wheel.cancel(ids[i]) ? 1 : 0;
    CHECK(cancelled == (kTimers + 2) / 3);
    std::vector<std::uint8_t> seen(kTimers, 0);
    std::uint64_t bad = 0;
    wheel.advanceTo(200'000, [&](std::uint64_t id, std::int64_t) {
      if (id >= kTimers || id % 3 == 0 || seen[id]++ != 0) ++bad;
    });
    CHECK(bad == 0);
    CHECK(static_cast<std::uint64_t>(std::count(seen.begin(), seen.end(), 1)) == kTimers - cancelled);
    CHECK(wheel.empty());
    // Every id is free again; a second round reuses them.
    std::uint64_t second = 0;
    for (std::uint64_t i = 0; i < kTimers; ++i)
      wheel.schedule(300'000, i);
    wheel.advanceTo(300'000, [&](std::uint64_t, std::int64_t) { ++second; });
    CHECK(second == kTimers);
  }

  TEST_CASE("the huge-page allocator keeps a growing array's contents and aligns its large blocks" *
            doctest::timeout(30)) {
    std::vector<std::uint32_t, ackmq::detail::HugePageAllocator<std::uint32_t>> v;
    constexpr std::uint32_t kCount = 1'500'000;  // 6 MB: grows from heap blocks into huge pages
    for (std::uint32_t i = 0; i < kCount; ++i)
      v.push_back(i * 2654435761u);
    REQUIRE(v.size() == kCount);
    std::uint32_t wrong = 0;
    for (std::uint32_t i = 0; i < kCount; ++i)
      wrong += v[i] != i * 2654435761u ? 1 : 0;
    CHECK(wrong == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(v.data()) % ackmq::detail::kHugePageBytes == 0);
    v.shrink_to_fit();
    v.resize(10);  // back below a huge page: a heap block again, freed as one
    v.shrink_to_fit();
    CHECK(v.size() == 10);
    CHECK(v[9] == 9 * 2654435761u);
  }
}
