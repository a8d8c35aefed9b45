/* rocketmq-client-cpp compatibility (ackmq): what a C local transaction answers. */
#ifndef ACKMQ_COMPAT_C_TRANSACTION_STATUS_H
#define ACKMQ_COMPAT_C_TRANSACTION_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum E_CTransactionStatus {
  E_COMMIT_TRANSACTION = 0,
  E_ROLLBACK_TRANSACTION = 1,
  E_UNKNOWN_TRANSACTION = 2,
} CTransactionStatus;

#ifdef __cplusplus
}
#endif

#endif /* ACKMQ_COMPAT_C_TRANSACTION_STATUS_H */
