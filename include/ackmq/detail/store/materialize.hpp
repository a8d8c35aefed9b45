#pragma once
// ackmq internals: turning a stored record into the BasicMessageExt that inspection and listeners see.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include <ackmq/detail/same_bytes.hpp>
#include <ackmq/detail/store/record.hpp>
#include <ackmq/detail/store/topic_table.hpp>
#include <ackmq/message.hpp>

namespace ackmq::detail {

/// Whether a retry copy shows its original topic (what a consumer sees, RocketMQ
/// DefaultMQPushConsumerImpl.resetRetryAndNamespace) or the topic it is stored in (what inspection sees).
enum class TopicView { STORED, ORIGINAL };

/// s = v, where v does not overlap s. A recycled message's strings usually already have the new value's
/// length (the same topic, a msgId, a body of a fixed size), and then this is one copy.
inline void overwrite(std::string& s, std::string_view v) {
  if (s.size() == v.size()) {
    if (!v.empty()) std::memcpy(s.data(), v.data(), v.size());
  } else if (s.empty()) {
    s.append(v);  // a fresh message's: append skips the general replace that assign goes through
  } else {
    s.assign(v);
  }
}

/// Assigns the values of `encoded` to a map that holds exactly its names, each once, and calls
/// f(name, value) for each; false when the names differ, and the map's values are then unspecified (the
/// caller rebuilds it). A retry copy carries the same few names delivery after delivery, and this leaves the
/// map's nodes where they are.
template <class Map, class F>
bool assignPropertiesInPlace(Map& props, std::string_view encoded, F&& f) {
  constexpr std::size_t kMax = 8;
  const std::size_t size = props.size();
  if (size == 0 || size > kMax) return false;
  unsigned seen = 0;  // bit i: the map's i-th name was assigned
  bool same = true;
  // Up to eight names: a scan that compares lengths first settles most of them without touching the
  // bytes, where the map's ordered search would compare bytes at every step.
  forEachProperty(encoded, [&](std::string_view name, std::string_view value) {
    if (!same) return;
    unsigned bit = 1;
    auto it = props.begin();
    for (; it != props.end(); ++it, bit <<= 1) {
      if (sameBytes(it->first, name)) break;
    }
    same = it != props.end() && (seen & bit) == 0;
    if (!same) return;
    seen |= bit;
    overwrite(it->second, value);
    f(name, value);
  });
  return same && seen == (1u << size) - 1;  // and every name was assigned
}

/// Fills `out` from `h`. `out` may be a recycled message: every field is overwritten.
template <class Body>
void materializeInto(BasicMessageExt<Body>& out, const RecordHeader& h, const std::string& brokerName,
                     std::uint64_t brokerIdentity, TopicView view) {
  using Access = MessageAccess;
  const std::string& stored = h.topic->name;
  auto& props = Access::properties(out);
  std::string_view originalTopic;
  auto note = [&](std::string_view n, std::string_view v) {
    if (isName(n, MessageConst::PROPERTY_RETRY_TOPIC)) originalTopic = v;
  };
  if (h.propertiesSize == 0) {
    props.clear();
  } else if (!assignPropertiesInPlace(props, h.encodedProperties(), note)) {
    // Otherwise a recycled message's property nodes, and their strings' capacity, serve the new
    // properties, so that this allocates nothing when the count does not grow.
    using Node = typename std::remove_reference_t<decltype(props)>::node_type;
    std::array<Node, 8> spare;
    std::size_t spares = 0;
    while (!props.empty() && spares < spare.size())
      spare[spares++] = props.extract(props.begin());
    props.clear();
    forEachProperty(h.encodedProperties(), [&](std::string_view n, std::string_view v) {
      if (spares == 0) {
        props.emplace(std::string(n), std::string(v));
      } else {
        Node node = std::move(spare[--spares]);
        node.key().assign(n);
        node.mapped().assign(v);
        props.insert(std::move(node));
      }
      note(n, v);
    });
  }
  if (view == TopicView::ORIGINAL && h.topic->kind == TopicKind::RETRY && !originalTopic.empty()) {
    overwrite(Access::topic(out), originalTopic);
    overwrite(Access::storedTopic(out), stored);
  } else {
    overwrite(Access::topic(out), stored);
    Access::storedTopic(out).clear();
  }
  overwrite(Access::tags(out), h.tags());
  if constexpr (kBytesBody<Body>) {
    overwrite(Access::body(out), bytesBody(h));
  } else {
    Access::body(out) = objectBody<Body>(h);
  }
  Access::flag(out) = h.flag;
  if (!sameBytes(Access::brokerName(out), brokerName)) Access::brokerName(out) = brokerName;
  Access::setExt(out,
                 MessageAccess::ExtFields{h.msgId, makeOffsetMessageId(brokerIdentity, h.commitLogOffset),
                                          h.queueId, h.reconsumeTimes, h.queueOffset, h.commitLogOffset,
                                          h.bornTimestamp, h.storeTimestamp, static_cast<int>(h.totalSize)});
}

template <class Body>
BasicMessageExt<Body> materialize(const RecordHeader& h, const std::string& brokerName,
                                  std::uint64_t brokerIdentity, TopicView view) {
  BasicMessageExt<Body> m;
  materializeInto(m, h, brokerName, brokerIdentity, view);
  return m;
}

}  // namespace ackmq::detail
