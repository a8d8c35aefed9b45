#pragma once
// ackmq: the lite pull consumer (RocketMQ DefaultLitePullConsumer): the application polls for messages and
// commits offsets itself (or lets auto-commit do it), with seek, pause and resume per queue. In subscribe
// mode the group's members share the queues as push consumers do; in assign mode the application picks them.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ackmq/allocate_strategy.hpp>
#include <ackmq/broker.hpp>
#include <ackmq/consumer_types.hpp>
#include <ackmq/detail/client/consumer_common.hpp>
#include <ackmq/detail/client/event_count.hpp>
#include <ackmq/detail/client/offset_store.hpp>
#include <ackmq/detail/client/rebalancer.hpp>
#include <ackmq/detail/separate_compilation.hpp>
#include <ackmq/detail/spin.hpp>
#include <ackmq/detail/validators.hpp>
#include <ackmq/message.hpp>
#include <ackmq/message_selector.hpp>
#include <ackmq/status.hpp>

namespace ackmq {

namespace detail {
struct ConsumerAccess;
}

/// Counters of one lite pull consumer.
struct LitePullConsumerStats {
  std::uint64_t polled = 0;  ///< messages returned by poll()
  int queues = 0;            ///< queues assigned or owned
  std::int64_t lag = 0;      ///< messages stored in those queues past the committed offsets
};

/// A lite pull consumer.
///
/// @code
///   ackmq::LitePullConsumer consumer(broker, "reporting");
///   consumer.subscribe("Orders", "*");
///   consumer.setAutoCommit(false);
///   consumer.start();
///   for (;;) {
///     auto msgs = consumer.poll(std::chrono::seconds(1));
///     store(msgs);
///     consumer.commitSync();   // what poll() returned is consumed
///   }
/// @endcode
///
/// Thread safety: every member function is thread-safe (poll() calls are serialised). subscribe, unsubscribe
/// and the setters: call before start().
template <class Broker>
class BasicLitePullConsumer final : private detail::ConsumerEndpoint, private detail::TimerTarget {
  using Core = detail::BrokerCore<typename Broker::body_type, typename Broker::clock_type>;

 public:
  using Body = typename Broker::body_type;
  using Clock = typename Broker::clock_type;
  using MessageExt = BasicMessageExt<Body>;

  BasicLitePullConsumer(Broker& broker, std::string consumerGroup);
  BasicLitePullConsumer(const BasicLitePullConsumer&) = delete;
  BasicLitePullConsumer& operator=(const BasicLitePullConsumer&) = delete;
  /// Runs shutdown().
  ~BasicLitePullConsumer();

  /// Subscribe mode: the group's members share `topic`'s queues. Call before start(); not with assign().
  void subscribe(std::string topic, std::string subExpression);
  /// Subscribe mode with a tag or SQL92 selector, as BasicPushConsumer::subscribe. Call before start(); not
  /// with assign().
  void subscribe(std::string topic, const MessageSelector& selector);
  void unsubscribe(std::string_view topic);

  /// Assign mode: consume exactly these queues (all messages, no tag filter), without group rebalance. May be
  /// called again to change the set; not with subscribe().
  void assign(const std::vector<MessageQueue>& queues);

  /// The queues this consumer polls.
  std::vector<MessageQueue> assignment() const;

  /// Every queue of `topic`.
  std::vector<MessageQueue> fetchMessageQueues(std::string_view topic) const;

  void start();

  /// Commits (with autoCommit) and leaves the group; the other members take the queues over. Idempotent.
  void shutdown();

  /// Up to pullBatchSize messages of one queue (taking the queues in turn). When none is ready, waits up to
  /// pollTimeoutMillis on the broker's clock. What is returned counts as consumed: commitSync() (or
  /// auto-commit, every autoCommitIntervalMillis on the clock) records it.
  std::vector<MessageExt> poll() { return poll(std::chrono::milliseconds(pollTimeoutMillis_)); }
  std::vector<MessageExt> poll(std::chrono::milliseconds timeout);

  /// Commits what poll() has returned, for every queue this consumer polls.
  void commitSync();
  /// Commits the given offsets (the next offset to consume per queue).
  void commitSync(const std::map<MessageQueue, std::int64_t>& offsets);
  /// The committed offset of `mq` (-1 when none).
  std::int64_t committed(const MessageQueue& mq) const { return core_.queryConsumerOffset(offsetGroup_, mq); }

  /// The next poll of `mq` starts at `offset`, which must lie within [minOffset, maxOffset].
  void seek(const MessageQueue& mq, std::int64_t offset);
  void seekToBegin(const MessageQueue& mq);
  void seekToEnd(const MessageQueue& mq);
  /// poll() skips these queues until resume().
  void pause(const std::vector<MessageQueue>& queues) { setPaused(queues, true); }
  void resume(const std::vector<MessageQueue>& queues) { setPaused(queues, false); }

  // ------------------------------------------------------------------------------------------ settings

  const std::string& getConsumerGroup() const noexcept { return group_; }
  void setAutoCommit(bool on) { autoCommit_ = on; }
  bool isAutoCommit() const noexcept { return autoCommit_; }
  /// How often poll() commits when autoCommit is on, ms on the broker's clock (5000).
  void setAutoCommitIntervalMillis(long millis) {
    if (millis < 0)
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL, "setAutoCommitIntervalMillis: must not be negative");
    autoCommitIntervalMillis_ = millis;
  }
  long getAutoCommitIntervalMillis() const noexcept { return autoCommitIntervalMillis_; }
  /// Messages per poll (10). 1..1024.
  void setPullBatchSize(int n) {
    if (n < 1 || n > 1024) {
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL,
                      "setPullBatchSize: " + std::to_string(n) + " is out of range 1..1024");
    }
    pullBatchSize_ = n;
  }
  int getPullBatchSize() const noexcept { return pullBatchSize_; }
  /// How long poll() waits by default, ms (5000).
  void setPollTimeoutMillis(long millis) {
    if (millis < 0)
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL, "setPollTimeoutMillis: must not be negative");
    pollTimeoutMillis_ = millis;
  }
  long getPollTimeoutMillis() const noexcept { return pollTimeoutMillis_; }
  void setMessageModel(MessageModel m) {
    beforeStart("setMessageModel");
    model_ = m;
  }
  void setConsumeFromWhere(ConsumeFromWhere w) {
    beforeStart("setConsumeFromWhere");
    consumeFromWhere_ = w;
  }
  void setConsumeTimestamp(std::int64_t epochMillis) {
    beforeStart("setConsumeTimestamp");
    consumeTimestamp_ = epochMillis;
  }
  void setAllocateMessageQueueStrategy(std::shared_ptr<const AllocateMessageQueueStrategy> strategy) {
    beforeStart("setAllocateMessageQueueStrategy");
    if (!strategy)
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL, "setAllocateMessageQueueStrategy: strategy is null");
    strategy_ = std::move(strategy);
  }
  void setInstanceName(std::string name) {
    beforeStart("setInstanceName");
    detail::checkInstanceName(name);
    instanceName_ = std::move(name);
  }
  const std::string& getInstanceName() const noexcept { return instanceName_; }

 private:
  friend struct detail::ConsumerAccess;
  enum class State { CREATED, RUNNING, SHUT_DOWN };

  struct QueueState {
    detail::QueueHandle cq;
    const detail::SubscriptionFilter* filter;
    std::int64_t pullOffset;  // the next offset to return; everything before it counts as consumed
    detail::QueueOffset offset;
    bool paused = false;
  };

  // Wakes a waiting poll: messages arrived in a polled queue, the group changed, or the timeout passed. An
  // arrival bumps the generation, which a poll watches without sleeping; only a poll that sleeps costs the
  // arrival a notify.
  class Waker final : public detail::ArrivalListener {
   public:
    // ArrivalListener: the bump under the store lock; a sleeping poll is woken after it (the follow-up).
    bool onArrival() noexcept override {
      generation_.fetch_add(1, std::memory_order_seq_cst);
      return events_.anyWaiting();
    }
    void onArrivalFollowUp() noexcept override { events_.notifyAll(); }
    void wake() noexcept {
      if (onArrival()) onArrivalFollowUp();
    }
    void timeout(std::uint64_t ticket) noexcept {
      std::uint64_t f = fired_.load(std::memory_order_relaxed);
      while (f < ticket && !fired_.compare_exchange_weak(f, ticket, std::memory_order_seq_cst)) {
      }
      events_.notifyAll();
    }
    std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_seq_cst); }
    bool fired(std::uint64_t ticket) const noexcept {
      return fired_.load(std::memory_order_seq_cst) >= ticket;
    }
    detail::EventCount& events() noexcept { return events_; }

   private:
    detail::EventCount events_;
    std::atomic<std::uint64_t> fired_{0};  // the highest poll ticket whose timeout passed
    // What an arrival writes and a waiting poll watches, on a cache line of its own: a poll that wrote
    // anything else on it would take the line from the appender, and the appender take it back, on every
    // message.
    alignas(detail::kCacheLine) std::atomic<std::uint64_t> generation_{0};
  };

  void beforeStart(std::string_view what) const { detail::requireNotStarted(state_ == State::CREATED, what); }
  void running(std::string_view what) const {
    detail::requireRunning(state_ == State::RUNNING, state_ == State::CREATED, "lite pull consumer", group_,
                           what);
  }
  QueueState& owned(const MessageQueue& mq, std::string_view what) {
    auto it = queues_.find(mq);
    if (it == queues_.end()) {
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL,
                      std::string(what) + ": " + mq.toString() + " is not among this consumer's queues");
    }
    return it->second;
  }
  void setPaused(const std::vector<MessageQueue>& queues, bool paused);

  // ConsumerEndpoint: the group or a subscribed topic changed; the next poll rebalances.
  void onGroupChanged() noexcept override {
    rebalancePending_.store(true);
    waker_.wake();
  }
  // TimerTarget: a poll's timeout passed.
  void onTimer(std::uint64_t ticket) noexcept override { waker_.timeout(ticket); }

  // RocketMQ RebalanceLitePullImpl: the same allocation as push consumers.
  void rebalanceLocked() { applyLocked(rebalancer_->wanted(subscriptions_)); }

  // Takes up the queues in `want` and lets the others go (committing them first with autoCommit).
  void applyLocked(const std::set<MessageQueue>& want) {
    static const detail::SubscriptionFilter kAll;
    detail::Rebalancer<Core>::reconcile(
        queues_, want,
        [&](const MessageQueue&, QueueState& q) {
          if (autoCommit_) q.offset.overwrite(q.pullOffset);
          core_.unlisten(q.cq, waker_);
        },
        [&](const MessageQueue& mq) {
          const detail::QueueHandle cq = core_.consumeQueue(mq);
          if (!cq) return true;
          // Assign mode has no group start to go by: a queue with no committed offset starts as a group
          // joining it would (RocketMQ computePullFromWhere: the end for LAST_OFFSET).
          const std::int64_t start = core_.startOffset(offsetGroup_, mq, consumeFromWhere_, consumeTimestamp_,
                                                       /*joining=*/assigned_);
          auto sub = subscriptions_.find(mq.topic);
          const detail::SubscriptionFilter* filter = sub == subscriptions_.end() ? &kAll : &sub->second;
          queues_.emplace(
              mq, QueueState{cq, filter, start, detail::QueueOffset(core_.offsetSlot(offsetGroup_, mq))});
          core_.listen(cq, waker_);
          return true;
        });
    order_.clear();
    for (auto& [mq, q] : queues_)
      order_.push_back(&q);
  }

  void maybeAutoCommit() {
    if (!autoCommit_) return;
    // A coarse read: the interval is seconds, and a poll makes this check every time it looks.
    const std::int64_t now = detail::coarseSteadyMillis(core_.clock());
    if (now - lastCommit_ < autoCommitIntervalMillis_) return;
    commitLocked();
  }
  void commitLocked() {
    for (auto& [mq, q] : queues_)
      q.offset.overwrite(q.pullOffset);
    lastCommit_ = detail::coarseSteadyMillis(core_.clock());
    core_.consumerCaughtUp();  // consumed history over its bound goes now (one load while under it)
  }

  // One pull from the next queue (in turn) that has messages.
  std::vector<MessageExt> pullLocked() {
    std::vector<MessageExt> out;
    const std::size_t n = order_.size();
    if (n == 0) return out;
    for (std::size_t i = 0, at = turn_++ % n; i < n && out.empty(); ++i, at = at + 1 == n ? 0 : at + 1) {
      QueueState& q = *order_[at];
      if (q.paused) continue;
      // Nothing stored past the pull offset: no need for the store lock (which a waiting poll would
      // otherwise take from the appenders on every look).
      if (q.cq.publishedEnd() <= q.pullOffset) continue;
      const std::int64_t next = core_.pull(q.cq, q.pullOffset, pullBatchSize_, *q.filter, pulled_);
      try {
        out.resize(pulled_.size());
        for (std::size_t k = 0; k < pulled_.size(); ++k)
          core_.toConsumerMessage(out[k], pulled_, k);
      } catch (...) {
        pulled_.release();  // a Body copy or an allocation threw: nothing was taken, the caller sees why
        throw;
      }
      pulled_.release();
      q.pullOffset = next;
    }
    return out;
  }

  bool awaitIdle(std::chrono::milliseconds) { return !rebalancePending_.load(); }

  LitePullConsumerStats stats() const;
  std::vector<MessageQueue> ownedQueues() const { return assignment(); }

  Core& core_;
  const std::string group_;
  std::string instanceName_;
  std::string offsetGroup_;
  std::map<std::string, detail::SubscriptionFilter> subscriptions_;
  bool assigned_ = false;
  std::vector<MessageQueue> assignment_;
  MessageModel model_ = MessageModel::CLUSTERING;
  ConsumeFromWhere consumeFromWhere_ = ConsumeFromWhere::CONSUME_FROM_LAST_OFFSET;
  std::int64_t consumeTimestamp_ = -1;
  std::shared_ptr<const AllocateMessageQueueStrategy> strategy_ =
      std::make_shared<AllocateMessageQueueAveragely>();
  std::atomic<bool> autoCommit_{true};
  long autoCommitIntervalMillis_ = 5000;
  int pullBatchSize_ = 10;
  long pollTimeoutMillis_ = 5000;

  // Guards queues_, state transitions, lastCommit_, turn_ and the settings' use. A poll takes it twice on
  // every wake-up; no condition variable waits on it.
  mutable detail::SpinThenBlockMutex mutex_;
  std::atomic<State> state_{State::CREATED};
  std::map<MessageQueue, QueueState> queues_;
  std::vector<QueueState*> order_;  // queues_'s states in its order, which polls take in turn
  std::atomic<bool> rebalancePending_{false};
  std::int64_t lastCommit_ = 0;
  std::size_t turn_ = 0;
  std::uint64_t tickets_ = 0;
  detail::PullBuffer pulled_;                           // scratch for pullLocked, kept for its capacity
  std::optional<detail::Rebalancer<Core>> rebalancer_;  // fixed at start()
  Waker waker_;
  detail::TargetHandle target_;
  std::atomic<std::uint64_t> polled_{0};
};

// The members that reach into the broker, defined outside the class (see ACKMQ_DECL).
template <class Broker>
ACKMQ_DECL void BasicLitePullConsumer<Broker>::subscribe(std::string topic, std::string subExpression) {
  beforeStart("subscribe");
  if (assigned_)
    detail::illegal(ResponseCode::CLIENT_STATE_ILLEGAL, "subscribe: this consumer uses assign()");
  detail::addSubscription(subscriptions_, std::move(topic), subExpression);
}

template <class Broker>
ACKMQ_DECL void BasicLitePullConsumer<Broker>::subscribe(std::string topic, const MessageSelector& selector) {
  beforeStart("subscribe");
  if (assigned_)
    detail::illegal(ResponseCode::CLIENT_STATE_ILLEGAL, "subscribe: this consumer uses assign()");
  detail::addSubscription(subscriptions_, std::move(topic), selector, core_.config());
}

template <class Broker>
ACKMQ_DECL void BasicLitePullConsumer<Broker>::unsubscribe(std::string_view topic) {
  beforeStart("unsubscribe");
  if (auto it = subscriptions_.find(std::string(topic)); it != subscriptions_.end()) subscriptions_.erase(it);
}

template <class Broker>
ACKMQ_DECL void BasicLitePullConsumer<Broker>::assign(const std::vector<MessageQueue>& queues) {
  std::lock_guard lock(mutex_);
  if (!subscriptions_.empty()) {
    detail::illegal(ResponseCode::CLIENT_STATE_ILLEGAL, "assign: this consumer uses subscribe()");
  }
  assigned_ = true;
  assignment_ = queues;
  if (state_ == State::RUNNING) applyLocked(std::set<MessageQueue>(queues.begin(), queues.end()));
}

template <class Broker>
ACKMQ_DECL std::vector<MessageQueue> BasicLitePullConsumer<Broker>::assignment() const {
  std::lock_guard lock(mutex_);
  std::vector<MessageQueue> out;
  for (const auto& [mq, q] : queues_)
    out.push_back(mq);
  return out;
}

template <class Broker>
ACKMQ_DECL std::vector<MessageQueue> BasicLitePullConsumer<Broker>::fetchMessageQueues(
    std::string_view topic) const {
  return core_.queuesOf(topic);
}

template <class Broker>
ACKMQ_DECL void BasicLitePullConsumer<Broker>::start() {
  std::lock_guard lock(mutex_);
  if (state_ == State::RUNNING) return;
  if (state_ != State::CREATED) {
    detail::illegal(ResponseCode::CLIENT_STATE_ILLEGAL,
                    "lite pull consumer of group " + group_ + " was shut down and cannot start again");
  }
  if (subscriptions_.empty() && !assigned_) {
    detail::illegal(ResponseCode::CLIENT_STATE_ILLEGAL, "lite pull consumer of group " + group_ +
                                                            " has no subscription: call subscribe or assign");
  }
  offsetGroup_ = model_ == MessageModel::BROADCASTING ? group_ + "@" + instanceName_ : group_;
  if (consumeTimestamp_ < 0) consumeTimestamp_ = core_.clock().nowMillis() - 30 * 60 * 1000;
  target_ = core_.timers().registerTarget(*this);
  lastCommit_ = detail::coarseSteadyMillis(core_.clock());
  rebalancer_.emplace(core_, group_, instanceName_, model_, strategy_, /*orderlyLocks=*/false);
  if (!assigned_) {
    try {
      core_.registerConsumer(rebalancer_->spec(subscriptions_, detail::ListenerKind::PULL, *this),
                             offsetGroup_, consumeFromWhere_, consumeTimestamp_);
    } catch (...) {
      core_.timers().unregisterTarget(target_);
      throw;
    }
  }
  state_ = State::RUNNING;
  if (assigned_) {
    applyLocked(std::set<MessageQueue>(assignment_.begin(), assignment_.end()));
  } else {
    rebalancePending_.store(false);
    rebalanceLocked();
  }
}

template <class Broker>
ACKMQ_DECL void BasicLitePullConsumer<Broker>::shutdown() {
  std::lock_guard lock(mutex_);
  if (state_ == State::CREATED) {
    state_ = State::SHUT_DOWN;
    return;
  }
  if (state_ != State::RUNNING) return;
  if (autoCommit_) commitLocked();
  for (auto& [mq, q] : queues_)
    core_.unlisten(q.cq, waker_);
  queues_.clear();
  order_.clear();
  state_ = State::SHUT_DOWN;
  if (!assigned_) core_.unregisterConsumer(group_, instanceName_);
  core_.timers().unregisterTarget(target_);
  waker_.wake();
}

template <class Broker>
ACKMQ_DECL auto BasicLitePullConsumer<Broker>::poll(std::chrono::milliseconds timeout)
    -> std::vector<MessageExt> {
  std::unique_lock lock(mutex_);
  running("poll");
  detail::TimerId timer;
  std::uint64_t ticket = 0;
  // The deadline is read lazily: a poll that finds a message at once, or after one short spin (the reply in
  // a conversation), never pays for the clock read. Otherwise the timeout starts at most one spin (tens of
  // microseconds) late; on ManualClock, not at all, as its time has not moved.
  std::int64_t deadline = -1;
  auto startDeadline = [&] {
    if (deadline < 0) deadline = core_.clock().steadyMillis() + std::max<std::int64_t>(timeout.count(), 0);
  };
  // RocketMQ DefaultLitePullConsumerImpl.poll: the auto-commit check, once per poll.
  maybeAutoCommit();
  for (bool first = true;; first = false) {
    const std::uint64_t seen = waker_.generation();
    if (rebalancePending_.load() && rebalancePending_.exchange(false)) rebalanceLocked();
    std::vector<MessageExt> out = pullLocked();
    if (!out.empty() || timeout.count() <= 0 || state_ != State::RUNNING) {
      if (ticket != 0) core_.timers().cancel(timer);
      // Written only under mutex_: a load and a store, not a locked add.
      polled_.store(polled_.load(std::memory_order_relaxed) + out.size(), std::memory_order_relaxed);
      return out;
    }
    if (!first) startDeadline();  // woken for nothing (another queue's news, a filtered tag)
    // A message that arrives within microseconds (the reply in a conversation, the next of a stream) is
    // seen without a sleep and a kernel wake-up on either side. The short spin keeps the mutex, so that
    // taking such a message costs no second hold on its way to the caller; a call from another thread
    // (commitSync, seek) waits at most that long. Then the poll lets go and keeps looking, yielding, and
    // at last sleeps until news or its timeout on the broker's clock.
    const auto moved = [&] { return waker_.generation() != seen; };
    if (detail::spinUntil(moved)) continue;
    lock.unlock();
    detail::spinThenPark(
        waker_.events(), [&] { return moved() || (ticket != 0 && waker_.fired(ticket)); },
        [&] { return detail::yieldUntil(moved); },
        [&] {
          std::lock_guard relock(mutex_);
          if (ticket != 0) return;
          ticket = ++tickets_;
          startDeadline();
          timer = core_.timers().scheduleAt(deadline, target_, ticket);
        });
    lock.lock();
    if (!moved()) return {};  // the timeout passed on the clock
  }
}

template <class Broker>
ACKMQ_DECL void BasicLitePullConsumer<Broker>::commitSync() {
  std::lock_guard lock(mutex_);
  running("commitSync");
  commitLocked();
}

template <class Broker>
ACKMQ_DECL void BasicLitePullConsumer<Broker>::commitSync(
    const std::map<MessageQueue, std::int64_t>& offsets) {
  std::lock_guard lock(mutex_);
  running("commitSync");
  for (const auto& [mq, offset] : offsets) {
    if (!core_.consumeQueue(mq)) {
      detail::illegal(ResponseCode::NOT_FOUND_TOPIC_EXCEPTION, "commitSync: no such queue: " + mq.toString());
    }
    if (offset < 0)
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL, "commitSync: offsets must not be negative");
    if (auto it = queues_.find(mq); it != queues_.end()) {
      it->second.offset.overwrite(offset);
    } else {
      core_.offsetSlot(offsetGroup_, mq).store(offset);
    }
  }
}

template <class Broker>
ACKMQ_DECL void BasicLitePullConsumer<Broker>::seek(const MessageQueue& mq, std::int64_t offset) {
  std::lock_guard lock(mutex_);
  QueueState& q = owned(mq, "seek");
  const std::int64_t min = core_.minOffset(mq);
  const std::int64_t max = core_.maxOffset(mq);
  if (offset < min || offset > max) {
    detail::illegal(ResponseCode::MESSAGE_ILLEGAL,
                    "seek offset " + std::to_string(offset) + " of " + mq.toString() + " is out of range [" +
                        std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  q.pullOffset = offset;
}

template <class Broker>
ACKMQ_DECL void BasicLitePullConsumer<Broker>::seekToBegin(const MessageQueue& mq) {
  std::lock_guard lock(mutex_);
  owned(mq, "seekToBegin").pullOffset = core_.minOffset(mq);
}

template <class Broker>
ACKMQ_DECL void BasicLitePullConsumer<Broker>::seekToEnd(const MessageQueue& mq) {
  std::lock_guard lock(mutex_);
  owned(mq, "seekToEnd").pullOffset = core_.maxOffset(mq);
}

template <class Broker>
ACKMQ_DECL void BasicLitePullConsumer<Broker>::setPaused(const std::vector<MessageQueue>& queues,
                                                         bool paused) {
  std::lock_guard lock(mutex_);
  for (const auto& mq : queues) {
    if (auto it = queues_.find(mq); it != queues_.end()) it->second.paused = paused;
  }
  if (!paused) waker_.wake();
}

template <class Broker>
ACKMQ_DECL LitePullConsumerStats BasicLitePullConsumer<Broker>::stats() const {
  std::lock_guard lock(mutex_);
  LitePullConsumerStats s;
  s.polled = polled_.load();
  s.queues = static_cast<int>(queues_.size());
  for (const auto& [mq, q] : queues_) {
    const std::int64_t committed = std::max<std::int64_t>(core_.queryConsumerOffset(offsetGroup_, mq), 0);
    s.lag += std::max<std::int64_t>(0, core_.maxOffset(mq) - committed);
  }
  return s;
}

template <class Broker>
ACKMQ_DECL BasicLitePullConsumer<Broker>::BasicLitePullConsumer(Broker& broker, std::string consumerGroup)
    : core_(detail::BrokerAccess::core(broker)), group_(std::move(consumerGroup)) {
  detail::checkGroup(group_, "consumerGroup");
  instanceName_ = detail::defaultInstanceName("pull-");
}

template <class Broker>
ACKMQ_DECL BasicLitePullConsumer<Broker>::~BasicLitePullConsumer() {
  shutdown();
}

using LitePullConsumer = BasicLitePullConsumer<Broker>;

#if defined(ACKMQ_SEPARATE_COMPILATION)
extern template class BasicLitePullConsumer<BasicBroker<std::string, SystemClock>>;
extern template class BasicLitePullConsumer<BasicBroker<std::string, ManualClock>>;
#endif

}  // namespace ackmq
