// The simple consumer: receive messages, work on each, ack each on its own. A message left unacked comes back
// once its invisible duration ends; changeInvisibleDuration buys a slow message more time.
#include <ackmq/ackmq.hpp>

#include <chrono>
#include <iostream>
#include <set>
#include <string>

using namespace std::chrono_literals;

int main() {
  ackmq::Broker broker;
  ackmq::Producer producer(broker, "billing-producer");
  producer.start();

  ackmq::SimpleConsumer consumer(broker, "billing");
  consumer.subscribe("Invoices", "*");
  consumer.setAwaitDuration(5s);  // receive() waits up to 5 s when nothing is ready
  consumer.start();

  for (int i = 1; i <= 5; ++i)
    producer.send(ackmq::Message("Invoices", "", "invoice " + std::to_string(i)));

  std::set<std::string> billed;
  while (billed.size() < 5) {
    // Each message received here stays invisible to the group for 200 ms unless acked.
    for (auto& msg : consumer.receive(16, 200ms)) {
      std::cout << msg.getBody() << ", delivery attempt " << msg.getDeliveryAttempt() << "\n";
      if (msg.getBody() == "invoice 2" && msg.getDeliveryAttempt() == 1) {
        std::cout << "  not acked: it comes back after its invisible duration\n";
        continue;
      }
      if (msg.getBody() == "invoice 4") {
        consumer.changeInvisibleDuration(msg, 30s);  // slow work ahead: keep it invisible, renew the handle
        std::cout << "  invisible for 30 s more while it is billed\n";
      }
      consumer.ack(msg);  // the renewed handle, for invoice 4
      billed.insert(msg.getBody());
    }
  }

  consumer.shutdown();
  producer.shutdown();
  std::cout << billed.size() << " invoices billed\n";
  return billed.size() == 5 ? 0 : 1;
}
