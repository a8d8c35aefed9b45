// Sync sends: each call returns a SendResult once the message is stored, or throws once retries run out.
#include <ackmq/ackmq.hpp>

#include <iostream>
#include <string>

int main() {
  ackmq::Broker broker;
  ackmq::Producer producer(broker, "sync-producer");
  producer.setSendMsgTimeout(3000);         // total budget of one send, all attempts together
  producer.setRetryTimesWhenSendFailed(2);  // up to 2 retries, each on another queue
  producer.start();

  int ok = 0;
  for (int i = 0; i < 10; ++i) {
    ackmq::Message msg("TopicTest", i % 2 == 0 ? "TagA" : "TagB", "KEY" + std::to_string(i),
                       "Hello ackmq " + std::to_string(i));
    try {
      const ackmq::SendResult r = producer.send(msg);
      std::cout << r.toString() << "\n";
      if (r.getSendStatus() == ackmq::SendStatus::SEND_OK) ++ok;
    } catch (const ackmq::MQException& e) {
      std::cout << "send failed: " << e.what() << " (" << ackmq::nameOf(e.getResponseCode()) << ")\n";
    }
  }
  producer.shutdown();
  return ok == 10 ? 0 : 1;
}
