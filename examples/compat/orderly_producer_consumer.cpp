// A program written against rocketmq-client-cpp's API, and nothing else: a producer sends the steps of a few
// orders, each order's steps to one queue chosen by a MessageQueueSelector, and an orderly consumer checks
// that it sees each order's steps in the order they were sent. Built against ackmq's compatible headers it
// runs in one process; built against the real client it runs on a RocketMQ cluster (-n its name server).
//
//   ./orderly_producer_consumer [-n 127.0.0.1:9876] [-t OrderTopic]
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "Arg_helper.h"
#include "DefaultMQProducer.h"
#include "DefaultMQPushConsumer.h"

using namespace rocketmq;

namespace {

const int kOrders = 4;
const char* const kSteps[] = {"created", "paid", "shipped", "delivered"};
const int kStepCount = 4;

// Sends every step of one order to one queue: the order id modulo the queue count.
class SelectByOrderId : public MessageQueueSelector {
 public:
  MQMessageQueue select(const std::vector<MQMessageQueue>& mqs, const MQMessage&, void* arg) override {
    const int orderId = *static_cast<int*>(arg);
    return mqs[static_cast<std::size_t>(orderId) % mqs.size()];
  }
};

class OrderChecker : public MessageListenerOrderly {
 public:
  ConsumeStatus consumeMessage(const std::vector<MQMessageExt>& msgs) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const MQMessageExt& msg : msgs) {
      const std::string& order = msg.getKeys();
      int& next = nextStep_[order];
      if (msg.getTags() != kSteps[next]) {
        std::cout << order << ": expected " << kSteps[next] << ", got " << msg.getTags() << std::endl;
        outOfOrder_ = true;
      }
      std::cout << order << ": " << msg.getTags() << " (queue " << msg.getQueueId() << ")" << std::endl;
      ++next;
      ++consumed_;
    }
    if (consumed_ >= kOrders * kStepCount) done_.notify_all();
    return CONSUME_SUCCESS;
  }

  // True when every step arrived, each order's in sequence.
  bool waitForAll(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    const bool all = done_.wait_for(lock, timeout, [this] { return consumed_ >= kOrders * kStepCount; });
    return all && !outOfOrder_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::map<std::string, int> nextStep_;
  int consumed_ = 0;
  bool outOfOrder_ = false;
};

}  // namespace

int main(int argc, char* argv[]) {
  const Arg_helper args(argc, argv);
  const std::string namesrv =
      args.get_option_value("-n").empty() ? "127.0.0.1:9876" : args.get_option_value("-n");
  const std::string topic = args.get_option_value("-t").empty() ? "OrderTopic" : args.get_option_value("-t");

  OrderChecker checker;
  DefaultMQPushConsumer consumer("example_orderly_consumer_group");
  consumer.setNamesrvAddr(namesrv);
  consumer.subscribe(topic, "*");
  consumer.registerMessageListener(&checker);  // orderly: the listener's type says so
  consumer.start();

  DefaultMQProducer producer("example_orderly_producer_group");
  producer.setNamesrvAddr(namesrv);
  producer.start();
  SelectByOrderId selector;
  for (int step = 0; step < kStepCount; ++step) {
    for (int orderId = 0; orderId < kOrders; ++orderId) {
      MQMessage msg(topic, kSteps[step], "order-" + std::to_string(orderId), "step of an order");
      try {
        producer.send(msg, &selector, &orderId);
      } catch (const MQException& e) {
        std::cerr << "send failed: " << e << std::endl;
        return 1;
      }
    }
  }

  const bool ok = checker.waitForAll(std::chrono::seconds(30));
  producer.shutdown();
  consumer.shutdown();
  std::cout << (ok ? "every order consumed in sequence" : "an order was out of sequence, or incomplete")
            << std::endl;
  return ok ? 0 : 1;
}
