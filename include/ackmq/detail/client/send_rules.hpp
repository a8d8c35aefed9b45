#pragma once
// ackmq internals: the producer's rules for a send's budget and for which failures it retries.

#include <chrono>
#include <string>
#include <string_view>

#include <ackmq/status.hpp>

namespace ackmq::detail {

/// A per-call timeout of a send or a request is a budget like sendMsgTimeout. One that is not positive could
/// only expire after the message was stored, telling the caller that a stored message failed; refused.
inline void checkBudget(std::string_view what, std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) {
    throw MQClientException(
        ResponseCode::MESSAGE_ILLEGAL,
        std::string(what) + " timeout: " + std::to_string(timeout.count()) + " ms must be positive");
  }
}

/// The failures a send tries again: RocketMQ DefaultMQProducer retryResponseCodes, plus the transport
/// failure.
constexpr bool retryableSendFailure(ResponseCode code) noexcept {
  switch (code) {
    case ResponseCode::TOPIC_NOT_EXIST:
    case ResponseCode::SERVICE_NOT_AVAILABLE:
    case ResponseCode::SYSTEM_ERROR:
    case ResponseCode::SYSTEM_BUSY:
    case ResponseCode::NO_PERMISSION:
    case ResponseCode::NO_BUYER_ID:
    case ResponseCode::NOT_IN_CURRENT_UNIT:
    case ResponseCode::GO_AWAY:
    case ResponseCode::CONNECT_BROKER_EXCEPTION:
      return true;
    default:
      return false;
  }
}

}  // namespace ackmq::detail
