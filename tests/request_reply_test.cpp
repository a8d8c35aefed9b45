// Request-reply: producer.request() sends a request and waits for the reply a responder builds with
// MessageUtil::createReplyMessage; the broker hands the reply to the requester instead of storing it.
#include <ackmq/producer.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/message.hpp>
#include <ackmq/push_consumer.hpp>
#include <ackmq/simple_consumer.hpp>
#include <ackmq/status.hpp>
#include <ackmq/testing.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::Message;
using ackmq::MessageConst;
using ackmq::MessageUtil;
using ackmq::RequestCallback;
using ackmq::ResponseCode;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;
using ackmq::testing::ManualPushConsumer;
using ackmq::testing::ManualSimpleConsumer;
using ackmq::testing::pendingRequests;
using ackmq::testing::replyStats;
using ackmq::testing::topicMessages;
using ackmq_test::mentions;
using ackmq_test::SUCCESS;

namespace {

// A requester, and a responder that answers the requests of topic "Rpc" from a push consumer.
struct Rpc {
  ackmq::ManualClock clock;
  ManualBroker broker;
  ManualProducer requester{broker, "requester"};
  ManualProducer responder{broker, "responder"};
  ManualPushConsumer service{broker, "service"};
  explicit Rpc(ackmq::BrokerConfig config = {}) : broker(clock, std::move(config)) {
    broker.createTopic("Rpc", 4);
    requester.start();
    responder.start();
  }
  // Answers every request with answer(request).
  template <class Answer>
  void serve(Answer answer) {
    service.subscribe("Rpc", "*");
    service.setConsumeThreadMin(2);
    service.setConsumeThreadMax(4);
    service.registerMessageListener(ackmq::MessageListenerConcurrently{
        [this, answer](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
          for (const auto& m : msgs)
            responder.send(MessageUtil::createReplyMessage(m, answer(m)));
          return SUCCESS;
        }});
    service.start();
  }
  void echo() {
    serve([](const ackmq::MessageExt& m) { return "re:" + m.getBody(); });
  }
};

// A consumer the test drives itself, to hold a request and answer it when the test says.
struct Inbox {
  ManualSimpleConsumer c;
  explicit Inbox(ManualBroker& broker) : c(broker, "inbox") {
    c.subscribe("Rpc", "*");
    c.start();
  }
  std::vector<ackmq::MessageView> take() { return c.receive(32, 30s); }
};

// What ended an async request, as one string: "reply: <body>", "timeout: <what>", "client <code>: <what>".
struct Outcome {
  std::mutex mu;  // guards text and calls
  std::string text;
  int calls = 0;
  std::thread::id thread;
  std::latch done{1};
  RequestCallback callback() {
    return RequestCallback{[this](const Message& reply) { record("reply: " + reply.getBody()); },
                           [this](std::exception_ptr e) { record(describe(e)); }};
  }
  static std::string describe(std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const ackmq::RequestTimeoutException& x) {
      return std::string("timeout: ") + x.what();
    } catch (const ackmq::MQClientException& x) {
      return "client " + std::string(ackmq::nameOf(x.getResponseCode())) + ": " + x.what();
    } catch (...) {
      return "other";
    }
  }
  void record(std::string t) {
    {
      std::lock_guard lock(mu);
      text = std::move(t);
      thread = std::this_thread::get_id();
      if (++calls > 1) return;
    }
    done.count_down();
  }
  std::string wait() {
    done.wait();
    std::lock_guard lock(mu);
    return text;
  }
  int count() {
    std::lock_guard lock(mu);
    return calls;
  }
};

// What a sync request on another thread ended with.
template <class F>
std::string outcomeOf(F&& f) {
  try {
    return "reply: " + f().getBody();
  } catch (...) {
    return Outcome::describe(std::current_exception());
  }
}

// Waits (yielding, never sleeping) until `producer` has `n` requests pending.
void awaitPending(const ManualProducer& producer, std::size_t n) {
  while (pendingRequests(producer) != n)
    std::this_thread::yield();
}

}  // namespace

TEST_SUITE("request_reply") {
  TEST_CASE("a sync request returns the reply its responder sends back" * doctest::timeout(30)) {
    Rpc rpc;
    rpc.echo();
    const Message reply = rpc.requester.request(Message("Rpc", "ping"), 3s);
    CHECK(reply.getBody() == "re:ping");
    CHECK(reply.getTopic() == "DefaultCluster_REPLY_TOPIC");
    CHECK(reply.getProperty(MessageConst::PROPERTY_MESSAGE_TYPE) == "reply");
    CHECK(replyStats(rpc.broker).delivered == 1);
    CHECK(pendingRequests(rpc.requester) == 0);
  }

  TEST_CASE("a reply is handed to the requester and never stored for consumers" * doctest::timeout(30)) {
    Rpc rpc;
    rpc.echo();
    for (int i = 0; i < 5; ++i)
      CHECK(rpc.requester.request(Message("Rpc", std::to_string(i)), 3s).getBody() ==
            "re:" + std::to_string(i));
    CHECK(topicMessages(rpc.broker, "DefaultCluster_REPLY_TOPIC").empty());
    CHECK(topicMessages(rpc.broker, "Rpc").size() == 5);
    CHECK(replyStats(rpc.broker).delivered == 5);
  }

  TEST_CASE("the request carries CORRELATION_ID, REPLY_TO_CLIENT, TTL and the broker's CLUSTER" *
            doctest::timeout(30)) {
    Rpc rpc(ackmq::BrokerConfig{.brokerClusterName = "Blue"});
    Inbox inbox(rpc.broker);
    Outcome out;
    rpc.requester.request(Message("Rpc", "q"), out.callback(), 2500ms);
    const auto got = inbox.take();
    REQUIRE(got.size() == 1);
    const auto& req = got[0];
    CHECK(req.getProperty(MessageConst::PROPERTY_CORRELATION_ID).size() == 32);
    CHECK(mentions(req.getProperty(MessageConst::PROPERTY_MESSAGE_REPLY_TO_CLIENT), "producer-"));
    CHECK(req.getProperty(MessageConst::PROPERTY_MESSAGE_TTL) == "2500");
    CHECK(req.getProperty(MessageConst::PROPERTY_CLUSTER) == "Blue");

    const Message reply = MessageUtil::createReplyMessage(req, std::string("a"));
    CHECK(reply.getTopic() == "Blue_REPLY_TOPIC");
    CHECK(reply.getProperty(MessageConst::PROPERTY_MESSAGE_TYPE) == "reply");
    for (auto name : {MessageConst::PROPERTY_CORRELATION_ID, MessageConst::PROPERTY_MESSAGE_REPLY_TO_CLIENT,
                      MessageConst::PROPERTY_MESSAGE_TTL}) {
      CHECK(reply.getProperty(name) == req.getProperty(name));
    }
    CHECK(rpc.responder.send(reply).getSendStatus() == ackmq::SendStatus::SEND_OK);
    CHECK(out.wait() == "reply: a");
  }

  TEST_CASE("an async request reports its reply once, on the callback thread, never inside the call" *
            doctest::timeout(30)) {
    Rpc rpc;
    Inbox inbox(rpc.broker);
    Outcome out;
    rpc.requester.request(Message("Rpc", "q"), out.callback(), 3s);
    CHECK(out.count() == 0);  // nothing answered yet, and nothing ran inline
    const auto got = inbox.take();
    REQUIRE(got.size() == 1);
    rpc.responder.send(MessageUtil::createReplyMessage(got[0], std::string("answer")));
    CHECK(out.wait() == "reply: answer");
    CHECK(out.thread != std::this_thread::get_id());
    rpc.clock.advance(10s);  // its timeout passes: nothing more is reported
    rpc.requester.shutdown();
    CHECK(out.count() == 1);
  }

  TEST_CASE("a callback may send the next request: it runs under no library lock" * doctest::timeout(30)) {
    Rpc rpc;
    rpc.echo();
    std::latch done{1};
    std::vector<std::string> replies;  // written by the callback thread only, read after done
    std::function<void(int)> ask = [&](int i) {
      rpc.requester.request(Message("Rpc", std::to_string(i)),
                            RequestCallback{[&, i](const Message& r) {
                                              replies.push_back(r.getBody());
                                              if (i < 3) {
                                                ask(i + 1);
                                              } else {
                                                done.count_down();
                                              }
                                            },
                                            [&](std::exception_ptr) { done.count_down(); }},
                            3s);
    };
    ask(1);
    done.wait();
    CHECK(replies == std::vector<std::string>{"re:1", "re:2", "re:3"});
  }

  TEST_CASE("a sync request with no reply throws RequestTimeoutException once the clock passes its timeout" *
            doctest::timeout(30)) {
    Rpc rpc;
    std::string outcome;
    std::thread t(
        [&] { outcome = outcomeOf([&] { return rpc.requester.request(Message("Rpc", "q"), 3s); }); });
    awaitPending(rpc.requester, 1);
    rpc.clock.advance(2999ms);
    CHECK(pendingRequests(rpc.requester) == 1);
    rpc.clock.advance(1ms);  // from this thread: the waiting one wakes
    t.join();
    CHECK(outcome == "timeout: send request message to Rpc OK, but wait reply message timeout, 3000 ms.");
    CHECK(pendingRequests(rpc.requester) == 0);
  }

  TEST_CASE("an async request with no reply reports RequestTimeoutException through onException" *
            doctest::timeout(30)) {
    Rpc rpc;
    Outcome out;
    rpc.requester.request(Message("Rpc", "q"), out.callback(), 1s);
    rpc.clock.advance(999ms);
    CHECK(out.count() == 0);
    rpc.clock.advance(1ms);
    CHECK(out.wait() == "timeout: request timeout, no reply message.");
    CHECK(pendingRequests(rpc.requester) == 0);  // swept by its timer
  }

  TEST_CASE("a late reply is dropped and counted, and the requester sees only its timeout" *
            doctest::timeout(30)) {
    Rpc rpc;
    Inbox inbox(rpc.broker);
    Outcome out;
    rpc.requester.request(Message("Rpc", "q"), out.callback(), 1s);
    const auto got = inbox.take();
    REQUIRE(got.size() == 1);
    rpc.clock.advance(1s);
    CHECK(mentions(out.wait(), "timeout: "));
    CHECK(rpc.responder.send(MessageUtil::createReplyMessage(got[0], std::string("late"))).getSendStatus() ==
          ackmq::SendStatus::SEND_OK);
    CHECK(replyStats(rpc.broker).late == 1);
    CHECK(replyStats(rpc.broker).delivered == 0);
    CHECK(topicMessages(rpc.broker, "DefaultCluster_REPLY_TOPIC").empty());
    rpc.requester.shutdown();
    CHECK(out.count() == 1);
  }

  TEST_CASE("a reply to a requester that shut down is dropped and counted" * doctest::timeout(30)) {
    Rpc rpc;
    Inbox inbox(rpc.broker);
    Outcome out;
    rpc.requester.request(Message("Rpc", "q"), out.callback(), 3s);
    const auto got = inbox.take();
    REQUIRE(got.size() == 1);
    rpc.requester.shutdown();
    CHECK(out.wait() ==
          "client CLIENT_STATE_ILLEGAL: request to topic \"Rpc\" got no reply: producer requester "
          "was shut down");
    rpc.responder.send(MessageUtil::createReplyMessage(got[0], std::string("nobody listens")));
    CHECK(replyStats(rpc.broker).noRequester == 1);
    CHECK(replyStats(rpc.broker).delivered == 0);
    CHECK(topicMessages(rpc.broker, "DefaultCluster_REPLY_TOPIC").empty());
  }

  TEST_CASE("shutdown with requests pending fails each of them, sync and async, and none hangs" *
            doctest::timeout(30)) {
    Rpc rpc;
    std::array<std::string, 3> sync;
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < sync.size(); ++i) {
      threads.emplace_back(
          [&, i] { sync[i] = outcomeOf([&] { return rpc.requester.request(Message("Rpc", "s"), 3s); }); });
    }
    std::array<Outcome, 5> async;
    for (auto& o : async)
      rpc.requester.request(Message("Rpc", "a"), o.callback(), 3s);
    awaitPending(rpc.requester, sync.size() + async.size());
    rpc.requester.shutdown();
    for (auto& t : threads)
      t.join();
    for (const auto& s : sync)
      CHECK(mentions(s, "client CLIENT_STATE_ILLEGAL: request to topic \"Rpc\" got no reply"));
    for (auto& o : async) {
      CHECK(mentions(o.wait(), "client CLIENT_STATE_ILLEGAL: request to topic \"Rpc\" got no reply"));
      CHECK(o.count() == 1);
    }
    CHECK(pendingRequests(rpc.requester) == 0);
    CHECK(mentions(ackmq_test::errorOf([&] { rpc.requester.request(Message("Rpc", "x"), 3s); }),
                   "is shut down"));
  }

  TEST_CASE("a broker that shuts down fails the requests waiting on it" * doctest::timeout(30)) {
    Rpc rpc;
    std::string sync;
    std::thread t([&] { sync = outcomeOf([&] { return rpc.requester.request(Message("Rpc", "s"), 3s); }); });
    Outcome async;
    rpc.requester.request(Message("Rpc", "a"), async.callback(), 3s);
    awaitPending(rpc.requester, 2);
    rpc.broker.shutdown();
    t.join();
    CHECK(sync ==
          "client SERVICE_NOT_AVAILABLE: request to topic \"Rpc\" got no reply: the broker shut down");
    CHECK(async.wait() ==
          "client SERVICE_NOT_AVAILABLE: request to topic \"Rpc\" got no reply: the broker shut down");
    // And a request after that is refused at once, sync or async.
    CHECK(outcomeOf([&] { return rpc.requester.request(Message("Rpc", "x"), 3s); }) ==
          "client SERVICE_NOT_AVAILABLE: request to topic \"Rpc\": the broker is shut down");
    Outcome refused;
    CHECK(mentions(
        ackmq_test::errorOf([&] { rpc.requester.request(Message("Rpc", "x"), refused.callback(), 3s); }),
        "the broker is shut down"));
    rpc.requester.shutdown();
    CHECK(refused.count() == 0);
  }

  TEST_CASE("10k concurrent requests from 4 threads are each answered once, by their own reply" *
            doctest::timeout(120)) {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 2500;
    Rpc rpc;
    rpc.echo();
    std::vector<std::atomic<int>> answered(kThreads * kPerThread);
    std::atomic<int> wrong{0};
    std::atomic<int> failed{0};
    std::latch all{kThreads * kPerThread};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const int n = t * kPerThread + i;
          const std::string body = std::to_string(n);
          rpc.requester.request(Message("Rpc", body),
                                RequestCallback{[&, n, body](const Message& r) {
                                                  if (r.getBody() != "re:" + body) ++wrong;
                                                  if (answered[static_cast<std::size_t>(n)]++ == 0)
                                                    all.count_down();
                                                },
                                                [&](std::exception_ptr) {
                                                  ++failed;
                                                  all.count_down();
                                                }},
                                10s);
        }
      });
    }
    for (auto& th : threads)
      th.join();
    all.wait();
    rpc.requester.shutdown();  // every callback owed has run when this returns
    CHECK(wrong.load() == 0);
    CHECK(failed.load() == 0);
    int once = 0;
    for (auto& a : answered)
      once += a.load() == 1 ? 1 : 0;
    CHECK(once == kThreads * kPerThread);
    CHECK(replyStats(rpc.broker).delivered == static_cast<std::uint64_t>(kThreads * kPerThread));
    CHECK(replyStats(rpc.broker).late == 0);
  }

  TEST_CASE("sync requests from several threads each get their own reply" * doctest::timeout(60)) {
    Rpc rpc;
    rpc.echo();
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 200; ++i) {
          const std::string body = std::to_string(t) + "/" + std::to_string(i);
          if (rpc.requester.request(Message("Rpc", body), 10s).getBody() != "re:" + body) ++wrong;
        }
      });
    }
    for (auto& th : threads)
      th.join();
    CHECK(wrong.load() == 0);
    CHECK(replyStats(rpc.broker).delivered == 800);
  }

  TEST_CASE("the queue and selector overloads send the request to the queue they name" *
            doctest::timeout(30)) {
    Rpc rpc;
    rpc.serve([](const ackmq::MessageExt& m) { return std::to_string(m.getQueueId()); });
    CHECK(
        rpc.requester.request(Message("Rpc", "q"), ackmq::MessageQueue("Rpc", "broker-a", 2), 3s).getBody() ==
        "2");
    const auto pickThree = [](const std::vector<ackmq::MessageQueue>& mqs, const Message&, const int& arg) {
      return mqs[static_cast<std::size_t>(arg)];
    };
    CHECK(rpc.requester.request(Message("Rpc", "q"), pickThree, 3, 3s).getBody() == "3");
    Outcome a, b;
    rpc.requester.request(Message("Rpc", "q"), ackmq::MessageQueue("Rpc", "broker-a", 1), a.callback(), 3s);
    rpc.requester.request(Message("Rpc", "q"), pickThree, 0, b.callback(), 3s);
    CHECK(a.wait() == "reply: 1");
    CHECK(b.wait() == "reply: 0");
    CHECK(mentions(ackmq_test::errorOf([&] {
                     rpc.requester.request(Message("Rpc", "q"), ackmq::MessageQueue("Rpc", "broker-a", 9),
                                           3s);
                   }),
                   "queueId 9 is out of range"));
  }

  TEST_CASE("a request timeout that is not positive is refused, naming the field, and nothing is sent" *
            doctest::timeout(30)) {
    Rpc rpc;
    Outcome out;
    for (auto bad : {0ms, -5ms}) {
      const std::string sync = ackmq_test::errorOf([&] { rpc.requester.request(Message("Rpc", "q"), bad); });
      CHECK(sync == "request timeout: " + std::to_string(bad.count()) + " ms must be positive");
      try {
        rpc.requester.request(Message("Rpc", "q"), out.callback(), bad);
        FAIL("an async request with a bad timeout was accepted");
      } catch (const ackmq::MQClientException& e) {
        CHECK(e.getResponseCode() == ResponseCode::MESSAGE_ILLEGAL);
        CHECK(mentions(e.what(), "request timeout"));
      }
    }
    CHECK(topicMessages(rpc.broker, "Rpc").empty());
    CHECK(pendingRequests(rpc.requester) == 0);
    rpc.requester.shutdown();
    CHECK(out.count() == 0);
  }

  TEST_CASE("bad requests are refused at once: a bad message, a producer not started" *
            doctest::timeout(30)) {
    Rpc rpc;
    CHECK(mentions(ackmq_test::errorOf([&] { rpc.requester.request(Message("bad topic", "q"), 1s); }),
                   "contains the character ' '"));
    ManualProducer idle(rpc.broker, "idle");
    CHECK(mentions(ackmq_test::errorOf([&] { idle.request(Message("Rpc", "q"), 1s); }), "is not started"));
    CHECK(pendingRequests(rpc.requester) == 0);
  }

  TEST_CASE("createReplyMessage refuses a message that did not come from a request" * doctest::timeout(30)) {
    try {
      (void)MessageUtil::createReplyMessage(ackmq::MessageExt("Rpc", "plain"), std::string("x"));
      FAIL("a reply was built for a plain message");
    } catch (const ackmq::MQClientException& e) {
      CHECK(e.getResponseCode() == ResponseCode::CREATE_REPLY_MESSAGE_EXCEPTION);
      CHECK(mentions(e.what(), "CLUSTER"));
    }
  }

  TEST_CASE("with the system clock, a request to a topic nobody answers times out" * doctest::timeout(30)) {
    ackmq::Broker broker;
    ackmq::Producer requester(broker, "requester");
    requester.start();
    const std::string outcome =
        outcomeOf([&] { return requester.request(Message("Nobody", "anyone there?"), 50ms); });
    CHECK(outcome == "timeout: send request message to Nobody OK, but wait reply message timeout, 50 ms.");
  }

  TEST_CASE("with the system clock, a request and its reply make a round trip" * doctest::timeout(30)) {
    ackmq::Broker broker;
    ackmq::Producer requester(broker, "requester");
    ackmq::Producer responder(broker, "responder");
    ackmq::PushConsumer service(broker, "service");
    requester.start();
    responder.start();
    service.subscribe("Rpc", "*");
    service.registerMessageListener(ackmq::MessageListenerConcurrently{
        [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
          for (const auto& m : msgs)
            responder.send(MessageUtil::createReplyMessage(m, m.getBody() + "!"));
          return SUCCESS;
        }});
    service.start();
    CHECK(requester.request(Message("Rpc", "hi"), 10s).getBody() == "hi!");
  }
}
