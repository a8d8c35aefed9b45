#pragma once
// ackmq internals: telling consumers that messages arrived in a queue they own. The store only publishes;
// this broker service keeps, per consume queue, the consumers listening to it, and runs their two-step
// notification around the store lock.

#include <atomic>
#include <deque>
#include <mutex>
#include <vector>

#include <ackmq/detail/spin.hpp>
#include <ackmq/detail/store/consume_queue.hpp>

namespace ackmq::detail {

/// Told when messages arrive in a queue, in two steps. onArrival runs first, on a send under the store lock:
/// it records the fact and may hand it to a thread that is looking for work, but must not block, take a
/// lock or call into the broker. When it returns true, onArrivalFollowUp runs once the store lock is
/// released, under the queue's listener lock: there it may wake a sleeping thread or pull. A send thus takes
/// no lock of the queue's own for a consumer whose thread is looking.
class ArrivalListener {
 public:
  virtual bool onArrival() noexcept = 0;
  virtual void onArrivalFollowUp() noexcept = 0;

 protected:
  ~ArrivalListener() = default;
};

/// The listeners of one consume queue. The list changes under both the store lock and `mutex`, so either
/// one lets a thread walk it; `count` lets an arrival skip the walk when nobody listens.
struct ArrivalList {
  SpinThenBlockMutex mutex;
  std::vector<ArrivalListener*> listeners;
  std::atomic<int> count{0};
};

/// Something stored messages in a queue after the store lock was let go (a re-put, a retry copy): its
/// consumers are told (both steps of ArrivalListener).
class ArrivalSink {
 public:
  virtual void onArrived(ConsumeQueue& queue) noexcept = 0;

 protected:
  ~ArrivalSink() = default;
};

/// Thread safety: thread-safe; listen and unlisten must not be called with the store lock held.
class Arrivals final : public ArrivalSink {
 public:
  /// `storeLock` is the store's lock, under which appends run noteLocked.
  explicit Arrivals(SpinThenBlockMutex& storeLock) : storeLock_(storeLock) {}
  Arrivals(const Arrivals&) = delete;
  Arrivals& operator=(const Arrivals&) = delete;

  void listen(ConsumeQueue& queue, ArrivalListener& l) {
    change(queue, [&](ArrivalList& list) { list.listeners.push_back(&l); });
  }
  /// After this returns, `l` is not called again for `queue`.
  void unlisten(ConsumeQueue& queue, ArrivalListener& l) {
    change(queue, [&](ArrivalList& list) { std::erase(list.listeners, &l); });
  }

  /// Messages arrived; the store lock is held (an append). Runs each listener's first step and returns true
  /// when one asked for its follow-up, which the caller runs with followUp() once the lock is released.
  static bool noteLocked(ConsumeQueue& queue) noexcept {
    ArrivalList* list = queue.arrivals.load(std::memory_order_relaxed);  // set under the store lock
    if (list == nullptr || list->count.load(std::memory_order_relaxed) == 0) return false;
    bool followUp = false;
    for (ArrivalListener* l : list->listeners)
      followUp |= l->onArrival();
    return followUp;
  }
  /// The follow-ups noteLocked asked for, without the store lock. A listener added meanwhile may be asked
  /// too: a follow-up is a no-op for a listener that did not ask for one.
  static void followUp(ConsumeQueue& queue) noexcept {
    ArrivalList* list = queue.arrivals.load(std::memory_order_acquire);
    if (list == nullptr) return;
    std::lock_guard lock(list->mutex);
    for (ArrivalListener* l : list->listeners)
      l->onArrivalFollowUp();
  }
  /// ArrivalSink: messages arrived, told without the store lock: both steps.
  void onArrived(ConsumeQueue& queue) noexcept override { notify(queue); }
  static void notify(ConsumeQueue& queue) noexcept {
    ArrivalList* list = queue.arrivals.load(std::memory_order_acquire);
    if (list == nullptr || list->count.load(std::memory_order_acquire) == 0) return;
    std::lock_guard lock(list->mutex);
    for (ArrivalListener* l : list->listeners) {
      if (l->onArrival()) l->onArrivalFollowUp();
    }
  }

 private:
  template <class F>
  void change(ConsumeQueue& queue, F&& f) {
    std::lock_guard store(storeLock_);
    ArrivalList* list = queue.arrivals.load(std::memory_order_relaxed);
    if (list == nullptr) {
      list = &lists_.emplace_back();
      queue.arrivals.store(list, std::memory_order_release);
    }
    std::lock_guard lock(list->mutex);
    f(*list);
    list->count.store(static_cast<int>(list->listeners.size()), std::memory_order_release);
  }

  SpinThenBlockMutex& storeLock_;
  std::deque<ArrivalList> lists_;  // under the store lock; a deque, so that lists never move
};

}  // namespace ackmq::detail
