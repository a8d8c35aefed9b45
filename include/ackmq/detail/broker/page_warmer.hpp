#pragma once
// ackmq internals: a broker service faulting in CommitLog pages ahead of the writer, on a thread of its own.
//
// A fresh page costs its first writer a page fault and the kernel's zeroing of the page; for an appender that
// writes ~200 bytes per message, that is a fifth of a send. RocketMQ keeps this off its put path the same
// way: AllocateMappedFileService creates the next mapped file ahead of need and, with warmMapedFileEnable,
// touches its pages (MappedFile.warmMappedFile). Here the warmer asks the kernel to populate the pages just
// ahead of the active segment's write position (prefault: madvise MADV_POPULATE_WRITE, then a read of each
// page): the kernel maps them without changing a byte, so the warmer never races the appender's writes.
// Where the kernel lacks that advice, the warmer switches itself off and the appender faults its own pages,
// as before.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include <ackmq/detail/prefault.hpp>
#include <ackmq/detail/store/commit_log.hpp>

namespace ackmq::detail {

/// Thread safety: warm() is called by one appender at a time (under the store lock); the warmer's own thread
/// is private. Destruction stops and joins that thread; its owner destroys it before the store it warms.
class PageWarmer final : public PageWarmSink {
 public:
  /// Whether this platform can warm pages at all.
  static constexpr bool kSupported = kCanPrefault;

  PageWarmer() = default;
  PageWarmer(const PageWarmer&) = delete;
  PageWarmer& operator=(const PageWarmer&) = delete;
  ~PageWarmer() { stop(); }

  /// Stops and joins the warming thread; later requests are ignored.
  void stop() noexcept {
    off_.store(true, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  /// Asks for [begin, begin + bytes) to be made resident; `begin` and `bytes` are multiples of the page size.
  /// A request that continues the one still pending extends it; any other replaces it (the writer has moved
  /// on). Never waits for the warming itself.
  void warm(void* begin, std::size_t bytes) noexcept override {
    if (!kSupported || off_.load(std::memory_order_relaxed)) return;
    {
      std::lock_guard lock(mutex_);
      if (!thread_.joinable()) {
        try {
          thread_ = std::thread([this] { run(); });
        } catch (...) {
          // No thread to spare: the appender faults its own pages.
          off_.store(true, std::memory_order_relaxed);
          return;
        }
      }
      if (bytes_ != 0 && static_cast<std::byte*>(begin_) + bytes_ == begin) {
        bytes_ += bytes;  // the pending range continues into this one
      } else {
        begin_ = begin;
        bytes_ = bytes;
      }
    }
    cv_.notify_one();
  }

  /// Waits until `bytes` in all have been warmed, or warming is off, or `timeout` passes; true in the first
  /// case. For tests.
  bool waitWarmed(std::size_t bytes, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    doneCv_.wait_for(lock, timeout, [&] { return warmed_ >= bytes || off_.load(); });
    return warmed_ >= bytes && !off_.load();
  }
  /// False once warming proved impossible here (no thread, or a kernel without the advice) or was stopped.
  bool on() const noexcept { return kSupported && !off_.load(std::memory_order_relaxed); }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      cv_.wait(lock, [this] { return stop_ || bytes_ != 0; });
      if (stop_) return;
      void* const begin = begin_;
      const std::size_t bytes = bytes_;
      bytes_ = 0;
      lock.unlock();
      const bool ok = prefault(begin, bytes);
      lock.lock();
      if (!ok) off_.store(true, std::memory_order_relaxed);
      warmed_ += bytes;
      doneCv_.notify_all();
      if (!ok) return;
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable doneCv_;
  std::size_t warmed_ = 0;  // bytes warmed so far
  void* begin_ = nullptr;
  std::size_t bytes_ = 0;
  bool stop_ = false;
  std::atomic<bool> off_{false};  // set once warming proves impossible
  std::thread thread_;
};

}  // namespace ackmq::detail
