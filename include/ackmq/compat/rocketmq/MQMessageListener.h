#pragma once
// rocketmq-client-cpp compatibility (ackmq): the push consumer's listeners. The consumer consumes orderly or
// concurrently as the listener's getMessageListenerType() says, read once at start().

#include <vector>

#include "MQMessageExt.h"
#include "MQMessageQueue.h"

namespace rocketmq {

enum ConsumeStatus {
  CONSUME_SUCCESS,  ///< the whole batch is consumed
  RECONSUME_LATER  ///< the whole batch failed: concurrently, retried on the back-off ladder; orderly, locally
};

enum MessageListenerType {
  messageListenerDefaultly = 0,
  messageListenerOrderly = 1,
  messageListenerConcurrently = 2
};

class ROCKETMQCLIENT_API MQMessageListener {
 public:
  virtual ~MQMessageListener() {}
  virtual ConsumeStatus consumeMessage(const std::vector<MQMessageExt>& msgs) = 0;
  virtual MessageListenerType getMessageListenerType() { return messageListenerDefaultly; }
};

class ROCKETMQCLIENT_API MessageListenerOrderly : public MQMessageListener {
 public:
  virtual ~MessageListenerOrderly() {}
  virtual ConsumeStatus consumeMessage(const std::vector<MQMessageExt>& msgs) = 0;
  virtual MessageListenerType getMessageListenerType() { return messageListenerOrderly; }
};

class ROCKETMQCLIENT_API MessageListenerConcurrently : public MQMessageListener {
 public:
  virtual ~MessageListenerConcurrently() {}
  virtual ConsumeStatus consumeMessage(const std::vector<MQMessageExt>& msgs) = 0;
  virtual MessageListenerType getMessageListenerType() { return messageListenerConcurrently; }
};

}  // namespace rocketmq
