/* rocketmq-client-cpp compatibility (ackmq): the C pull consumer. */
#ifndef ACKMQ_COMPAT_C_PULL_CONSUMER_H
#define ACKMQ_COMPAT_C_PULL_CONSUMER_H

#include "CCommon.h"
#include "CMessageExt.h"
#include "CMessageQueue.h"
#include "CPullResult.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct CPullConsumer CPullConsumer;

ROCKETMQCLIENT_API CPullConsumer* CreatePullConsumer(const char* groupId);
ROCKETMQCLIENT_API int DestroyPullConsumer(CPullConsumer* consumer);
ROCKETMQCLIENT_API int StartPullConsumer(CPullConsumer* consumer);
ROCKETMQCLIENT_API int ShutdownPullConsumer(CPullConsumer* consumer);
ROCKETMQCLIENT_API const char* ShowPullConsumerVersion(CPullConsumer* consumer);
ROCKETMQCLIENT_API int SetPullConsumerGroupID(CPullConsumer* consumer, const char* groupId);
ROCKETMQCLIENT_API const char* GetPullConsumerGroupID(CPullConsumer* consumer);
ROCKETMQCLIENT_API int SetPullConsumerNameServerAddress(CPullConsumer* consumer, const char* namesrv);
ROCKETMQCLIENT_API int SetPullConsumerNameServerDomain(CPullConsumer* consumer, const char* domain);
ROCKETMQCLIENT_API int SetPullConsumerSessionCredentials(CPullConsumer* consumer, const char* accessKey,
                                                         const char* secretKey, const char* channel);
ROCKETMQCLIENT_API int SetPullConsumerLogPath(CPullConsumer* consumer, const char* logPath);
ROCKETMQCLIENT_API int SetPullConsumerLogFileNumAndSize(CPullConsumer* consumer, int fileNum, long fileSize);
ROCKETMQCLIENT_API int SetPullConsumerLogLevel(CPullConsumer* consumer, CLogLevel level);
ROCKETMQCLIENT_API int SetPullConsumerSsl(CPullConsumer* consumer, int enableSsl);
ROCKETMQCLIENT_API int SetPullConsumerSslPropertyFile(CPullConsumer* consumer, const char* sslPropertyFile);

/* Every queue of `topic`, into a new array of `*size` queues; free it with ReleaseSubscriptionMessageQueue.
 */
ROCKETMQCLIENT_API int FetchSubscriptionMessageQueues(CPullConsumer* consumer, const char* topic,
                                                      CMessageQueue** mqs, int* size);
ROCKETMQCLIENT_API int ReleaseSubscriptionMessageQueue(CMessageQueue* mqs);
/* A failed pull returns E_BROKER_TIMEOUT with no messages; GetLatestErrorMessage says why. */
ROCKETMQCLIENT_API CPullResult Pull(CPullConsumer* consumer, const CMessageQueue* mq,
                                    const char* subExpression, long long offset, int maxNums);
ROCKETMQCLIENT_API int ReleasePullResult(CPullResult pullResult);

#ifdef __cplusplus
}
#endif

#if defined(ACKMQ_ROCKETMQ_C_IMPLEMENTATION) && defined(__cplusplus)
#include <memory>
#include <string>
#include <vector>

#include "DefaultMQPullConsumer.h"

struct CPullConsumer {
  explicit CPullConsumer(const char* group) : consumer(group) {}
  rocketmq::DefaultMQPullConsumer consumer;
  std::string version;  // what ShowPullConsumerVersion points into
};

namespace ackmq::compat::capi {

// What a CPullResult's pData owns: the messages and the array of pointers to them.
struct PulledMessages {
  std::vector<std::unique_ptr<CMessageExt>> messages;
  std::vector<CMessageExt*> pointers;
};

}  // namespace ackmq::compat::capi

extern "C" {
CPullConsumer* CreatePullConsumer(const char* groupId) {
  if (groupId == nullptr) return nullptr;
  return new CPullConsumer(groupId);
}
int DestroyPullConsumer(CPullConsumer* consumer) {
  if (consumer == nullptr) return NULL_POINTER;
  delete consumer;
  return OK;
}
int StartPullConsumer(CPullConsumer* consumer) {
  if (consumer == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::guarded(PULLCONSUMER_START_FAILED, [&] { consumer->consumer.start(); });
}
int ShutdownPullConsumer(CPullConsumer* consumer) {
  if (consumer == nullptr) return NULL_POINTER;
  consumer->consumer.shutdown();
  return OK;
}
const char* ShowPullConsumerVersion(CPullConsumer* consumer) {
  if (consumer == nullptr) return DEFAULT_SDK_VERSION;
  consumer->version = consumer->consumer.version();
  return consumer->version.c_str();
}
int SetPullConsumerGroupID(CPullConsumer* consumer, const char* groupId) {
  if (consumer == nullptr || groupId == nullptr) return NULL_POINTER;
  consumer->consumer.setGroupName(groupId);
  return OK;
}
const char* GetPullConsumerGroupID(CPullConsumer* consumer) {
  return consumer == nullptr ? nullptr : consumer->consumer.getGroupName().c_str();
}
int SetPullConsumerNameServerAddress(CPullConsumer* consumer, const char* namesrv) {
  if (consumer == nullptr || namesrv == nullptr) return NULL_POINTER;
  consumer->consumer.setNamesrvAddr(namesrv);
  return OK;
}
int SetPullConsumerNameServerDomain(CPullConsumer* consumer, const char* domain) {
  if (consumer == nullptr || domain == nullptr) return NULL_POINTER;
  consumer->consumer.setNamesrvDomain(domain);
  return OK;
}
int SetPullConsumerSessionCredentials(CPullConsumer* consumer, const char* accessKey, const char* secretKey,
                                      const char* channel) {
  if (consumer == nullptr || accessKey == nullptr || secretKey == nullptr || channel == nullptr)
    return NULL_POINTER;
  consumer->consumer.setSessionCredentials(accessKey, secretKey, channel);
  return OK;
}
int SetPullConsumerLogPath(CPullConsumer* consumer, const char* logPath) {
  if (consumer == nullptr || logPath == nullptr) return NULL_POINTER;
  consumer->consumer.setLogPath(logPath);
  return OK;
}
int SetPullConsumerLogFileNumAndSize(CPullConsumer* consumer, int fileNum, long fileSize) {
  if (consumer == nullptr || fileNum <= 0 || fileSize <= 0) return NULL_POINTER;
  consumer->consumer.setLogFileSizeAndNum(fileNum, fileSize);
  return OK;
}
int SetPullConsumerLogLevel(CPullConsumer* consumer, CLogLevel level) {
  if (consumer == nullptr || level < E_LOG_LEVEL_FATAL || level > E_LOG_LEVEL_LEVEL_NUM) return NULL_POINTER;
  consumer->consumer.setLogLevel(static_cast<rocketmq::elogLevel>(level));
  return OK;
}
int SetPullConsumerSsl(CPullConsumer* consumer, int enableSsl) {
  if (consumer == nullptr) return NULL_POINTER;
  consumer->consumer.setEnableSsl(enableSsl != 0);
  return OK;
}
int SetPullConsumerSslPropertyFile(CPullConsumer* consumer, const char* sslPropertyFile) {
  if (consumer == nullptr || sslPropertyFile == nullptr) return NULL_POINTER;
  consumer->consumer.setSslPropertyFile(sslPropertyFile);
  return OK;
}
int FetchSubscriptionMessageQueues(CPullConsumer* consumer, const char* topic, CMessageQueue** mqs,
                                   int* size) {
  if (consumer == nullptr || topic == nullptr || mqs == nullptr || size == nullptr) return NULL_POINTER;
  *mqs = nullptr;
  *size = 0;
  return ackmq::compat::capi::guarded(PULLCONSUMER_FETCH_MQ_FAILED, [&] {
    std::vector<rocketmq::MQMessageQueue> queues;
    consumer->consumer.fetchSubscribeMessageQueues(topic, queues);
    auto out = std::make_unique<CMessageQueue[]>(queues.size());
    for (std::size_t i = 0; i < queues.size(); ++i) {
      ackmq::compat::capi::copyOut(out[i].topic, sizeof out[i].topic, queues[i].getTopic());
      ackmq::compat::capi::copyOut(out[i].brokerName, sizeof out[i].brokerName, queues[i].getBrokerName());
      out[i].queueId = queues[i].getQueueId();
    }
    *size = static_cast<int>(queues.size());
    *mqs = out.release();
  });
}
int ReleaseSubscriptionMessageQueue(CMessageQueue* mqs) {
  if (mqs == nullptr) return NULL_POINTER;
  delete[] mqs;
  return OK;
}
CPullResult Pull(CPullConsumer* consumer, const CMessageQueue* mq, const char* subExpression,
                 long long offset, int maxNums) {
  CPullResult result{};
  result.pullStatus = E_BROKER_TIMEOUT;
  if (consumer == nullptr || mq == nullptr || subExpression == nullptr) {
    ackmq::compat::capi::lastError() = "Pull: a null pointer argument";
    return result;
  }
  ackmq::compat::capi::guarded(PULLCONSUMER_FETCH_MESSAGE_FAILED, [&] {
    const rocketmq::PullResult pulled = consumer->consumer.pull(
        rocketmq::MQMessageQueue(mq->topic, mq->brokerName, mq->queueId), subExpression, offset, maxNums);
    auto data = std::make_unique<ackmq::compat::capi::PulledMessages>();
    for (const auto& m : pulled.msgFoundList) {
      data->messages.push_back(std::make_unique<CMessageExt>(m));
      data->pointers.push_back(data->messages.back().get());
    }
    result.pullStatus = static_cast<CPullStatus>(pulled.pullStatus);
    result.nextBeginOffset = pulled.nextBeginOffset;
    result.minOffset = pulled.minOffset;
    result.maxOffset = pulled.maxOffset;
    result.size = static_cast<int>(data->pointers.size());
    result.msgFoundList = data->pointers.empty() ? nullptr : data->pointers.data();
    result.pData = data.release();
  });
  return result;
}
int ReleasePullResult(CPullResult pullResult) {
  delete static_cast<ackmq::compat::capi::PulledMessages*>(pullResult.pData);
  return OK;
}
}
#endif

#endif /* ACKMQ_COMPAT_C_PULL_CONSUMER_H */
