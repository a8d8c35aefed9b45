#pragma once
// rocketmq-client-cpp compatibility (ackmq): a message to send. Tags, keys, the delay level and the
// wait-store flag are properties, as the client keeps them; a send carries them, and every application
// property, to the broker.

#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <ackmq/message.hpp>

#include "RocketMQClient.h"

namespace rocketmq {

/// Thread safety: a regular value type (thread-compatible).
class ROCKETMQCLIENT_API MQMessage {
 public:
  MQMessage() { Init("", "", "", 0, "", true); }
  MQMessage(const std::string& topic, const std::string& body) { Init(topic, "", "", 0, body, true); }
  MQMessage(const std::string& topic, const std::string& tags, const std::string& body) {
    Init(topic, tags, "", 0, body, true);
  }
  MQMessage(const std::string& topic, const std::string& tags, const std::string& keys,
            const std::string& body) {
    Init(topic, tags, keys, 0, body, true);
  }
  MQMessage(const std::string& topic, const std::string& tags, const std::string& keys, const int flag,
            const std::string& body, bool waitStoreMsgOK) {
    Init(topic, tags, keys, flag, body, waitStoreMsgOK);
  }
  virtual ~MQMessage() {}
  MQMessage(const MQMessage& other) = default;
  MQMessage& operator=(const MQMessage& other) = default;

  void setProperty(const std::string& name, const std::string& value) { m_properties[name] = value; }
  /// The property's value, or an empty string when it is not set.
  const std::string& getProperty(const std::string& name) const {
    auto it = m_properties.find(name);
    return it == m_properties.end() ? emptyString() : it->second;
  }

  const std::string& getTopic() const { return m_topic; }
  void setTopic(const std::string& topic) { m_topic = topic; }
  void setTopic(const char* body, int len) { m_topic.assign(body, static_cast<std::size_t>(len)); }

  const std::string& getTags() const { return getProperty(PROPERTY_TAGS); }
  void setTags(const std::string& tags) { setPropertyInternal(PROPERTY_TAGS, tags); }

  /// Space-separated business keys.
  const std::string& getKeys() const { return getProperty(PROPERTY_KEYS); }
  void setKeys(const std::string& keys) { setPropertyInternal(PROPERTY_KEYS, keys); }
  void setKeys(const std::vector<std::string>& keys) {
    std::string joined;
    for (const auto& key : keys) {
      if (!joined.empty()) joined += KEY_SEPARATOR;
      joined += key;
    }
    setPropertyInternal(PROPERTY_KEYS, joined);
  }

  /// 1..18 with the broker's default delay levels; 0 = no delay.
  int getDelayTimeLevel() const { return intProperty(PROPERTY_DELAY_TIME_LEVEL); }
  void setDelayTimeLevel(int level) { setPropertyInternal(PROPERTY_DELAY_TIME_LEVEL, std::to_string(level)); }

  bool isWaitStoreMsgOK() const { return getProperty(PROPERTY_WAIT_STORE_MSG_OK) != "false"; }
  void setWaitStoreMsgOK(bool waitStoreMsgOK) {
    setPropertyInternal(PROPERTY_WAIT_STORE_MSG_OK, waitStoreMsgOK ? "true" : "false");
  }

  int getFlag() const { return m_flag; }
  void setFlag(int flag) { m_flag = flag; }
  int getSysFlag() const { return m_sysFlag; }
  void setSysFlag(int sysFlag) { m_sysFlag = sysFlag; }

  const std::string& getBody() const { return m_body; }
  void setBody(const char* body, int len) { m_body.assign(body, static_cast<std::size_t>(len)); }
  void setBody(const std::string& body) { m_body = body; }

  void setTransactionId(const std::string& id) { m_transactionId = id; }
  std::string getTransactionId() const { return m_transactionId; }

  std::map<std::string, std::string> getProperties() const { return m_properties; }
  void setProperties(std::map<std::string, std::string>& properties) { m_properties = properties; }

  const std::string toString() const {
    std::stringstream ss;
    ss << "Message [topic=" << m_topic << ", flag=" << m_flag << ", tag=" << getTags() << "]";
    return ss.str();
  }

 protected:
  void setPropertyInternal(const std::string& name, const std::string& value) { m_properties[name] = value; }
  void setPropertiesInternal(std::map<std::string, std::string>& properties) { m_properties = properties; }
  void Init(const std::string& topic, const std::string& tags, const std::string& keys, const int flag,
            const std::string& body, bool waitStoreMsgOK) {
    m_topic = topic;
    m_flag = flag;
    m_body = body;
    if (!tags.empty()) setTags(tags);
    if (!keys.empty()) setKeys(keys);
    setWaitStoreMsgOK(waitStoreMsgOK);
  }

 public:
  // The property names, RocketMQ's (org.apache.rocketmq.common.message.MessageConst).
  inline static const std::string PROPERTY_KEYS = "KEYS";
  inline static const std::string PROPERTY_TAGS = "TAGS";
  inline static const std::string PROPERTY_WAIT_STORE_MSG_OK = "WAIT";
  inline static const std::string PROPERTY_DELAY_TIME_LEVEL = "DELAY";
  inline static const std::string PROPERTY_RETRY_TOPIC = "RETRY_TOPIC";
  inline static const std::string PROPERTY_REAL_TOPIC = "REAL_TOPIC";
  inline static const std::string PROPERTY_REAL_QUEUE_ID = "REAL_QID";
  inline static const std::string PROPERTY_TRANSACTION_PREPARED = "TRAN_MSG";
  inline static const std::string PROPERTY_PRODUCER_GROUP = "PGROUP";
  inline static const std::string PROPERTY_MIN_OFFSET = "MIN_OFFSET";
  inline static const std::string PROPERTY_MAX_OFFSET = "MAX_OFFSET";
  inline static const std::string PROPERTY_BUYER_ID = "BUYER_ID";
  inline static const std::string PROPERTY_ORIGIN_MESSAGE_ID = "ORIGIN_MESSAGE_ID";
  inline static const std::string PROPERTY_TRANSFER_FLAG = "TRANSFER_FLAG";
  inline static const std::string PROPERTY_CORRECTION_FLAG = "CORRECTION_FLAG";
  inline static const std::string PROPERTY_MQ2_FLAG = "MQ2_FLAG";
  inline static const std::string PROPERTY_RECONSUME_TIME = "RECONSUME_TIME";
  inline static const std::string PROPERTY_MSG_REGION = "MSG_REGION";
  inline static const std::string PROPERTY_TRACE_SWITCH = "TRACE_ON";
  inline static const std::string PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX = "UNIQ_KEY";
  inline static const std::string PROPERTY_MAX_RECONSUME_TIMES = "MAX_RECONSUME_TIMES";
  inline static const std::string PROPERTY_CONSUME_START_TIMESTAMP = "CONSUME_START_TIME";
  inline static const std::string PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET = "TRAN_PREPARED_QUEUE_OFFSET";
  inline static const std::string PROPERTY_TRANSACTION_CHECK_TIMES = "TRANSACTION_CHECK_TIMES";
  inline static const std::string PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS = "CHECK_IMMUNITY_TIME_IN_SECONDS";
  inline static const std::string KEY_SEPARATOR = " ";

 protected:
  int m_sysFlag = 0;

 private:
  static const std::string& emptyString() {
    static const std::string empty;
    return empty;
  }
  int intProperty(const std::string& name) const {
    const std::string& v = getProperty(name);
    try {
      return v.empty() ? 0 : std::stoi(v);
    } catch (...) {
      return 0;
    }
  }

  std::string m_topic;
  int m_flag = 0;
  std::string m_body;
  std::string m_transactionId;
  std::map<std::string, std::string> m_properties;
};

}  // namespace rocketmq

namespace ackmq::compat::detail {

/// The ackmq message for `msg`: topic, tags, keys, body, flag, delay level, wait-store flag and every
/// application property. Names the broker reserves (UNIQ_KEY, say, which a send writes back into the
/// message) are not carried: the broker sets them itself.
inline ackmq::Message toNative(const rocketmq::MQMessage& msg) {
  ackmq::Message out(msg.getTopic(), msg.getTags(), msg.getBody());
  if (!msg.getKeys().empty()) out.setKeys(msg.getKeys());
  out.setFlag(msg.getFlag());
  if (const int level = msg.getDelayTimeLevel(); level != 0) out.setDelayTimeLevel(level);
  out.setWaitStoreMsgOK(msg.isWaitStoreMsgOK());
  for (const auto& [name, value] : msg.getProperties()) {
    if (name.empty() || value.empty() || ackmq::MessageConst::isSystemProperty(name)) continue;
    out.putUserProperty(name, value);
  }
  return out;
}

}  // namespace ackmq::compat::detail
