/* rocketmq-client-cpp compatibility (ackmq): what a C pull found; release it with ReleasePullResult. */
#ifndef ACKMQ_COMPAT_C_PULL_RESULT_H
#define ACKMQ_COMPAT_C_PULL_RESULT_H

#include "CCommon.h"
#include "CMessageExt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum E_CPullStatus {
  E_FOUND,
  E_NO_NEW_MSG,
  E_NO_MATCHED_MSG,
  E_OFFSET_ILLEGAL,
  E_BROKER_TIMEOUT
} CPullStatus;

typedef struct _CPullResult_ {
  CPullStatus pullStatus;
  long long nextBeginOffset;
  long long minOffset;
  long long maxOffset;
  CMessageExt** msgFoundList;
  int size;
  void* pData;
} CPullResult;

#ifdef __cplusplus
}
#endif

#endif /* ACKMQ_COMPAT_C_PULL_RESULT_H */
