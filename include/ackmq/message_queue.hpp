#pragma once
// ackmq: MessageQueue, the address of one queue of a topic on one broker.

#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace ackmq {

/// One queue of a topic on one broker: RocketMQ's MessageQueue. Ordered by (topic, brokerName, queueId) and
/// hashable, so it can key a std::map or a std::unordered_map.
///
/// Thread safety: a regular value type (thread-compatible).
struct MessageQueue {
  std::string topic;
  std::string brokerName;
  int queueId = 0;

  MessageQueue() = default;
  MessageQueue(std::string topicName, std::string broker, int id)
      : topic(std::move(topicName)), brokerName(std::move(broker)), queueId(id) {}

  const std::string& getTopic() const noexcept { return topic; }
  const std::string& getBrokerName() const noexcept { return brokerName; }
  int getQueueId() const noexcept { return queueId; }
  void setTopic(std::string t) { topic = std::move(t); }
  void setBrokerName(std::string b) { brokerName = std::move(b); }
  void setQueueId(int id) noexcept { queueId = id; }

  /// "MessageQueue [topic=T, brokerName=B, queueId=N]", as RocketMQ prints it.
  std::string toString() const {
    return "MessageQueue [topic=" + topic + ", brokerName=" + brokerName +
           ", queueId=" + std::to_string(queueId) + "]";
  }

  friend bool operator==(const MessageQueue&, const MessageQueue&) = default;
  friend std::strong_ordering operator<=>(const MessageQueue& a, const MessageQueue& b) {
    if (auto c = a.topic <=> b.topic; c != 0) return c;
    if (auto c = a.brokerName <=> b.brokerName; c != 0) return c;
    return a.queueId <=> b.queueId;
  }
};

}  // namespace ackmq

template <>
struct std::hash<ackmq::MessageQueue> {
  std::size_t operator()(const ackmq::MessageQueue& mq) const noexcept {
    std::size_t h = std::hash<std::string_view>{}(mq.topic);
    h ^= std::hash<std::string_view>{}(mq.brokerName) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= std::hash<int>{}(mq.queueId) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
  }
};
