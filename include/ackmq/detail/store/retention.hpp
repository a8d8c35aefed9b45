#pragma once
// ackmq internals: which CommitLog segments hold only consumed history. A segment is consumed when every
// group tracking each of its queues has committed past the last entry that queue wrote into it, and it
// parks no delayed message. The consumed segments at the front of the log are history: they serve replay
// and lookups, and the store reclaims them once they pass their own bound (maxConsumedHistoryBytes).
//
// These checks take the offset table's lock per queue of a segment: they run when a segment is opened, in
// the periodic clean-up and for statistics, never per message.

#include <algorithm>
#include <cstddef>
#include <deque>

#include <ackmq/detail/store/commit_log.hpp>
#include <ackmq/detail/store/consume_queue.hpp>
#include <ackmq/detail/store/offset_table.hpp>
#include <ackmq/detail/store/topic_table.hpp>

namespace ackmq::detail {

/// Whether every group has consumed every message of `s` and it parks no delayed message. A queue that no
/// group tracks is never consumed (OffsetTable::consumedThrough), so a store without consumers keeps
/// everything up to its other bounds.
inline bool segmentConsumed(const Segment& s, const OffsetTable& offsets) {
  if (s.pendingParked.load(std::memory_order_acquire) != 0) return false;
  for (const auto& [cq, last] : s.queueLastOffsets) {
    if (isBrokerInternal(cq->topic->kind)) continue;  // every record parked here was re-put or resolved
    if (!offsets.consumedThrough(*cq->topic, cq->queueId, last)) return false;
  }
  return true;
}

/// The run of consumed segments at the front of the log. The active one is left out (it is still written)
/// unless it is about to be sealed.
struct ConsumedPrefix {
  std::size_t segments = 0;
  std::size_t bytes = 0;
  bool ended = false;  // the walk reached a segment not consumed, or the active one
};

/// Walks the consumed prefix of `segments` on from where `p` stopped. The walk stops once the prefix passes
/// `stopAbove` bytes, so that enforcing a bound looks at no more segments than the bound holds, plus one;
/// after the caller reclaims from the front (and takes those segments off `p`), a further call goes on from
/// there: each segment is looked at once.
inline void extendConsumedPrefix(ConsumedPrefix& p, const std::deque<Segment>& segments,
                                 const OffsetTable& offsets,
                                 std::size_t stopAbove = static_cast<std::size_t>(-1),
                                 bool withActive = false) {
  const std::size_t walkable =
      withActive ? segments.size() : segments.size() - std::min<std::size_t>(1, segments.size());
  while (!p.ended && p.bytes <= stopAbove) {
    if (p.segments >= walkable || !segmentConsumed(segments[p.segments], offsets)) {
      p.ended = true;
      break;
    }
    p.bytes += segments[p.segments].capacity;
    ++p.segments;
  }
}

}  // namespace ackmq::detail
