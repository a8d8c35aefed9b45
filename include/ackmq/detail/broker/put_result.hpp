#pragma once
// ackmq internals: the broker's answer to a put, and the rules that shape it on the way: injected faults,
// the reply marker, and the properties a message keeps when it is stored without parking.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <ackmq/detail/body_traits.hpp>
#include <ackmq/detail/broker/faults.hpp>
#include <ackmq/detail/store/message_store.hpp>
#include <ackmq/detail/store/record.hpp>
#include <ackmq/message.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

/// The broker's answer to a send request.
struct PutResult {
  ResponseCode code = ResponseCode::SUCCESS;
  SendStatus status = SendStatus::SEND_OK;
  std::int64_t queueOffset = -1;
  std::int64_t commitLogOffset = -1;
  std::string remark;
  bool storeFull = false;  // SYSTEM_BUSY because unconsumed messages fill the store: room may come
  // A send that asked not to wait for its flush (an async send to a SYNC_FLUSH broker): the journal end
  // that BrokerCore::whenDurable completes at; -1 when the status is final.
  std::int64_t pendingDurable = -1;
  bool ok() const noexcept { return code == ResponseCode::SUCCESS; }
};

// A refusal decided by an injected fault. DEGRADE stores the message and only changes the status.
inline bool refusedByFault(const FaultState::SendFault& fault, PutResult& result) {
  if (fault.kind == FaultState::SendFaultKind::LOSE) {
    result.code = ResponseCode::CONNECT_BROKER_EXCEPTION;
    result.remark = "the request was lost before it reached the broker (injected)";
    return true;
  }
  if (fault.kind == FaultState::SendFaultKind::FAIL) {
    result.code = fault.code;
    result.remark = "the broker refused the request with " + std::string(nameOf(fault.code)) + " (injected)";
    return true;
  }
  return false;
}

// Copies what the store answered into the put's result; DEGRADE changes the status of a stored message.
inline void finishPut(const AppendResult& r, const FaultState::SendFault& fault, PutResult& result) {
  result.code = r.code;
  result.storeFull = r.storeFull;
  if (!r.remark.empty()) result.remark = r.remark;  // a stored message has none: no string copy
  result.queueOffset = r.queueOffset;
  result.commitLogOffset = r.commitLogOffset;
  if (r.ok() && fault.kind == FaultState::SendFaultKind::DEGRADE) result.status = fault.status;
}

// Broker-side checks, in case a client skipped its own (RocketMQ SendMessageProcessor checks them again).
template <class Message>
bool admissibleMessage(const Message& msg, bool running, std::size_t maxMessageSize, PutResult& result) {
  if (!running) {
    result.code = ResponseCode::SERVICE_NOT_AVAILABLE;
    result.remark = "the broker is shut down";
    return false;
  }
  if constexpr (SizedBody<typename Message::body_type>) {
    if (static_cast<std::size_t>(msg.getBody().size()) > maxMessageSize) {
      result.code = ResponseCode::MESSAGE_ILLEGAL;
      result.remark = "message body exceeds the broker's maxMessageSize";
      return false;
    }
  }
  return true;
}

// A request carries its broker's cluster, which names the topic of its reply (RocketMQ
// SendMessageProcessor puts CLUSTER on every message; only requests need it).
template <class Properties>
void stampRequestCluster(const Properties& props, std::string& encoded, std::string_view cluster) {
  if (props.contains(MessageConst::PROPERTY_MESSAGE_REPLY_TO_CLIENT) &&
      !props.contains(MessageConst::PROPERTY_CLUSTER)) {
    encodeProperty(encoded, MessageConst::PROPERTY_CLUSTER, cluster);
  }
}

// A message MessageUtil::createReplyMessage built.
template <class Properties>
bool isReplyMessage(const Properties& props) {
  const auto it = props.find(MessageConst::PROPERTY_MESSAGE_TYPE);
  return it != props.end() && it->second == MixAll::REPLY_MESSAGE_FLAG;
}

// Appends to `out` the properties of a message stored without parking: timer properties of a past deliver
// time go.
template <class Properties>
void encodeWithoutTimer(std::string& out, const Properties& props) {
  for (const auto& [k, v] : props) {
    if (MessageConst::mayBeLibraryName(k) &&
        (k == MessageConst::PROPERTY_TIMER_DELIVER_MS || k == MessageConst::PROPERTY_TIMER_DELAY_MS ||
         k == MessageConst::PROPERTY_TIMER_DELAY_SEC || k == MessageConst::PROPERTY_DELAY_TIME_LEVEL)) {
      continue;
    }
    encodeProperty(out, k, v);
  }
}

}  // namespace ackmq::detail
