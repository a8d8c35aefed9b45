#pragma once
// ackmq: what an async send and an async request report, exactly once, on the producer's callback thread.

#include <exception>
#include <functional>
#include <string>

#include <ackmq/message.hpp>
#include <ackmq/status.hpp>

namespace ackmq {

/// What an async send reports: exactly one of the two is called, on the producer's callback thread, never
/// inside send(). An exception thrown by a callback is swallowed (it cannot reach the sender).
struct SendCallback {
  std::function<void(const SendResult&)> onSuccess;
  std::function<void(std::exception_ptr)> onException;
};

/// What an async request reports: exactly one of the two is called, on the producer's callback thread, never
/// inside request(): onSuccess with the reply, or onException with RequestTimeoutException when no reply
/// came in time, or MQClientException when the request could not be sent or the producer or broker shut
/// down first (RocketMQ RequestCallback). An exception thrown by a callback is swallowed.
template <class Body>
struct BasicRequestCallback {
  std::function<void(const BasicMessage<Body>&)> onSuccess;
  std::function<void(std::exception_ptr)> onException;
};
using RequestCallback = BasicRequestCallback<std::string>;

}  // namespace ackmq
