// Scenarios e2e and orderly: end-to-end throughput, one sending thread and one receiving side, from the first
// send to the last acknowledgement.

#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "peers.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

// One ackmq pipeline: a broker, topic Bench, a started producer and a started consumer group. Set up untimed;
// each pass() sends `messages` messages and is timed until every acknowledgement is committed. A pipeline may
// carry several passes, as a long-running bus does: the group resumes where the last pass left off.
class AckmqPipeline {
 public:
  explicit AckmqPipeline(const AckmqThroughputRun& run)
      : run_(run),
        group_(run.orderly ? "bench-orderly" : "bench-e2e"),
        broker_(run.broker),
        producer_(broker_, "bench-producer"),
        consumer_(broker_, group_),
        nextOffset_(static_cast<std::size_t>(run.queues)) {
    // The group is new and the topic's queues are empty when it starts, so it reads every queue from 0.
    broker_.createTopic("Bench", run.queues);
    producer_.start();
    if (run.sql.empty()) {
      consumer_.subscribe("Bench", "*");
    } else {
      consumer_.subscribe("Bench", ackmq::MessageSelector::bySql(run.sql));
    }
    if (run.threads > 0) {
      consumer_.setConsumeThreadMin(run.threads);
      consumer_.setConsumeThreadMax(run.threads);
    }
    if (run.orderly) {
      // Orderly self-check: every queue must be consumed 0, 1, 2, ... with nothing skipped or repeated. One
      // queue is consumed by one strand at a time, so its slot is never written concurrently.
      consumer_.registerMessageListener(ackmq::MessageListenerOrderly{
          [this](const ackmq::MessageExtList& msgs, ackmq::ConsumeOrderlyContext&) {
            for (const auto& m : msgs) {
              if (m.getBody().size() != run_.bodyBytes) badBodies_.fetch_add(1, std::memory_order_relaxed);
              auto& next = nextOffset_[static_cast<std::size_t>(m.getQueueId())];
              if (m.getQueueOffset() != next.load(std::memory_order_relaxed))
                outOfOrder_.fetch_add(1, std::memory_order_relaxed);
              next.store(m.getQueueOffset() + 1, std::memory_order_relaxed);
            }
            received_.load(std::memory_order_acquire)->arrive(msgs.size());
            return ackmq::ConsumeOrderlyStatus::SUCCESS;
          }});
    } else {
      consumer_.registerMessageListener(ackmq::MessageListenerConcurrently{
          [this](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
            for (const auto& m : msgs) {
              if (m.getBody().size() != run_.bodyBytes) badBodies_.fetch_add(1, std::memory_order_relaxed);
            }
            received_.load(std::memory_order_acquire)->arrive(msgs.size());
            return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
          }});
    }
    if (run.stored) {
      consumer_.setConsumeFromWhere(ackmq::ConsumeFromWhere::CONSUME_FROM_FIRST_OFFSET);  // what is stored
    } else {
      consumer_.start();
    }
  }
  AckmqPipeline(const AckmqPipeline&) = delete;
  AckmqPipeline& operator=(const AckmqPipeline&) = delete;
  ~AckmqPipeline() {
    consumer_.shutdown();
    producer_.shutdown();
  }

  /// One timed pass: every send, every delivery, and every acknowledgement committed (awaitIdle). Returns
  /// delivered messages per second. Each pass counts its deliveries on a Completion of its own, kept for the
  /// pipeline's life: the listener reads which one is current, and no listener call is left when a pass ends.
  double pass() {
    const std::size_t n = run_.messages;
    const std::size_t delivered = run_.sql.empty() ? n : (n + 1) / 2;  // the SQL matches the even messages
    Completion& received = passes_.emplace_back(delivered);
    received_.store(&received, std::memory_order_release);
    std::uint64_t notOk = 0;
    auto t0 = Steady::now();
    for (std::size_t i = 0; i < n; ++i) {
      ackmq::Message msg("Bench", "", makeBody(run_.bodyBytes));
      if (run_.properties) {
        const bool even = i % 2 == 0;
        msg.putUserProperty("region", even ? "eu" : "us");
        msg.putUserProperty("amount", even ? "150" : "250");
        msg.putUserProperty("kind", "live");
      }
      const ackmq::SendResult r = producer_.send(msg);
      if (r.getSendStatus() != ackmq::SendStatus::SEND_OK) ++notOk;
    }
    if (run_.stored) {
      t0 = Steady::now();
      consumer_.start();
    }
    if (!received.wait(kRunTimeout)) {
      fail("ackmq consumer timed out: " + std::to_string(received.count()) + " of " + std::to_string(n) +
           " delivered; " + describe(ackmq::testing::consumerStats(consumer_)));
    }
    const bool idle = ackmq::testing::awaitIdle(consumer_, kRunTimeout);
    const auto t1 = Steady::now();
    sent_ += n;
    delivered_ += delivered;

    // Self-checks, untimed; the counters and offsets run over every pass so far.
    check(idle, "ackmq consumer did not become idle; " + describe(ackmq::testing::consumerStats(consumer_)));
    checkCount(notOk, 0, "ackmq sends not SEND_OK");
    checkCount(received.count(), delivered, "ackmq messages received by the listener");
    checkCount(badBodies_.load(), 0, "ackmq bodies of the wrong size");
    checkCount(outOfOrder_.load(), 0, "ackmq orderly deliveries out of queue order");
    const ackmq::ConsumerStats stats = ackmq::testing::consumerStats(consumer_);
    checkCount(stats.delivered, delivered_, "ackmq consumerStats.delivered");
    checkCount(stats.succeeded, delivered_, "ackmq consumerStats.succeeded");
    checkCount(stats.failed, 0, "ackmq consumerStats.failed");
    std::int64_t committed = 0;
    for (const auto& [mq, offset] : ackmq::testing::committedOffsets(broker_, group_)) {
      if (mq.getTopic() == "Bench") committed += offset;
    }
    checkCount(static_cast<std::uint64_t>(committed), sent_,
               "ackmq committed offsets summed over the queues (filtered messages included)");
    return static_cast<double>(delivered) / secondsBetween(t0, t1);
  }

  ackmq::testing::StoreStats storeStats() const { return ackmq::testing::storeStats(broker_); }
  std::uint64_t sent() const { return sent_; }

 private:
  const AckmqThroughputRun run_;
  const std::string group_;
  ackmq::Broker broker_;
  ackmq::Producer producer_;
  ackmq::PushConsumer consumer_;
  std::deque<Completion> passes_;  // a deque: a Completion stays where it is while the listener may read it
  std::atomic<Completion*> received_{nullptr};
  std::atomic<std::uint64_t> badBodies_{0};
  std::atomic<std::uint64_t> outOfOrder_{0};
  std::vector<std::atomic<std::int64_t>> nextOffset_;
  std::uint64_t sent_ = 0;
  std::uint64_t delivered_ = 0;
};

}  // namespace

double ackmqThroughput(const AckmqThroughputRun& run) {
  AckmqPipeline pipeline(run);
  return pipeline.pass();
}

double ackmqSteadyThroughput(std::size_t messages) {
  AckmqPipeline pipeline({.messages = messages});
  // Unmeasured passes until the store has reclaimed a segment: from then on every segment it opens reuses a
  // reclaimed one's memory, as in a bus that has run for a while. At the defaults that is once the consumed
  // history passes maxConsumedHistoryBytes (64 MiB), about 400k messages of 100 bytes, whatever the pass
  // size.
  const ackmq::BrokerConfig defaults;
  const std::uint64_t limit = 4 * defaults.maxStoreBytes / kBodyBytes;  // far more than the bound needs
  while (pipeline.storeStats().reclaimedSegments == 0) {
    if (pipeline.sent() > limit) {
      fail("ackmq store reclaimed no segment after " + std::to_string(pipeline.sent()) +
           " messages (maxConsumedHistoryBytes " + std::to_string(defaults.maxConsumedHistoryBytes) + ")");
    }
    (void)pipeline.pass();
  }
  return pipeline.pass();
}

#ifdef ACKMQ_BENCH_HAVE_ZMQ
// ZeroMQ inproc PUSH/PULL with unbounded high-water marks: the caller sends each body as one message, one
// receiver thread receives them all.
double zmqThroughput(std::size_t n, std::size_t bodyBytes) {
  zmq::context_t ctx(1);
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  pull.set(zmq::sockopt::rcvhwm, 0);
  pull.bind("inproc://bench-e2e");
  zmq::socket_t push(ctx, zmq::socket_type::push);
  push.set(zmq::sockopt::sndhwm, 0);
  push.connect("inproc://bench-e2e");

  Completion received(n);
  std::uint64_t badBodies = 0;
  std::thread receiver([&] {
    zmq::message_t msg;
    for (std::size_t i = 0; i < n; ++i) {
      if (!pull.recv(msg, zmq::recv_flags::none) || msg.size() != bodyBytes) ++badBodies;
      received.arrive();
    }
  });

  std::uint64_t notSent = 0;
  const auto t0 = Steady::now();
  for (std::size_t i = 0; i < n; ++i) {
    const std::string body = makeBody(bodyBytes);
    if (!push.send(zmq::buffer(body), zmq::send_flags::none)) ++notSent;
  }
  const bool done = received.wait(kRunTimeout);
  const auto t1 = Steady::now();
  if (!done) fail("zmq receiver timed out: " + std::to_string(received.count()) + " of " + std::to_string(n));
  receiver.join();
  checkCount(notSent, 0, "zmq sends that failed");
  checkCount(received.count(), n, "zmq messages received");
  checkCount(badBodies, 0, "zmq bodies of the wrong size");
  return static_cast<double>(n) / secondsBetween(t0, t1);
}
#endif

#ifdef ACKMQ_BENCH_HAVE_MOODYCAMEL
// moodycamel BlockingConcurrentQueue hand-off: the caller enqueues each body (moved), one consumer thread
// wait_dequeues them all.
double moodycamelThroughput(std::size_t n, std::size_t bodyBytes) {
  moodycamel::BlockingConcurrentQueue<std::string> q;
  Completion received(n);
  std::uint64_t badBodies = 0;
  std::thread consumer([&] {
    std::string item;
    for (std::size_t i = 0; i < n; ++i) {
      q.wait_dequeue(item);
      if (item.size() != bodyBytes) ++badBodies;
      received.arrive();
    }
  });

  std::uint64_t notQueued = 0;
  const auto t0 = Steady::now();
  for (std::size_t i = 0; i < n; ++i) {
    std::string body = makeBody(bodyBytes);
    if (!q.enqueue(std::move(body))) ++notQueued;
  }
  const bool done = received.wait(kRunTimeout);
  const auto t1 = Steady::now();
  if (!done)
    fail("moodycamel consumer timed out: " + std::to_string(received.count()) + " of " + std::to_string(n));
  consumer.join();
  checkCount(notQueued, 0, "moodycamel enqueues that failed");
  checkCount(received.count(), n, "moodycamel messages received");
  checkCount(badBodies, 0, "moodycamel bodies of the wrong size");
  return static_cast<double>(n) / secondsBetween(t0, t1);
}
#endif

void runE2E(const Options& opt) {
  const std::size_t n = scaled(2'000'000, opt);
  heading("e2e", "end-to-end throughput, " + std::to_string(n) +
                     " messages of 100 bytes, one sending thread, one receiving thread");
  std::printf(
      "  ackmq: sync send to topic Bench (4 queues); one push consumer, 1 listener thread, concurrent "
      "listener returning CONSUME_SUCCESS; timed until awaitIdle (offsets committed)\n");
  std::printf(
      "  zmq: inproc PUSH/PULL, HWM 0 (unbounded); moodycamel: BlockingConcurrentQueue<std::string>, "
      "enqueue(std::move(body)) / wait_dequeue\n");
  std::printf(
      "  ackmq-steady: the same on a bus that has been running: one broker, producer and consumer carry "
      "unmeasured passes until the store has reclaimed consumed history (maxConsumedHistoryBytes) and reuses "
      "reclaimed memory, then one measured pass\n");
  if (!kHaveZmq) notice(kNoZmq);
  if (!kHaveMoodycamel) notice(kNoMoodycamel);

  std::vector<Contender> contenders;
  contenders.push_back({"ackmq", [n](int) {
                          return Sample{{"msgs_per_s", ackmqThroughput({.messages = n})}};
                        }});
#ifdef ACKMQ_BENCH_HAVE_ZMQ
  contenders.push_back({"zmq", [n](int) { return Sample{{"msgs_per_s", zmqThroughput(n, kBodyBytes)}}; }});
#endif
#ifdef ACKMQ_BENCH_HAVE_MOODYCAMEL
  contenders.push_back({"moodycamel", [n](int) {
                          return Sample{{"msgs_per_s", moodycamelThroughput(n, kBodyBytes)}};
                        }});
#endif
  // Last in each round: whatever the machine does after it frees its gigabyte falls on the next round's
  // fresh-broker run of ackmq, not on a peer.
  contenders.push_back({.name = "ackmq-steady",
                        .run =
                            [n](int) {
                              return Sample{{"msgs_per_s", ackmqSteadyThroughput(n)}};
                            },
                        .warmUp = false});  // its unmeasured passes are its warm-up
  const Results r = runInterleaved(opt, contenders);

  std::vector<std::string> systems;
  for (const auto& c : contenders)
    systems.push_back(c.name);
  printSummary(r, systems, "msgs_per_s", "messages/s");
  ResultLine result("e2e", "msgs_per_s");
  for (const auto& s : systems)
    result.value(s == "ackmq-steady" ? "ackmq_steady" : s, r.med(s, "msgs_per_s"));
  for (const std::string ours : {"ackmq", "ackmq-steady"}) {
    const std::string key = ours == "ackmq" ? "ratio_" : "ratio_steady_";
    for (const auto& s : systems) {
      if (s.starts_with("ackmq")) continue;
      result.ratio(key + s,
                   printRatios(ours + "/" + s, perRepRatios(r, ours, s, "msgs_per_s"), kHigherIsBetter));
    }
  }
  result.print();
}

void runOrderly(const Options& opt) {
  const std::size_t n = scaled(1'000'000, opt);
  heading("orderly", "orderly vs concurrent end-to-end throughput, " + std::to_string(n) + " messages");
  std::printf(
      "  orderly: MessageListenerOrderly returning SUCCESS, topic with 16 queues, round-robin send(msg), "
      "2 listener threads\n");
  std::printf(
      "  e2e: scenario e2e's ackmq case (concurrent, 4 queues, 1 listener thread) with the same count\n");

  const std::vector<Contender> contenders = {
      {"orderly",
       [n](int) {
         return Sample{
             {"msgs_per_s", ackmqThroughput({.messages = n, .queues = 16, .threads = 2, .orderly = true})}};
       }},
      {"e2e",
       [n](int) {
         return Sample{{"msgs_per_s", ackmqThroughput({.messages = n})}};
       }},
  };
  const Results r = runInterleaved(opt, contenders);
  printSummary(r, {"orderly", "e2e"}, "msgs_per_s", "messages/s");
  const double ratio =
      printRatios("orderly/e2e", perRepRatios(r, "orderly", "e2e", "msgs_per_s"), kHigherIsBetter);
  ResultLine("orderly", "msgs_per_s")
      .value("orderly", r.med("orderly", "msgs_per_s"))
      .value("e2e", r.med("e2e", "msgs_per_s"))
      .ratio("ratio_orderly_e2e", ratio)
      .print();
}

void runSqlFilter(const Options& opt) {
  const std::size_t n = scaled(1'000'000, opt);
  const std::string sql = "region = 'eu' AND amount > 100 AND kind <> 'test'";
  heading("sql_filter", "end-to-end throughput per delivered message, SQL92 filter vs none, " +
                            std::to_string(n) + " messages");
  std::printf(
      "  every message carries region (eu/us, alternating), amount and kind properties; sync send to topic "
      "Bench (4 queues), one push consumer, 1 listener thread, timed until awaitIdle\n");
  std::printf(
      "  sql: subscribed with bySql(\"%s\"), which matches half the messages; the rest are passed over "
      "by the broker and committed\n",
      sql.c_str());
  std::printf("  nofilter: the same messages, subscribed with \"*\"; e2e: scenario e2e's ackmq case\n");
  std::printf(
      "  sql-stored, nofilter-stored: the same, with every message stored before the clock starts and the "
      "consumer started inside it, so that only delivery, filtering and acknowledgement are timed\n");

  const std::vector<Contender> contenders = {
      {"sql",
       [n, sql](int) {
         return Sample{{"msgs_per_s", ackmqThroughput({.messages = n, .properties = true, .sql = sql})}};
       }},
      {"nofilter",
       [n](int) {
         return Sample{{"msgs_per_s", ackmqThroughput({.messages = n, .properties = true})}};
       }},
      {"e2e",
       [n](int) {
         return Sample{{"msgs_per_s", ackmqThroughput({.messages = n})}};
       }},
      {"sql-stored",
       [n, sql](int) {
         return Sample{{"msgs_per_s",
                        ackmqThroughput({.messages = n, .properties = true, .sql = sql, .stored = true})}};
       }},
      {"nofilter-stored",
       [n](int) {
         return Sample{{"msgs_per_s", ackmqThroughput({.messages = n, .properties = true, .stored = true})}};
       }},
  };
  const Results r = runInterleaved(opt, contenders);
  printSummary(r, {"sql", "nofilter", "e2e", "sql-stored", "nofilter-stored"}, "msgs_per_s",
               "delivered messages/s");
  const double vsNoFilter =
      printRatios("sql/nofilter", perRepRatios(r, "sql", "nofilter", "msgs_per_s"), kHigherIsBetter);
  const double vsE2e = printRatios("sql/e2e", perRepRatios(r, "sql", "e2e", "msgs_per_s"), kHigherIsBetter);
  const double stored =
      printRatios("sql-stored/nofilter-stored",
                  perRepRatios(r, "sql-stored", "nofilter-stored", "msgs_per_s"), kHigherIsBetter);
  ResultLine("sql_filter", "delivered_msgs_per_s")
      .value("sql", r.med("sql", "msgs_per_s"))
      .value("nofilter", r.med("nofilter", "msgs_per_s"))
      .value("e2e", r.med("e2e", "msgs_per_s"))
      .value("sql_stored", r.med("sql-stored", "msgs_per_s"))
      .value("nofilter_stored", r.med("nofilter-stored", "msgs_per_s"))
      .ratio("ratio_sql_nofilter", vsNoFilter)
      .ratio("ratio_sql_e2e", vsE2e)
      .ratio("ratio_stored_sql_nofilter", stored)
      .print();
}

}  // namespace bench
