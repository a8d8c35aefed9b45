#pragma once
// ackmq: the push consumer, and with it the second confirmation: the listener's acknowledgement. A
// concurrent listener returns CONSUME_SUCCESS or RECONSUME_LATER; failures go back to the broker, which
// stores a retry copy in %RETRY%<group> on RocketMQ's back-off ladder, and after 16 reconsumes a dead-letter
// copy in %DLQ%<group>. The committed offset follows RocketMQ's lowest-unacked rule.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <ackmq/allocate_strategy.hpp>
#include <ackmq/broker.hpp>
#include <ackmq/consumer_types.hpp>
#include <ackmq/detail/client/consumer_common.hpp>
#include <ackmq/detail/client/process_queue.hpp>
#include <ackmq/detail/client/thread_pool.hpp>
#include <ackmq/detail/spin.hpp>
#include <ackmq/detail/validators.hpp>
#include <ackmq/listener.hpp>
#include <ackmq/message.hpp>
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

namespace detail {
struct ConsumerAccess;
}

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
class BasicPushConsumer final : private detail::ConsumerEndpoint,
                                private detail::TimerTarget,
                                private detail::QueueWaker<detail::ProcessQueue<typename Broker::body_type>> {
 public:
  using Body = typename Broker::body_type;
  using Clock = typename Broker::clock_type;
  using MessageExt = BasicMessageExt<Body>;
  using MessageList = BasicMessageExtList<Body>;
  using ListenerConcurrently = BasicMessageListenerConcurrently<Body>;
  using ListenerOrderly = BasicMessageListenerOrderly<Body>;

  /// A member of `consumerGroup` (a legal group name, else MQClientException) on `broker`.
  BasicPushConsumer(Broker& broker, std::string consumerGroup)
      : core_(detail::BrokerAccess::core(broker)), group_(std::move(consumerGroup)) {
    detail::checkGroup(group_, "consumerGroup");
    instanceName_ = detail::defaultInstanceName("");
  }
  BasicPushConsumer(const BasicPushConsumer&) = delete;
  BasicPushConsumer& operator=(const BasicPushConsumer&) = delete;

  /// Runs shutdown() and waits for it to complete (a listener that never returns blocks this).
  ~BasicPushConsumer() {
    shutdown();
    {
      std::unique_lock lock(lifecycle_);
      shutdownDone_.wait(lock, [&] { return state_ != State::STOPPING; });
    }
    pool_.reset();
  }

  /// Subscribes to `topic` with "*" (everything) or "TagA || TagB" (exact tags). Call before start().
  /// Throws MQClientException for an illegal topic or expression.
  void subscribe(std::string topic, std::string subExpression) {
    beforeStart("subscribe");
    detail::addSubscription(subscriptions_, std::move(topic), subExpression);
  }
  /// Removes a subscription. Call before start().
  void unsubscribe(std::string_view topic) {
    beforeStart("unsubscribe");
    if (auto it = subscriptions_.find(std::string(topic)); it != subscriptions_.end())
      subscriptions_.erase(it);
  }

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
  /// subscription, a setting is out of range, or this member subscribes differently from its group
  /// (DECISIONS #5). Idempotent; a consumer that was shut down cannot start again.
  void start() {
    std::lock_guard lock(lifecycle_);
    if (state_ == State::RUNNING) return;
    if (state_ != State::CREATED) {
      throw MQClientException(ResponseCode::CLIENT_STATE_ILLEGAL,
                              "consumer of group " + group_ + " was shut down and cannot start again");
    }
    checkConfig();
    clientId_ = instanceName_;
    offsetGroup_ = model_ == MessageModel::BROADCASTING ? group_ + "@" + clientId_ : group_;
    if (consumeTimestamp_ < 0) consumeTimestamp_ = core_.clock().nowMillis() - 30 * 60 * 1000;
    filters_ = subscriptions_;
    if (model_ == MessageModel::CLUSTERING)
      filters_.insert_or_assign(MixAll::getRetryTopic(group_), detail::TagFilter());
    // RocketMQ: -1 means 16 concurrently (the group's retryMaxTimes) and unbounded orderly.
    maxReconsume_ = maxReconsumeTimes_ >= 0 ? maxReconsumeTimes_
                    : orderly()             ? std::numeric_limits<int>::max()
                                            : core_.retryMaxTimes();

    pool_ = std::make_unique<detail::WorkerPool<Task>>(
        consumeThreadMin_, consumeThreadMax_,
        Clock::isManual ? std::chrono::milliseconds(0) : std::chrono::milliseconds(60'000),
        [this](Task& t) { run(t); }, [this](Task& mine) { return pullForIdle(nullptr, &mine); });
    target_ = core_.timers().registerTarget(*this);
    stopping_.store(false);
    state_ = State::RUNNING;
    dispatcher_ = std::thread([this] { dispatchLoop(); });
    try {
      detail::MemberSpec spec;
      spec.group = group_;
      spec.clientId = clientId_;
      spec.subscriptions = subscriptions_;
      spec.model = model_;
      spec.kind = orderly() ? detail::ListenerKind::ORDERLY : detail::ListenerKind::CONCURRENT;
      spec.endpoint = this;
      core_.registerConsumer(spec, offsetGroup_, consumeFromWhere_, consumeTimestamp_);
    } catch (...) {
      stopping_.store(true);
      wakeDispatcher();
      dispatcher_.join();
      core_.timers().unregisterTarget(target_);
      pool_->shutdown(false);
      state_ = State::CREATED;
      throw;
    }
    if (clustering() && !orderly()) {  // RocketMQ has no consume timeout for orderly consumption
      core_.timers().scheduleAfter(consumeTimeout_.count(), target_, kScanExpired);
    }
  }

  /// Stops consuming (DECISIONS #12): no new deliveries; listener calls in flight are waited for, up to
  /// awaitTerminationMillisWhenShutdown, and their results committed; then the member leaves its group, and
  /// the others take over its queues from the committed offsets. Idempotent. From inside a listener it
  /// returns at once and completes when that listener returns.
  void shutdown() {
    std::unique_lock lock(lifecycle_);
    if (state_ == State::CREATED) {
      state_ = State::SHUT_DOWN;
      return;
    }
    if (state_ != State::RUNNING) return;
    state_ = State::STOPPING;
    stopping_.store(true);
    wakeDispatcher();
    if (dispatcher_.joinable()) dispatcher_.join();
    // Tasks no thread has started never run: their messages stay unconsumed for the next owner.
    for (Task& t : pool_->takeQueued())
      abandon(t);
    if (pool_->onPoolThread()) {
      // The listener calling us finishes the shutdown on return (afterTask).
      finisher_.store(std::this_thread::get_id(), std::memory_order_release);
      return;
    }
    lock.unlock();
    finishShutdown(false);
  }

  // ------------------------------------------------------------------------------------------ settings

  const std::string& getConsumerGroup() const noexcept { return group_; }
  void setMessageModel(MessageModel model) {
    beforeStart("setMessageModel");
    model_ = model;
  }
  MessageModel getMessageModel() const noexcept { return model_; }
  void setConsumeFromWhere(ConsumeFromWhere where) {
    beforeStart("setConsumeFromWhere");
    consumeFromWhere_ = where;
  }
  ConsumeFromWhere getConsumeFromWhere() const noexcept { return consumeFromWhere_; }
  /// For CONSUME_FROM_TIMESTAMP: ms since the epoch (default: 30 minutes before start()).
  void setConsumeTimestamp(std::int64_t epochMillis) {
    beforeStart("setConsumeTimestamp");
    consumeTimestamp_ = epochMillis;
  }
  /// Listener threads kept once started (20). 1..1000.
  void setConsumeThreadMin(int n) {
    range("setConsumeThreadMin", n, 1, 1000);
    consumeThreadMin_ = n;
  }
  int getConsumeThreadMin() const noexcept { return consumeThreadMin_; }
  /// Listener threads at most, reached when work waits (20). 1..1000, at least consumeThreadMin.
  void setConsumeThreadMax(int n) {
    range("setConsumeThreadMax", n, 1, 1000);
    consumeThreadMax_ = n;
  }
  int getConsumeThreadMax() const noexcept { return consumeThreadMax_; }
  /// Messages per listener call (1). 1..1024.
  void setConsumeMessageBatchMaxSize(int n) {
    range("setConsumeMessageBatchMaxSize", n, 1, 1024);
    consumeMessageBatchMaxSize_ = n;
  }
  int getConsumeMessageBatchMaxSize() const noexcept { return consumeMessageBatchMaxSize_; }
  /// Messages per pull (32). 1..1024.
  void setPullBatchSize(int n) {
    range("setPullBatchSize", n, 1, 1024);
    pullBatchSize_ = n;
  }
  int getPullBatchSize() const noexcept { return pullBatchSize_; }
  /// Messages cached per queue before pulling pauses (1000). 1..65535.
  void setPullThresholdForQueue(int n) {
    range("setPullThresholdForQueue", n, 1, 65535);
    pullThresholdForQueue_ = n;
  }
  int getPullThresholdForQueue() const noexcept { return pullThresholdForQueue_; }
  /// MiB of bodies cached per queue before pulling pauses (100). 1..1024.
  void setPullThresholdSizeForQueue(int mib) {
    range("setPullThresholdSizeForQueue", mib, 1, 1024);
    pullThresholdSizeForQueue_ = mib;
  }
  int getPullThresholdSizeForQueue() const noexcept { return pullThresholdSizeForQueue_; }
  /// Largest offset distance between the oldest and newest cached message before pulling pauses (2000).
  void setConsumeConcurrentlyMaxSpan(int n) {
    range("setConsumeConcurrentlyMaxSpan", n, 1, 65535);
    consumeConcurrentlyMaxSpan_ = n;
  }
  int getConsumeConcurrentlyMaxSpan() const noexcept { return consumeConcurrentlyMaxSpan_; }
  /// Reconsumes before the dead-letter queue: -1 (default) = the broker's retryMaxTimes (16) concurrently,
  /// unbounded orderly.
  void setMaxReconsumeTimes(int n) {
    range("setMaxReconsumeTimes", n, -1, 1'000'000);
    maxReconsumeTimes_ = n;
  }
  int getMaxReconsumeTimes() const noexcept { return maxReconsumeTimes_; }
  /// Orderly: how long a failed batch blocks its queue before it is redelivered, ms (1000).
  void setSuspendCurrentQueueTimeMillis(long millis) {
    if (millis < 0)
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL,
                      "setSuspendCurrentQueueTimeMillis: must not be negative");
    suspendCurrentQueueTimeMillis_ = millis;
  }
  long getSuspendCurrentQueueTimeMillis() const noexcept { return suspendCurrentQueueTimeMillis_; }
  /// A message the listener has held this long is sent back for retry (15 min; RocketMQ consumeTimeout).
  void setConsumeTimeout(std::chrono::milliseconds timeout) {
    if (timeout.count() <= 0)
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL, "setConsumeTimeout: must be positive");
    consumeTimeout_ = timeout;
  }
  std::chrono::milliseconds getConsumeTimeout() const noexcept { return consumeTimeout_; }
  /// How long shutdown() waits for listener calls in flight, ms (10000).
  void setAwaitTerminationMillisWhenShutdown(long millis) {
    if (millis < 0)
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL,
                      "setAwaitTerminationMillisWhenShutdown: must not be negative");
    awaitTerminationMillis_ = millis;
  }
  long getAwaitTerminationMillisWhenShutdown() const noexcept { return awaitTerminationMillis_; }
  /// How the group's members share queues (AllocateMessageQueueAveragely). Every member must use the same.
  void setAllocateMessageQueueStrategy(std::shared_ptr<const AllocateMessageQueueStrategy> strategy) {
    beforeStart("setAllocateMessageQueueStrategy");
    if (!strategy)
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL, "setAllocateMessageQueueStrategy: strategy is null");
    strategy_ = std::move(strategy);
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
  using Pq = detail::ProcessQueue<Body>;
  using Entry = typename Pq::Entry;
  using EntryState = typename Entry::State;
  enum class State { CREATED, RUNNING, STOPPING, SHUT_DOWN };

  static constexpr std::uint64_t kScanExpired = 1;
  static constexpr std::uint64_t kLocalRetryTag = 2;
  static constexpr std::uint64_t kResumeTag = 3;
  static constexpr std::uint64_t kPullRetryTag = 4;
  static constexpr std::int64_t kPullRetryMillis = 3000;   // RocketMQ pullTimeDelayMillsWhenException
  static constexpr std::int64_t kLocalRetryMillis = 5000;  // RocketMQ submitConsumeRequestLater
  static constexpr int kExpiredScanMax = 16;               // RocketMQ ProcessQueue.cleanExpiredMsg
  static constexpr int kOrderlyBatchesPerTask = 64;        // then the strand yields its thread to others
  static constexpr std::size_t kResultRun = 32;            // results processed together at most

  // Work for the pool: a run of concurrent listener calls over `entries` (consumeMessageBatchMaxSize each),
  // or, for an orderly consumer, one turn of a queue's strand.
  struct Task {
    std::shared_ptr<Pq> pq;
    detail::EntryRun<Entry> entries;
    bool orderly = false;
    // The first call's entries are already RUNNING since `startedAt` (coarse steady ms, the broker's
    // clock): marked by the pull whose thread runs the task at once (runConcurrently).
    bool started = false;
    std::int64_t startedAt = 0;
  };

  // Every delivery ends succeeded or failed, so `delivered` is their sum (stats()), not a count of its own:
  // one locked add fewer per listener call.
  struct Counters {
    std::atomic<std::uint64_t> succeeded{0}, failed{0}, retried{0}, deadLettered{0}, reconsumedLocally{0},
        dropped{0}, expired{0};
  };

  // Something waiting on the broker's clock: failed messages to consume again locally, or a suspended
  // orderly queue to resume.
  struct Deferred {
    std::weak_ptr<Pq> pq;
    std::vector<Entry*> entries;
  };

  bool orderly() const noexcept { return std::holds_alternative<ListenerOrderly>(listener_); }
  bool clustering() const noexcept { return model_ == MessageModel::CLUSTERING; }

  // ----------------------------------------------------------------------------------------- lifecycle

  void beforeStart(std::string_view what) const { detail::requireNotStarted(state_ == State::CREATED, what); }
  static void range(std::string_view setter, int v, int lo, int hi) {
    if (v < lo || v > hi) {
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL, std::string(setter) + ": " + std::to_string(v) +
                                                         " is out of range " + std::to_string(lo) + ".." +
                                                         std::to_string(hi));
    }
  }
  void checkConfig() const {
    if (std::holds_alternative<std::monostate>(listener_)) {
      detail::illegal(
          ResponseCode::CLIENT_STATE_ILLEGAL,
          "consumer of group " + group_ + " has no listener: call registerMessageListener before start()");
    }
    if (subscriptions_.empty()) {
      detail::illegal(
          ResponseCode::CLIENT_STATE_ILLEGAL,
          "consumer of group " + group_ + " subscribes to nothing: call subscribe before start()");
    }
    if (consumeThreadMin_ > consumeThreadMax_) {
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL, "consumeThreadMin " + std::to_string(consumeThreadMin_) +
                                                         " is larger than consumeThreadMax " +
                                                         std::to_string(consumeThreadMax_));
    }
  }

  void finishShutdown(bool fromWorker) {
    {
      std::unique_lock lock(runMutex_);
      runCv_.wait_for(lock, std::chrono::milliseconds(awaitTerminationMillis_),
                      [&] { return pending_.load() == 0; });
    }
    // From here on results are discarded: the queues belong to the group's other members.
    {
      std::lock_guard lock(pqsMutex_);
      for (auto& [mq, pq] : pqs_)
        drop(*pq, /*leaving=*/true);
      pqs_.clear();
      releasing_.clear();
    }
    core_.unregisterConsumer(group_, clientId_);  // releases this member's orderly queue locks too
    core_.timers().unregisterTarget(target_);
    {
      std::lock_guard lock(deferredMutex_);
      deferred_.clear();
    }
    const bool idle = pending_.load() == 0;
    if (idle && !fromWorker) {
      pool_->shutdown(false);
    } else {
      pool_->close(false);  // a listener still running is joined by the destructor
    }
    {
      std::lock_guard lock(lifecycle_);
      state_ = State::SHUT_DOWN;
      shutdownDone_.notify_all();
    }
    notifyIdle();
  }

  // ----------------------------------------------------------------------------------------- broker calls

  // ConsumerEndpoint: the group, a subscribed topic, or an orderly queue lock changed.
  void onGroupChanged() noexcept override {
    rebalancePending_.store(true, std::memory_order_seq_cst);
    wakeDispatcher();
  }

  // QueueWaker: messages arrived in `pq`; this runs on the appending thread, under the store lock (see
  // ArrivalListener), where nothing may block. A concurrent consumer whose dispatcher is asleep in the kernel
  // does not wake it when a listener thread is still looking for work: that thread is asked to pull, and
  // takes the messages straight to the listener, so that they pass from one thread to another once, and the
  // entries they fill stay with the thread that uses them. Anything else waits for the follow-up, after the
  // store lock: waking the dispatcher, or the appending thread's own pull.
  bool onQueueNews(Pq&) noexcept override {
    noteHandBack();  // the caller has marked pq dirty
    if (orderly() || !parked_.load(std::memory_order_seq_cst) || stopping_.load())
      return parked_.load(std::memory_order_seq_cst);  // a parked dispatcher is woken in the follow-up
    return !pool_->offerIdleWork();
  }
  // With no thread looking and no listener call pending, the appending thread pulls and hands the messages
  // over. Otherwise the dispatcher is woken (or, still polling, sees the queue's flag) and pulls in batches
  // while the listeners work. The count of pending calls is read last: the listener threads write it on
  // every call, and an appender that read it on every message would take its cache line from them each time.
  void onQueueNewsFollowUp(Pq& pq) noexcept override {
    if (orderly() || !parked_.load(std::memory_order_seq_cst) || stopping_.load()) {
      wakeDispatcher();
      return;
    }
    if (pool_->offerIdleWork()) return;
    if (pending_.load(std::memory_order_relaxed) != 0) {
      wakeDispatcher();
      return;
    }
    pullForIdle(&pq);
  }

  // The pull of an idle consumer, on the appending thread (for `only`) or on a listener thread that was
  // looking for work (every queue with news). The caller of onQueueNewsFollowUp holds the queue's listener
  // lock, so awaitIdle's waiters are not notified from here (that would order the listener lock before the
  // idle lock): the dispatcher takes one more turn instead and notifies them when it parks. A listener thread
  // passes `mine`: the first task its pull makes is left there for it to run, and true returned; the rest
  // are queued.
  bool pullForIdle(Pq* only, Task* mine = nullptr) noexcept {
    if (!dispatchMutex_.try_lock()) {
      wakeDispatcher();
      return false;
    }
    // Counted before a flag is cleared, so that awaitIdle, which reads the flags first, never sees the
    // consumer idle between the two.
    inlinePulls_.fetch_add(1, std::memory_order_seq_cst);
    bool more = false;
    auto pullIfNews = [&](const std::shared_ptr<Pq>& owner) {
      Pq& pq = *owner;
      if (pq.dropped.load(std::memory_order_acquire) || !takeNews(pq)) return;
      try {
        pullOnce(owner, mine);
      } catch (...) {
        pq.dirty.store(true, std::memory_order_seq_cst);  // left to the dispatcher, which retries later
      }
      more |= pq.dirty.load(std::memory_order_seq_cst);
    };
    if (only != nullptr) {
      pullIfNews(only->shared_from_this());
    } else if (!stopping_.load()) {
      for (const auto& pq : active_)
        pullIfNews(pq);
    }
    dispatchMutex_.unlock();
    noteHandBack();  // the pull may have marked a queue dirty again
    inlinePulls_.fetch_sub(1, std::memory_order_seq_cst);
    if (idleWaiters_.load(std::memory_order_seq_cst) != 0) {
      recheck_.store(true, std::memory_order_seq_cst);
      more = true;
    }
    if (more) wakeDispatcher();
    return mine != nullptr && mine->pq != nullptr;
  }

  // Clears the queue's news flag; true when it was set. Read first: a clear flag is left alone rather than
  // written (an atomic exchange is a locked instruction, and a consumer looks at every queue it holds).
  static bool takeNews(Pq& pq) noexcept {
    return pq.dirty.load(std::memory_order_seq_cst) && pq.dirty.exchange(false, std::memory_order_seq_cst);
  }

  // After a queue was marked dirty outside the dispatcher (see idle). Only awaitIdle reads the count, and a
  // waiter announces itself before it reads anything, so the count moves only while someone waits.
  void noteHandBack() noexcept {
    if (idleWaiters_.load(std::memory_order_seq_cst) != 0) handBacks_.fetch_add(1, std::memory_order_seq_cst);
  }

  void wakeDispatcher() noexcept {
    if (parked_.load(std::memory_order_seq_cst)) {
      std::lock_guard lock(parkMutex_);
      parkCv_.notify_one();
    }
  }

  // TimerTarget: the consume timeout scan, local re-consumes and orderly resumes.
  void onTimer(std::uint64_t arg) noexcept override {
    if (arg == kScanExpired) {
      scanExpired();
      core_.timers().scheduleAfter(consumeTimeout_.count(), target_, kScanExpired);
      return;
    }
    Deferred d;
    {
      std::lock_guard lock(deferredMutex_);
      auto it = deferred_.find(arg);
      if (it == deferred_.end()) return;
      d = std::move(it->second);
      deferred_.erase(it);
    }
    auto pq = d.pq.lock();
    if (!pq || pq->dropped.load()) return;
    if ((arg & 0xFF) == kPullRetryTag) {
      pq->dirty.store(true, std::memory_order_seq_cst);
      noteHandBack();
      wakeDispatcher();
      return;
    }
    if ((arg & 0xFF) == kResumeTag) {
      {
        std::lock_guard lock(pq->mutex);
        pq->suspended = false;
      }
      submit({Task{std::move(pq), {}, true}});
      return;
    }
    {
      std::lock_guard lock(pq->mutex);
      for (Entry* e : d.entries) {
        e->state = EntryState::QUEUED;
        e->busy = true;
      }
    }
    submit({Task{std::move(pq), detail::EntryRun<Entry>(std::move(d.entries)), false}});
  }

  std::uint64_t defer(std::uint64_t tag, std::shared_ptr<Pq> pq, std::vector<Entry*> entries) {
    std::lock_guard lock(deferredMutex_);
    const std::uint64_t id = (nextDeferredId_++ << 8) | tag;
    deferred_.emplace(id, Deferred{std::move(pq), std::move(entries)});
    return id;
  }

  // ----------------------------------------------------------------------------------------- dispatcher

  void dispatchLoop() {
    bool waited = false;  // the last turn waited for the listeners until the budget ran out: pull now
    while (!stopping_.load()) {
      bool progress = false;
      bool gather = false;
      {
        std::lock_guard dispatch(dispatchMutex_);
        recheck_.store(false, std::memory_order_seq_cst);
        if (rebalancePending_.exchange(false, std::memory_order_seq_cst)) rebalance();
        gather = !waited && worthGathering();
        if (!gather) progress = pullNews();
      }
      if (gather) {
        waited = !awaitListeners();
        continue;
      }
      waited = false;
      if (!progress) park();
    }
  }

  // One pull of every queue with news; true when any moved something. Under dispatchMutex_.
  bool pullNews() {
    bool progress = false;
    for (auto& pq : active_) {
      if (pq->dropped.load(std::memory_order_relaxed)) continue;
      if (!takeNews(*pq)) continue;
      try {
        progress |= pullOnce(pq);
      } catch (...) {
        // RocketMQ DefaultMQPushConsumerImpl pulls a queue again 3 s after a pull that failed.
        core_.timers().scheduleAfter(kPullRetryMillis, target_, defer(kPullRetryTag, pq, {}));
      }
    }
    return progress;
  }

  // Whether a concurrent consumer's dispatcher should hold its pulls back for now (awaitListeners): tasks
  // still wait in the pool, and no queue with news has a full pull (pullBatchSize) ready. A pull made then
  // only lengthens the pool's queue, its messages waiting anyway; made once a listener thread has taken the
  // last task, it takes what arrived meanwhile in one batch, with one hand-off and one hold of each lock for
  // all of it. Under a steady stream the dispatcher otherwise pulls as fast as messages come, a few at a
  // time, and the pull, the hand-off and the listener's bookkeeping are paid per few messages (end to end on
  // two cores: 3 to 4 messages a pull, some refused by flow control and pulled again; holding back, 28 to 32,
  // none refused, and a tenth more messages a second). A queue with a full pull waiting (a backlog) is pulled
  // at once: there batches are full anyway, and pulling ahead keeps the listeners fed while the next pull is
  // made. Under dispatchMutex_.
  bool worthGathering() const {
    if (orderly() || pool_->queuedHint() == 0) return false;
    bool news = false;
    for (const auto& pq : active_) {
      if (pq->dropped.load(std::memory_order_relaxed) || !pq->dirty.load(std::memory_order_seq_cst)) continue;
      if (pq->cq.publishedMax.load(std::memory_order_acquire) - pq->pullOffset >= pullBatchSize_)
        return false;
      news = true;
    }
    return news;
  }
  // Waits, for at most kPollBudget, until no task waits in the pool; false when the budget ran out (a
  // listener in a long call), and the next turn pulls regardless.
  bool awaitListeners() {
    return detail::pollUntil(
        [this] { return stopping_.load(std::memory_order_relaxed) || pool_->queuedHint() == 0; });
  }

  // Sleeps until a queue has news, a rebalance is asked for, or shutdown. The flag is raised before the last
  // look at the queues and a waker sets its queue's flag before it looks at parked_ (both seq_cst), so either
  // the waker sees parked_ and notifies under parkMutex_, or this thread sees the news: no lost wake-up.
  void park() {
    if (pollForWork()) return;
    parked_.store(true, std::memory_order_seq_cst);
    if (hasWork()) {
      parked_.store(false, std::memory_order_seq_cst);
      return;
    }
    notifyIdle();  // no lock held: awaitIdle may now see the consumer idle
    std::unique_lock lock(parkMutex_);
    while (!hasWork())
      parkCv_.wait(lock);
    parked_.store(false, std::memory_order_seq_cst);
  }

  // Looks for work before park() sleeps; true when some came. A steady stream brings news within
  // microseconds, and a sender need not then wake this thread through the kernel: the thread spins for a few
  // microseconds, then keeps looking for up to kPollBudget, yielding the processor between looks (as
  // pollUntil). Two exceptions serve a conversation, where one message at a time goes through and each is
  // consumed before the next comes. While a task this thread queued waits for a listener thread, it yields
  // from the first look: the thread to take the task may be waiting for this processor. And once the spin is
  // over, it stops looking as soon as a concurrent consumer is idle (no task queued or running) with a
  // listener thread looking for work, since the next arrival is then offered to that thread (onQueueNews)
  // and this one would only take a processor from the conversation. Without them a ping-pong on two cores
  // (sender, dispatcher and listener threads busy) at times settled into a mode 4 to 5 times slower.
  bool pollForWork() {
    // The budget counts from the first look: looks spent yielding to a queued task use it up too.
    const auto deadline = std::chrono::steady_clock::now() + detail::kPollBudget;
    for (int looks = 0;; ++looks) {
      if (hasWork()) return true;
      if (looks < detail::kSpinPolls) {
        if (pool_->queuedHint() != 0) {
          std::this_thread::yield();
        } else {
          detail::cpuRelax();
        }
        continue;
      }
      if (!orderly() && pending_.load(std::memory_order_seq_cst) == 0 && pool_->looking()) return false;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::yield();
    }
  }

  bool hasWork() const {
    return stopping_.load() || rebalancePending_.load(std::memory_order_seq_cst) ||
           recheck_.load(std::memory_order_seq_cst) || anyDirty();
  }

  bool anyDirty() const {
    for (const auto& pq : active_) {
      if (!pq->dropped.load(std::memory_order_relaxed) && pq->dirty.load(std::memory_order_seq_cst))
        return true;
    }
    return false;
  }

  // RocketMQ RebalanceImpl.rebalanceByTopic, for every subscribed topic (the retry topic included). An
  // orderly member in CLUSTERING takes a queue only once the broker grants it the queue's lock; a queue whose
  // lock another member still holds is taken when that member lets go (the registry then asks for a
  // rebalance).
  void rebalance() {
    std::set<MessageQueue> want;
    const std::vector<std::string> cids = core_.consumerIds(group_);
    for (const auto& [topic, filter] : filters_) {
      const std::vector<MessageQueue> all = core_.queuesOrNone(topic);
      if (!clustering()) {
        want.insert(all.begin(), all.end());
      } else {
        for (auto& mq : strategy_->allocate(group_, clientId_, all, cids))
          want.insert(std::move(mq));
      }
    }
    const bool locking = orderly() && clustering();
    std::lock_guard lock(
        pqsMutex_);  // notifyIdle is not called under it: awaitIdle takes it inside idleMutex_
    for (auto it = pqs_.begin(); it != pqs_.end();) {
      if (want.contains(it->first)) {
        ++it;
      } else {
        drop(*it->second, /*leaving=*/false);
        it = pqs_.erase(it);
      }
    }
    lockWaits_ = 0;
    for (const MessageQueue& mq : want) {
      // A queue this member is still releasing (its strand finishing a batch) is taken again only once the
      // release is complete and its result committed; the release's unlock asks for another rebalance.
      if (pqs_.contains(mq) || releasing_.contains(mq)) continue;
      detail::ConsumeQueue* cq = core_.consumeQueue(mq);
      if (cq == nullptr) continue;
      if (locking && !core_.groups().tryLock(group_, mq, clientId_)) {
        ++lockWaits_;
        continue;
      }
      const std::int64_t start = core_.startOffset(offsetGroup_, mq, consumeFromWhere_, consumeTimestamp_);
      auto& slot = core_.offsetSlot(offsetGroup_, mq);
      auto pq = std::make_shared<Pq>(mq, *cq, slot, filters_.at(mq.topic),
                                     static_cast<detail::QueueWaker<Pq>&>(*this), start);
      pq->setCommitted(slot.load(std::memory_order_acquire));
      cq->addListener(*pq);
      pqs_.emplace(mq, std::move(pq));
    }
    active_.clear();
    for (auto& [mq, pq] : pqs_)
      active_.push_back(pq);
  }

  // Stops consuming a queue. Concurrently, results still to come are discarded. An orderly queue whose strand
  // is mid-batch is released when that batch finishes (its result committed first), so two members never
  // consume one queue at once; unless the member is leaving, in which case the broker drops its locks.
  void drop(Pq& pq, bool leaving) {
    pq.cq.removeListener(pq);
    bool unlockNow = false;
    {
      std::lock_guard lock(pq.mutex);
      if (orderly() && clustering() && !leaving && pq.consuming && !pq.suspended) {
        pq.releasing = true;       // the strand finishes its batch, commits, then releases
        releasing_.insert(pq.mq);  // under pqsMutex_, which the caller holds
      } else {
        pq.dropped.store(true, std::memory_order_release);
        unlockNow = orderly() && clustering() && !leaving;
      }
    }
    if (unlockNow) core_.groups().unlock(group_, pq.mq, clientId_);
  }

  // One pull for one queue, with RocketMQ's flow control. True when it moved anything. With `mine`, the first
  // task the pull makes is left there (when it is empty) instead of queued.
  bool pullOnce(const std::shared_ptr<Pq>& owner, Task* mine = nullptr) {
    Pq& pq = *owner;
    pinned_.records.clear();
    const std::int64_t next = core_.pull(pq.cq, pq.pullOffset, pullBatchSize_, pq.filter, pinned_);
    const std::size_t n = pinned_.records.size();
    // The entries come from the puller's stash (takeStashed), which the hold below refills from the queue's
    // free list; only a stash too short for the pull costs a hold of its own. The messages are filled in
    // first, so that one hold of the queue's mutex checks flow control and appends them. A refused pull puts
    // its entries back, lets its records go and moves nothing.
    fresh_.clear();
    try {
      if (!pq.takeStashed(n, fresh_)) {
        std::lock_guard lock(pq.mutex);
        pq.acquire(n, fresh_);
      }
      for (std::size_t i = 0; i < n; ++i) {
        const detail::RecordHeader& rec = *pinned_.records[i];
        Entry& e = *fresh_[i];
        core_.toConsumerMessage(e.msg, rec);
        e.offset = rec.queueOffset;
        if constexpr (detail::SizedBody<Body>) {
          e.bytes = static_cast<std::size_t>(e.msg.getBody().size());
        } else {
          e.bytes = sizeof(Body);
        }
      }
    } catch (...) {
      // An allocation or a Body copy threw: nothing was taken, and the records must not stay held (the
      // store waits for them before it reclaims anything).
      pinned_.release();
      pq.stash(fresh_);
      throw;
    }
    pinned_.release();
    const bool concurrent = n > 0 && !orderly();
    if (concurrent) split(owner, fresh_, n, split_);
    // The first task goes to the calling thread, which runs it at once: its first call's entries start
    // under the same hold rather than another one just before the call.
    Task* const runsHere = concurrent && mine != nullptr && mine->pq == nullptr ? &split_.front() : nullptr;
    const std::int64_t now = runsHere != nullptr ? detail::coarseSteadyMillis(core_.clock()) : 0;
    bool refused = false;
    bool startStrand = false;
    {
      std::lock_guard lock(pq.mutex);
      if (pq.releasing) {
        refused = true;
      } else if (static_cast<int>(pq.cachedCount()) >= pullThresholdForQueue_ ||
                 pq.cachedBytes() >= static_cast<std::size_t>(pullThresholdSizeForQueue_) * 1024 * 1024 ||
                 (!orderly() && pq.span() > consumeConcurrentlyMaxSpan_)) {
        pq.flowControlled.store(true, std::memory_order_seq_cst);
        refused = true;
      } else if (n == 0 && next == pq.pullOffset) {
        refused = true;  // nothing new
      } else {
        pq.append(fresh_, n, next, /*busy=*/!orderly());
        if (n == 0) pq.commitLocked(pq.retireDone());  // only filtered messages: move past them
        if (orderly() && n > 0 && !pq.consuming) startStrand = pq.consuming = true;
        if (runsHere != nullptr) startFirstCall(*runsHere, now);
      }
      pq.refillStash(static_cast<std::size_t>(pullBatchSize_), refused ? 0 : n);
    }
    if (refused) {
      pq.stash(fresh_);
      split_.clear();
      return false;
    }
    pq.pullOffset = next;
    if (next < pq.cq.publishedMax.load(std::memory_order_acquire)) pq.dirty.store(true);
    if (startStrand) {
      split_.clear();
      split_.push_back(Task{owner, {}, true});
      submitAll(split_, mine);
    } else if (concurrent) {
      submitAll(split_, mine);
    }
    return true;
  }

  // Marks `n` entries from `first` as in a listener call since `now`. Under the queue's mutex.
  static void startCall(Entry* const* first, std::size_t n, std::int64_t now) noexcept {
    for (std::size_t k = 0; k < n; ++k) {
      first[k]->state = EntryState::RUNNING;
      first[k]->consumeStart = now;
    }
  }
  // Starts `t`'s first listener call (startCall) and records it in the task. Under the queue's mutex.
  void startFirstCall(Task& t, std::int64_t now) const noexcept {
    startCall(t.entries.data(),
              std::min(static_cast<std::size_t>(consumeMessageBatchMaxSize_), t.entries.size()), now);
    t.started = true;
    t.startedAt = now;
  }

  // Spreads `n` pulled messages over at most consumeThreadMax tasks, each a run of whole listener calls, into
  // `out` (the dispatcher's scratch, which keeps its capacity from pull to pull).
  void split(const std::shared_ptr<Pq>& pq, const std::vector<Entry*>& entries, std::size_t n,
             std::vector<Task>& out) const {
    const std::size_t batch = static_cast<std::size_t>(consumeMessageBatchMaxSize_);
    const std::size_t calls = (n + batch - 1) / batch;
    const std::size_t tasks = std::min(calls, static_cast<std::size_t>(consumeThreadMax_));
    const std::size_t callsPerTask = (calls + tasks - 1) / tasks;
    out.clear();
    for (std::size_t i = 0; i < n; i += callsPerTask * batch) {
      const auto first = entries.begin() + static_cast<std::ptrdiff_t>(i);
      const auto last = entries.begin() + static_cast<std::ptrdiff_t>(std::min(n, i + callsPerTask * batch));
      out.push_back(
          Task{pq, detail::EntryRun<Entry>(&*first, static_cast<std::size_t>(last - first)), false});
    }
  }

  void submit(std::vector<Task> tasks) { submitAll(tasks); }
  // Queues `tasks` and leaves the vector empty, its capacity kept. With `mine` empty, the first task goes
  // there instead, counted as pending like the rest: the caller runs it (run()).
  void submitAll(std::vector<Task>& tasks, Task* mine = nullptr) {
    if (tasks.empty()) return;
    pending_.fetch_add(static_cast<std::int64_t>(tasks.size()), std::memory_order_seq_cst);
    auto first = tasks.begin();
    if (mine != nullptr && mine->pq == nullptr) *mine = std::move(*first++);
    if (first != tasks.end() && !pool_->submitAll(first, tasks.end())) {
      for (; first != tasks.end(); ++first)
        abandon(*first);
    }
    tasks.clear();
  }

  // A task that will never run: its messages stay unconsumed.
  void abandon(Task& t) {
    {
      std::lock_guard lock(t.pq->mutex);
      for (Entry* e : t.entries)
        t.pq->abandon(e);
      if (t.orderly) t.pq->consuming = false;
    }
    finishTask();
  }

  void finishTask() {
    if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1) {
      if (stopping_.load()) {
        std::lock_guard lock(runMutex_);
        runCv_.notify_all();
      }
      notifyIdle();
    }
  }

  void run(Task& t) {
    if (t.pq->dropped.load(std::memory_order_acquire) || stopping_.load()) {
      abandon(t);
    } else {
      if (t.orderly) {
        runStrand(t.pq);
      } else {
        runConcurrently(t);
      }
      finishTask();
    }
    afterTask();
  }

  // A listener that called shutdown() finishes it here, once its own result is processed.
  void afterTask() {
    const std::thread::id self = std::this_thread::get_id();
    if (finisher_.load(std::memory_order_acquire) != self) return;
    finisher_.store(std::thread::id(), std::memory_order_relaxed);  // only this thread matches it
    finishShutdown(true);
  }

  // The listener sees const references to the entries' messages.
  struct Batch {
    std::array<const MessageExt*, 8> small{};
    std::vector<const MessageExt*> large;
    const MessageExt** ptrs;
    std::size_t n;
    Batch(Entry* const* entries, std::size_t count) : ptrs(nullptr), n(count) {
      ptrs = small.data();
      if (n > small.size()) {
        large.resize(n);
        ptrs = large.data();
      }
      for (std::size_t i = 0; i < n; ++i)
        ptrs[i] = &entries[i]->msg;
    }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    MessageList list() const { return MessageList(ptrs, n); }
  };

  // ----------------------------------------------------------------------------------------- concurrently

  // A listener call whose result waits to be processed with others (processResults).
  struct CallResult {
    Entry* const* entries;
    std::size_t count;
    int ok;          // entries [0, ok) were consumed; the rest failed
    int delayLevel;  // the context's delayLevelWhenNextConsume
  };

  void runConcurrently(Task& t) {
    Pq& pq = *t.pq;
    const std::size_t batch = static_cast<std::size_t>(consumeMessageBatchMaxSize_);
    // One context for the task's calls, set back to its defaults before each. It refers to the process
    // queue's MessageQueue, which the task's shared_ptr keeps alive, rather than copying its names.
    ConsumeConcurrentlyContext ctx(detail::BorrowQueue{}, pq.mq);
    // Results are processed a run of calls at a time: one hold of the queue's mutex, and one of the store
    // lock for the run's send-backs, instead of one each per call. A run ends after kResultRun messages,
    // before the first call to start once a scheduler tick has passed since the run began, and with the task;
    // until then its messages count as still being consumed, holding the offset back, as any message in a
    // listener call does.
    // A run holds at most kResultRun messages, so at most as many calls: its results fit on the stack.
    std::array<CallResult, kResultRun> results;
    std::size_t resultCount = 0;
    std::size_t resultEntries = 0;
    std::int64_t resultsSince = 0;
    auto process = [&] {
      if (resultCount == 0) return;
      processResults(t.pq, std::span<const CallResult>(results.data(), resultCount));
      resultCount = 0;
      resultEntries = 0;
    };
    for (std::size_t i = 0; i < t.entries.size(); i += batch) {
      Entry* const* first = t.entries.data() + i;
      const std::size_t n = std::min(batch, t.entries.size() - i);
      const bool started = i == 0 && t.started;  // the pull marked this call's entries RUNNING
      if (pq.dropped.load(std::memory_order_acquire) || stopping_.load()) {
        process();
        std::lock_guard lock(pq.mutex);
        for (std::size_t k = 0; k < n; ++k) {
          if (started) first[k]->state = EntryState::QUEUED;
          pq.abandon(first[k]);
        }
        continue;
      }
      // Runs end on real time's ticks, whatever the clock (ManualClock's time may stand still).
      constexpr bool kSystemClock = std::is_same_v<Clock, SystemClock>;
      const std::int64_t wall = started && kSystemClock ? t.startedAt : SystemClock::coarseSteadyMillis();
      // Checked before a call rather than after one: the same point between two calls, and one clock read
      // per call instead of two.
      if (resultCount != 0 && wall != resultsSince) process();
      if (resultCount == 0) resultsSince = wall;
      if (!started) {
        const std::int64_t now = kSystemClock ? wall : detail::coarseSteadyMillis(core_.clock());
        std::lock_guard lock(pq.mutex);
        startCall(first, n, now);
      }
      const Batch b(first, n);
      ctx.setAckIndex(std::numeric_limits<int>::max());
      ctx.setDelayLevelWhenNextConsume(0);
      ConsumeConcurrentlyStatus status = ConsumeConcurrentlyStatus::RECONSUME_LATER;
      try {
        status = std::get<ListenerConcurrently>(listener_).consumeMessage(b.list(), ctx);
      } catch (...) {
        status = ConsumeConcurrentlyStatus::RECONSUME_LATER;  // RocketMQ: an exception is RECONSUME_LATER
      }
      // RocketMQ ConsumeMessageConcurrentlyService.processConsumeResult: with CONSUME_SUCCESS, [0, ackIndex]
      // are consumed and the rest failed; RECONSUME_LATER fails them all.
      const int count = static_cast<int>(n);
      int ackIndex = -1;
      if (status == ConsumeConcurrentlyStatus::CONSUME_SUCCESS)
        ackIndex = std::min(ctx.getAckIndex(), count - 1);
      const int ok = std::max(ackIndex + 1, 0);
      // Only the counts that move: each add is a locked instruction.
      if (ok != 0) counters_.succeeded.fetch_add(static_cast<std::uint64_t>(ok), std::memory_order_relaxed);
      if (ok != count)
        counters_.failed.fetch_add(static_cast<std::uint64_t>(count - ok), std::memory_order_relaxed);
      results[resultCount++] = CallResult{first, n, ok, ctx.getDelayLevelWhenNextConsume()};
      resultEntries += n;
      if (resultEntries >= kResultRun) process();
    }
    process();
  }

  // The rest of processConsumeResult for a run of calls: failed messages go back to the broker, all under
  // one hold of the store lock (clustering; broadcasting drops them), or, where that fails, wait for a
  // local re-consume; then every message leaves the process queue and the offset is committed.
  void processResults(const std::shared_ptr<Pq>& owner, std::span<const CallResult> results) {
    Pq& pq = *owner;
    std::vector<SendBackItem> sendBacks;  // failed messages to send back
    std::vector<Entry*> retryLocally;
    if (clustering()) {
      std::size_t failed = 0;
      for (const CallResult& r : results)
        failed += r.count - static_cast<std::size_t>(r.ok);
      sendBacks.reserve(failed);  // one allocation for a run of failures, not one per doubling
    }
    for (const CallResult& r : results) {
      const int n = static_cast<int>(r.count);
      if (!clustering()) {
        counters_.dropped.fetch_add(static_cast<std::uint64_t>(n - r.ok), std::memory_order_relaxed);
        continue;
      }
      for (int i = r.ok; i < n; ++i) {
        Entry* e = r.entries[i];
        if (pq.dropped.load(std::memory_order_acquire) || isExpired(*e)) {
          counters_.dropped.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        sendBacks.push_back(SendBackItem{e, r.delayLevel});
      }
    }
    if (!sendBacks.empty()) {
      sendBackAll(sendBacks);
      for (const SendBackItem& item : sendBacks) {
        if (item.sent) continue;
        item.entry->msg.setReconsumeTimes(item.entry->msg.getReconsumeTimes() + 1);
        retryLocally.push_back(item.entry);
        counters_.reconsumedLocally.fetch_add(1, std::memory_order_relaxed);
      }
    }
    {
      std::lock_guard lock(pq.mutex);
      for (const CallResult& r : results) {
        for (std::size_t i = 0; i < r.count; ++i) {
          Entry* e = r.entries[i];
          const bool later = !retryLocally.empty() &&
                             std::find(retryLocally.begin(), retryLocally.end(), e) != retryLocally.end();
          pq.complete(e, later);
        }
      }
      pq.commitLocked(pq.retireDone());
      releaseFlowControl(pq);
    }
    if (!retryLocally.empty()) {
      // RocketMQ submitConsumeRequestLater: they stay in the process queue, holding the offset back, and are
      // consumed again after 5 s on the broker's clock.
      core_.timers().scheduleAfter(kLocalRetryMillis, target_,
                                   defer(kLocalRetryTag, owner, std::move(retryLocally)));
    }
  }

  // A failed message to send back, and whether it went.
  struct SendBackItem {
    Entry* entry;
    int delayLevel;
    bool sent = false;
  };

  // CONSUMER_SEND_MSG_BACK for every item, in one request to the broker; an item the broker refuses, or
  // whose copy throws, tries the fallback retry message on its own. Marks each item sent or not.
  void sendBackAll(std::vector<SendBackItem>& items) {
    std::vector<detail::SendBackRequest> requests;
    requests.reserve(items.size());
    for (const SendBackItem& item : items)
      requests.push_back(detail::SendBackRequest{item.entry->msg.getCommitLogOffset(), item.delayLevel,
                                                 item.entry->msg.getReconsumeTimes()});
    std::vector<detail::SendBackResult> results(items.size());
    try {
      core_.sendMessagesBack(retryTopics_, requests, maxReconsume_, results);
    } catch (...) {
      // Out of memory before anything was stored: each item tries the fallback below.
      for (auto& r : results) {
        if (!r.ok()) continue;
        r = detail::SendBackResult{ResponseCode::SYSTEM_ERROR, false, "the send-back could not be made"};
      }
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      SendBackItem& item = items[i];
      detail::SendBackResult& r = results[i];
      if (!r.ok()) r = sendRetryFallback(item.entry->msg, item.delayLevel);
      item.sent = r.ok();
      if (r.ok())
        (r.deadLettered ? counters_.deadLettered : counters_.retried).fetch_add(1, std::memory_order_relaxed);
    }
  }

  static bool isExpired(const Entry& e) noexcept { return e.expired.load(std::memory_order_acquire); }

  // CONSUMER_SEND_MSG_BACK, then the fallback retry message if that fails.
  detail::SendBackResult trySendBack(const MessageExt& msg, int delayLevel) {
    detail::SendBackResult r = guarded([&] {
      return core_.sendMessageBack(retryTopics_, msg.getCommitLogOffset(), delayLevel,
                                   msg.getReconsumeTimes(), maxReconsume_);
    });
    if (!r.ok()) r = sendRetryFallback(msg, delayLevel);
    return r;
  }

  // After a failed send-back: the consumer's own copy, sent to %RETRY%<group> as a retry message.
  detail::SendBackResult sendRetryFallback(const MessageExt& msg, int delayLevel) {
    return guarded([&] { return core_.sendRetryMessage(retryTopics_, msg, delayLevel, maxReconsume_); });
  }

  // A broker copy that throws (a Body copy constructor, an allocation) is a failed send-back like any other.
  template <class Send>
  static detail::SendBackResult guarded(Send&& send) {
    try {
      return send();
    } catch (const std::exception& e) {
      return detail::SendBackResult{ResponseCode::SYSTEM_ERROR, false, e.what()};
    } catch (...) {
      return detail::SendBackResult{ResponseCode::SYSTEM_ERROR, false, "copying the message threw"};
    }
  }

  // Called with pq.mutex held: resumes pulling once consumption has drained the queue's cache to half its
  // limits. RocketMQ looks again 50 ms after a refused pull (DefaultMQPushConsumerImpl
  // PULL_TIME_DELAY_MILLS_WHEN_FLOW_CONTROL), by which time the listeners have freed far more than one
  // pull's worth; resuming at the first free slot would instead wake the dispatcher for every pull batch
  // the listeners finish.
  void releaseFlowControl(Pq& pq) {
    if (!pq.flowControlled.load(std::memory_order_relaxed)) return;
    if (static_cast<int>(pq.cachedCount()) <= pullThresholdForQueue_ / 2 &&
        (orderly() || pq.span() <= consumeConcurrentlyMaxSpan_) &&
        pq.cachedBytes() <= static_cast<std::size_t>(pullThresholdSizeForQueue_) * 1024 * 1024 / 2) {
      pq.flowControlled.store(false, std::memory_order_seq_cst);
      pq.dirty.store(true, std::memory_order_seq_cst);
      noteHandBack();
      wakeDispatcher();
    }
  }

  // RocketMQ ProcessQueue.cleanExpiredMsg: the head messages held by the listener longer than consumeTimeout
  // are sent back (delay level 3) and leave the process queue; the listener is not interrupted. A message
  // whose send-back fails stays with the listener, as in RocketMQ: its own result settles it, and the next
  // scan tries again if it is still held.
  void scanExpired() {
    std::vector<std::shared_ptr<Pq>> queues;
    {
      std::lock_guard lock(pqsMutex_);
      for (auto& [mq, pq] : pqs_)
        queues.push_back(pq);
    }
    const std::int64_t now = detail::coarseSteadyMillis(core_.clock());
    struct Candidate {
      Entry* entry;
      std::int64_t offset;
      MessageExt msg;
    };
    for (auto& pq : queues) {
      std::vector<Candidate> candidates;
      {
        std::lock_guard lock(pq->mutex);
        int examined = 0;
        for (Entry* e : pq->window()) {
          if (++examined > kExpiredScanMax) break;
          if (e->state == EntryState::DONE) continue;
          if (e->state != EntryState::RUNNING || now - e->consumeStart <= consumeTimeout_.count()) break;
          // A copy that throws (a Body, an allocation) leaves this message and the rest with the listener
          // until the next scan.
          try {
            candidates.push_back(Candidate{e, e->offset, e->msg});
          } catch (...) {
            break;
          }
        }
      }
      if (candidates.empty()) continue;
      bool anySent = false;
      for (Candidate& c : candidates) {
        if (!trySendBack(c.msg, 3).ok()) continue;
        counters_.expired.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(pq->mutex);
        // Unless the listener finished with it meanwhile (then the entry may already hold a later message),
        // the message leaves the process queue: the copy in %RETRY% now stands for it.
        if (c.entry->offset == c.offset && c.entry->state == EntryState::RUNNING) {
          c.entry->expired.store(true, std::memory_order_release);
          c.entry->state = EntryState::DONE;
          anySent = true;
        }
      }
      if (!anySent) continue;
      std::lock_guard lock(pq->mutex);
      pq->commitLocked(pq->retireDone());
      releaseFlowControl(*pq);
    }
  }

  // ----------------------------------------------------------------------------------------- orderly

  // One turn of a queue's strand (RocketMQ ConsumeMessageOrderlyService.ConsumeRequest): batch after batch,
  // lowest offsets first, one listener call at a time; the queue's other messages wait. Different queues'
  // strands run in parallel on the pool. No lock is held across the listener.
  void runStrand(const std::shared_ptr<Pq>& owner) {
    Pq& pq = *owner;
    std::vector<Entry*> batch;
    for (int round = 0;; ++round) {
      bool release = false;
      bool yield = false;
      {
        std::lock_guard lock(pq.mutex);
        if (pq.dropped.load(std::memory_order_acquire) || stopping_.load()) {
          pq.consuming = false;
          return;
        }
        batch.clear();
        if (!pq.releasing) pq.takeOrderly(static_cast<std::size_t>(consumeMessageBatchMaxSize_), batch);
        if (pq.releasing || batch.empty()) {
          pq.consuming = false;  // the dispatcher starts a new strand when messages arrive
          release = pq.releasing && markReleased(pq);
        } else if (round == kOrderlyBatchesPerTask) {
          // Give the thread to other queues and come back: the strand stays "consuming" across the hand-over.
          for (Entry* e : batch)
            e->state = EntryState::QUEUED;
          batch.clear();
          yield = true;
        }
      }
      if (release) completeRelease(pq);
      if (yield) submit({Task{owner, {}, true}});
      if (batch.empty()) return;
      const Batch b(batch.data(), batch.size());
      ConsumeOrderlyContext ctx(pq.mq);
      ConsumeOrderlyStatus status = ConsumeOrderlyStatus::SUSPEND_CURRENT_QUEUE_A_MOMENT;
      try {
        status = std::get<ListenerOrderly>(listener_).consumeMessage(b.list(), ctx);
      } catch (...) {
        status = ConsumeOrderlyStatus::SUSPEND_CURRENT_QUEUE_A_MOMENT;  // RocketMQ: an exception suspends
      }
      if (!processOrderlyResult(owner, batch, status, ctx)) return;  // suspended, or released
    }
  }

  // RocketMQ ConsumeMessageOrderlyService.processConsumeResult. False when the strand must stop: the queue is
  // suspended (a timer resumes it) or was released.
  bool processOrderlyResult(const std::shared_ptr<Pq>& owner, std::vector<Entry*>& batch,
                            ConsumeOrderlyStatus status, const ConsumeOrderlyContext& ctx) {
    Pq& pq = *owner;
    const auto n = static_cast<std::uint64_t>(batch.size());
    bool suspend = false;
    bool commit = false;
    if (status == ConsumeOrderlyStatus::SUSPEND_CURRENT_QUEUE_A_MOMENT) {
      counters_.failed.fetch_add(n, std::memory_order_relaxed);
      suspend = checkReconsumeTimes(pq, batch);
      commit = !suspend && ctx.isAutoCommit();
    } else if (ctx.isAutoCommit()) {
      // SUCCESS, and the deprecated COMMIT and ROLLBACK, all commit when autoCommit is on.
      counters_.succeeded.fetch_add(n, std::memory_order_relaxed);
      commit = true;
    } else if (status == ConsumeOrderlyStatus::ROLLBACK) {
      counters_.failed.fetch_add(n, std::memory_order_relaxed);
      counters_.reconsumedLocally.fetch_add(n, std::memory_order_relaxed);
      suspend = true;
    } else {
      counters_.succeeded.fetch_add(n, std::memory_order_relaxed);
      commit = status == ConsumeOrderlyStatus::COMMIT;
    }

    std::unique_lock lock(pq.mutex);
    if (suspend) {
      // The batch goes back to the front of the queue (RocketMQ makeMessageToConsumeAgain); with ROLLBACK, so
      // does everything consumed since the last commit.
      for (Entry* e : batch) {
        if (e->state == EntryState::RUNNING) e->state = EntryState::QUEUED;
      }
      if (status == ConsumeOrderlyStatus::ROLLBACK) pq.settleConsumed(EntryState::QUEUED);
    } else {
      for (Entry* e : batch) {
        if (e->state == EntryState::RUNNING) e->state = commit ? EntryState::DONE : EntryState::CONSUMED;
      }
      if (commit) pq.settleConsumed(EntryState::DONE);
    }
    const std::int64_t committed = pq.retireDone();
    if (commit || !ctx.isAutoCommit()) pq.commitLocked(committed);
    releaseFlowControl(pq);
    if (pq.dropped.load(std::memory_order_acquire) || stopping_.load()) {
      pq.consuming = false;
      return false;
    }
    if (pq.releasing) {
      pq.consuming = false;
      const bool release = markReleased(pq);
      lock.unlock();
      if (release) completeRelease(pq);
      return false;
    }
    if (suspend) {
      long millis = ctx.getSuspendCurrentQueueTimeMillis() >= 0 ? ctx.getSuspendCurrentQueueTimeMillis()
                                                                : suspendCurrentQueueTimeMillis_;
      millis = std::clamp(millis, 10L, 30'000L);  // RocketMQ ConsumeMessageOrderlyService
      pq.suspended = true;  // the strand stays "consuming": nothing else runs for this queue until resumed
      core_.timers().scheduleAfter(millis, target_, defer(kResumeTag, owner, {}));
      return false;
    }
    return true;
  }

  // RocketMQ checkReconsumeTimes: a message that reached maxReconsumeTimes goes to the DLQ; the others count
  // one more reconsume. True when the batch must be consumed again.
  bool checkReconsumeTimes(Pq& pq, const std::vector<Entry*>& batch) {
    bool again = false;
    for (Entry* e : batch) {
      if (e->msg.getReconsumeTimes() >= maxReconsume_ && clustering()) {
        const detail::SendBackResult r =
            guarded([&] { return core_.sendRetryMessage(retryTopics_, e->msg, -1, maxReconsume_); });
        if (r.ok()) {
          counters_.deadLettered.fetch_add(1, std::memory_order_relaxed);
          std::lock_guard lock(pq.mutex);
          e->state = EntryState::DONE;
          continue;
        }
      }
      e->msg.setReconsumeTimes(e->msg.getReconsumeTimes() + 1);
      counters_.reconsumedLocally.fetch_add(1, std::memory_order_relaxed);
      again = true;
    }
    return again;
  }

  // Called with pq.mutex held, once a released queue's last batch is done. True: the caller then calls
  // completeRelease, after letting go of pq.mutex.
  static bool markReleased(Pq& pq) {
    pq.releasing = false;
    pq.dropped.store(true, std::memory_order_release);
    return true;
  }

  // Gives a released queue's lock back. The registry's unlock notifies the group, this member included, which
  // may take the queue again.
  void completeRelease(Pq& pq) {
    {
      std::lock_guard lock(pqsMutex_);
      releasing_.erase(pq.mq);
    }
    core_.groups().unlock(group_, pq.mq, clientId_);
  }

  // ----------------------------------------------------------------------------------------- test support

  // Work moves through the consumer in one direction: a queue turns dirty; the dispatcher, awake (parked_
  // false), clears the flag, pulls and submits tasks (pending_ up); workers finish them (pending_ down).
  // Reading the flags in that order, each read seq_cst, means no work moving forward slips between two
  // reads unseen. Work can also move back: a worker (or an inline pull) marks a queue dirty before it lets
  // go of its own count (a flow-control release, a retry message stored into a queue this member pulls).
  // Read between the two, the flag looks clear and the count zero. Such a step bumps handBacks_ after the
  // flag is set, so a read that straddles it sees the counter move.
  bool idle() const {
    if (state_ != State::RUNNING) return true;
    const std::uint64_t handBacks = handBacks_.load(std::memory_order_seq_cst);
    if (rebalancePending_.load(std::memory_order_seq_cst)) return false;
    {
      std::lock_guard lock(pqsMutex_);
      if (lockWaits_ != 0) return false;
      for (const auto& [mq, pq] : pqs_) {
        if (!pq->dropped.load() && pq->dirty.load(std::memory_order_seq_cst)) return false;
      }
    }
    if (inlinePulls_.load(std::memory_order_seq_cst) != 0) return false;
    if (!parked_.load(std::memory_order_seq_cst)) return false;
    if (pending_.load(std::memory_order_seq_cst) != 0) return false;
    return handBacks_.load(std::memory_order_seq_cst) == handBacks;
  }

  bool awaitIdle(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    idleWaiters_.fetch_add(1, std::memory_order_seq_cst);
    std::unique_lock lock(idleMutex_);
    bool ok = false;
    for (;;) {
      if (idle()) {
        ok = true;
        break;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      // Woken by every change that can make the consumer idle; the short slice is only a safety net.
      idleCv_.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(50)));
    }
    idleWaiters_.fetch_sub(1, std::memory_order_seq_cst);
    return ok;
  }

  void notifyIdle() noexcept {
    if (idleWaiters_.load(std::memory_order_seq_cst) == 0) return;
    std::lock_guard lock(idleMutex_);
    idleCv_.notify_all();
  }

  ConsumerStats stats() const {
    ConsumerStats s;
    s.succeeded = counters_.succeeded.load();
    s.failed = counters_.failed.load();
    s.delivered = s.succeeded + s.failed;
    s.retried = counters_.retried.load();
    s.deadLettered = counters_.deadLettered.load();
    s.reconsumedLocally = counters_.reconsumedLocally.load();
    s.dropped = counters_.dropped.load();
    s.expired = counters_.expired.load();
    std::lock_guard lock(pqsMutex_);
    for (const auto& [mq, pq] : pqs_) {
      if (pq->dropped.load()) continue;
      ++s.queues;
      std::lock_guard pl(pq->mutex);
      if (pq->suspended) ++s.blockedQueues;
      for (const Entry* e : pq->window()) {
        if (e->state != Entry::State::DONE) ++s.inFlight;
      }
      const std::int64_t committed = std::max<std::int64_t>(pq->committed(), 0);
      s.lag += std::max<std::int64_t>(0, core_.maxOffset(mq) - committed);
    }
    return s;
  }

  std::vector<MessageQueue> ownedQueues() const {
    std::lock_guard lock(pqsMutex_);
    std::vector<MessageQueue> out;
    for (const auto& [mq, pq] : pqs_)
      out.push_back(mq);
    return out;
  }

  // ----------------------------------------------------------------------------------------- state

  detail::BrokerCore<Body, Clock>& core_;
  const std::string group_;
  detail::GroupRetryTopics retryTopics_{group_};  // where failed messages go back
  std::string instanceName_;
  std::string clientId_;
  std::string offsetGroup_;  // the group, or group@client for a broadcasting member

  // Settings (written before start(), read after).
  MessageModel model_ = MessageModel::CLUSTERING;
  ConsumeFromWhere consumeFromWhere_ = ConsumeFromWhere::CONSUME_FROM_LAST_OFFSET;
  std::int64_t consumeTimestamp_ = -1;
  int consumeThreadMin_ = 20;
  int consumeThreadMax_ = 20;
  int consumeMessageBatchMaxSize_ = 1;
  int pullBatchSize_ = 32;
  int pullThresholdForQueue_ = 1000;
  int pullThresholdSizeForQueue_ = 100;
  int consumeConcurrentlyMaxSpan_ = 2000;
  int maxReconsumeTimes_ = -1;
  int maxReconsume_ = 16;
  long suspendCurrentQueueTimeMillis_ = 1000;
  std::chrono::milliseconds consumeTimeout_{std::chrono::minutes(15)};
  long awaitTerminationMillis_ = 10'000;
  std::shared_ptr<const AllocateMessageQueueStrategy> strategy_ =
      std::make_shared<AllocateMessageQueueAveragely>();
  std::map<std::string, detail::TagFilter> subscriptions_;  // the application's
  std::map<std::string, detail::TagFilter> filters_;        // and the retry topic; fixed at start()
  std::variant<std::monostate, ListenerConcurrently, ListenerOrderly> listener_;

  // Lifecycle.
  mutable std::mutex lifecycle_;  // guards state_ transitions
  std::condition_variable shutdownDone_;
  std::atomic<State> state_{State::CREATED};
  // A listener thread that called shutdown() and completes it. Written under lifecycle_, read by every pool
  // thread after each task.
  std::atomic<std::thread::id> finisher_{};

  // What an appending thread reads on every arrival (onQueueNews), on a cache line of its own: were
  // anything a pull or a listener call writes on it, the appender would take the line from the consumer's
  // threads on every message, and they take it back.
  alignas(64) std::atomic<bool> stopping_{false};
  std::atomic<bool> parked_{false};  // the dispatcher sleeps in park()

  // Dispatcher: rebalance and pulls. active_, pinned_, fresh_, split_ and the queues' pullOffset belong to
  // whoever holds dispatchMutex_: the dispatcher thread, or an appending thread pulling while it sleeps.
  std::thread dispatcher_;
  alignas(64) detail::SpinThenBlockMutex dispatchMutex_;
  std::atomic<int> inlinePulls_{0};   // appending threads pulling (onQueueNews)
  std::atomic<bool> recheck_{false};  // the dispatcher is to take one more turn and notify idle waiters
  std::atomic<std::uint64_t> handBacks_{0};  // queues marked dirty from outside the dispatcher (see idle)
  std::mutex parkMutex_;
  std::condition_variable parkCv_;
  std::atomic<bool> rebalancePending_{false};
  std::vector<std::shared_ptr<Pq>> active_;
  detail::PinnedRecords pinned_;
  std::vector<Entry*> fresh_;
  std::vector<Task> split_;

  mutable std::mutex pqsMutex_;  // guards pqs_ and releasing_ (the dispatcher changes them during rebalance)
  std::map<MessageQueue, std::shared_ptr<Pq>> pqs_;
  std::set<MessageQueue> releasing_;  // orderly queues given up whose strand is finishing its batch
  // Orderly queues allocated to this member whose lock another member still holds (under pqsMutex_). The
  // holder's unlock triggers another rebalance, so the member is not idle while any is waiting.
  std::size_t lockWaits_ = 0;

  // Tasks queued or running, and the shutdown wait for them.
  std::atomic<std::int64_t> pending_{0};
  std::mutex runMutex_;
  std::condition_variable runCv_;

  // awaitIdle.
  mutable std::mutex idleMutex_;
  std::condition_variable idleCv_;
  std::atomic<int> idleWaiters_{0};

  // Local re-consumes and orderly resumes waiting for their timer.
  std::mutex deferredMutex_;
  std::unordered_map<std::uint64_t, Deferred> deferred_;
  std::uint64_t nextDeferredId_ = 1;

  Counters counters_;
  detail::TargetHandle target_;

  std::unique_ptr<detail::WorkerPool<Task>> pool_;  // last: its threads use everything above
};

using PushConsumer = BasicPushConsumer<Broker>;

namespace detail {
/// How <ackmq/testing.hpp> reaches a consumer's state.
struct ConsumerAccess {
  template <class C>
  static bool awaitIdle(C& c, std::chrono::milliseconds timeout) {
    return c.awaitIdle(timeout);
  }
  template <class C>
  static auto stats(const C& c) {
    return c.stats();
  }
  template <class C>
  static std::vector<MessageQueue> ownedQueues(const C& c) {
    return c.ownedQueues();
  }
  template <class C>
  static std::map<MessageQueue, std::int64_t> committedOffsets(const C& c) {
    std::map<MessageQueue, std::int64_t> out;
    for (const auto& [key, offset] : c.core_.committedOffsets(c.offsetGroup_)) {
      out.emplace(MessageQueue(key.first, c.core_.brokerName(), key.second), offset);
    }
    return out;
  }
};
}  // namespace detail

}  // namespace ackmq
