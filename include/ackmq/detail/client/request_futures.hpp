#pragma once
// ackmq internals: a requesting producer's pending requests (RocketMQ RequestFutureHolder and
// RequestResponseFuture). Each request waits here, under its correlation id, for one of four endings: its
// reply (handed over by the broker), its timeout (a timer on the broker's clock, so a ManualClock makes it
// instant), a failed send, or the end of the producer or the broker. Whichever comes first takes the request
// out of the table, under the lock; the others then find nothing, so every request ends exactly once.
//
// RocketMQ sweeps its table every second for expired requests; here each request arms one timer on the
// broker's timer service (O(1) in the timing wheel, cancelled by the reply), so no thread polls.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ackmq/detail/broker/reply_router.hpp>
#include <ackmq/detail/broker/timer_service.hpp>
#include <ackmq/detail/client/thread_pool.hpp>
#include <ackmq/detail/message_id.hpp>
#include <ackmq/detail/spin.hpp>
#include <ackmq/message.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

/// Thread safety: thread-safe. start() and shutdown() are serialised by the owner.
template <class Body, class Clock>
class RequestFutureHolder final : private TimerTarget, private ReplyReceiver<Body> {
 public:
  using Message = BasicMessage<Body>;
  using OnSuccess = std::function<void(const Message&)>;
  using OnException = std::function<void(std::exception_ptr)>;

  /// One request in flight. The fields the caller reads after the wait are written before `done` is set,
  /// under `m`.
  class Future {
   public:
    const std::string& correlationId() const noexcept { return correlationId_; }

   private:
    friend class RequestFutureHolder;
    std::uint64_t seq_ = 0;
    std::string correlationId_;
    std::string topic_;
    std::int64_t timeoutMillis_ = 0;
    TimerId timer_;
    bool async_ = false;
    OnSuccess onSuccess_;      // async only
    OnException onException_;  // async only
    std::mutex m_;             // guards what follows (sync only); done_ is also read without it
    std::condition_variable cv_;
    std::atomic<bool> done_{false};  // set last, with release: the outcome is in place
    std::optional<Message> reply_;
    std::exception_ptr error_;
  };
  using Ticket = std::shared_ptr<Future>;

  RequestFutureHolder(TimerService<Clock>& timers, ReplyRouter<Body>& router)
      : timers_(timers), router_(router), salt_(std::random_device{}() | 1ULL << 32) {}
  RequestFutureHolder(const RequestFutureHolder&) = delete;
  RequestFutureHolder& operator=(const RequestFutureHolder&) = delete;
  ~RequestFutureHolder() { shutdown("the producer was destroyed"); }

  /// Makes the holder reachable by replies addressed to `clientId`; async outcomes go to `callbacks`.
  void start(std::string clientId, ThreadPool& callbacks) {
    clientId_ = std::move(clientId);
    callbacks_ = &callbacks;
    timerTarget_ = timers_.registerTarget(*this);
    registered_ = router_.registerClient(clientId_, *this);
    std::lock_guard lock(mutex_);
    open_ = true;
    brokerDown_ = !registered_;
  }

  /// Ends every pending request with MQClientException(CLIENT_STATE_ILLEGAL, "... `why`") and refuses new
  /// ones. When it returns, nothing more is posted to the callback pool. Idempotent.
  void shutdown(std::string_view why) {
    {
      std::lock_guard lock(mutex_);
      if (!open_) return;
      open_ = false;
    }
    // No reply and no timer reaches this holder after these return, and none is still running.
    if (registered_) router_.unregisterClient(clientId_);
    timers_.unregisterTarget(timerTarget_);
    failAll(ResponseCode::CLIENT_STATE_ILLEGAL, why);
    std::unique_lock lock(mutex_);
    settled_.wait(lock, [&] { return ending_ == 0; });
  }

  /// The client id replies are addressed to.
  const std::string& clientId() const noexcept { return clientId_; }

  /// What is sent for `msg` under `future`: a copy marked as RocketMQ's prepareSendRequest marks a request,
  /// with its correlation id, this holder's client id to reply to, and its timeout as TTL.
  Message requestFor(const Message& msg, const Future& future) const {
    Message req(msg);
    MessageAccess::putProperty(req, MessageConst::PROPERTY_CORRELATION_ID, future.correlationId_);
    MessageAccess::putProperty(req, MessageConst::PROPERTY_MESSAGE_REPLY_TO_CLIENT, clientId_);
    MessageAccess::putProperty(req, MessageConst::PROPERTY_MESSAGE_TTL,
                               std::to_string(future.timeoutMillis_));
    return req;
  }

  /// Registers a sync request to `topic` that times out after `timeoutMillis` on the broker's clock; the
  /// caller waits for its outcome with wait(). Throws MQClientException (CLIENT_STATE_ILLEGAL) once shut
  /// down.
  Ticket open(const std::string& topic, std::int64_t timeoutMillis) {
    auto f = std::make_shared<Future>();
    return insert(std::move(f), topic, timeoutMillis);
  }
  /// The same for an async request, whose outcome is posted to the callback pool.
  Ticket open(const std::string& topic, std::int64_t timeoutMillis, OnSuccess onSuccess,
              OnException onException) {
    auto f = std::make_shared<Future>();
    f->async_ = true;
    f->onSuccess_ = std::move(onSuccess);
    f->onException_ = std::move(onException);
    return insert(std::move(f), topic, timeoutMillis);
  }

  /// Ends the request with `error` (its send failed), unless something ended it first.
  void fail(const Ticket& f, std::exception_ptr error) {
    if (!take(f->seq_)) return;
    timers_.cancel(f->timer_);
    complete(*f, std::nullopt, std::move(error));
    settle();
  }

  /// Waits for a sync request's outcome: returns the reply or throws what ended the request.
  Message wait(const Ticket& f) {
    // A reply from a listener that is running usually comes within microseconds: watch for it before
    // parking, as every wait in the library does, so that a round trip costs no kernel wake-up.
    (void)pollUntil([&] { return f->done_.load(std::memory_order_acquire); });
    std::unique_lock lock(f->m_);
    f->cv_.wait(lock, [&] { return f->done_.load(std::memory_order_acquire); });
    if (f->error_) std::rethrow_exception(f->error_);
    return std::move(*f->reply_);
  }

  std::size_t pendingCount() const {
    std::lock_guard lock(mutex_);
    return pending_.size();
  }

 private:
  Ticket insert(Ticket f, const std::string& topic, std::int64_t timeoutMillis) {
    f->topic_ = topic;
    f->timeoutMillis_ = timeoutMillis;
    std::lock_guard lock(mutex_);
    if (!open_) {
      throw MQClientException(ResponseCode::CLIENT_STATE_ILLEGAL,
                              "request to topic \"" + topic + "\": the producer is shut down");
    }
    // Decided under the lock that onBrokerShutdown takes: a request either is here when the broker goes,
    // and fails then, or is refused now. None can wait for a timer that will never fire.
    if (brokerDown_) {
      throw MQClientException(ResponseCode::SERVICE_NOT_AVAILABLE,
                              "request to topic \"" + topic + "\": the broker is shut down");
    }
    f->seq_ = ++lastSeq_;
    f->correlationId_ = MessageId{salt_, f->seq_}.toString();
    // Under the lock, so that the timer id is in place before anything can end the request; the timer
    // service never calls back with its own lock held, so the order holder -> timers cannot deadlock.
    f->timer_ = timers_.scheduleAfter(timeoutMillis, timerTarget_, f->seq_);
    pending_.emplace(f->seq_, f);
    return f;
  }

  // Takes the request out of the table; false if something else already ended it. A taken request counts
  // as ending until settle(), so that shutdown() can wait for its outcome to be posted.
  std::shared_ptr<Future> take(std::uint64_t seq) {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(seq);
    if (it == pending_.end()) return nullptr;
    std::shared_ptr<Future> f = std::move(it->second);
    pending_.erase(it);
    ++ending_;
    return f;
  }
  void settle() {
    std::lock_guard lock(mutex_);
    if (--ending_ == 0) settled_.notify_all();
  }

  // Delivers one outcome: to the waiting caller, or as a task on the callback pool (never inline, never
  // under a lock of the library: the task runs the user's callback on the pool's thread).
  void complete(Future& f, std::optional<Message> reply, std::exception_ptr error) {
    if (f.async_) {
      std::function<void()> task;
      if (error) {
        task = [cb = std::move(f.onException_), e = std::move(error)] {
          if (!cb) return;
          try {
            cb(e);
          } catch (...) {
          }
        };
      } else {
        task = [cb = std::move(f.onSuccess_), r = std::move(*reply)] {
          if (!cb) return;
          try {
            cb(r);
          } catch (...) {
          }
        };
      }
      callbacks_->submit(std::move(task));
      return;
    }
    std::lock_guard lock(f.m_);
    f.reply_ = std::move(reply);
    f.error_ = std::move(error);
    f.done_.store(true, std::memory_order_release);
    f.cv_.notify_all();
  }

  void failAll(ResponseCode code, std::string_view why, bool brokerDown = false) {
    std::vector<std::shared_ptr<Future>> all;
    {
      std::lock_guard lock(mutex_);
      if (brokerDown) brokerDown_ = true;
      all.reserve(pending_.size());
      for (auto& [seq, f] : pending_)
        all.push_back(std::move(f));
      pending_.clear();
      ending_ += all.size();
    }
    for (auto& f : all) {
      timers_.cancel(f->timer_);
      std::exception_ptr e = std::make_exception_ptr(  // in a statement of its own: see onTimer
          MQClientException(code,
                            "request to topic \"" + f->topic_ + "\" got no reply: " + std::string(why)));
      complete(*f, std::nullopt, std::move(e));
      settle();
    }
  }

  // ReplyReceiver: the broker hands over a reply.
  bool onReply(std::string_view correlationId, Message&& reply,
               std::atomic<std::uint64_t>& delivered) noexcept override {
    const auto id = MessageId::parse(correlationId);
    if (!id || id->hi != salt_) return false;
    std::shared_ptr<Future> f = take(id->lo);
    if (!f) return false;  // timed out, or answered already: a late reply
    delivered.fetch_add(1, std::memory_order_relaxed);
    timers_.cancel(f->timer_);
    try {
      complete(*f, std::move(reply), nullptr);
    } catch (...) {
      // Only a copy could throw (out of memory); the request then ends with that error.
      complete(*f, std::nullopt, std::current_exception());
    }
    settle();
    return true;
  }
  void onBrokerShutdown() noexcept override {
    try {
      failAll(ResponseCode::SERVICE_NOT_AVAILABLE, "the broker shut down", /*brokerDown=*/true);
    } catch (...) {
    }
  }

  // TimerTarget: a request's timeout fell due (RocketMQ RequestFutureHolder.scanExpiredRequest).
  void onTimer(std::uint64_t seq) noexcept override {
    std::shared_ptr<Future> f = take(seq);
    if (!f) return;
    try {
      // RocketMQ's wording: the sync request knows its send went through; the async sweeper only that no
      // reply came.
      const std::string what = f->async_ ? "request timeout, no reply message."
                                         : "send request message to " + f->topic_ +
                                               " OK, but wait reply message timeout, " +
                                               std::to_string(f->timeoutMillis_) + " ms.";
      // Made in a statement of its own, so that the temporary, which shares its message with the copy in
      // the exception_ptr (libstdc++ counts references to it), is gone before a callback can read the copy.
      std::exception_ptr e = std::make_exception_ptr(RequestTimeoutException(what));
      complete(*f, std::nullopt, std::move(e));
    } catch (...) {
    }
    settle();
  }

  TimerService<Clock>& timers_;
  ReplyRouter<Body>& router_;
  const std::uint64_t salt_;  // the correlation ids' first half: a reply meant for an earlier holder misses
  std::string clientId_;
  ThreadPool* callbacks_ = nullptr;
  TargetHandle timerTarget_;
  bool registered_ = false;
  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable settled_;
  bool open_ = false;
  bool brokerDown_ = false;  // the broker shut down: its timers fire no more, no reply will come
  std::uint64_t lastSeq_ = 0;
  std::size_t ending_ = 0;  // requests taken out of the table whose outcome is not delivered yet
  std::unordered_map<std::uint64_t, std::shared_ptr<Future>> pending_;
};

}  // namespace ackmq::detail
