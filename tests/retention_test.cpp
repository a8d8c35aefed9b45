// Retention: consumed history is bounded apart from the backlog (maxConsumedHistoryBytes), the slowest
// group and parked delayed messages hold their segments, and reclaimed memory goes back to the system.
#include <ackmq/detail/store/commit_log.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/push_consumer.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;

namespace {

constexpr std::size_t kSegment = 4096;

// Address and thread sanitizers bring allocators of their own, which hold freed memory in quarantine and
// keep shadow memory beside it: resident memory there says nothing of the allocator programs use.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kOwnAllocator = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kOwnAllocator = true;
#else
constexpr bool kOwnAllocator = false;
#endif
#else
constexpr bool kOwnAllocator = false;
#endif

// 4 KiB segments, room for 64 of them, and consumed history of `historySegments` segments.
ackmq::BrokerConfig smallHistory(std::size_t historySegments) {
  ackmq::BrokerConfig c;
  c.commitLogSegmentBytes = kSegment;
  c.maxStoreBytes = 64 * kSegment;
  c.maxConsumedHistoryBytes = historySegments * kSegment;
  return c;
}

std::string body(std::size_t n) {
  return std::string(n, 'x');
}

// Topic T with one queue, a producer, and committed offsets set by hand.
struct Bus {
  ackmq::ManualClock clock;
  ManualBroker broker;
  ManualProducer producer;
  const ackmq::MessageQueue q{"T", "broker-a", 0};

  explicit Bus(const ackmq::BrokerConfig& config) : broker(clock, config), producer(broker, "p") {
    broker.createTopic("T", 1);
    producer.start();
  }
  ackmq::SendResult send() { return producer.send(ackmq::Message("T", "", body(200)), q); }
  void commit(const char* group, std::int64_t offset) { broker.updateConsumerOffset(group, q, offset); }
  void keepUp(const char* group) { commit(group, broker.maxOffset(q)); }
};

std::uint64_t residentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  REQUIRE(f != nullptr);
  unsigned long long size = 0;
  unsigned long long resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  REQUIRE(got == 2);
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST_SUITE("retention") {
  TEST_CASE("consumed history past its bound is reclaimed as segments open, long before the store is full" *
            doctest::timeout(10)) {
    Bus bus(smallHistory(2));
    bus.commit("g", 0);
    for (int i = 0; i < 500; ++i) {
      bus.send();
      bus.keepUp("g");
    }
    const auto stats = ackmq::testing::storeStats(bus.broker);
    CHECK(stats.reclaimedSegments > 10);
    CHECK(stats.droppedMessages == 0);
    // Two consumed segments of history and the active one (all consumed too, but still written), which
    // took the reclaimed segment's memory: no spare is left over.
    CHECK(stats.retainedConsumedBytes == 2 * kSegment);
    CHECK(stats.backlogBytes == kSegment);
    CHECK(stats.segments == 3);
    CHECK(stats.residentSegments == 3);
    CHECK(stats.allocatedBytes == 3 * kSegment);
    // The history is there to replay: a new group from the minimum reads every retained message.
    const std::int64_t min = bus.broker.minOffset(bus.q);
    CHECK(min > 0);
    CHECK(bus.broker.maxOffset(bus.q) == 500);
    CHECK(500 - min >= 2 * 4096 / 400);  // at least the two history segments' worth (records under 400 B)
    CHECK(ackmq::testing::topicMessages(bus.broker, "T").size() == static_cast<std::size_t>(500 - min));
  }

  TEST_CASE("the slowest of several groups holds the segments it has not consumed, and loses nothing" *
            doctest::timeout(10)) {
    Bus bus(smallHistory(1));
    for (const char* g : {"fast", "mid", "slow"})
      bus.commit(g, 0);
    for (int i = 0; i < 600; ++i) {
      bus.send();
      const std::int64_t max = bus.broker.maxOffset(bus.q);
      bus.keepUp("fast");
      bus.commit("mid", std::max<std::int64_t>(0, max - 30));
      if (i < 400) bus.commit("slow", std::max<std::int64_t>(0, max - 80));  // then it stops at 320
      const std::int64_t slow = bus.broker.queryConsumerOffset("slow", bus.q);
      REQUIRE(bus.broker.minOffset(bus.q) <= slow);
    }
    CHECK(bus.broker.queryConsumerOffset("slow", bus.q) == 320);
    CHECK(bus.broker.queryConsumerOffset("mid", bus.q) == 570);
    const auto stats = ackmq::testing::storeStats(bus.broker);
    CHECK(stats.reclaimedSegments > 5);
    CHECK(stats.retainedConsumedBytes <= kSegment);
    // Everything from the slow group's offset on is there, and it is backlog, not history.
    const std::int64_t min = bus.broker.minOffset(bus.q);
    CHECK(min <= 320);
    CHECK(320 - min < 2 * 4096 / 200);  // no more than the one history segment before it (records over 200 B)
    CHECK(stats.backlogBytes >= (600 - 320) * 200);
    CHECK(ackmq::testing::topicMessages(bus.broker, "T").size() == static_cast<std::size_t>(600 - min));
  }

  TEST_CASE("a segment that parks a delayed message stays, and the history behind it, until it is re-put" *
            doctest::timeout(10)) {
    Bus bus(smallHistory(1));
    bus.broker.createTopic("Late", 1);
    const ackmq::MessageQueue late("Late", "broker-a", 0);
    bus.broker.updateConsumerOffset("g", late, 0);
    bus.commit("g", 0);
    ackmq::Message m("Late", "", "parked");
    m.setDelayTimeMs(std::chrono::duration_cast<std::chrono::milliseconds>(1h).count());
    const auto sent = bus.producer.send(m);
    for (int i = 0; i < 300; ++i) {
      bus.send();
      bus.keepUp("g");
    }
    auto stats = ackmq::testing::storeStats(bus.broker);
    CHECK(stats.reclaimedSegments == 0);
    CHECK(stats.retainedConsumedBytes == 0);  // the front segment is not consumed: it parks the message
    CHECK(bus.broker.minOffset(bus.q) == 0);
    bus.clock.advance(1h + 1s);
    const auto delivered = ackmq::testing::topicMessages(bus.broker, "Late");
    REQUIRE(delivered.size() == 1);
    CHECK(delivered[0].getMsgId() == sent.getMsgId());
    bus.broker.updateConsumerOffset("g", late, 1);
    bus.clock.advance(10s);  // the periodic clean-up
    stats = ackmq::testing::storeStats(bus.broker);
    CHECK(stats.reclaimedSegments > 5);
    CHECK(stats.retainedConsumedBytes <= kSegment);
    CHECK(bus.broker.minOffset(bus.q) > 0);
  }

  TEST_CASE("history consumed after the last segment opened is trimmed by the periodic clean-up" *
            doctest::timeout(10)) {
    Bus bus(smallHistory(2));
    bus.commit("g", 0);
    for (int i = 0; i < 300; ++i)
      bus.send();
    auto stats = ackmq::testing::storeStats(bus.broker);
    CHECK(stats.reclaimedSegments == 0);
    CHECK(stats.retainedConsumedBytes == 0);
    CHECK(stats.backlogBytes == stats.segments * kSegment);
    const std::size_t segments = stats.segments;
    REQUIRE(segments > 5);
    bus.keepUp("g");
    stats = ackmq::testing::storeStats(bus.broker);
    CHECK(stats.retainedConsumedBytes == (segments - 1) * kSegment);  // all sealed segments, untrimmed yet
    CHECK(stats.backlogBytes == kSegment);
    bus.clock.advance(10s);
    stats = ackmq::testing::storeStats(bus.broker);
    CHECK(stats.reclaimedSegments == segments - 3);
    CHECK(stats.retainedConsumedBytes == 2 * kSegment);
    CHECK(stats.segments == 3);
    CHECK(stats.residentSegments == 4);  // with the spare
  }

  TEST_CASE(
      "history a push consumer catches up on is trimmed once it falls idle, with no segment opened and "
      "no clean-up" *
      doctest::timeout(30)) {
    Bus bus(smallHistory(2));
    bus.commit("g", 0);
    for (int i = 0; i < 300; ++i)
      bus.send();
    const std::size_t segments = ackmq::testing::storeStats(bus.broker).segments;
    REQUIRE(segments > 5);
    ackmq::testing::ManualPushConsumer consumer(bus.broker, "g");
    std::atomic<int> consumed{0};
    consumer.subscribe("T", "*");
    consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
        [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
          consumed += static_cast<int>(msgs.size());
          return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
        }});
    consumer.start();
    REQUIRE(ackmq::testing::awaitIdle(consumer));
    CHECK(consumed.load() == 300);
    CHECK(bus.broker.queryConsumerOffset("g", bus.q) == 300);
    const auto stats = ackmq::testing::storeStats(bus.broker);
    CHECK(stats.reclaimedSegments == segments - 3);
    CHECK(stats.retainedConsumedBytes == 2 * kSegment);
    CHECK(stats.backlogBytes == kSegment);
    consumer.shutdown();
  }

  TEST_CASE("a store no group tracks counts nothing consumed and keeps every message up to its bound" *
            doctest::timeout(10)) {
    Bus bus(smallHistory(1));
    for (int i = 0; i < 300; ++i)
      bus.send();
    bus.clock.advance(10s);
    const auto stats = ackmq::testing::storeStats(bus.broker);
    CHECK(stats.reclaimedSegments == 0);
    CHECK(stats.retainedConsumedBytes == 0);
    CHECK(bus.broker.minOffset(bus.q) == 0);
  }

  TEST_CASE("viewMessage of a message whose history was reclaimed finds nothing, by either id" *
            doctest::timeout(10)) {
    Bus bus(smallHistory(1));
    bus.commit("g", 0);
    const auto first = bus.send();
    bus.keepUp("g");
    REQUIRE(bus.broker.viewMessage(first.getMsgId()).has_value());
    REQUIRE(bus.broker.viewMessage(first.getOffsetMsgId()).has_value());
    ackmq::SendResult last;
    for (int i = 0; i < 100; ++i) {
      last = bus.send();
      bus.keepUp("g");
    }
    CHECK(bus.broker.minOffset(bus.q) > 0);
    CHECK_FALSE(bus.broker.viewMessage(first.getMsgId()).has_value());
    CHECK_FALSE(bus.broker.viewMessage(first.getOffsetMsgId()).has_value());
    const auto kept = bus.broker.viewMessage(last.getMsgId());
    REQUIRE(kept.has_value());
    CHECK(kept->getQueueOffset() == 100);
  }

  TEST_CASE("a history bound below one segment is refused, naming the field" * doctest::timeout(10)) {
    ackmq::ManualClock clock;
    ackmq::BrokerConfig c = smallHistory(1);
    c.maxConsumedHistoryBytes = kSegment - 1;
    try {
      ManualBroker b(clock, c);
      FAIL("the broker accepted a history bound below one segment");
    } catch (const ackmq::MQClientException& e) {
      CHECK(std::string(e.what()).find("maxConsumedHistoryBytes") != std::string::npos);
    }
    c.maxConsumedHistoryBytes = kSegment;
    CHECK_NOTHROW(ManualBroker(clock, c));
  }

  TEST_CASE("the pages of a freed large segment go back to the system, whatever the allocator keeps" *
            doctest::timeout(30) * doctest::skip(kOwnAllocator)) {
    // glibc raises its mmap threshold to the size of each large block freed; blocks below it then come
    // from its heap, which keeps them once freed when something small lives above them. Round one frees
    // large blocks, round two's smaller segments land in the heap between small allocations.
    {
      ackmq::detail::CommitLog<std::string> log(std::size_t{8} << 20);
      log.openSegment(100);
      log.openSegment(100);
      log.popOldest();
      log.popOldest();
    }
    constexpr std::size_t kBig = std::size_t{2} << 20;
    constexpr int kSegments = 8;
    std::vector<std::unique_ptr<char[]>> between;
    const std::uint64_t before = residentBytes();
    ackmq::detail::CommitLog<std::string> log(kBig);
    for (int i = 0; i < kSegments; ++i) {
      log.openSegment(100);
      std::memset(log.active().data.get(), 1, kBig);  // every page resident
      between.push_back(std::make_unique<char[]>(64));
    }
    const std::uint64_t filled = residentBytes();
    CHECK(filled >= before + (kSegments - 1) * kBig);
    for (int i = 0; i < kSegments; ++i)
      log.popOldest();
    CHECK(log.hasSpare());
    // All but the spare are returned.
    const std::uint64_t after = residentBytes();
    CHECK_MESSAGE(after <= before + 2 * kBig,
                  "resident before " << before << ", filled " << filled << ", after " << after);
  }
}
