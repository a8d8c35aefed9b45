// Scenarios defaults and backpressure. defaults: scenario e2e with the consumer at its defaults (no thread
// setting), beside the one-thread setting and the peers, for bodies of 16 B, 100 B, 1 KiB and 4 KiB.
// backpressure: a producer faster than its consumer with the store at its bound: every send must succeed
// (StoreFullPolicy::WAIT, the default), and the pair must run at the consumer's own rate.

#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "harness.hpp"
#include "peers.hpp"
#include "scenarios.hpp"

namespace bench {

void runDefaults(const Options& opt) {
  const std::size_t n = scaled(300'000, opt);
  heading("defaults", "end-to-end throughput at the consumer's defaults, " + std::to_string(n) +
                          " messages per body size, one sending thread");
  std::printf(
      "  ackmq-defaults: scenario e2e's pipeline with no thread setting (consumeThreadMin/Max as shipped); "
      "ackmq-1thread: setConsumeThreadMin/Max(1); zmq and moodycamel as in e2e, with the same bodies\n");
  if (!kHaveZmq) notice(kNoZmq);
  if (!kHaveMoodycamel) notice(kNoMoodycamel);

  for (const std::size_t bytes : {std::size_t{16}, std::size_t{100}, std::size_t{1024}, std::size_t{4096}}) {
    std::printf("\n  body %zu bytes\n", bytes);
    std::vector<Contender> contenders;
    contenders.push_back(
        {"ackmq-defaults", [n, bytes](int) {
           return Sample{{"msgs_per_s", ackmqThroughput({.messages = n, .threads = 0, .bodyBytes = bytes})}};
         }});
    contenders.push_back(
        {"ackmq-1thread", [n, bytes](int) {
           return Sample{{"msgs_per_s", ackmqThroughput({.messages = n, .threads = 1, .bodyBytes = bytes})}};
         }});
#ifdef ACKMQ_BENCH_HAVE_ZMQ
    contenders.push_back({"zmq", [n, bytes](int) {
                            return Sample{{"msgs_per_s", zmqThroughput(n, bytes)}};
                          }});
#endif
#ifdef ACKMQ_BENCH_HAVE_MOODYCAMEL
    contenders.push_back({"moodycamel", [n, bytes](int) {
                            return Sample{{"msgs_per_s", moodycamelThroughput(n, bytes)}};
                          }});
#endif
    const Results r = runInterleaved(opt, contenders);
    std::vector<std::string> systems;
    for (const auto& c : contenders)
      systems.push_back(c.name);
    printSummary(r, systems, "msgs_per_s", "messages/s");
    ResultLine result("defaults_" + std::to_string(bytes) + "B", "msgs_per_s");
    result.value("ackmq_defaults", r.med("ackmq-defaults", "msgs_per_s"));
    result.value("ackmq_1thread", r.med("ackmq-1thread", "msgs_per_s"));
    for (const auto& s : systems) {
      if (s == "ackmq-defaults") continue;
      std::string key = "ratio_" + s;
      if (s == "ackmq-1thread") key = "ratio_1thread";
      result.ratio(key, printRatios("ackmq-defaults/" + s, perRepRatios(r, "ackmq-defaults", s, "msgs_per_s"),
                                    kHigherIsBetter));
    }
    result.print();
  }
}

}  // namespace bench

namespace bench {

namespace {

// The slow listener of the backpressure scenario: about `kListenerMicros` of work per message.
constexpr auto kListenerWork = std::chrono::microseconds(2);

void work() {
  const auto until = Steady::now() + kListenerWork;
  while (Steady::now() < until) {
  }
}

// One consumer (one listener thread, the slow listener) of topic Bench in `broker`.
struct SlowConsumer {
  ackmq::PushConsumer consumer;
  Completion received;
  SlowConsumer(ackmq::Broker& broker, std::size_t n) : consumer(broker, "bench-slow"), received(n) {
    consumer.subscribe("Bench", "*");
    consumer.setConsumeThreadMin(1);
    consumer.setConsumeThreadMax(1);
    consumer.setConsumeFromWhere(ackmq::ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET);
    consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
        [this](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
          for (std::size_t i = 0; i < msgs.size(); ++i)
            work();
          received.arrive(msgs.size());
          return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
        }});
  }
  void finish(const char* who) {
    if (!received.wait(kRunTimeout)) fail(std::string(who) + ": consumer timed out");
    check(ackmq::testing::awaitIdle(consumer, kRunTimeout), std::string(who) + ": consumer not idle");
    consumer.shutdown();
  }
};

ackmq::BrokerConfig boundedStore() {
  ackmq::BrokerConfig c;
  c.maxStoreBytes = std::size_t{8} << 20;
  c.commitLogSegmentBytes = std::size_t{1} << 20;
  c.maxConsumedHistoryBytes = std::size_t{1} << 20;
  return c;
}

// The producer sends `n` messages while the consumer runs, into a store that holds a small part of them.
double atBound(std::size_t n) {
  ackmq::Broker broker(boundedStore());
  broker.createTopic("Bench", 4);
  ackmq::Producer producer(broker, "bench-producer");
  producer.start();
  SlowConsumer c(broker, n);
  c.consumer.start();
  std::uint64_t notOk = 0;
  const auto t0 = Steady::now();
  for (std::size_t i = 0; i < n; ++i) {
    if (producer.send(ackmq::Message("Bench", "", makeBody())).getSendStatus() != ackmq::SendStatus::SEND_OK)
      ++notOk;
  }
  c.finish("at-bound");
  const auto t1 = Steady::now();
  checkCount(notOk, 0, "sends not SEND_OK at the store's bound");
  checkCount(c.received.count(), n, "messages received at the store's bound");
  check(ackmq::testing::storeStats(broker).rejectedAppends > 0, "the store never reached its bound");
  producer.shutdown();
  return static_cast<double>(n) / secondsBetween(t0, t1);
}

// The consumer alone: the same messages stored first, in a store large enough for all of them.
double consumerAlone(std::size_t n) {
  ackmq::Broker broker;
  broker.createTopic("Bench", 4);
  ackmq::Producer producer(broker, "bench-producer");
  producer.start();
  for (std::size_t i = 0; i < n; ++i)
    producer.send(ackmq::Message("Bench", "", makeBody()));
  SlowConsumer c(broker, n);
  const auto t0 = Steady::now();
  c.consumer.start();
  c.finish("consumer-alone");
  const auto t1 = Steady::now();
  checkCount(c.received.count(), n, "messages received by the consumer alone");
  producer.shutdown();
  return static_cast<double>(n) / secondsBetween(t0, t1);
}

}  // namespace

void runBackpressure(const Options& opt) {
  const std::size_t n = scaled(300'000, opt);
  heading("backpressure", "a producer faster than its consumer, the store at its bound, " +
                              std::to_string(n) + " messages of 100 bytes");
  std::printf(
      "  at-bound: maxStoreBytes 8 MiB (1 MiB segments), default StoreFullPolicy (WAIT), one sync-sending "
      "thread, one consumer with 1 listener thread spending about 2 us per message; every send must "
      "succeed\n  consumer-alone: the same consumer reading the same messages stored beforehand\n");
  const std::vector<Contender> contenders = {
      {"at-bound",
       [n](int) {
         return Sample{{"msgs_per_s", atBound(n)}};
       }},
      {"consumer-alone",
       [n](int) {
         return Sample{{"msgs_per_s", consumerAlone(n)}};
       }},
  };
  const Results r = runInterleaved(opt, contenders);
  printSummary(r, {"at-bound", "consumer-alone"}, "msgs_per_s", "messages/s");
  const double ratio =
      printRatios("at-bound/consumer-alone", perRepRatios(r, "at-bound", "consumer-alone", "msgs_per_s"),
                  kHigherIsBetter);
  ResultLine("backpressure", "msgs_per_s")
      .value("at_bound", r.med("at-bound", "msgs_per_s"))
      .value("consumer_alone", r.med("consumer-alone", "msgs_per_s"))
      .ratio("ratio_consumer_alone", ratio)
      .print();
}

}  // namespace bench
