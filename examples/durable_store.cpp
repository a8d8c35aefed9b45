// A durable broker: the messages and each group's progress survive a restart. The first run stores three
// orders and handles one; the broker opened again on the same directory hands over the other two.
#include <ackmq/ackmq.hpp>

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>

using namespace std::chrono_literals;

int main() {
  char pattern[] = "/tmp/ackmq-example-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  const ackmq::BrokerConfig config{.storePathRootDir = dir,
                                   .flushDiskType = ackmq::FlushDiskType::SYNC_FLUSH};
  {
    ackmq::Broker broker(config);
    ackmq::Producer producer(broker, "shop");
    producer.start();
    ackmq::SimpleConsumer consumer(broker, "billing");
    consumer.subscribe("Orders", "*");
    consumer.setAwaitDuration(5s);
    consumer.start();  // before the sends: a new group starts at the queues' ends
    for (int i = 1; i <= 3; ++i) {
      const auto r = producer.send(ackmq::Message("Orders", "", "order " + std::to_string(i)));
      std::cout << "stored " << r.getMsgId() << ": " << ackmq::nameOf(r.getSendStatus()) << "\n";  // on disk
    }
    for (auto& msg : consumer.receive(1, 30s)) {
      std::cout << "billed " << msg.getBody() << "\n";
      consumer.ack(msg);
    }
    consumer.shutdown();
    producer.shutdown();
  }  // the broker shuts down: its offsets are written and the store is marked clean

  ackmq::Broker broker(config);
  const ackmq::StoreRecovery& r = broker.getRecoveryReport();
  std::cout << "reopened: " << r.messagesRecovered << " messages, clean shutdown " << r.cleanShutdown << "\n";
  ackmq::SimpleConsumer consumer(broker, "billing");
  consumer.subscribe("Orders", "*");
  consumer.setAwaitDuration(5s);
  consumer.start();
  int billed = 0;
  while (billed < 2) {
    for (auto& msg : consumer.receive(16, 30s)) {
      std::cout << "billed " << msg.getBody() << "\n";
      consumer.ack(msg);
      ++billed;
    }
  }
  consumer.shutdown();
  broker.shutdown();
  std::filesystem::remove_all(dir);
  return r.messagesRecovered == 3 && r.cleanShutdown ? 0 : 1;
}
