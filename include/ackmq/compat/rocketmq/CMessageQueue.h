/* rocketmq-client-cpp compatibility (ackmq): a queue, as the C pull consumer names it. */
#ifndef ACKMQ_COMPAT_C_MESSAGE_QUEUE_H
#define ACKMQ_COMPAT_C_MESSAGE_QUEUE_H

#include "CCommon.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _CMessageQueue_ {
  char topic[MAX_TOPIC_LENGTH];
  char brokerName[MAX_BROKER_NAME_ID_LENGTH];
  int queueId;
} CMessageQueue;

#ifdef __cplusplus
}
#endif

#endif /* ACKMQ_COMPAT_C_MESSAGE_QUEUE_H */
