// The durable broker: BrokerConfig::storePathRootDir, what each flush type confirms, recovery after a clean
// shutdown, a killed process and a power cut, I/O errors, and a store that follows the memory it mirrors.
#include <ackmq/broker.hpp>

#include <doctest/doctest.h>

#include <ackmq/producer.hpp>
#include <ackmq/simple_consumer.hpp>
#include <ackmq/testing.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using ackmq::BrokerConfig;
using ackmq::FlushDiskType;
using ackmq::Message;
using ackmq::SendStatus;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;
using ackmq::testing::ManualSimpleConsumer;
using ackmq::testing::SimulatedFileSystem;

namespace {

constexpr const char* kRoot = "/store";

BrokerConfig durable(FlushDiskType type = FlushDiskType::ASYNC_FLUSH) {
  BrokerConfig c;
  c.storePathRootDir = kRoot;
  c.flushDiskType = type;
  c.maxMessageSize = 4096;
  c.mappedFileSizeCommitLog = 128 * 1024;
  return c;
}

// Spins (yielding) until `done()`: for work the committer's thread finishes on its own.
template <class F>
void until(F done) {
  while (!done())
    std::this_thread::yield();
}

// One broker on a simulated disk, with a producer; reopen() ends it (cleanly or not) and opens the next.
struct Disk {
  ackmq::ManualClock clock;
  SimulatedFileSystem fs;
  BrokerConfig config;
  std::unique_ptr<ManualBroker> broker;
  std::unique_ptr<ManualProducer> producer;

  explicit Disk(BrokerConfig c = durable()) : config(std::move(c)) { open(); }
  ~Disk() { close(); }

  void open() {
    broker = std::make_unique<ManualBroker>(clock, config, fs);
    producer = std::make_unique<ManualProducer>(*broker, "pg");
    producer->start();
  }
  void close() {
    if (producer) producer->shutdown();
    producer.reset();
    broker.reset();
  }
  void reopen() {
    close();
    open();
  }
  // As a killed process: the files keep what was written, nothing more is written.
  void kill() {
    ackmq::testing::abandonStore(*broker);
    reopen();
  }
  // As a power cut: only what was flushed is sure to survive.
  void powerCut(std::uint64_t seed) {
    fs.powerCut(seed);
    ackmq::testing::abandonStore(*broker);
    reopen();
  }
  ackmq::SendResult send(const std::string& body, const std::string& topic = "T") {
    return producer->send(Message(topic, "tag", body));
  }
  std::vector<ackmq::MessageExt> stored(const std::string& topic = "T") {
    return ackmq::testing::topicMessages(*broker, topic);
  }
  std::set<std::string> storedIds(const std::string& topic = "T") {
    std::set<std::string> ids;
    for (const auto& m : stored(topic))
      ids.insert(m.getMsgId());
    return ids;
  }
};

}  // namespace

TEST_SUITE("durable_broker") {
  TEST_CASE("the durable store's settings are checked at construction, naming the field") {
    ackmq::ManualClock clock;
    SimulatedFileSystem fs;
    auto refused = [&](BrokerConfig c, const std::string& field) {
      CAPTURE(field);
      try {
        ManualBroker b(clock, c, fs);
        FAIL("accepted");
      } catch (const ackmq::MQClientException& e) {
        CHECK(std::string(e.what()).find(field) != std::string::npos);
      }
    };
    BrokerConfig c = durable();
    c.syncFlushTimeout = 0ms;
    refused(c, "syncFlushTimeout");
    c = durable();
    c.flushIntervalCommitLog = 0ms;
    refused(c, "flushIntervalCommitLog");
    c = durable();
    c.flushCommitLogLeastPages = -1;
    refused(c, "flushCommitLogLeastPages");
    c = durable();
    c.flushConsumerOffsetInterval = 0ms;
    refused(c, "flushConsumerOffsetInterval");
    c = durable();
    c.mappedFileSizeCommitLog = 64 * 1024 + 4;
    refused(c, "mappedFileSizeCommitLog");
    c = durable();
    c.maxMessageSize = 1 << 20;
    refused(c, "mappedFileSizeCommitLog");  // a file must hold the largest message
    CHECK_FALSE(ManualBroker(clock).getRecoveryReport().durable);
  }

  TEST_CASE("after a clean shutdown every message, topic and committed offset is back, as it was") {
    Disk d;
    d.broker->createTopic("Wide", 8);
    std::vector<ackmq::SendResult> sent;
    for (int i = 0; i < 20; ++i) {
      Message m("T", "tag" + std::to_string(i % 3), "key" + std::to_string(i), "body " + std::to_string(i));
      m.putUserProperty("n", std::to_string(i));
      sent.push_back(d.producer->send(m));
      d.clock.advance(1ms);
    }
    std::vector<Message> batch{Message("B", "x", "one"), Message("B", "x", "two")};
    d.producer->send(batch);
    const auto before = d.stored();
    const ackmq::MessageQueue q0 = sent[0].getMessageQueue();
    d.broker->updateConsumerOffset("g", q0, 2);
    d.reopen();

    const auto& report = d.broker->getRecoveryReport();
    CHECK(report.durable);
    CHECK(report.cleanShutdown);
    CHECK(report.messagesRecovered == 22);
    CHECK(report.bytesTruncated == 0);
    CHECK(d.broker->fetchSubscribeMessageQueues("Wide").size() == 8);  // a topic with no message too
    const auto after = d.stored();
    REQUIRE(after.size() == before.size());
    for (std::size_t i = 0; i < before.size(); ++i) {
      CAPTURE(i);
      CHECK(after[i].getMsgId() == before[i].getMsgId());
      CHECK(after[i].getBody() == before[i].getBody());
      CHECK(after[i].getTags() == before[i].getTags());
      CHECK(after[i].getKeys() == before[i].getKeys());
      CHECK(after[i].getProperty("n") == before[i].getProperty("n"));
      CHECK(after[i].getQueueId() == before[i].getQueueId());
      CHECK(after[i].getQueueOffset() == before[i].getQueueOffset());
      CHECK(after[i].getStoreTimestamp() == before[i].getStoreTimestamp());
      CHECK(after[i].getBornTimestamp() == before[i].getBornTimestamp());
    }
    CHECK(d.stored("B").size() == 2);
    CHECK(d.broker->queryConsumerOffset("g", q0) == 2);
    CHECK(d.broker->viewMessage(sent[5].getMsgId()).has_value());
    // New messages go on after the old ones.
    const std::int64_t end = d.broker->maxOffset(q0);
    ackmq::SendResult next;
    do {
      next = d.send("later");
    } while (next.getMessageQueue() != q0);
    CHECK(next.getQueueOffset() == end);
  }

  TEST_CASE("a group resumes after the restart from its committed offset") {
    Disk d;
    for (int i = 0; i < 6; ++i)
      d.send("m" + std::to_string(i));
    for (const auto& mq : d.broker->fetchSubscribeMessageQueues("T"))
      d.broker->updateConsumerOffset("g", mq, d.broker->maxOffset(mq));
    d.send("after the commit");
    d.reopen();
    ManualSimpleConsumer c(*d.broker, "g");
    c.subscribe("T", "*");
    c.start();
    const auto got = c.receive(32, 30s);
    REQUIRE(got.size() == 1);
    CHECK(got[0].getBody() == "after the commit");
  }

  TEST_CASE("a killed process loses no confirmed message, and the next open knows it crashed") {
    Disk d;
    std::set<std::string> confirmed;
    for (int i = 0; i < 50; ++i)
      confirmed.insert(d.send("m" + std::to_string(i)).getMsgId());
    d.kill();
    CHECK_FALSE(d.broker->getRecoveryReport().cleanShutdown);
    CHECK(d.storedIds() == confirmed);
    d.reopen();
    CHECK(d.broker->getRecoveryReport().cleanShutdown);
  }

  TEST_CASE(
      "offsets written at the interval survive a kill, and later commits are replayed (at least once)") {
    Disk d;
    for (int i = 0; i < 4; ++i)
      d.send("m");
    const auto mq = d.broker->fetchSubscribeMessageQueues("T")[0];
    d.broker->updateConsumerOffset("g", mq, 1);
    d.clock.advance(d.config.flushConsumerOffsetInterval);  // written
    d.broker->updateConsumerOffset("g", mq, 2);             // not yet
    d.kill();
    CHECK(d.broker->queryConsumerOffset("g", mq) == 1);
  }

  TEST_CASE("ASYNC_FLUSH: a power cut loses only what the flusher had not flushed") {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
      CAPTURE(seed);
      Disk d;
      std::vector<std::string> early;
      for (int i = 0; i < 40; ++i)
        early.push_back(d.send(std::string(200, 'a')).getMsgId());
      const std::uint64_t flushes = ackmq::testing::commitLogFlushes(*d.broker);
      d.clock.advance(d.config.flushIntervalCommitLog);  // 40 records of ~300 B: more than 4 pages
      until([&] { return ackmq::testing::commitLogFlushes(*d.broker) > flushes; });
      std::vector<std::string> late;
      for (int i = 0; i < 40; ++i)
        late.push_back(d.send(std::string(200, 'b')).getMsgId());
      d.powerCut(seed);
      const auto ids = d.storedIds();
      for (const auto& id : early)
        CHECK(ids.count(id) == 1);
      CHECK(ids.size() >= early.size());
      CHECK(ids.size() <= early.size() + late.size());
      for (const auto& m : d.stored())  // whatever came back is whole
        CHECK(m.getBody().size() == 200);
    }
  }

  TEST_CASE("SYNC_FLUSH: a power cut loses no confirmed message, and sends share flushes" *
            doctest::timeout(60)) {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      CAPTURE(seed);
      Disk d(durable(FlushDiskType::SYNC_FLUSH));
      std::vector<std::string> confirmed;
      std::mutex mutex;
      std::vector<std::thread> senders;
      for (int t = 0; t < 4; ++t) {
        senders.emplace_back([&] {
          for (int i = 0; i < 25; ++i) {
            const auto r = d.send("m");
            REQUIRE(r.getSendStatus() == SendStatus::SEND_OK);
            std::lock_guard lock(mutex);
            confirmed.push_back(r.getMsgId());
          }
        });
      }
      for (auto& t : senders)
        t.join();
      CHECK(ackmq::testing::commitLogFlushes(*d.broker) <= 100);
      d.powerCut(seed);
      const auto ids = d.storedIds();
      CHECK(ids.size() == confirmed.size());
      for (const auto& id : confirmed)
        CHECK(ids.count(id) == 1);
    }
  }

  TEST_CASE(
      "SYNC_FLUSH: a flush slower than syncFlushTimeout answers FLUSH_DISK_TIMEOUT, and no consumer "
      "sees the message before it is durable" *
      doctest::timeout(60)) {
    BrokerConfig config = durable(FlushDiskType::SYNC_FLUSH);
    config.flushConsumerOffsetInterval = 1h;  // no state file write on the held disk meanwhile
    config.syncFlushTimeout = 1s;             // within the producer's sendMsgTimeout (3 s)
    Disk d(config);
    ManualSimpleConsumer c(*d.broker, "g");
    c.subscribe("T", "*");
    c.start();
    d.send("first");  // the file exists and is synced: the held sync below is the record's
    REQUIRE(c.receive(8, 30s).size() == 1);
    d.fs.holdSyncs();
    const std::uint64_t syncs = d.fs.syncsStarted();
    SendStatus status = SendStatus::SEND_OK;
    std::thread sender([&] { status = d.send("slow").getSendStatus(); });
    until([&] { return d.fs.syncsStarted() > syncs; });  // the flush is in the disk
    CHECK(c.receive(8, 30s).empty());
    d.clock.advance(d.config.syncFlushTimeout);
    sender.join();
    CHECK(status == SendStatus::FLUSH_DISK_TIMEOUT);
    CHECK(c.receive(8, 30s).empty());  // stored, not yet durable
    d.fs.releaseSyncs();
    decltype(c.receive(8, 30s)) got;
    until([&] {
      got = c.receive(8, 30s);
      return !got.empty();
    });
    CHECK(got[0].getBody() == "slow");
  }

  TEST_CASE("SYNC_FLUSH: an async send returns at once and its callback comes once the flush is done" *
            doctest::timeout(60)) {
    BrokerConfig config = durable(FlushDiskType::SYNC_FLUSH);
    config.flushConsumerOffsetInterval = 1h;  // no state file write on the held disk meanwhile
    config.syncFlushTimeout = 1s;
    Disk d(config);
    d.send("first");
    d.fs.holdSyncs();
    std::atomic<int> ok{0};
    std::atomic<int> timedOut{0};
    auto callback = [&] {
      ackmq::SendCallback cb;
      cb.onSuccess = [&](const ackmq::SendResult& r) {
        (r.getSendStatus() == SendStatus::SEND_OK ? ok : timedOut).fetch_add(1);
      };
      return cb;
    };
    for (int i = 0; i < 10; ++i)
      d.producer->send(Message("T", "", "async"), callback());  // returns with the disk held
    CHECK(ok.load() + timedOut.load() == 0);
    d.fs.releaseSyncs();
    until([&] { return ok.load() == 10; });
    // A flush that does not come in time: FLUSH_DISK_TIMEOUT, on the broker's clock.
    d.fs.holdSyncs();
    d.producer->send(Message("T", "", "late"), callback());
    d.clock.advance(config.syncFlushTimeout);
    until([&] { return timedOut.load() == 1; });
    d.fs.releaseSyncs();
    d.reopen();
    CHECK(d.stored().size() == 12);
  }

  TEST_CASE(
      "a message that does not wait for the store is confirmed before its flush, and flushed soon "
      "after without any other send" *
      doctest::timeout(60)) {
    Disk d(durable(FlushDiskType::SYNC_FLUSH));
    ManualSimpleConsumer c(*d.broker, "g");
    c.subscribe("T", "*");
    c.start();
    d.send("first");
    REQUIRE(c.receive(8, 30s).size() == 1);
    d.fs.holdSyncs();
    Message m("T", "", "no wait");
    m.setWaitStoreMsgOK(false);
    CHECK(d.producer->send(m).getSendStatus() == SendStatus::SEND_OK);
    CHECK(c.receive(8, 30s).empty());  // not durable yet
    d.fs.releaseSyncs();
    decltype(c.receive(8, 30s)) got;
    until([&] {
      got = c.receive(8, 30s);
      return !got.empty();
    });
    CHECK(got[0].getBody() == "no wait");
  }

  TEST_CASE("a write that fails stores nothing, names the CommitLog, and the broker goes on") {
    Disk d;
    d.send("before");
    d.fs.failNextWrites(3, ENOSPC);  // every attempt of one sync send
    try {
      d.send("lost");
      FAIL("the send succeeded");
    } catch (const ackmq::MQException& e) {
      CHECK(std::string(e.what()).find("CommitLog") != std::string::npos);
    }
    CHECK(d.stored().size() == 1);
    d.send("after");
    d.reopen();
    std::vector<std::string> bodies;
    for (const auto& m : d.stored())
      bodies.push_back(m.getBody());
    CHECK(bodies == std::vector<std::string>{"before", "after"});
  }

  TEST_CASE("a failed flush answers FLUSH_DISK_TIMEOUT, and the broker refuses to promise more") {
    Disk d(durable(FlushDiskType::SYNC_FLUSH));
    d.send("first");
    d.fs.failNextSyncs(1, EIO);
    CHECK(d.send("unsure").getSendStatus() == SendStatus::FLUSH_DISK_TIMEOUT);
    CHECK_THROWS_AS(d.send("refused"), ackmq::MQException);
  }

  TEST_CASE("a second broker on the same directory is refused while the first has it") {
    Disk d;
    try {
      ManualBroker second(d.clock, d.config, d.fs);
      FAIL("opened twice");
    } catch (const ackmq::MQClientException& e) {
      CHECK(std::string(e.what()).find("another broker") != std::string::npos);
    }
    d.send("still served");
    CHECK(d.stored().size() == 1);
  }

  TEST_CASE("the files follow memory: a file goes once memory has let go of every message in it") {
    BrokerConfig c = durable();
    c.commitLogSegmentBytes = 16 * 1024;
    c.maxConsumedHistoryBytes = 16 * 1024;
    c.maxStoreBytes = 64 * 1024;
    Disk d(c);
    std::size_t mostFiles = 0;
    for (int round = 0; round < 40; ++round) {
      for (int i = 0; i < 20; ++i)
        d.send(std::string(400, 'x'));
      for (const auto& mq : d.broker->fetchSubscribeMessageQueues("T"))
        d.broker->updateConsumerOffset("g", mq, d.broker->maxOffset(mq));
      mostFiles = std::max(mostFiles, d.fs.list(std::string(kRoot) + "/commitlog").size());
    }
    CHECK(mostFiles <= 3);  // 40 x 20 x ~500 B would be 3 MiB: 25 files of 128 KiB without removal
    const auto mq = d.broker->fetchSubscribeMessageQueues("T")[0];
    const std::int64_t max = d.broker->maxOffset(mq);
    d.reopen();
    CHECK(d.broker->maxOffset(mq) == max);
    CHECK(d.broker->minOffset(mq) > 0);
    CHECK(d.broker->queryConsumerOffset("g", mq) == max);
  }

  TEST_CASE("a body type with a BodyCodec is stored as its bytes, and one without is refused") {
    struct Order {
      int id = 0;
    };
    ackmq::ManualClock clock;
    SimulatedFileSystem fs;
    using OrderBroker = ackmq::BasicBroker<Order, ackmq::ManualClock>;
    CHECK_THROWS_AS(OrderBroker(clock, durable(), fs), ackmq::MQClientException);
    using Bytes = std::vector<unsigned char>;
    using BytesBroker = ackmq::BasicBroker<Bytes, ackmq::ManualClock>;
    {
      BytesBroker b(clock, durable(), fs);
      ackmq::BasicProducer<BytesBroker> p(b, "pg");
      p.start();
      p.send(ackmq::BasicMessage<Bytes>("T", "", Bytes{1, 2, 0, 255}));
      p.shutdown();
    }
    BytesBroker b(clock, durable(), fs);
    const auto stored = ackmq::testing::topicMessages(b, "T");
    REQUIRE(stored.size() == 1);
    CHECK(stored[0].getBody() == Bytes{1, 2, 0, 255});
  }

  TEST_CASE("a process killed while it sends loses no message it confirmed" * doctest::timeout(120)) {
    char pattern[] = "/tmp/ackmq-broker-XXXXXX";
    const char* dir = ::mkdtemp(pattern);
    REQUIRE(dir != nullptr);
    const std::string root = dir;
    std::mt19937 random(7);
    for (int round = 0; round < 4; ++round) {
      CAPTURE(round);
      BrokerConfig c = durable(round % 2 == 0 ? FlushDiskType::ASYNC_FLUSH : FlushDiskType::SYNC_FLUSH);
      c.storePathRootDir = root + "/round" + std::to_string(round);
      c.flushIntervalCommitLog = 1ms;
      int fds[2];
      REQUIRE(::pipe(fds) == 0);
      const pid_t child = ::fork();
      REQUIRE(child >= 0);
      if (child == 0) {
        ::close(fds[0]);
        ackmq::Broker broker(c);
        ackmq::Producer producer(broker, "pg");
        producer.start();
        std::mutex reportMutex;
        auto sendForever = [&](int thread) {
          for (int i = 0;; ++i) {
            const auto r = producer.send(Message("T", "", std::to_string(thread) + ":" + std::to_string(i)));
            if (r.getSendStatus() != SendStatus::SEND_OK) std::_Exit(2);
            char id[33] = {};
            std::snprintf(id, sizeof id, "%s", r.getMsgId().c_str());
            std::lock_guard lock(reportMutex);  // reported only once the send returned
            if (::write(fds[1], id, 32) != 32) std::_Exit(1);
          }
        };
        std::thread other(sendForever, 1);
        sendForever(0);
      }
      ::close(fds[1]);
      const int target = 100 + static_cast<int>(random() % 500);
      std::set<std::string> confirmed;
      char id[32];
      while (static_cast<int>(confirmed.size()) < target && ::read(fds[0], id, 32) == 32)
        confirmed.insert(std::string(id, 32));
      ::kill(child, SIGKILL);
      int status = 0;
      ::waitpid(child, &status, 0);
      while (::read(fds[0], id, 32) == 32)
        confirmed.insert(std::string(id, 32));
      ::close(fds[0]);
      REQUIRE(WIFSIGNALED(status));
      ackmq::Broker broker(c);
      CHECK_FALSE(broker.getRecoveryReport().cleanShutdown);
      std::map<std::string, int> count;
      for (const auto& m : ackmq::testing::topicMessages(broker, "T"))
        ++count[m.getMsgId()];
      for (const auto& i : confirmed)
        CHECK(count[i] == 1);
      for (const auto& [i, n] : count)
        CHECK(n == 1);  // nothing twice
    }
    std::filesystem::remove_all(root);
  }
}
