#pragma once
// ackmq: test support. Fault injection, inspection of what the broker holds, and the ManualClock aliases,
// so that application code written against ackmq (or against RocketMQ) can be tested without sleeps.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <ackmq/broker.hpp>
#include <ackmq/clock.hpp>
#include <ackmq/detail/durable/simulated_file_system.hpp>
#include <ackmq/lite_pull_consumer.hpp>
#include <ackmq/message.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/push_consumer.hpp>
#include <ackmq/simple_consumer.hpp>
#include <ackmq/status.hpp>
#include <ackmq/transaction_producer.hpp>

namespace ackmq::testing {

/// A broker whose time moves only when a ManualClock is advanced.
using ManualBroker = BasicBroker<std::string, ManualClock>;
using ManualProducer = BasicProducer<ManualBroker>;
using ManualPushConsumer = BasicPushConsumer<ManualBroker>;
using ManualSimpleConsumer = BasicSimpleConsumer<ManualBroker>;
using ManualLitePullConsumer = BasicLitePullConsumer<ManualBroker>;
using ManualTransactionMQProducer = BasicTransactionMQProducer<ManualBroker>;

using StoreStats = detail::StoreStats;
/// The file system of a durable broker's files, and one in memory that simulates power cuts, failed
/// writes and flushes, and a slow disk (see BasicBroker's constructor that takes one).
using FileSystem = detail::FileSystem;
using SimulatedFileSystem = detail::SimulatedFileSystem;
using ReplyStats = detail::ReplyStats;
using PendingTransaction = detail::PendingTransaction;
using TransactionStats = detail::TransactionStats;

// ------------------------------------------------------------------------------------------ fault injection

/// Ends a durable broker's store as a killed process would: no last flush, no offsets written, no clean
/// shutdown recorded; the broker refuses sends from now on. With SimulatedFileSystem::powerCut, a crash of
/// the machine. The next broker on the directory recovers as after a crash.
template <class Body, class Clock>
void abandonStore(BasicBroker<Body, Clock>& broker) {
  auto& core = detail::BrokerAccess::core(broker);
  if (auto* durable = core.durable()) durable->abandon();
  core.shutdown();
}

/// The flushes a durable broker's CommitLog has run.
template <class Body, class Clock>
std::uint64_t commitLogFlushes(BasicBroker<Body, Clock>& broker) {
  auto* durable = detail::BrokerAccess::core(broker).durable();
  return durable == nullptr ? 0 : durable->flushes();
}

/// The next `n` send requests fail with `code` and store nothing, as if the broker had refused them
/// (RocketMQ retries SYSTEM_BUSY, SYSTEM_ERROR, ... on sync sends; async sends do not retry broker codes).
template <class Body, class Clock>
void failNextSends(BasicBroker<Body, Clock>& broker, int n, ResponseCode code) {
  detail::BrokerAccess::core(broker).faults().failNextSends(n, code);
}

/// The next `n` send requests store their message but answer with `status` (FLUSH_DISK_TIMEOUT, ...).
template <class Body, class Clock>
void failNextSends(BasicBroker<Body, Clock>& broker, int n, SendStatus status) {
  detail::BrokerAccess::core(broker).faults().degradeNextSends(n, status);
}

/// The next `n` send requests are lost before they reach the broker (a transport failure): nothing is
/// stored; sync and async sends retry them.
template <class Body, class Clock>
void loseNextSends(BasicBroker<Body, Clock>& broker, int n) {
  detail::BrokerAccess::core(broker).faults().loseNextSends(n);
}

/// The next `n` send requests take `d` before the broker handles them: a ManualClock advances by `d` (on the
/// sending thread), a SystemClock sleeps. For testing the sendMsgTimeout budget.
template <class Body, class Clock>
void slowNextSends(BasicBroker<Body, Clock>& broker, int n, std::chrono::milliseconds d) {
  detail::BrokerAccess::core(broker).faults().slowNextSends(n, d.count());
}

/// The next `n` consumer send-backs fail, and so does the fallback retry message the consumer sends for each:
/// the failed message stays with the consumer and is consumed again locally after 5 s on the broker's clock
/// (RocketMQ ConsumeMessageConcurrentlyService.submitConsumeRequestLater).
template <class Body, class Clock>
void failNextSendBacks(BasicBroker<Body, Clock>& broker, int n) {
  detail::BrokerAccess::core(broker).faults().failNextSendBacks(n, true);
}

/// The next `n` consumer send-backs (CONSUMER_SEND_MSG_BACK) fail, but not the fallback: the consumer then
/// sends its own copy to %RETRY%<group> as a normal message, at the delay level the listener chose.
template <class Body, class Clock>
void failNextSendBackRequests(BasicBroker<Body, Clock>& broker, int n) {
  detail::BrokerAccess::core(broker).faults().failNextSendBacks(n, false);
}

/// While `stalled`, pulls from `mq` find nothing, as if the broker could not serve the queue.
template <class Body, class Clock>
void stallQueue(BasicBroker<Body, Clock>& broker, const MessageQueue& mq, bool stalled = true) {
  detail::BrokerAccess::core(broker).stallQueue(mq, stalled);
}

// ------------------------------------------------------------------------------------------ inspection

/// Every retained message of `topic` (%RETRY%<group>, %DLQ%<group> and SCHEDULE_TOPIC_XXXX included), queue
/// by queue, in queue order, as stored (a retry copy shows its retry topic).
template <class Body, class Clock>
std::vector<BasicMessageExt<Body>> topicMessages(const BasicBroker<Body, Clock>& broker,
                                                 std::string_view topic) {
  return detail::BrokerAccess::core(broker).topicMessages(topic);
}

/// A group's committed offsets, by queue (a broadcasting group keeps its offsets per member: use the
/// consumer overload).
template <class Body, class Clock>
std::map<MessageQueue, std::int64_t> committedOffsets(const BasicBroker<Body, Clock>& broker,
                                                      std::string_view group) {
  std::map<MessageQueue, std::int64_t> out;
  const auto& core = detail::BrokerAccess::core(broker);
  for (const auto& [key, offset] : core.committedOffsets(group)) {
    out.emplace(MessageQueue(key.first, core.brokerName(), key.second), offset);
  }
  return out;
}

/// The offsets a consumer commits: its group's, or, for a broadcasting member, its own.
template <class Consumer>
std::map<MessageQueue, std::int64_t> committedOffsets(const Consumer& consumer) {
  return detail::ConsumerAccess::committedOffsets(consumer);
}

/// Waits until nothing is deliverable or in flight for `consumer`, and every consume result is fully
/// processed (retry copies stored, offsets committed, no rebalance pending). Messages due in the future (a
/// delayed retry on a ManualClock) do not count. True once idle; false if `timeout` (real time) passes first.
template <class Consumer>
bool awaitIdle(Consumer& consumer, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  return detail::ConsumerAccess::awaitIdle(consumer, timeout);
}

/// Waits until every check-back the broker has asked of `producer` has been answered (or dropped by its
/// shutdown): on a ManualClock, an advance that scans asks its checks before it returns, and this waits
/// for their answers. True once done; false if `timeout` (real time) passes first.
template <class Broker>
bool awaitIdle(BasicTransactionMQProducer<Broker>& producer,
               std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  return detail::TransactionProducerAccess<Broker>::awaitChecks(producer, timeout);
}

/// Moves `clock` forward by `d` one timer at a time, letting the consumers settle (awaitIdle) after each, so
/// that what comes due is consumed at the time it comes due and not while the clock races ahead (a message
/// re-delivered at +10 s and still in its listener when a 2 h jump reaches its consume timeout would
/// otherwise expire). `settle()` returns false when the consumers did not settle; so does this.
template <class Settle>
requires std::is_invocable_r_v<bool, Settle&>
bool advanceAndSettle(ManualClock& clock, std::chrono::milliseconds d, Settle&& settle) {
  const std::int64_t target = clock.nowMillis() + d.count();
  if (!settle()) return false;
  while (clock.advanceToNextTimer(target)) {
    if (!settle()) return false;
  }
  return settle();
}

/// advanceAndSettle for a list of consumers, each awaited with awaitIdle.
template <class... Consumers>
requires(sizeof...(Consumers) > 0 && (!std::is_invocable_v<Consumers&> && ...)) bool advanceAndSettle(
    ManualClock& clock, std::chrono::milliseconds d, Consumers&... consumers) {
  return advanceAndSettle(clock, d, [&] { return (awaitIdle(consumers) && ...); });
}

/// A consumer's counters: delivered, succeeded, failed, retried, dead-lettered, in flight, lag, ...
template <class Consumer>
auto consumerStats(const Consumer& consumer) {
  return detail::ConsumerAccess::stats(consumer);
}

/// The queues a consumer currently owns.
template <class Consumer>
std::vector<MessageQueue> ownedQueues(const Consumer& consumer) {
  return detail::ConsumerAccess::ownedQueues(consumer);
}

/// The member holding `mq`'s orderly lock in `group` (its instance name), or "" when nobody does.
template <class Body, class Clock>
std::string queueLockHolder(const BasicBroker<Body, Clock>& broker, std::string_view group,
                            const MessageQueue& mq) {
  return detail::BrokerAccess::core(broker).groups().lockHolder(group, mq);
}

/// The unresolved transactional messages of producer group `group`, oldest first, with the check-backs each
/// has been asked.
template <class Body, class Clock>
std::vector<PendingTransaction> pendingTransactions(const BasicBroker<Body, Clock>& broker,
                                                    std::string_view group) {
  return detail::BrokerAccess::core(broker).transactions().pending(group);
}

/// The broker's transaction counters: pending, prepared, committed, rolled back, checks asked, discarded.
template <class Body, class Clock>
TransactionStats transactionStats(const BasicBroker<Body, Clock>& broker) {
  return detail::BrokerAccess::core(broker).transactions().stats();
}

/// The store's counters: bytes and segments held (consumed history apart from backlog), messages stored,
/// segments reclaimed, messages dropped.
template <class Body, class Clock>
StoreStats storeStats(const BasicBroker<Body, Clock>& broker) {
  return detail::BrokerAccess::core(broker).storeStats();
}

/// What became of the replies sent to the broker: handed to a waiting request (delivered), dropped because
/// no request waited any more (late: it timed out or was answered), or dropped because no running producer
/// has the reply's REPLY_TO_CLIENT id (noRequester). Replies are never stored.
template <class Body, class Clock>
ReplyStats replyStats(const BasicBroker<Body, Clock>& broker) {
  return detail::BrokerAccess::core(broker).replies().stats();
}

/// Requests of `producer` waiting for their replies.
template <class Broker>
std::size_t pendingRequests(const BasicProducer<Broker>& producer) {
  return detail::ProducerAccess::pendingRequests(producer);
}

}  // namespace ackmq::testing
