#pragma once
// ackmq internals: the store's read gate. Consumers pull without the store lock, as RocketMQ reads its
// ConsumeQueue and CommitLog without the put-message lock; the gate is what makes that safe. A reader enters
// before it looks at published data and leaves once it no longer touches what it saw. The store, having
// unpublished something (raised a queue's minimum offset before reclaiming a segment), calls synchronize()
// before it frees or reuses that memory: synchronize returns once every reader that might have seen it has
// left. Readers that enter afterwards find the new minimum and never reach the old data.
//
// Two counters, as in SRCU: synchronize moves new readers to the other counter, then waits for the old one
// to drain, so a steady stream of readers cannot hold it off.

#include <array>
#include <atomic>
#include <cstdint>
#include <thread>

#include <ackmq/detail/spin.hpp>

namespace ackmq::detail {

/// Thread safety: enter() and leave() from any thread; synchronize() by one thread at a time (the store
/// calls it under its store lock). A reader must not call synchronize(), directly or through an append,
/// between enter() and leave().
class ReadGate {
 public:
  /// Enters a read-side section; returns the ticket to pass to leave().
  unsigned enter() noexcept {
    for (;;) {
      const std::uint64_t e = epoch_.load(std::memory_order_seq_cst);
      std::atomic<std::int64_t>& count = readers_[e & 1].n;
      count.fetch_add(1, std::memory_order_seq_cst);
      // Counted under the epoch still current: a synchronize that starts now waits for this reader. If the
      // epoch moved meanwhile, the count might already have been read as drained: count again.
      if (epoch_.load(std::memory_order_seq_cst) == e) return static_cast<unsigned>(e & 1);
      count.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  void leave(unsigned ticket) noexcept { readers_[ticket].n.fetch_sub(1, std::memory_order_release); }

  /// Returns once every reader that entered before this call has left. What the caller unpublished before
  /// calling is unreachable to readers entering from now on.
  void synchronize() noexcept {
    const std::uint64_t e = epoch_.load(std::memory_order_relaxed);
    epoch_.store(e + 1, std::memory_order_seq_cst);
    const std::atomic<std::int64_t>& count = readers_[e & 1].n;
    // Readers copy a pull's worth of records, a few microseconds: spin first, then give way.
    if (spinUntil([&] { return count.load(std::memory_order_acquire) == 0; })) return;
    while (count.load(std::memory_order_acquire) != 0)
      std::this_thread::yield();
  }

 private:
  struct alignas(64) Counter {
    std::atomic<std::int64_t> n{0};
  };
  alignas(64) std::atomic<std::uint64_t> epoch_{0};
  std::array<Counter, 2> readers_;
};

}  // namespace ackmq::detail
