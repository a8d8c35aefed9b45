#pragma once
// ackmq internals: the CommitLog. One append-only log of every stored message, kept in fixed-size in-memory
// segments (RocketMQ's mapped files, named by their start offset), so that memory is reclaimed a segment at
// a time, oldest first. Each segment carries its own hash indexes by msgId and by key, which therefore
// vanish with it: reclamation never has to edit a global index.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <new>
#include <string_view>
#include <utility>
#include <vector>

#include <ackmq/detail/platform.hpp>
#include <ackmq/detail/prefault.hpp>
#include <ackmq/detail/store/record.hpp>

namespace ackmq::detail {

struct ConsumeQueue;

/// An open-addressing index from a 64-bit hash to records of one segment. Slots hold (position / 8 + 1), so 4
/// bytes per slot; a lookup confirms each candidate against the record itself. Duplicates are allowed (keys).
/// The index keeps no hashes, so it cannot rehash itself: when it cannot hold more (fits() is false), its
/// owner presizes it afresh and re-inserts every record of the segment.
///
/// Thread safety: thread-compatible.
class SegmentHashIndex {
 public:
  /// Whether `entries` entries in all stay within the load factor (3/4).
  bool fits(std::size_t entries) const noexcept { return (entries + 1) * 4 <= slots_.size() * 3; }
  std::size_t size() const noexcept { return used_; }
  /// Empties the index and sizes it for `entries` inserts (reusing its memory, if any).
  void presize(std::size_t entries) {
    std::size_t n = 16;
    while (n * 3 < (entries + 1) * 4)
      n *= 2;
    slots_.assign(n, 0);
    used_ = 0;
  }
  /// Adds a record; fits(size() + 1) must hold.
  void insert(std::uint64_t hash, std::size_t position) noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    while (slots_[i] != 0)
      i = (i + 1) & mask;
    slots_[i] = static_cast<std::uint32_t>(position / 8 + 1);
    ++used_;
  }

  /// Calls f(position) for each candidate in the hash's probe chain, until f returns true.
  template <class F>
  void find(std::uint64_t hash, F&& f) const {
    if (slots_.empty()) return;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const std::uint32_t s = slots_[i];
      if (s == 0) return;
      if (f(static_cast<std::size_t>(s - 1) * 8)) return;
    }
  }

 private:
  std::vector<std::uint32_t> slots_;
  std::size_t used_ = 0;
};

inline std::uint64_t hashKey(std::string_view key) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (const char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h ^ (h >> 29);
}

/// Where the CommitLog sends the ranges it is about to write, to be faulted in ahead of the writer by a
/// broker service (the store has no threads of its own). warm() is called under the store lock and must not
/// wait for the warming.
class PageWarmSink {
 public:
  virtual void warm(void* begin, std::size_t bytes) noexcept = 0;

 protected:
  ~PageWarmSink() = default;
};

/// The bytes of one segment, from the C++ allocator (the CommitLog keeps one reclaimed segment's memory for
/// the next, see popOldest). A large segment is aligned to 2 MiB and, on Linux, asks for transparent huge
/// pages, which the page warmer faults in ahead of the writer. Under a hypervisor that shadows the guest's
/// page tables, the first access through each page exits to the host: with huge pages that is paid once
/// per 2 MiB instead of 512 times. A kernel that ignores the advice gives small pages, which work too. Not
/// value-initialised: pages are touched only as records are written.
class SegmentMemory {
 public:
  SegmentMemory() = default;
  explicit SegmentMemory(std::size_t bytes)
      : data_(static_cast<std::byte*>(::operator new (bytes, std::align_val_t{alignmentFor(bytes)}))),
        size_(bytes) {
    adviseWholeHugePages(data_, bytes);
  }
  SegmentMemory(SegmentMemory&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(o.size_) {}
  SegmentMemory& operator=(SegmentMemory&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = o.size_;
    }
    return *this;
  }
  ~SegmentMemory() { release(); }

  std::byte* get() const noexcept { return data_; }

 private:
  static constexpr std::size_t alignmentFor(std::size_t bytes) noexcept {
    return bytes >= kHugePageBytes ? kHugePageBytes : alignof(std::max_align_t);
  }

  void release() noexcept {
    if (data_ == nullptr) return;
    // A large segment's pages go back to the system here, whatever the allocator does with the block:
    // glibc raises its mmap threshold as large blocks are freed, and a block it then keeps in its heap
    // would stay resident. The block starts on a page and only its whole pages are released, so no
    // neighbour's bytes are touched.
    if (size_ >= kHugePageBytes) (void)releasePages(data_, size_ / kPageBytes * kPageBytes);
    // The unsized aligned form: clang does not declare sized deallocation without -fsized-deallocation.
    ::operator delete (data_, std::align_val_t{alignmentFor(size_)});
    data_ = nullptr;
  }

  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

/// One segment of the CommitLog. The fields every append writes share the first cache line, and the counters
/// other threads change are apart from them.
struct alignas(kCacheLine) Segment {
  std::size_t used = 0;
  std::uint32_t records = 0;
  std::int64_t lastStoreTimestamp = 0;
  std::int64_t baseOffset = 0;  // CommitLog offset of the first byte
  std::size_t capacity = 0;
  std::size_t warmedTo = 0;  // end of the bytes handed to the page warmer so far
  SegmentMemory data;
  // The last queue offset each consume queue wrote into this segment: reclamation asks the offset table
  // whether every group is past it, and trims the queue up to it.
  std::vector<std::pair<ConsumeQueue*, std::int64_t>> queueLastOffsets;

  // The indexes by msgId and by key, and the end of the records they cover. Appends leave them alone;
  // lookups bring them up to date under the store lock (MessageStore::catchUpIndexes).
  mutable SegmentHashIndex idIndex;
  mutable SegmentHashIndex keyIndex;
  mutable std::size_t indexedTo = 0;

  // Parked delayed messages (SCHEDULE_TOPIC_XXXX) not yet re-put: the segment may not be reclaimed while
  // any remain, or a timer would fire for a message that is gone.
  alignas(kCacheLine) std::atomic<std::int32_t> pendingParked{0};
  // Readers copying records out of this segment (with the store lock, or after a take under it);
  // reclamation waits for zero.
  std::atomic<std::int32_t> pins{0};

  bool contains(std::int64_t offset) const noexcept {
    return offset >= baseOffset && offset < baseOffset + static_cast<std::int64_t>(used);
  }
  RecordHeader* at(std::size_t position) const noexcept {
    return reinterpret_cast<RecordHeader*>(data.get() + position);
  }
  template <class F>
  void forEachRecord(F&& f) const {
    forEachRecordFrom(0, [&](RecordHeader& h, std::size_t) { f(h); });
  }
  /// Calls f(record, position) for each record from `position` (a record boundary) on.
  template <class F>
  void forEachRecordFrom(std::size_t position, F&& f) const {
    for (std::size_t pos = position; pos < used;) {
      RecordHeader* h = at(pos);
      const std::size_t here = pos;
      pos += h->totalSize;
      if (h->topic != nullptr) f(*h, here);  // a null topic marks space abandoned by a failed write
    }
  }
};

/// Holds a segment against reclamation for a scope: copying a record under the store lock, when making room
/// for the copy must not reclaim the original. Released however the scope ends, so a copy that throws (a
/// Body copy constructor, an allocation) never leaves the segment pinned for good.
class SegmentPin {
 public:
  explicit SegmentPin(Segment& s) noexcept : s_(s) { s_.pins.fetch_add(1, std::memory_order_relaxed); }
  ~SegmentPin() { s_.pins.fetch_sub(1, std::memory_order_relaxed); }
  SegmentPin(const SegmentPin&) = delete;
  SegmentPin& operator=(const SegmentPin&) = delete;

 private:
  Segment& s_;
};

/// The log itself: allocation of record space and lookup by CommitLog offset.
///
/// Thread safety: thread-compatible; the broker serialises appends and reclamation under its store lock.
/// Published records are immutable and may be read without that lock while their segment is held alive
/// (the broker's reclaim lock).
template <class Body>
class CommitLog {
 public:
  explicit CommitLog(std::size_t segmentBytes) : segmentBytes_(segmentBytes) {}
  CommitLog(const CommitLog&) = delete;
  CommitLog& operator=(const CommitLog&) = delete;
  ~CommitLog() {
    while (!segments_.empty())
      popOldest();
  }

  /// Whether a record of `size` bytes fits the active segment.
  bool fitsActive(std::size_t size) const noexcept {
    return active_ != nullptr && active_->used + size <= active_->capacity;
  }
  /// Bytes a new segment for a record of `size` bytes would take.
  std::size_t newSegmentBytes(std::size_t size) const noexcept { return std::max(segmentBytes_, size); }
  /// How much opening a segment of `bytes` adds to allocatedBytes(): nothing when it reuses the spare.
  std::size_t growthFor(std::size_t bytes) const noexcept {
    return bytes == segmentBytes_ && hasSpare() ? 0 : bytes;
  }

  /// Opens a new active segment able to hold a record of `size` bytes. The previous one is sealed. A segment
  /// of the usual size reuses the spare, if there is one: its pages are resident already.
  void openSegment(std::size_t size) {
    const std::size_t capacity = newSegmentBytes(size);
    const bool reuse = growthFor(capacity) == 0;
    // Everything that may throw comes before the segment joins the log, and a failure keeps the spare.
    SegmentMemory data = reuse ? std::move(spare_) : SegmentMemory(capacity);
    try {
      segments_.emplace_back();
    } catch (...) {
      if (reuse) spare_ = std::move(data);
      throw;
    }
    Segment& s = segments_.back();
    active_ = &s;
    s.baseOffset = nextOffset_;
    s.capacity = capacity;
    s.data = std::move(data);
    if (reuse) {
      s.warmedTo = spareResident_;
    } else {
      allocatedBytes_ += s.capacity;
    }
    // A sealed segment's tail is skipped: the next segment starts at its own base offset.
    nextOffset_ = s.baseOffset + static_cast<std::int64_t>(s.capacity);
  }

  /// Space for a record of `size` bytes in the active segment (which must fit it); returns the position.
  std::size_t reserve(std::size_t size) noexcept {
    Segment& s = *active_;
    const std::size_t pos = s.used;
    s.used += size;
    if (s.used + kWarmAhead / 2 > s.warmedTo && s.warmedTo < s.capacity) warmAhead(s);
    return pos;
  }

  /// Marks space reserved for a record whose write failed, so walks skip it.
  void abandon(std::size_t position, std::size_t size) noexcept {
    auto* h = ::new (active_->at(position)) RecordHeader{};
    h->totalSize = static_cast<std::uint32_t>(size);
    h->topic = nullptr;
  }

  Segment& active() noexcept { return *active_; }
  std::deque<Segment>& segments() noexcept { return segments_; }
  const std::deque<Segment>& segments() const noexcept { return segments_; }
  /// Memory held for records: every segment's, and the spare's.
  std::size_t allocatedBytes() const noexcept { return allocatedBytes_; }
  std::size_t segmentBytes() const noexcept { return segmentBytes_; }
  /// Sends the ranges ahead of the write position to `sink` from now on (nullptr: nowhere). The sink must
  /// outlive its use here.
  void setWarmer(PageWarmSink* sink) noexcept { warmer_ = sink; }
  /// Offset of the first retained byte (RocketMQ getMinPhyOffset).
  std::int64_t minOffset() const noexcept {
    return segments_.empty() ? nextOffset_ : segments_.front().baseOffset;
  }

  /// The segment holding CommitLog offset `offset`, or nullptr.
  Segment* segmentOf(std::int64_t offset) noexcept {
    // Most lookups are of recent records: try the active segment before searching.
    if (active_ != nullptr && active_->contains(offset)) return active_;
    auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                               [](std::int64_t o, const Segment& s) { return o < s.baseOffset; });
    if (it == segments_.begin()) return nullptr;
    --it;
    return it->contains(offset) ? &*it : nullptr;
  }

  /// The record at `offset`, or nullptr when it was reclaimed or never existed.
  const RecordHeader* find(std::int64_t offset) noexcept {
    Segment* s = segmentOf(offset);
    if (s == nullptr) return nullptr;
    const auto* h = s->at(static_cast<std::size_t>(offset - s->baseOffset));
    return (h->topic != nullptr && h->commitLogOffset == offset) ? h : nullptr;
  }

  /// Reclaims the oldest segment, destroying its object bodies. Its memory is kept as the spare, for the
  /// next segment, if it has the usual size and there is no spare yet; it is freed otherwise. A store
  /// running at its bound thus writes into pages it has touched before, where fresh memory costs a page
  /// fault per page (RocketMQ likewise keeps its mapped files and their page cache warm).
  void popOldest() noexcept {
    Segment& s = segments_.front();
    if constexpr (!kBytesBody<Body> && !std::is_trivially_destructible_v<Body>) {
      s.forEachRecord([](RecordHeader& h) { destroyRecordBody<Body>(h); });
    }
    if (s.capacity == segmentBytes_ && !hasSpare()) {
      spare_ = std::move(s.data);
      spareResident_ = std::max(s.warmedTo, s.used / kPage * kPage);
    } else {
      allocatedBytes_ -= s.capacity;
    }
    segments_.pop_front();
    if (segments_.empty()) active_ = nullptr;
  }

  /// Whether a reclaimed segment's memory is waiting to be reused.
  bool hasSpare() const noexcept { return spare_.get() != nullptr; }
  /// Bytes the spare holds, counted in allocatedBytes().
  std::size_t spareBytes() const noexcept { return hasSpare() ? segmentBytes_ : 0; }

 private:
  // The warmer keeps up to this many bytes past the write position resident, asked for half at a time.
  static constexpr std::size_t kWarmAhead = 2 * kHugePageBytes;
  static constexpr std::size_t kPage = 4096;

  void warmAhead(Segment& s) noexcept {
    if (s.capacity < kHugePageBytes) {  // small segments are not page-aligned: the appender faults its own
      s.warmedTo = s.capacity;
      return;
    }
    const std::size_t last = s.capacity / kPage * kPage;
    const std::size_t end = std::min((s.used + kWarmAhead) / kPage * kPage, last);
    if (end > s.warmedTo && warmer_ != nullptr) warmer_->warm(s.data.get() + s.warmedTo, end - s.warmedTo);
    s.warmedTo = end == last ? s.capacity : std::max(end, s.warmedTo);
  }

  std::size_t segmentBytes_;
  std::deque<Segment> segments_;
  std::int64_t nextOffset_ = 0;
  std::size_t allocatedBytes_ = 0;  // counts the spare
  // A reclaimed segment's memory, kept for the next segment; how far its pages are resident.
  SegmentMemory spare_;
  std::size_t spareResident_ = 0;
  PageWarmSink* warmer_ = nullptr;
  Segment* active_ = nullptr;  // segments_.back(), where appends go; null while there is no segment
};

}  // namespace ackmq::detail
