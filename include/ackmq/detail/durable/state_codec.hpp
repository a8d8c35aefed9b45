#pragma once
// ackmq internals: the payloads of the durable store's state files, little-endian:
//
//   topics          count u32, then per topic: name u16+bytes | queueNums i32
//   consumerOffset  count u32, then per offset: group u16+bytes | topic u16+bytes | queueId i32 | offset i64
//
// The StateFile around them carries the CRC and the version; a payload that does not parse is refused.

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ackmq/detail/store/offset_table.hpp>

namespace ackmq::detail {

struct CommittedOffset {
  std::string group;
  std::string topic;
  int queueId = 0;
  std::int64_t offset = 0;
};

inline void putU32(std::vector<std::byte>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<std::byte>(v >> (8 * i)));
}
inline void putU64(std::vector<std::byte>& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<std::byte>(v >> (8 * i)));
}
/// The little-endian u32 at `at`; throws std::runtime_error when `bytes` end before it.
inline std::uint32_t getU32(std::span<const std::byte> bytes, std::size_t at) {
  if (at + 4 > bytes.size()) throw std::runtime_error("a stored record is cut short");
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<std::uint32_t>(bytes[at + static_cast<std::size_t>(i)]);
  return v;
}

/// Reads a state payload front to back, refusing one that ends early.
class StateReader {
 public:
  explicit StateReader(std::span<const std::byte> bytes) : bytes_(bytes) {}
  std::uint64_t number(int n) {
    need(static_cast<std::size_t>(n));
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i)
      v = (v << 8) | static_cast<std::uint64_t>(bytes_[at_ + static_cast<std::size_t>(i)]);
    at_ += static_cast<std::size_t>(n);
    return v;
  }
  std::string text() {
    const auto n = static_cast<std::size_t>(number(2));
    need(n);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + at_), n);
    at_ += n;
    return s;
  }

 private:
  void need(std::size_t n) const {
    if (at_ + n > bytes_.size()) throw std::runtime_error("a state file's payload is cut short");
  }
  std::span<const std::byte> bytes_;
  std::size_t at_ = 0;
};

inline void putText(std::vector<std::byte>& out, std::string_view s) {
  out.push_back(static_cast<std::byte>(s.size() & 0xFF));
  out.push_back(static_cast<std::byte>((s.size() >> 8) & 0xFF));
  for (char c : s)
    out.push_back(static_cast<std::byte>(c));
}

/// Every topic with queues, as (name, queueNums); `store` is a MessageStore.
template <class Store>
std::vector<std::byte> encodeTopics(const Store& store) {
  std::vector<std::pair<std::string_view, int>> topics;
  for (const TopicEntry* t : store.topics()) {
    const int n = t->queueNums.load(std::memory_order_acquire);
    if (n > 0) topics.emplace_back(t->name, n);
  }
  std::vector<std::byte> out;
  putU32(out, static_cast<std::uint32_t>(topics.size()));
  for (const auto& [name, n] : topics) {
    putText(out, name);
    putU32(out, static_cast<std::uint32_t>(n));
  }
  return out;
}

inline std::vector<std::pair<std::string, int>> decodeTopics(std::span<const std::byte> bytes) {
  StateReader r(bytes);
  std::vector<std::pair<std::string, int>> out;
  for (auto n = r.number(4); n > 0; --n) {
    std::string name = r.text();
    const auto queues = static_cast<int>(r.number(4));
    if (queues < 1 || queues > 1024)
      throw std::runtime_error("the topics file names a topic of " + std::to_string(queues) + " queues");
    out.emplace_back(std::move(name), queues);
  }
  return out;
}

inline std::vector<std::byte> encodeOffsets(const OffsetTable& table) {
  std::vector<std::byte> out;
  putU32(out, 0);  // the count, filled in once known
  std::uint32_t count = 0;
  table.forEach([&](std::string_view group, std::string_view topic, int queueId, std::int64_t offset) {
    putText(out, group);
    putText(out, topic);
    putU32(out, static_cast<std::uint32_t>(queueId));
    putU64(out, static_cast<std::uint64_t>(offset));
    ++count;
  });
  for (int i = 0; i < 4; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<std::byte>(count >> (8 * i));
  return out;
}

inline std::vector<CommittedOffset> decodeOffsets(std::span<const std::byte> bytes) {
  StateReader r(bytes);
  std::vector<CommittedOffset> out;
  for (auto n = r.number(4); n > 0; --n) {
    CommittedOffset o;
    o.group = r.text();
    o.topic = r.text();
    o.queueId = static_cast<int>(r.number(4));
    o.offset = static_cast<std::int64_t>(r.number(8));
    if (o.queueId < 0 || o.queueId >= 1024 || o.offset < 0)
      throw std::runtime_error("the consumerOffset file holds an offset out of range for " + o.topic);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace ackmq::detail
