#pragma once
// ackmq: the simple consumer (RocketMQ 5 SimpleConsumer on the POP model): receive messages, then ack each
// one by its receipt handle, or change how long it stays invisible. A message not acked in time is delivered
// again, to this or another consumer of the group, with reconsumeTimes + 1.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ackmq/broker.hpp>
#include <ackmq/consumer_types.hpp>
#include <ackmq/detail/client/consumer_common.hpp>
#include <ackmq/detail/client/rebalancer.hpp>
#include <ackmq/detail/separate_compilation.hpp>
#include <ackmq/detail/validators.hpp>
#include <ackmq/message.hpp>
#include <ackmq/message_selector.hpp>
#include <ackmq/status.hpp>

namespace ackmq {

template <class Broker>
class BasicSimpleConsumer;

/// A received message: everything a MessageExt has, plus the receipt handle that acks it.
///
/// Thread safety: a regular value type (thread-compatible).
template <class Body = std::string>
class BasicMessageView : public BasicMessageExt<Body> {
 public:
  /// Names this delivery of the message; changes when changeInvisibleDuration renews it.
  const std::string& getReceiptHandle() const noexcept { return receiptHandle_; }
  /// 1 on the first delivery (RocketMQ 5 deliveryAttempt = reconsumeTimes + 1).
  int getDeliveryAttempt() const noexcept { return this->getReconsumeTimes() + 1; }

 private:
  template <class>
  friend class BasicSimpleConsumer;
  std::string receiptHandle_;
};

using MessageView = BasicMessageView<>;

namespace detail {
struct ConsumerAccess;
}

/// Counters of one simple consumer.
struct SimpleConsumerStats {
  std::uint64_t received = 0;  ///< messages handed out by receive()
  std::uint64_t acked = 0;     ///< messages acked
  std::uint64_t renewed = 0;   ///< changeInvisibleDuration calls that succeeded
  std::int64_t inFlight = 0;   ///< received, neither acked nor expired
};

/// A simple consumer of one group. Several of them share the group's messages one message at a time; a
/// message in flight (received and not acked) is invisible to the group until its invisible duration ends.
///
/// @code
///   ackmq::SimpleConsumer consumer(broker, "billing");
///   consumer.subscribe("Invoices", "*");
///   consumer.start();
///   for (auto& msg : consumer.receive(16, std::chrono::seconds(30))) {
///     if (bill(msg)) consumer.ack(msg);     // unacked: delivered again in 30 s
///   }
/// @endcode
///
/// Thread safety: receive, ack and changeInvisibleDuration are thread-safe. subscribe, unsubscribe and the
/// setters: call before start().
template <class Broker>
class BasicSimpleConsumer final : private detail::ConsumerEndpoint, private detail::TimerTarget {
  using Core = detail::BrokerCore<typename Broker::body_type, typename Broker::clock_type>;

 public:
  using Body = typename Broker::body_type;
  using Clock = typename Broker::clock_type;
  using View = BasicMessageView<Body>;

  static constexpr int kMaxMessageNum = 32;  // RocketMQ PopMessage
  static constexpr std::chrono::milliseconds kMaxInvisibleDuration =
      std::chrono::hours(12);  // RocketMQ proxy

  BasicSimpleConsumer(Broker& broker, std::string consumerGroup);
  BasicSimpleConsumer(const BasicSimpleConsumer&) = delete;
  BasicSimpleConsumer& operator=(const BasicSimpleConsumer&) = delete;
  /// Runs shutdown().
  ~BasicSimpleConsumer();

  /// Subscribes to `topic` with "*" or "TagA || TagB". Call before start().
  void subscribe(std::string topic, std::string subExpression);
  /// Subscribes to `topic` with a tag or SQL92 selector, as BasicPushConsumer::subscribe; its retries are
  /// filtered alike. Call before start().
  void subscribe(std::string topic, const MessageSelector& selector);
  void unsubscribe(std::string_view topic);
  /// How long receive() waits, on the broker's clock, when nothing is ready: 0 (default) returns at once.
  void setAwaitDuration(std::chrono::milliseconds d) {
    if (d.count() < 0)
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL, "setAwaitDuration: must not be negative");
    awaitDuration_ = d;
  }
  std::chrono::milliseconds getAwaitDuration() const noexcept { return awaitDuration_; }
  const std::string& getConsumerGroup() const noexcept { return group_; }

  /// Joins the group. Throws MQClientException without a subscription, or when the group's members
  /// subscribe differently. Idempotent; a consumer that was shut down cannot start again.
  void start();

  /// Leaves the group. Messages this consumer holds stay in flight at the broker and come back to the group
  /// when their invisible duration ends. Idempotent.
  void shutdown();

  /// Up to `maxMessageNum` (1..32) messages, each invisible to the group for `invisibleDuration` (up to 12 h)
  /// unless acked. When none is ready, waits up to the await duration on the broker's clock (a ManualClock
  /// waits for another thread to advance it or send). Messages of a tag the subscription does not name are
  /// passed over.
  std::vector<View> receive(int maxMessageNum, std::chrono::milliseconds invisibleDuration);

  /// Acks one message. Throws MQBrokerException(INVALID_RECEIPT_HANDLE) when the handle expired (the message
  /// was delivered again; acking now does not undo that), was renewed, or was already used.
  void ack(const View& message);

  /// Keeps `message` invisible for `duration` from now (up to 12 h), and gives it a new receipt handle; the
  /// old handle stops working. Throws MQBrokerException(INVALID_RECEIPT_HANDLE) as ack() does.
  void changeInvisibleDuration(View& message, std::chrono::milliseconds duration);

 private:
  friend struct detail::ConsumerAccess;
  enum class State { CREATED, RUNNING, SHUT_DOWN };

  // Registers the arrival listeners of a long poll and removes them on the way out. A subscribed topic may
  // gain queues while the poll waits (created by its first send), so the poll refreshes it before each look.
  struct Listening final : detail::ArrivalListener {
    BasicSimpleConsumer& c;
    std::vector<detail::PopSource> sources;
    explicit Listening(BasicSimpleConsumer& consumer) : c(consumer) {}
    Listening(const Listening&) = delete;
    Listening& operator=(const Listening&) = delete;
    ~Listening() {
      for (const auto& src : sources)
        c.core_.unlisten(src, *this);
    }
    void refresh() {
      for (const auto& src : c.core_.popSources(c.group_, c.subscriptions_)) {
        if (std::find(sources.begin(), sources.end(), src) != sources.end()) continue;
        c.core_.listen(src, *this);
        sources.push_back(src);
      }
    }
    // ArrivalListener: waking the long polls takes a lock, so all of it waits for the follow-up.
    bool onArrival() noexcept override { return true; }
    void onArrivalFollowUp() noexcept override { c.wakeWaiters(); }
  };

  void beforeStart(std::string_view what) const { detail::requireNotStarted(state_ == State::CREATED, what); }
  void running(std::string_view what) const {
    detail::requireRunning(state_ == State::RUNNING, state_ == State::CREATED, "simple consumer", group_,
                           what);
  }
  static void checkInvisible(std::string_view field, std::chrono::milliseconds d) {
    if (d.count() <= 0 || d > kMaxInvisibleDuration) {
      detail::illegal(ResponseCode::MESSAGE_ILLEGAL,
                      std::string(field) + " " + std::to_string(d.count()) + " ms is out of range (0, 12 h]");
    }
  }
  [[noreturn]] void invalidHandle(std::string_view what) const {
    throw MQBrokerException(ResponseCode::INVALID_RECEIPT_HANDLE,
                            std::string(what) +
                                ": the receipt handle is no longer valid: the message's invisible "
                                "duration ended (it is being delivered again), or the handle was "
                                "renewed or already used");
  }

  std::vector<View> popOnce(int maxMessageNum, std::chrono::milliseconds invisible) {
    std::vector<detail::PopSource> sources = core_.popSources(group_, subscriptions_);
    if (sources.empty()) return {};
    // Fairness across queues: start at a rotating position; every fifth receive reads the retry queues
    // first (a deterministic version of RocketMQ's 20% popFromRetryProbability).
    const std::size_t firstRetry = retryStart(sources);
    const std::uint64_t turn = turns_.fetch_add(1);
    std::vector<detail::PopSource> ordered;
    ordered.reserve(sources.size());
    auto rotate = [&](std::size_t from, std::size_t to) {
      const std::size_t n = to - from;
      for (std::size_t i = 0; i < n; ++i)
        ordered.push_back(sources[from + (turn + i) % n]);
    };
    if (turn % 5 == 4) {
      rotate(firstRetry, sources.size());
      rotate(0, firstRetry);
    } else {
      rotate(0, firstRetry);
      rotate(firstRetry, sources.size());
    }
    detail::PopBuffer popped;
    core_.popMessages(group_, clientId_, ordered, maxMessageNum, invisible.count(), popped);
    std::vector<View> out(popped.size());
    for (std::size_t i = 0; i < popped.size(); ++i) {
      core_.toConsumerView(out[i], popped, i);
      out[i].receiptHandle_ = popped.takeReceiptHandle(i);
    }
    popped.release();
    received_.fetch_add(out.size(), std::memory_order_relaxed);
    return out;
  }

  std::size_t retryStart(const std::vector<detail::PopSource>& sources) const {
    for (std::size_t i = 0; i < sources.size(); ++i) {
      if (sources[i].isRetry()) return i;
    }
    return sources.size();
  }

  void wakeWaiters() noexcept {
    {
      std::lock_guard w(waitMutex_);
      ++arrivals_;
    }
    waitCv_.notify_all();
  }

  // ConsumerEndpoint: a subscribed topic gained queues; long polls look again.
  void onGroupChanged() noexcept override { wakeWaiters(); }

  // TimerTarget: a long poll's await duration ended.
  void onTimer(std::uint64_t ticket) noexcept override {
    {
      std::lock_guard w(waitMutex_);
      firedWait_ = std::max(firedWait_, ticket);
    }
    waitCv_.notify_all();
    notifyIdle();
  }

  std::int64_t inFlight() const { return static_cast<std::int64_t>(core_.popInFlight(group_, clientId_)); }

  bool awaitIdle(std::chrono::milliseconds timeout);
  void notifyIdle() noexcept {
    std::lock_guard lock(idleMutex_);
    idleCv_.notify_all();
  }

  SimpleConsumerStats stats() const;

  Core& core_;
  const std::string group_;
  std::string clientId_;
  std::map<std::string, detail::SubscriptionFilter> subscriptions_;
  std::chrono::milliseconds awaitDuration_{0};

  std::mutex lifecycle_;  // serialises start() and shutdown()
  std::atomic<State> state_{State::CREATED};
  detail::TargetHandle target_;

  std::mutex waitMutex_;  // guards arrivals_ and firedWait_
  std::condition_variable waitCv_;
  std::uint64_t arrivals_ = 0;   // bumped by arrivals, topic changes and shutdown
  std::uint64_t firedWait_ = 0;  // the highest long-poll ticket whose await duration ended
  std::atomic<std::uint64_t> nextWait_{0};
  std::atomic<std::uint64_t> turns_{0};

  std::mutex idleMutex_;
  std::condition_variable idleCv_;
  std::atomic<std::uint64_t> received_{0}, acked_{0}, renewed_{0};
};

// The members that reach into the broker, defined outside the class (see ACKMQ_DECL).
template <class Broker>
ACKMQ_DECL void BasicSimpleConsumer<Broker>::subscribe(std::string topic, std::string subExpression) {
  beforeStart("subscribe");
  detail::addSubscription(subscriptions_, std::move(topic), subExpression);
}

template <class Broker>
ACKMQ_DECL void BasicSimpleConsumer<Broker>::subscribe(std::string topic, const MessageSelector& selector) {
  beforeStart("subscribe");
  detail::addSubscription(subscriptions_, std::move(topic), selector, core_.config());
}

template <class Broker>
ACKMQ_DECL void BasicSimpleConsumer<Broker>::unsubscribe(std::string_view topic) {
  beforeStart("unsubscribe");
  if (auto it = subscriptions_.find(std::string(topic)); it != subscriptions_.end()) subscriptions_.erase(it);
}

template <class Broker>
ACKMQ_DECL void BasicSimpleConsumer<Broker>::start() {
  std::lock_guard lock(lifecycle_);
  if (state_ == State::RUNNING) return;
  if (state_ != State::CREATED) {
    detail::illegal(ResponseCode::CLIENT_STATE_ILLEGAL,
                    "simple consumer of group " + group_ + " was shut down and cannot start again");
  }
  if (subscriptions_.empty()) {
    detail::illegal(
        ResponseCode::CLIENT_STATE_ILLEGAL,
        "simple consumer of group " + group_ + " subscribes to nothing: call subscribe before start()");
  }
  target_ = core_.timers().registerTarget(*this);
  const detail::Rebalancer<Core> member(core_, group_, clientId_, MessageModel::CLUSTERING, nullptr, false);
  try {
    core_.registerConsumer(member.spec(subscriptions_, detail::ListenerKind::POP, *this), group_,
                           ConsumeFromWhere::CONSUME_FROM_LAST_OFFSET, 0);
  } catch (...) {
    core_.timers().unregisterTarget(target_);
    throw;
  }
  state_ = State::RUNNING;
}

template <class Broker>
ACKMQ_DECL void BasicSimpleConsumer<Broker>::shutdown() {
  std::lock_guard lock(lifecycle_);
  if (state_ == State::CREATED) {
    state_ = State::SHUT_DOWN;
    return;
  }
  if (state_ != State::RUNNING) return;
  state_ = State::SHUT_DOWN;
  wakeWaiters();
  core_.unregisterConsumer(group_, clientId_);
  core_.timers().unregisterTarget(target_);
}

template <class Broker>
ACKMQ_DECL auto BasicSimpleConsumer<Broker>::receive(int maxMessageNum,
                                                     std::chrono::milliseconds invisibleDuration)
    -> std::vector<View> {
  running("receive");
  if (maxMessageNum < 1 || maxMessageNum > kMaxMessageNum) {
    detail::illegal(ResponseCode::MESSAGE_ILLEGAL, "receive maxMessageNum " + std::to_string(maxMessageNum) +
                                                       " is out of range 1.." +
                                                       std::to_string(kMaxMessageNum));
  }
  checkInvisible("receive invisibleDuration", invisibleDuration);
  std::vector<View> out = popOnce(maxMessageNum, invisibleDuration);
  if (!out.empty() || awaitDuration_.count() == 0) return out;

  // Long polling: wait for an arrival in any subscribed queue, or for the await duration to pass on the
  // clock. Arrivals bump a generation; a waiter looks again whenever it moved since its last look, so no
  // arrival between a look and the wait is missed, and every waiter sees every arrival.
  const std::int64_t deadline = core_.clock().steadyMillis() + awaitDuration_.count();
  const std::uint64_t ticket = nextWait_.fetch_add(1) + 1;
  const detail::TimerId timer = core_.timers().scheduleAt(deadline, target_, ticket);
  Listening listening(*this);
  for (;;) {
    listening.refresh();
    std::uint64_t seen;
    {
      std::lock_guard w(waitMutex_);
      seen = arrivals_;
    }
    out = popOnce(maxMessageNum, invisibleDuration);
    if (!out.empty() || state_ != State::RUNNING) break;
    std::unique_lock w(waitMutex_);
    waitCv_.wait(w, [&] { return arrivals_ != seen || firedWait_ >= ticket; });
    if (arrivals_ == seen) break;  // the await duration ended with nothing new
  }
  core_.timers().cancel(timer);
  return out;
}

template <class Broker>
ACKMQ_DECL void BasicSimpleConsumer<Broker>::ack(const View& message) {
  running("ack");
  if (core_.ackMessage(group_, message.getReceiptHandle()) != ResponseCode::SUCCESS) invalidHandle("ack");
  acked_.fetch_add(1, std::memory_order_relaxed);
  notifyIdle();
}

template <class Broker>
ACKMQ_DECL void BasicSimpleConsumer<Broker>::changeInvisibleDuration(View& message,
                                                                     std::chrono::milliseconds duration) {
  running("changeInvisibleDuration");
  checkInvisible("changeInvisibleDuration duration", duration);
  auto renewed = core_.changeInvisibleTime(group_, message.receiptHandle_, duration.count());
  if (!renewed) invalidHandle("changeInvisibleDuration");
  message.receiptHandle_ = std::move(*renewed);
  renewed_.fetch_add(1, std::memory_order_relaxed);
}

template <class Broker>
ACKMQ_DECL bool BasicSimpleConsumer<Broker>::awaitIdle(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(idleMutex_);
  for (;;) {
    if (state_ != State::RUNNING || inFlight() == 0) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    // Acks wake this; expiries happen on the broker's clock, so a short slice catches those.
    idleCv_.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(10)));
  }
}

template <class Broker>
ACKMQ_DECL SimpleConsumerStats BasicSimpleConsumer<Broker>::stats() const {
  SimpleConsumerStats s;
  s.received = received_.load();
  s.acked = acked_.load();
  s.renewed = renewed_.load();
  s.inFlight = inFlight();
  return s;
}

template <class Broker>
ACKMQ_DECL BasicSimpleConsumer<Broker>::BasicSimpleConsumer(Broker& broker, std::string consumerGroup)
    : core_(detail::BrokerAccess::core(broker)), group_(std::move(consumerGroup)) {
  detail::checkGroup(group_, "consumerGroup");
  clientId_ = detail::defaultInstanceName("simple-");
}

template <class Broker>
ACKMQ_DECL BasicSimpleConsumer<Broker>::~BasicSimpleConsumer() {
  shutdown();
}

using SimpleConsumer = BasicSimpleConsumer<Broker>;

#if defined(ACKMQ_SEPARATE_COMPILATION)
extern template class BasicSimpleConsumer<BasicBroker<std::string, SystemClock>>;
extern template class BasicSimpleConsumer<BasicBroker<std::string, ManualClock>>;
#endif

}  // namespace ackmq
