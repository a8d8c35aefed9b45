#pragma once
// rocketmq-client-cpp compatibility (ackmq): the pull consumer. The program picks the queue and the offset of
// every pull; the consumer filters by tag, and keeps the offsets the program updates until it persists
// them to the broker (persistConsumerOffset, and shutdown()).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <ackmq/compat/broker_registry.hpp>
#include <ackmq/compat/client_config.hpp>
#include <ackmq/lite_pull_consumer.hpp>
#include <ackmq/message_queue.hpp>

#include "AsyncCallback.h"
#include "ConsumeType.h"
#include "MQClient.h"
#include "MQClientException.h"
#include "MQMessage.h"
#include "MQMessageExt.h"
#include "MQMessageQueue.h"
#include "MQueueListener.h"
#include "PullResult.h"
#include "RocketMQClient.h"
#include "SessionCredentials.h"

namespace rocketmq {
class SubscriptionData;
}  // namespace rocketmq

namespace ackmq::compat::detail {

/// The tags a pull's sub-expression accepts; empty for every message ("*", "", or "null").
inline std::set<std::string, std::less<>> tagsOf(const std::string& expression) {
  std::set<std::string, std::less<>> tags;
  if (expression.empty() || expression == "*" || expression == "null") return tags;
  std::size_t from = 0;
  for (;;) {
    const std::size_t bar = expression.find("||", from);
    std::string tag = expression.substr(from, bar == std::string::npos ? std::string::npos : bar - from);
    const auto first = tag.find_first_not_of(" \t");
    const auto last = tag.find_last_not_of(" \t");
    if (first != std::string::npos) tags.insert(tag.substr(first, last - first + 1));
    if (bar == std::string::npos) break;
    from = bar + 2;
  }
  if (tags.empty()) refuse("pull: the sub-expression \"" + expression + "\" names no tag");
  return tags;
}

class PullConsumerBackend {
 public:
  virtual ~PullConsumerBackend() = default;
  virtual void shutdown() = 0;
  virtual std::vector<ackmq::MessageQueue> queues(const std::string& topic) = 0;
  /// Messages of `mq` from `offset` on, up to `maxNums` whose tag `tags` accepts (every tag when empty),
  /// waiting up to `wait` on the broker's clock when there is nothing new.
  virtual rocketmq::PullResult pull(const ackmq::MessageQueue& mq,
                                    const std::set<std::string, std::less<>>& tags, std::int64_t offset,
                                    int maxNums, std::chrono::milliseconds wait) = 0;
  virtual std::int64_t storedOffset(const ackmq::MessageQueue& mq) = 0;
  virtual void storeOffset(const ackmq::MessageQueue& mq, std::int64_t offset) = 0;
};

template <class Broker>
class PullConsumerOn final : public PullConsumerBackend {
 public:
  PullConsumerOn(BrokerRef ref, Broker& broker, const std::string& group)
      : ref_(std::move(ref)), broker_(broker), group_(group), reader_(broker, group) {
    reader_.setAutoCommit(false);
    reader_.setPullBatchSize(kBatch);
    reader_.assign({});
    reader_.start();
  }

  void shutdown() override { reader_.shutdown(); }
  std::vector<ackmq::MessageQueue> queues(const std::string& topic) override {
    return broker_.fetchSubscribeMessageQueues(topic);
  }

  rocketmq::PullResult pull(const ackmq::MessageQueue& mq, const std::set<std::string, std::less<>>& tags,
                            std::int64_t offset, int maxNums, std::chrono::milliseconds wait) override {
    std::lock_guard lock(mutex_);
    (void)broker_.fetchSubscribeMessageQueues(mq.topic);  // throws for an unknown topic
    const std::int64_t min = broker_.minOffset(mq);
    const std::int64_t max = broker_.maxOffset(mq);
    if (offset < min || offset > max) {
      return rocketmq::PullResult(rocketmq::OFFSET_ILLEGAL, offset < min ? min : max, min, max);
    }
    reader_.assign({mq});
    reader_.seek(mq, offset);
    std::vector<rocketmq::MQMessageExt> found;
    std::int64_t next = offset;
    bool first = true;
    while (static_cast<int>(found.size()) < maxNums) {
      auto msgs = reader_.poll(first ? wait : std::chrono::milliseconds(0));
      first = false;
      if (msgs.empty()) break;
      for (const auto& m : msgs) {
        if (static_cast<int>(found.size()) == maxNums) break;
        next = m.getQueueOffset() + 1;
        if (tags.empty() || tags.find(m.getTags()) != tags.end()) found.push_back(fromNative(m));
      }
    }
    const std::int64_t newMax = broker_.maxOffset(mq);
    if (!found.empty()) return rocketmq::PullResult(rocketmq::FOUND, next, min, newMax, found);
    return rocketmq::PullResult(next == offset ? rocketmq::NO_NEW_MSG : rocketmq::NO_MATCHED_MSG, next, min,
                                newMax);
  }

  std::int64_t storedOffset(const ackmq::MessageQueue& mq) override {
    return broker_.queryConsumerOffset(group_, mq);
  }
  void storeOffset(const ackmq::MessageQueue& mq, std::int64_t offset) override {
    broker_.updateConsumerOffset(group_, mq, offset);
  }

 private:
  static constexpr int kBatch = 32;

  BrokerRef ref_;  // keeps a created broker alive while the consumer uses it
  Broker& broker_;
  std::string group_;
  std::mutex mutex_;  // serialises pulls: each moves the reader's one assigned queue
  ackmq::BasicLitePullConsumer<Broker> reader_;
};

}  // namespace ackmq::compat::detail

namespace rocketmq {

/// Thread safety: pull, the offset functions and fetchSubscribeMessageQueues are thread-safe (pulls are
/// serialised). Setters: call before start().
class ROCKETMQCLIENT_API DefaultMQPullConsumer {
 public:
  DefaultMQPullConsumer(const std::string& groupname) : config_(groupname) {}
  /// Runs shutdown().
  virtual ~DefaultMQPullConsumer() { stop(); }
  DefaultMQPullConsumer(const DefaultMQPullConsumer&) = delete;
  DefaultMQPullConsumer& operator=(const DefaultMQPullConsumer&) = delete;

  /// Attaches to the broker the name server address names (created on first use), then tells each
  /// registered MQueueListener its topic's queues, every one of them this consumer's. Throws
  /// MQClientException when no address is set. Idempotent.
  virtual void start() {
    using namespace ackmq::compat::detail;
    bool started = false;
    lifecycle_.start("pull consumer", [&] {
      started = true;
      const ackmq::compat::BrokerRef broker = config_.broker();
      return translated(
          [&] { return makeBackend<PullConsumerBackend, PullConsumerOn>(broker, config_.groupName); });
    });
    if (!started) return;
    for (auto& [topic, listener] : queueListeners_) {
      std::vector<MQMessageQueue> all;
      fetchSubscribeMessageQueues(topic, all);
      std::vector<MQMessageQueue> mine = all;
      listener->messageQueueChanged(topic, all, mine);
    }
  }
  /// Persists the offsets the program updated, then stops. Idempotent.
  virtual void shutdown() { stop(); }
  virtual std::string version() { return ackmq::compat::detail::kCompatVersion; }

  ACKMQ_COMPAT_CLIENT_CONFIG_MEMBERS

  /// Every queue of `topic`, into `mqs`. Throws MQClientException for a topic that does not exist.
  virtual void fetchSubscribeMessageQueues(const std::string& topic, std::vector<MQMessageQueue>& mqs) {
    using namespace ackmq::compat::detail;
    auto backend = lifecycle_.running("fetchSubscribeMessageQueues");
    mqs = translated([&] { return fromNative(backend->queues(topic)); });
  }

  /// Up to `maxNums` messages of `mq` from `offset` on whose tag `subExpression` accepts ("*" or
  /// "TagA || TagB"); returns at once. FOUND with the messages; NO_NEW_MSG at the queue's end;
  /// NO_MATCHED_MSG when only other tags were there (nextBeginOffset skips them); OFFSET_ILLEGAL outside
  /// [minOffset, maxOffset]. Throws MQClientException for maxNums below 1 or an unknown topic.
  virtual PullResult pull(const MQMessageQueue& mq, const std::string& subExpression, int64 offset,
                          int maxNums) {
    return pulled(mq, subExpression, offset, maxNums, std::chrono::milliseconds(0));
  }
  /// Not supported in process: throws MQClientException. Use the synchronous pull.
  virtual void pull(const MQMessageQueue& mq, const std::string& subExpression, int64 offset, int maxNums,
                    PullCallback* pPullCallback) {
    (void)mq, (void)subExpression, (void)offset, (void)maxNums, (void)pPullCallback;
    ackmq::compat::detail::refuse(
        "pull with a PullCallback: asynchronous pulls are not supported in process");
  }
  /// As pull, but when nothing is new waits up to 20 s (on the broker's clock) for a message.
  virtual PullResult pullBlockIfNotFound(const MQMessageQueue& mq, const std::string& subExpression,
                                         int64 offset, int maxNums) {
    return pulled(mq, subExpression, offset, maxNums, std::chrono::seconds(20));
  }
  /// Not supported in process: throws MQClientException.
  virtual void pullBlockIfNotFound(const MQMessageQueue& mq, const std::string& subExpression, int64 offset,
                                   int maxNums, PullCallback* pPullCallback) {
    pull(mq, subExpression, offset, maxNums, pPullCallback);
  }

  /// Writes every offset updated since the last persist to the broker, as the group's committed offsets.
  void persistConsumerOffset() {
    auto backend = lifecycle_.running("persistConsumerOffset");
    std::map<MQMessageQueue, int64> offsets;
    {
      std::lock_guard lock(offsetsMutex_);
      offsets.swap(offsets_);
    }
    for (const auto& entry : offsets) {
      ackmq::compat::detail::translated(
          [&] { backend->storeOffset(ackmq::compat::detail::toNative(entry.first), entry.second); });
    }
  }
  void persistConsumerOffsetByResetOffset() { persistConsumerOffset(); }
  /// Kept: the topic's queues come from the broker.
  void updateTopicSubscribeInfo(const std::string& topic, std::vector<MQMessageQueue>& info) {
    (void)topic, (void)info;
  }
  ConsumeFromWhere getConsumeFromWhere() { return CONSUME_FROM_LAST_OFFSET; }
  /// Declared for source compatibility; SubscriptionData is not part of the client's public headers, so a
  /// program cannot call this.
  void getSubscriptions(std::vector<SubscriptionData>&) {}
  /// Records `offset` (the next to consume) for `mq`, in memory until persisted. Throws MQClientException
  /// for a negative offset.
  void updateConsumeOffset(const MQMessageQueue& mq, int64 offset) {
    if (offset < 0)
      ackmq::compat::detail::refuse("updateConsumeOffset: offset " + std::to_string(offset) + " is negative");
    std::lock_guard lock(offsetsMutex_);
    offsets_[mq] = offset;
  }
  /// Forgets the offset recorded for `mq` and not yet persisted.
  void removeConsumeOffset(const MQMessageQueue& mq) {
    std::lock_guard lock(offsetsMutex_);
    offsets_.erase(mq);
  }

  /// Tells `pListener` at start() every queue of `topic`; the listener is not taken. A null listener (as the
  /// client's own example passes) registers nothing.
  void registerMessageQueueListener(const std::string& topic, MQueueListener* pListener) {
    if (pListener != nullptr) queueListeners_[topic] = pListener;
  }

  /// The offset of `mq`: with `fromStore`, the broker's (the last persisted); otherwise the one recorded in
  /// memory, else the broker's. -1 when there is none.
  int64 fetchConsumeOffset(const MQMessageQueue& mq, bool fromStore) {
    if (!fromStore) {
      std::lock_guard lock(offsetsMutex_);
      if (auto it = offsets_.find(mq); it != offsets_.end()) return it->second;
    }
    auto backend = lifecycle_.running("fetchConsumeOffset");
    return ackmq::compat::detail::translated(
        [&] { return backend->storedOffset(ackmq::compat::detail::toNative(mq)); });
  }

  /// Declared for source compatibility: the vector is taken by value, so nothing reaches the caller.
  void fetchMessageQueuesInBalance(const std::string& topic, std::vector<MQMessageQueue> mqs) {
    fetchSubscribeMessageQueues(topic, mqs);
  }

  /// Persists the offset recorded for `mq` alone.
  void persistConsumerOffset4PullConsumer(const MQMessageQueue& mq) {
    auto backend = lifecycle_.running("persistConsumerOffset4PullConsumer");
    int64 offset = -1;
    {
      std::lock_guard lock(offsetsMutex_);
      auto it = offsets_.find(mq);
      if (it == offsets_.end()) return;
      offset = it->second;
      offsets_.erase(it);
    }
    ackmq::compat::detail::translated(
        [&] { backend->storeOffset(ackmq::compat::detail::toNative(mq), offset); });
  }

 protected:
  ackmq::compat::detail::ClientConfig config_;

 private:
  using Backend = ackmq::compat::detail::PullConsumerBackend;

  PullResult pulled(const MQMessageQueue& mq, const std::string& subExpression, int64 offset, int maxNums,
                    std::chrono::milliseconds wait) {
    using namespace ackmq::compat::detail;
    if (maxNums < 1) refuse("pull: maxNums " + std::to_string(maxNums) + " must be at least 1");
    auto backend = lifecycle_.running("pull");
    const auto tags = tagsOf(subExpression);
    return translated([&] { return backend->pull(toNative(mq), tags, offset, maxNums, wait); });
  }

  void stop() {
    if (lifecycle_.isRunning()) {
      try {
        persistConsumerOffset();
      } catch (const MQException&) {
        // An offset of a queue that no longer exists: nothing to persist it to.
      }
    }
    if (auto backend = lifecycle_.stop()) backend->shutdown();
  }

  ackmq::compat::detail::Lifecycle<Backend> lifecycle_;
  std::map<std::string, MQueueListener*> queueListeners_;
  std::mutex offsetsMutex_;  // guards offsets_
  std::map<MQMessageQueue, int64> offsets_;
};

}  // namespace rocketmq
