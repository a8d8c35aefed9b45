#pragma once
// ackmq: test support. Fault injection, inspection of what the broker holds, and the ManualClock aliases,
// so that application code written against ackmq (or against RocketMQ) can be tested without sleeps.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ackmq/broker.hpp>
#include <ackmq/clock.hpp>
#include <ackmq/message.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/status.hpp>

namespace ackmq::testing {

/// A broker whose time moves only when a ManualClock is advanced.
using ManualBroker = BasicBroker<std::string, ManualClock>;
using ManualProducer = BasicProducer<ManualBroker>;

using StoreStats = detail::StoreStats;

// ------------------------------------------------------------------------------------------ fault injection

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

/// The next `n` consumer send-backs (a failed message going to %RETRY%<group>) fail, so the consumer's
/// fallback paths run.
template <class Body, class Clock>
void failNextSendBacks(BasicBroker<Body, Clock>& broker, int n) {
  detail::BrokerAccess::core(broker).faults().failNextSendBacks(n);
}

// ------------------------------------------------------------------------------------------ inspection

/// Every retained message of `topic` (%RETRY%<group>, %DLQ%<group> and SCHEDULE_TOPIC_XXXX included), queue
/// by queue, in queue order, as stored (a retry copy shows its retry topic).
template <class Body, class Clock>
std::vector<BasicMessageExt<Body>> topicMessages(const BasicBroker<Body, Clock>& broker,
                                                 std::string_view topic) {
  return detail::BrokerAccess::core(broker).topicMessages(topic);
}

/// The store's counters: bytes and segments held, messages stored, segments reclaimed, messages dropped.
template <class Body, class Clock>
StoreStats storeStats(const BasicBroker<Body, Clock>& broker) {
  return detail::BrokerAccess::core(broker).storeStats();
}

}  // namespace ackmq::testing
