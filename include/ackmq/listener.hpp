#pragma once
// ackmq: what a push consumer's listener sees: the batch (MessageExtList), the contexts, and the listener
// wrappers built from any callable.

#include <climits>
#include <concepts>
#include <cstddef>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ackmq/consumer_types.hpp>
#include <ackmq/message.hpp>
#include <ackmq/message_queue.hpp>

namespace ackmq {

/// The batch a listener receives: a read-only sequence of `const MessageExt&` over the consumer's own copies.
/// Nothing is copied to make it. Iterate it, index it, or (to keep messages after the call) copy them out.
///
/// Valid only during the listener call.
template <class Body = std::string>
class BasicMessageExtList {
 public:
  using value_type = BasicMessageExt<Body>;
  using size_type = std::size_t;
  using reference = const value_type&;
  using const_reference = const value_type&;

  class iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = BasicMessageExt<Body>;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;

    iterator() = default;
    explicit iterator(const value_type* const* p) : p_(p) {}
    reference operator*() const { return **p_; }
    pointer operator->() const { return *p_; }
    reference operator[](difference_type n) const { return *p_[n]; }
    iterator& operator++() {
      ++p_;
      return *this;
    }
    iterator operator++(int) { return iterator(p_++); }
    iterator& operator--() {
      --p_;
      return *this;
    }
    iterator operator--(int) { return iterator(p_--); }
    iterator& operator+=(difference_type n) {
      p_ += n;
      return *this;
    }
    iterator& operator-=(difference_type n) {
      p_ -= n;
      return *this;
    }
    friend iterator operator+(iterator it, difference_type n) { return it += n; }
    friend iterator operator+(difference_type n, iterator it) { return it += n; }
    friend iterator operator-(iterator it, difference_type n) { return it -= n; }
    friend difference_type operator-(iterator a, iterator b) { return a.p_ - b.p_; }
    friend bool operator==(iterator a, iterator b) { return a.p_ == b.p_; }
    friend auto operator<=>(iterator a, iterator b) { return a.p_ <=> b.p_; }

   private:
    const value_type* const* p_ = nullptr;
  };
  using const_iterator = iterator;

  BasicMessageExtList(const value_type* const* messages, std::size_t count) : p_(messages), n_(count) {}

  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  const value_type& operator[](std::size_t i) const noexcept { return *p_[i]; }
  const value_type& at(std::size_t i) const {
    if (i >= n_)
      throw std::out_of_range("MessageExtList::at: index " + std::to_string(i) + " >= size " +
                              std::to_string(n_));
    return *p_[i];
  }
  const value_type& front() const noexcept { return *p_[0]; }
  const value_type& back() const noexcept { return *p_[n_ - 1]; }
  iterator begin() const noexcept { return iterator(p_); }
  iterator end() const noexcept { return iterator(p_ + n_); }

  /// Copies of the messages, for a listener written against rocketmq-client-cpp's
  /// `const std::vector<MQMessageExt>&` (declare `const MessageExtList&` or `const auto&` to avoid the copy).
  operator std::vector<value_type>() const { return std::vector<value_type>(begin(), end()); }

 private:
  const value_type* const* p_;
  std::size_t n_;
};

using MessageExtList = BasicMessageExtList<>;

namespace detail {
/// Tag: a listener context that refers to the consumer's MessageQueue rather than copying it.
struct BorrowQueue {};
}  // namespace detail

/// The context of a concurrent listener call (RocketMQ ConsumeConcurrentlyContext).
class ConsumeConcurrentlyContext {
 public:
  explicit ConsumeConcurrentlyContext(const MessageQueue& mq) : own_(mq), mq_(&own_) {}
  /// Internal: a context that refers to `mq` instead of copying it. The push consumer makes one per run of
  /// listener calls, and its process queue outlives them.
  ConsumeConcurrentlyContext(detail::BorrowQueue, const MessageQueue& mq) noexcept : mq_(&mq) {}
  ConsumeConcurrentlyContext(const ConsumeConcurrentlyContext& other)
      : own_(*other.mq_),
        mq_(&own_),
        delayLevelWhenNextConsume_(other.delayLevelWhenNextConsume_),
        ackIndex_(other.ackIndex_) {}
  ConsumeConcurrentlyContext& operator=(const ConsumeConcurrentlyContext& other) {
    if (this != &other) {
      own_ = *other.mq_;
      mq_ = &own_;
      delayLevelWhenNextConsume_ = other.delayLevelWhenNextConsume_;
      ackIndex_ = other.ackIndex_;
    }
    return *this;
  }
  ~ConsumeConcurrentlyContext() = default;

  /// The queue the batch came from (for a retry, the group's retry queue).
  const MessageQueue& getMessageQueue() const noexcept { return *mq_; }
  /// The delay level of the retry if the batch fails: 0 (default) = 3 + reconsumeTimes, the back-off ladder;
  /// -1 = straight to %DLQ%<group>; n > 0 = level n.
  int getDelayLevelWhenNextConsume() const noexcept { return delayLevelWhenNextConsume_; }
  void setDelayLevelWhenNextConsume(int level) noexcept { delayLevelWhenNextConsume_ = level; }
  /// With CONSUME_SUCCESS, messages [0, ackIndex] are consumed and the rest failed. Default: all.
  int getAckIndex() const noexcept { return ackIndex_; }
  void setAckIndex(int index) noexcept { ackIndex_ = index; }

 private:
  MessageQueue own_;  // the copy; empty when the context refers to the consumer's queue
  const MessageQueue* mq_;
  int delayLevelWhenNextConsume_ = 0;
  int ackIndex_ = INT_MAX;
};

/// The context of an orderly listener call (RocketMQ ConsumeOrderlyContext).
class ConsumeOrderlyContext {
 public:
  explicit ConsumeOrderlyContext(const MessageQueue& mq) : mq_(mq) {}
  const MessageQueue& getMessageQueue() const noexcept { return mq_; }
  /// true (default): SUCCESS commits. false: only COMMIT commits; ROLLBACK redelivers the batch.
  bool isAutoCommit() const noexcept { return autoCommit_; }
  void setAutoCommit(bool autoCommit) noexcept { autoCommit_ = autoCommit; }
  /// How long SUSPEND_CURRENT_QUEUE_A_MOMENT blocks the queue, ms; -1 (default): the consumer's
  /// suspendCurrentQueueTimeMillis. Clamped to [10, 30000].
  long getSuspendCurrentQueueTimeMillis() const noexcept { return suspendMillis_; }
  void setSuspendCurrentQueueTimeMillis(long millis) noexcept { suspendMillis_ = millis; }

 private:
  MessageQueue mq_;
  bool autoCommit_ = true;
  long suspendMillis_ = -1;
};

/// A concurrent listener, from any callable `(const MessageExtList&, ConsumeConcurrentlyContext&) ->
/// ConsumeConcurrentlyStatus`. An exception thrown by the callable counts as RECONSUME_LATER.
template <class Body = std::string>
class BasicMessageListenerConcurrently {
 public:
  using Fn =
      std::function<ConsumeConcurrentlyStatus(const BasicMessageExtList<Body>&, ConsumeConcurrentlyContext&)>;

  template <class F>
  requires std::invocable < F&, const BasicMessageExtList<Body>
  &, ConsumeConcurrentlyContext& >
         &&std::convertible_to<
             std::invoke_result_t<F&, const BasicMessageExtList<Body>&, ConsumeConcurrentlyContext&>,
             ConsumeConcurrentlyStatus>
         BasicMessageListenerConcurrently(F f) : fn_(std::move(f)) {}  // NOLINT: implicit, as a callback type

  ConsumeConcurrentlyStatus consumeMessage(const BasicMessageExtList<Body>& msgs,
                                           ConsumeConcurrentlyContext& ctx) const {
    return fn_(msgs, ctx);
  }

 private:
  Fn fn_;
};

/// An orderly listener, from any callable `(const MessageExtList&, ConsumeOrderlyContext&) ->
/// ConsumeOrderlyStatus`. An exception thrown by the callable counts as SUSPEND_CURRENT_QUEUE_A_MOMENT.
template <class Body = std::string>
class BasicMessageListenerOrderly {
 public:
  using Fn = std::function<ConsumeOrderlyStatus(const BasicMessageExtList<Body>&, ConsumeOrderlyContext&)>;

  template <class F>
  requires std::invocable < F&, const BasicMessageExtList<Body>
  &, ConsumeOrderlyContext& >
         &&std::convertible_to<
             std::invoke_result_t<F&, const BasicMessageExtList<Body>&, ConsumeOrderlyContext&>,
             ConsumeOrderlyStatus>
         BasicMessageListenerOrderly(F f) : fn_(std::move(f)) {}  // NOLINT: implicit, as a callback type

  ConsumeOrderlyStatus consumeMessage(const BasicMessageExtList<Body>& msgs,
                                      ConsumeOrderlyContext& ctx) const {
    return fn_(msgs, ctx);
  }

 private:
  Fn fn_;
};

using MessageListenerConcurrently = BasicMessageListenerConcurrently<>;
using MessageListenerOrderly = BasicMessageListenerOrderly<>;

}  // namespace ackmq
