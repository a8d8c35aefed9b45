#pragma once
// rocketmq-client-cpp compatibility (ackmq): the transactional producer, on ackmq's native one over the
// in-process broker its name server address names. sendMessageInTransaction stores the message as a half
// no consumer sees, runs executeLocalTransaction on the calling thread, then commits (the message is
// delivered), rolls back (it never is) or, for UNKNOWN, leaves the half to the broker's check-back, which
// calls checkLocalTransaction on the producer's check thread (on a ManualClock broker, when the clock passes
// transactionTimeOut and a transactionCheckInterval scan). The client's rules: no listener, bad input and a
// failed send throw MQClientException (-1); an exception from executeLocalTransaction reaches the caller
// (an MQException as MQClientException) and leaves the half to the check-back.

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <ackmq/compat/broker_registry.hpp>
#include <ackmq/compat/client_config.hpp>
#include <ackmq/compat/producer_settings.hpp>
#include <ackmq/message.hpp>
#include <ackmq/testing.hpp>
#include <ackmq/transaction_producer.hpp>

#include "MQClient.h"
#include "MQClientException.h"
#include "MQMessage.h"
#include "MQMessageExt.h"
#include "SendResult.h"
#include "SessionCredentials.h"
#include "TransactionListener.h"
#include "TransactionSendResult.h"

namespace rocketmq {
class TransactionMQProducer;
}  // namespace rocketmq

namespace ackmq::compat {

/// Waits until every check-back the broker has asked of `producer` has been answered: on a ManualClock, an
/// advance that scans asks its checks before it returns, and this waits for checkLocalTransaction to
/// answer them. True once done; false if `timeout` (real time) passes first, or the producer is not
/// running.
bool awaitIdle(rocketmq::TransactionMQProducer& producer,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace ackmq::compat

namespace ackmq::compat::detail {

inline ackmq::LocalTransactionState toNative(rocketmq::LocalTransactionState s) noexcept {
  switch (s) {
    case rocketmq::COMMIT_MESSAGE:
      return ackmq::LocalTransactionState::COMMIT_MESSAGE;
    case rocketmq::ROLLBACK_MESSAGE:
      return ackmq::LocalTransactionState::ROLLBACK_MESSAGE;
    default:  // a value outside the enum ends nothing, as the client sends TransactionNotType for it
      return ackmq::LocalTransactionState::UNKNOW;
  }
}

inline rocketmq::LocalTransactionState fromNative(ackmq::LocalTransactionState s) noexcept {
  switch (s) {
    case ackmq::LocalTransactionState::COMMIT_MESSAGE:
      return rocketmq::COMMIT_MESSAGE;
    case ackmq::LocalTransactionState::ROLLBACK_MESSAGE:
      return rocketmq::ROLLBACK_MESSAGE;
    case ackmq::LocalTransactionState::UNKNOW:
      break;
  }
  return rocketmq::UNKNOWN;
}

/// The listener a compatible transactional producer holds. Each send and each check takes its own reference,
/// so a listener replaced meanwhile is deleted only once the calls that began with it have returned.
///
/// Thread safety: thread-safe.
class TransactionListenerSlot {
 public:
  std::shared_ptr<rocketmq::TransactionListener> get() const {
    std::lock_guard lock(mutex_);
    return listener_;
  }
  void reset(rocketmq::TransactionListener* listener) {
    std::shared_ptr<rocketmq::TransactionListener> next(listener);
    std::lock_guard lock(mutex_);
    listener_.swap(next);
  }

 private:
  mutable std::mutex mutex_;  // guards listener_
  std::shared_ptr<rocketmq::TransactionListener> listener_;
};

/// Runs one send's local transaction, given the stored half (its transaction id in
/// MessageConst::PROPERTY_TRANSACTION_ID). Handed to the native producer as the send's `arg`.
using LocalTransaction = std::function<ackmq::LocalTransactionState(const ackmq::Message& half)>;

/// What a compatible transactional producer needs of a native one, whatever the broker's clock.
class TransactionProducerBackend {
 public:
  virtual ~TransactionProducerBackend() = default;
  virtual void shutdown() = 0;
  virtual ackmq::TransactionSendResult send(const ackmq::Message& msg, LocalTransaction& local) = 0;
  virtual bool awaitChecks(std::chrono::milliseconds timeout) = 0;
};

template <class Broker>
class TransactionProducerOn final : public TransactionProducerBackend {
 public:
  TransactionProducerOn(BrokerRef ref, Broker& broker, const std::string& group, const ProducerSettings& s,
                        std::shared_ptr<TransactionListenerSlot> listener, const void* owner)
      : ref_(std::move(ref)), producer_(broker, group) {
    configureNative(producer_, s);
    producer_.setTransactionListener(
        [](const ackmq::Message& half, void* local) {
          return (*static_cast<LocalTransaction*>(local))(half);
        },
        [listener = std::move(listener), owner](const ackmq::MessageExt& half) {
          // Without a listener the client answers nothing: the half is asked again at the next scan.
          const std::shared_ptr<rocketmq::TransactionListener> l = listener->get();
          if (l == nullptr) return ackmq::LocalTransactionState::UNKNOW;
          rocketmq::MQMessageExt msg = fromNative(half);
          msg.setTransactionId(msg.getProperty(std::string(ackmq::MessageConst::PROPERTY_TRANSACTION_ID)));
          ListenerScope scope(owner);
          return toNative(l->checkLocalTransaction(msg));
        });
    producer_.start();
  }

  void shutdown() override { producer_.shutdown(); }
  ackmq::TransactionSendResult send(const ackmq::Message& msg, LocalTransaction& local) override {
    return producer_.sendMessageInTransaction(msg, &local);
  }
  bool awaitChecks(std::chrono::milliseconds timeout) override {
    return ackmq::testing::awaitIdle(producer_, timeout);
  }

 private:
  BrokerRef ref_;  // keeps a created broker alive while the producer uses it
  ackmq::BasicTransactionMQProducer<Broker> producer_;
};

}  // namespace ackmq::compat::detail

namespace rocketmq {

/// Takes the TransactionListener it is given, and deletes it with itself (or when another replaces it, once
/// no call of it is running).
///
/// Thread safety: sendMessageInTransaction is thread-safe. Setters: call before start(). start() and
/// shutdown() are idempotent and thread-safe; shutdown() may be called from checkLocalTransaction, and then
/// returns at once.
class ROCKETMQCLIENT_API TransactionMQProducer {
 public:
  TransactionMQProducer(const std::string& producerGroup) : config_(producerGroup) {}
  /// Runs shutdown() and waits for a running checkLocalTransaction to return.
  virtual ~TransactionMQProducer() {
    stop();
    lifecycle_.release().reset();
  }
  TransactionMQProducer(const TransactionMQProducer&) = delete;
  TransactionMQProducer& operator=(const TransactionMQProducer&) = delete;

  /// Attaches to the broker the name server address names (created on first use) and offers the producer
  /// for its group's check-backs. Throws MQClientException when no address is set. A listener is not
  /// needed yet: a send without one throws. Idempotent.
  void start() {
    using namespace ackmq::compat::detail;
    lifecycle_.start("transactional producer", [&] {
      const ackmq::compat::BrokerRef broker = config_.broker();
      return translated([&] {
        return makeBackend<TransactionProducerBackend, TransactionProducerOn>(broker, config_.groupName,
                                                                              settings_, listener_, this);
      });
    });
  }
  /// Stops sending and answering checks; a check queued but not begun is left to the broker's next scan.
  /// Idempotent.
  void shutdown() { stop(); }
  std::string version() { return ackmq::compat::detail::kCompatVersion; }

  ACKMQ_COMPAT_CLIENT_CONFIG_MEMBERS

  int getSendMsgTimeout() const { return settings_.sendMsgTimeout; }
  /// Total time of the half's send across its attempts, ms (3000). Ignored unless positive.
  void setSendMsgTimeout(int sendMsgTimeout) {
    if (sendMsgTimeout > 0) settings_.sendMsgTimeout = sendMsgTimeout;
  }
  /// Kept and returned; bodies are never compressed in process.
  int getCompressMsgBodyOverHowmuch() const { return settings_.compressMsgBodyOverHowmuch; }
  void setCompressMsgBodyOverHowmuch(int compressMsgBodyOverHowmuch) {
    settings_.compressMsgBodyOverHowmuch = compressMsgBodyOverHowmuch;
  }
  int getCompressLevel() const { return settings_.compressLevel; }
  void setCompressLevel(int compressLevel) { settings_.compressLevel = compressLevel; }
  /// Largest body, bytes (128 KiB). Ignored unless positive.
  int getMaxMessageSize() const { return settings_.maxMessageSize; }
  void setMaxMessageSize(int maxMessageSize) {
    if (maxMessageSize > 0) settings_.maxMessageSize = maxMessageSize;
  }

  std::shared_ptr<TransactionListener> getTransactionListener() { return listener_->get(); }
  /// Takes `listener`: it is deleted with the producer, or when another replaces it.
  void setTransactionListener(TransactionListener* listener) { listener_->reset(listener); }

  /// Sends `msg` as a half (a sync send: up to 5 attempts within getSendMsgTimeout()), marking it with the
  /// TRAN_MSG and PGROUP properties and, once stored, its UNIQ_KEY and transaction id. If the half is
  /// SEND_OK, runs the listener's executeLocalTransaction(msg, arg) here and ends the transaction as it
  /// answers; another status rolls the half back without running it. Returns the half's SendResult with
  /// the state reached and the transaction id. A delay level is passed on, and the broker drops it: the
  /// message is delivered when committed.
  /// Throws MQClientException (-1), running nothing, when no listener is set, for bad input, when not
  /// running, or when the half could not be stored. An exception from executeLocalTransaction is rethrown
  /// (an MQException as MQClientException, -1), the half left to the check-back.
  TransactionSendResult sendMessageInTransaction(MQMessage& msg, void* arg) {
    using namespace ackmq::compat::detail;
    const std::shared_ptr<TransactionListener> listener = listener_->get();
    if (listener == nullptr)
      refuse("sendMessageInTransaction: no transaction listener: call setTransactionListener first");
    msg.setProperty(MQMessage::PROPERTY_TRANSACTION_PREPARED, "true");
    msg.setProperty(MQMessage::PROPERTY_PRODUCER_GROUP, getGroupName());
    std::exception_ptr failed;  // what executeLocalTransaction threw
    LocalTransaction local = [&](const ackmq::Message& half) {
      const std::string id(half.getProperty(ackmq::MessageConst::PROPERTY_TRANSACTION_ID));
      msg.setProperty(MQMessage::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, id);
      msg.setTransactionId(id);
      try {
        return toNative(listener->executeLocalTransaction(msg, arg));
      } catch (...) {
        failed = std::current_exception();
        return ackmq::LocalTransactionState::UNKNOW;
      }
    };
    ackmq::TransactionSendResult sent;
    {
      const auto backend = lifecycle_.running("sendMessageInTransaction");
      try {
        sent = backend->send(toNative(msg), local);
      } catch (const ackmq::MQException& e) {
        // The client reports every failure of the half's send as MQClientException(-1).
        refuse(e.what());
      }
    }
    if (failed != nullptr) {
      try {
        std::rethrow_exception(failed);
      } catch (const MQException& e) {
        refuse(e.what());
      }
    }
    msg.setProperty(MQMessage::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, sent.getMsgId());
    TransactionSendResult result;
    static_cast<SendResult&>(result) = fromNative(static_cast<const ackmq::SendResult&>(sent));
    result.setTransactionId(msg.getTransactionId());
    result.setLocalTransactionState(fromNative(sent.getLocalTransactionState()));
    return result;
  }
  /// The broker's check-back entry point over the network; in process the broker asks the native producer
  /// directly, so a program has no reason to call it. Does nothing.
  void checkTransactionState(const std::string& addr, const MQMessageExt& message, long tranStateTableOffset,
                             long commitLogOffset, const std::string& msgId, const std::string& transactionId,
                             const std::string& offsetMsgId) {
    (void)addr, (void)message, (void)tranStateTableOffset, (void)commitLogOffset, (void)msgId,
        (void)transactionId, (void)offsetMsgId;
  }

 protected:
  ackmq::compat::detail::ClientConfig config_;
  ackmq::compat::detail::ProducerSettings settings_;

 private:
  friend bool ackmq::compat::awaitIdle(TransactionMQProducer&, std::chrono::milliseconds);
  using Backend = ackmq::compat::detail::TransactionProducerBackend;

  void stop() {
    // From inside its own checkLocalTransaction the native producer cannot be destroyed (that joins the
    // check thread): it is shut down here, and the destructor destroys it.
    if (ackmq::compat::detail::listenerOwner == this) {
      if (Backend* backend = lifecycle_.stopKeeping()) backend->shutdown();
      return;
    }
    if (auto backend = lifecycle_.stop()) backend->shutdown();
  }

  std::shared_ptr<ackmq::compat::detail::TransactionListenerSlot> listener_ =
      std::make_shared<ackmq::compat::detail::TransactionListenerSlot>();
  ackmq::compat::detail::Lifecycle<Backend> lifecycle_;
};

}  // namespace rocketmq

inline bool ackmq::compat::awaitIdle(rocketmq::TransactionMQProducer& producer,
                                     std::chrono::milliseconds timeout) {
  if (!producer.lifecycle_.isRunning()) return false;
  return producer.lifecycle_.running("awaitIdle")->awaitChecks(timeout);
}
