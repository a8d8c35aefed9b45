// Fuzzes receipt handles and message ids, the strings applications hand back to the broker: ack and
// changeInvisibleDuration with arbitrary handles (whole, or a real handle with bytes spliced in), and
// viewMessage with arbitrary ids. None may crash; a handle is accepted only when it names the message in
// flight at its current generation.
#include <ackmq/testing.hpp>

#include "fuzz_support.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace {

struct Bus {
  ackmq::ManualClock clock;
  ackmq::testing::ManualBroker broker{clock};
  ackmq::testing::ManualProducer producer{broker, "fuzz-producers"};
  ackmq::testing::ManualSimpleConsumer consumer{broker, "fuzz-group"};
  std::string handle;  // the handle of the message in flight
  Bus() {
    broker.createTopic("Fuzz", 1);
    producer.start();
    consumer.subscribe("Fuzz", "*");
    consumer.start();
    next();
  }
  void next() {
    producer.send(ackmq::Message("Fuzz", "", "in flight"));
    auto got = consumer.receive(1, std::chrono::hours(12));
    FUZZ_CHECK(got.size() == 1);
    handle = got.front().getReceiptHandle();
  }
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Whether `candidate` names what `handle` names: the same group, the same record id (hex digits in either
// case) and the same generation (a number, leading zeros allowed). A handle is opaque, so other spellings of
// the same name may be accepted; nothing else may.
bool sameName(std::string_view candidate, std::string_view handle) {
  const auto parts = [](std::string_view h) {
    const std::size_t a = h.find(':');
    const std::size_t b = h.rfind(':');
    return std::array<std::string_view, 3>{h.substr(0, a), h.substr(a + 1, b - a - 1), h.substr(b + 1)};
  };
  if (std::count(candidate.begin(), candidate.end(), ':') != 2) return false;
  const auto c = parts(candidate);
  const auto h = parts(handle);
  if (c[0] != h[0] || lower(c[1]) != lower(h[1])) return false;
  std::uint64_t cg = 0;
  std::uint64_t hg = 0;
  const auto [cp, cec] = std::from_chars(c[2].data(), c[2].data() + c[2].size(), cg);
  std::from_chars(h[2].data(), h[2].data() + h[2].size(), hg);
  return cec == std::errc() && cp == c[2].data() + c[2].size() && cg == hg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Bus bus;
  auto& core = ackmq::detail::BrokerAccess::core(bus.broker);
  ackmq_fuzz::Reader in(data, size);
  const std::uint8_t mode = in.byte();
  std::string candidate;
  if (mode % 3 == 0) {
    candidate = in.rest();
  } else {  // a real handle with a piece replaced
    candidate = bus.handle;
    const std::size_t at = in.byte() % (candidate.size() + 1);
    const std::size_t len = std::min<std::size_t>(in.byte() % 8, candidate.size() - at);
    candidate.replace(at, len, in.rest());
  }
  if (mode % 3 == 2) {
    (void)bus.broker.viewMessage(candidate);
    (void)bus.broker.queryMessage("Fuzz", candidate, 4);
  }
  const bool same = sameName(candidate, bus.handle);
  if ((mode & 4) != 0) {
    const auto renewed = core.changeInvisibleTime("fuzz-group", candidate, 60'000);
    FUZZ_CHECK(renewed.has_value() == same);
    if (renewed) bus.handle = *renewed;
  } else {
    const auto code = core.ackMessage("fuzz-group", candidate);
    FUZZ_CHECK((code == ackmq::ResponseCode::SUCCESS) == same);
    FUZZ_CHECK(code == ackmq::ResponseCode::SUCCESS || code == ackmq::ResponseCode::INVALID_RECEIPT_HANDLE);
    if (code == ackmq::ResponseCode::SUCCESS) bus.next();
  }
  return 0;
}
