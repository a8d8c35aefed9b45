#pragma once
// rocketmq-client-cpp compatibility (ackmq): consumer vocabulary.

namespace rocketmq {

enum ConsumeType {
  CONSUME_ACTIVELY,
  CONSUME_PASSIVELY,
};

/// Where a group with no committed offset starts. The three deprecated values map to the nearest of the
/// others: ..._AND_FROM_MIN_WHEN_BOOT_FIRST and MAX_OFFSET to LAST_OFFSET, MIN_OFFSET to FIRST_OFFSET.
enum ConsumeFromWhere {
  CONSUME_FROM_LAST_OFFSET,
  CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST,
  CONSUME_FROM_MIN_OFFSET,
  CONSUME_FROM_MAX_OFFSET,
  CONSUME_FROM_FIRST_OFFSET,
  /// From the first message stored in the last 30 minutes before start().
  CONSUME_FROM_TIMESTAMP,
};

enum MessageModel {
  BROADCASTING,
  CLUSTERING,
};

}  // namespace rocketmq
