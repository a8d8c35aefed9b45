#pragma once
// rocketmq-client-cpp compatibility (ackmq): the callbacks of async sends and pulls. An async send reports
// exactly once, on the producer's callback thread, never inside send(); an AutoDeleteSendCallBack is
// deleted right after that one call, and a plain SendCallback stays the caller's.

#include "MQClientException.h"
#include "PullResult.h"
#include "RocketMQClient.h"
#include "SendResult.h"

namespace rocketmq {

struct AsyncCallback {};

typedef enum sendCallbackType { noAutoDeleteSendCallback = 0, autoDeleteSendCallback = 1 } sendCallbackType;

class ROCKETMQCLIENT_API SendCallback : public AsyncCallback {
 public:
  virtual ~SendCallback() {}
  virtual void onSuccess(SendResult& sendResult) = 0;
  virtual void onException(MQException& e) = 0;
  virtual sendCallbackType getSendCallbackType() { return noAutoDeleteSendCallback; }
};

/// Deleted by the producer after its one call.
class ROCKETMQCLIENT_API AutoDeleteSendCallBack : public SendCallback {
 public:
  virtual ~AutoDeleteSendCallBack() {}
  virtual void onSuccess(SendResult& sendResult) = 0;
  virtual void onException(MQException& e) = 0;
  virtual sendCallbackType getSendCallbackType() { return autoDeleteSendCallback; }
};

class ROCKETMQCLIENT_API PullCallback : public AsyncCallback {
 public:
  virtual ~PullCallback() {}
  virtual void onSuccess(MQMessageQueue& mq, PullResult& result, bool bProducePullRequest) = 0;
  virtual void onException(MQException& e) = 0;
};

}  // namespace rocketmq
