#pragma once
// rocketmq-client-cpp compatibility (ackmq): a transactional send's result and the local transaction's
// state.

#include <string>

#include "SendResult.h"

namespace rocketmq {

enum LocalTransactionState { COMMIT_MESSAGE, ROLLBACK_MESSAGE, UNKNOWN };

class ROCKETMQCLIENT_API TransactionSendResult : public SendResult {
 public:
  TransactionSendResult() {}
  TransactionSendResult(const SendStatus& sendStatus, const std::string& msgId,
                        const std::string& offsetMsgId, const MQMessageQueue& messageQueue, int64 queueOffset)
      : SendResult(sendStatus, msgId, offsetMsgId, messageQueue, queueOffset) {}

  LocalTransactionState getLocalTransactionState() { return m_localTransactionState; }
  void setLocalTransactionState(LocalTransactionState localTransactionState) {
    m_localTransactionState = localTransactionState;
  }

 private:
  LocalTransactionState m_localTransactionState = UNKNOWN;
};

}  // namespace rocketmq
