// Transactional messages: half messages, commit and rollback, the check-back, and what consumers see.
#include <ackmq/transaction_producer.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.hpp"

using namespace std::chrono_literals;
using ackmq::LocalTransactionState;
using ackmq::Message;
using ackmq::MessageConst;
using ackmq::MessageExt;
using ackmq::MixAll;
using ackmq::testing::ManualTransactionMQProducer;
using ackmq_test::errorOf;
using ackmq_test::mentions;
using ackmq_test::Recorder;

namespace {

constexpr auto COMMIT = LocalTransactionState::COMMIT_MESSAGE;
constexpr auto ROLLBACK = LocalTransactionState::ROLLBACK_MESSAGE;
constexpr auto UNKNOW = LocalTransactionState::UNKNOW;

// What a transactional producer's listener does, settable per test, and what it was asked. Thread-safe.
struct Script {
  std::mutex mu;  // guards everything below
  std::function<LocalTransactionState(const Message&)> execute = [](const Message&) { return COMMIT; };
  std::function<LocalTransactionState(const MessageExt&)> check = [](const MessageExt&) { return UNKNOW; };
  std::vector<std::string> executed;  // bodies
  std::vector<MessageExt> checked;

  LocalTransactionState onExecute(const Message& m) {
    std::function<LocalTransactionState(const Message&)> f;
    {
      std::lock_guard l(mu);
      executed.push_back(m.getBody());
      f = execute;
    }
    return f(m);
  }
  LocalTransactionState onCheck(const MessageExt& m) {
    std::function<LocalTransactionState(const MessageExt&)> f;
    {
      std::lock_guard l(mu);
      checked.push_back(m);
      f = check;
    }
    return f(m);
  }
  std::size_t checks() {
    std::lock_guard l(mu);
    return checked.size();
  }
  std::vector<MessageExt> checkedMessages() {
    std::lock_guard l(mu);
    return checked;
  }
};

void listenWith(ManualTransactionMQProducer& p, Script& s) {
  p.setTransactionListener([&s](const Message& m, void*) { return s.onExecute(m); },
                           [&s](const MessageExt& m) { return s.onCheck(m); });
}

// A ManualClock broker with one started transactional producer of group "tx" and one push consumer of T.
struct TxWorld {
  ackmq::ManualClock clock;
  ackmq::testing::ManualBroker broker;
  Script script;
  ManualTransactionMQProducer producer{broker, "tx"};
  Recorder rec;
  ackmq::testing::ManualPushConsumer consumer{broker, "g"};

  explicit TxWorld(ackmq::BrokerConfig config = {}) : broker(clock, std::move(config)) {
    broker.createTopic("T", 2);
    listenWith(producer, script);
    producer.start();
    consumer.subscribe("T", "*");
    ackmq_test::listen(consumer, clock, rec, [](auto&, auto&) { return ackmq_test::SUCCESS; });
    consumer.start();
  }
  ackmq::TransactionSendResult send(const std::string& body, const std::string& tags = "TagA") {
    return producer.sendMessageInTransaction(Message("T", tags, body), nullptr);
  }
  // One scan of the check service (every 30 s), with its checks answered and their messages consumed.
  bool scan() {
    clock.advance(30s);
    return ackmq::testing::awaitIdle(producer) && ackmq::testing::awaitIdle(consumer);
  }
  std::vector<ackmq::testing::PendingTransaction> pending() {
    return ackmq::testing::pendingTransactions(broker, "tx");
  }
  std::size_t stored(std::string_view topic) { return ackmq::testing::topicMessages(broker, topic).size(); }
};

}  // namespace

TEST_SUITE("transaction") {
  TEST_CASE("a committed message is delivered once to its topic with its keys, tags and properties" *
            doctest::timeout(30)) {
    TxWorld w;
    Message m("T", "TagA", "order-1 order-2", "paid");
    m.putUserProperty("shop", "42");
    const auto r = w.producer.sendMessageInTransaction(m, nullptr);
    CHECK(r.getSendStatus() == ackmq::SendStatus::SEND_OK);
    CHECK(r.getLocalTransactionState() == COMMIT);
    REQUIRE(ackmq::testing::awaitIdle(w.consumer));
    const auto got = w.rec.all();
    REQUIRE(got.size() == 1);
    CHECK(got[0].body == "paid");
    CHECK(got[0].tags == "TagA");
    CHECK(got[0].msgId == r.getMsgId());
    const auto inT = ackmq::testing::topicMessages(w.broker, "T");
    REQUIRE(inT.size() == 1);
    CHECK(inT[0].getKeys() == "order-1 order-2");
    CHECK(inT[0].getProperty("shop") == "42");
    CHECK(inT[0].getProperty(MessageConst::PROPERTY_PRODUCER_GROUP) == "tx");
    CHECK(inT[0].getProperty(MessageConst::PROPERTY_TRANSACTION_PREPARED).empty());
    CHECK(inT[0].getProperty(MessageConst::PROPERTY_REAL_TOPIC).empty());
    CHECK(inT[0].getQueueId() == r.getMessageQueue().getQueueId());
    CHECK(w.broker.queryMessage("T", "order-2", 8).size() == 1);
    CHECK(w.stored(MixAll::RMQ_SYS_TRANS_HALF_TOPIC) == 1);
    CHECK(w.stored(MixAll::RMQ_SYS_TRANS_OP_HALF_TOPIC) == 1);
    CHECK(w.pending().empty());
    // Resolved: later scans ask nothing and deliver nothing more.
    for (int i = 0; i < 4; ++i)
      REQUIRE(w.scan());
    CHECK(w.script.checks() == 0);
    CHECK(w.rec.size() == 1);
    const auto stats = ackmq::testing::transactionStats(w.broker);
    CHECK(stats.prepared == 1);
    CHECK(stats.committed == 1);
    CHECK(stats.rolledBack == 0);
  }

  TEST_CASE("a rolled-back message is never delivered and leaves only its op" * doctest::timeout(30)) {
    TxWorld w;
    w.script.execute = [](const Message&) { return ROLLBACK; };
    const auto r = w.send("refund");
    CHECK(r.getLocalTransactionState() == ROLLBACK);
    for (int i = 0; i < 3; ++i)
      REQUIRE(w.scan());
    CHECK(w.rec.size() == 0);
    CHECK(w.stored("T") == 0);
    CHECK(w.stored(MixAll::RMQ_SYS_TRANS_OP_HALF_TOPIC) == 1);
    CHECK(w.pending().empty());
    CHECK(w.script.checks() == 0);
    CHECK(ackmq::testing::transactionStats(w.broker).rolledBack == 1);
  }

  TEST_CASE("UNKNOW leaves the half unseen until a check-back commits it" * doctest::timeout(30)) {
    TxWorld w;
    w.script.execute = [](const Message&) { return UNKNOW; };
    w.script.check = [](const MessageExt&) { return COMMIT; };
    Message m("T", "TagB", "later");
    m.putUserProperty("k", "v");
    const auto r = w.producer.sendMessageInTransaction(m, nullptr);
    CHECK(r.getLocalTransactionState() == UNKNOW);
    REQUIRE(ackmq::testing::awaitIdle(w.consumer));
    CHECK(w.rec.size() == 0);
    auto open = w.pending();
    REQUIRE(open.size() == 1);
    CHECK(open[0].transactionId == r.getTransactionId());
    CHECK(open[0].topic == "T");
    CHECK(open[0].checkTimes == 0);
    w.clock.advance(30s - 1ms);
    REQUIRE(ackmq::testing::awaitIdle(w.producer));
    CHECK(w.script.checks() == 0);
    REQUIRE(w.scan());  // the scan at 30 s; the half is older than transactionTimeOut (6 s)
    const auto checked = w.script.checkedMessages();
    REQUIRE(checked.size() == 1);
    CHECK(checked[0].getTopic() == "T");
    CHECK(checked[0].getMsgId() == r.getMsgId());
    CHECK(checked[0].getBody() == "later");
    CHECK(checked[0].getTags() == "TagB");
    CHECK(checked[0].getProperty("k") == "v");
    CHECK(checked[0].getProperty(MessageConst::PROPERTY_TRANSACTION_ID) == r.getTransactionId());
    CHECK(checked[0].getProperty(MessageConst::PROPERTY_TRANSACTION_CHECK_TIMES) == "1");
    const auto got = w.rec.all();
    REQUIRE(got.size() == 1);
    CHECK(got[0].body == "later");
    CHECK(got[0].msgId == r.getMsgId());
    CHECK(w.pending().empty());
    REQUIRE(w.scan());
    CHECK(w.script.checks() == 1);
    CHECK(w.rec.size() == 1);
  }

  TEST_CASE("a check-back can roll back, and UNKNOW from the check asks again at the next scan" *
            doctest::timeout(30)) {
    TxWorld w;
    w.script.execute = [](const Message&) { return UNKNOW; };
    std::atomic<int> n{0};
    w.script.check = [&n](const MessageExt&) { return ++n < 3 ? UNKNOW : ROLLBACK; };
    w.send("x");
    REQUIRE(w.scan());
    REQUIRE(w.scan());
    REQUIRE(w.pending().size() == 1);
    CHECK(w.pending()[0].checkTimes == 2);
    REQUIRE(w.scan());
    CHECK(w.pending().empty());
    CHECK(w.script.checks() == 3);
    CHECK(w.rec.size() == 0);
    CHECK(w.stored("T") == 0);
  }

  TEST_CASE("a half unresolved after 15 checks goes to TRANS_CHECK_MAX_TIME_TOPIC at the 16th scan, counted" *
            doctest::timeout(30)) {
    TxWorld w;
    w.script.execute = [](const Message&) { return UNKNOW; };
    const auto r = w.send("limbo");
    for (int i = 1; i <= 15; ++i) {
      REQUIRE(w.scan());
      REQUIRE(w.pending().size() == 1);
      CHECK(w.pending()[0].checkTimes == i);
    }
    CHECK(w.script.checks() == 15);
    CHECK(w.stored(MixAll::TRANS_CHECK_MAX_TIME_TOPIC) == 0);
    CHECK(w.stored(MixAll::RMQ_SYS_TRANS_HALF_TOPIC) == 1);  // a check writes nothing
    REQUIRE(w.scan());
    CHECK(w.script.checks() == 15);
    CHECK(w.pending().empty());
    CHECK(ackmq::testing::transactionStats(w.broker).discarded == 1);
    const auto discarded = ackmq::testing::topicMessages(w.broker, MixAll::TRANS_CHECK_MAX_TIME_TOPIC);
    REQUIRE(discarded.size() == 1);
    CHECK(discarded[0].getMsgId() == r.getMsgId());
    CHECK(discarded[0].getBody() == "limbo");
    CHECK(discarded[0].getProperty(MessageConst::PROPERTY_TRANSACTION_CHECK_TIMES) == "15");
    CHECK(discarded[0].getProperty(MessageConst::PROPERTY_REAL_TOPIC) == "T");
    REQUIRE(w.scan());
    CHECK(w.script.checks() == 15);
    CHECK(w.rec.size() == 0);
  }

  TEST_CASE("transactionCheckMax and transactionCheckInterval are the broker's to set" *
            doctest::timeout(30)) {
    TxWorld w(ackmq::BrokerConfig{.transactionCheckMax = 2, .transactionCheckInterval = 10s});
    w.script.execute = [](const Message&) { return UNKNOW; };
    w.send("x");
    w.clock.advance(10s);
    REQUIRE(ackmq::testing::awaitIdle(w.producer));
    CHECK(w.script.checks() == 1);
    w.clock.advance(10s);
    REQUIRE(ackmq::testing::awaitIdle(w.producer));
    CHECK(w.script.checks() == 2);
    w.clock.advance(10s);
    REQUIRE(ackmq::testing::awaitIdle(w.producer));
    CHECK(w.script.checks() == 2);
    CHECK(ackmq::testing::transactionStats(w.broker).discarded == 1);
  }

  TEST_CASE("a half younger than transactionTimeOut waits for the next scan" * doctest::timeout(30)) {
    TxWorld w(ackmq::BrokerConfig{.transactionTimeOut = 20s});
    w.script.execute = [](const Message&) { return UNKNOW; };
    w.clock.advance(15s);
    w.send("young");  // 15 s old at the scan at 30 s, 45 s old at the scan at 60 s
    REQUIRE(ackmq::testing::awaitIdle(w.producer));
    w.clock.advance(15s);
    REQUIRE(ackmq::testing::awaitIdle(w.producer));
    CHECK(w.script.checks() == 0);
    REQUIRE(w.scan());
    CHECK(w.script.checks() == 1);
  }

  TEST_CASE("CHECK_IMMUNITY_TIME_IN_SECONDS puts off a message's first check" * doctest::timeout(30)) {
    TxWorld w;
    w.script.execute = [](const Message&) { return UNKNOW; };
    Message immune("T", "", "immune");
    immune.putUserProperty(std::string(MessageConst::PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS), "75");
    w.producer.sendMessageInTransaction(immune, nullptr);
    Message minusOne("T", "", "default");
    minusOne.putUserProperty(std::string(MessageConst::PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS), "-1");
    w.producer.sendMessageInTransaction(minusOne, nullptr);
    auto checkedBodies = [&] {
      std::multiset<std::string> out;
      for (const auto& m : w.script.checkedMessages())
        out.insert(m.getBody());
      return out;
    };
    REQUIRE(w.scan());  // 30 s
    CHECK(checkedBodies() == std::multiset<std::string>{"default"});
    REQUIRE(w.scan());  // 60 s
    CHECK(checkedBodies() == std::multiset<std::string>{"default", "default"});
    REQUIRE(w.scan());  // 90 s: past 75 s
    CHECK(checkedBodies() == std::multiset<std::string>{"default", "default", "default", "immune"});
  }

  TEST_CASE("an exception in executeLocalTransaction counts as UNKNOW" * doctest::timeout(30)) {
    TxWorld w;
    w.script.execute = [](const Message&) -> LocalTransactionState { throw std::runtime_error("db down"); };
    w.script.check = [](const MessageExt&) { return COMMIT; };
    const auto r = w.send("x");
    CHECK(r.getSendStatus() == ackmq::SendStatus::SEND_OK);
    CHECK(r.getLocalTransactionState() == UNKNOW);
    CHECK(w.pending().size() == 1);
    CHECK(w.rec.size() == 0);
    REQUIRE(w.scan());
    CHECK(w.rec.size() == 1);
  }

  TEST_CASE("an exception in checkLocalTransaction counts as UNKNOW" * doctest::timeout(30)) {
    TxWorld w;
    w.script.execute = [](const Message&) { return UNKNOW; };
    std::atomic<int> n{0};
    w.script.check = [&n](const MessageExt&) -> LocalTransactionState {
      if (n++ == 0) throw std::runtime_error("db down");
      return COMMIT;
    };
    w.send("x");
    REQUIRE(w.scan());
    CHECK(w.pending().size() == 1);
    CHECK(w.rec.size() == 0);
    REQUIRE(w.scan());
    CHECK(w.pending().empty());
    CHECK(w.rec.size() == 1);
  }

  TEST_CASE("a half not stored SEND_OK is rolled back without running the local transaction" *
            doctest::timeout(30)) {
    TxWorld w;
    ackmq::testing::failNextSends(w.broker, 1, ackmq::SendStatus::FLUSH_DISK_TIMEOUT);
    const auto r = w.send("x");
    CHECK(r.getSendStatus() == ackmq::SendStatus::FLUSH_DISK_TIMEOUT);
    CHECK(r.getLocalTransactionState() == ROLLBACK);
    CHECK(w.script.executed.empty());
    CHECK(w.pending().empty());
    REQUIRE(w.scan());
    CHECK(w.stored("T") == 0);
    CHECK(w.script.checks() == 0);
  }

  TEST_CASE("a half the broker refuses is retried, and when every attempt fails nothing is left open" *
            doctest::timeout(30)) {
    TxWorld w;
    ackmq::testing::failNextSends(w.broker, 1, ackmq::ResponseCode::SYSTEM_BUSY);
    CHECK(w.send("retried").getLocalTransactionState() == COMMIT);
    REQUIRE(ackmq::testing::awaitIdle(w.consumer));
    CHECK(w.rec.size() == 1);
    ackmq::testing::failNextSends(w.broker, 3, ackmq::ResponseCode::SYSTEM_BUSY);
    const std::string err = errorOf([&] { w.send("refused"); });
    CHECK(mentions(err, "send message Exception"));
    CHECK(w.script.executed.size() == 1);
    CHECK(w.pending().empty());
  }

  TEST_CASE("a delay level on a transactional message is cleared: it is delivered when committed" *
            doctest::timeout(30)) {
    TxWorld w;
    Message m("T", "", "now");
    m.setDelayTimeLevel(3);
    m.setDelayTimeMs(60'000);
    w.producer.sendMessageInTransaction(m, nullptr);
    REQUIRE(ackmq::testing::awaitIdle(w.consumer));
    CHECK(w.rec.size() == 1);
    CHECK(w.stored(MixAll::SCHEDULE_TOPIC) == 0);
    const auto inT = ackmq::testing::topicMessages(w.broker, "T");
    REQUIRE(inT.size() == 1);
    CHECK(inT[0].getDelayTimeLevel() == 0);
    CHECK(inT[0].getDelayTimeMs() == 0);
  }

  TEST_CASE("the result carries the half's status, msgId and queue, and the transaction id" *
            doctest::timeout(30)) {
    TxWorld w;
    std::string seenId;
    void* seenArg = nullptr;
    int token = 7;
    w.producer.setTransactionListener(
        [&](const Message& m, void* arg) {
          seenId = m.getProperty(MessageConst::PROPERTY_TRANSACTION_ID);
          seenArg = arg;
          return COMMIT;
        },
        [](const MessageExt&) { return UNKNOW; });
    const auto r = w.producer.sendMessageInTransaction(Message("T", "", "x"), &token);
    CHECK(seenArg == &token);
    CHECK(r.getTransactionId() == r.getMsgId());
    CHECK(seenId == r.getTransactionId());
    CHECK(r.getMessageQueue().getTopic() == "T");
    CHECK(r.getMessageQueue().getQueueId() >= 0);
    CHECK(r.getMessageQueue().getQueueId() < 2);
    CHECK_FALSE(r.getOffsetMsgId().empty());
  }

  TEST_CASE("a TransactionListener object serves as the listener" * doctest::timeout(30)) {
    struct Listener : ackmq::BasicTransactionListener<std::string> {
      std::atomic<int> executed{0}, checked{0};
      LocalTransactionState executeLocalTransaction(const Message&, void*) override {
        ++executed;
        return UNKNOW;
      }
      LocalTransactionState checkLocalTransaction(const MessageExt&) override {
        ++checked;
        return COMMIT;
      }
    } listener;
    TxWorld w;
    ManualTransactionMQProducer p(w.broker, "other");
    p.setTransactionListener(&listener);
    p.start();
    p.sendMessageInTransaction(Message("T", "", "x"));
    CHECK(listener.executed == 1);
    w.clock.advance(30s);
    REQUIRE(ackmq::testing::awaitIdle(p));
    CHECK(listener.checked == 1);
    REQUIRE(ackmq::testing::awaitIdle(w.consumer));
    CHECK(w.rec.size() == 1);
  }

  TEST_CASE("no consumer kind ever sees an uncommitted or rolled-back message" * doctest::timeout(60)) {
    TxWorld w;
    ackmq::testing::ManualPushConsumer orderly(w.broker, "orderly");
    std::mutex mu;
    std::vector<std::string> orderlyGot;
    orderly.subscribe("T", "*");
    orderly.registerMessageListener(
        ackmq::MessageListenerOrderly{[&](const ackmq::MessageExtList& msgs, ackmq::ConsumeOrderlyContext&) {
          std::lock_guard l(mu);
          for (const auto& m : msgs)
            orderlyGot.push_back(m.getBody());
          return ackmq::ConsumeOrderlyStatus::SUCCESS;
        }});
    orderly.start();
    ackmq::testing::ManualSimpleConsumer simple(w.broker, "simple");
    simple.subscribe("T", "*");
    simple.start();
    ackmq::testing::ManualLitePullConsumer lite(w.broker, "lite");
    lite.subscribe("T", "*");
    lite.start();

    std::map<std::string, LocalTransactionState> outcome{
        {"open", UNKNOW}, {"rolled-back", ROLLBACK}, {"committed", COMMIT}, {"checked-back", UNKNOW}};
    w.script.execute = [&](const Message& m) { return outcome.at(m.getBody()); };
    w.script.check = [](const MessageExt& m) { return m.getBody() == "checked-back" ? ROLLBACK : UNKNOW; };
    for (const char* body : {"open", "rolled-back", "committed", "checked-back"})
      w.send(body);
    REQUIRE(w.scan());  // checked-back is rolled back; open stays open
    REQUIRE(ackmq::testing::awaitIdle(orderly));
    REQUIRE(w.pending().size() == 1);

    const std::vector<std::string> onlyCommitted{"committed"};
    std::vector<std::string> bodies;
    for (const auto& d : w.rec.all())
      bodies.push_back(d.body);
    CHECK(bodies == onlyCommitted);
    {
      std::lock_guard l(mu);
      CHECK(orderlyGot == onlyCommitted);
    }
    bodies.clear();
    for (const auto& m : simple.receive(32, 30s))
      bodies.push_back(m.getBody());
    CHECK(bodies == onlyCommitted);
    bodies.clear();
    for (int i = 0; i < 4; ++i) {
      for (const auto& m : lite.poll(0ms))
        bodies.push_back(m.getBody());
    }
    CHECK(bodies == onlyCommitted);
    // Nobody can read the half topic itself.
    ackmq::testing::ManualPushConsumer snoop(w.broker, "snoop");
    CHECK(mentions(errorOf([&] { snoop.subscribe(std::string(MixAll::RMQ_SYS_TRANS_HALF_TOPIC), "*"); }),
                   "system topic"));
  }

  TEST_CASE("a producer shut down with open transactions: another producer of the group answers the check" *
            doctest::timeout(30)) {
    TxWorld w;
    w.script.execute = [](const Message&) { return UNKNOW; };
    Script other;
    other.check = [](const MessageExt&) { return COMMIT; };
    ManualTransactionMQProducer second(w.broker, "tx");
    listenWith(second, other);
    second.start();
    w.send("a");
    w.send("b");
    w.producer.shutdown();
    REQUIRE(w.scan());
    REQUIRE(ackmq::testing::awaitIdle(second));
    REQUIRE(ackmq::testing::awaitIdle(w.consumer));
    CHECK(w.script.checks() == 0);
    CHECK(other.checks() == 2);
    CHECK(w.rec.bodies() == std::multiset<std::string>{"a", "b"});
  }

  TEST_CASE("with no producer of its group running a half waits unchecked, then the next producer answers" *
            doctest::timeout(30)) {
    TxWorld w;
    w.script.execute = [](const Message&) { return UNKNOW; };
    w.send("waiting");
    w.producer.shutdown();
    for (int i = 0; i < 20; ++i)  // more scans than transactionCheckMax
      REQUIRE(w.scan());
    REQUIRE(w.pending().size() == 1);
    CHECK(w.pending()[0].checkTimes == 0);
    CHECK(ackmq::testing::transactionStats(w.broker).discarded == 0);
    Script later;
    later.check = [](const MessageExt&) { return COMMIT; };
    ManualTransactionMQProducer next(w.broker, "tx");
    listenWith(next, later);
    next.start();
    w.clock.advance(30s);
    REQUIRE(ackmq::testing::awaitIdle(next));
    REQUIRE(ackmq::testing::awaitIdle(w.consumer));
    CHECK(later.checks() == 1);
    CHECK(w.rec.size() == 1);
  }

  TEST_CASE("a half older than fileReservedTime is discarded and counted, not kept for ever" *
            doctest::timeout(30)) {
    TxWorld w(ackmq::BrokerConfig{.fileReservedTime = std::chrono::hours(1)});
    w.script.execute = [](const Message&) { return UNKNOW; };
    const auto r = w.send("forgotten");
    w.producer.shutdown();  // nobody to check it: it waits
    w.clock.advance(std::chrono::hours(1) - 30s);
    CHECK(w.pending().size() == 1);
    w.clock.advance(30s);
    CHECK(w.pending().empty());
    CHECK(ackmq::testing::transactionStats(w.broker).discarded == 1);
    const auto discarded = ackmq::testing::topicMessages(w.broker, MixAll::TRANS_CHECK_MAX_TIME_TOPIC);
    REQUIRE(discarded.size() == 1);
    CHECK(discarded[0].getMsgId() == r.getMsgId());
  }

  TEST_CASE("a check is never asked of another group's producer" * doctest::timeout(30)) {
    TxWorld w;
    w.script.execute = [](const Message&) { return UNKNOW; };
    Script stranger;
    ManualTransactionMQProducer other(w.broker, "other");
    listenWith(other, stranger);
    other.start();
    w.send("mine");
    REQUIRE(w.scan());
    REQUIRE(ackmq::testing::awaitIdle(other));
    CHECK(stranger.checks() == 0);
    CHECK(w.script.checks() == 1);
  }

  TEST_CASE("a commit racing a check of the same half delivers it once" * doctest::timeout(60)) {
    for (int round = 0; round < 20; ++round) {
      TxWorld w;
      std::latch executing{1};
      std::latch go{1};
      w.script.execute = [&](const Message&) {
        executing.count_down();
        go.wait();  // the local transaction is slow: the check-back comes meanwhile
        return COMMIT;
      };
      std::latch checking{1};
      w.script.check = [&](const MessageExt&) {
        checking.count_down();
        go.wait();
        return COMMIT;
      };
      std::thread sender([&] { w.send("once"); });
      executing.wait();
      w.clock.advance(30s);  // the half is past transactionTimeOut: checked while it executes
      checking.wait();
      go.count_down();  // both answer COMMIT at once
      sender.join();
      REQUIRE(ackmq::testing::awaitIdle(w.producer));
      REQUIRE(ackmq::testing::awaitIdle(w.consumer));
      REQUIRE(w.rec.size() == 1);
      CHECK(w.stored("T") == 1);
      CHECK(ackmq::testing::transactionStats(w.broker).committed == 1);
      CHECK(w.pending().empty());
    }
  }

  TEST_CASE("check callbacks run on the producer's check thread, holding no library lock" *
            doctest::timeout(30)) {
    TxWorld w;
    w.script.execute = [](const Message&) { return UNKNOW; };
    std::thread::id checkThread;
    std::size_t pendingSeen = 0;
    w.script.check = [&](const MessageExt&) {
      checkThread = std::this_thread::get_id();
      // Both need the locks a scan takes: under one of them this would never return.
      pendingSeen = ackmq::testing::pendingTransactions(w.broker, "tx").size();
      w.producer.send(Message("T", "", "plain, from the check"));
      return COMMIT;
    };
    w.send("x");
    REQUIRE(w.scan());
    CHECK(checkThread != std::thread::id());
    CHECK(checkThread != std::this_thread::get_id());
    CHECK(pendingSeen == 1);
    CHECK(w.rec.bodies() == std::multiset<std::string>{"plain, from the check", "x"});
  }

  TEST_CASE("10k transactions from 4 threads with random outcomes: the delivered set is the committed set" *
            doctest::timeout(120)) {
    TxWorld w;
    constexpr int kThreads = 4;
    constexpr int kPerThread = 2500;
    // The outcome follows from the body: commit, roll back, or UNKNOW then commit or roll back at the check.
    auto outcomeOf = [](const std::string& body) { return std::hash<std::string>{}(body) % 4; };
    w.script.execute = [&](const Message& m) {
      switch (outcomeOf(m.getBody())) {
        case 0:
          return COMMIT;
        case 1:
          return ROLLBACK;
        default:
          return UNKNOW;
      }
    };
    w.script.check = [&](const MessageExt& m) { return outcomeOf(m.getBody()) == 2 ? COMMIT : ROLLBACK; };
    std::latch start{kThreads};
    std::vector<std::thread> senders;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      senders.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < kPerThread; ++i) {
          const std::string body = std::to_string(t) + "-" + std::to_string(i);
          const auto r = w.send(body);
          if (r.getSendStatus() != ackmq::SendStatus::SEND_OK) ++failures;
        }
      });
    }
    for (auto& s : senders)
      s.join();
    CHECK(failures == 0);
    REQUIRE(w.scan());
    CHECK(w.pending().empty());
    std::multiset<std::string> committed;
    for (int t = 0; t < kThreads; ++t) {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string body = std::to_string(t) + "-" + std::to_string(i);
        if (outcomeOf(body) == 0 || outcomeOf(body) == 2) committed.insert(body);
      }
    }
    CHECK(w.rec.bodies() == committed);
    const auto stats = ackmq::testing::transactionStats(w.broker);
    const auto all = static_cast<std::uint64_t>(kThreads * kPerThread);
    CHECK(stats.prepared == all);
    CHECK(stats.committed == static_cast<std::uint64_t>(committed.size()));
    CHECK(stats.committed + stats.rolledBack == all);
  }

  TEST_CASE("resolved halves and their ops do not hold back the reclamation of consumed messages" *
            doctest::timeout(60)) {
    // A store of eight 4 KiB segments that refuses sends when full: halves and ops that counted as
    // unconsumed would fill it within a few hundred transactions.
    TxWorld w(ackmq::BrokerConfig{
        .maxStoreBytes = 8 * 4096, .commitLogSegmentBytes = 4096, .maxConsumedHistoryBytes = 4096});
    const std::string body(200, 'x');
    for (int i = 0; i < 600; ++i) {
      const auto r = w.send(body + std::to_string(i));
      REQUIRE(r.getLocalTransactionState() == COMMIT);
      if (i % 8 == 7) REQUIRE(ackmq::testing::awaitIdle(w.consumer));
    }
    REQUIRE(ackmq::testing::awaitIdle(w.consumer));
    CHECK(w.rec.size() == 600);
    CHECK(ackmq::testing::storeStats(w.broker).reclaimedSegments > 0);
  }
}

TEST_SUITE("transaction bad input") {
  TEST_CASE("start() without a transaction listener throws, naming setTransactionListener" *
            doctest::timeout(30)) {
    ackmq::ManualClock clock;
    ackmq::testing::ManualBroker broker(clock);
    {
      ManualTransactionMQProducer p(broker, "tx");
      CHECK(mentions(errorOf([&] { p.start(); }), "setTransactionListener"));
    }
    {
      ManualTransactionMQProducer p(broker, "tx");
      p.setTransactionListener(nullptr);
      CHECK(mentions(errorOf([&] { p.start(); }), "no transaction listener"));
    }
    {
      ManualTransactionMQProducer p(broker, "tx");
      p.setTransactionListener(std::function<LocalTransactionState(const Message&, void*)>{},
                               [](const MessageExt&) { return COMMIT; });
      CHECK(mentions(errorOf([&] { p.start(); }), "no transaction listener"));
      CHECK(mentions(errorOf([&] { p.sendMessageInTransaction(Message("T", "", "x")); }), "not started"));
    }
    CHECK(ackmq::testing::transactionStats(broker).prepared == 0);
  }

  TEST_CASE("a batch cannot be sent in a transaction, and nothing is stored" * doctest::timeout(30)) {
    TxWorld w;
    const std::vector<Message> batch{Message("T", "", "a"), Message("T", "", "b")};
    const std::string err = errorOf([&] { w.producer.sendMessageInTransaction(batch, nullptr); });
    CHECK(mentions(err, "batch"));
    CHECK(w.script.executed.empty());
    CHECK(w.stored(MixAll::RMQ_SYS_TRANS_HALF_TOPIC) == 0);
  }

  TEST_CASE("a bad transactional message is refused before anything is stored" * doctest::timeout(30)) {
    TxWorld w;
    CHECK(mentions(errorOf([&] { w.producer.sendMessageInTransaction(Message("T", "", "")); }), "empty"));
    CHECK(mentions(errorOf([&] {
                     w.producer.sendMessageInTransaction(
                         Message(std::string(MixAll::RMQ_SYS_TRANS_HALF_TOPIC), "", "x"));
                   }),
                   "system topic"));
    CHECK(w.script.executed.empty());
    CHECK(w.stored(MixAll::RMQ_SYS_TRANS_HALF_TOPIC) == 0);
  }

  TEST_CASE("a transactional producer that was shut down does not send or start again" *
            doctest::timeout(30)) {
    TxWorld w;
    w.producer.shutdown();
    w.producer.shutdown();
    CHECK(mentions(errorOf([&] { w.send("x"); }), "shut down"));
    CHECK(mentions(errorOf([&] { w.producer.start(); }), "shut down"));
  }

  TEST_CASE("BrokerConfig's transaction settings are checked, naming the field" * doctest::timeout(30)) {
    ackmq::ManualClock clock;
    auto errorFor = [&](ackmq::BrokerConfig c) {
      return errorOf([&] { ackmq::testing::ManualBroker b(clock, std::move(c)); });
    };
    CHECK(mentions(errorFor({.transactionTimeOut = -1ms}), "BrokerConfig.transactionTimeOut"));
    CHECK(mentions(errorFor({.transactionCheckMax = -1}), "BrokerConfig.transactionCheckMax"));
    CHECK(mentions(errorFor({.transactionCheckInterval = 0ms}), "BrokerConfig.transactionCheckInterval"));
    CHECK(errorFor({.transactionTimeOut = 0ms, .transactionCheckMax = 0}) == "no error");
  }
}
