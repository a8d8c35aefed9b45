#pragma once
// ackmq internals: SYNC_FLUSH's group commit (RocketMQ CommitLog.GroupCommitService). A send that must be
// durable before it is confirmed waits here for a flush that covers its record; one flush serves every
// send waiting when it begins, which is what lets many producers share one fdatasync. There is no flusher
// thread: a waiter that finds no flush running runs one itself (taking, under the append lock, everything
// appended so far), and the others wait for it; when it ends, a waiter it did not cover runs the next.
//
// A wait ends early when its own deadline passes (syncFlushTimeout): the caller then reports
// FLUSH_DISK_TIMEOUT, the record stays stored, and the flush under way still completes. Deadlines are the
// caller's: `expired` is asked whenever the wait wakes, and poke() wakes every waiter to ask (a timer at
// the deadline, on whatever clock the broker runs).

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <system_error>

#include <ackmq/detail/durable/segment_log.hpp>

namespace ackmq::detail {

/// Thread safety: thread-safe.
class GroupCommitter {
 public:
  enum class Outcome { DURABLE, TIMED_OUT };

  /// Flushes `log`, whose appends `appendMutex` serialises; both must outlive the committer.
  GroupCommitter(SegmentLog& log, std::mutex& appendMutex) : log_(log), appendMutex_(appendMutex) {
    std::lock_guard lock(appendMutex_);
    durable_ = log_.flushedEnd();
  }

  /// Returns DURABLE once every record before `end` is durable, TIMED_OUT once `expired()` is true first.
  /// Throws std::system_error when the flush that would have covered it failed (the log is then broken,
  /// see SegmentLog::flush). Not with the append lock held.
  template <class Expired>
  Outcome awaitDurable(std::int64_t end, Expired&& expired) {
    std::unique_lock lock(mutex_);
    ++waiting_;
    struct Leave {
      GroupCommitter& c;
      ~Leave() { --c.waiting_; }
    } leave{*this};
    for (;;) {
      if (durable_ >= end) return Outcome::DURABLE;
      if (!failure_.empty()) throw std::system_error(EIO, std::generic_category(), failure_);
      if (expired()) return Outcome::TIMED_OUT;
      if (flushing_) {
        changed_.wait(lock);
        continue;
      }
      flushing_ = true;
      lock.unlock();
      const std::string error = flushOnce();
      lock.lock();
      flushing_ = false;
      if (!error.empty()) failure_ = error;
      changed_.notify_all();
    }
  }

  /// Wakes every waiter to ask its `expired` again.
  void poke() {
    { std::lock_guard lock(mutex_); }  // a waiter between its check and its wait sees the wake-up
    changed_.notify_all();
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

 private:
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
    std::lock_guard lock(mutex_);
    ++flushes_;
    if (error.empty() && batch.target > durable_) durable_ = batch.target;
    return error;
  }

  SegmentLog& log_;
  std::mutex& appendMutex_;
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable changed_;
  std::int64_t durable_ = 0;  // every record before it is durable
  bool flushing_ = false;     // a waiter is running a flush
  std::string failure_;       // why a flush failed; from then on every wait throws
  std::uint64_t flushes_ = 0;
  int waiting_ = 0;
};

}  // namespace ackmq::detail
