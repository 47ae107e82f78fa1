/*
 * dispatch.c: the delivery loop of brr-connector.
 *
 * Every tick (and whenever new rows were committed) it selects the heads of
 * the pending queues: for each (organisation, arrangement) the PENDING row
 * with the lowest sequence, if it is due.  A head whose key is already in
 * flight, or whose organisation is disabled or at its concurrency limit,
 * waits.  So order holds per (organisation, arrangement), a failing
 * arrangement delays only itself, and a failing organisation only its own.
 *
 * Outcomes are collected and written in one transaction per tick: the
 * attempt in connector.attempts, the row's new state, and for a delivery
 * the Delivery event in the outbox.  A crash between an organisation's 2xx
 * and that commit means the event is sent again: delivery is at least
 * once, and the webhook-id (the event id) lets the organisation drop the
 * repeat.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "backoff.h"
#include "brr/v1/delivery.pb-c.h"
#include "cloudevent.h"
#include "connector.h"
#include "deliver.h"
#include "err.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"

#define TOPIC_DELIVERIES "brr.connector.deliveries.v1"
#define TICK_MS 50
#define HEADS_LIMIT "2000"

typedef struct {
    char code[33];
    char *url, *cert, *key, *ca, *token;
    conn_webhook_secret_t secrets[CONN_WEBHOOK_MAX_SECRETS];
    size_t nsecrets;
    int concurrency, timeout_ms, connect_timeout_ms, enabled;
    int inflight;
    int seen; /* still in the registry at the last refresh */
} org_t;

typedef struct job {
    struct job *next;
    long long id;
    char key[128];     /* organisation | arrangement */
    org_t *org;
    char event_id[40], arrangement[64], citizen[64];
    long long sequence, submitted_ms;
    int attempts;
    uint64_t first_ms;
    /* outcome */
    conn_outcome_t outcome;
    int status;
    uint64_t latency_us;
    int64_t retry_after_s;
    char error[160];
} job_t;

static struct {
    brr_service_t *svc;
    conn_dispatch_conf_t conf;
    brr_pg_t *pg;
    conn_deliver_t *d;
    uv_timer_t tick;
    org_t **orgs;
    size_t norgs;
    uint64_t registry_ms;
    job_t *done; /* finished, not yet recorded */
    /* keys in flight: open addressing over job pointers */
    job_t **slots;
    size_t nslots, inflight;
    int kicked, stopping;
    conn_backoff_t bo;
    brr_pg_pipe_t *pp;
    brr_histogram_t *latency;
} ds;

/* ---- keys in flight ----------------------------------------------------- */

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static job_t **slot_find(const char *key)
{
    size_t i = hash(key) & (ds.nslots - 1);
    while (ds.slots[i] != NULL && strcmp(ds.slots[i]->key, key) != 0)
        i = (i + 1) & (ds.nslots - 1);
    return &ds.slots[i];
}

static void slot_grow(void)
{
    job_t **old = ds.slots;
    size_t n = ds.nslots;
    ds.nslots = n ? n * 2 : 4096;
    ds.slots = calloc(ds.nslots, sizeof(*ds.slots));
    if (ds.slots == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        if (old[i] != NULL)
            *slot_find(old[i]->key) = old[i];
    free(old);
}

static void slot_del(const char *key)
{
    job_t **s = slot_find(key);
    size_t i = (size_t)(s - ds.slots);
    *s = NULL;
    /* re-place the rest of the cluster (linear probing deletion) */
    for (i = (i + 1) & (ds.nslots - 1); ds.slots[i] != NULL;
         i = (i + 1) & (ds.nslots - 1)) {
        job_t *j = ds.slots[i];
        ds.slots[i] = NULL;
        *slot_find(j->key) = j;
    }
}

/* ---- the registry ------------------------------------------------------- */

static org_t *org_find(const char *code)
{
    for (size_t i = 0; i < ds.norgs; i++)
        if (strcmp(ds.orgs[i]->code, code) == 0)
            return ds.orgs[i];
    return NULL;
}

/* A secret reference: "file:<path>" (the file's first line) or "env:<var>". */
static int load_secret(const char *ref, conn_webhook_secret_t *out)
{
    char buf[512];
    const char *text = NULL;
    if (strncmp(ref, "file:", 5) == 0) {
        FILE *f = fopen(ref + 5, "r");
        if (f == NULL)
            return BRR_ECONFIG;
        if (fgets(buf, sizeof(buf), f) != NULL) {
            buf[strcspn(buf, "\r\n")] = '\0';
            text = buf;
        }
        fclose(f);
    } else if (strncmp(ref, "env:", 4) == 0) {
        text = getenv(ref + 4);
    }
    if (text == NULL || text[0] == '\0')
        return BRR_ECONFIG;
    return conn_webhook_secret_parse(out, text);
}

static void set_str(char **dst, const char *v)
{
    if (*dst != NULL && v != NULL && strcmp(*dst, v) == 0)
        return;
    free(*dst);
    *dst = v && v[0] ? strdup(v) : NULL;
}

static void registry_refresh(int force)
{
    PGresult *res;
    uint64_t now = uv_now(ds.svc->loop);
    if (!force && now - ds.registry_ms < (uint64_t)ds.conf.registry_refresh_ms)
        return;
    if (brr_pg_ensure(ds.pg) != 0 ||
        brr_pg_query(ds.pg,
                     "SELECT code, endpoint_url, client_cert, client_key, "
                     "ca_bundle, coalesce(bearer_token_ref, ''), "
                     "coalesce(signing_secret_ref, ''), concurrency, "
                     "timeout_ms, connect_timeout_ms, enabled "
                     "FROM connector.organisations "
                     "WHERE left_on IS NULL OR left_on > current_date",
                     0, NULL, &res) != 0)
        return;
    ds.registry_ms = now;
    for (size_t i = 0; i < ds.norgs; i++)
        ds.orgs[i]->seen = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *code = PQgetvalue(res, r, 0);
        org_t *o = org_find(code);
        if (o == NULL) {
            o = calloc(1, sizeof(*o));
            if (o == NULL)
                abort();
            snprintf(o->code, sizeof(o->code), "%s", code);
            ds.orgs = realloc(ds.orgs, (ds.norgs + 1) * sizeof(*ds.orgs));
            ds.orgs[ds.norgs++] = o;
            brr_log_info("organisation joined delivery", "org", code, NULL);
        }
        o->seen = 1;
        set_str(&o->url, PQgetvalue(res, r, 1));
        set_str(&o->cert, PQgetvalue(res, r, 2));
        set_str(&o->key, PQgetvalue(res, r, 3));
        set_str(&o->ca, PQgetvalue(res, r, 4));
        {
            const char *tref = PQgetvalue(res, r, 5);
            const char *tok = strncmp(tref, "env:", 4) == 0
                                  ? getenv(tref + 4)
                                  : NULL;
            set_str(&o->token, tok);
        }
        o->nsecrets = 0;
        if (PQgetvalue(res, r, 6)[0] != '\0') {
            /* two references separated by a space while rotating */
            char refs[512], *save = NULL, *tok;
            snprintf(refs, sizeof(refs), "%s", PQgetvalue(res, r, 6));
            for (tok = strtok_r(refs, " ", &save);
                 tok && o->nsecrets < CONN_WEBHOOK_MAX_SECRETS;
                 tok = strtok_r(NULL, " ", &save))
                if (load_secret(tok, &o->secrets[o->nsecrets]) == 0)
                    o->nsecrets++;
                else
                    brr_log_error("could not load signing secret", "org",
                                  code, NULL);
        }
        o->concurrency = atoi(PQgetvalue(res, r, 7));
        o->timeout_ms = atoi(PQgetvalue(res, r, 8));
        o->connect_timeout_ms = atoi(PQgetvalue(res, r, 9));
        o->enabled = PQgetvalue(res, r, 10)[0] == 't';
    }
    for (size_t i = 0; i < ds.norgs; i++)
        if (!ds.orgs[i]->seen)
            ds.orgs[i]->enabled = 0; /* left the registry */
    PQclear(res);
}

/* ---- sending ------------------------------------------------------------ */

static void on_result(const conn_result_t *r, void *arg)
{
    job_t *j = arg;
    j->outcome = r->outcome;
    j->status = r->status;
    j->latency_us = r->latency_us;
    j->retry_after_s = r->retry_after_s;
    snprintf(j->error, sizeof(j->error), "%s", r->error ? r->error : "");
    j->org->inflight--;
    ds.inflight--;
    j->next = ds.done;
    ds.done = j;
    if (r->outcome != CONN_CANCELLED)
        brr_counter_inc(brr_metrics_counter(
            "brr_connector_attempts_total", "delivery attempts by outcome",
            "org", j->org->code, "outcome", conn_outcome_name(r->outcome),
            NULL));
    if (r->outcome == CONN_DELIVERED)
        brr_histogram_observe(ds.latency, (double)r->latency_us / 1e6);
}

static int send_job(job_t *j, const char *type, const char *data_text,
                    const char *time)
{
    conn_cloudevent_t ce;
    conn_endpoint_t ep;
    conn_request_t rq;
    json_t *data = json_loads(data_text, 0, NULL);
    char *body = NULL;
    size_t len = 0;
    int rc;

    memset(&ce, 0, sizeof(ce));
    ce.id = j->event_id;
    ce.oin = ds.conf.oin;
    ce.type = type;
    ce.subject = j->arrangement;
    ce.time = time;
    ce.sequence = (uint64_t)j->sequence;
    ce.data = data;
    rc = conn_cloudevent_encode(&ce, &body, &len);
    json_decref(data);
    if (rc != 0)
        return rc;
    memset(&ep, 0, sizeof(ep));
    ep.url = j->org->url;
    ep.client_cert = j->org->cert;
    ep.client_key = j->org->key;
    ep.ca_bundle = j->org->ca;
    ep.bearer_token = j->org->token;
    ep.timeout_ms = (uint32_t)j->org->timeout_ms;
    ep.connect_timeout_ms = (uint32_t)j->org->connect_timeout_ms;
    memset(&rq, 0, sizeof(rq));
    rq.event_id = j->event_id;
    rq.body = body;
    rq.body_len = len;
    rq.secrets = j->org->secrets;
    rq.nsecrets = j->org->nsecrets;
    rc = conn_deliver_post(ds.d, &ep, &rq, on_result, j);
    free(body);
    return rc;
}

/* Picks the due heads and sends what may go now. */
static void dispatch(void)
{
    PGresult *res;
    int n;

    if (ds.stopping || brr_pg_ensure(ds.pg) != 0)
        return;
    if (brr_pg_query(
            ds.pg,
            "SELECT d.id, d.organisation, d.arrangement_id, d.event_id::text, "
            "d.sequence, d.type, d.data::text, "
            "to_char(d.event_time AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), d.citizen_ref, "
            "d.attempts, (extract(epoch FROM d.created_at) * 1000)::bigint, "
            "d.submitted_at_ms "
            "FROM connector.deliveries d WHERE d.status = 'PENDING' "
            "AND d.next_attempt_at <= now() AND NOT EXISTS (SELECT 1 FROM "
            "connector.deliveries e WHERE e.status = 'PENDING' AND "
            "e.organisation = d.organisation AND e.arrangement_id = "
            "d.arrangement_id AND e.sequence < d.sequence) "
            "ORDER BY d.id LIMIT " HEADS_LIMIT,
            0, NULL, &res) != 0)
        return;
    n = PQntuples(res);
    for (int i = 0; i < n && ds.inflight < (size_t)ds.conf.max_inflight;
         i++) {
        org_t *o = org_find(PQgetvalue(res, i, 1));
        char key[128];
        job_t *j, **slot;
        if (o == NULL || !o->enabled || o->inflight >= o->concurrency ||
            o->url == NULL)
            continue;
        snprintf(key, sizeof(key), "%s|%s", o->code, PQgetvalue(res, i, 2));
        if (ds.inflight * 2 >= ds.nslots)
            slot_grow();
        slot = slot_find(key);
        if (*slot != NULL)
            continue; /* its predecessor is still on its way */
        j = calloc(1, sizeof(*j));
        if (j == NULL)
            abort();
        j->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        snprintf(j->key, sizeof(j->key), "%s", key);
        j->org = o;
        snprintf(j->arrangement, sizeof(j->arrangement), "%s",
                 PQgetvalue(res, i, 2));
        snprintf(j->event_id, sizeof(j->event_id), "%s",
                 PQgetvalue(res, i, 3));
        j->sequence = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        snprintf(j->citizen, sizeof(j->citizen), "%s", PQgetvalue(res, i, 8));
        j->attempts = atoi(PQgetvalue(res, i, 9));
        j->first_ms = strtoull(PQgetvalue(res, i, 10), NULL, 10);
        j->submitted_ms = strtoll(PQgetvalue(res, i, 11), NULL, 10);
        if (send_job(j, PQgetvalue(res, i, 5), PQgetvalue(res, i, 6),
                     PQgetvalue(res, i, 7)) != 0) {
            brr_log_error("could not start delivery", "org", o->code, "eid",
                          j->event_id, NULL);
            free(j);
            continue;
        }
        *slot = j;
        o->inflight++;
        ds.inflight++;
    }
    PQclear(res);
}

/* ---- recording outcomes ------------------------------------------------- */

static void record(void)
{
    json_t *rows = json_array();
    job_t *list = ds.done, *j;
    brr_outbox_t *ob = ds.svc->ob;
    uint64_t now = (uint64_t)brr_now_ms();
    char *doc;
    const char *p[1];
    int rc;

    if (list == NULL)
        return;
    for (j = list; j; j = j->next) {
        const char *state = "PENDING";
        uint64_t next = now;
        uint64_t rnd = 0;
        if (j->outcome == CONN_CANCELLED)
            continue;
        if (j->outcome == CONN_DELIVERED) {
            Brr__V1__Delivery dv = BRR__V1__DELIVERY__INIT;
            state = "DELIVERED";
            dv.event_id = j->event_id;
            dv.organisation = j->org->code;
            dv.arrangement_id = j->arrangement;
            dv.sequence = j->sequence;
            dv.http_status = j->status;
            dv.attempts = j->attempts + 1;
            dv.delivered_at_ms = (int64_t)now;
            dv.submitted_at_ms = j->submitted_ms;
            dv.citizen_ref = j->citizen;
            brr_outbox_add(ob, TOPIC_DELIVERIES, j->citizen, "delivery",
                           j->event_id, "delivery.succeeded", &dv.base, NULL,
                           NULL);
        } else {
            RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
            if (conn_backoff_give_up(&ds.bo, j->first_ms, now)) {
                state = "PARKED";
                brr_log_error("delivery parked after maximum age", "org",
                              j->org->code, "eid", j->event_id, NULL);
            }
            next = conn_backoff_next_ms(
                &ds.bo, (uint32_t)j->attempts, rnd,
                j->outcome == CONN_RETRY_AFTER ? j->retry_after_s : -1,
                j->first_ms, now);
            if (j->outcome == CONN_GONE)
                brr_log_error("organisation answered 410 gone; endpoint "
                              "disabled until an operator enables it",
                              "org", j->org->code, NULL);
        }
        json_array_append_new(
            rows,
            json_pack("{s:I, s:s, s:i, s:I, s:I, s:s, s:I, s:b}", "id",
                      (json_int_t)j->id, "state", state, "status", j->status,
                      "latency_us", (json_int_t)j->latency_us, "next_ms",
                      (json_int_t)next, "error", j->error, "attempts",
                      (json_int_t)j->attempts + 1, "gone",
                      j->outcome == CONN_GONE));
        if (j->outcome == CONN_GONE)
            json_object_set_new(json_array_get(rows, json_array_size(rows) - 1),
                                "org", json_string(j->org->code));
    }
    doc = json_dumps(rows, JSON_COMPACT);
    p[0] = doc;
    rc = brr_pg_ensure(ds.pg);
    if (rc == 0 && json_array_size(rows) > 0) {
        brr_pg_pipe_add(ds.pp, "BEGIN", 0, NULL, NULL, NULL);
        brr_pg_pipe_add(
            ds.pp,
            "UPDATE connector.deliveries d SET status = x.state, attempts = "
            "x.attempts, last_status = x.status, last_error = "
            "nullif(x.error, ''), next_attempt_at = to_timestamp(x.next_ms "
            "/ 1000.0), delivered_at = CASE WHEN x.state = 'DELIVERED' THEN "
            "now() END FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, "
            "state text, status int, error text, next_ms bigint, attempts "
            "int) WHERE d.id = x.id",
            1, p, NULL, NULL);
        brr_pg_pipe_add(ds.pp,
                        "INSERT INTO connector.attempts (delivery_id, "
                        "http_status, latency_us, error) SELECT id, status, "
                        "latency_us, nullif(error, '') FROM "
                        "jsonb_to_recordset($1::jsonb) AS x(id bigint, "
                        "status int, latency_us bigint, error text)",
                        1, p, NULL, NULL);
        brr_pg_pipe_add(ds.pp,
                        "UPDATE connector.organisations o SET enabled = "
                        "false, disabled_reason = '410 Gone from endpoint', "
                        "updated_at = now() FROM jsonb_to_recordset($1::jsonb) "
                        "AS x(org text, gone bool) WHERE x.gone AND o.code = "
                        "x.org",
                        1, p, NULL, NULL);
        brr_outbox_queue(ob, ds.pp);
        brr_pg_pipe_add(ds.pp, "COMMIT", 0, NULL, NULL, NULL);
        rc = brr_pg_pipe_run(ds.pg, ds.pp);
        if (rc != 0) {
            brr_outbox_clear(ob);
            brr_pg_rollback(ds.pg);
        }
    }
    free(doc);
    json_decref(rows);
    if (rc != 0)
        return; /* keep the outcomes; record again on the next tick */
    ds.done = NULL;
    while (list != NULL) {
        job_t *next = list->next;
        if (list->outcome == CONN_GONE)
            list->org->enabled = 0;
        slot_del(list->key);
        free(list);
        list = next;
    }
    brr_relay_kick(ds.svc->relay);
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
    if (ds.stopping)
        return;
    registry_refresh(0);
    record();
    if (ds.done == NULL)
        dispatch();
}

void conn_dispatch_kick(void)
{
    if (!ds.stopping)
        uv_timer_start(&ds.tick, on_tick, 0, TICK_MS);
}

void conn_dispatch_committed(void *arg)
{
    (void)arg;
    conn_dispatch_kick();
}

int conn_dispatch_start(brr_service_t *svc, const conn_dispatch_conf_t *conf)
{
    conn_deliver_opts_t opts = {64, 0, 256, 0};
    int rc;

    memset(&ds, 0, sizeof(ds));
    ds.svc = svc;
    ds.conf = *conf;
    conn_backoff_defaults(&ds.bo);
    ds.bo.max_age_ms = (uint64_t)conf->max_age_s * 1000u;
    ds.pp = brr_pg_pipe_new();
    slot_grow();
    brr_pg_connect(svc->pg_dsn, "brr-connector-dispatch", &ds.pg);
    if ((rc = conn_deliver_init(svc->loop, &opts, &ds.d)) != 0)
        return rc;
    {
        static const double b[] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                   0.05,  0.1,    0.25,  0.5,  1,
                                   2.5,   5,      10};
        ds.latency = brr_metrics_histogram(
            "brr_connector_delivery_seconds",
            "time from request to the organisation's 2xx", b,
            sizeof(b) / sizeof(b[0]), NULL);
    }
    uv_timer_init(svc->loop, &ds.tick);
    uv_timer_start(&ds.tick, on_tick, 0, TICK_MS);
    return 0;
}

static void on_closed(void *arg)
{
    (void)arg;
    record(); /* cancelled jobs are skipped; they stay pending */
    for (job_t *j = ds.done, *n; j; j = n) {
        n = j->next;
        free(j);
    }
    ds.done = NULL;
    brr_pg_close(ds.pg);
    brr_pg_pipe_free(ds.pp);
    free(ds.slots);
    for (size_t i = 0; i < ds.norgs; i++) {
        org_t *o = ds.orgs[i];
        free(o->url);
        free(o->cert);
        free(o->key);
        free(o->ca);
        free(o->token);
        free(o);
    }
    free(ds.orgs);
}

void conn_dispatch_stop(void)
{
    ds.stopping = 1;
    uv_timer_stop(&ds.tick);
    uv_close((uv_handle_t *)&ds.tick, NULL);
    /* first record what finished, then cancel what is in flight */
    record();
    conn_deliver_close(ds.d, on_closed, NULL);
}
