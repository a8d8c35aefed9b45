#pragma once
// ackmq internals: the store's read gate. Consumers pull without the store lock, as RocketMQ reads its
// ConsumeQueue and CommitLog without the put-message lock; the gate is what makes that safe. A reader enters
// before it looks at published data and leaves once it no longer touches what it saw. The store, having
// unpublished something (raised a queue's minimum offset before reclaiming a segment), calls synchronize()
// before it frees or reuses that memory: synchronize returns once every reader that might have seen it has
// left. Readers that enter afterwards find the new minimum and never reach the old data.
//
// Two sets of counters, as in SRCU: synchronize moves new readers to the other set, then waits for the old
// one to drain, so a steady stream of readers cannot hold it off. Each set is spread over slots of a cache
// line each, a thread always counting itself in the same slot: readers on different processors (a consumer
// and the poller it answers) do not pass one counter's line between them on every pull.

#include <array>
#include <atomic>
#include <cstddef>
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
    const std::size_t index = mySlot();
    Slot& slot = slots_[index];
    for (;;) {
      const std::uint64_t e = epoch_.load(std::memory_order_seq_cst);
      std::atomic<std::int64_t>& count = slot.n[e & 1];
      count.fetch_add(1, std::memory_order_seq_cst);
      // Counted under the epoch still current: a synchronize that starts now waits for this reader. If the
      // epoch moved meanwhile, the count might already have been read as drained: count again.
      if (epoch_.load(std::memory_order_seq_cst) == e) return static_cast<unsigned>(index << 1 | (e & 1));
      count.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  void leave(unsigned ticket) noexcept {
    slots_[ticket >> 1].n[ticket & 1].fetch_sub(1, std::memory_order_release);
  }

  /// Returns once every reader that entered before this call has left. What the caller unpublished before
  /// calling is unreachable to readers entering from now on.
  void synchronize() noexcept {
    const std::uint64_t e = epoch_.load(std::memory_order_relaxed);
    epoch_.store(e + 1, std::memory_order_seq_cst);
    // A reader counted in the old set entered before the epoch moved; one that enters later counts itself in
    // the new set (or, having read the old epoch, takes itself out again at once). So each slot of the old
    // set, once seen at zero, stays drained of the readers this call waits for.
    for (const Slot& slot : slots_) {
      const std::atomic<std::int64_t>& count = slot.n[e & 1];
      // Readers copy a pull's worth of records, a few microseconds: spin first, then give way.
      if (spinUntil([&] { return count.load(std::memory_order_seq_cst) == 0; })) continue;
      while (count.load(std::memory_order_seq_cst) != 0)
        std::this_thread::yield();
    }
  }

 private:
  static constexpr std::size_t kSlots = 16;

  // The calling thread's slot, the same in every gate: threads take slots in turn as they first read.
  static std::size_t mySlot() noexcept {
    static std::atomic<std::size_t> nextThread{0};
    thread_local const std::size_t slot = nextThread.fetch_add(1, std::memory_order_relaxed) % kSlots;
    return slot;
  }

  struct alignas(kCacheLine) Slot {
    std::array<std::atomic<std::int64_t>, 2> n{};  // readers inside, by epoch parity
  };
  alignas(kCacheLine) std::atomic<std::uint64_t> epoch_{0};
  std::array<Slot, kSlots> slots_{};
};

}  // namespace ackmq::detail
