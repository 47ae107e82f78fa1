/*
 * proc.c: see proc.h.  One batch at a time: consumption holds while a batch
 * is in the database and resumes only after it committed (or was split and
 * every part committed), so offsets are never stored past an uncommitted
 * message.
 */
#include "proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "err.h"
#include "log.h"
#include "uuid.h"

struct brr_proc {
    brr_kc_t *kc;
    brr_pg_t *pg;
    brr_proc_conf_t conf;
    brr_arena_t arena;
    brr_pg_pipe_t *pp;
    rd_kafka_message_t **held;
    size_t nheld, cap;
    uv_timer_t retry;
    int backoff_ms;
    char *inbox_sql, *parked_sql, *dl_sql, *park_sql, *unbox_sql;
    brr_proc_stats_t stats;
    /* results of the first round trip */
    char **fresh;
    size_t nfresh;
    char **parked;
    size_t nparked;
};

char *brr_pg_array_literal(const char *const *v, size_t n)
{
    size_t cap = 3, len = 0;
    char *out;
    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(v[i]) + 3;
    out = malloc(cap);
    if (out == NULL)
        abort();
    out[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            out[len++] = ',';
        out[len++] = '"';
        for (const char *s = v[i]; *s; s++) {
            if (*s == '"' || *s == '\\')
                out[len++] = '\\';
            out[len++] = *s;
        }
        out[len++] = '"';
    }
    out[len++] = '}';
    out[len] = '\0';
    return out;
}

static void collect_fresh(void *arg, const PGresult *res)
{
    brr_proc_t *p = arg;
    int n = PQntuples(res);
    p->fresh = brr_arena_calloc(&p->arena, (size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++)
        p->fresh[i] = brr_arena_strdup(&p->arena, PQgetvalue(res, i, 0));
    p->nfresh = (size_t)n;
}

static void collect_parked(void *arg, const PGresult *res)
{
    brr_proc_t *p = arg;
    int n = PQntuples(res);
    p->parked = brr_arena_calloc(&p->arena, (size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++)
        p->parked[i] = brr_arena_strdup(&p->arena, PQgetvalue(res, i, 0));
    p->nparked = (size_t)n;
}

static int in_list(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != NULL && strcmp(v[i], s) == 0)
            return (int)i + 1;
    return 0;
}

static const char *header_dup(brr_arena_t *a, const rd_kafka_message_t *rkm,
                              const char *name)
{
    char buf[256];
    if (brr_kafka_header(rkm, name, buf, sizeof(buf)) != 0)
        return "";
    return brr_arena_strdup(a, buf);
}

static void build_msgs(brr_proc_t *p, rd_kafka_message_t **rkms, size_t n,
                       brr_msg_t *msgs)
{
    brr_uuid_t u;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *rkm = rkms[i];
        brr_msg_t *m = &msgs[i];
        memset(m, 0, sizeof(*m));
        m->rkm = rkm;
        m->topic = rd_kafka_topic_name(rkm->rkt);
        m->partition = rkm->partition;
        m->offset = rkm->offset;
        m->key = rkm->key ? brr_arena_strndup(&p->arena, rkm->key, rkm->key_len)
                          : "";
        m->value = rkm->payload;
        m->len = rkm->len;
        m->event_id = header_dup(&p->arena, rkm, "ce_id");
        m->type = header_dup(&p->arena, rkm, "ce_type");
        m->traceparent = header_dup(&p->arena, rkm, "traceparent");
        if (brr_uuid_parse(m->event_id, &u) != 0) {
            m->rc = BRR_EDECODE;
            m->error = "missing or malformed ce_id header";
            m->event_id = "";
        }
    }
}

/* Queues the dead-letter writes for every message with rc < 0. */
static void queue_dead_letters(brr_proc_t *p, brr_msg_t *msgs, size_t n)
{
    json_t *rows = json_array();
    char **ids = brr_arena_calloc(&p->arena, n + 1, sizeof(char *));
    size_t nids = 0;

    for (size_t i = 0; i < n; i++) {
        brr_msg_t *m = &msgs[i];
        char part[16], off[24], dlq[300];
        json_t *h;
        char *htext;
        if (m->rc >= 0)
            continue;
        snprintf(part, sizeof(part), "%d", (int)m->partition);
        snprintf(off, sizeof(off), "%lld", (long long)m->offset);
        h = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "dlq_topic",
                      m->topic, "dlq_partition", part, "dlq_offset", off,
                      "dlq_group", p->conf.group, "dlq_error_code",
                      brr_err_name(m->rc), "dlq_error_text",
                      m->error ? m->error : brr_strerror(m->rc), "ce_type",
                      m->type);
        if (m->event_id[0] != '\0')
            json_object_set_new(h, "ce_id", json_string(m->event_id));
        if (m->traceparent[0] != '\0')
            json_object_set_new(h, "traceparent", json_string(m->traceparent));
        htext = json_dumps(h, JSON_COMPACT);
        snprintf(dlq, sizeof(dlq), "%s.dlq", m->topic);
        brr_outbox_add_raw(p->conf.ob, dlq, m->key, "dead_letter", m->key,
                           "dead_letter", m->value, m->len, htext);
        {
            char *enc = NULL;
            size_t cap = 4 * ((m->len + 2) / 3) + 1;
            enc = malloc(cap);
            if (enc == NULL)
                abort();
            EVP_EncodeBlock((unsigned char *)enc, m->value, (int)m->len);
            json_array_append_new(
                rows,
                json_pack("{s:s?, s:s, s:i, s:I, s:s, s:o, s:s, s:s, s:s}",
                          "event_id", m->event_id[0] ? m->event_id : NULL,
                          "topic", m->topic, "partition", (int)m->partition,
                          "offset", (json_int_t)m->offset, "key", m->key,
                          "headers", h, "payload", enc, "error_code",
                          brr_err_name(m->rc), "error_text",
                          m->error ? m->error : brr_strerror(m->rc)));
            free(enc);
        }
        free(htext);
        if (m->event_id[0] != '\0')
            ids[nids++] = (char *)m->event_id;
        brr_log_warn("message dead-lettered, key parked", "topic", m->topic,
                     "partition", part, "offset", off, "eid", m->event_id,
                     "err", brr_err_name(m->rc), NULL);
        p->stats.dead_letters++;
    }
    if (json_array_size(rows) > 0) {
        char *doc = json_dumps(rows, JSON_COMPACT);
        const char *params[1] = {doc};
        brr_pg_pipe_add(p->pp, p->dl_sql, 1, params, NULL, NULL);
        brr_pg_pipe_add(p->pp, p->park_sql, 1, params, NULL, NULL);
        free(doc);
        if (nids > 0) {
            char *lit = brr_pg_array_literal((const char *const *)ids, nids);
            const char *ip[1] = {lit};
            /* A replay of the original event must not be taken for a
             * repeat: forget that the inbox saw it. */
            brr_pg_pipe_add(p->pp, p->unbox_sql, 1, ip, NULL, NULL);
            free(lit);
        }
    }
    json_decref(rows);
}

/* Applies n messages in one transaction.  force_rc < 0 dead-letters them
 * all without calling the service (a message that failed alone). */
static int process(brr_proc_t *p, rd_kafka_message_t **rkms, size_t n,
                   int force_rc)
{
    brr_msg_t *msgs, *fresh;
    size_t nnew = 0, nid = 0;
    const char **ids, **topics, **keys;
    int rc;

    brr_arena_reset(&p->arena);
    msgs = brr_arena_calloc(&p->arena, n, sizeof(*msgs));
    fresh = brr_arena_calloc(&p->arena, n, sizeof(*fresh));
    build_msgs(p, rkms, n, msgs);
    ids = brr_arena_calloc(&p->arena, n + 1, sizeof(char *));
    topics = brr_arena_calloc(&p->arena, n + 1, sizeof(char *));
    keys = brr_arena_calloc(&p->arena, n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        keys[i] = msgs[i].key;
        if (msgs[i].event_id[0] == '\0')
            continue;
        ids[nid] = msgs[i].event_id;
        topics[nid++] = msgs[i].topic;
    }
    p->nfresh = p->nparked = 0;

    if ((rc = brr_pg_ensure(p->pg)) != 0)
        return rc;
    /* BEGIN travels with the first statements: one round trip less per
     * batch. */
    brr_pg_pipe_add(p->pp, "BEGIN", 0, NULL, NULL, NULL);
    {
        char *l1 = brr_pg_array_literal(ids, nid);
        char *l2 = brr_pg_array_literal(topics, nid);
        char *l3 = brr_pg_array_literal(keys, n);
        const char *ip[2] = {l1, l2};
        const char *kp[2] = {msgs[0].topic, l3};
        brr_pg_pipe_add(p->pp, p->inbox_sql, 2, ip, collect_fresh, p);
        brr_pg_pipe_add(p->pp, p->parked_sql, 2, kp, collect_parked, p);
        free(l1);
        free(l2);
        free(l3);
    }
    if ((rc = brr_pg_pipe_run(p->pg, p->pp)) != 0)
        goto fail;

    for (size_t i = 0; i < n; i++) {
        brr_msg_t *m = &msgs[i];
        int at;
        if (force_rc < 0 && m->rc == 0) {
            m->rc = force_rc;
            m->error = "message could not be applied on its own";
        }
        if (m->rc < 0)
            continue;
        at = in_list(p->fresh, p->nfresh, m->event_id);
        if (at == 0) {
            p->stats.duplicates++;
            m->rc = 1; /* a repeat: nothing to do */
            continue;
        }
        p->fresh[at - 1] = NULL; /* a second copy in this batch is a repeat */
        if (in_list(p->parked, p->nparked, m->key)) {
            m->rc = BRR_EPARKED;
            m->error = "an earlier message for this key is parked";
            continue;
        }
        fresh[nnew++] = *m;
    }
    if (nnew > 0) {
        rc = p->conf.apply(p->conf.arg, p->pg, p->pp, fresh, nnew, p->conf.ob,
                           &p->arena);
        if (rc != 0)
            goto fail;
        /* carry the service's verdicts back */
        for (size_t i = 0, j = 0; i < n && j < nnew; i++) {
            if (msgs[i].rkm == fresh[j].rkm) {
                msgs[i].rc = fresh[j].rc;
                msgs[i].error = fresh[j].error;
                j++;
            }
        }
        p->stats.applied += nnew;
    }
    queue_dead_letters(p, msgs, n);
    brr_outbox_queue(p->conf.ob, p->pp);
    brr_pg_pipe_add(p->pp, "COMMIT", 0, NULL, NULL, NULL);
    if ((rc = brr_pg_pipe_run(p->pg, p->pp)) != 0)
        goto fail;
    brr_kc_store(p->kc, rkms, n);
    p->stats.batches++;
    p->stats.messages += n;
    if (p->conf.relay != NULL)
        brr_relay_kick(p->conf.relay);
    if (p->conf.committed != NULL)
        p->conf.committed(p->conf.arg);
    return 0;

fail:
    brr_outbox_clear(p->conf.ob);
    brr_pg_rollback(p->pg);
    return rc;
}

static void release_held(brr_proc_t *p, size_t upto)
{
    for (size_t i = 0; i < upto; i++)
        rd_kafka_message_destroy(p->held[i]);
    if (upto < p->nheld) /* held is NULL while nothing was ever held */
        memmove(p->held, p->held + upto, (p->nheld - upto) * sizeof(*p->held));
    p->nheld -= upto;
}

static void try_held(brr_proc_t *p);

static void retry_cb(uv_timer_t *t)
{
    try_held(t->data);
}

static void schedule_retry(brr_proc_t *p, int rc)
{
    char ms[16];
    p->stats.retries++;
    p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : 100;
    if (p->backoff_ms > 5000)
        p->backoff_ms = 5000;
    snprintf(ms, sizeof(ms), "%d", p->backoff_ms);
    brr_log_warn("batch not applied, retrying", "err", brr_err_name(rc),
                 "backoff_ms", ms, NULL);
    uv_timer_start(&p->retry, retry_cb, (uint64_t)p->backoff_ms, 0);
}

static void try_held(brr_proc_t *p)
{
    int rc;
    if (p->nheld == 0)
        return;
    rc = process(p, p->held, p->nheld, 0);
    if (rc != 0 && !brr_err_is_transient(rc)) {
        /* Find the message that cannot succeed: one by one. */
        while (p->nheld > 0) {
            rc = process(p, p->held, 1, 0);
            if (rc != 0 && !brr_err_is_transient(rc))
                rc = process(p, p->held, 1, rc);
            if (rc != 0)
                break;
            release_held(p, 1);
        }
    }
    if (rc != 0) {
        schedule_retry(p, rc);
        return;
    }
    release_held(p, p->nheld);
    p->backoff_ms = 0;
    brr_kc_resume(p->kc);
}

static void on_batch(void *arg, rd_kafka_message_t **rkms, size_t n)
{
    brr_proc_t *p = arg;
    if (n > p->cap) {
        p->cap = n;
        p->held = realloc(p->held, n * sizeof(*p->held));
        if (p->held == NULL)
            abort();
    }
    memcpy(p->held, rkms, n * sizeof(*rkms));
    p->nheld = n;
    brr_kc_hold(p->kc);
    try_held(p);
}

brr_proc_t *brr_proc_start(uv_loop_t *loop, brr_kc_t *kc, brr_pg_t *pg,
                           const brr_proc_conf_t *conf, size_t max_batch)
{
    brr_proc_t *p = calloc(1, sizeof(*p));
    char sql[1024];
    const char *s = conf->schema;

    if (p == NULL)
        abort();
    p->kc = kc;
    p->pg = pg;
    p->conf = *conf;
    brr_arena_init(&p->arena, 0);
    p->pp = brr_pg_pipe_new();
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s.inbox (event_id, topic) "
             "SELECT * FROM unnest($1::uuid[], $2::text[]) "
             "ON CONFLICT DO NOTHING RETURNING event_id::text",
             s);
    p->inbox_sql = strdup(sql);
    snprintf(sql, sizeof(sql),
             "SELECT key FROM %s.parked_keys "
             "WHERE topic = $1 AND key = ANY($2::text[])",
             s);
    p->parked_sql = strdup(sql);
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s.dead_letters (event_id, topic, partition, "
             "\"offset\", key, headers, payload, error_code, error_text) "
             "SELECT event_id, topic, partition, \"offset\", key, headers, "
             "decode(payload, 'base64'), error_code, error_text "
             "FROM jsonb_to_recordset($1::jsonb) AS x(event_id uuid, "
             "topic text, partition int, \"offset\" bigint, key text, "
             "headers jsonb, payload text, error_code text, error_text text)",
             s);
    p->dl_sql = strdup(sql);
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s.parked_keys (topic, key, reason) "
             "SELECT DISTINCT topic, key, error_code FROM "
             "jsonb_to_recordset($1::jsonb) AS x(topic text, key text, "
             "error_code text) ON CONFLICT DO NOTHING",
             s);
    p->park_sql = strdup(sql);
    snprintf(sql, sizeof(sql),
             "DELETE FROM %s.inbox WHERE event_id = ANY($1::uuid[])", s);
    p->unbox_sql = strdup(sql);
    uv_timer_init(loop, &p->retry);
    p->retry.data = p;
    brr_kc_start(kc, max_batch, on_batch, p);
    return p;
}

void brr_proc_stats(const brr_proc_t *p, brr_proc_stats_t *out)
{
    *out = p->stats;
}

static void proc_free_cb(uv_handle_t *h)
{
    free(h->data);
}

void brr_proc_stop(brr_proc_t *p)
{
    if (p == NULL)
        return;
    uv_timer_stop(&p->retry);
    release_held(p, p->nheld);
    brr_arena_destroy(&p->arena);
    brr_pg_pipe_free(p->pp);
    free(p->held);
    free(p->inbox_sql);
    free(p->parked_sql);
    free(p->dl_sql);
    free(p->park_sql);
    free(p->unbox_sql);
    uv_close((uv_handle_t *)&p->retry, proc_free_cb);
}
