#pragma once
// ackmq internals: the broker side of a failed consume (RocketMQ AbstractSendMessageProcessor
// .consumerSendMsgBack and SendMessageProcessor.handleRetryAndDLQ).
//
// A failed message comes back to the broker, which stores a copy for its group: in %RETRY%<group> with
// reconsumeTimes + 1, parked in SCHEDULE_TOPIC_XXXX at the back-off level (3 + reconsumeTimes unless the
// consumer chose one), or in %DLQ%<group> once reconsumeTimes reaches maxReconsumeTimes or the consumer
// asked for it (delay level -1). The copy keeps the msgId, body, tags and born time.

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ackmq/clock.hpp>
#include <ackmq/detail/broker/faults.hpp>
#include <ackmq/detail/broker/schedule_service.hpp>
#include <ackmq/detail/store/message_store.hpp>
#include <ackmq/detail/store/record.hpp>
#include <ackmq/message.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

/// The broker's answer to a send-back.
struct SendBackResult {
  ResponseCode code = ResponseCode::SUCCESS;
  bool deadLettered = false;  // the copy went to %DLQ%<group>
  std::string remark;
  bool ok() const noexcept { return code == ResponseCode::SUCCESS; }
};

/// One failed message to send back: the copy at `commitLogOffset` failed. `delayLevel`: -1 = straight to the
/// DLQ, 0 = level 3 + reconsumeTimes, > 0 = that level (clamped to the highest). `reconsumeTimes` is the
/// consumer's count for the message, which local re-consumes may have raised above the stored copy's: the
/// one count the retry copy, its delay level and the DLQ decision all follow (RocketMQ reads the stored
/// copy's, so a message consumed again locally steps back down the ladder).
struct SendBackRequest {
  std::int64_t commitLogOffset = -1;
  int delayLevel = 0;
  int reconsumeTimes = 0;
};

/// A consumer group's %RETRY% and %DLQ% topics: named once, each created on its first use and then kept
/// (the store never removes a topic), so that a storm of send-backs looks neither of them up again.
///
/// Thread safety: thread-safe.
struct GroupRetryTopics {
  explicit GroupRetryTopics(std::string_view group)
      : retryName(MixAll::getRetryTopic(group)), dlqName(MixAll::getDLQTopic(group)) {}
  const std::string retryName;
  const std::string dlqName;
  std::atomic<TopicEntry*> retry{nullptr};
  std::atomic<TopicEntry*> dlq{nullptr};
};

/// Thread safety: thread-safe.
template <class Body, class Clock>
class RetryService {
 public:
  RetryService(MessageStore<Body>& store, ScheduleService<Body, Clock>& schedule, Clock& clock,
               ArrivalSink& sink)
      : store_(store), schedule_(schedule), clock_(clock), sink_(sink) {}

  /// CONSUMER_SEND_MSG_BACK for one or more failed messages, under one hold of the store lock, their timers
  /// armed and their consumers woken after it. `retry` and `dlq` are the group's %RETRY% and %DLQ% topics.
  /// results[i] answers requests[i]; an entry already failed on entry (a fault the caller injected) is
  /// skipped. A copy that throws fails its own entry only.
  void sendBackAll(TopicEntry& retry, TopicEntry& dlq, std::span<const SendBackRequest> requests,
                   int maxReconsumeTimes, std::span<SendBackResult> results) {
    std::vector<Arming> arming;
    arming.reserve(requests.size());
    std::vector<ConsumeQueue*> arrived;
    arrived.reserve(requests.size());
    store_.locked([&](typename MessageStore<Body>::Locked& locked) {
      for (std::size_t i = 0; i < requests.size(); ++i) {
        SendBackResult& result = results[i];
        if (!result.ok()) continue;
        Arming a;
        try {
          ConsumeQueue* q = sendBackLocked(locked, retry, dlq, requests[i], maxReconsumeTimes, result, a);
          if (q != nullptr && std::find(arrived.begin(), arrived.end(), q) == arrived.end())
            arrived.push_back(q);
        } catch (...) {
          result = SendBackResult{ResponseCode::SYSTEM_ERROR, false, "copying the message threw"};
          continue;
        }
        if (a.needed()) arming.push_back(a);
      }
    });
    for (const Arming& a : arming)
      schedule_.arm(a);
    for (ConsumeQueue* q : arrived)
      sink_.onArrived(*q);
  }

  /// The consumer's fallback when a send-back fails: the consumer sends its own copy of the message to
  /// %RETRY%<group> as a normal message (RocketMQ sendMessageBackAsNormalMessage). The copy keeps the delay
  /// level the listener chose (RocketMQ always uses 3 + reconsumeTimes here, issue #3731).
  SendBackResult sendRetryMessage(TopicEntry& retry, TopicEntry& dlq, const BasicMessageExt<Body>& msg,
                                  int delayLevel, int maxReconsumeTimes) {
    std::string props;
    const std::string& retryTopicProp =
        msg.getProperties().contains(MessageConst::PROPERTY_RETRY_TOPIC)
            ? msg.getProperties().find(MessageConst::PROPERTY_RETRY_TOPIC)->second
            : msg.getTopic();
    for (const auto& [k, v] : msg.getProperties()) {
      if (isRoutingProperty(k) || isName(k, MessageConst::PROPERTY_RETRY_TOPIC)) continue;
      encodeProperty(props, k, v);
    }
    encodeProperty(props, MessageConst::PROPERTY_RETRY_TOPIC, retryTopicProp);
    if (!msg.getProperties().contains(MessageConst::PROPERTY_ORIGIN_MESSAGE_ID)) {
      encodeProperty(props, MessageConst::PROPERTY_ORIGIN_MESSAGE_ID, msg.getMsgId());
    }
    RecordSource<Body> src;
    src.tags = msg.getTags();
    src.encodedProperties = props;
    src.body = &msg.getBody();
    src.msgId = MessageAccess::msgId(msg);
    src.bornTimestamp = msg.getBornTimestamp();
    src.reconsumeTimes = msg.getReconsumeTimes();
    src.flag = msg.getFlag();
    SendBackResult result;
    Arming arming;
    ConsumeQueue* arrived = store_.locked([&](typename MessageStore<Body>::Locked& locked) {
      return route(locked, retry, dlq, src, msg.getReconsumeTimes(), delayLevel, maxReconsumeTimes, result,
                   arming);
    });
    finish(arrived, arming);
    return result;
  }

 private:
  // The timer a copy parked for the retry topic may need, armed once the store lock is let go.
  using Arming = typename ScheduleService<Body, Clock>::Arming;
  // The queue a retry copy goes to: a group's %RETRY% topic has one (RocketMQ retryQueueNums 1). Both the
  // routing properties and the parked copy's destination name it.
  static constexpr int kRetryQueueId = 0;

  // sendBack's work under the store lock.
  ConsumeQueue* sendBackLocked(typename MessageStore<Body>::Locked& locked, TopicEntry& retry,
                               TopicEntry& dlq, const SendBackRequest& request, int maxReconsumeTimes,
                               SendBackResult& result, Arming& arming) {
    const std::int64_t commitLogOffset = request.commitLogOffset;
    const RecordHeader* original = locked.find(commitLogOffset);
    if (original == nullptr) {
      result.code = ResponseCode::SYSTEM_ERROR;
      result.remark =
          "the message at CommitLog offset " + std::to_string(commitLogOffset) + " is no longer stored";
      return nullptr;
    }
    const SegmentPin pin(*locked.segmentOf(*original));  // making room must not reclaim what is copied
    // The copy's properties: the original's without routing ones, with RETRY_TOPIC (its topic, unless it is a
    // retry copy) and ORIGIN_MESSAGE_ID (its msgId) where absent. A retry copy failing again has both, and
    // then its properties are taken from the record as they are; otherwise they are built in scratch_,
    // guarded by the store lock, whose capacity carries over from one send-back to the next.
    bool hasRetryTopic = false;
    bool hasOrigin = false;
    std::string_view props =
        keptProperties(original->encodedProperties(), scratch_, [&](std::string_view n, std::string_view) {
          if (isRoutingProperty(n)) return false;
          if (isName(n, MessageConst::PROPERTY_RETRY_TOPIC)) hasRetryTopic = true;
          if (isName(n, MessageConst::PROPERTY_ORIGIN_MESSAGE_ID)) hasOrigin = true;
          return true;
        });
    const bool addRetryTopic = !hasRetryTopic && original->topic->kind != TopicKind::RETRY;
    if (addRetryTopic || !hasOrigin) {
      if (props.data() != scratch_.data()) scratch_.assign(props);
      if (addRetryTopic) encodeProperty(scratch_, MessageConst::PROPERTY_RETRY_TOPIC, original->topic->name);
      if (!hasOrigin)
        encodeProperty(scratch_, MessageConst::PROPERTY_ORIGIN_MESSAGE_ID, original->msgId.hex());
      props = scratch_;
    }
    return route(locked, retry, dlq, copyOf<Body>(*original, props), request.reconsumeTimes,
                 request.delayLevel, maxReconsumeTimes, result, arming);
  }

  // After the store lock: arms the parked copy's level, or wakes the consumers of the queue a copy arrived
  // in.
  void finish(ConsumeQueue* arrived, const Arming& arming) {
    schedule_.arm(arming);
    if (arrived != nullptr) sink_.onArrived(*arrived);
  }

  // Stores the copy in the DLQ, with where it came from, or parks it for the retry topic, with where it is
  // going; `src.encodedProperties` are the copy's properties so far. Returns the queue a message arrived in,
  // if any; `arming` tells the timer to arm.
  ConsumeQueue* route(typename MessageStore<Body>::Locked& locked, TopicEntry& retry, TopicEntry& dlq,
                      RecordSource<Body> src, int reconsumeTimes, int delayLevel, int maxReconsumeTimes,
                      SendBackResult& result, Arming& arming) {
    src.reconsumeTimes = reconsumeTimes + 1;
    if (reconsumeTimes >= maxReconsumeTimes || delayLevel < 0) {
      // Built in dlqScratch_, which nothing else points into (src's properties may be in scratch_).
      const auto found = findProperty(src.encodedProperties, MessageConst::PROPERTY_RETRY_TOPIC);
      const std::string_view origin = found ? *found : std::string_view();
      dlqScratch_.assign(src.encodedProperties);
      encodeProperty(dlqScratch_, MessageConst::PROPERTY_DLQ_ORIGIN_TOPIC, origin);
      encodeProperty(dlqScratch_, MessageConst::PROPERTY_DLQ_ORIGIN_MESSAGE_ID, src.msgId.hex());
      src.encodedProperties = dlqScratch_;
      AppendResult r = locked.append(dlq, 0, src, clock_.nowMillis(), /*internal=*/true);
      result.code = r.code;
      if (!r.ok()) result.remark = std::move(r.remark);
      result.deadLettered = r.ok();
      return r.ok() ? r.queue : nullptr;
    }
    const int level = std::min(delayLevel == 0 ? 3 + reconsumeTimes : delayLevel, schedule_.maxLevel());
    src.moreProperties = routing(retry, level);
    AppendResult r = schedule_.parkLocked(locked, src, level - 1, retry, kRetryQueueId, arming);
    result.code = r.code;
    if (!r.ok()) result.remark = std::move(r.remark);
    return nullptr;
  }

  // Store lock held: the routing properties of a copy parked at `level` for `retry` (DELAY, REAL_TOPIC, and
  // REAL_QID 0), encoded once per level and kept until another topic parks at that level: a storm parks
  // copy after copy with the same three.
  std::string_view routing(const TopicEntry& retry, int level) {
    if (routing_.empty()) routing_.resize(static_cast<std::size_t>(schedule_.maxLevel()) + 1);
    auto& [topic, encoded] = routing_[static_cast<std::size_t>(level)];
    if (topic != &retry) {
      topic = nullptr;  // until the encoding is whole
      encoded.clear();
      char digits[16];
      const auto end = std::to_chars(digits, digits + sizeof digits, level).ptr;
      encodeProperty(encoded, MessageConst::PROPERTY_DELAY_TIME_LEVEL,
                     std::string_view(digits, static_cast<std::size_t>(end - digits)));
      ScheduleService<Body, Clock>::addDestination(encoded, retry.name, kRetryQueueId);
      topic = &retry;
    }
    return encoded;
  }

  MessageStore<Body>& store_;
  ScheduleService<Body, Clock>& schedule_;
  Clock& clock_;
  ArrivalSink& sink_;
  std::string scratch_;     // a send-back copy's properties; guarded by the store lock
  std::string dlqScratch_;  // a dead-letter copy's properties; guarded by the store lock
  // Per delay level, the retry topic last parked there and its routing properties; guarded by the store lock.
  std::vector<std::pair<const TopicEntry*, std::string>> routing_;
};

}  // namespace ackmq::detail
