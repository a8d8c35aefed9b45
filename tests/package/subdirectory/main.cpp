// Uses ackmq added with add_subdirectory: one message sent and confirmed.
#include <ackmq/ackmq.hpp>

#include <iostream>

int main() {
  ackmq::Broker broker;
  ackmq::Producer producer(broker, "subdirectory-test");
  producer.start();
  const ackmq::SendResult result = producer.send(ackmq::Message("SubdirectoryTest", "TagA", "vendored"));
  std::cout << ackmq::nameOf(result.getSendStatus()) << "\n";
  return result.getSendStatus() == ackmq::SendStatus::SEND_OK ? 0 : 1;
}
