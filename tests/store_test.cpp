// The store: CommitLog segments, consume queues, lookups, bounded memory and reclamation.
#include <ackmq/detail/store/message_store.hpp>

#include <ackmq/detail/broker/page_warmer.hpp>
#include <ackmq/detail/broker/schedule_service.hpp>
#include <ackmq/detail/store/materialize.hpp>
#include <ackmq/detail/store/read_gate.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <sys/mman.h>

using namespace std::chrono_literals;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;

namespace {

ackmq::BrokerConfig tinyStore(std::size_t segments,
                              ackmq::StoreFullPolicy policy = ackmq::StoreFullPolicy::REJECT_NEW) {
  ackmq::BrokerConfig c;
  c.commitLogSegmentBytes = 4096;
  c.maxStoreBytes = 4096 * segments;
  c.storeFullPolicy = policy;
  return c;
}

std::string body(std::size_t n, char c = 'x') {
  return std::string(n, c);
}

// Topic T with one queue, and group g tracking it: keepUp() commits g past everything stored so far.
struct TrackedQueue {
  ackmq::ManualClock clock;
  ManualBroker broker;
  ManualProducer producer;
  const ackmq::MessageQueue q{"T", "broker-a", 0};

  explicit TrackedQueue(std::size_t segments) : broker(clock, tinyStore(segments)), producer(broker, "p") {
    broker.createTopic("T", 1);
    producer.start();
    broker.updateConsumerOffset("g", q, 0);
  }
  void keepUp() { broker.updateConsumerOffset("g", q, broker.maxOffset(q)); }
};

}  // namespace

TEST_SUITE("store") {
  TEST_CASE("messages of one queue get consecutive offsets and min/max offsets behave as RocketMQ's" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    broker.createTopic("T", 2);
    ManualProducer producer(broker, "p");
    producer.start();
    const ackmq::MessageQueue q0("T", "broker-a", 0);
    for (int i = 0; i < 10; ++i) {
      CHECK(producer.send(ackmq::Message("T", "", std::to_string(i)), q0).getQueueOffset() == i);
    }
    CHECK(broker.minOffset(q0) == 0);
    CHECK(broker.maxOffset(q0) == 10);
    CHECK(broker.maxOffset(ackmq::MessageQueue("T", "broker-a", 1)) == 0);
    CHECK(broker.maxOffset(ackmq::MessageQueue("Nope", "broker-a", 0)) == 0);
    const auto msgs = ackmq::testing::topicMessages(broker, "T");
    REQUIRE(msgs.size() == 10);
    for (int i = 0; i < 10; ++i) {
      CHECK(msgs[static_cast<std::size_t>(i)].getQueueOffset() == i);
      CHECK(msgs[static_cast<std::size_t>(i)].getBody() == std::to_string(i));
    }
  }

  TEST_CASE("a store full of unconsumed messages refuses sends with SYSTEM_BUSY and stores nothing more" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock, tinyStore(2));
    ManualProducer producer(broker, "p");
    producer.start();
    int stored = 0;
    try {
      for (; stored < 1000; ++stored)
        producer.send(ackmq::Message("T", "", body(200)));
      FAIL("the store never filled up");
    } catch (const ackmq::MQClientException& e) {
      CHECK(e.getResponseCode() == ackmq::ResponseCode::SYSTEM_BUSY);
      CHECK(std::string(e.what()).find("full") != std::string::npos);
    }
    CHECK(stored > 10);
    const auto stats = ackmq::testing::storeStats(broker);
    CHECK(stats.allocatedBytes <= 2 * 4096);
    CHECK(stats.rejectedAppends == 3);  // the first attempt and two retries
    CHECK(ackmq::testing::topicMessages(broker, "T").size() == static_cast<std::size_t>(stored));
  }

  TEST_CASE("segments every group has consumed are reclaimed when the store needs room" *
            doctest::timeout(10)) {
    TrackedQueue t(2);
    auto& [clock, broker, producer, q] = t;
    for (int i = 0; i < 500; ++i) {
      producer.send(ackmq::Message("T", "", body(200)));
      t.keepUp();
    }
    const auto stats = ackmq::testing::storeStats(broker);
    CHECK(stats.allocatedBytes <= 2 * 4096);
    CHECK(stats.reclaimedSegments > 10);
    CHECK(stats.droppedMessages == 0);
    CHECK(broker.minOffset(q) > 0);
    CHECK(broker.maxOffset(q) == 500);
  }

  TEST_CASE("a group that lags pins the store: the slowest group decides what is consumed" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock, tinyStore(2));
    broker.createTopic("T", 1);
    ManualProducer producer(broker, "p");
    producer.start();
    const ackmq::MessageQueue q("T", "broker-a", 0);
    broker.updateConsumerOffset("fast", q, 0);
    broker.updateConsumerOffset("slow", q, 0);
    CHECK_THROWS_AS(
        [&] {
          for (int i = 0; i < 1000; ++i) {
            producer.send(ackmq::Message("T", "", body(200)));
            broker.updateConsumerOffset("fast", q, broker.maxOffset(q));
          }
        }(),
        ackmq::MQClientException);
    CHECK(broker.minOffset(q) == 0);
  }

  TEST_CASE("expired segments are reclaimed after fileReservedTime, consumed or not" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ackmq::BrokerConfig config = tinyStore(64);
    config.fileReservedTime = std::chrono::hours(72);
    ManualBroker broker(clock, config);
    broker.createTopic("T", 1);
    ManualProducer producer(broker, "p");
    producer.start();
    const ackmq::MessageQueue q("T", "broker-a", 0);
    for (int i = 0; i < 100; ++i)
      producer.send(ackmq::Message("T", "", body(200)));
    const auto before = ackmq::testing::storeStats(broker);
    CHECK(before.segments > 3);
    clock.advance(71h);
    CHECK(ackmq::testing::storeStats(broker).reclaimedSegments == 0);
    clock.advance(1h + 10s);
    const auto after = ackmq::testing::storeStats(broker);
    CHECK(after.reclaimedSegments == before.segments - 1);  // the active segment stays
    CHECK(broker.minOffset(q) > 0);
    CHECK(broker.maxOffset(q) == 100);
  }

  TEST_CASE("committed offsets behind the minimum move up to it" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock, tinyStore(64));
    broker.createTopic("T", 1);
    ManualProducer producer(broker, "p");
    producer.start();
    const ackmq::MessageQueue q("T", "broker-a", 0);
    broker.updateConsumerOffset("g", q, 3);
    for (int i = 0; i < 100; ++i)
      producer.send(ackmq::Message("T", "", body(200)));
    clock.advance(73h);
    const std::int64_t min = broker.minOffset(q);
    REQUIRE(min > 3);
    CHECK(broker.queryConsumerOffset("g", q) == min);
  }

  TEST_CASE("DROP_OLDEST reclaims unconsumed messages when full and counts every one it drops" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock, tinyStore(2, ackmq::StoreFullPolicy::DROP_OLDEST));
    broker.createTopic("T", 1);
    ManualProducer producer(broker, "p");
    producer.start();
    const ackmq::MessageQueue q("T", "broker-a", 0);
    for (int i = 0; i < 300; ++i)
      producer.send(ackmq::Message("T", "", body(200)));
    const auto stats = ackmq::testing::storeStats(broker);
    CHECK(stats.allocatedBytes <= 2 * 4096);
    CHECK(stats.droppedMessages == static_cast<std::uint64_t>(broker.minOffset(q)));
    CHECK(ackmq::testing::topicMessages(broker, "T").size() ==
          static_cast<std::size_t>(300 - broker.minOffset(q)));
  }

  TEST_CASE("a segment that parks a delayed message is not reclaimed before the message is re-put" *
            doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ackmq::BrokerConfig config = tinyStore(64);
    config.fileReservedTime = std::chrono::hours(1);
    ManualBroker broker(clock, config);
    ManualProducer producer(broker, "p");
    producer.start();
    ackmq::Message late("Late", "", "parked");
    late.setDelayTimeMs(std::chrono::duration_cast<std::chrono::milliseconds>(2h).count());
    const auto sent = producer.send(late);
    for (int i = 0; i < 100; ++i)
      producer.send(ackmq::Message("T", "", body(200)));
    clock.advance(90min);  // every segment is past fileReservedTime, the first one parks the message
    CHECK(ackmq::testing::storeStats(broker).reclaimedSegments == 0);
    CHECK(ackmq::testing::topicMessages(broker, "Late").empty());
    clock.advance(30min);
    const auto delivered = ackmq::testing::topicMessages(broker, "Late");
    REQUIRE(delivered.size() == 1);
    CHECK(delivered[0].getMsgId() == sent.getMsgId());
    CHECK(delivered[0].getBody() == "parked");
    clock.advance(10s);
    CHECK(ackmq::testing::storeStats(broker).reclaimedSegments > 0);
  }

  TEST_CASE("user body objects are destroyed when their segment is reclaimed, and only then" *
            doctest::timeout(10)) {
    static std::atomic<int> live{0};
    struct Counted {
      int v = 0;
      Counted(int x) : v(x) { ++live; }
      Counted(const Counted& o) : v(o.v) { ++live; }
      Counted& operator=(const Counted&) = default;
      ~Counted() { --live; }
    };
    {
      ackmq::ManualClock clock;
      ackmq::BasicBroker<Counted, ackmq::ManualClock> broker(clock, tinyStore(64));
      ackmq::BasicProducer<decltype(broker)> producer(broker, "p");
      producer.start();
      for (int i = 0; i < 200; ++i)
        producer.send(ackmq::BasicMessage<Counted>("T", "", Counted(i)));
      CHECK(live.load() == 200);
      clock.advance(73h);
      const auto stats = ackmq::testing::storeStats(broker);
      CHECK(stats.reclaimedSegments > 0);
      CHECK(live.load() < 200);
      CHECK(live.load() > 0);
    }
    CHECK(live.load() == 0);
  }

  TEST_CASE("lookup by msgId and by key finds every message, however many the segment holds" *
            doctest::timeout(60)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    // A large first record, then thousands of small ones: the first lookup sizes the indexes for them all.
    const std::string bigId = producer.send(ackmq::Message("T", "", body(64 * 1024))).getMsgId();
    std::vector<std::string> ids;
    for (int i = 0; i < 5000; ++i) {
      ackmq::Message m("T", "", body(10));
      m.setKeys("k" + std::to_string(i) + " shared order-" + std::to_string(i % 7));
      ids.push_back(producer.send(m).getMsgId());
    }
    for (int i = 0; i < 5000; i += 37) {
      const auto v = broker.viewMessage(ids[static_cast<std::size_t>(i)]);
      REQUIRE(v.has_value());
      CHECK(v->getKeys() == "k" + std::to_string(i) + " shared order-" + std::to_string(i % 7));
      const auto byKey = broker.queryMessage("T", "k" + std::to_string(i), 10);
      REQUIRE(byKey.size() == 1);
      CHECK(byKey[0].getMsgId() == ids[static_cast<std::size_t>(i)]);
    }
    CHECK(broker.queryMessage("T", "shared", 100000).size() == 5000);
    const auto order3 = broker.queryMessage("T", "order-3", 100000);
    CHECK(order3.size() == 714);
    for (std::size_t i = 1; i < order3.size(); ++i) {
      CHECK(order3[i - 1].getCommitLogOffset() < order3[i].getCommitLogOffset());
    }
    CHECK(broker.queryMessage("T", "shared", 3).size() == 3);
    CHECK(broker.queryMessage("Other", "shared", 3).empty());
    CHECK(broker.viewMessage(bigId).has_value());
  }

  TEST_CASE("lookups between runs of appends index each new record once, as the indexes grow" *
            doctest::timeout(60)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    ManualProducer producer(broker, "p");
    producer.start();
    std::vector<std::string> ids;
    for (int round = 0; round < 12; ++round) {
      const std::size_t n = std::size_t{1} << round;  // 1, 2, 4 ... 2048 sends between lookups
      for (std::size_t i = 0; i < n; ++i) {
        ackmq::Message m("T", "", body(10));
        m.setKeys("round-" + std::to_string(round) + " all");
        ids.push_back(producer.send(m).getMsgId());
      }
      CAPTURE(round);
      CHECK(broker.queryMessage("T", "all", 100000).size() == ids.size());
      CHECK(broker.queryMessage("T", "round-" + std::to_string(round), 100000).size() == n);
      for (const std::string& id : {ids.front(), ids[ids.size() / 2], ids.back()}) {
        const auto v = broker.viewMessage(id);
        REQUIRE(v.has_value());
        CHECK(v->getMsgId() == id);
      }
    }
  }

  TEST_CASE("a record larger than a segment gets a segment of its own" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ManualBroker broker(clock, tinyStore(16));
    ManualProducer producer(broker, "p");
    producer.start();
    const auto r = producer.send(ackmq::Message("T", "", body(10'000, 'z')));
    const auto v = broker.viewMessage(r.getOffsetMsgId());
    REQUIRE(v.has_value());
    CHECK(v->getBody() == body(10'000, 'z'));
  }

  TEST_CASE("a reclaimed segment's memory is kept for the next segment and counted in the bound" *
            doctest::timeout(10)) {
    ackmq::detail::CommitLog<std::string> log(4096);
    log.openSegment(200);
    const std::byte* first = log.active().data.get();
    log.reserve(200);
    log.openSegment(200);
    CHECK(log.allocatedBytes() == 2 * 4096);
    CHECK_FALSE(log.hasSpare());
    CHECK(log.growthFor(4096) == 4096);

    log.popOldest();
    CHECK(log.hasSpare());
    CHECK(log.allocatedBytes() == 2 * 4096);  // held, so still counted
    CHECK(log.growthFor(4096) == 0);
    CHECK(log.growthFor(8192) == 8192);  // a segment of another size never takes the spare

    log.openSegment(200);
    CHECK(log.active().data.get() == first);
    CHECK(log.active().used == 0);
    CHECK_FALSE(log.hasSpare());
    CHECK(log.allocatedBytes() == 2 * 4096);

    // Only one spare: a second reclaimed segment is freed, and an oversize one is never kept.
    log.popOldest();
    log.popOldest();
    CHECK(log.hasSpare());
    CHECK(log.allocatedBytes() == 4096);
    log.openSegment(6000);
    CHECK(log.active().capacity == 6000);
    CHECK(log.hasSpare());
    CHECK(log.allocatedBytes() == 4096 + 6000);
    log.popOldest();
    CHECK(log.allocatedBytes() == 4096);
  }

  TEST_CASE("a store at its bound reuses reclaimed memory and finds only the records written since" *
            doctest::timeout(10)) {
    TrackedQueue t(3);
    auto& [clock, broker, producer, q] = t;
    std::vector<std::string> ids;
    std::size_t overBound = 0;
    for (int i = 0; i < 400; ++i) {
      ids.push_back(producer.send(ackmq::Message("T", "", std::to_string(i) + body(190))).getMsgId());
      t.keepUp();
      if (ackmq::testing::storeStats(broker).allocatedBytes > 3 * 4096) ++overBound;
    }
    CHECK(overBound == 0);
    const auto stats = ackmq::testing::storeStats(broker);
    CHECK(stats.reclaimedSegments > 20);
    CHECK(stats.droppedMessages == 0);
    // Reclaimed messages are gone even though their bytes were written over in place, and every retained
    // one reads back as it was sent.
    const std::int64_t min = broker.minOffset(q);
    REQUIRE(min > 0);
    for (int i = 0; i < 400; ++i) {
      const auto v = broker.viewMessage(ids[static_cast<std::size_t>(i)]);
      if (i < min) {
        CHECK_FALSE(v.has_value());
      } else {
        REQUIRE(v.has_value());
        CHECK(v->getBody() == std::to_string(i) + body(190));
        CHECK(v->getQueueOffset() == i);
      }
    }
    const auto retained = ackmq::testing::topicMessages(broker, "T");
    CHECK(retained.size() == static_cast<std::size_t>(400 - min));
  }
}

TEST_SUITE("materializing") {
  using PropertyMap = ackmq::Message::property_map;

  std::string encoded(std::initializer_list<std::pair<std::string_view, std::string_view>> props) {
    std::string out;
    for (const auto& [n, v] : props)
      ackmq::detail::encodeProperty(out, n, v);
    return out;
  }

  TEST_CASE("a recycled message's properties take new values in place when the names are the same" *
            doctest::timeout(10)) {
    PropertyMap props{{"A", "old-a"}, {"B", "old-b"}};
    const std::string* nodeOfA = &props.find("A")->second;
    std::vector<std::string> seen;
    const bool inPlace = ackmq::detail::assignPropertiesInPlace(
        props, encoded({{"B", "new-b"}, {"A", "new-a"}}), [&](std::string_view n, std::string_view v) {
          seen.push_back(std::string(n) + "=" + std::string(v));
        });
    CHECK(inPlace);
    CHECK(props == PropertyMap{{"A", "new-a"}, {"B", "new-b"}});
    CHECK(&props.find("A")->second == nodeOfA);  // the same node
    CHECK(seen == std::vector<std::string>{"B=new-b", "A=new-a"});
  }

  TEST_CASE("other names, more or fewer, or a name twice leave the map to be rebuilt, its names kept" *
            doctest::timeout(10)) {
    // A refusal may come after some values were assigned (the caller rebuilds the map then): only the names
    // are promised to stay.
    const PropertyMap before{{"A", "a"}, {"B", "b"}};
    auto refuses = [&](const std::string& enc) {
      PropertyMap props = before;
      const bool inPlace =
          ackmq::detail::assignPropertiesInPlace(props, enc, [&](std::string_view, std::string_view) {});
      return !inPlace && props.size() == 2 && props.contains("A") && props.contains("B");
    };
    CHECK(refuses(encoded({{"A", "1"}, {"C", "2"}})));
    CHECK(refuses(encoded({{"A", "1"}})));
    CHECK(refuses(encoded({{"A", "1"}, {"B", "2"}, {"C", "3"}})));
    CHECK(refuses(encoded({{"A", "1"}, {"A", "2"}})));
    PropertyMap empty;
    CHECK_FALSE(ackmq::detail::assignPropertiesInPlace(empty, encoded({{"A", "1"}}),
                                                       [](std::string_view, std::string_view) {}));
  }

  TEST_CASE("a recycled message shows exactly the properties of each record it is filled from" *
            doctest::timeout(10)) {
    // Each record after the first shares some names with the one before, so that an in-place assignment
    // starts and is refused part way; the message must still end up with exactly the new record's properties.
    ackmq::detail::TopicEntry topic;
    topic.name = "T";
    const std::vector<PropertyMap> records = {{{"A", "1"}, {"B", "2"}},
                                              {{"A", "x"}, {"C", "y"}},
                                              {{"A", "p"}, {"C", "q"}},
                                              {{"C", "r"}},
                                              {{"A", "s"}, {"B", "t"}, {"C", "u"}},
                                              {},
                                              {{"B", "v"}, {"D", "w"}}};
    ackmq::MessageExt recycled;
    for (const PropertyMap& props : records) {
      const std::string enc = ackmq::detail::encodeProperties(props);
      ackmq::detail::RecordSource<std::string> src;
      src.encodedProperties = enc;
      src.bodyBytes = "body";
      std::vector<std::uint64_t> space((src.size() + 7) / 8);
      const ackmq::detail::RecordHeader* h = ackmq::detail::writeRecord(space.data(), src, &topic, 0);
      ackmq::detail::materializeInto(recycled, *h, "broker", 1, ackmq::detail::TopicView::STORED);
      CHECK(recycled.getProperties() == props);
      CHECK(recycled.getBody() == "body");
    }
  }

  // Five properties, with an empty name and an empty value among them, for filtering every subset away.
  const std::vector<std::pair<std::string_view, std::string_view>> kFive = {
      {"A", "1"}, {"", "empty name"}, {"CC", ""}, {"D", std::string_view("\0\1", 2)}, {"EEEE", "5"}};
  const std::string kFiveEncoded = encoded({kFive[0], kFive[1], kFive[2], kFive[3], kFive[4]});

  // `prefix`, then the five encoded without those whose bit is set in `dropMask`.
  std::string fiveWithout(unsigned dropMask, std::string prefix = "") {
    for (std::size_t i = 0; i < kFive.size(); ++i) {
      if (((dropMask >> i) & 1u) == 0) ackmq::detail::encodeProperty(prefix, kFive[i].first, kFive[i].second);
    }
    return prefix;
  }

  TEST_CASE("a filtered copy of encoded properties keeps the others in order, whatever is dropped" *
            doctest::timeout(10)) {
    // Every subset of the five is dropped in turn, whether its members sit together, apart, first or last;
    // the copy must equal encoding the rest.
    const auto& all = kFive;
    const std::string& source = kFiveEncoded;
    for (unsigned dropMask = 0; dropMask < (1u << all.size()); ++dropMask) {
      CAPTURE(dropMask);
      const std::string expected = fiveWithout(dropMask, "prefix");
      std::string out = "prefix";  // appended to, not replaced
      std::size_t asked = 0;
      ackmq::detail::appendPropertiesIf(out, source, [&](std::string_view n) {
        return ((dropMask >> asked++) & 1u) == 0 && n == all[asked - 1].first;
      });
      CHECK(asked == all.size());
      CHECK(out == expected);
    }
    std::string out;
    ackmq::detail::appendPropertiesIf(out, std::string_view(), [](std::string_view) { return true; });
    CHECK(out.empty());
  }

  TEST_CASE("the kept properties are a view of the source while they are one run of it, else a copy" *
            doctest::timeout(10)) {
    // Every subset of the five is dropped in turn, as above; the result must equal encoding the rest, and
    // point into the source exactly when the kept ones sit together (nothing dropped between them).
    const auto& all = kFive;
    const std::string& source = kFiveEncoded;
    for (unsigned dropMask = 0; dropMask < (1u << all.size()); ++dropMask) {
      CAPTURE(dropMask);
      const std::string expected = fiveWithout(dropMask);
      const unsigned keptMask = ~dropMask & ((1u << all.size()) - 1);
      const unsigned lowest = keptMask & (~keptMask + 1);
      const bool oneRun = keptMask == 0 || ((keptMask + lowest) & keptMask) == 0;
      std::string scratch = "stale";
      std::size_t asked = 0;
      const std::string_view kept =
          ackmq::detail::keptProperties(source, scratch, [&](std::string_view n, std::string_view v) {
            const bool keep = ((dropMask >> asked) & 1u) == 0;
            CHECK(n == all[asked].first);
            CHECK(v == all[asked].second);
            ++asked;
            return keep;
          });
      CHECK(asked == all.size());
      CHECK(kept == expected);
      const bool inSource = kept.data() >= source.data() && kept.data() < source.data() + source.size();
      CHECK(inSource == (oneRun && keptMask != 0));
    }
  }

  TEST_CASE("a record stores its properties and the ones after them as one run" * doctest::timeout(10)) {
    ackmq::detail::TopicEntry topic;
    topic.name = "T";
    std::string first;
    ackmq::detail::encodeProperty(first, "A", "1");
    std::string more;
    ackmq::detail::encodeProperty(more, "B", "22");
    ackmq::detail::RecordSource<std::string> src;
    src.tags = "tag";
    src.encodedProperties = first;
    src.moreProperties = more;
    src.bodyBytes = "the body";
    std::vector<std::uint64_t> space((src.size() + 7) / 8);
    const ackmq::detail::RecordHeader* h = ackmq::detail::writeRecord(space.data(), src, &topic, 0);
    CHECK(h->encodedProperties() == first + more);
    CHECK(h->tags() == "tag");
    CHECK(ackmq::detail::bytesBody(*h) == "the body");
    CHECK(h->totalSize == src.size());
  }

  TEST_CASE("routing properties are told from every other name" * doctest::timeout(10)) {
    using ackmq::MessageConst;
    for (std::string_view n :
         {MessageConst::PROPERTY_DELAY_TIME_LEVEL, MessageConst::PROPERTY_REAL_TOPIC,
          MessageConst::PROPERTY_REAL_QUEUE_ID, MessageConst::PROPERTY_TIMER_DELIVER_MS,
          MessageConst::PROPERTY_TIMER_DELAY_MS, MessageConst::PROPERTY_TIMER_DELAY_SEC}) {
      CAPTURE(n);
      CHECK(ackmq::detail::isRoutingProperty(n));
    }
    // Names of the same lengths, and the properties a retry copy keeps.
    for (std::string_view n : {"DELAX", "UNIQ_KEY", "REAL_TOPIX", "TIMER_DELAY_MX", "TIMER_DELAY_SEX",
                               "TIMER_DELIVER_MX", "", "RETRY_TOPIC", "ORIGIN_MESSAGE_ID", "delay"}) {
      CAPTURE(n);
      CHECK_FALSE(ackmq::detail::isRoutingProperty(n));
    }
    // The same at compile time, where the comparison takes string_view's own path.
    static_assert(ackmq::detail::isRoutingProperty("REAL_QID"));
    static_assert(!ackmq::detail::isRoutingProperty("UNIQ_KEY"));
    // A name and a prefix or extension of it differ.
    CHECK(ackmq::detail::isName("RETRY_TOPIC", MessageConst::PROPERTY_RETRY_TOPIC));
    CHECK_FALSE(ackmq::detail::isName("RETRY_TOPI", MessageConst::PROPERTY_RETRY_TOPIC));
    CHECK_FALSE(ackmq::detail::isName("RETRY_TOPICS", MessageConst::PROPERTY_RETRY_TOPIC));
    CHECK_FALSE(ackmq::detail::isName("RETRY_TOPIc", MessageConst::PROPERTY_RETRY_TOPIC));
  }

  TEST_CASE("sameBytes compares every byte, a word at a time and the tail one by one" *
            doctest::timeout(10)) {
    using ackmq::detail::sameBytes;
    CHECK(sameBytes("", ""));
    const std::string base = "broker-a.example-17";  // two words and a three-byte tail
    for (std::size_t n = 0; n <= base.size(); ++n) {
      const std::string a = base.substr(0, n);
      CAPTURE(a);
      CHECK(sameBytes(a, std::string(a)));
      if (n > 0) CHECK_FALSE(sameBytes(a, base.substr(0, n - 1)));  // a prefix differs in length
      for (std::size_t i = 0; i < n; ++i) {
        std::string b = a;
        b[i] = static_cast<char>(b[i] ^ 0x20);  // one byte differs, in a word or in the tail
        CHECK_FALSE(sameBytes(a, b));
      }
    }
  }
}

TEST_SUITE("lock-free reads") {
  // Body i: "i:" then 190 copies of one letter that i decides. A record read while its memory is written
  // over (a segment reclaimed and reused as the spare under a reader) comes out torn.
  std::string tagged(int i) {
    return std::to_string(i) + ":" + std::string(190, static_cast<char>('a' + i % 26));
  }
  bool intact(const std::string& b) {
    const std::size_t colon = b.find(':');
    if (colon == std::string::npos || b.size() != colon + 191) return false;
    const int i = std::stoi(b.substr(0, colon));
    return b == tagged(i);
  }

  TEST_CASE(
      "consumers pulling without the store lock while the store reclaims under them get intact messages" *
      doctest::timeout(120)) {
    // Three 4 KiB segments and DROP_OLDEST: the producer never waits, and a segment is reclaimed, its
    // memory reused, every ~40 messages while a push consumer (2 listener threads) and a lite pull consumer
    // read the same queues.
    constexpr int kMessages = 50'000;
    ackmq::ManualClock clock;
    ManualBroker broker(clock, tinyStore(3, ackmq::StoreFullPolicy::DROP_OLDEST));
    broker.createTopic("T", 2);
    std::atomic<int> torn{0};
    std::atomic<int> pushed{0};
    ackmq::testing::ManualPushConsumer push(broker, "push");
    push.subscribe("T", "*");
    push.setConsumeThreadMin(2);
    push.setConsumeThreadMax(2);
    push.registerMessageListener(ackmq::MessageListenerConcurrently{
        [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
          for (const auto& m : msgs) {
            if (!intact(m.getBody())) torn.fetch_add(1);
          }
          pushed.fetch_add(static_cast<int>(msgs.size()));
          return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
        }});
    push.start();
    ackmq::testing::ManualLitePullConsumer pull(broker, "pull");
    pull.subscribe("T", "*");
    pull.start();
    // The first poll takes the queues, from their last offset: take them now, while the queues are empty, or
    // a sender that finishes before that poll leaves it nothing to read.
    REQUIRE(pull.poll(0ms).empty());
    REQUIRE(ackmq::testing::awaitIdle(push));

    std::atomic<bool> done{false};
    std::thread sender([&] {
      ManualProducer producer(broker, "p");
      producer.start();
      for (int i = 0; i < kMessages; ++i)
        producer.sendOneway(ackmq::Message("T", "", tagged(i)));
      done.store(true);
    });
    int polled = 0;
    for (int emptyAfterDone = 0;;) {
      const bool last = done.load();
      const auto got = pull.poll(0ms);
      for (const auto& m : got) {
        if (!intact(m.getBody())) torn.fetch_add(1);
        ++polled;
      }
      // A poll from below what the store still holds only moves up to it (RocketMQ OFFSET_TOO_SMALL), so once
      // the sender is done, it takes two empty polls in a row to know that everything left was read.
      emptyAfterDone = last && got.empty() ? emptyAfterDone + 1 : 0;
      if (emptyAfterDone == 2) break;
    }
    sender.join();
    REQUIRE(ackmq::testing::awaitIdle(push));

    const auto stats = ackmq::testing::storeStats(broker);
    CHECK(stats.reclaimedSegments > 100);
    CHECK(torn.load() == 0);
    CHECK(pushed.load() > 0);
    CHECK(polled > 0);
    CHECK(pushed.load() <= kMessages);
    CHECK(polled <= kMessages);
  }
}

TEST_SUITE("page warming") {
  // Whether every page of [p, p + bytes) is resident.
  bool resident(const std::byte* p, std::size_t bytes) {
    std::vector<unsigned char> pages(bytes / 4096);
    REQUIRE(::mincore(const_cast<std::byte*>(p), bytes, pages.data()) == 0);
    return std::all_of(pages.begin(), pages.end(), [](unsigned char v) { return (v & 1) != 0; });
  }

  TEST_CASE("the warmer makes a range resident without changing a byte of it" * doctest::timeout(10)) {
    constexpr std::size_t kBytes = std::size_t{8} << 20;
    ackmq::detail::SegmentMemory mem(kBytes);
    std::memset(mem.get(), 0x5A, 100);  // as if the appender had written a record already
    ackmq::detail::PageWarmer warmer;
    warmer.warm(mem.get(), kBytes / 2);
    warmer.warm(mem.get() + kBytes / 2, kBytes / 2);  // continues the first: merged or warmed in turn
    if (!warmer.waitWarmed(kBytes, 5s)) {
      REQUIRE_FALSE(warmer.on());  // only a kernel without MADV_POPULATE_WRITE may refuse
      MESSAGE("page warming is not available on this kernel");
      return;
    }
    CHECK(resident(mem.get(), kBytes));
    CHECK(std::all_of(mem.get(), mem.get() + 100, [](std::byte b) { return b == std::byte{0x5A}; }));
  }

  TEST_CASE("the CommitLog keeps the pages ahead of its write position warm, up to the segment's end" *
            doctest::timeout(10)) {
    constexpr std::size_t kSegment = std::size_t{16} << 20;
    constexpr std::size_t kRecord = 200;
    ackmq::detail::CommitLog<std::string> log(kSegment);
    ackmq::detail::PageWarmer warmer;  // declared after the log: stopped before the log frees its memory
    log.setWarmer(&warmer);
    log.openSegment(kRecord);
    const ackmq::detail::Segment& s = log.active();
    std::size_t checks = 0;
    std::size_t unaligned = 0, behind = 0, tooFar = 0;
    while (log.fitsActive(kRecord)) {
      log.reserve(kRecord);
      // Requests start and end on page boundaries (or at the segment's end), stay ahead of the writer by at
      // least 1 MiB until the end, and never run more than 4 MiB past it.
      const bool atEnd = s.warmedTo == s.capacity;
      if (!atEnd && s.warmedTo % 4096 != 0) ++unaligned;
      if (!atEnd && s.warmedTo < s.used + (std::size_t{1} << 20)) ++behind;
      if (s.warmedTo > std::max(s.used + (std::size_t{4} << 20), std::size_t{4} << 20)) ++tooFar;
      ++checks;
    }
    CHECK(unaligned == 0);
    CHECK(behind == 0);
    CHECK(tooFar == 0);
    CHECK(checks == kSegment / kRecord);
    CHECK(s.warmedTo == s.capacity);
    if (!warmer.waitWarmed(kSegment, 5s)) {
      REQUIRE_FALSE(warmer.on());
      MESSAGE("page warming is not available on this kernel");
      return;
    }
    CHECK(resident(s.data.get(), kSegment));
  }

  TEST_CASE("segments smaller than a huge page are left to the appender" * doctest::timeout(10)) {
    ackmq::detail::CommitLog<std::string> log(4096);
    ackmq::detail::PageWarmer warmer;
    log.setWarmer(&warmer);
    log.openSegment(200);
    log.reserve(200);
    CHECK(log.active().warmedTo == log.active().capacity);
    CHECK_FALSE(warmer.waitWarmed(1, 0ms));
  }

  TEST_CASE("the read gate waits out every reader inside, whichever slot it counts in" *
            doctest::timeout(20)) {
    ackmq::detail::ReadGate gate;
    constexpr int kReaders = 20;  // more readers than the gate has slots: some share one
    std::atomic<int> entered{0};
    std::atomic<int> released{0};  // readers [0, released) may leave
    std::atomic<int> left{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < kReaders; ++r) {
      readers.emplace_back([&, r] {
        const unsigned ticket = gate.enter();
        entered.fetch_add(1);
        while (released.load() <= r)
          std::this_thread::yield();
        left.fetch_add(1);
        gate.leave(ticket);
      });
    }
    while (entered.load() < kReaders)
      std::this_thread::yield();
    std::atomic<bool> returned{false};
    std::atomic<int> leftAtReturn{-1};
    std::thread synchronizer([&] {
      gate.synchronize();
      leftAtReturn.store(left.load());
      returned.store(true);
    });
    // The readers leave one at a time. A synchronize that overlooked any of them (whatever slot it counted
    // in) would return while it is still inside: before each release it is given time to do so.
    for (int r = 0; r < kReaders; ++r) {
      for (int i = 0; i < 300 && !returned.load(); ++i)
        std::this_thread::yield();
      CHECK_FALSE(returned.load());
      released.store(r + 1);
    }
    synchronizer.join();
    CHECK(leftAtReturn.load() == kReaders);
    for (auto& t : readers)
      t.join();
    // Each leave took its reader out of the slot and epoch it entered in: with one more reader in and out on
    // this thread, the next two synchronizes (both epochs) find nothing left to wait for.
    const unsigned ticket = gate.enter();
    gate.leave(ticket);
    gate.synchronize();
    gate.synchronize();
  }
}

TEST_SUITE("arrivals") {
  // A listener that records how it was told: whether the store lock was held at each step, and whether it
  // was told after it was removed.
  struct Recorder final : ackmq::detail::ArrivalListener {
    ackmq::detail::SpinThenBlockMutex& storeLock;
    bool askFollowUp = false;
    bool probeLock = true;  // a follow-up that probes takes the store lock under the listener lock
    std::atomic<int> arrivals{0};
    std::atomic<int> followUps{0};
    std::atomic<int> underStoreLock{0};      // steps that found the store lock held
    std::atomic<int> followUpsUnderLock{0};  // follow-ups that found it held
    std::atomic<bool> removed{false};
    std::atomic<int> toldAfterRemoval{0};
    explicit Recorder(ackmq::detail::SpinThenBlockMutex& lock) : storeLock(lock) {}
    // The store lock is not recursive: from the thread that holds it, try_lock fails.
    bool storeLockHeld() const {
      if (!storeLock.try_lock()) return true;
      storeLock.unlock();
      return false;
    }
    bool onArrival() noexcept override {
      if (removed.load()) toldAfterRemoval.fetch_add(1);
      arrivals.fetch_add(1);
      if (probeLock && storeLockHeld()) underStoreLock.fetch_add(1);
      return askFollowUp;
    }
    void onArrivalFollowUp() noexcept override {
      if (removed.load()) toldAfterRemoval.fetch_add(1);
      followUps.fetch_add(1);
      if (probeLock && storeLockHeld()) followUpsUnderLock.fetch_add(1);
    }
  };

  // Topic T with one queue on a ManualClock broker, and that queue's ConsumeQueue. The store drops its
  // oldest messages when full, so senders that never stop never fail.
  struct OneQueue {
    ackmq::ManualClock clock;
    ManualBroker broker;
    ackmq::detail::QueueHandle cq;
    const ackmq::MessageQueue mq{"T", "broker-a", 0};
    OneQueue() : broker(clock, tinyStore(16, ackmq::StoreFullPolicy::DROP_OLDEST)) {
      broker.createTopic("T", 1);
      cq = core().consumeQueue(mq);
      REQUIRE(static_cast<bool>(cq));
    }
    ackmq::detail::BrokerCore<std::string, ackmq::ManualClock>& core() {
      return ackmq::detail::BrokerAccess::core(broker);
    }
    ackmq::detail::SpinThenBlockMutex& storeLock() { return core().storeLock(); }
    void listen(ackmq::detail::ArrivalListener& l) { core().listen(cq, l); }
    void unlisten(ackmq::detail::ArrivalListener& l) { core().unlisten(cq, l); }
  };

  TEST_CASE("a send tells its queue's listeners under the store lock, and follows up after it when asked" *
            doctest::timeout(10)) {
    OneQueue one;
    ManualProducer producer(one.broker, "p");
    producer.start();
    Recorder quiet(one.storeLock());
    Recorder asking(one.storeLock());
    asking.askFollowUp = true;
    one.listen(quiet);
    one.listen(asking);

    producer.send(ackmq::Message("T", "", "one"));
    std::vector<ackmq::Message> batch{ackmq::Message("T", "", "two"), ackmq::Message("T", "", "three")};
    producer.send(batch);

    for (Recorder* r : {&quiet, &asking}) {
      CHECK(r->arrivals.load() == 2);  // one per send, the batch included
      CHECK(r->underStoreLock.load() == 2);
      CHECK(r->followUpsUnderLock.load() == 0);
    }
    // The queue follows up with every listener when one asks; a listener's own follow-up tells it apart.
    CHECK(asking.followUps.load() == 2);
    one.unlisten(quiet);
    one.unlisten(asking);
  }

  TEST_CASE("arrivals told without the store lock run both steps there" * doctest::timeout(10)) {
    OneQueue one;
    Recorder asking(one.storeLock());
    asking.askFollowUp = true;
    Recorder quiet(one.storeLock());
    one.listen(asking);
    one.listen(quiet);
    // Told after the store lock, as a re-put from the timer is: here the end of an injected stall.
    ackmq::testing::stallQueue(one.broker, one.mq, false);
    CHECK(asking.arrivals.load() == 1);
    CHECK(asking.followUps.load() == 1);
    CHECK(quiet.arrivals.load() == 1);
    CHECK(quiet.followUps.load() == 0);  // only the listener that asked
    CHECK(asking.underStoreLock.load() == 0);
    one.unlisten(asking);
    one.unlisten(quiet);
  }

  TEST_CASE("a listener removed while sends run is never told again, at either step" * doctest::timeout(60)) {
    OneQueue one;
    auto& broker = one.broker;
    Recorder witness(one.storeLock());  // stays: counts the arrivals that pass while the others come and go
    witness.probeLock = false;
    one.listen(witness);
    std::atomic<bool> done{false};
    std::vector<std::thread> senders;
    for (int s = 0; s < 2; ++s) {
      senders.emplace_back([&, s] {
        ManualProducer producer(broker, "p" + std::to_string(s));
        producer.start();
        while (!done.load())
          producer.sendOneway(ackmq::Message("T", "", "x"));
      });
    }
    int told = 0;
    int toldAfter = 0;
    for (int round = 0; round < 300; ++round) {
      Recorder r(one.storeLock());
      r.askFollowUp = round % 2 == 0;
      r.probeLock = false;  // the senders hold the store lock at will; what counts here is removal
      one.listen(r);
      while (r.arrivals.load() < 3)
        std::this_thread::yield();
      one.unlisten(r);
      r.removed.store(true);
      // The senders keep going: a step of theirs that still reached r would count now.
      const int before = witness.arrivals.load();
      while (witness.arrivals.load() < before + 20)
        std::this_thread::yield();
      told += r.arrivals.load();
      toldAfter += r.toldAfterRemoval.load();
    }
    done.store(true);
    for (auto& t : senders)
      t.join();
    one.unlisten(witness);
    CHECK(told >= 900);
    CHECK(toldAfter == 0);
  }
}
