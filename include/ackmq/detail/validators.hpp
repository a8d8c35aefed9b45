#pragma once
// ackmq internals: input checks shared by the clients and the broker (RocketMQ Validators, TopicValidator).
// Every check throws MQClientException naming the field and the rule, before anything is stored.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <ackmq/detail/body_traits.hpp>
#include <ackmq/message.hpp>
#include <ackmq/status.hpp>

namespace ackmq::detail {

inline constexpr std::size_t kMaxTopicLength = 127;  // RocketMQ TopicValidator.TOPIC_MAX_LENGTH
inline constexpr std::size_t kMaxGroupLength = 120;  // RocketMQ Validators.CHARACTER_MAX_LENGTH (groups)

[[noreturn]] inline void illegal(ResponseCode code, const std::string& what) {
  throw MQClientException(code, what);
}

inline bool isNameChar(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '%' || c == '|' ||
         c == '_' || c == '-';
}

/// Checks a name made of RocketMQ's topic/group characters [%|a-zA-Z0-9_-].
inline void checkName(std::string_view field, std::string_view name, std::size_t maxLength,
                      ResponseCode code) {
  if (name.empty()) illegal(code, std::string(field) + " must not be empty");
  if (name.size() > maxLength) {
    illegal(code, std::string(field) + " \"" + std::string(name) + "\" is " + std::to_string(name.size()) +
                      " characters long; the limit is " + std::to_string(maxLength));
  }
  for (char c : name) {
    if (!isNameChar(c)) {
      illegal(code, std::string(field) + " \"" + std::string(name) + "\" contains the character '" +
                        std::string(1, c) + "'; only letters, digits, '%', '|', '_' and '-' are allowed");
    }
  }
}

/// A topic an application may send to or create: a legal name that is not a system topic.
inline void checkTopic(std::string_view topic, std::string_view field = "topic") {
  checkName(field, topic, kMaxTopicLength, ResponseCode::MESSAGE_ILLEGAL);
  if (MixAll::isSystemTopic(topic)) {
    illegal(ResponseCode::MESSAGE_ILLEGAL, std::string(field) + " \"" + std::string(topic) +
                                               "\" is a system topic; applications may not send to it");
  }
}

inline void checkGroup(std::string_view group, std::string_view field) {
  checkName(field, group, kMaxGroupLength, ResponseCode::MESSAGE_ILLEGAL);
}

inline constexpr std::size_t kMaxInstanceNameLength = 255;

/// Checks a consumer's instance name (its client id): the name characters, and also '#', '@', '.' and ':',
/// so that the default ("<pid>#<sequence>") and RocketMQ's client ids ("10.0.0.1@1234") are accepted.
inline void checkInstanceName(std::string_view name) {
  constexpr std::string_view field = "setInstanceName";
  if (name.empty())
    illegal(ResponseCode::MESSAGE_ILLEGAL, std::string(field) + ": the name must not be empty");
  if (name.size() > kMaxInstanceNameLength) {
    illegal(ResponseCode::MESSAGE_ILLEGAL, std::string(field) + ": \"" + std::string(name.substr(0, 64)) +
                                               "...\" is " + std::to_string(name.size()) +
                                               " characters long; the limit is " +
                                               std::to_string(kMaxInstanceNameLength));
  }
  for (char c : name) {
    if (!isNameChar(c) && c != '#' && c != '@' && c != '.' && c != ':') {
      illegal(ResponseCode::MESSAGE_ILLEGAL, std::string(field) + ": \"" + std::string(name) +
                                                 "\" contains the character '" + std::string(1, c) +
                                                 "'; only letters, digits and '%|_-#@.:' are allowed");
    }
  }
}

/// Limits a message is checked against.
struct MessageLimits {
  std::size_t maxMessageSize;
  int maxDelayLevel;
  std::int64_t timerMaxDelayMillis;
};

/// Checks everything about one message but its topic and route (RocketMQ Validators.checkMessage, plus the
/// delay checks of HookUtils and the timer message rules). `now()` gives the clock's time; it is read only
/// for a message with a deliver time, so that the common send does not pay for a clock read it does not need.
template <class Body, class Now>
requires std::is_invocable_r_v<std::int64_t, Now&>
void checkMessageContent(const BasicMessage<Body>& msg, const MessageLimits& limits, Now&& now) {
  if constexpr (SizedBody<Body>) {
    const std::size_t size = static_cast<std::size_t>(msg.getBody().size());
    if (size == 0) illegal(ResponseCode::MESSAGE_ILLEGAL, "message body must not be empty");
    if (size > limits.maxMessageSize) {
      illegal(ResponseCode::MESSAGE_ILLEGAL, "message body is " + std::to_string(size) +
                                                 " bytes; maxMessageSize is " +
                                                 std::to_string(limits.maxMessageSize));
    }
  }
  const auto& props = msg.getProperties();
  if (props.empty() && msg.getTags().size() <= kMaxPropertiesBytes) return;  // nothing more to check
  std::size_t propBytes = msg.getTags().size();
  bool libraryNames = false;
  for (const auto& [k, v] : props) {
    if (k.size() > 0xFFFF || v.size() > 0xFFFF) {
      illegal(ResponseCode::MESSAGE_ILLEGAL, "message property \"" + k.substr(0, 64) + "\" is too long");
    }
    propBytes += 4 + k.size() + v.size();
    libraryNames = libraryNames || MessageConst::mayBeLibraryName(k);
  }
  if (propBytes > kMaxPropertiesBytes) {
    illegal(ResponseCode::MESSAGE_ILLEGAL, "message tags and properties take " + std::to_string(propBytes) +
                                               " bytes; the limit is " + std::to_string(kMaxPropertiesBytes));
  }
  if (!libraryNames) return;  // no delay or timer property to check
  if (auto it = props.find(MessageConst::PROPERTY_DELAY_TIME_LEVEL); it != props.end()) {
    const std::int64_t level = parseInt64(it->second, -1);
    if (level < 1 || level > limits.maxDelayLevel) {
      illegal(ResponseCode::MESSAGE_ILLEGAL, "message delayTimeLevel " + it->second + " is out of range 1.." +
                                                 std::to_string(limits.maxDelayLevel));
    }
  }
  const std::int64_t maxDelay = limits.timerMaxDelayMillis;
  // The sign first: the delay in ms is computed only from a value that cannot overflow doing so.
  auto checkDelay = [&](std::string_view name, std::int64_t raw, auto&& millisOf) {
    if (raw < 0)
      illegal(ResponseCode::MESSAGE_ILLEGAL, "message " + std::string(name) + " must not be negative");
    const std::int64_t millis = millisOf(raw);
    if (millis > maxDelay) {
      illegal(ResponseCode::MESSAGE_ILLEGAL, "message " + std::string(name) + " asks for a delay of " +
                                                 std::to_string(millis) + " ms; timerMaxDelay is " +
                                                 std::to_string(maxDelay) + " ms");
    }
  };
  if (props.contains(MessageConst::PROPERTY_TIMER_DELIVER_MS)) {
    checkDelay("deliverTimeMs", msg.getDeliverTimeMs(), [&](std::int64_t t) { return t - now(); });
  }
  if (props.contains(MessageConst::PROPERTY_TIMER_DELAY_MS)) {
    checkDelay("delayTimeMs", msg.getDelayTimeMs(), [](std::int64_t d) { return d; });
  }
  if (props.contains(MessageConst::PROPERTY_TIMER_DELAY_SEC)) {
    checkDelay("delayTimeSec", msg.getDelayTimeSec(), [&](std::int64_t d) {
      return d > maxDelay / 1000 ? std::numeric_limits<std::int64_t>::max() : d * 1000;
    });
  }
}

/// Checks the message's topic name, then everything else (checkMessageContent).
template <class Body, class Now>
requires std::is_invocable_r_v<std::int64_t, Now&>
void checkMessage(const BasicMessage<Body>& msg, const MessageLimits& limits, Now&& now) {
  checkTopic(msg.getTopic(), "message topic");
  checkMessageContent(msg, limits, now);
}

template <class Body>
void checkMessage(const BasicMessage<Body>& msg, const MessageLimits& limits, std::int64_t nowMillis) {
  checkMessage(msg, limits, [nowMillis] { return nowMillis; });
}

/// Checks a batch: non-empty, one topic, no delays, one waitStoreMsgOK, and the bodies together within
/// maxMessageSize (RocketMQ DefaultMQProducer.batch / MessageBatch.generateFromList).
template <class Body>
void checkBatch(const std::vector<BasicMessage<Body>>& batch, const MessageLimits& limits,
                std::int64_t nowMillis) {
  if (batch.empty()) illegal(ResponseCode::MESSAGE_ILLEGAL, "a batch must hold at least one message");
  std::size_t total = 0;
  const std::string& topic = batch.front().getTopic();
  const bool wait = batch.front().isWaitStoreMsgOK();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& m = batch[i];
    checkMessage(m, limits, nowMillis);
    if (m.getTopic() != topic) {
      illegal(ResponseCode::MESSAGE_ILLEGAL, "a batch must have one topic: message " + std::to_string(i) +
                                                 " has topic \"" + m.getTopic() + "\", message 0 has \"" +
                                                 topic + "\"");
    }
    if (m.getDelayTimeLevel() > 0 || m.getDeliverTimeMs() != 0 || m.getDelayTimeMs() != 0 ||
        m.getDelayTimeSec() != 0) {
      illegal(ResponseCode::MESSAGE_ILLEGAL,
              "a batch must not carry a delay: message " + std::to_string(i) + " sets a delay level or time");
    }
    if (m.isWaitStoreMsgOK() != wait) {
      illegal(ResponseCode::MESSAGE_ILLEGAL, "a batch must have one waitStoreMsgOK: message " +
                                                 std::to_string(i) + " differs from message 0");
    }
    if constexpr (SizedBody<Body>) total += static_cast<std::size_t>(m.getBody().size());
  }
  if (total > limits.maxMessageSize) {
    illegal(ResponseCode::MESSAGE_ILLEGAL, "a batch's bodies take " + std::to_string(total) +
                                               " bytes; maxMessageSize is " +
                                               std::to_string(limits.maxMessageSize));
  }
}

}  // namespace ackmq::detail
