// DefaultMQProducer through the rocketmq-client-cpp compatible headers: every kind of send, the client's
// retry and size rules, its exceptions, and how a name server address finds its broker.
#include "DefaultMQProducer.h"
#include "MQClientException.h"
#include "MQMessage.h"
#include "MQSelector.h"
#include "SendResult.h"

#include <doctest/doctest.h>

#include <ackmq/testing.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "compat_support.hpp"

using compat_test::BoundBroker;
using compat_test::thrownMessage;
using compat_test::thrownType;
using rocketmq::DefaultMQProducer;
using rocketmq::MQMessage;
using rocketmq::MQMessageQueue;
using rocketmq::SendResult;

namespace {

struct Started {
  explicit Started(const std::string& group = "compat-producers") : producer(group) {
    producer.setNamesrvAddr(world.address);
    producer.start();
  }
  std::size_t stored(const std::string& topic) const {
    return ackmq::testing::topicMessages(world.broker, topic).size();
  }

  BoundBroker world;
  DefaultMQProducer producer;
};

// Picks the queue whose id is *static_cast<int*>(arg).
struct ById : rocketmq::MessageQueueSelector {
  MQMessageQueue select(const std::vector<MQMessageQueue>& mqs, const MQMessage&, void* arg) override {
    return mqs[static_cast<std::size_t>(*static_cast<int*>(arg))];
  }
};

// Records its one call and, for the auto-delete kind, its deletion.
struct Outcome {
  std::mutex mutex;
  std::condition_variable cv;
  int successes = 0;
  int failures = 0;
  int deleted = 0;
  std::string msgId;
  std::thread::id thread;
  bool waitDone() {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(10),
                       [&] { return successes + failures > 0 && deleted > 0; });
  }
};

template <class Base>
struct Callback : Base {
  explicit Callback(Outcome& o) : out(o) {}
  ~Callback() override {
    std::lock_guard lock(out.mutex);
    ++out.deleted;
    out.cv.notify_all();
  }
  void onSuccess(SendResult& r) override {
    std::lock_guard lock(out.mutex);
    ++out.successes;
    out.msgId = r.getMsgId();
    out.thread = std::this_thread::get_id();
  }
  void onException(rocketmq::MQException&) override {
    std::lock_guard lock(out.mutex);
    ++out.failures;
    out.thread = std::this_thread::get_id();
  }
  Outcome& out;
};

}  // namespace

TEST_SUITE("compat producer") {
  TEST_CASE("a sync send is stored and confirmed with SEND_OK, and the message carries its id") {
    Started s;
    MQMessage msg("Orders", "created", "order-1", "order 1");
    const SendResult r = s.producer.send(msg);
    CHECK(r.getSendStatus() == rocketmq::SEND_OK);
    CHECK(r.getMsgId().size() == 32);
    CHECK(r.getOffsetMsgId() != r.getMsgId());
    CHECK(r.getMessageQueue().getTopic() == "Orders");
    CHECK(r.getQueueOffset() == 0);
    CHECK(msg.getProperty(MQMessage::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX) == r.getMsgId());
    const auto stored = ackmq::testing::topicMessages(s.world.broker, "Orders");
    REQUIRE(stored.size() == 1);
    CHECK(stored[0].getMsgId() == r.getMsgId());
    CHECK(stored[0].getTags() == "created");
    CHECK(stored[0].getKeys() == "order-1");
    CHECK(stored[0].getBody() == "order 1");
  }

  TEST_CASE("a send carries the flag, the delay level and the application properties") {
    Started s;
    MQMessage msg("Orders", "order 2");
    msg.setFlag(7);
    msg.setProperty("region", "eu");
    msg.setDelayTimeLevel(2);
    s.producer.send(msg);
    const auto parked = ackmq::testing::topicMessages(s.world.broker, "SCHEDULE_TOPIC_XXXX");
    REQUIRE(parked.size() == 1);
    CHECK(parked[0].getFlag() == 7);
    CHECK(parked[0].getProperty("region") == "eu");
    CHECK(s.stored("Orders") == 0);
    s.world.clock.advance(std::chrono::seconds(5));
    CHECK(s.stored("Orders") == 1);
  }

  TEST_CASE("a send to a queue and a selector's send land on the queue chosen") {
    Started s;
    MQMessage first("Orders", "to queue 3");
    const SendResult r = s.producer.send(first, MQMessageQueue("Orders", "broker-a", 3));
    CHECK(r.getMessageQueue().getQueueId() == 3);
    ById selector;
    int id = 1;
    MQMessage second("Orders", "to queue 1");
    CHECK(s.producer.send(second, &selector, &id).getMessageQueue().getQueueId() == 1);
    CHECK(s.producer.send(second, &selector, &id, 3).getMessageQueue().getQueueId() == 1);
  }

  TEST_CASE("a selector's send retries on its queue up to autoRetryTimes attempts") {
    Started s;
    ById selector;
    int id = 2;
    MQMessage msg("Orders", "retried");
    s.producer.send(msg, &selector, &id);  // creates the topic
    ackmq::testing::failNextSends(s.world.broker, 2, ackmq::ResponseCode::SYSTEM_BUSY);
    CHECK(s.producer.send(msg, &selector, &id, 3).getMessageQueue().getQueueId() == 2);
    ackmq::testing::failNextSends(s.world.broker, 1, ackmq::ResponseCode::SYSTEM_BUSY);
    CHECK(thrownType([&] { s.producer.send(msg, &selector, &id); }) != "none");
  }

  TEST_CASE("a null selector or callback is refused with MQClientException") {
    Started s;
    MQMessage msg("Orders", "x");
    int id = 0;
    CHECK(thrownType([&] {
            s.producer.send(msg, static_cast<rocketmq::MessageQueueSelector*>(nullptr), &id);
          }) == "MQClientException");
    CHECK(thrownType([&] { s.producer.send(msg, static_cast<rocketmq::SendCallback*>(nullptr)); }) ==
          "MQClientException");
    CHECK(s.stored("Orders") == 0);
  }

  TEST_CASE("a batch is stored on one queue at consecutive offsets, each message with its own id") {
    Started s;
    std::vector<MQMessage> batch{MQMessage("Orders", "a"), MQMessage("Orders", "b"),
                                 MQMessage("Orders", "c")};
    const SendResult r = s.producer.send(batch);
    const auto stored = ackmq::testing::topicMessages(s.world.broker, "Orders");
    REQUIRE(stored.size() == 3);
    std::set<std::string> ids;
    for (std::size_t i = 0; i < stored.size(); ++i) {
      CHECK(stored[i].getQueueId() == r.getMessageQueue().getQueueId());
      CHECK(stored[i].getQueueOffset() == r.getQueueOffset() + static_cast<std::int64_t>(i));
      CHECK(batch[i].getProperty(MQMessage::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX) == stored[i].getMsgId());
      ids.insert(stored[i].getMsgId());
    }
    CHECK(ids.size() == 3);
  }

  TEST_CASE("a batch that mixes topics is refused whole") {
    Started s;
    std::vector<MQMessage> batch{MQMessage("Orders", "a"), MQMessage("Payments", "b")};
    CHECK(thrownType([&] { s.producer.send(batch); }) == "MQClientException");
    CHECK(s.stored("Orders") == 0);
    CHECK(s.stored("Payments") == 0);
  }

  TEST_CASE("an async send reports once on another thread, and an AutoDeleteSendCallBack is deleted after" *
            doctest::timeout(20)) {
    Started s;
    Outcome out;
    MQMessage msg("Orders", "async");
    s.producer.send(msg, new Callback<rocketmq::AutoDeleteSendCallBack>(out));
    REQUIRE(out.waitDone());
    std::lock_guard lock(out.mutex);
    CHECK(out.successes == 1);
    CHECK(out.failures == 0);
    CHECK(out.deleted == 1);
    CHECK(out.thread != std::this_thread::get_id());
    CHECK(out.msgId.size() == 32);
  }

  TEST_CASE("a plain SendCallback stays the caller's") {
    Started s;
    Outcome out;
    {
      Callback<rocketmq::SendCallback> callback(out);
      MQMessage msg("Orders", "async");
      s.producer.send(msg, MQMessageQueue("Orders", "broker-a", 0), &callback);
      s.producer.shutdown();  // delivers what is owed
      std::lock_guard lock(out.mutex);
      CHECK(out.successes == 1);
      CHECK(out.deleted == 0);
    }
    CHECK(out.deleted == 1);
  }

  TEST_CASE("an async send makes one attempt: a lost request reaches onException" * doctest::timeout(20)) {
    Started s;
    Outcome out;
    ackmq::testing::loseNextSends(s.world.broker, 1);
    MQMessage msg("Orders", "lost");
    s.producer.send(msg, new Callback<rocketmq::AutoDeleteSendCallBack>(out));
    REQUIRE(out.waitDone());
    std::lock_guard lock(out.mutex);
    CHECK(out.failures == 1);
    CHECK(out.successes == 0);
  }

  TEST_CASE("setRetryTimes4Async(2) lets an async send survive one lost request" * doctest::timeout(20)) {
    BoundBroker world;
    DefaultMQProducer producer("compat-producers");
    producer.setNamesrvAddr(world.address);
    producer.setRetryTimes4Async(2);
    producer.start();
    Outcome out;
    ackmq::testing::loseNextSends(world.broker, 1);
    MQMessage msg("Orders", "lost once");
    producer.send(msg, new Callback<rocketmq::AutoDeleteSendCallBack>(out));
    REQUIRE(out.waitDone());
    std::lock_guard lock(out.mutex);
    CHECK(out.successes == 1);
  }

  TEST_CASE("a oneway send is stored and reports nothing") {
    Started s;
    MQMessage msg("Orders", "oneway");
    s.producer.sendOneway(msg);
    ById selector;
    int id = 0;
    s.producer.sendOneway(msg, &selector, &id);
    s.producer.sendOneway(msg, MQMessageQueue("Orders", "broker-a", 1));
    CHECK(s.stored("Orders") == 3);
  }

  TEST_CASE("a sync send makes five attempts: four refusals are survived, five are not") {
    Started s;
    MQMessage msg("Orders", "busy");
    s.producer.send(msg);
    ackmq::testing::failNextSends(s.world.broker, 4, ackmq::ResponseCode::SYSTEM_BUSY);
    CHECK(s.producer.send(msg).getSendStatus() == rocketmq::SEND_OK);
    ackmq::testing::failNextSends(s.world.broker, 5, ackmq::ResponseCode::SYSTEM_BUSY);
    CHECK(thrownType([&] { s.producer.send(msg); }) == "MQClientException");
    CHECK(s.stored("Orders") == 2);
  }

  TEST_CASE("a stored send whose status is not SEND_OK is retried, as the client retries it") {
    Started s;
    MQMessage msg("Orders", "flush");
    ackmq::testing::failNextSends(s.world.broker, 1, ackmq::SendStatus::FLUSH_DISK_TIMEOUT);
    CHECK(s.producer.send(msg).getSendStatus() == rocketmq::SEND_OK);
    CHECK(s.stored("Orders") == 2);
  }

  TEST_CASE("bad messages are refused with MQClientException and nothing is stored") {
    Started s;
    MQMessage empty("Orders", "");
    CHECK(thrownType([&] { s.producer.send(empty); }) == "MQClientException");
    MQMessage blank("", "body");
    CHECK(thrownType([&] { s.producer.send(blank); }) == "MQClientException");
    MQMessage illegal("Or ders", "body");
    CHECK(thrownType([&] { s.producer.send(illegal); }) == "MQClientException");
    MQMessage big("Orders", std::string(128 * 1024 + 1, 'x'));
    CHECK(thrownMessage([&] { s.producer.send(big); }).find("131072") != std::string::npos);
    MQMessage fits("Orders", std::string(128 * 1024, 'x'));
    CHECK(s.producer.send(fits).getSendStatus() == rocketmq::SEND_OK);
    CHECK(s.stored("Orders") == 1);
  }

  TEST_CASE("setMaxMessageSize raises the limit") {
    BoundBroker world;
    DefaultMQProducer producer("compat-producers");
    producer.setNamesrvAddr(world.address);
    producer.setMaxMessageSize(1024 * 1024);
    producer.start();
    MQMessage big("Orders", std::string(512 * 1024, 'x'));
    CHECK(producer.send(big).getSendStatus() == rocketmq::SEND_OK);
  }

  TEST_CASE("a producer that is not started, or shut down, throws MQClientException with error -1") {
    BoundBroker world;
    DefaultMQProducer producer("compat-producers");
    producer.setNamesrvAddr(world.address);
    MQMessage msg("Orders", "x");
    try {
      producer.send(msg);
      FAIL("no exception");
    } catch (const rocketmq::MQClientException& e) {
      CHECK(e.GetError() == -1);
      CHECK(std::string(e.GetType()) == "MQClientException");
    }
    producer.start();
    producer.start();  // idempotent
    producer.send(msg);
    producer.shutdown();
    producer.shutdown();  // idempotent
    CHECK(thrownType([&] { producer.send(msg); }) == "MQClientException");
    CHECK(thrownType([&] { producer.sendOneway(msg); }) == "MQClientException");
    CHECK(thrownType([&] { producer.start(); }) == "MQClientException");
  }

  TEST_CASE("sends racing shutdown() complete or throw MQClientException" * doctest::timeout(30)) {
    BoundBroker world;
    DefaultMQProducer producer("compat-producers");
    producer.setNamesrvAddr(world.address);
    producer.start();
    std::atomic<int> ok{0};
    std::atomic<int> refused{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> senders;
    for (int t = 0; t < 2; ++t) {
      senders.emplace_back([&] {
        while (!go.load())
          std::this_thread::yield();
        for (int i = 0; i < 200; ++i) {
          MQMessage msg("Orders", "racing");
          try {
            producer.send(msg);
            ++ok;
          } catch (const rocketmq::MQClientException&) {
            ++refused;
          }
        }
      });
    }
    go.store(true);
    producer.shutdown();
    for (auto& t : senders)
      t.join();
    CHECK(ok.load() + refused.load() == 400);
    CHECK(ackmq::testing::topicMessages(world.broker, "Orders").size() ==
          static_cast<std::size_t>(ok.load()));
  }

  TEST_CASE("start() without a name server address throws MQClientException naming setNamesrvAddr") {
    DefaultMQProducer producer("compat-producers");
    producer.setNamesrvAddr("");
    CHECK(thrownMessage([&] { producer.start(); }).find("setNamesrvAddr") != std::string::npos);
  }

  TEST_CASE("a name space is refused at start() rather than ignored") {
    BoundBroker world;
    DefaultMQProducer producer("compat-producers");
    producer.setNamesrvAddr(world.address);
    producer.setNameSpace("tenant-a");
    CHECK(thrownMessage([&] { producer.start(); }).find("name spaces") != std::string::npos);
  }

  TEST_CASE("an illegal group is refused at start()") {
    BoundBroker world;
    DefaultMQProducer producer("");
    producer.setNamesrvAddr(world.address);
    CHECK(thrownType([&] { producer.start(); }) == "MQClientException");
  }

  TEST_CASE("the client's defaults, and settings that mean nothing in process are kept and returned") {
    DefaultMQProducer producer("compat-producers");
    CHECK(producer.getRetryTimes() == 5);
    CHECK(producer.getRetryTimes4Async() == 1);
    CHECK(producer.getMaxMessageSize() == 128 * 1024);
    CHECK(producer.getSendMsgTimeout() == 3000);
    CHECK(producer.getGroupName() == "compat-producers");
    CHECK(producer.getInstanceName() == "DEFAULT");
    producer.setRetryTimes(0);
    CHECK(producer.getRetryTimes() == 5);
    producer.setRetryTimes(40);
    CHECK(producer.getRetryTimes() == 15);
    producer.setRetryTimes4Async(-3);
    CHECK(producer.getRetryTimes4Async() == 1);
    producer.setSessionCredentials("ak", "sk", "ALIYUN");
    CHECK(producer.getSessionCredentials().getAccessKey() == "ak");
    CHECK(producer.getSessionCredentials().isValid());
    producer.setTcpTransportConnectTimeout(1234);
    CHECK(producer.getTcpTransportConnectTimeout() == 1234);
    producer.setUnitName("unit");
    CHECK(producer.getUnitName() == "unit");
    producer.setEnableSsl(true);
    CHECK(producer.getEnableSsl());
    producer.setMessageTrace(true);
    CHECK(producer.getMessageTrace());
    producer.setLogLevel(rocketmq::eLOG_LEVEL_DEBUG);
    CHECK(producer.getLogLevel() == rocketmq::eLOG_LEVEL_DEBUG);
    producer.setCompressLevel(9);
    CHECK(producer.getCompressLevel() == 9);
    producer.setNamesrvDomain("ns.example");
    CHECK(producer.getNamesrvDomain() == "ns.example");
    CHECK(!producer.version().empty());
  }

  TEST_CASE("a created broker outlives unbindBroker while a client still uses it") {
    DefaultMQProducer producer("compat-producers");
    producer.setNamesrvAddr("compat-unbound:9876");
    producer.start();
    CHECK(ackmq::compat::unbindBroker("compat-unbound:9876"));
    MQMessage msg("Orders", "still there");
    CHECK(producer.send(msg).getSendStatus() == rocketmq::SEND_OK);
  }

  TEST_CASE("a domain names the broker when no address is set") {
    BoundBroker world;
    DefaultMQProducer producer("compat-producers");
    producer.setNamesrvAddr("");
    producer.setNamesrvDomain(world.address);
    producer.start();
    MQMessage msg("Orders", "via domain");
    producer.send(msg);
    CHECK(ackmq::testing::topicMessages(world.broker, "Orders").size() == 1);
  }

  TEST_CASE("bindBroker refuses a blank address") {
    ackmq::ManualClock clock;
    ackmq::compat::ManualClockBroker broker(clock);
    CHECK_THROWS_AS(ackmq::compat::bindBroker(" ", broker), ackmq::MQClientException);
  }
}
