#pragma once
// ackmq: the push consumer, and with it the second confirmation: the listener's acknowledgement. A
// concurrent listener returns CONSUME_SUCCESS or RECONSUME_LATER; failures go back to the broker, which
// stores a retry copy in %RETRY%<group> on RocketMQ's back-off ladder, and after 16 reconsumes a dead-letter
// copy in %DLQ%<group>. The committed offset follows RocketMQ's lowest-unacked rule.
//
// This header is the façade: the API, the lifecycle and the counters. The work is done by the rooms under
// detail/client/: the pull service (dispatcher, rebalance, flow control), the concurrent or the orderly
// consume service (chosen at start()), and the settings, task and idle bookkeeping they share.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <ackmq/allocate_strategy.hpp>
#include <ackmq/broker.hpp>
#include <ackmq/consumer_types.hpp>
#include <ackmq/detail/client/consume_concurrently.hpp>
#include <ackmq/detail/client/consume_orderly.hpp>
#include <ackmq/detail/client/consume_task.hpp>
#include <ackmq/detail/client/consumer_common.hpp>
#include <ackmq/detail/client/idle_tracker.hpp>
#include <ackmq/detail/client/pull_service.hpp>
#include <ackmq/detail/client/push_settings.hpp>
#include <ackmq/detail/client/rebalancer.hpp>
#include <ackmq/detail/separate_compilation.hpp>
#include <ackmq/detail/validators.hpp>
#include <ackmq/listener.hpp>
#include <ackmq/message.hpp>
#include <ackmq/message_selector.hpp>
#include <ackmq/status.hpp>

namespace ackmq {

/// Counters of one push consumer: what its listener was given and what became of it.
///
/// delivered == succeeded + failed, and failed == retried + deadLettered + reconsumedLocally + dropped.
struct ConsumerStats {
  std::uint64_t delivered = 0;     ///< messages handed to the listener, each delivery counted
  std::uint64_t succeeded = 0;     ///< messages the listener acknowledged
  std::uint64_t failed = 0;        ///< messages it did not (RECONSUME_LATER, past ackIndex, an exception)
  std::uint64_t retried = 0;       ///< failed messages stored in %RETRY%<group>
  std::uint64_t deadLettered = 0;  ///< failed messages stored in %DLQ%<group>
  std::uint64_t reconsumedLocally =
      0;                      ///< failed messages kept for a local re-consume after a failed send-back
  std::uint64_t dropped = 0;  ///< failed messages given up: broadcasting failures, results for a queue taken
                              ///< away, failures of messages the consume timeout had already sent back
  std::uint64_t expired = 0;  ///< messages the consume timeout sent back while the listener still had them
  std::int64_t inFlight = 0;  ///< messages pulled and not yet consumed
  std::int64_t lag = 0;       ///< messages in this member's queues past its committed offsets
  int queues = 0;             ///< queues this member owns
  int blockedQueues = 0;      ///< orderly: queues held back by a failing message
};

/// A push consumer (RocketMQ DefaultMQPushConsumer): subscribes, pulls from the broker into per-queue process
/// queues, and runs its listener on its own thread pool.
///
/// @code
///   ackmq::PushConsumer consumer(broker, "order-consumers");
///   consumer.subscribe("Orders", "created || paid");
///   consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
///       [](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
///         for (const auto& msg : msgs) handle(msg);
///         return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
///       }});
///   consumer.start();
/// @endcode
///
/// Thread safety: start() and shutdown() are thread-safe, idempotent, and may be called from any thread, a
/// listener included. subscribe, unsubscribe, registerMessageListener and the setters: call before start().
template <class Broker>
class BasicPushConsumer final {
 public:
  using Body = typename Broker::body_type;
  using Clock = typename Broker::clock_type;
  using MessageExt = BasicMessageExt<Body>;
  using MessageList = BasicMessageExtList<Body>;
  using ListenerConcurrently = BasicMessageListenerConcurrently<Body>;
  using ListenerOrderly = BasicMessageListenerOrderly<Body>;

  /// A member of `consumerGroup` (a legal group name, else MQClientException) on `broker`.
  BasicPushConsumer(Broker& broker, std::string consumerGroup);
  BasicPushConsumer(const BasicPushConsumer&) = delete;
  BasicPushConsumer& operator=(const BasicPushConsumer&) = delete;

  /// Runs shutdown() and waits for it to complete (a listener that never returns blocks this). Not from
  /// inside one of this consumer's listener calls.
  ~BasicPushConsumer();

  /// Subscribes to `topic` with "*" (everything) or "TagA || TagB" (exact tags). Call before start().
  /// Throws MQClientException for an illegal topic or expression.
  void subscribe(std::string topic, std::string subExpression);
  /// Subscribes to `topic` with a tag or SQL92 selector; the broker delivers only what it matches, and a
  /// message it does not match counts as consumed. Call before start(). Throws MQClientException for an
  /// illegal topic, a malformed expression (naming its position and what was expected), or SQL92 on a
  /// broker whose enablePropertyFilter is off.
  void subscribe(std::string topic, const MessageSelector& selector);
  /// Removes a subscription. Call before start().
  void unsubscribe(std::string_view topic);

  /// The concurrent listener. Call before start().
  void registerMessageListener(ListenerConcurrently listener) {
    beforeStart("registerMessageListener");
    listener_ = std::move(listener);
  }
  /// The orderly listener. Call before start().
  void registerMessageListener(ListenerOrderly listener) {
    beforeStart("registerMessageListener");
    listener_ = std::move(listener);
  }

  /// Joins the group and starts consuming. Throws MQClientException when there is no listener or
  /// subscription, a setting is out of range, or this member subscribes differently from its group.
  /// Idempotent; a consumer that was shut down cannot start again.
  void start();

  /// Stops consuming: no new deliveries; listener calls in flight are waited for, up to
  /// awaitTerminationMillisWhenShutdown, and their results committed; then the member leaves its group, and
  /// the others take over its queues from the committed offsets (RocketMQ may both skip the offset and send
  /// a retry copy here, doubling messages over restarts). Idempotent. From inside a listener it returns at
  /// once and completes when that listener returns.
  void shutdown();

  // ------------------------------------------------------------------------------------------ settings

  const std::string& getConsumerGroup() const noexcept { return group_; }
  void setMessageModel(MessageModel model) {
    beforeStart("setMessageModel");
    settings_.model = model;
  }
  MessageModel getMessageModel() const noexcept { return settings_.model; }
  void setConsumeFromWhere(ConsumeFromWhere where) {
    beforeStart("setConsumeFromWhere");
    settings_.consumeFromWhere = where;
  }
  ConsumeFromWhere getConsumeFromWhere() const noexcept { return settings_.consumeFromWhere; }
  /// For CONSUME_FROM_TIMESTAMP: ms since the epoch (default: 30 minutes before start()).
  void setConsumeTimestamp(std::int64_t epochMillis) {
    beforeStart("setConsumeTimestamp");
    settings_.consumeTimestamp = epochMillis;
  }
  /// Listener threads kept once started (20). 1..1000.
  void setConsumeThreadMin(int n) { set("setConsumeThreadMin", settings_.consumeThreadMin, n, 1, 1000); }
  int getConsumeThreadMin() const noexcept { return settings_.consumeThreadMin; }
  /// Listener threads at most, reached when work waits (20). 1..1000, at least consumeThreadMin.
  void setConsumeThreadMax(int n) { set("setConsumeThreadMax", settings_.consumeThreadMax, n, 1, 1000); }
  int getConsumeThreadMax() const noexcept { return settings_.consumeThreadMax; }
  /// Messages per listener call (1). 1..1024.
  void setConsumeMessageBatchMaxSize(int n) {
    set("setConsumeMessageBatchMaxSize", settings_.consumeMessageBatchMaxSize, n, 1, 1024);
  }
  int getConsumeMessageBatchMaxSize() const noexcept { return settings_.consumeMessageBatchMaxSize; }
  /// Messages per pull (32). 1..1024.
  void setPullBatchSize(int n) { set("setPullBatchSize", settings_.pullBatchSize, n, 1, 1024); }
  int getPullBatchSize() const noexcept { return settings_.pullBatchSize; }
  /// Messages cached per queue before pulling pauses (1000). 1..65535.
  void setPullThresholdForQueue(int n) {
    set("setPullThresholdForQueue", settings_.pullThresholdForQueue, n, 1, 65535);
  }
  int getPullThresholdForQueue() const noexcept { return settings_.pullThresholdForQueue; }
  /// MiB of bodies cached per queue before pulling pauses (100). 1..1024.
  void setPullThresholdSizeForQueue(int mib) {
    set("setPullThresholdSizeForQueue", settings_.pullThresholdSizeForQueue, mib, 1, 1024);
  }
  int getPullThresholdSizeForQueue() const noexcept { return settings_.pullThresholdSizeForQueue; }
  /// Largest offset distance between the oldest and newest cached message before pulling pauses (2000).
  void setConsumeConcurrentlyMaxSpan(int n) {
    set("setConsumeConcurrentlyMaxSpan", settings_.consumeConcurrentlyMaxSpan, n, 1, 65535);
  }
  int getConsumeConcurrentlyMaxSpan() const noexcept { return settings_.consumeConcurrentlyMaxSpan; }
  /// Reconsumes before the dead-letter queue: -1 (default) = the broker's retryMaxTimes (16) concurrently,
  /// unbounded orderly.
  void setMaxReconsumeTimes(int n) {
    set("setMaxReconsumeTimes", settings_.maxReconsumeTimes, n, -1, 1'000'000);
  }
  int getMaxReconsumeTimes() const noexcept { return settings_.maxReconsumeTimes; }
  /// Orderly: how long a failed batch blocks its queue before it is redelivered, ms (1000).
  void setSuspendCurrentQueueTimeMillis(long millis) {
    beforeStart("setSuspendCurrentQueueTimeMillis");
    if (millis < 0)
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL,
                      "setSuspendCurrentQueueTimeMillis: must not be negative");
    settings_.suspendCurrentQueueTimeMillis = millis;
  }
  long getSuspendCurrentQueueTimeMillis() const noexcept { return settings_.suspendCurrentQueueTimeMillis; }
  /// A message the listener has held this long is sent back for retry (15 min; RocketMQ consumeTimeout).
  void setConsumeTimeout(std::chrono::milliseconds timeout) {
    beforeStart("setConsumeTimeout");
    if (timeout.count() <= 0)
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL, "setConsumeTimeout: must be positive");
    settings_.consumeTimeout = timeout;
  }
  std::chrono::milliseconds getConsumeTimeout() const noexcept { return settings_.consumeTimeout; }
  /// How long shutdown() waits for listener calls in flight, ms (10000).
  void setAwaitTerminationMillisWhenShutdown(long millis) {
    beforeStart("setAwaitTerminationMillisWhenShutdown");
    if (millis < 0) {
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL,
                      "setAwaitTerminationMillisWhenShutdown: must not be negative");
    }
    settings_.awaitTerminationMillis = millis;
  }
  long getAwaitTerminationMillisWhenShutdown() const noexcept { return settings_.awaitTerminationMillis; }
  /// How the group's members share queues (AllocateMessageQueueAveragely). Every member must use the same.
  void setAllocateMessageQueueStrategy(std::shared_ptr<const AllocateMessageQueueStrategy> strategy) {
    beforeStart("setAllocateMessageQueueStrategy");
    if (!strategy)
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL, "setAllocateMessageQueueStrategy: strategy is null");
    settings_.strategy = std::move(strategy);
  }
  /// Names this member within its group (its client id): unique per group (default: pid#sequence).
  void setInstanceName(std::string name) {
    beforeStart("setInstanceName");
    detail::checkInstanceName(name);
    instanceName_ = std::move(name);
  }
  const std::string& getInstanceName() const noexcept { return instanceName_; }

 private:
  friend struct detail::ConsumerAccess;
  using Core = detail::BrokerCore<Body, Clock>;
  using Pq = detail::ProcessQueue<Body>;
  using Task = detail::ConsumeTask<Pq>;
  enum class State { CREATED, RUNNING, STOPPING, SHUT_DOWN };

  void beforeStart(std::string_view what) const { detail::requireNotStarted(state_ == State::CREATED, what); }
  // A setter: before start(), within [lo, hi].
  template <class T>
  void set(std::string_view setter, T& field, T value, T lo, T hi) {
    beforeStart(setter);
    detail::PushSettings::range(setter, static_cast<long>(value), static_cast<long>(lo),
                                static_cast<long>(hi));
    field = value;
  }
  void checkConfig() const;
  bool orderly() const noexcept { return pull_.orderly(); }
  void stopConsumeService();

  void finishShutdown(bool fromWorker);

  void run(Task& t);

  // awaitIdle: nothing deliverable or in flight. Read in the order work moves (see PullService::quiet); a
  // hand-back that straddles the reads moves the tracker's count.
  bool idle() const;
  bool awaitIdle(std::chrono::milliseconds timeout);

  ConsumerStats stats() const;
  std::vector<MessageQueue> ownedQueues() const;

  Core& core_;
  const std::string group_;
  detail::GroupRetryTopics retryTopics_;  // where failed messages go back
  std::string instanceName_;
  std::string offsetGroup_;  // the group, or group@instance for a broadcasting member
  detail::PushSettings settings_;
  std::map<std::string, detail::SubscriptionFilter> subscriptions_;
  std::variant<std::monostate, ListenerConcurrently, ListenerOrderly> listener_;

  mutable std::mutex lifecycle_;  // guards state_ transitions
  std::condition_variable shutdownDone_;
  std::atomic<State> state_{State::CREATED};
  // A listener thread that called shutdown() and completes it. Written under lifecycle_, read by every pool
  // thread after each task.
  std::atomic<std::thread::id> finisher_{};

  // The rooms, each with the state it works on; the pool (in tasks_) is destroyed first, explicitly, since
  // its threads use the others.
  mutable detail::IdleTracker idle_;
  detail::ConsumeCounters counters_;
  std::optional<detail::Rebalancer<Core>> rebalancer_;  // fixed at start()
  detail::ConsumeTasks<Pq> tasks_{idle_};
  detail::PullService<Core> pull_{core_, settings_, tasks_, idle_};
  detail::ConsumeConcurrently<Core> concurrent_{core_, settings_,        counters_,   tasks_,
                                                pull_, pull_.stopping(), retryTopics_};
  detail::ConsumeOrderly<Core> orderly_{core_, settings_,        counters_,   tasks_,
                                        pull_, pull_.stopping(), retryTopics_};
};

// The members that reach into the broker, defined outside the class (see ACKMQ_DECL).
template <class Broker>
ACKMQ_DECL void BasicPushConsumer<Broker>::subscribe(std::string topic, std::string subExpression) {
  beforeStart("subscribe");
  detail::addSubscription(subscriptions_, std::move(topic), subExpression);
}

template <class Broker>
ACKMQ_DECL void BasicPushConsumer<Broker>::subscribe(std::string topic, const MessageSelector& selector) {
  beforeStart("subscribe");
  detail::addSubscription(subscriptions_, std::move(topic), selector, core_.config());
}

template <class Broker>
ACKMQ_DECL void BasicPushConsumer<Broker>::unsubscribe(std::string_view topic) {
  beforeStart("unsubscribe");
  if (auto it = subscriptions_.find(std::string(topic)); it != subscriptions_.end()) subscriptions_.erase(it);
}

template <class Broker>
ACKMQ_DECL void BasicPushConsumer<Broker>::start() {
  std::lock_guard lock(lifecycle_);
  if (state_ == State::RUNNING) return;
  if (state_ != State::CREATED) {
    throw MQClientException(ResponseCode::CLIENT_STATE_ILLEGAL,
                            "consumer of group " + group_ + " was shut down and cannot start again");
  }
  checkConfig();
  const bool orderly = std::holds_alternative<ListenerOrderly>(listener_);
  const std::string clientId = instanceName_;
  offsetGroup_ = settings_.clustering() ? group_ : group_ + "@" + clientId;
  if (settings_.consumeTimestamp < 0) settings_.consumeTimestamp = core_.clock().nowMillis() - 30 * 60 * 1000;
  auto filters = subscriptions_;
  // The retry topic takes every copy, except that a copy of a topic subscribed by SQL92 is matched again by
  // that topic's expression (RocketMQ ExpressionForRetryMessageFilter).
  if (settings_.clustering()) {
    filters.insert_or_assign(MixAll::getRetryTopic(group_),
                             detail::SubscriptionFilter::forRetryTopic(subscriptions_));
  }
  const int maxReconsume = settings_.effectiveMaxReconsumeTimes(orderly, core_.retryMaxTimes());
  rebalancer_.emplace(core_, group_, clientId, settings_.model, settings_.strategy, orderly);

  // With ManualClock no library thread waits on wall time: extra listener threads are kept, not retired.
  tasks_.startPool(
      settings_.consumeThreadMin, settings_.consumeThreadMax,
      Clock::isManual ? std::chrono::milliseconds(0) : std::chrono::milliseconds(60'000),
      [this](Task& t) { run(t); }, [this](Task& mine) { return pull_.pullForIdle(nullptr, &mine); });
  if (orderly) {
    orderly_.start(std::get<ListenerOrderly>(listener_), maxReconsume);
  } else {
    concurrent_.start(std::get<ListenerConcurrently>(listener_), maxReconsume);
  }
  state_ = State::RUNNING;
  pull_.start(*rebalancer_, std::move(filters), offsetGroup_, orderly);
  try {
    const auto kind = orderly ? detail::ListenerKind::ORDERLY : detail::ListenerKind::CONCURRENT;
    core_.registerConsumer(rebalancer_->spec(subscriptions_, kind, pull_), offsetGroup_,
                           settings_.consumeFromWhere, settings_.consumeTimestamp);
  } catch (...) {
    pull_.stopDispatcher();
    pull_.dropAll();
    stopConsumeService();
    tasks_.pool().shutdown(false);
    state_ = State::CREATED;
    throw;
  }
}

template <class Broker>
ACKMQ_DECL void BasicPushConsumer<Broker>::shutdown() {
  std::unique_lock lock(lifecycle_);
  if (state_ == State::CREATED) {
    state_ = State::SHUT_DOWN;
    return;
  }
  if (state_ != State::RUNNING) return;
  state_ = State::STOPPING;
  pull_.stopDispatcher();
  // Tasks no thread has started never run: their messages stay unconsumed for the next owner.
  tasks_.abandonQueued();
  if (tasks_.pool().onPoolThread()) {
    // The listener calling us finishes the shutdown on return (afterTask).
    finisher_.store(std::this_thread::get_id(), std::memory_order_release);
    return;
  }
  lock.unlock();
  finishShutdown(false);
}

template <class Broker>
ACKMQ_DECL void BasicPushConsumer<Broker>::checkConfig() const {
  if (std::holds_alternative<std::monostate>(listener_)) {
    detail::illegal(ResponseCode::CLIENT_STATE_ILLEGAL, "consumer of group " + group_ +
                                                            " has no listener: call registerMessageListener "
                                                            "before start()");
  }
  if (subscriptions_.empty()) {
    detail::illegal(ResponseCode::CLIENT_STATE_ILLEGAL,
                    "consumer of group " + group_ + " subscribes to nothing: call subscribe before start()");
  }
  settings_.validate();
}

template <class Broker>
ACKMQ_DECL void BasicPushConsumer<Broker>::stopConsumeService() {
  if (orderly()) {
    orderly_.stop();
  } else {
    concurrent_.stop();
  }
}

template <class Broker>
ACKMQ_DECL void BasicPushConsumer<Broker>::finishShutdown(bool fromWorker) {
  tasks_.drain(std::chrono::milliseconds(settings_.awaitTerminationMillis));
  // From here on results are discarded: the queues belong to the group's other members.
  pull_.dropAll();
  core_.unregisterConsumer(group_, rebalancer_->clientId());  // releases this member's orderly locks too
  stopConsumeService();
  if (tasks_.pending() == 0 && !fromWorker) {
    tasks_.pool().shutdown(false);
  } else {
    tasks_.pool().close(false);  // a listener still running is joined by the destructor
  }
  {
    std::lock_guard lock(lifecycle_);
    state_ = State::SHUT_DOWN;
    shutdownDone_.notify_all();
  }
  idle_.notify();
}

template <class Broker>
ACKMQ_DECL void BasicPushConsumer<Broker>::run(Task& t) {
  if (t.pq->dropped.load(std::memory_order_acquire) || pull_.stopping().load()) {
    tasks_.abandon(t);
  } else {
    if (t.orderly) {
      orderly_.run(t);
    } else {
      concurrent_.run(t);
    }
    // The last task ends while the dispatcher sleeps: the history it consumed is trimmed now (see
    // consumerCaughtUp), before awaitIdle can see the consumer idle.
    if (tasks_.pending() == 1 && pull_.parked()) core_.consumerCaughtUp();
    tasks_.finish();
  }
  // A listener that called shutdown() finishes it here, once its own result is processed.
  if (finisher_.load(std::memory_order_acquire) == std::this_thread::get_id()) {
    finisher_.store(std::thread::id(), std::memory_order_relaxed);  // only this thread matches it
    finishShutdown(true);
  }
}

template <class Broker>
ACKMQ_DECL bool BasicPushConsumer<Broker>::idle() const {
  if (state_ != State::RUNNING) return true;
  const std::uint64_t handBacks = idle_.handBacks();
  if (!pull_.quiet()) return false;
  if (tasks_.pending() != 0) return false;
  return idle_.handBacks() == handBacks;
}

template <class Broker>
ACKMQ_DECL bool BasicPushConsumer<Broker>::awaitIdle(std::chrono::milliseconds timeout) {
  return idle_.await(timeout, [this] { return idle(); });
}

template <class Broker>
ACKMQ_DECL ConsumerStats BasicPushConsumer<Broker>::stats() const {
  ConsumerStats s;
  s.succeeded = counters_.succeeded.load();
  s.failed = counters_.failed.load();
  s.delivered = s.succeeded + s.failed;
  s.retried = counters_.retried.load();
  s.deadLettered = counters_.deadLettered.load();
  s.reconsumedLocally = counters_.reconsumedLocally.load();
  s.dropped = counters_.dropped.load();
  s.expired = counters_.expired.load();
  pull_.forEachQueue([&](Pq& pq) {
    ++s.queues;
    std::lock_guard lock(pq.mutex);
    if (pq.suspended) ++s.blockedQueues;
    for (const auto* e : pq.window()) {
      if (e->state != Pq::Entry::State::DONE) ++s.inFlight;
    }
    const std::int64_t committed = std::max<std::int64_t>(pq.committed(), 0);
    s.lag += std::max<std::int64_t>(0, core_.maxOffset(pq.mq) - committed);
  });
  return s;
}

template <class Broker>
ACKMQ_DECL std::vector<MessageQueue> BasicPushConsumer<Broker>::ownedQueues() const {
  return pull_.ownedQueues();
}

template <class Broker>
ACKMQ_DECL BasicPushConsumer<Broker>::BasicPushConsumer(Broker& broker, std::string consumerGroup)
    : core_(detail::BrokerAccess::core(broker)),
      group_(std::move(consumerGroup)),
      retryTopics_(group_),
      instanceName_(detail::defaultInstanceName("")) {
  detail::checkGroup(group_, "consumerGroup");
}

template <class Broker>
ACKMQ_DECL BasicPushConsumer<Broker>::~BasicPushConsumer() {
  shutdown();
  {
    std::unique_lock lock(lifecycle_);
    shutdownDone_.wait(lock, [&] { return state_ != State::STOPPING; });
  }
  tasks_.destroyPool();
}

using PushConsumer = BasicPushConsumer<Broker>;

#if defined(ACKMQ_SEPARATE_COMPILATION)
extern template class BasicPushConsumer<BasicBroker<std::string, SystemClock>>;
extern template class BasicPushConsumer<BasicBroker<std::string, ManualClock>>;
#endif

}  // namespace ackmq
