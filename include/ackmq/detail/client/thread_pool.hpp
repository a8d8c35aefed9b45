#pragma once
// ackmq internals: the clients' thread pool.
//
// The pool runs as many threads as there is runnable work, up to `maxThreads`. A task goes to a thread that
// is looking for work, or, when no thread is busy or looking, wakes (or starts) one; while some thread is
// busy, queued tasks wait for it, as a listener that returns in microseconds serves a stream best on one
// thread. A supervisor watches the queue while tasks wait: when the busy threads start no task for a tick,
// or spend most of it off the processor (a listener that blocks on I/O or a lock, or runs long), it adds a
// thread, and again each tick, up to `maxThreads`. So `consumeThreadMax` still bounds the listener calls in
// parallel and every thread up to it is used when the calls need it (RocketMQ's executor, with its unbounded
// queue, never grows past the minimum: issues #281, #1752), while threads the work does not need cost
// nothing. Threads beyond `minThreads` retire after `keepAlive` without work; a keepAlive of zero keeps them
// until shutdown (used with ManualClock, so that no listener thread ever waits on wall time to retire).
//
// Tasks are values of type Task handed to one handler, so a consumer queues plain request structs rather than
// allocating a std::function per message.
//
// A thread spinning for tasks can also be asked to do the owner's "idle work" (offerIdleWork): a consumer
// whose dispatcher sleeps has the thread pull for it. What that pull yields for the thread itself it runs at
// once, without a round through the queue and its lock.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <ackmq/detail/client/event_count.hpp>
#include <ackmq/detail/platform.hpp>
#include <ackmq/detail/spin.hpp>

namespace ackmq::detail {

/// Thread safety: thread-safe. close() and shutdown() may be called from a pool thread.
template <class Task>
class WorkerPool {
 public:
  using Handler = std::function<void(Task&)>;
  /// Runs on a thread that took an offer of idle work. It may give that thread one task to run itself: it
  /// fills `mine` and returns true.
  using IdleWork = std::function<bool(Task& mine)>;

  /// `idleWork`, if given, is work that a thread looking for tasks may be asked to do (offerIdleWork).
  WorkerPool(int minThreads, int maxThreads, std::chrono::milliseconds keepAlive, Handler handler,
             IdleWork idleWork = {})
      : min_(std::max(1, minThreads)),
        max_(std::max(min_, maxThreads)),
        keepAlive_(keepAlive),
        handler_(std::move(handler)),
        idleWork_(std::move(idleWork)) {}
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  /// Runs shutdown(true), joining every thread. Not from one of the pool's own threads: a thread cannot join
  /// itself, and the pool does not leave threads behind; that misuse ends the process with a message.
  ~WorkerPool() {
    if (onPoolThread()) {
      std::fputs("ackmq: a thread pool was destroyed from one of its own threads\n", stderr);
      std::abort();
    }
    shutdown(true);
  }

  /// Queues a task. False when the pool is closed (the task is not run).
  bool submit(Task task) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    tasks_.push_back(std::move(task));
    queuedHint_.store(tasks_.size(), std::memory_order_seq_cst);  // before the lookers are counted
    dispatchLocked();
    return true;
  }

  /// Queues several tasks with one lock.
  template <class It>
  bool submitAll(It first, It last) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    for (; first != last; ++first)
      tasks_.push_back(std::move(*first));
    queuedHint_.store(tasks_.size(), std::memory_order_seq_cst);  // before the lookers are counted
    dispatchLocked();
    return true;
  }

  /// Asks a thread that is looking for tasks to run the idle work once. True when one will; false when no
  /// thread is looking (the caller then does the work itself). The offer is raised before the lookers are
  /// counted, and a looker stops counting itself before it takes the offer (both seq_cst): an offer is
  /// either seen by a looker or withdrawn here, and taken exactly once.
  bool offerIdleWork() noexcept {
    if (!idleWork_) return false;
    idleOffer_.store(true, std::memory_order_seq_cst);
    if (lookers_.load(std::memory_order_seq_cst) > 0) return true;
    bool offered = true;
    return !idleOffer_.compare_exchange_strong(offered, false, std::memory_order_seq_cst);
  }

  /// Removes the queued tasks that no thread has started, and returns them.
  std::deque<Task> takeQueued() {
    std::lock_guard lock(mutex_);
    std::deque<Task> out;
    out.swap(tasks_);
    queuedHint_.store(0, std::memory_order_relaxed);
    woken_ = 0;
    return out;
  }

  /// Stops accepting tasks and tells the threads to leave once the queue is empty (`drain`) or at once (the
  /// queue is dropped). Joins nothing: a thread busy in a long task is joined by shutdown() or the
  /// destructor.
  void close(bool drain) {
    std::lock_guard lock(mutex_);
    closed_ = true;
    if (!drain) tasks_.clear();
    queuedHint_.store(tasks_.size(), std::memory_order_relaxed);
    stopping_ = true;
    stopHint_.store(true, std::memory_order_seq_cst);
    events_.notifyAll();
    supervisorCv_.notify_all();
  }

  /// close(drain), then joins every pool thread but the calling one. Idempotent.
  void shutdown(bool drain) {
    close(drain);
    std::vector<std::thread> threads;
    std::thread supervisor;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
      supervisor.swap(supervisor_);
    }
    if (supervisor.joinable()) supervisor.join();  // it runs no task, so it is never the calling thread
    const auto self = std::this_thread::get_id();
    for (auto& t : threads) {
      if (t.get_id() == self) {
        std::lock_guard lock(mutex_);
        threads_.push_back(std::move(t));  // cannot join ourselves; the destructor releases this one
      } else if (t.joinable()) {
        t.join();
      }
    }
    std::lock_guard lock(mutex_);
    joinRetiredLocked();
  }

  /// True when called from one of this pool's threads, a thread being joined by shutdown() included.
  bool onPoolThread() const noexcept { return currentPool() == this; }

  /// How many tasks wait for a thread, read without the lock: a hint, possibly stale by the time it is used.
  std::size_t queuedHint() const noexcept { return queuedHint_.load(std::memory_order_relaxed); }
  /// Whether a thread is looking for tasks (look()), read without the lock: a hint.
  bool looking() const noexcept { return lookers_.load(std::memory_order_relaxed) > 0; }
  int threadCount() const {
    std::lock_guard lock(mutex_);
    return live_;
  }
  std::size_t queued() const {
    std::lock_guard lock(mutex_);
    return tasks_.size();
  }

 private:
  void dispatchLocked() {
    joinRetiredLocked();
    // Threads spinning for work take it without a wake-up. Beyond them, one thread is woken or started only
    // when none is busy: a busy thread takes the next task when it returns, and the supervisor adds threads
    // if it does not return soon.
    const std::size_t waiting = tasks_.size();
    // A looker counted here sees the task: it stops counting itself before it reads queuedHint_ (look()).
    const int lookers = lookers_.load(std::memory_order_seq_cst);
    if (waiting == 0) return;
    if (lookers > 0) {
      if (static_cast<std::size_t>(lookers) < waiting) superviseLocked();  // the rest wait for a looker
      return;
    }
    if (busy_.load(std::memory_order_seq_cst) == 0 && woken_ == 0) {
      addThreadLocked();
      if (waiting > 1) superviseLocked();  // the others wait for that thread, which may block
    } else {
      superviseLocked();  // they wait for a busy thread, or for one on its way
    }
  }

  // Has the supervisor watch the queue (starting it the first time).
  void superviseLocked() {
    if (supervising_) return;
    supervising_ = true;
    if (!supervisor_.joinable()) {
      supervisor_ = std::thread([this] { supervise(); });
    } else {
      supervisorCv_.notify_one();
    }
  }

  // One more thread for the queue: an idle one woken, or a new one while below the maximum. Either is
  // counted in woken_ until it runs (awaitWork, work) or some thread takes a task, so that a submit
  // meanwhile brings no second one. A woken thread may find the queue taken and sleep again (EventCount):
  // hence the reset when a task is taken, else the count would stay up and no thread be woken again.
  void addThreadLocked() {
    if (idle_.load(std::memory_order_seq_cst) > woken_) {
      ++woken_;
      events_.notifyOne();
    } else if (live_ < max_) {
      ++live_;
      ++woken_;
      threads_.emplace_back([this] { work(); });
    }
  }

  // While tasks wait behind busy threads, looks once a tick (kTick, doubling up to kMaxTick while the pool
  // keeps up) and adds a thread when the busy ones started no task in the tick or used less than a quarter
  // of it on the processor. Sleeps while nothing waits.
  void supervise() {
    std::unique_lock lock(mutex_);
    auto tick = kTick;
    while (!stopping_) {
      if (!supervising_) {
        tick = kTick;
        supervisorCv_.wait(lock, [this] { return supervising_ || stopping_; });
        continue;
      }
      const std::uint64_t taken = taken_;
      const std::int64_t cpu = cpuNanosLocked();
      const auto t0 = std::chrono::steady_clock::now();
      supervisorCv_.wait_for(lock, tick, [this] { return stopping_; });
      if (stopping_) break;
      if (tasks_.empty()) {
        supervising_ = false;
        continue;
      }
      if (lookers_.load(std::memory_order_seq_cst) > 0 || woken_ > 0) {
        continue;  // a thread is about to take the queue
      }
      const int busy = busy_.load(std::memory_order_seq_cst);
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
      const std::int64_t used = cpu < 0 ? -1 : cpuNanosLocked() - cpu;
      const bool stalled = taken_ == taken;
      const bool offProcessor = used >= 0 && busy > 0 && used * 4 < static_cast<std::int64_t>(busy) * elapsed;
      if (stalled || offProcessor || busy == 0) {
        addThreadLocked();
        tick = kTick;
      } else {
        tick = std::min(tick * 2, kMaxTick);
      }
    }
  }

  // The processor time of every live thread, summed; -1 where the system cannot tell.
  std::int64_t cpuNanosLocked() {
    std::int64_t sum = 0;
    for (std::thread& t : threads_) {
      const std::int64_t n = threadCpuNanos(t);
      if (n < 0) return -1;
      sum += n;
    }
    return sum;
  }

  // The pool whose thread this is: a thread knows it without the pool's lock, even while shutdown() holds
  // its handle outside threads_ to join it.
  static const WorkerPool*& currentPool() noexcept {
    thread_local const WorkerPool* pool = nullptr;
    return pool;
  }

  void work() {
    currentPool() = this;
    std::unique_lock lock(mutex_);
    if (woken_ > 0) --woken_;  // this thread was started for the queue and now serves it
    // A thread that saw a task while it looked or slept counts itself busy before it stops looking (a
    // claim), so that no submit in between finds no thread busy or looking and wakes another for nothing.
    bool claimed = false;
    for (;;) {
      if (!tasks_.empty()) {
        Task task = std::move(tasks_.front());
        tasks_.pop_front();
        queuedHint_.store(tasks_.size(), std::memory_order_relaxed);
        ++taken_;
        woken_ = 0;  // the queue is served: a thread woken for it that finds it empty sleeps again
        if (!claimed) busy_.fetch_add(1, std::memory_order_seq_cst);
        claimed = false;
        lock.unlock();
        handler_(task);  // handlers catch their own exceptions
        lock.lock();
        busy_.fetch_sub(1, std::memory_order_seq_cst);  // under the lock: it looks again before a submit sees
        continue;
      }
      if (claimed) {  // another thread took the task
        busy_.fetch_sub(1, std::memory_order_seq_cst);
        claimed = false;
      }
      if (stopping_) break;
      lookers_.fetch_add(1, std::memory_order_seq_cst);
      lock.unlock();
      const bool timedOut = !awaitWork(claimed);
      lock.lock();
      if (timedOut && live_ > min_ && tasks_.empty()) {
        retire();
        break;
      }
    }
    if (claimed) busy_.fetch_sub(1, std::memory_order_seq_cst);
    --live_;
    currentPool() = nullptr;
  }

  // Waits for a task or the stop, counted among the lookers on entry. It looks a little before sleeping
  // (look()): work that arrives within tens of microseconds (the next pull of a busy queue, the next message
  // of a conversation) is taken without a futex wake-up on either side. Then it sleeps, counted idle, until
  // a submit or the stop notifies it; an extra thread sleeps at most keepAlive. False when keepAlive passed
  // with nothing to do. Sets `claimed` when it counted itself busy for a task it saw.
  bool awaitWork(bool& claimed) {
    const auto ready = [this] {
      return queuedHint_.load(std::memory_order_seq_cst) != 0 || stopHint_.load(std::memory_order_seq_cst);
    };
    // Counted idle before the last look (seq_cst, as the queue's hint is stored): a submit that finds no
    // looker either sees this thread idle and notifies it, or this thread's look sees the task.
    bool counted = false;
    const auto sleeping = [&] {
      idle_.fetch_add(1, std::memory_order_seq_cst);
      counted = true;
    };
    bool woken = true;
    if (keepAlive_.count() > 0) {
      woken = spinThenParkUntil(
          events_, ready, [&] { return look(claimed); }, sleeping,
          std::chrono::steady_clock::now() + keepAlive_);
    } else {
      spinThenPark(
          events_, ready, [&] { return look(claimed); }, sleeping);
    }
    if (counted) {
      std::lock_guard lock(mutex_);
      if (!claimed && queuedHint_.load(std::memory_order_seq_cst) != 0) {
        busy_.fetch_add(1, std::memory_order_seq_cst);
        claimed = true;
      }
      if (woken_ > 0) --woken_;
      idle_.fetch_sub(1, std::memory_order_seq_cst);
    }
    return woken || live() <= min_;
  }

  // The look before sleeping: watches for a task, the stop or an offer of idle work (pollUntil), and runs,
  // without the lock, whatever task the idle work it is offered hands it. Called counted among the lookers;
  // returns uncounted: true when a task or the stop came, false when the watch ran out.
  bool look(bool& claimed) {
    for (;;) {
      const bool seen = pollUntil([this] {
        return queuedHint_.load(std::memory_order_relaxed) != 0 ||
               stopHint_.load(std::memory_order_relaxed) || idleOffer_.load(std::memory_order_relaxed);
      });
      if (!claimed && queuedHint_.load(std::memory_order_seq_cst) != 0) {
        busy_.fetch_add(1, std::memory_order_seq_cst);
        claimed = true;
      }
      lookers_.fetch_sub(1, std::memory_order_seq_cst);
      Task mine{};
      if (!(idleOffer_.exchange(false, std::memory_order_seq_cst) && idleWork_(mine)))
        return seen && !idleOnly();
      // A submitter that still counted this thread as looking left its tasks to it (dispatchLocked): they
      // are handed on before this thread busies itself. Queued (seq_cst) before the lookers were counted,
      // so either the submitter saw this thread leave or this load sees the task.
      if (queuedHint_.load(std::memory_order_seq_cst) != 0) {
        std::lock_guard lock(mutex_);
        if (claimed) {  // the claim was for those tasks: they need another thread now
          busy_.fetch_sub(1, std::memory_order_seq_cst);
          claimed = false;
        }
        dispatchLocked();
      }
      if (!claimed) busy_.fetch_add(1, std::memory_order_seq_cst);
      claimed = false;                                   // the count now stands for this task
      handler_(mine);                                    // handlers catch their own exceptions
      mine = Task{};                                     // what it holds goes before the thread looks again
      lookers_.fetch_add(1, std::memory_order_seq_cst);  // looking before it stops being busy: no gap
      busy_.fetch_sub(1, std::memory_order_seq_cst);     // in which a submit wakes a thread for nothing
    }
  }
  // The watch saw only an offer that was withdrawn or came to nothing: no task, no stop.
  bool idleOnly() const noexcept {
    return queuedHint_.load(std::memory_order_seq_cst) == 0 && !stopHint_.load(std::memory_order_seq_cst);
  }
  int live() {
    std::lock_guard lock(mutex_);
    return live_;
  }

  // Moves this thread's handle to retired_. The thread holds the lock from here until it returns, so
  // whoever takes the lock next and finds it there can join it without waiting on the lock.
  void retire() {
    const auto self = std::this_thread::get_id();
    for (auto it = threads_.begin(); it != threads_.end(); ++it) {
      if (it->get_id() == self) {
        retired_.push_back(std::move(*it));
        threads_.erase(it);
        break;
      }
    }
  }
  void joinRetiredLocked() {
    const auto self = std::this_thread::get_id();
    std::erase_if(retired_, [&](std::thread& t) {
      if (t.get_id() == self) return false;
      t.join();
      return true;
    });
  }

  static constexpr std::chrono::microseconds kTick{1000};
  static constexpr std::chrono::microseconds kMaxTick{16000};

  const int min_;
  const int max_;
  const std::chrono::milliseconds keepAlive_;
  const Handler handler_;
  const IdleWork idleWork_;
  // What offerIdleWork writes and reads, on a cache line of its own: the appending thread that offers and
  // the looking thread that takes the offer share this line and no other of the pool's.
  alignas(kCacheLine) std::atomic<bool> idleOffer_{false};  // offerIdleWork's offer, until a looker takes it
  std::atomic<int> lookers_{0};                   // threads looking for tasks without the lock (look())
  EventCount events_;                             // idle threads sleep on it
  alignas(kCacheLine) mutable std::mutex mutex_;  // guards everything below
  std::deque<Task> tasks_;
  std::vector<std::thread> threads_;
  std::vector<std::thread> retired_;  // threads that left after keepAlive, joined by the next caller
  int live_ = 0;
  std::atomic<int> idle_{0};  // threads asleep (or about to be) in awaitWork; read by submitters
  std::atomic<int> busy_{0};  // threads running a task
  int woken_ = 0;             // idle threads notified that have not woken yet
  std::uint64_t taken_ = 0;   // tasks taken from the queue, ever: the supervisor's sign of progress
  std::thread supervisor_;    // started the first time tasks wait behind a busy thread
  std::condition_variable supervisorCv_;
  bool supervising_ = false;  // the supervisor watches the queue (else it sleeps until tasks wait)
  std::atomic<std::size_t> queuedHint_{0};  // tasks_.size(), readable without the lock
  std::atomic<bool> stopHint_{false};       // stopping_, readable without the lock
  bool closed_ = false;
  bool stopping_ = false;
};

/// A pool of plain callables.
class ThreadPool : public WorkerPool<std::function<void()>> {
 public:
  ThreadPool(int minThreads, int maxThreads, std::chrono::milliseconds keepAlive = std::chrono::seconds(60))
      : WorkerPool(minThreads, maxThreads, keepAlive, [](std::function<void()>& f) { f(); }) {}
};

}  // namespace ackmq::detail
