#pragma once
// ackmq internals: a broker service faulting in CommitLog pages ahead of the writer, on a thread of its own.
//
// A fresh page costs its first writer a page fault and the kernel's zeroing of the page; for an appender that
// writes ~200 bytes per message, that is a fifth of a send. RocketMQ keeps this off its put path the same
// way: AllocateMappedFileService creates the next mapped file ahead of need and, with warmMapedFileEnable,
// touches its pages (MappedFile.warmMappedFile). Here the warmer asks the kernel to populate the pages just
// ahead of the active segment's write position (madvise MADV_POPULATE_WRITE): the kernel maps them without
// changing a byte, so the warmer never races the appender's writes. Where the kernel lacks that advice, the
// warmer switches itself off and the appender faults its own pages, as before.
//
// Under a hypervisor that shadows the guest's page tables (PVM), populating only fills the guest's tables:
// the first access through the address still exits to the host, some 9 us a page, measured as 430 ns on a
// 190-byte record written into freshly populated memory against 15 ns once its page had been read. So the
// warmer then reads one byte of each page too. That read is an assembly load outside the C++ memory model,
// like a prefetch that may fault: its value is discarded, and should the appender overtake the warmer and
// write the same bytes meanwhile, a load cannot disturb the store on any processor.

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include <ackmq/detail/store/commit_log.hpp>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ackmq::detail {

/// Thread safety: warm() is called by one appender at a time (under the store lock); the warmer's own thread
/// is private. Destruction stops and joins that thread; its owner destroys it before the store it warms.
class PageWarmer final : public PageWarmSink {
 public:
  /// Whether this platform can warm pages at all.
  static constexpr bool kSupported =
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
      true;
#else
      false;
#endif

  PageWarmer() = default;
  PageWarmer(const PageWarmer&) = delete;
  PageWarmer& operator=(const PageWarmer&) = delete;
  ~PageWarmer() {
    stop();
  }

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
  bool on() const noexcept {
    return kSupported && !off_.load(std::memory_order_relaxed);
  }

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
      const bool ok = populate(begin, bytes);
      lock.lock();
      if (!ok) off_.store(true, std::memory_order_relaxed);
      warmed_ += bytes;
      doneCv_.notify_all();
      if (!ok) return;
    }
  }

  // False when the kernel does not know the advice. Other failures (such as memory already returned to the
  // system) only mean those pages stay cold.
  static bool populate([[maybe_unused]] void* begin, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    if (::madvise(begin, bytes, MADV_POPULATE_WRITE) != 0) return errno != EINVAL;
    for (std::size_t at = 0; at < bytes; at += kPage)
      touch(static_cast<const std::byte*>(begin) + at);
    return true;
#else
    return false;
#endif
  }

  // Loads one byte at `p` and discards it (see the top of this file).
  static void touch([[maybe_unused]] const std::byte* p) noexcept {
#if defined(__x86_64__) || defined(__i386__)
    unsigned char v;
    asm volatile("movb (%1), %0" : "=q"(v) : "r"(p) : "memory");
    (void)v;
#elif defined(__aarch64__)
    unsigned v;
    asm volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(p) : "memory");
    (void)v;
#endif
  }

  static constexpr std::size_t kPage = 4096;

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
