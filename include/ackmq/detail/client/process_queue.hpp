#pragma once
// ackmq internals: a consumer's in-flight messages of one queue (RocketMQ ProcessQueue).
//
// Pulled messages wait in a window, in queue-offset order, until they are consumed. The committed offset is
// the lowest offset still in the window, or the end of what was pulled when the window is empty
// (ProcessQueue.removeMessage): it never passes a message still being consumed or waiting for a local retry.
//
// Entries are recycled: a message is materialised into an entry whose strings keep their capacity, so steady
// consumption allocates nothing per message.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include <ackmq/detail/broker/client_api.hpp>
#include <ackmq/detail/client/offset_store.hpp>
#include <ackmq/detail/platform.hpp>
#include <ackmq/detail/spin.hpp>
#include <ackmq/message.hpp>
#include <ackmq/message_queue.hpp>

namespace ackmq::detail {

/// Told when a queue has news (messages arrived), on the appending thread, in the two steps of an
/// ArrivalListener: onQueueNews under the store lock (true: the rest must wait for the follow-up), then, if
/// asked, onQueueNewsFollowUp without it.
template <class Queue>
class QueueWaker {
 public:
  virtual bool onQueueNews(Queue& queue) noexcept = 0;
  virtual void onQueueNewsFollowUp(Queue& queue) noexcept = 0;

 protected:
  ~QueueWaker() = default;
};

template <class Body>
struct ConsumeEntry {
  // QUEUED: waiting for a listener call; RUNNING: in one; WAITING: failed, waiting for a local re-consume;
  // CONSUMED: orderly with autoCommit off, consumed but not yet committed; DONE: finished.
  enum class State : std::uint8_t { QUEUED, RUNNING, WAITING, CONSUMED, DONE };

  BasicMessageExt<Body> msg;
  std::int64_t offset = 0;
  std::int64_t consumeStart = 0;  // when the listener got it (coarse steady ms), for the consume timeout
  std::size_t bytes = 0;          // for pullThresholdSizeForQueue
  State state = State::QUEUED;
  bool busy = false;  // a consume request holds it: not to be recycled yet
  // The consume timeout sent it back while the listener still had it. Set under the queue's mutex; the
  // listener's thread reads it without.
  std::atomic<bool> expired{false};
};

/// A run of entries a consume request holds: a few in place, more on the heap. A pull of one queue usually
/// hands each listener thread one or two messages, and a request then costs no allocation.
template <class Entry>
class EntryRun {
 public:
  EntryRun() = default;
  EntryRun(Entry* const* first, std::size_t n) : n_(n) {
    if (n <= kInline) {
      std::copy(first, first + n, inline_.begin());
    } else {
      heap_.assign(first, first + n);
    }
  }
  explicit EntryRun(std::vector<Entry*>&& entries) : heap_(std::move(entries)), n_(heap_.size()) {}

  Entry* const* data() const noexcept { return heap_.empty() ? inline_.data() : heap_.data(); }
  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  Entry* const* begin() const noexcept { return data(); }
  Entry* const* end() const noexcept { return data() + n_; }

 private:
  static constexpr std::size_t kInline = 4;
  std::array<Entry*, kInline> inline_{};
  std::vector<Entry*> heap_;  // used when it holds anything
  std::size_t n_ = 0;
};

/// Thread safety: `mutex` guards the window and the counters; `dirty`, `dropped` and `flowControlled` are
/// atomics; pullOffset and the stash of free entries belong to whoever holds the consumer's dispatch lock.
///
/// Layout: an appending thread reads this object's first lines (onArrival: the vtable pointer, the flags,
/// the waker) and writes `dirty`; the consumer's threads write what starts at pullOffset, on lines of its
/// own, and the shared_ptr's counts, which make_shared places before the object, on the line before it. So
/// an arrival moves one line from the consumer to the appender and back, not three.
template <class Body>
class alignas(kCacheLine) ProcessQueue final : public ArrivalListener,
                                               public std::enable_shared_from_this<ProcessQueue<Body>> {
 public:
  using Entry = ConsumeEntry<Body>;

  ProcessQueue(MessageQueue queue, QueueHandle consumeQueue, OffsetSlot offsetSlot,
               const SubscriptionFilter& subscriptionFilter, QueueWaker<ProcessQueue>& waker,
               std::int64_t startOffset)
      : mq(std::move(queue)),
        cq(consumeQueue),
        filter(subscriptionFilter),
        waker_(waker),
        pullOffset(startOffset),
        pulledEnd_(startOffset),
        offset_(offsetSlot) {}

  // ArrivalListener: called by the broker as messages arrive in this queue. A queue paused by flow control
  // has nothing to pull until consumption releases it, and the release marks it dirty and wakes the
  // dispatcher: arrivals meanwhile would only wake it for a pull that is refused.
  bool onArrival() noexcept override {
    if (flowControlled.load(std::memory_order_seq_cst)) return false;
    dirty.store(true, std::memory_order_seq_cst);
    if (!waker_.onQueueNews(*this)) return false;
    followUpOwed.store(true, std::memory_order_release);
    return true;
  }
  // Another listener of the queue may have asked for the follow-ups: this one runs only when it asked. An
  // appender whose follow-up finds the flag taken leaves it to the one that took it, which runs after.
  void onArrivalFollowUp() noexcept override {
    if (!followUpOwed.load(std::memory_order_relaxed) ||
        !followUpOwed.exchange(false, std::memory_order_acq_rel))
      return;
    waker_.onQueueNewsFollowUp(*this);
  }

  const MessageQueue mq;
  const QueueHandle cq;
  const SubscriptionFilter& filter;

 private:
  QueueWaker<ProcessQueue>& waker_;

 public:
  std::atomic<bool> dirty{true};          // there may be something to pull
  std::atomic<bool> followUpOwed{false};  // onArrival asked for onArrivalFollowUp
  std::atomic<bool> dropped{false};       // rebalanced away or shut down: results are discarded
  // Pulling paused until consumption frees room; written under `mutex`, read by arrivals without it.
  std::atomic<bool> flowControlled{false};
  alignas(kCacheLine) std::int64_t pullOffset;  // next offset to pull; dispatcher only

  // ------------------------------------------------------------------------- under `mutex` (lock it first)
  SpinThenBlockMutex mutex;
  bool consuming = false;  // orderly: this queue's strand is queued or running
  bool suspended = false;  // orderly: blocked by a failed batch until its suspend time
  bool releasing = false;  // orderly: rebalanced away; released once the batch in flight finishes

  /// Orderly: the first `n` QUEUED entries in offset order, marked RUNNING.
  void takeOrderly(std::size_t n, std::vector<Entry*>& out) {
    out.clear();
    for (Entry* e : window_) {
      if (out.size() == n) break;
      if (e->state != Entry::State::QUEUED) continue;
      e->state = Entry::State::RUNNING;
      out.push_back(e);
    }
  }
  bool hasQueued() const {
    for (const Entry* e : window_) {
      if (e->state == Entry::State::QUEUED) return true;
    }
    return false;
  }
  /// Orderly: marks every CONSUMED entry with `to` (COMMIT: DONE; ROLLBACK: QUEUED).
  void settleConsumed(typename Entry::State to) {
    for (Entry* e : window_) {
      if (e->state == Entry::State::CONSUMED) e->state = to;
    }
  }

  /// Entries for `n` new messages (recycled where possible).
  void acquire(std::size_t n, std::vector<Entry*>& out) {
    out.clear();
    while (out.size() < n && !free_.empty()) {
      out.push_back(free_.back());
      free_.pop_back();
    }
    while (out.size() < n)
      out.push_back(newEntry());
  }
  // The puller's stash: free entries the puller (whoever holds the consumer's dispatch lock) takes without
  // the mutex. Only the puller touches it; refillStash also needs the mutex, for the free list.

  /// Moves `n` stashed entries to `out` (cleared first); false, taking none, when fewer are stashed.
  bool takeStashed(std::size_t n, std::vector<Entry*>& out) {
    out.clear();
    if (stash_.size() < n) return false;
    out.assign(stash_.end() - static_cast<std::ptrdiff_t>(n), stash_.end());
    stash_.resize(stash_.size() - n);
    return true;
  }
  /// Puts entries taken for a pull back in the stash, and clears `entries`.
  void stash(std::vector<Entry*>& entries) {
    stash_.insert(stash_.end(), entries.begin(), entries.end());
    entries.clear();
  }
  /// Tops the stash up to `target` entries from the free list, and to at least `reserve` with new entries
  /// when the free list runs short. Under `mutex`. The reserve keeps the next pull of a like size off the
  /// mutex where few entries circulate (one message at a time: the entry the listener still holds comes back
  /// only after this pull).
  void refillStash(std::size_t target, std::size_t reserve = 0) {
    while (stash_.size() < target && !free_.empty()) {
      stash_.push_back(free_.back());
      free_.pop_back();
    }
    try {
      while (stash_.size() < reserve)
        stash_.push_back(newEntry());
    } catch (const std::bad_alloc&) {
      // The reserve only saves the next pull a hold: without it, that pull takes its entries under the
      // mutex. An entry stored but not stashed is still owned, and freed with the queue.
    }
  }

  /// Appends pulled entries (in offset order) and records that everything below `pulledEnd` was pulled.
  void append(const std::vector<Entry*>& entries, std::size_t count, std::int64_t pulledEnd, bool busy) {
    for (std::size_t i = 0; i < count; ++i) {
      Entry* e = entries[i];
      e->state = Entry::State::QUEUED;
      e->busy = busy;
      e->expired.store(false, std::memory_order_relaxed);
      window_.push_back(e);
      ++cachedCount_;
      cachedBytes_ += e->bytes;
    }
    pulledEnd_ = pulledEnd;
  }

  /// Pops consumed entries off the front and recycles those no request holds. Returns the offset to commit.
  std::int64_t retireDone() {
    while (!window_.empty() && window_.front()->state == Entry::State::DONE) {
      Entry* e = window_.front();
      window_.pop_front();
      --cachedCount_;
      cachedBytes_ -= e->bytes;
      if (!e->busy) recycle(e);
    }
    return window_.empty() ? pulledEnd_ : window_.front()->offset;
  }

  /// A request is finished with `e`: it is consumed, or (`retryLater`) it waits for a local re-consume. An
  /// entry the consume timeout already expired is only recycled, once it has left the window.
  void complete(Entry* e, bool retryLater) {
    e->busy = false;
    if (e->expired.load(std::memory_order_relaxed)) {
      if (!inWindow(e)) recycle(e);
      return;
    }
    e->state = retryLater ? Entry::State::WAITING : Entry::State::DONE;
  }

  /// A request that will never run (discarded at shutdown) lets go of `e`, which stays unconsumed.
  void abandon(Entry* e) { e->busy = false; }

  /// Commits `offset` unless the queue was dropped (RocketMQ updateOffset with increaseOnly).
  void commitLocked(std::int64_t offset) {
    if (dropped.load(std::memory_order_acquire)) return;
    offset_.commitIncreasing(offset);
  }

  std::deque<Entry*>& window() noexcept { return window_; }
  std::size_t cachedCount() const noexcept { return cachedCount_; }
  std::size_t cachedBytes() const noexcept { return cachedBytes_; }
  std::int64_t span() const noexcept {
    return window_.empty() ? 0 : window_.back()->offset - window_.front()->offset;
  }
  std::int64_t committed() const noexcept { return offset_.committed(); }

 private:
  bool inWindow(const Entry* e) const {
    for (const Entry* w : window_) {
      if (w == e) return true;
    }
    return false;
  }
  Entry* newEntry() {
    storage_.push_back(std::make_unique<Entry>());
    return storage_.back().get();
  }
  void recycle(Entry* e) {
    // Keep memory bounded: a huge body's buffer is not kept for the next message.
    if constexpr (requires { e->msg.getBody().capacity(); }) {
      if (e->msg.getBody().capacity() > 64 * 1024) e->msg.setBody(Body());
    }
    free_.push_back(e);
  }

  std::deque<Entry*> window_;
  std::int64_t pulledEnd_;
  QueueOffset offset_;
  std::size_t cachedCount_ = 0;
  std::size_t cachedBytes_ = 0;
  std::vector<std::unique_ptr<Entry>> storage_;
  std::vector<Entry*> free_;
  std::vector<Entry*> stash_;  // the puller's; see takeStashed
};

}  // namespace ackmq::detail
