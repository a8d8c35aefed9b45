// A program written against rocketmq-client-cpp's API, and nothing else: a push consumer subscribes, a
// producer sends ten messages synchronously, and the consumer's listener counts them. Built against ackmq's
// compatible headers it runs in one process; built against the real client it runs on a RocketMQ cluster
// (start a name server and a broker, and pass its address with -n).
//
//   ./sync_producer_push_consumer [-n 127.0.0.1:9876] [-t TopicTest] [-m 10]
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "Arg_helper.h"
#include "DefaultMQProducer.h"
#include "DefaultMQPushConsumer.h"

using namespace rocketmq;

namespace {

std::string optionOr(const Arg_helper& args, const std::string& option, const std::string& fallback) {
  const std::string value = args.get_option_value(option);
  return value.empty() ? fallback : value;
}

class CountingListener : public MessageListenerConcurrently {
 public:
  explicit CountingListener(int expected) : expected_(expected) {}

  ConsumeStatus consumeMessage(const std::vector<MQMessageExt>& msgs) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const MQMessageExt& msg : msgs) {
      std::cout << "consumed " << msg.getMsgId() << ": " << msg.getBody() << std::endl;
      ++consumed_;
    }
    if (consumed_ >= expected_) done_.notify_all();
    return CONSUME_SUCCESS;
  }

  bool waitForAll(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return done_.wait_for(lock, timeout, [this] { return consumed_ >= expected_; });
  }

 private:
  const int expected_;
  std::mutex mutex_;
  std::condition_variable done_;
  int consumed_ = 0;
};

}  // namespace

int main(int argc, char* argv[]) {
  const Arg_helper args(argc, argv);
  const std::string namesrv = optionOr(args, "-n", "127.0.0.1:9876");
  const std::string topic = optionOr(args, "-t", "TopicTest");
  const int count = std::atoi(optionOr(args, "-m", "10").c_str());

  // The consumer starts first: a group that exists before its topic still receives everything sent to it.
  CountingListener listener(count);
  DefaultMQPushConsumer consumer("example_consumer_group");
  consumer.setNamesrvAddr(namesrv);
  consumer.subscribe(topic, "*");
  consumer.registerMessageListener(&listener);
  consumer.start();

  DefaultMQProducer producer("example_producer_group");
  producer.setNamesrvAddr(namesrv);
  producer.start();
  for (int i = 0; i < count; ++i) {
    MQMessage msg(topic, "TagA", "hello " + std::to_string(i));
    try {
      const SendResult result = producer.send(msg);
      std::cout << "sent " << result.getMsgId() << " to queue " << result.getMessageQueue().getQueueId()
                << " at offset " << result.getQueueOffset() << std::endl;
    } catch (const MQException& e) {
      std::cerr << "send failed: " << e << std::endl;
      return 1;
    }
  }

  const bool all = listener.waitForAll(std::chrono::seconds(30));
  producer.shutdown();
  consumer.shutdown();  // waits for the listener's calls: it may be destroyed after this
  std::cout << (all ? "every message consumed" : "timed out waiting for the messages") << std::endl;
  return all ? 0 : 1;
}
