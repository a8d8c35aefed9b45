// A concurrent push consumer, as RocketMQ users know it: subscribe with a tag expression, register a
// listener, return CONSUME_SUCCESS or RECONSUME_LATER.
#include <ackmq/ackmq.hpp>

#include <atomic>
#include <iostream>
#include <latch>
#include <mutex>
#include <string>

int main() {
  ackmq::Broker broker;
  ackmq::Producer producer(broker, "order-producer");
  producer.start();

  ackmq::PushConsumer consumer(broker, "order-consumer");
  consumer.subscribe("TopicTest", "TagA || TagC");  // exact tags; "*" for everything
  consumer.setConsumeThreadMin(4);
  consumer.setConsumeThreadMax(8);
  consumer.setConsumeMessageBatchMaxSize(1);

  std::atomic<int> consumed{0};
  std::mutex printing;  // listener calls run in parallel on the consumer's threads
  std::latch done(50);  // TagA and TagC: half of the 100 messages
  consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext& ctx) {
        for (const auto& msg : msgs) {
          if (msg.getQueueOffset() < 2) {
            std::lock_guard lock(printing);
            std::cout << "queue " << ctx.getMessageQueue().getQueueId() << " offset " << msg.getQueueOffset()
                      << ": " << msg.getTags() << " " << msg.getBody() << "\n";
          }
          ++consumed;
          done.count_down();
        }
        return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
      }});
  consumer.start();

  const char* tags[] = {"TagA", "TagB", "TagC", "TagD"};
  for (int i = 0; i < 100; ++i) {
    producer.send(ackmq::Message("TopicTest", tags[i % 4], "Hello ackmq " + std::to_string(i)));
  }
  done.wait();
  consumer.shutdown();  // waits for listener calls in flight and commits their offsets
  producer.shutdown();
  std::cout << consumed << " messages consumed\n";
  return consumed == 50 ? 0 : 1;
}
