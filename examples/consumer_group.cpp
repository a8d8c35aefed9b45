// A consumer group sharing the load: the members split the topic's queues (AllocateMessageQueueAveragely),
// and when one leaves, the others take its queues over from the committed offsets.
#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

int main() {
  ackmq::Broker broker;
  broker.createTopic("Orders", 8);
  ackmq::Producer producer(broker, "order-producer");
  producer.start();

  std::atomic<int> total{0};
  std::vector<std::unique_ptr<ackmq::PushConsumer>> members;
  std::vector<std::unique_ptr<std::atomic<int>>> counts;
  for (int i = 0; i < 3; ++i) {
    auto m = std::make_unique<ackmq::PushConsumer>(broker, "order-workers");
    m->setInstanceName("worker-" + std::to_string(i));
    m->subscribe("Orders", "*");
    counts.push_back(std::make_unique<std::atomic<int>>(0));
    m->registerMessageListener(ackmq::MessageListenerConcurrently{
        [&total, count = counts.back().get()](const ackmq::MessageExtList& msgs,
                                              ackmq::ConsumeConcurrentlyContext&) {
          *count += static_cast<int>(msgs.size());
          total += static_cast<int>(msgs.size());
          return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
        }});
    m->start();
    members.push_back(std::move(m));
  }
  // Each start() makes every member rebalance, on its own thread. Until all have, a queue changing hands
  // can have two owners for a moment, and both deliver its messages (at least once, as in RocketMQ). Let
  // the group settle first, so that each message below is consumed exactly once.
  for (auto& m : members)
    ackmq::testing::awaitIdle(*m);
  for (int i = 0; i < 800; ++i)
    producer.send(ackmq::Message("Orders", "", "order " + std::to_string(i)));
  for (std::size_t i = 0; i < members.size(); ++i) {
    ackmq::testing::awaitIdle(*members[i]);
    int queues = 0;
    for (const auto& mq : ackmq::testing::ownedQueues(*members[i]))
      queues += mq.getTopic() == "Orders";
    std::cout << "worker-" << i << ": " << queues << " queues, " << *counts[i] << " messages\n";
  }

  members[1]->shutdown();  // worker-1 leaves: its queues move to the others
  for (auto i : {0, 2})
    ackmq::testing::awaitIdle(*members[static_cast<std::size_t>(i)]);
  for (int i = 0; i < 800; ++i)
    producer.send(ackmq::Message("Orders", "", "order " + std::to_string(800 + i)));
  for (auto i : {0, 2}) {
    ackmq::testing::awaitIdle(*members[static_cast<std::size_t>(i)]);
    int queues = 0;
    for (const auto& mq : ackmq::testing::ownedQueues(*members[static_cast<std::size_t>(i)])) {
      queues += mq.getTopic() == "Orders";
    }
    std::cout << "after worker-1 left, worker-" << i << ": " << queues << " queues\n";
  }
  std::cout << total << " messages consumed in all\n";
  for (auto& m : members)
    m->shutdown();
  return total == 1600 ? 0 : 1;
}
