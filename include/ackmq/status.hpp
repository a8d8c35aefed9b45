#pragma once
// ackmq: outcomes and errors. SendStatus and SendResult are what a send confirms; ResponseCode and the
// MQException family are how the broker and the clients refuse.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ackmq/detail/message_id.hpp>
#include <ackmq/message_queue.hpp>

namespace ackmq {

/// RocketMQ's SendStatus. Every value but SEND_OK still means the message was stored; only its durability
/// was not confirmed (RocketMQ SendMessageProcessor.handlePutMessageResult). ackmq never produces the
/// non-OK values by itself (it keeps nothing on disk and has no replicas); tests inject them
/// (<ackmq/testing.hpp>) to exercise application code that handles them.
enum class SendStatus { SEND_OK, FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE };

/// RocketMQ's remoting response codes (org.apache.rocketmq.remoting.protocol.ResponseCode), the client error
/// codes of ClientErrorCode, and the gRPC-era INVALID_RECEIPT_HANDLE, with RocketMQ's numbers.
enum class ResponseCode : int {
  CLIENT_STATE_ILLEGAL = -1,  ///< the client is not started, or already shut down
  SUCCESS = 0,
  SYSTEM_ERROR = 1,
  SYSTEM_BUSY = 2,
  REQUEST_CODE_NOT_SUPPORTED = 3,
  FLUSH_DISK_TIMEOUT = 10,
  SLAVE_NOT_AVAILABLE = 11,
  FLUSH_SLAVE_TIMEOUT = 12,
  MESSAGE_ILLEGAL = 13,
  SERVICE_NOT_AVAILABLE = 14,
  VERSION_NOT_SUPPORTED = 15,
  NO_PERMISSION = 16,
  TOPIC_NOT_EXIST = 17,
  TOPIC_EXIST_ALREADY = 18,
  PULL_NOT_FOUND = 19,
  PULL_RETRY_IMMEDIATELY = 20,
  PULL_OFFSET_MOVED = 21,
  QUERY_NOT_FOUND = 22,
  SUBSCRIPTION_PARSE_FAILED = 23,
  SUBSCRIPTION_NOT_EXIST = 24,
  SUBSCRIPTION_NOT_LATEST = 25,
  SUBSCRIPTION_GROUP_NOT_EXIST = 26,
  NO_BUYER_ID = 204,
  NOT_IN_CURRENT_UNIT = 205,
  CONSUMER_NOT_ONLINE = 206,
  CONSUME_MSG_TIMEOUT = 207,
  NO_MESSAGE = 208,
  GO_AWAY = 1500,
  CONNECT_BROKER_EXCEPTION = 10001,  ///< the request never reached the broker (transport failure)
  ACCESS_BROKER_TIMEOUT = 10002,
  NOT_FOUND_TOPIC_EXCEPTION = 10005,  ///< no route: the topic does not exist and auto-creation is off
  REQUEST_TIMEOUT_EXCEPTION =
      10006,  ///< the sendMsgTimeout budget ran out, or a request's reply did not come
  CREATE_REPLY_MESSAGE_EXCEPTION = 10007,  ///< a reply built for a message that is not a request
  INVALID_RECEIPT_HANDLE = 40012,  ///< an ack or changeInvisibleDuration with an expired or stale handle
};

/// The name of a response code ("SYSTEM_BUSY"), for messages and logs. (Not called toString: that name is
/// doctest's and Catch's customisation point, found by argument-dependent lookup.)
constexpr std::string_view nameOf(ResponseCode code) noexcept {
  switch (code) {
    case ResponseCode::CLIENT_STATE_ILLEGAL:
      return "CLIENT_STATE_ILLEGAL";
    case ResponseCode::SUCCESS:
      return "SUCCESS";
    case ResponseCode::SYSTEM_ERROR:
      return "SYSTEM_ERROR";
    case ResponseCode::SYSTEM_BUSY:
      return "SYSTEM_BUSY";
    case ResponseCode::REQUEST_CODE_NOT_SUPPORTED:
      return "REQUEST_CODE_NOT_SUPPORTED";
    case ResponseCode::FLUSH_DISK_TIMEOUT:
      return "FLUSH_DISK_TIMEOUT";
    case ResponseCode::SLAVE_NOT_AVAILABLE:
      return "SLAVE_NOT_AVAILABLE";
    case ResponseCode::FLUSH_SLAVE_TIMEOUT:
      return "FLUSH_SLAVE_TIMEOUT";
    case ResponseCode::MESSAGE_ILLEGAL:
      return "MESSAGE_ILLEGAL";
    case ResponseCode::SERVICE_NOT_AVAILABLE:
      return "SERVICE_NOT_AVAILABLE";
    case ResponseCode::VERSION_NOT_SUPPORTED:
      return "VERSION_NOT_SUPPORTED";
    case ResponseCode::NO_PERMISSION:
      return "NO_PERMISSION";
    case ResponseCode::TOPIC_NOT_EXIST:
      return "TOPIC_NOT_EXIST";
    case ResponseCode::TOPIC_EXIST_ALREADY:
      return "TOPIC_EXIST_ALREADY";
    case ResponseCode::PULL_NOT_FOUND:
      return "PULL_NOT_FOUND";
    case ResponseCode::PULL_RETRY_IMMEDIATELY:
      return "PULL_RETRY_IMMEDIATELY";
    case ResponseCode::PULL_OFFSET_MOVED:
      return "PULL_OFFSET_MOVED";
    case ResponseCode::QUERY_NOT_FOUND:
      return "QUERY_NOT_FOUND";
    case ResponseCode::SUBSCRIPTION_PARSE_FAILED:
      return "SUBSCRIPTION_PARSE_FAILED";
    case ResponseCode::SUBSCRIPTION_NOT_EXIST:
      return "SUBSCRIPTION_NOT_EXIST";
    case ResponseCode::SUBSCRIPTION_NOT_LATEST:
      return "SUBSCRIPTION_NOT_LATEST";
    case ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST:
      return "SUBSCRIPTION_GROUP_NOT_EXIST";
    case ResponseCode::NO_BUYER_ID:
      return "NO_BUYER_ID";
    case ResponseCode::NOT_IN_CURRENT_UNIT:
      return "NOT_IN_CURRENT_UNIT";
    case ResponseCode::CONSUMER_NOT_ONLINE:
      return "CONSUMER_NOT_ONLINE";
    case ResponseCode::CONSUME_MSG_TIMEOUT:
      return "CONSUME_MSG_TIMEOUT";
    case ResponseCode::NO_MESSAGE:
      return "NO_MESSAGE";
    case ResponseCode::GO_AWAY:
      return "GO_AWAY";
    case ResponseCode::CONNECT_BROKER_EXCEPTION:
      return "CONNECT_BROKER_EXCEPTION";
    case ResponseCode::ACCESS_BROKER_TIMEOUT:
      return "ACCESS_BROKER_TIMEOUT";
    case ResponseCode::NOT_FOUND_TOPIC_EXCEPTION:
      return "NOT_FOUND_TOPIC_EXCEPTION";
    case ResponseCode::REQUEST_TIMEOUT_EXCEPTION:
      return "REQUEST_TIMEOUT_EXCEPTION";
    case ResponseCode::CREATE_REPLY_MESSAGE_EXCEPTION:
      return "CREATE_REPLY_MESSAGE_EXCEPTION";
    case ResponseCode::INVALID_RECEIPT_HANDLE:
      return "INVALID_RECEIPT_HANDLE";
  }
  return "UNKNOWN";
}

/// The name of a send status ("SEND_OK").
constexpr std::string_view nameOf(SendStatus status) noexcept {
  switch (status) {
    case SendStatus::SEND_OK:
      return "SEND_OK";
    case SendStatus::FLUSH_DISK_TIMEOUT:
      return "FLUSH_DISK_TIMEOUT";
    case SendStatus::FLUSH_SLAVE_TIMEOUT:
      return "FLUSH_SLAVE_TIMEOUT";
    case SendStatus::SLAVE_NOT_AVAILABLE:
      return "SLAVE_NOT_AVAILABLE";
  }
  return "UNKNOWN";
}

/// Base of every ackmq exception: a message for people and a ResponseCode for programs.
class MQException : public std::runtime_error {
 public:
  MQException(ResponseCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
  ResponseCode getResponseCode() const noexcept { return code_; }

 private:
  ResponseCode code_;
};

/// Raised on the client side: bad input (the message names the field and the rule), a client used before
/// start() or after shutdown(), a timeout, or retries exhausted (carrying the last cause's code).
class MQClientException : public MQException {
 public:
  using MQException::MQException;
};

/// The broker refused the request (busy, illegal message, no permission, ...).
class MQBrokerException : public MQException {
 public:
  using MQException::MQException;
};

/// A request was sent, but no reply came within its timeout (RocketMQ RequestTimeoutException, code
/// REQUEST_TIMEOUT_EXCEPTION). Not an MQClientException, as in RocketMQ: the request was delivered, and a
/// caller may want to tell "nobody answered in time" from "could not ask".
class RequestTimeoutException : public MQException {
 public:
  explicit RequestTimeoutException(const std::string& what)
      : MQException(ResponseCode::REQUEST_TIMEOUT_EXCEPTION, what) {}
};

/// What a confirmed send returns: RocketMQ's SendResult.
///
/// Thread safety: a regular value type (thread-compatible).
class SendResult {
 public:
  SendResult() = default;
  SendResult(SendStatus status, detail::MessageId msgId, detail::MessageId offsetMsgId, MessageQueue mq,
             std::int64_t queueOffset)
      : status_(status),
        msgId_(msgId),
        offsetMsgId_(offsetMsgId),
        messageQueue_(std::move(mq)),
        queueOffset_(queueOffset) {}
  /// The same, with the queue's names copied straight into the result's MessageQueue (a send's result).
  SendResult(SendStatus status, detail::MessageId msgId, detail::MessageId offsetMsgId,
             const std::string& topic, const std::string& brokerName, int queueId, std::int64_t queueOffset)
      : status_(status), msgId_(msgId), offsetMsgId_(offsetMsgId), queueOffset_(queueOffset) {
    messageQueue_.topic = topic;
    messageQueue_.brokerName = brokerName;
    messageQueue_.queueId = queueId;
  }

  SendStatus getSendStatus() const noexcept { return status_; }
  void setSendStatus(SendStatus status) noexcept { status_ = status; }
  /// The UNIQ_KEY: 32 hex characters; for a batch, every message's id joined with commas, in batch order.
  std::string getMsgId() const {
    std::string out;
    msgId_.appendHex(out);
    for (const auto& id : batchIds_) {
      out.push_back(',');
      id.appendHex(out);
    }
    return out;
  }
  /// The physical copy's id (its CommitLog offset on the broker); for a batch, the first message's.
  std::string getOffsetMsgId() const { return offsetMsgId_.toString(); }
  const MessageQueue& getMessageQueue() const noexcept { return messageQueue_; }
  /// The queue offset the message was stored at; for a batch, the first message's (the rest follow it).
  /// For a delayed message, the offset of its parked copy in SCHEDULE_TOPIC_XXXX, as RocketMQ reports it.
  std::int64_t getQueueOffset() const noexcept { return queueOffset_; }
  /// RocketMQ's default region id.
  std::string_view getRegionId() const noexcept { return "DefaultRegion"; }

  std::string toString() const {
    return "SendResult [sendStatus=" + std::string(ackmq::nameOf(status_)) + ", msgId=" + getMsgId() +
           ", offsetMsgId=" + getOffsetMsgId() + ", messageQueue=" + messageQueue_.toString() +
           ", queueOffset=" + std::to_string(queueOffset_) + "]";
  }

  /// The ids after the first, for a batch. Internal.
  void setBatchIds(std::vector<detail::MessageId> rest) { batchIds_ = std::move(rest); }

 private:
  SendStatus status_ = SendStatus::SEND_OK;
  detail::MessageId msgId_;
  detail::MessageId offsetMsgId_;
  MessageQueue messageQueue_;
  std::int64_t queueOffset_ = -1;
  std::vector<detail::MessageId> batchIds_;
};

}  // namespace ackmq
