#pragma once
// ackmq: how the members of a consumer group share a topic's queues (RocketMQ's
// AllocateMessageQueueStrategy implementations).

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <ackmq/message_queue.hpp>

namespace ackmq {

/// Decides which of `mqAll` the member `currentCID` takes, given every member `cidAll`. Both lists are
/// sorted, so every member computes the same split. Every member of a group must use the same strategy.
class AllocateMessageQueueStrategy {
 public:
  virtual ~AllocateMessageQueueStrategy() = default;
  virtual std::vector<MessageQueue> allocate(std::string_view consumerGroup, std::string_view currentCID,
                                             const std::vector<MessageQueue>& mqAll,
                                             const std::vector<std::string>& cidAll) const = 0;
  virtual std::string_view getName() const noexcept = 0;
};

/// Contiguous blocks; the first (queues mod members) members take one more (the default).
/// 8 queues over 3 members: {0,1,2}, {3,4,5}, {6,7}. Members beyond the queue count take none.
class AllocateMessageQueueAveragely final : public AllocateMessageQueueStrategy {
 public:
  std::vector<MessageQueue> allocate(std::string_view, std::string_view currentCID,
                                     const std::vector<MessageQueue>& mqAll,
                                     const std::vector<std::string>& cidAll) const override {
    std::vector<MessageQueue> out;
    const auto it = std::find(cidAll.begin(), cidAll.end(), currentCID);
    if (it == cidAll.end() || mqAll.empty()) return out;
    const std::size_t index = static_cast<std::size_t>(it - cidAll.begin());
    const std::size_t queues = mqAll.size();
    const std::size_t members = cidAll.size();
    const std::size_t mod = queues % members;
    const std::size_t average =
        queues <= members ? 1 : (mod > 0 && index < mod ? queues / members + 1 : queues / members);
    const std::size_t start = (mod > 0 && index < mod) ? index * average : index * average + mod;
    for (std::size_t i = 0; i < average && start + i < queues; ++i)
      out.push_back(mqAll[start + i]);
    return out;
  }
  std::string_view getName() const noexcept override { return "AVG"; }
};

/// Round robin: member i takes queues i, i + n, i + 2n, ... 8 queues over 3 members: {0,3,6}, {1,4,7}, {2,5}.
class AllocateMessageQueueAveragelyByCircle final : public AllocateMessageQueueStrategy {
 public:
  std::vector<MessageQueue> allocate(std::string_view, std::string_view currentCID,
                                     const std::vector<MessageQueue>& mqAll,
                                     const std::vector<std::string>& cidAll) const override {
    std::vector<MessageQueue> out;
    const auto it = std::find(cidAll.begin(), cidAll.end(), currentCID);
    if (it == cidAll.end()) return out;
    for (std::size_t i = static_cast<std::size_t>(it - cidAll.begin()); i < mqAll.size();
         i += cidAll.size()) {
      out.push_back(mqAll[i]);
    }
    return out;
  }
  std::string_view getName() const noexcept override { return "AVG_BY_CIRCLE"; }
};

}  // namespace ackmq
