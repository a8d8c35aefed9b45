#pragma once
// rocketmq-client-cpp compatibility (ackmq): runs the local transaction of a half message, and answers the
// broker's check of one whose outcome it never heard.

#include "MQMessage.h"
#include "MQMessageExt.h"
#include "TransactionSendResult.h"

namespace rocketmq {

class ROCKETMQCLIENT_API TransactionListener {
 public:
  virtual ~TransactionListener() {}
  /// Runs the local transaction once the half message is stored; `arg` is sendMessageInTransaction's.
  virtual LocalTransactionState executeLocalTransaction(const MQMessage& msg, void* arg) = 0;
  /// Answers a check of a half message whose state is still unknown.
  virtual LocalTransactionState checkLocalTransaction(const MQMessageExt& msg) = 0;
};

}  // namespace rocketmq
