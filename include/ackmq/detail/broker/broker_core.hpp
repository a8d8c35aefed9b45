#pragma once
// ackmq internals: the broker's core. It composes the store and the broker services, and its public member
// functions are the narrow interface clients use: the in-process stand-in for RocketMQ's remoting protocol
// (SEND_MESSAGE, PULL_MESSAGE, CONSUMER_SEND_MSG_BACK, ...). Clients never reach past it into the store.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <ackmq/broker_config.hpp>
#include <ackmq/clock.hpp>
#include <ackmq/consumer_types.hpp>
#include <ackmq/detail/broker/arrivals.hpp>
#include <ackmq/detail/broker/client_api.hpp>
#include <ackmq/detail/broker/config_check.hpp>
#include <ackmq/detail/broker/faults.hpp>
#include <ackmq/detail/broker/group_registry.hpp>
#include <ackmq/detail/broker/message_queries.hpp>
#include <ackmq/detail/broker/page_warmer.hpp>
#include <ackmq/detail/broker/pop_service.hpp>
#include <ackmq/detail/broker/put_result.hpp>
#include <ackmq/detail/broker/reply_router.hpp>
#include <ackmq/detail/broker/retry_service.hpp>
#include <ackmq/detail/broker/room_waiters.hpp>
#include <ackmq/detail/broker/schedule_service.hpp>
#include <ackmq/detail/broker/timer_service.hpp>
#include <ackmq/detail/broker/transaction_service.hpp>
#include <ackmq/detail/durable/durable_store.hpp>
#include <ackmq/detail/message_id.hpp>
#include <ackmq/detail/store/materialize.hpp>
#include <ackmq/detail/store/message_store.hpp>
#include <ackmq/detail/store/subscription_filter.hpp>
#include <ackmq/detail/validators.hpp>
#include <ackmq/message.hpp>
#include <ackmq/status.hpp>
#include <ackmq/store_recovery.hpp>

namespace ackmq::detail {

/// Thread safety: thread-safe.
template <class Body, class Clock>
class BrokerCore final : private TimerTarget {
 public:
  using body_type = Body;
  using clock_type = Clock;
  using Message = BasicMessage<Body>;
  using MessageExt = BasicMessageExt<Body>;

  /// `fs`: where a durable broker's files go (the system's when null).
  BrokerCore(Clock& clock, BrokerConfig config, FileSystem* fs = nullptr)
      : config_(checkedConfig(std::move(config))),
        clock_(clock),
        identity_(newIdentity()),
        store_(StoreOptions{config_.commitLogSegmentBytes, config_.maxStoreBytes,
                            static_cast<std::int64_t>(config_.fileReservedTime.count()) * 3'600'000,
                            config_.storeFullPolicy, config_.maxConsumedHistoryBytes}),
        arrivals_(store_.storeLock()),
        timers_(clock),
        schedule_(store_, timers_, clock, parseDelayLevels(config_.messageDelayLevel), arrivals_),
        retry_(store_, schedule_, clock, arrivals_),
        pop_(store_, timers_, clock, arrivals_, identity_),
        transactions_(store_, timers_, clock, config_, identity_),
        cleanupTarget_(timers_.registerTarget(*this)) {
    // A ManualClock broker owns no thread: the warmer's would be the only one.
    if (config_.warmMappedFileEnable && !Clock::isManual) store_.setPageWarmer(&warmer_);
    timers_.scheduleAfter(config_.cleanResourceInterval.count(), cleanupTarget_, 0);
    // The reply topic exists from the start, with one queue, so that a responder can route to it whether
    // or not topics are auto-created (RocketMQ TopicConfigManager creates it at broker start).
    ensureTopic(replyTopic_, 1);
    if (!config_.storePathRootDir.empty()) openDurable(fs != nullptr ? *fs : posixFiles_);
  }
  BrokerCore(const BrokerCore&) = delete;
  BrokerCore& operator=(const BrokerCore&) = delete;
  ~BrokerCore() {
    shutdown();
    timers_.unregisterTarget(cleanupTarget_);
  }

  /// Stops the timer thread and refuses further sends (SERVICE_NOT_AVAILABLE). Stored messages, parked
  /// delayed messages included, stay readable. Idempotent.
  void shutdown() {
    running_.store(false, std::memory_order_release);
    timers_.shutdown();
    // After the timers: a request waiting for its reply now waits for nothing, and must hear so.
    replies_.shutdown();
    if (durable_) durable_->close();  // last: what was stored until now is flushed and marked clean
  }
  bool running() const noexcept { return running_.load(std::memory_order_acquire); }

  const BrokerConfig& config() const noexcept { return config_; }
  const std::string& brokerName() const noexcept { return config_.brokerName; }
  std::uint64_t identity() const noexcept { return identity_; }
  Clock& clock() const noexcept { return clock_; }
  TimerService<Clock>& timers() noexcept { return timers_; }
  ReplyRouter<Body>& replies() noexcept { return replies_; }
  const ReplyRouter<Body>& replies() const noexcept { return replies_; }
  int maxDelayLevel() const noexcept { return schedule_.maxLevel(); }
  MessageLimits messageLimits() const noexcept {
    return MessageLimits{config_.maxMessageSize, schedule_.maxLevel(),
                         static_cast<std::int64_t>(config_.timerMaxDelay.count())};
  }

  // --------------------------------------------------------------------------------------------- topics

  /// The route of `topic`: the existing topic, or, with autoCreateTopicEnable, a new one with
  /// defaultTopicQueueNums queues (RocketMQ createTopicInSendMessageMethod). Empty when there is no route.
  TopicRoute routeTopic(std::string_view topic) {
    TopicEntry* t = store_.findTopic(topic);
    if (t == nullptr || t->queueNums.load(std::memory_order_acquire) == 0) {
      if (!config_.autoCreateTopicEnable) return {};
      t = &ensureTopic(topic, config_.defaultTopicQueueNums);
    }
    return TopicRoute{TopicRef(t), t->queueNums.load(std::memory_order_acquire)};
  }

  /// Creates `topic` with `queueNums` queues, or grows it to that many. Idempotent; never shrinks a topic.
  void createTopic(std::string_view topic, int queueNums) {
    checkTopic(topic, "createTopic topic");
    if (queueNums < 1 || queueNums > kMaxQueueNums) {
      throw MQClientException(ResponseCode::MESSAGE_ILLEGAL,
                              "createTopic queueNums " + std::to_string(queueNums) + " is out of range 1.." +
                                  std::to_string(kMaxQueueNums));
    }
    ensureTopic(topic, queueNums);
  }

  /// Creates or grows a topic, and tells the groups subscribed to it to rebalance if it changed.
  TopicEntry& ensureTopic(std::string_view topic, int queueNums) {
    bool changed = false;
    TopicEntry& t = store_.ensureTopic(topic, queueNums, &changed);
    if (changed) {
      groups_.topicChanged(topic);
      if (durable_) durable_->topicsChanged();
    }
    return t;
  }

  /// The one-queue topic `name`, created on first use and remembered in `slot`.
  TopicEntry& topicOf(std::atomic<TopicEntry*>& slot, std::string_view name) {
    if (TopicEntry* t = slot.load(std::memory_order_acquire)) return *t;
    TopicEntry& t = ensureTopic(name, 1);
    slot.store(&t, std::memory_order_release);
    return t;
  }

  /// Every queue of `topic`, in queue id order, or none when it does not exist.
  std::vector<MessageQueue> queuesOrNone(std::string_view topic) const {
    std::vector<MessageQueue> out;
    TopicEntry* t = store_.findTopic(topic);
    const int n = t == nullptr ? 0 : t->queueNums.load(std::memory_order_acquire);
    for (int i = 0; i < n; ++i)
      out.emplace_back(t->name, config_.brokerName, i);
    return out;
  }

  /// Every queue of `topic`, in queue id order. Throws MQClientException when the topic does not exist.
  std::vector<MessageQueue> queuesOf(std::string_view topic) const {
    TopicEntry* t = store_.findTopic(topic);
    const int n = t == nullptr ? 0 : t->queueNums.load(std::memory_order_acquire);
    if (n == 0) {
      throw MQClientException(ResponseCode::NOT_FOUND_TOPIC_EXCEPTION,
                              "no message queue for topic \"" + std::string(topic) + "\": it does not exist");
    }
    std::vector<MessageQueue> out;
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
      out.emplace_back(t->name, config_.brokerName, i);
    return out;
  }

  // --------------------------------------------------------------------------------------------- sends

  /// SEND_MESSAGE: stores `msg` in queue `queueId` of the route's topic, or parks it when it carries a delay.
  /// The message has been validated by the client.
  /// `deferDurable` (an async send): under SYNC_FLUSH, answer with pendingDurable, not after the flush.
  PutResult send(const TopicRoute& route, int queueId, const Message& msg, const MessageId& id,
                 std::int64_t bornTimestamp, bool deferDurable = false) {
    PutResult result;
    // In process, the message is stored the instant it is born: one clock read serves both timestamps,
    // unless an injected slow request moved the clock in between.
    std::int64_t storeTs = bornTimestamp;
    if (const std::int64_t slow = faults_.takeSlowness(); slow > 0) {
      elapseInjected(clock_, slow);
      storeTs = clock_.nowMillis();
    }
    const FaultState::SendFault fault = faults_.takeSendFault();
    if (refusedByFault(fault, result)) return result;
    if (!admissible(msg, result)) return result;

    TopicEntry& topic = *route.topic.t_;
    const auto& props = msg.getProperties();
    // Only a property named like the library's makes a reply, a delay or a request.
    const bool libraryNames = MessageConst::anyLibraryName(props);
    if (libraryNames && isReplyMessage(props)) {
      // Handed to the requester, not stored (RocketMQ ReplyMessageProcessor): the responder's send succeeds
      // whether or not anybody still waits, as RocketMQ's push to the requester is fire-and-forget.
      replies_.route(msg);
      return result;
    }
    RecordSource<Body> src;
    src.tags = msg.getTags();
    src.body = &msg.getBody();
    src.msgId = id;
    src.bornTimestamp = bornTimestamp;
    src.flag = msg.getFlag();
    thread_local std::string encoded;  // the thread's own buffer, kept from one send to the next
    encoded.clear();
    if (!props.empty()) {
      const std::int64_t delay = libraryNames ? schedule_.delayOf(msg) : 0;
      if (delay > 0) {
        encoded = encodeProperties(props);
        stampRequest(props, encoded);
        ScheduleService<Body, Clock>::addDestination(encoded, topic.name, queueId);
        src.encodedProperties = encoded;
        const int level = msg.getDelayTimeLevel();
        const int scheduleQueue = level > 0 ? level - 1 : schedule_.deliverTimeQueueId();
        finishPut(schedule_.park(src, scheduleQueue, delay), fault, result);
        return result;  // parked: nothing arrived anywhere yet
      }
      encodeWithoutTimer(encoded, props);
      if (libraryNames) stampRequest(props, encoded);
      src.encodedProperties = encoded;
    }
    const AppendResult r = appendAndTell(topic, queueId, std::span(&src, 1), storeTs);  // built in place
    finishPut(r, fault, result);
    if (durable_ && r.ok()) confirmDurable(r, msg.isWaitStoreMsgOK(), deferDurable, result);
    return result;
  }

  /// Completes a send that answered with pendingDurable: done(status), on a broker thread (DurableStore).
  void whenDurable(std::int64_t end, std::function<void(SendStatus)> done) {
    durable_->whenDurable(end, std::move(done));
  }

  /// SEND_BATCH_MESSAGE: stores every message in queue `queueId` with consecutive offsets, or none of them.
  PutResult sendBatch(const TopicRoute& route, int queueId, const std::vector<Message>& batch,
                      const std::vector<MessageId>& ids, std::int64_t bornTimestamp) {
    PutResult result;
    elapseInjected(clock_, faults_.takeSlowness());
    const FaultState::SendFault fault = faults_.takeSendFault();
    if (refusedByFault(fault, result)) return result;
    std::vector<std::string> encoded(batch.size());
    std::vector<RecordSource<Body>> srcs(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Message& m = batch[i];
      if (!admissible(m, result)) return result;
      if (isReplyMessage(m.getProperties())) {
        result.code = ResponseCode::MESSAGE_ILLEGAL;
        result.remark = "a reply message must be sent alone, not in a batch";
        return result;
      }
      if (schedule_.delayOf(m) > 0) {
        result.code = ResponseCode::MESSAGE_ILLEGAL;
        result.remark = "a batch must not carry a delay";
        return result;
      }
      encodeWithoutTimer(encoded[i], m.getProperties());
      stampRequest(m.getProperties(), encoded[i]);
      RecordSource<Body>& s = srcs[i];
      s.tags = m.getTags();
      s.encodedProperties = encoded[i];
      s.body = &m.getBody();
      s.msgId = ids[i];
      s.bornTimestamp = bornTimestamp;
      s.flag = m.getFlag();
    }
    const AppendResult r = appendAndTell(*route.topic.t_, queueId, srcs, clock_.nowMillis());
    finishPut(r, fault, result);
    if (durable_ && r.ok()) confirmDurable(r, batch.front().isWaitStoreMsgOK(), false, result);
    return result;
  }

  // ---------------------------------------------------------------------------------------------
  // transactions

  /// SEND_MESSAGE of a transactional message of producer group `group`: stores its half, which consumers do
  /// not see until endTransaction commits it. The message has been validated by the client.
  PutResult sendHalf(const TopicRoute& route, int queueId, const Message& msg, const MessageId& id,
                     std::int64_t bornTimestamp, std::string_view group) {
    PutResult result;
    elapseInjected(clock_, faults_.takeSlowness());
    const FaultState::SendFault fault = faults_.takeSendFault();
    if (refusedByFault(fault, result)) return result;
    if (!admissible(msg, result)) return result;
    finishPut(transactions_.prepare(*route.topic.t_, queueId, msg, id, bornTimestamp, group), fault, result);
    return result;
  }

  /// END_TRANSACTION for the half at CommitLog offset `halfOffset`.
  EndTransactionResult endTransaction(std::int64_t halfOffset, std::string_view group,
                                      TransactionResolution how) {
    return transactions_.end(halfOffset, group, how);
  }

  TransactionService<Body, Clock>& transactions() noexcept { return transactions_; }
  const TransactionService<Body, Clock>& transactions() const noexcept { return transactions_; }

  // --------------------------------------------------------------------------------------------- consumers

  GroupRegistry& groups() noexcept { return groups_; }
  const GroupRegistry& groups() const noexcept { return groups_; }
  int retryMaxTimes() const noexcept { return config_.retryMaxTimes; }

  /// HEART_BEAT from a new member: creates the group's retry topic (CLUSTERING), fixes where a group new to a
  /// topic starts (for CONSUME_FROM_LAST_OFFSET the queues' ends as they stand now: RocketMQ may replay all
  /// history here), then joins the group, which tells every member to rebalance. `offsetGroup` keys the
  /// member's offsets: the group, or one instance of a broadcasting group.
  void registerConsumer(const MemberSpec& spec, std::string_view offsetGroup, ConsumeFromWhere where,
                        std::int64_t consumeTimestamp) {
    if (!running()) {
      throw MQClientException(ResponseCode::SERVICE_NOT_AVAILABLE, "the broker is shut down");
    }
    for (const auto& [topic, filter] : spec.subscriptions) {
      if (filter.isSql() && !config_.enablePropertyFilter) {
        throw MQClientException(
            ResponseCode::SYSTEM_ERROR,
            "consumer group \"" + spec.group + "\" subscribes to " + topic +
                " with SQL92, but the broker does not support filtering messages by SQL92 "
                "(BrokerConfig::enablePropertyFilter is false)");
      }
    }
    if (spec.kind == ListenerKind::POP) {
      // POP: one retry topic per subscribed topic, and the dead-letter topic.
      TopicEntry& dlq = ensureTopic(MixAll::getDLQTopic(spec.group), 1);
      std::map<const TopicEntry*, std::pair<TopicEntry*, TopicEntry*>> destinations;
      for (const auto& [topic, filter] : spec.subscriptions) {
        TopicEntry& retry = ensureTopic(popRetryTopic(spec.group, topic), 1);
        destinations.emplace(&retry, std::make_pair(&retry, &dlq));
        destinations.emplace(&ensureTopic(topic, 0), std::make_pair(&retry, &dlq));
      }
      pop_.setDestinations(spec.group, std::move(destinations));
    } else if (spec.model == MessageModel::CLUSTERING) {
      ensureTopic(MixAll::getRetryTopic(spec.group), 1);
    }
    for (const auto& [topic, filter] : spec.subscriptions) {
      TopicEntry* t = store_.findTopic(topic);
      if (t == nullptr || store_.offsets().hasAny(offsetGroup, topic)) continue;
      const int n = t->queueNums.load(std::memory_order_acquire);
      for (int q = 0; q < n; ++q) {
        const MessageQueue mq(t->name, config_.brokerName, q);
        const std::int64_t start = startOffset(offsetGroup, mq, where, consumeTimestamp, /*joining=*/true);
        std::int64_t none = -1;
        // Only where nothing is committed yet: a member starting at the same time may already consume.
        store_.offsets().slot(offsetGroup, *t, q).compare_exchange_strong(none, start);
      }
    }
    groups_.join(spec);
  }

  // --------------------------------------------------------------------------------------- POP
  // (SimpleConsumer)

  /// Where a POP member of `group` reads: every queue of each subscribed topic, then each topic's pop retry
  /// queue, which a SQL92 subscription filters as it filters its topic.
  std::vector<PopSource> popSources(std::string_view group,
                                    const std::map<std::string, SubscriptionFilter>& subscriptions) {
    static const SubscriptionFilter kAll;
    std::vector<PopSource> out;
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& [topic, filter] : subscriptions) {
        const std::string name = pass == 0 ? topic : popRetryTopic(group, topic);
        for (const MessageQueue& mq : queuesOrNone(name)) {
          ConsumeQueue* cq = queueOf(mq);
          if (cq == nullptr) continue;
          out.push_back(
              PopSource{cq, pass == 0 || filter.isSql() ? &filter : &kAll, &slotOf(group, mq),
                        startOffset(group, mq, ConsumeFromWhere::CONSUME_FROM_LAST_OFFSET, 0, false)});
        }
      }
    }
    return out;
  }

  /// POP_MESSAGE into `out`, whose records the caller copies with toConsumerView before releasing it.
  void popMessages(std::string_view group, std::string_view clientId, const std::vector<PopSource>& sources,
                   int maxNums, std::int64_t invisibleMillis, PopBuffer& out) {
    pop_.pop(group, clientId, sources, maxNums, invisibleMillis, config_.retryMaxTimes + 1, out.pins,
             out.popped);
  }
  /// Starts telling `listener` of arrivals in `source`'s queue (a long poll).
  void listen(const PopSource& source, ArrivalListener& listener) {
    arrivals_.listen(*source.queue, listener);
  }
  void unlisten(const PopSource& source, ArrivalListener& listener) {
    arrivals_.unlisten(*source.queue, listener);
  }
  ResponseCode ackMessage(std::string_view group, std::string_view receiptHandle) {
    const ResponseCode code = pop_.ack(group, receiptHandle);
    room_.notify();  // the ack may have moved the group's offset
    return code;
  }
  std::optional<std::string> changeInvisibleTime(std::string_view group, std::string_view receiptHandle,
                                                 std::int64_t millis) {
    return pop_.changeInvisible(group, receiptHandle, millis);
  }
  std::size_t popInFlight(std::string_view group, std::string_view clientId) const {
    return pop_.inFlight(group, clientId);
  }
  std::pair<std::uint64_t, std::uint64_t> popRevivals(std::string_view group) const {
    return pop_.revivals(group);
  }
  /// The message a simple consumer sees for popped record i, as toConsumerMessage.
  template <class Out>
  void toConsumerView(Out& out, const PopBuffer& popped, std::size_t i) const {
    materializeInto(static_cast<MessageExt&>(out), *popped.popped[i].record, config_.brokerName, identity_,
                    TopicView::ORIGINAL);
  }

  /// UNREGISTER_CLIENT: the member leaves; the others rebalance. After this returns the member is not called.
  void unregisterConsumer(std::string_view group, std::string_view clientId) {
    groups_.leave(group, clientId);
  }

  std::vector<std::string> consumerIds(std::string_view group) const { return groups_.clientIds(group); }

  /// The consume queue of `mq`; empty when there is none.
  QueueHandle consumeQueue(const MessageQueue& mq) { return QueueHandle(queueOf(mq)); }
  /// The committed-offset slot of (group, mq); the queue must exist.
  OffsetSlot offsetSlot(std::string_view group, const MessageQueue& mq) {
    return OffsetSlot(slotOf(group, mq), room_);
  }

  /// Starts telling `listener` of arrivals in `queue`; after unlisten returns it is not told again. Not from
  /// inside an arrival notification.
  void listen(QueueHandle queue, ArrivalListener& listener) { arrivals_.listen(*queue.q_, listener); }
  void unlisten(QueueHandle queue, ArrivalListener& listener) { arrivals_.unlisten(*queue.q_, listener); }

  /// Where a member starts reading `mq` (RocketMQ RebalancePushImpl.computePullFromWhere), the one rule for
  /// every consumer: the group's committed offset, never below the queue's minimum; else as `where` says.
  /// `joining`: the group is new to the queue as it first starts (or a lite pull consumer assigns it), and
  /// CONSUME_FROM_LAST_OFFSET means the queue's end as it stands now (RocketMQ's broker may answer 0 here
  /// and replay all history). Otherwise the queue appeared after the group started (a topic auto-created
  /// by its first send), and LAST means its beginning, so that "subscribe, then send" receives everything.
  /// With CONSUME_FROM_TIMESTAMP the first message at or after the timestamp; a retry topic taken later
  /// starts at its end.
  std::int64_t startOffset(std::string_view group, const MessageQueue& mq, ConsumeFromWhere where,
                           std::int64_t consumeTimestamp, bool joining) {
    const std::int64_t committed = store_.offsets().query(group, mq.topic, mq.queueId);
    const std::int64_t min = minOffset(mq);
    if (committed >= 0) return std::max(committed, min);
    switch (where) {
      case ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET:
        return min;
      case ConsumeFromWhere::CONSUME_FROM_TIMESTAMP:
        return MixAll::isRetryTopic(mq.topic) && !joining ? maxOffset(mq)
                                                          : searchOffset(mq, consumeTimestamp);
      case ConsumeFromWhere::CONSUME_FROM_LAST_OFFSET:
        break;
    }
    return joining ? maxOffset(mq) : min;
  }

  /// PULL_MESSAGE: up to `maxNums` records of `queue` from `offset` whose tag `filter` accepts, into `out`,
  /// read without the store lock and valid until out.release(), which the caller must call before it sends
  /// anything. Returns the offset to pull from next; an offset below the queue's minimum moves up to it.
  std::int64_t pull(QueueHandle queue, std::int64_t offset, int maxNums, const SubscriptionFilter& filter,
                    PullBuffer& out) {
    ConsumeQueue& cq = *queue.q_;
    if (cq.stalled.load(std::memory_order_acquire)) return offset;
    return store_.read(cq, offset, maxNums, kMaxPullScan, out.pins_,
                       [&](const RecordHeader& h) { return filter.matches(h); });
  }

  /// StoreFullPolicy::WAIT: a send refused because the store is full waits for room (awaitRoom) within its
  /// budget, rather than failing at once.
  bool waitsForRoom() const noexcept { return config_.storeFullPolicy == StoreFullPolicy::WAIT; }
  /// Sleeps until a consumer commits or a short slice passes (RoomWaiters), holding no lock.
  void awaitRoom() { room_.await(); }

  /// A consumer has taken everything it was offered and is about to sleep: consumed history over its
  /// bound is reclaimed now rather than at the next segment or clean-up. Cheap while under the bound.
  void consumerCaughtUp() { store_.trimHistoryIfOver(); }

  /// The message a consumer sees for record i of a pull: a retry copy shows its original topic.
  void toConsumerMessage(MessageExt& out, const PullBuffer& pulled, std::size_t i) const {
    materializeInto(out, *pulled.pins_.records[i], config_.brokerName, identity_, TopicView::ORIGINAL);
  }

  /// CONSUMER_SEND_MSG_BACK for the copy at `commitLogOffset`, which the consumer has consumed
  /// `reconsumeTimes` times before.
  SendBackResult sendMessageBack(GroupRetryTopics& group, std::int64_t commitLogOffset, int delayLevel,
                                 int reconsumeTimes, int maxReconsumeTimes) {
    const SendBackRequest request{commitLogOffset, delayLevel, reconsumeTimes};
    SendBackResult result;
    sendMessagesBack(group, std::span(&request, 1), maxReconsumeTimes, std::span(&result, 1));
    return result;
  }

  /// CONSUMER_SEND_MSG_BACK for several copies in one request (a consumer's run of failed messages).
  /// results[i] answers requests[i]; it holds SYSTEM_ERROR where the broker refused the copy. Storage for
  /// the answer is taken first, so a throw here stores nothing.
  void sendMessagesBack(GroupRetryTopics& group, std::span<const SendBackRequest> requests,
                        int maxReconsumeTimes, std::span<SendBackResult> results) {
    TopicEntry& retry = topicOf(group.retry, group.retryName);
    TopicEntry& dlq = topicOf(group.dlq, group.dlqName);
    for (SendBackResult& r : results) {
      if (faults_.takeSendBackFault()) {
        r = SendBackResult{ResponseCode::SYSTEM_ERROR, false, "the send-back failed (injected)"};
      } else if (!running()) {
        r = SendBackResult{ResponseCode::SERVICE_NOT_AVAILABLE, false, "the broker is shut down"};
      } else {
        r.code = ResponseCode::SUCCESS;  // reset in place: no string moved per send-back
        r.deadLettered = false;
        r.remark.clear();
      }
    }
    retry_.sendBackAll(retry, dlq, requests, maxReconsumeTimes, results);
  }

  /// The consumer's fallback after a failed send-back: its copy sent to %RETRY%<group> as a normal message.
  SendBackResult sendRetryMessage(GroupRetryTopics& group, const MessageExt& msg, int delayLevel,
                                  int maxReconsumeTimes) {
    if (faults_.takeRetryFallbackFault()) {
      return SendBackResult{ResponseCode::SYSTEM_ERROR, false, "the retry message was refused (injected)"};
    }
    if (!running())
      return SendBackResult{ResponseCode::SERVICE_NOT_AVAILABLE, false, "the broker is shut down"};
    return retry_.sendRetryMessage(topicOf(group.retry, group.retryName), topicOf(group.dlq, group.dlqName),
                                   msg, delayLevel, maxReconsumeTimes);
  }

  /// Fault injection: pulls from `mq` find nothing while `stalled`.
  void stallQueue(const MessageQueue& mq, bool stalled) {
    ConsumeQueue* cq = queueOf(mq);
    if (cq == nullptr) {
      throw MQClientException(ResponseCode::NOT_FOUND_TOPIC_EXCEPTION,
                              "stallQueue: no such queue: " + mq.toString());
    }
    cq->stalled.store(stalled, std::memory_order_release);
    if (!stalled) Arrivals::notify(*cq);
  }

  // --------------------------------------------------------------------------------------------- queries

  std::int64_t minOffset(const MessageQueue& mq) const {
    const TopicEntry* t = store_.findTopic(mq.topic);
    return t == nullptr ? 0 : store_.minOffset(*t, mq.queueId);
  }
  std::int64_t maxOffset(const MessageQueue& mq) const {
    const TopicEntry* t = store_.findTopic(mq.topic);
    return t == nullptr ? 0 : store_.maxOffset(*t, mq.queueId);
  }
  /// The first offset stored at or after `timestamp` (RocketMQ searchOffset).
  std::int64_t searchOffset(const MessageQueue& mq, std::int64_t timestamp) const {
    const TopicEntry* t = store_.findTopic(mq.topic);
    return t == nullptr ? 0 : store_.offsetForTimestamp(*t, mq.queueId, timestamp);
  }
  std::int64_t queryConsumerOffset(std::string_view group, const MessageQueue& mq) const {
    return store_.offsets().query(group, mq.topic, mq.queueId);
  }

  /// UPDATE_CONSUMER_OFFSET: sets the group's committed offset of the queue (RocketMQ
  /// ConsumerOffsetManager.commitOffset overwrites, backwards included).
  void updateConsumerOffset(std::string_view group, const MessageQueue& mq, std::int64_t offset) {
    checkGroup(group, "updateConsumerOffset group");
    TopicEntry* t = store_.findTopic(mq.topic);
    if (t == nullptr || mq.queueId < 0 || mq.queueId >= t->queueNums.load(std::memory_order_acquire)) {
      throw MQClientException(ResponseCode::NOT_FOUND_TOPIC_EXCEPTION,
                              "updateConsumerOffset: no such queue: " + mq.toString());
    }
    if (offset < 0) {
      throw MQClientException(
          ResponseCode::MESSAGE_ILLEGAL,
          "updateConsumerOffset offset " + std::to_string(offset) + " must not be negative");
    }
    store_.offsets().slot(group, *t, mq.queueId).store(offset, std::memory_order_release);
    room_.notify();
  }

  /// The message with this id: an offset id names one physical copy; a msgId (UNIQ_KEY) finds the newest
  /// copy.
  std::optional<MessageExt> viewMessage(std::string_view id) const {
    return viewStoredMessage(const_cast<MessageStore<Body>&>(store_), id, config_.brokerName, identity_);
  }
  /// Up to `maxNum` messages of `topic` carrying `key` among their keys, oldest first.
  std::vector<MessageExt> queryMessage(std::string_view topic, std::string_view key, int maxNum) const {
    return storedMessagesByKey(store_, topic, key, maxNum, config_.brokerName, identity_);
  }
  /// Every retained message of `topic`, queue by queue, in queue order, as stored.
  std::vector<MessageExt> topicMessages(std::string_view topic) const {
    return storedMessagesOf(store_, topic, config_.brokerName, identity_);
  }

  StoreStats storeStats() const { return store_.stats(); }
  /// (topic, queueId) -> committed offset, for one offset group.
  std::map<std::pair<std::string, int>, std::int64_t> committedOffsets(std::string_view group) const {
    return store_.offsets().snapshot(group);
  }
  FaultState& faults() noexcept { return faults_; }
  /// What opening the durable store found; durable == false for an in-memory broker.
  const StoreRecovery& recovery() const noexcept { return recovery_; }
  DurableStore<Body, Clock>* durable() noexcept { return durable_.get(); }  // null: in memory
  /// The store lock, for tests of what runs under it.
  SpinThenBlockMutex& storeLock() noexcept { return store_.storeLock(); }

 private:
  static constexpr std::int64_t kMaxPullScan = 4096;  // entries one pull examines at most, matching or not

  ConsumeQueue* queueOf(const MessageQueue& mq) {
    TopicEntry* t = store_.findTopic(mq.topic);
    if (t == nullptr || mq.queueId < 0 || mq.queueId >= t->queueNums.load(std::memory_order_acquire))
      return nullptr;
    return store_.locked([&](typename MessageStore<Body>::Locked& l) { return l.queue(*t, mq.queueId); });
  }
  OffsetTable::Slot& slotOf(std::string_view group, const MessageQueue& mq) {
    TopicEntry* t = store_.findTopic(mq.topic);
    return store_.offsets().slot(group, *t, mq.queueId);
  }

  // A producer's append. The arrival is told under the store lock (see ArrivalListener): a consumer that is
  // looking for work takes it from there, and only one that must be woken costs a follow-up after the lock.
  AppendResult appendAndTell(TopicEntry& topic, int queueId, std::span<const RecordSource<Body>> srcs,
                             std::int64_t storeTs) {
    bool followUp = false;
    AppendResult r = store_.appendAllWith(
        topic, queueId, srcs, storeTs, [] {},
        [&](const AppendResult& stored) noexcept {
          followUp = stored.ok() && Arrivals::noteLocked(*stored.queue);
        });
    if (followUp) Arrivals::followUp(*r.queue);
    return r;
  }

  void openDurable(FileSystem& fs) {
    try {
      durable_ = openDurableStore(
          fs, config_, store_, timers_, clock_, recovery_,
          [this](std::string_view name, int n) -> TopicEntry& { return ensureTopic(name, n); });
    } catch (...) {
      timers_.shutdown();  // the constructor fails: no timer may reach the services being destroyed
      throw;
    }
  }

  // A stored message's status under SYNC_FLUSH: SEND_OK once durable (a degraded status stays), or, for a
  // deferred send, left to whenDurable.
  void confirmDurable(const AppendResult& r, bool wait, bool defer, PutResult& result) {
    if (defer && durable_->mustWait(r.journalEnd, wait)) {
      result.pendingDurable = r.journalEnd;
      return;
    }
    const SendStatus s = durable_->confirm(r.journalEnd, wait);
    if (result.status == SendStatus::SEND_OK) result.status = s;
  }

  static std::uint64_t newIdentity() {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ 0xB0B0000000000000ULL;
  }

  bool admissible(const Message& msg, PutResult& result) const {
    return admissibleMessage(msg, running(), config_.maxMessageSize, result);
  }
  void stampRequest(const typename Message::property_map& props, std::string& encoded) const {
    stampRequestCluster(props, encoded, config_.brokerClusterName);
  }

  // TimerTarget: the periodic clean-up of expired segments (RocketMQ CleanCommitLogService); it also arms any
  // delay level whose timer the timer service could not take.
  void onTimer(std::uint64_t) noexcept override {
    store_.reclaimExpired(clock_.nowMillis());
    room_.notify();
    schedule_.rearmLevels();
    timers_.scheduleAfter(config_.cleanResourceInterval.count(), cleanupTarget_, 0);
  }

  const BrokerConfig config_;
  Clock& clock_;
  const std::uint64_t identity_;
  std::atomic<bool> running_{true};
  MessageStore<Body> store_;
  Arrivals arrivals_;
  RoomWaiters room_;   // senders waiting for room in a full store (StoreFullPolicy::WAIT)
  PageWarmer warmer_;  // after store_: destroyed, and its thread joined, before the store's memory goes
  FaultState faults_;
  TimerService<Clock> timers_;
  ScheduleService<Body, Clock> schedule_;
  RetryService<Body, Clock> retry_;
  PopService<Body, Clock> pop_;
  TransactionService<Body, Clock> transactions_;
  GroupRegistry groups_;
  ReplyRouter<Body> replies_;
  const std::string replyTopic_ = MixAll::getReplyTopic(config_.brokerClusterName);
  TargetHandle cleanupTarget_;
  PosixFileSystem posixFiles_;
  StoreRecovery recovery_;
  std::unique_ptr<DurableStore<Body, Clock>> durable_;  // last: closed and destroyed before the services
};

}  // namespace ackmq::detail
