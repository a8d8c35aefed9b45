// The producer: the first confirmation. Sync, async and oneway sends, retries, queue selection, batches and
// input validation.
#include <ackmq/producer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/testing.hpp>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <latch>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;
using ackmq_test::errorOf;
using ackmq_test::mentions;
using ackmq_test::World;

namespace {

// What an async send reported, and on which thread.
struct Outcome {
  std::mutex mu;
  std::condition_variable cv;
  int successes = 0;
  int failures = 0;
  std::thread::id thread;
  ackmq::SendResult result;
  std::exception_ptr error;

  ackmq::SendCallback callback() {
    return ackmq::SendCallback{[this](const ackmq::SendResult& r) {
                                 std::lock_guard l(mu);
                                 ++successes;
                                 result = r;
                                 thread = std::this_thread::get_id();
                                 cv.notify_all();
                               },
                               [this](std::exception_ptr e) {
                                 std::lock_guard l(mu);
                                 ++failures;
                                 error = e;
                                 thread = std::this_thread::get_id();
                                 cv.notify_all();
                               }};
  }
  void wait(int n = 1) {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return successes + failures >= n; });
  }
};

// The producer group is "producer-group".
struct Fixture : World {
  Fixture() : World({}, "producer-group") {}
};

}  // namespace

TEST_SUITE("producer") {
  TEST_CASE("a sync send returns SEND_OK with the msgId, queue and offset of the stored message" *
            doctest::timeout(10)) {
    Fixture f;
    const auto r = f.producer.send(ackmq::Message("T", "TagA", "hello"));
    CHECK(r.getSendStatus() == ackmq::SendStatus::SEND_OK);
    CHECK(r.getMsgId().size() == 32);
    CHECK(r.getOffsetMsgId().size() == 32);
    CHECK(r.getMessageQueue().getTopic() == "T");
    CHECK(r.getMessageQueue().getBrokerName() == "broker-a");
    const auto msgs = ackmq::testing::topicMessages(f.broker, "T");
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].getMsgId() == r.getMsgId());
    CHECK(msgs[0].getQueueId() == r.getMessageQueue().getQueueId());
    CHECK(msgs[0].getQueueOffset() == r.getQueueOffset());
  }

  TEST_CASE("sends spread round-robin over the topic's queues" * doctest::timeout(10)) {
    Fixture f;
    std::vector<int> perQueue(4);
    for (int i = 0; i < 400; ++i)
      ++perQueue[static_cast<std::size_t>(
          f.producer.send(ackmq::Message("T", "", "x")).getMessageQueue().getQueueId())];
    CHECK(perQueue == std::vector<int>{100, 100, 100, 100});
  }

  TEST_CASE(
      "a retryable failure is retried up to retryTimesWhenSendFailed times, each on another queue, with one "
      "msgId" *
      doctest::timeout(10)) {
    Fixture f;
    ackmq::testing::failNextSends(f.broker, 2, ackmq::ResponseCode::SYSTEM_BUSY);
    const auto r = f.producer.send(ackmq::Message("T", "", "third time lucky"));
    CHECK(r.getSendStatus() == ackmq::SendStatus::SEND_OK);
    const auto msgs = ackmq::testing::topicMessages(f.broker, "T");
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].getMsgId() == r.getMsgId());

    // Round-robin tells which queue the failed attempt used: the retry goes to the one after it.
    const int q = f.producer.send(ackmq::Message("U", "", "x")).getMessageQueue().getQueueId();
    ackmq::testing::loseNextSends(f.broker, 1);  // the attempt on q + 1 is lost
    const auto retried = f.producer.send(ackmq::Message("U", "", "y"));
    CHECK(retried.getMessageQueue().getQueueId() == (q + 2) % 4);
    CHECK(f.stored("U") == 2);
  }

  TEST_CASE("exhausted retries throw MQClientException carrying the last cause, storing nothing" *
            doctest::timeout(10)) {
    Fixture f;
    ackmq::testing::failNextSends(f.broker, 3, ackmq::ResponseCode::SYSTEM_ERROR);
    try {
      f.producer.send(ackmq::Message("T", "", "x"));
      FAIL("no exception");
    } catch (const ackmq::MQClientException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::SYSTEM_ERROR);
      CHECK(mentions(e.what(), "3 times"));
    }
    CHECK(f.stored("T") == 0);
    f.producer.setRetryTimesWhenSendFailed(0);
    ackmq::testing::failNextSends(f.broker, 1, ackmq::ResponseCode::SYSTEM_BUSY);
    CHECK_THROWS_AS(f.producer.send(ackmq::Message("T", "", "x")), ackmq::MQClientException);
    CHECK(f.producer.send(ackmq::Message("T", "", "x")).getSendStatus() == ackmq::SendStatus::SEND_OK);
  }

  TEST_CASE("a failure RocketMQ does not retry throws MQBrokerException at once" * doctest::timeout(10)) {
    Fixture f;
    ackmq::testing::failNextSends(f.broker, 2, ackmq::ResponseCode::MESSAGE_ILLEGAL);
    try {
      f.producer.send(ackmq::Message("T", "", "x"));
      FAIL("no exception");
    } catch (const ackmq::MQBrokerException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::MESSAGE_ILLEGAL);
    }
    // The second injected failure is still armed: only one attempt was made.
    CHECK_THROWS_AS(f.producer.send(ackmq::Message("T", "", "x")), ackmq::MQBrokerException);
    CHECK(f.stored("T") == 0);
  }

  TEST_CASE("retries stop when the sendMsgTimeout budget, shared by all attempts, runs out" *
            doctest::timeout(10)) {
    Fixture f;
    f.producer.setSendMsgTimeout(3000);
    ackmq::testing::slowNextSends(f.broker, 3, 2000ms);
    ackmq::testing::failNextSends(f.broker, 3, ackmq::ResponseCode::SYSTEM_BUSY);
    const auto begin = f.clock.nowMillis();
    try {
      f.producer.send(ackmq::Message("T", "", "x"));
      FAIL("no exception");
    } catch (const ackmq::MQClientException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::REQUEST_TIMEOUT_EXCEPTION);
      CHECK(mentions(e.what(), "sendMsgTimeout 3000 ms"));
    }
    // Two attempts of 2 s fit the first 3 s; the third was never made.
    CHECK(f.clock.nowMillis() - begin == 4000);
  }

  TEST_CASE("a non-OK send status is returned, not retried, and the message is stored" *
            doctest::timeout(10)) {
    Fixture f;
    ackmq::testing::failNextSends(f.broker, 1, ackmq::SendStatus::FLUSH_DISK_TIMEOUT);
    const auto r = f.producer.send(ackmq::Message("T", "", "x"));
    CHECK(r.getSendStatus() == ackmq::SendStatus::FLUSH_DISK_TIMEOUT);
    CHECK(f.stored("T") == 1);
  }

  TEST_CASE("retryAnotherBrokerWhenNotStoreOK retries a non-OK status, storing another copy" *
            doctest::timeout(10)) {
    Fixture f;
    f.producer.setRetryAnotherBrokerWhenNotStoreOK(true);
    ackmq::testing::failNextSends(f.broker, 1, ackmq::SendStatus::FLUSH_SLAVE_TIMEOUT);
    const auto r = f.producer.send(ackmq::Message("T", "", "x"));
    CHECK(r.getSendStatus() == ackmq::SendStatus::SEND_OK);
    const auto msgs = ackmq::testing::topicMessages(f.broker, "T");
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0].getMsgId() == msgs[1].getMsgId());
    ackmq::testing::failNextSends(f.broker, 3, ackmq::SendStatus::SLAVE_NOT_AVAILABLE);
    CHECK(f.producer.send(ackmq::Message("T", "", "y")).getSendStatus() ==
          ackmq::SendStatus::SLAVE_NOT_AVAILABLE);
  }

  TEST_CASE("an async send reports success exactly once, on the producer's thread, not inside send" *
            doctest::timeout(10)) {
    Fixture f;
    Outcome o;
    f.producer.send(ackmq::Message("T", "", "async"), o.callback());
    o.wait();
    CHECK(o.successes == 1);
    CHECK(o.failures == 0);
    CHECK(o.thread != std::this_thread::get_id());
    CHECK(o.result.getSendStatus() == ackmq::SendStatus::SEND_OK);
    CHECK(f.stored("T") == 1);
    f.producer.shutdown();  // drains callbacks: nothing more may arrive
    CHECK(o.successes + o.failures == 1);
  }

  TEST_CASE("an async send retries lost requests retryTimesWhenSendAsyncFailed times" *
            doctest::timeout(10)) {
    Fixture f;
    Outcome ok;
    ackmq::testing::loseNextSends(f.broker, 2);
    f.producer.send(ackmq::Message("T", "", "x"), ok.callback());
    ok.wait();
    CHECK(ok.successes == 1);
    Outcome failed;
    ackmq::testing::loseNextSends(f.broker, 3);
    f.producer.send(ackmq::Message("T", "", "y"), failed.callback());
    failed.wait();
    CHECK(failed.failures == 1);
    CHECK_THROWS_AS(std::rethrow_exception(failed.error), ackmq::MQClientException);
    CHECK(f.stored("T") == 1);
  }

  TEST_CASE("an async send reports a broker refusal without retrying it" * doctest::timeout(10)) {
    Fixture f;
    Outcome o;
    ackmq::testing::failNextSends(f.broker, 1, ackmq::ResponseCode::SYSTEM_BUSY);
    f.producer.send(ackmq::Message("T", "", "x"), o.callback());
    o.wait();
    CHECK(o.failures == 1);
    try {
      std::rethrow_exception(o.error);
    } catch (const ackmq::MQBrokerException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::SYSTEM_BUSY);
    }
    CHECK(f.stored("T") == 0);
  }

  TEST_CASE("an async callback that throws does not stop later callbacks" * doctest::timeout(10)) {
    Fixture f;
    std::latch two(2);
    for (int i = 0; i < 2; ++i) {
      f.producer.send(ackmq::Message("T", "", "x"),
                      ackmq::SendCallback{[&](const ackmq::SendResult&) {
                                            two.count_down();
                                            throw std::runtime_error("application bug");
                                          },
                                          nullptr});
    }
    two.wait();
    CHECK(f.stored("T") == 2);
  }

  TEST_CASE("many threads sending async get exactly one callback per send" * doctest::timeout(60)) {
    ackmq::Broker broker;
    ackmq::Producer producer(broker, "p");
    producer.start();
    constexpr int kThreads = 4, kPerThread = 2000;
    std::atomic<int> successes{0}, failures{0};
    std::latch all(kThreads * kPerThread);
    std::vector<std::thread> senders;
    for (int t = 0; t < kThreads; ++t) {
      senders.emplace_back([&] {
        for (int i = 0; i < kPerThread; ++i) {
          producer.send(ackmq::Message("T", "", "x"), ackmq::SendCallback{[&](const ackmq::SendResult&) {
                                                                            ++successes;
                                                                            all.count_down();
                                                                          },
                                                                          [&](std::exception_ptr) {
                                                                            ++failures;
                                                                            all.count_down();
                                                                          }});
        }
      });
    }
    for (auto& s : senders)
      s.join();
    all.wait();
    producer.shutdown();
    CHECK(successes.load() == kThreads * kPerThread);
    CHECK(failures.load() == 0);
    CHECK(ackmq::testing::topicMessages(broker, "T").size() ==
          static_cast<std::size_t>(kThreads * kPerThread));
  }

  TEST_CASE("a oneway send makes one attempt and reports nothing" * doctest::timeout(10)) {
    Fixture f;
    f.producer.sendOneway(ackmq::Message("T", "", "fire and forget"));
    CHECK(f.stored("T") == 1);
    ackmq::testing::loseNextSends(f.broker, 1);
    CHECK_NOTHROW(f.producer.sendOneway(ackmq::Message("T", "", "lost")));
    ackmq::testing::failNextSends(f.broker, 1, ackmq::ResponseCode::SYSTEM_BUSY);
    CHECK_NOTHROW(f.producer.sendOneway(ackmq::Message("T", "", "refused")));
    CHECK(f.stored("T") == 1);
    CHECK_THROWS_AS(f.producer.sendOneway(ackmq::Message("", "", "bad")), ackmq::MQClientException);
  }

  TEST_CASE("a send to an explicit queue makes one attempt and lands in that queue" * doctest::timeout(10)) {
    Fixture f;
    f.broker.createTopic("T", 4);
    const ackmq::MessageQueue q2("T", "broker-a", 2);
    const auto r = f.producer.send(ackmq::Message("T", "", "x"), q2);
    CHECK(r.getMessageQueue() == q2);
    ackmq::testing::failNextSends(f.broker, 1, ackmq::ResponseCode::SYSTEM_BUSY);
    CHECK_THROWS_AS(f.producer.send(ackmq::Message("T", "", "y"), q2), ackmq::MQBrokerException);
    CHECK(f.stored("T") == 1);
    CHECK(mentions(errorOf([&] { f.producer.send(ackmq::Message("Other", "", "z"), q2); }), "differs"));
    CHECK(mentions(errorOf([&] {
                     f.producer.send(ackmq::Message("T", "", "z"), ackmq::MessageQueue("T", "broker-a", 9));
                   }),
                   "queueId 9 is out of range 0..3"));
    CHECK(mentions(
        errorOf([&] { f.producer.send(ackmq::Message("T", "", "z"), ackmq::MessageQueue("T", "nope", 0)); }),
        "unknown"));
  }

  TEST_CASE("SelectMessageQueueByHash keeps one key on one queue and makes one attempt" *
            doctest::timeout(10)) {
    Fixture f;
    f.broker.createTopic("Orders", 8);
    std::map<std::string, int> queueOf;
    for (int i = 0; i < 400; ++i) {
      const std::string key = "order-" + std::to_string(i % 40);
      const auto r =
          f.producer.send(ackmq::Message("Orders", "", key), ackmq::SelectMessageQueueByHash{}, key);
      auto [it, fresh] = queueOf.emplace(key, r.getMessageQueue().getQueueId());
      CHECK(it->second == r.getMessageQueue().getQueueId());
    }
    std::set<int> used;
    for (auto& [k, q] : queueOf)
      used.insert(q);
    CHECK(used.size() > 1);
    // String literals and integers hash too.
    f.producer.send(ackmq::Message("Orders", "", "x"), ackmq::SelectMessageQueueByHash{}, "literal");
    f.producer.send(ackmq::Message("Orders", "", "x"), ackmq::SelectMessageQueueByHash{}, 12345);
    ackmq::testing::failNextSends(f.broker, 1, ackmq::ResponseCode::SYSTEM_BUSY);
    CHECK_THROWS_AS(f.producer.send(ackmq::Message("Orders", "", "x"), ackmq::SelectMessageQueueByHash{}, 1),
                    ackmq::MQBrokerException);
    // A custom selector is any callable.
    const auto r = f.producer.send(
        ackmq::Message("Orders", "", "x"),
        [](const std::vector<ackmq::MessageQueue>& mqs, const ackmq::Message&, const int& n) {
          return mqs[static_cast<std::size_t>(n)];
        },
        5);
    CHECK(r.getMessageQueue().getQueueId() == 5);
  }

  TEST_CASE("a batch lands in one queue with consecutive offsets, each message with its own msgId" *
            doctest::timeout(10)) {
    Fixture f;
    std::vector<ackmq::Message> batch;
    for (int i = 0; i < 5; ++i)
      batch.emplace_back("T", "TagA", "m" + std::to_string(i));
    const auto r = f.producer.send(batch);
    CHECK(r.getSendStatus() == ackmq::SendStatus::SEND_OK);
    const auto msgs = ackmq::testing::topicMessages(f.broker, "T");
    REQUIRE(msgs.size() == 5);
    std::string joined;
    for (int i = 0; i < 5; ++i) {
      const auto& m = msgs[static_cast<std::size_t>(i)];
      CHECK(m.getQueueId() == r.getMessageQueue().getQueueId());
      CHECK(m.getQueueOffset() == r.getQueueOffset() + i);
      CHECK(m.getBody() == "m" + std::to_string(i));
      joined += (i ? "," : "") + m.getMsgId();
    }
    CHECK(r.getMsgId() == joined);
    std::set<std::string> ids;
    for (const auto& m : msgs)
      ids.insert(m.getMsgId());
    CHECK(ids.size() == 5);
  }

  TEST_CASE("a bad batch is refused whole: mixed topics, a delay, or too large" * doctest::timeout(10)) {
    Fixture f;
    CHECK(mentions(errorOf([&] { f.producer.send(std::vector<ackmq::Message>{}); }), "at least one"));
    std::vector<ackmq::Message> mixed{ackmq::Message("A", "", "1"), ackmq::Message("B", "", "2")};
    CHECK(mentions(errorOf([&] { f.producer.send(mixed); }), "one topic"));
    std::vector<ackmq::Message> delayed{ackmq::Message("A", "", "1"), ackmq::Message("A", "", "2")};
    delayed[1].setDelayTimeLevel(2);
    CHECK(mentions(errorOf([&] { f.producer.send(delayed); }), "must not carry a delay"));
    f.producer.setMaxMessageSize(10);
    std::vector<ackmq::Message> big{ackmq::Message("A", "", "123456"), ackmq::Message("A", "", "123456")};
    CHECK(mentions(errorOf([&] { f.producer.send(big); }), "maxMessageSize is 10"));
    CHECK(f.stored("A") == 0);
    CHECK(f.stored("B") == 0);
  }

  TEST_CASE("bad input is refused with MESSAGE_ILLEGAL naming the field and the rule, and nothing is stored" *
            doctest::timeout(10)) {
    Fixture f;
    auto refused = [&](ackmq::Message m, std::string_view rule) {
      try {
        f.producer.send(m);
        FAIL("accepted: " << rule);
      } catch (const ackmq::MQClientException& e) {
        CHECK(e.getResponseCode() == ackmq::ResponseCode::MESSAGE_ILLEGAL);
        CHECK_MESSAGE(mentions(e.what(), rule), e.what());
      }
    };
    refused(ackmq::Message("", "", "x"), "topic must not be empty");
    refused(ackmq::Message(std::string(128, 't'), "", "x"), "the limit is 127");
    refused(ackmq::Message("a/b", "", "x"), "contains the character '/'");
    refused(ackmq::Message("SCHEDULE_TOPIC_XXXX", "", "x"), "system topic");
    refused(ackmq::Message("%RETRY%g", "", "x"), "system topic");
    refused(ackmq::Message("%DLQ%g", "", "x"), "system topic");
    refused(ackmq::Message("T", "", ""), "body must not be empty");
    refused(ackmq::Message("T", "", std::string(4 * 1024 * 1024 + 1, 'b')), "maxMessageSize is 4194304");
    ackmq::Message level19("T", "", "x");
    level19.setDelayTimeLevel(19);
    refused(level19, "delayTimeLevel 19 is out of range 1..18");
    ackmq::Message levelNeg("T", "", "x");
    levelNeg.setDelayTimeLevel(-1);
    refused(levelNeg, "out of range");
    ackmq::Message tooLate("T", "", "x");
    tooLate.setDelayTimeMs(73LL * 3600 * 1000);
    refused(tooLate, "timerMaxDelay");
    ackmq::Message negative("T", "", "x");
    negative.setDelayTimeMs(-5);
    refused(negative, "must not be negative");
    ackmq::Message hugeProps("T", "", "x");
    hugeProps.putUserProperty("big", std::string(40'000, 'p'));
    refused(hugeProps, "the limit is 32767");
    CHECK(ackmq::testing::storeStats(f.broker).storedMessages == 0);
  }

  TEST_CASE(
      "the topic a producer last sent to is remembered without letting bad input through or hiding growth" *
      doctest::timeout(10)) {
    Fixture f;
    REQUIRE(f.producer.send(ackmq::Message("T", "", "x")).getSendStatus() == ackmq::SendStatus::SEND_OK);
    auto code = [&](ackmq::Message m) {
      try {
        f.producer.send(m);
        return ackmq::ResponseCode::SUCCESS;
      } catch (const ackmq::MQClientException& e) {
        return e.getResponseCode();
      }
    };
    // Right after a send to T: T's messages are still checked, and other topics get the full name check.
    CHECK(code(ackmq::Message("T", "", "")) == ackmq::ResponseCode::MESSAGE_ILLEGAL);
    CHECK(code(ackmq::Message("%RETRY%g", "", "x")) == ackmq::ResponseCode::MESSAGE_ILLEGAL);
    CHECK(code(ackmq::Message("a/b", "", "x")) == ackmq::ResponseCode::MESSAGE_ILLEGAL);
    CHECK(code(ackmq::Message("U", "", "x")) == ackmq::ResponseCode::SUCCESS);
    CHECK(code(ackmq::Message("T", "", "y")) == ackmq::ResponseCode::SUCCESS);
    CHECK(f.stored("T") == 2);
    CHECK(f.stored("U") == 1);
    // A topic that grows is seen growing by the next send.
    f.broker.createTopic("T", 8);
    std::vector<int> perQueue(8);
    for (int i = 0; i < 800; ++i)
      ++perQueue[static_cast<std::size_t>(
          f.producer.send(ackmq::Message("T", "", "x")).getMessageQueue().getQueueId())];
    CHECK(perQueue == std::vector<int>(8, 100));
  }

  TEST_CASE("sending before start or after shutdown is a clear error, and start and shutdown are idempotent" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    try {
      producer.send(ackmq::Message("T", "", "x"));
      FAIL("no exception");
    } catch (const ackmq::MQClientException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::CLIENT_STATE_ILLEGAL);
      CHECK(mentions(e.what(), "call start()"));
    }
    producer.start();
    producer.start();
    producer.send(ackmq::Message("T", "", "x"));
    producer.shutdown();
    producer.shutdown();
    CHECK(mentions(errorOf([&] { producer.send(ackmq::Message("T", "", "x")); }), "shut down"));
    CHECK(mentions(errorOf([&] { producer.sendOneway(ackmq::Message("T", "", "x")); }), "shut down"));
    CHECK(mentions(errorOf([&] { producer.send(ackmq::Message("T", "", "x"), ackmq::SendCallback{}); }),
                   "shut down"));
    CHECK_THROWS_AS(producer.start(), ackmq::MQClientException);
    CHECK(ackmq::testing::topicMessages(broker, "T").size() == 1);
  }

  TEST_CASE("producer settings are checked" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    CHECK_THROWS_AS(ManualProducer(broker, ""), ackmq::MQClientException);
    CHECK_THROWS_AS(ManualProducer(broker, "bad group"), ackmq::MQClientException);
    ManualProducer producer(broker, "p");
    CHECK(producer.getSendMsgTimeout() == 3000);
    CHECK(producer.getRetryTimesWhenSendFailed() == 2);
    CHECK(producer.getRetryTimesWhenSendAsyncFailed() == 2);
    CHECK_FALSE(producer.isRetryAnotherBrokerWhenNotStoreOK());
    CHECK(producer.getMaxMessageSize() == 4 * 1024 * 1024);
    CHECK(mentions(errorOf([&] { producer.setSendMsgTimeout(0); }), "setSendMsgTimeout"));
    CHECK(
        mentions(errorOf([&] { producer.setRetryTimesWhenSendFailed(-1); }), "setRetryTimesWhenSendFailed"));
    CHECK(mentions(errorOf([&] { producer.setMaxMessageSize(0); }), "setMaxMessageSize"));
  }

  TEST_CASE("a user-defined body type is sent and stored without serialisation" * doctest::timeout(10)) {
    struct Order {
      int id;
      std::vector<std::string> items;
    };
    ackmq::ManualClock clock;
    ackmq::BasicBroker<Order, ackmq::ManualClock> broker(clock);
    ackmq::BasicProducer<decltype(broker)> producer(broker, "p");
    producer.start();
    const auto r = producer.send(ackmq::BasicMessage<Order>("Orders", "new", Order{42, {"tea", "cake"}}));
    const auto v = broker.viewMessage(r.getMsgId());
    REQUIRE(v.has_value());
    CHECK(v->getBody().id == 42);
    CHECK(v->getBody().items == std::vector<std::string>{"tea", "cake"});
  }
}
