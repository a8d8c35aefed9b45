#pragma once
// ackmq: the consumer vocabulary shared by the broker and the consumers: message models, where a new group
// starts, and the statuses a listener returns.

#include <string_view>

namespace ackmq {

/// How a group's members share messages (RocketMQ MessageModel).
enum class MessageModel {
  /// Every member receives every message; failures are dropped, never retried; offsets per member.
  BROADCASTING,
  /// The members share the queues; failures go to %RETRY%<group>; offsets per group. The default.
  CLUSTERING,
};

/// Where a group with no committed offset starts (RocketMQ ConsumeFromWhere).
enum class ConsumeFromWhere {
  /// At each queue's end as it stands when the group first starts; the retry topic from its start. Queues
  /// created after that start at their beginning. The default.
  CONSUME_FROM_LAST_OFFSET,
  /// At each queue's first retained message.
  CONSUME_FROM_FIRST_OFFSET,
  /// At the first message stored at or after the consumer's consumeTimestamp.
  CONSUME_FROM_TIMESTAMP,
};

/// What a concurrent listener returns (RocketMQ ConsumeConcurrentlyStatus).
enum class ConsumeConcurrentlyStatus {
  CONSUME_SUCCESS,  ///< the messages (up to the context's ackIndex) are consumed
  RECONSUME_LATER,  ///< the whole batch failed: retry it later, on the back-off ladder
};

/// What an orderly listener returns (RocketMQ ConsumeOrderlyStatus).
enum class ConsumeOrderlyStatus {
  SUCCESS,                         ///< consumed: commit and move on
  ROLLBACK,                        ///< deprecated: with autoCommit off, redeliver the batch
  COMMIT,                          ///< deprecated: with autoCommit off, commit
  SUSPEND_CURRENT_QUEUE_A_MOMENT,  ///< failed: redeliver the same batch after the suspend time, blocking the
                                   ///< queue
};

constexpr std::string_view nameOf(MessageModel m) noexcept {
  return m == MessageModel::BROADCASTING ? "BROADCASTING" : "CLUSTERING";
}
constexpr std::string_view nameOf(ConsumeConcurrentlyStatus s) noexcept {
  return s == ConsumeConcurrentlyStatus::CONSUME_SUCCESS ? "CONSUME_SUCCESS" : "RECONSUME_LATER";
}
constexpr std::string_view nameOf(ConsumeOrderlyStatus s) noexcept {
  switch (s) {
    case ConsumeOrderlyStatus::SUCCESS:
      return "SUCCESS";
    case ConsumeOrderlyStatus::ROLLBACK:
      return "ROLLBACK";
    case ConsumeOrderlyStatus::COMMIT:
      return "COMMIT";
    case ConsumeOrderlyStatus::SUSPEND_CURRENT_QUEUE_A_MOMENT:
      return "SUSPEND_CURRENT_QUEUE_A_MOMENT";
  }
  return "UNKNOWN";
}

}  // namespace ackmq
