#pragma once
// ackmq internals: what depends on the processor or the operating system, in one place. Everything here has
// a portable fallback, so the library builds with g++ and clang++ on any target: where a facility is
// missing, the code that asks for it degrades (no pause instruction, no prefetch, no page advice), never
// fails.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ackmq::detail {

/// The unit of false sharing: data that two threads write apart lives on lines of its own. 64 bytes on
/// x86-64 and on the common ARM cores (std::hardware_destructive_interference_size is not stable across
/// compilers, and an ABI that changed with a flag would be worse than a fixed guess).
inline constexpr std::size_t kCacheLine = 64;

/// Tells the processor that this thread is spinning (x86 PAUSE, ARM YIELD); elsewhere yields the thread.
inline void cpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#else
  std::this_thread::yield();
#endif
}

/// Starts fetching the cache line at `p` for reading, without waiting for it. A hint: no effect where the
/// compiler has no prefetch.
inline void prefetchRead(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

/// The process id, for names unique in a process (RocketMQ's default instance name is the pid).
inline std::uint32_t processId() noexcept {
#if defined(__unix__) || defined(__APPLE__)
  return static_cast<std::uint32_t>(::getpid());
#else
  return 0;
#endif
}

/// The processor time `thread` has used, in nanoseconds; -1 where the system cannot tell.
inline std::int64_t threadCpuNanos([[maybe_unused]] std::thread& thread) noexcept {
#if (defined(__unix__) || defined(__APPLE__)) && defined(_POSIX_THREAD_CPUTIME) && _POSIX_THREAD_CPUTIME >= 0
  clockid_t id;
  timespec ts;
  if (::pthread_getcpuclockid(thread.native_handle(), &id) != 0 || ::clock_gettime(id, &ts) != 0) return -1;
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
#else
  return -1;
#endif
}

inline constexpr std::size_t kPageBytes = 4096;
inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

/// Whether the kernel can be asked to populate pages ahead of their first write (Linux 5.14's
/// MADV_POPULATE_WRITE).
inline constexpr bool kCanPopulatePages =
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    true;
#else
    false;
#endif

/// Asks for transparent huge pages over [begin, begin + bytes). Advice: ignored where unsupported.
inline void adviseHugePages([[maybe_unused]] void* begin, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  (void)::madvise(begin, bytes, MADV_HUGEPAGE);
#endif
}

/// The outcome of populatePages.
enum class PopulateResult { DONE, FAILED, UNSUPPORTED };

/// Asks the kernel to map [begin, begin + bytes), page-aligned, without changing a byte. UNSUPPORTED where
/// the kernel does not know the advice (the caller may stop asking); FAILED for other errors (the memory
/// was returned to the system meanwhile, say), which only leave pages cold.
inline PopulateResult populatePages([[maybe_unused]] void* begin,
                                    [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  if (::madvise(begin, bytes, MADV_POPULATE_WRITE) == 0) return PopulateResult::DONE;
  return errno == EINVAL ? PopulateResult::UNSUPPORTED : PopulateResult::FAILED;
#else
  return PopulateResult::UNSUPPORTED;
#endif
}

/// Gives the pages of [begin, begin + bytes), page-aligned, back to the system; the range stays mapped and
/// reads as zeros when next touched. False where unsupported or refused.
inline bool releasePages([[maybe_unused]] void* begin, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_DONTNEED)
  return ::madvise(begin, bytes, MADV_DONTNEED) == 0;
#else
  return false;
#endif
}

/// Loads one byte at `p` and discards it: an assembly load outside the C++ memory model, like a prefetch
/// that may fault. Under a hypervisor that shadows page tables, the first access through each freshly
/// populated page exits to the host; reading it here takes that cost off the writer. A load cannot disturb
/// a concurrent store to the same bytes on any processor.
inline void touchPage([[maybe_unused]] const std::byte* p) noexcept {
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

}  // namespace ackmq::detail
