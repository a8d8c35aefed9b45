#pragma once
// ackmq: the brokers behind the rocketmq-client-cpp compatible headers (<ackmq/compat/rocketmq/*.h>). A
// client's name server address names a broker of this process: every client that names the same address
// talks to the same broker, created with default settings on first use, unless a test bound its own first.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <ackmq/broker.hpp>
#include <ackmq/clock.hpp>
#include <ackmq/status.hpp>

namespace ackmq::compat {

/// The broker kinds the compatible clients can talk to: RocketMQ's bodies are bytes, so std::string bodies,
/// on the system clock (an application) or on a ManualClock (a test).
using SystemBroker = BasicBroker<std::string, SystemClock>;
using ManualClockBroker = BasicBroker<std::string, ManualClock>;

/// A broker a compatible client is attached to. A broker the registry created itself is kept alive by every
/// reference to it (a client holds one while it runs), so unbindBroker never pulls it from under a client; a
/// bound broker belongs to the test that bound it, which must keep it alive until the clients attached to it
/// are shut down.
///
/// Thread safety: a regular value type (thread-compatible).
class BrokerRef {
 public:
  BrokerRef(SystemBroker* broker, std::shared_ptr<void> owner) : broker_(broker), owner_(std::move(owner)) {}
  explicit BrokerRef(ManualClockBroker* broker) : broker_(broker) {}

  /// The broker, when it runs on the system clock; null otherwise.
  SystemBroker* system() const noexcept {
    auto* const* b = std::get_if<SystemBroker*>(&broker_);
    return b != nullptr ? *b : nullptr;
  }
  /// The broker, when it runs on a ManualClock; null otherwise.
  ManualClockBroker* manual() const noexcept {
    auto* const* b = std::get_if<ManualClockBroker*>(&broker_);
    return b != nullptr ? *b : nullptr;
  }

 private:
  std::variant<SystemBroker*, ManualClockBroker*> broker_;
  std::shared_ptr<void> owner_;
};

namespace detail {

/// A client's backend for the broker `ref` names: Backend<SystemBroker> or Backend<ManualClockBroker>, built
/// as Backend(ref, broker, args...), so that it holds `ref` (and with it a created broker) while it lives.
template <class Base, template <class> class Backend, class... Args>
std::shared_ptr<Base> makeBackend(const BrokerRef& ref, Args&&... args) {
  if (SystemBroker* broker = ref.system()) {
    return std::make_shared<Backend<SystemBroker>>(ref, *broker, std::forward<Args>(args)...);
  }
  return std::make_shared<Backend<ManualClockBroker>>(ref, *ref.manual(), std::forward<Args>(args)...);
}

// The process-wide address -> broker table.
class BrokerRegistry {
 public:
  static BrokerRegistry& instance() {
    static BrokerRegistry registry;
    return registry;
  }

  template <class B>
  void bind(std::string address, B& broker) {
    checkAddress(address, "bindBroker");
    std::lock_guard lock(mutex_);
    brokers_.insert_or_assign(std::move(address), Entry{&broker, nullptr});
  }

  bool unbind(std::string_view address) {
    std::lock_guard lock(mutex_);
    auto it = brokers_.find(address);
    if (it == brokers_.end()) return false;
    brokers_.erase(it);
    return true;
  }

  BrokerRef find(const std::string& address) {
    checkAddress(address, "start");
    std::lock_guard lock(mutex_);
    auto it = brokers_.find(address);
    if (it == brokers_.end()) {
      auto owned = std::make_shared<SystemBroker>();
      it = brokers_.emplace(address, Entry{owned.get(), owned}).first;
    }
    const Entry& e = it->second;
    if (auto* system = std::get_if<SystemBroker*>(&e.broker)) return BrokerRef(*system, e.owner);
    return BrokerRef(std::get<ManualClockBroker*>(e.broker));
  }

 private:
  struct Entry {
    std::variant<SystemBroker*, ManualClockBroker*> broker;
    std::shared_ptr<SystemBroker> owner;  // set when the registry created the broker
  };

  static void checkAddress(const std::string& address, std::string_view what) {
    if (address.find_first_not_of(" \t") == std::string::npos) {
      throw MQClientException(ResponseCode::CLIENT_STATE_ILLEGAL,
                              std::string(what) +
                                  ": no name server address: call setNamesrvAddr (or setNamesrvDomain, or "
                                  "set NAMESRV_ADDR) first; the address names the in-process broker");
    }
  }

  std::mutex mutex_;  // guards brokers_
  std::map<std::string, Entry, std::less<>> brokers_;
};

}  // namespace detail

/// Makes `namesrvAddr` name `broker` for every compatible client that starts after this call (those already
/// started keep the broker they found). A later bind of the same address replaces this one. `broker` must
/// outlive the clients attached to it. Throws MQClientException for a blank address. Thread-safe.
inline void bindBroker(std::string namesrvAddr, SystemBroker& broker) {
  detail::BrokerRegistry::instance().bind(std::move(namesrvAddr), broker);
}
/// The same for a broker on a ManualClock: the retry ladder, delays and the orderly local retry of the
/// clients attached to it follow that clock.
inline void bindBroker(std::string namesrvAddr, ManualClockBroker& broker) {
  detail::BrokerRegistry::instance().bind(std::move(namesrvAddr), broker);
}
/// Forgets what `namesrvAddr` names, bound or created; true if it named a broker. A created broker lives on
/// while clients still use it. The next client to start with that address gets a new default broker.
/// Thread-safe.
inline bool unbindBroker(std::string_view namesrvAddr) {
  return detail::BrokerRegistry::instance().unbind(namesrvAddr);
}
/// The broker `namesrvAddr` names, created with default settings if none is bound. Throws MQClientException
/// for a blank address. Thread-safe.
inline BrokerRef brokerFor(const std::string& namesrvAddr) {
  return detail::BrokerRegistry::instance().find(namesrvAddr);
}

}  // namespace ackmq::compat
