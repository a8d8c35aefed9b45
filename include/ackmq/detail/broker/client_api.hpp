#pragma once
// ackmq internals: what clients hold of the broker. The broker's core (broker_core.hpp) is the narrow
// interface clients call, the in-process stand-in for RocketMQ's remoting protocol; these are the typed
// handles its calls take and return: a queue to pull from and listen to, a group's offset slot, a pull's
// records, a topic's route. A client keeps handles and hands them back; it never reaches the store's
// structures behind them.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include <ackmq/detail/broker/arrivals.hpp>
#include <ackmq/detail/broker/room_waiters.hpp>
#include <ackmq/detail/store/consume_queue.hpp>
#include <ackmq/detail/store/message_store.hpp>
#include <ackmq/detail/store/offset_table.hpp>
#include <ackmq/detail/store/subscription_filter.hpp>
#include <ackmq/detail/store/topic_table.hpp>

namespace ackmq::detail {

template <class Body, class Clock>
class BrokerCore;

/// A consume queue a client reads. Valid for the broker's lifetime (queues are never removed).
class QueueHandle {
 public:
  QueueHandle() = default;
  explicit operator bool() const noexcept { return q_ != nullptr; }

  /// The offset the next message will get, as far as it is published (an acquire load): everything below
  /// it can be pulled. Read without a lock.
  std::int64_t publishedEnd() const noexcept { return q_->publishedMax.load(std::memory_order_acquire); }
  const std::string& topic() const noexcept { return q_->topic->name; }
  int queueId() const noexcept { return q_->queueId; }
  bool isRetryTopic() const noexcept { return q_->topic->kind == TopicKind::RETRY; }
  friend bool operator==(QueueHandle a, QueueHandle b) noexcept { return a.q_ == b.q_; }

 private:
  template <class, class>
  friend class BrokerCore;
  explicit QueueHandle(ConsumeQueue* q) noexcept : q_(q) {}
  ConsumeQueue* q_ = nullptr;
};

/// A group's committed offset of one queue (RocketMQ ConsumerOffsetManager's entry): the next offset the
/// group consumes, -1 for none. Stores are seen by the broker at once.
class OffsetSlot {
 public:
  OffsetSlot() = default;
  std::int64_t load() const noexcept { return s_->load(std::memory_order_acquire); }
  /// Commits `offset`, and tells senders waiting for room in a full store that some may have come.
  void store(std::int64_t offset) noexcept {
    s_->store(offset, std::memory_order_release);
    if (room_ != nullptr) room_->notify();
  }

 private:
  template <class, class>
  friend class BrokerCore;
  OffsetSlot(OffsetTable::Slot& s, RoomWaiters& room) noexcept : s_(&s), room_(&room) {}
  OffsetTable::Slot* s_ = nullptr;
  RoomWaiters* room_ = nullptr;
};

/// The records of a pull (PULL_MESSAGE's answer), readable until release(), which the puller must call
/// before it sends anything: until then the store may not reclaim them. Reused from pull to pull for its
/// capacity; released at the latest when destroyed.
class PullBuffer {
 public:
  std::size_t size() const noexcept { return pins_.records.size(); }
  bool empty() const noexcept { return pins_.records.empty(); }
  /// The queue offset of record i.
  std::int64_t queueOffset(std::size_t i) const noexcept { return pins_.records[i]->queueOffset; }
  void release() noexcept { pins_.release(); }

 private:
  template <class, class>
  friend class BrokerCore;
  PinnedRecords pins_;
};

/// A topic as a producer routes to it: its name and how many queues it has now (a topic may grow). Valid for
/// the broker's lifetime; trivially copyable, so a producer can cache the last one in an atomic.
class TopicRef {
 public:
  TopicRef() = default;
  explicit operator bool() const noexcept { return t_ != nullptr; }
  const std::string& name() const noexcept { return t_->name; }
  int queueNums() const noexcept { return t_->queueNums.load(std::memory_order_acquire); }

 private:
  template <class, class>
  friend class BrokerCore;
  explicit TopicRef(TopicEntry* t) noexcept : t_(t) {}
  TopicEntry* t_ = nullptr;
};

/// A resolved topic: what a producer needs to pick a queue.
struct TopicRoute {
  TopicRef topic;
  int queueNums = 0;
  explicit operator bool() const noexcept { return static_cast<bool>(topic) && queueNums > 0; }
};

}  // namespace ackmq::detail
