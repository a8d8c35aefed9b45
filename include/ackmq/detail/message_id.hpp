#pragma once
// ackmq internals: message ids. The UNIQ_KEY a producer fixes before the first attempt, and the offset id
// that names one physical copy in a broker's CommitLog.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include <ackmq/detail/platform.hpp>

namespace ackmq::detail {

/// 16 bytes, printed as 32 upper-case hex characters (the length of RocketMQ's IPv4 UNIQ_KEY and offset id).
struct MessageId {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;

  friend bool operator==(const MessageId&, const MessageId&) = default;
  bool empty() const noexcept { return hi == 0 && lo == 0; }

  void appendHex(std::string& out) const { out.append(std::string_view(hex())); }
  /// The 32 hex characters, without allocating.
  struct Hex {
    char chars[32];
    operator std::string_view() const noexcept { return std::string_view(chars, 32); }
  };
  Hex hex() const noexcept {
    Hex h;
    putHex(h.chars, hi);
    putHex(h.chars + 16, lo);
    return h;
  }
  std::string toString() const {
    std::string s;
    s.reserve(32);
    appendHex(s);
    return s;
  }

  /// Parses 32 hex characters (either case); nullopt for anything else.
  static std::optional<MessageId> parse(std::string_view text) noexcept {
    if (text.size() != 32) return std::nullopt;
    MessageId id;
    for (std::size_t i = 0; i < 32; ++i) {
      const char c = text[i];
      std::uint64_t v;
      if (c >= '0' && c <= '9') {
        v = static_cast<std::uint64_t>(c - '0');
      } else if (c >= 'A' && c <= 'F') {
        v = static_cast<std::uint64_t>(c - 'A' + 10);
      } else if (c >= 'a' && c <= 'f') {
        v = static_cast<std::uint64_t>(c - 'a' + 10);
      } else {
        return std::nullopt;
      }
      std::uint64_t& half = i < 16 ? id.hi : id.lo;
      half = (half << 4) | v;
    }
    return id;
  }

  /// A well-mixed hash of the 128 bits.
  std::uint64_t hash() const noexcept {
    std::uint64_t h = hi * 0x9E3779B97F4A7C15ULL ^ lo;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 29;
    return h;
  }

 private:
  // The 16 hex digits of `v`, most significant first: a byte at a time, from a table of digit pairs.
  static void putHex(char* out, std::uint64_t v) noexcept {
    static constexpr std::array<char, 512> kPairs = [] {
      constexpr char kDigits[] = "0123456789ABCDEF";
      std::array<char, 512> t{};
      for (std::size_t b = 0; b < 256; ++b) {
        t[2 * b] = kDigits[b >> 4];
        t[2 * b + 1] = kDigits[b & 0xF];
      }
      return t;
    }();
    for (int i = 0; i < 8; ++i) {
      const std::size_t b = (v >> (56 - 8 * i)) & 0xFF;
      out[2 * i] = kPairs[2 * b];
      out[2 * i + 1] = kPairs[2 * b + 1];
    }
  }
};

/// Creates UNIQ_KEYs. The first 8 bytes identify this process (pid and a random salt, in the spirit of
/// RocketMQ MessageClientIDSetter's ip/pid/classloader prefix); the last 8 bytes come from a process-wide
/// counter seeded with the start time, so ids never repeat within a process and practically never across
/// processes. Each thread takes the counter's values a block at a time, with a copy of the prefix: a send
/// touches only its thread's block, and the shared line (the counter, the prefix, the static's guard) once
/// per block: that line may be shared with whatever the linker put next to it, written by another thread
/// on every message. Ids are thus unique, and increasing within one thread, not across threads (nor are
/// RocketMQ's). Thread-safe.
inline MessageId newUniqueMessageId() noexcept {
  static constexpr std::uint64_t kBlock = 1024;
  struct Source {
    std::uint64_t prefix;
    std::atomic<std::uint64_t> counter;
    Source() noexcept : prefix(0), counter(0) {
      std::random_device rd;
      const std::uint64_t salt = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
      prefix =
          (static_cast<std::uint64_t>(processId()) << 32) ^ (salt & 0xFFFFFFFFULL) ^ ((salt >> 32) << 16);
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      counter.store(
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count())
          << 20);
    }
  };
  struct Block {
    std::uint64_t prefix = 0;
    std::uint64_t next = 0;
    std::uint64_t end = 0;
  };
  thread_local Block block;
  if (block.next == block.end) {
    static Source source;
    block.prefix = source.prefix;
    block.next = source.counter.fetch_add(kBlock, std::memory_order_relaxed);
    block.end = block.next + kBlock;
  }
  return MessageId{block.prefix, block.next++};
}

/// The offset id of a physical copy: the broker's 8-byte identity and the record's CommitLog offset, as
/// RocketMQ MessageDecoder.createMessageId joins store host and physical offset.
inline MessageId makeOffsetMessageId(std::uint64_t brokerIdentity, std::int64_t commitLogOffset) noexcept {
  return MessageId{brokerIdentity, static_cast<std::uint64_t>(commitLogOffset)};
}

}  // namespace ackmq::detail
