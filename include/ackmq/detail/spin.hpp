#pragma once
// ackmq internals: bounded spinning before a thread parks.

#include <chrono>
#include <mutex>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ackmq::detail {

/// How many polls a thread makes before it parks: a few microseconds, short enough that an idle consumer
/// costs nothing measurable, long enough to catch the next message of a steady stream.
inline constexpr int kSpinPolls = 256;

inline void cpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

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

/// Waits for `ready` without parking: spins briefly (spinUntil), then keeps looking for up to kPollBudget,
/// yielding the processor between looks so that the thread it waits for can run on this core. True as soon as
/// `ready` holds, false when the budget ran out.
template <class Ready>
bool pollUntil(Ready&& ready) {
  if (spinUntil(ready)) return true;
  const auto deadline = std::chrono::steady_clock::now() + kPollBudget;
  do {
    std::this_thread::yield();
    if (ready()) return true;
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

/// A mutex for short critical sections under contention (the store lock: an append or a pull of a few
/// hundred nanoseconds). lock() tries for a few microseconds before it blocks, so a thread that finds the
/// lock taken usually gets it without a sleep and a wake-up in the kernel.
class SpinThenBlockMutex {
 public:
  void lock() {
    if (spinUntil([this] { return m_.try_lock(); })) return;
    m_.lock();
  }
  bool try_lock() { return m_.try_lock(); }
  void unlock() { m_.unlock(); }

 private:
  std::mutex m_;
};

}  // namespace ackmq::detail
