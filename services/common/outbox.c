/*
 * outbox.c: see outbox.h.
 *
 * The buffer is a jansson array of row objects, inserted with one
 * jsonb_to_recordset() statement per batch: one parameter, any number of
 * rows, no per-row round trip.  The relay is a small state machine on the
 * loop: IDLE -> (select rows, produce all) -> WAITING for delivery reports
 * -> (mark published) -> IDLE.
 */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "err.h"
#include "jbuf.h"
#include "kafka.h"
#include "log.h"
#include "uuid.h"

struct brr_outbox {
    char *schema;
    char *source;
    char *insert_sql;
    char *insert_name; /* the prepared statement's name */
    brr_jbuf_t rows;   /* "[row,row," as JSON text; closed when queued */
    size_t n;
};

brr_outbox_t *brr_outbox_new(const char *schema, const char *source)
{
    brr_outbox_t *ob = calloc(1, sizeof(*ob));
    char sql[1024];
    if (ob == NULL)
        abort();
    ob->schema = strdup(schema);
    ob->source = strdup(source);
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s.outbox (event_id, aggregatetype, aggregateid, "
             "type, topic, key, headers, payload) "
             "SELECT event_id, aggregatetype, aggregateid, type, topic, key, "
             "headers, decode(payload, 'base64') "
             "FROM jsonb_to_recordset($1::jsonb) AS x(event_id uuid, "
             "aggregatetype text, aggregateid text, type text, topic text, "
             "key text, headers jsonb, payload text)",
             schema);
    ob->insert_sql = strdup(sql);
    snprintf(sql, sizeof(sql), "brr_outbox_insert_%s", schema);
    ob->insert_name = strdup(sql);
    if (ob->schema == NULL || ob->source == NULL || ob->insert_sql == NULL ||
        ob->insert_name == NULL)
        abort();
    brr_jbuf_init(&ob->rows);
    return ob;
}

void brr_outbox_free(brr_outbox_t *ob)
{
    if (ob == NULL)
        return;
    brr_jbuf_free(&ob->rows);
    free(ob->schema);
    free(ob->source);
    free(ob->insert_sql);
    free(ob->insert_name);
    free(ob);
}

/* One field "name":"value" and a comma. */
static void put_field(brr_jbuf_t *b, const char *name, const char *value)
{
    brr_jbuf_putc(b, '"');
    brr_jbuf_puts(b, name);
    brr_jbuf_puts(b, "\":");
    brr_jbuf_str(b, value);
    brr_jbuf_putc(b, ',');
}

/* Appends a row; headers is a JSON object's text.  Written as text, not
 * built as a jansson tree: this runs once per event on every hot path. */
static void add_row(brr_outbox_t *ob, const char *event_id, const char *topic,
                    const char *key, const char *aggregatetype,
                    const char *aggregateid, const char *type,
                    const void *payload, size_t len, const char *headers,
                    size_t headers_len)
{
    brr_jbuf_t *b = &ob->rows;
    brr_jbuf_putc(b, ob->n == 0 ? '[' : ',');
    brr_jbuf_putc(b, '{');
    put_field(b, "event_id", event_id);
    put_field(b, "aggregatetype", aggregatetype);
    put_field(b, "aggregateid", aggregateid);
    put_field(b, "type", type);
    put_field(b, "topic", topic);
    put_field(b, "key", key);
    brr_jbuf_puts(b, "\"headers\":");
    brr_jbuf_put(b, headers, headers_len);
    brr_jbuf_puts(b, ",\"payload\":\"");
    /* base64 straight into the buffer (EVP_EncodeBlock adds the NUL) */
    EVP_EncodeBlock((unsigned char *)brr_jbuf_extend(b, 4 * ((len + 2) / 3)),
                    payload, (int)len);
    brr_jbuf_puts(b, "\"}");
    ob->n++;
}

void brr_outbox_add(brr_outbox_t *ob, const char *topic, const char *key,
                    const char *aggregatetype, const char *aggregateid,
                    const char *type, const ProtobufCMessage *msg,
                    const char *traceparent, char *id_out)
{
    char id[BRR_UUID_STRLEN + 1];
    char now[40];
    char cetype[160];
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t stackbuf[1024];
    uint8_t *buf = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
    brr_jbuf_t h;

    if (buf == NULL)
        abort();
    protobuf_c_message_pack(msg, buf);
    brr_uuid_v7_str(id);
    brr_rfc3339_now(now, sizeof(now));
    snprintf(cetype, sizeof(cetype), "nl.rijksoverheid.brr.%s", type);
    brr_jbuf_init(&h);
    brr_jbuf_putc(&h, '{');
    put_field(&h, "ce_specversion", "1.0");
    put_field(&h, "ce_id", id);
    put_field(&h, "ce_source", ob->source);
    put_field(&h, "ce_type", cetype);
    put_field(&h, "ce_time", now);
    put_field(&h, "ce_subject", aggregateid);
    if (traceparent != NULL && traceparent[0] != '\0')
        put_field(&h, "traceparent", traceparent);
    brr_jbuf_puts(&h, "\"content-type\":\"application/protobuf\"}");
    add_row(ob, id, topic, key, aggregatetype, aggregateid, type, buf, len, h.p,
            h.len);
    brr_jbuf_free(&h);
    if (buf != stackbuf)
        free(buf);
    if (id_out != NULL)
        memcpy(id_out, id, sizeof(id));
}

void brr_outbox_add_raw(brr_outbox_t *ob, const char *topic, const char *key,
                        const char *aggregatetype, const char *aggregateid,
                        const char *type, const void *payload, size_t len,
                        const char *headers_json)
{
    char id[BRR_UUID_STRLEN + 1];
    json_t *h = json_loads(headers_json, 0, NULL);
    char *text;
    if (h == NULL || !json_is_object(h)) {
        json_decref(h);
        h = json_object();
    }
    /* re-serialised: only a valid object reaches the statement */
    text = json_dumps(h, JSON_COMPACT);
    json_decref(h);
    if (text == NULL)
        abort();
    brr_uuid_v7_str(id);
    add_row(ob, id, topic, key, aggregatetype, aggregateid, type, payload, len,
            text, strlen(text));
    free(text);
}

size_t brr_outbox_count(const brr_outbox_t *ob)
{
    return ob->n;
}

void brr_outbox_queue(brr_outbox_t *ob, brr_pg_pipe_t *pp)
{
    const char *params[1];
    if (ob->n == 0)
        return;
    brr_jbuf_putc(&ob->rows, ']');
    params[0] = brr_jbuf_cstr(&ob->rows);
    brr_pg_pipe_add_prepared(pp, ob->insert_name, ob->insert_sql, 1, params,
                             NULL, NULL);
    brr_outbox_clear(ob);
}

void brr_outbox_clear(brr_outbox_t *ob)
{
    brr_jbuf_reset(&ob->rows);
    ob->n = 0;
}

/* ---- relay -------------------------------------------------------------- */

#define RELAY_BATCH 5000
#define RELAY_TICK_MS 200

typedef enum { RELAY_IDLE = 0, RELAY_WAITING, RELAY_STOPPED } relay_state_t;

struct brr_relay {
    uv_loop_t *loop;
    uv_timer_t timer;
    brr_pg_t *pg;
    brr_kp_t *kp;
    char *schema;
    char *select_sql, *select_name;
    char *lock_sql;
    char *purge_sql;
    int locked;
    relay_state_t state;
    int retention_s;
    /* the batch in flight */
    long long *ids;
    unsigned char *acked; /* 0 waiting, 1 ok, 2 failed */
    size_t n, waiting;
    int failures;
    uint64_t last_purge_ms;
    unsigned long long published, batches;
    int kicked;
    /* the round trip under way on the loop (brr_pg_busy(pg)) */
    brr_pg_pipe_t *pp;
    char *mark_sql, *mark_name;
    size_t marking; /* rows of the batch its UPDATE marks */
    int partial;    /* and some rows of that batch failed */
};

static void relay_schedule(brr_relay_t *rl, uint64_t ms);

static void relay_dr(void *arg, void *opaque, rd_kafka_resp_err_t err)
{
    brr_relay_t *rl = arg;
    size_t i = (size_t)(uintptr_t)opaque - 1;
    if (rl->state != RELAY_WAITING || i >= rl->n || rl->acked[i] != 0)
        return;
    rl->acked[i] = err == RD_KAFKA_RESP_ERR_NO_ERROR ? 1 : 2;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        brr_log_warn("outbox row not delivered, will republish", "schema",
                     rl->schema, "err", rd_kafka_err2str(err), NULL);
    if (--rl->waiting == 0)
        relay_schedule(rl, 0);
}

static int relay_lock(brr_relay_t *rl)
{
    PGresult *res;
    if (rl->locked && brr_pg_ok(rl->pg))
        return 0;
    rl->locked = 0;
    if (brr_pg_ensure(rl->pg) != 0)
        return BRR_EDBTRANSIENT;
    if (brr_pg_query(rl->pg, rl->lock_sql, 0, NULL, &res) != 0)
        return BRR_EDBTRANSIENT;
    rl->locked = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!rl->locked)
        return BRR_EBUSY;
    brr_log_info("outbox relay holds the lock", "schema", rl->schema, NULL);
    return 0;
}

/* A JSON string at *p without escapes (the common case of our header
 * values): its start and length, *p moved past it.  0 when it has an
 * escape or is not a string. */
static int plain_string(const char **p, const char **s, size_t *n)
{
    const char *q = *p;
    if (*q != '"')
        return 0;
    *s = ++q;
    while (*q != '"') {
        if (*q == '\\' || *q == '\0')
            return 0;
        q++;
    }
    *n = (size_t)(q - *s);
    *p = q + 1;
    return 1;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* The headers of text, a flat JSON object of strings as PostgreSQL prints
 * jsonb.  Read by hand when no value needs unescaping (a jansson tree per
 * published row was a visible share of a busy relay), else by jansson.
 * Values that are not strings are left out either way. */
static rd_kafka_headers_t *headers_from_json(const char *text)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    const char *p = skip_ws(text), *k, *v;
    size_t kn, vn;
    json_t *obj, *jv;
    const char *jk;

    if (*p == '{') {
        p = skip_ws(p + 1);
        if (*p == '}' && *skip_ws(p + 1) == '\0')
            return h;
        for (;;) {
            if (!plain_string(&p, &k, &kn) || *(p = skip_ws(p)) != ':')
                break;
            p = skip_ws(p + 1);
            if (!plain_string(&p, &v, &vn))
                break;
            rd_kafka_header_add(h, k, (ssize_t)kn, v, (ssize_t)vn);
            p = skip_ws(p);
            if (*p == '}' && *skip_ws(p + 1) == '\0')
                return h;
            if (*p != ',')
                break;
            p = skip_ws(p + 1);
        }
    }
    /* not the plain form: start over with the real parser */
    rd_kafka_headers_destroy(h);
    h = rd_kafka_headers_new(8);
    obj = json_loads(text, 0, NULL);
    json_object_foreach(obj, jk, jv)
    {
        if (json_is_string(jv))
            rd_kafka_header_add(h, jk, -1, json_string_value(jv),
                                (ssize_t)json_string_length(jv));
    }
    json_decref(obj);
    return h;
}

static void relay_marked(void *arg, const PGresult *res)
{
    brr_relay_t *rl = arg;
    (void)res;
    rl->published += rl->marking;
    rl->batches += rl->marking > 0;
    rl->n = 0;
    rl->state = RELAY_IDLE;
}

/* Queues the UPDATE that marks the confirmed rows of the finished batch
 * (relay_marked ends the batch when it succeeds).  The number of rows
 * that failed. */
static size_t relay_mark_queue(brr_relay_t *rl)
{
    size_t cap = rl->n * 21 + 3, len = 0, ok = 0;
    char *arr = malloc(cap);
    const char *params[1];

    if (arr == NULL)
        abort();
    arr[len++] = '{';
    for (size_t i = 0; i < rl->n; i++) {
        if (rl->acked[i] != 1)
            continue;
        len += (size_t)snprintf(arr + len, cap - len, "%s%lld", ok ? "," : "",
                                rl->ids[i]);
        ok++;
    }
    arr[len++] = '}';
    arr[len] = '\0';
    params[0] = arr;
    rl->marking = ok;
    /* with none confirmed it marks nothing, and still ends the batch */
    brr_pg_pipe_add_prepared(rl->pp, rl->mark_name, rl->mark_sql, 1, params,
                             relay_marked, rl);
    free(arr);
    return rl->n - ok;
}

/* Marks the finished batch the blocking way (at stop). */
static void relay_finish(brr_relay_t *rl)
{
    relay_mark_queue(rl);
    brr_pg_pipe_run(rl->pg, rl->pp);
}

static void relay_purge(brr_relay_t *rl)
{
    uint64_t now = uv_now(rl->loop);
    char secs[32];
    const char *params[1] = {secs};
    if (now - rl->last_purge_ms < 60000)
        return;
    rl->last_purge_ms = now;
    snprintf(secs, sizeof(secs), "%d", rl->retention_s);
    brr_pg_query(rl->pg, rl->purge_sql, 1, params, NULL);
}

/* The unpublished rows the SELECT found: produced, in id order. */
static void relay_rows(void *arg, const PGresult *res)
{
    brr_relay_t *rl = arg;
    int n = PQntuples(res), rc;

    if (n == 0)
        return;
    rl->state = RELAY_WAITING;
    rl->n = (size_t)n;
    rl->waiting = (size_t)n;
    memset(rl->acked, 0, (size_t)n);
    for (int i = 0; i < n; i++) {
        const char *topic = PQgetvalue(res, i, 1);
        const char *key = PQgetvalue(res, i, 2);
        size_t plen = 0;
        unsigned char *payload =
            PQunescapeBytea((unsigned char *)PQgetvalue(res, i, 4), &plen);
        rd_kafka_headers_t *h = headers_from_json(PQgetvalue(res, i, 3));
        rl->ids[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        rc = brr_kp_produce(rl->kp, topic, key, strlen(key), payload, plen, h,
                            (void *)(uintptr_t)(i + 1));
        PQfreemem(payload);
        if (rc != 0) {
            rd_kafka_headers_destroy(h);
            /* Not produced: count it failed now; it is republished by the
             * next cycle, after the ones before it are confirmed. */
            for (int j = i; j < n; j++) {
                rl->acked[j] = 2;
                rl->waiting--;
            }
            break;
        }
    }
}

static void relay_backoff(brr_relay_t *rl)
{
    rl->failures++;
    relay_schedule(rl, rl->failures > 5 ? 5000 : 200u * (unsigned)rl->failures);
}

/* The cycle's round trip ended. */
static void relay_answered(void *arg, int rc)
{
    brr_relay_t *rl = arg;
    int partial = rl->partial;

    rl->marking = 0;
    rl->partial = 0;
    if (rl->state == RELAY_STOPPED)
        return;
    if (rc != 0) {
        /* the marks (if any) are retried; the lock may be gone with the
         * connection */
        rl->locked = brr_pg_ok(rl->pg) ? rl->locked : 0;
        relay_backoff(rl);
        return;
    }
    if (partial) {
        /* some rows were not confirmed: republished, in order, after a
         * pause */
        relay_backoff(rl);
        return;
    }
    rl->failures = 0;
    if (rl->state == RELAY_IDLE)
        relay_schedule(rl, rl->kicked ? 0 : RELAY_TICK_MS);
    else if (rl->waiting == 0)
        relay_schedule(rl, 0); /* nothing could be produced */
}

/* One cycle, a round trip on the loop: mark the finished batch, and unless
 * some of its rows failed, select the next and produce it. */
static void relay_cycle(brr_relay_t *rl)
{
    int rc;

    if (rl->state == RELAY_STOPPED || brr_pg_busy(rl->pg))
        return; /* the round trip under way schedules the next cycle */
    if (rl->state == RELAY_WAITING && rl->waiting > 0) {
        if (brr_kp_fatal(rl->kp))
            brr_kp_recreate(rl->kp); /* fails the rest through DRs */
        return;
    }
    if (brr_kp_fatal(rl->kp))
        brr_kp_recreate(rl->kp);
    if ((rc = relay_lock(rl)) != 0) {
        relay_schedule(rl, 1000);
        return;
    }
    relay_purge(rl);
    rl->kicked = 0;
    rl->partial = rl->state == RELAY_WAITING && relay_mark_queue(rl) > 0;
    if (!rl->partial)
        brr_pg_pipe_add_prepared(rl->pp, rl->select_name, rl->select_sql, 0,
                                 NULL, relay_rows, rl);
    if (brr_pg_pipe_start(rl->pg, rl->pp, rl->loop, relay_answered, rl) != 0) {
        rl->marking = 0;
        rl->partial = 0;
        rl->locked = brr_pg_ok(rl->pg) ? rl->locked : 0;
        relay_backoff(rl);
    }
}

static void relay_timer_cb(uv_timer_t *t)
{
    relay_cycle(t->data);
}

static void relay_schedule(brr_relay_t *rl, uint64_t ms)
{
    if (rl->state == RELAY_STOPPED)
        return;
    uv_timer_start(&rl->timer, relay_timer_cb, ms, 0);
}

int brr_relay_start(uv_loop_t *loop, const char *dsn, const char *schema,
                    const char *brokers, const char *client_id, int retention_s,
                    brr_relay_t **out)
{
    brr_relay_t *rl = calloc(1, sizeof(*rl));
    char sql[512];
    char app[96];
    int rc;

    if (rl == NULL)
        abort();
    rl->loop = loop;
    rl->schema = strdup(schema);
    rl->retention_s = retention_s;
    rl->ids = calloc(RELAY_BATCH, sizeof(*rl->ids));
    rl->acked = calloc(RELAY_BATCH, 1);
    if (rl->ids == NULL || rl->acked == NULL)
        abort();
    snprintf(sql, sizeof(sql),
             "SELECT id, topic, key, headers, payload FROM %s.outbox "
             "WHERE published_at IS NULL ORDER BY id LIMIT %d",
             schema, RELAY_BATCH);
    rl->select_sql = strdup(sql);
    snprintf(sql, sizeof(sql),
             "SELECT pg_try_advisory_lock(hashtext('brr.relay.%s'))", schema);
    rl->lock_sql = strdup(sql);
    snprintf(sql, sizeof(sql),
             "DELETE FROM %s.outbox WHERE published_at IS NOT NULL AND "
             "published_at < now() - make_interval(secs => $1::int)",
             schema);
    rl->purge_sql = strdup(sql);
    snprintf(sql, sizeof(sql),
             "UPDATE %s.outbox SET published_at = now() "
             "WHERE id = ANY($1::bigint[])",
             schema);
    rl->mark_sql = strdup(sql);
    /* Both run for every batch: prepared once per connection, not parsed
     * and planned each time (the relay has a connection of its own). */
    snprintf(sql, sizeof(sql), "brr_relay_select_%s", schema);
    rl->select_name = strdup(sql);
    snprintf(sql, sizeof(sql), "brr_relay_mark_%s", schema);
    rl->mark_name = strdup(sql);
    rl->pp = brr_pg_pipe_new();
    snprintf(app, sizeof(app), "%s-relay", client_id);
    /* a failure is retried per cycle */
    brr_pg_connect_opts(dsn, app, BRR_PG_CUSTOM_PLAN_OPTIONS, &rl->pg);
    rc = brr_kp_new(loop, brokers, app, relay_dr, rl, &rl->kp);
    if (rc != 0) {
        brr_pg_close(rl->pg);
        brr_pg_pipe_free(rl->pp);
        free(rl->select_sql);
        free(rl->select_name);
        free(rl->lock_sql);
        free(rl->purge_sql);
        free(rl->mark_sql);
        free(rl->mark_name);
        free(rl->ids);
        free(rl->acked);
        free(rl->schema);
        free(rl);
        return rc;
    }
    uv_timer_init(loop, &rl->timer);
    rl->timer.data = rl;
    relay_schedule(rl, 0);
    *out = rl;
    return 0;
}

void brr_relay_kick(brr_relay_t *rl)
{
    rl->kicked = 1;
    if (rl->state == RELAY_IDLE)
        relay_schedule(rl, 0);
}

int brr_relay_ready(const brr_relay_t *rl)
{
    return rl->locked;
}

unsigned long long brr_relay_published(const brr_relay_t *rl)
{
    return rl->published;
}

unsigned long long brr_relay_batches(const brr_relay_t *rl)
{
    return rl->batches;
}

static void relay_free_cb(uv_handle_t *h)
{
    brr_relay_t *rl = h->data;
    free(rl);
}

void brr_relay_stop(brr_relay_t *rl, int timeout_ms)
{
    if (rl == NULL)
        return;
    /* The round trip under way ends first.  Then delivery reports of the
     * batch in flight may arrive so it can be marked; whatever is not
     * marked is republished after restart. */
    brr_pg_pipe_wait(rl->pg);
    if (rl->state == RELAY_WAITING) {
        rd_kafka_flush(brr_kp_handle(rl->kp), timeout_ms);
        brr_kp_poll(rl->kp);
        if (rl->waiting == 0)
            relay_finish(rl);
    }
    rl->state = RELAY_STOPPED;
    uv_timer_stop(&rl->timer);
    brr_kp_close(rl->kp, timeout_ms);
    brr_pg_close(rl->pg); /* releases the advisory lock */
    brr_pg_pipe_free(rl->pp);
    free(rl->select_sql);
    free(rl->select_name);
    free(rl->lock_sql);
    free(rl->purge_sql);
    free(rl->mark_sql);
    free(rl->mark_name);
    free(rl->ids);
    free(rl->acked);
    free(rl->schema);
    uv_close((uv_handle_t *)&rl->timer, relay_free_cb);
}
