#pragma once
// ackmq internals: the broker's half of request-reply (RocketMQ ReplyMessageProcessor). A reply is never
// stored for consumers: the broker looks up the producer named by its REPLY_TO_CLIENT property and hands
// the reply to it at once. A reply nobody waits for any more (the request timed out, or the requester is
// gone) is dropped and counted; it is not retried and never dead-lettered.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ackmq/message.hpp>

namespace ackmq::detail {

/// A requesting producer as the broker reaches it (RocketMQ pushes the reply down the requester's channel).
template <class Body>
class ReplyReceiver {
 public:
  /// Takes the reply to the request `correlationId`; false when no request of this client waits for it.
  /// Once it has taken the request, and before the requester can see the reply, it adds one to `delivered`,
  /// so that whoever has seen a reply also sees it counted. Runs on the responder's sending thread; must not
  /// block and must not call user code.
  virtual bool onReply(std::string_view correlationId, BasicMessage<Body>&& reply,
                       std::atomic<std::uint64_t>& delivered) noexcept = 0;
  /// The broker shut down: no reply and no timeout will come for the requests pending.
  virtual void onBrokerShutdown() noexcept = 0;

 protected:
  ~ReplyReceiver() = default;
};

/// What became of the replies the broker saw.
struct ReplyStats {
  std::uint64_t delivered = 0;    ///< handed to the request that waited for them
  std::uint64_t late = 0;         ///< the requester is there, but no request waits (timed out, or answered)
  std::uint64_t noRequester = 0;  ///< no running producer has the REPLY_TO_CLIENT id
};

/// Thread safety: thread-safe. route() calls run in parallel; registering and unregistering wait for them.
template <class Body>
class ReplyRouter {
 public:
  using Message = BasicMessage<Body>;

  /// Makes `receiver` reachable as `clientId` until unregisterClient. False (and nothing registered) once the
  /// broker has shut down.
  bool registerClient(const std::string& clientId, ReplyReceiver<Body>& receiver) {
    std::unique_lock lock(mutex_);
    if (closed_) return false;
    clients_.insert_or_assign(clientId, &receiver);
    return true;
  }

  /// After this returns no call reaches the receiver registered as `clientId`, and none is running.
  void unregisterClient(std::string_view clientId) {
    std::unique_lock lock(mutex_);
    if (auto it = clients_.find(clientId); it != clients_.end()) clients_.erase(it);
  }

  /// Hands `reply` to its requester, or drops and counts it.
  void route(const Message& reply) {
    const std::string to = reply.getProperty(MessageConst::PROPERTY_MESSAGE_REPLY_TO_CLIENT);
    const std::string correlationId = reply.getProperty(MessageConst::PROPERTY_CORRELATION_ID);
    Message copy(reply);  // before the lock: the body's copy is the costly part
    std::shared_lock lock(mutex_);
    auto it = clients_.find(std::string_view(to));
    if (it == clients_.end()) {
      noRequester_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    // Under the shared lock, so that the receiver cannot unregister (and go away) meanwhile; it takes only
    // its own lock and never calls back here.
    if (!it->second->onReply(correlationId, std::move(copy), delivered_))
      late_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Tells every registered client that the broker is gone, and refuses later registrations. Idempotent.
  void shutdown() {
    {
      std::unique_lock lock(mutex_);
      if (closed_) return;
      closed_ = true;
    }
    std::shared_lock lock(mutex_);
    for (auto& [id, receiver] : clients_)
      receiver->onBrokerShutdown();
  }

  ReplyStats stats() const noexcept {
    return ReplyStats{delivered_.load(std::memory_order_relaxed), late_.load(std::memory_order_relaxed),
                      noRequester_.load(std::memory_order_relaxed)};
  }

 private:
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  mutable std::shared_mutex mutex_;  // guards clients_ and closed_
  std::unordered_map<std::string, ReplyReceiver<Body>*, NameHash, std::equal_to<>> clients_;
  bool closed_ = false;
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> late_{0};
  std::atomic<std::uint64_t> noRequester_{0};
};

}  // namespace ackmq::detail
