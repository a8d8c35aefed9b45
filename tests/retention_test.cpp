// Retention: reclaimed memory goes back to the system.
#include <ackmq/detail/store/commit_log.hpp>

#include <doctest/doctest.h>

#include <ackmq/broker.hpp>
#include <ackmq/producer.hpp>
#include <ackmq/testing.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;
using ackmq::testing::ManualBroker;
using ackmq::testing::ManualProducer;

namespace {

std::uint64_t residentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  REQUIRE(f != nullptr);
  unsigned long long size = 0;
  unsigned long long resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  REQUIRE(got == 2);
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST_SUITE("retention") {
  TEST_CASE("the pages of a freed large segment go back to the system, whatever the allocator keeps" *
            doctest::timeout(30)) {
    // glibc raises its mmap threshold to the size of each large block freed; blocks below it then come
    // from its heap, which keeps them once freed when something small lives above them. Round one frees
    // large blocks, round two's smaller segments land in the heap between small allocations.
    {
      ackmq::detail::CommitLog<std::string> log(std::size_t{8} << 20);
      log.openSegment(100);
      log.openSegment(100);
      log.popOldest();
      log.popOldest();
    }
    constexpr std::size_t kBig = std::size_t{2} << 20;
    constexpr int kSegments = 8;
    std::vector<std::unique_ptr<char[]>> between;
    const std::uint64_t before = residentBytes();
    ackmq::detail::CommitLog<std::string> log(kBig);
    for (int i = 0; i < kSegments; ++i) {
      log.openSegment(100);
      std::memset(log.active().data.get(), 1, kBig);  // every page resident
      between.push_back(std::make_unique<char[]>(64));
    }
    const std::uint64_t filled = residentBytes();
    CHECK(filled >= before + (kSegments - 1) * kBig);
    for (int i = 0; i < kSegments; ++i)
      log.popOldest();
    CHECK(log.hasSpare());
    // All but the spare are returned.
    const std::uint64_t after = residentBytes();
    CHECK_MESSAGE(after <= before + 2 * kBig,
                  "resident before " << before << ", filled " << filled << ", after " << after);
  }
}
