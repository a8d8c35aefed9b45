#pragma once
// ackmq internals: a hierarchical timing wheel with 1 ms ticks.
//
// 11 levels of 64 slots cover every 64-bit deadline: level L holds timers whose deadline shares all bits
// above 6(L+1) with the wheel's time and differs in bits [6L, 6L+6). Level 0 slots are exact milliseconds.
// Schedule, cancel and expiry are O(1); a timer moves down at most once per level on its way to expiry
// ("cascading"), so the cost per timer is bounded by the level count, whatever the number pending. A
// 64-bit occupancy mask per level lets the wheel jump straight to its next event instead of ticking
// through idle milliseconds, so advancing a ManualClock by hours costs one step per event, not per tick.
//
// Deadline order: timers fire in deadline order; timers with equal deadlines fire in the order they were
// scheduled (a cascade happens when the wheel enters a slot, before anything later can be scheduled
// into the same millisecond).
//
// Layout: a slot is a chain of fixed-size blocks of (deadline, payload, id, generation) entries, so a cascade
// streams through memory instead of chasing list pointers into a million scattered nodes, and never
// reallocates: a block emptied by expiry or a cascade goes on the wheel's free list and is the next one
// filled. A storm of timers due together (every retry of one back-off level, say) thus moves from block to
// recycled block, and a wheel that has once held N timers holds N again without asking the allocator for
// memory, or the kernel for fresh pages. All that stays outside the blocks is one 32-bit generation per id,
// read once at expiry. Cancelling bumps the generation and frees the id at once; its entry stays in its slot
// as a tombstone, skipped when the slot is reached (before the deadline), and all tombstones go when the
// wheel empties. A slot holding only tombstones may thus report an event that expires nothing, as an empty
// cascade does.
//
// Memory: the blocks of the most timers ever pending at once (32 bytes a timer with a 16-byte payload, plus
// at most one partly filled block per occupied slot), kept until the wheel is destroyed, as a vector keeps
// its capacity. Blocks come in slabs that double from one block to a 2 MiB huge page, so a million timers
// take a few dozen allocations, not thousands; a slab of 16 blocks or more is faulted in by the kernel in one
// call (prefault) rather than a page at a time as entries first land in it. The two id tables (a generation
// and a free-stack slot per id, 8 bytes an id) are written at random; once they reach a huge page they grow
// in whole, prefaulted huge pages (HugePageAllocator): a few faults per 2 MiB rather than one per 4 KiB.

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include <ackmq/detail/prefault.hpp>

namespace ackmq::detail {

/// Identifies one scheduled timer; stays unique across reuse of its storage.
struct TimerId {
  std::uint32_t index = std::numeric_limits<std::uint32_t>::max();
  std::uint32_t generation = 0;
  bool valid() const noexcept { return index != std::numeric_limits<std::uint32_t>::max(); }
};

/// The wheel. `Payload` is a small trivially copyable value handed back on expiry.
///
/// Thread safety: thread-compatible (the owner serialises every call).
template <class Payload>
class TimerWheel {
 public:
  static constexpr int kBits = 6;
  static constexpr int kSlotsPerLevel = 1 << kBits;
  static constexpr int kLevels = 11;  // 66 bits >= every 64-bit distance
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

  /// A wheel whose time starts at `now` (ms, on the owner's clock).
  explicit TimerWheel(std::int64_t now) : now_(toTick(now)) {}
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  ~TimerWheel() {
    for (const Slab& slab : slabs_) {
      if (slab.huge) {
        freeHugePages(slab.memory);
      } else {
        ::operator delete (slab.memory, std::align_val_t{kPageBytes});
      }
    }
  }

  /// The wheel's time: every timer with a deadline at or before it has expired.
  std::int64_t now() const noexcept { return static_cast<std::int64_t>(now_); }
  /// Timers scheduled and not yet expired or cancelled.
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// Schedules `payload` to expire at `deadline`. A deadline at or before now() expires at the next advance.
  TimerId schedule(std::int64_t deadline, const Payload& payload) {
    if (size_ == 0 && (levelMask_ != 0 || !slots_[kDueSlot].empty())) dropTombstones();
    reserveBlocks(1);  // the one block place() may need, so that nothing below throws
    const std::uint32_t i = allocate();
    const std::uint32_t generation = ++generations_[i];  // odd: live
    place(Entry{toTick(deadline), payload, i, generation});
    ++size_;
    return TimerId{i, generation};
  }

  /// Cancels a pending timer; false if it already expired or was cancelled.
  bool cancel(TimerId id) noexcept {
    if (id.index >= generations_.size()) return false;
    if (generations_[id.index] != id.generation || (id.generation & 1) == 0) return false;
    release(id.index);
    --size_;
    return true;
  }

  /// The time of the wheel's next event: an expiry, or a cascade of a higher level (which may expire
  /// nothing). now() when timers are already due; kNever when the wheel is empty.
  std::int64_t nextEventTime() const noexcept {
    if (size_ == 0) return kNever;
    if (!slots_[kDueSlot].empty()) return static_cast<std::int64_t>(now_);
    if (levelMask_ == 0) return kNever;
    // Every timer of level L lies in a later level-L slot of the current level-(L+1) window, so the lowest
    // occupied level always holds the earliest event.
    const int level = std::countr_zero(levelMask_);
    return static_cast<std::int64_t>(slotStart(level, std::countr_zero(occupied_[level])));
  }

  /// Moves time to `t` (never backwards), calling `onExpire(payload, deadline)` for every timer due by then,
  /// in deadline order. `onExpire` must not call back into the wheel.
  template <class F>
  void advanceTo(std::int64_t t, F&& onExpire) {
    const std::uint64_t target = toTick(t);
    for (;;) {
      expireSlot(kDueSlot, onExpire);
      if (levelMask_ == 0) break;
      const int level = std::countr_zero(levelMask_);
      const int idx = std::countr_zero(occupied_[level]);
      const std::uint64_t at = slotStart(level, idx);
      if (at > target) break;
      now_ = at;
      if (level == 0) {
        expireSlot(slotId(0, idx), onExpire);
      } else {
        cascade(level, idx);
      }
    }
    if (target > now_) now_ = target;
  }

 private:
  static constexpr std::uint16_t kDueSlot = kLevels * kSlotsPerLevel;  // timers already due

  struct Entry {
    std::uint64_t deadline;
    Payload payload;
    std::uint32_t index;
    std::uint32_t generation;  // a tombstone once the id's generation moved on
  };
  // About 4 KiB a block.
  static constexpr std::uint32_t kBlockEntries =
      sizeof(Entry) >= 256 ? 16 : static_cast<std::uint32_t>((4096 - 2 * sizeof(void*)) / sizeof(Entry));
  struct Block {
    Block* next = nullptr;
    std::uint32_t count = 0;
    Entry entries[kBlockEntries];
  };
  static_assert(std::is_trivially_destructible_v<Block>, "slabs are freed without destroying their blocks");
  // The largest slab fills one huge page.
  static constexpr std::size_t kMaxSlabBlocks = kHugePageBytes / sizeof(Block);
  static constexpr std::size_t kPrefaultSlabBlocks = 16;
  struct Slab {
    void* memory;
    bool huge;  // from allocateHugePages
  };
  struct Slot {
    Block* head = nullptr;
    Block* tail = nullptr;
    bool empty() const noexcept { return head == nullptr; }
  };

  static std::uint64_t toTick(std::int64_t t) noexcept { return t < 0 ? 0 : static_cast<std::uint64_t>(t); }
  static std::uint16_t slotId(int level, int idx) noexcept {
    return static_cast<std::uint16_t>(level * kSlotsPerLevel + idx);
  }
  // Start time of slot `idx` of `level` within the current level-(level+1) window.
  std::uint64_t slotStart(int level, int idx) const noexcept {
    const int shift = kBits * (level + 1);
    const std::uint64_t window = shift >= 64 ? 0 : (now_ >> shift) << shift;
    return window | (static_cast<std::uint64_t>(idx) << (kBits * level));
  }

  // Ids: a generation each (odd while the timer is live) and a stack of free ids.
  std::uint32_t allocate() {
    if (!free_.empty()) {
      const std::uint32_t i = free_.back();
      free_.pop_back();
      return i;
    }
    generations_.push_back(0);
    // Room for every id on the free stack, so that release (and so cancel) never allocates.
    if (free_.capacity() < generations_.capacity()) free_.reserve(generations_.capacity());
    return static_cast<std::uint32_t>(generations_.size() - 1);
  }
  void release(std::uint32_t i) noexcept {
    ++generations_[i];  // even: free
    free_.push_back(i);
  }

  // Needs a free block if the slot's last block is full: callers reserve them first (reserveBlocks).
  void place(const Entry& e) noexcept {
    if (e.deadline <= now_) {
      append(slots_[kDueSlot], e);
      return;
    }
    const int highBit = 63 - std::countl_zero(e.deadline ^ now_);
    const int level = highBit / kBits;
    const int idx = static_cast<int>((e.deadline >> (kBits * level)) & (kSlotsPerLevel - 1));
    append(slots_[slotId(level, idx)], e);
    occupied_[level] |= std::uint64_t{1} << idx;
    levelMask_ |= static_cast<std::uint16_t>(1u << level);
  }

  void append(Slot& slot, const Entry& e) noexcept {
    if (slot.tail == nullptr || slot.tail->count == kBlockEntries) {
      assert(freeBlocks_ != nullptr);
      Block* b = freeBlocks_;
      freeBlocks_ = b->next;
      --freeCount_;
      b->next = nullptr;
      b->count = 0;
      (slot.tail == nullptr ? slot.head : slot.tail->next) = b;
      slot.tail = b;
    }
    slot.tail->entries[slot.tail->count++] = e;
  }

  // Makes sure of `n` free blocks; throws std::bad_alloc with the wheel unchanged.
  void reserveBlocks(std::size_t n) {
    while (freeCount_ < n)
      addSlab();
  }
  void addSlab() {
    slabs_.reserve(slabs_.size() + 1);  // before the slab, so that nothing throws once it is taken
    const std::size_t blocks = slabBlocks_;
    const bool huge = blocks == kMaxSlabBlocks;
    const std::size_t bytes = huge ? kHugePageBytes : blocks * sizeof(Block);
    void* slab = huge ? allocateHugePages(bytes) : ::operator new (bytes, std::align_val_t{kPageBytes});
    if (blocks >= kPrefaultSlabBlocks) prefault(slab, bytes);
    slabs_.push_back(Slab{slab, huge});
    for (std::size_t k = 0; k < blocks; ++k)
      recycle(::new (static_cast<std::byte*>(slab) + k * sizeof(Block)) Block);
    slabBlocks_ = std::min(blocks * 2, kMaxSlabBlocks);
  }
  void recycle(Block* b) noexcept {
    b->next = freeBlocks_;
    freeBlocks_ = b;
    ++freeCount_;
  }

  void markEmpty(std::uint16_t slot) noexcept {
    const int level = slot / kSlotsPerLevel;
    const int idx = slot % kSlotsPerLevel;
    occupied_[level] &= ~(std::uint64_t{1} << idx);
    if (occupied_[level] == 0) levelMask_ = static_cast<std::uint16_t>(levelMask_ & ~(1u << level));
  }

  // Detaches a slot's chain; the caller walks it with drain().
  Block* takeSlot(std::uint16_t slot) noexcept {
    Block* chain = std::exchange(slots_[slot].head, nullptr);
    slots_[slot].tail = nullptr;
    if (slot != kDueSlot) markEmpty(slot);
    return chain;
  }

  // Calls f(entry) for each entry of a detached chain, in order, handing each block back to the free list
  // once its entries are passed on, so that a later block of a cascade refills it. f must not take blocks
  // beyond those reserved before the chain was detached. If f throws, the blocks not yet read go back to
  // the free list and their entries are dropped.
  template <class F>
  void drain(Block* chain, F&& f) {
    while (chain != nullptr) {
      Block* b = std::exchange(chain, chain->next);
      try {
        for (std::uint32_t k = 0; k < b->count; ++k)
          f(b->entries[k]);
      } catch (...) {
        recycle(b);
        while (chain != nullptr)
          recycle(std::exchange(chain, chain->next));
        throw;
      }
      recycle(b);
    }
  }

  template <class F>
  void expireSlot(std::uint16_t slot, F& onExpire) {
    if (slots_[slot].empty()) return;
    drain(takeSlot(slot), [&](const Entry& e) {
      if (generations_[e.index] != e.generation) return;  // cancelled
      release(e.index);
      --size_;
      onExpire(e.payload, static_cast<std::int64_t>(e.deadline));
    });
  }

  void cascade(int level, int idx) {
    const std::uint16_t slot = slotId(level, idx);
    // The entries go to lower slots (or due), never back into this one: at most level * 64 + 1 of them, each
    // of which may need one block beyond those the drained chain hands back, and the block being read goes
    // back only once its entries have moved: one more. Reserving that many first (or one per entry, if
    // fewer) means moving cannot fail halfway.
    const std::size_t needed = static_cast<std::size_t>(level) * kSlotsPerLevel + 2;
    std::size_t entries = 0;
    for (const Block* b = slots_[slot].head; b != nullptr && entries < needed; b = b->next)
      entries += b->count;
    reserveBlocks(std::min(entries, needed));
    drain(takeSlot(slot), [&](const Entry& e) { place(e); });
  }

  // The wheel is empty but tombstones of cancelled timers remain: let them go.
  void dropTombstones() noexcept {
    for (Slot& slot : slots_) {
      for (Block* b = std::exchange(slot.head, nullptr); b != nullptr;)
        recycle(std::exchange(b, b->next));
      slot.tail = nullptr;
    }
    for (int level = 0; level < kLevels; ++level)
      occupied_[level] = 0;
    levelMask_ = 0;
  }

  std::uint64_t now_;
  std::vector<std::uint32_t, HugePageAllocator<std::uint32_t>> generations_;
  std::vector<std::uint32_t, HugePageAllocator<std::uint32_t>> free_;
  std::size_t size_ = 0;
  Slot slots_[kDueSlot + 1];
  Block* freeBlocks_ = nullptr;
  std::size_t freeCount_ = 0;
  std::vector<Slab> slabs_;     // every block lives in one of these
  std::size_t slabBlocks_ = 1;  // blocks in the next slab
  std::uint64_t occupied_[kLevels] = {};
  std::uint16_t levelMask_ = 0;  // bit L set when level L holds an entry
};

}  // namespace ackmq::detail
