// Uses the installed ackmq: one message sent and confirmed.
#include <ackmq/ackmq.hpp>

#include <iostream>

int main() {
  ackmq::Broker broker;
  ackmq::Producer producer(broker, "package-test");
  producer.start();
  const ackmq::SendResult result = producer.send(ackmq::Message("PackageTest", "TagA", "installed"));
  std::cout << ackmq::nameOf(result.getSendStatus()) << "\n";
  return result.getSendStatus() == ackmq::SendStatus::SEND_OK ? 0 : 1;
}
