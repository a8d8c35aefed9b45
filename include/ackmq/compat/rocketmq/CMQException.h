/* rocketmq-client-cpp compatibility (ackmq): an exception as the C API's callbacks receive it. */
#ifndef ACKMQ_COMPAT_C_MQ_EXCEPTION_H
#define ACKMQ_COMPAT_C_MQ_EXCEPTION_H

#include "CCommon.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MAX_EXEPTION_MSG_LENGTH 512
#define MAX_EXEPTION_FILE_LENGTH 256
#define MAX_EXEPTION_TYPE_LENGTH 128

typedef struct _CMQException_ {
  int error;
  int line;
  char file[MAX_EXEPTION_FILE_LENGTH];
  char msg[MAX_EXEPTION_MSG_LENGTH];
  char type[MAX_EXEPTION_TYPE_LENGTH];
} CMQException;

#ifdef __cplusplus
}
#endif

#endif /* ACKMQ_COMPAT_C_MQ_EXCEPTION_H */
