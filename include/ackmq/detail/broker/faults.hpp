#pragma once
// ackmq internals: fault injection. Armed through <ackmq/testing.hpp>; consumed by the broker's request
// paths.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

#include <ackmq/status.hpp>

namespace ackmq::detail {

/// Thread safety: thread-safe. The common case (nothing armed) costs one relaxed load.
class FaultState {
 public:
  enum class SendFaultKind { NONE, LOSE, FAIL, DEGRADE };
  struct SendFault {
    SendFaultKind kind = SendFaultKind::NONE;
    ResponseCode code = ResponseCode::SUCCESS;
    SendStatus status = SendStatus::SEND_OK;
  };

  void loseNextSends(int n) {
    arm([&] { lose_ += n; });
  }
  void failNextSends(int n, ResponseCode code) {
    arm([&] {
      fail_ += n;
      failCode_ = code;
    });
  }
  void degradeNextSends(int n, SendStatus status) {
    arm([&] {
      degrade_ += n;
      degradeStatus_ = status;
    });
  }
  /// The next `n` send-backs fail; with `fallbackToo`, so does the consumer's fallback retry message for
  /// each.
  void failNextSendBacks(int n, bool fallbackToo) {
    arm([&] {
      sendBacks_ += n;
      if (fallbackToo) fallbacksOwed_ += n;
    });
  }
  void slowNextSends(int n, std::int64_t millis) {
    arm([&] {
      slow_ += n;
      slowMillis_ = millis;
    });
  }

  /// How long the next send request takes before the broker handles it (0: no delay injected).
  std::int64_t takeSlowness() {
    if (!armed_.load(std::memory_order_acquire)) return 0;
    std::lock_guard lock(mutex_);
    std::int64_t ms = 0;
    if (slow_ > 0) {
      --slow_;
      ms = slowMillis_;
    }
    rearm();
    return ms;
  }

  /// Takes the fault the next send request meets, if any.
  SendFault takeSendFault() {
    if (!armed_.load(std::memory_order_acquire)) return {};
    std::lock_guard lock(mutex_);
    SendFault f;
    if (lose_ > 0) {
      --lose_;
      f.kind = SendFaultKind::LOSE;
    } else if (fail_ > 0) {
      --fail_;
      f.kind = SendFaultKind::FAIL;
      f.code = failCode_;
    } else if (degrade_ > 0) {
      --degrade_;
      f.kind = SendFaultKind::DEGRADE;
      f.status = degradeStatus_;
    }
    rearm();
    return f;
  }

  /// True when the next consumer send-back must fail.
  bool takeSendBackFault() {
    if (!armed_.load(std::memory_order_acquire)) return false;
    std::lock_guard lock(mutex_);
    const bool hit = sendBacks_ > 0;
    if (hit) {
      --sendBacks_;
      if (fallbacksOwed_ > 0) {
        --fallbacksOwed_;
        ++fallbacks_;
      }
    }
    rearm();
    return hit;
  }

  /// True when the consumer's fallback retry message for a failed send-back must fail too.
  bool takeRetryFallbackFault() {
    if (!armed_.load(std::memory_order_acquire)) return false;
    std::lock_guard lock(mutex_);
    const bool hit = fallbacks_ > 0;
    if (hit) --fallbacks_;
    rearm();
    return hit;
  }

 private:
  template <class F>
  void arm(F&& f) {
    std::lock_guard lock(mutex_);
    f();
    rearm();
  }
  void rearm() {
    armed_.store(lose_ + fail_ + degrade_ + sendBacks_ + fallbacks_ + fallbacksOwed_ + slow_ > 0,
                 std::memory_order_release);
  }

  std::atomic<bool> armed_{false};
  std::mutex mutex_;  // guards the counters below
  int lose_ = 0;
  int fail_ = 0;
  int degrade_ = 0;
  int sendBacks_ = 0;
  int fallbacksOwed_ = 0;  // send-back faults whose fallback must fail too, not yet taken
  int fallbacks_ = 0;      // fallbacks that must fail
  int slow_ = 0;
  std::int64_t slowMillis_ = 0;
  ResponseCode failCode_ = ResponseCode::SYSTEM_BUSY;
  SendStatus degradeStatus_ = SendStatus::FLUSH_DISK_TIMEOUT;
};

/// An injected slow request: the broker's clock moves on before the request is handled (a ManualClock is
/// advanced; the system clock is waited out).
template <class Clock>
void elapseInjected(Clock& clock, std::int64_t millis) {
  if (millis <= 0) return;
  if constexpr (Clock::isManual) {
    clock.advance(std::chrono::milliseconds(millis));
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(millis));
  }
}

}  // namespace ackmq::detail
