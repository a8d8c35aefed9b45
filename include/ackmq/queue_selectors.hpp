#pragma once
// ackmq: the queue selectors of an ordered send (RocketMQ MessageQueueSelector and its two stock kinds).

#include <concepts>
#include <cstddef>
#include <functional>
#include <random>
#include <string_view>
#include <type_traits>
#include <vector>

#include <ackmq/message.hpp>
#include <ackmq/message_queue.hpp>

namespace ackmq {

/// A selector picks the queue of an ordered send: called as selector(queues, message, arg) with every queue
/// of the topic in queue id order, it returns one of them (RocketMQ MessageQueueSelector).
template <class Selector, class Body, class Arg>
concept MessageQueueSelector = std::invocable < Selector&,
        const std::vector<MessageQueue>
&, const BasicMessage<Body>&,
    const Arg& > &&std::convertible_to<std::invoke_result_t<Selector&, const std::vector<MessageQueue>&,
                                                            const BasicMessage<Body>&, const Arg&>,
                                       MessageQueue>;

/// Picks queue |hash(arg)| mod n, so one key always lands on one queue while the queue count stays the same
/// (RocketMQ SelectMessageQueueByHash). Strings (and string literals) hash by content.
struct SelectMessageQueueByHash {
  template <class Body, class Arg>
  MessageQueue operator()(const std::vector<MessageQueue>& mqs, const BasicMessage<Body>&,
                          const Arg& arg) const {
    std::size_t h;
    if constexpr (std::is_convertible_v<const Arg&, std::string_view>) {
      h = std::hash<std::string_view>{}(std::string_view(arg));
    } else {
      h = std::hash<Arg>{}(arg);
    }
    return mqs[h % mqs.size()];
  }
};

/// Picks a random queue (RocketMQ SelectMessageQueueByRandom).
struct SelectMessageQueueByRandom {
  template <class Body, class Arg>
  MessageQueue operator()(const std::vector<MessageQueue>& mqs, const BasicMessage<Body>&, const Arg&) const {
    thread_local std::minstd_rand rng{std::random_device{}()};
    return mqs[rng() % mqs.size()];
  }
};

}  // namespace ackmq
