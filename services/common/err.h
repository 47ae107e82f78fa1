/*
 * err.h: brr's error codes, one X-macro table.
 *
 * Every fallible function in brr returns int: 0 on success or a negative
 * BRR_E* code from this table (libuv's UV_ERRNO_MAP pattern).  The code goes
 * up to the caller, which decides the reaction: applied, retry in place
 * (brr_err_is_transient), or dead-letter (everything else).
 */
#ifndef BRR_ERR_H
#define BRR_ERR_H

/* XX(name, value, transient, message) */
#define BRR_ERRNO_MAP(XX)                                                      \
    XX(INVAL, -1, 0, "invalid argument")                                       \
    XX(NOMEM, -2, 0, "out of memory")                                          \
    XX(RANGE, -3, 0, "value out of range")                                     \
    XX(OVERFLOW, -4, 0, "arithmetic overflow")                                 \
    XX(PARSE, -5, 0, "could not parse input")                                  \
    XX(NOTFOUND, -6, 0, "not found")                                           \
    XX(EXISTS, -7, 0, "already exists")                                        \
    XX(CONFLICT, -8, 0, "conflicting request")                                 \
    XX(IO, -9, 1, "input/output error")                                        \
    XX(DB, -10, 0, "database error")                                           \
    XX(DBTRANSIENT, -11, 1, "transient database error")                        \
    XX(KAFKA, -12, 0, "kafka error")                                           \
    XX(KAFKATRANSIENT, -13, 1, "transient kafka error")                        \
    XX(TIMEOUT, -14, 1, "timed out")                                           \
    XX(TLS, -15, 0, "tls error")                                               \
    XX(HTTP, -16, 1, "http error")                                             \
    XX(CONFIG, -17, 0, "invalid configuration")                                \
    XX(CRYPTO, -18, 0, "cryptographic failure")                                \
    XX(DECODE, -19, 0, "could not decode message")                             \
    XX(REFUSED, -20, 0, "refused by rule")                                     \
    XX(BUSY, -21, 1, "resource busy")                                          \
    XX(PARKED, -22, 0, "key is parked")                                        \
    XX(INTERNAL, -23, 0, "internal error")

typedef enum {
    BRR_OK = 0,
#define XX(name, value, transient, msg) BRR_E##name = value,
    BRR_ERRNO_MAP(XX)
#undef XX
} brr_err_t;

/* Human-readable text for rc; "unknown error" for codes outside the table. */
const char *brr_strerror(int rc);

/* Symbolic name ("EINVAL", ...) for rc; "EUNKNOWN" outside the table. */
const char *brr_err_name(int rc);

/* Nonzero when the failure may succeed if retried in place (database or
 * broker down, timeouts); zero for failures that will never succeed. */
int brr_err_is_transient(int rc);

#endif
