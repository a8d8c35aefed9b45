/* rocketmq-client-cpp compatibility (ackmq): a C batch of messages, sent whole or not at all. */
#ifndef ACKMQ_COMPAT_C_BATCH_MESSAGE_H
#define ACKMQ_COMPAT_C_BATCH_MESSAGE_H

#include "CCommon.h"
#include "CMessage.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct CBatchMessage CBatchMessage;

ROCKETMQCLIENT_API CBatchMessage* CreateBatchMessage();
/* Copies `msg` into the batch. */
ROCKETMQCLIENT_API int AddMessage(CBatchMessage* batchMsg, CMessage* msg);
ROCKETMQCLIENT_API int DestroyBatchMessage(CBatchMessage* batchMsg);

#ifdef __cplusplus
}
#endif

#if defined(ACKMQ_ROCKETMQ_C_IMPLEMENTATION) && defined(__cplusplus)
#include <vector>

struct CBatchMessage {
  std::vector<rocketmq::MQMessage> messages;
};

extern "C" {
CBatchMessage* CreateBatchMessage() {
  return new CBatchMessage;
}
int AddMessage(CBatchMessage* batchMsg, CMessage* msg) {
  if (batchMsg == nullptr || msg == nullptr) return NULL_POINTER;
  batchMsg->messages.push_back(msg->message);
  return OK;
}
int DestroyBatchMessage(CBatchMessage* batchMsg) {
  if (batchMsg == nullptr) return NULL_POINTER;
  delete batchMsg;
  return OK;
}
}
#endif

#endif /* ACKMQ_COMPAT_C_BATCH_MESSAGE_H */
