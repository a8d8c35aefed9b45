#pragma once
// ackmq internals: the topic table. Topic configs (queue count, kind) by name. Entries are never removed,
// so a TopicEntry* stays valid for the broker's lifetime and records can point at their topic.

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <ackmq/detail/store/consume_queue.hpp>
#include <ackmq/message.hpp>

namespace ackmq::detail {

/// TRANS_HALF holds transactional messages until they are resolved; TRANS_OP the broker's record of each
/// resolution.
enum class TopicKind : std::uint8_t { NORMAL, RETRY, DLQ, SCHEDULE, TRANS_HALF, TRANS_OP };

/// Whether the topic's records wait for the broker, not for consumers: delayed messages and transaction
/// halves, each counted in its segment's pendingParked until it is re-put or resolved.
constexpr bool parksRecords(TopicKind kind) noexcept {
  return kind == TopicKind::SCHEDULE || kind == TopicKind::TRANS_HALF;
}
/// Whether no consumer reads the topic: the broker's own bookkeeping, done with once nothing is parked.
constexpr bool isBrokerInternal(TopicKind kind) noexcept {
  return parksRecords(kind) || kind == TopicKind::TRANS_OP;
}

inline TopicKind topicKindOf(std::string_view name) noexcept {
  if (name == MixAll::SCHEDULE_TOPIC) return TopicKind::SCHEDULE;
  if (name == MixAll::RMQ_SYS_TRANS_HALF_TOPIC) return TopicKind::TRANS_HALF;
  if (name == MixAll::RMQ_SYS_TRANS_OP_HALF_TOPIC) return TopicKind::TRANS_OP;
  if (MixAll::isRetryTopic(name)) return TopicKind::RETRY;
  if (MixAll::isDLQTopic(name)) return TopicKind::DLQ;
  return TopicKind::NORMAL;
}

/// Thread safety: name and kind are immutable; queues is guarded by the broker's store lock and only grows;
/// queueNums may be read without a lock.
struct TopicEntry {
  std::string name;
  TopicKind kind = TopicKind::NORMAL;
  std::deque<ConsumeQueue> queues;
  std::vector<ConsumeQueue*> queueAt;  // &queues[i], guarded like queues: a deque of large entries indexes
                                       // through a call, and every append picks its queue
  std::atomic<int> queueNums{0};
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// Thread safety: thread-safe.
class TopicTable {
 public:
  TopicEntry* find(std::string_view name) const {
    std::lock_guard lock(mutex_);
    auto it = map_.find(name);
    return it == map_.end() ? nullptr : it->second.get();
  }

  /// The topic, created empty (no queues) if missing; `created` tells which.
  TopicEntry& getOrCreate(std::string_view name, bool& created) {
    std::lock_guard lock(mutex_);
    auto it = map_.find(name);
    created = it == map_.end();
    if (!created) return *it->second;
    auto entry = std::make_unique<TopicEntry>();
    entry->name = std::string(name);
    entry->kind = topicKindOf(name);
    TopicEntry& ref = *entry;
    map_.emplace(std::string(name), std::move(entry));
    return ref;
  }

  std::vector<TopicEntry*> all() const {
    std::lock_guard lock(mutex_);
    std::vector<TopicEntry*> out;
    out.reserve(map_.size());
    for (const auto& [name, entry] : map_)
      out.push_back(entry.get());
    return out;
  }

 private:
  mutable std::mutex mutex_;  // guards map_ (not the entries' queues)
  std::unordered_map<std::string, std::unique_ptr<TopicEntry>, StringHash, std::equal_to<>> map_;
};

}  // namespace ackmq::detail
