// The retry ladder: a message whose listener always fails is re-delivered after 10 s, 30 s, 1 m, 2 m ... 2 h
// (RocketMQ delay levels 3..18), then lands in %DLQ%<group>. A ManualClock walks the 4 h 46 min in
// microseconds.
#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <chrono>
#include <iostream>
#include <mutex>

using namespace std::chrono_literals;

int main() {
  ackmq::ManualClock clock;
  ackmq::testing::ManualBroker broker(clock);
  ackmq::testing::ManualProducer producer(broker, "payments-producer");
  producer.start();

  ackmq::testing::ManualPushConsumer consumer(broker, "payments");
  consumer.subscribe("Payments", "*");
  consumer.setConsumeThreadMin(1);
  consumer.setConsumeThreadMax(1);
  const std::int64_t start = clock.nowMillis();
  std::mutex mu;
  int deliveries = 0;
  consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
        std::lock_guard lock(mu);
        for (const auto& msg : msgs) {
          const auto elapsed = std::chrono::milliseconds(clock.nowMillis() - start);
          std::cout << "delivery " << ++deliveries << " at +"
                    << std::chrono::duration_cast<std::chrono::seconds>(elapsed).count()
                    << " s, reconsumeTimes " << msg.getReconsumeTimes() << "\n";
        }
        return ackmq::ConsumeConcurrentlyStatus::RECONSUME_LATER;  // the payment service is down
      }});
  consumer.start();

  const auto sent = producer.send(ackmq::Message("Payments", "charge", "order-42", "charge 9.90"));
  ackmq::testing::advanceAndSettle(clock, 5h, consumer);  // each retry is consumed when it comes due

  const auto dlq = ackmq::testing::topicMessages(broker, ackmq::MixAll::getDLQTopic("payments"));
  std::cout << "dead letters: " << dlq.size() << "\n";
  for (const auto& m : dlq) {
    std::cout << "  msgId " << m.getMsgId() << (m.getMsgId() == sent.getMsgId() ? " (the one sent)" : "")
              << ", body \"" << m.getBody() << "\", from topic " << m.getProperty("RETRY_TOPIC") << "\n";
  }
  consumer.shutdown();
  return deliveries == 17 && dlq.size() == 1 ? 0 : 1;
}
