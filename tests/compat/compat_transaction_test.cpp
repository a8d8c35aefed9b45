// TransactionMQProducer through the rocketmq-client-cpp compatible headers: commit, rollback, the
// check-back of an UNKNOWN half on a ManualClock broker, and the client's rules for a missing listener, bad
// input and a local transaction that throws.
#include "TransactionMQProducer.h"

#include "DefaultMQPushConsumer.h"
#include "MQClientException.h"
#include "MQMessage.h"
#include "MQMessageListener.h"
#include "TransactionListener.h"
#include "TransactionSendResult.h"

#include <doctest/doctest.h>

#include <ackmq/testing.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "compat_support.hpp"

using compat_test::BoundBroker;
using compat_test::Recorder;
using compat_test::thrownMessage;
using compat_test::thrownType;
using rocketmq::LocalTransactionState;
using rocketmq::MQMessage;
using rocketmq::MQMessageExt;
using rocketmq::TransactionMQProducer;
using rocketmq::TransactionSendResult;
using namespace std::chrono_literals;

namespace {

// Answers as its functions say, and records what it was given. Counts its deletion in `*deleted`.
struct Script : rocketmq::TransactionListener {
  explicit Script(int* deletedCounter = nullptr) : deleted(deletedCounter) {}
  ~Script() override {
    if (deleted != nullptr) ++*deleted;
  }
  LocalTransactionState executeLocalTransaction(const MQMessage& msg, void* arg) override {
    std::lock_guard lock(mutex);
    executed.push_back(msg);
    args.push_back(arg);
    return execute(msg);
  }
  LocalTransactionState checkLocalTransaction(const MQMessageExt& msg) override {
    std::function<LocalTransactionState(const MQMessageExt&)> f;
    {
      std::lock_guard lock(mutex);
      checked.push_back(msg);
      f = check;
    }
    return f(msg);
  }
  std::vector<MQMessageExt> checkedMessages() {
    std::lock_guard lock(mutex);
    return checked;
  }

  std::mutex mutex;  // guards everything below
  std::function<LocalTransactionState(const MQMessage&)> execute = [](const MQMessage&) {
    return rocketmq::COMMIT_MESSAGE;
  };
  std::function<LocalTransactionState(const MQMessageExt&)> check = [](const MQMessageExt&) {
    return rocketmq::UNKNOWN;
  };
  std::vector<MQMessage> executed;
  std::vector<void*> args;
  std::vector<MQMessageExt> checked;
  int* deleted;
};

struct Consumed : rocketmq::MessageListenerConcurrently {
  rocketmq::ConsumeStatus consumeMessage(const std::vector<MQMessageExt>& msgs) override {
    recorder.add(msgs);
    return rocketmq::CONSUME_SUCCESS;
  }
  Recorder recorder;
};

// A ManualClock broker, a push consumer of "Orders", and a started transactional producer of group "tx"
// whose listener is `script`.
struct World {
  World() : consumer("compat-consumers"), producer("tx"), script(new Script) {
    consumer.setNamesrvAddr(broker.address);
    consumer.subscribe("Orders", "*");
    consumer.registerMessageListener(&consumed);
    consumer.start();
    producer.setNamesrvAddr(broker.address);
    producer.setTransactionListener(script);
    producer.start();
  }
  TransactionSendResult send(const std::string& body, void* arg = nullptr) {
    MQMessage msg("Orders", "created", body);
    return producer.sendMessageInTransaction(msg, arg);
  }
  // One scan of the broker's check service (every 30 s), its checks answered and what they committed
  // consumed.
  bool scan() {
    broker.clock.advance(30s);
    return ackmq::compat::awaitIdle(producer) && ackmq::compat::awaitIdle(consumer);
  }
  std::size_t pending() { return ackmq::testing::pendingTransactions(broker.broker, "tx").size(); }

  BoundBroker broker;
  Consumed consumed;
  rocketmq::DefaultMQPushConsumer consumer;
  TransactionMQProducer producer;
  Script* script;  // the producer's
};

}  // namespace

TEST_SUITE("compat transaction") {
  TEST_CASE("a committed message reaches the push consumer once, with the half's msgId" *
            doctest::timeout(30)) {
    World w;
    int arg = 7;
    MQMessage msg("Orders", "created", "order 1");
    TransactionSendResult r = w.producer.sendMessageInTransaction(msg, &arg);
    CHECK(r.getSendStatus() == rocketmq::SEND_OK);
    CHECK(r.getLocalTransactionState() == rocketmq::COMMIT_MESSAGE);
    CHECK(r.getTransactionId() == r.getMsgId());
    REQUIRE(w.script->executed.size() == 1);
    CHECK(w.script->args.front() == &arg);
    const MQMessage& local = w.script->executed.front();
    CHECK(local.getProperty(MQMessage::PROPERTY_TRANSACTION_PREPARED) == "true");
    CHECK(local.getProperty(MQMessage::PROPERTY_PRODUCER_GROUP) == "tx");
    CHECK(local.getProperty(MQMessage::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX) == r.getMsgId());
    CHECK(local.getTransactionId() == r.getMsgId());
    CHECK(msg.getProperty(MQMessage::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX) == r.getMsgId());

    REQUIRE(w.consumed.recorder.waitFor(1));
    REQUIRE(ackmq::compat::awaitIdle(w.consumer));
    const std::vector<MQMessageExt> got = w.consumed.recorder.messages();
    REQUIRE(got.size() == 1);
    CHECK(got.front().getMsgId() == r.getMsgId());
    CHECK(got.front().getBody() == "order 1");
    CHECK(got.front().getTags() == "created");
    CHECK(w.pending() == 0);
  }

  TEST_CASE("a rolled-back message is never delivered" * doctest::timeout(30)) {
    World w;
    w.script->execute = [](const MQMessage& m) {
      return m.getBody() == "keep" ? rocketmq::COMMIT_MESSAGE : rocketmq::ROLLBACK_MESSAGE;
    };
    CHECK(TransactionSendResult(w.send("drop")).getLocalTransactionState() == rocketmq::ROLLBACK_MESSAGE);
    w.send("keep");
    REQUIRE(w.consumed.recorder.waitFor(1));
    REQUIRE(w.scan());  // a scan finds nothing left to check
    const std::vector<MQMessageExt> got = w.consumed.recorder.messages();
    REQUIRE(got.size() == 1);
    CHECK(got.front().getBody() == "keep");
    CHECK(w.script->checkedMessages().empty());
    CHECK(w.pending() == 0);
    CHECK(ackmq::testing::transactionStats(w.broker.broker).rolledBack == 1);
  }

  TEST_CASE("UNKNOWN leaves the half unseen until the check-back commits it" * doctest::timeout(30)) {
    World w;
    w.script->execute = [](const MQMessage&) { return rocketmq::UNKNOWN; };
    w.script->check = [](const MQMessageExt&) { return rocketmq::COMMIT_MESSAGE; };
    TransactionSendResult r = w.send("later");
    CHECK(r.getLocalTransactionState() == rocketmq::UNKNOWN);
    REQUIRE(ackmq::compat::awaitIdle(w.consumer));
    CHECK(w.consumed.recorder.size() == 0);
    CHECK(w.pending() == 1);

    w.broker.clock.advance(30s - 1ms);  // the first scan is due at 30 s
    REQUIRE(ackmq::compat::awaitIdle(w.producer));
    CHECK(w.script->checkedMessages().empty());

    REQUIRE(w.scan());
    const std::vector<MQMessageExt> checked = w.script->checkedMessages();
    REQUIRE(checked.size() == 1);
    CHECK(checked.front().getMsgId() == r.getMsgId());
    CHECK(checked.front().getTransactionId() == r.getMsgId());
    CHECK(checked.front().getTopic() == "Orders");
    CHECK(checked.front().getBody() == "later");
    REQUIRE(w.consumed.recorder.waitFor(1));
    CHECK(w.consumed.recorder.messages().front().getMsgId() == r.getMsgId());
    CHECK(w.pending() == 0);
  }

  TEST_CASE("a check that answers ROLLBACK_MESSAGE drops the half, and UNKNOWN asks again" *
            doctest::timeout(30)) {
    World w;
    w.script->execute = [](const MQMessage&) { return rocketmq::UNKNOWN; };
    w.send("undecided");
    REQUIRE(w.scan());
    CHECK(w.script->checkedMessages().size() == 1);
    CHECK(w.pending() == 1);
    w.script->check = [](const MQMessageExt&) { return rocketmq::ROLLBACK_MESSAGE; };
    REQUIRE(w.scan());
    CHECK(w.script->checkedMessages().size() == 2);
    CHECK(w.pending() == 0);
    CHECK(w.consumed.recorder.size() == 0);
  }

  TEST_CASE("an exception from executeLocalTransaction reaches the caller, and the check-back decides" *
            doctest::timeout(30)) {
    World w;
    w.script->execute = [](const MQMessage& m) -> LocalTransactionState {
      if (m.getBody() == "std") throw std::runtime_error("db down");
      THROW_MQEXCEPTION(rocketmq::MQBrokerException, "db refused", 42);
    };
    w.script->check = [](const MQMessageExt&) { return rocketmq::COMMIT_MESSAGE; };
    CHECK_THROWS_WITH_AS(w.send("std"), "db down", std::runtime_error);
    int error = 0;
    CHECK(thrownType([&] {
            try {
              w.send("mq");
            } catch (const rocketmq::MQException& e) {
              error = e.GetError();
              throw;
            }
          }) == "MQClientException");
    CHECK(error == -1);
    CHECK(thrownMessage([&] { w.send("mq"); }).find("db refused") != std::string::npos);
    CHECK(w.pending() == 3);
    REQUIRE(ackmq::compat::awaitIdle(w.consumer));
    CHECK(w.consumed.recorder.size() == 0);

    REQUIRE(w.scan());
    REQUIRE(w.consumed.recorder.waitFor(3));
    CHECK(w.pending() == 0);
  }

  TEST_CASE("without a listener a send throws MQClientException (-1) and stores nothing") {
    BoundBroker broker;
    TransactionMQProducer producer("tx");
    producer.setNamesrvAddr(broker.address);
    producer.start();
    CHECK(producer.getTransactionListener() == nullptr);
    MQMessage msg("Orders", "created", "x");
    int error = 0;
    try {
      producer.sendMessageInTransaction(msg, nullptr);
    } catch (const rocketmq::MQClientException& e) {
      error = e.GetError();
      CHECK(std::string(e.what()).find("setTransactionListener") != std::string::npos);
    }
    CHECK(error == -1);
    CHECK(ackmq::testing::transactionStats(broker.broker).prepared == 0);
  }

  TEST_CASE("a message without a topic or body is refused with MQClientException (-1), running nothing") {
    World w;
    MQMessage noTopic("", "created", "x");
    MQMessage noBody("Orders", "created", "");
    for (MQMessage* msg : {&noTopic, &noBody}) {
      int error = 0;
      try {
        w.producer.sendMessageInTransaction(*msg, nullptr);
      } catch (const rocketmq::MQClientException& e) {
        error = e.GetError();
      }
      CHECK(error == -1);
    }
    CHECK(w.script->executed.empty());
    CHECK(ackmq::testing::transactionStats(w.broker.broker).prepared == 0);
  }

  TEST_CASE("a delay level is dropped: the committed message is delivered at once" * doctest::timeout(30)) {
    World w;
    MQMessage msg("Orders", "created", "delayed");
    msg.setDelayTimeLevel(3);
    TransactionSendResult r = w.producer.sendMessageInTransaction(msg, nullptr);
    CHECK(r.getLocalTransactionState() == rocketmq::COMMIT_MESSAGE);
    REQUIRE(w.consumed.recorder.waitFor(1));  // the clock never moves
    CHECK(w.consumed.recorder.messages().front().getMsgId() == r.getMsgId());
  }

  TEST_CASE("a producer not started, or shut down, throws MQClientException (-1)") {
    BoundBroker broker;
    TransactionMQProducer producer("tx");
    producer.setNamesrvAddr(broker.address);
    producer.setTransactionListener(new Script);
    MQMessage msg("Orders", "created", "x");
    const auto errorOf = [&] {
      try {
        producer.sendMessageInTransaction(msg, nullptr);
      } catch (const rocketmq::MQClientException& e) {
        return e.GetError();
      }
      return 0;
    };
    CHECK(errorOf() == -1);
    producer.start();
    producer.shutdown();
    CHECK(errorOf() == -1);
    CHECK(thrownMessage([&] { producer.start(); }).find("cannot start again") != std::string::npos);
    CHECK(!ackmq::compat::awaitIdle(producer));
  }

  TEST_CASE("shutdown() from checkLocalTransaction returns at once, and the destructor waits for it" *
            doctest::timeout(30)) {
    BoundBroker broker;
    auto* producer = new TransactionMQProducer("tx");
    auto* script = new Script;
    script->execute = [](const MQMessage&) { return rocketmq::UNKNOWN; };
    std::mutex mutex;
    std::condition_variable cv;
    bool returned = false;
    script->check = [&](const MQMessageExt&) {
      producer->shutdown();
      std::lock_guard lock(mutex);
      returned = true;
      cv.notify_all();
      return rocketmq::COMMIT_MESSAGE;
    };
    producer->setNamesrvAddr(broker.address);
    producer->setTransactionListener(script);
    producer->start();
    MQMessage msg("Orders", "created", "x");
    producer->sendMessageInTransaction(msg, nullptr);
    broker.clock.advance(30s);
    {
      std::unique_lock lock(mutex);
      CHECK(cv.wait_for(lock, 10s, [&] { return returned; }));
    }
    CHECK(!ackmq::compat::awaitIdle(*producer));  // shut down
    delete producer;
  }

  TEST_CASE("the listener is deleted with the producer, and a replaced one at once") {
    BoundBroker broker;
    int deleted = 0;
    {
      TransactionMQProducer producer("tx");
      producer.setNamesrvAddr(broker.address);
      producer.setTransactionListener(new Script(&deleted));
      producer.setTransactionListener(new Script(&deleted));
      CHECK(deleted == 1);
      CHECK(producer.getTransactionListener() != nullptr);
      producer.start();
    }
    CHECK(deleted == 2);
  }

  TEST_CASE("start() without a name server address throws MQClientException naming setNamesrvAddr") {
    TransactionMQProducer producer("tx");
    producer.setNamesrvAddr("");
    CHECK(thrownMessage([&] { producer.start(); }).find("setNamesrvAddr") != std::string::npos);
  }
}
