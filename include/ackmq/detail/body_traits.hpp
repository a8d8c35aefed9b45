#pragma once
// ackmq internals: what the library needs to know about a Body type.

#include <concepts>
#include <cstddef>
#include <string>
#include <type_traits>

namespace ackmq::detail {

/// True when Body is stored as raw bytes rather than as an object.
template <class Body>
inline constexpr bool kBytesBody = std::is_same_v<Body, std::string>;

/// Bodies with a size() take part in the size checks (empty body, maxMessageSize).
template <class Body>
concept SizedBody = requires(const Body& b) {
  { b.size() } -> std::convertible_to<std::size_t>;
};

/// RocketMQ caps a message's encoded properties (tags included) at 32767 bytes.
inline constexpr std::size_t kMaxPropertiesBytes = 32767;

}  // namespace ackmq::detail
