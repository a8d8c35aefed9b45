#pragma once
// ackmq: forward declarations and the default template arguments of the public class templates.

#include <string>

namespace ackmq {

struct SystemClock;
class ManualClock;

class MessageSelector;

template <class Body>
class BasicMessage;
template <class Body>
class BasicMessageExt;

template <class Body = std::string, class Clock = SystemClock>
class BasicBroker;
template <class Broker>
class BasicProducer;
template <class Broker>
class BasicPushConsumer;
template <class Broker>
class BasicSimpleConsumer;
template <class Broker>
class BasicLitePullConsumer;
template <class Broker>
class BasicTransactionMQProducer;

namespace detail {
struct BrokerAccess;
}  // namespace detail

}  // namespace ackmq
