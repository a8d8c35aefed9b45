#pragma once
// ackmq internals: the one way a client thread waits for work. An event count (folly's EventCount,
// taskflow's Notifier) lets a thread sleep on a condition it checks itself, without a lock shared with the
// threads that make the condition true: they pay for a wake-up only when someone sleeps. spinThenPark puts a
// bounded look without sleeping in front of it, so that work arriving within microseconds costs no kernel
// wake-up on either side.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include <ackmq/detail/spin.hpp>

namespace ackmq::detail {

/// A waiter announces itself (prepareWait), checks its condition, and either withdraws (cancelWait) or
/// sleeps (commitWait) until a notify that came after its announcement. A notifier makes the condition true
/// first, then notifies. Both sides use sequentially consistent operations, so either the notifier sees the
/// waiter announced (and wakes it) or the waiter's check sees the condition: no wake-up is lost.
///
/// Thread safety: thread-safe.
class EventCount {
 public:
  using Key = std::uint64_t;

  /// Announces a wait; check the condition after this, then cancelWait() or commitWait(key).
  Key prepareWait() noexcept {
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    return epoch_.load(std::memory_order_seq_cst);
  }
  /// The condition held after all: withdraws the announcement.
  void cancelWait() noexcept { waiters_.fetch_sub(1, std::memory_order_seq_cst); }
  /// Sleeps until a notify after prepareWait() returned `key`.
  void commitWait(Key key) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return epoch_.load(std::memory_order_relaxed) != key; });
    }
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
  }
  /// commitWait(key), for at most until `deadline`; false when it passed without a notify.
  template <class Clock, class Duration>
  bool commitWaitUntil(Key key, std::chrono::time_point<Clock, Duration> deadline) {
    bool woken;
    {
      std::unique_lock lock(mutex_);
      woken = cv_.wait_until(lock, deadline, [&] { return epoch_.load(std::memory_order_relaxed) != key; });
    }
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
    return woken;
  }

  /// Wakes every thread sleeping in commitWait. Costs one atomic load when none is announced.
  void notifyAll() noexcept {
    if (waiters_.load(std::memory_order_seq_cst) == 0) return;
    bump();
    cv_.notify_all();
  }
  /// Wakes at least one sleeping thread, when one is announced. Others announced may wake too, find nothing
  /// and wait again.
  void notifyOne() noexcept {
    if (waiters_.load(std::memory_order_seq_cst) == 0) return;
    bump();
    cv_.notify_one();
  }
  /// Whether a thread has announced a wait (a hint).
  bool anyWaiting() const noexcept { return waiters_.load(std::memory_order_seq_cst) != 0; }

 private:
  // Under the mutex, so that a waiter between its check of the epoch and its sleep cannot miss it.
  void bump() noexcept {
    std::lock_guard lock(mutex_);
    epoch_.fetch_add(1, std::memory_order_seq_cst);
  }

  std::atomic<std::uint64_t> epoch_{0};
  std::atomic<int> waiters_{0};
  std::mutex mutex_;  // orders a sleeper's last look at epoch_ against a notify
  std::condition_variable cv_;
};

/// Waits until `ready()` holds: first `look()`, the waiter's own bounded watch without sleeping (pollUntil
/// by default), which returns true when `ready()` came to hold; then, told by `sleeping()` just before the
/// first sleep, on `events` until a notify, checking `ready()` after each. `ready()` must become true only
/// through a state change that is followed by a notify on `events`.
template <class Ready, class Look, class Sleeping>
void spinThenPark(EventCount& events, Ready&& ready, Look&& look, Sleeping&& sleeping) {
  if (look()) return;
  sleeping();
  for (;;) {
    const EventCount::Key key = events.prepareWait();
    if (ready()) {
      events.cancelWait();
      return;
    }
    events.commitWait(key);
    if (ready()) return;
  }
}

/// spinThenPark, sleeping no later than `deadline`: true when `ready()` held, false when the deadline
/// passed first.
template <class Ready, class Look, class Sleeping, class Clock, class Duration>
bool spinThenParkUntil(EventCount& events, Ready&& ready, Look&& look, Sleeping&& sleeping,
                       std::chrono::time_point<Clock, Duration> deadline) {
  if (look()) return true;
  sleeping();
  for (;;) {
    const EventCount::Key key = events.prepareWait();
    if (ready()) {
      events.cancelWait();
      return true;
    }
    const bool woken = events.commitWaitUntil(key, deadline);
    if (ready()) return true;
    if (!woken) return false;
  }
}

/// spinThenPark with pollUntil as the look and nothing to tell before sleeping.
template <class Ready>
void spinThenPark(EventCount& events, Ready&& ready) {
  spinThenPark(
      events, ready, [&] { return pollUntil(ready); }, [] {});
}

}  // namespace ackmq::detail
