#pragma once
// ackmq internals: records a reader holds, kept from reclamation until it lets go.

#include <atomic>
#include <vector>

#include <ackmq/detail/store/commit_log.hpp>
#include <ackmq/detail/store/read_gate.hpp>
#include <ackmq/detail/store/record.hpp>

namespace ackmq::detail {

/// Records taken from a queue for a reader, kept from reclamation until release(): by pinning the segments
/// they live in (a take under the store lock), or by holding the store's read gate (a lock-free read).
/// Reused across pulls; released, at the latest, when destroyed.
struct PinnedRecords {
  PinnedRecords() = default;
  PinnedRecords(const PinnedRecords&) = delete;
  PinnedRecords& operator=(const PinnedRecords&) = delete;
  ~PinnedRecords() { release(); }

  std::vector<const RecordHeader*> records;
  std::vector<Segment*> pinned;
  ReadGate* gate = nullptr;  // entered by a lock-free read
  unsigned ticket = 0;

  void release() noexcept {
    for (Segment* s : pinned)
      s->pins.fetch_sub(1, std::memory_order_release);
    pinned.clear();
    records.clear();
    if (gate != nullptr) {
      gate->leave(ticket);
      gate = nullptr;
    }
  }
};

}  // namespace ackmq::detail
