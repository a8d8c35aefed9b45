#pragma once
// rocketmq-client-cpp compatibility (ackmq): the transactional producer. It compiles as the client declares
// it and is configured like DefaultMQProducer; sendMessageInTransaction throws MQClientException: ackmq's
// compatible layer does not support transactional messages yet.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <ackmq/compat/client_config.hpp>

#include "MQClient.h"
#include "MQClientException.h"
#include "MQMessage.h"
#include "MQMessageExt.h"
#include "SessionCredentials.h"
#include "TransactionListener.h"
#include "TransactionSendResult.h"

namespace rocketmq {

/// Takes the TransactionListener it is given, and deletes it with itself.
///
/// Thread safety: setters: call before start().
class ROCKETMQCLIENT_API TransactionMQProducer {
 public:
  TransactionMQProducer(const std::string& producerGroup) : config_(producerGroup) {}
  virtual ~TransactionMQProducer() { shutdown(); }
  TransactionMQProducer(const TransactionMQProducer&) = delete;
  TransactionMQProducer& operator=(const TransactionMQProducer&) = delete;

  /// Checks the name server address (MQClientException when none is set) and attaches to its broker.
  void start() {
    if (running_) return;
    if (shutDown_)
      ackmq::compat::detail::refuse("transactional producer was shut down and cannot start again");
    broker_.emplace(config_.broker());
    running_ = true;
  }
  void shutdown() {
    shutDown_ = shutDown_ || running_;
    running_ = false;
  }
  std::string version() { return ackmq::compat::detail::kCompatVersion; }

  ACKMQ_COMPAT_CLIENT_CONFIG_MEMBERS

  int getSendMsgTimeout() const { return sendMsgTimeout_; }
  void setSendMsgTimeout(int sendMsgTimeout) {
    if (sendMsgTimeout > 0) sendMsgTimeout_ = sendMsgTimeout;
  }
  int getCompressMsgBodyOverHowmuch() const { return compressMsgBodyOverHowmuch_; }
  void setCompressMsgBodyOverHowmuch(int compressMsgBodyOverHowmuch) {
    compressMsgBodyOverHowmuch_ = compressMsgBodyOverHowmuch;
  }
  int getCompressLevel() const { return compressLevel_; }
  void setCompressLevel(int compressLevel) { compressLevel_ = compressLevel; }
  int getMaxMessageSize() const { return maxMessageSize_; }
  void setMaxMessageSize(int maxMessageSize) {
    if (maxMessageSize > 0) maxMessageSize_ = maxMessageSize;
  }

  std::shared_ptr<TransactionListener> getTransactionListener() { return listener_; }
  /// Takes `listener`: it is deleted with the producer, or when another replaces it.
  void setTransactionListener(TransactionListener* listener) { listener_.reset(listener); }

  /// Not supported yet: throws MQClientException, sending nothing and running no local transaction.
  TransactionSendResult sendMessageInTransaction(MQMessage& msg, void* arg) {
    (void)msg, (void)arg;
    ackmq::compat::detail::refuse(
        "sendMessageInTransaction: transactional messages are not yet supported by ackmq's "
        "rocketmq-client-cpp "
        "layer");
  }
  /// The broker's check-back entry point; in process the broker never calls it, and a program has no reason
  /// to. Does nothing.
  void checkTransactionState(const std::string& addr, const MQMessageExt& message, long tranStateTableOffset,
                             long commitLogOffset, const std::string& msgId, const std::string& transactionId,
                             const std::string& offsetMsgId) {
    (void)addr, (void)message, (void)tranStateTableOffset, (void)commitLogOffset, (void)msgId,
        (void)transactionId, (void)offsetMsgId;
  }

 protected:
  ackmq::compat::detail::ClientConfig config_;

 private:
  std::optional<ackmq::compat::BrokerRef> broker_;
  bool running_ = false;
  bool shutDown_ = false;
  int sendMsgTimeout_ = 3000;
  int compressMsgBodyOverHowmuch_ = 4 * 1024;
  int compressLevel_ = 5;
  int maxMessageSize_ = 128 * 1024;
  std::shared_ptr<TransactionListener> listener_;
};

}  // namespace rocketmq
