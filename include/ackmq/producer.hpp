#pragma once
// ackmq: the producer, and with it the first of RocketMQ's three confirmations: a sync send returns a
// SendResult once the broker has stored the message; an async send reports exactly once, later, on the
// producer's own thread; a oneway send confirms nothing. A request also waits for its reply.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <ackmq/broker.hpp>
#include <ackmq/detail/client/consumer_common.hpp>
#include <ackmq/detail/client/request_futures.hpp>
#include <ackmq/detail/client/send_rules.hpp>
#include <ackmq/detail/client/thread_pool.hpp>
#include <ackmq/detail/message_id.hpp>
#include <ackmq/detail/separate_compilation.hpp>
#include <ackmq/detail/validators.hpp>
#include <ackmq/message.hpp>
#include <ackmq/queue_selectors.hpp>
#include <ackmq/send_callback.hpp>
#include <ackmq/status.hpp>

namespace ackmq {

namespace detail {
struct ProducerAccess;
}  // namespace detail

/// A producer attached to one broker (RocketMQ DefaultMQProducer).
///
/// Sends validate the message first and throw MQClientException (MESSAGE_ILLEGAL) naming the field and the
/// rule, storing nothing. A send fixes the message's msgId (UNIQ_KEY) before the first attempt and keeps it
/// across retries.
///
/// @code
///   ackmq::Producer producer(broker, "order-producers");
///   producer.start();
///   ackmq::SendResult r = producer.send(ackmq::Message("Orders", "created", "order 42"));
/// @endcode
///
/// Thread safety: the send and request functions are thread-safe. Setters: call before start(). start() and
/// shutdown() are idempotent and thread-safe.
template <class Broker>
class BasicProducer {
 public:
  using Body = typename Broker::body_type;
  using Clock = typename Broker::clock_type;
  using Message = BasicMessage<Body>;
  using RequestCallback = BasicRequestCallback<Body>;

  /// A producer of `producerGroup` (a legal group name, else MQClientException) on `broker`.
  BasicProducer(Broker& broker, std::string producerGroup);
  BasicProducer(const BasicProducer&) = delete;
  BasicProducer& operator=(const BasicProducer&) = delete;
  /// Runs shutdown().
  ~BasicProducer();

  /// Starts the producer and its callback thread. Idempotent. Throws MQClientException after shutdown().
  void start();

  /// Stops the producer: later sends throw; async callbacks already owed are delivered first, then the
  /// callback thread is joined. Idempotent and thread-safe. From a callback it returns at once, and the
  /// callback thread stops once it has delivered what is owed; from any other thread it returns once the
  /// callback thread has stopped, whichever thread began the shutdown.
  void shutdown();

  // ---------------------------------------------------------------------------------------------- sync

  /// Sends and waits for the broker's confirmation. Retries failures RocketMQ retries (transport errors and
  /// SYSTEM_ERROR, SYSTEM_BUSY, TOPIC_NOT_EXIST, SERVICE_NOT_AVAILABLE, NO_PERMISSION, ...) up to
  /// retryTimesWhenSendFailed times on other queues, within sendMsgTimeout in total. Returns a non-OK
  /// SendStatus as is (the message is stored), unless retryAnotherBrokerWhenNotStoreOK.
  /// Throws MQBrokerException for a refusal that is not retried, MQClientException when retries or time
  /// run out (carrying the last cause's code).
  SendResult send(const Message& msg);
  /// As send(msg), within `timeout` instead of sendMsgTimeout. Throws MQClientException (MESSAGE_ILLEGAL),
  /// storing nothing, when `timeout` is not positive.
  SendResult send(const Message& msg, std::chrono::milliseconds timeout);

  /// Sends to one queue: one attempt, no retry.
  SendResult send(const Message& msg, const MessageQueue& mq);

  /// Ordered send: the selector picks the queue (SelectMessageQueueByHash keeps one key on one queue). One
  /// attempt, no retry.
  template <class Selector, class Arg>
  requires MessageQueueSelector<Selector, Body, Arg> SendResult send(const Message& msg, Selector&& selector,
                                                                     const Arg& arg) {
    Guard guard(*this);
    const detail::TopicRoute route = checkedRoute(msg);
    const MessageQueue mq = selector(core_.queuesOf(msg.getTopic()), msg, arg);
    const int qid = checkQueue(route, msg, mq);
    return once(route, qid, msg, detail::newUniqueMessageId());
  }

  /// Sends a batch to one queue of one topic: consecutive offsets, each message with its own msgId, all
  /// stored or none. Retried as send(msg). The result's getMsgId() joins the ids with commas.
  SendResult send(std::vector<Message> batch);
  /// Sends a batch to one queue: one attempt, no retry.
  SendResult send(std::vector<Message> batch, const MessageQueue& mq);

  // ---------------------------------------------------------------------------------------------- async

  /// Sends, and reports later through `callback` on the producer's callback thread: exactly one of
  /// onSuccess / onException, never inside this call. Transport failures are retried up to
  /// retryTimesWhenSendAsyncFailed times; a broker refusal is reported at once (RocketMQ
  /// MQClientAPIImpl.onExceptionImpl). The message is stored before this call returns.
  /// Throws MQClientException at once for bad input or a producer that is not running.
  void send(const Message& msg, SendCallback callback);
  /// As send(msg, callback), within `timeout`. Throws MQClientException (MESSAGE_ILLEGAL) at once, storing
  /// nothing and calling nothing, when `timeout` is not positive.
  void send(const Message& msg, SendCallback callback, std::chrono::milliseconds timeout);
  /// Async send to one queue: one attempt.
  void send(const Message& msg, const MessageQueue& mq, SendCallback callback);
  /// Async ordered send: one attempt.
  template <class Selector, class Arg>
  requires MessageQueueSelector<Selector, Body, Arg>
  void send(const Message& msg, Selector&& selector, const Arg& arg, SendCallback callback) {
    AsyncGuard guard(*this);
    const detail::TopicRoute route = checkedRoute(msg);
    const MessageQueue mq = selector(core_.queuesOf(msg.getTopic()), msg, arg);
    const int qid = checkQueue(route, msg, mq);
    report(callback, [&] { return once(route, qid, msg, detail::newUniqueMessageId()); });
  }

  // ---------------------------------------------------------------------------------------------- request

  /// Sends `msg` as a request and waits for the reply a responder builds with
  /// MessageUtil::createReplyMessage and sends back (RocketMQ DefaultMQProducer.request). The request
  /// carries CORRELATION_ID, REPLY_TO_CLIENT (this producer) and TTL (`timeout` in ms); it is sent as
  /// send(msg) would, with retries, within `timeout`. `timeout` runs on the broker's clock: a ManualClock
  /// advanced past it (from any thread) ends the wait.
  /// Throws RequestTimeoutException when no reply came in time; MQClientException for bad input (a timeout
  /// that is not positive included), a failed send, or a producer or broker not running or shut down while
  /// the request waited. Thread-safe; many requests may wait at once, each woken by its own reply.
  Message request(const Message& msg, std::chrono::milliseconds timeout);
  /// As request(msg, timeout), to the queue the selector picks; one attempt, no retry.
  template <class Selector, class Arg>
  requires MessageQueueSelector<Selector, Body, Arg> Message request(const Message& msg, Selector&& selector,
                                                                     const Arg& arg,
                                                                     std::chrono::milliseconds timeout) {
    return requestSync(msg, timeout, [&](const detail::TopicRoute& route) {
      return checkQueue(route, msg, selector(core_.queuesOf(msg.getTopic()), msg, arg));
    });
  }
  /// As request(msg, timeout), to one queue; one attempt, no retry.
  Message request(const Message& msg, const MessageQueue& mq, std::chrono::milliseconds timeout);

  /// Async request: as request(msg, timeout), but returns once the request is sent, and reports through
  /// `callback` on the producer's callback thread, exactly once and never inside this call: onSuccess with
  /// the reply, or onException (RequestTimeoutException; MQClientException when the send failed or the
  /// producer or broker shut down first). Throws MQClientException at once, calling nothing, for bad input,
  /// a producer that is not running or a broker shut down.
  void request(const Message& msg, RequestCallback callback, std::chrono::milliseconds timeout);
  /// Async request to the queue the selector picks; one attempt.
  template <class Selector, class Arg>
  requires MessageQueueSelector<Selector, Body, Arg>
  void request(const Message& msg, Selector&& selector, const Arg& arg, RequestCallback callback,
               std::chrono::milliseconds timeout) {
    requestAsync(msg, std::move(callback), timeout, [&](const detail::TopicRoute& route) {
      return checkQueue(route, msg, selector(core_.queuesOf(msg.getTopic()), msg, arg));
    });
  }
  /// Async request to one queue; one attempt.
  void request(const Message& msg, const MessageQueue& mq, RequestCallback callback,
               std::chrono::milliseconds timeout);

  // ---------------------------------------------------------------------------------------------- oneway

  /// Sends once and reports nothing: no result, no retry, no error but bad input (thrown at once).
  void sendOneway(const Message& msg);
  void sendOneway(const Message& msg, const MessageQueue& mq);
  template <class Selector, class Arg>
  requires MessageQueueSelector<Selector, Body, Arg>
  void sendOneway(const Message& msg, Selector&& selector, const Arg& arg) {
    Guard guard(*this);
    const detail::TopicRoute route = checkedRoute(msg);
    const MessageQueue mq = selector(core_.queuesOf(msg.getTopic()), msg, arg);
    onewayTo(route, checkQueue(route, msg, mq), msg);
  }

  // ---------------------------------------------------------------------------------------------- settings

  const std::string& getProducerGroup() const noexcept { return group_; }
  /// Total time budget of one send across all attempts, ms (3000). Positive.
  void setSendMsgTimeout(int millis) {
    if (millis <= 0) bad("setSendMsgTimeout", millis, "must be positive");
    sendMsgTimeout_ = millis;
  }
  int getSendMsgTimeout() const noexcept { return sendMsgTimeout_; }
  /// Extra attempts of a failed sync send (2). 0..15.
  void setRetryTimesWhenSendFailed(int times) {
    if (times < 0 || times > 15) bad("setRetryTimesWhenSendFailed", times, "is out of range 0..15");
    retryTimesWhenSendFailed_ = times;
  }
  int getRetryTimesWhenSendFailed() const noexcept { return retryTimesWhenSendFailed_; }
  /// Extra attempts of an async send after a transport failure (2). 0..15.
  void setRetryTimesWhenSendAsyncFailed(int times) {
    if (times < 0 || times > 15) bad("setRetryTimesWhenSendAsyncFailed", times, "is out of range 0..15");
    retryTimesWhenSendAsyncFailed_ = times;
  }
  int getRetryTimesWhenSendAsyncFailed() const noexcept { return retryTimesWhenSendAsyncFailed_; }
  /// Retry a send whose SendStatus is not SEND_OK (false): the retry stores a second copy.
  void setRetryAnotherBrokerWhenNotStoreOK(bool retry) noexcept { retryAnotherBrokerWhenNotStoreOK_ = retry; }
  bool isRetryAnotherBrokerWhenNotStoreOK() const noexcept { return retryAnotherBrokerWhenNotStoreOK_; }
  /// Largest body this producer sends, bytes (4 MiB). The broker's maxMessageSize applies too.
  void setMaxMessageSize(int bytes) {
    if (bytes <= 0) bad("setMaxMessageSize", bytes, "must be positive");
    maxMessageSize_ = static_cast<std::size_t>(bytes);
  }
  int getMaxMessageSize() const noexcept { return static_cast<int>(maxMessageSize_); }

 private:
  friend struct detail::ProducerAccess;
  // A transactional producer is a producer that sends its half messages through the same route, queue
  // selection and retries.
  template <class>
  friend class BasicTransactionMQProducer;

  enum class State { CREATED, RUNNING, SHUT_DOWN };
  using Futures = detail::RequestFutureHolder<Body, Clock>;

  // Holds the producer in the running state for the length of one call.
  struct Guard {
    explicit Guard(const BasicProducer& p) {
      if (p.state_.load(std::memory_order_acquire) != State::RUNNING) p.notRunning();
    }
  };
  // For async sends: also counts the call, so shutdown() waits for its callback to be posted.
  struct AsyncGuard {
    explicit AsyncGuard(BasicProducer& p) : p_(p) {
      p_.activeAsync_.fetch_add(1, std::memory_order_acq_rel);
      if (p_.state_.load(std::memory_order_acquire) != State::RUNNING) {
        p_.activeAsync_.fetch_sub(1, std::memory_order_acq_rel);
        p_.notRunning();
      }
    }
    ~AsyncGuard() { p_.activeAsync_.fetch_sub(1, std::memory_order_acq_rel); }
    AsyncGuard(const AsyncGuard&) = delete;
    AsyncGuard& operator=(const AsyncGuard&) = delete;
    BasicProducer& p_;
  };

  [[noreturn]] void notRunning() const {
    const bool before = state_.load() == State::CREATED;
    throw MQClientException(
        ResponseCode::CLIENT_STATE_ILLEGAL,
        "producer " + group_ +
            (before ? " is not started: call start() before sending" : " is shut down: it sends no more"));
  }
  [[noreturn]] static void bad(std::string_view setter, int value, std::string_view rule) {
    throw MQClientException(ResponseCode::MESSAGE_ILLEGAL,
                            std::string(setter) + ": " + std::to_string(value) + " " + std::string(rule));
  }

  // The clock that the sendMsgTimeout budget is measured on: a coarse steady read where the clock has one.
  std::int64_t budgetMillis() const noexcept { return detail::coarseSteadyMillis(core_.clock()); }

  detail::MessageLimits limits() const noexcept {
    detail::MessageLimits l = core_.messageLimits();
    l.maxMessageSize = std::min(l.maxMessageSize, maxMessageSize_);
    return l;
  }
  // Checks the message and finds its topic's route. The topic last routed is remembered (RocketMQ's
  // producer caches routes in topicPublishInfoTable): a message to it skips the name check, which that topic
  // passed already, and the broker's topic table. Topics are never removed, so the entry stays valid; its
  // queue count is read afresh, since a topic may grow.
  detail::TopicRoute checkedRoute(const Message& msg);

  detail::TopicRoute routeFor(const std::string& topic);

  int checkQueue(const detail::TopicRoute& route, const Message& msg, const MessageQueue& mq) const;

  // Round-robin from a randomly seeded index, skipping the queue of the previous failed attempt
  // (RocketMQ MQFaultStrategy.selectOneMessageQueue with one broker). RocketMQ keeps the index per thread
  // (ThreadLocalIndex), so senders on several threads rotate independently; here it is one per producer,
  // advanced with a plain load and store rather than a locked add: senders racing on it may take the same
  // queue now and then, which only perturbs the rotation, as RocketMQ's per-thread indexes do.
  int selectQueue(const detail::TopicRoute& route, int lastFailed) noexcept {
    const int n = route.queueNums;
    const auto idx = sendWhichQueue_.load(std::memory_order_relaxed);
    sendWhichQueue_.store(idx + 1, std::memory_order_relaxed);
    int qid = static_cast<int>(idx % static_cast<std::uint32_t>(n));
    if (qid == lastFailed && n > 1) qid = (qid + 1) % n;
    return qid;
  }

  SendResult result(const detail::PutResult& r, const detail::TopicRoute& route, int qid,
                    const detail::MessageId& id) const {
    return SendResult(r.status, id, detail::makeOffsetMessageId(core_.identity(), r.commitLogOffset),
                      route.topic.name(), core_.brokerName(), qid, r.queueOffset);
  }
  SendResult batchResult(const detail::PutResult& r, const detail::TopicRoute& route, int qid,
                         const std::vector<detail::MessageId>& ids) const {
    SendResult s = result(r, route, qid, ids.front());
    s.setBatchIds(std::vector<detail::MessageId>(ids.begin() + 1, ids.end()));
    return s;
  }

  [[noreturn]] static void throwFor(const detail::PutResult& r, const std::string& topic) {
    const std::string what = "send to topic \"" + topic + "\" failed: " + std::string(nameOf(r.code)) +
                             (r.remark.empty() ? "" : " (" + r.remark + ")");
    if (r.code == ResponseCode::CONNECT_BROKER_EXCEPTION) throw MQClientException(r.code, what);
    throw MQBrokerException(r.code, what);
  }

  // A oneway send: no answer, but a full store slows it down as it does the other sends.
  void onewayTo(const detail::TopicRoute& route, int qid, const Message& msg);

  // StoreFullPolicy::WAIT: while the store is full of unconsumed messages, `attempt` is made again each
  // time a consumer commits (or after a short slice), until `timeout` from `begin` passes on the budget's
  // clock, the producer stops, or the answer changes. Holds no lock while it waits. A result still marked
  // storeFull means the budget ran out; its remark says how long the send waited.
  template <class Attempt>
  detail::PutResult waitingForRoom(std::int64_t begin, std::chrono::milliseconds timeout, Attempt&& attempt) {
    detail::PutResult r = attempt();
    if (!r.storeFull || !core_.waitsForRoom()) return r;
    while (r.storeFull && budgetMillis() - begin < timeout.count() && state_.load() == State::RUNNING) {
      core_.awaitRoom();
      r = attempt();
    }
    if (r.storeFull) {
      r.remark += "; the send waited " + std::to_string(budgetMillis() - begin) +
                  " ms for consumers to free room (StoreFullPolicy::WAIT, budget " +
                  std::to_string(timeout.count()) + " ms)";
    }
    return r;
  }
  static std::string failure(const std::string& topic, const detail::PutResult& r) {
    return "send to topic \"" + topic + "\" failed: " + std::string(nameOf(r.code)) +
           (r.remark.empty() ? "" : " (" + r.remark + ")");
  }

  // One attempt, no retry.
  SendResult once(const detail::TopicRoute& route, int qid, const Message& msg, const detail::MessageId& id);

  SendResult sendDefault(const Message& msg, std::chrono::milliseconds timeout);

  // RocketMQ DefaultMQProducerImpl.sendDefaultImpl: attempts on different queues within one time budget.
  template <class Attempt, class Make>
  SendResult withRetries(const detail::TopicRoute& route, std::chrono::milliseconds timeout, int attempts,
                         Attempt&& attempt, Make&& make) {
    const std::int64_t begin = budgetMillis();
    detail::PutResult last;
    int lastQueue = -1;
    bool haveLast = false;
    for (int i = 0; i < attempts; ++i) {
      if (i > 0 && budgetMillis() - begin > timeout.count()) break;
      const int qid = selectQueue(route, lastQueue);
      detail::PutResult r = waitingForRoom(begin, timeout, [&] { return attempt(qid); });
      if (r.storeFull && core_.waitsForRoom())
        throw MQClientException(r.code, failure(route.topic.name(), r));
      const std::int64_t after = budgetMillis() - begin;
      if (r.ok() && after > timeout.count()) {
        // The broker stored it, but too late: the sender has given up on this attempt (a remoting timeout).
        r.code = ResponseCode::ACCESS_BROKER_TIMEOUT;
        r.remark = "the broker answered after " + std::to_string(after) + " ms, past sendMsgTimeout " +
                   std::to_string(timeout.count()) + " ms";
      }
      lastQueue = qid;
      if (r.ok()) {
        if (r.status != SendStatus::SEND_OK && retryAnotherBrokerWhenNotStoreOK_ && i + 1 < attempts) {
          last = std::move(r);
          haveLast = true;
          continue;
        }
        return make(r, qid);
      }
      if (!detail::retryableSendFailure(r.code) && r.code != ResponseCode::ACCESS_BROKER_TIMEOUT) {
        throwFor(r, route.topic.name());
      }
      last = std::move(r);
      haveLast = true;
    }
    const std::int64_t spent = budgetMillis() - begin;
    if (haveLast && last.ok()) return make(last, lastQueue);
    if (spent > timeout.count() || last.code == ResponseCode::ACCESS_BROKER_TIMEOUT) {
      throw MQClientException(ResponseCode::REQUEST_TIMEOUT_EXCEPTION,
                              "send to topic \"" + route.topic.name() + "\" timed out after " +
                                  std::to_string(spent) + " ms (sendMsgTimeout " +
                                  std::to_string(timeout.count()) + " ms)" +
                                  (haveLast ? "; last error: " + std::string(nameOf(last.code)) : ""));
    }
    throw MQClientException(last.code, "send to topic \"" + route.topic.name() + "\" failed " +
                                           std::to_string(attempts) +
                                           " times; last error: " + std::string(nameOf(last.code)) +
                                           (last.remark.empty() ? "" : " (" + last.remark + ")"));
  }

  void sendAsync(const Message& msg, SendCallback callback, std::chrono::milliseconds timeout);

  static constexpr int kAnyQueue = -1;  // a request's queue left to the producer's rotation, with retries

  // Sends a prepared request to `qid`, once, or (kAnyQueue) with retries within `timeout`. A failure ends
  // the request with MQClientException("send request message to <topic> fail", as RocketMQ words it).
  void sendRequest(const Message& req, const detail::TopicRoute& route, int qid,
                   std::chrono::milliseconds timeout, const typename Futures::Ticket& ticket);

  template <class Pick>
  Message requestSync(const Message& msg, std::chrono::milliseconds timeout, Pick&& pick) {
    detail::checkBudget("request", timeout);
    typename Futures::Ticket ticket;
    {
      Guard guard(*this);
      const detail::TopicRoute route = checkedRoute(msg);
      const int qid = pick(route);
      ticket = futures_.open(msg.getTopic(), timeout.count());
      sendRequest(futures_.requestFor(msg, *ticket), route, qid, timeout, ticket);
    }
    return futures_.wait(ticket);
  }

  template <class Pick>
  void requestAsync(const Message& msg, RequestCallback callback, std::chrono::milliseconds timeout,
                    Pick&& pick) {
    detail::checkBudget("request", timeout);
    AsyncGuard guard(*this);
    const detail::TopicRoute route = checkedRoute(msg);
    const int qid = pick(route);
    const auto ticket = futures_.open(msg.getTopic(), timeout.count(), std::move(callback.onSuccess),
                                      std::move(callback.onException));
    sendRequest(futures_.requestFor(msg, *ticket), route, qid, timeout, ticket);
  }

  // Runs `op` now and posts its outcome to the callback thread. `pendingDurable` (set by `op`): the
  // message is stored, and its status waits for a SYNC_FLUSH flush; the callback is posted once the broker
  // has it, the send counted as in flight until then (shutdown() waits for it).
  template <class Op>
  void report(SendCallback& callback, Op&& op, const std::int64_t* pendingDurable = nullptr) {
    std::function<void()> task;
    try {
      SendResult r = op();
      if (pendingDurable != nullptr && *pendingDurable >= 0) {
        activeAsync_.fetch_add(1, std::memory_order_acq_rel);
        core_.whenDurable(*pendingDurable,
                          [this, cb = std::move(callback.onSuccess), r](SendStatus s) mutable {
                            r.setSendStatus(s);
                            callbacks_->submit([cb = std::move(cb), r] {
                              if (!cb) return;
                              try {
                                cb(r);
                              } catch (...) {
                              }
                            });
                            activeAsync_.fetch_sub(1, std::memory_order_acq_rel);
                          });
        return;
      }
      task = [cb = std::move(callback.onSuccess), r = std::move(r)] {
        if (!cb) return;
        try {
          cb(r);
        } catch (...) {
        }
      };
    } catch (...) {
      task = [cb = std::move(callback.onException), e = std::current_exception()] {
        if (!cb) return;
        try {
          cb(e);
        } catch (...) {
        }
      };
    }
    callbacks_->submit(std::move(task));
  }

  detail::BrokerCore<Body, Clock>& core_;
  const std::string group_;
  std::atomic<State> state_{State::CREATED};
  std::atomic<int> activeAsync_{0};
  // Written on every send, on a cache line of its own: another object's fields (a consumer answering on
  // another thread, say) cannot share it.
  alignas(detail::kCacheLine) std::atomic<std::uint32_t> sendWhichQueue_{0};
  std::atomic<detail::TopicRef> lastTopic_{};  // see checkedRoute
  std::mutex lifecycle_;  // serialises start() and shutdown(); guards joining_ and stopped_
  std::condition_variable stoppedCv_;
  bool joining_ = false;  // a shutdown() is joining the callback thread
  bool stopped_ = false;  // it has joined it
  std::unique_ptr<detail::ThreadPool> callbacks_;
  Futures futures_;  // the requests waiting for their replies
  int sendMsgTimeout_ = 3000;
  int retryTimesWhenSendFailed_ = 2;
  int retryTimesWhenSendAsyncFailed_ = 2;
  bool retryAnotherBrokerWhenNotStoreOK_ = false;
  std::size_t maxMessageSize_ = 4 * 1024 * 1024;
};

using Producer = BasicProducer<Broker>;

namespace detail {
/// How <ackmq/testing.hpp> reaches a producer's state.
struct ProducerAccess {
  template <class Broker>
  static std::size_t pendingRequests(const BasicProducer<Broker>& p) {
    return p.futures_.pendingCount();
  }
};
}  // namespace detail

}  // namespace ackmq

// The members that reach into the broker, defined outside the class (see ACKMQ_DECL).
#include <ackmq/impl/producer.hpp>
