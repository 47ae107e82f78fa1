/*
 * orgsim.h: the organisation simulator (brr-orgsim), a test fixture that
 * plays every participating organisation's webhook endpoint.
 *
 * brr-connector delivers CloudEvents to POST /orgs/<CODE>/events over
 * mutual TLS; the simulator checks them the way a careful organisation
 * would (client certificate, content type, Standard Webhooks signature and
 * timestamp, CloudEvent shape, no BSN) and records what each organisation
 * received in PostgreSQL (schema orgsim) so end-to-end tests can assert on
 * it.  Faults are injected per organisation through its admin port.
 *
 * This header holds the pure checks (orgsim_check.c, unit-tested) and the
 * store (orgsim_store.c).
 */
#ifndef BRR_ORGSIM_H
#define BRR_ORGSIM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>
#include <uv.h>

/* ---- pure checks (orgsim_check.c) ---- */

/* Nonzero when s holds a standalone run of exactly 9 digits (neither
 * neighbour a letter, digit or '_') that passes the BSN elfproef.  Longer
 * digit runs and runs inside tokens (UUIDs, hex) are not BSNs. */
int orgsim_has_bsn(const char *s, size_t len);

/* Decodes the shared secret: "whsec_<base64>" as Standard Webhooks
 * secrets are written, anything else taken as raw bytes.  *key is
 * malloc'd.  0 or BRR_EPARSE (bad base64). */
int orgsim_secret_decode(const char *secret, unsigned char **key,
                         size_t *keylen);

/* Verifies a Standard Webhooks signature header ("v1,<base64>" entries
 * separated by spaces; any one matching is enough) over
 * "<id>.<timestamp>.<body>" with HMAC-SHA256 under key.  0 or
 * BRR_EREFUSED. */
int orgsim_signature_ok(const unsigned char *key, size_t keylen, const char *id,
                        size_t idlen, const char *ts, size_t tslen,
                        const char *body, size_t bodylen, const char *sig,
                        size_t siglen);

/* Writes the "v1,<base64>" signature (for tests and tools); out needs 48
 * bytes.  Returns the length. */
size_t orgsim_signature_make(const unsigned char *key, size_t keylen,
                             const char *id, const char *ts, const char *body,
                             size_t bodylen, char *out);

/* Nonzero when ts (decimal seconds since the epoch) is within window
 * seconds of now, either way. */
int orgsim_timestamp_ok(const char *ts, size_t len, time_t now, long window);

/* The parts of a CloudEvent the simulator records; strings point into
 * the caller-provided storage and live as long as it. */
typedef struct {
    char id[37];
    char type[128];
    char source[256];
    char subject[128]; /* the arrangement id */
    int64_t sequence;
} orgsim_event_t;

/* Parses a structured-mode CloudEvent (JSON): specversion "1.0", id a
 * UUID, source, type and subject non-empty strings, sequence an integer or
 * a string of digits, data an object.  0, or BRR_EPARSE with a short
 * reason in why. */
int orgsim_event_parse(const char *body, size_t len, orgsim_event_t *ev,
                       char *why, size_t whycap);

/* ---- store (orgsim_store.c) ---- */

typedef struct orgsim_store orgsim_store_t;

typedef enum {
    ORGSIM_STORED = 0,   /* first delivery, in order */
    ORGSIM_OUT_OF_ORDER, /* first delivery, sequence below the last seen */
    ORGSIM_DUPLICATE,    /* seen before: counted, no effect */
} orgsim_store_result_t;

/* Creates the store (connects lazily). */
orgsim_store_t *orgsim_store_new(const char *dsn);
void orgsim_store_free(orgsim_store_t *st);

/* Connects if needed, creating the schema and preparing statements on a
 * new connection.  0 or BRR_EDBTRANSIENT. */
int orgsim_store_ensure(orgsim_store_t *st);

/* Nonzero when connected. */
int orgsim_store_ok(orgsim_store_t *st);

/* Records one delivery.  0 with *res set, or BRR_EDBTRANSIENT/BRR_EDB. */
int orgsim_store_event(orgsim_store_t *st, const char *org,
                       const orgsim_event_t *ev, const char *body, size_t len,
                       orgsim_store_result_t *res);

/* Called once per queued delivery when its batch is done: rc 0 with the
 * verdict, or BRR_EDBTRANSIENT/BRR_EDB. */
typedef void (*orgsim_store_cb)(void *arg, int rc, orgsim_store_result_t res);

/* Batches on loop: every delivery queued during one turn of the loop is
 * recorded with one statement and one commit right after that turn's I/O,
 * in the order queued and with the same verdicts as one by one. */
void orgsim_store_attach(orgsim_store_t *st, uv_loop_t *loop);

/* Queues one delivery (everything is copied) for the current batch; cb
 * runs from the loop once the batch is recorded.  Needs
 * orgsim_store_attach. */
void orgsim_store_event_async(orgsim_store_t *st, const char *org,
                              const orgsim_event_t *ev, const char *body,
                              size_t len, orgsim_store_cb cb, void *arg);

/* Counts a rejected delivery under reason. */
int orgsim_store_rejection(orgsim_store_t *st, const char *org,
                           const char *reason);

#endif
