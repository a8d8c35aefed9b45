#pragma once
// ackmq internals: concurrent consumption (RocketMQ ConsumeMessageConcurrentlyService): listener calls on the
// pool, processConsumeResult, the send-back of failed messages and its fallbacks, the local re-consume, and
// the consume timeout.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ackmq/clock.hpp>
#include <ackmq/detail/broker/retry_service.hpp>
#include <ackmq/detail/broker/timer_service.hpp>
#include <ackmq/detail/client/consume_task.hpp>
#include <ackmq/detail/client/process_queue.hpp>
#include <ackmq/detail/client/push_settings.hpp>
#include <ackmq/listener.hpp>
#include <ackmq/message.hpp>

namespace ackmq::detail {

/// Thread safety: run() is called on pool threads, concurrently; the rest is thread-safe.
template <class Core>
class ConsumeConcurrently final : private TimerTarget {
 public:
  using Body = typename Core::body_type;
  using Clock = typename Core::clock_type;
  using Pq = ProcessQueue<Body>;
  using Entry = typename Pq::Entry;
  using EntryState = typename Entry::State;
  using Task = ConsumeTask<Pq>;
  using MessageExt = BasicMessageExt<Body>;
  using Listener = BasicMessageListenerConcurrently<Body>;

  ConsumeConcurrently(Core& core, const PushSettings& settings, ConsumeCounters& counters,
                      ConsumeTasks<Pq>& tasks, PullControl<Pq>& pull, const std::atomic<bool>& stopping,
                      GroupRetryTopics& retryTopics)
      : core_(core),
        settings_(settings),
        counters_(counters),
        tasks_(tasks),
        pull_(pull),
        stopping_(stopping),
        retryTopics_(retryTopics) {}
  ConsumeConcurrently(const ConsumeConcurrently&) = delete;
  ConsumeConcurrently& operator=(const ConsumeConcurrently&) = delete;

  /// Starts serving `listener`, with failures going to the DLQ after `maxReconsume` reconsumes; in
  /// CLUSTERING also the consume timeout's scan (RocketMQ has none for BROADCASTING).
  void start(Listener listener, int maxReconsume) {
    listener_ = std::move(listener);
    maxReconsume_ = maxReconsume;
    target_ = core_.timers().registerTarget(*this);
    if (settings_.clustering())
      core_.timers().scheduleAfter(settings_.consumeTimeout.count(), target_, kScanExpired);
  }
  /// No timer of this service runs after this returns; local re-consumes waiting for theirs are dropped
  /// (their messages stay unconsumed for the next owner).
  void stop() {
    core_.timers().unregisterTarget(target_);
    deferred_.clear();
  }

  /// Runs a task's listener calls (RocketMQ ConsumeRequest.run).
  void run(Task& t) {
    Pq& pq = *t.pq;
    const std::size_t batch = static_cast<std::size_t>(settings_.consumeMessageBatchMaxSize);
    // One context for the task's calls, set back to its defaults before each. It refers to the process
    // queue's MessageQueue, which the task's shared_ptr keeps alive, rather than copying its names.
    ConsumeConcurrentlyContext ctx(BorrowQueue{}, pq.mq);
    // Results are processed a run of calls at a time: one hold of the queue's mutex, and one of the store
    // lock for the run's send-backs, instead of one each per call. A run ends after kResultRun messages,
    // before the first call to start once a scheduler tick has passed since the run began, and with the
    // task; until then its messages count as still being consumed, holding the offset back.
    std::array<CallResult, kResultRun> results;
    std::size_t resultCount = 0;
    std::size_t resultEntries = 0;
    std::int64_t resultsSince = 0;
    auto process = [&] {
      if (resultCount == 0) return;
      processResults(t.pq, std::span<const CallResult>(results.data(), resultCount));
      resultCount = 0;
      resultEntries = 0;
    };
    for (std::size_t i = 0; i < t.entries.size(); i += batch) {
      Entry* const* first = t.entries.data() + i;
      const std::size_t n = std::min(batch, t.entries.size() - i);
      const bool started = i == 0 && t.started;  // the pull marked this call's entries RUNNING
      if (pq.dropped.load(std::memory_order_acquire) || stopping_.load()) {
        process();
        std::lock_guard lock(pq.mutex);
        for (std::size_t k = 0; k < n; ++k) {
          if (started) first[k]->state = EntryState::QUEUED;
          pq.abandon(first[k]);
        }
        continue;
      }
      // Runs end on real time's ticks, whatever the clock (ManualClock's time may stand still).
      constexpr bool kSystemClock = std::is_same_v<Clock, SystemClock>;
      const std::int64_t wall = started && kSystemClock ? t.startedAt : SystemClock::coarseSteadyMillis();
      if (resultCount != 0 && wall != resultsSince) process();
      if (resultCount == 0) resultsSince = wall;
      if (!started) {
        const std::int64_t now = kSystemClock ? wall : coarseSteadyMillis(core_.clock());
        std::lock_guard lock(pq.mutex);
        for (std::size_t k = 0; k < n; ++k) {
          first[k]->state = EntryState::RUNNING;
          first[k]->consumeStart = now;
        }
      }
      const ListenerBatch<Entry> view(first, n);
      ctx.setAckIndex(std::numeric_limits<int>::max());
      ctx.setDelayLevelWhenNextConsume(0);
      ConsumeConcurrentlyStatus status = ConsumeConcurrentlyStatus::RECONSUME_LATER;
      try {
        status = listener_->consumeMessage(view.template list<BasicMessageExtList<Body>>(), ctx);
      } catch (...) {
        status = ConsumeConcurrentlyStatus::RECONSUME_LATER;  // RocketMQ: an exception is RECONSUME_LATER
      }
      // RocketMQ processConsumeResult: with CONSUME_SUCCESS, [0, ackIndex] are consumed and the rest failed;
      // RECONSUME_LATER fails them all.
      const int count = static_cast<int>(n);
      int ackIndex = -1;
      if (status == ConsumeConcurrentlyStatus::CONSUME_SUCCESS)
        ackIndex = std::min(ctx.getAckIndex(), count - 1);
      const int ok = std::max(ackIndex + 1, 0);
      ConsumeCounters::add(counters_.succeeded, static_cast<std::uint64_t>(ok));
      ConsumeCounters::add(counters_.failed, static_cast<std::uint64_t>(count - ok));
      results[resultCount++] = CallResult{first, n, ok, ctx.getDelayLevelWhenNextConsume()};
      resultEntries += n;
      if (resultEntries >= kResultRun) process();
    }
    process();
  }

 private:
  static constexpr std::uint64_t kScanExpired = 0;         // the timer id of the consume timeout's scan
  static constexpr std::int64_t kLocalRetryMillis = 5000;  // RocketMQ submitConsumeRequestLater
  static constexpr int kExpiredScanMax = 16;               // RocketMQ ProcessQueue.cleanExpiredMsg
  static constexpr std::size_t kResultRun = 32;            // results processed together at most

  // A listener call whose result waits to be processed with others.
  struct CallResult {
    Entry* const* entries;
    std::size_t count;
    int ok;          // entries [0, ok) were consumed; the rest failed
    int delayLevel;  // the context's delayLevelWhenNextConsume
  };
  // A failed message to send back, and whether it went.
  struct SendBackItem {
    Entry* entry;
    int delayLevel;
    bool sent = false;
  };
  // Failed messages waiting on the broker's clock to be consumed again locally.
  struct Deferred {
    std::weak_ptr<Pq> pq;
    std::vector<Entry*> entries;
  };

  // The rest of processConsumeResult for a run of calls: failed messages go back to the broker, all under
  // one hold of the store lock (CLUSTERING; BROADCASTING drops them), or, where that fails, wait for a local
  // re-consume; then every message leaves the process queue and the offset is committed.
  void processResults(const std::shared_ptr<Pq>& owner, std::span<const CallResult> results) {
    Pq& pq = *owner;
    std::vector<SendBackItem> sendBacks;
    std::vector<Entry*> retryLocally;
    const bool clustering = settings_.clustering();
    if (clustering) {
      std::size_t failed = 0;
      for (const CallResult& r : results)
        failed += r.count - static_cast<std::size_t>(r.ok);
      sendBacks.reserve(failed);  // one allocation for a run of failures
    }
    for (const CallResult& r : results) {
      const int n = static_cast<int>(r.count);
      if (!clustering) {
        ConsumeCounters::add(counters_.dropped, static_cast<std::uint64_t>(n - r.ok));
        continue;
      }
      for (int i = r.ok; i < n; ++i) {
        Entry* e = r.entries[i];
        if (pq.dropped.load(std::memory_order_acquire) || e->expired.load(std::memory_order_acquire)) {
          ConsumeCounters::add(counters_.dropped, 1);
          continue;
        }
        sendBacks.push_back(SendBackItem{e, r.delayLevel});
      }
    }
    if (!sendBacks.empty()) {
      sendBackAll(sendBacks);
      for (const SendBackItem& item : sendBacks) {
        if (item.sent) continue;
        // The one reconsume count: the next delivery, local or from %RETRY%, carries it.
        item.entry->msg.setReconsumeTimes(item.entry->msg.getReconsumeTimes() + 1);
        retryLocally.push_back(item.entry);
        ConsumeCounters::add(counters_.reconsumedLocally, 1);
      }
    }
    {
      std::lock_guard lock(pq.mutex);
      for (const CallResult& r : results) {
        for (std::size_t i = 0; i < r.count; ++i) {
          Entry* e = r.entries[i];
          const bool later = !retryLocally.empty() &&
                             std::find(retryLocally.begin(), retryLocally.end(), e) != retryLocally.end();
          pq.complete(e, later);
        }
      }
      pq.commitLocked(pq.retireDone());
      pull_.releaseFlowControl(pq);
    }
    // RocketMQ submitConsumeRequestLater: they stay in the process queue, holding the offset back, and are
    // consumed again after 5 s on the broker's clock.
    if (!retryLocally.empty())
      core_.timers().scheduleAfter(kLocalRetryMillis, target_,
                                   deferred_.add(Deferred{owner, std::move(retryLocally)}));
  }

  // CONSUMER_SEND_MSG_BACK for every item, in one request to the broker; an item the broker refuses, or
  // whose copy throws, tries the fallback retry message on its own. Marks each item sent or not.
  void sendBackAll(std::vector<SendBackItem>& items) {
    std::vector<SendBackRequest> requests;
    requests.reserve(items.size());
    for (const SendBackItem& item : items) {
      const MessageExt& m = item.entry->msg;
      requests.push_back(SendBackRequest{m.getCommitLogOffset(), item.delayLevel, m.getReconsumeTimes()});
    }
    std::vector<SendBackResult> results(items.size());
    try {
      core_.sendMessagesBack(retryTopics_, requests, maxReconsume_, results);
    } catch (...) {
      // Out of memory before anything was stored: each item tries the fallback below.
      for (auto& r : results) {
        if (r.ok()) r = SendBackResult{ResponseCode::SYSTEM_ERROR, false, "the send-back could not be made"};
      }
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      SendBackItem& item = items[i];
      SendBackResult& r = results[i];
      if (!r.ok()) r = sendRetryFallback(item.entry->msg, item.delayLevel);
      item.sent = r.ok();
      if (r.ok()) ConsumeCounters::add(r.deadLettered ? counters_.deadLettered : counters_.retried, 1);
    }
  }

  // CONSUMER_SEND_MSG_BACK, then the fallback retry message if that fails.
  SendBackResult trySendBack(const MessageExt& msg, int delayLevel) {
    SendBackResult r = guarded([&] {
      return core_.sendMessageBack(retryTopics_, msg.getCommitLogOffset(), delayLevel,
                                   msg.getReconsumeTimes(), maxReconsume_);
    });
    if (!r.ok()) r = sendRetryFallback(msg, delayLevel);
    return r;
  }

  // After a failed send-back: the consumer's own copy, sent to %RETRY%<group> as a retry message.
  SendBackResult sendRetryFallback(const MessageExt& msg, int delayLevel) {
    return guarded([&] { return core_.sendRetryMessage(retryTopics_, msg, delayLevel, maxReconsume_); });
  }

  // A broker copy that throws (a Body copy constructor, an allocation) is a failed send-back like any other.
  template <class Send>
  static SendBackResult guarded(Send&& send) {
    try {
      return send();
    } catch (const std::exception& e) {
      return SendBackResult{ResponseCode::SYSTEM_ERROR, false, e.what()};
    } catch (...) {
      return SendBackResult{ResponseCode::SYSTEM_ERROR, false, "copying the message threw"};
    }
  }

  // TimerTarget: the consume timeout's scan, or failed messages due for their local re-consume.
  void onTimer(std::uint64_t id) noexcept override {
    if (id == kScanExpired) {
      scanExpired();
      core_.timers().scheduleAfter(settings_.consumeTimeout.count(), target_, kScanExpired);
      return;
    }
    std::optional<Deferred> taken = deferred_.take(id);
    if (!taken) return;
    Deferred& d = *taken;
    auto pq = d.pq.lock();
    if (!pq || pq->dropped.load()) return;
    {
      std::lock_guard lock(pq->mutex);
      for (Entry* e : d.entries) {
        e->state = EntryState::QUEUED;
        e->busy = true;
      }
    }
    tasks_.submit(Task{std::move(pq), EntryRun<Entry>(std::move(d.entries)), false});
  }

  // RocketMQ ProcessQueue.cleanExpiredMsg: the head messages held by the listener longer than consumeTimeout
  // are sent back (delay level 3) and leave the process queue; the listener is not interrupted. A message
  // whose send-back fails stays with the listener: its own result settles it, and the next scan tries again
  // if it is still held.
  void scanExpired() {
    const std::int64_t now = coarseSteadyMillis(core_.clock());
    struct Candidate {
      Entry* entry;
      std::int64_t offset;
      MessageExt msg;
    };
    for (auto& pq : pull_.ownedSnapshot()) {
      std::vector<Candidate> candidates;
      {
        std::lock_guard lock(pq->mutex);
        int examined = 0;
        for (Entry* e : pq->window()) {
          if (++examined > kExpiredScanMax) break;
          if (e->state == EntryState::DONE) continue;
          if (e->state != EntryState::RUNNING || now - e->consumeStart <= settings_.consumeTimeout.count())
            break;
          // A copy that throws leaves this message and the rest with the listener until the next scan.
          try {
            candidates.push_back(Candidate{e, e->offset, e->msg});
          } catch (...) {
            break;
          }
        }
      }
      if (candidates.empty()) continue;
      bool anySent = false;
      for (Candidate& c : candidates) {
        if (!trySendBack(c.msg, 3).ok()) continue;
        ConsumeCounters::add(counters_.expired, 1);
        std::lock_guard lock(pq->mutex);
        // Unless the listener finished with it meanwhile (then the entry may already hold a later message),
        // the message leaves the process queue: the copy in %RETRY% now stands for it.
        if (c.entry->offset == c.offset && c.entry->state == EntryState::RUNNING) {
          c.entry->expired.store(true, std::memory_order_release);
          c.entry->state = EntryState::DONE;
          anySent = true;
        }
      }
      if (!anySent) continue;
      std::lock_guard lock(pq->mutex);
      pq->commitLocked(pq->retireDone());
      pull_.releaseFlowControl(*pq);
    }
  }

  Core& core_;
  const PushSettings& settings_;
  ConsumeCounters& counters_;
  ConsumeTasks<Pq>& tasks_;
  PullControl<Pq>& pull_;
  const std::atomic<bool>& stopping_;
  GroupRetryTopics& retryTopics_;
  std::optional<Listener> listener_;  // set at start()
  int maxReconsume_ = 16;
  TargetHandle target_;
  TimerBook<Deferred> deferred_;  // failed messages waiting for their local re-consume
};

}  // namespace ackmq::detail
