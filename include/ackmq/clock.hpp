#pragma once
// ackmq: time. SystemClock reads real time; ManualClock moves only when a test tells it to, and then runs
// every timer that fell due, in deadline order, before it returns.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <time.h>

namespace ackmq {

namespace detail {
/// "Nothing pending" for ManualTimerSink::nextEventMillis().
inline constexpr std::int64_t kNoEvent = std::numeric_limits<std::int64_t>::max();

/// A timer service that a ManualClock drives (the broker's timer service). Internal.
class ManualTimerSink {
 public:
  /// The earliest time at which the sink has work to do, or kNoEvent.
  virtual std::int64_t nextEventMillis() = 0;
  /// Runs every timer due at or before `t`, in deadline order. The clock already reads `t`.
  virtual void runUntil(std::int64_t t) = 0;

 protected:
  ~ManualTimerSink() = default;
};

struct ManualClockAccess;
}  // namespace detail

/// The default clock. Timestamps are wall-clock ms since the epoch; timers wait on a steady clock, so a
/// wall-clock jump never fires or stalls a retry.
///
/// Thread safety: thread-safe (stateless).
struct SystemClock {
  static constexpr bool isManual = false;

  /// Wall-clock ms since the epoch: message timestamps, deliver times.
  static std::int64_t nowMillis() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  /// Monotonic ms: what timers wait on.
  static std::int64_t steadyMillis() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  /// steadyMillis() to within a scheduler tick (a few ms), for budgets measured in seconds such as
  /// sendMsgTimeout: on Linux it costs a fraction of a precise read, which every sync send makes twice.
  static std::int64_t coarseSteadyMillis() noexcept {
#ifdef CLOCK_MONOTONIC_COARSE
    timespec ts{};
    if (::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
      return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
#endif
    return steadyMillis();
  }
};

/// A clock for tests: time moves only when told to. Brokers built on it own no timer thread; instead
/// advance() and setMillis() run every timer that falls due (delayed messages, retries, suspends, invisible
/// durations) in deadline order on the calling thread before returning, so a test walks RocketMQ's whole
/// 16-retry ladder (about 4 h 46 min) in microseconds.
///
/// Work those timers hand to consumer threads (a retry copy reaching a listener) happens after advance()
/// returns: wait for it with ackmq::testing::awaitIdle before advancing again.
///
/// The clock must outlive every broker built on it.
///
/// Thread safety: nowMillis() is thread-safe; advance() and setMillis() are thread-safe and serialised, and
/// must not be called from inside a listener that an advance() is waiting for.
class ManualClock {
 public:
  static constexpr bool isManual = true;
  /// 2023-11-14T22:13:20Z: a realistic epoch so that timestamps look like timestamps.
  static constexpr std::int64_t kDefaultStartMillis = 1'700'000'000'000;

  explicit ManualClock(std::int64_t startMillis = kDefaultStartMillis) : now_(startMillis) {}
  ManualClock(const ManualClock&) = delete;
  ManualClock& operator=(const ManualClock&) = delete;

  /// The current time, ms since the epoch. Thread-safe.
  std::int64_t nowMillis() const noexcept { return now_.load(std::memory_order_acquire); }
  /// The same time: a manual clock never jumps, so wall and steady time are one.
  std::int64_t steadyMillis() const noexcept { return nowMillis(); }

  /// Moves time forward by `d` and runs every timer due by then, in deadline order, before returning.
  /// Throws std::invalid_argument if `d` is negative.
  void advance(std::chrono::milliseconds d) {
    if (d.count() < 0) {
      throw std::invalid_argument("ManualClock::advance: the duration must not be negative (got " +
                                  std::to_string(d.count()) + " ms)");
    }
    std::lock_guard lock(mutex_);
    runTo(now_.load(std::memory_order_relaxed) + d.count());
  }

  /// Moves time to the earliest pending timer due no later than `limitMillis` and runs what is due then, in
  /// deadline order; true if there was one. Otherwise moves time to `limitMillis` and returns false. Lets a
  /// test step through time one timer at a time (see testing::advanceAndSettle).
  bool advanceToNextTimer(std::int64_t limitMillis) {
    std::lock_guard lock(mutex_);
    const std::int64_t now = now_.load(std::memory_order_relaxed);
    std::int64_t next = detail::kNoEvent;
    for (auto* sink : sinks_)
      next = std::min(next, sink->nextEventMillis());
    if (next > limitMillis) {
      if (limitMillis > now) runTo(limitMillis);
      return false;
    }
    runTo(std::max(next, now));
    return true;
  }

  /// Moves time to `epochMillis`, running due timers as advance() does. Time never goes backwards: throws
  /// std::invalid_argument if `epochMillis` is earlier than now.
  void setMillis(std::int64_t epochMillis) {
    std::lock_guard lock(mutex_);
    const std::int64_t now = now_.load(std::memory_order_relaxed);
    if (epochMillis < now) {
      throw std::invalid_argument("ManualClock::setMillis: time never goes backwards (now " +
                                  std::to_string(now) + ", asked for " + std::to_string(epochMillis) + ")");
    }
    runTo(epochMillis);
  }

 private:
  friend struct detail::ManualClockAccess;

  // Steps from event to event across every attached sink, so timers of several brokers sharing this clock
  // also fire in global deadline order. A sink that is due "now" (a timer scheduled at the current time
  // since the last advance) fires first.
  void runTo(std::int64_t target) {
    for (;;) {
      std::int64_t next = detail::kNoEvent;
      for (auto* sink : sinks_)
        next = std::min(next, sink->nextEventMillis());
      if (next > target) break;
      const std::int64_t at = std::max(next, now_.load(std::memory_order_relaxed));
      now_.store(at, std::memory_order_release);
      for (auto* sink : sinks_)
        sink->runUntil(at);
    }
    now_.store(target, std::memory_order_release);
    for (auto* sink : sinks_)
      sink->runUntil(target);
  }

  std::atomic<std::int64_t> now_;
  std::mutex mutex_;                             // serialises advances; guards sinks_
  std::vector<detail::ManualTimerSink*> sinks_;  // the timer services of the brokers on this clock
};

namespace detail {
struct ManualClockAccess {
  static void attach(ManualClock& clock, ManualTimerSink& sink) {
    std::lock_guard lock(clock.mutex_);
    clock.sinks_.push_back(&sink);
  }
  static void detach(ManualClock& clock, ManualTimerSink& sink) {
    std::lock_guard lock(clock.mutex_);
    std::erase(clock.sinks_, &sink);
  }
};

/// The clock's steady time to within a scheduler tick, where it offers such a cheaper read; else its
/// steadyMillis(). For budgets measured in seconds or minutes: sendMsgTimeout, consumeTimeout.
template <class Clock>
std::int64_t coarseSteadyMillis(const Clock& clock) noexcept {
  if constexpr (requires { clock.coarseSteadyMillis(); }) {
    return clock.coarseSteadyMillis();
  } else {
    return clock.steadyMillis();
  }
}
}  // namespace detail

}  // namespace ackmq
