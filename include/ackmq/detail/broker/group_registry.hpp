#pragma once
// ackmq internals: the broker's consumer group registry (RocketMQ ConsumerManager, plus the
// RebalanceLockManager for orderly consumption). Who belongs to which group with what subscription; tells
// every member to rebalance when the membership or a subscribed topic's queues change; holds the orderly
// queue locks.

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ackmq/consumer_types.hpp>
#include <ackmq/detail/store/subscription_filter.hpp>
#include <ackmq/message.hpp>
#include <ackmq/message_queue.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

enum class ListenerKind : std::uint8_t { CONCURRENT, ORDERLY, PULL, POP };

constexpr std::string_view nameOf(ListenerKind k) noexcept {
  switch (k) {
    case ListenerKind::CONCURRENT:
      return "concurrent push";
    case ListenerKind::ORDERLY:
      return "orderly push";
    case ListenerKind::PULL:
      return "lite pull";
    case ListenerKind::POP:
      return "simple (pop)";
  }
  return "unknown";
}

/// A group member, as the registry reaches it. Called without any library lock held by the caller's
/// own code; implementations only record the request and wake their own thread.
class ConsumerEndpoint {
 public:
  /// The group's membership, or the queues of a topic it subscribes to, changed: rebalance.
  virtual void onGroupChanged() noexcept = 0;

 protected:
  ~ConsumerEndpoint() = default;
};

/// What a member declares when it joins.
struct MemberSpec {
  std::string group;
  std::string clientId;
  std::map<std::string, SubscriptionFilter>
      subscriptions;  // the application's topics (the retry topic is implied)
  MessageModel model = MessageModel::CLUSTERING;
  ListenerKind kind = ListenerKind::CONCURRENT;
  ConsumerEndpoint* endpoint = nullptr;
};

/// Thread safety: thread-safe. Notifications are delivered under notifyMutex_, and leave() takes it too, so
/// after leave() returns a member is never called again.
class GroupRegistry {
 public:
  /// Adds a member and tells every member of the group (the newcomer included) to rebalance. Throws
  /// MQClientException if the member's subscription, message model or listener kind differs from the group's
  /// (RocketMQ accepts it, and the members then silently lose the messages the others filter), or its
  /// clientId is already in the group. Returns true if the group had no member.
  bool join(const MemberSpec& spec) {
    bool first = false;
    {
      std::lock_guard lock(mutex_);
      Group& g = groups_[spec.group];
      first = g.members.empty();
      if (!first) {
        const MemberSpec& ref = g.members.front();
        if (ref.subscriptions != spec.subscriptions || ref.model != spec.model || ref.kind != spec.kind) {
          throw MQClientException(ResponseCode::SUBSCRIPTION_NOT_LATEST,
                                  "consumer group \"" + spec.group + "\": member " + spec.clientId + " has " +
                                      describe(spec) + " but the group's members (" + ref.clientId +
                                      ") have " + describe(ref) +
                                      "; every member of a group must subscribe alike");
        }
        for (const auto& m : g.members) {
          if (m.clientId == spec.clientId) {
            throw MQClientException(ResponseCode::CLIENT_STATE_ILLEGAL,
                                    "consumer group \"" + spec.group +
                                        "\" already has a member with client id " + spec.clientId +
                                        "; give each instance its own instanceName");
          }
        }
      }
      g.members.push_back(spec);
      std::sort(g.members.begin(), g.members.end(),
                [](const MemberSpec& a, const MemberSpec& b) { return a.clientId < b.clientId; });
    }
    notifyGroup(spec.group);
    return first;
  }

  /// Removes a member, releases its orderly locks, and tells the remaining members to rebalance.
  void leave(std::string_view group, std::string_view clientId) {
    {
      std::lock_guard lock(mutex_);
      auto it = groups_.find(std::string(group));
      if (it == groups_.end()) return;
      std::erase_if(it->second.members, [&](const MemberSpec& m) { return m.clientId == clientId; });
      std::erase_if(it->second.locks, [&](const auto& kv) { return kv.second.clientId == clientId; });
    }
    std::lock_guard notify(notifyMutex_);  // waits for a notification in flight to this member
    notifyLocked(group);
  }

  /// The client ids of a group's members, sorted (RocketMQ sorts cidAll before allocating).
  std::vector<std::string> clientIds(std::string_view group) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    auto it = groups_.find(std::string(group));
    if (it == groups_.end()) return out;
    for (const auto& m : it->second.members)
      out.push_back(m.clientId);
    return out;
  }

  /// The groups with at least one member, and their models.
  std::vector<std::pair<std::string, MessageModel>> groups() const {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::string, MessageModel>> out;
    for (const auto& [name, g] : groups_) {
      if (!g.members.empty()) out.emplace_back(name, g.members.front().model);
    }
    return out;
  }

  /// The queues of `topic` changed: every group subscribed to it rebalances.
  void topicChanged(std::string_view topic) {
    std::vector<std::string> affected;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [name, g] : groups_) {
        if (g.members.empty()) continue;
        const auto& subs = g.members.front().subscriptions;
        if (subs.contains(std::string(topic)) || MixAll::getRetryTopic(name) == topic)
          affected.push_back(name);
      }
    }
    for (const auto& group : affected)
      notifyGroup(group);
  }

  // ------------------------------------------------------------------------------------ orderly queue locks

  /// Locks `mq` for `clientId` in `group` (RocketMQ RebalanceLockManager.tryLock): granted if free, already
  /// held by the same client, or held by a client that is no longer a member.
  bool tryLock(std::string_view group, const MessageQueue& mq, std::string_view clientId) {
    std::lock_guard lock(mutex_);
    Group& g = groups_[std::string(group)];
    auto it = g.locks.find(mq);
    if (it != g.locks.end() && it->second.clientId != clientId) {
      const bool holderAlive = std::any_of(g.members.begin(), g.members.end(), [&](const MemberSpec& m) {
        return m.clientId == it->second.clientId;
      });
      if (holderAlive) return false;
    }
    g.locks[mq] = Lock{std::string(clientId)};
    return true;
  }

  /// Releases `mq` if `clientId` holds it.
  void unlock(std::string_view group, const MessageQueue& mq, std::string_view clientId) {
    {
      std::lock_guard lock(mutex_);
      auto git = groups_.find(std::string(group));
      if (git == groups_.end()) return;
      auto it = git->second.locks.find(mq);
      if (it == git->second.locks.end() || it->second.clientId != clientId) return;
      git->second.locks.erase(it);
    }
    notifyGroup(group);  // a member waiting for this queue can take it now
  }

  /// The client holding `mq`'s lock in `group`, or "".
  std::string lockHolder(std::string_view group, const MessageQueue& mq) const {
    std::lock_guard lock(mutex_);
    auto git = groups_.find(std::string(group));
    if (git == groups_.end()) return {};
    auto it = git->second.locks.find(mq);
    return it == git->second.locks.end() ? std::string() : it->second.clientId;
  }

  /// True when the group currently holds orderly queue locks (RocketMQ 5.1 treats such a group as orderly
  /// when routing a retry copy: it goes straight to the DLQ).
  bool holdsLocks(std::string_view group) const {
    std::lock_guard lock(mutex_);
    auto git = groups_.find(std::string(group));
    return git != groups_.end() && !git->second.locks.empty();
  }

 private:
  struct Lock {
    std::string clientId;
  };
  struct Group {
    std::vector<MemberSpec> members;  // sorted by clientId; all subscribe alike
    std::map<MessageQueue, Lock> locks;
  };

  static std::string describe(const MemberSpec& m) {
    std::string s = "subscriptions {";
    bool firstTopic = true;
    for (const auto& [topic, filter] : m.subscriptions) {
      if (!firstTopic) s += ", ";
      firstTopic = false;
      s += topic + ": " + filter.toString();
    }
    return s + "}, " + std::string(nameOf(m.model)) + ", " + std::string(nameOf(m.kind)) + " listener";
  }

  void notifyGroup(std::string_view group) {
    std::lock_guard notify(notifyMutex_);
    notifyLocked(group);
  }
  void notifyLocked(std::string_view group) {
    std::vector<ConsumerEndpoint*> endpoints;
    {
      std::lock_guard lock(mutex_);
      auto it = groups_.find(std::string(group));
      if (it == groups_.end()) return;
      for (const auto& m : it->second.members)
        endpoints.push_back(m.endpoint);
    }
    for (ConsumerEndpoint* e : endpoints)
      e->onGroupChanged();
  }

  mutable std::mutex mutex_;  // guards groups_
  std::mutex notifyMutex_;  // held while members are notified; leave() takes it, so no call outlives a member
  std::map<std::string, Group> groups_;
};

}  // namespace ackmq::detail
