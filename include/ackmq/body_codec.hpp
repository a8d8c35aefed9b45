#pragma once
// ackmq: how a durable broker writes a message body as bytes and reads it back.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ackmq {

/// The bytes of a body, for a durable broker (BrokerConfig::storePathRootDir), which writes every body to
/// its CommitLog. std::string and byte vectors have one; for another Body, specialise it:
///
/// @code
///   template <> struct ackmq::BodyCodec<Order> {
///     static std::string toBytes(const Order& o) { return o.serialize(); }
///     static Order fromBytes(std::string_view bytes) { return Order::parse(bytes); }
///   };
/// @endcode
///
/// A durable broker of a Body without one is refused at construction (MQClientException).
template <class Body>
struct BodyCodec;

template <class Byte>
requires(sizeof(Byte) == 1) struct BodyCodec<std::vector<Byte>> {
  static std::string toBytes(const std::vector<Byte>& b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  static std::vector<Byte> fromBytes(std::string_view bytes) {
    const auto* p = reinterpret_cast<const Byte*>(bytes.data());
    return std::vector<Byte>(p, p + bytes.size());
  }
};

}  // namespace ackmq
