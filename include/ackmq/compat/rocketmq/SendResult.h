#pragma once
// rocketmq-client-cpp compatibility (ackmq): what a confirmed send returns. getMsgId() equals the
// consumer's MQMessageExt::getMsgId() for the same message.

#include <string>

#include <ackmq/status.hpp>

#include "MQMessageQueue.h"
#include "RocketMQClient.h"

namespace rocketmq {

/// Every status but SEND_OK still means the message was stored; only its durability was not confirmed.
enum SendStatus { SEND_OK, SEND_FLUSH_DISK_TIMEOUT, SEND_FLUSH_SLAVE_TIMEOUT, SEND_SLAVE_NOT_AVAILABLE };

/// Thread safety: a regular value type (thread-compatible).
class ROCKETMQCLIENT_API SendResult {
 public:
  SendResult() : m_sendStatus(SEND_OK), m_queueOffset(0), m_traceOn(false) {}
  SendResult(const SendStatus& sendStatus, const std::string& msgId, const std::string& offsetMsgId,
             const MQMessageQueue& messageQueue, int64 queueOffset)
      : SendResult(sendStatus, msgId, offsetMsgId, messageQueue, queueOffset, "DefaultRegion", false) {}
  SendResult(const SendStatus& sendStatus, const std::string& msgId, const std::string& offsetMsgId,
             const MQMessageQueue& messageQueue, int64 queueOffset, const std::string& regionId,
             const bool traceOn)
      : m_sendStatus(sendStatus),
        m_msgId(msgId),
        m_offsetMsgId(offsetMsgId),
        m_messageQueue(messageQueue),
        m_queueOffset(queueOffset),
        m_regionId(regionId),
        m_traceOn(traceOn) {}
  virtual ~SendResult() {}
  SendResult(const SendResult& other) = default;
  SendResult& operator=(const SendResult& other) = default;

  void setTransactionId(const std::string& id) { m_transactionId = id; }
  std::string getTransactionId() { return m_transactionId; }
  /// The message's id (UNIQ_KEY); for a batch, every message's id joined with commas.
  const std::string& getMsgId() const { return m_msgId; }
  /// The stored copy's id.
  const std::string& getOffsetMsgId() const { return m_offsetMsgId; }
  const std::string& getRegionId() const { return m_regionId; }
  void setRegionId(const std::string& regionId) { m_regionId = regionId; }
  SendStatus getSendStatus() const { return m_sendStatus; }
  MQMessageQueue getMessageQueue() const { return m_messageQueue; }
  int64 getQueueOffset() const { return m_queueOffset; }
  bool getTraceOn() const { return m_traceOn; }

  std::string toString() const {
    static const char* const kStatus[] = {"SEND_OK", "SEND_FLUSH_DISK_TIMEOUT", "SEND_FLUSH_SLAVE_TIMEOUT",
                                          "SEND_SLAVE_NOT_AVAILABLE"};
    return "SendResult: sendStatus:" + std::string(kStatus[m_sendStatus]) + " msgId:" + m_msgId +
           " offsetMsgId:" + m_offsetMsgId + " queueOffset:" + std::to_string(m_queueOffset) +
           " transactionId:" + m_transactionId + " messageQueue:" + m_messageQueue.toString();
  }

 private:
  SendStatus m_sendStatus;
  std::string m_msgId;
  std::string m_offsetMsgId;
  MQMessageQueue m_messageQueue;
  int64 m_queueOffset;
  std::string m_transactionId;
  std::string m_regionId;
  bool m_traceOn;
};

}  // namespace rocketmq

namespace ackmq::compat::detail {

inline rocketmq::SendStatus fromNative(ackmq::SendStatus status) noexcept {
  switch (status) {
    case ackmq::SendStatus::SEND_OK:
      return rocketmq::SEND_OK;
    case ackmq::SendStatus::FLUSH_DISK_TIMEOUT:
      return rocketmq::SEND_FLUSH_DISK_TIMEOUT;
    case ackmq::SendStatus::FLUSH_SLAVE_TIMEOUT:
      return rocketmq::SEND_FLUSH_SLAVE_TIMEOUT;
    case ackmq::SendStatus::SLAVE_NOT_AVAILABLE:
      return rocketmq::SEND_SLAVE_NOT_AVAILABLE;
  }
  return rocketmq::SEND_OK;
}

inline rocketmq::SendResult fromNative(const ackmq::SendResult& r) {
  return rocketmq::SendResult(fromNative(r.getSendStatus()), r.getMsgId(), r.getOffsetMsgId(),
                              fromNative(r.getMessageQueue()), r.getQueueOffset(),
                              std::string(r.getRegionId()), false);
}

}  // namespace ackmq::compat::detail
