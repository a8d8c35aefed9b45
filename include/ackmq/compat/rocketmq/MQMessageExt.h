#pragma once
// rocketmq-client-cpp compatibility (ackmq): a message as stored and delivered. getMsgId() is the id the
// producer's SendResult returned for it (its UNIQ_KEY), the same on every retry and in the dead-letter
// queue; getOffsetMsgId() names this physical copy.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>

#include <ackmq/message.hpp>

#include "MQMessage.h"
#include "RocketMQClient.h"

namespace rocketmq {

/// Hosts: in process there is no socket, so the born host reads 127.0.0.1:0 and the store host
/// 127.0.0.1:10911 (a broker's default listen port) unless set.
///
/// Thread safety: a regular value type (thread-compatible).
class ROCKETMQCLIENT_API MQMessageExt : public MQMessage {
 public:
  MQMessageExt() : m_bornHost(loopback(0)), m_storeHost(loopback(10911)) {}
  MQMessageExt(int queueId, int64 bornTimestamp, sockaddr bornHost, int64 storeTimestamp, sockaddr storeHost,
               const std::string& msgId)
      : m_bornTimestamp(bornTimestamp),
        m_storeTimestamp(storeTimestamp),
        m_queueId(queueId),
        m_bornHost(bornHost),
        m_storeHost(storeHost),
        m_msgId(msgId) {}
  virtual ~MQMessageExt() {}

  /// The tag filter type a system flag names; always 0 (single tag) here.
  static int parseTopicFilterType(int sysFlag) { return (sysFlag & 0x40) == 0x40 ? 1 : 0; }

  int getQueueId() const { return m_queueId; }
  void setQueueId(int queueId) { m_queueId = queueId; }
  int64 getBornTimestamp() const { return m_bornTimestamp; }
  void setBornTimestamp(int64 bornTimestamp) { m_bornTimestamp = bornTimestamp; }
  sockaddr getBornHost() const { return m_bornHost; }
  std::string getBornHostString() const { return hostString(m_bornHost); }
  std::string getBornHostNameString() const { return hostName(m_bornHost); }
  void setBornHost(const sockaddr& bornHost) { m_bornHost = bornHost; }
  int64 getStoreTimestamp() const { return m_storeTimestamp; }
  void setStoreTimestamp(int64 storeTimestamp) { m_storeTimestamp = storeTimestamp; }
  sockaddr getStoreHost() const { return m_storeHost; }
  std::string getStoreHostString() const { return hostString(m_storeHost); }
  void setStoreHost(const sockaddr& storeHost) { m_storeHost = storeHost; }
  const std::string& getMsgId() const { return m_msgId; }
  void setMsgId(const std::string& msgId) { m_msgId = msgId; }
  const std::string& getOffsetMsgId() const { return m_offsetMsgId; }
  void setOffsetMsgId(const std::string& offsetMsgId) { m_offsetMsgId = offsetMsgId; }
  int getBodyCRC() const { return m_bodyCRC; }
  void setBodyCRC(int bodyCRC) { m_bodyCRC = bodyCRC; }
  int64 getQueueOffset() const { return m_queueOffset; }
  void setQueueOffset(int64 queueOffset) { m_queueOffset = queueOffset; }
  int64 getCommitLogOffset() const { return m_commitLogOffset; }
  void setCommitLogOffset(int64 physicOffset) { m_commitLogOffset = physicOffset; }
  int getStoreSize() const { return m_storeSize; }
  void setStoreSize(int storeSize) { m_storeSize = storeSize; }
  /// How many times this message failed before this delivery: 0 on the first.
  int getReconsumeTimes() const { return m_reconsumeTimes; }
  void setReconsumeTimes(int reconsumeTimes) { m_reconsumeTimes = reconsumeTimes; }
  int64 getPreparedTransactionOffset() const { return m_preparedTransactionOffset; }
  void setPreparedTransactionOffset(int64 preparedTransactionOffset) {
    m_preparedTransactionOffset = preparedTransactionOffset;
  }

  std::string toString() const {
    std::stringstream ss;
    ss << "MessageExt [queueId=" << m_queueId << ", storeSize=" << m_storeSize
       << ", queueOffset=" << m_queueOffset << ", sysFlag=" << m_sysFlag
       << ", bornTimestamp=" << m_bornTimestamp << ", bornHost=" << getBornHostString()
       << ", storeTimestamp=" << m_storeTimestamp << ", storeHost=" << getStoreHostString()
       << ", msgId=" << m_msgId << ", commitLogOffset=" << m_commitLogOffset << ", bodyCRC=" << m_bodyCRC
       << ", reconsumeTimes=" << m_reconsumeTimes
       << ", preparedTransactionOffset=" << m_preparedTransactionOffset << ", " << MQMessage::toString()
       << "]";
    return ss.str();
  }

 private:
  static sockaddr loopback(std::uint16_t port) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sockaddr out{};
    std::memcpy(&out, &in, sizeof in);
    return out;
  }
  static std::string hostName(const sockaddr& addr) {
    if (addr.sa_family != AF_INET) return "";
    sockaddr_in in{};
    std::memcpy(&in, &addr, sizeof in);
    char buf[INET_ADDRSTRLEN] = {};
    return inet_ntop(AF_INET, &in.sin_addr, buf, sizeof buf) != nullptr ? std::string(buf) : std::string();
  }
  static std::string hostString(const sockaddr& addr) {
    if (addr.sa_family != AF_INET) return "";
    sockaddr_in in{};
    std::memcpy(&in, &addr, sizeof in);
    return hostName(addr) + ":" + std::to_string(ntohs(in.sin_port));
  }

  int64 m_queueOffset = 0;
  int64 m_commitLogOffset = 0;
  int64 m_bornTimestamp = 0;
  int64 m_storeTimestamp = 0;
  int64 m_preparedTransactionOffset = 0;
  int m_queueId = 0;
  int m_storeSize = 0;
  int m_bodyCRC = 0;
  int m_reconsumeTimes = 0;
  sockaddr m_bornHost;
  sockaddr m_storeHost;
  std::string m_msgId;
  std::string m_offsetMsgId;
};

}  // namespace rocketmq

namespace ackmq::compat::detail {

/// The client's view of a message ackmq delivered or stored.
inline rocketmq::MQMessageExt fromNative(const ackmq::MessageExt& m) {
  rocketmq::MQMessageExt out;
  out.setTopic(m.getTopic());
  out.setBody(m.getBody());
  out.setFlag(m.getFlag());
  for (const auto& [name, value] : m.getProperties())
    out.setProperty(name, value);
  if (!m.getTags().empty()) out.setTags(m.getTags());
  out.setProperty(rocketmq::MQMessage::PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, m.getMsgId());
  out.setMsgId(m.getMsgId());
  out.setOffsetMsgId(m.getOffsetMsgId());
  out.setQueueId(m.getQueueId());
  out.setQueueOffset(m.getQueueOffset());
  out.setCommitLogOffset(m.getCommitLogOffset());
  out.setBornTimestamp(m.getBornTimestamp());
  out.setStoreTimestamp(m.getStoreTimestamp());
  out.setReconsumeTimes(m.getReconsumeTimes());
  out.setStoreSize(m.getStoreSize());
  return out;
}

}  // namespace ackmq::compat::detail
