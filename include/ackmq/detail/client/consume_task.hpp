#pragma once
// ackmq internals: the hand-off between a push consumer's pulls and its listener threads (RocketMQ's
// ConsumeRequest and the consume executor). The pull service makes tasks; the consume services run them;
// this room counts them, so that shutdown and awaitIdle know when none is queued or running.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ackmq/detail/client/idle_tracker.hpp>
#include <ackmq/detail/client/process_queue.hpp>
#include <ackmq/detail/client/thread_pool.hpp>
#include <ackmq/listener.hpp>

namespace ackmq::detail {

/// Work for a listener thread: a run of concurrent listener calls over `entries`
/// (consumeMessageBatchMaxSize each), or, for an orderly consumer, one turn of a queue's strand.
template <class Pq>
struct ConsumeTask {
  using Entry = typename Pq::Entry;
  std::shared_ptr<Pq> pq;
  EntryRun<Entry> entries;
  bool orderly = false;
  // The first call's entries are already RUNNING since `startedAt` (coarse steady ms, the broker's clock):
  // marked by the pull whose thread runs the task at once.
  bool started = false;
  std::int64_t startedAt = 0;
};

/// A push consumer's counters. Every delivery ends succeeded or failed, so `delivered` is their sum, not a
/// count of its own: one locked add fewer per listener call.
struct ConsumeCounters {
  std::atomic<std::uint64_t> succeeded{0}, failed{0}, retried{0}, deadLettered{0}, reconsumedLocally{0},
      dropped{0}, expired{0};
  static void add(std::atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
    if (n != 0) c.fetch_add(n, std::memory_order_relaxed);  // each add is a locked instruction
  }
};

/// What a consume service tells the pull service, which owns the queues and the dispatcher.
template <class Pq>
class PullControl {
 public:
  /// Under pq.mutex, after consumption freed room: resumes a queue paused by flow control once its cache
  /// has drained to half the limits.
  virtual void releaseFlowControl(Pq& pq) noexcept = 0;
  /// An orderly queue rebalanced away has finished its last batch: its lock goes back to the group. Without
  /// pq.mutex.
  virtual void completeRelease(Pq& pq) = 0;
  /// The queues owned now (a copy: the caller works on them without the pull service's lock).
  virtual std::vector<std::shared_ptr<Pq>> ownedSnapshot() const = 0;

 protected:
  ~PullControl() = default;
};

/// What waits on the broker's clock, by timer id: a timer carries only the id, so that what it names (a
/// queue, held weakly) need not outlive it. Thread safety: thread-safe.
template <class T>
class TimerBook {
 public:
  /// Files `item`; the id to schedule the timer with.
  std::uint64_t add(T item) {
    std::lock_guard lock(mutex_);
    const std::uint64_t id = next_++;
    items_.emplace(id, std::move(item));
    return id;
  }
  /// The item filed under `id`, removed; nothing when it was taken or cleared already.
  std::optional<T> take(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    auto it = items_.find(id);
    if (it == items_.end()) return std::nullopt;
    std::optional<T> out(std::move(it->second));
    items_.erase(it);
    return out;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    items_.clear();
  }

 private:
  std::mutex mutex_;  // guards items_ and next_
  std::unordered_map<std::uint64_t, T> items_;
  std::uint64_t next_ = 1;
};

/// The listener view of a run of entries: const references to the entries' messages, a few in place.
template <class Entry>
class ListenerBatch {
 public:
  using MessageExt = decltype(std::declval<Entry&>().msg);
  ListenerBatch(Entry* const* entries, std::size_t count) : ptrs_(small_.data()), n_(count) {
    if (n_ > small_.size()) {
      large_.resize(n_);
      ptrs_ = large_.data();
    }
    for (std::size_t i = 0; i < n_; ++i)
      ptrs_[i] = &entries[i]->msg;
  }
  ListenerBatch(const ListenerBatch&) = delete;
  ListenerBatch& operator=(const ListenerBatch&) = delete;
  template <class List>
  List list() const {
    return List(ptrs_, n_);
  }

 private:
  std::array<const MessageExt*, 8> small_{};
  std::vector<const MessageExt*> large_;
  const MessageExt** ptrs_;
  std::size_t n_;
};

/// The tasks queued or running, and the pool that runs them.
///
/// Thread safety: thread-safe.
template <class Pq>
class ConsumeTasks {
 public:
  using Task = ConsumeTask<Pq>;
  using Pool = WorkerPool<Task>;

  explicit ConsumeTasks(IdleTracker& idle) : idle_(idle) {}

  /// Starts the pool (at start()); `run` runs a task, `idleWork` is what a looking thread may be offered.
  void startPool(int minThreads, int maxThreads, std::chrono::milliseconds keepAlive,
                 typename Pool::Handler run, typename Pool::IdleWork idleWork) {
    pool_ = std::make_unique<Pool>(minThreads, maxThreads, keepAlive, std::move(run), std::move(idleWork));
  }
  Pool& pool() noexcept { return *pool_; }
  const Pool& pool() const noexcept { return *pool_; }
  bool started() const noexcept { return pool_ != nullptr; }
  /// Destroys the pool, joining its threads. Not from a pool thread.
  void destroyPool() { pool_.reset(); }

  /// Queues `tasks` and leaves the vector empty, its capacity kept. With `mine` empty, the first task goes
  /// there instead, counted as pending like the rest: the caller runs it.
  void submitAll(std::vector<Task>& tasks, Task* mine = nullptr) {
    if (tasks.empty()) return;
    pending_.fetch_add(static_cast<std::int64_t>(tasks.size()), std::memory_order_seq_cst);
    auto first = tasks.begin();
    if (mine != nullptr && mine->pq == nullptr) *mine = std::move(*first++);
    if (first != tasks.end() && !pool_->submitAll(first, tasks.end())) {
      for (; first != tasks.end(); ++first)
        abandon(*first);
    }
    tasks.clear();
  }
  void submit(Task task) {
    std::vector<Task> one;
    one.push_back(std::move(task));
    submitAll(one);
  }

  /// A task that will never run: its messages stay unconsumed.
  void abandon(Task& t) {
    {
      std::lock_guard lock(t.pq->mutex);
      for (auto* e : t.entries)
        t.pq->abandon(e);
      if (t.orderly) t.pq->consuming = false;
    }
    finish();
  }
  /// Drops the tasks no thread has started (at shutdown).
  void abandonQueued() {
    for (Task& t : pool_->takeQueued())
      abandon(t);
  }

  /// A task ended.
  void finish() {
    if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1) {
      if (draining_.load(std::memory_order_seq_cst)) {
        std::lock_guard lock(drainMutex_);
        drainCv_.notify_all();
      }
      idle_.notify();
    }
  }

  std::int64_t pending() const noexcept { return pending_.load(std::memory_order_seq_cst); }
  /// Read where the count is only a hint (the appending thread): relaxed, so as not to take the line from
  /// the listener threads that write it.
  std::int64_t pendingHint() const noexcept { return pending_.load(std::memory_order_relaxed); }

  /// Waits up to `timeout` until no task is queued or running; true when none is.
  bool drain(std::chrono::milliseconds timeout) {
    draining_.store(true, std::memory_order_seq_cst);
    std::unique_lock lock(drainMutex_);
    return drainCv_.wait_for(lock, timeout, [&] { return pending() == 0; });
  }

 private:
  IdleTracker& idle_;
  std::atomic<std::int64_t> pending_{0};
  std::atomic<bool> draining_{false};
  std::mutex drainMutex_;  // orders drain()'s look against the last finish()
  std::condition_variable drainCv_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace ackmq::detail
