#pragma once
// ackmq internals: the schedule service (RocketMQ ScheduleMessageService and the 5.x timer messages).
//
// A message with a delay level or a deliver time is parked in SCHEDULE_TOPIC_XXXX (queue level - 1, or the
// extra queue after the levels for deliver times) with its destination in REAL_TOPIC / REAL_QID, and its due
// time is armed on the timer wheel. When the timer fires, the message is re-put into its real queue as a new
// physical copy: new queue offset and offset id, same msgId, body, tags, born time and reconsume count.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ackmq/clock.hpp>
#include <ackmq/detail/broker/timer_service.hpp>
#include <ackmq/detail/store/message_store.hpp>
#include <ackmq/message.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

/// Told when messages become visible in a queue, so it can wake the consumers that own it.
class ArrivalSink {
 public:
  virtual void onArrived(ConsumeQueue& queue) noexcept = 0;

 protected:
  ~ArrivalSink() = default;
};

/// Whether `name` is one of the properties that route a delayed message: its delay (level, deliver time or
/// delay) and, once parked, its real topic and queue. A re-put copy, and a retry copy, leave them behind
/// (RocketMQ ScheduleMessageService.messageTimeup, CommitLog.putMessage). One length test settles most names.
constexpr bool isRoutingProperty(std::string_view name) noexcept {
  switch (name.size()) {
    case MessageConst::PROPERTY_DELAY_TIME_LEVEL.size():
      return name == MessageConst::PROPERTY_DELAY_TIME_LEVEL;
    case MessageConst::PROPERTY_REAL_QUEUE_ID.size():
      return name == MessageConst::PROPERTY_REAL_QUEUE_ID;
    case MessageConst::PROPERTY_REAL_TOPIC.size():
      return name == MessageConst::PROPERTY_REAL_TOPIC;
    case MessageConst::PROPERTY_TIMER_DELAY_MS.size():
      return name == MessageConst::PROPERTY_TIMER_DELAY_MS;
    case MessageConst::PROPERTY_TIMER_DELAY_SEC.size():
      return name == MessageConst::PROPERTY_TIMER_DELAY_SEC;
    case MessageConst::PROPERTY_TIMER_DELIVER_MS.size():
      return name == MessageConst::PROPERTY_TIMER_DELIVER_MS;
    default:
      return false;
  }
}

/// Parses a messageDelayLevel string ("1s 5s 10s ... 2h") into ms per level. Units: ms, s, m, h, d.
/// Throws MQClientException naming BrokerConfig.messageDelayLevel.
inline std::vector<std::int64_t> parseDelayLevels(std::string_view spec) {
  std::vector<std::int64_t> levels;
  auto fail = [&](std::string_view token) {
    throw MQClientException(ResponseCode::MESSAGE_ILLEGAL,
                            "BrokerConfig.messageDelayLevel: \"" + std::string(token) +
                                "\" is not a positive duration such as 500ms, 10s, 5m, 1h or 2d");
  };
  std::size_t i = 0;
  while (i < spec.size()) {
    while (i < spec.size() && spec[i] == ' ')
      ++i;
    if (i == spec.size()) break;
    const std::size_t start = i;
    while (i < spec.size() && spec[i] != ' ')
      ++i;
    const std::string_view token = spec.substr(start, i - start);
    std::size_t digits = 0;
    while (digits < token.size() && token[digits] >= '0' && token[digits] <= '9')
      ++digits;
    if (digits == 0 || digits > 12) fail(token);
    const std::int64_t n = parseInt64(token.substr(0, digits), -1);
    const std::string_view unit = token.substr(digits);
    std::int64_t scale;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "d") {
      scale = 86'400'000;
    } else {
      fail(token);
    }
    if (n <= 0) fail(token);
    levels.push_back(n * scale);
  }
  if (levels.empty()) fail(spec);
  if (levels.size() > 1000) {
    throw MQClientException(ResponseCode::MESSAGE_ILLEGAL,
                            "BrokerConfig.messageDelayLevel: more than 1000 levels");
  }
  return levels;
}

/// Thread safety: thread-safe.
template <class Body, class Clock>
class ScheduleService final : private TimerTarget {
 public:
  ScheduleService(MessageStore<Body>& store, TimerService<Clock>& timers, Clock& clock,
                  std::vector<std::int64_t> levelMillis, ArrivalSink& sink)
      : store_(store),
        timers_(timers),
        clock_(clock),
        levels_(std::move(levelMillis)),
        sink_(sink),
        topic_(store.ensureTopic(MixAll::SCHEDULE_TOPIC, static_cast<int>(levels_.size()) + 1)),
        target_(timers.registerTarget(*this, /*batched=*/true)) {}
  ScheduleService(const ScheduleService&) = delete;
  ScheduleService& operator=(const ScheduleService&) = delete;
  ~ScheduleService() { timers_.unregisterTarget(target_); }

  /// The highest delay level.
  int maxLevel() const noexcept { return static_cast<int>(levels_.size()); }
  std::int64_t levelMillis(int level) const noexcept { return levels_[static_cast<std::size_t>(level - 1)]; }
  /// The SCHEDULE_TOPIC_XXXX queue of messages with a deliver time (after the level queues).
  int deliverTimeQueueId() const noexcept { return maxLevel(); }

  /// Parks `src`, whose properties already name REAL_TOPIC and REAL_QID, in `scheduleQueueId`, due
  /// `delayMillis` from now. The result is the parked copy's.
  AppendResult park(const RecordSource<Body>& src, int scheduleQueueId, std::int64_t delayMillis) {
    AppendResult r = store_.append(topic_, scheduleQueueId, src, clock_.nowMillis());
    if (r.ok()) timers_.scheduleAfter(delayMillis, target_, static_cast<std::uint64_t>(r.commitLogOffset));
    return r;
  }

  /// Same, from inside the store lock (for services that derive the parked copy from another record), but
  /// without arming its timer: the caller calls arm() once it has let go of the store lock, so that the
  /// timer service's lock is never taken inside it. The parked copy cannot go meanwhile: its segment is not
  /// reclaimed while it waits (Segment::pendingParked).
  AppendResult parkLocked(typename MessageStore<Body>::Locked& store, const RecordSource<Body>& src,
                          int scheduleQueueId) {
    return store.append(topic_, scheduleQueueId, src, clock_.nowMillis(), /*internal=*/true);
  }
  /// Arms the timer of the copy parkLocked stored at `commitLogOffset`, due `delayMillis` from now.
  void arm(std::int64_t commitLogOffset, std::int64_t delayMillis) {
    timers_.scheduleAfter(delayMillis, target_, static_cast<std::uint64_t>(commitLogOffset));
  }

  /// Encodes properties for a parked copy: the message's own plus where it is going.
  static void addDestination(std::string& encoded, std::string_view realTopic, int realQueueId) {
    encodeProperty(encoded, MessageConst::PROPERTY_REAL_TOPIC, realTopic);
    char digits[16];
    const auto end = std::to_chars(digits, digits + sizeof digits, realQueueId).ptr;
    encodeProperty(encoded, MessageConst::PROPERTY_REAL_QUEUE_ID, std::string_view(digits, end - digits));
  }

 private:
  static constexpr std::int64_t kRetryAfterMillis = 100;  // RocketMQ ScheduleMessageService re-check

  // The parked copy at CommitLog offset `arg` is due: re-put it into its real queue.
  void onTimer(std::uint64_t arg) noexcept override { onTimers(std::span<const std::uint64_t>(&arg, 1)); }

  // Many parked copies due together (a retry level's worth, say): re-put them a chunk at a time under one
  // hold of the store lock, then wake each queue's consumers once per chunk rather than once per message.
  void onTimers(std::span<const std::uint64_t> args) noexcept override {
    std::vector<ConsumeQueue*> arrived;
    std::vector<std::uint64_t> again;
    for (std::size_t first = 0; first < args.size(); first += kChunk) {
      const auto chunk = args.subspan(first, std::min(kChunk, args.size() - first));
      arrived.clear();
      store_.locked([&](typename MessageStore<Body>::Locked& locked) {
        for (const std::uint64_t arg : chunk) {
          ConsumeQueue* q = nullptr;
          if (!repostLocked(locked, static_cast<std::int64_t>(arg), q)) again.push_back(arg);
          if (q != nullptr && std::find(arrived.begin(), arrived.end(), q) == arrived.end())
            arrived.push_back(q);
        }
      });
      for (ConsumeQueue* q : arrived)
        sink_.onArrived(*q);
    }
    for (const std::uint64_t arg : again)
      timers_.scheduleAfter(kRetryAfterMillis, target_, arg);
  }

  // Re-puts the parked copy at `offset`. False when it must be tried again later (no room, or a Body copy
  // constructor threw); `arrived` is the queue it went to.
  bool repostLocked(typename MessageStore<Body>::Locked& locked, std::int64_t offset,
                    ConsumeQueue*& arrived) noexcept {
    const RecordHeader* parked = locked.find(offset);
    if (parked == nullptr) return true;  // dropped by StoreFullPolicy::DROP_OLDEST, and counted there
    Segment* seg = locked.segmentOf(*parked);
    const std::string_view props = parked->encodedProperties();
    const auto realTopic = findProperty(props, MessageConst::PROPERTY_REAL_TOPIC);
    const auto realQid = findProperty(props, MessageConst::PROPERTY_REAL_QUEUE_ID);
    // A level's worth of retries falls due together, nearly all for one %RETRY% topic: the last one found
    // saves a lookup per message (topics are never removed, so the pointer stays good).
    TopicEntry* topic = nullptr;
    if (realTopic) {
      topic =
          lastTopic_ != nullptr && lastTopic_->name == *realTopic ? lastTopic_ : store_.findTopic(*realTopic);
      lastTopic_ = topic;
    }
    if (topic == nullptr || !realQid) {
      seg->pendingParked.fetch_sub(1, std::memory_order_release);  // cannot happen: parked without a home
      return true;
    }
    const SegmentPin pin(*seg);  // making room for the copy must never reclaim the record being copied
    bool ok = false;
    try {
      scratch_.clear();  // guarded by the store lock; keeps its capacity from one re-put to the next
      appendPropertiesIf(scratch_, props, [](std::string_view n) { return !isRoutingProperty(n); });
      AppendResult r = locked.append(*topic, static_cast<int>(parseInt64(*realQid, 0)),
                                     copyOf<Body>(*parked, scratch_), clock_.nowMillis(), /*internal=*/true);
      if (r.ok()) {
        seg->pendingParked.fetch_sub(1, std::memory_order_release);
        arrived = r.queue;
        ok = true;
      }
    } catch (...) {
      // a Body copy constructor (or an allocation) threw; try again later
    }
    return ok;
  }

  static constexpr std::size_t kChunk = 64;  // re-puts per hold of the store lock

  MessageStore<Body>& store_;
  TimerService<Clock>& timers_;
  Clock& clock_;
  const std::vector<std::int64_t> levels_;
  ArrivalSink& sink_;
  TopicEntry& topic_;
  TargetHandle target_;
  std::string scratch_;              // a re-put copy's properties; guarded by the store lock
  TopicEntry* lastTopic_ = nullptr;  // the last re-put's topic; guarded by the store lock
};

}  // namespace ackmq::detail
