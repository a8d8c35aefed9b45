#pragma once
// ackmq internals: senders waiting for room in a full store (StoreFullPolicy::WAIT). A sender whose append
// was refused because unconsumed messages fill maxStoreBytes waits here, holding no lock, and tries again
// when a consumer commits (which may make the oldest segment reclaimable) or after a short slice, whichever
// comes first: a commit it missed, or room made another way (the periodic clean-up, a DLQ'd message's
// segment expiring), costs it at most one slice. Its budget is counted by the caller on the broker's clock.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace ackmq::detail {

/// Thread safety: thread-safe.
class RoomWaiters {
 public:
  /// The longest a sender sleeps before it looks again.
  static constexpr std::chrono::milliseconds kSlice{1};

  /// Sleeps until notify() or kSlice passes.
  void await() {
    std::unique_lock lock(mutex_);
    waiting_.fetch_add(1, std::memory_order_seq_cst);
    const std::uint64_t seen = epoch_;
    cv_.wait_for(lock, kSlice, [&] { return epoch_ != seen; });
    waiting_.fetch_sub(1, std::memory_order_seq_cst);
  }
  /// Wakes the waiting senders. One load when none waits, which is the usual case: consumers call it on
  /// every commit.
  void notify() noexcept {
    if (waiting_.load(std::memory_order_seq_cst) == 0) return;
    {
      std::lock_guard lock(mutex_);
      ++epoch_;
    }
    cv_.notify_all();
  }

 private:
  std::atomic<int> waiting_{0};
  std::mutex mutex_;  // guards epoch_
  std::condition_variable cv_;
  std::uint64_t epoch_ = 0;
};

}  // namespace ackmq::detail
