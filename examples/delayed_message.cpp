// Delayed messages: a RocketMQ delay level (1..18: 1s 5s 10s 30s 1m ... 2h), or any deliver time.
// A ManualClock stands in for time here, so the example shows when each message becomes visible without
// waiting two hours.
#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <chrono>
#include <iostream>

using namespace std::chrono_literals;

int main() {
  ackmq::ManualClock clock;
  ackmq::testing::ManualBroker broker(clock);
  ackmq::testing::ManualProducer producer(broker, "delay-producer");
  producer.start();
  const auto start = clock.nowMillis();

  ackmq::Message level3("Reminders", "", "level 3: ten seconds later");
  level3.setDelayTimeLevel(3);
  producer.send(level3);

  ackmq::Message at("Reminders", "", "deliver at start + 90 s");
  at.setDeliverTimeMs(start + 90'000);
  producer.send(at);

  ackmq::Message in("Reminders", "", "2.5 s after the send");
  in.setDelayTimeMs(2'500);
  producer.send(in);

  std::size_t seen = 0;
  for (auto step : {1s, 2s, 10s, 100s}) {
    clock.advance(step);
    const auto visible = ackmq::testing::topicMessages(broker, "Reminders");
    for (; seen < visible.size(); ++seen) {
      std::cout << "+" << (visible[seen].getStoreTimestamp() - start) << " ms: " << visible[seen].getBody()
                << "\n";
    }
  }
  producer.shutdown();
  return seen == 3 ? 0 : 1;
}
