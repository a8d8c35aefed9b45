#pragma once
// ackmq internals: the CommitLog's flusher and SYNC_FLUSH's group commit (RocketMQ GroupCommitService and
// FlushRealTimeService in one). One thread flushes; a send that must be durable before it is confirmed
// asks for a flush that covers its record and waits. A flush takes, under the append lock, everything
// appended so far, so one fdatasync serves every send waiting when it begins: many producers share it.
//
// The flush runs on the committer's thread, never on a sender's: a sender whose deadline passes
// (syncFlushTimeout) stops waiting even while the disk is stuck, and reports FLUSH_DISK_TIMEOUT; the
// record stays stored and the flush under way still completes. Deadlines are the caller's: `expired` is
// asked whenever the wait wakes, and poke() wakes every waiter to ask (a timer at the deadline, on
// whatever clock the broker runs).

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <ackmq/detail/durable/segment_log.hpp>

namespace ackmq::detail {

/// Thread safety: thread-safe.
class GroupCommitter {
 public:
  enum class Outcome { DURABLE, TIMED_OUT };
  /// Told, on the flusher's thread, of each end a flush made durable.
  using DurableHook = std::function<void(std::int64_t)>;

  /// Flushes `log`, whose appends `appendMutex` serialises; both must outlive the committer.
  GroupCommitter(SegmentLog& log, std::mutex& appendMutex, DurableHook onDurable = {})
      : log_(log), appendMutex_(appendMutex), onDurable_(std::move(onDurable)) {
    {
      std::lock_guard lock(appendMutex_);
      durable_ = log_.flushedEnd();
    }
    durableHint_.store(durable_);
    wantedHint_.store(durable_);
    thread_ = std::thread([this] { run(); });
  }
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;
  ~GroupCommitter() { stop(); }

  /// Returns DURABLE once every record before `end` is durable, TIMED_OUT once `expired()` is true first.
  /// Throws std::system_error when a flush failed (the log is then broken, see SegmentLog::flush), or
  /// when the committer has stopped short of `end`. Not with the append lock held.
  template <class Expired>
  Outcome awaitDurable(std::int64_t end, Expired&& expired) {
    std::unique_lock lock(mutex_);
    if (durable_ >= end) return Outcome::DURABLE;
    ++waiting_;
    struct Leave {
      GroupCommitter& c;
      ~Leave() { --c.waiting_; }
    } leave{*this};
    if (end > wanted_) {
      wanted_ = end;
      wantedHint_.store(end, std::memory_order_release);
      work_.notify_one();
    }
    // A flush takes tens of microseconds: watching for it, yielding, answers sooner than being woken.
    lock.unlock();
    for (int i = 0; i < kSpins && durableHint_.load(std::memory_order_acquire) < end; ++i)
      std::this_thread::yield();
    lock.lock();
    for (;;) {
      if (durable_ >= end) return Outcome::DURABLE;
      if (!failure_.empty()) throw std::system_error(EIO, std::generic_category(), failure_);
      if (stopped_) throw std::system_error(ECANCELED, std::generic_category(), "the CommitLog is closed");
      if (expired()) return Outcome::TIMED_OUT;
      changed_.wait(lock);
    }
  }

  /// Asks for a flush that covers `end`, without waiting for it.
  void requestFlushTo(std::int64_t end) {
    std::lock_guard lock(mutex_);
    if (end <= wanted_) return;
    wanted_ = end;
    wantedHint_.store(end, std::memory_order_release);
    work_.notify_one();
  }

  /// Asks for a flush of everything appended so far, without waiting for it (ASYNC_FLUSH's interval).
  void requestFlush() {
    std::lock_guard lock(mutex_);
    flushAll_ = true;
    work_.notify_one();
  }

  /// Wakes every waiter to ask its `expired` again.
  void poke() {
    { std::lock_guard lock(mutex_); }  // a waiter between its check and its wait sees the wake-up
    changed_.notify_all();
  }

  /// Runs a last flush of everything appended, then stops the thread. Waits still to be served then
  /// throw. Idempotent.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      work_.notify_one();
    }
    thread_.join();
  }

  /// Stops the thread without the last flush, as a killed process would. Idempotent.
  void abandon() {
    {
      std::lock_guard lock(mutex_);
      skipLastFlush_ = true;
    }
    stop();
  }

  /// Flushes run so far.
  std::uint64_t flushes() const {
    std::lock_guard lock(mutex_);
    return flushes_;
  }
  /// Threads waiting now (for tests).
  int waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_;
  }
  /// Everything before this is durable.
  std::int64_t durableEnd() const {
    std::lock_guard lock(mutex_);
    return durable_;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (!(stopping_ || flushAll_ || wanted_ > durable_)) {
        // The next request often comes within microseconds of a flush: watch for it before sleeping.
        lock.unlock();
        for (int i = 0; i < kSpins && wantedHint_.load(std::memory_order_acquire) <= durableHint_.load(); ++i)
          std::this_thread::yield();
        lock.lock();
      }
      work_.wait(lock, [&] { return stopping_ || flushAll_ || wanted_ > durable_; });
      if (!failure_.empty()) {  // nothing more can be made durable; stay only to be stopped
        if (stopping_) break;
        flushAll_ = false;
        wanted_ = durable_;
        continue;
      }
      const bool last = stopping_;
      if (last && skipLastFlush_) break;
      flushAll_ = false;
      lock.unlock();
      const std::string error = flushOnce();
      lock.lock();
      if (!error.empty()) failure_ = error;
      changed_.notify_all();
      if (last) break;
    }
    stopped_ = true;
    changed_.notify_all();
  }

  // One flush of everything appended so far, the files synced outside both locks. Returns the error, or
  // an empty string.
  std::string flushOnce() {
    SegmentLog::FlushBatch batch;
    try {
      std::lock_guard append(appendMutex_);
      batch = log_.beginFlush();
    } catch (const std::system_error& e) {
      return e.what();
    }
    std::string error;
    try {
      SegmentLog::syncAll(batch);
    } catch (const std::system_error& e) {
      error = e.what();
    }
    {
      std::lock_guard append(appendMutex_);
      log_.endFlush(batch, error);
    }
    if (error.empty() && onDurable_) onDurable_(batch.target);
    std::lock_guard lock(mutex_);
    ++flushes_;
    if (error.empty() && batch.target > durable_) {
      durable_ = batch.target;
      durableHint_.store(durable_, std::memory_order_release);
    }
    return error;
  }

  SegmentLog& log_;
  std::mutex& appendMutex_;
  const DurableHook onDurable_;
  mutable std::mutex mutex_;          // guards everything below
  std::condition_variable work_;      // the thread waits for work
  std::condition_variable changed_;   // waiters wait for durable_ to move
  static constexpr int kSpins = 200;  // yields a waiter or the idle thread watches before it sleeps
  std::int64_t durable_ = 0;          // every record before it is durable
  std::int64_t wanted_ = 0;           // the furthest end a waiter asked for
  bool flushAll_ = false;             // requestFlush() asked for a flush
  bool stopping_ = false;
  bool skipLastFlush_ = false;
  bool stopped_ = false;  // the thread is done: no flush will come
  std::string failure_;   // why a flush failed; from then on every wait throws
  std::uint64_t flushes_ = 0;
  int waiting_ = 0;
  // durable_ and wanted_, readable without the mutex while spinning; the mutex-guarded ones decide.
  std::atomic<std::int64_t> durableHint_{0};
  std::atomic<std::int64_t> wantedHint_{0};
  std::thread thread_;  // last: started once everything above is set
};

}  // namespace ackmq::detail
