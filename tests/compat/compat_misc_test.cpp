// The rest of the rocketmq-client-cpp compatible headers: the value types, the exceptions, the command-line
// helper and the credentials.
#include "Arg_helper.h"
#include "MQClientException.h"
#include "MQMessage.h"
#include "MQMessageExt.h"
#include "MQMessageQueue.h"
#include "SendResult.h"
#include "SessionCredentials.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

using rocketmq::MQMessage;
using rocketmq::MQMessageQueue;

TEST_SUITE("compat vocabulary") {
  TEST_CASE("MQMessage keeps tags, keys, delay level and wait-store flag as the client's properties") {
    MQMessage msg("Orders", "created", "k1", 5, "body", false);
    CHECK(msg.getTopic() == "Orders");
    CHECK(msg.getTags() == "created");
    CHECK(msg.getKeys() == "k1");
    CHECK(msg.getFlag() == 5);
    CHECK(!msg.isWaitStoreMsgOK());
    CHECK(msg.getProperty(MQMessage::PROPERTY_TAGS) == "created");
    CHECK(msg.getProperty(MQMessage::PROPERTY_WAIT_STORE_MSG_OK) == "false");
    msg.setKeys(std::vector<std::string>{"a", "b"});
    CHECK(msg.getKeys() == "a b");
    msg.setDelayTimeLevel(3);
    CHECK(msg.getDelayTimeLevel() == 3);
    CHECK(msg.getProperty(MQMessage::PROPERTY_DELAY_TIME_LEVEL) == "3");
    msg.setBody("xyz", 2);
    CHECK(msg.getBody() == "xy");
    CHECK(msg.getProperty("missing").empty());
    const MQMessage copy = msg;
    CHECK(copy.getProperties() == msg.getProperties());
    CHECK(msg.toString().find("Orders") != std::string::npos);
  }

  TEST_CASE("MQMessageExt's hosts default to the loopback address") {
    rocketmq::MQMessageExt ext;
    CHECK(ext.getBornHostString() == "127.0.0.1:0");
    CHECK(ext.getStoreHostString() == "127.0.0.1:10911");
    CHECK(ext.getBornHostNameString() == "127.0.0.1");
    ext.setReconsumeTimes(4);
    CHECK(ext.getReconsumeTimes() == 4);
  }

  TEST_CASE("MQMessageQueue orders by topic, broker name, then queue id") {
    const MQMessageQueue a("A", "b1", 2);
    const MQMessageQueue b("A", "b1", 3);
    const MQMessageQueue c("B", "b0", 0);
    CHECK(a < b);
    CHECK(b < c);
    CHECK(a == MQMessageQueue("A", "b1", 2));
    CHECK(a.compareTo(b) < 0);
    std::map<MQMessageQueue, int> byQueue{{a, 1}, {b, 2}};
    CHECK(byQueue.at(b) == 2);
    CHECK(a.toString() == "MessageQueue [topic=A, brokerName=b1, queueId=2]");
  }

  TEST_CASE("the exception types report their name, code and message") {
    try {
      THROW_MQEXCEPTION(rocketmq::MQBrokerException, "refused", 2);
    } catch (const rocketmq::MQException& e) {
      CHECK(std::string(e.GetType()) == "MQBrokerException");
      CHECK(e.GetError() == 2);
      CHECK(std::string(e.what()).find("refused") != std::string::npos);
    }
    const rocketmq::MQClientException e = NEW_MQEXCEPTION(rocketmq::MQClientException, "bad", -1);
    CHECK(e.GetError() == -1);
  }

  TEST_CASE("Arg_helper reads -x value pairs and words") {
    char prog[] = "prog";
    char n[] = "-n";
    char addr[] = "127.0.0.1:9876";
    char v[] = "-v";
    char* argv[] = {prog, n, addr, v};
    const rocketmq::Arg_helper args(4, argv);
    CHECK(args.get_option_value("-n") == "127.0.0.1:9876");
    CHECK(args.get_option_value("-v").empty());
    CHECK(args.is_enable_option("-v"));
    CHECK(!args.is_enable_option("-x"));
    CHECK(args.get_option(0) == "prog");
    CHECK(args.get_option(9).empty());
    const rocketmq::Arg_helper line("-g group -t topic");
    CHECK(line.get_option_value("-t") == "topic");
  }

  TEST_CASE("SessionCredentials is valid only with both keys and a channel") {
    rocketmq::SessionCredentials none;
    CHECK(none.getAuthChannel() == "ALIYUN");
    CHECK(!none.isValid());
    const rocketmq::SessionCredentials full("ak", "sk", "channel");
    CHECK(full.isValid());
  }
}
