// The rocketmq-client-cpp compatible C API: the C program's life cycle (compat_c_api_sequence.c, compiled as
// C), each kind of send, the pull consumer, and the code every function returns for a null pointer or a bad
// argument.
#include "CBatchMessage.h"
#include "CCommon.h"
#include "CErrorMessage.h"
#include "CMessage.h"
#include "CMessageExt.h"
#include "CProducer.h"
#include "CPullConsumer.h"
#include "CPushConsumer.h"
#include "CSendResult.h"

#include <doctest/doctest.h>

#include <ackmq/testing.hpp>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "compat_support.hpp"

using compat_test::BoundBroker;

extern "C" {
CPushConsumer* compat_c_start_consumer(const char* namesrv, const char* group, const char* topic,
                                       int orderly);
int compat_c_stop_consumer(CPushConsumer* consumer);
int compat_c_send(const char* namesrv, const char* topic, int n, char ids[][MAX_MESSAGE_ID_LENGTH]);
}

namespace {

struct Received {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> ids;
  std::vector<std::string> bodies;
  bool waitFor(std::size_t n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return ids.size() >= n; });
  }
  void clear() {
    std::lock_guard lock(mutex);
    ids.clear();
    bodies.clear();
  }
};

Received& received() {
  static Received r;
  return r;
}

struct Sent {
  std::mutex mutex;
  std::condition_variable cv;
  int successes = 0;
  int failures = 0;
  std::string msgId;
  void* userData = nullptr;
  bool waitFor(int n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return successes + failures >= n; });
  }
};

Sent& sent() {
  static Sent s;
  return s;
}

void onSent(CSendResult r) {
  std::lock_guard lock(sent().mutex);
  ++sent().successes;
  sent().msgId = r.msgId;
  sent().cv.notify_all();
}
void onFailed(CMQException) {
  std::lock_guard lock(sent().mutex);
  ++sent().failures;
  sent().cv.notify_all();
}
void onSentWith(CSendResult r, CMessage*, void* userData) {
  std::lock_guard lock(sent().mutex);
  ++sent().successes;
  sent().msgId = r.msgId;
  sent().userData = userData;
  sent().cv.notify_all();
}
void onFailedWith(CMQException, CMessage*, void*) {
  onFailed(CMQException{});
}

int queueFromArg(int size, CMessage*, void* arg) {
  return *static_cast<int*>(arg) < size ? *static_cast<int*>(arg) : size;
}
int ignoreMessage(CPushConsumer*, CMessageExt*) {
  return E_CONSUME_SUCCESS;
}
CTransactionStatus checkNothing(CProducer*, CMessageExt*, void*) {
  return E_COMMIT_TRANSACTION;
}
CTransactionStatus commitAll(CProducer*, CMessage*, void*) {
  return E_COMMIT_TRANSACTION;
}

// What the C local transactions and checkers of a test were given.
struct Transactions {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::string> executedBodies;
  std::vector<void*> executedData;
  std::vector<std::string> checkedIds;
  std::vector<void*> checkedData;
  void clear() {
    std::lock_guard lock(mutex);
    executedBodies.clear();
    executedData.clear();
    checkedIds.clear();
    checkedData.clear();
  }
  bool waitForChecks(std::size_t n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return checkedIds.size() >= n; });
  }
};

Transactions& transactions() {
  static Transactions t;
  return t;
}

// Answers as the message's body says: "commit", "rollback", anything else unknown.
CTransactionStatus executeByBody(CProducer*, CMessage* msg, void* userData) {
  std::lock_guard lock(transactions().mutex);
  const std::string body = GetOriginMessageBody(msg);
  transactions().executedBodies.push_back(body);
  transactions().executedData.push_back(userData);
  return body == "commit" ? E_COMMIT_TRANSACTION
                          : (body == "rollback" ? E_ROLLBACK_TRANSACTION : E_UNKNOWN_TRANSACTION);
}
CTransactionStatus checkCommits(CProducer*, CMessageExt* msg, void* userData) {
  std::lock_guard lock(transactions().mutex);
  transactions().checkedIds.emplace_back(GetMessageId(msg));
  transactions().checkedData.push_back(userData);
  transactions().cv.notify_all();
  return E_COMMIT_TRANSACTION;
}

// A started transactional producer of group "compat-c-tx" on a bound broker, checked by `checker`.
struct TxWorld {
  explicit TxWorld(CLocalTransactionCheckerCallback checker = checkCommits)
      : producer(CreateTransactionProducer("compat-c-tx", checker, &checkerData)) {
    transactions().clear();
    REQUIRE(producer != nullptr);
    REQUIRE(SetProducerNameServerAddress(producer, broker.address.c_str()) == OK);
    REQUIRE(StartProducer(producer) == OK);
  }
  ~TxWorld() {
    ShutdownProducer(producer);
    DestroyProducer(producer);
  }
  int send(const char* body, CSendResult* result) {
    CMessage* msg = CreateMessage("Orders");
    SetMessageTags(msg, "c");
    SetMessageBody(msg, body);
    const int status = SendMessageTransaction(producer, msg, executeByBody, &executorData, result);
    DestroyMessage(msg);
    return status;
  }
  std::vector<ackmq::MessageExt> stored() { return ackmq::testing::topicMessages(broker.broker, "Orders"); }

  BoundBroker broker;
  int checkerData = 1;
  int executorData = 2;
  CProducer* producer;
};

// A started producer on a bound broker.
struct World {
  World() : producer(CreateProducer("compat-c-producers")) {
    REQUIRE(SetProducerNameServerAddress(producer, broker.address.c_str()) == OK);
    REQUIRE(StartProducer(producer) == OK);
  }
  ~World() {
    ShutdownProducer(producer);
    DestroyProducer(producer);
  }
  CMessage* message(const char* body) {
    CMessage* msg = CreateMessage("Orders");
    SetMessageTags(msg, "c");
    SetMessageBody(msg, body);
    messages.push_back(msg);
    return msg;
  }
  std::vector<ackmq::MessageExt> stored() { return ackmq::testing::topicMessages(broker.broker, "Orders"); }

  BoundBroker broker;
  CProducer* producer;
  std::vector<CMessage*> messages;

  struct Cleanup {
    std::vector<CMessage*>& m;
    ~Cleanup() {
      for (auto* msg : m)
        DestroyMessage(msg);
    }
  } cleanup{messages};
};

}  // namespace

extern "C" void compat_c_on_message(const char* msgId, const char*, const char*, const char* body,
                                    int bodyLength, int) {
  std::lock_guard lock(received().mutex);
  received().ids.emplace_back(msgId);
  received().bodies.emplace_back(body, static_cast<std::size_t>(bodyLength));
  received().cv.notify_all();
}

TEST_SUITE("compat C API") {
  TEST_CASE("a C program creates, starts, sends, subscribes, is called back, shuts down and destroys" *
            doctest::timeout(30)) {
    for (int orderly = 0; orderly < 2; ++orderly) {
      BoundBroker broker;
      received().clear();
      CPushConsumer* consumer =
          compat_c_start_consumer(broker.address.c_str(), "compat-c-consumers", "Orders", orderly);
      REQUIRE(consumer != nullptr);
      char ids[5][MAX_MESSAGE_ID_LENGTH];
      REQUIRE(compat_c_send(broker.address.c_str(), "Orders", 5, ids) == OK);
      REQUIRE(received().waitFor(5));
      REQUIRE(compat_c_stop_consumer(consumer) == OK);
      std::set<std::string> want(ids, ids + 5);
      std::lock_guard lock(received().mutex);
      CHECK(std::set<std::string>(received().ids.begin(), received().ids.end()) == want);
      CHECK(received().bodies[0].rfind("message ", 0) == 0);
    }
  }

  TEST_CASE("a C message keeps what is set and its getters point into it") {
    CMessage* msg = CreateMessage("Orders");
    CHECK(SetMessageTags(msg, "t") == OK);
    CHECK(SetMessageKeys(msg, "k") == OK);
    CHECK(SetByteMessageBody(msg, "a\0b", 3) == OK);
    CHECK(SetMessageProperty(msg, "p", "v") == OK);
    CHECK(SetDelayTimeLevel(msg, 2) == OK);
    CHECK(std::string(GetOriginMessageTopic(msg)) == "Orders");
    CHECK(std::string(GetOriginMessageTags(msg)) == "t");
    CHECK(std::string(GetOriginMessageKeys(msg)) == "k");
    CHECK(GetOriginMessageBodyLength(msg) == 3);
    CHECK(std::memcmp(GetOriginMessageBody(msg), "a\0b", 3) == 0);
    CHECK(std::string(GetOriginMessageProperty(msg, "p")) == "v");
    CHECK(GetOriginDelayTimeLevel(msg) == 2);
    CHECK(DestroyMessage(msg) == OK);
  }

  TEST_CASE("SendMessageSync fills the result, and the stored message has the same id") {
    World w;
    CSendResult result{};
    REQUIRE(SendMessageSync(w.producer, w.message("sync"), &result) == OK);
    CHECK(result.sendStatus == E_SEND_OK);
    const auto stored = w.stored();
    REQUIRE(stored.size() == 1);
    CHECK(stored[0].getMsgId() == result.msgId);
    CHECK(result.offset == 0);
  }

  TEST_CASE("SendMessageAsync and SendAsync report once through their callbacks" * doctest::timeout(30)) {
    World w;
    {
      std::lock_guard lock(sent().mutex);
      sent().successes = sent().failures = 0;
    }
    REQUIRE(SendMessageAsync(w.producer, w.message("async"), onSent, onFailed) == OK);
    REQUIRE(sent().waitFor(1));
    int token = 7;
    REQUIRE(SendAsync(w.producer, w.message("async 2"), onSentWith, onFailedWith, &token) == OK);
    REQUIRE(sent().waitFor(2));
    std::lock_guard lock(sent().mutex);
    CHECK(sent().successes == 2);
    CHECK(sent().userData == &token);
    CHECK(w.stored().size() == 2);
  }

  TEST_CASE("oneway, orderly and sharding-key sends land where they are sent") {
    World w;
    REQUIRE(SendMessageOneway(w.producer, w.message("oneway")) == OK);
    int queue = 2;
    REQUIRE(SendMessageOnewayOrderly(w.producer, w.message("oneway orderly"), queueFromArg, &queue) == OK);
    CSendResult result{};
    REQUIRE(SendMessageOrderly(w.producer, w.message("orderly"), queueFromArg, &queue, 1, &result) == OK);
    CSendResult first{};
    CSendResult second{};
    REQUIRE(SendMessageOrderlyByShardingKey(w.producer, w.message("key 1"), "order-42", &first) == OK);
    REQUIRE(SendMessageOrderlyByShardingKey(w.producer, w.message("key 2"), "order-42", &second) == OK);
    int onQueue2 = 0;
    std::set<int> keyQueues;
    for (const auto& m : w.stored()) {
      if (m.getBody() == "oneway orderly" || m.getBody() == "orderly")
        onQueue2 += m.getQueueId() == 2 ? 1 : 0;
      if (m.getBody().rfind("key", 0) == 0) keyQueues.insert(m.getQueueId());
    }
    CHECK(w.stored().size() == 5);
    CHECK(onQueue2 == 2);
    CHECK(keyQueues.size() == 1);
  }

  TEST_CASE("a selector that names no queue fails the orderly send") {
    World w;
    int queue = 99;
    CSendResult result{};
    CHECK(SendMessageOrderly(w.producer, w.message("lost"), queueFromArg, &queue, 1, &result) ==
          PRODUCER_SEND_ORDERLY_FAILED);
    CHECK(std::string(GetLatestErrorMessage()).find("QueueSelectorCallback") != std::string::npos);
    CHECK(w.stored().empty());
  }

  TEST_CASE("SendBatchMessage stores the batch whole") {
    World w;
    CBatchMessage* batch = CreateBatchMessage();
    REQUIRE(AddMessage(batch, w.message("b1")) == OK);
    REQUIRE(AddMessage(batch, w.message("b2")) == OK);
    CSendResult result{};
    REQUIRE(SendBatchMessage(w.producer, batch, &result) == OK);
    CHECK(std::string(result.msgId).find(',') != std::string::npos);
    CHECK(DestroyBatchMessage(batch) == OK);
    CHECK(w.stored().size() == 2);
  }

  TEST_CASE("failures return the operation's code and GetLatestErrorMessage says why") {
    World w;
    CSendResult result{};
    CHECK(SendMessageSync(w.producer, w.message(""), &result) == PRODUCER_SEND_SYNC_FAILED);
    CHECK(std::string(GetLatestErrorMessage()).find("body") != std::string::npos);
    CHECK(SendMessageOneway(w.producer, w.message("")) == PRODUCER_SEND_ONEWAY_FAILED);
    CHECK(SendMessageAsync(w.producer, w.message(""), onSent, onFailed) == PRODUCER_SEND_ASYNC_FAILED);
    CProducer* idle = CreateProducer("compat-c-idle");
    CHECK(SendMessageSync(idle, w.message("x"), &result) == PRODUCER_SEND_SYNC_FAILED);
    CHECK(SetProducerNameServerAddress(idle, "") == OK);
    CHECK(StartProducer(idle) == PRODUCER_START_FAILED);
    CHECK(std::string(GetLatestErrorMessage()).find("setNamesrvAddr") != std::string::npos);
    CHECK(DestroyProducer(idle) == OK);
    CPushConsumer* consumer = CreatePushConsumer("compat-c-consumers");
    CHECK(SetPushConsumerNameServerAddress(consumer, w.broker.address.c_str()) == OK);
    CHECK(StartPushConsumer(consumer) == PUSHCONSUMER_START_FAILED);  // no callback
    CHECK(DestroyPushConsumer(consumer) == OK);
    CHECK(w.stored().empty());
  }

  TEST_CASE("SendMessageTransaction commits or rolls back as the C local transaction answers") {
    TxWorld w;
    CSendResult committed{};
    CSendResult rolledBack{};
    REQUIRE(w.send("commit", &committed) == OK);
    REQUIRE(w.send("rollback", &rolledBack) == OK);
    CHECK(committed.sendStatus == E_SEND_OK);
    CHECK(rolledBack.sendStatus == E_SEND_OK);
    {
      std::lock_guard lock(transactions().mutex);
      CHECK(transactions().executedBodies == std::vector<std::string>{"commit", "rollback"});
      CHECK(transactions().executedData == std::vector<void*>{&w.executorData, &w.executorData});
    }
    const auto stored = w.stored();
    REQUIRE(stored.size() == 1);
    CHECK(stored.front().getMsgId() == committed.msgId);
    CHECK(stored.front().getBody() == "commit");
    const auto stats = ackmq::testing::transactionStats(w.broker.broker);
    CHECK(stats.committed == 1);
    CHECK(stats.rolledBack == 1);
    CHECK(stats.pending == 0);
  }

  TEST_CASE("an unknown C local transaction is committed by the checker at the check-back" *
            doctest::timeout(30)) {
    TxWorld w;
    received().clear();
    CPushConsumer* consumer =
        compat_c_start_consumer(w.broker.address.c_str(), "compat-c-consumers", "Orders", 0);
    REQUIRE(consumer != nullptr);
    CSendResult result{};
    REQUIRE(w.send("undecided", &result) == OK);
    CHECK(w.stored().empty());
    w.broker.clock.advance(std::chrono::seconds(30));  // a scan: the half is past transactionTimeOut
    REQUIRE(transactions().waitForChecks(1));
    REQUIRE(received().waitFor(1));
    REQUIRE(compat_c_stop_consumer(consumer) == OK);
    {
      std::lock_guard lock(transactions().mutex);
      CHECK(transactions().checkedIds == std::vector<std::string>{result.msgId});
      CHECK(transactions().checkedData == std::vector<void*>{&w.checkerData});
    }
    std::lock_guard lock(received().mutex);
    CHECK(received().ids == std::vector<std::string>{result.msgId});
    CHECK(received().bodies == std::vector<std::string>{"undecided"});
  }

  TEST_CASE("a failed transactional send returns PRODUCER_SEND_TRANSACTION_FAILED and says why") {
    TxWorld w;
    CSendResult result{};
    CHECK(w.send("", &result) == PRODUCER_SEND_TRANSACTION_FAILED);
    CHECK(std::string(GetLatestErrorMessage()).find("body") != std::string::npos);
    CMessage* msg = CreateMessage("Orders");
    SetMessageBody(msg, "half");
    CProducer* plain = CreateProducer("compat-c-plain");
    CHECK(SendMessageTransaction(plain, msg, commitAll, nullptr, &result) ==
          PRODUCER_SEND_TRANSACTION_FAILED);
    CHECK(std::string(GetLatestErrorMessage()).find("CreateTransactionProducer") != std::string::npos);
    DestroyProducer(plain);
    DestroyMessage(msg);
    CHECK(ackmq::testing::transactionStats(w.broker.broker).prepared == 0);
    std::lock_guard lock(transactions().mutex);
    CHECK(transactions().executedBodies.empty());
  }

  TEST_CASE("without a checker, as the client does, no local transaction runs and the half stays open") {
    TxWorld w(nullptr);
    CSendResult result{};
    REQUIRE(w.send("commit", &result) == OK);
    CHECK(result.sendStatus == E_SEND_OK);
    CHECK(w.stored().empty());
    CHECK(ackmq::testing::transactionStats(w.broker.broker).pending == 1);
    std::lock_guard lock(transactions().mutex);
    CHECK(transactions().executedBodies.empty());
  }

  TEST_CASE("the C pull consumer lists queues, pulls, and releases what it returned") {
    World w;
    int queue = 1;
    CSendResult result{};
    for (const char* body : {"p0", "p1", "p2"})
      REQUIRE(SendMessageOrderly(w.producer, w.message(body), queueFromArg, &queue, 1, &result) == OK);
    CPullConsumer* consumer = CreatePullConsumer("compat-c-readers");
    REQUIRE(SetPullConsumerNameServerAddress(consumer, w.broker.address.c_str()) == OK);
    REQUIRE(StartPullConsumer(consumer) == OK);
    CMessageQueue* mqs = nullptr;
    int size = 0;
    REQUIRE(FetchSubscriptionMessageQueues(consumer, "Orders", &mqs, &size) == OK);
    REQUIRE(size == 4);
    CHECK(std::string(mqs[1].topic) == "Orders");
    CHECK(mqs[1].queueId == 1);
    CPullResult pulled = Pull(consumer, &mqs[1], "*", 0, 2);
    CHECK(pulled.pullStatus == E_FOUND);
    REQUIRE(pulled.size == 2);
    CHECK(std::string(GetMessageBody(pulled.msgFoundList[0])) == "p0");
    CHECK(std::string(GetMessageStoreHost(pulled.msgFoundList[0])) == "127.0.0.1:10911");
    CHECK(GetMessageQueueOffset(pulled.msgFoundList[1]) == 1);
    CHECK(pulled.nextBeginOffset == 2);
    CHECK(ReleasePullResult(pulled) == OK);
    pulled = Pull(consumer, &mqs[1], "*", 3, 2);
    CHECK(pulled.pullStatus == E_NO_NEW_MSG);
    CHECK(ReleasePullResult(pulled) == OK);
    CMessageQueue* none = nullptr;
    CHECK(FetchSubscriptionMessageQueues(consumer, "Nowhere", &none, &size) == PULLCONSUMER_FETCH_MQ_FAILED);
    CHECK(none == nullptr);
    CHECK(ReleaseSubscriptionMessageQueue(mqs) == OK);
    CHECK(ShutdownPullConsumer(consumer) == OK);
    CHECK(DestroyPullConsumer(consumer) == OK);
  }

  TEST_CASE("every C function answers NULL_POINTER for a null pointer") {
    CMessage* msg = CreateMessage("Orders");
    CSendResult result{};
    CHECK(CreateProducer(nullptr) == nullptr);
    CHECK(CreateTransactionProducer(nullptr, checkNothing, nullptr) == nullptr);
    CHECK(CreatePushConsumer(nullptr) == nullptr);
    CHECK(CreatePullConsumer(nullptr) == nullptr);
    CHECK(DestroyProducer(nullptr) == NULL_POINTER);
    CHECK(StartProducer(nullptr) == NULL_POINTER);
    CHECK(ShutdownProducer(nullptr) == NULL_POINTER);
    CHECK(SetProducerNameServerAddress(nullptr, "a") == NULL_POINTER);
    CHECK(SetProducerNameServerDomain(nullptr, "a") == NULL_POINTER);
    CHECK(SetProducerGroupName(nullptr, "a") == NULL_POINTER);
    CHECK(SetProducerInstanceName(nullptr, "a") == NULL_POINTER);
    CHECK(SetProducerSessionCredentials(nullptr, "a", "b", "c") == NULL_POINTER);
    CHECK(SetProducerLogPath(nullptr, "a") == NULL_POINTER);
    CHECK(SetProducerLogFileNumAndSize(nullptr, 1, 1) == NULL_POINTER);
    CHECK(SetProducerLogLevel(nullptr, E_LOG_LEVEL_INFO) == NULL_POINTER);
    CHECK(SetProducerSendMsgTimeout(nullptr, 1) == NULL_POINTER);
    CHECK(SetProducerCompressLevel(nullptr, 1) == NULL_POINTER);
    CHECK(SetProducerMaxMessageSize(nullptr, 1) == NULL_POINTER);
    CHECK(SetProducerMessageTrace(nullptr, OPEN) == NULL_POINTER);
    CHECK(SetProducerSsl(nullptr, 1) == NULL_POINTER);
    CHECK(SetProducerSslPropertyFile(nullptr, "a") == NULL_POINTER);
    CHECK(SendMessageSync(nullptr, msg, &result) == NULL_POINTER);
    CHECK(SendBatchMessage(nullptr, nullptr, &result) == NULL_POINTER);
    CHECK(SendMessageAsync(nullptr, msg, onSent, onFailed) == NULL_POINTER);
    CHECK(SendAsync(nullptr, msg, onSentWith, onFailedWith, nullptr) == NULL_POINTER);
    CHECK(SendMessageOneway(nullptr, msg) == NULL_POINTER);
    CHECK(SendMessageOnewayOrderly(nullptr, msg, queueFromArg, nullptr) == NULL_POINTER);
    CHECK(SendMessageOrderly(nullptr, msg, queueFromArg, nullptr, 1, &result) == NULL_POINTER);
    CHECK(SendMessageOrderlyAsync(nullptr, msg, queueFromArg, nullptr, onSent, onFailed) == NULL_POINTER);
    CHECK(SendMessageOrderlyByShardingKey(nullptr, msg, "k", &result) == NULL_POINTER);
    CHECK(SendMessageTransaction(nullptr, msg, commitAll, nullptr, &result) == NULL_POINTER);
    CHECK(DestroyMessage(nullptr) == NULL_POINTER);
    CHECK(SetMessageTopic(nullptr, "t") == NULL_POINTER);
    CHECK(SetMessageTags(nullptr, "t") == NULL_POINTER);
    CHECK(SetMessageKeys(nullptr, "k") == NULL_POINTER);
    CHECK(SetMessageBody(nullptr, "b") == NULL_POINTER);
    CHECK(SetByteMessageBody(nullptr, "b", 1) == NULL_POINTER);
    CHECK(SetMessageProperty(nullptr, "k", "v") == NULL_POINTER);
    CHECK(SetDelayTimeLevel(nullptr, 1) == NULL_POINTER);
    CHECK(GetOriginMessageTopic(nullptr) == nullptr);
    CHECK(GetMessageTopic(nullptr) == nullptr);
    CHECK(GetMessageId(nullptr) == nullptr);
    CHECK(GetMessageBodyLength(nullptr) == 0);
    CHECK(AddMessage(nullptr, msg) == NULL_POINTER);
    CHECK(DestroyBatchMessage(nullptr) == NULL_POINTER);
    CHECK(DestroyPushConsumer(nullptr) == NULL_POINTER);
    CHECK(StartPushConsumer(nullptr) == NULL_POINTER);
    CHECK(ShutdownPushConsumer(nullptr) == NULL_POINTER);
    CHECK(SetPushConsumerGroupID(nullptr, "g") == NULL_POINTER);
    CHECK(GetPushConsumerGroupID(nullptr) == nullptr);
    CHECK(SetPushConsumerNameServerAddress(nullptr, "a") == NULL_POINTER);
    CHECK(SetPushConsumerNameServerDomain(nullptr, "a") == NULL_POINTER);
    CHECK(Subscribe(nullptr, "t", "*") == NULL_POINTER);
    CHECK(RegisterMessageCallback(nullptr, ignoreMessage) == NULL_POINTER);
    CHECK(RegisterMessageCallbackOrderly(nullptr, ignoreMessage) == NULL_POINTER);
    CHECK(UnregisterMessageCallback(nullptr) == NULL_POINTER);
    CHECK(UnregisterMessageCallbackOrderly(nullptr) == NULL_POINTER);
    CHECK(SetPushConsumerThreadCount(nullptr, 1) == NULL_POINTER);
    CHECK(SetPushConsumerMessageBatchMaxSize(nullptr, 1) == NULL_POINTER);
    CHECK(SetPushConsumerInstanceName(nullptr, "i") == NULL_POINTER);
    CHECK(SetPushConsumerSessionCredentials(nullptr, "a", "b", "c") == NULL_POINTER);
    CHECK(SetPushConsumerLogPath(nullptr, "p") == NULL_POINTER);
    CHECK(SetPushConsumerLogFileNumAndSize(nullptr, 1, 1) == NULL_POINTER);
    CHECK(SetPushConsumerLogLevel(nullptr, E_LOG_LEVEL_INFO) == NULL_POINTER);
    CHECK(SetPushConsumerMessageModel(nullptr, CLUSTERING) == NULL_POINTER);
    CHECK(SetPushConsumerMaxCacheMessageSize(nullptr, 1) == NULL_POINTER);
    CHECK(SetPushConsumerMaxCacheMessageSizeInMb(nullptr, 1) == NULL_POINTER);
    CHECK(SetPushConsumerMessageTrace(nullptr, OPEN) == NULL_POINTER);
    CHECK(SetPushConsumerSsl(nullptr, 1) == NULL_POINTER);
    CHECK(SetPushConsumerSslPropertyFile(nullptr, "f") == NULL_POINTER);
    CHECK(DestroyPullConsumer(nullptr) == NULL_POINTER);
    CHECK(StartPullConsumer(nullptr) == NULL_POINTER);
    CHECK(ShutdownPullConsumer(nullptr) == NULL_POINTER);
    CHECK(SetPullConsumerGroupID(nullptr, "g") == NULL_POINTER);
    CHECK(GetPullConsumerGroupID(nullptr) == nullptr);
    CHECK(SetPullConsumerNameServerAddress(nullptr, "a") == NULL_POINTER);
    CHECK(SetPullConsumerNameServerDomain(nullptr, "a") == NULL_POINTER);
    CHECK(SetPullConsumerSessionCredentials(nullptr, "a", "b", "c") == NULL_POINTER);
    CHECK(SetPullConsumerLogPath(nullptr, "p") == NULL_POINTER);
    CHECK(SetPullConsumerLogFileNumAndSize(nullptr, 1, 1) == NULL_POINTER);
    CHECK(SetPullConsumerLogLevel(nullptr, E_LOG_LEVEL_INFO) == NULL_POINTER);
    CHECK(SetPullConsumerSsl(nullptr, 1) == NULL_POINTER);
    CHECK(SetPullConsumerSslPropertyFile(nullptr, "f") == NULL_POINTER);
    CMessageQueue* mqs = nullptr;
    int size = 0;
    CHECK(FetchSubscriptionMessageQueues(nullptr, "t", &mqs, &size) == NULL_POINTER);
    CHECK(ReleaseSubscriptionMessageQueue(nullptr) == NULL_POINTER);
    CHECK(Pull(nullptr, nullptr, "*", 0, 1).pullStatus == E_BROKER_TIMEOUT);
    CHECK(std::string(ShowProducerVersion(nullptr)) == DEFAULT_SDK_VERSION);
    DestroyMessage(msg);
  }

  TEST_CASE("null arguments and out-of-range values answer NULL_POINTER too") {
    CProducer* producer = CreateProducer("compat-c-producers");
    CPushConsumer* consumer = CreatePushConsumer("compat-c-consumers");
    CPullConsumer* puller = CreatePullConsumer("compat-c-readers");
    CSendResult result{};
    CHECK(SetProducerNameServerAddress(producer, nullptr) == NULL_POINTER);
    CHECK(SetProducerSendMsgTimeout(producer, 0) == NULL_POINTER);
    CHECK(SetProducerMaxMessageSize(producer, -1) == NULL_POINTER);
    CHECK(SetProducerCompressLevel(producer, 10) == NULL_POINTER);
    CHECK(SetProducerLogFileNumAndSize(producer, 0, 1) == NULL_POINTER);
    CHECK(SetProducerLogLevel(producer, static_cast<CLogLevel>(0)) == NULL_POINTER);
    CHECK(SendMessageSync(producer, nullptr, &result) == NULL_POINTER);
    CHECK(SendMessageSync(producer, nullptr, nullptr) == NULL_POINTER);
    CHECK(SendMessageAsync(producer, nullptr, onSent, nullptr) == NULL_POINTER);
    CHECK(SendMessageOrderly(producer, nullptr, nullptr, nullptr, 1, &result) == NULL_POINTER);
    CHECK(SetPushConsumerThreadCount(consumer, 0) == NULL_POINTER);
    CHECK(SetPushConsumerMessageBatchMaxSize(consumer, 0) == NULL_POINTER);
    CHECK(SetPushConsumerMaxCacheMessageSize(consumer, 0) == NULL_POINTER);
    CHECK(SetPushConsumerMaxCacheMessageSizeInMb(consumer, -2) == NULL_POINTER);
    CHECK(Subscribe(consumer, "t", nullptr) == NULL_POINTER);
    CHECK(RegisterMessageCallback(consumer, nullptr) == NULL_POINTER);
    CHECK(FetchSubscriptionMessageQueues(puller, nullptr, nullptr, nullptr) == NULL_POINTER);
    CHECK(SetPushConsumerGroupID(consumer, "renamed") == OK);
    CHECK(std::string(GetPushConsumerGroupID(consumer)) == "renamed");
    CHECK(SetPushConsumerThreadCount(consumer, 2) == OK);
    CHECK(SetPushConsumerMessageModel(consumer, BROADCASTING) == OK);
    CHECK(std::string(ShowPushConsumerVersion(consumer)).find("ackmq") != std::string::npos);
    DestroyPullConsumer(puller);
    DestroyPushConsumer(consumer);
    DestroyProducer(producer);
  }
}
