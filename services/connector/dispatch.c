/*
 * dispatch.c: the delivery loop of brr-connector.
 *
 * Each (organisation, arrangement) key is a queue whose state lives in
 * connector.sequences: how many of its rows are PENDING and PARKED, and
 * when its head (the PENDING row with the lowest sequence) is due.  Every
 * tick (and whenever new rows were committed) the dispatcher asks, for each
 * organisation that may send now, for at most as many due keys as that
 * organisation has requests in flight plus free slots, through the partial
 * index sequences_due.  So a tick costs the same however large a failing
 * organisation's backlog grows, and a busy organisation never fills the
 * answer for the others.  It then fetches those keys' heads and sends them.
 *
 * A key with a request in flight waits (order per key); a key with a
 * PARKED row waits for brrctl replay; an organisation that is disabled (by
 * an operator or by a 410), at its concurrency limit, or told to wait by a
 * Retry-After waits on its own.  A failing head is rescheduled with its
 * key's due_at, so the organisation's other keys go on.
 *
 * Outcomes are written in one transaction per tick: the attempt in
 * connector.attempts, the row's new state with its key's counters, the
 * organisation's health in connector.org_status, and for a delivery the
 * Delivery event in the outbox.  A crash between an organisation's 2xx and
 * that commit means the event is sent again: delivery is at least once, and
 * the webhook-id (the event id) lets the organisation drop the repeat.
 *
 * A tick is two round trips to PostgreSQL, with statements prepared once
 * per connection: that transaction followed by the query for due keys, then
 * the query for their heads.  Both run on the loop (brr_pg_pipe_start), so
 * the requests to the organisations go on while PostgreSQL works; a tick
 * that comes meanwhile runs as soon as the round ends.  A row's update
 * touches no index (migration 0013), and the stored event goes into the
 * request body as PostgreSQL returns it.
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
#include "jbuf.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"

#define TOPIC_DELIVERIES "brr.connector.deliveries.v1"
#define TICK_MS 50
/* A finished delivery brings the next tick forward to this many ms from
 * now: its outcome is recorded (and its key's next event sent) without
 * waiting out TICK_MS, while outcomes that finish close together still
 * share one transaction. */
#define RECORD_DELAY_MS 5
/* After this many failures in a row an organisation gets one request at a
 * time until one succeeds: a down endpoint with a large backlog is probed,
 * not hammered by every key whose backoff expires. */
#define PROBE_AFTER 8

typedef struct {
    char code[33];
    char *url, *cert, *key, *ca, *token;
    conn_webhook_secret_t secrets[CONN_WEBHOOK_MAX_SECRETS];
    size_t nsecrets;
    int concurrency, timeout_ms, connect_timeout_ms, enabled;
    long long updated; /* the registry's updated_at, in microseconds */
    int inflight;
    int quota;             /* during one dispatch: how many more may start */
    int64_t hold_until_ms; /* a Retry-After for the whole organisation */
    int fails;             /* failed attempts since the last success */
    int seen;              /* still in the registry at the last refresh */
    int retry_now;         /* the operator changed it: try its keys now */
} org_t;

typedef struct job {
    struct job *next;
    long long id;
    char key[128]; /* organisation | arrangement */
    org_t *org;
    char event_id[40], arrangement[64], citizen[64], traceparent[64];
    long long sequence, submitted_ms;
    int attempts;
    int64_t first_ms; /* the row's first attempt (this one if none yet) */
    /* outcome */
    conn_outcome_t outcome;
    int status;
    int64_t done_ms;
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
    size_t norgs, rr;
    uint64_t registry_ms;
    job_t *done; /* finished, not yet recorded; most recent first */
    /* keys in flight: open addressing over job pointers */
    job_t **slots;
    size_t nslots, inflight;
    int stopping;
    conn_backoff_t bo;
    brr_pg_pipe_t *pp;
    brr_outbox_t *ob; /* the Delivery events of the record transaction */
    brr_jbuf_t rows;  /* record_sql's parameter, reused */
    brr_histogram_t *latency;
    long host_limit; /* connections per host, from the registry */
    /* The round under way on the loop (brr_pg_busy(ds.pg)): the outcomes
     * being recorded, whether their transaction committed, and whether a
     * tick came meanwhile (one more round follows at once). */
    job_t *recording;
    int committed, again;
    struct cont *cont; /* continuations of the round trip under way */
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

/* Connections per host: as many as the largest concurrency, so an
 * organisation whose endpoint speaks only HTTP/1.1 still gets all of its
 * requests in flight, while on HTTP/2 the requests share a few connections
 * instead of a burst opening one per request (see
 * conn_deliver_limit_host).  Organisations that share a host, as in the
 * simulator, share these connections; on HTTP/2 each connection carries
 * about a hundred requests at once. */
static void limit_connections(void)
{
    long most = 1;
    for (size_t i = 0; i < ds.norgs; i++)
        if (ds.orgs[i]->enabled && ds.orgs[i]->concurrency > most)
            most = ds.orgs[i]->concurrency;
    if (most != ds.host_limit) {
        conn_deliver_limit_host(ds.d, most);
        ds.host_limit = most;
    }
}

/* The operator enabled or changed the organisation: whatever waited for
 * a backoff or a Retry-After is tried now. */
static void retry_now(org_t *o)
{
    const char *p[1] = {o->code};
    o->hold_until_ms = 0;
    o->fails = 0;
    if (brr_pg_query(ds.pg,
                     "UPDATE connector.sequences SET due_at = now() "
                     "WHERE organisation = $1 AND pending > 0 AND "
                     "parked = 0 AND due_at > now()",
                     1, p, NULL) == 0)
        brr_log_info("organisation changed; retrying its queues now", "org",
                     o->code, NULL);
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
                     "timeout_ms, connect_timeout_ms, enabled, "
                     "(extract(epoch FROM updated_at) * 1000000)::bigint "
                     "FROM connector.organisations "
                     "WHERE left_on IS NULL OR left_on > current_date",
                     0, NULL, &res) != 0)
        return;
    ds.registry_ms = now;
    for (size_t i = 0; i < ds.norgs; i++)
        ds.orgs[i]->seen = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *code = PQgetvalue(res, r, 0);
        long long updated = strtoll(PQgetvalue(res, r, 11), NULL, 10);
        org_t *o = org_find(code);
        if (o == NULL) {
            o = calloc(1, sizeof(*o));
            if (o == NULL)
                abort();
            snprintf(o->code, sizeof(o->code), "%s", code);
            o->updated = updated;
            ds.orgs = realloc(ds.orgs, (ds.norgs + 1) * sizeof(*ds.orgs));
            if (ds.orgs == NULL)
                abort();
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
            const char *tok =
                strncmp(tref, "env:", 4) == 0 ? getenv(tref + 4) : NULL;
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
                    brr_log_error("could not load signing secret", "org", code,
                                  NULL);
        }
        o->concurrency = atoi(PQgetvalue(res, r, 7));
        if (o->concurrency < 1)
            o->concurrency = 1;
        o->timeout_ms = atoi(PQgetvalue(res, r, 8));
        o->connect_timeout_ms = atoi(PQgetvalue(res, r, 9));
        o->enabled = PQgetvalue(res, r, 10)[0] == 't';
        if (updated != o->updated && o->enabled)
            o->retry_now = 1;
        o->updated = updated;
    }
    for (size_t i = 0; i < ds.norgs; i++)
        if (!ds.orgs[i]->seen)
            ds.orgs[i]->enabled = 0; /* left the registry */
    PQclear(res);
    limit_connections();
    for (size_t i = 0; i < ds.norgs; i++)
        if (ds.orgs[i]->retry_now) {
            ds.orgs[i]->retry_now = 0;
            retry_now(ds.orgs[i]);
        }
}

/* ---- sending ------------------------------------------------------------ */

static void on_tick(uv_timer_t *t);

static void on_result(const conn_result_t *r, void *arg)
{
    job_t *j = arg;
    j->outcome = r->outcome;
    j->status = r->status;
    j->latency_us = r->latency_us;
    j->retry_after_s = r->retry_after_s;
    j->done_ms = brr_now_ms();
    snprintf(j->error, sizeof(j->error), "%s", r->error ? r->error : "");
    j->org->inflight--;
    ds.inflight--;
    j->next = ds.done;
    ds.done = j;
    if (r->outcome == CONN_DELIVERED)
        j->org->fails = 0;
    else if (r->outcome != CONN_CANCELLED && j->org->fails < INT32_MAX)
        j->org->fails++;
    if (r->outcome == CONN_RETRY_AFTER) {
        /* 429 and 503 speak for the endpoint, not for one arrangement. */
        int64_t until = j->done_ms + r->retry_after_s * 1000;
        if (until > j->org->hold_until_ms)
            j->org->hold_until_ms = until;
    }
    if (r->outcome != CONN_CANCELLED)
        brr_counter_inc(brr_metrics_counter(
            "brr_connector_attempts_total", "delivery attempts by outcome",
            "org", j->org->code, "outcome", conn_outcome_name(r->outcome),
            NULL));
    if (r->outcome == CONN_DELIVERED)
        brr_histogram_observe(ds.latency, (double)r->latency_us / 1e6);
    if (!ds.stopping && uv_timer_get_due_in(&ds.tick) > RECORD_DELAY_MS)
        uv_timer_start(&ds.tick, on_tick, RECORD_DELAY_MS, TICK_MS);
}

/* A W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>"), or nothing. */
static int traceparent_ok(const char *s)
{
    size_t n = strlen(s);
    if (n != 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
        return 0;
    return strspn(s, "0123456789abcdef-") == n;
}

static int send_job(job_t *j, const char *type, const char *data_text,
                    const char *time)
{
    conn_cloudevent_t ce;
    conn_endpoint_t ep;
    conn_request_t rq;
    char *body = NULL;
    size_t len = 0;
    int rc;

    if (j->org->nsecrets == 0)
        return BRR_ECONFIG;
    /* the stored jsonb's text goes into the body as it is */
    memset(&ce, 0, sizeof(ce));
    ce.id = j->event_id;
    ce.oin = ds.conf.oin;
    ce.type = type;
    ce.subject = j->arrangement;
    ce.time = time;
    ce.sequence = (uint64_t)j->sequence;
    ce.data_text = data_text;
    ce.data_len = strlen(data_text);
    rc = conn_cloudevent_encode(&ce, &body, &len);
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
    rq.traceparent = traceparent_ok(j->traceparent) ? j->traceparent : NULL;
    rc = conn_deliver_post(ds.d, &ep, &rq, on_result, j);
    free(body);
    return rc;
}

/* Starts j; a request that cannot even be built is a failed attempt like
 * any other, so it is logged and backed off instead of retried per tick. */
static void start_job(job_t *j, const char *type, const char *data,
                      const char *time)
{
    int rc;
    *slot_find(j->key) = j;
    j->org->inflight++;
    ds.inflight++;
    if ((rc = send_job(j, type, data, time)) != 0) {
        char why[120];
        conn_result_t r = {.outcome = CONN_RETRY, .retry_after_s = -1};
        snprintf(why, sizeof(why), "could not build the request: %s",
                 rc == BRR_ECONFIG && j->org->nsecrets == 0
                     ? "no signing secret configured"
                     : brr_strerror(rc));
        r.error = why;
        brr_log_error("could not start delivery", "org", j->org->code, "eid",
                      j->event_id, "err", why, NULL);
        on_result(&r, j);
    }
}

/* For each eligible organisation ($1, with $2 = its requests in flight
 * plus its quota: its keys in flight are due too and come back, so ask
 * past them) its due keys, the longest due first, through the partial
 * index sequences_due.  It runs in the same round trip as the outcomes'
 * transaction, after its COMMIT, so the keys just recorded are there. */
static const char keys_sql[] =
    "SELECT o.i, k.arrangement_id FROM unnest($1::text[], $2::int[]) WITH "
    "ORDINALITY AS o(code, n, i) CROSS JOIN LATERAL (SELECT "
    "s.arrangement_id, s.due_at FROM connector.sequences s WHERE "
    "s.organisation = o.code AND s.pending > 0 AND s.parked = 0 AND "
    "s.due_at <= now() ORDER BY s.due_at LIMIT o.n) k ORDER BY o.i, k.due_at";

/* "d.status || ''" in heads_sql and record_sql: an expression, not the
 * column, so no index on status would ever be chosen.  There is none since
 * migration 0013 (an index on status makes every outcome's update write
 * all the table's indexes); before, the planner took one from statistics
 * taken while the queue was empty and filtered the organisation's whole
 * backlog for every key (0.3 ms per key, 280 ms per tick under load).
 * This way each head is the unique (organisation, arrangement_id,
 * sequence) index walked in order and each outcome a primary key lookup,
 * whatever the statistics say. */
static const char heads_sql[] =
    "SELECT k.i, d.id, d.event_id::text, d.sequence, d.type, d.data::text, "
    "to_char(d.event_time AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), d.citizen_ref, d.attempts, "
    "(extract(epoch FROM coalesce(d.first_attempt_at, now())) * 1000)"
    "::bigint, d.submitted_at_ms, coalesce(d.traceparent, '') "
    "FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(org, arr, i) "
    "CROSS JOIN LATERAL (SELECT * FROM connector.deliveries d WHERE "
    "d.organisation = k.org AND d.arrangement_id = k.arr AND d.status || "
    "'' = 'PENDING' ORDER BY d.sequence LIMIT 1) d";

/* Should never run: a key counted pending without a PENDING row would be
 * fetched every tick.  Recount under the keys' row locks, so the consumer
 * cannot change them in between. */
static void repair_keys(const char *const *orgs, const char *const *arrs,
                        size_t n)
{
    char *lo = brr_pg_array_literal(orgs, n);
    char *la = brr_pg_array_literal(arrs, n);
    const char *p[2] = {lo, la};
    brr_pg_pipe_add(ds.pp, "BEGIN", 0, NULL, NULL, NULL);
    brr_pg_pipe_add(ds.pp,
                    "SELECT 1 FROM connector.sequences s WHERE "
                    "(s.organisation, s.arrangement_id) IN (SELECT * FROM "
                    "unnest($1::text[], $2::text[])) ORDER BY 1 FOR UPDATE",
                    2, p, NULL, NULL);
    brr_pg_pipe_add(
        ds.pp,
        "UPDATE connector.sequences s SET pending = (SELECT count(*) FROM "
        "connector.deliveries d WHERE d.organisation = s.organisation AND "
        "d.arrangement_id = s.arrangement_id AND d.status = 'PENDING'), "
        "parked = (SELECT count(*) FROM connector.deliveries d WHERE "
        "d.organisation = s.organisation AND d.arrangement_id = "
        "s.arrangement_id AND d.status = 'PARKED') WHERE (s.organisation, "
        "s.arrangement_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        2, p, NULL, NULL);
    brr_pg_pipe_add(ds.pp, "COMMIT", 0, NULL, NULL, NULL);
    if (brr_pg_pipe_run(ds.pg, ds.pp) != 0)
        brr_pg_rollback(ds.pg);
    brr_log_warn("repaired queue counters", "keys", n == 1 ? "1" : "several",
                 NULL);
    free(lo);
    free(la);
}

/* ---- picking what to send ---------------------------------------------- */

/* One tick's choice: the organisations that may send now, each with its
 * quota, and the due keys the database returned for them. */
typedef struct {
    org_t **elig;
    const char **codes;
    char **counts;
    size_t ne;
    size_t room; /* free slots under max_inflight */
    /* keys_sql's answer, copied out of its result */
    long *key_org; /* index into elig */
    char **key_arr;
    size_t nkeys, capkeys;
} plan_t;

static void plan_free(plan_t *pl)
{
    for (size_t i = 0; i < pl->ne; i++)
        free(pl->counts[i]);
    for (size_t i = 0; i < pl->nkeys; i++)
        free(pl->key_arr[i]);
    free(pl->counts);
    free(pl->codes);
    free(pl->elig);
    free(pl->key_org);
    free(pl->key_arr);
}

/* Which organisations may send how much now; pl->ne == 0 when none. */
static void plan_quotas(plan_t *pl)
{
    int64_t now;

    memset(pl, 0, sizeof(*pl));
    for (size_t i = 0; i < ds.norgs; i++)
        ds.orgs[i]->quota = 0; /* none sends unless planned below */
    if (ds.stopping || ds.norgs == 0 ||
        ds.inflight >= (size_t)ds.conf.max_inflight)
        return;
    now = brr_now_ms();
    pl->room = (size_t)ds.conf.max_inflight - ds.inflight;
    pl->elig = calloc(ds.norgs, sizeof(*pl->elig));
    pl->codes = calloc(ds.norgs, sizeof(*pl->codes));
    pl->counts = calloc(ds.norgs, sizeof(*pl->counts));
    if (pl->elig == NULL || pl->codes == NULL || pl->counts == NULL)
        abort();
    /* Start with a different organisation each time, so that under the
     * global limit none is always served last. */
    for (size_t k = 0; k < ds.norgs; k++) {
        org_t *o = ds.orgs[(ds.rr + k) % ds.norgs];
        char n[24];
        o->quota = 0;
        if (!o->enabled || o->url == NULL || o->hold_until_ms > now ||
            o->inflight >= o->concurrency)
            continue;
        o->quota = o->concurrency - o->inflight;
        if (o->fails >= PROBE_AFTER)
            o->quota = o->inflight == 0 ? 1 : 0;
        if (o->quota == 0)
            continue;
        if ((size_t)o->quota > pl->room)
            o->quota = (int)pl->room;
        snprintf(n, sizeof(n), "%d", o->inflight + o->quota);
        if ((pl->counts[pl->ne] = strdup(n)) == NULL)
            abort();
        pl->codes[pl->ne] = o->code;
        pl->elig[pl->ne++] = o;
    }
    ds.rr++;
}

/* keys_sql's rows, copied: the result lives only during the callback. */
static void keys_collect(void *arg, const PGresult *res)
{
    plan_t *pl = arg;
    for (int r = 0; r < PQntuples(res); r++) {
        long i = strtol(PQgetvalue(res, r, 0), NULL, 10);
        if (i < 1 || (size_t)i > pl->ne)
            continue;
        if (pl->nkeys == pl->capkeys) {
            pl->capkeys = pl->capkeys ? 2 * pl->capkeys : 256;
            pl->key_org =
                realloc(pl->key_org, pl->capkeys * sizeof(*pl->key_org));
            pl->key_arr =
                realloc(pl->key_arr, pl->capkeys * sizeof(*pl->key_arr));
            if (pl->key_org == NULL || pl->key_arr == NULL)
                abort();
        }
        pl->key_org[pl->nkeys] = i - 1;
        if ((pl->key_arr[pl->nkeys++] = strdup(PQgetvalue(res, r, 1))) == NULL)
            abort();
    }
}

/* Queues keys_sql for the organisations in pl. */
static void keys_queue(plan_t *pl)
{
    char *lc, *ln;
    const char *p[2];
    if (pl->ne == 0)
        return;
    lc = brr_pg_array_literal(pl->codes, pl->ne);
    ln = brr_pg_array_literal((const char *const *)pl->counts, pl->ne);
    p[0] = lc;
    p[1] = ln;
    brr_pg_pipe_add_prepared(ds.pp, "conn_keys", keys_sql, 2, p, keys_collect,
                             pl);
    free(lc);
    free(ln);
}

/* The heads being fetched: which key each row of heads_sql belongs to. */
typedef struct {
    org_t **o;
    const char **org, **arr;
    unsigned char *found;
    size_t n;
} heads_t;

/* A job for row r of a heads query whose id column is c (the columns of
 * heads_sql from its second on). */
static job_t *job_new(org_t *o, const char *arr, const PGresult *res, int r,
                      int c)
{
    job_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        abort();
    j->org = o;
    snprintf(j->key, sizeof(j->key), "%s|%s", o->code, arr);
    snprintf(j->arrangement, sizeof(j->arrangement), "%s", arr);
    j->id = strtoll(PQgetvalue(res, r, c), NULL, 10);
    snprintf(j->event_id, sizeof(j->event_id), "%s", PQgetvalue(res, r, c + 1));
    j->sequence = strtoll(PQgetvalue(res, r, c + 2), NULL, 10);
    snprintf(j->citizen, sizeof(j->citizen), "%s", PQgetvalue(res, r, c + 6));
    j->attempts = atoi(PQgetvalue(res, r, c + 7));
    j->first_ms = strtoll(PQgetvalue(res, r, c + 8), NULL, 10);
    j->submitted_ms = strtoll(PQgetvalue(res, r, c + 9), NULL, 10);
    snprintf(j->traceparent, sizeof(j->traceparent), "%s",
             PQgetvalue(res, r, c + 10));
    return j;
}

static void heads_start(void *arg, const PGresult *hr)
{
    heads_t *h = arg;
    if (ds.stopping)
        return; /* they stay PENDING for the next start */
    while (ds.inflight + h->n >= ds.nslots / 2)
        slot_grow();
    for (int r = 0; r < PQntuples(hr); r++) {
        long i = strtol(PQgetvalue(hr, r, 0), NULL, 10);
        if (i < 1 || (size_t)i > h->n)
            continue;
        h->found[i - 1] = 1;
        start_job(job_new(h->o[i - 1], h->arr[i - 1], hr, r, 1),
                  PQgetvalue(hr, r, 4), PQgetvalue(hr, r, 5),
                  PQgetvalue(hr, r, 6));
    }
}

/* The round under way: this tick's plan and the heads being fetched. */
static struct {
    plan_t pl;
    heads_t h;
} rd;

/* Of the due keys, those not in flight, within each organisation's quota
 * and the free slots: queues the query for their heads (heads_start sends
 * each as it arrives).  The number of keys asked for. */
static size_t heads_queue(plan_t *pl, heads_t *h)
{
    memset(h, 0, sizeof(*h));
    if (pl->nkeys == 0)
        return 0;
    h->o = calloc(pl->nkeys, sizeof(*h->o));
    h->org = calloc(pl->nkeys, sizeof(*h->org));
    h->arr = calloc(pl->nkeys, sizeof(*h->arr));
    if (h->o == NULL || h->org == NULL || h->arr == NULL)
        abort();
    for (size_t r = 0; r < pl->nkeys && h->n < pl->room; r++) {
        org_t *o = pl->elig[pl->key_org[r]];
        char key[128];
        if (o->quota <= 0)
            continue;
        snprintf(key, sizeof(key), "%s|%s", o->code, pl->key_arr[r]);
        if (*slot_find(key) != NULL)
            continue; /* its predecessor is still on its way */
        o->quota--;
        h->o[h->n] = o;
        h->org[h->n] = o->code;
        h->arr[h->n++] = pl->key_arr[r];
    }
    if (h->n > 0) {
        char *lo = brr_pg_array_literal(h->org, h->n);
        char *la = brr_pg_array_literal(h->arr, h->n);
        const char *p[2] = {lo, la};
        if ((h->found = calloc(h->n, 1)) == NULL)
            abort();
        brr_pg_pipe_add_prepared(ds.pp, "conn_heads", heads_sql, 2, p,
                                 heads_start, h);
        free(lo);
        free(la);
    }
    return h->n;
}

/* After heads_sql (rc its outcome): a key counted pending without a
 * PENDING row is recounted. */
static void heads_done(heads_t *h, int rc)
{
    size_t nmiss = 0;
    if (rc == 0 && !ds.stopping) {
        for (size_t i = 0; i < h->n; i++)
            if (!h->found[i]) {
                h->org[nmiss] = h->org[i];
                h->arr[nmiss++] = h->arr[i];
            }
        if (nmiss > 0)
            repair_keys(h->org, h->arr, nmiss);
    }
    free(h->found);
    free(h->o);
    free(h->org);
    free(h->arr);
    memset(h, 0, sizeof(*h));
}

/* ---- recording outcomes ------------------------------------------------- */

/* Every outcome in the batch: its attempt into the delivery log, its row's
 * new state (a HOT update: no index covers these columns, migration 0013)
 * and its key's counters; one statement, the batch parsed once.  It
 * answers with the next head of every key whose event was delivered (the
 * statement's snapshot still shows that event PENDING, hence "sequence >"):
 * the continuation, sent once the transaction has committed, so a key with
 * a backlog goes on without waiting for the due-keys query. */
static const char record_sql[] =
    "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, "
    "org text, state text, status int, latency_us bigint, error text, "
    "next_ms bigint, at_ms bigint, first_ms bigint)), "
    "a AS (INSERT INTO connector.attempts (delivery_id, organisation, at, "
    "http_status, latency_us, error) SELECT id, org, to_timestamp(at_ms / "
    "1000.0), status, latency_us, nullif(error, '') FROM x), "
    "u AS (UPDATE connector.deliveries d SET status = x.state, attempts = "
    "d.attempts + 1, last_status = x.status, last_error = nullif(x.error, "
    "''), next_attempt_at = to_timestamp(x.next_ms / 1000.0), "
    "first_attempt_at = coalesce(d.first_attempt_at, to_timestamp(x.first_ms "
    "/ 1000.0)), delivered_at = CASE WHEN x.state = 'DELIVERED' THEN "
    "to_timestamp(x.at_ms / 1000.0) ELSE d.delivered_at END FROM x WHERE "
    "d.id = x.id AND d.status || '' = 'PENDING' RETURNING d.organisation, "
    "d.arrangement_id, d.sequence, x.state, x.next_ms), "
    "s AS (UPDATE connector.sequences s SET pending = s.pending - (u.state <> "
    "'PENDING')::int, parked = s.parked + (u.state = 'PARKED')::int, due_at "
    "= CASE WHEN u.state = 'PENDING' THEN to_timestamp(u.next_ms / 1000.0) "
    "ELSE now() END FROM u WHERE s.organisation = u.organisation AND "
    "s.arrangement_id = u.arrangement_id RETURNING s.organisation, "
    "s.arrangement_id, s.pending, s.parked, u.sequence, u.state) "
    "SELECT s.organisation, s.arrangement_id, h.id, h.event_id::text, "
    "h.sequence, h.type, h.data::text, to_char(h.event_time AT TIME ZONE "
    "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), h.citizen_ref, "
    "h.attempts, (extract(epoch FROM coalesce(h.first_attempt_at, now())) * "
    "1000)::bigint, h.submitted_at_ms, coalesce(h.traceparent, '') FROM s "
    "CROSS JOIN LATERAL (SELECT * FROM connector.deliveries d WHERE "
    "d.organisation = s.organisation AND d.arrangement_id = s.arrangement_id "
    "AND d.sequence > s.sequence AND d.status || '' = 'PENDING' ORDER BY "
    "d.sequence LIMIT 1) h WHERE s.state = 'DELIVERED' AND s.pending > 0 AND "
    "s.parked = 0";

static const char gone_sql[] =
    "UPDATE connector.organisations o SET enabled = false, disabled_reason "
    "= '410 Gone from endpoint', updated_at = now() FROM "
    "jsonb_to_recordset($1::jsonb) AS x(org text, gone bool) WHERE x.gone "
    "AND o.code = x.org AND o.enabled";

static const char health_sql[] =
    "INSERT INTO connector.org_status AS o (organisation, last_success_at, "
    "last_error_at, last_status, last_error, consecutive_failures) SELECT "
    "org, to_timestamp(ok_ms / 1000.0), to_timestamp(err_ms / 1000.0), "
    "status, error, fails FROM jsonb_to_recordset($1::jsonb) AS x(org text, "
    "ok_ms bigint, err_ms bigint, status int, error text, fails bigint) "
    "ON CONFLICT (organisation) DO UPDATE SET "
    "last_success_at = coalesce(EXCLUDED.last_success_at, "
    "o.last_success_at), last_error_at = coalesce(EXCLUDED.last_error_at, "
    "o.last_error_at), last_status = CASE WHEN EXCLUDED.last_error_at IS NOT "
    "NULL THEN EXCLUDED.last_status ELSE o.last_status END, last_error = "
    "CASE WHEN EXCLUDED.last_error_at IS NOT NULL THEN EXCLUDED.last_error "
    "ELSE o.last_error END, consecutive_failures = CASE WHEN "
    "EXCLUDED.last_success_at IS NOT NULL THEN EXCLUDED.consecutive_failures "
    "ELSE o.consecutive_failures + EXCLUDED.consecutive_failures END, "
    "updated_at = now()";

/* One organisation's outcomes in this batch, newest first. */
typedef struct {
    org_t *org;
    int64_t ok_ms, err_ms;
    int status, success_seen;
    long long fails; /* failures newer than the newest success */
    const char *error;
} health_t;

static health_t *health_of(health_t *h, size_t *n, org_t *o)
{
    for (size_t i = 0; i < *n; i++)
        if (h[i].org == o)
            return &h[i];
    memset(&h[*n], 0, sizeof(h[*n]));
    h[*n].org = o;
    return &h[(*n)++];
}

static json_t *health_rows(const job_t *list)
{
    size_t n = 0, cap = 0;
    health_t *h = NULL;
    json_t *rows = json_array();
    for (const job_t *j = list; j; j = j->next) {
        health_t *x;
        if (j->outcome == CONN_CANCELLED)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            if ((h = realloc(h, cap * sizeof(*h))) == NULL)
                abort();
        }
        x = health_of(h, &n, j->org);
        if (j->outcome == CONN_DELIVERED) {
            if (!x->success_seen)
                x->ok_ms = j->done_ms;
            x->success_seen = 1;
            continue;
        }
        if (!x->success_seen)
            x->fails++;
        if (x->err_ms == 0) {
            x->err_ms = j->done_ms;
            x->status = j->status;
            x->error = j->error;
        }
    }
    for (size_t i = 0; i < n; i++) {
        char err[200];
        json_t *r = json_pack("{s:s, s:I}", "org", h[i].org->code, "fails",
                              (json_int_t)h[i].fails);
        if (h[i].ok_ms)
            json_object_set_new(r, "ok_ms", json_integer(h[i].ok_ms));
        if (h[i].err_ms) {
            if (h[i].error[0])
                snprintf(err, sizeof(err), "%s", h[i].error);
            else
                snprintf(err, sizeof(err), "HTTP %d", h[i].status);
            json_object_set_new(r, "err_ms", json_integer(h[i].err_ms));
            json_object_set_new(r, "status", json_integer(h[i].status));
            json_object_set_new(r, "error", json_string(err));
        }
        json_array_append_new(rows, r);
    }
    free(h);
    return rows;
}

static void set_flag(void *arg, const PGresult *res)
{
    (void)res;
    *(int *)arg = 1;
}

/* A key's next head, from record_sql: its job and what start_job needs,
 * copied, for it starts only once the transaction has committed. */
typedef struct cont {
    struct cont *next;
    job_t *j;
    char *type, *data, *time;
} cont_t;

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        abort();
    return p;
}

static void cont_collect(void *arg, const PGresult *res)
{
    (void)arg;
    for (int r = 0; r < PQntuples(res); r++) {
        org_t *o = org_find(PQgetvalue(res, r, 0));
        cont_t *c;
        if (o == NULL)
            continue;
        if ((c = calloc(1, sizeof(*c))) == NULL)
            abort();
        c->j = job_new(o, PQgetvalue(res, r, 1), res, r, 2);
        c->type = xstrdup(PQgetvalue(res, r, 5));
        c->data = xstrdup(PQgetvalue(res, r, 6));
        c->time = xstrdup(PQgetvalue(res, r, 7));
        c->next = ds.cont;
        ds.cont = c;
    }
}

/* After the commit: sends each continuation its organisation has room
 * for now (the quota of this tick's plan pl, NULL: none); the others stay
 * PENDING and due, for the due-keys query. */
static void cont_start(plan_t *pl)
{
    int64_t now = brr_now_ms();
    cont_t *c = ds.cont, *next;

    ds.cont = NULL;
    for (; c != NULL; c = next) {
        org_t *o = c->j->org;
        next = c->next;
        while (ds.inflight + 1 >= ds.nslots / 2)
            slot_grow();
        if (pl != NULL && !ds.stopping && o->enabled && o->url != NULL &&
            o->quota > 0 && pl->room > 0 && o->hold_until_ms <= now &&
            *slot_find(c->j->key) == NULL) {
            o->quota--;
            pl->room--;
            brr_counter_inc(brr_metrics_counter(
                "brr_connector_continued_total",
                "events sent as soon as their predecessor's delivery was "
                "recorded, without a due-keys query",
                "org", o->code, NULL));
            start_job(c->j, c->type, c->data, c->time);
        } else {
            free(c->j);
        }
        free(c->type);
        free(c->data);
        free(c->time);
        free(c);
    }
}

/* Queues the transaction that records what finished (ds.done, moved to
 * ds.recording) and, after its COMMIT, pl's query for due keys (pl NULL:
 * record only). */
static void record_queue(plan_t *pl)
{
    json_t *health;
    job_t *list = ds.done, *j;
    brr_jbuf_t *b = &ds.rows;
    char *hdoc;
    const char *p[1], *hp[1];
    int any_gone = 0;
    size_t nrows = 0;

    ds.recording = list;
    ds.done = NULL;
    ds.committed = 0;
    if (list == NULL) {
        if (pl != NULL)
            keys_queue(pl);
        return;
    }
    /* the rows for record_sql, written as JSON text */
    brr_jbuf_reset(b);
    brr_jbuf_putc(b, '[');
    for (j = list; j; j = j->next) {
        const char *state = "PENDING";
        int64_t next = j->done_ms;
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
            dv.delivered_at_ms = j->done_ms;
            dv.submitted_at_ms = j->submitted_ms;
            dv.citizen_ref = j->citizen;
            brr_outbox_add(ds.ob, TOPIC_DELIVERIES, j->citizen, "delivery",
                           j->event_id, "delivery.succeeded", &dv.base, NULL,
                           NULL);
        } else {
            RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
            if (j->outcome != CONN_GONE &&
                conn_backoff_give_up(&ds.bo, (uint64_t)j->first_ms,
                                     (uint64_t)j->done_ms)) {
                state = "PARKED";
                brr_log_error("delivery parked after maximum age; its "
                              "arrangement waits for brrctl replay",
                              "org", j->org->code, "eid", j->event_id, NULL);
                brr_counter_inc(brr_metrics_counter(
                    "brr_connector_parked_total",
                    "deliveries parked after the maximum age", "org",
                    j->org->code, NULL));
            }
            next = (int64_t)conn_backoff_next_ms(
                &ds.bo, (uint32_t)j->attempts, rnd,
                j->outcome == CONN_RETRY_AFTER ? j->retry_after_s : -1,
                (uint64_t)j->first_ms, (uint64_t)j->done_ms);
            if (j->outcome == CONN_GONE) {
                any_gone = 1;
                brr_log_error("organisation answered 410 gone; endpoint "
                              "disabled until an operator enables it",
                              "org", j->org->code, NULL);
            }
        }
        nrows++;
        brr_jbuf_putc(b, '{');
        brr_jbuf_member_int(b, "id", j->id);
        brr_jbuf_member_str(b, "org", j->org->code);
        brr_jbuf_member_str(b, "state", state);
        brr_jbuf_member_int(b, "status", j->status);
        brr_jbuf_member_int(b, "latency_us", (int64_t)j->latency_us);
        brr_jbuf_member_int(b, "next_ms", next);
        brr_jbuf_member_int(b, "at_ms", j->done_ms);
        brr_jbuf_member_int(b, "first_ms", j->first_ms);
        brr_jbuf_member_str(b, "error", j->error);
        brr_jbuf_member_bool(b, "gone", j->outcome == CONN_GONE);
        brr_jbuf_end_object(b);
    }
    brr_jbuf_unput(b, ',');
    brr_jbuf_putc(b, ']');
    health = health_rows(list);
    hdoc = json_dumps(health, JSON_COMPACT);
    p[0] = brr_jbuf_cstr(b);
    hp[0] = hdoc;
    if (nrows > 0) {
        brr_pg_pipe_add(ds.pp, "BEGIN", 0, NULL, NULL, NULL);
        brr_pg_pipe_add_prepared(ds.pp, "conn_record", record_sql, 1, p,
                                 cont_collect, NULL);
        if (any_gone)
            brr_pg_pipe_add(ds.pp, gone_sql, 1, p, NULL, NULL);
        brr_pg_pipe_add_prepared(ds.pp, "conn_health", health_sql, 1, hp, NULL,
                                 NULL);
        brr_outbox_queue(ds.ob, ds.pp);
        brr_pg_pipe_add(ds.pp, "COMMIT", 0, NULL, set_flag, &ds.committed);
    } else {
        ds.committed = 1; /* only cancelled ones: nothing to write */
    }
    if (pl != NULL)
        keys_queue(pl);
    free(hdoc);
    json_decref(health);
}

/* After record_queue's round trip: committed outcomes free their keys;
 * the others go back to ds.done, to be recorded again on the next tick
 * (their Delivery events are added again then). */
static void record_end(void)
{
    job_t *list = ds.recording;
    ds.recording = NULL;
    if (list == NULL)
        return;
    if (!ds.committed) {
        job_t **tail = &ds.done;
        brr_outbox_clear(ds.ob);
        brr_pg_rollback(ds.pg);
        while (*tail != NULL) /* they are older than what finished since */
            tail = &(*tail)->next;
        *tail = list;
        return;
    }
    while (list != NULL) {
        job_t *next = list->next;
        if (list->outcome == CONN_GONE)
            list->org->enabled = 0;
        slot_del(list->key);
        free(list);
        list = next;
    }
    if (ds.svc->relay != NULL) /* NULL once the service is stopping */
        brr_relay_kick(ds.svc->relay);
}

/* Records what finished, blocking the loop: at shutdown. */
static void record_now(void)
{
    if (ds.done == NULL || brr_pg_ensure(ds.pg) != 0)
        return;
    record_queue(NULL);
    if (brr_pg_pipe_count(ds.pp) > 0)
        brr_pg_pipe_run(ds.pg, ds.pp);
    record_end();
    cont_start(NULL); /* at shutdown: none is sent */
}

/*
 * A tick is one round on the loop, in two round trips: the outcomes'
 * transaction with the query for due keys, then the query for their
 * heads, each sent as it arrives.  The loop carries the requests to the
 * organisations meanwhile; outcomes that finish during a round are
 * recorded by the next, which starts as soon as this one ends.
 */
static void round_end(void)
{
    plan_free(&rd.pl);
    if (ds.again && !ds.stopping) {
        ds.again = 0;
        uv_timer_start(&ds.tick, on_tick, 0, TICK_MS);
    }
}

static void on_heads(void *arg, int rc)
{
    (void)arg;
    heads_done(&rd.h, rc);
    round_end();
}

static void on_recorded(void *arg, int rc)
{
    (void)arg;
    record_end();
    cont_start(ds.committed ? &rd.pl : NULL);
    if (rc != 0 || ds.stopping || heads_queue(&rd.pl, &rd.h) == 0) {
        heads_done(&rd.h, BRR_EINVAL);
        round_end();
        return;
    }
    if (brr_pg_pipe_start(ds.pg, ds.pp, ds.svc->loop, on_heads, NULL) != 0) {
        heads_done(&rd.h, BRR_EDBTRANSIENT);
        round_end();
    }
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
    if (ds.stopping)
        return;
    if (brr_pg_busy(ds.pg)) {
        ds.again = 1;
        return;
    }
    registry_refresh(0);
    plan_quotas(&rd.pl);
    if (brr_pg_ensure(ds.pg) != 0) {
        plan_free(&rd.pl);
        return;
    }
    record_queue(&rd.pl);
    if (brr_pg_pipe_count(ds.pp) == 0) {
        record_end(); /* only cancelled outcomes, or nothing at all */
        plan_free(&rd.pl);
        return;
    }
    if (brr_pg_pipe_start(ds.pg, ds.pp, ds.svc->loop, on_recorded, NULL) != 0) {
        record_end(); /* not committed: kept for the next tick */
        plan_free(&rd.pl);
    }
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
    /* The per-host limit follows the registry (limit_connections); the
     * dispatcher bounds requests per organisation and in total. */
    conn_deliver_opts_t opts = {0, 0, 256, 0};
    int rc;

    memset(&ds, 0, sizeof(ds));
    ds.svc = svc;
    ds.conf = *conf;
    conn_backoff_defaults(&ds.bo);
    ds.bo.max_age_ms = (uint64_t)conf->max_age_s * 1000u;
    ds.pp = brr_pg_pipe_new();
    ds.ob = brr_outbox_new(svc->def->schema, svc->def->source);
    slot_grow();
    brr_pg_connect_opts(svc->pg_dsn, "brr-connector-dispatch",
                        BRR_PG_CUSTOM_PLAN_OPTIONS, &ds.pg);
    if ((rc = conn_deliver_init(svc->loop, &opts, &ds.d)) != 0)
        return rc;
    {
        static const double b[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                   0.25,  0.5,    1,     2.5,  5,     10};
        ds.latency =
            brr_metrics_histogram("brr_connector_delivery_seconds",
                                  "time from request to the organisation's 2xx",
                                  b, sizeof(b) / sizeof(b[0]), NULL);
    }
    uv_timer_init(svc->loop, &ds.tick);
    uv_timer_start(&ds.tick, on_tick, 0, TICK_MS);
    return 0;
}

static void on_closed(void *arg)
{
    (void)arg;
    record_now(); /* cancelled jobs are skipped; they stay pending */
    for (job_t *j = ds.done, *n; j; j = n) {
        n = j->next;
        free(j);
    }
    ds.done = NULL;
    brr_pg_close(ds.pg);
    brr_pg_pipe_free(ds.pp);
    brr_outbox_free(ds.ob);
    brr_jbuf_free(&ds.rows);
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
    /* let the round under way end (it sends nothing more), record what
     * finished, then cancel what is in flight */
    brr_pg_pipe_wait(ds.pg);
    record_now();
    conn_deliver_close(ds.d, on_closed, NULL);
}
