// The definitions of the rocketmq-client-cpp compatible C API, compiled once: the ackmq::rocketmq_c target
// is this file. A program that does not use CMake compiles its own copy of these lines in one C++ source.
#define ACKMQ_ROCKETMQ_C_IMPLEMENTATION
#include "CBatchMessage.h"
#include "CCommon.h"
#include "CErrorMessage.h"
#include "CMQException.h"
#include "CMessage.h"
#include "CMessageExt.h"
#include "CMessageQueue.h"
#include "CProducer.h"
#include "CPullConsumer.h"
#include "CPullResult.h"
#include "CPushConsumer.h"
#include "CSendResult.h"
#include "CTransactionStatus.h"
