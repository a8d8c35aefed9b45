#pragma once
// ackmq internals: bounded spinning before a thread parks.

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
