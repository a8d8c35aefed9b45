#pragma once
// ackmq internals: equality of short byte strings, inline.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ackmq::detail {

/// a == b, a word at a time. The strings compared on the delivery and filter paths (broker names, property
/// names and values) are short, and string_view's == calls out to memcmp, which costs more than the bytes.
inline bool sameBytes(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  std::size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    std::uint64_t x;
    std::uint64_t y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y) return false;
  }
  for (; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace ackmq::detail
