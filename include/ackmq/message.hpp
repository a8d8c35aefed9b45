#pragma once
// ackmq: the message model. BasicMessage is what a producer sends; BasicMessageExt is what the broker
// stored and a consumer receives. MessageConst names the properties; MixAll names the system topics.

#include <charconv>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <ackmq/detail/message_id.hpp>
#include <ackmq/message_queue.hpp>
#include <ackmq/status.hpp>

namespace ackmq {

/// Property names, with RocketMQ's spellings (org.apache.rocketmq.common.message.MessageConst).
struct MessageConst {
  static constexpr std::string_view PROPERTY_KEYS = "KEYS";
  static constexpr std::string_view PROPERTY_TAGS = "TAGS";
  static constexpr std::string_view PROPERTY_WAIT_STORE_MSG_OK = "WAIT";
  static constexpr std::string_view PROPERTY_DELAY_TIME_LEVEL = "DELAY";
  static constexpr std::string_view PROPERTY_RETRY_TOPIC = "RETRY_TOPIC";
  static constexpr std::string_view PROPERTY_REAL_TOPIC = "REAL_TOPIC";
  static constexpr std::string_view PROPERTY_REAL_QUEUE_ID = "REAL_QID";
  static constexpr std::string_view PROPERTY_TRANSACTION_PREPARED = "TRAN_MSG";
  static constexpr std::string_view PROPERTY_PRODUCER_GROUP = "PGROUP";
  static constexpr std::string_view PROPERTY_MIN_OFFSET = "MIN_OFFSET";
  static constexpr std::string_view PROPERTY_MAX_OFFSET = "MAX_OFFSET";
  static constexpr std::string_view PROPERTY_ORIGIN_MESSAGE_ID = "ORIGIN_MESSAGE_ID";
  static constexpr std::string_view PROPERTY_RECONSUME_TIME = "RECONSUME_TIME";
  static constexpr std::string_view PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX = "UNIQ_KEY";
  static constexpr std::string_view PROPERTY_MAX_RECONSUME_TIMES = "MAX_RECONSUME_TIMES";
  static constexpr std::string_view PROPERTY_CONSUME_START_TIMESTAMP = "CONSUME_START_TIME";
  static constexpr std::string_view PROPERTY_TIMER_DELIVER_MS = "TIMER_DELIVER_MS";
  static constexpr std::string_view PROPERTY_TIMER_DELAY_MS = "TIMER_DELAY_MS";
  static constexpr std::string_view PROPERTY_TIMER_DELAY_SEC = "TIMER_DELAY_SEC";
  static constexpr std::string_view PROPERTY_POP_CK = "POP_CK";
  static constexpr std::string_view PROPERTY_FIRST_POP_TIME = "1ST_POP_TIME";
  static constexpr std::string_view PROPERTY_SHARDING_KEY = "__SHARDINGKEY";
  static constexpr std::string_view PROPERTY_DLQ_ORIGIN_TOPIC = "DLQ_ORIGIN_TOPIC";
  static constexpr std::string_view PROPERTY_DLQ_ORIGIN_MESSAGE_ID = "DLQ_ORIGIN_MESSAGE_ID";
  static constexpr std::string_view PROPERTY_CORRELATION_ID = "CORRELATION_ID";
  static constexpr std::string_view PROPERTY_MESSAGE_TTL = "TTL";
  /// The client id of the producer that waits for the reply to a request.
  static constexpr std::string_view PROPERTY_MESSAGE_REPLY_TO_CLIENT = "REPLY_TO_CLIENT";
  /// The cluster of the broker that stored the message; the broker sets it on requests.
  static constexpr std::string_view PROPERTY_CLUSTER = "CLUSTER";
  /// "reply" (MixAll::REPLY_MESSAGE_FLAG) on a reply message.
  static constexpr std::string_view PROPERTY_MESSAGE_TYPE = "MSG_TYPE";
  /// A transactional message's own check-back delay, in seconds (-1: the broker's transactionTimeOut). An
  /// application property: set it with putUserProperty.
  static constexpr std::string_view PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS =
      "CHECK_IMMUNITY_TIME_IN_SECONDS";
  /// The transaction id (the message's msgId) on the messages a TransactionListener is given.
  static constexpr std::string_view PROPERTY_TRANSACTION_ID = "__transactionId__";
  /// How many times the broker has checked a half message back, on the message a check is given.
  static constexpr std::string_view PROPERTY_TRANSACTION_CHECK_TIMES = "TRANSACTION_CHECK_TIMES";
  /// Separates the keys in PROPERTY_KEYS.
  static constexpr std::string_view KEY_SEPARATOR = " ";

  /// True for names the library reserves; putUserProperty refuses them (RocketMQ
  /// MessageConst.STRING_HASH_SET).
  static bool isSystemProperty(std::string_view name) noexcept {
    static constexpr std::string_view kNames[] = {PROPERTY_KEYS,
                                                  PROPERTY_TAGS,
                                                  PROPERTY_WAIT_STORE_MSG_OK,
                                                  PROPERTY_DELAY_TIME_LEVEL,
                                                  PROPERTY_RETRY_TOPIC,
                                                  PROPERTY_REAL_TOPIC,
                                                  PROPERTY_REAL_QUEUE_ID,
                                                  PROPERTY_TRANSACTION_PREPARED,
                                                  PROPERTY_PRODUCER_GROUP,
                                                  PROPERTY_MIN_OFFSET,
                                                  PROPERTY_MAX_OFFSET,
                                                  PROPERTY_ORIGIN_MESSAGE_ID,
                                                  PROPERTY_RECONSUME_TIME,
                                                  PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
                                                  PROPERTY_MAX_RECONSUME_TIMES,
                                                  PROPERTY_CONSUME_START_TIMESTAMP,
                                                  PROPERTY_TIMER_DELIVER_MS,
                                                  PROPERTY_TIMER_DELAY_MS,
                                                  PROPERTY_TIMER_DELAY_SEC,
                                                  PROPERTY_POP_CK,
                                                  PROPERTY_FIRST_POP_TIME,
                                                  PROPERTY_SHARDING_KEY,
                                                  PROPERTY_DLQ_ORIGIN_TOPIC,
                                                  PROPERTY_DLQ_ORIGIN_MESSAGE_ID,
                                                  PROPERTY_CORRELATION_ID,
                                                  PROPERTY_MESSAGE_TTL,
                                                  PROPERTY_MESSAGE_REPLY_TO_CLIENT,
                                                  PROPERTY_CLUSTER,
                                                  PROPERTY_MESSAGE_TYPE};
    if (!mayBeLibraryName(name)) return false;
    for (auto n : kNames) {
      if (n == name) return true;
    }
    return false;
  }

  /// False for a name that is none of the names above: each begins with an upper-case ASCII letter, a digit
  /// or '_'. Lets a message whose properties are all the application's skip looking for the library's.
  static constexpr bool mayBeLibraryName(std::string_view name) noexcept {
    if (name.empty()) return false;
    const char c = name.front();
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }
  /// True if any key of `properties` may be a library name (mayBeLibraryName).
  template <class Map>
  static bool anyLibraryName(const Map& properties) noexcept {
    for (const auto& entry : properties) {
      if (mayBeLibraryName(entry.first)) return true;
    }
    return false;
  }
};

/// System topic names and the group topic helpers (org.apache.rocketmq.common.MixAll, TopicValidator).
struct MixAll {
  static constexpr std::string_view RETRY_GROUP_TOPIC_PREFIX = "%RETRY%";
  static constexpr std::string_view DLQ_GROUP_TOPIC_PREFIX = "%DLQ%";
  /// Where delayed messages and retries wait for their time (RocketMQ TopicValidator.RMQ_SYS_SCHEDULE_TOPIC).
  static constexpr std::string_view SCHEDULE_TOPIC = "SCHEDULE_TOPIC_XXXX";
  /// The template topic of auto-creation (RocketMQ TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC).
  static constexpr std::string_view AUTO_CREATE_TOPIC_KEY_TOPIC = "TBW102";
  static constexpr std::string_view SYSTEM_TOPIC_PREFIX = "rmq_sys_";
  static constexpr std::string_view REPLY_TOPIC_POSTFIX = "REPLY_TOPIC";
  /// The MessageConst::PROPERTY_MESSAGE_TYPE of a reply.
  static constexpr std::string_view REPLY_MESSAGE_FLAG = "reply";
  /// Where a transactional message waits, unseen by consumers, until it is committed or rolled back
  /// (RocketMQ TopicValidator.RMQ_SYS_TRANS_HALF_TOPIC).
  static constexpr std::string_view RMQ_SYS_TRANS_HALF_TOPIC = "RMQ_SYS_TRANS_HALF_TOPIC";
  /// The record of each half message resolved (RocketMQ TopicValidator.RMQ_SYS_TRANS_OP_HALF_TOPIC).
  static constexpr std::string_view RMQ_SYS_TRANS_OP_HALF_TOPIC = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
  /// Where a half message goes once it has been checked transactionCheckMax times without an answer
  /// (RocketMQ TopicValidator.RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC). Kept, never delivered.
  static constexpr std::string_view TRANS_CHECK_MAX_TIME_TOPIC = "TRANS_CHECK_MAX_TIME_TOPIC";

  /// "%RETRY%" + group.
  static std::string getRetryTopic(std::string_view group) {
    std::string t(RETRY_GROUP_TOPIC_PREFIX);
    t.append(group);
    return t;
  }
  /// "%DLQ%" + group.
  static std::string getDLQTopic(std::string_view group) {
    std::string t(DLQ_GROUP_TOPIC_PREFIX);
    t.append(group);
    return t;
  }
  /// Where replies to requests go: cluster + "_REPLY_TOPIC". The broker hands a reply to the requester
  /// instead of storing it.
  static std::string getReplyTopic(std::string_view clusterName) {
    std::string t(clusterName);
    t.push_back('_');
    t.append(REPLY_TOPIC_POSTFIX);
    return t;
  }
  static bool isRetryTopic(std::string_view topic) noexcept {
    return topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
  }
  static bool isDLQTopic(std::string_view topic) noexcept {
    return topic.starts_with(DLQ_GROUP_TOPIC_PREFIX);
  }
  /// True for topics applications may not send to: the schedule topic, the template topic, rmq_sys_*, the
  /// transaction topics, and the per-group retry and dead-letter topics.
  static bool isSystemTopic(std::string_view topic) noexcept {
    return topic == SCHEDULE_TOPIC || topic == AUTO_CREATE_TOPIC_KEY_TOPIC ||
           topic.starts_with(SYSTEM_TOPIC_PREFIX) || isRetryTopic(topic) || isDLQTopic(topic) ||
           topic == RMQ_SYS_TRANS_HALF_TOPIC || topic == RMQ_SYS_TRANS_OP_HALF_TOPIC ||
           topic == TRANS_CHECK_MAX_TIME_TOPIC;
  }
};

namespace detail {
struct MessageAccess;

inline std::int64_t parseInt64(std::string_view s, std::int64_t fallback) noexcept {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return (ec == std::errc() && p == s.data() + s.size()) ? v : fallback;
}
}  // namespace detail

/// A message to send: topic, tags, keys, flag, properties and a body of type `Body`.
///
/// `Body` is `std::string` (bytes) by default. Any copyable type works (a struct, a std::variant, a
/// std::shared_ptr<const Event>): the broker stores the object and consumers receive it by const reference,
/// never serialised. Size limits apply where Body has size().
///
/// Tags, keys, the delay level and the deliver time are properties, as in RocketMQ, and getProperty() reads
/// them by their MessageConst names.
///
/// Thread safety: a regular value type (thread-compatible).
template <class Body = std::string>
class BasicMessage {
 public:
  using body_type = Body;
  using property_map = std::map<std::string, std::string, std::less<>>;

  // Only for a Body that has a default: a body type without one must not make every instantiation that
  // merely asks whether a message is default-constructible (std::optional's, say) ill-formed.
  BasicMessage() requires std::is_default_constructible_v<Body> : body_() {}
  BasicMessage(std::string topic, Body body) : topic_(std::move(topic)), body_(std::move(body)) {}
  BasicMessage(std::string topic, std::string tags, Body body)
      : topic_(std::move(topic)), tags_(std::move(tags)), body_(std::move(body)) {}
  BasicMessage(std::string topic, std::string tags, std::string keys, Body body)
      : topic_(std::move(topic)), tags_(std::move(tags)), body_(std::move(body)) {
    setKeys(std::move(keys));
  }

  const std::string& getTopic() const noexcept { return topic_; }
  void setTopic(std::string topic) { topic_ = std::move(topic); }

  /// The single tag a subscription expression matches ("TagA"); empty when none.
  const std::string& getTags() const noexcept { return tags_; }
  void setTags(std::string tags) { tags_ = std::move(tags); }

  /// Space-separated business keys, indexed by the broker for queryMessage().
  std::string getKeys() const { return getProperty(MessageConst::PROPERTY_KEYS); }
  void setKeys(std::string keys) { putOrErase(MessageConst::PROPERTY_KEYS, std::move(keys)); }
  void setKeys(const std::vector<std::string>& keys) {
    std::string joined;
    for (const auto& k : keys) {
      if (!joined.empty()) joined.append(MessageConst::KEY_SEPARATOR);
      joined.append(k);
    }
    setKeys(std::move(joined));
  }

  const Body& getBody() const& noexcept { return body_; }
  Body& getBody() & noexcept { return body_; }
  Body getBody() && { return std::move(body_); }
  void setBody(Body body) { body_ = std::move(body); }

  /// An opaque integer for the application; the broker stores it and never reads it.
  int getFlag() const noexcept { return flag_; }
  void setFlag(int flag) noexcept { flag_ = flag; }

  /// The value of a property, or "" when it is not set. "TAGS" reads the tags.
  std::string getProperty(std::string_view name) const {
    if (name == MessageConst::PROPERTY_TAGS) return tags_;
    auto it = properties_.find(name);
    return it == properties_.end() ? std::string() : it->second;
  }
  /// Every property but the tags, which have their own accessor.
  const property_map& getProperties() const noexcept { return properties_; }
  /// Sets an application property. Throws MQClientException (MESSAGE_ILLEGAL) for an empty name or value
  /// and for a name the library reserves (MessageConst::isSystemProperty), as RocketMQ Message does.
  void putUserProperty(std::string name, std::string value) {
    if (name.empty() || value.empty()) {
      throw MQClientException(
          ResponseCode::MESSAGE_ILLEGAL,
          "putUserProperty: the property name and value must not be empty (name \"" + name + "\")");
    }
    if (MessageConst::isSystemProperty(name)) {
      throw MQClientException(
          ResponseCode::MESSAGE_ILLEGAL,
          "putUserProperty: the property name \"" + name + "\" is reserved by the library; choose another");
    }
    properties_.insert_or_assign(std::move(name), std::move(value));
  }
  /// Removes a property; true if it was set.
  bool clearProperty(std::string_view name) {
    auto it = properties_.find(name);
    if (it == properties_.end()) return false;
    properties_.erase(it);
    return true;
  }

  /// RocketMQ delay level 1..N (N = the broker's messageDelayLevel count, 18 by default); 0 = no delay.
  /// The broker checks the range at send time.
  int getDelayTimeLevel() const noexcept {
    auto it = properties_.find(MessageConst::PROPERTY_DELAY_TIME_LEVEL);
    if (it == properties_.end()) return 0;
    return static_cast<int>(detail::parseInt64(it->second, -1));
  }
  void setDelayTimeLevel(int level) {
    putOrErase(MessageConst::PROPERTY_DELAY_TIME_LEVEL, level == 0 ? std::string() : std::to_string(level));
  }

  /// Deliver at an absolute wall-clock time, in ms since the epoch (RocketMQ 5 timer message). A time in the
  /// past delivers at once. A message with both a delay level and a deliver time uses the level.
  void setDeliverTimeMs(std::int64_t epochMillis) {
    properties_.insert_or_assign(std::string(MessageConst::PROPERTY_TIMER_DELIVER_MS),
                                 std::to_string(epochMillis));
  }
  /// 0 when not set.
  std::int64_t getDeliverTimeMs() const noexcept {
    return int64Property(MessageConst::PROPERTY_TIMER_DELIVER_MS);
  }
  /// Deliver this many ms after the broker stores the message (RocketMQ 5 timer message).
  void setDelayTimeMs(std::int64_t millis) {
    properties_.insert_or_assign(std::string(MessageConst::PROPERTY_TIMER_DELAY_MS), std::to_string(millis));
  }
  /// 0 when not set.
  std::int64_t getDelayTimeMs() const noexcept {
    return int64Property(MessageConst::PROPERTY_TIMER_DELAY_MS);
  }
  /// Deliver this many seconds after the broker stores the message.
  void setDelayTimeSec(std::int64_t seconds) {
    properties_.insert_or_assign(std::string(MessageConst::PROPERTY_TIMER_DELAY_SEC),
                                 std::to_string(seconds));
  }
  std::int64_t getDelayTimeSec() const noexcept {
    return int64Property(MessageConst::PROPERTY_TIMER_DELAY_SEC);
  }

  /// True (the default) when the sender wants a durability status (RocketMQ "WAIT").
  bool isWaitStoreMsgOK() const noexcept {
    auto it = properties_.find(MessageConst::PROPERTY_WAIT_STORE_MSG_OK);
    return it == properties_.end() || it->second != "false";
  }
  void setWaitStoreMsgOK(bool wait) {
    putOrErase(MessageConst::PROPERTY_WAIT_STORE_MSG_OK, wait ? std::string() : std::string("false"));
  }

  std::string toString() const {
    std::string s =
        "Message [topic=" + topic_ + ", tags=" + tags_ + ", flag=" + std::to_string(flag_) + ", properties={";
    bool first = true;
    for (const auto& [k, v] : properties_) {
      if (!first) s += ", ";
      first = false;
      s += k + "=" + v;
    }
    return s + "}]";
  }

 protected:
  friend struct detail::MessageAccess;

  void putOrErase(std::string_view name, std::string value) {
    if (value.empty()) {
      if (auto it = properties_.find(name); it != properties_.end()) properties_.erase(it);
    } else {
      properties_.insert_or_assign(std::string(name), std::move(value));
    }
  }
  std::int64_t int64Property(std::string_view name) const noexcept {
    auto it = properties_.find(name);
    return it == properties_.end() ? 0 : detail::parseInt64(it->second, 0);
  }

  std::string topic_;
  std::string tags_;
  Body body_;
  int flag_ = 0;
  property_map properties_;
};

/// A message as the broker stored it: the message plus its ids, queue position, timestamps and reconsume
/// count. What listeners receive (by const reference).
///
/// Thread safety: a regular value type (thread-compatible).
template <class Body = std::string>
class BasicMessageExt : public BasicMessage<Body> {
 public:
  using BasicMessage<Body>::BasicMessage;
  BasicMessageExt() = default;

  /// The UNIQ_KEY: 32 hex characters, fixed by the producer before the first attempt and the same on every
  /// producer retry, every consumer retry copy and the dead-letter copy.
  std::string getMsgId() const { return msgId_.toString(); }
  /// The id of this physical copy (its CommitLog offset on its broker); every copy has its own.
  std::string getOffsetMsgId() const { return offsetMsgId_.toString(); }
  const std::string& getBrokerName() const noexcept { return brokerName_; }
  int getQueueId() const noexcept { return queueId_; }
  /// Position in its queue (RocketMQ's logical ConsumeQueue index).
  std::int64_t getQueueOffset() const noexcept { return queueOffset_; }
  /// Position of this copy in the broker's CommitLog.
  std::int64_t getCommitLogOffset() const noexcept { return commitLogOffset_; }
  /// When the producer sent it (the broker's clock, ms since the epoch); a retry copy keeps the original's.
  std::int64_t getBornTimestamp() const noexcept { return bornTimestamp_; }
  /// When the broker stored this copy (ms since the epoch).
  std::int64_t getStoreTimestamp() const noexcept { return storeTimestamp_; }
  /// How many times this message was consumed and failed before this delivery (0 on the first delivery).
  int getReconsumeTimes() const noexcept { return reconsumeTimes_; }
  /// Bytes this copy takes in the store.
  int getStoreSize() const noexcept { return storeSize_; }
  /// The queue this copy was read from.
  MessageQueue getMessageQueue() const {
    return MessageQueue(storedTopic_.empty() ? this->topic_ : storedTopic_, brokerName_, queueId_);
  }

  /// As BasicMessage::getProperty, and "UNIQ_KEY" reads getMsgId().
  std::string getProperty(std::string_view name) const {
    if (name == MessageConst::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX) return getMsgId();
    return BasicMessage<Body>::getProperty(name);
  }

  void setReconsumeTimes(int n) noexcept { reconsumeTimes_ = n; }
  void setQueueId(int id) noexcept { queueId_ = id; }
  void setQueueOffset(std::int64_t o) noexcept { queueOffset_ = o; }
  void setBornTimestamp(std::int64_t t) noexcept { bornTimestamp_ = t; }
  void setStoreTimestamp(std::int64_t t) noexcept { storeTimestamp_ = t; }
  void setBrokerName(std::string b) { brokerName_ = std::move(b); }

 private:
  friend struct detail::MessageAccess;

  detail::MessageId msgId_;
  detail::MessageId offsetMsgId_;
  std::string brokerName_;
  std::string storedTopic_;  // the queue's topic when it differs from getTopic() (a retry copy); else empty
  int queueId_ = 0;
  int reconsumeTimes_ = 0;
  std::int64_t queueOffset_ = 0;
  std::int64_t commitLogOffset_ = 0;
  std::int64_t bornTimestamp_ = 0;
  std::int64_t storeTimestamp_ = 0;
  int storeSize_ = 0;
};

using Message = BasicMessage<>;
using MessageExt = BasicMessageExt<>;

namespace detail {
/// Field access for the store and the clients, which build messages without going through the setters.
struct MessageAccess {
  template <class Body>
  static typename BasicMessage<Body>::property_map& properties(BasicMessage<Body>& m) noexcept {
    return m.properties_;
  }
  template <class Body>
  static void putProperty(BasicMessage<Body>& m, std::string_view name, std::string value) {
    m.properties_.insert_or_assign(std::string(name), std::move(value));
  }
  template <class Body>
  static std::string& topic(BasicMessage<Body>& m) noexcept {
    return m.topic_;
  }
  template <class Body>
  static std::string& tags(BasicMessage<Body>& m) noexcept {
    return m.tags_;
  }
  template <class Body>
  static Body& body(BasicMessage<Body>& m) noexcept {
    return m.body_;
  }
  template <class Body>
  static int& flag(BasicMessage<Body>& m) noexcept {
    return m.flag_;
  }
  template <class Body>
  static const MessageId& msgId(const BasicMessageExt<Body>& m) noexcept {
    return m.msgId_;
  }

  struct ExtFields {
    MessageId msgId;
    MessageId offsetMsgId;
    int queueId;
    int reconsumeTimes;
    std::int64_t queueOffset;
    std::int64_t commitLogOffset;
    std::int64_t bornTimestamp;
    std::int64_t storeTimestamp;
    int storeSize;
  };
  template <class Body>
  static void setExt(BasicMessageExt<Body>& m, const ExtFields& f) noexcept {
    m.msgId_ = f.msgId;
    m.offsetMsgId_ = f.offsetMsgId;
    m.queueId_ = f.queueId;
    m.reconsumeTimes_ = f.reconsumeTimes;
    m.queueOffset_ = f.queueOffset;
    m.commitLogOffset_ = f.commitLogOffset;
    m.bornTimestamp_ = f.bornTimestamp;
    m.storeTimestamp_ = f.storeTimestamp;
    m.storeSize_ = f.storeSize;
  }
  template <class Body>
  static std::string& brokerName(BasicMessageExt<Body>& m) noexcept {
    return m.brokerName_;
  }
  template <class Body>
  static std::string& storedTopic(BasicMessageExt<Body>& m) noexcept {
    return m.storedTopic_;
  }
  template <class Body>
  static const std::string& storedTopic(const BasicMessageExt<Body>& m) noexcept {
    return m.storedTopic_;
  }
};
}  // namespace detail

/// Message helpers (RocketMQ MessageUtil).
struct MessageUtil {
  /// The reply to `request` (a message a responder consumed from a request: producer.request() sent it and
  /// the broker stamped it with its cluster), carrying `body`. Send it with any producer's send(); the broker
  /// hands it to the requester instead of storing it. The reply goes to MixAll::getReplyTopic(cluster) and
  /// carries the request's CORRELATION_ID, REPLY_TO_CLIENT and TTL, and MSG_TYPE "reply" (RocketMQ
  /// MessageUtil.createReplyMessage). Throws MQClientException (CREATE_REPLY_MESSAGE_EXCEPTION) when
  /// `request` has no CLUSTER property: it did not come from a request.
  template <class Body>
  static BasicMessage<Body> createReplyMessage(const BasicMessage<Body>& request,
                                               std::type_identity_t<Body> body) {
    const std::string cluster = request.getProperty(MessageConst::PROPERTY_CLUSTER);
    if (cluster.empty()) {
      throw MQClientException(ResponseCode::CREATE_REPLY_MESSAGE_EXCEPTION,
                              "createReplyMessage: the request message has no property " +
                                  std::string(MessageConst::PROPERTY_CLUSTER) +
                                  ": it was not sent by producer.request()");
    }
    BasicMessage<Body> reply(MixAll::getReplyTopic(cluster), std::move(body));
    using detail::MessageAccess;
    MessageAccess::putProperty(reply, MessageConst::PROPERTY_MESSAGE_TYPE,
                               std::string(MixAll::REPLY_MESSAGE_FLAG));
    for (std::string_view name :
         {MessageConst::PROPERTY_CORRELATION_ID, MessageConst::PROPERTY_MESSAGE_REPLY_TO_CLIENT,
          MessageConst::PROPERTY_MESSAGE_TTL}) {
      std::string value = request.getProperty(name);
      if (!value.empty()) MessageAccess::putProperty(reply, name, std::move(value));
    }
    return reply;
  }
};

}  // namespace ackmq
