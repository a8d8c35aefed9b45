// Fuzzes message validation and the record encoding behind it: an arbitrary message, sent through a producer
// by one of its send forms, is either refused with an MQException and nothing stored, or stored, and then
// reads back from the broker with the same body, tags, keys and properties (detail/store/record.hpp
// encodes them on the way in and decodes them on the way out).
#include <ackmq/testing.hpp>

#include "fuzz_support.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace {

struct Bus {
  ackmq::ManualClock clock;
  ackmq::testing::ManualBroker broker{clock,
                                      {.maxStoreBytes = std::size_t{64} << 20,
                                       .commitLogSegmentBytes = std::size_t{1} << 20,
                                       .storeFullPolicy = ackmq::StoreFullPolicy::DROP_OLDEST}};
  ackmq::testing::ManualProducer producer{broker, "fuzz-producers"};
  Bus() {
    broker.createTopic("Fuzz", 4);
    producer.start();
  }
};

// The bytes the validator counts against the 32767-byte limit: the tags, and 4 + name + value per property.
std::size_t propertyBytes(const ackmq::Message& m) {
  std::size_t n = m.getTags().size();
  for (const auto& [k, v] : m.getProperties())
    n += 4 + k.size() + v.size();
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Bus bus;
  ackmq_fuzz::Reader in(data, size);
  const std::uint8_t shape = in.byte();
  ackmq::Message msg;
  msg.setTopic((shape & 1) != 0 ? in.string(200) : std::string("Fuzz"));
  msg.setTags(in.string(70'000));
  msg.setBody(in.string(8'192));
  if ((shape & 2) != 0) msg.setKeys(in.string(40'000));
  const int props = in.byte() % 4;
  for (int i = 0; i < props; ++i) {
    std::string name = in.string(100);
    std::string value = in.string(70'000);
    try {
      msg.putUserProperty(std::move(name), std::move(value));
    } catch (const ackmq::MQClientException& e) {
      FUZZ_CHECK(e.getResponseCode() == ackmq::ResponseCode::MESSAGE_ILLEGAL);
    }
  }
  if ((shape & 4) != 0) msg.setDelayTimeLevel(static_cast<int>(in.byte()) - 8);
  if ((shape & 8) != 0) msg.setDelayTimeMs(in.int64());
  if ((shape & 16) != 0) {
    msg.setDeliverTimeMs(in.int64());
  }
  if ((shape & 32) != 0) {
    msg.setDelayTimeSec(in.int64());
  }
  if ((shape & 64) != 0) msg.setWaitStoreMsgOK(false);
  msg.setFlag(static_cast<int>(in.byte()));

  const auto before = ackmq::testing::storeStats(bus.broker).storedMessages;
  ackmq::SendResult result;
  try {
    switch (in.byte() % 3) {
      case 0:
        result = bus.producer.send(msg);
        break;
      case 1:
        result = bus.producer.send(std::vector<ackmq::Message>{msg});
        break;
      default:
        result = bus.producer.send(msg, ackmq::MessageQueue(msg.getTopic(), "broker-a", 0));
        break;
    }
  } catch (const ackmq::MQException&) {
    FUZZ_CHECK(ackmq::testing::storeStats(bus.broker).storedMessages == before);
    return 0;
  }
  FUZZ_CHECK(ackmq::testing::storeStats(bus.broker).storedMessages > before);
  // The documented limit on tags and properties together (RocketMQ's 32767 bytes).
  FUZZ_CHECK(propertyBytes(msg) <= 32767);
  const auto stored = bus.broker.viewMessage(result.getOffsetMsgId());
  FUZZ_CHECK(stored.has_value());
  FUZZ_CHECK(stored->getBody() == msg.getBody());
  FUZZ_CHECK(stored->getTags() == msg.getTags());
  FUZZ_CHECK(stored->getKeys() == msg.getKeys());
  FUZZ_CHECK(stored->getFlag() == msg.getFlag());
  for (const auto& [k, v] : msg.getProperties()) {
    if (ackmq::MessageConst::isSystemProperty(k)) continue;  // the broker rewrites its own
    FUZZ_CHECK(stored->getProperty(k) == v);
  }
  return 0;
}
