/* rocketmq-client-cpp compatibility (ackmq): a C message as delivered. The const char* getters point into
 * the message and stay valid while it does: during the callback for a pushed message, until
 * ReleasePullResult for a pulled one. */
#ifndef ACKMQ_COMPAT_C_MESSAGE_EXT_H
#define ACKMQ_COMPAT_C_MESSAGE_EXT_H

#include "CCommon.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct CMessageExt CMessageExt;

ROCKETMQCLIENT_API const char* GetMessageTopic(CMessageExt* msgExt);
ROCKETMQCLIENT_API const char* GetMessageTags(CMessageExt* msgExt);
ROCKETMQCLIENT_API const char* GetMessageKeys(CMessageExt* msgExt);
ROCKETMQCLIENT_API const char* GetMessageBody(CMessageExt* msgExt);
ROCKETMQCLIENT_API int GetMessageBodyLength(CMessageExt* msgExt);
ROCKETMQCLIENT_API const char* GetMessageProperty(CMessageExt* msgExt, const char* key);
ROCKETMQCLIENT_API const char* GetMessageId(CMessageExt* msgExt);
ROCKETMQCLIENT_API int GetMessageDelayTimeLevel(CMessageExt* msgExt);
ROCKETMQCLIENT_API int GetMessageQueueId(CMessageExt* msgExt);
ROCKETMQCLIENT_API int GetMessageReconsumeTimes(CMessageExt* msgExt);
ROCKETMQCLIENT_API int GetMessageStoreSize(CMessageExt* msgExt);
ROCKETMQCLIENT_API long long GetMessageBornTimestamp(CMessageExt* msgExt);
ROCKETMQCLIENT_API long long GetMessageStoreTimestamp(CMessageExt* msgExt);
ROCKETMQCLIENT_API long long GetMessageQueueOffset(CMessageExt* msgExt);
ROCKETMQCLIENT_API long long GetMessageCommitLogOffset(CMessageExt* msgExt);
ROCKETMQCLIENT_API long long GetMessagePreparedTransactionOffset(CMessageExt* msgExt);
ROCKETMQCLIENT_API const char* GetMessageStoreHost(CMessageExt* msg);
ROCKETMQCLIENT_API const char* GetMessageBornHost(CMessageExt* msg);

#ifdef __cplusplus
}
#endif

#if defined(ACKMQ_ROCKETMQ_C_IMPLEMENTATION) && defined(__cplusplus)
#include <string>

#include "MQMessageExt.h"

struct CMessageExt {
  explicit CMessageExt(const rocketmq::MQMessageExt& m)
      : message(m), bornHost(m.getBornHostString()), storeHost(m.getStoreHostString()) {}
  rocketmq::MQMessageExt message;
  std::string bornHost;  // what GetMessageBornHost points into
  std::string storeHost;
};

extern "C" {
const char* GetMessageTopic(CMessageExt* m) {
  return m == nullptr ? nullptr : m->message.getTopic().c_str();
}
const char* GetMessageTags(CMessageExt* m) {
  return m == nullptr ? nullptr : m->message.getTags().c_str();
}
const char* GetMessageKeys(CMessageExt* m) {
  return m == nullptr ? nullptr : m->message.getKeys().c_str();
}
const char* GetMessageBody(CMessageExt* m) {
  return m == nullptr ? nullptr : m->message.getBody().c_str();
}
int GetMessageBodyLength(CMessageExt* m) {
  return m == nullptr ? 0 : static_cast<int>(m->message.getBody().size());
}
const char* GetMessageProperty(CMessageExt* m, const char* key) {
  return m == nullptr || key == nullptr ? nullptr : m->message.getProperty(key).c_str();
}
const char* GetMessageId(CMessageExt* m) {
  return m == nullptr ? nullptr : m->message.getMsgId().c_str();
}
int GetMessageDelayTimeLevel(CMessageExt* m) {
  return m == nullptr ? -1 : m->message.getDelayTimeLevel();
}
int GetMessageQueueId(CMessageExt* m) {
  return m == nullptr ? -1 : m->message.getQueueId();
}
int GetMessageReconsumeTimes(CMessageExt* m) {
  return m == nullptr ? -1 : m->message.getReconsumeTimes();
}
int GetMessageStoreSize(CMessageExt* m) {
  return m == nullptr ? -1 : m->message.getStoreSize();
}
long long GetMessageBornTimestamp(CMessageExt* m) {
  return m == nullptr ? -1 : m->message.getBornTimestamp();
}
long long GetMessageStoreTimestamp(CMessageExt* m) {
  return m == nullptr ? -1 : m->message.getStoreTimestamp();
}
long long GetMessageQueueOffset(CMessageExt* m) {
  return m == nullptr ? -1 : m->message.getQueueOffset();
}
long long GetMessageCommitLogOffset(CMessageExt* m) {
  return m == nullptr ? -1 : m->message.getCommitLogOffset();
}
long long GetMessagePreparedTransactionOffset(CMessageExt* m) {
  return m == nullptr ? -1 : m->message.getPreparedTransactionOffset();
}
const char* GetMessageStoreHost(CMessageExt* m) {
  return m == nullptr ? nullptr : m->storeHost.c_str();
}
const char* GetMessageBornHost(CMessageExt* m) {
  return m == nullptr ? nullptr : m->bornHost.c_str();
}
}
#endif

#endif /* ACKMQ_COMPAT_C_MESSAGE_EXT_H */
