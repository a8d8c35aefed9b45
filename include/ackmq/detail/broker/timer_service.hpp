#pragma once
// ackmq internals: the broker's timer service. The timer wheel, its lock, and what drives it: one
// broker-owned thread sleeping on the steady clock with SystemClock; nothing but ManualClock::advance() with
// ManualClock. Every delay in the library goes through here: delay levels and deliver times, retry back-off,
// consumer-side waits (orderly suspend, local re-consume, invisible durations).

#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <span>
#include <thread>
#include <type_traits>
#include <vector>

#include <ackmq/clock.hpp>
#include <ackmq/detail/store/timer_wheel.hpp>

namespace ackmq::detail {

/// Something timers call back. onTimer runs on the timer thread (or inside ManualClock::advance), never under
/// a library lock; it must be short and must not block on the target's own shutdown.
class TimerTarget {
 public:
  virtual void onTimer(std::uint64_t arg) noexcept = 0;
  /// Several of this target's timers that fell due together, in deadline order. Called instead of onTimer
  /// only for a target registered as batched, which handles many timers more cheaply together (one lock
  /// hold for all, one wake-up per consumer) and never unregisters itself from inside the call.
  virtual void onTimers(std::span<const std::uint64_t> args) noexcept {
    for (std::uint64_t a : args)
      onTimer(a);
  }

 protected:
  ~TimerTarget() = default;
};

/// A registered target. Timers hold the handle, not the pointer, so a target that unregisters leaves only
/// stale timers behind, which expire silently.
struct TargetHandle {
  std::uint32_t slot = std::numeric_limits<std::uint32_t>::max();
  std::uint32_t generation = 0;
};

/// Thread safety: thread-safe.
template <class Clock>
class TimerService final : private ManualTimerSink {
 public:
  explicit TimerService(Clock& clock) : clock_(clock), wheel_(clock.steadyMillis()) {
    if constexpr (Clock::isManual) {
      ManualClockAccess::attach(clock_, *this);
    } else {
      thread_ = std::thread([this] { run(); });
    }
  }
  TimerService(const TimerService&) = delete;
  TimerService& operator=(const TimerService&) = delete;
  ~TimerService() { shutdown(); }

  /// Stops firing: joins the timer thread or detaches from the manual clock. Pending timers stay pending and
  /// never fire. Idempotent.
  void shutdown() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
    }
    if constexpr (Clock::isManual) {
      ManualClockAccess::detach(clock_, *this);
    } else {
      wake_.notify_all();
      if (thread_.joinable()) thread_.join();
    }
  }

  /// `batched`: timers of this target due together are handed over in runs, through onTimers.
  TargetHandle registerTarget(TimerTarget& target, bool batched = false) {
    std::lock_guard lock(mutex_);
    std::uint32_t slot;
    if (!freeTargets_.empty()) {
      slot = freeTargets_.back();
      freeTargets_.pop_back();
    } else {
      slot = static_cast<std::uint32_t>(targets_.size());
      targets_.push_back({});
    }
    targets_[slot].target = &target;
    targets_[slot].batched = batched;
    return TargetHandle{slot, targets_[slot].generation};
  }

  /// After this returns, no callback of the target runs or will run (a callback already running on another
  /// thread is waited for; one running on this thread is not).
  void unregisterTarget(TargetHandle handle) {
    std::unique_lock lock(mutex_);
    if (handle.slot >= targets_.size() || targets_[handle.slot].generation != handle.generation) return;
    TargetSlot& t = targets_[handle.slot];
    t.target = nullptr;
    ++t.generation;
    if (firingThread_ != std::this_thread::get_id()) {
      firingDone_.wait(lock, [&] { return firingSlot_ != handle.slot; });
    }
    freeTargets_.push_back(handle.slot);
  }

  /// Calls target.onTimer(arg) once the steady clock reaches `deadline` (ms).
  TimerId scheduleAt(std::int64_t deadline, TargetHandle target, std::uint64_t arg) {
    std::lock_guard lock(mutex_);
    const TimerId id = wheel_.schedule(deadline, Entry{target.slot, target.generation, arg});
    if constexpr (!Clock::isManual) {
      if (deadline < plannedWake_) {
        plannedWake_ = deadline;
        wake_.notify_one();
      }
    }
    return id;
  }
  TimerId scheduleAfter(std::int64_t delayMillis, TargetHandle target, std::uint64_t arg) {
    return scheduleAt(clock_.steadyMillis() + delayMillis, target, arg);
  }

  bool cancel(TimerId id) {
    std::lock_guard lock(mutex_);
    return wheel_.cancel(id);
  }

  /// Timers pending (including stale ones of unregistered targets).
  std::size_t pending() const {
    std::lock_guard lock(mutex_);
    return wheel_.size();
  }

  Clock& clock() const noexcept { return clock_; }

 private:
  struct Entry {
    std::uint32_t slot;
    std::uint32_t generation;
    std::uint64_t arg;
  };
  struct TargetSlot {
    TimerTarget* target = nullptr;
    std::uint32_t generation = 0;
    bool batched = false;
  };
  static constexpr std::size_t kMaxRun = 256;  // timers handed to one onTimers call at most
  static constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();

  // ManualTimerSink, called by ManualClock::advance with the clock's lock held.
  std::int64_t nextEventMillis() override {
    std::lock_guard lock(mutex_);
    if (stopped_) return kNoEvent;
    const std::int64_t t = wheel_.nextEventTime();
    return t == TimerWheel<Entry>::kNever ? kNoEvent : t;
  }
  void runUntil(std::int64_t t) override {
    std::unique_lock lock(mutex_);
    if (!stopped_) fireDue(lock, t);
  }

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopped_) {
      fireDue(lock, clock_.steadyMillis());
      if (stopped_) break;
      const std::int64_t next = wheel_.nextEventTime();
      if (next == TimerWheel<Entry>::kNever) {
        plannedWake_ = kNoEvent;
        wake_.wait(lock, [&] { return stopped_ || plannedWake_ != kNoEvent; });
      } else {
        plannedWake_ = next;
        const auto until = std::chrono::steady_clock::time_point(std::chrono::milliseconds(next));
        wake_.wait_until(lock, until, [&] { return stopped_ || plannedWake_ < next; });
      }
    }
  }

  // Fires every timer due by `t`, in deadline order, releasing the lock around each callback. Consecutive
  // timers of one batched target go to it together.
  void fireDue(std::unique_lock<std::mutex>& lock, std::int64_t t) {
    // The buffers of the last firing, so that a storm of timers due together (a retry level's worth) is
    // collected into memory already in hand. Room for every pending timer is made first: collecting
    // cannot fail halfway through the wheel.
    std::vector<Entry> batch = std::move(firingBuffer_);
    batch.clear();
    batch.reserve(wheel_.size());
    std::vector<std::uint64_t> run = std::move(runBuffer_);
    run.reserve(kMaxRun);
    wheel_.advanceTo(t, [&](const Entry& e, std::int64_t) { batch.push_back(e); });
    if (!batch.empty()) fire(lock, batch, run);
    firingBuffer_ = std::move(batch);
    runBuffer_ = std::move(run);
  }

  void fire(std::unique_lock<std::mutex>& lock, const std::vector<Entry>& batch,
            std::vector<std::uint64_t>& run) {
    firingThread_ = std::this_thread::get_id();
    for (std::size_t i = 0; i < batch.size();) {
      const Entry& e = batch[i++];
      if (e.slot >= targets_.size()) continue;
      TargetSlot& slot = targets_[e.slot];
      if (slot.generation != e.generation || slot.target == nullptr) continue;
      TimerTarget* target = slot.target;
      run.assign(1, e.arg);
      if (slot.batched) {
        while (i < batch.size() && run.size() < kMaxRun && batch[i].slot == e.slot &&
               batch[i].generation == e.generation) {
          run.push_back(batch[i++].arg);
        }
      }
      firingSlot_ = e.slot;
      lock.unlock();
      if (run.size() == 1) {
        target->onTimer(run.front());
      } else {
        target->onTimers(run);
      }
      lock.lock();
      firingSlot_ = kNoSlot;
      firingDone_.notify_all();
    }
    firingThread_ = std::thread::id();
  }

  Clock& clock_;
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::condition_variable firingDone_;
  TimerWheel<Entry> wheel_;
  std::vector<TargetSlot> targets_;
  std::vector<std::uint32_t> freeTargets_;
  std::vector<Entry> firingBuffer_;  // fireDue's, kept between firings
  std::vector<std::uint64_t> runBuffer_;
  std::uint32_t firingSlot_ = kNoSlot;  // the target whose callback is running
  std::thread::id firingThread_;
  std::int64_t plannedWake_ = kNoEvent;  // when the timer thread means to wake next
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace ackmq::detail
