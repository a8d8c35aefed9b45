#pragma once
// rocketmq-client-cpp compatibility (ackmq): picks the queue of an ordered send.

#include <vector>

#include "MQMessage.h"
#include "MQMessageQueue.h"
#include "RocketMQClient.h"

namespace rocketmq {

/// Called with every queue of the topic in queue id order; returns one of them.
class ROCKETMQCLIENT_API MessageQueueSelector {
 public:
  virtual ~MessageQueueSelector() {}
  virtual MQMessageQueue select(const std::vector<MQMessageQueue>& mqs, const MQMessage& msg, void* arg) = 0;
};

}  // namespace rocketmq
