#pragma once
// Shared by the fuzz targets: a check that aborts (so libFuzzer records the input), and a reader that
// splits the fuzzer's bytes into fields.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace ackmq_fuzz {

/// Takes fields off the front of the input: a byte, a length-prefixed string, the rest.
class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
  bool empty() const noexcept { return n_ == 0; }
  std::uint8_t byte() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  /// A string of up to `max` bytes, its length taken from the next two bytes.
  std::string string(std::size_t max = 65535) {
    std::size_t len = byte();
    len |= static_cast<std::size_t>(byte()) << 8;
    len = len % (max + 1);
    if (len > n_) len = n_;
    std::string s(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    n_ -= len;
    return s;
  }
  std::string rest() {
    std::string s(reinterpret_cast<const char*>(p_), n_);
    p_ += n_;
    n_ = 0;
    return s;
  }
  std::int64_t int64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v = (v << 8) | byte();
    return static_cast<std::int64_t>(v);
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

}  // namespace ackmq_fuzz
