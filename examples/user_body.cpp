// A user-defined body: the broker stores the object itself, with no serialisation, and hands it back by
// const reference.
#include <ackmq/ackmq.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <variant>
#include <vector>

struct OrderCreated {
  int orderId;
  std::vector<std::string> items;
};
struct OrderPaid {
  int orderId;
  double amount;
};
using Event = std::variant<OrderCreated, OrderPaid>;

using EventBroker = ackmq::BasicBroker<Event>;
using EventProducer = ackmq::BasicProducer<EventBroker>;
using EventMessage = ackmq::BasicMessage<Event>;

int main() {
  EventBroker broker;
  EventProducer producer(broker, "order-events");
  producer.start();
  const auto created = producer.send(EventMessage("Orders", "created", OrderCreated{7, {"tea", "scones"}}));
  const auto paid = producer.send(EventMessage("Orders", "paid", OrderPaid{7, 12.5}));

  const auto c = broker.viewMessage(created.getMsgId());
  const auto p = broker.viewMessage(paid.getMsgId());
  const auto& order = std::get<OrderCreated>(c->getBody());
  std::cout << "order " << order.orderId << " with " << order.items.size() << " items, paid "
            << std::get<OrderPaid>(p->getBody()).amount << "\n";
  producer.shutdown();
  return order.items.size() == 2 ? 0 : 1;
}
