// Inputs the fuzz targets (tests/fuzz) found, each kept as an ordinary test (built into bad_input_test). A
// case that shows a library defect not yet fixed is skipped (doctest::skip), with what it found; run it with
// --no-skip.
#include <ackmq/detail/broker/schedule_service.hpp>
#include <ackmq/detail/store/tag_filter.hpp>

#include <doctest/doctest.h>

#include <ackmq/testing.hpp>

#include <cstdint>
#include <limits>
#include <string>

TEST_SUITE("fuzz_regressions") {
  // fuzz_tag_filter, input "*||": the expression names the literal tag "*" (RocketMQ FilterAPI splits it the
  // same way), but the filter prints as "*", the spelling of subscribe-to-everything, so toString() is not
  // the canonical spelling it claims to be (two different filters print the same).
  TEST_CASE("a filter of the literal tag * prints a spelling that parses back to it" * doctest::skip(true)) {
    const auto filter = ackmq::detail::TagFilter::parse("*||");
    CHECK_FALSE(filter.matchesAll());
    CHECK(ackmq::detail::TagFilter::parse(filter.toString()) == filter);
    CHECK(filter.toString() != ackmq::detail::TagFilter::parse("*").toString());
  }

  // fuzz_delay_levels, input "999999999999d": twelve digits pass the length check, and 999999999999 days in
  // ms overflow std::int64_t (undefined behaviour, reported by UBSan) instead of being refused.
  TEST_CASE("BrokerConfig.messageDelayLevel refuses a level too long to count in milliseconds" *
            doctest::skip(true)) {
    for (const char* spec : {"999999999999d", "1s 999999999999d", "106751991168d", "2562047788016h"}) {
      INFO(spec);
      ackmq::ManualClock clock;
      try {
        ackmq::testing::ManualBroker broker(clock, {.messageDelayLevel = spec});
        FAIL_CHECK("accepted");
      } catch (const ackmq::MQClientException& e) {
        CHECK(e.getResponseCode() == ackmq::ResponseCode::MESSAGE_ILLEGAL);
        CHECK(std::string(e.what()).find("BrokerConfig.messageDelayLevel") != std::string::npos);
      }
    }
    // The longest level that fits is still accepted.
    CHECK(ackmq::detail::parseDelayLevels("106751991167d").size() == 1);
  }

  // fuzz_message, messages with setDelayTimeSec(-66709573725061132) and with setDeliverTimeMs near
  // INT64_MIN: the validator computes seconds * 1000 and deliverTimeMs - now before it checks the sign, which
  // overflows std::int64_t (undefined behaviour: under UBSan the send aborts; without it the wrapped value
  // happens to be refused as negative).
  TEST_CASE(
      "a send refuses a hugely negative delayTimeSec or deliverTimeMs as negative, without overflowing" *
      doctest::skip(true)) {
    ackmq::ManualClock clock;
    ackmq::testing::ManualBroker broker(clock);
    ackmq::testing::ManualProducer producer(broker, "fuzz-regressions");
    producer.start();
    for (std::int64_t seconds :
         {std::int64_t{-66709573725061132}, std::numeric_limits<std::int64_t>::min()}) {
      INFO(seconds);
      ackmq::Message msg("FuzzRegressions", "", "body");
      msg.setDelayTimeSec(seconds);
      try {
        producer.send(msg);
        FAIL_CHECK("accepted");
      } catch (const ackmq::MQClientException& e) {
        CHECK(e.getResponseCode() == ackmq::ResponseCode::MESSAGE_ILLEGAL);
        CHECK(std::string(e.what()).find("delayTimeSec must not be negative") != std::string::npos);
      }
    }
    for (std::int64_t at : {std::int64_t{-9223371869350526976}, std::numeric_limits<std::int64_t>::min()}) {
      INFO(at);
      ackmq::Message msg("FuzzRegressions", "", "body");
      msg.setDeliverTimeMs(at);
      try {
        producer.send(msg);
        FAIL_CHECK("accepted");
      } catch (const ackmq::MQClientException& e) {
        CHECK(e.getResponseCode() == ackmq::ResponseCode::MESSAGE_ILLEGAL);
        CHECK(std::string(e.what()).find("deliverTimeMs must not be negative") != std::string::npos);
      }
    }
    CHECK(ackmq::testing::storeStats(broker).storedMessages == 0);
  }
}
