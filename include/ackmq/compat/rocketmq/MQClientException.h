#pragma once
// rocketmq-client-cpp compatibility (ackmq): the exception family. ackmq's own errors reach a program as
// these types: a refusal by the broker as MQBrokerException, everything else as MQClientException, with
// ackmq's message (it names the field and the rule) and the RocketMQ response code as the error (-1, as
// the client uses it, for a client in the wrong state).

#include <exception>
#include <ostream>
#include <string>
#include <utility>

#include <ackmq/status.hpp>

#include "RocketMQClient.h"

namespace rocketmq {

/// Base of every exception the client throws: a message, an error code, and where it was raised.
class ROCKETMQCLIENT_API MQException : public std::exception {
 public:
  MQException(const std::string& msg, int error, const char* file, int line) noexcept
      : MQException(msg, error, file, "MQException", line) {}
  MQException(const std::string& msg, int error, const char* file, const char* type, int line) noexcept
      : m_error(error), m_line(line) {
    try {
      m_file = file != nullptr ? file : "";
      m_type = type != nullptr ? type : "";
      m_msg = msg + " (error " + std::to_string(error) + ", " + m_file + ":" + std::to_string(line) + ")";
    } catch (...) {
    }
  }
  virtual ~MQException() noexcept {}

  const char* what() const noexcept override { return m_msg.c_str(); }
  int GetError() const noexcept { return m_error; }
  virtual const char* GetType() const noexcept { return m_type.c_str(); }
  int GetLine() { return m_line; }
  const char* GetFile() { return m_file.c_str(); }

 protected:
  int m_error;
  int m_line;
  std::string m_msg;
  std::string m_file;
  std::string m_type;
};

inline std::ostream& operator<<(std::ostream& os, const MQException& e) {
  return os << "Type: " << e.GetType() << " , " << e.what();
}

#define DEFINE_MQCLIENTEXCEPTION(name)                                           \
  class ROCKETMQCLIENT_API name : public MQException {                           \
   public:                                                                       \
    name(const std::string& msg, int error, const char* file, int line) noexcept \
        : MQException(msg, error, file, #name, line) {}                          \
    const char* GetType() const noexcept override { return m_type.c_str(); }     \
  };

DEFINE_MQCLIENTEXCEPTION(MQClientException)
DEFINE_MQCLIENTEXCEPTION(MQBrokerException)
DEFINE_MQCLIENTEXCEPTION(InterruptedException)
DEFINE_MQCLIENTEXCEPTION(RemotingException)
DEFINE_MQCLIENTEXCEPTION(UnknownHostException)

#define THROW_MQEXCEPTION(e, msg, err) throw e(msg, err, __FILE__, __LINE__)
#define NEW_MQEXCEPTION(e, msg, err) e(msg, err, __FILE__, __LINE__)

}  // namespace rocketmq

namespace ackmq::compat::detail {

/// The client's error code for an ackmq response code: -1 for a client in the wrong state, as the client
/// reports it, the response code otherwise.
inline int errorCodeOf(ackmq::ResponseCode code) noexcept {
  return code == ackmq::ResponseCode::CLIENT_STATE_ILLEGAL ? -1 : static_cast<int>(code);
}

/// Runs `f`, turning an ackmq exception into the client's: MQBrokerException for a broker refusal,
/// MQClientException for the rest.
template <class F>
decltype(auto) translated(F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (const ackmq::MQBrokerException& e) {
    throw rocketmq::MQBrokerException(e.what(), errorCodeOf(e.getResponseCode()), __FILE__, __LINE__);
  } catch (const ackmq::MQException& e) {
    throw rocketmq::MQClientException(e.what(), errorCodeOf(e.getResponseCode()), __FILE__, __LINE__);
  }
}

/// The client's exception for an ackmq exception held in `error`, to hand to an onException callback.
inline rocketmq::MQClientException clientExceptionOf(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const ackmq::MQException& e) {
    return rocketmq::MQClientException(e.what(), errorCodeOf(e.getResponseCode()), __FILE__, __LINE__);
  } catch (const std::exception& e) {
    return rocketmq::MQClientException(e.what(), -1, __FILE__, __LINE__);
  } catch (...) {
    return rocketmq::MQClientException("unknown error", -1, __FILE__, __LINE__);
  }
}

/// Throws MQClientException(-1) with `what`: bad input the client itself refuses.
[[noreturn]] inline void refuse(const std::string& what) {
  throw rocketmq::MQClientException(what, -1, __FILE__, __LINE__);
}

}  // namespace ackmq::compat::detail
