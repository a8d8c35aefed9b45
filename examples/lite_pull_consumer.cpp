// The lite pull consumer: the application's own thread polls for messages and commits what it has
// processed. Nothing runs in the background; a restart (or another member of the group) resumes from the
// committed offsets.
#include <ackmq/ackmq.hpp>

#include <chrono>
#include <iostream>
#include <string>

using namespace std::chrono_literals;

int main() {
  ackmq::Broker broker;
  broker.createTopic("Orders", 2);
  ackmq::Producer producer(broker, "orders-producer");
  producer.start();
  for (int i = 0; i < 10; ++i)
    producer.send(ackmq::Message("Orders", "", "order " + std::to_string(i)));

  int processed = 0;
  {
    ackmq::LitePullConsumer consumer(broker, "reporting");
    consumer.subscribe("Orders", "*");
    consumer.setConsumeFromWhere(ackmq::ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET);
    consumer.setAutoCommit(false);
    consumer.setPullBatchSize(4);
    consumer.start();
    // Process six messages, commit, and stop.
    while (processed < 6) {
      for (const auto& msg : consumer.poll(1s)) {
        std::cout << "queue " << msg.getQueueId() << " offset " << msg.getQueueOffset() << ": "
                  << msg.getBody() << "\n";
        ++processed;
      }
      consumer.commitSync();  // what poll() returned is consumed
    }
    for (const auto& mq : consumer.assignment())
      std::cout << "committed " << mq.getTopic() << "#" << mq.getQueueId() << " = " << consumer.committed(mq)
                << "\n";
    consumer.shutdown();
  }

  // A new member of the group starts from the committed offsets: it sees only what was not yet processed.
  ackmq::LitePullConsumer resumed(broker, "reporting");
  resumed.subscribe("Orders", "*");
  resumed.start();
  while (processed < 10) {
    for (const auto& msg : resumed.poll(1s)) {
      std::cout << "resumed: " << msg.getBody() << "\n";
      ++processed;
    }
  }
  resumed.shutdown();  // auto-commit (the default) commits on shutdown
  producer.shutdown();
  std::cout << processed << " orders processed, none twice\n";
  return processed == 10 ? 0 : 1;
}
