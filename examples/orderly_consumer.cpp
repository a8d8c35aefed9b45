// Orderly consumption: each order's events (created, paid, shipped) are sent to one queue with
// SelectMessageQueueByHash, and an orderly listener consumes each queue one batch at a time, in order, while
// different queues run in parallel.
#include <ackmq/ackmq.hpp>

#include <iostream>
#include <latch>
#include <map>
#include <mutex>
#include <string>
#include <vector>

int main() {
  ackmq::Broker broker;
  broker.createTopic("OrderEvents", 8);
  ackmq::Producer producer(broker, "order-service");
  producer.start();

  ackmq::PushConsumer consumer(broker, "order-tracker");
  consumer.subscribe("OrderEvents", "*");
  consumer.setConsumeThreadMin(4);
  consumer.setConsumeThreadMax(4);
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> history;  // order id -> events, as consumed
  int failedOnce = 0;
  std::latch allConsumed(30);  // 10 orders x 3 events
  consumer.registerMessageListener(ackmq::MessageListenerOrderly{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeOrderlyContext& ctx) {
        std::lock_guard lock(mu);
        for (const auto& msg : msgs) {
          // Simulate one transient failure: the queue is suspended for a moment and the same event comes
          // again.
          if (msg.getKeys() == "order-3" && msg.getTags() == "paid" && failedOnce++ == 0) {
            ctx.setSuspendCurrentQueueTimeMillis(100);
            return ackmq::ConsumeOrderlyStatus::SUSPEND_CURRENT_QUEUE_A_MOMENT;
          }
          history[msg.getKeys()].push_back(msg.getTags());
          allConsumed.count_down();
        }
        return ackmq::ConsumeOrderlyStatus::SUCCESS;
      }});
  consumer.start();

  const std::vector<std::string> steps = {"created", "paid", "shipped"};
  for (const auto& step : steps) {
    for (int order = 0; order < 10; ++order) {
      const std::string id = "order-" + std::to_string(order);
      producer.send(ackmq::Message("OrderEvents", step, id, id + " " + step),
                    ackmq::SelectMessageQueueByHash{}, id);
    }
  }

  allConsumed.wait();  // the suspended queue resumes after 100 ms
  bool inOrder = true;
  std::lock_guard lock(mu);
  for (const auto& [order, events] : history) {
    std::cout << order << ":";
    for (const auto& e : events)
      std::cout << " " << e;
    std::cout << "\n";
    inOrder = inOrder && events == steps;
  }
  consumer.shutdown();
  return inOrder && history.size() == 10 ? 0 : 1;
}
