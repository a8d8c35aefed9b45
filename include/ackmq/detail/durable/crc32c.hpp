#pragma once
// ackmq internals: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every record the
// durable store writes. CRC-32C rather than RocketMQ's CRC-32 (java.util.zip): same strength against torn
// and flipped bytes, and x86-64 computes it in hardware (SSE4.2), 8 bytes an instruction. Where the
// processor lacks it, a table does 8 bytes a step (slicing-by-8); both give the same value.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define ACKMQ_CRC32C_HARDWARE 1
#endif

namespace ackmq::detail {

namespace crc32c_detail {

using Table = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Table makeTable() noexcept {
  Table t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t s = 1; s < 8; ++s) {
    for (std::size_t i = 0; i < 256; ++i)
      t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
  return t;
}

inline constexpr Table kTable = makeTable();

/// The portable path: `crc` is the running value, already inverted.
inline std::uint32_t software(std::uint32_t crc, const unsigned char* p, std::size_t n) noexcept {
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    w ^= crc;
    crc = kTable[7][w & 0xFF] ^ kTable[6][(w >> 8) & 0xFF] ^ kTable[5][(w >> 16) & 0xFF] ^
          kTable[4][(w >> 24) & 0xFF] ^ kTable[3][(w >> 32) & 0xFF] ^ kTable[2][(w >> 40) & 0xFF] ^
          kTable[1][(w >> 48) & 0xFF] ^ kTable[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0)
    crc = (crc >> 8) ^ kTable[0][(crc ^ *p++) & 0xFF];
  return crc;
}

#if defined(ACKMQ_CRC32C_HARDWARE)
[[gnu::target("sse4.2")]] inline std::uint32_t hardware(std::uint32_t crc, const unsigned char* p,
                                                        std::size_t n) noexcept {
#if defined(__x86_64__)
  std::uint64_t c = crc;
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
    p += 8;
    n -= 8;
  }
  crc = static_cast<std::uint32_t>(c);
#endif
  while (n-- > 0)
    crc = _mm_crc32_u8(crc, *p++);
  return crc;
}

inline bool hasHardware() noexcept {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

}  // namespace crc32c_detail

/// Extends `crc` (the CRC-32C of the bytes before, 0 for none) over `n` bytes at `data`.
inline std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t n) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
#if defined(ACKMQ_CRC32C_HARDWARE)
  if (crc32c_detail::hasHardware()) return ~crc32c_detail::hardware(~crc, p, n);
#endif
  return ~crc32c_detail::software(~crc, p, n);
}

/// The table path alone, for tests that compare the two.
inline std::uint32_t crc32cPortable(std::uint32_t crc, const void* data, std::size_t n) noexcept {
  return ~crc32c_detail::software(~crc, static_cast<const unsigned char*>(data), n);
}

}  // namespace ackmq::detail
