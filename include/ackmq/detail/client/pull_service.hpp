#pragma once
// ackmq internals: a push consumer's pulls (RocketMQ PullMessageService and the rebalance it runs): the
// dispatcher thread, the queues this member owns, flow control, and the hand-off of pulled messages to the
// listener threads as tasks.
//
// Work moves in one direction: a queue turns dirty (an arrival, a release of flow control); the dispatcher,
// awake, clears the flag, pulls and submits tasks; listener threads finish them. When the consumer is idle
// (dispatcher asleep, no task pending) an arrival is pulled without waking the dispatcher: by a listener
// thread still looking for work, or by the appending thread itself.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ackmq/clock.hpp>
#include <ackmq/detail/body_traits.hpp>
#include <ackmq/detail/broker/client_api.hpp>
#include <ackmq/detail/broker/group_registry.hpp>
#include <ackmq/detail/broker/timer_service.hpp>
#include <ackmq/detail/client/consume_task.hpp>
#include <ackmq/detail/client/event_count.hpp>
#include <ackmq/detail/client/idle_tracker.hpp>
#include <ackmq/detail/client/process_queue.hpp>
#include <ackmq/detail/client/push_settings.hpp>
#include <ackmq/detail/client/rebalancer.hpp>
#include <ackmq/detail/platform.hpp>
#include <ackmq/detail/spin.hpp>
#include <ackmq/message_queue.hpp>

namespace ackmq::detail {

/// Thread safety: thread-safe. The queues' pullOffset, the active list and the pull scratch belong to
/// whoever holds the dispatch lock: the dispatcher thread, or a thread pulling for an idle consumer.
template <class Core>
class PullService final : public ConsumerEndpoint,
                          public QueueWaker<ProcessQueue<typename Core::body_type>>,
                          public PullControl<ProcessQueue<typename Core::body_type>>,
                          private TimerTarget {
 public:
  using Body = typename Core::body_type;
  using Pq = ProcessQueue<Body>;
  using Entry = typename Pq::Entry;
  using EntryState = typename Entry::State;
  using Task = ConsumeTask<Pq>;
  using Filters = std::map<std::string, SubscriptionFilter>;

  PullService(Core& core, const PushSettings& settings, ConsumeTasks<Pq>& tasks, IdleTracker& idle)
      : core_(core), settings_(settings), tasks_(tasks), idle_(idle) {}
  PullService(const PullService&) = delete;
  PullService& operator=(const PullService&) = delete;

  /// Starts the dispatcher for a member of `rebalancer`'s group, reading `filters` (the subscriptions and
  /// the retry topic) with offsets kept under `offsetGroup`.
  void start(Rebalancer<Core>& rebalancer, Filters filters, std::string offsetGroup, bool orderly) {
    rebalancer_ = &rebalancer;
    filters_ = std::move(filters);
    offsetGroup_ = std::move(offsetGroup);
    orderly_ = orderly;
    target_ = core_.timers().registerTarget(*this);
    stopping_.store(false);
    dispatcher_ = std::thread([this] { dispatchLoop(); });
  }
  /// Stops the dispatcher and joins it; pulls end. Idempotent.
  void stopDispatcher() {
    stopping_.store(true, std::memory_order_seq_cst);
    wakeDispatcher();
    if (dispatcher_.joinable()) dispatcher_.join();
  }
  /// Lets every queue go, its later results discarded (the member leaves), and the pull retry timers.
  void dropAll() {
    {
      std::lock_guard lock(pqsMutex_);
      for (auto& [mq, pq] : pqs_)
        drop(*pq, /*leaving=*/true);
      pqs_.clear();
      releasing_.clear();
    }
    core_.timers().unregisterTarget(target_);
    retries_.clear();
  }

  /// Set while the consumer stops: tasks and strands end early, results are dropped.
  const std::atomic<bool>& stopping() const noexcept { return stopping_; }
  bool orderly() const noexcept { return orderly_; }

  // ------------------------------------------------------------------------------------------- broker calls

  /// ConsumerEndpoint: the group, a subscribed topic, or an orderly queue lock changed.
  void onGroupChanged() noexcept override {
    rebalancePending_.store(true, std::memory_order_seq_cst);
    wakeDispatcher();
  }

  /// QueueWaker: messages arrived in `pq`; this runs on the appending thread, under the store lock, where
  /// nothing may block. A concurrent consumer whose dispatcher is asleep does not wake it when a listener
  /// thread is still looking for work: that thread is asked to pull, and takes the messages straight to the
  /// listener, so that they pass from one thread to another once. Anything else waits for the follow-up.
  bool onQueueNews(Pq&) noexcept override {
    idle_.noteHandBack();  // the caller has marked pq dirty
    if (orderly_ || !parked_.load(std::memory_order_seq_cst) || stopping_.load())
      return parked_.load(std::memory_order_seq_cst);  // a parked dispatcher is woken in the follow-up
    return !tasks_.pool().offerIdleWork();
  }
  /// With no thread looking and no listener call pending, the appending thread pulls and hands the messages
  /// over. Otherwise the dispatcher is woken (or, still polling, sees the queue's flag). The count of pending
  /// calls is read last, and only as a hint: the listener threads write it on every call.
  void onQueueNewsFollowUp(Pq& pq) noexcept override {
    if (orderly_ || !parked_.load(std::memory_order_seq_cst) || stopping_.load()) {
      wakeDispatcher();
      return;
    }
    if (tasks_.pool().offerIdleWork()) return;
    if (tasks_.pendingHint() != 0) {
      wakeDispatcher();
      return;
    }
    pullForIdle(&pq);
  }

  /// The pull of an idle consumer, on the appending thread (for `only`) or on a listener thread that was
  /// looking for work (every queue with news). The caller of onQueueNewsFollowUp holds the queue's listener
  /// lock, so awaitIdle's waiters are not notified from here: the dispatcher takes one more turn instead and
  /// notifies them when it parks. A listener thread passes `mine`: the first task its pull makes is left
  /// there for it to run, and true returned; the rest are queued.
  bool pullForIdle(Pq* only, Task* mine = nullptr) noexcept {
    if (!dispatchMutex_.try_lock()) {
      wakeDispatcher();
      return false;
    }
    // Counted before a flag is cleared, so that awaitIdle, which reads the flags first, never sees the
    // consumer idle between the two.
    inlinePulls_.fetch_add(1, std::memory_order_seq_cst);
    bool more = false;
    auto pullIfNews = [&](const std::shared_ptr<Pq>& owner) {
      Pq& pq = *owner;
      if (pq.dropped.load(std::memory_order_acquire) || !takeNews(pq)) return;
      try {
        pullOnce(owner, mine);
      } catch (...) {
        pq.dirty.store(true, std::memory_order_seq_cst);  // left to the dispatcher, which retries later
      }
      more |= pq.dirty.load(std::memory_order_seq_cst);
    };
    if (only != nullptr) {
      pullIfNews(only->shared_from_this());
    } else if (!stopping_.load()) {
      for (const auto& pq : active_)
        pullIfNews(pq);
    }
    dispatchMutex_.unlock();
    idle_.noteHandBack();  // the pull may have marked a queue dirty again
    inlinePulls_.fetch_sub(1, std::memory_order_seq_cst);
    if (idle_.watched()) {
      recheck_.store(true, std::memory_order_seq_cst);
      more = true;
    }
    if (more) wakeDispatcher();
    return mine != nullptr && mine->pq != nullptr;
  }

  // ------------------------------------------------------------------------------------------- PullControl

  /// Resumes pulling once consumption has drained the queue's cache to half its limits. RocketMQ looks again
  /// 50 ms after a refused pull, by which time the listeners have freed far more than one pull's worth;
  /// resuming at the first free slot would wake the dispatcher for every pull batch the listeners finish.
  void releaseFlowControl(Pq& pq) noexcept override {
    if (!pq.flowControlled.load(std::memory_order_relaxed)) return;
    if (static_cast<int>(pq.cachedCount()) <= settings_.pullThresholdForQueue / 2 &&
        (orderly_ || pq.span() <= settings_.consumeConcurrentlyMaxSpan) &&
        pq.cachedBytes() <= settings_.cachedBytesLimit() / 2) {
      pq.flowControlled.store(false, std::memory_order_seq_cst);
      requeue(pq);
    }
  }
  /// Gives a released orderly queue's lock back. The registry's unlock notifies the group, this member
  /// included, which may take the queue again.
  void completeRelease(Pq& pq) override {
    {
      std::lock_guard lock(pqsMutex_);
      releasing_.erase(pq.mq);
    }
    rebalancer_->unlock(pq.mq);
  }

  std::vector<std::shared_ptr<Pq>> ownedSnapshot() const override {
    std::lock_guard lock(pqsMutex_);
    std::vector<std::shared_ptr<Pq>> out;
    out.reserve(pqs_.size());
    for (const auto& [mq, pq] : pqs_)
      out.push_back(pq);
    return out;
  }

  // ------------------------------------------------------------------------------------------- inspection

  /// The dispatcher's part of awaitIdle's test, read in the order work moves (rebalance, queue flags,
  /// pulls in progress, the dispatcher asleep), each seq_cst, so that no work moving forward slips between
  /// two reads unseen; the caller then reads the pending tasks.
  bool quiet() const {
    if (rebalancePending_.load(std::memory_order_seq_cst)) return false;
    {
      std::lock_guard lock(pqsMutex_);
      if (lockWaits_ != 0) return false;
      for (const auto& [mq, pq] : pqs_) {
        if (!pq->dropped.load() && pq->dirty.load(std::memory_order_seq_cst)) return false;
      }
    }
    if (inlinePulls_.load(std::memory_order_seq_cst) != 0) return false;
    return parked_.load(std::memory_order_seq_cst);
  }

  /// Whether the dispatcher sleeps, or is about to.
  bool parked() const noexcept { return parked_.load(std::memory_order_seq_cst); }

  /// Calls f(pq) for every queue owned, under the queues' lock.
  template <class F>
  void forEachQueue(F&& f) const {
    std::lock_guard lock(pqsMutex_);
    for (const auto& [mq, pq] : pqs_) {
      if (!pq->dropped.load()) f(*pq);
    }
  }
  std::vector<MessageQueue> ownedQueues() const {
    std::lock_guard lock(pqsMutex_);
    std::vector<MessageQueue> out;
    for (const auto& [mq, pq] : pqs_)
      out.push_back(mq);
    return out;
  }

  /// Marks `pq` to be pulled again and wakes the dispatcher.
  void requeue(Pq& pq) noexcept {
    pq.dirty.store(true, std::memory_order_seq_cst);
    idle_.noteHandBack();
    wakeDispatcher();
  }

 private:
  static constexpr std::int64_t kPullRetryMillis = 3000;  // RocketMQ pullTimeDelayMillsWhenException

  // Clears the queue's news flag; true when it was set. Read first: a clear flag is left alone rather than
  // written (an exchange is a locked instruction, and a consumer looks at every queue it holds).
  static bool takeNews(Pq& pq) noexcept {
    return pq.dirty.load(std::memory_order_seq_cst) && pq.dirty.exchange(false, std::memory_order_seq_cst);
  }

  void wakeDispatcher() noexcept { parkEvents_.notifyOne(); }

  // TimerTarget: a queue whose pull failed is pulled again.
  void onTimer(std::uint64_t id) noexcept override {
    const auto owner = retries_.take(id);
    if (!owner) return;
    if (auto pq = owner->lock(); pq && !pq->dropped.load()) requeue(*pq);
  }
  void retryLater(const std::shared_ptr<Pq>& pq) {
    core_.timers().scheduleAfter(kPullRetryMillis, target_, retries_.add(pq));
  }

  // ------------------------------------------------------------------------------------------- dispatcher

  void dispatchLoop() {
    bool waited = false;  // the last turn waited for the listeners until the budget ran out: pull now
    while (!stopping_.load()) {
      bool progress = false;
      bool gather = false;
      {
        std::lock_guard dispatch(dispatchMutex_);
        recheck_.store(false, std::memory_order_seq_cst);
        if (rebalancePending_.exchange(false, std::memory_order_seq_cst)) rebalance();
        gather = !waited && worthGathering();
        if (!gather) progress = pullNews();
      }
      if (gather) {
        waited = !awaitListeners();
        continue;
      }
      waited = false;
      if (!progress) park();
    }
  }

  // One pull of every queue with news; true when any moved something. Under dispatchMutex_.
  bool pullNews() {
    bool progress = false;
    for (auto& pq : active_) {
      if (pq->dropped.load(std::memory_order_relaxed)) continue;
      if (!takeNews(*pq)) continue;
      try {
        progress |= pullOnce(pq);
      } catch (...) {
        retryLater(pq);  // RocketMQ pulls a queue again 3 s after a pull that failed
      }
    }
    return progress;
  }

  // Whether a concurrent consumer's dispatcher should hold its pulls back for now (awaitListeners): tasks
  // still wait in the pool, and no queue with news has a full pull ready. A pull made then only lengthens
  // the pool's queue; made once a listener thread has taken the last task, it takes what arrived meanwhile
  // in one batch, with one hand-off and one hold of each lock for all of it. A queue with a full pull
  // waiting (a backlog) is pulled at once. Under dispatchMutex_.
  bool worthGathering() const {
    if (orderly_ || tasks_.pool().queuedHint() == 0) return false;
    bool news = false;
    for (const auto& pq : active_) {
      if (pq->dropped.load(std::memory_order_relaxed) || !pq->dirty.load(std::memory_order_seq_cst)) continue;
      if (pq->cq.publishedEnd() - pq->pullOffset >= settings_.pullBatchSize) return false;
      news = true;
    }
    return news;
  }
  // Waits, for at most kPollBudget, until no task waits in the pool; false when the budget ran out (a
  // listener in a long call), and the next turn pulls regardless.
  bool awaitListeners() {
    return pollUntil(
        [this] { return stopping_.load(std::memory_order_relaxed) || tasks_.pool().queuedHint() == 0; });
  }

  // Sleeps until a queue has news, a rebalance is asked for, or shutdown.
  void park() {
    spinThenPark(
        parkEvents_, [this] { return hasWork(); }, [this] { return pollForWork(); },
        [this] {
          core_.consumerCaughtUp();  // before the idle signal: awaitIdle then sees the history trimmed
          parked_.store(true, std::memory_order_seq_cst);
          idle_.notify();  // no lock held: awaitIdle may now see the consumer idle
        });
    parked_.store(false, std::memory_order_seq_cst);
  }

  // Looks for work before park() sleeps; true when some came. A steady stream brings news within
  // microseconds: the thread spins, then keeps looking for up to kPollBudget, yielding between looks. Two
  // exceptions serve a conversation, where each message is consumed before the next comes: while a task
  // this thread queued waits for a listener thread, it yields from the first look (that thread may be
  // waiting for this processor); and once the spin is over, it stops looking as soon as a concurrent
  // consumer is idle with a listener thread looking for work, since the next arrival is offered to that
  // thread and this one would only take a processor from the conversation.
  bool pollForWork() {
    const auto deadline = std::chrono::steady_clock::now() + kPollBudget;
    for (int looks = 0;; ++looks) {
      if (hasWork()) return true;
      if (looks < kSpinPolls) {
        if (tasks_.pool().queuedHint() != 0) {
          std::this_thread::yield();
        } else {
          cpuRelax();
        }
        continue;
      }
      if (!orderly_ && tasks_.pending() == 0 && tasks_.pool().looking()) return false;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::yield();
    }
  }

  bool hasWork() const {
    return stopping_.load() || rebalancePending_.load(std::memory_order_seq_cst) ||
           recheck_.load(std::memory_order_seq_cst) || anyDirty();
  }
  bool anyDirty() const {
    for (const auto& pq : active_) {
      if (!pq->dropped.load(std::memory_order_relaxed) && pq->dirty.load(std::memory_order_seq_cst))
        return true;
    }
    return false;
  }

  // RocketMQ RebalanceImpl.rebalanceByTopic for every subscribed topic (the retry topic included). An
  // orderly member in CLUSTERING takes a queue only once the broker grants it the queue's lock; a queue whose
  // lock another member still holds is taken when that member lets go (the registry then asks for a
  // rebalance). Under dispatchMutex_.
  void rebalance() {
    const std::set<MessageQueue> want = rebalancer_->wanted(filters_);
    std::lock_guard lock(pqsMutex_);  // awaitIdle takes it inside the tracker's mutex: nothing notified here
    lockWaits_ = Rebalancer<Core>::reconcile(
        pqs_, want, [&](const MessageQueue&, const std::shared_ptr<Pq>& pq) { drop(*pq, /*leaving=*/false); },
        [&](const MessageQueue& mq) {
          // A queue this member is still releasing (its strand finishing a batch) is taken again only once
          // the release is complete; the release's unlock asks for another rebalance.
          if (releasing_.contains(mq)) return true;
          const QueueHandle cq = core_.consumeQueue(mq);
          if (!cq) return true;
          if (rebalancer_->locking() && !rebalancer_->tryLock(mq)) return false;
          const std::int64_t start = core_.startOffset(offsetGroup_, mq, settings_.consumeFromWhere,
                                                       settings_.consumeTimestamp, /*joining=*/false);
          auto pq = std::make_shared<Pq>(mq, cq, core_.offsetSlot(offsetGroup_, mq), filters_.at(mq.topic),
                                         static_cast<QueueWaker<Pq>&>(*this), start);
          core_.listen(cq, *pq);
          pqs_.emplace(mq, std::move(pq));
          return true;
        });
    active_.clear();
    for (auto& [mq, pq] : pqs_)
      active_.push_back(pq);
  }

  // Stops consuming a queue. Concurrently, results still to come are discarded. An orderly queue whose strand
  // is mid-batch is released when that batch finishes (its result committed first), so two members never
  // consume one queue at once; unless the member is leaving, in which case the broker drops its locks.
  // Under pqsMutex_.
  void drop(Pq& pq, bool leaving) {
    core_.unlisten(pq.cq, pq);
    const bool locked = rebalancer_->locking();
    bool unlockNow = false;
    {
      std::lock_guard lock(pq.mutex);
      if (locked && !leaving && pq.consuming && !pq.suspended) {
        pq.releasing = true;  // the strand finishes its batch, commits, then releases
        releasing_.insert(pq.mq);
      } else {
        pq.dropped.store(true, std::memory_order_release);
        unlockNow = locked && !leaving;
      }
    }
    if (unlockNow) rebalancer_->unlock(pq.mq);
  }

  // One pull for one queue, with RocketMQ's flow control. True when it moved anything. With `mine`, the first
  // task the pull makes is left there (when it is empty) instead of queued.
  bool pullOnce(const std::shared_ptr<Pq>& owner, Task* mine = nullptr) {
    Pq& pq = *owner;
    const std::int64_t next = core_.pull(pq.cq, pq.pullOffset, settings_.pullBatchSize, pq.filter, pulled_);
    const std::size_t n = pulled_.size();
    // The entries come from the puller's stash, which the hold below refills from the queue's free list. The
    // messages are filled in first, so that one hold of the queue's mutex checks flow control and appends
    // them. A refused pull puts its entries back, lets its records go and moves nothing.
    fresh_.clear();
    try {
      if (!pq.takeStashed(n, fresh_)) {
        std::lock_guard lock(pq.mutex);
        pq.acquire(n, fresh_);
      }
      for (std::size_t i = 0; i < n; ++i) {
        Entry& e = *fresh_[i];
        core_.toConsumerMessage(e.msg, pulled_, i);
        e.offset = pulled_.queueOffset(i);
        if constexpr (SizedBody<Body>) {
          e.bytes = static_cast<std::size_t>(e.msg.getBody().size());
        } else {
          e.bytes = sizeof(Body);
        }
      }
    } catch (...) {
      // An allocation or a Body copy threw: nothing was taken, and the records must not stay held (the store
      // waits for them before it reclaims anything).
      pulled_.release();
      pq.stash(fresh_);
      throw;
    }
    pulled_.release();
    const bool concurrent = n > 0 && !orderly_;
    if (concurrent) split(owner, n);
    // The first task goes to the calling thread, which runs it at once: its first call's entries start under
    // the same hold rather than another one just before the call.
    Task* const runsHere = concurrent && mine != nullptr && mine->pq == nullptr ? &split_.front() : nullptr;
    const std::int64_t now = runsHere != nullptr ? coarseSteadyMillis(core_.clock()) : 0;
    bool refused = false;
    bool startStrand = false;
    {
      std::lock_guard lock(pq.mutex);
      if (pq.releasing) {
        refused = true;
      } else if (static_cast<int>(pq.cachedCount()) >= settings_.pullThresholdForQueue ||
                 pq.cachedBytes() >= settings_.cachedBytesLimit() ||
                 (!orderly_ && pq.span() > settings_.consumeConcurrentlyMaxSpan)) {
        pq.flowControlled.store(true, std::memory_order_seq_cst);
        refused = true;
      } else if (n == 0 && next == pq.pullOffset) {
        refused = true;  // nothing new
      } else {
        pq.append(fresh_, n, next, /*busy=*/!orderly_);
        if (n == 0) pq.commitLocked(pq.retireDone());  // only filtered messages: move past them
        if (orderly_ && n > 0 && !pq.consuming) startStrand = pq.consuming = true;
        if (runsHere != nullptr) startFirstCall(*runsHere, now);
      }
      pq.refillStash(static_cast<std::size_t>(settings_.pullBatchSize), refused ? 0 : n);
    }
    if (refused) {
      pq.stash(fresh_);
      split_.clear();
      return false;
    }
    pq.pullOffset = next;
    if (next < pq.cq.publishedEnd()) pq.dirty.store(true);
    if (startStrand) {
      split_.clear();
      split_.push_back(Task{owner, {}, true});
      tasks_.submitAll(split_, mine);
    } else if (concurrent) {
      tasks_.submitAll(split_, mine);
    }
    return true;
  }

  // Starts `t`'s first listener call: its entries RUNNING since `now`. Under the queue's mutex.
  void startFirstCall(Task& t, std::int64_t now) const noexcept {
    const std::size_t n =
        std::min(static_cast<std::size_t>(settings_.consumeMessageBatchMaxSize), t.entries.size());
    for (std::size_t k = 0; k < n; ++k) {
      t.entries.data()[k]->state = EntryState::RUNNING;
      t.entries.data()[k]->consumeStart = now;
    }
    t.started = true;
    t.startedAt = now;
  }

  // Spreads `n` pulled messages (fresh_) over at most consumeThreadMax tasks, each a run of whole listener
  // calls, into split_ (which keeps its capacity from pull to pull).
  void split(const std::shared_ptr<Pq>& pq, std::size_t n) {
    const std::size_t batch = static_cast<std::size_t>(settings_.consumeMessageBatchMaxSize);
    const std::size_t calls = (n + batch - 1) / batch;
    const std::size_t tasks = std::min(calls, static_cast<std::size_t>(settings_.consumeThreadMax));
    const std::size_t callsPerTask = (calls + tasks - 1) / tasks;
    split_.clear();
    for (std::size_t i = 0; i < n; i += callsPerTask * batch) {
      const std::size_t count = std::min(n, i + callsPerTask * batch) - i;
      split_.push_back(Task{pq, EntryRun<Entry>(fresh_.data() + i, count), false});
    }
  }

  Core& core_;
  const PushSettings& settings_;
  ConsumeTasks<Pq>& tasks_;
  IdleTracker& idle_;
  Rebalancer<Core>* rebalancer_ = nullptr;
  Filters filters_;  // the subscriptions and the retry topic; fixed at start()
  std::string offsetGroup_;
  bool orderly_ = false;
  TargetHandle target_;

  // What an appending thread reads on every arrival (onQueueNews), on a cache line of its own: were anything
  // a pull or a listener call writes on it, the appender would take the line from the consumer's threads on
  // every message, and they take it back.
  alignas(kCacheLine) std::atomic<bool> stopping_{true};
  std::atomic<bool> parked_{false};  // the dispatcher sleeps, or is about to

  std::thread dispatcher_;
  alignas(kCacheLine) SpinThenBlockMutex dispatchMutex_;
  std::atomic<int> inlinePulls_{0};   // threads pulling for an idle consumer
  std::atomic<bool> recheck_{false};  // the dispatcher is to take one more turn and notify idle waiters
  std::atomic<bool> rebalancePending_{false};
  EventCount parkEvents_;  // the dispatcher's sleep
  std::vector<std::shared_ptr<Pq>> active_;
  PullBuffer pulled_;
  std::vector<Entry*> fresh_;
  std::vector<Task> split_;

  mutable std::mutex pqsMutex_;  // guards pqs_, releasing_ and lockWaits_ (changed by rebalance)
  std::map<MessageQueue, std::shared_ptr<Pq>> pqs_;
  std::set<MessageQueue> releasing_;  // orderly queues given up whose strand is finishing its batch
  // Orderly queues allocated to this member whose lock another member still holds. The holder's unlock
  // triggers another rebalance, so the member is not idle while any is waiting.
  std::size_t lockWaits_ = 0;

  TimerBook<std::weak_ptr<Pq>> retries_;  // queues to pull again after a failed pull
};

}  // namespace ackmq::detail
