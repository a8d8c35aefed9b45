#pragma once
// ackmq internals: the clients' thread pool.
//
// The pool keeps `minThreads` threads once started and grows towards `maxThreads` whenever work waits and no
// thread is idle, so both settings do what their names say (RocketMQ's executor, with its
// unbounded queue, never grows past the minimum: issues #281, #1752). Extra threads retire after
// `keepAlive` without work; a keepAlive of zero keeps them until shutdown (used with ManualClock, so that no
// library thread ever waits on wall time).
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
#include <cstddef>
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
  }

  /// close(drain), then joins every pool thread but the calling one. Idempotent.
  void shutdown(bool drain) {
    close(drain);
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
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
    // Threads spinning for work take it without a wake-up; then idle threads are woken; a new thread starts
    // only when work would otherwise wait.
    const std::size_t waiting = tasks_.size();
    // A looker counted here sees the task: it stops counting itself before it reads queuedHint_ (look()).
    const std::size_t lookers =
        static_cast<std::size_t>(std::max(lookers_.load(std::memory_order_seq_cst), 0));
    const std::size_t spun = std::min<std::size_t>(waiting, lookers);
    const std::size_t idle = static_cast<std::size_t>(std::max(idle_.load(std::memory_order_seq_cst), 0));
    const std::size_t wake = std::min<std::size_t>(waiting - spun, idle);
    for (std::size_t i = 0; i < wake; ++i)
      events_.notifyOne();
    for (std::size_t unserved = waiting - spun - wake; unserved > 0 && live_ < max_; --unserved) {
      ++live_;
      threads_.emplace_back([this] { work(); });
    }
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
    for (;;) {
      if (!tasks_.empty()) {
        Task task = std::move(tasks_.front());
        tasks_.pop_front();
        queuedHint_.store(tasks_.size(), std::memory_order_relaxed);
        lock.unlock();
        handler_(task);  // handlers catch their own exceptions
        lock.lock();
        continue;
      }
      if (stopping_) break;
      lookers_.fetch_add(1, std::memory_order_seq_cst);
      lock.unlock();
      const bool timedOut = !awaitWork();
      lock.lock();
      if (timedOut && live_ > min_ && tasks_.empty()) {
        retire();
        break;
      }
    }
    --live_;
    currentPool() = nullptr;
  }

  // Waits for a task or the stop, counted among the lookers on entry. It looks a little before sleeping
  // (look()): work that arrives within tens of microseconds (the next pull of a busy queue, the next message
  // of a conversation) is taken without a futex wake-up on either side. Then it sleeps, counted idle, until
  // a submit or the stop notifies it; an extra thread sleeps at most keepAlive. False when keepAlive passed
  // with nothing to do.
  bool awaitWork() {
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
          events_, ready, [this] { return look(); }, sleeping, std::chrono::steady_clock::now() + keepAlive_);
    } else {
      spinThenPark(
          events_, ready, [this] { return look(); }, sleeping);
    }
    if (counted) idle_.fetch_sub(1, std::memory_order_seq_cst);
    return woken || live() <= min_;
  }

  // The look before sleeping: watches for a task, the stop or an offer of idle work (pollUntil), and runs,
  // without the lock, whatever task the idle work it is offered hands it. Called counted among the lookers;
  // returns uncounted: true when a task or the stop came, false when the watch ran out.
  bool look() {
    for (;;) {
      const bool seen = pollUntil([this] {
        return queuedHint_.load(std::memory_order_relaxed) != 0 ||
               stopHint_.load(std::memory_order_relaxed) || idleOffer_.load(std::memory_order_relaxed);
      });
      lookers_.fetch_sub(1, std::memory_order_seq_cst);
      Task mine{};
      if (!(idleOffer_.exchange(false, std::memory_order_seq_cst) && idleWork_(mine)))
        return seen && !idleOnly();
      // A submitter that still counted this thread as looking left its tasks to it (dispatchLocked): they
      // are handed on before this thread busies itself. Queued (seq_cst) before the lookers were counted,
      // so either the submitter saw this thread leave or this load sees the task.
      if (queuedHint_.load(std::memory_order_seq_cst) != 0) {
        std::lock_guard lock(mutex_);
        dispatchLocked();
      }
      handler_(mine);  // handlers catch their own exceptions
      mine = Task{};   // what it holds goes before the thread looks again
      lookers_.fetch_add(1, std::memory_order_seq_cst);
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
