/* rocketmq-client-cpp compatibility (ackmq): the C producer. Every function returns OK, NULL_POINTER for a
 * null pointer or a bad argument, or the failing operation's code (GetLatestErrorMessage says why). */
#ifndef ACKMQ_COMPAT_C_PRODUCER_H
#define ACKMQ_COMPAT_C_PRODUCER_H

#include "CBatchMessage.h"
#include "CMQException.h"
#include "CMessage.h"
#include "CMessageExt.h"
#include "CSendResult.h"
#include "CTransactionStatus.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct CProducer CProducer;

/* Returns the index, among `size` queues, of the queue to send to. */
typedef int (*QueueSelectorCallback)(int size, CMessage* msg, void* arg);
typedef void (*CSendSuccessCallback)(CSendResult result);
typedef void (*CSendExceptionCallback)(CMQException e);
typedef void (*COnSendSuccessCallback)(CSendResult result, CMessage* msg, void* userData);
typedef void (*COnSendExceptionCallback)(CMQException e, CMessage* msg, void* userData);
typedef CTransactionStatus (*CLocalTransactionCheckerCallback)(CProducer* producer, CMessageExt* msg,
                                                               void* data);
typedef CTransactionStatus (*CLocalTransactionExecutorCallback)(CProducer* producer, CMessage* msg,
                                                                void* data);

ROCKETMQCLIENT_API CProducer* CreateProducer(const char* groupId);
ROCKETMQCLIENT_API CProducer* CreateOrderlyProducer(const char* groupId);
/* `callback` answers the broker's check-backs, on the producer's check thread, given `userData`. A null
 * callback is accepted, as the client accepts it: then no local transaction runs and every transactional
 * message stays UNKNOWN. */
ROCKETMQCLIENT_API CProducer* CreateTransactionProducer(const char* groupId,
                                                        CLocalTransactionCheckerCallback callback,
                                                        void* userData);
ROCKETMQCLIENT_API int DestroyProducer(CProducer* producer);
ROCKETMQCLIENT_API int StartProducer(CProducer* producer);
ROCKETMQCLIENT_API int ShutdownProducer(CProducer* producer);
ROCKETMQCLIENT_API const char* ShowProducerVersion(CProducer* producer);

ROCKETMQCLIENT_API int SetProducerNameServerAddress(CProducer* producer, const char* namesrv);
ROCKETMQCLIENT_API int SetProducerNameServerDomain(CProducer* producer, const char* domain);
ROCKETMQCLIENT_API int SetProducerGroupName(CProducer* producer, const char* groupName);
ROCKETMQCLIENT_API int SetProducerInstanceName(CProducer* producer, const char* instanceName);
ROCKETMQCLIENT_API int SetProducerSessionCredentials(CProducer* producer, const char* accessKey,
                                                     const char* secretKey, const char* onsChannel);
ROCKETMQCLIENT_API int SetProducerLogPath(CProducer* producer, const char* logPath);
ROCKETMQCLIENT_API int SetProducerLogFileNumAndSize(CProducer* producer, int fileNum, long fileSize);
ROCKETMQCLIENT_API int SetProducerLogLevel(CProducer* producer, CLogLevel level);
ROCKETMQCLIENT_API int SetProducerSendMsgTimeout(CProducer* producer, int timeout);
ROCKETMQCLIENT_API int SetProducerCompressLevel(CProducer* producer, int level);
ROCKETMQCLIENT_API int SetProducerMaxMessageSize(CProducer* producer, int size);
ROCKETMQCLIENT_API int SetProducerMessageTrace(CProducer* producer, CTraceModel openTrace);
ROCKETMQCLIENT_API int SetProducerSsl(CProducer* producer, int enableSsl);
ROCKETMQCLIENT_API int SetProducerSslPropertyFile(CProducer* producer, const char* sslPropertyFile);

ROCKETMQCLIENT_API int SendMessageSync(CProducer* producer, CMessage* msg, CSendResult* result);
ROCKETMQCLIENT_API int SendBatchMessage(CProducer* producer, CBatchMessage* msg, CSendResult* result);
ROCKETMQCLIENT_API int SendMessageAsync(CProducer* producer, CMessage* msg,
                                        CSendSuccessCallback cSendSuccessCallback,
                                        CSendExceptionCallback cSendExceptionCallback);
/* `msg` must stay alive until one of the callbacks has run: it is handed back to it. */
ROCKETMQCLIENT_API int SendAsync(CProducer* producer, CMessage* msg,
                                 COnSendSuccessCallback cSendSuccessCallback,
                                 COnSendExceptionCallback cSendExceptionCallback, void* userData);
ROCKETMQCLIENT_API int SendMessageOneway(CProducer* producer, CMessage* msg);
ROCKETMQCLIENT_API int SendMessageOnewayOrderly(CProducer* producer, CMessage* msg,
                                                QueueSelectorCallback selector, void* arg);
ROCKETMQCLIENT_API int SendMessageOrderly(CProducer* producer, CMessage* msg, QueueSelectorCallback callback,
                                          void* arg, int autoRetryTimes, CSendResult* result);
ROCKETMQCLIENT_API int SendMessageOrderlyAsync(CProducer* producer, CMessage* msg,
                                               QueueSelectorCallback callback, void* arg,
                                               CSendSuccessCallback cSendSuccessCallback,
                                               CSendExceptionCallback cSendExceptionCallback);
/* Sends to the queue the sharding key hashes to, so that one key keeps one queue. */
ROCKETMQCLIENT_API int SendMessageOrderlyByShardingKey(CProducer* producer, CMessage* msg,
                                                       const char* shardingKey, CSendResult* result);
/* Stores `msg` as a half, runs `callback(producer, msg, userData)` on this thread and commits, rolls back, or
 * (E_UNKNOWN_TRANSACTION) leaves the half to the check-back, as it answers. PRODUCER_SEND_TRANSACTION_FAILED
 * when the send fails or the producer was not made by CreateTransactionProducer. */
ROCKETMQCLIENT_API int SendMessageTransaction(CProducer* producer, CMessage* msg,
                                              CLocalTransactionExecutorCallback callback, void* userData,
                                              CSendResult* result);

#ifdef __cplusplus
}
#endif

#if defined(ACKMQ_ROCKETMQ_C_IMPLEMENTATION) && defined(__cplusplus)
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "DefaultMQProducer.h"
#include "TransactionMQProducer.h"

struct CProducer {
  explicit CProducer(const char* group) : producer(group) {}
  rocketmq::DefaultMQProducer producer;
  std::unique_ptr<rocketmq::TransactionMQProducer> transaction;  // for CreateTransactionProducer
  std::string version;                                           // what ShowProducerVersion points into
};

namespace ackmq::compat::capi {

inline CSendResult cResultOf(const rocketmq::SendResult& r) {
  CSendResult out{};
  out.sendStatus = static_cast<CSendStatus>(r.getSendStatus());
  copyOut(out.msgId, sizeof out.msgId, r.getMsgId());
  out.offset = r.getQueueOffset();
  return out;
}

inline CMQException cExceptionOf(rocketmq::MQException& e) {
  CMQException out{};
  out.error = e.GetError();
  out.line = e.GetLine();
  copyOut(out.file, sizeof out.file, e.GetFile());
  copyOut(out.msg, sizeof out.msg, e.what());
  copyOut(out.type, sizeof out.type, e.GetType());
  return out;
}

/// Forwards an async send's outcome to C function pointers; deleted after its one call.
class CCallback final : public rocketmq::AutoDeleteSendCallBack {
 public:
  CCallback(std::function<void(CSendResult)> success, std::function<void(CMQException)> failure)
      : success_(std::move(success)), failure_(std::move(failure)) {}
  void onSuccess(rocketmq::SendResult& r) override { success_(cResultOf(r)); }
  void onException(rocketmq::MQException& e) override { failure_(cExceptionOf(e)); }

 private:
  std::function<void(CSendResult)> success_;
  std::function<void(CMQException)> failure_;
};

/// A selector that asks a C callback for the queue's index.
class CSelector final : public rocketmq::MessageQueueSelector {
 public:
  CSelector(QueueSelectorCallback callback, CMessage* msg) : callback_(callback), msg_(msg) {}
  rocketmq::MQMessageQueue select(const std::vector<rocketmq::MQMessageQueue>& mqs,
                                  const rocketmq::MQMessage&, void* arg) override {
    const int index = callback_(static_cast<int>(mqs.size()), msg_, arg);
    if (index < 0 || static_cast<std::size_t>(index) >= mqs.size()) {
      ackmq::compat::detail::refuse("QueueSelectorCallback returned " + std::to_string(index) +
                                    ", not a queue index in [0, " + std::to_string(mqs.size()) + ")");
    }
    return mqs[static_cast<std::size_t>(index)];
  }

 private:
  QueueSelectorCallback callback_;
  CMessage* msg_;
};

/// Picks the queue a sharding key hashes to.
class KeySelector final : public rocketmq::MessageQueueSelector {
 public:
  rocketmq::MQMessageQueue select(const std::vector<rocketmq::MQMessageQueue>& mqs,
                                  const rocketmq::MQMessage&, void* arg) override {
    const std::size_t h = std::hash<std::string>{}(*static_cast<const std::string*>(arg));
    return mqs[h % mqs.size()];
  }
};

/// What SendMessageTransaction hands the listener as the send's `arg`: the C local transaction to run.
struct CLocalTransaction {
  CLocalTransactionExecutorCallback executor;
  CMessage* msg;
  void* userData;
};

inline rocketmq::LocalTransactionState stateOf(CTransactionStatus status) noexcept {
  switch (status) {
    case E_COMMIT_TRANSACTION:
      return rocketmq::COMMIT_MESSAGE;
    case E_ROLLBACK_TRANSACTION:
      return rocketmq::ROLLBACK_MESSAGE;
    default:
      return rocketmq::UNKNOWN;
  }
}

/// The listener of a producer made by CreateTransactionProducer. Without a checker it answers UNKNOWN to
/// both calls and runs no C callback, as the client's C API does.
class CTransactionListener final : public rocketmq::TransactionListener {
 public:
  CTransactionListener(CProducer* producer, CLocalTransactionCheckerCallback checker, void* userData)
      : producer_(producer), checker_(checker), userData_(userData) {}
  rocketmq::LocalTransactionState executeLocalTransaction(const rocketmq::MQMessage&, void* arg) override {
    if (checker_ == nullptr) return rocketmq::UNKNOWN;
    const auto* local = static_cast<const CLocalTransaction*>(arg);
    return stateOf(local->executor(producer_, local->msg, local->userData));
  }
  rocketmq::LocalTransactionState checkLocalTransaction(const rocketmq::MQMessageExt& msg) override {
    if (checker_ == nullptr) return rocketmq::UNKNOWN;
    CMessageExt ext(msg);
    return stateOf(checker_(producer_, &ext, userData_));
  }

 private:
  CProducer* producer_;
  CLocalTransactionCheckerCallback checker_;
  void* userData_;
};

/// Applies `f` to the producer, and to its transactional twin when it has one.
template <class F>
int configure(CProducer* producer, F&& f) {
  if (producer == nullptr) return NULL_POINTER;
  return guarded(PRODUCER_START_FAILED, [&] {
    f(producer->producer);
    if (producer->transaction) f(*producer->transaction);
  });
}

}  // namespace ackmq::compat::capi

extern "C" {
CProducer* CreateProducer(const char* groupId) {
  if (groupId == nullptr) return nullptr;
  return new CProducer(groupId);
}
CProducer* CreateOrderlyProducer(const char* groupId) {
  return CreateProducer(groupId);
}
CProducer* CreateTransactionProducer(const char* groupId, CLocalTransactionCheckerCallback callback,
                                     void* userData) {
  if (groupId == nullptr) return nullptr;
  CProducer* producer = CreateProducer(groupId);
  producer->transaction = std::make_unique<rocketmq::TransactionMQProducer>(groupId);
  producer->transaction->setTransactionListener(
      new ackmq::compat::capi::CTransactionListener(producer, callback, userData));
  return producer;
}
int DestroyProducer(CProducer* producer) {
  if (producer == nullptr) return NULL_POINTER;
  delete producer;
  return OK;
}
int StartProducer(CProducer* producer) {
  if (producer == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::guarded(PRODUCER_START_FAILED, [&] {
    producer->producer.start();
    if (producer->transaction) producer->transaction->start();
  });
}
int ShutdownProducer(CProducer* producer) {
  if (producer == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::guarded(PRODUCER_START_FAILED, [&] {
    producer->producer.shutdown();
    if (producer->transaction) producer->transaction->shutdown();
  });
}
const char* ShowProducerVersion(CProducer* producer) {
  if (producer == nullptr) return DEFAULT_SDK_VERSION;
  producer->version = producer->producer.version();
  return producer->version.c_str();
}

int SetProducerNameServerAddress(CProducer* producer, const char* namesrv) {
  if (namesrv == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::configure(producer, [&](auto& p) { p.setNamesrvAddr(namesrv); });
}
int SetProducerNameServerDomain(CProducer* producer, const char* domain) {
  if (domain == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::configure(producer, [&](auto& p) { p.setNamesrvDomain(domain); });
}
int SetProducerGroupName(CProducer* producer, const char* groupName) {
  if (groupName == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::configure(producer, [&](auto& p) { p.setGroupName(groupName); });
}
int SetProducerInstanceName(CProducer* producer, const char* instanceName) {
  if (instanceName == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::configure(producer, [&](auto& p) { p.setInstanceName(instanceName); });
}
int SetProducerSessionCredentials(CProducer* producer, const char* accessKey, const char* secretKey,
                                  const char* onsChannel) {
  if (accessKey == nullptr || secretKey == nullptr || onsChannel == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::configure(
      producer, [&](auto& p) { p.setSessionCredentials(accessKey, secretKey, onsChannel); });
}
int SetProducerLogPath(CProducer* producer, const char* logPath) {
  if (logPath == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::configure(producer, [&](auto& p) { p.setLogPath(logPath); });
}
int SetProducerLogFileNumAndSize(CProducer* producer, int fileNum, long fileSize) {
  if (fileNum <= 0 || fileSize <= 0) return NULL_POINTER;
  return ackmq::compat::capi::configure(producer,
                                        [&](auto& p) { p.setLogFileSizeAndNum(fileNum, fileSize); });
}
int SetProducerLogLevel(CProducer* producer, CLogLevel level) {
  if (level < E_LOG_LEVEL_FATAL || level > E_LOG_LEVEL_LEVEL_NUM) return NULL_POINTER;
  return ackmq::compat::capi::configure(
      producer, [&](auto& p) { p.setLogLevel(static_cast<rocketmq::elogLevel>(level)); });
}
int SetProducerSendMsgTimeout(CProducer* producer, int timeout) {
  if (timeout <= 0) return NULL_POINTER;
  return ackmq::compat::capi::configure(producer, [&](auto& p) { p.setSendMsgTimeout(timeout); });
}
int SetProducerCompressLevel(CProducer* producer, int level) {
  if (level < -1 || level > 9) return NULL_POINTER;
  return ackmq::compat::capi::configure(producer, [&](auto& p) { p.setCompressLevel(level); });
}
int SetProducerMaxMessageSize(CProducer* producer, int size) {
  if (size <= 0) return NULL_POINTER;
  return ackmq::compat::capi::configure(producer, [&](auto& p) { p.setMaxMessageSize(size); });
}
int SetProducerMessageTrace(CProducer* producer, CTraceModel openTrace) {
  return ackmq::compat::capi::configure(producer, [&](auto& p) { p.setMessageTrace(openTrace == OPEN); });
}
int SetProducerSsl(CProducer* producer, int enableSsl) {
  return ackmq::compat::capi::configure(producer, [&](auto& p) { p.setEnableSsl(enableSsl != 0); });
}
int SetProducerSslPropertyFile(CProducer* producer, const char* sslPropertyFile) {
  if (sslPropertyFile == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::configure(producer, [&](auto& p) { p.setSslPropertyFile(sslPropertyFile); });
}

int SendMessageSync(CProducer* producer, CMessage* msg, CSendResult* result) {
  if (producer == nullptr || msg == nullptr || result == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::guarded(PRODUCER_SEND_SYNC_FAILED, [&] {
    *result = ackmq::compat::capi::cResultOf(producer->producer.send(msg->message));
  });
}
int SendBatchMessage(CProducer* producer, CBatchMessage* batch, CSendResult* result) {
  if (producer == nullptr || batch == nullptr || result == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::guarded(PRODUCER_SEND_SYNC_FAILED, [&] {
    *result = ackmq::compat::capi::cResultOf(producer->producer.send(batch->messages));
  });
}
int SendMessageAsync(CProducer* producer, CMessage* msg, CSendSuccessCallback cSendSuccessCallback,
                     CSendExceptionCallback cSendExceptionCallback) {
  if (producer == nullptr || msg == nullptr || cSendSuccessCallback == nullptr ||
      cSendExceptionCallback == nullptr) {
    return NULL_POINTER;
  }
  return ackmq::compat::capi::guarded(PRODUCER_SEND_ASYNC_FAILED, [&] {
    auto callback =
        std::make_unique<ackmq::compat::capi::CCallback>(cSendSuccessCallback, cSendExceptionCallback);
    producer->producer.send(msg->message, callback.get());
    callback.release();  // the producer deletes it after its one call
  });
}
int SendAsync(CProducer* producer, CMessage* msg, COnSendSuccessCallback cSendSuccessCallback,
              COnSendExceptionCallback cSendExceptionCallback, void* userData) {
  if (producer == nullptr || msg == nullptr || cSendSuccessCallback == nullptr ||
      cSendExceptionCallback == nullptr) {
    return NULL_POINTER;
  }
  return ackmq::compat::capi::guarded(PRODUCER_SEND_ASYNC_FAILED, [&] {
    auto callback = std::make_unique<ackmq::compat::capi::CCallback>(
        [=](CSendResult r) { cSendSuccessCallback(r, msg, userData); },
        [=](CMQException e) { cSendExceptionCallback(e, msg, userData); });
    producer->producer.send(msg->message, callback.get());
    callback.release();
  });
}
int SendMessageOneway(CProducer* producer, CMessage* msg) {
  if (producer == nullptr || msg == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::guarded(PRODUCER_SEND_ONEWAY_FAILED,
                                      [&] { producer->producer.sendOneway(msg->message); });
}
int SendMessageOnewayOrderly(CProducer* producer, CMessage* msg, QueueSelectorCallback selector, void* arg) {
  if (producer == nullptr || msg == nullptr || selector == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::guarded(PRODUCER_SEND_ONEWAY_FAILED, [&] {
    ackmq::compat::capi::CSelector chooser(selector, msg);
    producer->producer.sendOneway(msg->message, &chooser, arg);
  });
}
int SendMessageOrderly(CProducer* producer, CMessage* msg, QueueSelectorCallback callback, void* arg,
                       int autoRetryTimes, CSendResult* result) {
  if (producer == nullptr || msg == nullptr || callback == nullptr || result == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::guarded(PRODUCER_SEND_ORDERLY_FAILED, [&] {
    ackmq::compat::capi::CSelector chooser(callback, msg);
    *result =
        ackmq::compat::capi::cResultOf(producer->producer.send(msg->message, &chooser, arg, autoRetryTimes));
  });
}
int SendMessageOrderlyAsync(CProducer* producer, CMessage* msg, QueueSelectorCallback callback, void* arg,
                            CSendSuccessCallback cSendSuccessCallback,
                            CSendExceptionCallback cSendExceptionCallback) {
  if (producer == nullptr || msg == nullptr || callback == nullptr || cSendSuccessCallback == nullptr ||
      cSendExceptionCallback == nullptr) {
    return NULL_POINTER;
  }
  return ackmq::compat::capi::guarded(PRODUCER_SEND_ORDERLYASYNC_FAILED, [&] {
    ackmq::compat::capi::CSelector chooser(callback, msg);
    auto done =
        std::make_unique<ackmq::compat::capi::CCallback>(cSendSuccessCallback, cSendExceptionCallback);
    producer->producer.send(msg->message, &chooser, arg, done.get());
    done.release();
  });
}
int SendMessageOrderlyByShardingKey(CProducer* producer, CMessage* msg, const char* shardingKey,
                                    CSendResult* result) {
  if (producer == nullptr || msg == nullptr || shardingKey == nullptr || result == nullptr)
    return NULL_POINTER;
  return ackmq::compat::capi::guarded(PRODUCER_SEND_ORDERLY_FAILED, [&] {
    ackmq::compat::capi::KeySelector chooser;
    std::string key = shardingKey;
    *result = ackmq::compat::capi::cResultOf(producer->producer.send(msg->message, &chooser, &key));
  });
}
int SendMessageTransaction(CProducer* producer, CMessage* msg, CLocalTransactionExecutorCallback callback,
                           void* userData, CSendResult* result) {
  if (producer == nullptr || msg == nullptr || callback == nullptr || result == nullptr) return NULL_POINTER;
  return ackmq::compat::capi::guarded(PRODUCER_SEND_TRANSACTION_FAILED, [&] {
    if (!producer->transaction) {
      ackmq::compat::detail::refuse(
          "SendMessageTransaction: the producer was not made by CreateTransactionProducer");
    }
    ackmq::compat::capi::CLocalTransaction local{callback, msg, userData};
    *result =
        ackmq::compat::capi::cResultOf(producer->transaction->sendMessageInTransaction(msg->message, &local));
  });
}
}
#endif

#endif /* ACKMQ_COMPAT_C_PRODUCER_H */
