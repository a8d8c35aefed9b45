// SQL92 property filters: a consumer takes only the messages whose properties match its expression. The
// broker evaluates the expression before it hands a message out; a message that does not match counts as
// consumed for the group and is never delivered.
#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <iostream>
#include <string>

int main() {
  ackmq::Broker broker;  // BrokerConfig::enablePropertyFilter is on by default
  ackmq::Producer producer(broker, "shop");
  producer.start();

  ackmq::PushConsumer consumer(broker, "eu-large-orders");
  consumer.subscribe("Orders",
                     ackmq::MessageSelector::bySql("region = 'eu' AND amount > 100 AND TAGS <> 'test'"));
  std::atomic<int> received{0};
  consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
        for (const auto& msg : msgs) {
          std::cout << msg.getBody() << ": region " << msg.getProperty("region") << ", amount "
                    << msg.getProperty("amount") << "\n";
          received.fetch_add(1);
        }
        return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
      }});
  consumer.start();

  struct Order {
    const char* region;
    int amount;
    const char* tags;
  };
  int n = 0;
  for (const Order& o : {Order{"eu", 250, "live"}, Order{"us", 250, "live"}, Order{"eu", 40, "live"},
                         Order{"eu", 900, "test"}, Order{"eu", 120, "live"}}) {
    ackmq::Message msg("Orders", o.tags, "order " + std::to_string(++n));
    msg.putUserProperty("region", o.region);
    msg.putUserProperty("amount", std::to_string(o.amount));  // every property is a string
    producer.send(msg);
  }

  // A malformed expression is refused at subscribe, with its position and what was expected.
  ackmq::PushConsumer typo(broker, "typo");
  try {
    typo.subscribe("Orders", ackmq::MessageSelector::bySql("region = 'eu' AND amount >"));
  } catch (const ackmq::MQClientException& e) {
    std::cout << "refused: " << e.what() << "\n";
  }

  ackmq::testing::awaitIdle(consumer);
  consumer.shutdown();
  producer.shutdown();
  std::cout << received.load() << " of 5 orders matched\n";
  return received.load() == 2 ? 0 : 1;
}
