// Scenario latency: ping-pong, one message in flight at a time. One-way latency = round trip / 2.
// Scenario request_reply: producer.request() round trips, beside the latency scenario's ackmq cases.

#include <ackmq/ackmq.hpp>
#include <ackmq/testing.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "peers.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

constexpr char kPing = 'i';  // ping bodies are 100 x 'i', pong bodies 100 x 'o'
constexpr char kPong = 'o';

bool isBody(const std::string& body, char fill) {
  return body.size() == kBodyBytes && body.front() == fill;
}

/// p50, p99 and p99.9 of one repetition's samples.
Sample summarize(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return {{"p50_ns", percentileSorted(samples, 0.50)},
          {"p99_ns", percentileSorted(samples, 0.99)},
          {"p999_ns", percentileSorted(samples, 0.999)}};
}

// ackmq: thread A (the caller) sends a ping to topic Ping; group P's listener (one push consumer, one
// listener thread) sends a pong to topic Pong with its own producer, and A takes it from Pong itself with a
// lite pull consumer's poll(). Two threads carry the conversation, as in the peers' ping-pong: A and P's
// listener, each hop through an ackmq topic. `pushReturn` instead has the pong delivered to group Q's
// listener thread, which bumps an atomic A spins on (yielding): three threads carry it, the earlier shape
// of this scenario, kept for comparison.
Sample ackmqPingPong(std::size_t warmup, std::size_t rounds, bool pushReturn) {
  ackmq::Broker broker;
  broker.createTopic("Ping", 4);
  broker.createTopic("Pong", 4);
  ackmq::Producer pinger(broker, "bench-ping-producer");
  pinger.start();
  ackmq::Producer ponger(broker, "bench-pong-producer");
  ponger.start();

  std::atomic<std::uint64_t> bad{0};
  ackmq::PushConsumer echo(broker, "bench-ping");
  echo.subscribe("Ping", "*");
  echo.setConsumeThreadMin(1);
  echo.setConsumeThreadMax(1);
  echo.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
        for (const auto& m : msgs) {
          if (!isBody(m.getBody(), kPing)) bad.fetch_add(1, std::memory_order_relaxed);
          try {
            ponger.send(ackmq::Message("Pong", "", makeBody(kPong)));
          } catch (const std::exception&) {
            bad.fetch_add(1, std::memory_order_relaxed);
          }
        }
        return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
      }});

  std::atomic<std::uint64_t> pongs{0};
  ackmq::PushConsumer receiver(broker, "bench-pong");
  ackmq::LitePullConsumer puller(broker, "bench-pong-pull");
  if (pushReturn) {
    receiver.subscribe("Pong", "*");
    receiver.setConsumeThreadMin(1);
    receiver.setConsumeThreadMax(1);
    receiver.registerMessageListener(ackmq::MessageListenerConcurrently{
        [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
          for (const auto& m : msgs) {
            if (!isBody(m.getBody(), kPong)) bad.fetch_add(1, std::memory_order_relaxed);
          }
          pongs.fetch_add(msgs.size(), std::memory_order_release);
          return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
        }});
    receiver.start();
  } else {
    puller.subscribe("Pong", "*");
    puller.start();
  }
  echo.start();

  const std::size_t total = warmup + rounds;
  std::vector<double> samples;
  samples.reserve(rounds);
  for (std::size_t i = 0; i < total; ++i) {
    const auto t0 = Steady::now();
    pinger.send(ackmq::Message("Ping", "", makeBody(kPing)));
    if (pushReturn) {
      // Spin (yielding) until Q's listener has counted this round's pong. A hung round trip must not spin
      // forever: the clock is read every 1024 spins to enforce a deadline.
      std::uint32_t spins = 0;
      while (pongs.load(std::memory_order_acquire) <= i) {
        std::this_thread::yield();
        if (++spins % 1024 == 0 && Steady::now() - t0 > kRunTimeout) {
          fail("ackmq round trip " + std::to_string(i) + " timed out (pongs " + std::to_string(pongs.load()) +
               ")");
        }
      }
    } else {
      const auto got = puller.poll(std::chrono::duration_cast<std::chrono::milliseconds>(kRunTimeout));
      if (got.empty()) fail("ackmq round trip " + std::to_string(i) + " timed out");
      for (const auto& m : got) {
        if (!isBody(m.getBody(), kPong)) bad.fetch_add(1, std::memory_order_relaxed);
      }
      // Only this thread counts polled pongs: a plain store, as the peers' loops count theirs.
      pongs.store(pongs.load(std::memory_order_relaxed) + got.size(), std::memory_order_relaxed);
      if (pongs.load(std::memory_order_relaxed) != i + 1) fail("ackmq poll returned more than one pong");
    }
    const auto t1 = Steady::now();
    if (i >= warmup) samples.push_back(nanosBetween(t0, t1) / 2);
  }

  check(ackmq::testing::awaitIdle(echo, kRunTimeout), "ackmq group P did not become idle");
  checkCount(bad.load(), 0, "ackmq pings/pongs with a wrong body or a failed pong send");
  checkCount(pongs.load(), total, "ackmq pongs received");
  checkCount(ackmq::testing::consumerStats(echo).delivered, total, "ackmq pings delivered to group P");
  if (pushReturn) {
    check(ackmq::testing::awaitIdle(receiver, kRunTimeout), "ackmq group Q did not become idle");
    checkCount(ackmq::testing::consumerStats(receiver).delivered, total, "ackmq pongs delivered to group Q");
    receiver.shutdown();
  } else {
    checkCount(ackmq::testing::consumerStats(puller).polled, total, "ackmq pongs polled");
    puller.shutdown();
  }
  echo.shutdown();
  return summarize(std::move(samples));
}

// ackmq request-reply: thread A (the caller) sends a request to topic Ping with producer.request() and
// waits for its reply; group P's listener (one push consumer, one listener thread) answers with
// MessageUtil::createReplyMessage through its own producer. The sample is the whole round trip.
Sample ackmqRequestReply(std::size_t warmup, std::size_t rounds) {
  ackmq::Broker broker;
  broker.createTopic("Ping", 4);
  ackmq::Producer requester(broker, "bench-requester");
  requester.start();
  ackmq::Producer replier(broker, "bench-replier");
  replier.start();

  std::atomic<std::uint64_t> bad{0};
  ackmq::PushConsumer service(broker, "bench-service");
  service.subscribe("Ping", "*");
  service.setConsumeThreadMin(1);
  service.setConsumeThreadMax(1);
  service.registerMessageListener(ackmq::MessageListenerConcurrently{
      [&](const ackmq::MessageExtList& msgs, ackmq::ConsumeConcurrentlyContext&) {
        for (const auto& m : msgs) {
          if (!isBody(m.getBody(), kPing)) bad.fetch_add(1, std::memory_order_relaxed);
          try {
            replier.send(ackmq::MessageUtil::createReplyMessage(m, makeBody(kPong)));
          } catch (const std::exception&) {
            bad.fetch_add(1, std::memory_order_relaxed);
          }
        }
        return ackmq::ConsumeConcurrentlyStatus::CONSUME_SUCCESS;
      }});
  service.start();

  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kRunTimeout);
  const std::size_t total = warmup + rounds;
  std::vector<double> samples;
  samples.reserve(rounds);
  for (std::size_t i = 0; i < total; ++i) {
    const auto t0 = Steady::now();
    ackmq::Message reply;
    try {
      reply = requester.request(ackmq::Message("Ping", "", makeBody(kPing)), timeout);
    } catch (const std::exception& e) {
      fail("ackmq request " + std::to_string(i) + " failed: " + e.what());
    }
    const auto t1 = Steady::now();
    if (!isBody(reply.getBody(), kPong)) bad.fetch_add(1, std::memory_order_relaxed);
    if (i >= warmup) samples.push_back(nanosBetween(t0, t1));
  }

  check(ackmq::testing::awaitIdle(service, kRunTimeout), "ackmq group P did not become idle");
  checkCount(bad.load(), 0, "ackmq requests/replies with a wrong body or a failed reply send");
  checkCount(ackmq::testing::replyStats(broker).delivered, total, "ackmq replies delivered");
  checkCount(ackmq::testing::replyStats(broker).late + ackmq::testing::replyStats(broker).noRequester, 0,
             "ackmq replies dropped");
  checkCount(ackmq::testing::consumerStats(service).delivered, total, "ackmq requests delivered to group P");
  service.shutdown();
  return summarize(std::move(samples));
}

#ifdef ACKMQ_BENCH_HAVE_MOODYCAMEL
// moodycamel: a ping queue and a pong queue, one echo thread; both sides block in wait_dequeue (which spins
// briefly before sleeping). An empty string stops the echo thread.
Sample moodycamelPingPong(std::size_t warmup, std::size_t rounds) {
  moodycamel::BlockingConcurrentQueue<std::string> pingQ;
  moodycamel::BlockingConcurrentQueue<std::string> pongQ;
  std::uint64_t echoBad = 0;
  std::thread echo([&] {
    std::string ping;
    for (;;) {
      pingQ.wait_dequeue(ping);
      if (ping.empty()) break;
      if (!isBody(ping, kPing)) ++echoBad;
      pongQ.enqueue(makeBody(kPong));
    }
  });

  const std::size_t total = warmup + rounds;
  std::vector<double> samples;
  samples.reserve(rounds);
  std::uint64_t bad = 0;
  std::string pong;
  for (std::size_t i = 0; i < total; ++i) {
    const auto t0 = Steady::now();
    pingQ.enqueue(makeBody(kPing));
    if (!pongQ.wait_dequeue_timed(pong, kRunTimeout))
      fail("moodycamel round trip " + std::to_string(i) + " timed out");
    const auto t1 = Steady::now();
    if (!isBody(pong, kPong)) ++bad;
    if (i >= warmup) samples.push_back(nanosBetween(t0, t1) / 2);
  }
  pingQ.enqueue(std::string());
  echo.join();
  checkCount(bad + echoBad, 0, "moodycamel pings/pongs with a wrong body");
  return summarize(std::move(samples));
}
#endif

#ifdef ACKMQ_BENCH_HAVE_ZMQ
// ZeroMQ: a PAIR of inproc sockets, one echo thread; both sides block in recv. An empty message stops the
// echo thread.
Sample zmqPingPong(std::size_t warmup, std::size_t rounds) {
  zmq::context_t ctx(1);
  zmq::socket_t a(ctx, zmq::socket_type::pair);
  a.bind("inproc://bench-latency");
  zmq::socket_t b(ctx, zmq::socket_type::pair);
  b.connect("inproc://bench-latency");
  a.set(zmq::sockopt::rcvtimeo, static_cast<int>(std::chrono::milliseconds(kRunTimeout).count()));

  std::uint64_t echoBad = 0;
  std::thread echo([&] {
    zmq::message_t ping;
    for (;;) {
      if (!b.recv(ping, zmq::recv_flags::none)) {
        ++echoBad;
        break;
      }
      if (ping.size() == 0) break;
      if (ping.size() != kBodyBytes || *ping.data<char>() != kPing) ++echoBad;
      const std::string body = makeBody(kPong);
      if (!b.send(zmq::buffer(body), zmq::send_flags::none)) ++echoBad;
    }
  });

  const std::size_t total = warmup + rounds;
  std::vector<double> samples;
  samples.reserve(rounds);
  std::uint64_t bad = 0;
  zmq::message_t pong;
  for (std::size_t i = 0; i < total; ++i) {
    const auto t0 = Steady::now();
    const std::string body = makeBody(kPing);
    if (!a.send(zmq::buffer(body), zmq::send_flags::none)) ++bad;
    if (!a.recv(pong, zmq::recv_flags::none)) fail("zmq round trip " + std::to_string(i) + " timed out");
    const auto t1 = Steady::now();
    if (pong.size() != kBodyBytes || *pong.data<char>() != kPong) ++bad;
    if (i >= warmup) samples.push_back(nanosBetween(t0, t1) / 2);
  }
  if (!a.send(zmq::message_t(), zmq::send_flags::none)) fail("zmq could not stop its echo thread");
  echo.join();
  checkCount(bad + echoBad, 0, "zmq pings/pongs with a wrong body or a failed send");
  return summarize(std::move(samples));
}
#endif

}  // namespace

void runLatency(const Options& opt) {
  const std::size_t rounds = scaled(20'000, opt);
  const std::size_t warmup = scaled(1'000, opt);
  heading("latency", "ping-pong one-way latency (round trip / 2), " + std::to_string(rounds) +
                         " round trips per repetition after " + std::to_string(warmup) + " warm-up");
  std::printf(
      "  ackmq: A sends to topic Ping; group P's listener (1 thread) sends to topic Pong; A polls Pong with "
      "a "
      "lite pull consumer\n");
  std::printf(
      "  ackmq_push: the same, but group Q's listener (1 thread) receives the pong and bumps an atomic A "
      "spins on (with yield)\n");
  std::printf(
      "  moodycamel: BlockingConcurrentQueue ping/pong pair + echo thread (wait_dequeue); zmq: inproc PAIR "
      "sockets + echo thread (blocking recv)\n");
  std::printf("  every sample kept; per repetition p50, p99, p99.9 in ns; lower is better\n");
  if (!kHaveMoodycamel) notice(kNoMoodycamel);
  if (!kHaveZmq) notice(kNoZmq);

  std::vector<Contender> contenders = {
      {"ackmq", [=](int) { return ackmqPingPong(warmup, rounds, false); }},
      {"ackmq_push", [=](int) { return ackmqPingPong(warmup, rounds, true); }}};
#ifdef ACKMQ_BENCH_HAVE_MOODYCAMEL
  contenders.push_back({"moodycamel", [=](int) { return moodycamelPingPong(warmup, rounds); }});
#endif
#ifdef ACKMQ_BENCH_HAVE_ZMQ
  contenders.push_back({"zmq", [=](int) { return zmqPingPong(warmup, rounds); }});
#endif
  const Results r = runInterleaved(opt, contenders);

  std::vector<std::string> systems;
  for (const auto& c : contenders)
    systems.push_back(c.name);
  for (const char* metric : {"p50_ns", "p99_ns", "p999_ns"})
    printSummary(r, systems, metric, "ns one-way");

  ResultLine result("latency", "one_way_ns");
  for (const auto& s : systems) {
    result.value(s + "_p50", r.med(s, "p50_ns"))
        .value(s + "_p99", r.med(s, "p99_ns"))
        .value(s + "_p999", r.med(s, "p999_ns"));
  }
  // The targets' ratios first (p50 vs moodycamel, p99 vs zmq), then the rest.
  auto ratio = [&](const std::string& peer, const std::string& pct) {
    if (!r.has(peer)) return;
    const std::string metric = pct + "_ns";
    result.ratio(
        "ratio_" + pct + "_" + peer,
        printRatios("ackmq/" + peer + " " + pct, perRepRatios(r, "ackmq", peer, metric), kLowerIsBetter));
  };
  ratio("moodycamel", "p50");
  ratio("zmq", "p99");
  ratio("moodycamel", "p99");
  ratio("zmq", "p50");
  ratio("moodycamel", "p999");
  ratio("zmq", "p999");
  // The three-thread shape, for comparison.
  if (r.has("moodycamel")) {
    result.ratio("ratio_push_p50_moodycamel",
                 printRatios("ackmq_push/moodycamel p50",
                             perRepRatios(r, "ackmq_push", "moodycamel", "p50_ns"), kLowerIsBetter));
  }
  if (r.has("zmq")) {
    result.ratio(
        "ratio_push_p99_zmq",
        printRatios("ackmq_push/zmq p99", perRepRatios(r, "ackmq_push", "zmq", "p99_ns"), kLowerIsBetter));
  }
  result.print();
}

void runRequestReply(const Options& opt) {
  const std::size_t rounds = scaled(20'000, opt);
  const std::size_t warmup = scaled(1'000, opt);
  heading("request_reply", "producer.request() round trip, " + std::to_string(rounds) +
                               " requests per repetition after " + std::to_string(warmup) +
                               " warm-up, beside the latency scenario's ackmq cases");
  std::printf(
      "  request_reply: A calls producer.request() on topic Ping; group P's listener (1 thread) replies with "
      "createReplyMessage; sample = the whole round trip\n");
  std::printf(
      "  ackmq, ackmq_push: the latency scenario's ping-pong cases, one-way (round trip / 2), in the same "
      "run\n");
  std::printf("  every sample kept; per repetition p50, p99, p99.9 in ns; lower is better\n");

  const std::vector<Contender> contenders = {
      {"request_reply", [=](int) { return ackmqRequestReply(warmup, rounds); }},
      {"ackmq", [=](int) { return ackmqPingPong(warmup, rounds, false); }},
      {"ackmq_push", [=](int) { return ackmqPingPong(warmup, rounds, true); }}};
  const Results r = runInterleaved(opt, contenders);

  std::vector<std::string> systems;
  for (const auto& c : contenders)
    systems.push_back(c.name);
  for (const char* metric : {"p50_ns", "p99_ns", "p999_ns"})
    printSummary(r, systems, metric, "ns (request_reply: round trip; ackmq*: one-way)");

  ResultLine result("request_reply", "ns");
  for (const auto& s : systems) {
    result.value(s + "_p50", r.med(s, "p50_ns"))
        .value(s + "_p99", r.med(s, "p99_ns"))
        .value(s + "_p999", r.med(s, "p999_ns"));
  }
  // The target: the request round trip's p50 against the push-listener ping-pong's p50.
  result.ratio("ratio_p50_ackmq_push",
               printRatios("request_reply/ackmq_push p50",
                           perRepRatios(r, "request_reply", "ackmq_push", "p50_ns"), kLowerIsBetter));
  result.ratio("ratio_p50_ackmq",
               printRatios("request_reply/ackmq p50", perRepRatios(r, "request_reply", "ackmq", "p50_ns"),
                           kLowerIsBetter));
  result.ratio("ratio_p99_ackmq_push",
               printRatios("request_reply/ackmq_push p99",
                           perRepRatios(r, "request_reply", "ackmq_push", "p99_ns"), kLowerIsBetter));
  result.print();
}

}  // namespace bench
