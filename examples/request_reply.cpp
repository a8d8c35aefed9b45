// Request-reply: a requester asks and waits; a responder consumes the request and sends back a reply built
// with MessageUtil::createReplyMessage. The broker hands the reply straight to the requester.
#include <ackmq/ackmq.hpp>

#include <chrono>
#include <exception>
#include <iostream>
#include <latch>
#include <string>

int main() {
  using namespace std::chrono_literals;
  ackmq::Broker broker;

  // The responder: any consumer of the request topic, replying with an ordinary producer.
  ackmq::Producer replier(broker, "price-service-replies");
  replier.start();
  ackmq::PushConsumer service(broker, "price-service");
  service.subscribe("PriceRequests", "*");
  service.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
        for (const auto& request : msgs) {
          const std::string price = request.getBody() == "apple" ? "0.42" : "unknown";
          replier.send(ackmq::MessageUtil::createReplyMessage(request, price));
        }
        return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
      }});
  service.start();

  ackmq::Producer requester(broker, "shop");
  requester.start();

  // Sync: waits for the reply, or throws RequestTimeoutException after the timeout.
  const ackmq::Message reply = requester.request(ackmq::Message("PriceRequests", "apple"), 3s);
  std::cout << "apple costs " << reply.getBody() << "\n";

  // Async: the callback runs later on the requester's callback thread.
  std::latch done(1);
  bool ok = false;
  requester.request(ackmq::Message("PriceRequests", "pear"),
                    ackmq::RequestCallback{.onSuccess =
                                               [&](const ackmq::Message& r) {
                                                 std::cout << "pear costs " << r.getBody() << "\n";
                                                 ok = true;
                                                 done.count_down();
                                               },
                                           .onException =
                                               [&](std::exception_ptr e) {
                                                 try {
                                                   std::rethrow_exception(e);
                                                 } catch (const ackmq::MQException& ex) {
                                                   std::cout << "no price: " << ex.what() << "\n";
                                                 }
                                                 done.count_down();
                                               }},
                    3s);
  done.wait();

  // Nobody answers this topic: the request times out.
  try {
    requester.request(ackmq::Message("Nobody", "hello?"), 100ms);
  } catch (const ackmq::RequestTimeoutException& e) {
    std::cout << "timed out: " << e.what() << "\n";
  }

  requester.shutdown();
  service.shutdown();
  replier.shutdown();
  return reply.getBody() == "0.42" && ok ? 0 : 1;
}
