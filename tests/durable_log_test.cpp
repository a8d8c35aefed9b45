// The durable store's files: CRC-32C; the segment log's records and its recovery after torn writes, power
// cuts, damaged bytes, failed writes and syncs, and a process killed while it appends; a stored message's
// encoding in a record; group commit; the state files
// replaced atomically; the store directory's lock, format version and abort file.
#include <ackmq/detail/durable/segment_log.hpp>

#include <ackmq/detail/durable/crc32c.hpp>
#include <ackmq/detail/durable/file_system.hpp>
#include <ackmq/detail/durable/group_commit.hpp>
#include <ackmq/detail/durable/record_codec.hpp>
#include <ackmq/detail/durable/simulated_file_system.hpp>
#include <ackmq/detail/durable/state_file.hpp>
#include <ackmq/detail/durable/store_directory.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using ackmq::detail::crc32c;
using ackmq::detail::crc32cPortable;
using ackmq::detail::DurableMessage;
using ackmq::detail::DurableMessageCodec;
using ackmq::detail::GroupCommitter;
using ackmq::detail::PosixFileSystem;
using ackmq::detail::SegmentLog;
using ackmq::detail::SimulatedFileSystem;
using ackmq::detail::StateFile;
using ackmq::detail::StoreDirectory;

namespace {

constexpr std::uint64_t kSegment = 4096;
const std::string kDir = "/store/commitlog";

std::vector<std::byte> payloadOf(int i) {
  // Sizes vary from 0 to 299 bytes, contents with the record's number, so a record read back is checkable.
  std::vector<std::byte> p(static_cast<std::size_t>(i * 37 % 300));
  for (std::size_t k = 0; k < p.size(); ++k)
    p[k] = static_cast<std::byte>((static_cast<std::size_t>(i) * 131 + k) & 0xFF);
  return p;
}

std::vector<std::vector<std::byte>> readAll(const SegmentLog& log) {
  std::vector<std::vector<std::byte>> out;
  log.forEach(0, [&](std::int64_t, std::span<const std::byte> p) { out.emplace_back(p.begin(), p.end()); });
  return out;
}

// Every record read back is the one appended with its index, and they come in order.
void checkPrefix(const std::vector<std::vector<std::byte>>& got, std::size_t atLeast, std::size_t atMost) {
  REQUIRE(got.size() >= atLeast);
  REQUIRE(got.size() <= atMost);
  for (std::size_t i = 0; i < got.size(); ++i)
    REQUIRE(got[i] == payloadOf(static_cast<int>(i)));
}

std::string segmentPath(std::int64_t base) {
  return kDir + "/" + SegmentLog::fileName(base);
}

}  // namespace

TEST_CASE("CRC-32C matches the published check value and the table path matches the hardware path") {
  const char* check = "123456789";
  CHECK(crc32c(0, check, 9) == 0xE3069283u);
  CHECK(crc32cPortable(0, check, 9) == 0xE3069283u);
  CHECK(crc32c(0, nullptr, 0) == 0u);
  std::mt19937 random(7);
  std::vector<unsigned char> data(1000);
  for (auto& b : data)
    b = static_cast<unsigned char>(random());
  for (std::size_t n : {1u, 7u, 8u, 9u, 63u, 1000u}) {
    CHECK(crc32c(0, data.data(), n) == crc32cPortable(0, data.data(), n));
    // Extending in two steps gives the value of one.
    CHECK(crc32c(crc32c(0, data.data(), n / 2), data.data() + n / 2, n - n / 2) == crc32c(0, data.data(), n));
  }
}

TEST_CASE("records appended and flushed are read back, in order, after the log is reopened") {
  SimulatedFileSystem fs;
  std::vector<std::int64_t> positions;
  {
    SegmentLog log(fs, kDir, kSegment);
    const auto r = log.open();
    CHECK(r.records == 0);
    CHECK(r.end == 0);
    for (int i = 0; i < 200; ++i)
      positions.push_back(log.append(payloadOf(i)));
    log.flush();
    CHECK(log.flushedEnd() == log.writtenEnd());
    CHECK(log.segmentCount() > 5);  // the records span segments
    CHECK(log.read(positions[42]) == payloadOf(42));
  }
  SegmentLog log(fs, kDir, kSegment);
  const auto r = log.open();
  CHECK(r.records == 200);
  CHECK(r.bytesTruncated == 0);
  checkPrefix(readAll(log), 200, 200);
  for (int i : {0, 99, 199})
    CHECK(log.read(positions[static_cast<std::size_t>(i)]) == payloadOf(i));
  // Appends go on after the last record.
  const std::int64_t next = log.append(payloadOf(200));
  CHECK(next == r.end);
}

TEST_CASE("a record never spans two segments, and one larger than a segment is refused") {
  SimulatedFileSystem fs;
  SegmentLog log(fs, kDir, kSegment);
  log.open();
  std::vector<std::byte> big(3000);
  const std::int64_t a = log.append(big);
  const std::int64_t b = log.append(big);  // 3024 + 3024 > 4096: the second starts the next segment
  CHECK(a == 0);
  CHECK(b == static_cast<std::int64_t>(kSegment));
  std::vector<std::byte> tooBig(kSegment);
  CHECK_THROWS_WITH_AS(log.append(tooBig), doctest::Contains("does not fit a CommitLog segment"),
                       std::length_error);
  CHECK(log.writtenEnd() == b + static_cast<std::int64_t>(SegmentLog::recordBytes(3000)));
}

TEST_CASE("a power cut keeps every flushed record and at most a clean prefix of the rest") {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    SimulatedFileSystem fs;
    std::size_t flushed = 0;
    {
      SegmentLog log(fs, kDir, kSegment);
      log.open();
      int i = 0;
      for (; i < 60; ++i)
        log.append(payloadOf(i));
      log.flush();
      flushed = 60;
      for (; i < 90; ++i)
        log.append(payloadOf(i));  // not flushed: a power cut may keep any prefix, the last torn
    }
    fs.powerCut(seed);
    SegmentLog log(fs, kDir, kSegment);
    const auto r = log.open();
    checkPrefix(readAll(log), flushed, 90);
    CHECK(r.records == readAll(log).size());
    // The cut tail is zeros now: a second power cut and recovery find the same records.
    fs.powerCut(seed + 1000);
    SegmentLog again(fs, kDir, kSegment);
    const auto r2 = again.open();
    CHECK(r2.records == r.records);
    CHECK(r2.bytesTruncated == 0);
  }
}

TEST_CASE("a flipped byte in the last record is caught by the CRC and the record is cut") {
  SimulatedFileSystem fs;
  std::int64_t last = 0;
  {
    SegmentLog log(fs, kDir, kSegment);
    log.open();
    for (int i = 0; i < 10; ++i)
      last = log.append(payloadOf(i + 1));  // payloadOf(10) is 70 bytes, so the flip lands in it
    log.flush();
  }
  auto& bytes = fs.bytes(segmentPath(0));
  bytes[static_cast<std::size_t>(last) + SegmentLog::kHeaderBytes + 5] ^= 0x01;
  SegmentLog log(fs, kDir, kSegment);
  const auto r = log.open();
  CHECK(r.records == 9);
  CHECK(r.end == last);
  CHECK(r.bytesTruncated > 0);
  CHECK(log.append(payloadOf(99)) == last);  // the next record takes the damaged one's place
}

TEST_CASE("a well-formed record in the wrong place is not taken for a record") {
  SimulatedFileSystem fs;
  std::int64_t second = 0;
  {
    SegmentLog log(fs, kDir, kSegment);
    log.open();
    log.append(payloadOf(5));
    second = log.append(payloadOf(5));  // the same bytes but its own position
    log.flush();
  }
  // Move the first record's bytes over the second: magic, sizes and CRC are right, the position is not.
  auto& bytes = fs.bytes(segmentPath(0));
  const auto size = static_cast<std::ptrdiff_t>(SegmentLog::recordBytes(payloadOf(5).size()));
  std::copy(bytes.begin(), bytes.begin() + size, bytes.begin() + static_cast<std::ptrdiff_t>(second));
  SegmentLog log(fs, kDir, kSegment);
  const auto r = log.open();
  CHECK(r.records == 1);
  CHECK(r.end == second);
}

TEST_CASE("damage inside an earlier segment cuts the log there, later segments included") {
  SimulatedFileSystem fs;
  std::vector<std::int64_t> positions;
  {
    SegmentLog log(fs, kDir, kSegment);
    log.open();
    for (int i = 0; i < 100; ++i)
      positions.push_back(log.append(payloadOf(i)));
    log.flush();
    REQUIRE(log.segmentCount() > 3);
  }
  // Damage the third record of segment 0: what follows it cannot be told from a power cut's leftovers.
  auto& bytes = fs.bytes(segmentPath(0));
  bytes[static_cast<std::size_t>(positions[2]) + 9] ^= 0xFF;
  {
    SegmentLog log(fs, kDir, kSegment);
    const auto r = log.open();
    CHECK(r.records == 2);
    CHECK(r.end == positions[2]);
    CHECK(r.bytesTruncated > kSegment);  // the rest of segment 0 and the segments after it
    CHECK(log.segmentCount() == 1);
    checkPrefix(readAll(log), 2, 2);
    CHECK(log.append(payloadOf(2)) == positions[2]);
    log.flush();
  }
  SegmentLog log(fs, kDir, kSegment);
  CHECK(log.open().records == 3);
}

TEST_CASE("a power cut that keeps a newer segment's writes but not an older one's tail leaves no hole") {
  SimulatedFileSystem fs;
  {
    SegmentLog log(fs, kDir, kSegment);
    log.open();
    for (int i = 0; i < 60; ++i)
      log.append(payloadOf(i));
    log.flush();
  }
  // Unflushed records 60.. reach into a new segment. Then segment 0's unflushed tail is lost while the
  // newer segment keeps everything: exactly what per-file write-back can do.
  std::int64_t firstOfNew = -1;
  std::size_t lastOfOld = 0;
  {
    SegmentLog log(fs, kDir, kSegment);
    log.open();
    for (int i = 60; firstOfNew < 0; ++i) {
      const std::int64_t p = log.append(payloadOf(i));
      if (p >= static_cast<std::int64_t>(kSegment)) {
        firstOfNew = p;
      } else {
        lastOfOld = static_cast<std::size_t>(p);
      }
    }
    fs.bytes(segmentPath(static_cast<std::int64_t>(kSegment)));  // exists
  }
  auto& old = fs.bytes(segmentPath(0));
  std::fill(old.begin() + static_cast<std::ptrdiff_t>(lastOfOld), old.end(), 0);  // the old tail lost
  SegmentLog log(fs, kDir, kSegment);
  const auto r = log.open();
  CHECK(r.end == static_cast<std::int64_t>(lastOfOld));
  CHECK(log.segmentCount() == 1);
  const auto got = readAll(log);
  checkPrefix(got, got.size(), got.size());
}

TEST_CASE("a failed write stores nothing, and the next append takes its place") {
  SimulatedFileSystem fs;
  SegmentLog log(fs, kDir, kSegment);
  log.open();
  log.append(payloadOf(0));
  const std::int64_t end = log.writtenEnd();
  fs.failNextWrites(1, ENOSPC);
  try {
    log.append(payloadOf(1));
    FAIL("the append should have thrown");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == ENOSPC);
    CHECK(std::string(e.what()).find("pwrite") != std::string::npos);
  }
  CHECK(log.writtenEnd() == end);
  CHECK(log.append(payloadOf(1)) == end);
  log.flush();
  SegmentLog reopened(fs, kDir, kSegment);
  CHECK(reopened.open().records == 2);
  checkPrefix(readAll(reopened), 2, 2);
}

TEST_CASE("a failed flush breaks the log: nothing more is promised durable") {
  SimulatedFileSystem fs;
  SegmentLog log(fs, kDir, kSegment);
  log.open();
  log.append(payloadOf(0));
  fs.failNextSyncs(1, EIO);
  CHECK_THROWS_AS(log.flush(), std::system_error);
  CHECK(log.flushedEnd() == 0);
  CHECK_THROWS_WITH_AS(log.append(payloadOf(1)), doctest::Contains("failed to flush"), std::system_error);
  CHECK_THROWS_AS(log.flush(), std::system_error);
}

TEST_CASE("a segment file of the wrong size is refused with its name, and a last one cut short is restored") {
  SimulatedFileSystem fs;
  {
    SegmentLog log(fs, kDir, kSegment);
    log.open();
    for (int i = 0; i < 3; ++i)
      log.append(std::vector<std::byte>(3000));  // one segment each
    log.flush();
  }
  // The last segment created but its size lost (a power cut before it was synced): it is grown back,
  // and having no record, it is dropped.
  fs.bytes(segmentPath(2 * static_cast<std::int64_t>(kSegment))).clear();
  {
    SegmentLog log(fs, kDir, kSegment);
    CHECK(log.open().records == 2);
    CHECK(log.segmentCount() == 2);
  }
  // An earlier segment of the wrong size is damage the log cannot place: refused.
  fs.bytes(segmentPath(0)).resize(kSegment / 2);
  SegmentLog log(fs, kDir, kSegment);
  CHECK_THROWS_WITH_AS(log.open(), doctest::Contains("00000000000000000000"), std::runtime_error);
  CHECK_THROWS_AS(SegmentLog(fs, kDir, 1000), std::invalid_argument);
}

TEST_CASE("a process killed while it appends loses no record whose append returned" * doctest::timeout(60)) {
  char pattern[] = "/tmp/ackmq-durable-XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  REQUIRE(dir != nullptr);
  const std::string root = dir;
  std::mt19937 random(11);
  for (int round = 0; round < 5; ++round) {
    CAPTURE(round);
    const std::string logDir = root + "/round" + std::to_string(round);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(fds[0]);
      PosixFileSystem fs;
      SegmentLog log(fs, logDir, 64 * 1024);
      log.open();
      for (int i = 0;; ++i) {
        log.append(payloadOf(i));
        if (i % 16 == 15) log.flush();
        const int done = i + 1;  // reported only once the append returned
        if (::write(fds[1], &done, sizeof done) != sizeof done) std::_Exit(1);
      }
    }
    ::close(fds[1]);
    // Let the child get some way (a random number of reported appends), then kill it mid-stride.
    const int target = 200 + static_cast<int>(random() % 2000);
    int reported = 0;
    int got = 0;
    while (reported < target && ::read(fds[0], &got, sizeof got) == sizeof got)
      reported = got;
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    while (::read(fds[0], &got, sizeof got) == sizeof got)  // what it reported before it died
      reported = got;
    ::close(fds[0]);
    REQUIRE(WIFSIGNALED(status));
    PosixFileSystem fs;
    SegmentLog log(fs, logDir, 64 * 1024);
    log.open();
    const auto all = readAll(log);
    checkPrefix(all, static_cast<std::size_t>(reported), static_cast<std::size_t>(reported) + 1);
  }
  std::filesystem::remove_all(root);
}

namespace {

std::vector<std::byte> bytesOf(const std::string& text) {
  std::vector<std::byte> out(text.size());
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

}  // namespace

TEST_CASE("a state file is replaced whole: a crash before the rename leaves the old content") {
  SimulatedFileSystem fs;
  fs.createDirectories("/store/config");
  StateFile f(fs, "/store/config", "consumerOffset", 1);
  CHECK_FALSE(f.read().has_value());
  f.write(bytesOf("first"));
  REQUIRE(f.read().has_value());
  CHECK(*f.read() == bytesOf("first"));
  f.write(bytesOf("second, longer"));
  CHECK(*f.read() == bytesOf("second, longer"));
  // A crash after the new version went to the temporary file but before the rename.
  {
    auto tmp = fs.open("/store/config/consumerOffset.tmp", true);
    const auto junk = bytesOf("half of a new version");
    tmp->writeAt(0, junk.data(), junk.size());
  }
  fs.powerCut(3);
  CHECK(*f.read() == bytesOf("second, longer"));
  f.write(bytesOf("third"));  // the stale temporary file is simply replaced
  CHECK(*f.read() == bytesOf("third"));
}

TEST_CASE("a damaged state file, or one of a newer format, is refused with its name") {
  SimulatedFileSystem fs;
  fs.createDirectories("/store");
  StateFile f(fs, "/store", "delayOffset", 1);
  f.write(bytesOf("level 3 at 42"));
  fs.bytes("/store/delayOffset")[StateFile::kHeaderBytes + 2] ^= 0x40;
  CHECK_THROWS_WITH_AS(f.read(), doctest::Contains("/store/delayOffset is damaged"), std::runtime_error);
  StateFile newer(fs, "/store", "delayOffset", 2);
  newer.write(bytesOf("a later layout"));
  CHECK_THROWS_WITH_AS(f.read(), doctest::Contains("newer version of ackmq (format 2"), std::runtime_error);
  CHECK(*newer.read() == bytesOf("a later layout"));
}

TEST_CASE("one store serves one broker: a second open is refused until the first lets go") {
  SimulatedFileSystem fs;
  {
    StoreDirectory first(fs, "/var/lib/app/mq");
    CHECK(first.lastExitClean());
    CHECK_THROWS_WITH_AS(StoreDirectory(fs, "/var/lib/app/mq"),
                         doctest::Contains("is open in another broker"), std::runtime_error);
    first.markCleanShutdown();
  }
  StoreDirectory again(fs, "/var/lib/app/mq");
  CHECK(again.lastExitClean());
}

TEST_CASE("a broker that ends without a clean shutdown is known as crashed at the next open") {
  SimulatedFileSystem fs;
  { StoreDirectory crashed(fs, "/mq"); }  // no markCleanShutdown: as if killed
  {
    StoreDirectory next(fs, "/mq");
    CHECK_FALSE(next.lastExitClean());
    next.markCleanShutdown();
  }
  StoreDirectory after(fs, "/mq");
  CHECK(after.lastExitClean());
}

TEST_CASE("a store written by a newer format version is refused before anything is read") {
  SimulatedFileSystem fs;
  fs.createDirectories("/mq");
  StateFile(fs, "/mq", "format", StoreDirectory::kFormatVersion + 1).write({});
  CHECK_THROWS_WITH_AS(StoreDirectory(fs, "/mq"), doctest::Contains("newer version of ackmq"),
                       std::runtime_error);
}

TEST_CASE("on real files: the lock holds within the process, and a root that cannot be created is named") {
  char pattern[] = "/tmp/ackmq-store-XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  REQUIRE(dir != nullptr);
  const std::string root = dir;
  PosixFileSystem fs;
  {
    StoreDirectory first(fs, root + "/mq");
    CHECK_THROWS_WITH_AS(StoreDirectory(fs, root + "/mq"), doctest::Contains("is open in another broker"),
                         std::runtime_error);
  }
  { StoreDirectory reopened(fs, root + "/mq"); }
  // A path through a regular file cannot be a directory, whoever runs the test.
  { auto plain = fs.open(root + "/plain", true); }
  CHECK_THROWS_WITH_AS(StoreDirectory(fs, root + "/plain/mq"), doctest::Contains("cannot open the store at"),
                       std::runtime_error);
  std::filesystem::remove_all(root);
}

TEST_CASE("a stored message's every field survives its encoding, through the log and a reopen") {
  std::mt19937_64 random(5);
  const auto text = [&](std::size_t n) {
    std::string t(n, '\0');
    for (auto& c : t)
      c = static_cast<char>(random());
    return t;
  };
  std::vector<std::string> topics, tags, props, bodies;
  std::vector<DurableMessage> sent;
  for (int i = 0; i < 50; ++i) {
    topics.push_back(i % 7 == 0 ? "%RETRY%group" : "Orders" + std::to_string(i % 3));
    tags.push_back(i % 5 == 0 ? "" : text(static_cast<std::size_t>(i % 17)));
    props.push_back(text(static_cast<std::size_t>(i * 3 % 90)));
    bodies.push_back(text(i == 13 ? 100000 : static_cast<std::size_t>(i * 11 % 400)));
  }
  for (std::size_t i = 0; i < topics.size(); ++i) {
    DurableMessage m;
    m.topic = topics[i];
    m.queueId = static_cast<std::int32_t>(i % 4);
    m.flag = static_cast<std::int32_t>(random() % 1000) - 500;
    m.queueOffset = static_cast<std::int64_t>(i * 1000003);
    m.bornTimestamp = static_cast<std::int64_t>(random() >> 1);
    m.storeTimestamp = m.bornTimestamp + 3;
    m.reconsumeTimes = static_cast<std::int32_t>(i % 17);
    m.msgId = {random(), random()};
    m.tags = tags[i];
    m.properties = props[i];
    m.body = bodies[i];
    sent.push_back(m);
  }
  SimulatedFileSystem fs;
  {
    SegmentLog log(fs, kDir, 256 * 1024);
    log.open();
    std::vector<std::byte> buffer;
    for (const DurableMessage& m : sent) {
      buffer.clear();
      DurableMessageCodec::encode(m, buffer);
      CHECK(buffer.size() == DurableMessageCodec::encodedSize(m));
      log.append(buffer);
    }
    log.flush();
  }
  SegmentLog log(fs, kDir, 256 * 1024);
  REQUIRE(log.open().records == sent.size());
  std::size_t i = 0;
  log.forEach(0, [&](std::int64_t, std::span<const std::byte> payload) {
    const DurableMessage got = DurableMessageCodec::decode(payload);
    const DurableMessage& want = sent[i++];
    CHECK(got.topic == want.topic);
    CHECK(got.queueId == want.queueId);
    CHECK(got.flag == want.flag);
    CHECK(got.queueOffset == want.queueOffset);
    CHECK(got.bornTimestamp == want.bornTimestamp);
    CHECK(got.storeTimestamp == want.storeTimestamp);
    CHECK(got.reconsumeTimes == want.reconsumeTimes);
    CHECK(got.msgId == want.msgId);
    CHECK(got.tags == want.tags);
    CHECK(got.properties == want.properties);
    CHECK(got.body == want.body);
  });
  CHECK(i == sent.size());
}

TEST_CASE("bytes that are not one whole message encoding are refused, not misread") {
  DurableMessage m;
  m.topic = "Orders";
  m.body = "order 42";
  std::vector<std::byte> bytes;
  DurableMessageCodec::encode(m, bytes);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    CHECK_THROWS_WITH_AS(DurableMessageCodec::decode(std::span<const std::byte>(bytes.data(), cut)),
                         doctest::Contains("not a message this build can read"), std::runtime_error);
  }
  bytes.push_back(std::byte{0});
  CHECK_THROWS_WITH_AS(DurableMessageCodec::decode(bytes), doctest::Contains("bytes after the body"),
                       std::runtime_error);
  const std::string longTopic(70000, 't');
  m.topic = longTopic;
  CHECK_THROWS_WITH_AS(DurableMessageCodec::encodedSize(m), doctest::Contains("topic of 70000 bytes"),
                       std::length_error);
}

namespace {

// Spins (yielding) until `done()`: for a thread to reach a wait that only the test can release.
template <class F>
void until(F done) {
  while (!done())
    std::this_thread::yield();
}

}  // namespace

namespace {

// A log with a group committer and one record appended, which opened the segment (a sync of its own)
// so that a test can slow the disk down afterwards.
struct Committed {
  SimulatedFileSystem fs;
  SegmentLog log{fs, kDir, kSegment};
  std::mutex appendMutex;
  std::unique_ptr<GroupCommitter> commit;
  std::int64_t end = 0;

  Committed() {
    log.open();
    commit = std::make_unique<GroupCommitter>(log, appendMutex);
    end = appendOne(1);
  }
  std::int64_t appendOne(int i) {
    std::lock_guard lock(appendMutex);
    log.append(payloadOf(i));
    return log.writtenEnd();
  }
};

bool never() {
  return false;
}

}  // namespace

TEST_CASE("group commit: waiters that arrive during a flush share the next one" * doctest::timeout(30)) {
  Committed c;
  c.fs.holdSyncs();
  const std::uint64_t syncsBefore = c.fs.syncsStarted();
  std::thread first(
      [&] { CHECK(c.commit->awaitDurable(c.appendOne(0), never) == GroupCommitter::Outcome::DURABLE); });
  until([&] { return c.fs.syncsStarted() > syncsBefore; });  // its flush is in the disk
  std::vector<std::thread> later;
  for (int i = 2; i <= 4; ++i) {
    later.emplace_back(
        [&, i] { CHECK(c.commit->awaitDurable(c.appendOne(i), never) == GroupCommitter::Outcome::DURABLE); });
  }
  until([&] { return c.commit->waiting() == 4; });
  c.fs.releaseSyncs();
  first.join();
  for (auto& t : later)
    t.join();
  CHECK(c.commit->flushes() == 2);  // the first waiter's, then one for the three that came during it
  CHECK(c.log.flushedEnd() == c.log.writtenEnd());
  c.fs.powerCut(1);
  SegmentLog reopened(c.fs, kDir, kSegment);
  CHECK(reopened.open().records == 5);
}

TEST_CASE("group commit: a wait past its deadline ends with TIMED_OUT and the flush still completes" *
          doctest::timeout(30)) {
  Committed c;
  c.fs.holdSyncs();
  const std::uint64_t syncsBefore = c.fs.syncsStarted();
  std::thread first([&] { c.commit->awaitDurable(c.end, never); });
  until([&] { return c.fs.syncsStarted() > syncsBefore; });  // its flush is in the disk
  std::atomic<bool> deadline{false};
  GroupCommitter::Outcome outcome = GroupCommitter::Outcome::DURABLE;
  std::thread waiter([&] { outcome = c.commit->awaitDurable(c.end, [&] { return deadline.load(); }); });
  until([&] { return c.commit->waiting() == 2; });
  deadline = true;
  c.commit->poke();
  waiter.join();
  CHECK(outcome == GroupCommitter::Outcome::TIMED_OUT);  // FLUSH_DISK_TIMEOUT: stored, not yet durable
  CHECK(c.log.flushedEnd() < c.end);
  c.fs.releaseSyncs();
  first.join();
  CHECK(c.log.flushedEnd() == c.end);
}

TEST_CASE("group commit: a failed flush fails every waiter it covered, and every wait after it") {
  Committed c;
  c.fs.failNextSyncs(1, EIO);
  CHECK_THROWS_AS(c.commit->awaitDurable(c.end, never), std::system_error);
  CHECK_THROWS_AS(c.commit->awaitDurable(c.end, never), std::system_error);
  CHECK(c.log.flushedEnd() == 0);
  // Records made durable before the failure stay confirmed.
  CHECK(c.commit->awaitDurable(0, never) == GroupCommitter::Outcome::DURABLE);
}

TEST_CASE("bytes a power cut left far past the last record, beyond a run of zeros, are zeroed too") {
  SimulatedFileSystem fs;
  constexpr std::uint64_t kBig = 1 << 20;
  std::int64_t end = 0;
  {
    SegmentLog log(fs, kDir, kBig);
    log.open();
    for (int i = 0; i < 10; ++i)
      log.append(payloadOf(i));
    log.flush();
    end = log.writtenEnd();
  }
  // A later page of a write that never completed reached the disk; the pages between did not.
  auto& bytes = fs.bytes(segmentPath(0));
  const std::size_t stray = static_cast<std::size_t>(end) + 300 * 1024;
  std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(stray), 512, 0xAB);
  SegmentLog log(fs, kDir, kBig);
  const auto r = log.open();
  CHECK(r.records == 10);
  CHECK(r.end == end);
  const auto& after = fs.bytes(segmentPath(0));
  CHECK(std::all_of(after.begin() + end, after.end(), [](unsigned char b) { return b == 0; }));
}
