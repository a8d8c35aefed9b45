// A program written against rocketmq-client-cpp's API, and nothing else: a transactional producer sends
// orders whose local transaction commits the even ones and rolls back the odd ones, and a push consumer
// receives the committed orders only. Built against ackmq's compatible headers it runs in one process;
// built against the real client it runs on a RocketMQ cluster (pass the name server's address with -n).
//
//   ./transaction_producer [-n 127.0.0.1:9876] [-t TopicTransaction] [-m 10]
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "Arg_helper.h"
#include "DefaultMQPushConsumer.h"
#include "TransactionMQProducer.h"

using namespace rocketmq;

namespace {

std::string optionOr(const Arg_helper& args, const std::string& option, const std::string& fallback) {
  const std::string value = args.get_option_value(option);
  return value.empty() ? fallback : value;
}

// The local transaction: `arg` points at the order's number, and an even order commits.
class OrderTransactions : public TransactionListener {
 public:
  LocalTransactionState executeLocalTransaction(const MQMessage& msg, void* arg) override {
    const int order = *static_cast<int*>(arg);
    std::cout << "local transaction of " << msg.getTransactionId() << " (order " << order << ")" << std::endl;
    return order % 2 == 0 ? COMMIT_MESSAGE : ROLLBACK_MESSAGE;
  }
  // Asked only of a transaction whose outcome the broker never heard; every one here answers at once.
  LocalTransactionState checkLocalTransaction(const MQMessageExt& msg) override {
    std::cout << "check of " << msg.getMsgId() << std::endl;
    return ROLLBACK_MESSAGE;
  }
};

class CountingListener : public MessageListenerConcurrently {
 public:
  explicit CountingListener(int expected) : expected_(expected) {}

  ConsumeStatus consumeMessage(const std::vector<MQMessageExt>& msgs) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const MQMessageExt& msg : msgs) {
      std::cout << "consumed " << msg.getMsgId() << ": " << msg.getBody() << std::endl;
      if (std::atoi(msg.getBody().c_str() + 6) % 2 != 0) ++rolledBack_;  // "order <n>"
      ++consumed_;
    }
    if (consumed_ >= expected_) done_.notify_all();
    return CONSUME_SUCCESS;
  }

  bool waitForAll(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return done_.wait_for(lock, timeout, [this] { return consumed_ >= expected_; }) && rolledBack_ == 0;
  }

 private:
  const int expected_;
  std::mutex mutex_;
  std::condition_variable done_;
  int consumed_ = 0;
  int rolledBack_ = 0;
};

}  // namespace

int main(int argc, char* argv[]) {
  const Arg_helper args(argc, argv);
  const std::string namesrv = optionOr(args, "-n", "127.0.0.1:9876");
  const std::string topic = optionOr(args, "-t", "TopicTransaction");
  const int count = std::atoi(optionOr(args, "-m", "10").c_str());

  CountingListener listener((count + 1) / 2);
  DefaultMQPushConsumer consumer("example_transaction_consumer_group");
  consumer.setNamesrvAddr(namesrv);
  consumer.subscribe(topic, "*");
  consumer.registerMessageListener(&listener);
  consumer.start();

  TransactionMQProducer producer("example_transaction_producer_group");
  producer.setNamesrvAddr(namesrv);
  producer.setTransactionListener(new OrderTransactions);  // the producer deletes it
  producer.start();
  for (int i = 0; i < count; ++i) {
    MQMessage msg(topic, "TagA", "order " + std::to_string(i));
    try {
      TransactionSendResult result = producer.sendMessageInTransaction(msg, &i);
      std::cout << "sent " << result.getMsgId() << ", local transaction "
                << (result.getLocalTransactionState() == COMMIT_MESSAGE ? "committed" : "rolled back")
                << std::endl;
    } catch (const MQException& e) {
      std::cerr << "send failed: " << e.what() << std::endl;
      return 1;
    }
  }

  const bool consumed = listener.waitForAll(std::chrono::seconds(30));
  producer.shutdown();
  consumer.shutdown();  // waits for every listener call
  return consumed ? 0 : 1;
}
