#pragma once
// ackmq internals: a group member's side of rebalancing (RocketMQ RebalanceImpl), shared by the push and the
// lite pull consumers. Which queues the member should own (allocation over the group's sorted members), the
// orderly queue locks it must hold for them, and what it declares when it joins.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <ackmq/allocate_strategy.hpp>
#include <ackmq/consumer_types.hpp>
#include <ackmq/detail/broker/client_api.hpp>
#include <ackmq/detail/broker/group_registry.hpp>
#include <ackmq/message_queue.hpp>

namespace ackmq::detail {

/// Thread safety: immutable after construction; the calls are thread-safe as the broker's are.
template <class Core>
class Rebalancer {
 public:
  Rebalancer(Core& core, std::string group, std::string clientId, MessageModel model,
             std::shared_ptr<const AllocateMessageQueueStrategy> strategy, bool orderlyLocks)
      : core_(core),
        group_(std::move(group)),
        clientId_(std::move(clientId)),
        model_(model),
        strategy_(std::move(strategy)),
        locking_(orderlyLocks && model == MessageModel::CLUSTERING) {}

  /// RocketMQ RebalanceImpl.rebalanceByTopic for every topic of `filters`: every queue in BROADCASTING, the
  /// strategy's share of the sorted queues over the sorted members in CLUSTERING.
  template <class Filters>
  std::set<MessageQueue> wanted(const Filters& filters) const {
    std::set<MessageQueue> want;
    const std::vector<std::string> cids = core_.consumerIds(group_);
    for (const auto& [topic, filter] : filters) {
      const std::vector<MessageQueue> all = core_.queuesOrNone(topic);
      if (model_ == MessageModel::BROADCASTING) {
        want.insert(all.begin(), all.end());
      } else {
        for (auto& mq : strategy_->allocate(group_, clientId_, all, cids))
          want.insert(std::move(mq));
      }
    }
    return want;
  }

  /// Lets go of the queues of `owned` that are not `want`ed (drop(mq, state)), then takes up the wanted
  /// ones it lacks (take(mq) returns whether it did; a queue it cannot take yet is tried at the next
  /// rebalance). Returns how many it could not take.
  template <class Owned, class Drop, class Take>
  static std::size_t reconcile(Owned& owned, const std::set<MessageQueue>& want, Drop&& drop, Take&& take) {
    for (auto it = owned.begin(); it != owned.end();) {
      if (want.contains(it->first)) {
        ++it;
      } else {
        drop(it->first, it->second);
        it = owned.erase(it);
      }
    }
    std::size_t missed = 0;
    for (const MessageQueue& mq : want) {
      if (owned.contains(mq)) continue;
      if (!take(mq)) ++missed;
    }
    return missed;
  }

  /// Whether this member must hold a queue's lock to consume it (orderly, CLUSTERING).
  bool locking() const noexcept { return locking_; }
  /// RocketMQ RebalanceLockManager.tryLock for this member.
  bool tryLock(const MessageQueue& mq) { return core_.groups().tryLock(group_, mq, clientId_); }
  void unlock(const MessageQueue& mq) { core_.groups().unlock(group_, mq, clientId_); }

  /// What this member declares when it joins its group (HEART_BEAT).
  template <class Subscriptions>
  MemberSpec spec(const Subscriptions& subscriptions, ListenerKind kind, ConsumerEndpoint& endpoint) const {
    MemberSpec s;
    s.group = group_;
    s.clientId = clientId_;
    s.subscriptions = subscriptions;
    s.model = model_;
    s.kind = kind;
    s.endpoint = &endpoint;
    return s;
  }

  const std::string& group() const noexcept { return group_; }
  const std::string& clientId() const noexcept { return clientId_; }

 private:
  Core& core_;
  const std::string group_;
  const std::string clientId_;
  const MessageModel model_;
  const std::shared_ptr<const AllocateMessageQueueStrategy> strategy_;
  const bool locking_;
};

}  // namespace ackmq::detail
