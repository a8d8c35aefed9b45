// The storm: producers of every send form, a concurrent group with random failures and poison messages, an
// orderly group with random suspends, members joining and leaving throughout, and the clock moving on its own
// thread; then exact accounting of where every message went. Seeded (ACKMQ_STRESS_SEED replays a run); the
// long run is the soak (ACKMQ_SOAK=1, ctest -L soak).
#include <ackmq/testing.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/push_consumer.hpp>

#include "stress_support.hpp"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using ackmq::ConsumeConcurrentlyStatus;
using ackmq::ConsumeOrderlyStatus;
using ackmq::ConsumerStats;
using ackmq::MessageQueue;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;
using ackmq::testing::ManualPushConsumer;
using ackmq_stress::mix;

namespace {

constexpr const char* kTopic = "Storm";
constexpr const char* kOrderedTopic = "StormOrdered";
constexpr const char* kConcurrentGroup = "storm-concurrent";
constexpr const char* kOrderlyGroup = "storm-orderly";

// What became of one send, as its sender saw it.
struct Outcome {
  enum Kind { NOT_SENT, RESULT, FAILED, ONEWAY } kind = NOT_SENT;
  ackmq::SendStatus status = ackmq::SendStatus::SEND_OK;
  MessageQueue mq;
  std::int64_t offset = -1;
  std::string msgId;
  // The send ran out of sendMsgTimeout (the clock thread moved on while it was under way): the broker may
  // have stored it all the same, once, as RocketMQ's may.
  bool timedOut = false;

  static Outcome failed(const ackmq::MQException& e) {
    Outcome o;
    o.kind = FAILED;
    o.timedOut = e.getResponseCode() == ackmq::ResponseCode::REQUEST_TIMEOUT_EXCEPTION ||
                 e.getResponseCode() == ackmq::ResponseCode::ACCESS_BROKER_TIMEOUT;
    return o;
  }
};

// One consumer's own count of what its listener was handed, to hold its ConsumerStats against.
struct Member {
  std::unique_ptr<ManualPushConsumer> consumer;
  std::atomic<std::uint64_t> deliveries{0};
};

struct Storm {
  std::uint64_t seed;
  int producers;
  int perProducer;
  int keys;
  int perKey;
  int churnRounds;

  // Message i's body is std::to_string(i): [0, producers * perProducer) go to kTopic, the rest are the
  // ordered messages, key k's seq s at plainCount() + k * perKey + s.
  int plainCount() const { return producers * perProducer; }
  int total() const { return plainCount() + keys * perKey; }
  bool poison(int id) const {
    return id < plainCount() && mix(seed, static_cast<std::uint64_t>(id), 1) % 40 == 0;
  }

  // Each poison message's deliveries and each message's orderly consumptions, for the report of a failure.
  std::mutex traceMu;
  std::map<int, std::string> traces;
  void trace(int id, const std::string& what) {
    std::lock_guard l(traceMu);
    traces[id] += "\n  " + what;
  }

  std::mutex outcomesMu;
  std::vector<Outcome> outcomes;  // by id; guarded by outcomesMu
  void record(int id, Outcome o) {
    std::lock_guard l(outcomesMu);
    outcomes[static_cast<std::size_t>(id)] = std::move(o);
  }

  // successes[g][id]: group g's successful consumptions of message id (0 concurrent, 1 orderly).
  std::unique_ptr<std::atomic<int>[]> successes[2];
  std::unique_ptr<std::atomic<int>[]> orderlyAttempts;

  // The orderly rules, watched from inside the listeners of every member of the orderly group.
  std::mutex orderMu;
  std::map<MessageQueue, int> busy;  // listener calls in progress per queue
  std::vector<int> highestSeq;       // per key, the highest seq delivered so far
  int overlaps = 0;
  int skips = 0;

  // Paces the clock thread: it moves the clock a step for every few deliveries, so that time passes as the
  // storm makes progress (and no listener call outlives the 15 min consume timeout by the clock racing).
  std::mutex clockMu;
  std::condition_variable clockCv;
  std::atomic<std::uint64_t> deliveries{0};
  bool clockStop = false;  // guarded by clockMu

  void delivered(Member& m, std::size_t n) {
    m.deliveries.fetch_add(n);
    const std::uint64_t before = deliveries.fetch_add(n);
    if ((before + n) / 16 != before / 16) {
      std::lock_guard l(clockMu);
      clockCv.notify_all();
    }
  }

  // The run is cut into churnRounds phases: in each, a member joins, the producers send their share while it
  // consumes a few messages, it leaves, and everyone meets at the phase's end.
  std::unique_ptr<std::barrier<>> phase;
  int sentPhases = 0;  // producers' phases done; guarded by clockMu
  void phaseSent() {
    std::lock_guard l(clockMu);
    ++sentPhases;
    clockCv.notify_all();
  }

  Storm(std::uint64_t s, int p, int perP, int k, int perK, int churn)
      : seed(s), producers(p), perProducer(perP), keys(k), perKey(perK), churnRounds(churn) {
    phase = std::make_unique<std::barrier<>>(producers + 2);  // + the ordered producer + the churn thread
    outcomes.resize(static_cast<std::size_t>(total()));
    for (auto& g : successes)
      g.reset(new std::atomic<int>[static_cast<std::size_t>(total())]());
    orderlyAttempts.reset(new std::atomic<int>[static_cast<std::size_t>(total())]());
    highestSeq.assign(static_cast<std::size_t>(keys), -1);
  }
};

void makeConcurrentMember(Storm& s, ManualBroker& broker, Member& m, const std::string& name) {
  m.consumer = std::make_unique<ManualPushConsumer>(broker, kConcurrentGroup);
  auto& c = *m.consumer;
  c.subscribe(kTopic, "*");
  c.subscribe(kOrderedTopic, "*");
  c.setInstanceName(name);
  c.setConsumeThreadMin(2);
  c.setConsumeThreadMax(2);
  // One message per call: a failing message fails the rest of its batch too, and a poison message would
  // drag whatever shares its retry delay (and so its batches) into the dead-letter queue with it.
  c.setConsumeMessageBatchMaxSize(1);
  c.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&s, &m](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
        s.delivered(m, msgs.size());
        const auto& msg = msgs.front();
        const int id = std::stoi(msg.getBody());
        if (s.poison(id))
          s.trace(id, m.consumer->getInstanceName() + " rt=" + std::to_string(msg.getReconsumeTimes()) + " " +
                          msg.getMessageQueue().toString() + "@" + std::to_string(msg.getQueueOffset()));
        const auto attempt = static_cast<std::uint64_t>(msg.getReconsumeTimes());
        const std::uint64_t h = mix(s.seed, static_cast<std::uint64_t>(id), attempt, 3);
        if (s.poison(id) || (attempt < 3 && h % 8 == 0)) {
          if (h % 2 == 0) throw std::runtime_error("listener failure");
          return ConsumeConcurrentlyStatus::RECONSUME_LATER;
        }
        s.successes[0][static_cast<std::size_t>(id)].fetch_add(1);
        return ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
      }});
}

void makeOrderlyMember(Storm& s, ManualBroker& broker, Member& m, const std::string& name) {
  m.consumer = std::make_unique<ManualPushConsumer>(broker, kOrderlyGroup);
  auto& c = *m.consumer;
  c.subscribe(kTopic, "*");
  c.subscribe(kOrderedTopic, "*");
  c.setInstanceName(name);
  c.setConsumeThreadMin(2);
  c.setConsumeThreadMax(2);
  c.setConsumeMessageBatchMaxSize(1 + static_cast<int>(mix(s.seed, std::hash<std::string>{}(name), 4) % 3));
  c.registerMessageListener(ackmq::MessageListenerOrderly{
      [&s, &m](const ackmq::MessageExtList& msgs, ackmq::ConsumeOrderlyContext& ctx) {
        s.delivered(m, msgs.size());
        const MessageQueue& mq = ctx.getMessageQueue();
        bool fail = false;
        bool throwIt = false;
        {
          std::lock_guard l(s.orderMu);
          if (++s.busy[mq] > 1) ++s.overlaps;
          for (const auto& msg : msgs) {
            const int id = std::stoi(msg.getBody());
            if (id >= s.plainCount()) {
              const auto key = static_cast<std::size_t>((id - s.plainCount()) / s.perKey);
              const int seq = (id - s.plainCount()) % s.perKey;
              if (seq > s.highestSeq[key] + 1) ++s.skips;
              s.highestSeq[key] = std::max(s.highestSeq[key], seq);
            }
            const auto attempt =
                static_cast<std::uint64_t>(s.orderlyAttempts[static_cast<std::size_t>(id)].fetch_add(1));
            const std::uint64_t h = mix(s.seed, static_cast<std::uint64_t>(id), attempt, 5);
            if (attempt < 3 && h % 10 == 0) {
              fail = true;
              throwIt = throwIt || h % 3 == 0;
            }
          }
          --s.busy[mq];
        }
        if (throwIt) throw std::runtime_error("listener failure");  // counts as a suspend
        if (fail) return ConsumeOrderlyStatus::SUSPEND_CURRENT_QUEUE_A_MOMENT;
        for (const auto& msg : msgs) {
          const int id = std::stoi(msg.getBody());
          s.successes[1][static_cast<std::size_t>(id)].fetch_add(1);
          s.trace(id, "orderly " + m.consumer->getInstanceName() + " consumed it from " +
                          msg.getMessageQueue().toString() + "@" + std::to_string(msg.getQueueOffset()));
        }
        return ConsumeOrderlyStatus::SUCCESS;
      }});
}

// The counter identities of one member, and its stats against its listener's own count.
void checkMember(const Member& m, ConsumerStats& sum) {
  const ConsumerStats st = ackmq::testing::consumerStats(*m.consumer);
  INFO("member " << m.consumer->getConsumerGroup() << "/" << m.consumer->getInstanceName());
  CHECK(st.delivered == m.deliveries.load());
  CHECK(st.delivered == st.succeeded + st.failed);
  CHECK(st.failed == st.retried + st.deadLettered + st.reconsumedLocally + st.dropped);
  sum.delivered += st.delivered;
  sum.succeeded += st.succeeded;
  sum.failed += st.failed;
  sum.retried += st.retried;
  sum.deadLettered += st.deadLettered;
  sum.reconsumedLocally += st.reconsumedLocally;
  sum.dropped += st.dropped;
}

void produce(Storm& s, ManualBroker& broker, int p) {
  ManualProducer producer(broker, "storm-producers");
  producer.start();
  std::mt19937_64 rng(mix(s.seed, static_cast<std::uint64_t>(p), 6));
  for (int phase = 0; phase < s.churnRounds; ++phase) {
    s.phase->arrive_and_wait();
    int i = s.perProducer * phase / s.churnRounds;
    const int end = s.perProducer * (phase + 1) / s.churnRounds;
    while (i < end) {
      const int id = p * s.perProducer + i;
      const auto msg = [](int n) { return ackmq::Message(kTopic, "", std::to_string(n)); };
      switch (rng() % 4) {
        case 0:  // sync
          try {
            const ackmq::SendResult r = producer.send(msg(id));
            s.record(id, {Outcome::RESULT, r.getSendStatus(), r.getMessageQueue(), r.getQueueOffset(),
                          r.getMsgId()});
          } catch (const ackmq::MQException& e) {
            s.record(id, Outcome::failed(e));
          }
          ++i;
          break;
        case 1:  // async
          producer.send(msg(id), ackmq::SendCallback{[&s, id](const ackmq::SendResult& r) {
                                                       s.record(id, {Outcome::RESULT, r.getSendStatus(),
                                                                     r.getMessageQueue(), r.getQueueOffset(),
                                                                     r.getMsgId()});
                                                     },
                                                     [&s, id](std::exception_ptr e) {
                                                       try {
                                                         std::rethrow_exception(e);
                                                       } catch (const ackmq::MQException& mq) {
                                                         s.record(id, Outcome::failed(mq));
                                                       }
                                                     }});
          ++i;
          break;
        case 2:  // oneway: stored at most once, nothing reported
          producer.sendOneway(msg(id));
          s.record(id, {Outcome::ONEWAY, {}, {}, -1, {}});
          ++i;
          break;
        default: {  // a batch of up to 8, one offset each, in order
          const int n = std::min(1 + static_cast<int>(rng() % 8), end - i);
          std::vector<ackmq::Message> batch;
          for (int j = 0; j < n; ++j)
            batch.push_back(msg(id + j));
          try {
            const ackmq::SendResult r = producer.send(std::move(batch));
            const std::string ids = r.getMsgId();
            std::size_t from = 0;
            for (int j = 0; j < n; ++j) {
              const std::size_t comma = ids.find(',', from);
              s.record(id + j,
                       {Outcome::RESULT, r.getSendStatus(), r.getMessageQueue(), r.getQueueOffset() + j,
                        ids.substr(from, comma == std::string::npos ? comma : comma - from)});
              from = comma + 1;
            }
          } catch (const ackmq::MQException& e) {
            for (int j = 0; j < n; ++j)
              s.record(id + j, Outcome::failed(e));
          }
          i += n;
        }
      }
    }
    s.phaseSent();
    s.phase->arrive_and_wait();
  }
  producer.shutdown();  // delivers every callback still owed
}

// Ordered sends, key by key in turn: a failed send is repeated (it stored nothing), so each key's messages
// are stored in seq order with no gap.
void produceOrdered(Storm& s, ManualBroker& broker) {
  ManualProducer producer(broker, "storm-ordered-producers");
  // A send that times out may be stored all the same, and repeating it would store a key's seq twice: with a
  // day's budget the clock thread cannot time one out.
  producer.setSendMsgTimeout(86'400'000);
  producer.start();
  for (int phase = 0; phase < s.churnRounds; ++phase) {
    s.phase->arrive_and_wait();
    for (int seq = s.perKey * phase / s.churnRounds; seq < s.perKey * (phase + 1) / s.churnRounds; ++seq) {
      for (int key = 0; key < s.keys; ++key) {
        const int id = s.plainCount() + key * s.perKey + seq;
        const std::string k = "key-" + std::to_string(key);
        for (int attempt = 0;; ++attempt) {
          try {
            const ackmq::SendResult r =
                producer.send(ackmq::Message(kOrderedTopic, "", k, std::to_string(id)),
                              ackmq::SelectMessageQueueByHash{}, k);
            s.record(id, {Outcome::RESULT, r.getSendStatus(), r.getMessageQueue(), r.getQueueOffset(),
                          r.getMsgId()});
            break;
          } catch (const ackmq::MQException&) {
            if (attempt == 100) throw;
          }
        }
      }
    }
    s.phaseSent();
    s.phase->arrive_and_wait();
  }
  producer.shutdown();
}

void runStorm(std::uint64_t seed) {
  Storm s(seed, 4, ackmq_stress::scaled(1'000, 50'000), 8, ackmq_stress::scaled(125, 5'000),
          ackmq_stress::scaled(20, 500));
  ackmq::ManualClock clock;
  ManualBroker broker(clock);
  broker.createTopic(kTopic, 8);
  broker.createTopic(kOrderedTopic, 4);

  // Two stable members per group, there from the start to the end.
  std::vector<std::unique_ptr<Member>> stable;
  for (int i = 0; i < 2; ++i) {
    stable.push_back(std::make_unique<Member>());
    makeConcurrentMember(s, broker, *stable.back(), "stable-" + std::to_string(i));
    stable.push_back(std::make_unique<Member>());
    makeOrderlyMember(s, broker, *stable.back(), "stable-" + std::to_string(i));
  }
  for (auto& m : stable)
    m->consumer->start();
  for (auto& m : stable)
    REQUIRE(ackmq::testing::awaitIdle(*m->consumer));

  std::thread clockThread([&] {
    std::uint64_t seen = 0;
    std::unique_lock l(s.clockMu);
    for (;;) {
      s.clockCv.wait(l, [&] { return s.clockStop || s.deliveries.load() >= seen + 16; });
      if (s.clockStop) return;
      seen = s.deliveries.load();
      l.unlock();
      clock.advance(500ms);
      l.lock();
    }
  });

  // In each phase a member joins, consumes a little while the producers send, and leaves; and send faults
  // are armed now and then.
  ConsumerStats churnSum[2];
  std::thread churn([&] {
    std::mt19937_64 rng(mix(seed, 7));
    for (int r = 0; r < s.churnRounds; ++r) {
      switch (rng() % 4) {
        case 0:
          ackmq::testing::failNextSends(broker, 1 + static_cast<int>(rng() % 3),
                                        ackmq::ResponseCode::SYSTEM_BUSY);
          break;
        case 1:
          ackmq::testing::loseNextSends(broker, 1);
          break;
        case 2:
          ackmq::testing::failNextSends(broker, 1, ackmq::SendStatus::FLUSH_DISK_TIMEOUT);
          break;
        default:
          break;
      }
      const int g = static_cast<int>(rng() % 2);
      Member m;
      const std::string name = "churn-" + std::to_string(r);
      if (g == 0) {
        makeConcurrentMember(s, broker, m, name);
      } else {
        makeOrderlyMember(s, broker, m, name);
      }
      const std::uint64_t want = 1 + rng() % 8;
      m.consumer->start();
      s.phase->arrive_and_wait();
      {
        // Its deliveries wake this thread through the clock pacing's notifications.
        std::unique_lock l(s.clockMu);
        s.clockCv.wait(
            l, [&] { return m.deliveries.load() >= want || s.sentPhases == (r + 1) * (s.producers + 1); });
      }
      m.consumer->shutdown();
      checkMember(m, churnSum[g]);
      s.phase->arrive_and_wait();
    }
  });

  std::vector<std::thread> producers;
  for (int p = 0; p < s.producers; ++p)
    producers.emplace_back([&s, &broker, p] { produce(s, broker, p); });
  producers.emplace_back([&s, &broker] { produceOrdered(s, broker); });
  for (auto& t : producers)
    t.join();
  churn.join();
  {
    std::lock_guard l(s.clockMu);
    s.clockStop = true;
    s.clockCv.notify_all();
  }
  clockThread.join();

  // Every send, as reported, against what the broker stored: a reported message stored once at the queue and
  // offset its SendResult names, a failed one not at all, a oneway one at most once.
  std::map<int, std::vector<ackmq::MessageExt>> stored;
  for (const char* topic : {kTopic, kOrderedTopic}) {
    for (auto& m : ackmq::testing::topicMessages(broker, topic))
      stored[std::stoi(m.getBody())].push_back(m);
  }
  int poisonStored = 0;
  int failedSends = 0;
  int degraded = 0;
  for (int id = 0; id < s.total(); ++id) {
    const Outcome& o = s.outcomes[static_cast<std::size_t>(id)];
    const auto it = stored.find(id);
    const std::size_t copies = it == stored.end() ? 0 : it->second.size();
    INFO("message " << id);
    REQUIRE(o.kind != Outcome::NOT_SENT);
    if (o.kind == Outcome::RESULT) {
      REQUIRE(copies == 1);
      const auto& m = it->second.front();
      CHECK(m.getMessageQueue() == o.mq);
      CHECK(m.getQueueOffset() == o.offset);
      CHECK(m.getMsgId() == o.msgId);
      degraded += o.status != ackmq::SendStatus::SEND_OK;
    } else if (o.kind == Outcome::FAILED && o.timedOut) {
      CHECK(copies <= 1);
      ++failedSends;
    } else if (o.kind == Outcome::FAILED) {
      CHECK(copies == 0);
      ++failedSends;
    } else {
      CHECK(copies <= 1);
    }
    poisonStored += copies == 1 && s.poison(id);
  }
  CHECK(stored.size() <= static_cast<std::size_t>(s.total()));
  MESSAGE("stored " << stored.size() << " of " << s.total() << " messages (" << failedSends
                    << " sends failed, " << degraded << " degraded), " << poisonStored << " poison");

  // Let every retry and suspend come due, with the remaining members settling after each timer.
  auto consumedEverywhere = [&] {
    for (const auto& entry : stored) {
      const int id = entry.first;
      if (!s.poison(id) && s.successes[0][static_cast<std::size_t>(id)].load() == 0) return false;
      if (s.successes[1][static_cast<std::size_t>(id)].load() == 0) return false;
    }
    return ackmq::testing::topicMessages(broker, ackmq::MixAll::getDLQTopic(kConcurrentGroup)).size() >=
           static_cast<std::size_t>(poisonStored);
  };
  auto settle = [&] {
    for (auto& m : stable) {
      if (!ackmq::testing::awaitIdle(*m->consumer, 60s)) return false;
    }
    return true;
  };
  for (int round = 0; round < 8 && !consumedEverywhere(); ++round)
    REQUIRE(ackmq::testing::advanceAndSettle(clock, 3h, settle));

  for (const auto& entry : stored) {
    const int id = entry.first;
    INFO("message " << id);
    if (s.poison(id)) {
      CHECK(s.successes[0][static_cast<std::size_t>(id)].load() == 0);
    } else {
      CHECK(s.successes[0][static_cast<std::size_t>(id)].load() >= 1);
    }
    // An orderly queue's old owner commits its last batch before it lets the queue go (README, Guarantees):
    // nothing is consumed twice in the hand-over.
    INFO("its orderly consumptions:" << s.traces[id]);
    CHECK(s.successes[1][static_cast<std::size_t>(id)].load() == 1);
  }
  // Every poison message reached the dead-letter queue, and nothing else did. A concurrently consumed queue
  // that changes owner is read again from its committed offset (at least once): a poison message the old
  // and the new owner both failed goes down the retry ladder twice, so it may be there more than once; every
  // copy is one the members counted as dead-lettered.
  const auto dlq = ackmq::testing::topicMessages(broker, ackmq::MixAll::getDLQTopic(kConcurrentGroup));
  std::map<int, int> dead;
  for (const auto& m : dlq) {
    const int id = std::stoi(m.getBody());
    INFO("dead-lettered message " << id << ", its deliveries:" << s.traces[id]);
    CHECK(s.poison(id));
    ++dead[id];
    // RocketMQ's send-back stores the copy with reconsumeTimes + 1, the dead-letter copy included.
    CHECK(m.getReconsumeTimes() == 17);
  }
  CHECK(dead.size() == static_cast<std::size_t>(poisonStored));
  MESSAGE((dlq.size() - dead.size()) << " poison messages dead-lettered twice after a hand-over");
  CHECK(ackmq::testing::topicMessages(broker, ackmq::MixAll::getDLQTopic(kOrderlyGroup)).empty());
  CHECK(s.overlaps == 0);
  CHECK(s.skips == 0);

  ConsumerStats sum[2] = {churnSum[0], churnSum[1]};
  for (std::size_t i = 0; i < stable.size(); ++i)
    checkMember(*stable[i], sum[i % 2]);
  CHECK(sum[0].deadLettered == dlq.size());
  CHECK(sum[1].deadLettered == 0);
  CHECK(sum[0].succeeded >= stored.size() - static_cast<std::size_t>(poisonStored));
  CHECK(sum[1].succeeded == stored.size());
  CHECK(sum[0].failed >= 17 * static_cast<std::uint64_t>(poisonStored));
}

}  // namespace

TEST_SUITE("stress") {
  TEST_CASE(
      "the storm: every reported send is stored once where its SendResult says, both groups consume every "
      "stored message, poison messages and nothing else reach %DLQ%, orderly queues never overlap or skip, "
      "and the counters add up" *
      doctest::timeout(ackmq_stress::timeoutSeconds())) {
    const int rounds = ackmq_stress::scaled(1, 10);
    for (int r = 0; r < rounds; ++r) {
      const std::uint64_t seed = ackmq_stress::seed("storm");
      CAPTURE(seed);
      runStorm(seed);
    }
  }

  TEST_CASE(
      "a concurrently consumed message that always fails climbs the ladder one count per delivery and is "
      "dead-lettered once, even when send-backs fail and it is reconsumed locally" *
      doctest::timeout(ackmq_stress::timeoutSeconds())) {
    const std::uint64_t seed = ackmq_stress::seed("poison with failing send-backs");
    CAPTURE(seed);
    ackmq::ManualClock clock;
    ManualBroker broker(clock);
    broker.createTopic("Poison", 2);
    constexpr int kMessages = 6;
    std::mutex mu;
    std::map<std::string, std::vector<int>> attempts;  // body -> reconsumeTimes of each delivery
    ManualPushConsumer c(broker, "poison-group");
    c.subscribe("Poison", "*");
    c.setConsumeThreadMin(1);
    c.setConsumeThreadMax(1);
    c.registerMessageListener(ackmq::MessageListenerConcurrently{
        [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
          std::lock_guard l(mu);
          for (const auto& m : msgs)
            attempts[m.getBody()].push_back(m.getReconsumeTimes());
          return ConsumeConcurrentlyStatus::RECONSUME_LATER;
        }});
    c.start();
    REQUIRE(ackmq::testing::awaitIdle(c));
    ManualProducer producer(broker, "poison-producers");
    producer.start();
    for (int i = 0; i < kMessages; ++i)
      producer.send(ackmq::Message("Poison", "", "poison-" + std::to_string(i)));
    // Some send-backs fail outright (the consumer keeps the message and reconsumes it locally), some fail
    // only at the broker (the consumer sends its own retry copy), chosen by the seed.
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 40; ++round) {
      REQUIRE(ackmq::testing::awaitIdle(c));
      switch (rng() % 3) {
        case 0:
          ackmq::testing::failNextSendBacks(broker, 1 + static_cast<int>(rng() % 2));
          break;
        case 1:
          ackmq::testing::failNextSendBackRequests(broker, 1 + static_cast<int>(rng() % 2));
          break;
        default:
          break;
      }
      REQUIRE(ackmq::testing::advanceAndSettle(clock, 15min, c));
    }
    REQUIRE(ackmq::testing::advanceAndSettle(clock, 24h, c));

    // One count rules every path: each delivery counts one more than the last, from 0. The ladder ends after
    // the delivery with reconsumeTimes 16; only when storing the dead-letter copy itself fails is the message
    // consumed once more locally (as RocketMQ does), the count still climbing by one.
    std::map<std::string, std::size_t> deliveries;
    std::size_t total = 0;
    {
      std::lock_guard l(mu);
      REQUIRE(attempts.size() == static_cast<std::size_t>(kMessages));
      for (const auto& entry : attempts) {
        const std::string& body = entry.first;
        const std::vector<int>& times = entry.second;
        std::string seen;
        for (int t : times)
          seen += " " + std::to_string(t);
        INFO(body << " delivered with reconsumeTimes" << seen);
        CHECK(times.size() >= 17);
        for (std::size_t i = 0; i < times.size(); ++i)
          CHECK(times[i] == static_cast<int>(i));
        deliveries[body] = times.size();
        total += times.size();
      }
    }
    const auto dlq = ackmq::testing::topicMessages(broker, ackmq::MixAll::getDLQTopic("poison-group"));
    CHECK(dlq.size() == static_cast<std::size_t>(kMessages));
    std::set<std::string> bodies;
    for (const auto& m : dlq) {
      // As on the send-back path: the copy carries the last delivery's reconsumeTimes + 1.
      CHECK(m.getReconsumeTimes() == static_cast<int>(deliveries[m.getBody()]));
      bodies.insert(m.getBody());
    }
    CHECK(bodies.size() == static_cast<std::size_t>(kMessages));
    const ConsumerStats st = ackmq::testing::consumerStats(c);
    CHECK(st.delivered == total);
    CHECK(st.delivered == st.succeeded + st.failed);
    CHECK(st.failed == st.retried + st.deadLettered + st.reconsumedLocally + st.dropped);
    CHECK(st.deadLettered == static_cast<std::uint64_t>(kMessages));
  }
}
