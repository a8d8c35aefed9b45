// Oneway sends: one attempt, no result, no retry. For logs and metrics where a lost message costs nothing.
#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <iostream>
#include <string>

int main() {
  ackmq::Broker broker;
  ackmq::Producer producer(broker, "oneway-producer");
  producer.start();
  for (int i = 0; i < 10; ++i) {
    producer.sendOneway(ackmq::Message("Metrics", "cpu", "load=" + std::to_string(i)));
  }
  producer.shutdown();
  const auto stored = ackmq::testing::topicMessages(broker, "Metrics").size();
  std::cout << stored << " oneway messages stored\n";
  return stored == 10 ? 0 : 1;
}
