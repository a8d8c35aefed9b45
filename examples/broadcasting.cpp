// Broadcasting: every member of the group receives every message (a cache invalidation, a config push).
// Failures are dropped, never retried; each member keeps its own offsets.
#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

int main() {
  ackmq::Broker broker;
  ackmq::Producer producer(broker, "config-producer");
  producer.start();

  std::vector<std::unique_ptr<ackmq::PushConsumer>> nodes;
  std::vector<std::unique_ptr<std::atomic<int>>> received;
  for (int i = 0; i < 3; ++i) {
    auto node = std::make_unique<ackmq::PushConsumer>(broker, "config-listeners");
    node->setMessageModel(ackmq::MessageModel::BROADCASTING);
    node->setInstanceName("node-" + std::to_string(i));
    node->subscribe("ConfigChanged", "*");
    received.push_back(std::make_unique<std::atomic<int>>(0));
    node->registerMessageListener(ackmq::MessageListenerConcurrently{
        [count = received.back().get()](const ackmq::MessageExtList& msgs,
                                        ackmq::ConsumeConcurrentlyContext&) {
          *count += static_cast<int>(msgs.size());
          return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
        }});
    node->start();
    nodes.push_back(std::move(node));
  }
  for (int i = 0; i < 10; ++i)
    producer.send(ackmq::Message("ConfigChanged", "", "version " + std::to_string(i)));

  bool everyone = true;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    ackmq::testing::awaitIdle(*nodes[i]);
    std::cout << "node-" << i << " received " << *received[i] << " messages\n";
    everyone = everyone && *received[i] == 10;
  }
  for (auto& node : nodes)
    node->shutdown();
  return everyone ? 0 : 1;
}
