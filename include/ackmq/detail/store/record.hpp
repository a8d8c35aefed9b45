#pragma once
// ackmq internals: the layout of one stored message in the CommitLog.
//
//   RecordHeader (80 bytes) | tags | encoded properties | padding | body
//
// A std::string body is stored as its bytes; any other Body is stored as an object, constructed in place
// and destroyed when its segment is reclaimed. Records are immutable once published.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <ackmq/detail/body_traits.hpp>
#include <ackmq/detail/message_id.hpp>
#include <ackmq/message.hpp>

namespace ackmq::detail {

struct TopicEntry;

struct RecordHeader {
  std::uint32_t totalSize;  // bytes of the whole record, a multiple of 8
  std::int32_t queueId;
  std::int64_t queueOffset;
  std::int64_t commitLogOffset;
  std::int64_t bornTimestamp;
  std::int64_t storeTimestamp;
  MessageId msgId;
  std::int32_t reconsumeTimes;
  std::int32_t flag;
  const TopicEntry* topic;
  std::uint32_t bodySize;  // bytes of a string body; sizeof(Body) for an object body
  std::uint16_t tagsSize;
  std::uint16_t propertiesSize;

  const char* tagsData() const noexcept { return reinterpret_cast<const char*>(this + 1); }
  std::string_view tags() const noexcept { return {tagsData(), tagsSize}; }
  std::string_view encodedProperties() const noexcept { return {tagsData() + tagsSize, propertiesSize}; }
};
static_assert(sizeof(RecordHeader) == 80, "keep the per-message overhead small");
static_assert(alignof(RecordHeader) == 8);

constexpr std::size_t alignUp(std::size_t n, std::size_t a) noexcept {
  return (n + a - 1) / a * a;
}

/// Where the body starts, from the record's start.
template <class Body>
constexpr std::size_t bodyOffset(std::size_t tagsSize, std::size_t propertiesSize) noexcept {
  const std::size_t afterMeta = sizeof(RecordHeader) + tagsSize + propertiesSize;
  if constexpr (kBytesBody<Body>) {
    return afterMeta;
  } else {
    return alignUp(afterMeta, alignof(Body));
  }
}

template <class Body>
constexpr std::size_t recordSize(std::size_t tagsSize, std::size_t propertiesSize,
                                 std::size_t bodyBytes) noexcept {
  return alignUp(bodyOffset<Body>(tagsSize, propertiesSize) + bodyBytes, 8);
}

template <class Body>
const Body& objectBody(const RecordHeader& h) noexcept {
  static_assert(!kBytesBody<Body>);
  const auto* base = reinterpret_cast<const std::byte*>(&h);
  return *std::launder(reinterpret_cast<const Body*>(base + bodyOffset<Body>(h.tagsSize, h.propertiesSize)));
}

inline std::string_view bytesBody(const RecordHeader& h) noexcept {
  const auto* base = reinterpret_cast<const char*>(&h);
  return {base + bodyOffset<std::string>(h.tagsSize, h.propertiesSize), h.bodySize};
}

// ---------------------------------------------------------------------------------------------------------
// Properties are encoded as (u16 name length, name, u16 value length, value)*: no separator characters, so
// any bytes are safe in names and values. RocketMQ caps the encoded properties at 32767 bytes.

inline char* putU16(char* p, std::size_t v) noexcept {
  p[0] = static_cast<char>(v & 0xFF);
  p[1] = static_cast<char>((v >> 8) & 0xFF);
  return p + 2;
}
inline char* putBytes(char* p, std::string_view bytes) noexcept {
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}
/// name == known, where `known` is a name fixed at compile time (a MessageConst property): with its length a
/// constant, the byte comparison inlines into a few loads, where string_view's == calls memcmp. Property
/// names are compared this way on every send-back and re-put.
constexpr bool isName(std::string_view name, std::string_view known) noexcept {
  if (name.size() != known.size()) return false;
  if (std::is_constant_evaluated()) return name == known;
  return std::memcmp(name.data(), known.data(), known.size()) == 0;
}

inline std::size_t readU16(const char* p) noexcept {
  return static_cast<std::size_t>(static_cast<unsigned char>(p[0])) |
         (static_cast<std::size_t>(static_cast<unsigned char>(p[1])) << 8);
}

/// Appends one property. Names and values longer than 65535 bytes are rejected before this point.
inline void encodeProperty(std::string& out, std::string_view name, std::string_view value) {
  const std::size_t at = out.size();
  out.resize(at + 4 + name.size() + value.size());  // one growth check for the four parts
  char* p = putBytes(putU16(out.data() + at, name.size()), name);
  putBytes(putU16(p, value.size()), value);
}

/// Calls f(name, value) for each encoded property, in order.
template <class F>
void forEachProperty(std::string_view encoded, F&& f) {
  const char* p = encoded.data();
  const char* end = p + encoded.size();
  while (p + 2 <= end) {
    const std::size_t nl = readU16(p);
    p += 2;
    std::string_view name(p, nl);
    p += nl;
    const std::size_t vl = readU16(p);
    p += 2;
    std::string_view value(p, vl);
    p += vl;
    f(name, value);
  }
}

/// The value of the first property called `name`.
inline std::optional<std::string_view> findProperty(std::string_view encoded, std::string_view name) {
  const char* p = encoded.data();
  const char* end = p + encoded.size();
  while (p + 2 <= end) {
    const std::size_t nl = readU16(p);
    const std::string_view n(p + 2, nl);
    p += 2 + nl;
    const std::size_t vl = readU16(p);
    if (n == name) return std::string_view(p + 2, vl);
    p += 2 + vl;
  }
  return std::nullopt;
}

/// Calls run(bytes) for each run of consecutive properties of `encoded` that `keep(name)` (or
/// `keep(name, value)`) accepts, in order, each run as encoded; keep is asked once per property, in order.
template <class Keep, class Run>
void forEachKeptRun(std::string_view encoded, Keep&& keep, Run&& run) {
  const char* p = encoded.data();
  const char* end = p + encoded.size();
  const char* from = p;  // the first byte of the current run of kept properties
  auto close = [&](const char* to) {
    if (to != from) run(std::string_view(from, static_cast<std::size_t>(to - from)));
  };
  while (p + 2 <= end) {
    const char* start = p;
    const std::size_t nl = readU16(p);
    const std::string_view name(p + 2, nl);
    p += 2 + nl;
    const std::string_view value(p + 2, readU16(p));
    p += 2 + value.size();
    bool kept;
    if constexpr (std::is_invocable_v<Keep&, std::string_view, std::string_view>) {
      kept = keep(name, value);
    } else {
      kept = keep(name);
    }
    if (!kept) {
      close(start);
      from = p;
    }
  }
  close(p);
}

/// Appends to `out` the properties of `encoded` that `keep` accepts (see forEachKeptRun), in order. Each run
/// of kept properties is copied whole, as encoded: a copy that drops a few properties costs a few appends,
/// not an encode per property.
template <class Keep>
void appendPropertiesIf(std::string& out, std::string_view encoded, Keep&& keep) {
  forEachKeptRun(encoded, keep, [&](std::string_view run) { out.append(run); });
}

/// The properties of `encoded` that `keep` accepts (see forEachKeptRun), in order: a view of `encoded` itself
/// while they are one run of it (when only the first or the last few are dropped, as the routing ones are,
/// nothing is copied), else a copy built in `scratch`.
template <class Keep>
std::string_view keptProperties(std::string_view encoded, std::string& scratch, Keep&& keep) {
  std::string_view first;
  bool copied = false;
  forEachKeptRun(encoded, keep, [&](std::string_view run) {
    if (first.empty()) {
      first = run;  // runs are never empty
    } else {
      if (!copied) scratch.assign(first);
      copied = true;
      scratch.append(run);
    }
  });
  return copied ? std::string_view(scratch) : first;
}

/// Encodes a message's properties map.
template <class Map>
std::string encodeProperties(const Map& properties) {
  std::string out;
  for (const auto& [k, v] : properties)
    encodeProperty(out, k, v);
  return out;
}

/// Everything a writer needs to lay down one record. Store timestamp, queue offset and CommitLog offset are
/// assigned by the store under its lock. The body comes from a Body object (`body`), or, for byte bodies
/// copied from another record, from `bodyBytes` with `body` null.
template <class Body>
struct RecordSource {
  std::string_view tags;
  std::string_view encodedProperties;
  std::string_view moreProperties;  // stored after encodedProperties (a parked copy's routing properties)
  const Body* body = nullptr;
  std::string_view bodyBytes;
  MessageId msgId;
  std::int64_t bornTimestamp = 0;
  std::int32_t reconsumeTimes = 0;
  std::int32_t flag = 0;

  std::size_t bodyStoredBytes() const noexcept {
    if constexpr (kBytesBody<Body>) {
      return body != nullptr ? body->size() : bodyBytes.size();
    } else {
      return sizeof(Body);
    }
  }
  std::size_t propertiesSize() const noexcept { return encodedProperties.size() + moreProperties.size(); }
  std::size_t size() const noexcept {
    return recordSize<Body>(tags.size(), propertiesSize(), bodyStoredBytes());
  }
};

/// Writes `src` at `where` (which has src.size() bytes). Constructs an object body in place; may throw only
/// from Body's copy constructor, before the header is written (the caller then abandons the space).
template <class Body>
RecordHeader* writeRecord(void* where, const RecordSource<Body>& src, const TopicEntry* topic, int queueId) {
  auto* base = static_cast<std::byte*>(where);
  const std::size_t bodyAt = bodyOffset<Body>(src.tags.size(), src.propertiesSize());
  if constexpr (kBytesBody<Body>) {
    const std::string_view bytes = src.body != nullptr ? std::string_view(*src.body) : src.bodyBytes;
    if (!bytes.empty()) std::memcpy(base + bodyAt, bytes.data(), bytes.size());
  } else {
    ::new (static_cast<void*>(base + bodyAt)) Body(*src.body);
  }
  auto* h = ::new (where) RecordHeader{};
  h->totalSize = static_cast<std::uint32_t>(src.size());
  h->queueId = queueId;
  h->queueOffset = -1;  // set when the record is published to its consume queue
  h->bornTimestamp = src.bornTimestamp;
  h->msgId = src.msgId;
  h->reconsumeTimes = src.reconsumeTimes;
  h->flag = src.flag;
  h->topic = topic;
  h->bodySize = static_cast<std::uint32_t>(src.bodyStoredBytes());
  h->tagsSize = static_cast<std::uint16_t>(src.tags.size());
  h->propertiesSize = static_cast<std::uint16_t>(src.propertiesSize());
  char* meta = reinterpret_cast<char*>(h + 1);
  if (!src.tags.empty()) std::memcpy(meta, src.tags.data(), src.tags.size());
  meta += src.tags.size();
  if (!src.encodedProperties.empty())
    std::memcpy(meta, src.encodedProperties.data(), src.encodedProperties.size());
  meta += src.encodedProperties.size();
  if (!src.moreProperties.empty()) std::memcpy(meta, src.moreProperties.data(), src.moreProperties.size());
  return h;
}

/// A source that copies `h` (body, tags, ids, timestamps, reconsume count) with other properties. The record
/// must stay alive until the copy is written.
template <class Body>
RecordSource<Body> copyOf(const RecordHeader& h, std::string_view encodedProperties) {
  RecordSource<Body> src;
  src.tags = h.tags();
  src.encodedProperties = encodedProperties;
  if constexpr (kBytesBody<Body>) {
    src.bodyBytes = bytesBody(h);
  } else {
    src.body = &objectBody<Body>(h);
  }
  src.msgId = h.msgId;
  src.bornTimestamp = h.bornTimestamp;
  src.reconsumeTimes = h.reconsumeTimes;
  src.flag = h.flag;
  return src;
}

template <class Body>
void destroyRecordBody(RecordHeader& h) noexcept {
  if constexpr (!kBytesBody<Body> && !std::is_trivially_destructible_v<Body>) {
    const_cast<Body&>(objectBody<Body>(h)).~Body();
  }
}

/// The body of a record, as a Body value.
template <class Body>
Body copyBody(const RecordHeader& h) {
  if constexpr (kBytesBody<Body>) {
    return Body(bytesBody(h));
  } else {
    return objectBody<Body>(h);
  }
}

}  // namespace ackmq::detail
