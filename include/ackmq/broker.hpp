#pragma once
// ackmq: the broker. It owns the CommitLog, the consume queues, the offset table and the timer wheel that
// every producer and consumer of one process share.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ackmq/broker_config.hpp>
#include <ackmq/clock.hpp>
#include <ackmq/detail/broker/broker_core.hpp>
#include <ackmq/detail/separate_compilation.hpp>
#include <ackmq/fwd.hpp>
#include <ackmq/message.hpp>
#include <ackmq/status.hpp>
#include <ackmq/store_recovery.hpp>

namespace ackmq {

/// An in-process RocketMQ broker.
///
/// A message is stored in the CommitLog and indexed in its queue before send() returns, and is visible to
/// consumers from that moment (RocketMQ dispatches asynchronously; here there is nothing to wait for). A
/// message with a delay level or deliver time is parked in SCHEDULE_TOPIC_XXXX and re-put into its queue when
/// due, on the broker's clock. Memory is bounded by BrokerConfig::maxStoreBytes, and messages every group has
/// consumed take no more than BrokerConfig::maxConsumedHistoryBytes of it.
///
/// With SystemClock the broker owns one timer thread; with ManualClock it owns none, and
/// ManualClock::advance() runs its timers.
///
/// @code
///   ackmq::Broker broker;                                   // SystemClock
///   ackmq::ManualClock clock;
///   ackmq::testing::ManualBroker testBroker(clock, {.defaultTopicQueueNums = 8});
/// @endcode
///
/// The broker must outlive every producer and consumer attached to it.
///
/// Thread safety: thread-safe.
template <class Body, class Clock>
class BasicBroker {
 public:
  using body_type = Body;
  using clock_type = Clock;
  using Message = BasicMessage<Body>;
  using MessageExt = BasicMessageExt<Body>;

  /// A broker on the system clock. Throws MQClientException if `config` breaks a rule (the message names
  /// the field).
  explicit BasicBroker(BrokerConfig config = {}) requires(!Clock::isManual);
  /// A broker on `clock` (a ManualClock in tests), which must outlive it.
  explicit BasicBroker(Clock& clock, BrokerConfig config = {});
  /// A durable broker whose files go through `files` (testing::SimulatedFileSystem, for power cuts and
  /// I/O errors), which must outlive it.
  BasicBroker(Clock& clock, BrokerConfig config, detail::FileSystem& files);

  BasicBroker(const BasicBroker&) = delete;
  BasicBroker& operator=(const BasicBroker&) = delete;
  /// Runs shutdown().
  ~BasicBroker();

  /// Creates `topic` with `queueNums` queues (1..1024), or grows an existing topic to that many; never
  /// shrinks one. Idempotent. Throws MQClientException for an illegal or system topic name.
  void createTopic(std::string_view topic, int queueNums);

  /// Every queue of `topic`. Throws MQClientException(NOT_FOUND_TOPIC_EXCEPTION) if it does not exist.
  std::vector<MessageQueue> fetchSubscribeMessageQueues(std::string_view topic) const;

  /// The lowest offset still stored in the queue (rises as memory is reclaimed); 0 for an unknown queue.
  std::int64_t minOffset(const MessageQueue& mq) const;
  /// The offset the next message of the queue will get; 0 for an unknown queue.
  std::int64_t maxOffset(const MessageQueue& mq) const;
  /// The first offset of the queue stored at or after `timestamp` (ms since the epoch); maxOffset if none.
  std::int64_t searchOffset(const MessageQueue& mq, std::int64_t timestamp) const;
  /// The group's committed offset for the queue: the next offset it will consume. -1 when it has none.
  std::int64_t queryConsumerOffset(std::string_view group, const MessageQueue& mq) const;

  /// Sets the group's committed offset of the queue: the next offset the group will consume (RocketMQ
  /// UPDATE_CONSUMER_OFFSET; overwrites, backwards included). Throws MQClientException for an unknown queue
  /// or a negative offset.
  void updateConsumerOffset(std::string_view group, const MessageQueue& mq, std::int64_t offset);

  /// The message with this id. An offset id (SendResult::getOffsetMsgId, MessageExt::getOffsetMsgId) names
  /// one physical copy; a msgId (UNIQ_KEY) finds the newest retained copy (the dead-letter copy of a message
  /// that went there, say). nullopt when nothing matches: never stored, or reclaimed. Once every group has
  /// consumed a message it is kept only as history, up to BrokerConfig::maxConsumedHistoryBytes and
  /// fileReservedTime; a message older than broker.minOffset(queue) is gone for good.
  std::optional<MessageExt> viewMessage(std::string_view msgId) const;

  /// Up to `maxNum` retained messages of `topic` that carry `key` among their keys, oldest first.
  std::vector<MessageExt> queryMessage(std::string_view topic, std::string_view key, int maxNum) const;

  /// Stops the timer thread and refuses new sends (SERVICE_NOT_AVAILABLE). Everything stored stays stored
  /// and readable, pending delayed messages included. Idempotent; the destructor runs it.
  void shutdown();

  /// What opening the durable store found and did: a clean or crashed last run, the messages put back, the
  /// bytes of a damaged tail cut. durable == false for an in-memory broker.
  const StoreRecovery& getRecoveryReport() const noexcept { return core_.recovery(); }
  const BrokerConfig& getConfig() const noexcept { return core_.config(); }
  const std::string& getBrokerName() const noexcept { return core_.brokerName(); }
  Clock& getClock() const noexcept { return core_.clock(); }

 private:
  friend struct detail::BrokerAccess;

  static Clock& systemClock() {
    static Clock clock;
    return clock;
  }

  mutable detail::BrokerCore<Body, Clock> core_;
};

// The members that reach into the broker, defined outside the class (see ACKMQ_DECL).
template <class Body, class Clock>
ACKMQ_DECL void BasicBroker<Body, Clock>::createTopic(std::string_view topic, int queueNums) {
  core_.createTopic(topic, queueNums);
}

template <class Body, class Clock>
ACKMQ_DECL std::vector<MessageQueue> BasicBroker<Body, Clock>::fetchSubscribeMessageQueues(
    std::string_view topic) const {
  return core_.queuesOf(topic);
}

template <class Body, class Clock>
ACKMQ_DECL std::int64_t BasicBroker<Body, Clock>::minOffset(const MessageQueue& mq) const {
  return core_.minOffset(mq);
}

template <class Body, class Clock>
ACKMQ_DECL std::int64_t BasicBroker<Body, Clock>::maxOffset(const MessageQueue& mq) const {
  return core_.maxOffset(mq);
}

template <class Body, class Clock>
ACKMQ_DECL std::int64_t BasicBroker<Body, Clock>::searchOffset(const MessageQueue& mq,
                                                               std::int64_t timestamp) const {
  return core_.searchOffset(mq, timestamp);
}

template <class Body, class Clock>
ACKMQ_DECL std::int64_t BasicBroker<Body, Clock>::queryConsumerOffset(std::string_view group,
                                                                      const MessageQueue& mq) const {
  return core_.queryConsumerOffset(group, mq);
}

template <class Body, class Clock>
ACKMQ_DECL void BasicBroker<Body, Clock>::updateConsumerOffset(std::string_view group, const MessageQueue& mq,
                                                               std::int64_t offset) {
  core_.updateConsumerOffset(group, mq, offset);
}

template <class Body, class Clock>
ACKMQ_DECL auto BasicBroker<Body, Clock>::viewMessage(std::string_view msgId) const
    -> std::optional<MessageExt> {
  return core_.viewMessage(msgId);
}

template <class Body, class Clock>
ACKMQ_DECL auto BasicBroker<Body, Clock>::queryMessage(std::string_view topic, std::string_view key,
                                                       int maxNum) const -> std::vector<MessageExt> {
  return core_.queryMessage(topic, key, maxNum);
}

template <class Body, class Clock>
ACKMQ_DECL void BasicBroker<Body, Clock>::shutdown() {
  core_.shutdown();
}

template <class Body, class Clock>
ACKMQ_DECL BasicBroker<Body, Clock>::BasicBroker(BrokerConfig config) requires(!Clock::isManual)
    : core_(systemClock(), std::move(config)) {}

template <class Body, class Clock>
ACKMQ_DECL BasicBroker<Body, Clock>::BasicBroker(Clock& clock, BrokerConfig config)
    : core_(clock, std::move(config)) {}

template <class Body, class Clock>
ACKMQ_DECL BasicBroker<Body, Clock>::BasicBroker(Clock& clock, BrokerConfig config, detail::FileSystem& files)
    : core_(clock, std::move(config), &files) {}
template <class Body, class Clock>
ACKMQ_DECL BasicBroker<Body, Clock>::~BasicBroker() = default;

using Broker = BasicBroker<>;

#if defined(ACKMQ_SEPARATE_COMPILATION)
extern template class BasicBroker<std::string, SystemClock>;
extern template class BasicBroker<std::string, ManualClock>;
#endif

namespace detail {
/// How clients and the test helpers reach a broker's core (the narrow interface).
struct BrokerAccess {
  template <class Body, class Clock>
  static BrokerCore<Body, Clock>& core(BasicBroker<Body, Clock>& broker) noexcept {
    return broker.core_;
  }
  template <class Body, class Clock>
  static BrokerCore<Body, Clock>& core(const BasicBroker<Body, Clock>& broker) noexcept {
    return broker.core_;
  }
};
}  // namespace detail

}  // namespace ackmq
