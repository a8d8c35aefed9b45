#pragma once
// ackmq internals: the ConsumeQueue. One per (topic, queue): the queue's messages in queue-offset order, each
// entry pointing at its record in the CommitLog. Queue offsets are consecutive; minOffset rises when the
// CommitLog reclaims the segment holding the queue's oldest entries.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include <ackmq/detail/store/record.hpp>

namespace ackmq::detail {

struct Segment;

/// Told when messages arrive in a queue (a consumer that owns it). Called with the queue's listener lock
/// held: it must only record the fact and wake its own thread.
class ArrivalListener {
 public:
  virtual void onArrival() noexcept = 0;

 protected:
  ~ArrivalListener() = default;
};

/// Thread safety: entries, minOffset and the bookkeeping fields are guarded by the broker's store lock.
/// publishedMax may be read without it (a hint for consumers deciding whether to pull).
struct ConsumeQueue {
  TopicEntry* topic = nullptr;
  int queueId = 0;
  std::int64_t minOffset = 0;
  std::deque<const RecordHeader*> entries;
  std::int64_t nextOffset = 0;  // minOffset + entries.size(), kept so that appends need not count a deque
  std::atomic<std::int64_t> publishedMax{0};  // == maxOffset(), stored with release after each append

  // Reclamation bookkeeping: the segment this queue last wrote into and its slot in that segment's
  // queueLastOffsets.
  const Segment* lastSegment = nullptr;
  std::size_t lastSegmentSlot = 0;

  // Consumers to wake on arrival. listenerCount lets an append skip the lock when nobody listens.
  std::mutex listenerMutex;  // guards listeners
  std::vector<ArrivalListener*> listeners;
  std::atomic<int> listenerCount{0};
  // Fault injection: while set, pulls from this queue find nothing.
  std::atomic<bool> stalled{false};

  void addListener(ArrivalListener& l) {
    std::lock_guard lock(listenerMutex);
    listeners.push_back(&l);
    listenerCount.store(static_cast<int>(listeners.size()), std::memory_order_release);
  }
  /// After this returns, `l` is not called again.
  void removeListener(ArrivalListener& l) {
    std::lock_guard lock(listenerMutex);
    std::erase(listeners, &l);
    listenerCount.store(static_cast<int>(listeners.size()), std::memory_order_release);
  }
  void notifyArrival() noexcept {
    if (listenerCount.load(std::memory_order_acquire) == 0) return;
    std::lock_guard lock(listenerMutex);
    for (ArrivalListener* l : listeners)
      l->onArrival();
  }

  /// The next offset to be written (RocketMQ getMaxOffsetInQueue).
  std::int64_t maxOffset() const noexcept { return nextOffset; }
  const RecordHeader* at(std::int64_t offset) const noexcept {
    return entries[static_cast<std::size_t>(offset - minOffset)];
  }

  void push(const RecordHeader* h) {
    entries.push_back(h);
    ++nextOffset;
    publishedMax.store(nextOffset, std::memory_order_release);
  }

  /// Drops every entry below `offset`.
  void trimBelow(std::int64_t offset) {
    while (minOffset < offset && !entries.empty()) {
      entries.pop_front();
      ++minOffset;
    }
    if (entries.empty() && minOffset < offset) minOffset = offset;
    if (entries.empty()) nextOffset = minOffset;
  }

  /// The first offset whose message was stored at or after `timestamp` (RocketMQ getOffsetInQueueByTime);
  /// maxOffset() when there is none.
  std::int64_t offsetForTimestamp(std::int64_t timestamp) const {
    auto it = std::partition_point(entries.begin(), entries.end(),
                                   [&](const RecordHeader* h) { return h->storeTimestamp < timestamp; });
    return minOffset + static_cast<std::int64_t>(it - entries.begin());
  }
};

}  // namespace ackmq::detail
