/*
 * proc.h: the consumer side of ARCHITECTURE §3, built once for every
 * service: consume a batch, and in ONE Postgres transaction drop the
 * repeats through the inbox, set aside messages of parked keys, let the
 * service apply the rest, write dead letters and the resulting outbox rows;
 * commit; only then store the offsets.
 *
 * Reactions to failure:
 *  - transient (database or broker down, timeouts): roll back and retry the
 *    same batch in place with backoff; consumption holds meanwhile;
 *  - a message the service marks as failed (undecodable, invalid): it goes
 *    to <topic>.dlq with headers naming topic, partition, offset, group,
 *    error code and text, and its key is parked: later messages for that
 *    key go to the dead letters too, in order, until an operator replays;
 *  - any other failure of the batch: roll back and apply the messages one
 *    by one, so the one that cannot succeed is found and dead-lettered.
 */
#ifndef BRR_PROC_H
#define BRR_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include "arena.h"
#include "kafka.h"
#include "outbox.h"
#include "pg.h"

typedef struct {
    rd_kafka_message_t *rkm;
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *key; /* NUL-terminated copy ("" when none) */
    const uint8_t *value;
    size_t len;
    const char *event_id;    /* ce_id */
    const char *type;        /* ce_type */
    const char *traceparent; /* "" when none */
    /* Set by the service's apply callback: 0 applied; a negative BRR_E*
     * code marks the message as one that can never succeed. */
    int rc;
    const char *error;
} brr_msg_t;

typedef struct brr_proc brr_proc_t;

/*
 * Applies new messages inside the open transaction.  Queue statements on
 * pp (run by the caller with the outbox insert and COMMIT) or run them on
 * pg directly when a result is needed now; add events to ob; allocate from
 * arena (reset after the batch).  Return 0, or a BRR_E* code for the whole
 * batch (transient: retried; other: the batch is split into single
 * messages).
 */
typedef int (*brr_proc_apply_cb)(void *arg, brr_pg_t *pg, brr_pg_pipe_t *pp,
                                 brr_msg_t *msgs, size_t n, brr_outbox_t *ob,
                                 brr_arena_t *arena);

typedef struct {
    const char *schema; /* the service's schema */
    const char *group;  /* consumer group (named in dead letters) */
    brr_proc_apply_cb apply;
    void *arg;
    brr_outbox_t *ob;             /* the service's outbox buffer */
    brr_relay_t *relay;           /* kicked after each commit; may be NULL */
    void (*committed)(void *arg); /* after each commit; may be NULL */
} brr_proc_conf_t;

/* Creates the runtime over an existing consumer and connection (not owned)
 * and starts consuming in batches of up to max_batch. */
brr_proc_t *brr_proc_start(uv_loop_t *loop, brr_kc_t *kc, brr_pg_t *pg,
                           const brr_proc_conf_t *conf, size_t max_batch);

/* Counters for /metrics. */
typedef struct {
    unsigned long long batches, messages, applied, duplicates, dead_letters,
        retries;
} brr_proc_stats_t;
void brr_proc_stats(const brr_proc_t *p, brr_proc_stats_t *out);

/* Stops (a batch being retried is dropped uncommitted: it is consumed again
 * after restart) and frees. */
void brr_proc_stop(brr_proc_t *p);

/* Builds a PostgreSQL text[] literal from n strings, quoting each. */
char *brr_pg_array_literal(const char *const *v, size_t n);

#endif
