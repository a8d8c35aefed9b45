#pragma once
// ackmq internals: the broker's lookups of stored messages (RocketMQ VIEW_MESSAGE_BY_ID, QUERY_MESSAGE),
// each a copy of what the store holds, as stored (the topic a message was stored under, not its real one).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ackmq/detail/message_id.hpp>
#include <ackmq/detail/store/materialize.hpp>
#include <ackmq/detail/store/message_store.hpp>
#include <ackmq/message.hpp>

namespace ackmq::detail {

/// The message with this id: an offset id of broker `identity` names one physical copy; a msgId
/// (UNIQ_KEY) finds the newest retained copy.
template <class Body>
std::optional<BasicMessageExt<Body>> viewStoredMessage(MessageStore<Body>& store, std::string_view id,
                                                       const std::string& brokerName,
                                                       std::uint64_t identity) {
  const auto parsed = MessageId::parse(id);
  if (!parsed) return std::nullopt;
  std::optional<BasicMessageExt<Body>> out;
  auto view = [&](const RecordHeader& h) {
    out = materialize<Body>(h, brokerName, identity, TopicView::STORED);
  };
  if (parsed->hi == identity) {
    store.withRecord(static_cast<std::int64_t>(parsed->lo), view);
    if (out) return out;
  }
  store.findByMsgId(*parsed, [&](const RecordHeader& h) {
    view(h);
    return true;
  });
  return out;
}

/// Up to `maxNum` retained messages of `topic` carrying `key` among their keys, oldest first.
template <class Body>
std::vector<BasicMessageExt<Body>> storedMessagesByKey(const MessageStore<Body>& store,
                                                       std::string_view topic, std::string_view key,
                                                       int maxNum, const std::string& brokerName,
                                                       std::uint64_t identity) {
  std::vector<BasicMessageExt<Body>> out;
  if (maxNum <= 0) return out;
  store.findByKey(key, [&](const RecordHeader& h) {
    if (h.topic->name == topic) out.push_back(materialize<Body>(h, brokerName, identity, TopicView::STORED));
    return static_cast<int>(out.size()) >= maxNum;
  });
  return out;
}

/// Every retained message of `topic`, queue by queue, in queue order.
template <class Body>
std::vector<BasicMessageExt<Body>> storedMessagesOf(const MessageStore<Body>& store, std::string_view topic,
                                                    const std::string& brokerName, std::uint64_t identity) {
  std::vector<BasicMessageExt<Body>> out;
  const TopicEntry* t = store.findTopic(topic);
  if (t != nullptr) {
    store.forEachInTopic(*t, [&](const RecordHeader& h) {
      out.push_back(materialize<Body>(h, brokerName, identity, TopicView::STORED));
    });
  }
  return out;
}

}  // namespace ackmq::detail
