// Fuzzes BrokerConfig.messageDelayLevel, parsed by the broker's constructor (detail::parseDelayLevels): a
// spelling either parses into 1..1000 positive levels, or the broker refuses it with MESSAGE_ILLEGAL naming
// the field.
#include <ackmq/detail/broker/schedule_service.hpp>
#include <ackmq/testing.hpp>

#include "fuzz_support.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace {

// Known defect, held by the skipped regression test "BrokerConfig.messageDelayLevel refuses a level too long
// to count in milliseconds": a level whose milliseconds overflow std::int64_t. Drop this guard with the fix.
bool overflows(std::string_view spec) {
  std::size_t i = 0;
  while (i < spec.size()) {
    std::size_t j = i;
    std::int64_t n = 0;
    bool big = false;
    while (j < spec.size() && spec[j] >= '0' && spec[j] <= '9') {
      big = big || n > 100'000'000'000'000;
      n = big ? n : n * 10 + (spec[j] - '0');
      ++j;
    }
    const std::string_view rest = spec.substr(j);
    const std::int64_t scale = rest.starts_with("ms")  ? 1
                               : rest.starts_with("s") ? 1000
                               : rest.starts_with("m") ? 60'000
                               : rest.starts_with("h") ? 3'600'000
                               : rest.starts_with("d") ? 86'400'000
                                                       : 1;
    if (big || n > std::numeric_limits<std::int64_t>::max() / scale) return true;
    i = j + 1;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string spec(reinterpret_cast<const char*>(data), size);
  if (overflows(spec)) return 0;
  std::vector<std::int64_t> levels;
  bool parsed = true;
  try {
    levels = ackmq::detail::parseDelayLevels(spec);
  } catch (const ackmq::MQClientException& e) {
    FUZZ_CHECK(e.getResponseCode() == ackmq::ResponseCode::MESSAGE_ILLEGAL);
    FUZZ_CHECK(std::string(e.what()).find("BrokerConfig.messageDelayLevel") != std::string::npos);
    parsed = false;
  }
  if (parsed) {
    FUZZ_CHECK(!levels.empty() && levels.size() <= 1000);
    for (std::int64_t ms : levels)
      FUZZ_CHECK(ms > 0);
  }
  // The broker's constructor agrees with the parser.
  ackmq::ManualClock clock;
  try {
    ackmq::testing::ManualBroker broker(
        clock, {.messageDelayLevel = spec, .maxStoreBytes = 8192, .commitLogSegmentBytes = 4096});
    FUZZ_CHECK(parsed);
  } catch (const ackmq::MQClientException& e) {
    FUZZ_CHECK(!parsed);
    FUZZ_CHECK(e.getResponseCode() == ackmq::ResponseCode::MESSAGE_ILLEGAL);
  }
  return 0;
}
