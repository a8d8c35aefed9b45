/* A C user's program: the installed C API (ackmq::rocketmq_c) sends one message and prints its status. */
#include <stdio.h>

#include "CMessage.h"
#include "CProducer.h"
#include "CSendResult.h"

int main(void) {
  CProducer* producer = CreateProducer("package_c_producers");
  CMessage* msg = CreateMessage("PackageC");
  CSendResult result;
  int status = -1;
  if (producer != NULL && msg != NULL && SetProducerNameServerAddress(producer, "127.0.0.1:9876") == OK &&
      StartProducer(producer) == OK && SetMessageBody(msg, "hello from C") == OK) {
    status = SendMessageSync(producer, msg, &result);
  }
  if (status == OK && result.sendStatus == E_SEND_OK) printf("C SEND_OK\n");
  if (msg != NULL) DestroyMessage(msg);
  if (producer != NULL) {
    ShutdownProducer(producer);
    DestroyProducer(producer);
  }
  return status == OK ? 0 : 1;
}
