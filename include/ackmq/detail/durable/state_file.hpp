#pragma once
// ackmq internals: a small file of the durable store that is replaced whole (the consumer offsets, the
// delay schedule's progress, the format version). A new version is written to `<name>.tmp`, synced, renamed
// over the old one, and the directory synced: a crash at any step leaves the old version or the new one,
// never a mix. RocketMQ's ConfigManager.persist keeps a `.bak` copy instead; rename is atomic, so the
// copy is not needed, and a CRC still catches a file damaged afterwards (its issue #3401: offsets files
// found full of garbage after an OS crash).
//
//   magic u32 "AMS1" | version u32 | payloadSize u64 | crc u32 (CRC-32C of payload) | payload

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ackmq/detail/durable/crc32c.hpp>
#include <ackmq/detail/durable/file_system.hpp>

namespace ackmq::detail {

/// Thread safety: thread-compatible.
class StateFile {
 public:
  static constexpr std::uint32_t kMagic = 0x31534D41;  // "AMS1"
  static constexpr std::size_t kHeaderBytes = 20;

  /// The file `name` in `dir` of `fs`, whose payloads are of format `version`.
  StateFile(FileSystem& fs, std::string dir, std::string name, std::uint32_t version)
      : fs_(fs), dir_(std::move(dir)), path_(dir_ + "/" + std::move(name)), version_(version) {}

  /// Replaces the file's content with `payload`, atomically. Throws std::system_error; the old content
  /// is then still in place.
  void write(std::span<const std::byte> payload) {
    std::vector<std::byte> bytes(kHeaderBytes + payload.size());
    put(bytes.data(), kMagic, 4);
    put(bytes.data() + 4, version_, 4);
    put(bytes.data() + 8, payload.size(), 8);
    put(bytes.data() + 16, crc32c(0, payload.data(), payload.size()), 4);
    std::copy(payload.begin(), payload.end(), bytes.begin() + kHeaderBytes);
    const std::string tmp = path_ + ".tmp";
    {
      std::unique_ptr<File> f = fs_.open(tmp, true);
      f->resize(0);
      f->writeAt(0, bytes.data(), bytes.size());
      f->sync();
    }
    fs_.rename(tmp, path_);
    fs_.syncDirectory(dir_);
  }

  /// The payload last written; nullopt when the file does not exist. Throws std::runtime_error, naming the
  /// file, when it is damaged or was written by a newer format version than this build reads.
  std::optional<std::vector<std::byte>> read() const {
    if (!fs_.exists(path_)) return std::nullopt;
    std::unique_ptr<File> f = fs_.open(path_, false);
    std::array<std::byte, kHeaderBytes> h{};
    if (f->readAt(0, h.data(), h.size()) != h.size() || get(h.data(), 4) != kMagic)
      damaged("no valid header");
    const std::uint64_t version = get(h.data() + 4, 4);
    if (version > version_) {
      throw std::runtime_error(path_ + " was written by a newer version of ackmq (format " +
                               std::to_string(version) + "; this build reads format " +
                               std::to_string(version_) + " and older): open the store with that version");
    }
    const std::uint64_t size = get(h.data() + 8, 8);
    if (size != f->size() - kHeaderBytes) damaged("a payload size that does not match the file");
    std::vector<std::byte> payload(size);
    if (f->readAt(kHeaderBytes, payload.data(), payload.size()) != size) damaged("a short payload");
    if (get(h.data() + 16, 4) != crc32c(0, payload.data(), payload.size())) damaged("a CRC mismatch");
    return payload;
  }

  const std::string& path() const noexcept { return path_; }

 private:
  static void put(std::byte* p, std::uint64_t v, int bytes) noexcept {
    for (int i = 0; i < bytes; ++i)
      p[i] = static_cast<std::byte>(v >> (8 * i));
  }
  static std::uint64_t get(const std::byte* p, int bytes) noexcept {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
      v = (v << 8) | static_cast<std::uint64_t>(p[i]);
    return v;
  }
  [[noreturn]] void damaged(const char* what) const {
    throw std::runtime_error(path_ + " is damaged: " + what);
  }

  FileSystem& fs_;
  std::string dir_;
  std::string path_;
  std::uint32_t version_;
};

}  // namespace ackmq::detail
