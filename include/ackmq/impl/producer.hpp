#pragma once
// ackmq: the definitions of BasicProducer's members that reach into the broker, outside the class so that
// the separate-compilation mode can leave them to one file (see ACKMQ_DECL). Included by
// <ackmq/producer.hpp>; include that instead.

#include <ackmq/producer.hpp>

namespace ackmq {

template <class Broker>
ACKMQ_DECL void BasicProducer<Broker>::start() {
  std::lock_guard lock(lifecycle_);
  if (state_.load() == State::RUNNING) return;
  if (state_.load() == State::SHUT_DOWN) {
    throw MQClientException(ResponseCode::CLIENT_STATE_ILLEGAL,
                            "producer " + group_ + " was shut down and cannot start again");
  }
  callbacks_ = std::make_unique<detail::ThreadPool>(1, 1);
  futures_.start(detail::defaultInstanceName("producer-"), *callbacks_);
  state_.store(State::RUNNING, std::memory_order_release);
}

template <class Broker>
ACKMQ_DECL void BasicProducer<Broker>::shutdown() {
  std::unique_lock lock(lifecycle_);
  if (state_.load() == State::CREATED) {
    state_.store(State::SHUT_DOWN);
    return;
  }
  if (callbacks_ == nullptr) return;  // shut down before it ever started
  const bool fromCallback = callbacks_->onPoolThread();
  if (state_.load() == State::RUNNING) {
    state_.store(State::SHUT_DOWN, std::memory_order_release);
    // Without the lifecycle lock from here on: a callback that calls shutdown() meanwhile must be able to
    // take it, see the producer stopping, and return.
    lock.unlock();
    // Async sends that passed the state check still owe a callback: let them post it before draining.
    while (activeAsync_.load(std::memory_order_acquire) != 0)
      std::this_thread::yield();
    // Before the callback thread closes: pending async requests report their failure there.
    futures_.shutdown("producer " + group_ + " was shut down");
    callbacks_->close(/*drain=*/true);
    lock.lock();
  }
  if (fromCallback) return;  // the callback thread cannot join itself; the next joiner does
  if (joining_) {
    stoppedCv_.wait(lock, [&] { return stopped_; });
    return;
  }
  if (stopped_) return;
  joining_ = true;
  lock.unlock();
  callbacks_->shutdown(/*drain=*/true);
  lock.lock();
  stopped_ = true;
  stoppedCv_.notify_all();
}

template <class Broker>
ACKMQ_DECL SendResult BasicProducer<Broker>::send(const Message& msg) {
  return sendDefault(msg, std::chrono::milliseconds(sendMsgTimeout_));
}

template <class Broker>
ACKMQ_DECL SendResult BasicProducer<Broker>::send(const Message& msg, std::chrono::milliseconds timeout) {
  detail::checkBudget("send", timeout);
  return sendDefault(msg, timeout);
}

template <class Broker>
ACKMQ_DECL SendResult BasicProducer<Broker>::send(const Message& msg, const MessageQueue& mq) {
  Guard guard(*this);
  const detail::TopicRoute route = checkedRoute(msg);
  const int qid = checkQueue(route, msg, mq);
  return once(route, qid, msg, detail::newUniqueMessageId());
}

template <class Broker>
ACKMQ_DECL SendResult BasicProducer<Broker>::send(std::vector<Message> batch) {
  Guard guard(*this);
  detail::checkBatch(batch, limits(), core_.clock().nowMillis());
  const detail::TopicRoute route = routeFor(batch.front().getTopic());
  std::vector<detail::MessageId> ids(batch.size());
  for (auto& id : ids)
    id = detail::newUniqueMessageId();
  return withRetries(
      route, std::chrono::milliseconds(sendMsgTimeout_), 1 + retryTimesWhenSendFailed_,
      [&](int qid) { return core_.sendBatch(route, qid, batch, ids, core_.clock().nowMillis()); },
      [&](const detail::PutResult& r, int qid) { return batchResult(r, route, qid, ids); });
}

template <class Broker>
ACKMQ_DECL SendResult BasicProducer<Broker>::send(std::vector<Message> batch, const MessageQueue& mq) {
  Guard guard(*this);
  detail::checkBatch(batch, limits(), core_.clock().nowMillis());
  const detail::TopicRoute route = routeFor(batch.front().getTopic());
  const int qid = checkQueue(route, batch.front(), mq);
  std::vector<detail::MessageId> ids(batch.size());
  for (auto& id : ids)
    id = detail::newUniqueMessageId();
  const detail::PutResult r = waitingForRoom(budgetMillis(), std::chrono::milliseconds(sendMsgTimeout_), [&] {
    return core_.sendBatch(route, qid, batch, ids, core_.clock().nowMillis());
  });
  if (!r.ok()) throwFor(r, batch.front().getTopic());
  return batchResult(r, route, qid, ids);
}

template <class Broker>
ACKMQ_DECL void BasicProducer<Broker>::send(const Message& msg, SendCallback callback) {
  sendAsync(msg, std::move(callback), std::chrono::milliseconds(sendMsgTimeout_));
}

template <class Broker>
ACKMQ_DECL void BasicProducer<Broker>::send(const Message& msg, SendCallback callback,
                                            std::chrono::milliseconds timeout) {
  detail::checkBudget("send", timeout);
  sendAsync(msg, std::move(callback), timeout);
}

template <class Broker>
ACKMQ_DECL void BasicProducer<Broker>::send(const Message& msg, const MessageQueue& mq,
                                            SendCallback callback) {
  AsyncGuard guard(*this);
  const detail::TopicRoute route = checkedRoute(msg);
  const int qid = checkQueue(route, msg, mq);
  report(callback, [&] { return once(route, qid, msg, detail::newUniqueMessageId()); });
}

template <class Broker>
ACKMQ_DECL auto BasicProducer<Broker>::request(const Message& msg, std::chrono::milliseconds timeout)
    -> Message {
  return requestSync(msg, timeout, [](const detail::TopicRoute&) { return kAnyQueue; });
}

template <class Broker>
ACKMQ_DECL auto BasicProducer<Broker>::request(const Message& msg, const MessageQueue& mq,
                                               std::chrono::milliseconds timeout) -> Message {
  return requestSync(msg, timeout,
                     [&](const detail::TopicRoute& route) { return checkQueue(route, msg, mq); });
}

template <class Broker>
ACKMQ_DECL void BasicProducer<Broker>::request(const Message& msg, RequestCallback callback,
                                               std::chrono::milliseconds timeout) {
  requestAsync(msg, std::move(callback), timeout, [](const detail::TopicRoute&) { return kAnyQueue; });
}

template <class Broker>
ACKMQ_DECL void BasicProducer<Broker>::request(const Message& msg, const MessageQueue& mq,
                                               RequestCallback callback, std::chrono::milliseconds timeout) {
  requestAsync(msg, std::move(callback), timeout,
               [&](const detail::TopicRoute& route) { return checkQueue(route, msg, mq); });
}

template <class Broker>
ACKMQ_DECL void BasicProducer<Broker>::sendOneway(const Message& msg) {
  Guard guard(*this);
  const detail::TopicRoute route = checkedRoute(msg);
  onewayTo(route, selectQueue(route, -1), msg);
}

template <class Broker>
ACKMQ_DECL void BasicProducer<Broker>::sendOneway(const Message& msg, const MessageQueue& mq) {
  Guard guard(*this);
  const detail::TopicRoute route = checkedRoute(msg);
  onewayTo(route, checkQueue(route, msg, mq), msg);
}

template <class Broker>
ACKMQ_DECL detail::TopicRoute BasicProducer<Broker>::checkedRoute(const Message& msg) {
  const auto now = [this] { return core_.clock().nowMillis(); };
  const detail::TopicRef last = lastTopic_.load(std::memory_order_acquire);
  if (last && last.name() == msg.getTopic()) {
    detail::checkMessageContent(msg, limits(), now);
    return detail::TopicRoute{last, last.queueNums()};
  }
  detail::checkMessage(msg, limits(), now);
  const detail::TopicRoute route = routeFor(msg.getTopic());
  lastTopic_.store(route.topic, std::memory_order_release);
  return route;
}

template <class Broker>
ACKMQ_DECL detail::TopicRoute BasicProducer<Broker>::routeFor(const std::string& topic) {
  const detail::TopicRoute route = core_.routeTopic(topic);
  if (!route) {
    throw MQClientException(ResponseCode::NOT_FOUND_TOPIC_EXCEPTION,
                            "no route to topic \"" + topic +
                                "\": it does not exist and the broker's autoCreateTopicEnable is off");
  }
  return route;
}

template <class Broker>
ACKMQ_DECL int BasicProducer<Broker>::checkQueue(const detail::TopicRoute& route, const Message& msg,
                                                 const MessageQueue& mq) const {
  if (mq.topic != msg.getTopic()) {
    throw MQClientException(
        ResponseCode::MESSAGE_ILLEGAL,
        "message topic \"" + msg.getTopic() + "\" differs from the queue's topic \"" + mq.topic + "\"");
  }
  if (mq.brokerName != core_.brokerName()) {
    throw MQClientException(ResponseCode::NOT_FOUND_TOPIC_EXCEPTION,
                            "queue broker \"" + mq.brokerName +
                                "\" is unknown; this producer's broker is \"" + core_.brokerName() + "\"");
  }
  if (mq.queueId < 0 || mq.queueId >= route.queueNums) {
    throw MQClientException(ResponseCode::MESSAGE_ILLEGAL,
                            "queueId " + std::to_string(mq.queueId) + " is out of range 0.." +
                                std::to_string(route.queueNums - 1) + " for topic \"" + mq.topic + "\"");
  }
  return mq.queueId;
}

template <class Broker>
ACKMQ_DECL void BasicProducer<Broker>::onewayTo(const detail::TopicRoute& route, int qid,
                                                const Message& msg) {
  const detail::MessageId id = detail::newUniqueMessageId();
  (void)waitingForRoom(budgetMillis(), std::chrono::milliseconds(sendMsgTimeout_),
                       [&] { return core_.send(route, qid, msg, id, core_.clock().nowMillis()); });
}

template <class Broker>
ACKMQ_DECL SendResult BasicProducer<Broker>::once(const detail::TopicRoute& route, int qid,
                                                  const Message& msg, const detail::MessageId& id) {
  const detail::PutResult r = waitingForRoom(budgetMillis(), std::chrono::milliseconds(sendMsgTimeout_), [&] {
    return core_.send(route, qid, msg, id, core_.clock().nowMillis());
  });
  if (!r.ok()) throwFor(r, msg.getTopic());
  return result(r, route, qid, id);
}

template <class Broker>
ACKMQ_DECL SendResult BasicProducer<Broker>::sendDefault(const Message& msg,
                                                         std::chrono::milliseconds timeout) {
  Guard guard(*this);
  const detail::TopicRoute route = checkedRoute(msg);
  const detail::MessageId id = detail::newUniqueMessageId();
  return withRetries(
      route, timeout, 1 + retryTimesWhenSendFailed_,
      [&](int qid) { return core_.send(route, qid, msg, id, core_.clock().nowMillis()); },
      [&](const detail::PutResult& r, int qid) { return result(r, route, qid, id); });
}

template <class Broker>
ACKMQ_DECL void BasicProducer<Broker>::sendAsync(const Message& msg, SendCallback callback,
                                                 std::chrono::milliseconds timeout) {
  AsyncGuard guard(*this);
  const detail::TopicRoute route = checkedRoute(msg);
  const detail::MessageId id = detail::newUniqueMessageId();
  std::int64_t pendingDurable = -1;
  report(
      callback,
      [&] {
        const std::int64_t begin = budgetMillis();
        const int attempts = 1 + retryTimesWhenSendAsyncFailed_;
        int lastQueue = -1;
        detail::PutResult r;
        for (int i = 0; i < attempts; ++i) {
          if (i > 0 && budgetMillis() - begin > timeout.count()) break;
          const int qid = selectQueue(route, lastQueue);
          r = waitingForRoom(begin, timeout, [&] {
            return core_.send(route, qid, msg, id, core_.clock().nowMillis(), /*deferDurable=*/true);
          });
          lastQueue = qid;
          if (r.ok()) {
            pendingDurable = r.pendingDurable;
            return result(r, route, qid, id);
          }
          if (r.code != ResponseCode::CONNECT_BROKER_EXCEPTION) throwFor(r, msg.getTopic());
        }
        throw MQClientException(r.code, "async send to topic \"" + msg.getTopic() + "\" failed " +
                                            std::to_string(attempts) +
                                            " times; last error: " + std::string(nameOf(r.code)));
      },
      &pendingDurable);
}

template <class Broker>
ACKMQ_DECL void BasicProducer<Broker>::sendRequest(const Message& req, const detail::TopicRoute& route,
                                                   int qid, std::chrono::milliseconds timeout,
                                                   const typename Futures::Ticket& ticket) {
  try {
    const detail::MessageId id = detail::newUniqueMessageId();
    if (qid != kAnyQueue) {
      (void)once(route, qid, req, id);
      return;
    }
    (void)withRetries(
        route, timeout, 1 + retryTimesWhenSendFailed_,
        [&](int q) { return core_.send(route, q, req, id, core_.clock().nowMillis()); },
        [&](const detail::PutResult& r, int q) { return result(r, route, q, id); });
  } catch (const MQException& e) {
    // In a statement of its own, so that the temporary that shares its message with the copy is gone
    // before a callback thread can read the copy.
    std::exception_ptr failed = std::make_exception_ptr(
        MQClientException(e.getResponseCode(),
                          "send request message to " + req.getTopic() + " fail: " + std::string(e.what())));
    futures_.fail(ticket, std::move(failed));
  } catch (...) {
    futures_.fail(ticket, std::current_exception());
  }
}

template <class Broker>
ACKMQ_DECL BasicProducer<Broker>::BasicProducer(Broker& broker, std::string producerGroup)
    : core_(detail::BrokerAccess::core(broker)),
      group_(std::move(producerGroup)),
      futures_(core_.timers(), core_.replies()) {
  detail::checkGroup(group_, "producerGroup");
  std::random_device rd;
  sendWhichQueue_.store(rd());
}

template <class Broker>
ACKMQ_DECL BasicProducer<Broker>::~BasicProducer() {
  shutdown();
}

#if defined(ACKMQ_SEPARATE_COMPILATION)
extern template class BasicProducer<BasicBroker<std::string, SystemClock>>;
extern template class BasicProducer<BasicBroker<std::string, ManualClock>>;
#endif

}  // namespace ackmq
