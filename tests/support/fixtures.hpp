#pragma once
// Set-up shared by the test files: a ManualClock world with one started producer, a listener that records
// what a push consumer delivered, and the small helpers several components' tests use. Everything here is
// for tests only; each test file names what it takes with using-declarations.

#include <ackmq/broker.hpp>
#include <ackmq/clock.hpp>
#include <ackmq/listener.hpp>
#include <ackmq/message.hpp>
#include <ackmq/message_queue.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/push_consumer.hpp>
#include <ackmq/status.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ackmq_test {

inline constexpr auto SUCCESS = ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
inline constexpr auto LATER = ackmq::ConsumeConcurrentlyStatus::RECONSUME_LATER;

// The message of the ackmq exception `f` throws, or "no error".
template <class F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const ackmq::MQException& e) {
    return e.what();
  }
  return "no error";
}

inline bool mentions(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

// A ManualClock world with one started producer.
struct World {
  ackmq::ManualClock clock;
  ackmq::testing::ManualBroker broker;
  ackmq::testing::ManualProducer producer;
  explicit World(ackmq::BrokerConfig config = {}, const std::string& producerGroup = "producer")
      : broker(clock, std::move(config)), producer(broker, producerGroup) {
    producer.start();
  }
  ackmq::SendResult send(const std::string& topic, const std::string& body, const std::string& tags = "") {
    return producer.send(ackmq::Message(topic, tags, body));
  }
  // How many messages the broker holds for `topic`.
  std::size_t stored(std::string_view topic) { return ackmq::testing::topicMessages(broker, topic).size(); }
};

// What a listener saw.
struct Delivery {
  std::string topic;
  std::string body;
  std::string msgId;
  std::string tags;
  int reconsumeTimes;
  std::int64_t at;  // the clock when delivered
  ackmq::MessageQueue queue;
};

// Every delivery a listener saw. Thread-safe.
struct Recorder {
  std::mutex mu;  // guards deliveries
  std::vector<Delivery> deliveries;
  void add(const ackmq::MessageExt& m, std::int64_t now, const ackmq::MessageQueue& q) {
    std::lock_guard l(mu);
    deliveries.push_back(
        {m.getTopic(), m.getBody(), m.getMsgId(), m.getTags(), m.getReconsumeTimes(), now, q});
  }
  std::vector<Delivery> all() {
    std::lock_guard l(mu);
    return deliveries;
  }
  std::size_t size() {
    std::lock_guard l(mu);
    return deliveries.size();
  }
  std::multiset<std::string> bodies() {
    std::lock_guard l(mu);
    std::multiset<std::string> out;
    for (const auto& d : deliveries)
      out.insert(d.body);
    return out;
  }
};

// A consumer with a small pool, recording every delivery and answering with `answer`.
template <class Answer>
void listen(ackmq::testing::ManualPushConsumer& c, ackmq::ManualClock& clock, Recorder& rec, Answer answer) {
  c.setConsumeThreadMin(2);
  c.setConsumeThreadMax(4);
  c.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&clock, &rec, answer](const ackmq::MessageExtList& msgs,
                             ackmq::ConsumeConcurrentlyContext& ctx) mutable {
        for (const auto& m : msgs)
          rec.add(m, clock.nowMillis(), ctx.getMessageQueue());
        return answer(msgs, ctx);
      }});
}

// The sum of the offsets of `topic`'s queues.
inline std::int64_t sumOffsets(const std::map<ackmq::MessageQueue, std::int64_t>& offsets,
                               std::string_view topic) {
  std::int64_t sum = 0;
  for (const auto& [mq, o] : offsets) {
    if (mq.topic == topic) sum += o;
  }
  return sum;
}

// A consumer of topic T (one queue) with a 1 min consume timeout, whose listener has taken one message and
// holds it until `release`; later calls return at once. Every call succeeds.
struct HeldMessage {
  World w;
  ackmq::testing::ManualPushConsumer c{w.broker, "g"};
  std::latch in{1}, release{1};
  std::atomic<int> calls{0};
  const ackmq::MessageQueue q{"T", "broker-a", 0};
  explicit HeldMessage(int minThreads = 2, int maxThreads = 4) {
    w.broker.createTopic("T", 1);
    c.subscribe("T", "*");
    c.setConsumeTimeout(std::chrono::minutes(1));
    c.setConsumeThreadMin(minThreads);
    c.setConsumeThreadMax(maxThreads);
    c.registerMessageListener(ackmq::MessageListenerConcurrently{[this](auto&, auto&) {
      if (calls++ == 0) {
        in.count_down();
        release.wait();
      }
      return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
    }});
    c.start();
    w.send("T", "held");
    in.wait();
  }
};

// A body object whose copy (construction or assignment) throws while `refused` holds its value.
struct Fragile {
  static inline std::atomic<int> refused{-1};
  int v = 0;
  Fragile() = default;
  explicit Fragile(int x) : v(x) {}
  Fragile(const Fragile& o) : v(o.v) {
    if (v == refused.load()) throw std::runtime_error("Fragile: copy refused");
  }
  Fragile& operator=(const Fragile& o) {
    if (o.v == refused.load()) throw std::runtime_error("Fragile: copy refused");
    v = o.v;
    return *this;
  }
};

}  // namespace ackmq_test
