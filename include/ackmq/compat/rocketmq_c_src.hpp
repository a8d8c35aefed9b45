#pragma once
// The definitions of the rocketmq-client-cpp compatible C API. Exactly one C++ source of a program includes
// this header (the ackmq::rocketmq_c target adds that source); C sources include the C headers plainly.
#define ACKMQ_ROCKETMQ_C_IMPLEMENTATION
#include "rocketmq/CBatchMessage.h"
#include "rocketmq/CCommon.h"
#include "rocketmq/CErrorMessage.h"
#include "rocketmq/CMQException.h"
#include "rocketmq/CMessage.h"
#include "rocketmq/CMessageExt.h"
#include "rocketmq/CMessageQueue.h"
#include "rocketmq/CProducer.h"
#include "rocketmq/CPullConsumer.h"
#include "rocketmq/CPullResult.h"
#include "rocketmq/CPushConsumer.h"
#include "rocketmq/CSendResult.h"
#include "rocketmq/CTransactionStatus.h"
