#pragma once
// ackmq internals: the transaction service (RocketMQ TransactionalMessageServiceImpl, its bridge to the
// store, EndTransactionProcessor and TransactionalMessageCheckService).
//
// A transactional message is stored first as a half message in RMQ_SYS_TRANS_HALF_TOPIC queue 0, with its
// real topic and queue in REAL_TOPIC / REAL_QID, where no consumer reads it. Its producer then ends the
// transaction: COMMIT puts a copy into the real queue (same msgId, body, tags and properties, less the
// routing ones) and records an op in RMQ_SYS_TRANS_OP_HALF_TOPIC; ROLLBACK records the op only. A half left
// unresolved past transactionTimeOut (or its CHECK_IMMUNITY_TIME_IN_SECONDS) is checked back with a running
// producer of its group at every scan, one scan each transactionCheckInterval on the broker's clock; after
// transactionCheckMax checks the next scan discards it to TRANS_CHECK_MAX_TIME_TOPIC.
//
// RocketMQ finds the unresolved halves by reading the op topic back against the half queue, and re-appends
// a half each time it checks it (with the new TRANSACTION_CHECK_TIMES). In process the service keeps the
// unresolved halves in memory, in half-queue order, with their check counts: a check writes nothing, and a
// half is stored once. A half's segment counts it in pendingParked until it is resolved, so that it is not
// reclaimed under a transaction still open.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <ackmq/broker_config.hpp>
#include <ackmq/clock.hpp>
#include <ackmq/detail/body_traits.hpp>
#include <ackmq/detail/broker/arrivals.hpp>
#include <ackmq/detail/broker/schedule_service.hpp>
#include <ackmq/detail/broker/timer_service.hpp>
#include <ackmq/detail/message_id.hpp>
#include <ackmq/detail/store/commit_log.hpp>
#include <ackmq/detail/store/materialize.hpp>
#include <ackmq/detail/store/message_store.hpp>
#include <ackmq/detail/store/record.hpp>
#include <ackmq/message.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

/// How a producer ends a transaction (RocketMQ MessageSysFlag TRANSACTION_COMMIT_TYPE / ROLLBACK_TYPE; an
/// UNKNOW answer sends nothing that changes the half).
enum class TransactionResolution { COMMIT, ROLLBACK };

/// What an END_TRANSACTION did.
enum class EndTransactionResult {
  RESOLVED,     ///< the half was committed or rolled back, now
  NOT_PENDING,  ///< nothing changed: resolved already, another group's, or no such half
  BUSY,         ///< the store could not take the commit now; the half waits to be checked back
};

/// A producer that answers check-backs for its group (RocketMQ's producer channel in ProducerManager).
template <class Body>
class TransactionCheckSink {
 public:
  /// Queues a check of the half at CommitLog offset `halfOffset`, shown as `half`. Called with the
  /// service's lock held: it must only queue the check for a thread of the producer's own, never run it.
  virtual void postCheck(BasicMessageExt<Body> half, std::int64_t halfOffset) noexcept = 0;

 protected:
  ~TransactionCheckSink() = default;
};

/// An unresolved half message, as testing:: lists it.
struct PendingTransaction {
  std::string transactionId;  ///< the message's msgId
  std::string topic;          ///< where a commit puts it
  int queueId = 0;
  int checkTimes = 0;  ///< check-backs asked so far
  std::int64_t bornTimestamp = 0;
};

/// The service's counters.
struct TransactionStats {
  std::size_t pending = 0;       ///< halves not yet resolved
  std::uint64_t prepared = 0;    ///< halves stored
  std::uint64_t committed = 0;   ///< halves put to their real topic
  std::uint64_t rolledBack = 0;  ///< halves rolled back
  std::uint64_t checks = 0;      ///< check-backs asked
  std::uint64_t discarded = 0;   ///< halves moved to TRANS_CHECK_MAX_TIME_TOPIC
};

/// Thread safety: thread-safe.
template <class Body, class Clock>
class TransactionService final : private TimerTarget {
 public:
  using Message = BasicMessage<Body>;
  using MessageExt = BasicMessageExt<Body>;

  TransactionService(MessageStore<Body>& store, TimerService<Clock>& timers, Clock& clock,
                     const BrokerConfig& config, std::uint64_t identity)
      : store_(store),
        timers_(timers),
        clock_(clock),
        config_(config),
        identity_(identity),
        halfTopic_(store.ensureTopic(MixAll::RMQ_SYS_TRANS_HALF_TOPIC, 1)),
        opTopic_(store.ensureTopic(MixAll::RMQ_SYS_TRANS_OP_HALF_TOPIC, 1)),
        checkMaxTopic_(store.ensureTopic(MixAll::TRANS_CHECK_MAX_TIME_TOPIC, 1)),
        target_(timers.registerTarget(*this)) {
    timers_.scheduleAfter(config_.transactionCheckInterval.count(), target_, 0);
  }
  TransactionService(const TransactionService&) = delete;
  TransactionService& operator=(const TransactionService&) = delete;
  ~TransactionService() { timers_.unregisterTarget(target_); }

  /// SEND_MESSAGE of a transactional message (RocketMQ TransactionalMessageBridge.parseHalfMessageInner):
  /// stores the half for queue `queueId` of `real`. A delay is dropped: the message is delivered when
  /// committed.
  AppendResult prepare(TopicEntry& real, int queueId, const Message& msg, const MessageId& id,
                       std::int64_t bornTimestamp, std::string_view group) {
    // The properties a commit keeps come first, the routing ones last: a commit copies a prefix. Encoded
    // into a buffer of the thread's own, kept from one send to the next.
    thread_local std::string encoded;
    encoded.clear();
    for (const auto& [k, v] : msg.getProperties()) {
      if (!isRoutingProperty(k) && k != MessageConst::PROPERTY_TRANSACTION_PREPARED &&
          k != MessageConst::PROPERTY_PRODUCER_GROUP) {
        encodeProperty(encoded, k, v);
      }
    }
    encodeProperty(encoded, MessageConst::PROPERTY_PRODUCER_GROUP, group);
    const auto kept = static_cast<std::uint32_t>(encoded.size());
    encodeProperty(encoded, MessageConst::PROPERTY_TRANSACTION_PREPARED, "true");
    ScheduleService<Body, Clock>::addDestination(encoded, real.name, queueId);

    RecordSource<Body> src;
    src.tags = msg.getTags();
    src.encodedProperties = encoded;
    src.body = &msg.getBody();
    src.msgId = id;
    src.bornTimestamp = bornTimestamp;
    src.flag = msg.getFlag();

    // The entry is made before the half is stored (from a resolved half's, when there is one): once the
    // half is stored nothing can fail. One hold of the lock covers both, as the store lock nests in it.
    std::lock_guard lock(mutex_);
    Node node = takeNode(group);
    node.mapped() =
        Half{&real, queueId, kept, -1, bornTimestamp, 0, immunityOf(msg), 0, node.mapped().group, id};
    // In process a message is stored the instant it is born: one clock read serves both timestamps.
    AppendResult r = store_.append(halfTopic_, 0, src, bornTimestamp);
    if (!r.ok()) {
      recycle(std::move(node));
      return r;
    }
    node.key() = r.commitLogOffset;
    node.mapped().queueOffset = r.queueOffset;
    node.mapped().storedAt = bornTimestamp;
    pending_.insert(std::move(node));
    ++stats_.prepared;
    return r;
  }

  /// END_TRANSACTION for the half at `halfOffset` (RocketMQ EndTransactionProcessor): a commit or a
  /// rollback of an unresolved half of `group` resolves it, exactly once; anything else changes nothing.
  EndTransactionResult end(std::int64_t halfOffset, std::string_view group, TransactionResolution how) {
    ConsumeQueue* arrived = nullptr;
    {
      std::lock_guard lock(mutex_);
      auto it = pending_.find(halfOffset);
      if (it == pending_.end() || *it->second.group != group) return EndTransactionResult::NOT_PENDING;
      const std::int64_t now = clock_.nowMillis();
      const bool done = store_.locked([&](typename MessageStore<Body>::Locked& locked) {
        return how == TransactionResolution::COMMIT
                   ? commitLocked(locked, it->first, it->second, now, arrived)
                   : rollbackLocked(locked, it->first, it->second, now);
      });
      if (!done) return EndTransactionResult::BUSY;
      ++(how == TransactionResolution::COMMIT ? stats_.committed : stats_.rolledBack);
      recycle(pending_.extract(it));
    }
    if (arrived != nullptr) Arrivals::followUp(*arrived);
    return EndTransactionResult::RESOLVED;
  }

  /// A running producer of `group` that answers check-backs. Not from inside postCheck.
  void registerProducer(std::string_view group, TransactionCheckSink<Body>& sink) {
    std::lock_guard lock(mutex_);
    auto it = producers_.find(group);
    if (it == producers_.end()) it = producers_.emplace(std::string(group), Producers{}).first;
    it->second.sinks.push_back(&sink);
  }
  /// After this returns, `sink` is asked nothing more. Not from inside postCheck.
  void unregisterProducer(std::string_view group, TransactionCheckSink<Body>& sink) {
    std::lock_guard lock(mutex_);
    auto it = producers_.find(group);
    if (it == producers_.end()) return;
    std::erase(it->second.sinks, &sink);
    if (it->second.sinks.empty()) producers_.erase(it);
  }

  /// The unresolved halves of `group`, in the order they were stored.
  std::vector<PendingTransaction> pending(std::string_view group) const {
    std::lock_guard lock(mutex_);
    std::vector<PendingTransaction> out;
    for (const auto& [offset, h] : pending_) {
      if (*h.group == group)
        out.push_back(PendingTransaction{h.id.toString(), h.topic->name, h.queueId, h.checks, h.born});
    }
    return out;
  }

  TransactionStats stats() const {
    std::lock_guard lock(mutex_);
    TransactionStats s = stats_;
    s.pending = pending_.size();
    return s;
  }

 private:
  struct Half {
    TopicEntry* topic;         // the real topic
    int queueId;               // the real queue
    std::uint32_t keptBytes;   // the properties a commit keeps: this prefix of the half's
    std::int64_t queueOffset;  // in the half queue
    std::int64_t born;         // the producer's send time, ms since the epoch
    std::int64_t storedAt;     // when the half was stored
    std::int64_t immunity;     // ms after `born` before the first check
    int checks;                // check-backs asked
    const std::string* group;  // the producer group asked, interned in groupNames_
    MessageId id;
  };
  using Node = typename std::map<std::int64_t, Half>::node_type;

  // An entry for a half of `group`: a resolved half's, or a new one. Allocates only when none is spare.
  // Service lock held.
  Node takeNode(std::string_view group) {
    auto name = groupNames_.find(group);
    if (name == groupNames_.end()) name = groupNames_.emplace(group).first;
    Node node;
    if (!spare_.empty()) {
      node = std::move(spare_.back());
      spare_.pop_back();
    } else {
      std::map<std::int64_t, Half> one;
      one.emplace(0, Half{});
      node = one.extract(one.begin());
    }
    node.mapped().group = &*name;
    return node;
  }
  // Keeps a resolved half's entry for the next one, up to kMaxSpare. Service lock held.
  void recycle(Node node) noexcept {
    if (spare_.size() < kMaxSpare) {
      try {
        spare_.push_back(std::move(node));
      } catch (...) {
      }
    }
  }

  struct Producers {
    std::vector<TransactionCheckSink<Body>*> sinks;
    std::size_t next = 0;  // round robin
  };

  // RocketMQ TransactionalMessageServiceImpl.getImmunityTime: the property in seconds, -1 (or anything not
  // a number) for transactionTimeOut.
  std::int64_t immunityOf(const Message& msg) const {
    const auto& props = msg.getProperties();
    const std::int64_t timeout = config_.transactionTimeOut.count();
    auto it = props.find(MessageConst::PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS);
    if (it == props.end()) return timeout;
    const std::int64_t seconds = parseInt64(it->second, -1);
    if (seconds < 0 || seconds > std::int64_t{1} << 40) return timeout;
    return seconds * 1000;
  }

  // Store lock held (and the service's): puts the half's copy into its real queue and records the op.
  // False when the copy could not be stored now.
  bool commitLocked(typename MessageStore<Body>::Locked& locked, std::int64_t offset, const Half& h,
                    std::int64_t now, ConsumeQueue*& arrived) noexcept {
    const RecordHeader* half = locked.find(offset);
    if (half == nullptr) return true;  // dropped by StoreFullPolicy::DROP_OLDEST, and counted there
    Segment& seg = *locked.segmentOf(*half);
    const SegmentPin pin(seg);  // making room for the copy must never reclaim the half being copied
    try {
      const AppendResult r = locked.append(
          *h.topic, h.queueId, copyOf<Body>(*half, half->encodedProperties().substr(0, h.keptBytes)), now,
          /*internal=*/true);
      if (!r.ok()) return false;
      // Its consumers are told as a send tells them (see ArrivalListener): under the store lock, and
      // woken afterwards only when one must be.
      if (Arrivals::noteLocked(*r.queue)) arrived = r.queue;
    } catch (...) {
      return false;  // a Body copy constructor (or an allocation) threw; the half stays for a check-back
    }
    recordOp(locked, *half, h, now);
    seg.pendingParked.fetch_sub(1, std::memory_order_release);
    return true;
  }

  bool rollbackLocked(typename MessageStore<Body>::Locked& locked, std::int64_t offset, const Half& h,
                      std::int64_t now) noexcept {
    const RecordHeader* half = locked.find(offset);
    if (half == nullptr) return true;
    recordOp(locked, *half, h, now);
    locked.segmentOf(*half)->pendingParked.fetch_sub(1, std::memory_order_release);
    return true;
  }

  // The op RocketMQ writes for a resolved half: tag "d", the half's queue offset as the body. Bookkeeping
  // only (the service keeps what is open in memory), so a failure to store it loses nothing.
  void recordOp(typename MessageStore<Body>::Locked& locked, const RecordHeader& half, const Half& h,
                std::int64_t now) noexcept {
    try {
      const std::string offset = std::to_string(h.queueOffset);
      RecordSource<Body> op;
      op.tags = kRemoveTag;
      op.msgId = h.id;
      op.bornTimestamp = now;
      if constexpr (kBytesBody<Body>) {
        op.bodyBytes = offset;
        (void)locked.append(opTopic_, 0, op, op.bornTimestamp, /*internal=*/true);
      } else if constexpr (std::is_default_constructible_v<Body>) {
        const Body none{};
        op.body = &none;
        (void)locked.append(opTopic_, 0, op, op.bornTimestamp, /*internal=*/true);
      } else {
        op.body = &objectBody<Body>(half);  // no empty Body to be had
        (void)locked.append(opTopic_, 0, op, op.bornTimestamp, /*internal=*/true);
      }
    } catch (...) {
    }
  }

  // Store lock held (and the service's): moves the half to TRANS_CHECK_MAX_TIME_TOPIC with its check count
  // (RocketMQ AbstractTransactionalMessageCheckListener.resolveDiscardMsg).
  bool discardLocked(typename MessageStore<Body>::Locked& locked, std::int64_t offset,
                     const Half& h) noexcept {
    const RecordHeader* half = locked.find(offset);
    if (half == nullptr) return true;
    Segment& seg = *locked.segmentOf(*half);
    const SegmentPin pin(seg);
    try {
      std::string props(half->encodedProperties());
      encodeProperty(props, MessageConst::PROPERTY_TRANSACTION_CHECK_TIMES, std::to_string(h.checks));
      const AppendResult r =
          locked.append(checkMaxTopic_, 0, copyOf<Body>(*half, props), clock_.nowMillis(), /*internal=*/true);
      if (!r.ok()) return false;
    } catch (...) {
      return false;
    }
    seg.pendingParked.fetch_sub(1, std::memory_order_release);
    return true;
  }

  // The half as a check shows it: its real topic and queue, its properties, the check count and the
  // transaction id (RocketMQ AbstractTransactionalMessageCheckListener.sendCheckMessage, and the client's
  // ClientRemotingProcessor.checkTransactionState).
  MessageExt checkView(const RecordHeader& half, const Half& h, int checkTimes) const {
    MessageExt m = materialize<Body>(half, config_.brokerName, identity_, TopicView::STORED);
    MessageAccess::topic(m) = h.topic->name;
    m.setQueueId(h.queueId);
    MessageAccess::putProperty(m, MessageConst::PROPERTY_TRANSACTION_CHECK_TIMES, std::to_string(checkTimes));
    MessageAccess::putProperty(m, MessageConst::PROPERTY_TRANSACTION_ID, h.id.toString());
    return m;
  }

  // TransactionalMessageCheckService.onWaitEnd: one scan of the unresolved halves, then the next in
  // transactionCheckInterval.
  void onTimer(std::uint64_t) noexcept override {
    scan(clock_.nowMillis());
    try {
      timers_.scheduleAfter(config_.transactionCheckInterval.count(), target_, 0);
    } catch (...) {
      // out of memory for a timer: the scans stop; the halves stay pending
    }
  }

  // RocketMQ TransactionalMessageServiceImpl.check, with one difference: a half whose group has no running
  // producer is not counted as checked (RocketMQ counts a check nobody received, and so discards the open
  // transactions of a group that is down for transactionCheckMax scans); it waits for a producer.
  void scan(std::int64_t now) noexcept {
    // A check shows a MessageExt, whose Body is made empty first: without that no producer can listen.
    if constexpr (std::is_default_constructible_v<Body>) scanHalves(now);
  }
  void scanHalves(std::int64_t now) noexcept {
    const std::int64_t reserved = static_cast<std::int64_t>(config_.fileReservedTime.count()) * 3'600'000;
    std::lock_guard lock(mutex_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      Half& h = it->second;
      if (now - h.born < h.immunity) {
        ++it;
        continue;
      }
      // A half older than fileReservedTime is RocketMQ's to skip and lose with its file; here it is
      // discarded like one checked too often, so that nothing open holds memory for ever.
      const bool expired = now - h.storedAt >= reserved;
      auto group = producers_.find(*h.group);
      if (!expired && group == producers_.end()) {
        ++it;
        continue;
      }
      if (expired || h.checks >= config_.transactionCheckMax) {
        const bool done = store_.locked(
            [&](typename MessageStore<Body>::Locked& locked) { return discardLocked(locked, it->first, h); });
        if (done) {
          ++stats_.discarded;
          recycle(pending_.extract(it++));
        } else {
          ++it;
        }
        continue;
      }
      try {
        std::optional<MessageExt> view;
        store_.withRecord(it->first,
                          [&](const RecordHeader& half) { view = checkView(half, h, h.checks + 1); });
        if (view) {
          ++h.checks;
          ++stats_.checks;
          Producers& ps = group->second;
          ps.sinks[ps.next++ % ps.sinks.size()]->postCheck(std::move(*view), it->first);
        }
      } catch (...) {
        // no memory for the check's message: asked at the next scan
      }
      ++it;
    }
  }

  static constexpr std::size_t kMaxSpare = 1024;
  static constexpr std::string_view kRemoveTag = "d";  // RocketMQ TransactionalMessageUtil.REMOVE_TAG

  MessageStore<Body>& store_;
  TimerService<Clock>& timers_;
  Clock& clock_;
  const BrokerConfig& config_;
  const std::uint64_t identity_;
  TopicEntry& halfTopic_;
  TopicEntry& opTopic_;
  TopicEntry& checkMaxTopic_;
  TargetHandle target_;
  // Guards everything below. Taken before the store lock (a half and a resolution store under both), never
  // after it.
  mutable std::mutex mutex_;
  std::map<std::int64_t, Half> pending_;           // by the half's CommitLog offset: the half queue's order
  std::vector<Node> spare_;                        // entries of resolved halves, for the next ones
  std::set<std::string, std::less<>> groupNames_;  // every group that stored a half; never shrinks
  std::map<std::string, Producers, std::less<>> producers_;
  TransactionStats stats_;
};

}  // namespace ackmq::detail
