#pragma once
// rocketmq-client-cpp compatibility (ackmq): the producer. It sends to the in-process broker its name server
// address names, with the client's behaviour: a sync send makes up to getRetryTimes() attempts (5) and
// retries a stored-but-not-OK status too; an async send makes getRetryTimes4Async() attempts (1); bodies
// above getMaxMessageSize() (128 KiB) are refused; a batch is stored whole or not at all.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ackmq/compat/broker_registry.hpp>
#include <ackmq/compat/client_config.hpp>
#include <ackmq/compat/producer_settings.hpp>
#include <ackmq/message.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/status.hpp>

#include "AsyncCallback.h"
#include "MQClient.h"
#include "MQClientException.h"
#include "MQMessageQueue.h"
#include "MQSelector.h"
#include "RocketMQClient.h"
#include "SendResult.h"
#include "SessionCredentials.h"

namespace ackmq::compat::detail {

/// Picks a queue among the topic's: an ordered send's selector with its argument bound.
using QueueChooser = std::function<ackmq::MessageQueue(const std::vector<ackmq::MessageQueue>&)>;

/// What a compatible producer needs of a native one, whatever the broker's clock.
class ProducerBackend {
 public:
  virtual ~ProducerBackend() = default;
  virtual void shutdown() = 0;
  virtual ackmq::SendResult send(const ackmq::Message& msg) = 0;
  virtual ackmq::SendResult send(const ackmq::Message& msg, const ackmq::MessageQueue& mq) = 0;
  virtual ackmq::SendResult send(const ackmq::Message& msg, const QueueChooser& choose) = 0;
  virtual ackmq::SendResult send(std::vector<ackmq::Message> batch) = 0;
  virtual ackmq::SendResult send(std::vector<ackmq::Message> batch, const ackmq::MessageQueue& mq) = 0;
  virtual void send(const ackmq::Message& msg, ackmq::SendCallback callback) = 0;
  virtual void send(const ackmq::Message& msg, const ackmq::MessageQueue& mq,
                    ackmq::SendCallback callback) = 0;
  virtual void send(const ackmq::Message& msg, const QueueChooser& choose, ackmq::SendCallback callback) = 0;
  virtual void sendOneway(const ackmq::Message& msg) = 0;
  virtual void sendOneway(const ackmq::Message& msg, const ackmq::MessageQueue& mq) = 0;
  virtual void sendOneway(const ackmq::Message& msg, const QueueChooser& choose) = 0;
};

template <class Broker>
class ProducerOn final : public ProducerBackend {
 public:
  ProducerOn(BrokerRef ref, Broker& broker, const std::string& group, const ProducerSettings& s)
      : ref_(std::move(ref)), producer_(broker, group) {
    configureNative(producer_, s);
    producer_.start();
  }

  void shutdown() override { producer_.shutdown(); }
  ackmq::SendResult send(const ackmq::Message& msg) override { return producer_.send(msg); }
  ackmq::SendResult send(const ackmq::Message& msg, const ackmq::MessageQueue& mq) override {
    return producer_.send(msg, mq);
  }
  ackmq::SendResult send(const ackmq::Message& msg, const QueueChooser& choose) override {
    return producer_.send(msg, selector(choose), 0);
  }
  ackmq::SendResult send(std::vector<ackmq::Message> batch) override {
    return producer_.send(std::move(batch));
  }
  ackmq::SendResult send(std::vector<ackmq::Message> batch, const ackmq::MessageQueue& mq) override {
    return producer_.send(std::move(batch), mq);
  }
  void send(const ackmq::Message& msg, ackmq::SendCallback callback) override {
    producer_.send(msg, std::move(callback));
  }
  void send(const ackmq::Message& msg, const ackmq::MessageQueue& mq, ackmq::SendCallback callback) override {
    producer_.send(msg, mq, std::move(callback));
  }
  void send(const ackmq::Message& msg, const QueueChooser& choose, ackmq::SendCallback callback) override {
    producer_.send(msg, selector(choose), 0, std::move(callback));
  }
  void sendOneway(const ackmq::Message& msg) override { producer_.sendOneway(msg); }
  void sendOneway(const ackmq::Message& msg, const ackmq::MessageQueue& mq) override {
    producer_.sendOneway(msg, mq);
  }
  void sendOneway(const ackmq::Message& msg, const QueueChooser& choose) override {
    producer_.sendOneway(msg, selector(choose), 0);
  }

 private:
  static auto selector(const QueueChooser& choose) {
    return [&choose](const std::vector<ackmq::MessageQueue>& mqs, const ackmq::Message&, const int&) {
      return choose(mqs);
    };
  }

  BrokerRef ref_;  // keeps a created broker alive while the producer uses it
  ackmq::BasicProducer<Broker> producer_;
};

/// The native callback for a client's SendCallback: exactly one of its functions is called, and an
/// AutoDeleteSendCallBack is deleted after it, even when it throws.
inline ackmq::SendCallback nativeCallback(rocketmq::SendCallback* callback) {
  auto finish = [callback] {
    if (callback->getSendCallbackType() == rocketmq::autoDeleteSendCallback) delete callback;
  };
  return ackmq::SendCallback{[callback, finish](const ackmq::SendResult& r) {
                               rocketmq::SendResult result = fromNative(r);
                               try {
                                 callback->onSuccess(result);
                               } catch (...) {
                                 finish();
                                 throw;
                               }
                               finish();
                             },
                             [callback, finish](std::exception_ptr error) {
                               rocketmq::MQClientException e = clientExceptionOf(std::move(error));
                               try {
                                 callback->onException(e);
                               } catch (...) {
                                 finish();
                                 throw;
                               }
                               finish();
                             }};
}

}  // namespace ackmq::compat::detail

namespace rocketmq {

/// Thread safety: the send functions are thread-safe; a send racing shutdown() throws MQClientException or
/// completes. Setters: call before start(). start() and shutdown() are idempotent.
class ROCKETMQCLIENT_API DefaultMQProducer {
 public:
  DefaultMQProducer(const std::string& groupname) : config_(groupname) {}
  /// Runs shutdown().
  virtual ~DefaultMQProducer() { stop(); }
  DefaultMQProducer(const DefaultMQProducer&) = delete;
  DefaultMQProducer& operator=(const DefaultMQProducer&) = delete;

  /// Attaches to the broker the name server address names (created on first use). Throws
  /// MQClientException when no address is set or a setting is out of range. Idempotent.
  virtual void start() {
    using namespace ackmq::compat::detail;
    lifecycle_.start("producer", [&] {
      const ackmq::compat::BrokerRef broker = config_.broker();
      return translated(
          [&] { return makeBackend<ProducerBackend, ProducerOn>(broker, config_.groupName, settings_); });
    });
  }
  /// Stops sending: later sends throw MQClientException; async callbacks owed are delivered first.
  /// Idempotent.
  virtual void shutdown() { stop(); }
  virtual std::string version() { return ackmq::compat::detail::kCompatVersion; }

  /// Sync send: up to getRetryTimes() attempts within getSendMsgTimeout(). Writes the message's id into
  /// its UNIQ_KEY property. `bSelectActiveBroker` has no meaning with one broker.
  virtual SendResult send(MQMessage& msg, bool bSelectActiveBroker = false) {
    (void)bSelectActiveBroker;
    return sent(msg, [&](auto& b) { return b.send(ackmq::compat::detail::toNative(msg)); });
  }
  /// Sends to one queue: one attempt.
  virtual SendResult send(MQMessage& msg, const MQMessageQueue& mq) {
    return sent(msg, [&](auto& b) {
      return b.send(ackmq::compat::detail::toNative(msg), ackmq::compat::detail::toNative(mq));
    });
  }
  /// Ordered send: `selector` picks the queue; one attempt.
  virtual SendResult send(MQMessage& msg, MessageQueueSelector* selector, void* arg) {
    return send(msg, selector, arg, 1, false);
  }
  /// Ordered send with up to `autoRetryTimes` attempts, all on the queue `selector` picks.
  virtual SendResult send(MQMessage& msg, MessageQueueSelector* selector, void* arg, int autoRetryTimes,
                          bool bActiveBroker = false) {
    (void)bActiveBroker;
    const auto choose = chooser(msg, selector, arg);
    const int attempts = autoRetryTimes < 1 ? 1 : autoRetryTimes;
    for (int attempt = 1;; ++attempt) {
      try {
        return sent(msg, [&](auto& b) { return b.send(ackmq::compat::detail::toNative(msg), choose); });
      } catch (const MQClientException& e) {
        if (attempt >= attempts || e.GetError() == -1 || isBadInput(e)) throw;
      } catch (const MQBrokerException&) {
        if (attempt >= attempts) throw;
      }
    }
  }
  /// Batch send: one topic, one queue, stored whole or not at all; up to getRetryTimes() attempts.
  virtual SendResult send(std::vector<MQMessage>& msgs) {
    return sentBatch(msgs, [&](auto& b, auto batch) { return b.send(std::move(batch)); });
  }
  virtual SendResult send(std::vector<MQMessage>& msgs, const MQMessageQueue& mq) {
    return sentBatch(msgs, [&](auto& b, auto batch) {
      return b.send(std::move(batch), ackmq::compat::detail::toNative(mq));
    });
  }

  /// Async send: `pSendCallback` hears exactly once, on the producer's callback thread, never inside this
  /// call; an AutoDeleteSendCallBack is deleted after. Bad input throws here, and then the callback is
  /// neither called nor deleted.
  virtual void send(MQMessage& msg, SendCallback* pSendCallback, bool bSelectActiveBroker = false) {
    (void)bSelectActiveBroker;
    sentAsync(pSendCallback,
              [&](auto& b, auto cb) { b.send(ackmq::compat::detail::toNative(msg), std::move(cb)); });
  }
  virtual void send(MQMessage& msg, const MQMessageQueue& mq, SendCallback* pSendCallback) {
    sentAsync(pSendCallback, [&](auto& b, auto cb) {
      b.send(ackmq::compat::detail::toNative(msg), ackmq::compat::detail::toNative(mq), std::move(cb));
    });
  }
  virtual void send(MQMessage& msg, MessageQueueSelector* selector, void* arg, SendCallback* pSendCallback) {
    const auto choose = chooser(msg, selector, arg);
    sentAsync(pSendCallback,
              [&](auto& b, auto cb) { b.send(ackmq::compat::detail::toNative(msg), choose, std::move(cb)); });
  }

  /// One attempt, no result, no error but bad input and a producer not running.
  virtual void sendOneway(MQMessage& msg, bool bSelectActiveBroker = false) {
    (void)bSelectActiveBroker;
    oneway([&](auto& b) { b.sendOneway(ackmq::compat::detail::toNative(msg)); });
  }
  virtual void sendOneway(MQMessage& msg, const MQMessageQueue& mq) {
    oneway([&](auto& b) {
      b.sendOneway(ackmq::compat::detail::toNative(msg), ackmq::compat::detail::toNative(mq));
    });
  }
  virtual void sendOneway(MQMessage& msg, MessageQueueSelector* selector, void* arg) {
    const auto choose = chooser(msg, selector, arg);
    oneway([&](auto& b) { b.sendOneway(ackmq::compat::detail::toNative(msg), choose); });
  }

  ACKMQ_COMPAT_CLIENT_CONFIG_MEMBERS

  int getSendMsgTimeout() const { return settings_.sendMsgTimeout; }
  /// Total time of one send across its attempts, ms (3000). Ignored unless positive.
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
  /// Attempts of a sync send (5): 0 or less is ignored, above 15 means 15, as the client clamps it.
  int getRetryTimes() const { return settings_.retryTimes; }
  void setRetryTimes(int times) {
    if (times > 0) settings_.retryTimes = times > 15 ? 15 : times;
  }
  /// Attempts of an async send (1): 0 or less means 1, above 15 means 15.
  int getRetryTimes4Async() const { return settings_.retryTimes4Async; }
  void setRetryTimes4Async(int times) {
    settings_.retryTimes4Async = times <= 0 ? 1 : (times > 15 ? 15 : times);
  }

 protected:
  ackmq::compat::detail::ClientConfig config_;
  ackmq::compat::detail::ProducerSettings settings_;

 private:
  using Backend = ackmq::compat::detail::ProducerBackend;

  void stop() {
    if (auto backend = lifecycle_.stop()) backend->shutdown();
  }

  static bool isBadInput(const MQClientException& e) {
    return e.GetError() == static_cast<int>(ackmq::ResponseCode::MESSAGE_ILLEGAL);
  }

  static ackmq::compat::detail::QueueChooser chooser(const MQMessage& msg, MessageQueueSelector* selector,
                                                     void* arg) {
    if (selector == nullptr) ackmq::compat::detail::refuse("send: the MessageQueueSelector is null");
    return [&msg, selector, arg](const std::vector<ackmq::MessageQueue>& mqs) {
      return ackmq::compat::detail::toNative(
          selector->select(ackmq::compat::detail::fromNative(mqs), msg, arg));
    };
  }

  template <class F>
  SendResult sent(MQMessage& msg, F&& f) {
    using namespace ackmq::compat::detail;
    auto backend = lifecycle_.running("send");
    SendResult result = translated([&] { return fromNative(f(*backend)); });
    msg.setProperty(MQMessage::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, result.getMsgId());
    return result;
  }

  template <class F>
  SendResult sentBatch(std::vector<MQMessage>& msgs, F&& f) {
    using namespace ackmq::compat::detail;
    auto backend = lifecycle_.running("send");
    SendResult result = translated([&] {
      std::vector<ackmq::Message> batch;
      batch.reserve(msgs.size());
      for (const auto& m : msgs)
        batch.push_back(toNative(m));
      return fromNative(f(*backend, std::move(batch)));
    });
    // The result joins the batch's ids with commas, in batch order.
    std::size_t from = 0;
    for (auto& m : msgs) {
      const std::size_t comma = result.getMsgId().find(',', from);
      m.setProperty(MQMessage::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
                    result.getMsgId().substr(from, comma - from));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    return result;
  }

  template <class F>
  void sentAsync(SendCallback* callback, F&& f) {
    using namespace ackmq::compat::detail;
    if (callback == nullptr) refuse("send: the SendCallback is null");
    auto backend = lifecycle_.running("send");
    translated([&] { f(*backend, nativeCallback(callback)); });
  }

  template <class F>
  void oneway(F&& f) {
    using namespace ackmq::compat::detail;
    auto backend = lifecycle_.running("sendOneway");
    translated([&] { f(*backend); });
  }

  ackmq::compat::detail::Lifecycle<Backend> lifecycle_;
};

}  // namespace rocketmq
