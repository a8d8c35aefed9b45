// Quick start: a broker, a producer and a push consumer in one process.
#include <ackmq/ackmq.hpp>

#include <iostream>
#include <latch>

int main() {
  ackmq::Broker broker;  // the in-process broker: CommitLog, queues, offsets, timer wheel
  ackmq::Producer producer(broker, "quick-start-producer");
  producer.start();

  std::latch received(1);
  ackmq::PushConsumer consumer(broker, "quick-start-consumer");
  consumer.subscribe("Orders", "*");
  consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
        for (const auto& msg : msgs)
          std::cout << "received " << msg.getBody() << "\n";
        received.count_down();
        return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;  // the acknowledgement
      }});
  consumer.start();

  // Returns once the broker has stored the message: the producer's confirmation.
  const ackmq::SendResult result =
      producer.send(ackmq::Message("Orders", "created", "order-42", "{\"id\":42}"));
  std::cout << ackmq::nameOf(result.getSendStatus()) << " msgId=" << result.getMsgId() << "\n";

  received.wait();
  consumer.shutdown();
  producer.shutdown();
}
