#pragma once
// ackmq: the lite pull consumer (RocketMQ DefaultLitePullConsumer): the application polls for messages and
// commits offsets itself (or lets auto-commit do it), with seek, pause and resume per queue. In subscribe
// mode the group's members share the queues as push consumers do; in assign mode the application picks them.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ackmq/allocate_strategy.hpp>
#include <ackmq/broker.hpp>
#include <ackmq/consumer_types.hpp>
#include <ackmq/detail/client/consumer_common.hpp>
#include <ackmq/detail/spin.hpp>
#include <ackmq/detail/validators.hpp>
#include <ackmq/message.hpp>
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
 public:
  using Body = typename Broker::body_type;
  using Clock = typename Broker::clock_type;
  using MessageExt = BasicMessageExt<Body>;

  BasicLitePullConsumer(Broker& broker, std::string consumerGroup)
      : core_(detail::BrokerAccess::core(broker)), group_(std::move(consumerGroup)) {
    detail::checkGroup(group_, "consumerGroup");
    instanceName_ = detail::defaultInstanceName("pull-");
  }
  BasicLitePullConsumer(const BasicLitePullConsumer&) = delete;
  BasicLitePullConsumer& operator=(const BasicLitePullConsumer&) = delete;
  /// Runs shutdown().
  ~BasicLitePullConsumer() { shutdown(); }

  /// Subscribe mode: the group's members share `topic`'s queues. Call before start(); not with assign().
  void subscribe(std::string topic, std::string subExpression) {
    beforeStart("subscribe");
    if (assigned_)
      detail::illegal(ResponseCode::CLIENT_STATE_ILLEGAL, "subscribe: this consumer uses assign()");
    detail::addSubscription(subscriptions_, std::move(topic), subExpression);
  }
  void unsubscribe(std::string_view topic) {
    beforeStart("unsubscribe");
    if (auto it = subscriptions_.find(std::string(topic)); it != subscriptions_.end())
      subscriptions_.erase(it);
  }

  /// Assign mode: consume exactly these queues (all messages, no tag filter), without group rebalance. May be
  /// called again to change the set; not with subscribe().
  void assign(const std::vector<MessageQueue>& queues) {
    std::lock_guard lock(mutex_);
    if (!subscriptions_.empty()) {
      detail::illegal(ResponseCode::CLIENT_STATE_ILLEGAL, "assign: this consumer uses subscribe()");
    }
    assigned_ = true;
    assignment_ = queues;
    if (state_ == State::RUNNING) applyLocked(std::set<MessageQueue>(queues.begin(), queues.end()));
  }

  /// The queues this consumer polls.
  std::vector<MessageQueue> assignment() const {
    std::lock_guard lock(mutex_);
    std::vector<MessageQueue> out;
    for (const auto& [mq, q] : queues_)
      out.push_back(mq);
    return out;
  }

  /// Every queue of `topic`.
  std::vector<MessageQueue> fetchMessageQueues(std::string_view topic) const { return core_.queuesOf(topic); }

  void start() {
    std::lock_guard lock(mutex_);
    if (state_ == State::RUNNING) return;
    if (state_ != State::CREATED) {
      detail::illegal(ResponseCode::CLIENT_STATE_ILLEGAL,
                      "lite pull consumer of group " + group_ + " was shut down and cannot start again");
    }
    if (subscriptions_.empty() && !assigned_) {
      detail::illegal(
          ResponseCode::CLIENT_STATE_ILLEGAL,
          "lite pull consumer of group " + group_ + " has no subscription: call subscribe or assign");
    }
    offsetGroup_ = model_ == MessageModel::BROADCASTING ? group_ + "@" + instanceName_ : group_;
    if (consumeTimestamp_ < 0) consumeTimestamp_ = core_.clock().nowMillis() - 30 * 60 * 1000;
    target_ = core_.timers().registerTarget(*this);
    lastCommit_ = detail::coarseSteadyMillis(core_.clock());
    if (!assigned_) {
      detail::MemberSpec spec;
      spec.group = group_;
      spec.clientId = instanceName_;
      spec.subscriptions = subscriptions_;
      spec.model = model_;
      spec.kind = detail::ListenerKind::PULL;
      spec.endpoint = this;
      try {
        core_.registerConsumer(spec, offsetGroup_, consumeFromWhere_, consumeTimestamp_);
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

  /// Commits (with autoCommit) and leaves the group; the other members take the queues over. Idempotent.
  void shutdown() {
    std::lock_guard lock(mutex_);
    if (state_ == State::CREATED) {
      state_ = State::SHUT_DOWN;
      return;
    }
    if (state_ != State::RUNNING) return;
    if (autoCommit_) commitLocked();
    for (auto& [mq, q] : queues_)
      q.cq->removeListener(waker_);
    queues_.clear();
    order_.clear();
    state_ = State::SHUT_DOWN;
    if (!assigned_) core_.unregisterConsumer(group_, instanceName_);
    core_.timers().unregisterTarget(target_);
    waker_.wake();
  }

  /// Up to pullBatchSize messages of one queue (taking the queues in turn). When none is ready, waits up to
  /// pollTimeoutMillis on the broker's clock. What is returned counts as consumed: commitSync() (or
  /// auto-commit, every autoCommitIntervalMillis on the clock) records it.
  std::vector<MessageExt> poll() { return poll(std::chrono::milliseconds(pollTimeoutMillis_)); }
  std::vector<MessageExt> poll(std::chrono::milliseconds timeout) {
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
      // (commitSync, seek) waits at most that long. Then the poll lets go and keeps looking, yielding.
      const auto moved = [&] { return waker_.generation() != seen; };
      if (detail::spinUntil(moved)) continue;
      lock.unlock();
      if (detail::yieldUntil(moved)) {
        lock.lock();
        continue;
      }
      lock.lock();
      if (ticket == 0) {
        ticket = ++tickets_;
        startDeadline();
        timer = core_.timers().scheduleAt(deadline, target_, ticket);
      }
      lock.unlock();
      const bool news = waker_.wait(seen, ticket);
      lock.lock();
      if (!news) return {};  // the timeout passed on the clock
    }
  }

  /// Commits what poll() has returned, for every queue this consumer polls.
  void commitSync() {
    std::lock_guard lock(mutex_);
    running("commitSync");
    commitLocked();
  }
  /// Commits the given offsets (the next offset to consume per queue).
  void commitSync(const std::map<MessageQueue, std::int64_t>& offsets) {
    std::lock_guard lock(mutex_);
    running("commitSync");
    for (const auto& [mq, offset] : offsets) {
      if (core_.consumeQueue(mq) == nullptr) {
        detail::illegal(ResponseCode::NOT_FOUND_TOPIC_EXCEPTION,
                        "commitSync: no such queue: " + mq.toString());
      }
      if (offset < 0)
        detail::illegal(ResponseCode::MESSAGE_ILLEGAL, "commitSync: offsets must not be negative");
      core_.offsetSlot(offsetGroup_, mq).store(offset, std::memory_order_release);
    }
  }
  /// The committed offset of `mq` (-1 when none).
  std::int64_t committed(const MessageQueue& mq) const { return core_.queryConsumerOffset(offsetGroup_, mq); }

  /// The next poll of `mq` starts at `offset`, which must lie within [minOffset, maxOffset].
  void seek(const MessageQueue& mq, std::int64_t offset) {
    std::lock_guard lock(mutex_);
    QueueState& q = owned(mq, "seek");
    const std::int64_t min = core_.minOffset(mq);
    const std::int64_t max = core_.maxOffset(mq);
    if (offset < min || offset > max) {
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL,
                      "seek offset " + std::to_string(offset) + " of " + mq.toString() +
                          " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    q.pullOffset = offset;
  }
  void seekToBegin(const MessageQueue& mq) {
    std::lock_guard lock(mutex_);
    owned(mq, "seekToBegin").pullOffset = core_.minOffset(mq);
  }
  void seekToEnd(const MessageQueue& mq) {
    std::lock_guard lock(mutex_);
    owned(mq, "seekToEnd").pullOffset = core_.maxOffset(mq);
  }
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
    detail::ConsumeQueue* cq;
    const detail::TagFilter* filter;
    std::int64_t pullOffset;  // the next offset to return; everything before it counts as consumed
    bool paused = false;
  };

  // Wakes a waiting poll: messages arrived in a polled queue, the group changed, or the timeout passed. A
  // poll first watches the generation without sleeping, so an arrival takes the mutex only when a poll
  // sleeps: the waker bumps the generation, then looks for sleepers; a sleeper announces itself, then
  // checks the generation under the mutex (both seq_cst), so one of them sees the other.
  class Waker final : public detail::ArrivalListener {
   public:
    // ArrivalListener: the bump under the store lock; a sleeping poll is woken after it (the follow-up).
    bool onArrival() noexcept override {
      generation_.fetch_add(1, std::memory_order_seq_cst);
      return sleepers_.load(std::memory_order_seq_cst) != 0;
    }
    void onArrivalFollowUp() noexcept override {
      if (sleepers_.load(std::memory_order_seq_cst) == 0) return;
      std::lock_guard lock(mutex_);
      cv_.notify_all();
    }
    void wake() noexcept {
      if (onArrival()) onArrivalFollowUp();
    }
    void timeout(std::uint64_t ticket) noexcept {
      {
        std::lock_guard lock(mutex_);
        fired_ = std::max(fired_, ticket);
      }
      cv_.notify_all();
    }
    std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_seq_cst); }
    // True when woken by news after `seen`; false when the poll's timeout passed.
    bool wait(std::uint64_t seen, std::uint64_t ticket) {
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return generation() != seen || fired_ >= ticket; });
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      return generation() != seen;
    }

   private:
    std::mutex mutex_;  // guards fired_, and orders a sleeper's last look against a wake's notify
    std::condition_variable cv_;
    std::uint64_t fired_ = 0;
    // What an arrival writes and a waiting poll watches, on a cache line of their own: a poll that wrote
    // anything else on it (its count of messages returned, say) would take the line from the appender, and
    // the appender take it back, on every message.
    alignas(64) std::atomic<std::uint64_t> generation_{0};
    std::atomic<int> sleepers_{0};  // the rest of the line is the class's padding (it ends here)
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
  void setPaused(const std::vector<MessageQueue>& queues, bool paused) {
    std::lock_guard lock(mutex_);
    for (const auto& mq : queues) {
      if (auto it = queues_.find(mq); it != queues_.end()) it->second.paused = paused;
    }
    if (!paused) waker_.wake();
  }

  // ConsumerEndpoint: the group or a subscribed topic changed; the next poll rebalances.
  void onGroupChanged() noexcept override {
    rebalancePending_.store(true);
    waker_.wake();
  }
  // TimerTarget: a poll's timeout passed.
  void onTimer(std::uint64_t ticket) noexcept override { waker_.timeout(ticket); }

  // RocketMQ RebalanceLitePullImpl: the same allocation as push consumers.
  void rebalanceLocked() {
    std::set<MessageQueue> want;
    const std::vector<std::string> cids = core_.consumerIds(group_);
    for (const auto& [topic, filter] : subscriptions_) {
      const std::vector<MessageQueue> all = core_.queuesOrNone(topic);
      if (model_ == MessageModel::BROADCASTING) {
        want.insert(all.begin(), all.end());
      } else {
        for (auto& mq : strategy_->allocate(group_, instanceName_, all, cids))
          want.insert(std::move(mq));
      }
    }
    applyLocked(want);
  }

  // Takes up the queues in `want` and lets the others go (committing them first with autoCommit).
  void applyLocked(const std::set<MessageQueue>& want) {
    static const detail::TagFilter kAll;
    for (auto it = queues_.begin(); it != queues_.end();) {
      if (want.contains(it->first)) {
        ++it;
        continue;
      }
      if (autoCommit_)
        core_.offsetSlot(offsetGroup_, it->first).store(it->second.pullOffset, std::memory_order_release);
      it->second.cq->removeListener(waker_);
      it = queues_.erase(it);
    }
    for (const MessageQueue& mq : want) {
      if (queues_.contains(mq)) continue;
      detail::ConsumeQueue* cq = core_.consumeQueue(mq);
      if (cq == nullptr) continue;
      std::int64_t start;
      if (assigned_ && core_.queryConsumerOffset(offsetGroup_, mq) < 0) {
        // Assign mode has no group start to go by: ConsumeFromWhere is read now (RocketMQ
        // computePullFromWhere: the end for LAST_OFFSET).
        start = consumeFromWhere_ == ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET ? core_.minOffset(mq)
                : consumeFromWhere_ == ConsumeFromWhere::CONSUME_FROM_TIMESTAMP
                    ? core_.searchOffset(mq, consumeTimestamp_)
                    : core_.maxOffset(mq);
      } else {
        start = core_.startOffset(offsetGroup_, mq, consumeFromWhere_, consumeTimestamp_);
      }
      auto sub = subscriptions_.find(mq.topic);
      const detail::TagFilter* filter = sub == subscriptions_.end() ? &kAll : &sub->second;
      queues_.emplace(mq, QueueState{cq, filter, start, false});
      cq->addListener(waker_);
    }
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
    for (const auto& [mq, q] : queues_)
      core_.offsetSlot(offsetGroup_, mq).store(q.pullOffset, std::memory_order_release);
    lastCommit_ = detail::coarseSteadyMillis(core_.clock());
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
      if (q.cq->publishedMax.load(std::memory_order_acquire) <= q.pullOffset) continue;
      const std::int64_t next = core_.pull(*q.cq, q.pullOffset, pullBatchSize_, *q.filter, pins_);
      try {
        out.resize(pins_.records.size());
        for (std::size_t k = 0; k < pins_.records.size(); ++k)
          core_.toConsumerMessage(out[k], *pins_.records[k]);
      } catch (...) {
        pins_.release();  // a Body copy or an allocation threw: nothing was taken, the caller sees why
        throw;
      }
      pins_.release();
      q.pullOffset = next;
    }
    return out;
  }

  bool awaitIdle(std::chrono::milliseconds) { return !rebalancePending_.load(); }

  LitePullConsumerStats stats() const {
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
  std::vector<MessageQueue> ownedQueues() const { return assignment(); }

  detail::BrokerCore<Body, Clock>& core_;
  const std::string group_;
  std::string instanceName_;
  std::string offsetGroup_;
  std::map<std::string, detail::TagFilter> subscriptions_;
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
  detail::PinnedRecords pins_;  // scratch for pullLocked, kept for its capacity
  Waker waker_;
  detail::TargetHandle target_;
  std::atomic<std::uint64_t> polled_{0};
};

using LitePullConsumer = BasicLitePullConsumer<Broker>;

}  // namespace ackmq
