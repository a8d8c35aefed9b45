#pragma once
// ackmq internals: the durable store. It keeps on disk what the in-memory store holds, and puts it back
// when the broker opens the directory again:
//
//   <storePathRootDir>/lock, format, abort      one broker at a time; the format version; crash or clean
//   <storePathRootDir>/commitlog/<20 digits>    the CommitLog's segment files (SegmentLog)
//   <storePathRootDir>/config/topics            every topic and its queue count (StateFile)
//   <storePathRootDir>/config/consumerOffset    every group's committed offsets (StateFile)
//
// Every append to the in-memory store is one CommitLog record, written under the store lock before the
// append is published (AppendJournal): a batch is one record, so it survives whole or not at all. The
// in-memory store stays what readers use; the disk follows it, a segment file removed once memory has let
// go of every message it holds.
//
// Opening replays the CommitLog into the in-memory store, each message at its own queue offset, with its
// ids and timestamps; records of the broker's own bookkeeping topics (delayed messages, transaction
// halves) are not put back.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <ackmq/body_codec.hpp>
#include <ackmq/broker_config.hpp>
#include <ackmq/detail/body_traits.hpp>
#include <ackmq/detail/broker/arrivals.hpp>
#include <ackmq/detail/broker/timer_service.hpp>
#include <ackmq/detail/durable/file_system.hpp>
#include <ackmq/detail/durable/group_commit.hpp>
#include <ackmq/detail/durable/record_codec.hpp>
#include <ackmq/detail/durable/segment_log.hpp>
#include <ackmq/detail/durable/state_codec.hpp>
#include <ackmq/detail/durable/state_file.hpp>
#include <ackmq/detail/durable/store_directory.hpp>
#include <ackmq/detail/store/append_journal.hpp>
#include <ackmq/detail/store/message_store.hpp>
#include <ackmq/status.hpp>
#include <ackmq/store_recovery.hpp>

namespace ackmq::detail {

/// A Body a durable store can write as bytes: std::string, or one with an ackmq::BodyCodec.
template <class Body>
concept DurableBody = kBytesBody<Body> || requires(const Body& b, std::string_view bytes) {
  { BodyCodec<Body>::toBytes(b) } -> std::convertible_to<std::string>;
  { BodyCodec<Body>::fromBytes(bytes) } -> std::convertible_to<Body>;
};

/// Thread safety: thread-safe.
template <class Body, class Clock>
class DurableStore final : public AppendJournal, private TimerTarget {
 public:
  DurableStore(FileSystem& fs, const BrokerConfig& config, MessageStore<Body>& store,
               TimerService<Clock>& timers, Clock& clock)
      : config_(config),
        store_(store),
        timers_(timers),
        clock_(clock),
        directory_(fs, config.storePathRootDir),
        log_(fs, directory_.commitLogDir(), config.mappedFileSizeCommitLog),
        topicsFile_(fs, configDir(fs, config.storePathRootDir), "topics", 1),
        offsetsFile_(fs, configDir(fs, config.storePathRootDir), "consumerOffset", 1),
        sync_(config.flushDiskType == FlushDiskType::SYNC_FLUSH) {}
  DurableStore(const DurableStore&) = delete;
  DurableStore& operator=(const DurableStore&) = delete;
  ~DurableStore() {
    close();
    store_.setJournal(nullptr);
  }

  /// Opens the store and puts back what it holds: the topics (through `ensureTopic(name, queueNums)`),
  /// the committed offsets, then every message. From then on the in-memory store's appends are journaled.
  template <class EnsureTopic>
  StoreRecovery open(EnsureTopic&& ensureTopic) {
    const auto started = std::chrono::steady_clock::now();
    StoreRecovery report;
    report.durable = true;
    report.cleanShutdown = directory_.lastExitClean();
    const LogRecovery logged = log_.open();
    report.recordsRead = logged.records;
    report.bytesTruncated = logged.bytesTruncated;
    if (auto bytes = topicsFile_.read()) {
      for (const auto& [name, queueNums] : decodeTopics(*bytes))
        ensureTopic(name, queueNums);
    }
    std::vector<CommittedOffset> offsets;
    if (auto bytes = offsetsFile_.read()) offsets = decodeOffsets(*bytes);
    for (const CommittedOffset& o : offsets)  // before the messages: replay may reclaim what is consumed
      store_.offsets().slot(o.group, ensureTopic(o.topic, o.queueId + 1), o.queueId).store(o.offset);
    replay(ensureTopic, report);
    for (const CommittedOffset& o : offsets) {  // never past what survived
      TopicEntry* t = store_.findTopic(o.topic);
      const std::int64_t max = store_.maxOffset(*t, o.queueId);
      OffsetTable::Slot& slot = store_.offsets().slot(o.group, *t, o.queueId);
      if (slot.load() > max) {
        slot.store(max);
        ++report.offsetsClamped;
      }
    }
    durableSeen_ = log_.flushedEnd();
    committer_ = std::make_unique<GroupCommitter>(log_, appendMutex_,
                                                  [this](std::int64_t end) { publishDurable(end); });
    store_.setJournal(this);
    opened_ = true;
    timer_ = timers_.registerTarget(*this);
    if (!sync_) timers_.scheduleAfter(config_.flushIntervalCommitLog.count(), timer_, kFlushTick);
    timers_.scheduleAfter(config_.flushConsumerOffsetInterval.count(), timer_, kOffsetsTick);
    report.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    return report;
  }

  // ---------------------------------------------------------------------------------------- AppendJournal

  std::int64_t write(ConsumeQueue& queue, std::int64_t firstQueueOffset,
                     const WrittenRecords& records) override {
    if (closed_.load(std::memory_order_relaxed)) throw std::runtime_error("the durable store is closed");
    payload_.clear();
    putU32(payload_, static_cast<std::uint32_t>(records.size()));
    for (std::size_t i = 0; i < records.size(); ++i)
      encode(*records[i].first, firstQueueOffset + static_cast<std::int64_t>(i));
    std::int64_t end = 0;
    {
      std::lock_guard lock(appendMutex_);
      const std::int64_t at = log_.append(payload_);
      const std::int64_t base = at - at % static_cast<std::int64_t>(log_.segmentBytes());
      if (files_.empty() || files_.back().base != base) files_.push_back(FileSpan{base, 0});
      files_.back().memoryEnd = records[records.size() - 1].first->commitLogOffset + 1;
      end = log_.writtenEnd();
    }
    if (sync_) {
      held_.push_back(Held{&queue, firstQueueOffset + static_cast<std::int64_t>(records.size()), end});
      // Every held record is flushed soon, the broker's own appends too (a retry, a re-put, a commit),
      // for which no sender waits.
      committer_->requestFlushTo(end);
    }
    return end;
  }

  bool holdsBack() const noexcept override { return sync_; }

  void reclaimedBelow(std::int64_t front) noexcept override {
    std::lock_guard lock(appendMutex_);
    while (files_.size() > 1 && files_.front().memoryEnd <= front &&
           log_.firstBase() == files_.front().base) {
      try {
        if (!log_.removeOldest()) break;
      } catch (const std::exception&) {
        break;  // the file stays; the next reclamation tries again
      }
      files_.pop_front();
    }
  }

  // ---------------------------------------------------------------------------------------- sends

  /// The status of a send whose append ended the journal at `end`: SEND_OK at once under ASYNC_FLUSH (the
  /// file has it); under SYNC_FLUSH once a flush covers it, FLUSH_DISK_TIMEOUT if none did within
  /// syncFlushTimeout or the flush failed (RocketMQ answers both so). `wait` false (the message's
  /// waitStoreMsgOK): SEND_OK without waiting.
  SendStatus confirm(std::int64_t end, bool wait) {
    if (!mustWait(end, wait)) return SendStatus::SEND_OK;
    const std::int64_t deadline = clock_.steadyMillis() + config_.syncFlushTimeout.count();
    const TimerId poke = timers_.scheduleAt(deadline, timer_, kPokeTick);
    SendStatus status = SendStatus::FLUSH_DISK_TIMEOUT;
    try {
      if (committer_->awaitDurable(end, [&] { return clock_.steadyMillis() >= deadline; }) ==
          GroupCommitter::Outcome::DURABLE)
        status = SendStatus::SEND_OK;
    } catch (const std::system_error&) {
      // The flush failed: the message is stored, and no longer can be made durable.
    }
    timers_.cancel(poke);
    return status;
  }

  /// Whether a send whose append ended the journal at `end` waits for a flush before its answer.
  bool mustWait(std::int64_t end, bool wait) const noexcept { return sync_ && wait && end >= 0; }

  /// confirm() without blocking: done(status) runs on the committer's thread once a flush covers `end`,
  /// or on the timer's once syncFlushTimeout has passed, or at close(). It must be short.
  void whenDurable(std::int64_t end, std::function<void(SendStatus)> done) {
    const std::int64_t deadline = clock_.steadyMillis() + config_.syncFlushTimeout.count();
    {
      std::lock_guard lock(asyncMutex_);
      if (durableSeen_ < end && !asyncClosed_) {
        asyncWaits_.push_back(AsyncWait{end, deadline, std::move(done)});
        done = nullptr;
      }
    }
    if (done) {
      done(durableSeen(end) ? SendStatus::SEND_OK : SendStatus::FLUSH_DISK_TIMEOUT);
      return;
    }
    timers_.scheduleAt(deadline, timer_, kAsyncDeadlineTick);
    committer_->requestFlushTo(end);
  }

  /// Writes the topic table: a topic was created or grew.
  void topicsChanged() {
    if (closed_.load(std::memory_order_relaxed)) return;
    std::lock_guard lock(stateMutex_);
    topicsFile_.write(encodeTopics(store_));
  }

  /// Writes the committed offsets (RocketMQ ConsumerOffsetManager.persist).
  void saveOffsets() {
    std::lock_guard lock(stateMutex_);
    offsetsFile_.write(encodeOffsets(store_.offsets()));
  }

  /// Flushes everything, writes the offsets and the topics, and records a clean shutdown. Idempotent.
  void close() {
    if (!opened_ || closed_.exchange(true)) return;
    if (timer_.slot != TargetHandle{}.slot) timers_.unregisterTarget(timer_);
    if (committer_) committer_->stop();
    finishAsync(INT64_MIN, true);  // what the last flush did not cover will not be made durable
    if (abandoned_) return;
    try {
      saveOffsets();
      std::lock_guard lock(stateMutex_);
      topicsFile_.write(encodeTopics(store_));
      if (!committer_ || committer_->durableEnd() == log_.writtenEnd()) directory_.markCleanShutdown();
    } catch (const std::exception&) {
      // Left marked as crashed: the next open recovers as after a crash.
    }
  }

  /// Ends as a killed process would: nothing more reaches the files, no last flush, no clean mark.
  void abandon() {
    abandoned_ = true;
    if (committer_) committer_->abandon();
    close();
  }

  /// Flushes run so far.
  std::uint64_t flushes() const { return committer_ ? committer_->flushes() : 0; }

 private:
  static constexpr std::uint64_t kFlushTick = 0;
  static constexpr std::uint64_t kOffsetsTick = 1;
  static constexpr std::uint64_t kPokeTick = 2;
  static constexpr std::uint64_t kAsyncDeadlineTick = 3;
  static constexpr std::int64_t kPageBytes = 4096;
  static constexpr std::int64_t kThoroughMillis = 10'000;  // RocketMQ flushCommitLogThoroughInterval

  // The in-memory span of one CommitLog file's records: it may go once memory has reclaimed them all.
  struct FileSpan {
    std::int64_t base;       // the file's first position
    std::int64_t memoryEnd;  // past the last in-memory CommitLog offset it holds
  };
  // Records of a SYNC_FLUSH append, shown to readers once the journal is durable to `end`.
  struct Held {
    ConsumeQueue* queue;
    std::int64_t queueEnd;
    std::int64_t end;
  };

  struct AsyncWait {
    std::int64_t end;
    std::int64_t deadline;
    std::function<void(SendStatus)> done;
  };

  bool durableSeen(std::int64_t end) {
    std::lock_guard lock(asyncMutex_);
    return durableSeen_ >= end;
  }

  // Completes the async waits a flush to `durable` covers (SEND_OK), and those whose deadline is at or
  // before `now` (FLUSH_DISK_TIMEOUT); `closing`: every one left, the store taking no more.
  void finishAsync(std::int64_t now, bool closing, std::int64_t durable = INT64_MIN) {
    std::vector<std::pair<std::function<void(SendStatus)>, SendStatus>> ready;
    {
      std::lock_guard lock(asyncMutex_);
      durableSeen_ = std::max(durableSeen_, durable);
      if (closing) asyncClosed_ = true;
      std::erase_if(asyncWaits_, [&](AsyncWait& w) {
        if (w.end <= durableSeen_) {
          ready.emplace_back(std::move(w.done), SendStatus::SEND_OK);
        } else if (closing || w.deadline <= now) {
          ready.emplace_back(std::move(w.done), SendStatus::FLUSH_DISK_TIMEOUT);
        } else {
          return false;
        }
        return true;
      });
    }
    for (auto& [done, status] : ready)
      done(status);
  }

  static std::string configDir(FileSystem& fs, const std::string& root) {
    fs.createDirectories(root + "/config");
    return root + "/config";
  }

  void encode(const RecordHeader& h, std::int64_t queueOffset) {
    DurableMessage m;
    m.topic = h.topic->name;
    m.queueId = h.queueId;
    m.flag = h.flag;
    m.queueOffset = queueOffset;
    m.bornTimestamp = h.bornTimestamp;
    m.storeTimestamp = h.storeTimestamp;
    m.reconsumeTimes = h.reconsumeTimes;
    m.msgId = h.msgId;
    m.tags = h.tags();
    m.properties = h.encodedProperties();
    std::string bytes;
    if constexpr (kBytesBody<Body>) {
      m.body = bytesBody(h);
    } else if constexpr (DurableBody<Body>) {
      bytes = BodyCodec<Body>::toBytes(objectBody<Body>(h));
      m.body = bytes;
    }
    putU32(payload_, static_cast<std::uint32_t>(DurableMessageCodec::encodedSize(m)));
    DurableMessageCodec::encode(m, payload_);
  }

  template <class EnsureTopic>
  void replay(EnsureTopic& ensureTopic, StoreRecovery& report) {
    log_.forEach(0, [&](std::int64_t position, std::span<const std::byte> payload) {
      const std::int64_t base = position - position % static_cast<std::int64_t>(log_.segmentBytes());
      if (files_.empty() || files_.back().base != base) files_.push_back(FileSpan{base, 0});
      std::size_t at = 4;
      const std::uint32_t n = getU32(payload, 0);
      for (std::uint32_t i = 0; i < n; ++i) {
        const std::uint32_t size = getU32(payload, at);
        const DurableMessage m = DurableMessageCodec::decode(payload.subspan(at + 4, size));
        at += 4 + size;
        if (isBrokerInternal(topicKindOf(m.topic))) continue;
        TopicEntry& topic = ensureTopic(m.topic, m.queueId + 1);
        putBack(topic, m, report);
      }
    });
  }

  void putBack(TopicEntry& topic, const DurableMessage& m, StoreRecovery& report) {
    RecordSource<Body> src;
    src.tags = m.tags;
    src.encodedProperties = m.properties;
    src.msgId = m.msgId;
    src.bornTimestamp = m.bornTimestamp;
    src.reconsumeTimes = m.reconsumeTimes;
    src.flag = m.flag;
    std::optional<Body> body;
    if constexpr (kBytesBody<Body>) {
      src.bodyBytes = m.body;
    } else if constexpr (DurableBody<Body>) {
      body.emplace(BodyCodec<Body>::fromBytes(m.body));
      src.body = &*body;
    }
    const AppendResult r = store_.locked([&](typename MessageStore<Body>::Locked& l) {
      return l.replay(topic, m.queueId, src, m.storeTimestamp, m.queueOffset);
    });
    if (r.queue == nullptr && r.ok()) return;  // already held: a duplicate
    if (!r.ok()) {
      throw std::runtime_error("the store at " + config_.storePathRootDir +
                               " holds more unconsumed messages than this broker can take back: " + r.remark);
    }
    files_.back().memoryEnd = r.commitLogOffset + 1;
    ++report.messagesRecovered;
  }

  // Shows readers the SYNC_FLUSH records a flush made durable, then tells their consumers. On the
  // committer's thread.
  void publishDurable(std::int64_t end) noexcept {
    std::vector<ConsumeQueue*> told;
    store_.locked([&](typename MessageStore<Body>::Locked&) {
      while (!held_.empty() && held_.front().end <= end) {
        const Held h = held_.front();
        held_.pop_front();
        h.queue->publishTo(h.queueEnd);
        if (std::find(told.begin(), told.end(), h.queue) == told.end()) told.push_back(h.queue);
      }
      return 0;
    });
    for (ConsumeQueue* q : told)
      Arrivals::notify(*q);
    finishAsync(INT64_MIN, false, end);
  }

  // TimerTarget: ASYNC_FLUSH's flusher tick, the offsets' persistence, and the SYNC_FLUSH deadline poke.
  void onTimer(std::uint64_t what) noexcept override {
    if (closed_.load(std::memory_order_relaxed)) return;
    if (what == kPokeTick) {
      committer_->poke();
    } else if (what == kAsyncDeadlineTick) {
      finishAsync(clock_.steadyMillis(), false);
    } else if (what == kFlushTick) {
      const std::int64_t now = clock_.steadyMillis();
      std::int64_t dirty = 0;
      {
        std::lock_guard lock(appendMutex_);
        dirty = log_.writtenEnd() - log_.flushedEnd();
      }
      if (dirty > 0 && (dirty >= config_.flushCommitLogLeastPages * kPageBytes ||
                        now - lastThorough_ >= kThoroughMillis)) {
        committer_->requestFlush();
        lastThorough_ = now;
      }
      timers_.scheduleAfter(config_.flushIntervalCommitLog.count(), timer_, kFlushTick);
    } else if (what == kOffsetsTick) {
      try {
        saveOffsets();
      } catch (const std::exception&) {
        // Written again at the next tick; meanwhile a crash replays a little more.
      }
      timers_.scheduleAfter(config_.flushConsumerOffsetInterval.count(), timer_, kOffsetsTick);
    }
  }

  const BrokerConfig& config_;
  MessageStore<Body>& store_;
  TimerService<Clock>& timers_;
  Clock& clock_;
  StoreDirectory directory_;
  SegmentLog log_;
  StateFile topicsFile_;
  StateFile offsetsFile_;
  const bool sync_;
  std::mutex appendMutex_;  // serialises the log's appends and flush bookkeeping; after the store lock
  std::mutex stateMutex_;   // serialises the state files' writes
  std::vector<std::byte> payload_;  // the record being written; store lock
  std::deque<FileSpan> files_;      // appendMutex_
  std::deque<Held> held_;           // store lock
  std::mutex asyncMutex_;           // guards the three below
  std::vector<AsyncWait> asyncWaits_;
  std::int64_t durableSeen_ = 0;  // the end the last flush made durable
  bool asyncClosed_ = false;
  std::unique_ptr<GroupCommitter> committer_;
  TargetHandle timer_;
  std::int64_t lastThorough_ = 0;  // timer thread
  std::atomic<bool> closed_{false};
  bool opened_ = false;  // open() succeeded: from then on close() has something to close
  bool abandoned_ = false;
};

/// The durable store of a broker whose config names a storePathRootDir, opened, with `recovery` filled in.
/// Throws MQClientException naming the setting when the store cannot be opened or the Body has no bytes.
template <class Body, class Clock, class EnsureTopic>
std::unique_ptr<DurableStore<Body, Clock>> openDurableStore(FileSystem& fs, const BrokerConfig& config,
                                                            MessageStore<Body>& store,
                                                            TimerService<Clock>& timers, Clock& clock,
                                                            StoreRecovery& recovery,
                                                            EnsureTopic&& ensureTopic) {
  if constexpr (DurableBody<Body>) {
    try {
      auto durable = std::make_unique<DurableStore<Body, Clock>>(fs, config, store, timers, clock);
      recovery = durable->open(ensureTopic);
      return durable;
    } catch (const std::exception& e) {
      throw MQClientException(ResponseCode::SYSTEM_ERROR,
                              "BrokerConfig.storePathRootDir: " + std::string(e.what()));
    }
  } else {
    throw MQClientException(
        ResponseCode::MESSAGE_ILLEGAL,
        "BrokerConfig.storePathRootDir: a durable broker writes bodies as bytes, and this Body "
        "type has no ackmq::BodyCodec");
  }
}

}  // namespace ackmq::detail
