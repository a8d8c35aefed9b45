#pragma once
// rocketmq-client-cpp compatibility (ackmq): told which queues of a topic a pull consumer holds.

#include <string>
#include <vector>

#include "MQMessageQueue.h"
#include "RocketMQClient.h"

namespace rocketmq {

class ROCKETMQCLIENT_API MQueueListener {
 public:
  virtual ~MQueueListener() {}
  virtual void messageQueueChanged(const std::string& topic, std::vector<MQMessageQueue>& mqAll,
                                   std::vector<MQMessageQueue>& mqDivided) = 0;
};

}  // namespace rocketmq
