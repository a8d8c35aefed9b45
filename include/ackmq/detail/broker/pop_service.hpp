#pragma once
// ackmq internals: the broker side of RocketMQ 5's POP model, which the SimpleConsumer uses (RocketMQ
// PopMessageProcessor, AckMessageProcessor, ChangeInvisibleTimeProcessor, PopReviveService).
//
// A pop hands out a group's next messages and moves the group's pop offset past them at once; each message
// stays in flight, invisible to the group, until it is acked or its invisible time runs out. Every message
// carries a receipt handle naming its in-flight record; changeInvisibleDuration replaces the record's
// deadline and the handle, so the old handle stops working. When a deadline passes, the message is revived: a
// copy with reconsumeTimes + 1 (same msgId, body, tags, born time) is stored in the group's pop retry topic
// %RETRY%<group>_<topic>, where the next pop finds it; once reconsumeTimes would reach maxAttempts the copy
// goes to %DLQ%<group> instead. Acks are per message: one slow message holds back nothing but itself.
//
// The group's committed offset of a queue is its lowest offset still in flight (or the pop offset when none
// is), so the store never reclaims a message that may still be revived.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <ackmq/clock.hpp>
#include <ackmq/detail/broker/schedule_service.hpp>
#include <ackmq/detail/broker/timer_service.hpp>
#include <ackmq/detail/store/materialize.hpp>
#include <ackmq/detail/store/message_store.hpp>
#include <ackmq/detail/store/subscription_filter.hpp>
#include <ackmq/message.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

template <class Body, class Clock>
class BrokerCore;

/// The pop retry topic of (group, topic) (RocketMQ KeyBuilder.buildPopRetryTopic, V1 separator).
inline std::string popRetryTopic(std::string_view group, std::string_view topic) {
  std::string t = MixAll::getRetryTopic(group);
  t.push_back('_');
  t.append(topic);
  return t;
}

/// One queue a pop may read: its consume queue, filter and offset slot, resolved by the broker core.
struct PopSource {
  ConsumeQueue* queue;
  const SubscriptionFilter* filter;
  OffsetTable::Slot* slot;
  std::int64_t startOffset;  // where a group new to the queue begins

  /// A pop retry queue (read after the subscribed queues, and first every fifth receive).
  bool isRetry() const noexcept { return queue->topic->kind == TopicKind::RETRY; }
  friend bool operator==(const PopSource& a, const PopSource& b) noexcept { return a.queue == b.queue; }
};

/// A popped message: where it is stored, and the handle to ack it with.
struct PoppedRecord {
  const RecordHeader* record;
  std::string receiptHandle;
};

/// POP_MESSAGE's answer: the popped records, kept from reclamation until release(), which the consumer
/// calls once it has copied them (BrokerCore::toConsumerView).
class PopBuffer {
 public:
  std::size_t size() const noexcept { return popped.size(); }
  /// The receipt handle of popped message i, moved out.
  std::string takeReceiptHandle(std::size_t i) noexcept { return std::move(popped[i].receiptHandle); }
  void release() noexcept { pins.release(); }

 private:
  template <class, class>
  friend class BrokerCore;
  PinnedRecords pins;
  std::vector<PoppedRecord> popped;
};

/// Thread safety: thread-safe.
template <class Body, class Clock>
class PopService final : private TimerTarget {
 public:
  PopService(MessageStore<Body>& store, TimerService<Clock>& timers, Clock& clock, ArrivalSink& sink,
             std::uint64_t brokerIdentity)
      : store_(store),
        timers_(timers),
        clock_(clock),
        sink_(sink),
        identity_(brokerIdentity),
        target_(timers.registerTarget(*this)) {}
  PopService(const PopService&) = delete;
  PopService& operator=(const PopService&) = delete;
  ~PopService() { timers_.unregisterTarget(target_); }

  /// POP_MESSAGE: up to `maxNums` messages from `sources` (in the order given) for `clientId` of `group`,
  /// each in flight for `invisibleMillis`. The records are pinned in `pins` until the caller has copied them.
  void pop(std::string_view group, std::string_view clientId, const std::vector<PopSource>& sources,
           int maxNums, std::int64_t invisibleMillis, int maxAttempts, PinnedRecords& pins,
           std::vector<PoppedRecord>& out) {
    std::lock_guard lock(mutex_);
    Group& g = group_(group);
    g.maxAttempts = maxAttempts;
    const std::int64_t deadline = clock_.steadyMillis() + invisibleMillis;
    for (const PopSource& src : sources) {
      if (static_cast<int>(out.size()) >= maxNums) break;
      QueueState& q =
          g.queues.try_emplace(src.queue, QueueState{src.slot, src.startOffset, {}}).first->second;
      const std::size_t before = pins.records.size();
      const std::int64_t next = store_.locked([&](typename MessageStore<Body>::Locked& l) {
        return l.take(*src.queue, q.popOffset, maxNums - static_cast<int>(out.size()), kMaxScan, pins,
                      [&](const RecordHeader& h) { return src.filter->matches(h); });
      });
      for (std::size_t i = before; i < pins.records.size(); ++i) {
        const RecordHeader* h = pins.records[i];
        const std::uint64_t id = nextId_++;
        InFlight f{src.queue, h->commitLogOffset, h->queueOffset, 1, deadline, {}, std::string(clientId)};
        f.timer = timers_.scheduleAt(deadline, target_, timerArg(id, f.generation));
        g.inFlight.emplace(id, std::move(f));
        g.byClient[std::string(clientId)] += 1;
        q.inFlightOffsets.insert(h->queueOffset);
        out.push_back({h, handle(group, id, 1)});
      }
      q.popOffset =
          std::max(q.popOffset, next);  // a tag mismatch is passed over, as RocketMQ acks it silently
      commitLocked(q);
    }
  }

  /// ACK_MESSAGE. INVALID_RECEIPT_HANDLE for a handle that expired, was renewed, or was already used.
  ResponseCode ack(std::string_view group, std::string_view receiptHandle) {
    std::lock_guard lock(mutex_);
    auto [g, it] = find(group, receiptHandle);
    if (g == nullptr) return ResponseCode::INVALID_RECEIPT_HANDLE;
    timers_.cancel(it->second.timer);
    finish(*g, it);
    return ResponseCode::SUCCESS;
  }

  /// CHANGE_INVISIBLE_TIME: the message stays in flight until `millis` from now; returns the new handle (the
  /// old one stops working), or nullopt for an invalid handle.
  std::optional<std::string> changeInvisible(std::string_view group, std::string_view receiptHandle,
                                             std::int64_t millis) {
    std::lock_guard lock(mutex_);
    auto [g, it] = find(group, receiptHandle);
    if (g == nullptr) return std::nullopt;
    InFlight& f = it->second;
    timers_.cancel(f.timer);
    ++f.generation;
    f.deadline = clock_.steadyMillis() + millis;
    f.timer = timers_.scheduleAt(f.deadline, target_, timerArg(it->first, f.generation));
    return handle(group, it->first, f.generation);
  }

  /// Messages of `group` in flight for `clientId` (all clients when empty).
  std::size_t inFlight(std::string_view group, std::string_view clientId) const {
    std::lock_guard lock(mutex_);
    auto git = groups_.find(std::string(group));
    if (git == groups_.end()) return 0;
    if (clientId.empty()) return git->second.inFlight.size();
    auto cit = git->second.byClient.find(std::string(clientId));
    return cit == git->second.byClient.end() ? 0 : cit->second;
  }

  /// Counters of a group: messages revived for another delivery, and sent to the DLQ.
  std::pair<std::uint64_t, std::uint64_t> revivals(std::string_view group) const {
    std::lock_guard lock(mutex_);
    auto git = groups_.find(std::string(group));
    if (git == groups_.end()) return {0, 0};
    return {git->second.revived, git->second.deadLettered};
  }

  void setDestinations(std::string_view group,
                       std::map<const TopicEntry*, std::pair<TopicEntry*, TopicEntry*>> d) {
    std::lock_guard lock(mutex_);
    Group& g = group_(group);
    for (auto& [from, to] : d)
      g.destinations.insert_or_assign(from, to);
  }

 private:
  static constexpr std::int64_t kMaxScan = 4096;

  struct InFlight {
    ConsumeQueue* queue;
    std::int64_t commitLogOffset;
    std::int64_t queueOffset;
    std::uint32_t generation;
    std::int64_t deadline;
    TimerId timer;
    std::string clientId;
  };
  struct QueueState {
    OffsetTable::Slot* slot;
    std::int64_t popOffset;
    std::multiset<std::int64_t> inFlightOffsets;
  };
  struct Group {
    std::string name;
    int maxAttempts = 17;
    std::unordered_map<std::uint64_t, InFlight> inFlight;
    std::map<std::string, std::size_t> byClient;
    std::map<ConsumeQueue*, QueueState> queues;
    // For each topic a message may come from: (the pop retry topic of its original topic, the DLQ topic).
    std::map<const TopicEntry*, std::pair<TopicEntry*, TopicEntry*>> destinations;
    std::uint64_t revived = 0;
    std::uint64_t deadLettered = 0;
  };
  using InFlightIt = typename std::unordered_map<std::uint64_t, InFlight>::iterator;

  Group& group_(std::string_view name) {
    auto it = groups_.find(std::string(name));
    if (it == groups_.end()) {
      it = groups_.emplace(std::string(name), Group{}).first;
      it->second.name = std::string(name);
    }
    return it->second;
  }

  static std::uint64_t timerArg(std::uint64_t id, std::uint32_t generation) noexcept {
    return (id << 16) | (generation & 0xFFFF);
  }

  // A handle names the group, the in-flight record and its generation; it is opaque to applications. ':' is
  // not a legal character of a group name, so it separates the parts unambiguously.
  std::string handle(std::string_view group, std::uint64_t id, std::uint32_t generation) const {
    return std::string(group) + ":" + MessageId{identity_, id}.toString() + ":" + std::to_string(generation);
  }

  std::pair<Group*, InFlightIt> find(std::string_view group, std::string_view receiptHandle) {
    // group:<32 hex: identity and id>:generation
    const std::size_t bar1 = receiptHandle.find(':');
    const std::size_t bar2 = receiptHandle.rfind(':');
    if (bar1 == std::string_view::npos || bar2 <= bar1 || receiptHandle.substr(0, bar1) != group)
      return {nullptr, {}};
    const auto id = MessageId::parse(receiptHandle.substr(bar1 + 1, bar2 - bar1 - 1));
    const std::int64_t generation = parseInt64(receiptHandle.substr(bar2 + 1), -1);
    // A generation past 32 bits names no handle ever given out (it must not wrap onto one that was).
    if (!id || id->hi != identity_ || generation < 0 ||
        generation > std::numeric_limits<std::uint32_t>::max())
      return {nullptr, {}};
    auto git = groups_.find(std::string(group));
    if (git == groups_.end()) return {nullptr, {}};
    auto it = git->second.inFlight.find(id->lo);
    if (it == git->second.inFlight.end() || it->second.generation != static_cast<std::uint32_t>(generation)) {
      return {nullptr, {}};
    }
    return {&git->second, it};
  }

  // The record leaves flight (acked or revived).
  void finish(Group& g, InFlightIt it) {
    const InFlight& f = it->second;
    auto cit = g.byClient.find(f.clientId);
    if (cit != g.byClient.end() && --cit->second == 0) g.byClient.erase(cit);
    auto qit = g.queues.find(f.queue);
    if (qit != g.queues.end()) {
      auto oit = qit->second.inFlightOffsets.find(f.queueOffset);
      if (oit != qit->second.inFlightOffsets.end()) qit->second.inFlightOffsets.erase(oit);
      commitLocked(qit->second);
    }
    g.inFlight.erase(it);
  }

  static void commitLocked(QueueState& q) {
    const std::int64_t done = q.inFlightOffsets.empty() ? q.popOffset : *q.inFlightOffsets.begin();
    q.slot->store(done, std::memory_order_release);
  }

  // A deadline passed: revive the message (RocketMQ PopReviveService).
  void onTimer(std::uint64_t arg) noexcept override {
    const std::uint64_t id = arg >> 16;
    ConsumeQueue* arrived = nullptr;
    {
      std::lock_guard lock(mutex_);
      for (auto& [name, g] : groups_) {
        auto it = g.inFlight.find(id);
        if (it == g.inFlight.end()) continue;
        if ((it->second.generation & 0xFFFF) != (arg & 0xFFFF)) return;  // renewed since
        arrived = revive(g, it->second);
        finish(g, it);
        break;
      }
    }
    if (arrived != nullptr) sink_.onArrived(*arrived);
  }

  // Stores the next delivery's copy (or the dead letter). Called with mutex_ held.
  ConsumeQueue* revive(Group& g, const InFlight& f) {
    ConsumeQueue* arrived = nullptr;
    try {
      store_.locked([&](typename MessageStore<Body>::Locked& locked) {
        const RecordHeader* h = locked.find(f.commitLogOffset);
        if (h == nullptr) return;  // reclaimed by fileReservedTime while in flight; nothing left to deliver
        auto dit = g.destinations.find(h->topic);
        if (dit == g.destinations.end()) return;
        auto [retry, dlq] = dit->second;
        const SegmentPin pin(*locked.segmentOf(*h));  // making room must not reclaim what is copied
        std::string props;
        bool hasRetryTopic = false;
        appendPropertiesIf(props, h->encodedProperties(), [&](std::string_view n) {
          if (n == MessageConst::PROPERTY_RETRY_TOPIC) hasRetryTopic = true;
          return n != MessageConst::PROPERTY_FIRST_POP_TIME;
        });
        if (!hasRetryTopic) encodeProperty(props, MessageConst::PROPERTY_RETRY_TOPIC, h->topic->name);
        RecordSource<Body> src = copyOf<Body>(*h, props);
        src.reconsumeTimes = h->reconsumeTimes + 1;
        const bool dead = src.reconsumeTimes >= g.maxAttempts;
        std::string dlqProps;
        if (dead) {
          dlqProps = props;
          const auto origin = findProperty(props, MessageConst::PROPERTY_RETRY_TOPIC);
          encodeProperty(dlqProps, MessageConst::PROPERTY_DLQ_ORIGIN_TOPIC,
                         origin ? *origin : h->topic->name);
          encodeProperty(dlqProps, MessageConst::PROPERTY_DLQ_ORIGIN_MESSAGE_ID, h->msgId.toString());
          src.encodedProperties = dlqProps;
        }
        AppendResult r = locked.append(dead ? *dlq : *retry, 0, src, clock_.nowMillis(), /*internal=*/true);
        if (r.ok()) {
          ++(dead ? g.deadLettered : g.revived);
          arrived = r.queue;
        }
      });
    } catch (...) {
      // A Body copy constructor threw: the message is not delivered again.
    }
    return arrived;
  }

  MessageStore<Body>& store_;
  TimerService<Clock>& timers_;
  Clock& clock_;
  ArrivalSink& sink_;
  const std::uint64_t identity_;
  mutable std::mutex mutex_;  // guards groups_ and nextId_
  std::map<std::string, Group> groups_;
  std::uint64_t nextId_ = 1;
  TargetHandle target_;
};

}  // namespace ackmq::detail
