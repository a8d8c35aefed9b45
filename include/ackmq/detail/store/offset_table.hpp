#pragma once
// ackmq internals: the consumer offset table (RocketMQ ConsumerOffsetManager). For each (group, topic, queue)
// the committed offset: the next queue offset the group will consume; everything below it is done. -1 when
// the group has none.
//
// Each offset lives in its own atomic slot with a stable address, so a consumer resolves its slot once and
// commits with one store per consume result (not every 5 s as RocketMQ's clients do: fewer duplicates after a
// rebalance or restart) without taking the table's lock.

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ackmq/detail/store/topic_table.hpp>

namespace ackmq::detail {

/// Thread safety: thread-safe.
class OffsetTable {
 public:
  using Slot = std::atomic<std::int64_t>;

  /// The slot of (group, topic, queueId), created holding -1 if missing.
  Slot& slot(std::string_view group, const TopicEntry& topic, int queueId) {
    std::lock_guard lock(mutex_);
    GroupTopic& gt = groupTopic(group, topic);
    while (static_cast<int>(gt.offsets.size()) <= queueId)
      gt.offsets.emplace_back(-1);
    return gt.offsets[static_cast<std::size_t>(queueId)];
  }

  /// The committed offset, or -1.
  std::int64_t query(std::string_view group, std::string_view topic, int queueId) const {
    std::lock_guard lock(mutex_);
    auto it = byKey_.find(std::make_pair(std::string(group), std::string(topic)));
    if (it == byKey_.end() || queueId < 0 || queueId >= static_cast<int>(it->second->offsets.size()))
      return -1;
    return it->second->offsets[static_cast<std::size_t>(queueId)].load(std::memory_order_acquire);
  }

  /// True when the group has at least one committed offset for the topic.
  bool hasAny(std::string_view group, std::string_view topic) const {
    std::lock_guard lock(mutex_);
    auto it = byKey_.find(std::make_pair(std::string(group), std::string(topic)));
    if (it == byKey_.end()) return false;
    for (const auto& o : it->second->offsets) {
      if (o.load(std::memory_order_acquire) >= 0) return true;
    }
    return false;
  }

  /// Every committed offset of a group: (topic, queueId) -> offset, -1 entries left out.
  std::map<std::pair<std::string, int>, std::int64_t> snapshot(std::string_view group) const {
    std::lock_guard lock(mutex_);
    std::map<std::pair<std::string, int>, std::int64_t> out;
    for (const auto& [key, gt] : byKey_) {
      if (key.first != group) continue;
      for (std::size_t q = 0; q < gt->offsets.size(); ++q) {
        const std::int64_t v = gt->offsets[q].load(std::memory_order_acquire);
        if (v >= 0) out.emplace(std::make_pair(key.second, static_cast<int>(q)), v);
      }
    }
    return out;
  }

  /// Calls f(group, topic, queueId, offset) for every committed offset, -1 entries left out.
  template <class F>
  void forEach(F&& f) const {
    std::lock_guard lock(mutex_);
    for (const auto& [key, gt] : byKey_) {
      for (std::size_t q = 0; q < gt->offsets.size(); ++q) {
        const std::int64_t v = gt->offsets[q].load(std::memory_order_acquire);
        if (v >= 0) f(std::string_view(key.first), std::string_view(key.second), static_cast<int>(q), v);
      }
    }
  }

  /// True when at least one group tracks this queue and every group that does has committed past
  /// `lastOffset`: the queue's messages up to it are consumed.
  bool consumedThrough(const TopicEntry& topic, int queueId, std::int64_t lastOffset) const {
    std::lock_guard lock(mutex_);
    auto it = byTopic_.find(&topic);
    if (it == byTopic_.end()) return false;
    bool tracked = false;
    for (const GroupTopic* gt : it->second) {
      if (queueId >= static_cast<int>(gt->offsets.size())) continue;
      const std::int64_t v = gt->offsets[static_cast<std::size_t>(queueId)].load(std::memory_order_acquire);
      if (v < 0) continue;
      tracked = true;
      if (v <= lastOffset) return false;
    }
    return tracked;
  }

  /// The lowest committed offset any group holds for the queue, or -1 when no group tracks it.
  std::int64_t minCommitted(const TopicEntry& topic, int queueId) const {
    std::lock_guard lock(mutex_);
    auto it = byTopic_.find(&topic);
    if (it == byTopic_.end()) return -1;
    std::int64_t best = -1;
    for (const GroupTopic* gt : it->second) {
      if (queueId >= static_cast<int>(gt->offsets.size())) continue;
      const std::int64_t v = gt->offsets[static_cast<std::size_t>(queueId)].load(std::memory_order_acquire);
      if (v >= 0 && (best < 0 || v < best)) best = v;
    }
    return best;
  }

  /// Moves every committed offset of the queue that lies below `minOffset` up to it (RocketMQ consumers jump
  /// forward on OFFSET_ILLEGAL; here the table does it for them when the store reclaims).
  void raiseTo(const TopicEntry& topic, int queueId, std::int64_t minOffset) {
    std::lock_guard lock(mutex_);
    auto it = byTopic_.find(&topic);
    if (it == byTopic_.end()) return;
    for (GroupTopic* gt : it->second) {
      if (queueId >= static_cast<int>(gt->offsets.size())) continue;
      Slot& s = gt->offsets[static_cast<std::size_t>(queueId)];
      std::int64_t v = s.load(std::memory_order_acquire);
      while (v >= 0 && v < minOffset && !s.compare_exchange_weak(v, minOffset, std::memory_order_acq_rel)) {
      }
    }
  }

 private:
  struct GroupTopic {
    std::deque<Slot> offsets;  // by queue id; a deque so slots never move
  };

  GroupTopic& groupTopic(std::string_view group, const TopicEntry& topic) {
    auto key = std::make_pair(std::string(group), topic.name);
    auto it = byKey_.find(key);
    if (it != byKey_.end()) return *it->second;
    auto gt = std::make_unique<GroupTopic>();
    GroupTopic& ref = *gt;
    byKey_.emplace(std::move(key), std::move(gt));
    byTopic_[&topic].push_back(&ref);
    return ref;
  }

  mutable std::mutex mutex_;  // guards the maps' structure; offset values are atomics
  std::map<std::pair<std::string, std::string>, std::unique_ptr<GroupTopic>> byKey_;
  std::unordered_map<const TopicEntry*, std::vector<GroupTopic*>> byTopic_;
};

}  // namespace ackmq::detail
