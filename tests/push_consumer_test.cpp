// The push consumer, concurrent: delivery from producer to listener, start-up checks and settings.
// Failures, offsets, groups, flow control, the consume timeout and shutdown have their own files
// (push_consumer_*_test.cpp).
#include <ackmq/push_consumer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::MessageExtList;
using ackmq::testing::awaitIdle;
using ackmq::testing::ManualProducer;
using ackmq::testing::ManualPushConsumer;
using ackmq_test::SUCCESS;
using ackmq_test::sumOffsets;
using ackmq_test::World;

namespace {

// A body that counts its copies (moves are free): what a message costs on its way to the listener.
struct CountedBody {
  static inline std::atomic<int> copies{0};
  int value = 0;
  CountedBody() = default;
  explicit CountedBody(int v) : value(v) {}
  CountedBody(const CountedBody& o) : value(o.value) { copies.fetch_add(1); }
  CountedBody& operator=(const CountedBody& o) {
    value = o.value;
    copies.fetch_add(1);
    return *this;
  }
  CountedBody(CountedBody&&) noexcept = default;
  CountedBody& operator=(CountedBody&&) noexcept = default;
};

}  // namespace

TEST_SUITE("push_consumer") {
  TEST_CASE("a body is copied twice from send to listener: into the store, and out to the listener" *
            doctest::timeout(30)) {
    using Broker = ackmq::BasicBroker<CountedBody, ackmq::ManualClock>;
    ackmq::ManualClock clock;
    Broker broker(clock);
    broker.createTopic("T", 1);
    ackmq::BasicProducer<Broker> producer(broker, "p");
    producer.start();
    ackmq::BasicPushConsumer<Broker> consumer(broker, "g");
    consumer.subscribe("T", "*");
    std::atomic<int> seenCopies{-1};
    std::atomic<int> seenValue{0};
    consumer.registerMessageListener(ackmq::BasicMessageListenerConcurrently<CountedBody>{
        [&](const ackmq::BasicMessageExtList<CountedBody>& msgs, ackmq::ConsumeConcurrentlyContext&) {
          seenValue = msgs[0].getBody().value;
          seenCopies = CountedBody::copies.load();
          return SUCCESS;
        }});
    consumer.start();
    ackmq::BasicMessage<CountedBody> m("T", "", CountedBody(42));
    CountedBody::copies = 0;
    producer.send(m);
    CHECK(CountedBody::copies.load() == 1);  // the store's own copy
    REQUIRE(awaitIdle(consumer));
    CHECK(seenValue.load() == 42);
    CHECK(seenCopies.load() == 2);  // and the one the listener reads
    consumer.shutdown();
  }

  TEST_CASE("the listener gets the stored messages by reference: no copy is made for it" *
            doctest::timeout(30)) {
    struct Counted {
      std::shared_ptr<std::atomic<int>> copies;
      Counted() : copies(std::make_shared<std::atomic<int>>(0)) {}
      Counted(std::shared_ptr<std::atomic<int>> c) : copies(std::move(c)) {}
      Counted(const Counted& o) : copies(o.copies) { ++*copies; }
      Counted& operator=(const Counted& o) {
        copies = o.copies;
        ++*copies;
        return *this;
      }
    };
    auto copies = std::make_shared<std::atomic<int>>(0);
    ackmq::ManualClock clock;
    ackmq::BasicBroker<Counted, ackmq::ManualClock> broker(clock);
    ackmq::BasicProducer<decltype(broker)> producer(broker, "p");
    ackmq::BasicPushConsumer<decltype(broker)> consumer(broker, "g");
    producer.start();
    consumer.subscribe("T", "*");
    std::atomic<int> copiesSeenInListener{-1};
    consumer.registerMessageListener(ackmq::BasicMessageListenerConcurrently<Counted>{
        [&](const ackmq::BasicMessageExtList<Counted>& msgs, auto&) {
          copiesSeenInListener.store(msgs[0].getBody().copies->load());
          return SUCCESS;
        }});
    consumer.start();
    ackmq::BasicMessage<Counted> m("T", "", Counted(copies));
    const int beforeSend = copies->load();
    producer.send(m);
    REQUIRE(awaitIdle(consumer));
    // One copy into the store, one into the consumer's process queue; none for the listener call.
    CHECK(copiesSeenInListener.load() - beforeSend == 2);
  }

  TEST_CASE("start refuses a consumer without listener or subscription, and settings are checked" *
            doctest::timeout(10)) {
    World w;
    ManualPushConsumer c(w.broker, "g");
    CHECK_THROWS_WITH_AS(c.start(), doctest::Contains("no listener"), ackmq::MQClientException);
    c.registerMessageListener(ackmq::MessageListenerConcurrently{[](auto&, auto&) { return SUCCESS; }});
    CHECK_THROWS_WITH_AS(c.start(), doctest::Contains("subscribes to nothing"), ackmq::MQClientException);
    CHECK_THROWS_WITH_AS(c.setConsumeThreadMin(0), doctest::Contains("setConsumeThreadMin"),
                         ackmq::MQClientException);
    CHECK_THROWS_WITH_AS(c.setPullBatchSize(2000), doctest::Contains("1..1024"), ackmq::MQClientException);
    CHECK_THROWS_AS(c.subscribe("SCHEDULE_TOPIC_XXXX", "*"), ackmq::MQClientException);
    CHECK_THROWS_AS(ManualPushConsumer(w.broker, "bad group"), ackmq::MQClientException);
    c.subscribe("T", "*");
    c.setConsumeThreadMin(8);
    c.setConsumeThreadMax(4);
    CHECK_THROWS_WITH_AS(c.start(), doctest::Contains("larger than consumeThreadMax"),
                         ackmq::MQClientException);
    c.setConsumeThreadMax(8);
    c.start();
    CHECK_THROWS_WITH_AS(c.subscribe("U", "*"), doctest::Contains("before start()"),
                         ackmq::MQClientException);
    c.shutdown();
    CHECK_THROWS_AS(c.start(), ackmq::MQClientException);
    CHECK(c.getPullThresholdForQueue() == 1000);
    CHECK(c.getConsumeMessageBatchMaxSize() == 1);
    CHECK(c.getMaxReconsumeTimes() == -1);
    CHECK(c.getConsumeTimeout() == std::chrono::minutes(15));
  }

  TEST_CASE("with the system clock, messages flow from producer to listener" * doctest::timeout(60)) {
    ackmq::Broker broker;
    ackmq::Producer producer(broker, "p");
    producer.start();
    ackmq::PushConsumer consumer(broker, "g");
    consumer.subscribe("T", "*");
    std::latch all(500);
    consumer.registerMessageListener(
        ackmq::MessageListenerConcurrently{[&](const MessageExtList& msgs, auto&) {
          for (std::size_t i = 0; i < msgs.size(); ++i)
            all.count_down();
          return SUCCESS;
        }});
    consumer.start();
    for (int i = 0; i < 500; ++i)
      producer.send(ackmq::Message("T", "", "x"));
    all.wait();
    CHECK(ackmq::testing::awaitIdle(consumer));
    CHECK(sumOffsets(ackmq::testing::committedOffsets(broker, "g"), "T") == 500);
  }

  TEST_CASE("a conversation between two consumers delivers every message once, in turn" *
            doctest::timeout(60)) {
    // One message in flight at a time: each reaches an idle consumer, whose listener thread is still looking
    // for work (it pulls the message itself) or has gone to sleep (the sender pulls it). A message pulled
    // twice, or by nobody, breaks the count or hangs the test.
    constexpr int kRounds = 2000;
    World w;
    w.broker.createTopic("Ping", 2);
    w.broker.createTopic("Pong", 2);
    ManualProducer ponger(w.broker, "ponger");
    ponger.start();
    std::atomic<int> pings{0};
    std::atomic<int> pongs{0};
    ManualPushConsumer echo(w.broker, "echo");
    echo.subscribe("Ping", "*");
    echo.setConsumeThreadMin(1);
    echo.setConsumeThreadMax(1);
    echo.registerMessageListener(ackmq::MessageListenerConcurrently{[&](const MessageExtList& msgs, auto&) {
      pings.fetch_add(static_cast<int>(msgs.size()));
      for (const auto& m : msgs)
        ponger.send(ackmq::Message("Pong", "", m.getBody()));
      return SUCCESS;
    }});
    ManualPushConsumer back(w.broker, "back");
    back.subscribe("Pong", "*");
    back.setConsumeThreadMin(1);
    back.setConsumeThreadMax(1);
    std::vector<std::string> order;
    back.registerMessageListener(ackmq::MessageListenerConcurrently{[&](const MessageExtList& msgs, auto&) {
      for (const auto& m : msgs)
        order.push_back(m.getBody());  // one listener thread, one message in flight: no lock needed
      pongs.fetch_add(static_cast<int>(msgs.size()), std::memory_order_release);
      return SUCCESS;
    }});
    echo.start();
    back.start();
    for (int i = 0; i < kRounds; ++i) {
      w.send("Ping", std::to_string(i));
      while (pongs.load(std::memory_order_acquire) <= i)
        std::this_thread::yield();
    }
    REQUIRE(awaitIdle(echo));
    REQUIRE(awaitIdle(back));
    CHECK(pings.load() == kRounds);
    CHECK(pongs.load() == kRounds);
    REQUIRE(order.size() == static_cast<std::size_t>(kRounds));
    for (int i = 0; i < kRounds; ++i)
      CHECK(order[static_cast<std::size_t>(i)] == std::to_string(i));
    CHECK(sumOffsets(ackmq::testing::committedOffsets(w.broker, "echo"), "Ping") == kRounds);
    CHECK(sumOffsets(ackmq::testing::committedOffsets(w.broker, "back"), "Pong") == kRounds);
  }
}
