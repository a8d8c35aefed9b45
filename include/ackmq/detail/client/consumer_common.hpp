#pragma once
// ackmq internals: what the three consumer kinds (push, simple, lite pull) check and name alike.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <ackmq/broker_config.hpp>
#include <ackmq/detail/broker/client_api.hpp>
#include <ackmq/detail/platform.hpp>
#include <ackmq/detail/validators.hpp>
#include <ackmq/message.hpp>
#include <ackmq/message_queue.hpp>
#include <ackmq/message_selector.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

/// A member name unique in this process: "<kind><pid>#<sequence>" (RocketMQ's default instance name is the
/// pid; the sequence tells apart several consumers of one process).
inline std::string defaultInstanceName(std::string_view kind) {
  static std::atomic<std::uint64_t> instances{0};
  return std::string(kind) + std::to_string(processId()) + "#" + std::to_string(instances.fetch_add(1));
}

/// Adds or replaces the subscription to `topic` with "*" or "TagA || TagB". A DLQ topic may be subscribed
/// to (to drain it); other topics must be legal names.
inline void addSubscription(std::map<std::string, SubscriptionFilter>& subscriptions, std::string topic,
                            std::string_view subExpression) {
  if (!MixAll::isDLQTopic(topic)) checkTopic(topic, "subscribe topic");
  subscriptions.insert_or_assign(std::move(topic), SubscriptionFilter::byTag(subExpression));
}

/// Adds or replaces the subscription to `topic` with a selector: a tag expression as above, or a SQL92
/// expression, compiled here so that a malformed one is refused at subscribe, with its position. SQL92
/// needs the broker's enablePropertyFilter (RocketMQ ClientManageProcessor.checkClientConfig refuses it
/// otherwise).
inline void addSubscription(std::map<std::string, SubscriptionFilter>& subscriptions, std::string topic,
                            const MessageSelector& selector, const BrokerConfig& broker) {
  if (selector.getExpressionType() == ExpressionType::TAG) {
    addSubscription(subscriptions, std::move(topic), selector.getExpression());
    return;
  }
  if (!MixAll::isDLQTopic(topic)) checkTopic(topic, "subscribe topic");
  if (!broker.enablePropertyFilter) {
    illegal(ResponseCode::SYSTEM_ERROR,
            "subscribe to " + topic +
                " with SQL92: the broker does not support filtering messages by SQL92 "
                "(BrokerConfig::enablePropertyFilter is false); subscribe by tag, or enable it");
  }
  subscriptions.insert_or_assign(std::move(topic), SubscriptionFilter::bySql(selector.getExpression()));
}

/// Setters and subscriptions are for before start().
inline void requireNotStarted(bool created, std::string_view what) {
  if (!created) illegal(ResponseCode::CLIENT_STATE_ILLEGAL, std::string(what) + ": call it before start()");
}

/// Consuming calls are for a started consumer that is not shut down.
inline void requireRunning(bool running, bool created, std::string_view consumerKind,
                           const std::string& group, std::string_view what) {
  if (running) return;
  illegal(ResponseCode::CLIENT_STATE_ILLEGAL, std::string(what) + ": the " + std::string(consumerKind) +
                                                  " of group " + group +
                                                  (created ? " is not started" : " is shut down"));
}

/// How <ackmq/testing.hpp> reaches a consumer's state (each consumer kind befriends it).
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

}  // namespace ackmq::detail
