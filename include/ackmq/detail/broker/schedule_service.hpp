#pragma once
// ackmq internals: the schedule service (RocketMQ ScheduleMessageService and the 5.x timer messages).
//
// A message with a delay level or a deliver time is parked in SCHEDULE_TOPIC_XXXX (queue level - 1, or the
// extra queue after the levels for deliver times) with its destination in REAL_TOPIC / REAL_QID. When it
// falls due, it is re-put into its real queue as a new physical copy: new queue offset and offset id, same
// msgId, body, tags, born time and reconsume count.
//
// Every message of one delay level waits the same time, so a level's messages fall due in the order they
// were parked. As RocketMQ's ScheduleMessageService runs one timer task per level that walks the level's
// queue (DeliverDelayedMessageTimerTask), each level here keeps its parked copies in due order and has at
// most one timer, armed for the earliest; a retry storm of a million parked copies costs a few timers, not
// a million. A deliver time can be anything, so each message with one has a timer of its own.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ackmq/clock.hpp>
#include <ackmq/detail/broker/arrivals.hpp>
#include <ackmq/detail/broker/timer_service.hpp>
#include <ackmq/detail/store/message_store.hpp>
#include <ackmq/detail/store/record.hpp>
#include <ackmq/message.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

/// Whether `name` is one of the properties that route a delayed message: its delay (level, deliver time or
/// delay) and, once parked, its real topic and queue. A re-put copy, and a retry copy, leave them behind
/// (RocketMQ ScheduleMessageService.messageTimeup, CommitLog.putMessage). One length test settles most names.
constexpr bool isRoutingProperty(std::string_view name) noexcept {
  switch (name.size()) {
    case MessageConst::PROPERTY_DELAY_TIME_LEVEL.size():
      return isName(name, MessageConst::PROPERTY_DELAY_TIME_LEVEL);
    case MessageConst::PROPERTY_REAL_QUEUE_ID.size():
      return isName(name, MessageConst::PROPERTY_REAL_QUEUE_ID);
    case MessageConst::PROPERTY_REAL_TOPIC.size():
      return isName(name, MessageConst::PROPERTY_REAL_TOPIC);
    case MessageConst::PROPERTY_TIMER_DELAY_MS.size():
      return isName(name, MessageConst::PROPERTY_TIMER_DELAY_MS);
    case MessageConst::PROPERTY_TIMER_DELAY_SEC.size():
      return isName(name, MessageConst::PROPERTY_TIMER_DELAY_SEC);
    case MessageConst::PROPERTY_TIMER_DELIVER_MS.size():
      return isName(name, MessageConst::PROPERTY_TIMER_DELIVER_MS);
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
    std::int64_t scale = 0;
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
    // A level must count in milliseconds: twelve digits of days do not.
    if (n <= 0 || n > std::numeric_limits<std::int64_t>::max() / scale) fail(token);
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
        delays_(std::move(levelMillis)),
        sink_(sink),
        topic_(store.ensureTopic(MixAll::SCHEDULE_TOPIC, static_cast<int>(delays_.size()) + 1)),
        target_(timers.registerTarget(*this, /*batched=*/true)) {}
  ScheduleService(const ScheduleService&) = delete;
  ScheduleService& operator=(const ScheduleService&) = delete;
  ~ScheduleService() { timers_.unregisterTarget(target_); }

  /// The highest delay level.
  int maxLevel() const noexcept { return static_cast<int>(delays_.size()); }
  std::int64_t levelMillis(int level) const noexcept { return delays_[static_cast<std::size_t>(level - 1)]; }

  /// Milliseconds until `msg` is due: a delay level wins over timer properties (RocketMQ HookUtils).
  std::int64_t delayOf(const BasicMessage<Body>& msg) const {
    const auto& props = msg.getProperties();
    if (props.empty()) return 0;
    const int level = msg.getDelayTimeLevel();
    if (level > 0) return levelMillis(std::min(level, maxLevel()));
    if (props.contains(MessageConst::PROPERTY_TIMER_DELIVER_MS))
      return msg.getDeliverTimeMs() - clock_.nowMillis();
    if (props.contains(MessageConst::PROPERTY_TIMER_DELAY_MS)) return msg.getDelayTimeMs();
    if (props.contains(MessageConst::PROPERTY_TIMER_DELAY_SEC)) return msg.getDelayTimeSec() * 1000;
    return 0;
  }
  /// The SCHEDULE_TOPIC_XXXX queue of messages with a deliver time (after the level queues).
  int deliverTimeQueueId() const noexcept { return maxLevel(); }

  /// What a park leaves to do once the store lock is let go: a timer to arm, if any.
  struct Arming {
    std::uint64_t arg = 0;
    std::int64_t deadline = kNoTimer;
    bool needed() const noexcept { return deadline != kNoTimer; }
  };

  /// Parks `src`, whose properties already name REAL_TOPIC and REAL_QID, in `scheduleQueueId`, due
  /// `delayMillis` from now (for a level's queue, the level's delay). The result is the parked copy's.
  AppendResult park(const RecordSource<Body>& src, int scheduleQueueId, std::int64_t delayMillis) {
    if (scheduleQueueId >= maxLevel()) {
      AppendResult r = store_.append(topic_, scheduleQueueId, src, clock_.nowMillis());
      if (r.ok()) timers_.scheduleAfter(delayMillis, target_, static_cast<std::uint64_t>(r.commitLogOffset));
      return r;
    }
    Arming arming;
    AppendResult r = store_.appendWith(
        topic_, scheduleQueueId, src, clock_.nowMillis(),
        [&] { levels_[static_cast<std::size_t>(scheduleQueueId)].reserve(); },
        [&](const AppendResult& done) noexcept { arming = settle(scheduleQueueId, done); });
    arm(arming);
    return r;
  }

  /// Where a parked copy goes when it falls due, known to the service that parks it: its properties other
  /// than the routing ones are the first `keptBytes` of the parked copy's, and the routing ones name `topic`
  /// and `queueId`. The level's timer then re-puts the copy without reading its properties back.
  struct Destination {
    TopicEntry* topic = nullptr;
    int queueId = 0;
    std::uint32_t keptBytes = 0;
  };

  /// Parks `src` in delay level `scheduleQueueId` + 1 from inside the store lock (for services that derive
  /// the parked copy from another record), leaving in `arming` the timer the caller arms with arm() once it
  /// has let go of the store lock, so that the timer service's lock is never taken inside it. The parked copy
  /// cannot go meanwhile: its segment is not reclaimed while it waits (Segment::pendingParked). `src` holds
  /// the copy's own properties in encodedProperties and the routing ones, naming `to`, in moreProperties.
  AppendResult parkLocked(typename MessageStore<Body>::Locked& store, const RecordSource<Body>& src,
                          int scheduleQueueId, TopicEntry& to, int toQueueId, Arming& arming) {
    Level& level = levels_[static_cast<std::size_t>(scheduleQueueId)];
    level.reserve();  // nothing is stored if this throws
    AppendResult r = [&] {
      try {
        return store.append(topic_, scheduleQueueId, src, clock_.nowMillis(), /*internal=*/true);
      } catch (...) {
        level.unreserve();  // nothing was stored
        throw;
      }
    }();
    arming = settle(scheduleQueueId, r,
                    Destination{&to, toQueueId, static_cast<std::uint32_t>(src.encodedProperties.size())});
    return r;
  }

  /// Arms what a park left to arm. Should the timer service fail to take it (out of memory), the level is
  /// left unarmed and the copies stay queued: the next park on that level, or the broker's periodic
  /// clean-up (rearmLevels), arms it.
  void arm(const Arming& arming) noexcept {
    if (!arming.needed()) return;
    try {
      timers_.scheduleAt(arming.deadline, target_, arming.arg);
    } catch (...) {
      store_.locked([&](typename MessageStore<Body>::Locked&) {
        levels_[static_cast<std::size_t>(arming.arg & ~kLevelTag)].armed = false;
      });
    }
  }

  /// Arms every level that has parked copies but no timer (one whose arming failed).
  void rearmLevels() noexcept {
    for (std::size_t i = 0; i < levels_.size(); ++i) {
      Arming arming;
      store_.locked([&](typename MessageStore<Body>::Locked&) {
        Level& level = levels_[i];
        if (level.armed || level.empty()) return;
        level.armed = true;
        arming = Arming{kLevelTag | i, level.front().due};
      });
      arm(arming);
    }
  }

  /// Encodes properties for a parked copy: the message's own plus where it is going.
  static void addDestination(std::string& encoded, std::string_view realTopic, int realQueueId) {
    encodeProperty(encoded, MessageConst::PROPERTY_REAL_TOPIC, realTopic);
    char digits[16];
    const auto end = std::to_chars(digits, digits + sizeof digits, realQueueId).ptr;
    encodeProperty(encoded, MessageConst::PROPERTY_REAL_QUEUE_ID,
                   std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }

 private:
  static constexpr std::int64_t kRetryAfterMillis = 100;  // RocketMQ ScheduleMessageService re-check
  static constexpr std::int64_t kNoTimer = std::numeric_limits<std::int64_t>::min();
  // A timer's argument: a level's timer has this bit and the level's queue id; any other is the CommitLog
  // offset of one parked copy (a deliver time, or a re-put to try again).
  static constexpr std::uint64_t kLevelTag = std::uint64_t{1} << 63;

  struct Pending {
    std::int64_t commitLogOffset;
    std::int64_t due;  // steady clock, ms
    Destination to;    // topic null: read from the parked copy's properties
  };
  // One delay level's parked copies in due order, and whether its timer is armed. Guarded by the store lock.
  // A copy's entry is made before the copy is stored (reserve), so that once it is stored nothing can fail.
  struct Level {
    std::deque<Pending> queue;  // in blocks: memory comes back as the level drains
    std::int64_t lastDue = std::numeric_limits<std::int64_t>::min();  // of the last copy parked
    bool armed = false;

    bool empty() const noexcept { return queue.empty(); }
    const Pending& front() const noexcept { return queue.front(); }
    void reserve() { queue.push_back(Pending{-1, 0, {}}); }
    void unreserve() noexcept { queue.pop_back(); }
  };

  // Store lock held: fills in the entry reserve() made for a park (or takes it back if the park failed), and
  // tells what timer to arm when the level has none.
  Arming settle(int scheduleQueueId, const AppendResult& r, Destination to = {}) noexcept {
    Level& level = levels_[static_cast<std::size_t>(scheduleQueueId)];
    if (!r.ok()) {
      level.unreserve();
      return {};
    }
    // A level is walked in order, so its due times must only grow (the steady clock and the level's delay
    // already make them so; this keeps it true whatever a clock does).
    const std::int64_t due =
        std::max(clock_.steadyMillis() + levelMillis(scheduleQueueId + 1), level.lastDue);
    level.lastDue = due;
    level.queue.back() = Pending{r.commitLogOffset, due, to};
    if (level.armed) return {};
    level.armed = true;
    return Arming{kLevelTag | static_cast<std::uint64_t>(scheduleQueueId), due};
  }

  void onTimer(std::uint64_t arg) noexcept override { onTimers(std::span<const std::uint64_t>(&arg, 1)); }

  // A level's timer walks the level's queue; any other timer is one parked copy's. Copies due together (a
  // retry level's worth, say) are re-put a chunk at a time under one hold of the store lock, each queue's
  // consumers woken once per chunk rather than once per message.
  void onTimers(std::span<const std::uint64_t> args) noexcept override {
    std::vector<ConsumeQueue*> arrived;
    std::vector<std::uint64_t> again;
    std::size_t i = 0;
    while (i < args.size()) {
      if ((args[i] & kLevelTag) != 0) {
        fireLevel(static_cast<std::size_t>(args[i++] & ~kLevelTag), arrived, again);
        continue;
      }
      std::size_t end = i;
      while (end < args.size() && end - i < kChunk && (args[end] & kLevelTag) == 0)
        ++end;
      arrived.clear();
      store_.locked([&](typename MessageStore<Body>::Locked& locked) {
        for (; i < end; ++i)
          repostOne(locked, args[i], arrived, again);
      });
      wake(arrived);
    }
    for (const std::uint64_t arg : again)
      timers_.scheduleAfter(kRetryAfterMillis, target_, arg);
  }

  // Re-puts the copies of a level that are due, then arms the level's timer for the next one, if any
  // (RocketMQ DeliverDelayedMessageTimerTask.executeOnTimeUp).
  void fireLevel(std::size_t index, std::vector<ConsumeQueue*>& arrived, std::vector<std::uint64_t>& again) {
    Arming next;
    bool more = true;
    while (more) {
      arrived.clear();
      store_.locked([&](typename MessageStore<Body>::Locked& locked) {
        Level& level = levels_[index];
        const std::int64_t now = clock_.steadyMillis();
        std::size_t n = 0;
        for (; n < kChunk && !level.empty() && level.front().due <= now; ++n) {
          const Pending p = level.front();
          level.queue.pop_front();
          repostOne(locked, static_cast<std::uint64_t>(p.commitLogOffset), arrived, again, p.to);
        }
        more = n == kChunk;
        if (more) return;
        if (level.empty()) {
          level.armed = false;
        } else {
          next = Arming{kLevelTag | index, level.front().due};
        }
      });
      wake(arrived);
    }
    arm(next);
  }

  // Store lock held: re-puts the parked copy at CommitLog offset `arg`, noting the queue it went to, or, when
  // it cannot go now, that it is to be tried again.
  void repostOne(typename MessageStore<Body>::Locked& locked, std::uint64_t arg,
                 std::vector<ConsumeQueue*>& arrived, std::vector<std::uint64_t>& again,
                 const Destination& to = {}) noexcept {
    ConsumeQueue* q = nullptr;
    if (!repostLocked(locked, static_cast<std::int64_t>(arg), to, q)) again.push_back(arg);
    if (q != nullptr && std::find(arrived.begin(), arrived.end(), q) == arrived.end()) arrived.push_back(q);
  }

  void wake(const std::vector<ConsumeQueue*>& arrived) noexcept {
    for (ConsumeQueue* q : arrived)
      sink_.onArrived(*q);
  }

  // Re-puts the parked copy at `offset`, going where `to` says or, without a topic there, where its
  // properties say. False when it must be tried again later (no room, or a Body copy constructor or an
  // allocation threw); `arrived` is the queue it went to.
  bool repostLocked(typename MessageStore<Body>::Locked& locked, std::int64_t offset, const Destination& to,
                    ConsumeQueue*& arrived) noexcept {
    const RecordHeader* parked = locked.find(offset);
    if (parked == nullptr) return true;  // dropped by StoreFullPolicy::DROP_OLDEST, and counted there
    Segment* seg = locked.segmentOf(*parked);
    if (to.topic != nullptr) {
      // A send-back's copy: the kept properties come first and the routing ones after them, as parked.
      return putBack(locked, *parked, *seg, *to.topic, to.queueId,
                     parked->encodedProperties().substr(0, to.keptBytes), arrived);
    }
    // One walk over the properties finds where the copy goes and what it keeps: the parked copy's own
    // properties, in place, when the routing ones are the last (as a send-back leaves them); else a copy in
    // scratch_ (guarded by the store lock, its capacity kept from one re-put to the next).
    std::optional<std::string_view> realTopic;
    std::optional<std::string_view> realQid;
    std::string_view kept;
    try {
      kept =
          keptProperties(parked->encodedProperties(), scratch_, [&](std::string_view n, std::string_view v) {
            if (!isRoutingProperty(n)) return true;
            if (isName(n, MessageConst::PROPERTY_REAL_TOPIC)) {
              if (!realTopic) realTopic = v;
            } else if (isName(n, MessageConst::PROPERTY_REAL_QUEUE_ID)) {
              if (!realQid) realQid = v;
            }
            return false;
          });
    } catch (...) {
      return false;  // no memory for the copy's properties; try again later
    }
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
    return putBack(locked, *parked, *seg, *topic, static_cast<int>(parseInt64(*realQid, 0)), kept, arrived);
  }

  // Stores the re-put copy of `parked` (in `seg`) with properties `kept`; see repostLocked.
  bool putBack(typename MessageStore<Body>::Locked& locked, const RecordHeader& parked, Segment& seg,
               TopicEntry& topic, int queueId, std::string_view kept, ConsumeQueue*& arrived) noexcept {
    const SegmentPin pin(seg);  // making room for the copy must never reclaim the record being copied
    bool ok = false;
    try {
      AppendResult r =
          locked.append(topic, queueId, copyOf<Body>(parked, kept), clock_.nowMillis(), /*internal=*/true);
      if (r.ok()) {
        seg.pendingParked.fetch_sub(1, std::memory_order_release);
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
  const std::vector<std::int64_t> delays_;  // ms, per level
  ArrivalSink& sink_;
  TopicEntry& topic_;
  TargetHandle target_;
  std::vector<Level> levels_ = std::vector<Level>(delays_.size());  // guarded by the store lock
  std::string scratch_;              // a re-put copy's properties; guarded by the store lock
  TopicEntry* lastTopic_ = nullptr;  // the last re-put's topic; guarded by the store lock
};

}  // namespace ackmq::detail
