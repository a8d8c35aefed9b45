/* rocketmq-client-cpp compatibility (ackmq): a C send's result. */
#ifndef ACKMQ_COMPAT_C_SEND_RESULT_H
#define ACKMQ_COMPAT_C_SEND_RESULT_H

#include "CCommon.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum E_CSendStatus_ {
  E_SEND_OK = 0,
  E_SEND_FLUSH_DISK_TIMEOUT = 1,
  E_SEND_FLUSH_SLAVE_TIMEOUT = 2,
  E_SEND_SLAVE_NOT_AVAILABLE = 3
} CSendStatus;

typedef struct _SendResult_ {
  CSendStatus sendStatus;
  char msgId[MAX_MESSAGE_ID_LENGTH];
  long long offset;
} CSendResult;

#ifdef __cplusplus
}
#endif

#endif /* ACKMQ_COMPAT_C_SEND_RESULT_H */
