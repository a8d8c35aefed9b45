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

#include <bit>
#include <cassert>
#include <cstdint>
#include <limits>
#include <vector>

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
  explicit TimerWheel(std::int64_t now) : now_(toTick(now)) {
    heads_.assign(kDueSlot + 1, kNil);
    tails_.assign(kDueSlot + 1, kNil);
  }

  /// The wheel's time: every timer with a deadline at or before it has expired.
  std::int64_t now() const noexcept { return static_cast<std::int64_t>(now_); }
  /// Timers scheduled and not yet expired or cancelled.
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// Schedules `payload` to expire at `deadline`. A deadline at or before now() expires at the next advance.
  TimerId schedule(std::int64_t deadline, const Payload& payload) {
    const std::uint32_t i = allocate();
    Node& n = nodes_[i];
    n.deadline = toTick(deadline);
    n.payload = payload;
    place(i);
    ++size_;
    return TimerId{i, n.generation};
  }

  /// Cancels a pending timer; false if it already expired or was cancelled.
  bool cancel(TimerId id) noexcept {
    if (id.index >= nodes_.size()) return false;
    Node& n = nodes_[id.index];
    if (n.generation != id.generation || n.slot == kFree) return false;
    unlink(id.index);
    release(id.index);
    --size_;
    return true;
  }

  /// The time of the wheel's next event: an expiry, or a cascade of a higher level (which may expire
  /// nothing). now() when timers are already due; kNever when the wheel is empty.
  std::int64_t nextEventTime() const noexcept {
    if (heads_[kDueSlot] != kNil) return static_cast<std::int64_t>(now_);
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
      expireList(kDueSlot, onExpire);
      if (levelMask_ == 0) break;
      const int level = std::countr_zero(levelMask_);
      const int idx = std::countr_zero(occupied_[level]);
      const std::uint64_t at = slotStart(level, idx);
      if (at > target) break;
      now_ = at;
      if (level == 0) {
        expireList(slotId(0, idx), onExpire);
      } else {
        cascade(level, idx);
      }
    }
    if (target > now_) now_ = target;
  }

 private:
  static constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();
  static constexpr std::uint16_t kDueSlot = kLevels * kSlotsPerLevel;  // timers already due
  static constexpr std::uint16_t kFree = kDueSlot + 1;                 // node on the free list

  struct Node {
    std::uint64_t deadline = 0;
    std::uint32_t next = kNil;
    std::uint32_t prev = kNil;
    std::uint32_t generation = 0;
    std::uint16_t slot = kFree;
    Payload payload{};
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

  std::uint32_t allocate() {
    if (free_ != kNil) {
      const std::uint32_t i = free_;
      free_ = nodes_[i].next;
      return i;
    }
    nodes_.emplace_back();
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }
  void release(std::uint32_t i) noexcept {
    Node& n = nodes_[i];
    ++n.generation;
    n.slot = kFree;
    n.next = free_;
    free_ = i;
  }

  void place(std::uint32_t i) noexcept {
    Node& n = nodes_[i];
    if (n.deadline <= now_) {
      pushBack(kDueSlot, i);
      return;
    }
    const int highBit = 63 - std::countl_zero(n.deadline ^ now_);
    const int level = highBit / kBits;
    const int idx = static_cast<int>((n.deadline >> (kBits * level)) & (kSlotsPerLevel - 1));
    pushBack(slotId(level, idx), i);
    occupied_[level] |= std::uint64_t{1} << idx;
    levelMask_ |= static_cast<std::uint16_t>(1u << level);
  }

  void pushBack(std::uint16_t slot, std::uint32_t i) noexcept {
    Node& n = nodes_[i];
    n.slot = slot;
    n.next = kNil;
    n.prev = tails_[slot];
    if (tails_[slot] == kNil) {
      heads_[slot] = i;
    } else {
      nodes_[tails_[slot]].next = i;
    }
    tails_[slot] = i;
  }

  void unlink(std::uint32_t i) noexcept {
    Node& n = nodes_[i];
    const std::uint16_t slot = n.slot;
    if (n.prev == kNil) {
      heads_[slot] = n.next;
    } else {
      nodes_[n.prev].next = n.next;
    }
    if (n.next == kNil) {
      tails_[slot] = n.prev;
    } else {
      nodes_[n.next].prev = n.prev;
    }
    if (heads_[slot] == kNil && slot != kDueSlot) markEmpty(slot);
  }

  void markEmpty(std::uint16_t slot) noexcept {
    const int level = slot / kSlotsPerLevel;
    const int idx = slot % kSlotsPerLevel;
    occupied_[level] &= ~(std::uint64_t{1} << idx);
    if (occupied_[level] == 0) levelMask_ = static_cast<std::uint16_t>(levelMask_ & ~(1u << level));
  }

  // Detaches a whole slot list; the caller walks it through `next`.
  std::uint32_t takeList(std::uint16_t slot) noexcept {
    const std::uint32_t head = heads_[slot];
    heads_[slot] = kNil;
    tails_[slot] = kNil;
    if (slot != kDueSlot && head != kNil) markEmpty(slot);
    return head;
  }

  template <class F>
  void expireList(std::uint16_t slot, F& onExpire) {
    for (std::uint32_t i = takeList(slot); i != kNil;) {
      Node& n = nodes_[i];
      const std::uint32_t next = n.next;
      const Payload payload = n.payload;
      const auto deadline = static_cast<std::int64_t>(n.deadline);
      release(i);
      --size_;
      onExpire(payload, deadline);
      i = next;
    }
  }

  void cascade(int level, int idx) noexcept {
    for (std::uint32_t i = takeList(slotId(level, idx)); i != kNil;) {
      const std::uint32_t next = nodes_[i].next;
      place(i);
      i = next;
    }
  }

  std::uint64_t now_;
  std::vector<Node> nodes_;
  std::uint32_t free_ = kNil;
  std::size_t size_ = 0;
  std::vector<std::uint32_t> heads_;
  std::vector<std::uint32_t> tails_;
  std::uint64_t occupied_[kLevels] = {};
  std::uint16_t levelMask_ = 0;  // bit L set when level L holds a timer
};

}  // namespace ackmq::detail
