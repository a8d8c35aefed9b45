/* rocketmq-client-cpp compatibility (ackmq): the last error of the calling thread's C API calls. */
#ifndef ACKMQ_COMPAT_C_ERROR_MESSAGE_H
#define ACKMQ_COMPAT_C_ERROR_MESSAGE_H

#include "CCommon.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The message of the last failure of a C API call on this thread; valid until the next failing call. */
ROCKETMQCLIENT_API const char* GetLatestErrorMessage();

#ifdef __cplusplus
}
#endif

#if defined(ACKMQ_ROCKETMQ_C_IMPLEMENTATION) && defined(__cplusplus)
extern "C" const char* GetLatestErrorMessage() {
  return ackmq::compat::capi::lastError().c_str();
}
#endif

#endif /* ACKMQ_COMPAT_C_ERROR_MESSAGE_H */
