/*
 * backoff.h: when brr-connector tries a failed delivery again, and when it
 * stops trying.
 *
 * Pure rules, no I/O: exponential backoff with full jitter (AWS's "full
 * jitter": delay = random(0, min(cap, base * 2^attempt))), the give-up
 * decision after a maximum age (72 hours by default, then the key is parked),
 * and Retry-After parsing (RFC 9110 §10.2.3: delta-seconds or an HTTP-date)
 * with an upper bound so a receiver cannot stall a key for months.  The
 * caller supplies the random value and the clock, so every branch is
 * testable.
 */
#ifndef CONN_BACKOFF_H
#define CONN_BACKOFF_H

#include <stdint.h>

#define CONN_BACKOFF_BASE_MS 1000u
#define CONN_BACKOFF_CAP_MS (60u * 60u * 1000u)
#define CONN_BACKOFF_MAX_AGE_MS (72ull * 60u * 60u * 1000u)
#define CONN_RETRY_AFTER_MAX_S (6u * 60u * 60u)

typedef struct {
    uint64_t base_ms;    /* first ceiling; 0 means CONN_BACKOFF_BASE_MS */
    uint64_t cap_ms;     /* largest ceiling; 0 means CONN_BACKOFF_CAP_MS */
    uint64_t max_age_ms; /* give up after; 0 means CONN_BACKOFF_MAX_AGE_MS */
} conn_backoff_t;

/* Fills bo with the defaults: 1 s base, 1 h cap, 72 h maximum age. */
void conn_backoff_defaults(conn_backoff_t *bo);

/* The ceiling min(cap, base * 2^attempt) for attempt (0 = the first retry),
 * saturating instead of overflowing for any attempt number. */
uint64_t conn_backoff_ceiling_ms(const conn_backoff_t *bo, uint32_t attempt);

/* The full-jitter delay for attempt: rnd reduced to [0, ceiling] (uniform
 * up to a bias of ceiling/2^64).  rnd is any 64-bit random value. */
uint64_t conn_backoff_delay_ms(const conn_backoff_t *bo, uint32_t attempt,
                               uint64_t rnd);

/* Nonzero when an event first attempted at first_ms should be given up
 * (parked) at now_ms: its age has reached max_age_ms.  A clock that went
 * backwards (now_ms < first_ms) never gives up. */
int conn_backoff_give_up(const conn_backoff_t *bo, uint64_t first_ms,
                         uint64_t now_ms);

/* When to try next: now_ms plus the jittered delay, or plus retry_after_s
 * seconds when that is >= 0 (a receiver's Retry-After wins over our own
 * schedule); never later than the give-up moment first_ms + max_age_ms, so
 * the last attempt happens at the deadline rather than not at all. */
uint64_t conn_backoff_next_ms(const conn_backoff_t *bo, uint32_t attempt,
                              uint64_t rnd, int64_t retry_after_s,
                              uint64_t first_ms, uint64_t now_ms);

/* Parses a Retry-After value: delta-seconds ("120") or an HTTP-date
 * (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", and the obsolete RFC 850 and
 * asctime forms RFC 9110 says a recipient must accept).  now_s is the
 * current Unix time for dates; a date in the past gives 0.  The result is
 * clamped to max_s (0 means CONN_RETRY_AFTER_MAX_S).  Surrounding
 * whitespace is allowed.  Returns 0 and sets *out_s, or BRR_EPARSE. */
int conn_retry_after_parse(const char *value, int64_t now_s, uint32_t max_s,
                           uint32_t *out_s);

/* Parses an HTTP-date (the three forms above) into Unix seconds; 0 or
 * BRR_EPARSE.  Exposed for the tests and the simulator. */
int conn_http_date_parse(const char *value, int64_t *out_s);

#endif
