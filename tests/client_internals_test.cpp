// The clients' internals that the consumers' tests reach only by their effect: the worker pool's idle work
// and its growth when tasks block, and the run of entries a consume request holds.
#include <ackmq/broker.hpp>
#include <ackmq/clock.hpp>
#include <ackmq/detail/client/process_queue.hpp>
#include <ackmq/detail/client/thread_pool.hpp>
#include <ackmq/listener.hpp>
#include <ackmq/message_queue.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

// What the pool's handler saw: each task's value and the thread that ran it.
struct Seen {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::pair<int, std::thread::id>> runs;

  void add(int task) {
    std::lock_guard lock(mutex);
    runs.emplace_back(task, std::this_thread::get_id());
    cv.notify_all();
  }
  // Waits (bounded) until a run of `task` is recorded; its thread, or a default id on timeout.
  std::thread::id await(int task) {
    std::unique_lock lock(mutex);
    std::thread::id who;
    cv.wait_for(lock, 10s, [&] {
      for (const auto& [t, id] : runs) {
        if (t == task) {
          who = id;
          return true;
        }
      }
      return false;
    });
    return who;
  }
  int count(int task) {
    std::lock_guard lock(mutex);
    int n = 0;
    for (const auto& run : runs)
      n += run.first == task ? 1 : 0;
    return n;
  }
};

// Offers idle work until a looking thread takes it. A thread looks for tasks for a while after each one it
// runs, then sleeps; a no-op task (0) wakes it to look again. Bounded: false after ten seconds.
template <class Pool>
bool offerUntilTaken(Pool& pool, Seen& seen) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pool.offerIdleWork()) return true;
    const int before = seen.count(0);
    pool.submit(0);
    std::unique_lock lock(seen.mutex);
    seen.cv.wait_for(lock, 1s, [&] {
      int n = 0;
      for (const auto& run : seen.runs)
        n += run.first == 0 ? 1 : 0;
      return n > before;
    });
  }
  return false;
}

}  // namespace

TEST_CASE("worker pool: the task idle work hands back runs on the thread that did the work, once") {
  Seen seen;
  std::atomic<int> idleRuns{0};
  std::thread::id idleThread;
  std::mutex idleMutex;
  ackmq::detail::WorkerPool<int> pool(
      1, 1, 0ms, [&](int& task) { seen.add(task); },
      [&](int& mine) {
        {
          std::lock_guard lock(idleMutex);
          idleThread = std::this_thread::get_id();
        }
        idleRuns.fetch_add(1);
        mine = 42;
        return true;
      });
  REQUIRE(offerUntilTaken(pool, seen));
  const std::thread::id ran = seen.await(42);
  REQUIRE(ran != std::thread::id());
  CHECK(idleRuns.load() == 1);
  {
    std::lock_guard lock(idleMutex);
    CHECK(ran == idleThread);
  }
  CHECK(ran != std::this_thread::get_id());
  CHECK(pool.queued() == 0);  // it never went through the queue
  // The thread goes back to work afterwards, and the task ran exactly once.
  pool.submit(7);
  CHECK(seen.await(7) == ran);
  pool.shutdown(true);
  CHECK(seen.count(42) == 1);
}

TEST_CASE("worker pool: idle work that keeps nothing runs no task, and queued work still flows") {
  Seen seen;
  std::atomic<int> idleRuns{0};
  ackmq::detail::WorkerPool<int> pool(
      1, 2, 0ms, [&](int& task) { seen.add(task); },
      [&](int& mine) {
        idleRuns.fetch_add(1);
        mine = 99;  // filled, but not handed back: the pool must not run it
        return false;
      });
  REQUIRE(offerUntilTaken(pool, seen));
  pool.submit(5);
  CHECK(seen.await(5) != std::thread::id());
  pool.shutdown(true);
  CHECK(idleRuns.load() == 1);
  CHECK(seen.count(99) == 0);
}

TEST_CASE("worker pool: a task queued while the looker works for itself is not left to wait for it") {
  // The looker leaves the lookers' count before its idle work runs; a task submitted meanwhile must go to
  // another thread (here a new one: the pool may grow to two) rather than wait for the looker's own task,
  // which blocks until the queued task has run.
  Seen seen;
  std::mutex mutex;
  std::condition_variable cv;
  bool inIdleWork = false;
  bool idleWorkMayReturn = false;
  bool ownTaskMayReturn = false;
  auto waitFor = [&](const bool& flag) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, 10s, [&] { return flag; });
  };
  auto set = [&](bool& flag) {
    std::lock_guard lock(mutex);
    flag = true;
    cv.notify_all();
  };
  ackmq::detail::WorkerPool<int> pool(
      1, 2, 0ms,
      [&](int& task) {
        seen.add(task);
        if (task == 42) waitFor(ownTaskMayReturn);
      },
      [&](int& mine) {
        set(inIdleWork);
        waitFor(idleWorkMayReturn);
        mine = 42;
        return true;
      });
  REQUIRE(offerUntilTaken(pool, seen));
  REQUIRE(waitFor(inIdleWork));
  pool.submit(5);
  set(idleWorkMayReturn);
  const std::thread::id own = seen.await(42);
  const std::thread::id other = seen.await(5);  // while task 42 still blocks its thread
  CHECK(own != std::thread::id());
  CHECK(other != std::thread::id());
  CHECK(other != own);
  CHECK(seen.count(42) == 1);
  set(ownTaskMayReturn);
  pool.shutdown(true);
  CHECK(seen.count(5) == 1);
}

TEST_CASE("worker pool: without idle work, an offer is never taken") {
  Seen seen;
  ackmq::detail::WorkerPool<int> pool(1, 1, 0ms, [&](int& task) { seen.add(task); });
  pool.submit(1);
  CHECK(seen.await(1) != std::thread::id());
  CHECK_FALSE(pool.offerIdleWork());
  pool.shutdown(true);
}

TEST_CASE("worker pool: tasks that block each other get threads, up to the maximum and never beyond" *
          doctest::timeout(30)) {
  // Four tasks that can only finish together: the pool must notice its threads are blocked and add one
  // per task. Eight such tasks with a maximum of four: four run at once, then the next four.
  std::mutex mutex;
  std::condition_variable cv;
  int running = 0;
  int peak = 0;
  int released = 0;  // how many groups of four may leave
  int done = 0;
  ackmq::detail::WorkerPool<int> pool(1, 4, 0ms, [&](int& group) {
    std::unique_lock lock(mutex);
    peak = std::max(peak, ++running);
    if (running == 4) {
      released = std::max(released, group + 1);  // four at once: this task's group may leave
      cv.notify_all();
    }
    cv.wait_for(lock, 20s, [&] { return released > group; });
    --running;
    ++done;
    cv.notify_all();
  });
  for (int i = 0; i < 8; ++i)
    pool.submit(i / 4);
  {
    std::unique_lock lock(mutex);
    REQUIRE(cv.wait_for(lock, 20s, [&] { return done == 8; }));
    CHECK(released == 2);
    CHECK(peak == 4);
  }
  CHECK(pool.threadCount() == 4);
  pool.shutdown(true);
}

TEST_CASE("worker pool: a task queued behind a busy thread that blocks is taken by another thread" *
          doctest::timeout(30)) {
  Seen seen;
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  ackmq::detail::WorkerPool<int> pool(1, 2, 0ms, [&](int& task) {
    seen.add(task);
    if (task == 1) {
      std::unique_lock lock(mutex);
      cv.wait_for(lock, 20s, [&] { return release; });
    }
  });
  pool.submit(1);
  REQUIRE(seen.await(1) != std::thread::id());
  pool.submit(2);  // waits behind task 1, whose thread is blocked: the supervisor adds a thread
  const std::thread::id second = seen.await(2);
  CHECK(second != std::thread::id());
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  pool.shutdown(true);
  CHECK(seen.count(1) == 1);
  CHECK(seen.count(2) == 1);
}

TEST_CASE("entry run: a few entries in place, more on the heap, the same view either way") {
  using Entry = ackmq::detail::ConsumeEntry<std::string>;
  using Run = ackmq::detail::EntryRun<Entry>;
  std::vector<Entry> storage(9);
  std::vector<Entry*> ptrs;
  for (auto& e : storage)
    ptrs.push_back(&e);

  for (std::size_t n = 0; n <= ptrs.size(); ++n) {
    CAPTURE(n);
    const Run run(ptrs.data(), n);
    REQUIRE(run.size() == n);
    CHECK(run.empty() == (n == 0));
    CHECK(std::equal(run.begin(), run.end(), ptrs.begin(), ptrs.begin() + static_cast<std::ptrdiff_t>(n)));
    // Moved (as a task is, through the pool's queue), it still shows the same entries.
    Run moved = Run(ptrs.data(), n);
    Run target;
    target = std::move(moved);
    CHECK(target.size() == n);
    CHECK(std::equal(target.begin(), target.end(), ptrs.begin(),
                     ptrs.begin() + static_cast<std::ptrdiff_t>(n)));
  }

  // From a vector (a local re-consume's entries): taken over whatever its length.
  for (std::size_t n : {std::size_t{0}, std::size_t{2}, std::size_t{9}}) {
    CAPTURE(n);
    std::vector<Entry*> v(ptrs.begin(), ptrs.begin() + static_cast<std::ptrdiff_t>(n));
    const Run run(std::move(v));
    REQUIRE(run.size() == n);
    std::vector<Entry*> back(run.begin(), run.end());
    CHECK(back == std::vector<Entry*>(ptrs.begin(), ptrs.begin() + static_cast<std::ptrdiff_t>(n)));
  }
}

TEST_CASE(
    "listener context: built from a temporary queue or referring to the consumer's, copies stand alone") {
  using ackmq::ConsumeConcurrentlyContext;
  using ackmq::MessageQueue;
  // A user's own context (a listener called directly in a unit test) keeps a copy.
  const ConsumeConcurrentlyContext own(MessageQueue("T", "broker-a", 3));
  CHECK(own.getMessageQueue() == MessageQueue("T", "broker-a", 3));

  auto* queue = new MessageQueue("R", "broker-b", 1);
  ConsumeConcurrentlyContext borrowed(ackmq::detail::BorrowQueue{}, *queue);
  CHECK(&borrowed.getMessageQueue() == queue);
  borrowed.setAckIndex(4);
  borrowed.setDelayLevelWhenNextConsume(-1);
  ConsumeConcurrentlyContext copy(borrowed);
  ConsumeConcurrentlyContext assigned(own);
  assigned = borrowed;
  delete queue;  // the copies hold their own
  for (const auto* c : {&copy, &assigned}) {
    CHECK(c->getMessageQueue() == MessageQueue("R", "broker-b", 1));
    CHECK(c->getAckIndex() == 4);
    CHECK(c->getDelayLevelWhenNextConsume() == -1);
  }
}

TEST_CASE("process queue: a pull's hold leaves the next pull of its size entries to take without one") {
  using Pq = ackmq::detail::ProcessQueue<std::string>;
  struct Quiet final : ackmq::detail::QueueWaker<Pq> {
    bool onQueueNews(Pq&) noexcept override { return false; }
    void onQueueNewsFollowUp(Pq&) noexcept override {}
  };
  ackmq::ManualClock clock;
  ackmq::BasicBroker<std::string, ackmq::ManualClock> broker(clock);
  broker.createTopic("T", 1);
  const ackmq::MessageQueue mq("T", "broker-a", 0);
  auto& core = ackmq::detail::BrokerAccess::core(broker);
  const ackmq::detail::SubscriptionFilter all;
  Quiet waker;
  Pq pq(mq, core.consumeQueue(mq), core.offsetSlot("g", mq), all, waker, 0);

  // One message at a time, as in a conversation: the entry in flight comes back only after the next pull,
  // so the free list is empty at every pull's hold. The hold tops the stash up to the pull's size.
  std::vector<Pq::Entry*> first;
  CHECK_FALSE(pq.takeStashed(1, first));
  {
    std::lock_guard lock(pq.mutex);
    pq.acquire(1, first);
    pq.refillStash(32, 1);
  }
  REQUIRE(first.size() == 1);
  std::vector<Pq::Entry*> second;
  REQUIRE(pq.takeStashed(1, second));
  CHECK(second.front() != first.front());
  // The reserve is the pull's size, not the stash's target: nothing more was made.
  std::vector<Pq::Entry*> more;
  CHECK_FALSE(pq.takeStashed(1, more));
  // A refused pull (reserve 0) makes nothing either.
  {
    std::lock_guard lock(pq.mutex);
    pq.refillStash(32, 0);
  }
  CHECK_FALSE(pq.takeStashed(1, more));
  pq.stash(second);
  pq.stash(first);
}
