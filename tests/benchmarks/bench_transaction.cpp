// Scenario transaction: sendMessageInTransaction, committed at once, through to the consumer's
// acknowledgement, against scenario e2e's plain sync send in the same run. A transactional message costs
// three store writes (the half, the committed copy, the op) where a plain one costs one.

#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <cstdint>
#include <string>

#include "harness.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

// A broker, topic Bench (4 queues), a started transactional producer whose local transaction commits, and a
// started push consumer (one listener thread). Set up untimed; pass() is timed from the first send until
// every acknowledgement is committed.
double transactionalThroughput(std::size_t n) {
  ackmq::Broker broker;
  broker.createTopic("Bench", 4);
  std::atomic<std::uint64_t> executed{0};
  ackmq::TransactionMQProducer producer(broker, "bench-tx-producer");
  producer.setTransactionListener(
      [&executed](const ackmq::Message&, void*) {
        executed.fetch_add(1, std::memory_order_relaxed);
        return ackmq::LocalTransactionState::COMMIT_MESSAGE;
      },
      [](const ackmq::MessageExt&) { return ackmq::LocalTransactionState::COMMIT_MESSAGE; });
  producer.start();
  Completion received(n);
  std::atomic<std::uint64_t> badBodies{0};
  ackmq::PushConsumer consumer(broker, "bench-tx");
  consumer.subscribe("Bench", "*");
  consumer.setConsumeThreadMin(1);
  consumer.setConsumeThreadMax(1);
  consumer.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
        for (const auto& m : msgs) {
          if (m.getBody().size() != kBodyBytes) badBodies.fetch_add(1, std::memory_order_relaxed);
        }
        received.arrive(msgs.size());
        return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
      }});
  consumer.start();

  std::uint64_t notCommitted = 0;
  const auto t0 = Steady::now();
  for (std::size_t i = 0; i < n; ++i) {
    const ackmq::TransactionSendResult r =
        producer.sendMessageInTransaction(ackmq::Message("Bench", "", makeBody()), nullptr);
    if (r.getSendStatus() != ackmq::SendStatus::SEND_OK ||
        r.getLocalTransactionState() != ackmq::LocalTransactionState::COMMIT_MESSAGE) {
      ++notCommitted;
    }
  }
  if (!received.wait(kRunTimeout)) {
    fail("transactional consumer timed out: " + std::to_string(received.count()) + " of " +
         std::to_string(n) + " delivered; " + describe(ackmq::testing::consumerStats(consumer)));
  }
  const bool idle = ackmq::testing::awaitIdle(consumer, kRunTimeout);
  const auto t1 = Steady::now();

  check(idle,
        "transactional consumer did not become idle; " + describe(ackmq::testing::consumerStats(consumer)));
  checkCount(notCommitted, 0, "transactions not SEND_OK and committed");
  checkCount(executed.load(), n, "local transactions run");
  checkCount(received.count(), n, "transactional messages received by the listener");
  checkCount(badBodies.load(), 0, "transactional bodies of the wrong size");
  const ackmq::testing::TransactionStats stats = ackmq::testing::transactionStats(broker);
  checkCount(stats.committed, n, "transactionStats.committed");
  checkCount(stats.pending, 0, "transactionStats.pending");
  consumer.shutdown();
  producer.shutdown();
  return static_cast<double>(n) / secondsBetween(t0, t1);
}

}  // namespace

void runTransaction(const Options& opt) {
  const std::size_t n = scaled(1'000'000, opt);
  heading("transaction", "transactional send, commit and delivery vs plain sync send, " + std::to_string(n) +
                             " messages of 100 bytes");
  std::printf(
      "  transaction: sendMessageInTransaction to topic Bench (4 queues), executeLocalTransaction returns "
      "COMMIT_MESSAGE; one push consumer, 1 listener thread; timed until awaitIdle\n");
  std::printf("  e2e: scenario e2e's ackmq case (sync send, same consumer) with the same count\n");

  const std::vector<Contender> contenders = {
      {"transaction",
       [n](int) {
         return Sample{{"msgs_per_s", transactionalThroughput(n)}};
       }},
      {"e2e",
       [n](int) {
         return Sample{{"msgs_per_s", ackmqThroughput({.messages = n})}};
       }},
  };
  const Results r = runInterleaved(opt, contenders);
  printSummary(r, {"transaction", "e2e"}, "msgs_per_s", "messages/s");
  const double ratio =
      printRatios("transaction/e2e", perRepRatios(r, "transaction", "e2e", "msgs_per_s"), kHigherIsBetter);
  ResultLine("transaction", "msgs_per_s")
      .value("transaction", r.med("transaction", "msgs_per_s"))
      .value("e2e", r.med("e2e", "msgs_per_s"))
      .ratio("ratio_transaction_e2e", ratio)
      .print();
}

}  // namespace bench
