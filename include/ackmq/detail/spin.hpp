#pragma once
// ackmq internals: bounded spinning before a thread parks.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include <ackmq/detail/platform.hpp>

namespace ackmq::detail {

/// How many polls a thread makes before it parks: a few microseconds, short enough that an idle consumer
/// costs nothing measurable, long enough to catch the next message of a steady stream.
inline constexpr int kSpinPolls = 256;

/// Polls `ready` up to kSpinPolls times; true as soon as it holds.
template <class Ready>
bool spinUntil(Ready&& ready) {
  for (int i = 0; i < kSpinPolls; ++i) {
    if (ready()) return true;
    cpuRelax();
  }
  return ready();
}

/// How long a thread waiting for work keeps looking before it parks (pollUntil). On a machine with fewer
/// cores than busy threads, a hand-off to a parked thread costs a kernel wake-up of tens of microseconds; one
/// that finds the thread still looking costs well under one.
inline constexpr std::chrono::microseconds kPollBudget{50};

/// Looks at `ready` for up to kPollBudget, yielding the processor between looks; true as soon as it holds.
template <class Ready>
bool yieldUntil(Ready&& ready) {
  const auto deadline = std::chrono::steady_clock::now() + kPollBudget;
  do {
    std::this_thread::yield();
    if (ready()) return true;
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

/// Waits for `ready` without parking: spins briefly (spinUntil), then keeps looking for up to kPollBudget,
/// yielding the processor between looks so that the thread it waits for can run on this core. True as soon as
/// `ready` holds, false when the budget ran out.
template <class Ready>
bool pollUntil(Ready&& ready) {
  return spinUntil(ready) || yieldUntil(ready);
}

/// A mutex for short critical sections under contention (the store lock; a process queue's bookkeeping).
/// lock() watches the lock before it sleeps (pollUntil), so a thread that finds it taken usually gets it
/// without a sleep and a wake-up in the kernel, and unlock() calls into the kernel only when a thread does
/// sleep. It watches with plain loads, not attempts, so the holder keeps its cache line until it lets go
/// (Drepper's "Futexes Are Tricky", mutex 3, on C++20's atomic wait). The yielding matters where threads
/// outnumber cores: the holder may be waiting for this very core.
class SpinThenBlockMutex {
 public:
  void lock() noexcept {
    if (try_lock()) return;
    if (pollUntil([this] { return state_.load(std::memory_order_relaxed) == kFree && try_lock(); })) return;
    // Marked contended: whoever unlocks next wakes a sleeper.
    while (state_.exchange(kContended, std::memory_order_acquire) != kFree)
      state_.wait(kContended, std::memory_order_relaxed);
  }
  bool try_lock() noexcept {
    std::uint32_t expected = kFree;
    return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  void unlock() noexcept {
    if (state_.exchange(kFree, std::memory_order_release) == kContended) state_.notify_one();
  }

 private:
  static constexpr std::uint32_t kFree = 0;
  static constexpr std::uint32_t kLocked = 1;
  static constexpr std::uint32_t kContended = 2;  // locked, and a thread may be asleep waiting
  std::atomic<std::uint32_t> state_{kFree};
};

}  // namespace ackmq::detail
