#pragma once
// ackmq internals: faulting in fresh memory ahead of its first use.
//
// A page's first write costs a page fault and the kernel's zeroing of the page; asking the kernel to populate
// a whole range at once (madvise MADV_POPULATE_WRITE, Linux 5.14) skips the trap per page. Under a hypervisor
// that shadows the guest's page tables (PVM), populating only fills the guest's tables: the first access
// through each address still exits to the host, some 5-9 us a page, measured as 430 ns on a 190-byte record
// written into freshly populated memory against 15 ns once its page had been read. So prefault() then reads
// one byte of each page too: on this machine, 4 KiB pages faulted in by writing cost 3.8 s/GiB, populated
// and read 1.5 s/GiB; within a huge page only the first read exits, and the rest cost nanoseconds. That read
// is an assembly load outside the C++ memory model, like a prefetch that may fault: its value is discarded,
// and a load cannot disturb a concurrent store to the same bytes (the page warmer's appender may overtake it)
// on any processor.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ackmq::detail {

/// Whether this platform can populate pages ahead of use.
inline constexpr bool kCanPrefault =
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    true;
#else
    false;
#endif

inline constexpr std::size_t kPageBytes = 4096;
inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

/// Asks for transparent huge pages over the whole huge pages of [begin, begin + bytes); `begin` is aligned
/// to kHugePageBytes. Advice only: a kernel with them off gives 4 KiB pages, which work the same. Under a
/// hypervisor that shadows page tables, fresh memory then costs one exit per 2 MiB rather than per page.
inline void adviseHugePages([[maybe_unused]] void* begin, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= kHugePageBytes) (void)::madvise(begin, bytes / kHugePageBytes * kHugePageBytes, MADV_HUGEPAGE);
#endif
}

/// Loads one byte at `p` and discards it (see the top of this file).
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

/// Faults in [begin, begin + bytes), page-aligned, without changing a byte. False when the kernel does not
/// know the advice (the caller may stop asking); other failures (memory already returned to the system)
/// only leave pages cold.
inline bool prefault([[maybe_unused]] void* begin, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  if (::madvise(begin, bytes, MADV_POPULATE_WRITE) != 0) return errno != EINVAL;
  for (std::size_t at = 0; at < bytes; at += kPageBytes)
    touchPage(static_cast<const std::byte*>(begin) + at);
  return true;
#else
  return false;
#endif
}

/// At least `bytes` of whole huge pages, aligned to one and advised as such (adviseHugePages); not faulted
/// in. Freed with freeHugePages.
inline void* allocateHugePages(std::size_t bytes) {
  const std::size_t whole = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  void* p = ::operator new (whole, std::align_val_t{kHugePageBytes});
  adviseHugePages(p, whole);
  return p;
}
inline void freeHugePages(void* p) noexcept {
  ::operator delete (p, std::align_val_t{kHugePageBytes});
}

/// An allocator for arrays that grow large and are then used at random (the timer wheel's per-id tables): an
/// allocation of a huge page or more is whole huge pages, aligned, advised and faulted in at once, so that
/// a million entries cost a few exits rather than one per 4 KiB page as they are first written. Smaller
/// ones come from the heap as usual.
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() noexcept = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > (static_cast<std::size_t>(PTRDIFF_MAX) - kHugePageBytes) / sizeof(T)) {
      throw std::bad_array_new_length();
    }
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePageBytes) return static_cast<T*>(::operator new(bytes));
    void* p = allocateHugePages(bytes);
    prefault(p, bytes);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n * sizeof(T) < kHugePageBytes) {
      ::operator delete(p);
    } else {
      freeHugePages(p);
    }
  }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace ackmq::detail
