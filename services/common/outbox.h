/*
 * outbox.h: the transactional outbox (ARCHITECTURE §3) and its relay.
 *
 * A service never produces to Kafka from its business logic.  It adds the
 * resulting events to a brr_outbox_t while handling a batch, and the rows
 * are inserted (one multi-row statement) in the same transaction as the
 * change itself.  The relay, one per schema at a time (advisory lock),
 * publishes unpublished rows in id order with the idempotent producer and
 * marks them published from the delivery reports.  A crash anywhere means
 * at worst a row published twice; consumers drop repeats in their inbox.
 */
#ifndef BRR_OUTBOX_H
#define BRR_OUTBOX_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "pg.h"

typedef struct brr_outbox brr_outbox_t;

/* An outbox buffer for schema (e.g. "capacity"); source is the CloudEvents
 * source of this service (e.g. "/brr/capacity"). */
brr_outbox_t *brr_outbox_new(const char *schema, const char *source);
void brr_outbox_free(brr_outbox_t *ob);

/* Adds an event: the protobuf message packed as payload, CloudEvents
 * headers built from the arguments (ce_type "nl.rijksoverheid.brr.<type>",
 * ce_subject aggregateid).  Writes the new event id into id_out when not
 * NULL (37 bytes).  traceparent may be NULL. */
void brr_outbox_add(brr_outbox_t *ob, const char *topic, const char *key,
                    const char *aggregatetype, const char *aggregateid,
                    const char *type, const ProtobufCMessage *msg,
                    const char *traceparent, char *id_out);

/* Adds a row with a given payload and header set (a JSON object text of
 * string values, e.g. a dead letter carrying the original ce_id). */
void brr_outbox_add_raw(brr_outbox_t *ob, const char *topic, const char *key,
                        const char *aggregatetype, const char *aggregateid,
                        const char *type, const void *payload, size_t len,
                        const char *headers_json);

size_t brr_outbox_count(const brr_outbox_t *ob);

/* Queues the INSERT of every buffered row on pp and empties the buffer. */
void brr_outbox_queue(brr_outbox_t *ob, brr_pg_pipe_t *pp);

/* Drops the buffered rows (the transaction rolled back). */
void brr_outbox_clear(brr_outbox_t *ob);

/* ---- relay -------------------------------------------------------------- */

typedef struct brr_relay brr_relay_t;

/* Starts the relay for schema on loop with its own Postgres connection and
 * producer.  A cycle is one round trip on the loop (brr_pg_pipe_start):
 * mark the batch Kafka confirmed and select the next, in one implicit
 * transaction; the service's loop goes on meanwhile.  retention_s: published
 * rows older than this are purged. */
int brr_relay_start(uv_loop_t *loop, const char *dsn, const char *schema,
                    const char *brokers, const char *client_id, int retention_s,
                    brr_relay_t **out);

/* Tells the relay that rows were committed: it runs a cycle now instead of
 * waiting for its next tick. */
void brr_relay_kick(brr_relay_t *rl);

/* 1 while the relay holds the schema's lock and its database is up. */
int brr_relay_ready(const brr_relay_t *rl);

/* Rows published since start. */
unsigned long long brr_relay_published(const brr_relay_t *rl);

/* Batches published since start (each one a produce request per broker). */
unsigned long long brr_relay_batches(const brr_relay_t *rl);

/* Waits up to timeout_ms for in-flight rows, then stops and frees. */
void brr_relay_stop(brr_relay_t *rl, int timeout_ms);

#endif
