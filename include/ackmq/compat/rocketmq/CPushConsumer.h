/* rocketmq-client-cpp compatibility (ackmq): the C push consumer. The callback is called once per message;
 * a batch fails whole as soon as one call returns anything but E_CONSUME_SUCCESS. */
#ifndef ACKMQ_COMPAT_C_PUSH_CONSUMER_H
#define ACKMQ_COMPAT_C_PUSH_CONSUMER_H

#include "CCommon.h"
#include "CMessageExt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct CPushConsumer CPushConsumer;

typedef enum E_CConsumeStatus { E_CONSUME_SUCCESS = 0, E_RECONSUME_LATER = 1 } CConsumeStatus;

typedef int (*MessageCallBack)(CPushConsumer*, CMessageExt*);

ROCKETMQCLIENT_API CPushConsumer* CreatePushConsumer(const char* groupId);
ROCKETMQCLIENT_API int DestroyPushConsumer(CPushConsumer* consumer);
ROCKETMQCLIENT_API int StartPushConsumer(CPushConsumer* consumer);
ROCKETMQCLIENT_API int ShutdownPushConsumer(CPushConsumer* consumer);
ROCKETMQCLIENT_API const char* ShowPushConsumerVersion(CPushConsumer* consumer);
ROCKETMQCLIENT_API int SetPushConsumerGroupID(CPushConsumer* consumer, const char* groupId);
ROCKETMQCLIENT_API const char* GetPushConsumerGroupID(CPushConsumer* consumer);
ROCKETMQCLIENT_API int SetPushConsumerNameServerAddress(CPushConsumer* consumer, const char* namesrv);
ROCKETMQCLIENT_API int SetPushConsumerNameServerDomain(CPushConsumer* consumer, const char* domain);
ROCKETMQCLIENT_API int Subscribe(CPushConsumer* consumer, const char* topic, const char* expression);
ROCKETMQCLIENT_API int RegisterMessageCallbackOrderly(CPushConsumer* consumer, MessageCallBack pCallback);
ROCKETMQCLIENT_API int RegisterMessageCallback(CPushConsumer* consumer, MessageCallBack pCallback);
ROCKETMQCLIENT_API int UnregisterMessageCallbackOrderly(CPushConsumer* consumer);
ROCKETMQCLIENT_API int UnregisterMessageCallback(CPushConsumer* consumer);
ROCKETMQCLIENT_API int SetPushConsumerThreadCount(CPushConsumer* consumer, int threadCount);
ROCKETMQCLIENT_API int SetPushConsumerMessageBatchMaxSize(CPushConsumer* consumer, int batchSize);
ROCKETMQCLIENT_API int SetPushConsumerInstanceName(CPushConsumer* consumer, const char* instanceName);
ROCKETMQCLIENT_API int SetPushConsumerSessionCredentials(CPushConsumer* consumer, const char* accessKey,
                                                         const char* secretKey, const char* channel);
ROCKETMQCLIENT_API int SetPushConsumerLogPath(CPushConsumer* consumer, const char* logPath);
ROCKETMQCLIENT_API int SetPushConsumerLogFileNumAndSize(CPushConsumer* consumer, int fileNum, long fileSize);
ROCKETMQCLIENT_API int SetPushConsumerLogLevel(CPushConsumer* consumer, CLogLevel level);
ROCKETMQCLIENT_API int SetPushConsumerMessageModel(CPushConsumer* consumer, CMessageModel messageModel);
ROCKETMQCLIENT_API int SetPushConsumerMaxCacheMessageSize(CPushConsumer* consumer, int maxCacheSize);
ROCKETMQCLIENT_API int SetPushConsumerMaxCacheMessageSizeInMb(CPushConsumer* consumer, int maxCacheSizeInMb);
ROCKETMQCLIENT_API int SetPushConsumerMessageTrace(CPushConsumer* consumer, CTraceModel openTrace);
ROCKETMQCLIENT_API int SetPushConsumerSsl(CPushConsumer* consumer, int enableSsl);
ROCKETMQCLIENT_API int SetPushConsumerSslPropertyFile(CPushConsumer* consumer, const char* sslPropertyFile);

#ifdef __cplusplus
}
#endif

#if defined(ACKMQ_ROCKETMQ_C_IMPLEMENTATION) && defined(__cplusplus)
#include <memory>
#include <string>
#include <vector>

#include "DefaultMQPushConsumer.h"

namespace ackmq::compat::capi {

/// Calls a C callback for each message of a batch, as a listener of either kind.
template <class Base>
class CListener final : public Base {
 public:
  CListener(CPushConsumer* owner, MessageCallBack callback) : owner_(owner), callback_(callback) {}
  rocketmq::ConsumeStatus consumeMessage(const std::vector<rocketmq::MQMessageExt>& msgs) override {
    for (const auto& m : msgs) {
      CMessageExt message(m);
      if (callback_(owner_, &message) != E_CONSUME_SUCCESS) return rocketmq::RECONSUME_LATER;
    }
    return rocketmq::CONSUME_SUCCESS;
  }

 private:
  CPushConsumer* owner_;
  MessageCallBack callback_;
};

}  // namespace ackmq::compat::capi

struct CPushConsumer {
  explicit CPushConsumer(const char* group) : consumer(group) {}
  // Declared before the consumer, so destroyed after it: the consumer's destruction waits for the calls.
  std::unique_ptr<rocketmq::MQMessageListener> listener;
  rocketmq::DefaultMQPushConsumer consumer;
  std::string version;  // what ShowPushConsumerVersion points into
};

extern "C" {
CPushConsumer* CreatePushConsumer(const char* groupId) {
  if (groupId == nullptr) return nullptr;
  return new CPushConsumer(groupId);
}
int DestroyPushConsumer(CPushConsumer* consumer) {
  if (consumer == nullptr) return NULL_POINTER;
  delete consumer;
  return OK;
}
int StartPushConsumer(CPushConsumer* consumer) {
  if (consumer == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::guarded(PUSHCONSUMER_START_FAILED, [&] { consumer->consumer.start(); });
}
int ShutdownPushConsumer(CPushConsumer* consumer) {
  if (consumer == nullptr) return NULL_POINTER;
  consumer->consumer.shutdown();
  return OK;
}
const char* ShowPushConsumerVersion(CPushConsumer* consumer) {
  if (consumer == nullptr) return DEFAULT_SDK_VERSION;
  consumer->version = consumer->consumer.version();
  return consumer->version.c_str();
}
int SetPushConsumerGroupID(CPushConsumer* consumer, const char* groupId) {
  if (consumer == nullptr || groupId == nullptr) return NULL_POINTER;
  consumer->consumer.setGroupName(groupId);
  return OK;
}
const char* GetPushConsumerGroupID(CPushConsumer* consumer) {
  return consumer == nullptr ? nullptr : consumer->consumer.getGroupName().c_str();
}
int SetPushConsumerNameServerAddress(CPushConsumer* consumer, const char* namesrv) {
  if (consumer == nullptr || namesrv == nullptr) return NULL_POINTER;
  consumer->consumer.setNamesrvAddr(namesrv);
  return OK;
}
int SetPushConsumerNameServerDomain(CPushConsumer* consumer, const char* domain) {
  if (consumer == nullptr || domain == nullptr) return NULL_POINTER;
  consumer->consumer.setNamesrvDomain(domain);
  return OK;
}
int Subscribe(CPushConsumer* consumer, const char* topic, const char* expression) {
  if (consumer == nullptr || topic == nullptr || expression == nullptr) return NULL_POINTER;
  consumer->consumer.subscribe(topic, expression);
  return OK;
}
int RegisterMessageCallbackOrderly(CPushConsumer* consumer, MessageCallBack pCallback) {
  if (consumer == nullptr || pCallback == nullptr) return NULL_POINTER;
  consumer->listener =
      std::make_unique<ackmq::compat::capi::CListener<rocketmq::MessageListenerOrderly>>(consumer, pCallback);
  consumer->consumer.registerMessageListener(consumer->listener.get());
  return OK;
}
int RegisterMessageCallback(CPushConsumer* consumer, MessageCallBack pCallback) {
  if (consumer == nullptr || pCallback == nullptr) return NULL_POINTER;
  consumer->listener =
      std::make_unique<ackmq::compat::capi::CListener<rocketmq::MessageListenerConcurrently>>(consumer,
                                                                                              pCallback);
  consumer->consumer.registerMessageListener(consumer->listener.get());
  return OK;
}
int UnregisterMessageCallbackOrderly(CPushConsumer* consumer) {
  return UnregisterMessageCallback(consumer);
}
int UnregisterMessageCallback(CPushConsumer* consumer) {
  if (consumer == nullptr) return NULL_POINTER;
  consumer->consumer.shutdown();  // no call may reach a listener that is gone
  consumer->consumer.registerMessageListener(nullptr);
  consumer->listener.reset();
  return OK;
}
int SetPushConsumerThreadCount(CPushConsumer* consumer, int threadCount) {
  if (consumer == nullptr || threadCount <= 0) return NULL_POINTER;
  consumer->consumer.setConsumeThreadCount(threadCount);
  return OK;
}
int SetPushConsumerMessageBatchMaxSize(CPushConsumer* consumer, int batchSize) {
  if (consumer == nullptr || batchSize <= 0) return NULL_POINTER;
  consumer->consumer.setConsumeMessageBatchMaxSize(batchSize);
  return OK;
}
int SetPushConsumerInstanceName(CPushConsumer* consumer, const char* instanceName) {
  if (consumer == nullptr || instanceName == nullptr) return NULL_POINTER;
  consumer->consumer.setInstanceName(instanceName);
  return OK;
}
int SetPushConsumerSessionCredentials(CPushConsumer* consumer, const char* accessKey, const char* secretKey,
                                      const char* channel) {
  if (consumer == nullptr || accessKey == nullptr || secretKey == nullptr || channel == nullptr)
    return NULL_POINTER;
  consumer->consumer.setSessionCredentials(accessKey, secretKey, channel);
  return OK;
}
int SetPushConsumerLogPath(CPushConsumer* consumer, const char* logPath) {
  if (consumer == nullptr || logPath == nullptr) return NULL_POINTER;
  consumer->consumer.setLogPath(logPath);
  return OK;
}
int SetPushConsumerLogFileNumAndSize(CPushConsumer* consumer, int fileNum, long fileSize) {
  if (consumer == nullptr || fileNum <= 0 || fileSize <= 0) return NULL_POINTER;
  consumer->consumer.setLogFileSizeAndNum(fileNum, fileSize);
  return OK;
}
int SetPushConsumerLogLevel(CPushConsumer* consumer, CLogLevel level) {
  if (consumer == nullptr || level < E_LOG_LEVEL_FATAL || level > E_LOG_LEVEL_LEVEL_NUM) return NULL_POINTER;
  consumer->consumer.setLogLevel(static_cast<rocketmq::elogLevel>(level));
  return OK;
}
int SetPushConsumerMessageModel(CPushConsumer* consumer, CMessageModel messageModel) {
  if (consumer == nullptr || (messageModel != ::BROADCASTING && messageModel != ::CLUSTERING))
    return NULL_POINTER;
  consumer->consumer.setMessageModel(messageModel == ::BROADCASTING ? rocketmq::BROADCASTING
                                                                    : rocketmq::CLUSTERING);
  return OK;
}
int SetPushConsumerMaxCacheMessageSize(CPushConsumer* consumer, int maxCacheSize) {
  if (consumer == nullptr || maxCacheSize <= 0) return NULL_POINTER;
  consumer->consumer.setMaxCacheMsgSizePerQueue(maxCacheSize);
  return OK;
}
int SetPushConsumerMaxCacheMessageSizeInMb(CPushConsumer* consumer, int maxCacheSizeInMb) {
  if (consumer == nullptr || maxCacheSizeInMb <= 0) return NULL_POINTER;
  consumer->consumer.setMaxCacheMsgSizeInMb(maxCacheSizeInMb);
  return OK;
}
int SetPushConsumerMessageTrace(CPushConsumer* consumer, CTraceModel openTrace) {
  if (consumer == nullptr) return NULL_POINTER;
  consumer->consumer.setMessageTrace(openTrace == OPEN);
  return OK;
}
int SetPushConsumerSsl(CPushConsumer* consumer, int enableSsl) {
  if (consumer == nullptr) return NULL_POINTER;
  consumer->consumer.setEnableSsl(enableSsl != 0);
  return OK;
}
int SetPushConsumerSslPropertyFile(CPushConsumer* consumer, const char* sslPropertyFile) {
  if (consumer == nullptr || sslPropertyFile == nullptr) return NULL_POINTER;
  consumer->consumer.setSslPropertyFile(sslPropertyFile);
  return OK;
}
}
#endif

#endif /* ACKMQ_COMPAT_C_PUSH_CONSUMER_H */
