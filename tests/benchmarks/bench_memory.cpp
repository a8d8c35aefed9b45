// Scenarios memory and memory_passed. memory: resident bytes per retained message, ackmq's broker vs a
// std::deque<std::string> of the same bodies. memory_passed: resident memory once N messages have passed
// through a consumer, ackmq's broker at the defaults vs moodycamel's queue and ZeroMQ inproc PUSH/PULL. Each
// measurement runs in a fresh child process (fork, then exec of this binary with
// --memory-child), so neither the other system nor the earlier scenarios' allocator state (free lists,
// arenas, pages the heap kept) can make a fill cheaper or dearer. The child keeps its container alive while
// it reads /proc/self/statm, and sends the number back through a pipe.

#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.hpp"
#include "peers.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

/// Resident bytes of this process: resident pages (second field of /proc/self/statm) x page size.
std::uint64_t residentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  check(f != nullptr, "cannot open /proc/self/statm");
  unsigned long long size = 0;
  unsigned long long resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  check(got == 2, "cannot parse /proc/self/statm");
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

/// Runs `system` in a child process; returns its resident bytes per message.
double measureInChild(const std::string& system, std::size_t n) {
  int fds[2];
  check(pipe(fds) == 0, std::string("pipe: ") + std::strerror(errno));
  std::fflush(stdout);
  const pid_t pid = fork();
  check(pid >= 0, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    const std::string count = std::to_string(n);
    const std::string fd = std::to_string(fds[1]);
    execl("/proc/self/exe", "ackmq_bench", "--memory-child", system.c_str(), count.c_str(), fd.c_str(),
          static_cast<char*>(nullptr));
    std::fprintf(stderr, "ackmq_bench: exec /proc/self/exe failed: %s\n", std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  std::string reply;
  char buf[256];
  for (;;) {
    const ssize_t got = read(fds[0], buf, sizeof buf);
    if (got > 0) {
      reply.append(buf, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  check(waitpid(pid, &status, 0) == pid, std::string("waitpid: ") + std::strerror(errno));
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "the " + system + " child failed (status " + std::to_string(status) + "), reply: " + reply);
  double before = 0;
  double after = 0;
  double perMessage = 0;
  check(std::sscanf(reply.c_str(), "%lf %lf %lf", &perMessage, &before, &after) == 3,
        "unreadable reply from the " + system + " child: " + reply);
  std::printf("    (%s child: RSS %.1f MiB before filling, %.1f MiB after)\n", system.c_str(),
              before / 1048576.0, after / 1048576.0);
  return perMessage;
}

}  // namespace

int memoryChild(const char* system, const char* count, const char* fdText) {
  currentScenario() = std::string("memory (") + system + " child)";
  const std::size_t n = std::strtoull(count, nullptr, 10);
  const int fd = std::atoi(fdText);
  check(n > 0 && fd > 2, "bad --memory-child arguments");
  const std::string which = system;

  std::uint64_t before = 0;
  std::uint64_t after = 0;
  if (which == "ackmq") {
    // The default BrokerConfig (1 GiB store) holds 1M messages; no consumer, so all stay retained.
    ackmq::Broker broker;
    broker.createTopic("Bench", 4);
    ackmq::Producer producer(broker, "bench-producer");
    producer.start();
    before = residentBytes();
    std::uint64_t notOk = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (producer.send(ackmq::Message("Bench", "", makeBody())).getSendStatus() !=
          ackmq::SendStatus::SEND_OK)
        ++notOk;
    }
    after = residentBytes();  // the broker is still alive
    checkCount(notOk, 0, "ackmq sends not SEND_OK");
    checkCount(ackmq::testing::storeStats(broker).storedMessages, n, "ackmq storeStats.storedMessages");
    checkCount(ackmq::testing::storeStats(broker).reclaimedSegments, 0, "ackmq segments reclaimed");
  } else if (which == "ackmq-passed") {
    // The default BrokerConfig, one push consumer with one listener thread consuming every message: what
    // stays resident is the backlog (none at the end) and the consumed history maxConsumedHistoryBytes keeps.
    ackmq::Broker broker;
    broker.createTopic("Bench", 4);
    ackmq::Producer producer(broker, "bench-producer");
    ackmq::PushConsumer consumer(broker, "bench-passed");
    consumer.subscribe("Bench", "*");
    consumer.setConsumeThreadMin(1);
    consumer.setConsumeThreadMax(1);
    Completion received(n);
    consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
        [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
          received.arrive(msgs.size());
          return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
        }});
    producer.start();
    consumer.start();
    before = residentBytes();
    std::uint64_t notOk = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (producer.send(ackmq::Message("Bench", "", makeBody())).getSendStatus() !=
          ackmq::SendStatus::SEND_OK)
        ++notOk;
    }
    check(received.wait(kRunTimeout), "ackmq consumer timed out: " + std::to_string(received.count()) +
                                          " of " + std::to_string(n) + " delivered");
    check(ackmq::testing::awaitIdle(consumer, kRunTimeout), "ackmq consumer did not become idle");
    after = residentBytes();  // the broker and the consumer are still alive
    checkCount(notOk, 0, "ackmq sends not SEND_OK");
    checkCount(received.count(), n, "ackmq messages received by the listener");
  } else if (which == "moodycamel-passed") {
#ifdef ACKMQ_BENCH_HAVE_MOODYCAMEL
    moodycamel::BlockingConcurrentQueue<std::string> queue;
    std::uint64_t badBodies = 0;
    before = residentBytes();
    std::thread receiver([&] {
      std::string b;
      for (std::size_t i = 0; i < n; ++i) {
        queue.wait_dequeue(b);
        if (b.size() != kBodyBytes) ++badBodies;
      }
    });
    for (std::size_t i = 0; i < n; ++i)
      queue.enqueue(makeBody());
    receiver.join();
    after = residentBytes();  // the queue is still alive
    checkCount(badBodies, 0, "moodycamel bodies of the wrong size");
#else
    fail(kNoMoodycamel);
#endif
  } else if (which == "zmq-passed") {
#ifdef ACKMQ_BENCH_HAVE_ZMQ
    zmq::context_t ctx(1);
    zmq::socket_t pull(ctx, zmq::socket_type::pull);
    pull.set(zmq::sockopt::rcvhwm, 0);
    pull.bind("inproc://bench-memory");
    zmq::socket_t push(ctx, zmq::socket_type::push);
    push.set(zmq::sockopt::sndhwm, 0);
    push.connect("inproc://bench-memory");
    std::uint64_t badBodies = 0;
    before = residentBytes();
    std::thread receiver([&] {
      zmq::message_t msg;
      for (std::size_t i = 0; i < n; ++i) {
        if (!pull.recv(msg, zmq::recv_flags::none) || msg.size() != kBodyBytes) ++badBodies;
      }
    });
    for (std::size_t i = 0; i < n; ++i) {
      const std::string b = makeBody();
      push.send(zmq::buffer(b), zmq::send_flags::none);
    }
    receiver.join();
    after = residentBytes();  // the sockets are still open
    checkCount(badBodies, 0, "zmq bodies of the wrong size");
#else
    fail(kNoZmq);
#endif
  } else if (which == "deque") {
    std::deque<std::string> bodies;
    before = residentBytes();
    for (std::size_t i = 0; i < n; ++i)
      bodies.push_back(makeBody());
    after = residentBytes();  // the deque is still alive
    checkCount(bodies.size(), n, "deque size");
    checkCount(bodies.back().size(), kBodyBytes, "deque body size");
  } else {
    fail("unknown memory child system " + which);
  }

  char reply[128];
  const int len =
      std::snprintf(reply, sizeof reply, "%.3f %llu %llu\n",
                    (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(n),
                    static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
  check(len > 0 && write(fd, reply, static_cast<std::size_t>(len)) == len, "cannot write the reply");
  // Skip the teardown of a million messages: the parent only needs the number.
  std::fflush(stdout);
  _exit(0);
}

void runMemory(const Options& opt) {
  const std::size_t n = scaled(1'000'000, opt);
  heading("memory", "resident bytes per retained 100-byte message, " + std::to_string(n) + " messages");
  std::printf(
      "  ackmq: Broker (default BrokerConfig), sync send to topic Bench (4 queues), no consumer; peer: "
      "std::deque<std::string> push_back of the same bodies\n");
  std::printf(
      "  each measurement in a fresh child process (fork + exec): (RSS after filling - RSS before) / "
      "messages, from /proc/self/statm; lower is better\n");

  const std::vector<Contender> contenders = {
      {"ackmq",
       [n](int) {
         return Sample{{"bytes_per_message", measureInChild("ackmq", n)}};
       },
       /*warmUp=*/false},
      {"deque",
       [n](int) {
         return Sample{{"bytes_per_message", measureInChild("deque", n)}};
       },
       /*warmUp=*/false},
  };
  const Results r = runInterleaved(opt, contenders);
  printSummary(r, {"ackmq", "deque"}, "bytes_per_message", "bytes per message");
  const double ratio =
      printRatios("ackmq/deque", perRepRatios(r, "ackmq", "deque", "bytes_per_message"), kLowerIsBetter);
  ResultLine("memory", "bytes_per_message")
      .value("ackmq", r.med("ackmq", "bytes_per_message"))
      .value("deque", r.med("deque", "bytes_per_message"))
      .ratio("ratio_deque", ratio)
      .print();
}

void runMemoryPassed(const Options& opt) {
  const std::size_t n = scaled(5'000'000, opt);
  heading("memory_passed",
          "resident memory after " + std::to_string(n) + " messages of 100 bytes passed through a consumer");
  std::printf(
      "  ackmq: Broker (default BrokerConfig), sync send to topic Bench (4 queues), one push consumer with "
      "1 listener thread consuming every message; measured once awaitIdle (offsets committed)\n");
  std::printf(
      "  moodycamel: BlockingConcurrentQueue<std::string>, one receiving thread; zmq: inproc PUSH/PULL, HWM "
      "0; "
      "RSS after - RSS before sending, in a fresh child process each; lower is better\n");
  if (!kHaveZmq) notice(kNoZmq);
  if (!kHaveMoodycamel) notice(kNoMoodycamel);

  auto mib = [n](const char* system) {
    return measureInChild(system, n) * static_cast<double>(n) / 1048576.0;
  };
  std::vector<Contender> contenders;
  contenders.push_back({"ackmq",
                        [mib](int) {
                          return Sample{{"resident_mib", mib("ackmq-passed")}};
                        },
                        /*warmUp=*/false});
#ifdef ACKMQ_BENCH_HAVE_MOODYCAMEL
  contenders.push_back({"moodycamel",
                        [mib](int) {
                          return Sample{{"resident_mib", mib("moodycamel-passed")}};
                        },
                        /*warmUp=*/false});
#endif
#ifdef ACKMQ_BENCH_HAVE_ZMQ
  contenders.push_back({"zmq",
                        [mib](int) {
                          return Sample{{"resident_mib", mib("zmq-passed")}};
                        },
                        /*warmUp=*/false});
#endif
  const Results r = runInterleaved(opt, contenders);
  std::vector<std::string> systems;
  for (const auto& c : contenders)
    systems.push_back(c.name);
  printSummary(r, systems, "resident_mib", "MiB resident");
  ResultLine result("memory_passed", "resident_mib");
  for (const auto& s : systems)
    result.value(s, r.med(s, "resident_mib"));
  for (const auto& s : systems) {
    if (s == "ackmq") continue;
    result.ratio("ratio_" + s,
                 printRatios("ackmq/" + s, perRepRatios(r, "ackmq", s, "resident_mib"), kLowerIsBetter));
  }
  result.print();
}

}  // namespace bench
