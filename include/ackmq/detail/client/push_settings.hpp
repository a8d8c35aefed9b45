#pragma once
// ackmq internals: a push consumer's settings (RocketMQ DefaultMQPushConsumer's fields), with RocketMQ's
// defaults. The setters check each value's range as it is set; validate() checks what depends on several
// fields, once, at start().

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include <ackmq/allocate_strategy.hpp>
#include <ackmq/consumer_types.hpp>
#include <ackmq/detail/validators.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

/// Thread safety: written before start(), only read after.
struct PushSettings {
  MessageModel model = MessageModel::CLUSTERING;
  ConsumeFromWhere consumeFromWhere = ConsumeFromWhere::CONSUME_FROM_LAST_OFFSET;
  std::int64_t consumeTimestamp = -1;  // -1: 30 minutes before start()
  int consumeThreadMin = 20;
  int consumeThreadMax = 20;
  int consumeMessageBatchMaxSize = 1;
  int pullBatchSize = 32;
  int pullThresholdForQueue = 1000;
  int pullThresholdSizeForQueue = 100;  // MiB
  int consumeConcurrentlyMaxSpan = 2000;
  int maxReconsumeTimes = -1;
  long suspendCurrentQueueTimeMillis = 1000;
  std::chrono::milliseconds consumeTimeout{std::chrono::minutes(15)};
  long awaitTerminationMillis = 10'000;
  std::shared_ptr<const AllocateMessageQueueStrategy> strategy =
      std::make_shared<AllocateMessageQueueAveragely>();

  bool clustering() const noexcept { return model == MessageModel::CLUSTERING; }
  std::size_t cachedBytesLimit() const noexcept {
    return static_cast<std::size_t>(pullThresholdSizeForQueue) * 1024 * 1024;
  }
  /// RocketMQ: -1 means the broker's retryMaxTimes (16) concurrently, and unbounded orderly.
  int effectiveMaxReconsumeTimes(bool orderly, int brokerRetryMaxTimes) const noexcept {
    if (maxReconsumeTimes >= 0) return maxReconsumeTimes;
    return orderly ? std::numeric_limits<int>::max() : brokerRetryMaxTimes;
  }

  /// The checks that span fields, at start().
  void validate() const {
    if (consumeThreadMin > consumeThreadMax) {
      illegal(ResponseCode::MESSAGE_ILLEGAL, "consumeThreadMin " + std::to_string(consumeThreadMin) +
                                                 " is larger than consumeThreadMax " +
                                                 std::to_string(consumeThreadMax));
    }
  }

  /// A setter's range check: throws MQClientException naming the setter and the range.
  static void range(std::string_view setter, long v, long lo, long hi) {
    if (v < lo || v > hi) {
      illegal(ResponseCode::MESSAGE_ILLEGAL, std::string(setter) + ": " + std::to_string(v) +
                                                 " is out of range " + std::to_string(lo) + ".." +
                                                 std::to_string(hi));
    }
  }
};

}  // namespace ackmq::detail
