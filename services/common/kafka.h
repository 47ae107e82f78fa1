/*
 * kafka.h: librdkafka producer and consumer on the service's libuv loop.
 *
 * librdkafka runs its own threads; our code runs on one loop thread.  The
 * two meet through rd_kafka_queue_io_event_enable(): librdkafka writes a
 * byte to a pipe when a queue turns non-empty, a uv_poll_t on the pipe wakes
 * the loop, and the loop drains the queue (delivery reports for the
 * producer, message batches for the consumer).  A slow timer drains too, as
 * a safety net for a wake-up lost to a full pipe.
 *
 * Producer: idempotent (enable.idempotence=true, acks=all),
 * partitioner=murmur2_random (Java clients agree on partitions), linger a
 * few ms for batching.  A fatal idempotence error (Debian's librdkafka 2.0.2
 * can raise one under network faults) marks the producer for recreation;
 * the outbox relay then republishes whatever was not confirmed.
 *
 * Consumer: manual offset store (enable.auto.offset.store=false): offsets
 * are stored only after the batch's database transaction committed, and
 * auto-commit sends the stored ones.  Static membership
 * (group.instance.id: the instance id and a hash of the subscription, so
 * a release that subscribes to another topic joins as a new member) and a
 * 10 s session timeout make a restart resume within seconds.
 * BRR_KAFKA_<property> variables pass through to both.
 */
#ifndef BRR_KAFKA_H
#define BRR_KAFKA_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include <uv.h>

/* ---- CloudEvents Kafka binding (binary mode) ---------------------------- */

typedef struct {
    const char *id;          /* UUIDv7 */
    const char *source;      /* e.g. "/brr/intake" */
    const char *type;        /* "nl.rijksoverheid.brr.<event>" */
    const char *subject;     /* may be NULL */
    const char *time;        /* RFC 3339; NULL: now */
    const char *traceparent; /* may be NULL */
} brr_ce_t;

/* A new header list with ce_specversion, ce_id, ce_source, ce_type,
 * ce_time, ce_subject, content-type application/protobuf and traceparent.
 * Owned by the caller until handed to brr_kp_produce(). */
rd_kafka_headers_t *brr_ce_headers(const brr_ce_t *ce);

/* Copies header name's value (NUL-terminated) into buf; 0, BRR_ENOTFOUND
 * or BRR_ERANGE when it does not fit. */
int brr_kafka_header(const rd_kafka_message_t *rkm, const char *name, char *buf,
                     size_t cap);

/* Current time as RFC 3339 UTC with milliseconds into buf (>= 32 bytes). */
void brr_rfc3339_now(char *buf, size_t cap);

/* Milliseconds since the epoch (wall clock). */
int64_t brr_now_ms(void);

/* ---- producer ----------------------------------------------------------- */

typedef struct brr_kp brr_kp_t;

/* Called on the loop thread once per produced message.  err is
 * RD_KAFKA_RESP_ERR_NO_ERROR when the broker has it durably. */
typedef void (*brr_kp_dr_cb)(void *arg, void *msg_opaque,
                             rd_kafka_resp_err_t err);

int brr_kp_new(uv_loop_t *loop, const char *brokers, const char *client_id,
               brr_kp_dr_cb cb, void *arg, brr_kp_t **out);

/* Produces one message.  On success hdrs is owned by the producer; on
 * failure the caller still owns it.  BRR_EKAFKATRANSIENT when the local
 * queue is full or the producer must be recreated: try again later. */
int brr_kp_produce(brr_kp_t *kp, const char *topic, const char *key,
                   size_t keylen, const void *val, size_t len,
                   rd_kafka_headers_t *hdrs, void *opaque);

/* Serves delivery reports now (also done by the loop on its own). */
void brr_kp_poll(brr_kp_t *kp);

/* 1 after a fatal error: call brr_kp_recreate() once nothing is waiting. */
int brr_kp_fatal(const brr_kp_t *kp);

/* Destroys the failed instance (outstanding messages get their delivery
 * report with an error) and creates a fresh one with the same settings. */
int brr_kp_recreate(brr_kp_t *kp);

/* Messages produced and not yet reported. */
int brr_kp_outstanding(const brr_kp_t *kp);

/* Waits up to timeout_ms for outstanding messages, then destroys.  The
 * uv handles are closed and kp freed once libuv has finished with them. */
void brr_kp_close(brr_kp_t *kp, int timeout_ms);

/* The underlying handle, for the admin API and metadata. */
rd_kafka_t *brr_kp_handle(brr_kp_t *kp);

/* ---- consumer ----------------------------------------------------------- */

typedef struct brr_kc brr_kc_t;

/* A batch of messages, in partition order.  The callee owns the messages
 * (rd_kafka_message_destroy) and the array is only valid during the call:
 * copy the pointers to keep them. */
typedef void (*brr_kc_batch_cb)(void *arg, rd_kafka_message_t **msgs, size_t n);

/* topics: names, or regular expressions starting with '^'. */
int brr_kc_new(uv_loop_t *loop, const char *brokers, const char *group,
               const char *instance_id, const char *const *topics,
               size_t ntopics, brr_kc_t **out);

/* Starts handing batches of up to max_batch messages to cb. */
void brr_kc_start(brr_kc_t *kc, size_t max_batch, brr_kc_batch_cb cb,
                  void *arg);

/* Stops handing batches (a batch is being retried) / starts again. */
void brr_kc_hold(brr_kc_t *kc);
void brr_kc_resume(brr_kc_t *kc);

/* Stores offsets after the batch committed: the highest offset + 1 per
 * partition among msgs. */
int brr_kc_store(brr_kc_t *kc, rd_kafka_message_t *const *msgs, size_t n);

/* Number of partitions currently assigned (for /readyz). */
int brr_kc_assigned(const brr_kc_t *kc);

/* Commits stored offsets, leaves the group and frees kc; uv handles are
 * closed and kc freed once libuv has finished with them. */
void brr_kc_close(brr_kc_t *kc);

rd_kafka_t *brr_kc_handle(brr_kc_t *kc);

/* Applies BRR_KAFKA_* pass-through properties and common defaults to conf;
 * returns BRR_ECONFIG with a message in err on a bad property. */
int brr_kafka_conf_apply(rd_kafka_conf_t *conf, char *err, size_t cap);

#endif
