// Transactional messages: "update my state, then publish" as one step. The message is stored as a half
// that no consumer sees; it is delivered only if the local transaction commits. A local transaction that
// cannot say yet (UNKNOW) is checked back by the broker later. A ManualClock stands in for time, so the
// check-back 30 s on happens at once.
#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <string>

using namespace std::chrono_literals;
using ackmq::LocalTransactionState;

int main() {
  ackmq::ManualClock clock;
  ackmq::testing::ManualBroker broker(clock);

  // The application's own state: order -> paid? Keyed by the transaction id, so a check can find it.
  std::mutex mu;
  std::map<std::string, std::string> orders;  // transaction id -> "paid", "failed" or "pending"

  ackmq::testing::ManualTransactionMQProducer producer(broker, "order-producers");
  producer.setTransactionListener(
      [&](const ackmq::Message& msg, void*) {  // runs on the sending thread, once the half is stored
        const std::string id = msg.getProperty(ackmq::MessageConst::PROPERTY_TRANSACTION_ID);
        std::lock_guard lock(mu);
        if (msg.getBody() == "order 2") {
          orders[id] = "failed";
          return LocalTransactionState::ROLLBACK_MESSAGE;
        }
        if (msg.getBody() == "order 3") {  // the payment service has not answered yet
          orders[id] = "pending";
          return LocalTransactionState::UNKNOW;
        }
        orders[id] = "paid";
        return LocalTransactionState::COMMIT_MESSAGE;
      },
      [&](const ackmq::MessageExt& msg) {  // the broker asks later, on the producer's check thread
        std::lock_guard lock(mu);
        std::string& state = orders[msg.getMsgId()];
        if (state == "pending") state = "paid";  // by now the payment went through
        return state == "paid" ? LocalTransactionState::COMMIT_MESSAGE
                               : LocalTransactionState::ROLLBACK_MESSAGE;
      });
  producer.start();

  std::mutex printed;
  int delivered = 0;
  ackmq::testing::ManualPushConsumer consumer(broker, "shipping");
  consumer.subscribe("Orders", "*");
  consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
        std::lock_guard lock(printed);
        for (const auto& m : msgs) {
          std::cout << "shipping " << m.getBody() << "\n";
          ++delivered;
        }
        return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
      }});
  consumer.start();

  for (const char* order : {"order 1", "order 2", "order 3"}) {
    const ackmq::TransactionSendResult r =
        producer.sendMessageInTransaction(ackmq::Message("Orders", "created", order), nullptr);
    std::cout << order << ": " << ackmq::nameOf(r.getLocalTransactionState()) << "\n";
  }
  ackmq::testing::awaitIdle(consumer);  // order 1 is shipped; 2 never will be; 3 waits for its check

  clock.advance(30s);                   // the broker's check-back scan: order 3 is committed now
  ackmq::testing::awaitIdle(producer);  // its check answered
  ackmq::testing::awaitIdle(consumer);  // and order 3 shipped

  consumer.shutdown();
  producer.shutdown();
  return delivered == 2 ? 0 : 1;
}
