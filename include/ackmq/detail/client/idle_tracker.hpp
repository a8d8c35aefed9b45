#pragma once
// ackmq internals: what testing::awaitIdle needs of a consumer, kept off the hot path. Only a waiting test
// pays: the consumer's threads look at one counter (waiters) and do nothing more while nobody waits.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace ackmq::detail {

/// Thread safety: thread-safe.
class IdleTracker {
 public:
  /// Waits until `idle()` holds, for at most `timeout` (real time); true once it held. `idle` is checked
  /// whenever notify() is called, and every 50 ms as a safety net.
  template <class Idle>
  bool await(std::chrono::milliseconds timeout, Idle&& idle) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    std::unique_lock lock(mutex_);
    bool ok = false;
    for (;;) {
      if (idle()) {
        ok = true;
        break;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      cv_.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(50)));
    }
    waiters_.fetch_sub(1, std::memory_order_seq_cst);
    return ok;
  }

  /// Something changed that may make the consumer idle. Without a lock of the consumer held that idle()
  /// takes (the waiter checks idle() under this tracker's mutex).
  void notify() noexcept {
    if (waiters_.load(std::memory_order_seq_cst) == 0) return;
    std::lock_guard lock(mutex_);
    cv_.notify_all();
  }

  /// Whether a test waits; the hand-back count moves only then.
  bool watched() const noexcept { return waiters_.load(std::memory_order_seq_cst) != 0; }

  /// Work handed back to a queue from outside the dispatcher (a queue marked dirty again). A waiter reads
  /// the count before and after its look: a hand-back that straddles the look moves it.
  void noteHandBack() noexcept {
    if (watched()) handBacks_.fetch_add(1, std::memory_order_seq_cst);
  }
  std::uint64_t handBacks() const noexcept { return handBacks_.load(std::memory_order_seq_cst); }

 private:
  std::atomic<int> waiters_{0};
  std::atomic<std::uint64_t> handBacks_{0};
  std::mutex mutex_;  // orders a waiter's look against notify()
  std::condition_variable cv_;
};

}  // namespace ackmq::detail
