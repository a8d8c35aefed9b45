// The message model: BasicMessage, BasicMessageExt, MessageQueue, MessageConst, MixAll, SendResult.
#include <ackmq/message.hpp>

#include <doctest/doctest.h>

#include <ackmq/status.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

TEST_SUITE("message") {
  TEST_CASE("a message carries topic, tags, keys, body and flag" * doctest::timeout(10)) {
    ackmq::Message m("TopicTest", "TagA", "key1 key2", "hello");
    CHECK(m.getTopic() == "TopicTest");
    CHECK(m.getTags() == "TagA");
    CHECK(m.getKeys() == "key1 key2");
    CHECK(m.getBody() == "hello");
    CHECK(m.getFlag() == 0);
    m.setFlag(7);
    m.setKeys(std::vector<std::string>{"a", "b", "c"});
    CHECK(m.getKeys() == "a b c");
    CHECK(m.getProperty("KEYS") == "a b c");
    CHECK(m.getProperty("TAGS") == "TagA");
    CHECK(m.getFlag() == 7);
  }

  TEST_CASE("delay level, deliver time and wait-store are properties with RocketMQ's names" *
            doctest::timeout(10)) {
    ackmq::Message m("T", "body");
    CHECK(m.getDelayTimeLevel() == 0);
    m.setDelayTimeLevel(3);
    CHECK(m.getDelayTimeLevel() == 3);
    CHECK(m.getProperty(ackmq::MessageConst::PROPERTY_DELAY_TIME_LEVEL) == "3");
    m.setDelayTimeLevel(0);
    CHECK(m.getProperties().empty());
    m.setDeliverTimeMs(1'700'000'123'456);
    CHECK(m.getDeliverTimeMs() == 1'700'000'123'456);
    CHECK(m.getProperty("TIMER_DELIVER_MS") == "1700000123456");
    m.setDelayTimeMs(1500);
    CHECK(m.getDelayTimeMs() == 1500);
    CHECK(m.isWaitStoreMsgOK());
    m.setWaitStoreMsgOK(false);
    CHECK_FALSE(m.isWaitStoreMsgOK());
    CHECK(m.getProperty("WAIT") == "false");
  }

  TEST_CASE("putUserProperty refuses reserved names and empty values, naming the property" *
            doctest::timeout(10)) {
    ackmq::Message m("T", "body");
    m.putUserProperty("orderId", "42");
    CHECK(m.getProperty("orderId") == "42");
    try {
      m.putUserProperty("DELAY", "3");
      FAIL("reserved name accepted");
    } catch (const ackmq::MQClientException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::MESSAGE_ILLEGAL);
      CHECK(std::string(e.what()).find("DELAY") != std::string::npos);
    }
    CHECK_THROWS_AS(m.putUserProperty("", "x"), ackmq::MQClientException);
    CHECK_THROWS_AS(m.putUserProperty("x", ""), ackmq::MQClientException);
    CHECK(m.getDelayTimeLevel() == 0);
  }

  TEST_CASE("every library property name passes the first test that lets application names skip lookups" *
            doctest::timeout(10)) {
    // The broker looks for its own properties only on a message with a name that passes mayBeLibraryName;
    // a library name that failed it would be silently ignored (a delay, a reply, a request).
    const std::string_view names[] = {ackmq::MessageConst::PROPERTY_KEYS,
                                      ackmq::MessageConst::PROPERTY_TAGS,
                                      ackmq::MessageConst::PROPERTY_WAIT_STORE_MSG_OK,
                                      ackmq::MessageConst::PROPERTY_DELAY_TIME_LEVEL,
                                      ackmq::MessageConst::PROPERTY_RETRY_TOPIC,
                                      ackmq::MessageConst::PROPERTY_REAL_TOPIC,
                                      ackmq::MessageConst::PROPERTY_REAL_QUEUE_ID,
                                      ackmq::MessageConst::PROPERTY_TRANSACTION_PREPARED,
                                      ackmq::MessageConst::PROPERTY_PRODUCER_GROUP,
                                      ackmq::MessageConst::PROPERTY_MIN_OFFSET,
                                      ackmq::MessageConst::PROPERTY_MAX_OFFSET,
                                      ackmq::MessageConst::PROPERTY_ORIGIN_MESSAGE_ID,
                                      ackmq::MessageConst::PROPERTY_RECONSUME_TIME,
                                      ackmq::MessageConst::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
                                      ackmq::MessageConst::PROPERTY_MAX_RECONSUME_TIMES,
                                      ackmq::MessageConst::PROPERTY_CONSUME_START_TIMESTAMP,
                                      ackmq::MessageConst::PROPERTY_TIMER_DELIVER_MS,
                                      ackmq::MessageConst::PROPERTY_TIMER_DELAY_MS,
                                      ackmq::MessageConst::PROPERTY_TIMER_DELAY_SEC,
                                      ackmq::MessageConst::PROPERTY_POP_CK,
                                      ackmq::MessageConst::PROPERTY_FIRST_POP_TIME,
                                      ackmq::MessageConst::PROPERTY_SHARDING_KEY,
                                      ackmq::MessageConst::PROPERTY_DLQ_ORIGIN_TOPIC,
                                      ackmq::MessageConst::PROPERTY_DLQ_ORIGIN_MESSAGE_ID,
                                      ackmq::MessageConst::PROPERTY_CORRELATION_ID,
                                      ackmq::MessageConst::PROPERTY_MESSAGE_TTL,
                                      ackmq::MessageConst::PROPERTY_MESSAGE_REPLY_TO_CLIENT,
                                      ackmq::MessageConst::PROPERTY_CLUSTER,
                                      ackmq::MessageConst::PROPERTY_MESSAGE_TYPE,
                                      ackmq::MessageConst::PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS,
                                      ackmq::MessageConst::PROPERTY_TRANSACTION_ID,
                                      ackmq::MessageConst::PROPERTY_TRANSACTION_CHECK_TIMES};
    for (const std::string_view name : names) {
      CAPTURE(name);
      CHECK(ackmq::MessageConst::mayBeLibraryName(name));
    }
    CHECK_FALSE(ackmq::MessageConst::mayBeLibraryName("region"));
    CHECK_FALSE(ackmq::MessageConst::mayBeLibraryName(""));
    CHECK(ackmq::MessageConst::isSystemProperty("DELAY"));
    CHECK_FALSE(ackmq::MessageConst::isSystemProperty("delay"));  // names are case-sensitive, as in RocketMQ
  }

  TEST_CASE("a user-defined body type is held as is" * doctest::timeout(10)) {
    struct Event {
      int id;
      std::shared_ptr<const std::string> payload;
    };
    ackmq::BasicMessage<Event> m("Events", "created", Event{7, std::make_shared<const std::string>("x")});
    CHECK(m.getBody().id == 7);
    CHECK(*m.getBody().payload == "x");
    ackmq::BasicMessageExt<Event> ext("Events", "created", Event{8, nullptr});
    CHECK(ext.getBody().id == 8);
    CHECK(ext.getReconsumeTimes() == 0);
  }

  TEST_CASE("MixAll names the retry, dead-letter and schedule topics" * doctest::timeout(10)) {
    CHECK(ackmq::MixAll::getRetryTopic("g1") == "%RETRY%g1");
    CHECK(ackmq::MixAll::getDLQTopic("g1") == "%DLQ%g1");
    CHECK(std::string(ackmq::MixAll::SCHEDULE_TOPIC) == "SCHEDULE_TOPIC_XXXX");
    CHECK(ackmq::MixAll::isRetryTopic("%RETRY%g1"));
    CHECK(ackmq::MixAll::isDLQTopic("%DLQ%g1"));
    CHECK(ackmq::MixAll::isSystemTopic("SCHEDULE_TOPIC_XXXX"));
    CHECK(ackmq::MixAll::isSystemTopic("rmq_sys_wheel_timer"));
    CHECK(ackmq::MixAll::isSystemTopic("TBW102"));
    CHECK_FALSE(ackmq::MixAll::isSystemTopic("TopicTest"));
  }

  TEST_CASE("message queues are ordered by topic, broker and queue id, and hashable" * doctest::timeout(10)) {
    ackmq::MessageQueue a("A", "broker-a", 1), b("A", "broker-a", 2), c("A", "broker-b", 0),
        d("B", "broker-a", 0);
    std::set<ackmq::MessageQueue> sorted{d, c, b, a};
    CHECK(std::vector<ackmq::MessageQueue>(sorted.begin(), sorted.end()) ==
          std::vector<ackmq::MessageQueue>{a, b, c, d});
    std::unordered_set<ackmq::MessageQueue> set{a, b, a};
    CHECK(set.size() == 2);
    CHECK(a.getTopic() == "A");
    CHECK(a.getBrokerName() == "broker-a");
    CHECK(a.getQueueId() == 1);
    CHECK(a.toString() == "MessageQueue [topic=A, brokerName=broker-a, queueId=1]");
  }

  TEST_CASE("message ids are 32 hex characters, unique, and parse back" * doctest::timeout(10)) {
    std::set<std::string> seen;
    for (int i = 0; i < 10'000; ++i) {
      const auto id = ackmq::detail::newUniqueMessageId();
      const std::string s = id.toString();
      REQUIRE(s.size() == 32);
      CHECK(s.find_first_not_of("0123456789ABCDEF") == std::string::npos);
      CHECK(ackmq::detail::MessageId::parse(s) == id);
      seen.insert(s);
    }
    CHECK(seen.size() == 10'000);
    const ackmq::detail::MessageId fixed{0x0123456789ABCDEFULL, 0xFEDCBA9876543210ULL};
    CHECK(fixed.toString() == "0123456789ABCDEFFEDCBA9876543210");
    CHECK_FALSE(ackmq::detail::MessageId::parse("xyz"));
    CHECK_FALSE(ackmq::detail::MessageId::parse(std::string(32, 'G')));
  }

  TEST_CASE("message ids taken on several threads at once never repeat, and rise within each thread" *
            doctest::timeout(20)) {
    const ackmq::detail::MessageId here = ackmq::detail::newUniqueMessageId();
    CHECK(here.hi != 0);  // the process's prefix (a zero has odds of about one in 2^32)
    constexpr int kThreads = 4;
    constexpr int kPerThread = 5'000;  // several of a thread's blocks of ids
    std::vector<std::vector<ackmq::detail::MessageId>> ids(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&ids, t] {
        for (int i = 0; i < kPerThread; ++i)
          ids[static_cast<std::size_t>(t)].push_back(ackmq::detail::newUniqueMessageId());
      });
    }
    for (auto& th : threads)
      th.join();
    std::set<std::pair<std::uint64_t, std::uint64_t>> seen;
    for (const auto& mine : ids) {
      REQUIRE(mine.size() == static_cast<std::size_t>(kPerThread));
      for (std::size_t i = 0; i < mine.size(); ++i) {
        seen.emplace(mine[i].hi, mine[i].lo);
        CHECK(mine[i].hi == here.hi);  // every thread's ids carry the one process prefix
        if (i > 0) CHECK(mine[i - 1].lo < mine[i].lo);
      }
    }
    CHECK(seen.size() == static_cast<std::size_t>(kThreads * kPerThread));
  }

  TEST_CASE("a batch send result joins the message ids with commas" * doctest::timeout(10)) {
    const auto a = ackmq::detail::newUniqueMessageId();
    const auto b = ackmq::detail::newUniqueMessageId();
    ackmq::SendResult r(ackmq::SendStatus::SEND_OK, a, {}, ackmq::MessageQueue("T", "broker-a", 0), 5);
    r.setBatchIds({b});
    CHECK(r.getMsgId() == a.toString() + "," + b.toString());
    CHECK(r.getQueueOffset() == 5);
    CHECK(r.toString().find("SEND_OK") != std::string::npos);
  }

  TEST_CASE("response codes and statuses print with RocketMQ's names" * doctest::timeout(10)) {
    CHECK(std::string(ackmq::nameOf(ackmq::ResponseCode::SYSTEM_BUSY)) == "SYSTEM_BUSY");
    CHECK(static_cast<int>(ackmq::ResponseCode::SYSTEM_BUSY) == 2);
    CHECK(static_cast<int>(ackmq::ResponseCode::MESSAGE_ILLEGAL) == 13);
    CHECK(static_cast<int>(ackmq::ResponseCode::TOPIC_NOT_EXIST) == 17);
    CHECK(std::string(ackmq::nameOf(ackmq::SendStatus::FLUSH_DISK_TIMEOUT)) == "FLUSH_DISK_TIMEOUT");
  }
}
