#pragma once
// ackmq: transactional messages (RocketMQ TransactionMQProducer). A message sent in a transaction is stored
// as a half message that no consumer sees; the producer runs its local transaction and then commits the
// message (it is delivered) or rolls it back (it never is). When the producer does not say, the broker asks
// the producer group later: the check-back.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <ackmq/broker.hpp>
#include <ackmq/detail/broker/transaction_service.hpp>
#include <ackmq/detail/client/thread_pool.hpp>
#include <ackmq/detail/message_id.hpp>
#include <ackmq/detail/separate_compilation.hpp>
#include <ackmq/fwd.hpp>
#include <ackmq/message.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/status.hpp>

namespace ackmq {

namespace detail {
template <class Broker>
struct TransactionProducerAccess;
}  // namespace detail

/// The outcome of a local transaction (RocketMQ LocalTransactionState, with its spelling of UNKNOW).
enum class LocalTransactionState {
  COMMIT_MESSAGE,    ///< deliver the message
  ROLLBACK_MESSAGE,  ///< drop it
  UNKNOW,            ///< not known yet: the broker checks back later
};

constexpr std::string_view nameOf(LocalTransactionState s) noexcept {
  switch (s) {
    case LocalTransactionState::COMMIT_MESSAGE:
      return "COMMIT_MESSAGE";
    case LocalTransactionState::ROLLBACK_MESSAGE:
      return "ROLLBACK_MESSAGE";
    case LocalTransactionState::UNKNOW:
      break;
  }
  return "UNKNOW";
}

/// What a transactional producer runs (RocketMQ TransactionListener). Both functions may throw: that counts
/// as UNKNOW. The messages they are given carry the transaction id (their msgId) in the property
/// MessageConst::PROPERTY_TRANSACTION_ID, for the application to record with its local transaction and look
/// up in a check.
template <class Body = std::string>
class BasicTransactionListener {
 public:
  virtual ~BasicTransactionListener() = default;
  /// Runs the local transaction of `msg`, whose half is stored, on the thread that called
  /// sendMessageInTransaction; `arg` is that call's.
  virtual LocalTransactionState executeLocalTransaction(const BasicMessage<Body>& msg, void* arg) = 0;
  /// Tells how the local transaction of `msg` ended, for a half that is still unresolved past the broker's
  /// transactionTimeOut. Runs on the producer's check thread, never under a library lock; `msg` shows the
  /// message's topic and queue, and MessageConst::PROPERTY_TRANSACTION_CHECK_TIMES counts the checks.
  virtual LocalTransactionState checkLocalTransaction(const BasicMessageExt<Body>& msg) = 0;
};
using TransactionListener = BasicTransactionListener<>;

/// A SendResult (the half message's) plus the state the local transaction reached and the transaction id
/// (RocketMQ TransactionSendResult).
class TransactionSendResult : public SendResult {
 public:
  TransactionSendResult() = default;
  TransactionSendResult(SendResult half, LocalTransactionState state, std::string transactionId)
      : SendResult(std::move(half)), state_(state), transactionId_(std::move(transactionId)) {}

  LocalTransactionState getLocalTransactionState() const noexcept { return state_; }
  /// The message's msgId, which a check shows again.
  const std::string& getTransactionId() const noexcept { return transactionId_; }

 private:
  LocalTransactionState state_ = LocalTransactionState::UNKNOW;
  std::string transactionId_;
};

/// A producer that also sends messages in transactions (RocketMQ TransactionMQProducer). It is a Producer:
/// the plain sends work as on BasicProducer.
///
/// sendMessageInTransaction stores the message as a half that no consumer sees, runs the listener's
/// executeLocalTransaction on the calling thread, and ends the transaction as it answered: COMMIT_MESSAGE
/// delivers the message (once, with its keys, tags and properties), ROLLBACK_MESSAGE drops it, UNKNOW (or
/// an exception) leaves it to the broker, which asks checkLocalTransaction of a running producer of the
/// same group, on that producer's check thread, once the half is transactionTimeOut old and then every
/// transactionCheckInterval, up to transactionCheckMax times (BrokerConfig); then it discards the half to
/// TRANS_CHECK_MAX_TIME_TOPIC. On a ManualClock the checks follow the clock; testing::awaitIdle(producer)
/// waits for the checks an advance asked.
///
/// @code
///   ackmq::TransactionMQProducer producer(broker, "order-producers");
///   producer.setTransactionListener(
///       [&](const ackmq::Message& msg, void*) { return db.commitOrder(msg) ? COMMIT : ROLLBACK; },
///       [&](const ackmq::MessageExt& msg) { return db.stateOf(msg.getMsgId()); });
///   producer.start();
///   ackmq::TransactionSendResult r =
///       producer.sendMessageInTransaction(ackmq::Message("Orders", "created", "order 42"), nullptr);
/// @endcode
///
/// Thread safety: the send functions are thread-safe. Setters: call before start(). start() and shutdown()
/// are idempotent and thread-safe; shutdown() may be called from a listener.
template <class Broker>
class BasicTransactionMQProducer : public BasicProducer<Broker> {
  using Base = BasicProducer<Broker>;

 public:
  using Body = typename Broker::body_type;
  using Clock = typename Broker::clock_type;
  using Message = BasicMessage<Body>;
  using MessageExt = BasicMessageExt<Body>;
  using Listener = BasicTransactionListener<Body>;

  /// A transactional producer of `producerGroup` (a legal group name, else MQClientException) on `broker`.
  BasicTransactionMQProducer(Broker& broker, std::string producerGroup);
  /// Runs shutdown(). Not from this producer's check thread.
  ~BasicTransactionMQProducer();

  /// The listener, which must outlive the producer; nullptr clears it. Call before start().
  void setTransactionListener(Listener* listener) {
    if (listener == nullptr) {
      execute_ = nullptr;
      check_ = nullptr;
      return;
    }
    execute_ = [listener](const Message& m, void* arg) { return listener->executeLocalTransaction(m, arg); };
    check_ = [listener](const MessageExt& m) { return listener->checkLocalTransaction(m); };
  }
  /// The listener as a pair of callables: execute(const Message&, void* arg) and check(const MessageExt&),
  /// each returning LocalTransactionState. An empty std::function counts as no listener. Call before
  /// start().
  template <class Execute, class Check>
  requires std::is_invocable_r_v<LocalTransactionState, Execute&, const Message&, void*> &&
      std::is_invocable_r_v<LocalTransactionState, Check&, const MessageExt&>
  void setTransactionListener(Execute execute, Check check) {
    execute_ = std::move(execute);
    check_ = std::move(check);
  }

  /// Starts the producer, its callback thread and its check thread, and offers it to the broker for the
  /// check-backs of its group. Idempotent. Throws MQClientException without a transaction listener (both
  /// functions), and after shutdown().
  void start();

  /// Stops the producer. The broker stops asking it first: a check it has queued but not begun is dropped
  /// (the broker asks another producer of the group at its next scan, or, with none left, the half waits
  /// for one); a check running on another thread is waited for. Then as BasicProducer::shutdown().
  /// Idempotent and thread-safe; from a listener it returns without waiting for the check thread.
  void shutdown();

  /// Sends `msg` in a transaction: stores its half (synchronously, retried as send(msg)), then, if the half
  /// is SEND_OK, runs executeLocalTransaction(msg, arg) on this thread (an exception counts as UNKNOW); a
  /// half stored with another status is rolled back without running it. Commits, rolls back, or, for
  /// UNKNOW, leaves the half to the check-back. A delay level or deliver time on `msg` is ignored: a
  /// transactional message is delivered when it is committed.
  /// Throws MQClientException for bad input (nothing stored), when not running, or when the half could not
  /// be stored ("send message Exception", with the cause's code).
  TransactionSendResult sendMessageInTransaction(const Message& msg, void* arg = nullptr);

  /// A batch cannot be sent in a transaction (RocketMQ refuses it too): always throws MQClientException
  /// (MESSAGE_ILLEGAL), storing nothing.
  TransactionSendResult sendMessageInTransaction(const std::vector<Message>& batch, void* arg = nullptr) {
    (void)arg;
    throw MQClientException(ResponseCode::MESSAGE_ILLEGAL,
                            "sendMessageInTransaction: a batch of " + std::to_string(batch.size()) +
                                " messages cannot be sent in a transaction; send each message on its own");
  }

 private:
  template <class>
  friend struct detail::TransactionProducerAccess;

  // END_TRANSACTION, oneway as in RocketMQ: its outcome is not reported (a commit the broker could not
  // take now leaves the half to the check-back). UNKNOW sends nothing.
  void endTransaction(std::int64_t halfOffset, LocalTransactionState state) {
    if (state == LocalTransactionState::UNKNOW || halfOffset < 0) return;
    (void)this->core_.endTransaction(halfOffset, this->getProducerGroup(),
                                     state == LocalTransactionState::COMMIT_MESSAGE
                                         ? detail::TransactionResolution::COMMIT
                                         : detail::TransactionResolution::ROLLBACK);
  }

  // What the broker holds of this producer to ask it for checks.
  struct CheckSink final : detail::TransactionCheckSink<Body> {
    explicit CheckSink(BasicTransactionMQProducer& p) noexcept : producer(p) {}
    void postCheck(MessageExt half, std::int64_t halfOffset) noexcept override {
      producer.postCheck(std::move(half), halfOffset);
    }
    BasicTransactionMQProducer& producer;
  };

  // Called under the transaction service's lock, so it only queues.
  void postCheck(MessageExt half, std::int64_t halfOffset) noexcept {
    {
      std::lock_guard lock(idleMutex_);
      ++checksOwed_;
    }
    bool queued = false;
    try {
      queued = checks_->submit([this, half = std::move(half), halfOffset] { runCheck(half, halfOffset); });
    } catch (...) {
    }
    if (!queued) settled(1);  // the broker asks again at its next scan
  }

  // On the check thread, holding no lock (RocketMQ ClientRemotingProcessor.checkTransactionState).
  void runCheck(const MessageExt& half, std::int64_t halfOffset) {
    LocalTransactionState state = LocalTransactionState::UNKNOW;
    try {
      state = check_(half);
    } catch (...) {
      // an exception is UNKNOW: asked again at the next scan
    }
    endTransaction(halfOffset, state);
    settled(1);
  }

  void settled(std::size_t n) {
    std::lock_guard lock(idleMutex_);
    checksOwed_ -= n;
    if (checksOwed_ == 0) idleCv_.notify_all();
  }

  // True once every check the broker has asked of this producer has been answered (or dropped).
  bool awaitChecks(std::chrono::milliseconds timeout);

  CheckSink sink_{*this};
  std::function<LocalTransactionState(const Message&, void*)> execute_;
  std::function<LocalTransactionState(const MessageExt&)> check_;
  std::mutex txLifecycle_;  // serialises start() and shutdown()'s unregistration; guards shutDown_, checks_
  bool shutDown_ = false;
  std::unique_ptr<detail::ThreadPool> checks_;  // the check thread (RocketMQ checkExecutor), made by start()
  std::mutex idleMutex_;                        // guards checksOwed_
  std::condition_variable idleCv_;
  std::size_t checksOwed_ = 0;  // checks queued or running
};

// The members that reach into the broker, defined outside the class (see ACKMQ_DECL).
template <class Broker>
ACKMQ_DECL void BasicTransactionMQProducer<Broker>::start() {
  std::lock_guard lock(txLifecycle_);
  if (shutDown_) {
    throw MQClientException(ResponseCode::CLIENT_STATE_ILLEGAL,
                            "producer " + this->getProducerGroup() + " was shut down and cannot start again");
  }
  if (checks_ != nullptr) return;
  if (!execute_ || !check_) {
    throw MQClientException(ResponseCode::CLIENT_STATE_ILLEGAL,
                            "setTransactionListener: producer " + this->getProducerGroup() +
                                " has no transaction listener (executeLocalTransaction and "
                                "checkLocalTransaction); set one before start()");
  }
  Base::start();
  // With ManualClock no library thread waits on wall time: the check thread stays until shutdown.
  checks_ = std::make_unique<detail::ThreadPool>(
      1, 1, Clock::isManual ? std::chrono::milliseconds(0) : std::chrono::milliseconds(60'000));
  this->core_.transactions().registerProducer(this->getProducerGroup(), sink_);
}

template <class Broker>
ACKMQ_DECL void BasicTransactionMQProducer<Broker>::shutdown() {
  detail::ThreadPool* pool = nullptr;
  {
    std::lock_guard lock(txLifecycle_);
    if (!shutDown_) {
      shutDown_ = true;
      if (checks_ != nullptr) this->core_.transactions().unregisterProducer(this->getProducerGroup(), sink_);
    }
    pool = checks_.get();
  }
  if (pool != nullptr) {
    const std::size_t dropped = pool->takeQueued().size();
    if (dropped > 0) settled(dropped);
    pool->shutdown(/*drain=*/true);
  }
  Base::shutdown();
}

template <class Broker>
ACKMQ_DECL TransactionSendResult
BasicTransactionMQProducer<Broker>::sendMessageInTransaction(const Message& msg, void* arg) {
  typename Base::Guard guard(*this);
  Message half = msg;
  if (MessageConst::anyLibraryName(half.getProperties())) {
    for (std::string_view name :
         {MessageConst::PROPERTY_DELAY_TIME_LEVEL, MessageConst::PROPERTY_TIMER_DELIVER_MS,
          MessageConst::PROPERTY_TIMER_DELAY_MS, MessageConst::PROPERTY_TIMER_DELAY_SEC}) {
      half.clearProperty(name);
    }
  }
  const detail::TopicRoute route = this->checkedRoute(half);
  const detail::MessageId id = detail::newUniqueMessageId();
  const std::string& group = this->getProducerGroup();
  std::int64_t halfOffset = -1;
  // Every attempt that stored a half: an attempt that stored one and still failed (an answer past the
  // timeout), or one retried for its status, leaves a half that no local transaction goes with. The
  // first is kept apart: one attempt is the rule, and it then allocates nothing.
  std::int64_t firstStored = -1;
  std::vector<std::int64_t> laterStored;
  const auto rollBackStored = [&](std::int64_t except) {
    if (firstStored >= 0 && firstStored != except)
      endTransaction(firstStored, LocalTransactionState::ROLLBACK_MESSAGE);
    for (const std::int64_t offset : laterStored) {
      if (offset != except) endTransaction(offset, LocalTransactionState::ROLLBACK_MESSAGE);
    }
  };
  SendResult sent;
  try {
    sent = this->withRetries(
        route, std::chrono::milliseconds(this->getSendMsgTimeout()), 1 + this->getRetryTimesWhenSendFailed(),
        [&](int qid) {
          detail::PutResult r =
              this->core_.sendHalf(route, qid, half, id, this->core_.clock().nowMillis(), group);
          if (r.ok()) (firstStored < 0 ? firstStored : laterStored.emplace_back()) = r.commitLogOffset;
          return r;
        },
        [&](const detail::PutResult& r, int qid) {
          halfOffset = r.commitLogOffset;
          return this->result(r, route, qid, id);
        });
  } catch (const MQException& e) {
    rollBackStored(-1);
    throw MQClientException(e.getResponseCode(), std::string("send message Exception: ") + e.what());
  }
  rollBackStored(halfOffset);
  std::string transactionId = id.toString();
  LocalTransactionState state = LocalTransactionState::ROLLBACK_MESSAGE;
  if (sent.getSendStatus() == SendStatus::SEND_OK) {
    detail::MessageAccess::putProperty(half, MessageConst::PROPERTY_TRANSACTION_ID, transactionId);
    state = LocalTransactionState::UNKNOW;
    try {
      state = execute_(half, arg);
    } catch (...) {
      // RocketMQ logs and swallows it: the state stays UNKNOW and the check-back decides
    }
  }
  endTransaction(halfOffset, state);
  return TransactionSendResult(std::move(sent), state, std::move(transactionId));
}

template <class Broker>
ACKMQ_DECL bool BasicTransactionMQProducer<Broker>::awaitChecks(std::chrono::milliseconds timeout) {
  std::unique_lock lock(idleMutex_);
  return idleCv_.wait_for(lock, timeout, [&] { return checksOwed_ == 0; });
}

template <class Broker>
ACKMQ_DECL BasicTransactionMQProducer<Broker>::BasicTransactionMQProducer(Broker& broker,
                                                                          std::string producerGroup)
    : Base(broker, std::move(producerGroup)) {}

template <class Broker>
ACKMQ_DECL BasicTransactionMQProducer<Broker>::~BasicTransactionMQProducer() {
  shutdown();
}

using TransactionMQProducer = BasicTransactionMQProducer<Broker>;

#if defined(ACKMQ_SEPARATE_COMPILATION)
extern template class BasicTransactionMQProducer<BasicBroker<std::string, SystemClock>>;
extern template class BasicTransactionMQProducer<BasicBroker<std::string, ManualClock>>;
#endif

namespace detail {
/// How the test helpers reach a transactional producer.
template <class Broker>
struct TransactionProducerAccess {
  static bool awaitChecks(BasicTransactionMQProducer<Broker>& p, std::chrono::milliseconds timeout) {
    return p.awaitChecks(timeout);
  }
};
}  // namespace detail

}  // namespace ackmq
