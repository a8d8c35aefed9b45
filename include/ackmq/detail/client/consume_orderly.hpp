#pragma once
// ackmq internals: orderly consumption (RocketMQ ConsumeMessageOrderlyService). Each queue has a strand on
// the pool: a task that takes the queue's lowest waiting messages, calls the listener, processes the result
// and goes on, so that one queue's messages reach the listener in order and one call at a time, no lock is
// held across the listener, and different queues are consumed in parallel. A failed batch suspends its
// queue; the reconsume count and the DLQ are kept here.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ackmq/detail/broker/retry_service.hpp>
#include <ackmq/detail/broker/timer_service.hpp>
#include <ackmq/detail/client/consume_task.hpp>
#include <ackmq/detail/client/process_queue.hpp>
#include <ackmq/detail/client/push_settings.hpp>
#include <ackmq/listener.hpp>

namespace ackmq::detail {

/// Thread safety: run() is called on pool threads, one strand per queue at a time; the rest is thread-safe.
template <class Core>
class ConsumeOrderly final : private TimerTarget {
 public:
  using Body = typename Core::body_type;
  using Pq = ProcessQueue<Body>;
  using Entry = typename Pq::Entry;
  using EntryState = typename Entry::State;
  using Task = ConsumeTask<Pq>;
  using Listener = BasicMessageListenerOrderly<Body>;

  ConsumeOrderly(Core& core, const PushSettings& settings, ConsumeCounters& counters, ConsumeTasks<Pq>& tasks,
                 PullControl<Pq>& pull, const std::atomic<bool>& stopping, GroupRetryTopics& retryTopics)
      : core_(core),
        settings_(settings),
        counters_(counters),
        tasks_(tasks),
        pull_(pull),
        stopping_(stopping),
        retryTopics_(retryTopics) {}
  ConsumeOrderly(const ConsumeOrderly&) = delete;
  ConsumeOrderly& operator=(const ConsumeOrderly&) = delete;

  void start(Listener listener, int maxReconsume) {
    listener_ = std::move(listener);
    maxReconsume_ = maxReconsume;
    target_ = core_.timers().registerTarget(*this);
  }
  /// No resume timer runs after this returns.
  void stop() {
    core_.timers().unregisterTarget(target_);
    resumes_.clear();
  }

  /// One turn of a queue's strand (RocketMQ ConsumeMessageOrderlyService.ConsumeRequest): batch after batch,
  /// lowest offsets first. After kBatchesPerTask batches it yields its thread to other queues and comes back.
  void run(Task& t) {
    const std::shared_ptr<Pq>& owner = t.pq;
    Pq& pq = *owner;
    std::vector<Entry*> batch;
    for (int round = 0;; ++round) {
      bool release = false;
      bool yield = false;
      {
        std::lock_guard lock(pq.mutex);
        if (pq.dropped.load(std::memory_order_acquire) || stopping_.load()) {
          pq.consuming = false;
          return;
        }
        batch.clear();
        if (!pq.releasing)
          pq.takeOrderly(static_cast<std::size_t>(settings_.consumeMessageBatchMaxSize), batch);
        if (pq.releasing || batch.empty()) {
          pq.consuming = false;  // the pull service starts a new strand when messages arrive
          release = pq.releasing && markReleased(pq);
        } else if (round == kBatchesPerTask) {
          // The strand stays "consuming" across the hand-over.
          for (Entry* e : batch)
            e->state = EntryState::QUEUED;
          batch.clear();
          yield = true;
        }
      }
      if (release) pull_.completeRelease(pq);
      if (yield) tasks_.submit(Task{owner, {}, true});
      if (batch.empty()) return;
      const ListenerBatch<Entry> view(batch.data(), batch.size());
      ConsumeOrderlyContext ctx(pq.mq);
      ConsumeOrderlyStatus status = ConsumeOrderlyStatus::SUSPEND_CURRENT_QUEUE_A_MOMENT;
      try {
        status = listener_->consumeMessage(view.template list<BasicMessageExtList<Body>>(), ctx);
      } catch (...) {
        status = ConsumeOrderlyStatus::SUSPEND_CURRENT_QUEUE_A_MOMENT;  // RocketMQ: an exception suspends
      }
      if (!processResult(owner, batch, status, ctx)) return;  // suspended, or released
    }
  }

 private:
  static constexpr int kBatchesPerTask = 64;  // then the strand yields its thread to others

  // RocketMQ ConsumeMessageOrderlyService.processConsumeResult. False when the strand must stop: the queue is
  // suspended (a timer resumes it) or was released.
  bool processResult(const std::shared_ptr<Pq>& owner, std::vector<Entry*>& batch,
                     ConsumeOrderlyStatus status, const ConsumeOrderlyContext& ctx) {
    Pq& pq = *owner;
    const auto n = static_cast<std::uint64_t>(batch.size());
    bool suspend = false;
    bool commit = false;
    if (status == ConsumeOrderlyStatus::SUSPEND_CURRENT_QUEUE_A_MOMENT) {
      ConsumeCounters::add(counters_.failed, n);
      suspend = checkReconsumeTimes(pq, batch);
      commit = !suspend && ctx.isAutoCommit();
    } else if (ctx.isAutoCommit()) {
      // SUCCESS, and the deprecated COMMIT and ROLLBACK, all commit when autoCommit is on.
      ConsumeCounters::add(counters_.succeeded, n);
      commit = true;
    } else if (status == ConsumeOrderlyStatus::ROLLBACK) {
      ConsumeCounters::add(counters_.failed, n);
      ConsumeCounters::add(counters_.reconsumedLocally, n);
      suspend = true;
    } else {
      ConsumeCounters::add(counters_.succeeded, n);
      commit = status == ConsumeOrderlyStatus::COMMIT;
    }

    std::unique_lock lock(pq.mutex);
    if (suspend) {
      // The batch goes back to the front of the queue (RocketMQ makeMessageToConsumeAgain); with ROLLBACK, so
      // does everything consumed since the last commit.
      for (Entry* e : batch) {
        if (e->state == EntryState::RUNNING) e->state = EntryState::QUEUED;
      }
      if (status == ConsumeOrderlyStatus::ROLLBACK) pq.settleConsumed(EntryState::QUEUED);
    } else {
      for (Entry* e : batch) {
        if (e->state == EntryState::RUNNING) e->state = commit ? EntryState::DONE : EntryState::CONSUMED;
      }
      if (commit) pq.settleConsumed(EntryState::DONE);
    }
    const std::int64_t committed = pq.retireDone();
    if (commit || !ctx.isAutoCommit()) pq.commitLocked(committed);
    pull_.releaseFlowControl(pq);
    if (pq.dropped.load(std::memory_order_acquire) || stopping_.load()) {
      pq.consuming = false;
      return false;
    }
    if (pq.releasing) {
      pq.consuming = false;
      const bool release = markReleased(pq);
      lock.unlock();
      if (release) pull_.completeRelease(pq);
      return false;
    }
    if (suspend) {
      long millis = ctx.getSuspendCurrentQueueTimeMillis() >= 0 ? ctx.getSuspendCurrentQueueTimeMillis()
                                                                : settings_.suspendCurrentQueueTimeMillis;
      millis = std::clamp(millis, 10L, 30'000L);  // RocketMQ ConsumeMessageOrderlyService
      pq.suspended = true;  // the strand stays "consuming": nothing else runs for this queue until resumed
      core_.timers().scheduleAfter(millis, target_, resumes_.add(owner));
      return false;
    }
    return true;
  }

  // RocketMQ checkReconsumeTimes: a message that reached maxReconsumeTimes goes to the DLQ; the others count
  // one more reconsume. True when the batch must be consumed again.
  bool checkReconsumeTimes(Pq& pq, const std::vector<Entry*>& batch) {
    bool again = false;
    for (Entry* e : batch) {
      if (e->msg.getReconsumeTimes() >= maxReconsume_ && settings_.clustering()) {
        SendBackResult r;
        try {
          r = core_.sendRetryMessage(retryTopics_, e->msg, -1, maxReconsume_);
        } catch (...) {
          r.code = ResponseCode::SYSTEM_ERROR;  // a copy that threw: the message is consumed again
        }
        if (r.ok()) {
          ConsumeCounters::add(counters_.deadLettered, 1);
          std::lock_guard lock(pq.mutex);
          e->state = EntryState::DONE;
          continue;
        }
      }
      e->msg.setReconsumeTimes(e->msg.getReconsumeTimes() + 1);
      ConsumeCounters::add(counters_.reconsumedLocally, 1);
      again = true;
    }
    return again;
  }

  // Called with pq.mutex held, once a released queue's last batch is done. True: the caller then completes
  // the release, after letting go of pq.mutex.
  static bool markReleased(Pq& pq) {
    pq.releasing = false;
    pq.dropped.store(true, std::memory_order_release);
    return true;
  }

  // TimerTarget: a suspended queue's time is up: its strand resumes.
  void onTimer(std::uint64_t id) noexcept override {
    const auto owner = resumes_.take(id);
    std::shared_ptr<Pq> pq = owner ? owner->lock() : nullptr;
    if (!pq || pq->dropped.load()) return;
    {
      std::lock_guard lock(pq->mutex);
      pq->suspended = false;
    }
    tasks_.submit(Task{std::move(pq), {}, true});
  }

  Core& core_;
  const PushSettings& settings_;
  ConsumeCounters& counters_;
  ConsumeTasks<Pq>& tasks_;
  PullControl<Pq>& pull_;
  const std::atomic<bool>& stopping_;
  GroupRetryTopics& retryTopics_;
  std::optional<Listener> listener_;  // set at start()
  int maxReconsume_ = 0;
  TargetHandle target_;
  TimerBook<std::weak_ptr<Pq>> resumes_;  // suspended queues waiting for their time
};

}  // namespace ackmq::detail
