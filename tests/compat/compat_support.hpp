#pragma once
// Set-up shared by the compat tests: a ManualClock broker bound to a name server address of its own, so that
// every test talks to a fresh broker through the rocketmq-client-cpp compatible clients, and the waits those
// tests need.

#include <ackmq/clock.hpp>
#include <ackmq/compat/broker_registry.hpp>
#include <ackmq/testing.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "MQClientException.h"
#include "MQMessageExt.h"

namespace compat_test {

/// A ManualClock broker bound to an address no other test uses, unbound again at the end of the test.
struct BoundBroker {
  BoundBroker() : address("127.0.0.1:" + std::to_string(next().fetch_add(1))) {
    ackmq::compat::bindBroker(address, broker);
  }
  ~BoundBroker() { ackmq::compat::unbindBroker(address); }
  BoundBroker(const BoundBroker&) = delete;
  BoundBroker& operator=(const BoundBroker&) = delete;

  static std::atomic<int>& next() {
    static std::atomic<int> port{20000};
    return port;
  }

  ackmq::ManualClock clock;
  ackmq::compat::ManualClockBroker broker{clock};
  std::string address;
};

/// What a listener was given, and a wait for it to have been given enough.
class Recorder {
 public:
  void add(const std::vector<rocketmq::MQMessageExt>& msgs) {
    {
      std::lock_guard lock(mutex_);
      for (const auto& m : msgs)
        messages_.push_back(m);
      ++calls_;
      batchSizes_.push_back(msgs.size());
    }
    cv_.notify_all();
  }
  /// True once at least `n` messages arrived, false after 10 s of real time.
  bool waitFor(std::size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return messages_.size() >= n; });
  }
  std::vector<rocketmq::MQMessageExt> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  std::vector<std::size_t> batchSizes() const {
    std::lock_guard lock(mutex_);
    return batchSizes_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }

 private:
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable cv_;
  std::vector<rocketmq::MQMessageExt> messages_;
  std::vector<std::size_t> batchSizes_;
  std::size_t calls_ = 0;
};

/// The type of the exception `f` throws, "none" when it throws none.
template <class F>
std::string thrownType(F&& f) {
  try {
    f();
  } catch (const rocketmq::MQBrokerException&) {
    return "MQBrokerException";
  } catch (const rocketmq::MQClientException&) {
    return "MQClientException";
  } catch (const rocketmq::MQException&) {
    return "MQException";
  } catch (...) {
    return "other";
  }
  return "none";
}

/// The what() of the client exception `f` throws, "" when none.
template <class F>
std::string thrownMessage(F&& f) {
  try {
    f();
  } catch (const rocketmq::MQException& e) {
    return e.what();
  }
  return "";
}

}  // namespace compat_test
