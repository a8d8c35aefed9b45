#pragma once
// ackmq: BrokerConfig, the broker's settings, with RocketMQ's defaults where RocketMQ has one.

#include <chrono>
#include <cstddef>
#include <string>

namespace ackmq {

/// What the broker does when storing a message would exceed maxStoreBytes and the oldest stored messages
/// are not yet consumed by every group. An in-process store must not grow without bound, nor lose data
/// silently.
enum class StoreFullPolicy {
  /// The send waits, within its sendMsgTimeout (on the broker's clock), for consumers to free room, and
  /// fails with SYSTEM_BUSY only when that budget runs out. Nothing is lost; a producer faster than its
  /// consumers is slowed to their pace. The default. (RocketMQ refuses at once: REJECT_NEW.)
  WAIT,
  /// Refuse the send with SYSTEM_BUSY at once (the producer retries on other queues, then throws). Nothing
  /// is lost.
  REJECT_NEW,
  /// Reclaim the oldest segment anyway: its unconsumed messages are lost, and counted
  /// (testing::storeStats(broker).droppedMessages).
  DROP_OLDEST,
};

/// When a durable broker's send is confirmed (RocketMQ FlushDiskType).
enum class FlushDiskType {
  /// SEND_OK once the message is written to the CommitLog file (the page cache): a killed process loses
  /// nothing confirmed; a power cut may lose what the flusher had not yet flushed. The default.
  ASYNC_FLUSH,
  /// SEND_OK only once the message is on stable storage; concurrent sends share one flush. A flush not
  /// done within syncFlushTimeout answers FLUSH_DISK_TIMEOUT (stored, not yet durable). Consumers are
  /// handed a message only once it is durable.
  SYNC_FLUSH,
};

/// Broker settings. Build with designated initialisers: `BrokerConfig{.defaultTopicQueueNums = 8}`.
/// The broker checks them at construction and throws MQClientException naming the field and the rule.
struct BrokerConfig {
  /// The broker's name, in every MessageQueue and MessageExt it hands out.
  std::string brokerName = "broker-a";
  /// The cluster the broker belongs to (RocketMQ brokerClusterName). Replies to requests go to
  /// "<cluster>_REPLY_TOPIC".
  std::string brokerClusterName = "DefaultCluster";
  /// Queues of an auto-created topic (RocketMQ: min(producer defaultTopicQueueNums 4, broker 8) =
  /// 4). 1..1024.
  int defaultTopicQueueNums = 4;
  /// Create a topic on its first send (RocketMQ autoCreateTopicEnable). Off: sending to an unknown topic
  /// throws MQClientException(NOT_FOUND_TOPIC_EXCEPTION).
  bool autoCreateTopicEnable = true;
  /// The delay levels, 1-based (RocketMQ MessageStoreConfig.messageDelayLevel). Units s, m, h, d; ms also
  /// accepted. Level 3 + reconsumeTimes is the retry back-off.
  std::string messageDelayLevel = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";
  /// Largest body the broker accepts, in bytes (RocketMQ maxMessageSize, 4 MiB). Also caps a batch's bodies.
  std::size_t maxMessageSize = 4 * 1024 * 1024;
  /// Memory the CommitLog may take, in bytes. At least commitLogSegmentBytes. The bound
  /// counts the one reclaimed segment the store keeps to write the next one into, without fresh page faults.
  std::size_t maxStoreBytes = std::size_t{1} << 30;
  /// Size of one CommitLog segment, the unit of reclamation (RocketMQ mappedFileSizeCommitLog is 1 GiB on
  /// disk; in memory a smaller unit reclaims sooner). At least 4096.
  std::size_t commitLogSegmentBytes = std::size_t{16} << 20;
  /// Consumed history kept, in bytes: segments every group has committed past (and that park no delayed
  /// message) are reclaimed, oldest first, once they hold more than this, for replay from the first offset,
  /// viewMessage and queryMessage. At least commitLogSegmentBytes: history goes a segment at a time, so a
  /// smaller bound would keep none. Above maxStoreBytes it changes nothing: maxStoreBytes bounds everything.
  std::size_t maxConsumedHistoryBytes = std::size_t{64} << 20;
  /// A segment whose newest message is older than this is reclaimed whether or not it was consumed
  /// (RocketMQ fileReservedTime), unless it still parks a delayed message.
  std::chrono::hours fileReservedTime{72};
  /// What to do when the store is full of unconsumed messages.
  StoreFullPolicy storeFullPolicy = StoreFullPolicy::WAIT;
  /// How often expired segments are looked for (RocketMQ cleanResourceInterval).
  std::chrono::milliseconds cleanResourceInterval{10'000};
  /// Longest delay a message may ask for with setDeliverTimeMs / setDelayTimeMs (RocketMQ 5 timerMaxDelaySec,
  /// 3 days).
  std::chrono::milliseconds timerMaxDelay{std::chrono::hours(72)};
  /// Fault in CommitLog pages just ahead of the writer on a broker thread of its own, so that sends do not
  /// pay for fresh memory (RocketMQ warmMappedFileEnable). A broker on a ManualClock never warms: it owns no
  /// thread at all.
  bool warmMappedFileEnable = true;
  /// Reconsumes before a concurrently consumed message goes to %DLQ%<group>, for consumers that leave
  /// maxReconsumeTimes at -1 (RocketMQ SubscriptionGroupConfig.retryMaxTimes).
  int retryMaxTimes = 16;
  /// Let consumers subscribe with MessageSelector::bySql (RocketMQ enablePropertyFilter). On by default,
  /// where RocketMQ's is off; off, a SQL92 subscription is refused with MQClientException.
  bool enablePropertyFilter = true;
  /// How old a transactional message must be, unresolved, before the broker checks it back with its
  /// producer group (RocketMQ transactionTimeOut, 6 s); a message's CHECK_IMMUNITY_TIME_IN_SECONDS property
  /// overrides it. Not negative.
  std::chrono::milliseconds transactionTimeOut{6'000};
  /// Checks of one unresolved transactional message before it is discarded to TRANS_CHECK_MAX_TIME_TOPIC
  /// (RocketMQ transactionCheckMax, 15). Not negative.
  int transactionCheckMax = 15;
  /// How often the broker looks for transactional messages to check back (RocketMQ
  /// transactionCheckInterval, 30 s). Positive.
  std::chrono::milliseconds transactionCheckInterval{30'000};

  // ------------------------------------------------------------------------------ the durable store
  /// Where the broker keeps its CommitLog, consumer offsets and topics (RocketMQ storePathRootDir). Empty,
  /// the default: in memory only. Set, the broker is durable: it puts back what the directory holds when
  /// constructed, and confirms a send only once the CommitLog file has it (see flushDiskType). One broker
  /// at a time may open a directory.
  std::string storePathRootDir{};
  /// When a send to a durable broker is confirmed.
  FlushDiskType flushDiskType = FlushDiskType::ASYNC_FLUSH;
  /// SYNC_FLUSH: how long a send waits for its flush before it answers FLUSH_DISK_TIMEOUT (RocketMQ
  /// syncFlushTimeout, 5 s), on the broker's clock. Positive.
  std::chrono::milliseconds syncFlushTimeout{5'000};
  /// ASYNC_FLUSH: how often the flusher looks for written pages to flush (RocketMQ flushIntervalCommitLog,
  /// 500 ms). Positive.
  std::chrono::milliseconds flushIntervalCommitLog{500};
  /// ASYNC_FLUSH: the flusher flushes once this many 4 KiB pages are written but not flushed, and
  /// everything at least every 10 s (RocketMQ flushCommitLogLeastPages 4, flushCommitLogThoroughInterval).
  /// Not negative.
  int flushCommitLogLeastPages = 4;
  /// Size of one CommitLog file on disk, created full size (RocketMQ mappedFileSizeCommitLog, 1 GiB). A
  /// multiple of 8, at least 64 KiB, and at least maxMessageSize plus 64 KiB, so any message fits.
  std::size_t mappedFileSizeCommitLog = std::size_t{1} << 30;
  /// How often consumer offsets are written to the store (RocketMQ flushConsumerOffsetInterval, 5 s); also
  /// at shutdown. After a crash a group resumes from the last written offsets. Positive.
  std::chrono::milliseconds flushConsumerOffsetInterval{5'000};
};

}  // namespace ackmq
