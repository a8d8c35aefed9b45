#pragma once
// ackmq internals: one stored message as the durable CommitLog writes it, inside a SegmentLog record (which
// adds the length, the position and the CRC). The fields are RocketMQ's (MessageExtEncoder: queue id,
// flag, queue offset, born and store timestamps, reconsume times, body, topic, properties), plus the msgId
// and the tags that ackmq keeps apart from the properties. Little-endian, in this order:
//
//   queueId i32 | flag i32 | queueOffset i64 | bornTimestamp i64 | storeTimestamp i64 | reconsumeTimes i32 |
//   msgId 16 B | topic u16+bytes | tags u16+bytes | properties u32+bytes | body u32+bytes
//
// Bodies are bytes: the durable store keeps std::string and byte-vector bodies as they are.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <ackmq/detail/message_id.hpp>

namespace ackmq::detail {

/// A stored message's fields, viewing bytes that someone else owns.
struct DurableMessage {
  std::string_view topic;
  std::int32_t queueId = 0;
  std::int32_t flag = 0;
  std::int64_t queueOffset = 0;
  std::int64_t bornTimestamp = 0;
  std::int64_t storeTimestamp = 0;
  std::int32_t reconsumeTimes = 0;
  MessageId msgId;
  std::string_view tags;
  std::string_view properties;  // the store's encoding (name \x01 value \x02 ...)
  std::string_view body;
};

class DurableMessageCodec {
 public:
  static constexpr std::size_t kFixedBytes = 4 + 4 + 8 + 8 + 8 + 4 + 16 + 2 + 2 + 4 + 4;

  /// The bytes encode(m) writes. Throws std::length_error naming the field when a topic or tags exceed
  /// 65535 bytes (the store refuses such messages earlier; this is the format's own bound).
  static std::size_t encodedSize(const DurableMessage& m) {
    if (m.topic.size() > 0xFFFF) tooLong("topic", m.topic.size());
    if (m.tags.size() > 0xFFFF) tooLong("tags", m.tags.size());
    if (m.properties.size() > 0xFFFFFFFFu) tooLong("properties", m.properties.size());
    if (m.body.size() > 0xFFFFFFFFu) tooLong("body", m.body.size());
    return kFixedBytes + m.topic.size() + m.tags.size() + m.properties.size() + m.body.size();
  }

  /// Appends the encoding of `m` to `out`.
  static void encode(const DurableMessage& m, std::vector<std::byte>& out) {
    const std::size_t at = out.size();
    out.resize(at + encodedSize(m));
    std::byte* p = out.data() + at;
    p = put(p, static_cast<std::uint32_t>(m.queueId), 4);
    p = put(p, static_cast<std::uint32_t>(m.flag), 4);
    p = put(p, static_cast<std::uint64_t>(m.queueOffset), 8);
    p = put(p, static_cast<std::uint64_t>(m.bornTimestamp), 8);
    p = put(p, static_cast<std::uint64_t>(m.storeTimestamp), 8);
    p = put(p, static_cast<std::uint32_t>(m.reconsumeTimes), 4);
    p = put(p, m.msgId.hi, 8);
    p = put(p, m.msgId.lo, 8);
    p = putBytes(p, m.topic, 2);
    p = putBytes(p, m.tags, 2);
    p = putBytes(p, m.properties, 4);
    putBytes(p, m.body, 4);
  }

  /// The message `bytes` hold, viewing them. Throws std::runtime_error when they are not one whole
  /// encoding: a record whose CRC passed but that this build cannot read.
  static DurableMessage decode(std::span<const std::byte> bytes) {
    Reader r{bytes.data(), bytes.data() + bytes.size()};
    DurableMessage m;
    m.queueId = static_cast<std::int32_t>(r.number(4));
    m.flag = static_cast<std::int32_t>(r.number(4));
    m.queueOffset = static_cast<std::int64_t>(r.number(8));
    m.bornTimestamp = static_cast<std::int64_t>(r.number(8));
    m.storeTimestamp = static_cast<std::int64_t>(r.number(8));
    m.reconsumeTimes = static_cast<std::int32_t>(r.number(4));
    m.msgId.hi = r.number(8);
    m.msgId.lo = r.number(8);
    m.topic = r.text(2);
    m.tags = r.text(2);
    m.properties = r.text(4);
    m.body = r.text(4);
    if (r.p != r.end) malformed("bytes after the body");
    return m;
  }

 private:
  struct Reader {
    const std::byte* p;
    const std::byte* end;
    std::uint64_t number(int n) {
      if (end - p < n) malformed("a field cut short");
      std::uint64_t v = 0;
      for (int i = n - 1; i >= 0; --i)
        v = (v << 8) | static_cast<std::uint64_t>(p[i]);
      p += n;
      return v;
    }
    std::string_view text(int lengthBytes) {
      const std::uint64_t n = number(lengthBytes);
      if (static_cast<std::uint64_t>(end - p) < n) malformed("a field longer than the record");
      const std::string_view s(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
      p += n;
      return s;
    }
  };

  static std::byte* put(std::byte* p, std::uint64_t v, int n) noexcept {
    for (int i = 0; i < n; ++i)
      p[i] = static_cast<std::byte>(v >> (8 * i));
    return p + n;
  }
  static std::byte* putBytes(std::byte* p, std::string_view s, int lengthBytes) noexcept {
    p = put(p, s.size(), lengthBytes);
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    return p + s.size();
  }
  [[noreturn]] static void tooLong(const char* field, std::size_t n) {
    throw std::length_error(std::string("a stored message's ") + field + " of " + std::to_string(n) +
                            " bytes exceeds the durable format's bound");
  }
  [[noreturn]] static void malformed(const char* what) {
    throw std::runtime_error(std::string("a CommitLog record is not a message this build can read: ") + what);
  }
};

}  // namespace ackmq::detail
