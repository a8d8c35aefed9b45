#pragma once
// ackmq internals: the records one append has written into the CommitLog and not yet published.

#include <array>
#include <cstddef>
#include <utility>
#include <vector>

#include <ackmq/detail/store/commit_log.hpp>
#include <ackmq/detail/store/record.hpp>

namespace ackmq::detail {

// The records one append has written and not yet published. The usual single record is kept on the
// appender's stack, so that appenders on different threads pass no scratch memory between them.
class WrittenRecords {
 public:
  using Item = std::pair<RecordHeader*, Segment*>;
  /// Room for `n` records, taken before any is written: push() then never fails.
  void reserve(std::size_t n) {
    if (n > kInline) more_.reserve(n - kInline);
  }
  void push(RecordHeader* h, Segment* s) noexcept {
    if (n_ < kInline) {
      inline_[n_] = Item(h, s);
    } else {
      more_.emplace_back(h, s);  // reserved
    }
    ++n_;
  }
  std::size_t size() const noexcept { return n_; }
  Item operator[](std::size_t i) const noexcept { return i < kInline ? inline_[i] : more_[i - kInline]; }

 private:
  static constexpr std::size_t kInline = 4;
  std::array<Item, kInline> inline_{};
  std::vector<Item> more_;
  std::size_t n_ = 0;
};

}  // namespace ackmq::detail
