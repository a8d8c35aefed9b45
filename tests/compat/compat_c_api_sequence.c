/* The C API's life cycle, written in C as a C program would: create, configure, start, send, subscribe,
 * receive through a callback, shut down, destroy. The C++ test drives it and checks what arrived. */
#include <string.h>

#include "CErrorMessage.h"
#include "CMessage.h"
#include "CProducer.h"
#include "CPushConsumer.h"
#include "CSendResult.h"

/* Defined by the test: told of every message the consumer's callback receives. */
void compat_c_on_message(const char* msgId, const char* topic, const char* tags, const char* body,
                         int bodyLength, int reconsumeTimes);

static int on_message(CPushConsumer* consumer, CMessageExt* msg) {
  (void)consumer;
  compat_c_on_message(GetMessageId(msg), GetMessageTopic(msg), GetMessageTags(msg), GetMessageBody(msg),
                      GetMessageBodyLength(msg), GetMessageReconsumeTimes(msg));
  return E_CONSUME_SUCCESS;
}

CPushConsumer* compat_c_start_consumer(const char* namesrv, const char* group, const char* topic,
                                       int orderly) {
  CPushConsumer* consumer = CreatePushConsumer(group);
  if (consumer == NULL) return NULL;
  if (SetPushConsumerNameServerAddress(consumer, namesrv) != OK || Subscribe(consumer, topic, "*") != OK ||
      (orderly ? RegisterMessageCallbackOrderly(consumer, on_message)
               : RegisterMessageCallback(consumer, on_message)) != OK ||
      StartPushConsumer(consumer) != OK) {
    DestroyPushConsumer(consumer);
    return NULL;
  }
  return consumer;
}

int compat_c_stop_consumer(CPushConsumer* consumer) {
  int status = ShutdownPushConsumer(consumer);
  if (status != OK) return status;
  return DestroyPushConsumer(consumer);
}

/* Sends `n` messages "message <i>" tagged "c" to `topic`, writing each id into ids[i]. OK, or the first
 * failing call's status. */
int compat_c_send(const char* namesrv, const char* topic, int n, char ids[][MAX_MESSAGE_ID_LENGTH]) {
  CProducer* producer = CreateProducer("compat-c-producers");
  int status = SetProducerNameServerAddress(producer, namesrv);
  if (status == OK) status = StartProducer(producer);
  for (int i = 0; status == OK && i < n; ++i) {
    char body[32] = "message 0";
    CMessage* msg = CreateMessage(topic);
    CSendResult result;
    body[8] = (char)('0' + i % 10);
    SetMessageTags(msg, "c");
    SetMessageBody(msg, body);
    status = SendMessageSync(producer, msg, &result);
    if (status == OK) {
      memcpy(ids[i], result.msgId, MAX_MESSAGE_ID_LENGTH);
    }
    DestroyMessage(msg);
  }
  if (status == OK) status = ShutdownProducer(producer);
  DestroyProducer(producer);
  return status;
}
