// Quick start: a broker and a producer in one process; send, and read the broker's confirmation.
#include <ackmq/ackmq.hpp>

#include <iostream>

int main() {
  ackmq::Broker broker;                             // the in-process broker: CommitLog, queues, offsets
  ackmq::Producer producer(broker, "quick-start");  // a producer group
  producer.start();

  ackmq::Message msg("Orders", "created", "order-42", "{\"id\":42,\"total\":9.90}");
  const ackmq::SendResult result = producer.send(msg);  // returns once the broker has stored it

  std::cout << ackmq::nameOf(result.getSendStatus()) << " msgId=" << result.getMsgId()
            << " queue=" << result.getMessageQueue().getQueueId() << " offset=" << result.getQueueOffset()
            << "\n";

  const auto stored = broker.viewMessage(result.getMsgId());  // look it up again by msgId
  std::cout << "stored body: " << stored->getBody() << "\n";
  producer.shutdown();
  return result.getSendStatus() == ackmq::SendStatus::SEND_OK ? 0 : 1;
}
