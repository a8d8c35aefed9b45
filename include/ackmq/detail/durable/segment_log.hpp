#pragma once
// ackmq internals: the durable CommitLog's files. An append-only log of opaque records in fixed-size
// segment files named by their start offset (20 digits, RocketMQ's UtilAll.offset2FileName), each file
// created at its full size so that the bytes past the last record read as zeros. A record never spans two
// files: one that does not fit the rest of a segment starts the next.
//
//   record = magic u32 | totalSize u32 | position u64 | payloadSize u32 | crc u32 | payload | zeros to 8
//
// Little-endian. The CRC-32C covers the header's first 20 bytes and the payload. Beyond RocketMQ's
// checks (checkMessageAndReturnSize: magic, size, body CRC), every record carries its own position, and
// recovery accepts a record only where it says it is: bytes of an earlier life of the file can never pass
// for a record. Recovery zeroes everything past the last good record of the last segment, so a second
// crash cannot revive what the first one cut.
//
// Thread safety: thread-compatible (the broker serialises appends and flushes).

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <ackmq/detail/durable/crc32c.hpp>
#include <ackmq/detail/durable/file_system.hpp>

namespace ackmq::detail {

/// What opening a log found and did.
struct LogRecovery {
  std::uint64_t records = 0;  // good records, in every segment
  std::uint64_t bytesTruncated =
      0;                 // what followed the last good record: zeroed, or removed with its segment
  std::int64_t end = 0;  // where the next record goes
};

class SegmentLog {
 public:
  static constexpr std::uint32_t kMagic = 0x314C4D41;  // "AML1": the format's version is its last byte
  static constexpr std::size_t kHeaderBytes = 24;

  /// A log in directory `dir` of `fs`, in segments of `segmentBytes` (a multiple of 8, at least 4 KiB).
  SegmentLog(FileSystem& fs, std::string dir, std::uint64_t segmentBytes)
      : fs_(fs), dir_(std::move(dir)), segmentBytes_(segmentBytes) {
    if (segmentBytes_ < 4096 || segmentBytes_ % 8 != 0)
      throw std::invalid_argument("segment size " + std::to_string(segmentBytes_) +
                                  " must be a multiple of 8 and at least 4096 bytes");
  }

  /// Opens the log, creating the directory if need be, and recovers it. The log that survives is the
  /// longest run of good records from the start: a segment's records lead on to the next segment's only
  /// where the segment was full (that segment's first record would not have fitted after them), as
  /// appends leave it. Whatever follows the first break (a torn or damaged record, a hole a power cut left
  /// in an older segment while a newer one kept its writes) is cut: zeroed in its segment, and the
  /// segments after it removed. So recovery never yields a record out of order, and what it cut cannot
  /// come back after a second crash. Call once, before anything else. Throws std::system_error for an I/O
  /// failure, std::runtime_error for a segment file of the wrong size or name.
  LogRecovery open() {
    fs_.createDirectories(dir_);
    std::vector<std::int64_t> bases;
    for (const std::string& name : fs_.list(dir_)) {
      if (name.size() != 20 || name.find_first_not_of("0123456789") != std::string::npos) continue;
      bases.push_back(std::stoll(name));
    }
    std::sort(bases.begin(), bases.end());
    std::vector<Segment> found;
    for (std::size_t i = 0; i < bases.size(); ++i) {
      if (bases[i] % static_cast<std::int64_t>(segmentBytes_) != 0)
        throw std::runtime_error("CommitLog segment " + pathOf(bases[i]) +
                                 " does not start at a segment boundary");
      Segment s{bases[i], fs_.open(pathOf(bases[i]), false)};
      if (i + 1 == bases.size() && s.file->size() < segmentBytes_) {
        // Created, but cut before its size was durable: it can hold no record that was flushed.
        s.file->resize(segmentBytes_);
        s.file->sync();
      }
      if (s.file->size() != segmentBytes_) {
        throw std::runtime_error("CommitLog segment " + pathOf(bases[i]) + " holds " +
                                 std::to_string(s.file->size()) + " bytes, not the segment size " +
                                 std::to_string(segmentBytes_));
      }
      found.push_back(std::move(s));
    }
    LogRecovery r;
    std::size_t kept = 0;
    for (; kept < found.size(); ++kept) {
      Segment& s = found[kept];
      std::uint64_t records = 0;
      s.used = scan(s, records);
      r.records += records;
      const bool next = kept + 1 < found.size() &&
                        s.base + static_cast<std::int64_t>(segmentBytes_) == found[kept + 1].base;
      const std::uint64_t nextFirst = next ? firstRecordBytes(found[kept + 1]) : 0;
      const bool full =
          nextFirst > 0 && s.used + nextFirst > segmentBytes_ && damagedExtent(s, s.used) == s.used;
      if (!full) {
        ++kept;
        break;
      }
      s.used = segmentBytes_;  // sealed: no append goes there again
    }
    if (kept > 0) {
      Segment& last = found[kept - 1];
      r.bytesTruncated += damagedExtent(last, last.used) - last.used;
      // Cut, then grow back, whatever was seen: the tail reads as zeros again, including bytes a power cut
      // kept past a run of zeros, which the count above does not reach.
      if (last.used < segmentBytes_) {
        last.file->resize(last.used);
        last.file->resize(segmentBytes_);
        last.file->sync();
      }
    }
    for (std::size_t i = kept; i < found.size(); ++i) {
      r.bytesTruncated += damagedExtent(found[i], 0);
      const std::string path = pathOf(found[i].base);
      found[i].file.reset();
      fs_.remove(path);
    }
    if (kept < found.size()) fs_.syncDirectory(dir_);
    found.resize(kept);
    segments_ = std::move(found);
    written_ =
        segments_.empty() ? 0 : segments_.back().base + static_cast<std::int64_t>(segments_.back().used);
    flushed_ = written_;
    r.end = written_;
    return r;
  }

  /// Appends one record holding `payload`; returns its position. Throws std::length_error for a record
  /// larger than a segment, std::system_error when a write fails: then the log is as it was (a later
  /// append overwrites the partial bytes; recovery would cut them).
  std::int64_t append(std::span<const std::byte> payload) {
    checkUsable();
    const std::uint64_t total = recordBytes(payload.size());
    if (total > segmentBytes_) {
      throw std::length_error("a record of " + std::to_string(payload.size()) +
                              " bytes does not fit a CommitLog segment of " + std::to_string(segmentBytes_) +
                              " bytes (mappedFileSizeCommitLog)");
    }
    if (segments_.empty() || segments_.back().used + total > segmentBytes_) openSegment();
    Segment& s = segments_.back();
    const std::int64_t position = s.base + static_cast<std::int64_t>(s.used);
    buffer_.assign(total, std::byte{0});
    putHeader(buffer_.data(), position, payload);
    if (!payload.empty()) std::memcpy(buffer_.data() + kHeaderBytes, payload.data(), payload.size());
    s.file->writeAt(s.used, buffer_.data(), buffer_.size());
    s.used += total;
    s.dirty = true;
    written_ = position + static_cast<std::int64_t>(total);
    return position;
  }

  /// What one flush syncs: the files written since the last flush, and the end it makes durable.
  struct FlushBatch {
    std::int64_t target = 0;
    std::vector<std::shared_ptr<File>> files;  // shared: a segment removed meanwhile stays open until synced
  };

  /// Makes every record appended so far durable. Throws std::system_error when a sync fails. A failed
  /// sync breaks the log for good: flushedEnd() stays where it was, and every later append and flush
  /// throws. After a failed fdatasync the kernel may have dropped the dirty pages, so a retry that
  /// succeeds would promise what is not on disk (PostgreSQL's fsync lesson; RocketMQ likewise marks its
  /// store not writeable).
  void flush() {
    const FlushBatch batch = beginFlush();
    try {
      syncAll(batch);
    } catch (const std::system_error& e) {
      endFlush(batch, e.what());
      throw;
    }
    endFlush(batch, {});
  }

  /// flush() in three steps, so that appends can go on while the files sync: beginFlush() and endFlush()
  /// under the lock that serialises appends, syncAll() without it. `error` is empty when the sync
  /// succeeded. The files stay valid until endFlush().
  FlushBatch beginFlush() {
    checkUsable();
    FlushBatch batch;
    batch.target = written_;
    for (Segment& s : segments_) {
      if (!s.dirty) continue;
      batch.files.push_back(s.file);
      s.dirty = false;  // an append from now on marks it again, for the next flush
    }
    return batch;
  }
  static void syncAll(const FlushBatch& batch) {
    for (const std::shared_ptr<File>& f : batch.files)
      f->sync();
  }
  void endFlush(const FlushBatch& batch, const std::string& error) {
    if (!error.empty()) {
      if (broken_.empty()) broken_ = error;
      return;
    }
    flushed_ = std::max(flushed_, batch.target);
  }

  /// Calls f(position, payload) for every record from `from` (a record's position, or 0) on, in order.
  template <class F>
  void forEach(std::int64_t from, F&& f) const {
    std::vector<std::byte> payload;
    for (const Segment& s : segments_) {
      if (s.base + static_cast<std::int64_t>(segmentBytes_) <= from) continue;
      std::uint64_t pos = from > s.base ? static_cast<std::uint64_t>(from - s.base) : 0;
      while (pos + kHeaderBytes <= s.used) {
        std::uint64_t total = 0;
        if (!readRecord(s, pos, payload, total)) break;
        f(s.base + static_cast<std::int64_t>(pos), std::span<const std::byte>(payload));
        pos += total;
      }
    }
  }

  /// The payload of the record at `position`; throws std::out_of_range when there is none.
  std::vector<std::byte> read(std::int64_t position) const {
    for (const Segment& s : segments_) {
      if (position < s.base || position >= s.base + static_cast<std::int64_t>(s.used)) continue;
      std::vector<std::byte> payload;
      std::uint64_t total = 0;
      if (readRecord(s, static_cast<std::uint64_t>(position - s.base), payload, total)) return payload;
      break;
    }
    throw std::out_of_range("no CommitLog record at position " + std::to_string(position));
  }

  /// Removes the oldest segment, if a later one exists: its records are no longer wanted. Returns whether
  /// it did. Under the lock that serialises appends. Throws std::system_error.
  bool removeOldest() {
    if (segments_.size() < 2) return false;
    const std::string path = pathOf(segments_.front().base);
    segments_.erase(segments_.begin());
    fs_.remove(path);
    fs_.syncDirectory(dir_);  // a power cut must not bring back a segment whose records were let go
    return true;
  }
  /// Where the oldest segment starts (0 when there is none).
  std::int64_t firstBase() const noexcept { return segments_.empty() ? 0 : segments_.front().base; }

  /// Where the next record goes; everything before it is written (to the page cache at least).
  std::int64_t writtenEnd() const noexcept { return written_; }
  /// Everything before this is durable.
  std::int64_t flushedEnd() const noexcept { return flushed_; }
  std::uint64_t segmentBytes() const noexcept { return segmentBytes_; }
  std::size_t segmentCount() const noexcept { return segments_.size(); }

  /// The bytes one record of `payloadBytes` takes.
  static constexpr std::uint64_t recordBytes(std::size_t payloadBytes) noexcept {
    return (kHeaderBytes + payloadBytes + 7) / 8 * 8;
  }
  /// A segment's file name: its start offset in 20 digits.
  static std::string fileName(std::int64_t base) {
    std::array<char, 32> name{};
    std::snprintf(name.data(), name.size(), "%020lld", static_cast<long long>(base));
    return name.data();
  }

 private:
  struct Segment {
    std::int64_t base;
    std::shared_ptr<File> file;
    std::uint64_t used = 0;  // bytes of good records
    bool dirty = false;      // written since its last sync
  };

  void checkUsable() const {
    if (!broken_.empty())
      throw std::system_error(EIO, std::generic_category(),
                              "the CommitLog failed to flush earlier (" + broken_ + ")");
  }

  std::string pathOf(std::int64_t base) const { return dir_ + "/" + fileName(base); }

  void openSegment() {
    const std::int64_t base =
        segments_.empty() ? 0 : segments_.back().base + static_cast<std::int64_t>(segmentBytes_);
    std::unique_ptr<File> file = fs_.open(pathOf(base), true);
    file->resize(segmentBytes_);
    // Its size and its name must survive a power cut with the first record flushed into it.
    file->sync();
    fs_.syncDirectory(dir_);
    if (!segments_.empty()) segments_.back().used = segmentBytes_;  // sealed
    segments_.push_back(Segment{base, std::move(file)});
  }

  static void put32(std::byte* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i)
      p[i] = static_cast<std::byte>(v >> (8 * i));
  }
  static void put64(std::byte* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i)
      p[i] = static_cast<std::byte>(v >> (8 * i));
  }
  static std::uint32_t get32(const std::byte* p) noexcept {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
      v = (v << 8) | static_cast<std::uint32_t>(p[i]);
    return v;
  }
  static std::uint64_t get64(const std::byte* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
      v = (v << 8) | static_cast<std::uint64_t>(p[i]);
    return v;
  }

  static std::uint32_t crcOf(const std::byte* header, std::span<const std::byte> payload) noexcept {
    return crc32c(crc32c(0, header, 20), payload.data(), payload.size());
  }

  static void putHeader(std::byte* h, std::int64_t position, std::span<const std::byte> payload) noexcept {
    put32(h, kMagic);
    put32(h + 4, static_cast<std::uint32_t>(recordBytes(payload.size())));
    put64(h + 8, static_cast<std::uint64_t>(position));
    put32(h + 16, static_cast<std::uint32_t>(payload.size()));
    put32(h + 20, crcOf(h, payload));
  }

  // Reads and checks the record at `pos` of `s`: false when there is no good record there.
  bool readRecord(const Segment& s, std::uint64_t pos, std::vector<std::byte>& payload,
                  std::uint64_t& total) const {
    std::array<std::byte, kHeaderBytes> h{};
    if (pos + kHeaderBytes > segmentBytes_ || s.file->readAt(pos, h.data(), h.size()) != h.size())
      return false;
    if (get32(h.data()) != kMagic) return false;
    total = get32(h.data() + 4);
    const std::uint64_t size = get32(h.data() + 16);
    if (total != recordBytes(size) || pos + total > segmentBytes_) return false;
    if (get64(h.data() + 8) != static_cast<std::uint64_t>(s.base) + pos) return false;  // not its place
    payload.resize(size);
    if (s.file->readAt(pos + kHeaderBytes, payload.data(), size) != size) return false;
    return get32(h.data() + 20) == crcOf(h.data(), payload);
  }

  // The size of the first record of `s`, or 0 when it has no good one.
  std::uint64_t firstRecordBytes(const Segment& s) const {
    std::vector<std::byte> payload;
    std::uint64_t total = 0;
    return readRecord(s, 0, payload, total) ? total : 0;
  }

  // Scans `s` from its start; returns the end of its last good record, counting the records.
  std::uint64_t scan(const Segment& s, std::uint64_t& records) const {
    std::vector<std::byte> payload;
    std::uint64_t pos = 0;
    std::uint64_t total = 0;
    while (readRecord(s, pos, payload, total)) {
      pos += total;
      ++records;
    }
    return pos;
  }

  // The end of the non-zero bytes from `from` in `s` up to the first 64 KiB of zeros: what a crash left
  // past the good records. Stopping there keeps an open from reading a mostly empty 1 GiB segment whole.
  std::uint64_t damagedExtent(const Segment& s, std::uint64_t from) const {
    std::vector<std::byte> chunk(64 * 1024);
    std::uint64_t end = from;
    for (std::uint64_t pos = from; pos < segmentBytes_; pos += chunk.size()) {
      const std::size_t n =
          s.file->readAt(pos, chunk.data(), std::min<std::uint64_t>(chunk.size(), segmentBytes_ - pos));
      std::size_t i = n;
      while (i > 0 && chunk[i - 1] == std::byte{0})
        --i;
      if (i == 0) break;  // a whole chunk of zeros (or the end of the file)
      end = pos + i;
    }
    return end;
  }

  FileSystem& fs_;
  std::string dir_;
  std::uint64_t segmentBytes_;
  std::vector<Segment> segments_;  // ascending by base; appends go to the last
  std::vector<std::byte> buffer_;  // one record being written
  std::int64_t written_ = 0;
  std::int64_t flushed_ = 0;
  std::string broken_;  // why a flush failed; empty while the log is usable
};

}  // namespace ackmq::detail
