#pragma once
// ackmq internals: faulting in fresh memory ahead of its first use, so that the page faults and the
// kernel's zeroing of fresh pages fall on a warming thread rather than on the appender (RocketMQ's
// MappedFile.warmMappedFile does the same for its mapped files).

#include <cstddef>
#include <cstdint>
#include <new>

#include <ackmq/detail/platform.hpp>

namespace ackmq::detail {

/// Whether this platform can populate pages ahead of use.
inline constexpr bool kCanPrefault = kCanPopulatePages;

/// Asks for transparent huge pages over the whole huge pages of [begin, begin + bytes); `begin` is aligned
/// to kHugePageBytes. Advice only: a kernel with them off gives 4 KiB pages, which work the same. Under a
/// hypervisor that shadows page tables, fresh memory then costs one exit per 2 MiB rather than per page.
inline void adviseWholeHugePages(void* begin, std::size_t bytes) noexcept {
  if (bytes >= kHugePageBytes) adviseHugePages(begin, bytes / kHugePageBytes * kHugePageBytes);
}

/// Faults in [begin, begin + bytes), page-aligned, without changing a byte: populated, then each page read
/// once (touchPage). False when the kernel does not know the advice (the caller may stop asking); other
/// failures only leave pages cold.
inline bool prefault(void* begin, std::size_t bytes) noexcept {
  switch (populatePages(begin, bytes)) {
    case PopulateResult::UNSUPPORTED:
      return false;
    case PopulateResult::FAILED:
      return true;
    case PopulateResult::DONE:
      break;
  }
  for (std::size_t at = 0; at < bytes; at += kPageBytes)
    touchPage(static_cast<const std::byte*>(begin) + at);
  return true;
}

/// At least `bytes` of whole huge pages, aligned to one and advised as such (adviseHugePages); not faulted
/// in. Freed with freeHugePages.
inline void* allocateHugePages(std::size_t bytes) {
  const std::size_t whole = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  void* p = ::operator new (whole, std::align_val_t{kHugePageBytes});
  adviseWholeHugePages(p, whole);
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
