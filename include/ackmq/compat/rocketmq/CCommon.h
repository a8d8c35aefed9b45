/* rocketmq-client-cpp compatibility (ackmq): the C API's status codes, log levels and message models.
 *
 * The C API's definitions sit in these headers behind ACKMQ_ROCKETMQ_C_IMPLEMENTATION: exactly one C++
 * source of a program defines that macro before including the C*.h headers (CMake users link
 * ackmq::rocketmq_c, which does it), and C sources include them plainly. */
#ifndef ACKMQ_COMPAT_C_COMMON_H
#define ACKMQ_COMPAT_C_COMMON_H

#ifdef __cplusplus
extern "C" {
#endif

#define MAX_MESSAGE_ID_LENGTH 256
#define MAX_TOPIC_LENGTH 512
#define MAX_BROKER_NAME_ID_LENGTH 256
#define MAX_SDK_VERSION_LENGTH 256
#define DEFAULT_SDK_VERSION "DefaultVersion"

typedef enum _CStatus_ {
  OK = 0,
  NULL_POINTER = 1,
  MALLOC_FAILED = 2,
  PRODUCER_ERROR_CODE_START = 10,
  PRODUCER_START_FAILED = 10,
  PRODUCER_SEND_SYNC_FAILED = 11,
  PRODUCER_SEND_ONEWAY_FAILED = 12,
  PRODUCER_SEND_ORDERLY_FAILED = 13,
  PRODUCER_SEND_ASYNC_FAILED = 14,
  PRODUCER_SEND_ORDERLYASYNC_FAILED = 15,
  PRODUCER_SEND_TRANSACTION_FAILED = 16,
  PUSHCONSUMER_ERROR_CODE_START = 20,
  PUSHCONSUMER_START_FAILED = 20,
  PULLCONSUMER_ERROR_CODE_START = 30,
  PULLCONSUMER_START_FAILED = 30,
  PULLCONSUMER_FETCH_MQ_FAILED = 31,
  PULLCONSUMER_FETCH_MESSAGE_FAILED = 32,
  Not_Support = 500,
  NOT_SUPPORT_NOW = -1
} CStatus;

typedef enum _CLogLevel_ {
  E_LOG_LEVEL_FATAL = 1,
  E_LOG_LEVEL_ERROR = 2,
  E_LOG_LEVEL_WARN = 3,
  E_LOG_LEVEL_INFO = 4,
  E_LOG_LEVEL_DEBUG = 5,
  E_LOG_LEVEL_TRACE = 6,
  E_LOG_LEVEL_LEVEL_NUM = 7
} CLogLevel;

#ifndef ROCKETMQCLIENT_API
#define ROCKETMQCLIENT_API
#endif

typedef enum _CMessageModel_ { BROADCASTING, CLUSTERING } CMessageModel;
typedef enum _CTraceModel_ { OPEN, CLOSE } CTraceModel;

#ifdef __cplusplus
}
#endif

#if defined(ACKMQ_ROCKETMQ_C_IMPLEMENTATION) && defined(__cplusplus)
#include <cstddef>
#include <cstring>
#include <exception>
#include <string>

namespace ackmq::compat::capi {

/// The last error of this thread, for GetLatestErrorMessage.
inline std::string& lastError() {
  thread_local std::string error;
  return error;
}

/// Runs `f`; `OK` when it returns, `failure` (and the error kept for GetLatestErrorMessage) when it throws.
template <class F>
int guarded(int failure, F&& f) {
  try {
    f();
    return OK;
  } catch (const std::exception& e) {
    lastError() = e.what();
  } catch (...) {
    lastError() = "unknown error";
  }
  return failure;
}

/// Copies `s` into `dst` of `size` bytes, cut to fit, always terminated.
inline void copyOut(char* dst, std::size_t size, const std::string& s) {
  const std::size_t n = s.size() < size - 1 ? s.size() : size - 1;
  std::memcpy(dst, s.data(), n);
  dst[n] = '\0';
}

}  // namespace ackmq::compat::capi
#endif

#endif /* ACKMQ_COMPAT_C_COMMON_H */
