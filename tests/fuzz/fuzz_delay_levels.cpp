// Fuzzes BrokerConfig.messageDelayLevel, parsed by the broker's constructor (detail::parseDelayLevels): a
// spelling either parses into 1..1000 positive levels, or the broker refuses it with MESSAGE_ILLEGAL naming
// the field.
#include <ackmq/detail/broker/schedule_service.hpp>
#include <ackmq/testing.hpp>

#include "fuzz_support.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string spec(reinterpret_cast<const char*>(data), size);
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
