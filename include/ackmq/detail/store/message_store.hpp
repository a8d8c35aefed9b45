#pragma once
// ackmq internals: the message store. The CommitLog, the ConsumeQueues, the topic table and the offset table
// under one store lock (RocketMQ's put-message lock), with bounded memory: segments are reclaimed when
// expired, when the consumed history passes its bound, or when the store is full and every group has
// consumed them.
//
// The store has no threads and knows nothing of groups or clients; the broker's services drive it.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <ackmq/broker_config.hpp>
#include <ackmq/detail/spin.hpp>
#include <ackmq/detail/store/append_journal.hpp>
#include <ackmq/detail/store/commit_log.hpp>
#include <ackmq/detail/store/consume_queue.hpp>
#include <ackmq/detail/store/materialize.hpp>
#include <ackmq/detail/store/offset_table.hpp>
#include <ackmq/detail/store/pinned_records.hpp>
#include <ackmq/detail/store/read_gate.hpp>
#include <ackmq/detail/store/record.hpp>
#include <ackmq/detail/store/retention.hpp>
#include <ackmq/detail/store/topic_table.hpp>
#include <ackmq/detail/store/written_records.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

struct StoreOptions {
  std::size_t segmentBytes = std::size_t{16} << 20;
  std::size_t maxStoreBytes = std::size_t{1} << 30;
  std::int64_t fileReservedMillis = 72LL * 3600 * 1000;
  StoreFullPolicy fullPolicy = StoreFullPolicy::WAIT;
  std::size_t maxConsumedHistoryBytes = std::size_t{64} << 20;
};

/// Counters of the store, for inspection.
struct StoreStats {
  std::size_t allocatedBytes = 0;       ///< bytes held by CommitLog segments and the spare
  std::size_t segments = 0;             ///< segments held
  std::uint64_t storedMessages = 0;     ///< records ever written (every physical copy)
  std::uint64_t reclaimedSegments = 0;  ///< segments freed
  std::uint64_t droppedMessages = 0;    ///< unconsumed messages lost to StoreFullPolicy::DROP_OLDEST
  std::uint64_t rejectedAppends = 0;    ///< appends refused because the store was full
  /// Bytes of the sealed segments at the front that every group has consumed: the history kept for replay,
  /// bounded by maxConsumedHistoryBytes (for a moment more: until a consumer that caught up falls idle or
  /// commits, the next segment opens, or clean-up runs).
  std::size_t retainedConsumedBytes = 0;
  /// Bytes of every other segment: from the first one some group has not consumed (or that parks a delayed
  /// message) to the active one. Bounded only by maxStoreBytes.
  std::size_t backlogBytes = 0;
  std::size_t residentSegments = 0;  ///< segments whose memory is held: every segment, and the spare
};

/// The outcome of an append.
struct AppendResult {
  ResponseCode code = ResponseCode::SUCCESS;
  std::int64_t queueOffset = -1;
  std::int64_t commitLogOffset = -1;
  ConsumeQueue* queue = nullptr;
  std::int64_t journalEnd = -1;  // a durable store's: the journal end after the records (AppendJournal)
  std::string remark;            // why, when refused
  bool storeFull = false;        // refused because unconsumed messages fill maxStoreBytes (SYSTEM_BUSY)
  bool ok() const noexcept { return code == ResponseCode::SUCCESS; }
};

/// Thread safety: thread-safe.
template <class Body>
class MessageStore {
 public:
  explicit MessageStore(StoreOptions options) : options_(options), log_(options.segmentBytes) {}
  MessageStore(const MessageStore&) = delete;
  MessageStore& operator=(const MessageStore&) = delete;

  // ------------------------------------------------------------------------------------------------ topics

  TopicEntry* findTopic(std::string_view name) const { return topics_.find(name); }

  /// The topic with at least `queueNums` queues, created or grown as needed. Idempotent. `changed` (if given)
  /// tells whether queues were added.
  TopicEntry& ensureTopic(std::string_view name, int queueNums, bool* changed = nullptr) {
    bool created = false;
    TopicEntry& t = topics_.getOrCreate(name, created);
    if (changed != nullptr) *changed = false;
    if (t.queueNums.load(std::memory_order_acquire) >= queueNums) return t;
    if (changed != nullptr) *changed = true;
    std::lock_guard lock(mutex_);
    t.queueAt.reserve(static_cast<std::size_t>(queueNums));  // then push_back below cannot throw
    while (static_cast<int>(t.queues.size()) < queueNums) {
      ConsumeQueue& q = t.queues.emplace_back();
      q.topic = &t;
      q.queueId = static_cast<int>(t.queues.size()) - 1;
      t.queueAt.push_back(&q);
    }
    t.queueNums.store(static_cast<int>(t.queues.size()), std::memory_order_release);
    return t;
  }

  std::vector<TopicEntry*> topics() const { return topics_.all(); }

  /// The store lock, for a broker service whose bookkeeping an append reads under it (the arrival lists).
  SpinThenBlockMutex& storeLock() noexcept { return mutex_; }

  OffsetTable& offsets() noexcept { return offsets_; }
  const OffsetTable& offsets() const noexcept { return offsets_; }

  // ------------------------------------------------------------------------------------------------ writes

  /// A view of the store while its lock is held; see locked().
  class Locked {
   public:
    explicit Locked(MessageStore& s) noexcept : s_(s) {}

    const RecordHeader* find(std::int64_t commitLogOffset) noexcept { return s_.log_.find(commitLogOffset); }
    Segment* segmentOf(const RecordHeader& h) noexcept { return s_.log_.segmentOf(h.commitLogOffset); }

    /// Appends one record. Fails with SYSTEM_BUSY when the store is full of unconsumed messages.
    /// An `internal` append (the broker moving a message it already holds: a re-put, a retry or dead-letter
    /// copy) may use one segment beyond maxStoreBytes, so that a message parked in the oldest segment can
    /// always come due and free that segment.
    AppendResult append(TopicEntry& topic, int queueId, const RecordSource<Body>& src, std::int64_t storeTs,
                        bool internal = false) {
      return appendAll(topic, queueId, std::span<const RecordSource<Body>>(&src, 1), storeTs, internal);
    }
    /// Appends records to one queue with consecutive offsets: all of them or none.
    AppendResult appendAll(TopicEntry& topic, int queueId, std::span<const RecordSource<Body>> srcs,
                           std::int64_t storeTs, bool internal = false) {
      AppendResult r = s_.appendLocked(topic, queueId, srcs, storeTs, internal);
      if (r.code == kPinned) {
        r.code = ResponseCode::SYSTEM_BUSY;
        r.remark = "the oldest segment is being read; try again";
      }
      return r;
    }

    /// Puts back a record a durable store kept, at its own queue offset, as an internal append that the
    /// journal does not see. A record at or below what the queue already holds is skipped (nullptr result
    /// queue); a gap before it (history the journal let go) moves the queue's start up to it.
    AppendResult replay(TopicEntry& topic, int queueId, const RecordSource<Body>& src, std::int64_t storeTs,
                        std::int64_t queueOffset) {
      ConsumeQueue* cq = queue(topic, queueId);
      if (cq == nullptr || cq->maxOffset() > queueOffset) return AppendResult{};
      if (cq->maxOffset() < queueOffset) {
        cq->trimBelow(queueOffset);
        s_.offsets_.raiseTo(topic, queueId, queueOffset);
      }
      AppendJournal* journal = std::exchange(s_.journal_, nullptr);
      AppendResult r = s_.appendLocked(topic, queueId, std::span<const RecordSource<Body>>(&src, 1), storeTs,
                                       /*internal=*/true);
      s_.journal_ = journal;
      return r;
    }

    ConsumeQueue* queue(TopicEntry& topic, int queueId) noexcept {
      if (queueId < 0 || queueId >= static_cast<int>(topic.queueAt.size())) return nullptr;
      return topic.queueAt[static_cast<std::size_t>(queueId)];
    }

    /// Takes up to `maxNums` records of `queue` from `offset` on for which `accept(record)` holds, scanning
    /// at most `maxScan` entries, pinning their segments. Returns the offset after the last entry scanned.
    template <class Accept>
    std::int64_t take(ConsumeQueue& queue, std::int64_t offset, int maxNums, std::int64_t maxScan,
                      PinnedRecords& out, Accept&& accept) {
      const std::int64_t end = std::min(queue.publishedMax.load(std::memory_order_relaxed), offset + maxScan);
      std::int64_t o = std::max(offset, queue.minOffset.load(std::memory_order_relaxed));
      Segment* last = nullptr;
      for (; o < end && static_cast<int>(out.records.size()) < maxNums; ++o) {
        const RecordHeader* h = queue.at(o);
        if (!accept(*h)) continue;
        if (last == nullptr || !last->contains(h->commitLogOffset)) {
          last = s_.log_.segmentOf(h->commitLogOffset);
          last->pins.fetch_add(1, std::memory_order_relaxed);
          out.pinned.push_back(last);
        }
        out.records.push_back(h);
      }
      return o;
    }

   private:
    MessageStore& s_;
  };

  /// Runs f(Locked&) with the store lock held.
  template <class F>
  decltype(auto) locked(F&& f) {
    std::lock_guard lock(mutex_);
    Locked view(*this);
    return f(view);
  }

  /// Appends one record, waiting briefly if the segment to reclaim is being read.
  AppendResult append(TopicEntry& topic, int queueId, const RecordSource<Body>& src, std::int64_t storeTs) {
    return appendAll(topic, queueId, std::span<const RecordSource<Body>>(&src, 1), storeTs);
  }
  AppendResult appendAll(TopicEntry& topic, int queueId, std::span<const RecordSource<Body>> srcs,
                         std::int64_t storeTs) {
    return appendAllWith(
        topic, queueId, srcs, storeTs, [] {}, [](const AppendResult&) noexcept {});
  }
  /// append(), with `before()` run under the store lock ahead of each attempt (it may throw; nothing is
  /// stored then) and `after(result)` run under it after each attempt, stored or not (it must not throw; a
  /// throwing append is an attempt that stored nothing).
  template <class Before, class After>
  AppendResult appendWith(TopicEntry& topic, int queueId, const RecordSource<Body>& src, std::int64_t storeTs,
                          Before&& before, After&& after) {
    return appendAllWith(topic, queueId, std::span<const RecordSource<Body>>(&src, 1), storeTs, before,
                         after);
  }
  template <class Before, class After>
  AppendResult appendAllWith(TopicEntry& topic, int queueId, std::span<const RecordSource<Body>> srcs,
                             std::int64_t storeTs, Before&& before, After&& after) {
    AppendResult r;  // one result, filled in place and returned by name: no copy of it on the way out
    for (int spins = 0;; ++spins) {
      {
        std::lock_guard lock(mutex_);
        before();
        if (spins > 0) r = AppendResult{};
        appendOnce(r, topic, queueId, srcs, storeTs, after);
        after(r);
        if (r.code != kPinned || spins > 100000) {
          if (r.code == kPinned) r.code = ResponseCode::SYSTEM_BUSY;
          return r;
        }
      }
      std::this_thread::yield();  // a reader holds the oldest segment for a few microseconds
    }
  }

  /// Where appends are journaled from now on; nullptr for nowhere (an in-memory broker).
  void setJournal(AppendJournal* journal) {
    std::lock_guard lock(mutex_);
    journal_ = journal;
  }

  /// Where the CommitLog sends the pages it is about to write (see PageWarmSink); nullptr for nowhere.
  void setPageWarmer(PageWarmSink* sink) {
    std::lock_guard lock(mutex_);
    log_.setWarmer(sink);
  }

  /// Reclaims every sealed segment past fileReservedTime (RocketMQ CleanCommitLogService), then consumed
  /// history beyond its bound (messages consumed since the last segment was opened). Returns how many.
  std::size_t reclaimExpired(std::int64_t now) {
    std::lock_guard lock(mutex_);
    std::size_t n = trimHistory(false);
    while (log_.segments().size() > 1) {
      Segment& s = log_.segments().front();
      if (s.pins.load(std::memory_order_acquire) != 0 || s.pendingParked.load(std::memory_order_acquire) != 0)
        break;
      if (s.lastStoreTimestamp + options_.fileReservedMillis > now) break;
      reclaimOldest(false);
      ++n;
    }
    return n + trimHistory(false);
  }

  /// Reclaims consumed history beyond its bound now, when the sealed segments hold more than the bound. A
  /// consumer that has caught up calls it before it sleeps: history consumed in a burst is then given back
  /// at once, not when the next segment opens or the periodic clean-up comes. One relaxed load while under
  /// the bound, which is the steady state. Must not be called while holding records of a read.
  void trimHistoryIfOver() {
    if (sealedBytes_.load(std::memory_order_relaxed) <= options_.maxConsumedHistoryBytes) return;
    std::lock_guard lock(mutex_);
    trimHistory(false);
  }

  // ------------------------------------------------------------------------------------------------ reads

  /// Takes up to `maxNums` records of `queue` from `offset` on for which `accept(record)` holds, scanning
  /// at most `maxScan` entries, without the store lock (RocketMQ reads its ConsumeQueue and CommitLog without
  /// the put-message lock, so consumers never hold up producers). The records stay valid until
  /// out.release(): the reader holds the read gate, which reclamation waits out; it must not append to this
  /// store before releasing them. Returns the offset after the last entry scanned.
  template <class Accept>
  std::int64_t read(ConsumeQueue& queue, std::int64_t offset, int maxNums, std::int64_t maxScan,
                    PinnedRecords& out, Accept&& accept) {
    if (out.gate == nullptr) {
      out.ticket = gate_.enter();
      out.gate = &gate_;
    }
    // Where a pull takes the message just appended (a conversation: one message at a time), the appender's
    // processor holds publishedMax, the entry and the record, and each load that needs one of them waits for
    // a transfer. Loaded one after the other (publishedMax, then the entry it covers, then the record the
    // entry points to), that is three transfers in a row; here the entry and the record are asked for first
    // (the record by the hint beside publishedMax), so that the three overlap.
    queue.prefetchEntry(offset);
    // publishedMax before minOffset and the entries: what it publishes is visible, chunks included, and a
    // minimum raised meanwhile only shortens the walk.
    const std::int64_t end = std::min(queue.publishedMax.load(std::memory_order_acquire), offset + maxScan);
    if (end > offset && end - offset <= maxNums)
      queue.prefetchLastRecord();  // the pull reaches the last record
    std::int64_t o = std::max(offset, queue.minOffset.load(std::memory_order_acquire));
    for (; o < end && static_cast<int>(out.records.size()) < maxNums; ++o) {
      const RecordHeader* h = queue.at(o);
      if (accept(*h)) out.records.push_back(h);
    }
    return o;
  }

  std::int64_t minOffset(const TopicEntry& topic, int queueId) const {
    std::lock_guard lock(mutex_);
    if (queueId < 0 || queueId >= static_cast<int>(topic.queues.size())) return 0;
    return topic.queues[static_cast<std::size_t>(queueId)].minOffset.load(std::memory_order_relaxed);
  }
  std::int64_t maxOffset(const TopicEntry& topic, int queueId) const {
    std::lock_guard lock(mutex_);
    if (queueId < 0 || queueId >= static_cast<int>(topic.queues.size())) return 0;
    return topic.queues[static_cast<std::size_t>(queueId)].maxOffset();
  }
  std::int64_t offsetForTimestamp(const TopicEntry& topic, int queueId, std::int64_t timestamp) const {
    std::lock_guard lock(mutex_);
    if (queueId < 0 || queueId >= static_cast<int>(topic.queues.size())) return 0;
    return topic.queues[static_cast<std::size_t>(queueId)].offsetForTimestamp(timestamp);
  }

  /// Calls f(record) for every retained record of the topic, queue by queue, in queue order.
  template <class F>
  void forEachInTopic(const TopicEntry& topic, F&& f) const {
    std::lock_guard lock(mutex_);
    for (const ConsumeQueue& q : topic.queues) {
      for (std::int64_t o = q.minOffset.load(std::memory_order_relaxed); o < q.maxOffset(); ++o)
        f(*q.at(o));
    }
  }

  /// Calls f(record) for retained records whose msgId is `id`, newest first, until f returns true.
  template <class F>
  void findByMsgId(const MessageId& id, F&& f) const {
    std::lock_guard lock(mutex_);
    const auto& segs = log_.segments();
    for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
      catchUpIndexes(*it);
      bool stop = false;
      // Collect this segment's matches, then report them newest first.
      std::vector<const RecordHeader*> hits;
      it->idIndex.find(id.hash(), [&](std::size_t pos) {
        const RecordHeader* h = it->at(pos);
        if (h->msgId == id) hits.push_back(h);
        return false;
      });
      std::sort(hits.begin(), hits.end(), [](const RecordHeader* a, const RecordHeader* b) {
        return a->commitLogOffset > b->commitLogOffset;
      });
      for (const RecordHeader* h : hits) {
        if (f(*h)) {
          stop = true;
          break;
        }
      }
      if (stop) return;
    }
  }

  /// Calls f(record) for retained records carrying `key` among their KEYS, oldest first, until f returns
  /// true.
  template <class F>
  void findByKey(std::string_view key, F&& f) const {
    std::lock_guard lock(mutex_);
    const std::uint64_t hash = hashKey(key);
    for (const Segment& s : log_.segments()) {
      catchUpIndexes(s);
      std::vector<const RecordHeader*> hits;
      s.keyIndex.find(hash, [&](std::size_t pos) {
        const RecordHeader* h = s.at(pos);
        if (hasKey(*h, key)) hits.push_back(h);
        return false;
      });
      std::sort(hits.begin(), hits.end(), [](const RecordHeader* a, const RecordHeader* b) {
        return a->commitLogOffset < b->commitLogOffset;
      });
      hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
      for (const RecordHeader* h : hits) {
        if (f(*h)) return;
      }
    }
  }

  /// Calls f(record) for the record at `commitLogOffset`, if retained.
  template <class F>
  bool withRecord(std::int64_t commitLogOffset, F&& f) {
    std::lock_guard lock(mutex_);
    const RecordHeader* h = log_.find(commitLogOffset);
    if (h == nullptr) return false;
    f(*h);
    return true;
  }

  StoreStats stats() const {
    std::lock_guard lock(mutex_);
    StoreStats s = stats_;
    s.allocatedBytes = log_.allocatedBytes();
    s.segments = log_.segments().size();
    ConsumedPrefix history;
    extendConsumedPrefix(history, log_.segments(), offsets_);
    s.retainedConsumedBytes = history.bytes;
    s.backlogBytes = log_.allocatedBytes() - log_.spareBytes() - history.bytes;
    s.residentSegments = s.segments + (log_.hasSpare() ? 1 : 0);
    return s;
  }

 private:
  // Internal outcome: the oldest segment must be reclaimed but a reader pins it; retry after unlocking.
  static constexpr auto kPinned = static_cast<ResponseCode>(-1000);

  static bool hasKey(const RecordHeader& h, std::string_view key) {
    bool found = false;
    forEachKey(h, [&](std::string_view k) { found = found || k == key; });
    return found;
  }

  // One attempt of appendAllWith; a throw tells `after` that nothing was stored before it goes on.
  template <class After>
  void appendOnce(AppendResult& result, TopicEntry& topic, int queueId,
                  std::span<const RecordSource<Body>> srcs, std::int64_t storeTs, After& after) {
    try {
      appendLockedInto(result, topic, queueId, srcs, storeTs, false);
    } catch (...) {
      AppendResult none;
      none.code = ResponseCode::SYSTEM_ERROR;
      after(none);
      throw;
    }
  }

  AppendResult appendLocked(TopicEntry& topic, int queueId, std::span<const RecordSource<Body>> srcs,
                            std::int64_t storeTs, bool internal) {
    AppendResult result;
    appendLockedInto(result, topic, queueId, srcs, storeTs, internal);
    return result;
  }

  // appendLocked, into `result`, which is a default AppendResult.
  void appendLockedInto(AppendResult& result, TopicEntry& topic, int queueId,
                        std::span<const RecordSource<Body>> srcs, std::int64_t storeTs, bool internal) {
    if (queueId < 0 || queueId >= static_cast<int>(topic.queueAt.size())) {  // a vector's size: no deque walk
      result.code = ResponseCode::SYSTEM_ERROR;
      result.remark = "queueId " + std::to_string(queueId) + " is out of range for topic " + topic.name +
                      " (" + std::to_string(topic.queueAt.size()) + " queues)";
      return;
    }
    ConsumeQueue& cq = *topic.queueAt[static_cast<std::size_t>(queueId)];

    // Phase 1: write every record. Nothing is visible until phase 2, so a failure leaves no trace.
    WrittenRecords written;
    written.reserve(srcs.size());
    for (const RecordSource<Body>& src : srcs) {
      const std::size_t size = src.size();
      const bool fits = log_.fitsActive(size);
      // An application append must also respect the bound when an internal append has just gone past it.
      if (!fits || (!internal && log_.allocatedBytes() > options_.maxStoreBytes)) {
        const std::size_t need = fits ? 0 : log_.newSegmentBytes(size);
        const ResponseCode room = makeRoom(need, storeTs, internal ? options_.segmentBytes : 0);
        if (room != ResponseCode::SUCCESS) {
          abandonWritten(written);
          result.code = room;
          if (room == ResponseCode::MESSAGE_ILLEGAL) {
            result.remark = "a record of " + std::to_string(size) + " bytes can never fit maxStoreBytes " +
                            std::to_string(options_.maxStoreBytes);
          } else if (room == ResponseCode::SYSTEM_BUSY) {
            ++stats_.rejectedAppends;
            result.storeFull = true;
            result.remark = "the store is full: " + std::to_string(log_.allocatedBytes()) +
                            " bytes hold messages not yet consumed by every group (maxStoreBytes " +
                            std::to_string(options_.maxStoreBytes) + ")";
          }
          return;
        }
        if (!log_.fitsActive(size)) {
          // The history bound is kept here, where a segment is opened, not on every append. Only before
          // the first record: a sealed segment holding this append's unpublished records must stay.
          if (written.size() == 0) trimHistory(true);
          log_.openSegment(size);
          noteSealed();
        }
      }
      const std::size_t pos = log_.reserve(size);
      Segment& seg = log_.active();
      RecordHeader* h;
      try {
        h = writeRecord<Body>(seg.at(pos), src, &topic, queueId);
      } catch (...) {
        log_.abandon(pos, size);
        abandonWritten(written);
        throw;
      }
      h->storeTimestamp = storeTs;
      h->commitLogOffset = seg.baseOffset + static_cast<std::int64_t>(pos);
      written.push(h, &seg);
    }

    bool publish = true;
    if (journal_ != nullptr) {
      if (!journalWritten(result, cq, written)) return;
      publish = !journal_->holdsBack();
    }

    // Phase 2: publish in order.
    for (std::size_t i = 0; i < written.size(); ++i) {
      auto [h, seg] = written[i];
      h->queueOffset = cq.maxOffset();
      cq.push(h, publish);
      ++seg->records;
      seg->lastStoreTimestamp = storeTs;
      if (cq.lastSegment != seg) {
        cq.lastSegment = seg;
        cq.lastSegmentSlot = seg->queueLastOffsets.size();
        seg->queueLastOffsets.emplace_back(&cq, h->queueOffset);
      } else {
        seg->queueLastOffsets[cq.lastSegmentSlot].second = h->queueOffset;
      }
      if (parksRecords(topic.kind)) seg->pendingParked.fetch_add(1, std::memory_order_relaxed);
      ++stats_.storedMessages;
    }
    result.queueOffset = written[0].first->queueOffset;
    result.commitLogOffset = written[0].first->commitLogOffset;
    result.queue = &cq;
  }

  // Hands what phase 1 wrote to the journal; false (the records abandoned, `result` saying why) when it
  // could not keep them.
  bool journalWritten(AppendResult& result, ConsumeQueue& cq, const WrittenRecords& written) {
    try {
      result.journalEnd = journal_->write(cq, cq.maxOffset(), written);
      return true;
    } catch (const std::exception& e) {
      abandonWritten(written);
      result.code = ResponseCode::SYSTEM_ERROR;
      result.remark = std::string("the message could not be written to the CommitLog: ") + e.what();
      return false;
    }
  }

  void abandonWritten(const WrittenRecords& written) noexcept {
    for (std::size_t i = 0; i < written.size(); ++i) {
      RecordHeader* h = written[i].first;
      destroyRecordBody<Body>(*h);
      h->topic = nullptr;
    }
  }

  // Calls f(key) for each of the record's KEYS (space-separated).
  template <class F>
  static void forEachKey(const RecordHeader& h, F&& f) {
    if (h.propertiesSize == 0) return;
    const auto keys = findProperty(h.encodedProperties(), MessageConst::PROPERTY_KEYS);
    if (!keys) return;
    std::string_view rest = *keys;
    while (!rest.empty()) {
      const std::size_t sp = rest.find(' ');
      if (sp != 0) f(rest.substr(0, sp));
      if (sp == std::string_view::npos) break;
      rest.remove_prefix(sp + 1);
    }
  }

  // Brings the segment's msgId and key indexes up to its last record. Appends do not index: an insert is a
  // write to a random slot of a table of megabytes, a cache miss on every send for the sake of lookups that
  // are rare. The first lookup after a run of appends indexes what they wrote instead, much as RocketMQ
  // builds its IndexFile in the dispatch after the put (CommitLogDispatcherBuildIndex), not in putMessage.
  // Called under the store lock.
  void catchUpIndexes(const Segment& seg) const {
    if (seg.indexedTo == seg.used) return;
    auto live = [](const RecordHeader& h) { return h.queueOffset >= 0; };  // published, not abandoned
    std::size_t newIds = 0;
    std::size_t newKeys = 0;
    seg.forEachRecordFrom(seg.indexedTo, [&](const RecordHeader& h, std::size_t) {
      if (!live(h)) return;
      ++newIds;
      forEachKey(h, [&](std::string_view) { ++newKeys; });
    });
    // An index that would pass its load factor is sized for twice what it must hold and refilled.
    std::size_t idFrom = seg.indexedTo;
    std::size_t keyFrom = seg.indexedTo;
    if (!seg.idIndex.fits(seg.idIndex.size() + newIds)) {
      seg.idIndex.presize(2 * (seg.idIndex.size() + newIds));
      idFrom = 0;
    }
    if (newKeys > 0 && !seg.keyIndex.fits(seg.keyIndex.size() + newKeys)) {
      seg.keyIndex.presize(2 * (seg.keyIndex.size() + newKeys));
      keyFrom = 0;
    }
    seg.forEachRecordFrom(std::min(idFrom, keyFrom), [&](const RecordHeader& h, std::size_t pos) {
      if (!live(h)) return;
      if (pos >= idFrom) seg.idIndex.insert(h.msgId.hash(), pos);
      if (pos >= keyFrom)
        forEachKey(h, [&](std::string_view key) { seg.keyIndex.insert(hashKey(key), pos); });
    });
    seg.indexedTo = seg.used;
  }

  // Frees segments until `need` more bytes fit under maxStoreBytes (plus `allowance` for internal appends).
  ResponseCode makeRoom(std::size_t need, std::int64_t now, std::size_t allowance) {
    if (need > options_.maxStoreBytes) return ResponseCode::MESSAGE_ILLEGAL;
    while (log_.allocatedBytes() + log_.growthFor(need) > options_.maxStoreBytes + allowance) {
      if (log_.segments().empty()) return ResponseCode::SYSTEM_BUSY;
      Segment& oldest = log_.segments().front();
      if (oldest.pins.load(std::memory_order_acquire) != 0) return kPinned;
      if (reclaimable(oldest, now)) {
        reclaimOldest(false);
      } else if (options_.fullPolicy == StoreFullPolicy::DROP_OLDEST) {
        reclaimOldest(true);
      } else {
        return ResponseCode::SYSTEM_BUSY;
      }
    }
    return ResponseCode::SUCCESS;
  }

  bool reclaimable(const Segment& s, std::int64_t now) const {
    if (s.pendingParked.load(std::memory_order_acquire) != 0) return false;
    return s.lastStoreTimestamp + options_.fileReservedMillis <= now || segmentConsumed(s, offsets_);
  }

  // Reclaims consumed segments from the front while they hold more than maxConsumedHistoryBytes: history
  // kept for replay and lookups, bounded apart from the backlog. A segment a reader pins waits for the next
  // try. `sealing`: the active segment is about to be sealed, its records all published, and counts as
  // history already, so that the bound holds once the next segment is open. Store lock. Returns how many
  // were reclaimed.
  std::size_t trimHistory(bool sealing) {
    const std::size_t bound = options_.maxConsumedHistoryBytes;
    ConsumedPrefix p;
    extendConsumedPrefix(p, log_.segments(), offsets_, bound, sealing);
    std::size_t n = 0;
    while (p.bytes > bound && log_.segments().size() > 1) {  // never the active segment
      Segment& oldest = log_.segments().front();
      if (oldest.pins.load(std::memory_order_acquire) != 0) break;
      p.bytes -= oldest.capacity;
      --p.segments;
      reclaimOldest(false);
      ++n;
      extendConsumedPrefix(p, log_.segments(), offsets_, bound, sealing);
    }
    return n;
  }

  // Unpublishes the oldest segment's entries from their queues, waits out the readers that might still be
  // copying them (they read without the store lock), then frees the segment, or keeps its memory as the
  // spare that the next segment is written into.
  void reclaimOldest(bool forced) {
    Segment& s = log_.segments().front();
    for (auto& [cq, last] : s.queueLastOffsets) {
      const std::int64_t min = cq->minOffset.load(std::memory_order_relaxed);
      if (forced && !isBrokerInternal(cq->topic->kind)) {  // parked records are counted below
        const std::int64_t done = std::max(min, offsets_.minCommitted(*cq->topic, cq->queueId));
        if (last + 1 > done) stats_.droppedMessages += static_cast<std::uint64_t>(last + 1 - done);
      }
      cq->trimBelow(last + 1);
      offsets_.raiseTo(*cq->topic, cq->queueId, cq->minOffset.load(std::memory_order_relaxed));
      if (cq->lastSegment == &s) cq->lastSegment = nullptr;
    }
    if (forced) stats_.droppedMessages += static_cast<std::uint64_t>(s.pendingParked.load());
    gate_.synchronize();
    for (auto& [cq, last] : s.queueLastOffsets)
      cq->freeRetired();
    log_.popOldest();
    noteSealed();
    if (journal_ != nullptr)
      journal_->reclaimedBelow(log_.segments().empty() ? INT64_MAX : log_.segments().front().baseOffset);
    ++stats_.reclaimedSegments;
  }

  // Publishes how many bytes the sealed segments hold, for trimHistoryIfOver's check without the lock.
  void noteSealed() noexcept {
    const std::size_t active = log_.segments().empty() ? 0 : log_.active().capacity;
    sealedBytes_.store(log_.allocatedBytes() - log_.spareBytes() - active, std::memory_order_relaxed);
  }

  const StoreOptions options_;
  // The store lock, and the counters every append updates under it, in one cache line: the next appender,
  // often on another processor, takes over one line, not two.
  alignas(kCacheLine) mutable SpinThenBlockMutex mutex_;  // guards log_, every ConsumeQueue's entries, stats_
  StoreStats stats_;
  ReadGate gate_;                            // lock-free readers (read()); reclamation waits them out
  std::atomic<std::size_t> sealedBytes_{0};  // every segment's bytes but the active one's and the spare's
  TopicTable topics_;
  OffsetTable offsets_;
  CommitLog<Body> log_;
  AppendJournal* journal_ = nullptr;  // a durable broker's; store lock
};

}  // namespace ackmq::detail
