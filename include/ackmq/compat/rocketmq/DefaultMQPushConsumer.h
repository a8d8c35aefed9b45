#pragma once
// rocketmq-client-cpp compatibility (ackmq): the push consumer. It consumes from the in-process broker its
// name server address names, orderly or concurrently as its listener's getMessageListenerType() says, with
// the client's behaviour: a batch succeeds or fails whole (no ackIndex); a failed concurrent batch goes up
// the retry ladder to %DLQ%<group> after getMaxReconsumeTimes() (16); an orderly consumer takes one message
// per call and retries a failed one locally after 1 s (5 s once it has failed 16 times), reconsumeTimes + 1
// each time, forever.

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <ackmq/compat/broker_registry.hpp>
#include <ackmq/compat/client_config.hpp>
#include <ackmq/consumer_types.hpp>
#include <ackmq/listener.hpp>
#include <ackmq/push_consumer.hpp>
#include <ackmq/testing.hpp>

#include "AsyncCallback.h"
#include "ConsumeType.h"
#include "MQClient.h"
#include "MQClientException.h"
#include "MQMessageListener.h"
#include "MQMessageQueue.h"
#include "SessionCredentials.h"

namespace rocketmq {
class DefaultMQPushConsumer;
}  // namespace rocketmq

namespace ackmq::compat {

/// Waits until nothing is deliverable or in flight for `consumer` and every consume result is processed
/// (retry copies stored, offsets committed); messages due later on a ManualClock do not count. True once
/// idle; false if `timeout` (real time) passes first, or the consumer is not running. For tests of code
/// written against rocketmq-client-cpp: with ackmq::testing::advanceAndSettle it walks a retry ladder.
bool awaitIdle(rocketmq::DefaultMQPushConsumer& consumer,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace ackmq::compat

namespace ackmq::compat::detail {

class PushConsumerBackend {
 public:
  virtual ~PushConsumerBackend() = default;
  virtual void shutdown() = 0;
  virtual bool awaitIdle(std::chrono::milliseconds timeout) = 0;
};

struct PushConsumerSettings {
  rocketmq::MessageModel messageModel = rocketmq::CLUSTERING;
  rocketmq::ConsumeFromWhere consumeFromWhere = rocketmq::CONSUME_FROM_LAST_OFFSET;
  int consumeThreadCount = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  int maxReconsumeTimes = -1;  // -1: 16
  int pullMsgThreadPoolCount = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  int consumeMessageBatchMaxSize = 1;
  int maxCacheMsgSizePerQueue = 1000;
  int maxCacheMsgSizeInMb = 0;  // 0: the consumer's default
  bool asyncPull = true;
  std::map<std::string, std::string> subscriptions;
};

inline ackmq::ConsumeFromWhere toNative(rocketmq::ConsumeFromWhere where) noexcept {
  switch (where) {
    case rocketmq::CONSUME_FROM_FIRST_OFFSET:
    case rocketmq::CONSUME_FROM_MIN_OFFSET:
      return ackmq::ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET;
    case rocketmq::CONSUME_FROM_TIMESTAMP:
      return ackmq::ConsumeFromWhere::CONSUME_FROM_TIMESTAMP;
    default:
      return ackmq::ConsumeFromWhere::CONSUME_FROM_LAST_OFFSET;
  }
}

inline std::vector<rocketmq::MQMessageExt> fromNative(const ackmq::MessageExtList& msgs) {
  std::vector<rocketmq::MQMessageExt> out;
  out.reserve(msgs.size());
  for (const auto& m : msgs)
    out.push_back(fromNative(m));
  return out;
}

template <class Broker>
class PushConsumerOn final : public PushConsumerBackend {
 public:
  PushConsumerOn(BrokerRef ref, Broker& broker, const std::string& group, const PushConsumerSettings& s,
                 rocketmq::MQMessageListener* listener, bool orderly, const void* owner)
      : ref_(std::move(ref)), consumer_(broker, group) {
    for (const auto& [topic, expression] : s.subscriptions)
      consumer_.subscribe(topic, expression);
    consumer_.setMessageModel(s.messageModel == rocketmq::BROADCASTING ? ackmq::MessageModel::BROADCASTING
                                                                       : ackmq::MessageModel::CLUSTERING);
    consumer_.setConsumeFromWhere(toNative(s.consumeFromWhere));
    const int threads = std::min(s.consumeThreadCount, 1000);
    consumer_.setConsumeThreadMax(threads);
    consumer_.setConsumeThreadMin(threads);
    consumer_.setPullThresholdForQueue(s.maxCacheMsgSizePerQueue);
    if (s.maxCacheMsgSizeInMb > 0)
      consumer_.setPullThresholdSizeForQueue(std::min(s.maxCacheMsgSizeInMb, 1024));
    if (orderly) {
      // rocketmq-client-cpp ConsumeMessageOrderlyService: one message per call, a local retry forever.
      consumer_.setConsumeMessageBatchMaxSize(1);
      consumer_.registerMessageListener(typename ackmq::BasicPushConsumer<Broker>::ListenerOrderly{
          [listener, owner](const ackmq::MessageExtList& msgs, ackmq::ConsumeOrderlyContext& ctx) {
            const std::vector<rocketmq::MQMessageExt> batch = fromNative(msgs);
            ListenerScope scope(owner);
            if (listener->consumeMessage(batch) == rocketmq::CONSUME_SUCCESS) {
              return ackmq::ConsumeOrderlyStatus::SUCCESS;
            }
            ctx.setSuspendCurrentQueueTimeMillis(batch.front().getReconsumeTimes() <= 15 ? 1000 : 5000);
            return ackmq::ConsumeOrderlyStatus::SUSPEND_CURRENT_QUEUE_A_MOMENT;
          }});
    } else {
      consumer_.setConsumeMessageBatchMaxSize(std::min(s.consumeMessageBatchMaxSize, 1024));
      consumer_.setMaxReconsumeTimes(s.maxReconsumeTimes < 0 ? 16 : s.maxReconsumeTimes);
      consumer_.registerMessageListener(typename ackmq::BasicPushConsumer<Broker>::ListenerConcurrently{
          [listener, owner](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
            const std::vector<rocketmq::MQMessageExt> batch = fromNative(msgs);
            ListenerScope scope(owner);
            return listener->consumeMessage(batch) == rocketmq::CONSUME_SUCCESS
                       ? ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS
                       : ackmq::ConsumeConcurrentlyStatus::RECONSUME_LATER;
          }});
    }
    consumer_.start();
  }

  void shutdown() override { consumer_.shutdown(); }
  bool awaitIdle(std::chrono::milliseconds timeout) override {
    return ackmq::testing::awaitIdle(consumer_, timeout);
  }

 private:
  BrokerRef ref_;  // keeps a created broker alive while the consumer uses it
  ackmq::BasicPushConsumer<Broker> consumer_;
};

}  // namespace ackmq::compat::detail

namespace rocketmq {

/// The listener is not taken: it must outlive the consumer's running, and may be destroyed once shutdown()
/// has returned (which waits for every listener call, so none runs after it).
///
/// Thread safety: start() and shutdown() are idempotent and thread-safe; shutdown() may be called from a
/// listener, and then returns at once. subscribe, registerMessageListener and the setters: call before
/// start().
class ROCKETMQCLIENT_API DefaultMQPushConsumer {
 public:
  DefaultMQPushConsumer(const std::string& groupname) : config_(groupname) {}
  /// Runs shutdown() and waits for every listener call to return.
  virtual ~DefaultMQPushConsumer() {
    stop();
    lifecycle_.release().reset();
  }
  DefaultMQPushConsumer(const DefaultMQPushConsumer&) = delete;
  DefaultMQPushConsumer& operator=(const DefaultMQPushConsumer&) = delete;

  /// Joins the group on the broker the name server address names (created on first use) and starts
  /// consuming: orderly when the listener's type is messageListenerOrderly, concurrently otherwise. Throws
  /// MQClientException when no address, listener or subscription is set. Idempotent.
  virtual void start() {
    using namespace ackmq::compat::detail;
    lifecycle_.start("push consumer", [&] {
      if (listener_ == nullptr) refuse("start: no message listener: call registerMessageListener first");
      const bool orderly = listener_->getMessageListenerType() == messageListenerOrderly;
      const ackmq::compat::BrokerRef broker = config_.broker();
      return translated([&] {
        return makeBackend<PushConsumerBackend, PushConsumerOn>(broker, config_.groupName, settings_,
                                                                listener_, orderly, this);
      });
    });
  }
  /// Stops consuming; waits for the listener calls in flight and commits their results. From a listener it
  /// returns at once, and the destructor waits for that listener call. Idempotent.
  virtual void shutdown() { stop(); }
  virtual std::string version() { return ackmq::compat::detail::kCompatVersion; }

  ACKMQ_COMPAT_CLIENT_CONFIG_MEMBERS

  /// "*" for every message, or "TagA || TagB". Call before start(); a second call for a topic replaces the
  /// first.
  void subscribe(const std::string& topic, const std::string& subExpression) {
    settings_.subscriptions[topic] = subExpression;
  }
  /// Not taken: the caller keeps it, and it must outlive the consumer's running.
  void registerMessageListener(MQMessageListener* pMessageListener) { listener_ = pMessageListener; }
  MessageListenerType getMessageListenerType() {
    return listener_ != nullptr ? listener_->getMessageListenerType() : messageListenerDefaultly;
  }

  MessageModel getMessageModel() const { return settings_.messageModel; }
  void setMessageModel(MessageModel messageModel) { settings_.messageModel = messageModel; }
  void setConsumeFromWhere(ConsumeFromWhere consumeFromWhere) {
    settings_.consumeFromWhere = consumeFromWhere;
  }
  ConsumeFromWhere getConsumeFromWhere() { return settings_.consumeFromWhere; }

  /// Listener threads (the machine's hardware threads); up to 1000 are used. Ignored unless positive.
  void setConsumeThreadCount(int threadCount) {
    if (threadCount > 0) settings_.consumeThreadCount = threadCount;
  }
  int getConsumeThreadCount() const { return settings_.consumeThreadCount; }
  /// Failures of a concurrently consumed message before %DLQ%<group> (16). Ignored unless positive. An
  /// orderly consumer retries forever, as the client does.
  void setMaxReconsumeTimes(int maxReconsumeTimes) {
    if (maxReconsumeTimes > 0) settings_.maxReconsumeTimes = maxReconsumeTimes;
  }
  int getMaxReconsumeTimes() const {
    return settings_.maxReconsumeTimes < 0 ? 16 : settings_.maxReconsumeTimes;
  }
  /// Kept and returned: pulls need no threads of their own in process.
  void setPullMsgThreadPoolCount(int threadCount) { settings_.pullMsgThreadPoolCount = threadCount; }
  int getPullMsgThreadPoolCount() const { return settings_.pullMsgThreadPoolCount; }
  /// Messages per concurrent listener call (1); up to 1024 are used. Ignored unless positive. An orderly
  /// consumer takes one at a time.
  void setConsumeMessageBatchMaxSize(int consumeMessageBatchMaxSize) {
    if (consumeMessageBatchMaxSize >= 1) settings_.consumeMessageBatchMaxSize = consumeMessageBatchMaxSize;
  }
  int getConsumeMessageBatchMaxSize() const { return settings_.consumeMessageBatchMaxSize; }
  /// Messages cached per queue before pulling pauses (1000). Ignored outside 1..65534, as the client does.
  void setMaxCacheMsgSizePerQueue(int maxCacheSize) {
    if (maxCacheSize > 0 && maxCacheSize < 65535) settings_.maxCacheMsgSizePerQueue = maxCacheSize;
  }
  int getMaxCacheMsgSizePerQueue() const { return settings_.maxCacheMsgSizePerQueue; }
  /// Kept: pulls are always asynchronous to the listener in process.
  void setAsyncPull(bool asyncFlag) { settings_.asyncPull = asyncFlag; }

  /// Bodies cached per queue before pulling pauses, MiB (the C API's SetPushConsumerMaxCacheMessageSizeInMb);
  /// up to 1024 are used. Ignored unless positive.
  void setMaxCacheMsgSizeInMb(int mib) {
    if (mib > 0) settings_.maxCacheMsgSizeInMb = mib;
  }

 protected:
  ackmq::compat::detail::ClientConfig config_;
  ackmq::compat::detail::PushConsumerSettings settings_;

 private:
  friend bool ackmq::compat::awaitIdle(DefaultMQPushConsumer&, std::chrono::milliseconds);
  using Backend = ackmq::compat::detail::PushConsumerBackend;

  void stop() {
    // From inside one of its own listener calls the native consumer cannot be destroyed (that waits for the
    // call): it is shut down here, and the destructor destroys it.
    if (ackmq::compat::detail::listenerOwner == this) {
      if (Backend* backend = lifecycle_.stopKeeping()) backend->shutdown();
      return;
    }
    if (auto backend = lifecycle_.stop()) backend->shutdown();
  }

  MQMessageListener* listener_ = nullptr;
  ackmq::compat::detail::Lifecycle<Backend> lifecycle_;
};

}  // namespace rocketmq

inline bool ackmq::compat::awaitIdle(rocketmq::DefaultMQPushConsumer& consumer,
                                     std::chrono::milliseconds timeout) {
  if (!consumer.lifecycle_.isRunning()) return false;
  return consumer.lifecycle_.running("awaitIdle")->awaitIdle(timeout);
}
