#pragma once
// ackmq internals: the ConsumeQueue. One per (topic, queue): the queue's messages in queue-offset order, each
// entry pointing at its record in the CommitLog. Queue offsets are consecutive; minOffset rises when the
// CommitLog reclaims the segment holding the queue's oldest entries.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <ackmq/detail/spin.hpp>
#include <ackmq/detail/store/record.hpp>

namespace ackmq::detail {

struct Segment;

struct ArrivalList;  // the broker's list of the consumers listening to a queue (detail/broker/arrivals.hpp)

/// Thread safety: written under the broker's store lock. Readers may also look without it, from inside the
/// store's read gate (see read_gate.hpp): publishedMax (acquire) bounds what is published, minOffset
/// (acquire) where the queue starts, and at(offset) for an offset between the two, publishedMax read first.
/// The entries live in chunks of 512; a chunk the queue no longer covers is retired, not freed, until the
/// store has waited out the readers that might still look at it (freeRetired).
struct alignas(kCacheLine) ConsumeQueue {
  ConsumeQueue() = default;
  ConsumeQueue(const ConsumeQueue&) = delete;
  ConsumeQueue& operator=(const ConsumeQueue&) = delete;
  ~ConsumeQueue() {
    freeRetired();
    if (Directory* d = dir_.load(std::memory_order_relaxed)) {
      for (std::int64_t c = firstChunk_; c <= lastChunk_; ++c)
        delete d->slot(c).load(std::memory_order_relaxed);
      delete d;
    }
  }

  TopicEntry* topic = nullptr;
  int queueId = 0;
  std::atomic<std::int64_t> minOffset{0};
  std::int64_t nextOffset = 0;                // the next offset to write; store lock only
  std::atomic<std::int64_t> publishedMax{0};  // == nextOffset, stored with release after each append
  // The record appended last and its size, on publishedMax's line: a reader that loads publishedMax has them
  // too, and can fetch that record while it still looks up the entry pointing to it (MessageStore::read).
  // Hints only, never dereferenced: relaxed, and possibly from different appends.
  std::atomic<const RecordHeader*> lastRecord{nullptr};
  std::atomic<std::uint32_t> lastRecordBytes{0};

  // Reclamation bookkeeping: the segment this queue last wrote into and its slot in that segment's
  // queueLastOffsets.
  const Segment* lastSegment = nullptr;
  std::size_t lastSegmentSlot = 0;

  // The consumers to tell of arrivals: set once, under the store lock, by the broker's arrival service; the
  // store only carries it.
  std::atomic<ArrivalList*> arrivals{nullptr};
  // Fault injection: while set, pulls from this queue find nothing.
  std::atomic<bool> stalled{false};

  /// The next offset to be written (RocketMQ getMaxOffsetInQueue). Store lock.
  std::int64_t maxOffset() const noexcept { return nextOffset; }

  /// The entry at `offset`, which lies in [minOffset, publishedMax): under the store lock, or inside the
  /// read gate with publishedMax loaded before this call.
  const RecordHeader* at(std::int64_t offset) const noexcept {
    const Directory* d = dir_.load(std::memory_order_acquire);
    const Chunk* c = d->slot(offset >> kChunkShift).load(std::memory_order_acquire);
    return c->entries[static_cast<std::size_t>(offset) & (kChunkEntries - 1)];
  }

  /// Starts fetching the cache line of the entry at `offset` (at or past minOffset) without waiting for it,
  /// if its chunk exists. Inside the read gate.
  void prefetchEntry(std::int64_t offset) const noexcept {
    const Directory* d = dir_.load(std::memory_order_acquire);
    if (d == nullptr) return;
    const Chunk* c = d->slot(offset >> kChunkShift).load(std::memory_order_acquire);
    if (c != nullptr) prefetchRead(&c->entries[static_cast<std::size_t>(offset) & (kChunkEntries - 1)]);
  }

  /// Starts fetching the record appended last (lastRecord), at most its first 8 cache lines, without waiting.
  void prefetchLastRecord() const noexcept {
    constexpr std::size_t kLine = 64;
    constexpr std::size_t kMaxLines = 8;
    const auto* first = reinterpret_cast<const char*>(lastRecord.load(std::memory_order_relaxed));
    if (first == nullptr) return;
    const std::size_t bytes = lastRecordBytes.load(std::memory_order_relaxed);
    const std::size_t lines =
        std::min(kMaxLines, (reinterpret_cast<std::uintptr_t>(first) % kLine + bytes + kLine - 1) / kLine);
    for (std::size_t k = 0; k < lines; ++k)
      prefetchRead(first + k * kLine);
  }

  /// Appends an entry at nextOffset; `publish`: readers see it now, else once publishTo() covers it (a
  /// durable store that shows records only once flushed). Store lock.
  void push(const RecordHeader* h, bool publish = true) {
    const std::int64_t chunk = nextOffset >> kChunkShift;
    if (chunk > lastChunk_) addChunk(chunk);
    Directory* d = dir_.load(std::memory_order_relaxed);
    d->slot(chunk)
        .load(std::memory_order_relaxed)
        ->entries[static_cast<std::size_t>(nextOffset) & (kChunkEntries - 1)] = h;
    ++nextOffset;
    lastRecord.store(h, std::memory_order_relaxed);
    lastRecordBytes.store(h->totalSize, std::memory_order_relaxed);
    if (publish) publishedMax.store(nextOffset, std::memory_order_release);
  }

  /// Shows readers every entry below `offset` (at most nextOffset), of those push() held back. Store lock.
  void publishTo(std::int64_t offset) noexcept {
    const std::int64_t to = std::min(offset, nextOffset);
    if (to > publishedMax.load(std::memory_order_relaxed)) publishedMax.store(to, std::memory_order_release);
  }

  /// Drops every entry below `offset`, retiring the chunks left wholly below it. Store lock; the store
  /// waits out the read gate before freeRetired().
  void trimBelow(std::int64_t offset) {
    const std::int64_t oldMin = minOffset.load(std::memory_order_relaxed);
    if (offset <= oldMin) return;
    minOffset.store(offset, std::memory_order_release);
    if (offset > nextOffset) {
      nextOffset = offset;
      publishedMax.store(nextOffset, std::memory_order_release);
    }
    const std::int64_t keepFrom = offset >> kChunkShift;
    Directory* d = dir_.load(std::memory_order_relaxed);
    for (; firstChunk_ < keepFrom && firstChunk_ <= lastChunk_; ++firstChunk_)
      retiredChunks_.push_back(d->slot(firstChunk_).load(std::memory_order_relaxed));
    if (firstChunk_ > lastChunk_) firstChunk_ = lastChunk_ + 1;  // nothing allocated is in use
  }

  /// Frees what trimBelow and growth retired. Store lock, and no reader may still be inside the read gate
  /// that entered before the retiring.
  void freeRetired() noexcept {
    for (Chunk* c : retiredChunks_)
      delete c;
    retiredChunks_.clear();
    for (Directory* d : retiredDirs_)
      delete d;
    retiredDirs_.clear();
  }

  /// The first offset whose message was stored at or after `timestamp` (RocketMQ getOffsetInQueueByTime);
  /// maxOffset() when there is none. Store lock.
  std::int64_t offsetForTimestamp(std::int64_t timestamp) const {
    std::int64_t lo = minOffset.load(std::memory_order_relaxed);
    std::int64_t hi = nextOffset;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (at(mid)->storeTimestamp < timestamp) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

 private:
  static constexpr int kChunkShift = 9;
  static constexpr std::size_t kChunkEntries = std::size_t{1} << kChunkShift;

  struct Chunk {
    const RecordHeader* entries[kChunkEntries];
  };
  // A ring of chunk pointers indexed by chunk number; it holds every chunk from firstChunk_ to lastChunk_.
  struct Directory {
    explicit Directory(std::size_t n) : mask(n - 1), slots(new std::atomic<Chunk*>[n]) {
      for (std::size_t i = 0; i < n; ++i)
        slots[i].store(nullptr, std::memory_order_relaxed);
    }
    std::atomic<Chunk*>& slot(std::int64_t chunk) const noexcept {
      return slots[static_cast<std::size_t>(chunk) & mask];
    }
    std::size_t mask;
    std::unique_ptr<std::atomic<Chunk*>[]> slots;
  };

  // Adds chunk number `chunk` (above every chunk so far), growing the directory when the ring is full. A
  // replaced directory is retired: readers that loaded it may still look up chunks through it.
  void addChunk(std::int64_t chunk) {
    auto fresh = std::make_unique<Chunk>();
    Directory* d = dir_.load(std::memory_order_relaxed);
    if (firstChunk_ > lastChunk_) firstChunk_ = chunk;  // nothing in use: the new chunk is the first
    const auto needed = static_cast<std::size_t>(chunk - firstChunk_ + 1);
    if (d == nullptr || needed > d->mask + 1) {
      std::size_t n = d == nullptr ? 4 : (d->mask + 1) * 2;
      while (n < needed)
        n *= 2;
      auto grown = std::make_unique<Directory>(n);
      retiredDirs_.reserve(retiredDirs_.size() + 1);
      if (d != nullptr) {
        for (std::int64_t c = firstChunk_; c <= lastChunk_; ++c)
          grown->slot(c).store(d->slot(c).load(std::memory_order_relaxed), std::memory_order_relaxed);
      }
      dir_.store(grown.get(), std::memory_order_release);
      if (d != nullptr) retiredDirs_.push_back(d);
      d = grown.release();
    }
    d->slot(chunk).store(fresh.release(), std::memory_order_release);
    lastChunk_ = chunk;
  }

  std::atomic<Directory*> dir_{nullptr};
  std::int64_t firstChunk_ = 0;  // the lowest chunk in use (> lastChunk_ when none is)
  std::int64_t lastChunk_ = -1;  // the highest chunk allocated
  std::vector<Chunk*> retiredChunks_;
  std::vector<Directory*> retiredDirs_;
};

}  // namespace ackmq::detail
