#pragma once
// ackmq internals: a consumer's commits of one queue's offset (RocketMQ OffsetStore), shared by the push and
// the lite pull consumers. The offset is written to the broker's offset table at once (no 5 s flush), so a
// rebalance or a restart re-delivers only what was not consumed.

#include <cstdint>

#include <ackmq/detail/broker/client_api.hpp>

namespace ackmq::detail {

/// Thread safety: thread-compatible; the owner guards it (a process queue's mutex, the lite pull consumer's
/// lock).
class QueueOffset {
 public:
  explicit QueueOffset(OffsetSlot slot) noexcept : slot_(slot), committed_(slot.load()) {}

  /// Commits `offset` if it is past the last commit (RocketMQ updateOffset with increaseOnly): a late result
  /// of an earlier batch never moves the offset back. True when it moved.
  bool commitIncreasing(std::int64_t offset) noexcept {
    if (offset <= committed_) return false;
    committed_ = offset;
    slot_.store(offset);
    return true;
  }
  /// Commits `offset` whatever it is (a lite pull consumer's seek back, then commit).
  void overwrite(std::int64_t offset) noexcept {
    committed_ = offset;
    slot_.store(offset);
  }
  /// The last offset this member committed, or what the broker held when it took the queue (-1: none).
  std::int64_t committed() const noexcept { return committed_; }

 private:
  OffsetSlot slot_;
  std::int64_t committed_;
};

}  // namespace ackmq::detail
