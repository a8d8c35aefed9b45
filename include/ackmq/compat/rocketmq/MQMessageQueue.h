#pragma once
// rocketmq-client-cpp compatibility (ackmq): one queue of a topic on one broker.

#include <string>
#include <utility>
#include <vector>

#include <ackmq/message_queue.hpp>

#include "RocketMQClient.h"

namespace rocketmq {

/// Ordered by (topic, brokerName, queueId), so it can key a std::map.
///
/// Thread safety: a regular value type (thread-compatible).
class ROCKETMQCLIENT_API MQMessageQueue {
 public:
  MQMessageQueue() : m_queueId(-1) {}
  MQMessageQueue(const std::string& topic, const std::string& brokerName, int queueId)
      : m_topic(topic), m_brokerName(brokerName), m_queueId(queueId) {}
  MQMessageQueue(const MQMessageQueue& other) = default;
  MQMessageQueue& operator=(const MQMessageQueue& other) = default;

  std::string getTopic() const { return m_topic; }
  void setTopic(const std::string& topic) { m_topic = topic; }
  std::string getBrokerName() const { return m_brokerName; }
  void setBrokerName(const std::string& brokerName) { m_brokerName = brokerName; }
  int getQueueId() const { return m_queueId; }
  void setQueueId(int queueId) { m_queueId = queueId; }

  bool operator==(const MQMessageQueue& mq) const { return compareTo(mq) == 0; }
  bool operator<(const MQMessageQueue& mq) const { return compareTo(mq) < 0; }
  /// Negative, zero or positive as this queue sorts before, with or after `mq`.
  int compareTo(const MQMessageQueue& mq) const {
    if (int c = m_topic.compare(mq.m_topic); c != 0) return c;
    if (int c = m_brokerName.compare(mq.m_brokerName); c != 0) return c;
    return m_queueId - mq.m_queueId;
  }

  const std::string toString() const {
    return "MessageQueue [topic=" + m_topic + ", brokerName=" + m_brokerName +
           ", queueId=" + std::to_string(m_queueId) + "]";
  }

 private:
  std::string m_topic;
  std::string m_brokerName;
  int m_queueId;
};

}  // namespace rocketmq

namespace ackmq::compat::detail {

inline rocketmq::MQMessageQueue fromNative(const ackmq::MessageQueue& mq) {
  return rocketmq::MQMessageQueue(mq.topic, mq.brokerName, mq.queueId);
}
inline ackmq::MessageQueue toNative(const rocketmq::MQMessageQueue& mq) {
  return ackmq::MessageQueue(mq.getTopic(), mq.getBrokerName(), mq.getQueueId());
}
inline std::vector<rocketmq::MQMessageQueue> fromNative(const std::vector<ackmq::MessageQueue>& mqs) {
  std::vector<rocketmq::MQMessageQueue> out;
  out.reserve(mqs.size());
  for (const auto& mq : mqs)
    out.push_back(fromNative(mq));
  return out;
}

}  // namespace ackmq::compat::detail
