#pragma once
// ackmq internals: the checks a BrokerConfig passes at the broker's construction. A bad field throws
// MQClientException naming the field and the rule, before the broker exists.

#include <algorithm>
#include <cstddef>
#include <string>

#include <ackmq/broker_config.hpp>
#include <ackmq/detail/validators.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

inline constexpr int kMaxQueueNums = 1024;  // queues of one topic at most

/// `c`, if every field is within its rule.
inline BrokerConfig checkedConfig(BrokerConfig c) {
  auto bad = [](const std::string& what) { throw MQClientException(ResponseCode::MESSAGE_ILLEGAL, what); };
  checkName("BrokerConfig.brokerName", c.brokerName, kMaxTopicLength, ResponseCode::MESSAGE_ILLEGAL);
  // The cluster names the reply topic, "<cluster>_REPLY_TOPIC", which must be a legal topic.
  checkName("BrokerConfig.brokerClusterName", c.brokerClusterName, kMaxTopicLength - 12,
            ResponseCode::MESSAGE_ILLEGAL);
  if (c.defaultTopicQueueNums < 1 || c.defaultTopicQueueNums > kMaxQueueNums) {
    bad("BrokerConfig.defaultTopicQueueNums " + std::to_string(c.defaultTopicQueueNums) +
        " is out of range 1.." + std::to_string(kMaxQueueNums));
  }
  if (c.maxMessageSize == 0) bad("BrokerConfig.maxMessageSize must be positive");
  if (c.commitLogSegmentBytes < 4096) {
    bad("BrokerConfig.commitLogSegmentBytes " + std::to_string(c.commitLogSegmentBytes) + " is below 4096");
  }
  if (c.maxStoreBytes < c.commitLogSegmentBytes) {
    bad("BrokerConfig.maxStoreBytes " + std::to_string(c.maxStoreBytes) + " is below commitLogSegmentBytes " +
        std::to_string(c.commitLogSegmentBytes));
  }
  if (c.maxConsumedHistoryBytes < c.commitLogSegmentBytes) {
    bad("BrokerConfig.maxConsumedHistoryBytes " + std::to_string(c.maxConsumedHistoryBytes) +
        " is below commitLogSegmentBytes " + std::to_string(c.commitLogSegmentBytes));
  }
  if (c.fileReservedTime.count() <= 0) bad("BrokerConfig.fileReservedTime must be positive");
  if (c.cleanResourceInterval.count() <= 0) bad("BrokerConfig.cleanResourceInterval must be positive");
  if (c.timerMaxDelay.count() <= 0) bad("BrokerConfig.timerMaxDelay must be positive");
  if (c.retryMaxTimes < 0) bad("BrokerConfig.retryMaxTimes must not be negative");
  if (c.transactionTimeOut.count() < 0) bad("BrokerConfig.transactionTimeOut must not be negative");
  if (c.transactionCheckMax < 0) bad("BrokerConfig.transactionCheckMax must not be negative");
  if (c.transactionCheckInterval.count() <= 0) bad("BrokerConfig.transactionCheckInterval must be positive");
  if (c.syncFlushTimeout.count() <= 0) bad("BrokerConfig.syncFlushTimeout must be positive");
  if (c.flushIntervalCommitLog.count() <= 0) bad("BrokerConfig.flushIntervalCommitLog must be positive");
  if (c.flushCommitLogLeastPages < 0) bad("BrokerConfig.flushCommitLogLeastPages must not be negative");
  if (c.flushConsumerOffsetInterval.count() <= 0)
    bad("BrokerConfig.flushConsumerOffsetInterval must be positive");
  const std::size_t minFile = std::max<std::size_t>(std::size_t{64} << 10, c.maxMessageSize + (64 << 10));
  if (c.mappedFileSizeCommitLog % 8 != 0 || c.mappedFileSizeCommitLog < minFile) {
    bad("BrokerConfig.mappedFileSizeCommitLog " + std::to_string(c.mappedFileSizeCommitLog) +
        " must be a multiple of 8 and at least " + std::to_string(minFile) +
        " (64 KiB beyond maxMessageSize, so that every message fits one file)");
  }
  return c;
}

}  // namespace ackmq::detail
