/* rocketmq-client-cpp compatibility (ackmq): a C message to send. The const char* getters point into the
 * message and stay valid until it changes or is destroyed. */
#ifndef ACKMQ_COMPAT_C_MESSAGE_H
#define ACKMQ_COMPAT_C_MESSAGE_H

#include "CCommon.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct CMessage CMessage;

ROCKETMQCLIENT_API CMessage* CreateMessage(const char* topic);
ROCKETMQCLIENT_API int DestroyMessage(CMessage* msg);
ROCKETMQCLIENT_API int SetMessageTopic(CMessage* msg, const char* topic);
ROCKETMQCLIENT_API int SetMessageTags(CMessage* msg, const char* tags);
ROCKETMQCLIENT_API int SetMessageKeys(CMessage* msg, const char* keys);
ROCKETMQCLIENT_API int SetMessageBody(CMessage* msg, const char* body);
ROCKETMQCLIENT_API int SetByteMessageBody(CMessage* msg, const char* body, int len);
ROCKETMQCLIENT_API int SetMessageProperty(CMessage* msg, const char* key, const char* value);
ROCKETMQCLIENT_API int SetDelayTimeLevel(CMessage* msg, int level);
ROCKETMQCLIENT_API const char* GetOriginMessageTopic(CMessage* msg);
ROCKETMQCLIENT_API const char* GetOriginMessageTags(CMessage* msg);
ROCKETMQCLIENT_API const char* GetOriginMessageKeys(CMessage* msg);
ROCKETMQCLIENT_API const char* GetOriginMessageBody(CMessage* msg);
ROCKETMQCLIENT_API int GetOriginMessageBodyLength(CMessage* msg);
ROCKETMQCLIENT_API const char* GetOriginMessageProperty(CMessage* msg, const char* key);
ROCKETMQCLIENT_API int GetOriginDelayTimeLevel(CMessage* msg);

#ifdef __cplusplus
}
#endif

#if defined(ACKMQ_ROCKETMQ_C_IMPLEMENTATION) && defined(__cplusplus)
#include "MQMessage.h"

struct CMessage {
  rocketmq::MQMessage message;
};

extern "C" {
CMessage* CreateMessage(const char* topic) {
  auto* msg = new CMessage;
  if (topic != nullptr) msg->message.setTopic(topic);
  return msg;
}
int DestroyMessage(CMessage* msg) {
  if (msg == nullptr) return NULL_POINTER;
  delete msg;
  return OK;
}
int SetMessageTopic(CMessage* msg, const char* topic) {
  if (msg == nullptr || topic == nullptr) return NULL_POINTER;
  msg->message.setTopic(topic);
  return OK;
}
int SetMessageTags(CMessage* msg, const char* tags) {
  if (msg == nullptr || tags == nullptr) return NULL_POINTER;
  msg->message.setTags(tags);
  return OK;
}
int SetMessageKeys(CMessage* msg, const char* keys) {
  if (msg == nullptr || keys == nullptr) return NULL_POINTER;
  msg->message.setKeys(std::string(keys));
  return OK;
}
int SetMessageBody(CMessage* msg, const char* body) {
  if (msg == nullptr || body == nullptr) return NULL_POINTER;
  msg->message.setBody(std::string(body));
  return OK;
}
int SetByteMessageBody(CMessage* msg, const char* body, int len) {
  if (msg == nullptr || body == nullptr || len < 0) return NULL_POINTER;
  msg->message.setBody(body, len);
  return OK;
}
int SetMessageProperty(CMessage* msg, const char* key, const char* value) {
  if (msg == nullptr || key == nullptr || value == nullptr) return NULL_POINTER;
  msg->message.setProperty(key, value);
  return OK;
}
int SetDelayTimeLevel(CMessage* msg, int level) {
  if (msg == nullptr) return NULL_POINTER;
  msg->message.setDelayTimeLevel(level);
  return OK;
}
const char* GetOriginMessageTopic(CMessage* msg) {
  return msg == nullptr ? nullptr : msg->message.getTopic().c_str();
}
const char* GetOriginMessageTags(CMessage* msg) {
  return msg == nullptr ? nullptr : msg->message.getTags().c_str();
}
const char* GetOriginMessageKeys(CMessage* msg) {
  return msg == nullptr ? nullptr : msg->message.getKeys().c_str();
}
const char* GetOriginMessageBody(CMessage* msg) {
  return msg == nullptr ? nullptr : msg->message.getBody().c_str();
}
int GetOriginMessageBodyLength(CMessage* msg) {
  return msg == nullptr ? 0 : static_cast<int>(msg->message.getBody().size());
}
const char* GetOriginMessageProperty(CMessage* msg, const char* key) {
  return msg == nullptr || key == nullptr ? nullptr : msg->message.getProperty(key).c_str();
}
int GetOriginDelayTimeLevel(CMessage* msg) {
  return msg == nullptr ? -1 : msg->message.getDelayTimeLevel();
}
}
#endif

#endif /* ACKMQ_COMPAT_C_MESSAGE_H */
