/*
 * api.c: brr-intake's HTTP API for the web-form back ends.
 *
 *   POST /v1/applications               202 {application_id, status}
 *   GET  /v1/applications/{id}          200 the application's status (ETag)
 *   GET  /v1/arrangements/{id}          200 the citizen's arrangement: terms
 *                                       per organisation, schedule, pauses,
 *                                       history (ETag)
 *   GET  /v1/arrangements/{id}/pauses/{pause_id}
 *                                       200 the pause, 422 problem+json
 *                                       when it was refused (limit, figures)
 *   POST /v1/arrangements/{id}/pauses   202 {pause_id, request_id, status}
 *   DELETE /v1/arrangements/{id}/pauses/{pause_id}
 *                                       202 cancel requested
 *
 * Mutual TLS: the channel is the client certificate's CN, never the body.
 * A channel reads and pauses only the arrangements of applications it
 * submitted; a debt counsellor's channel (BRR_INTAKE_COUNSELLOR_CHANNELS)
 * submits no applications, may ask for or cancel a pause of any
 * arrangement, and reads the arrangements it asked pauses for
 * (intake.pause_channels).  Another channel's arrangement is "not found".
 * Each channel has a token bucket (429 with Retry-After when empty).
 * Writes take an Idempotency-Key.  "202" means committed: applications
 * that arrive close together are committed in one transaction (the
 * batcher), so throughput does not fall to one fsync per request, and each
 * request is answered only after that commit.  If the commit fails every
 * request of the batch gets a retryable 503 and nothing of it remains.
 *
 * The commits run on committers: each has its own connection and outbox
 * buffer and runs one batch at a time on libuv's thread pool, so the loop
 * keeps reading, validating and answering requests while the database
 * syncs, and up to BRR_INTAKE_COMMITTERS batches are in flight.  A
 * committer's thread touches only its batch and connection: requests are
 * answered, metrics counted and the relay kicked back on the loop.  A batch
 * is four set-based statements whatever its size (claim the keys and find
 * the citizens; the applications; the outbox rows; the keys held by
 * others, only when some are), each prepared once per connection and fed
 * one JSON document written as text, and a second committer waits a little
 * for a batch worth its fixed cost (batch_due).
 */
#include "api.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "brr/v1/application.pb-c.h"
#include "brr/v1/pause.pb-c.h"
#include "err.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"
#include "reports.h"
#include "uuid.h"
#include "validate.h"

#define TOPIC_APPLICATIONS "brr.intake.applications.v1"
#define TOPIC_PAUSE_REQUESTS "brr.pause.requests.v1"
#define PROBLEM "application/problem+json"
#define KEY_MAX 128
#define MAX_CHANNELS 16
#define MAX_COMMITTERS 8
#define MAX_BATCH_WAIT_NS 10000000 /* 10 ms: see batch_due() */

typedef struct pending {
    struct pending *next;
    brr_http_deferred_t *d;
    int cancelled;
    char channel[64];
    char key[KEY_MAX + 1];
    char hash[65];
    char app_id[BRR_UUID_STRLEN + 1];
    char traceparent[64];
    unsigned char pseudonym[32];
    uint64_t t_ns; /* queued at (uv_hrtime) */
    /* filled by the flush */
    int won; /* this request's Idempotency-Key row was inserted */
    char citizen_ref[BRR_UUID_STRLEN + 1];
    int status;
    int replayed;
    char *response;           /* malloc'd JSON */
    struct pending *same_key; /* an earlier request in this batch */
    intake_app_t app;         /* last: pending_get() zeroes what is before */
} pending_t;

typedef struct {
    uv_work_t work;
    brr_pg_t *pg;
    brr_pg_pipe_t *pp;
    brr_outbox_t *ob;
    pending_t *list;
    pending_t **arr; /* the batch by position ("i" in its documents) */
    size_t n, cap;
    /* the batch's documents, kept from batch to batch */
    brr_jbuf_t keys, apps, scratch;
    int busy;
    int rc;
    uint64_t t0;
} committer_t;

typedef struct {
    char name[64];
    intake_bucket_t bucket;
    int counsellor; /* a debt counsellor's: pauses only */
} channel_t;

static struct {
    brr_service_t *svc;
    intake_api_conf_t conf;
    brr_http_server_t *srv;
    uv_timer_t flush_timer;
    pending_t *head, **tail;
    size_t npending;
    uint64_t commit_ewma_ns; /* recent time to commit a batch */
    brr_pg_pipe_t *pp;       /* post_pause's, on the loop */
    committer_t committers[MAX_COMMITTERS];
    size_t ncommitters, nbusy;
    int stopping;
    channel_t channels[MAX_CHANNELS];
    size_t nchannels;
    char **orgs;
    size_t norgs;
    uint64_t orgs_loaded_ms, orgs_tried_ms;
    brr_counter_t *accepted, *rejected, *replayed, *failed, *limited;
    brr_histogram_t *commit_seconds, *batch_size;
} api;

/* ---- helpers ------------------------------------------------------------ */

static void send_json(h2o_req_t *req, int status, const char *ct,
                      const char *body)
{
    brr_http_send(req, status, ct, body, strlen(body));
}

static void send_problem(h2o_req_t *req, int status, const char *title,
                         const char *detail)
{
    char *p = intake_problem(status, title, detail, NULL, 0);
    send_json(req, status, PROBLEM, p);
    free(p);
}

/* The channel of the client certificate: its 1-based index in the
 * configured channels (out gets the name), or 0 when it is none of them.
 * Only a certificate of the channel CA names a channel: an organisation's
 * certificate is none, whatever its CN (peer.c). */
static int channel_of(h2o_req_t *req, char *out, size_t cap)
{
    if (intake_peer_cn(req, &api.conf.roles, INTAKE_ROLE_CHANNEL, out, cap) !=
        0)
        return 0;
    for (size_t i = 0; i < api.nchannels; i++)
        if (strcmp(api.channels[i].name, out) == 0)
            return (int)i + 1;
    return 0;
}

/* Takes a token from the channel's bucket; answers 429 and returns 0 when
 * there is none. */
static int within_rate(h2o_req_t *req, int ch)
{
    uint64_t wait_ms =
        intake_bucket_take(&api.channels[ch - 1].bucket, uv_now(api.svc->loop));
    char secs[24];
    if (wait_ms == 0)
        return 1;
    snprintf(secs, sizeof(secs), "%llu",
             (unsigned long long)((wait_ms + 999) / 1000));
    brr_http_add_header(req, "retry-after", secs);
    send_problem(req, 429, "too many requests",
                 "this channel's request rate is above its limit; retry "
                 "after the number of seconds in Retry-After");
    brr_counter_inc(api.limited);
    return 0;
}

/* Both checks every handler starts with: a known channel, within its rate.
 * Returns the channel index (1-based) or 0 after answering. */
static int admit(h2o_req_t *req, char *channel, size_t cap)
{
    int ch = channel_of(req, channel, cap);
    if (ch == 0) {
        send_problem(req, 403, "not a channel", INTAKE_PEER_NOT_CHANNEL);
        return 0;
    }
    return within_rate(req, ch) ? ch : 0;
}

/* 1 when channel (an admitted channel's name) is a debt counsellor's. */
static int is_counsellor(const char *channel)
{
    for (size_t i = 0; i < api.nchannels; i++)
        if (strcmp(api.channels[i].name, channel) == 0)
            return api.channels[i].counsellor;
    return 0;
}

/* A debt counsellor's channel on an application route: answers 403 and
 * returns 1. */
static int counsellor_refused(h2o_req_t *req, const char *channel)
{
    if (!is_counsellor(channel))
        return 0;
    send_problem(req, 403, "not an applications channel",
                 "this certificate is a debt counsellor's channel: it may "
                 "request and cancel pauses and read the arrangements it "
                 "requested them for, not submit or read applications");
    return 1;
}

static void today(char out[11])
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm); /* TZ is Europe/Amsterdam, set at start */
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hx[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The organisation registry, read (not owned) from connector's schema and
 * refreshed every 30 s so a new organisation is accepted without restart.
 * Returns 0 when a registry is known (perhaps an older one while the
 * database is away), else BRR_EDBTRANSIENT: without it no claim can be
 * judged, and the answer must be a retryable 503, not a refusal. */
static int load_orgs(void)
{
    PGresult *res;
    uint64_t now = uv_now(api.svc->loop);
    if (api.orgs != NULL && now - api.orgs_loaded_ms < 30000)
        return 0;
    /* the database failed just now: do not stall every request on it */
    if (api.orgs_tried_ms != 0 && now - api.orgs_tried_ms < 1000)
        return api.orgs != NULL ? 0 : BRR_EDBTRANSIENT;
    api.orgs_tried_ms = now;
    if (brr_pg_ensure(api.svc->pg) != 0 ||
        brr_pg_query(api.svc->pg,
                     "SELECT code FROM connector.organisations "
                     "WHERE left_on IS NULL OR left_on > current_date",
                     0, NULL, &res) != 0)
        return api.orgs != NULL ? 0 : BRR_EDBTRANSIENT;
    for (size_t i = 0; i < api.norgs; i++)
        free(api.orgs[i]);
    free(api.orgs);
    api.norgs = (size_t)PQntuples(res);
    api.orgs = calloc(api.norgs + 1, sizeof(char *));
    if (api.orgs == NULL)
        abort();
    for (size_t i = 0; i < api.norgs; i++)
        api.orgs[i] = strdup(PQgetvalue(res, (int)i, 0));
    PQclear(res);
    api.orgs_loaded_ms = now;
    return 0;
}

static int org_known(void *arg, const char *code)
{
    (void)arg;
    for (size_t i = 0; i < api.norgs; i++)
        if (strcmp(api.orgs[i], code) == 0)
            return 1;
    return 0;
}

static int idempotency_key(h2o_req_t *req, char out[KEY_MAX + 1])
{
    const char *v;
    size_t n;
    if (brr_http_header(req, "idempotency-key", &v, &n) != 0 || n == 0 ||
        n > KEY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x21 || v[i] > 0x7e)
            return 0;
    memcpy(out, v, n);
    out[n] = '\0';
    return 1;
}

/* ---- the batcher -------------------------------------------------------- */

/* Requests answered go back here for the next one: a pending_t is large
 * (the parsed application with room for every claim) and one is used per
 * request. */
static pending_t *spare;
static size_t nspare;
#define MAX_SPARE 4096

static pending_t *pending_get(void)
{
    pending_t *p = spare;
    if (p != NULL) {
        spare = p->next;
        nspare--;
        memset(p, 0, offsetof(pending_t, app));
        return p;
    }
    if ((p = malloc(sizeof(*p))) == NULL)
        abort();
    memset(p, 0, offsetof(pending_t, app));
    return p;
}

/* Wipes what is personal and keeps (or frees) the memory. */
static void pending_put(pending_t *p)
{
    OPENSSL_cleanse(p->app.bsn, sizeof(p->app.bsn));
    OPENSSL_cleanse(&p->app.personal, sizeof(p->app.personal));
    if (nspare == MAX_SPARE) {
        free(p);
        return;
    }
    p->next = spare;
    spare = p;
    nspare++;
}

static void on_cancel(void *arg)
{
    pending_t *p = arg;
    p->cancelled = 1; /* the commit still happens; only the answer is lost */
}

static char *reused_key_problem(void)
{
    return intake_problem(422, "idempotency key reused",
                          "this Idempotency-Key was used with a different "
                          "body",
                          NULL, 0);
}

/* Answers every request of a batch and frees it; on the loop. */
static void finish_all(pending_t *list)
{
    while (list != NULL) {
        pending_t *next = list->next;
        int st = list->status ? list->status : 503;
        const char *body = list->response;
        char *fallback = NULL;
        if (body == NULL || st == 503) {
            fallback = intake_problem(503, "temporarily unavailable",
                                      "the application was not stored; "
                                      "retry with the same Idempotency-Key",
                                      NULL, 0);
            body = fallback;
            st = 503;
        }
        if (brr_http_deferred_req(list->d) != NULL && st == 503)
            brr_http_add_header(brr_http_deferred_req(list->d), "retry-after",
                                "1");
        brr_http_deferred_send(list->d, st,
                               st < 300 ? "application/json" : PROBLEM, body,
                               strlen(body));
        if (st == 202 && !list->replayed)
            brr_counter_inc(api.accepted);
        else if (st == 503)
            brr_counter_inc(api.failed);
        if (list->replayed)
            brr_counter_inc(api.replayed);
        free(fallback);
        free(list->response);
        pending_put(list);
        list = next;
    }
}

/* The request at position i of the committer's batch (a row's "i"), or
 * NULL when i is not one. */
static pending_t *batch_at(committer_t *c, const char *i)
{
    char *end;
    unsigned long v = strtoul(i, &end, 10);
    return *end == '\0' && v < c->n ? c->arr[v] : NULL;
}

static int hex_nibble(char h)
{
    return h >= '0' && h <= '9'   ? h - '0'
           : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                  : -1;
}

/* 32 bytes from 64 lower-case hex digits; 0 when s is not that. */
static int unhex32(const char *s, unsigned char out[32])
{
    for (size_t i = 0; i < 32; i++) {
        int hi = hex_nibble(s[2 * i]),
            lo = hi < 0 ? -1 : hex_nibble(s[2 * i + 1]);
        if (lo < 0)
            return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return s[64] == '\0';
}

static size_t pseudonym_slot(const unsigned char *ps, size_t mask)
{
    uint32_t h;
    memcpy(&h, ps, sizeof(h)); /* an HMAC: its bytes are already uniform */
    return h & mask;
}

/* SQL_CLAIM's rows: the requests that won their key, and their citizens
 * paired to them by pseudonym (through a table of the batch's size). */
static void collect_won(void *arg, const PGresult *res)
{
    committer_t *c = arg;
    size_t cap = 16, mask;
    int *tab; /* row of a citizen + 1, 0 free */
    unsigned char(*ps)[32];
    int nrows = PQntuples(res);

    while (cap < 2 * (size_t)nrows)
        cap *= 2;
    mask = cap - 1;
    tab = calloc(cap, sizeof(*tab));
    ps = malloc(((size_t)nrows + 1) * sizeof(*ps));
    if (tab == NULL || ps == NULL)
        abort();
    for (int r = 0; r < nrows; r++) {
        const char *v = PQgetvalue(res, r, 1);
        if (PQgetvalue(res, r, 0)[0] == 'w') {
            pending_t *p = batch_at(c, v);
            if (p != NULL)
                p->won = 1;
        } else if (strlen(v) == BRR_UUID_STRLEN + 64 &&
                   unhex32(v + BRR_UUID_STRLEN, ps[r])) {
            size_t at = pseudonym_slot(ps[r], mask);
            while (tab[at] != 0)
                at = (at + 1) & mask;
            tab[at] = r + 1;
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        pending_t *p = c->arr[i];
        if (!p->won)
            continue;
        for (size_t at = pseudonym_slot(p->pseudonym, mask); tab[at] != 0;
             at = (at + 1) & mask) {
            int r = tab[at] - 1;
            if (memcmp(ps[r], p->pseudonym, 32) == 0) {
                memcpy(p->citizen_ref, PQgetvalue(res, r, 1), BRR_UUID_STRLEN);
                p->citizen_ref[BRR_UUID_STRLEN] = '\0';
                break;
            }
        }
    }
    free(tab);
    free(ps);
}

/* The rows of the keys that were there before: the same body replays the
 * original answer, another body is refused. */
static void collect_keys(void *arg, const PGresult *res)
{
    for (int r = 0; r < PQntuples(res); r++) {
        pending_t *p = batch_at(arg, PQgetvalue(res, r, 0));
        if (p == NULL || p->won)
            continue;
        if (strcmp(p->hash, PQgetvalue(res, r, 1)) == 0) {
            p->status = atoi(PQgetvalue(res, r, 2));
            p->response = strdup(PQgetvalue(res, r, 3));
            p->replayed = 1;
        } else {
            p->status = 422;
            p->response = reused_key_problem();
        }
    }
}

static char *accepted_response(const pending_t *p)
{
    char buf[128];
    snprintf(buf, sizeof(buf),
             "{\"application_id\":\"%s\",\"status\":\"ONTVANGEN\"}", p->app_id);
    return strdup(buf);
}

/* The batch's statements, prepared once per committer connection.  Each
 * reads one JSON document of rows in which "i" is the request's position
 * in the batch; results name requests by it. */

/* Claims the Idempotency-Keys and finds or creates the citizens of the
 * requests that won their key.  Answers one row ('w', i) per request that
 * won its key (i its position in the batch) and one ('c', citizen_ref,
 * pseudonym in hex) per citizen of theirs; the committer pairs them.  A key
 * held by a concurrent transaction makes the insert wait for it, so the
 * same key sent twice at once creates one application; a reused key
 * stores nothing about the other body's citizen.  The no-op update
 * returns an existing citizen's row, also one a concurrent batch created
 * meanwhile.  Keys are inserted in key order and citizens in pseudonym
 * order, every key before any citizen (the sort before the citizens'
 * insert reads all of ins first), so concurrent batches cannot deadlock. */
#define SQL_CLAIM                                                              \
    "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(i int, "      \
    "channel text, key text, hash text, app_id text, citizen_ref uuid, "       \
    "pseudonym text, bsn_enc text, bsn_key_id text)), ins AS (INSERT INTO "    \
    "intake.idempotency_keys (channel, key, request_hash, status, response) "  \
    "SELECT channel, key, decode(hash, 'hex'), 202, "                          \
    "jsonb_build_object('application_id', app_id, 'status', 'ONTVANGEN') "     \
    "FROM x ORDER BY channel, key ON CONFLICT DO NOTHING RETURNING channel, "  \
    "key), won AS (SELECT x.* FROM x JOIN ins USING (channel, key)), c AS "    \
    "(INSERT INTO intake.citizens (citizen_ref, pseudonym, bsn_enc, "          \
    "bsn_key_id) SELECT DISTINCT ON (pseudonym) citizen_ref, "                 \
    "decode(pseudonym, 'hex'), decode(bsn_enc, 'hex'), bsn_key_id FROM won "   \
    "ORDER BY pseudonym ON CONFLICT (pseudonym) DO UPDATE SET pseudonym = "    \
    "excluded.pseudonym RETURNING citizen_ref, pseudonym) SELECT 'w', "        \
    "i::text FROM won UNION ALL SELECT 'c', citizen_ref::text || "             \
    "encode(pseudonym, 'hex') FROM c"

/* The keys some other request holds: their hash and answer. */
#define SQL_KEYS_HELD                                                          \
    "SELECT x.i, encode(k.request_hash, 'hex'), k.status, k.response::text "   \
    "FROM jsonb_to_recordset($1::jsonb) AS x(i int, channel text, key text) "  \
    "JOIN intake.idempotency_keys k USING (channel, key)"

#define SQL_APPLICATIONS                                                       \
    "INSERT INTO intake.applications (application_id, citizen_ref, channel, "  \
    "kind, body, personal_enc, personal_key_id) SELECT application_id, "       \
    "citizen_ref, channel, kind, body, decode(personal_enc, 'hex'), "          \
    "personal_key_id FROM jsonb_to_recordset($1::jsonb) AS x(application_id "  \
    "uuid, citizen_ref uuid, channel text, kind text, body jsonb, "            \
    "personal_enc text, personal_key_id text)"

/* Opens row i of a document: "[" or "," then {"i":n, */
static void open_row(brr_jbuf_t *b, size_t i)
{
    brr_jbuf_puts(b, b->len == 0 ? "[{\"i\":" : ",{\"i\":");
    brr_jbuf_int(b, (int64_t)i);
    brr_jbuf_putc(b, ',');
}

/* Closes a row whose last member ended with ','. */
static void close_row(brr_jbuf_t *b)
{
    b->p[b->len - 1] = '}';
}

/* Queues the statement on doc when it has rows. */
static void queue_doc(committer_t *c, const char *name, const char *sql,
                      brr_jbuf_t *doc, brr_pg_result_cb cb)
{
    const char *p1[1];
    if (doc->len == 0)
        return;
    brr_jbuf_putc(doc, ']');
    p1[0] = brr_jbuf_cstr(doc);
    brr_pg_pipe_add_prepared(c->pp, name, sql, 1, p1, cb, c);
}

/* The event and the row of one accepted application. */
static int add_accepted(committer_t *c, pending_t *p, int64_t now_ms)
{
    Brr__V1__Application a = BRR__V1__APPLICATION__INIT;
    Brr__V1__Claim *cl[INTAKE_MAX_CLAIMS], cls[INTAKE_MAX_CLAIMS];
    brr_jbuf_t *b = &c->apps;
    a.application_id = p->app_id;
    a.citizen_ref = p->citizen_ref;
    a.channel = p->channel;
    a.kind = p->app.maatwerk ? BRR__V1__KIND__KIND_MAATWERK
                             : BRR__V1__KIND__KIND_STANDARD;
    for (size_t i = 0; i < p->app.nclaims; i++) {
        brr__v1__claim__init(&cls[i]);
        cls[i].organisation = p->app.claims[i].organisation;
        cls[i].reference = p->app.claims[i].reference;
        cls[i].open_cents = p->app.claims[i].open_cents;
        cls[i].due_date = p->app.claims[i].due_date;
        cls[i].under_objection = p->app.claims[i].under_objection;
        cl[i] = &cls[i];
    }
    a.claims = cl;
    a.n_claims = p->app.nclaims;
    a.requested_instalment_cents = p->app.requested_instalment_cents;
    a.due_day = p->app.due_day;
    a.reference_date = p->app.reference_date;
    a.submitted_at_ms = now_ms;
    a.household = p->app.household;
    a.aow_age = p->app.aow_age;
    a.net_income_cents = p->app.net_income_cents;
    a.partner_net_income_cents = p->app.partner_net_income_cents;
    a.extra_housing_cents = p->app.extra_housing_cents;
    brr_outbox_add(c->ob, TOPIC_APPLICATIONS, p->citizen_ref, "application",
                   p->app_id, "application.submitted", &a.base,
                   p->traceparent[0] ? p->traceparent : NULL, NULL);

    brr_jbuf_putc(b, b->len == 0 ? '[' : ',');
    brr_jbuf_putc(b, '{');
    brr_jbuf_member_str(b, "application_id", p->app_id);
    brr_jbuf_member_str(b, "citizen_ref", p->citizen_ref);
    brr_jbuf_member_str(b, "channel", p->channel);
    brr_jbuf_member_str(b, "kind", p->app.maatwerk ? "maatwerk" : "standard");
    brr_jbuf_key(b, "body");
    intake_app_public_write(&p->app, b);
    /* Contact details and refund account: sealed with the application id
     * as context, never in the body, the event or a log line. */
    brr_jbuf_reset(&c->scratch);
    if (intake_app_personal_write(&p->app, &c->scratch)) {
        size_t n = c->scratch.len;
        unsigned char *enc = malloc(n + INTAKE_SEAL_OVERHEAD);
        int rc;
        if (enc == NULL)
            abort();
        rc = intake_seal(&api.conf.keys, p->app_id, c->scratch.p, n, enc);
        OPENSSL_cleanse(c->scratch.p, n);
        brr_jbuf_reset(&c->scratch);
        if (rc != 0) {
            free(enc);
            return rc;
        }
        brr_jbuf_puts(b, ",\"personal_enc\":\"");
        brr_jbuf_hex(b, enc, n + INTAKE_SEAL_OVERHEAD);
        brr_jbuf_puts(b, "\",");
        brr_jbuf_member_str(b, "personal_key_id", api.conf.keys.current.id);
        close_row(b);
        free(enc);
    } else {
        brr_jbuf_putc(b, '}');
    }
    return 0;
}

/* One transaction for a batch, two round trips; runs on a committer's
 * thread.  Round trip 1 claims the Idempotency-Keys and finds or creates
 * the citizens (one statement); round trip 2 reads the keys held by earlier
 * requests (only when some were), inserts the applications and their events and
 * commits. The documents are written as text into the committer's buffers. */
static int flush_batch(committer_t *c)
{
    brr_jbuf_t *keys = &c->keys;
    int rc, held = 0;
    int64_t now_ms = brr_now_ms();

    brr_jbuf_reset(keys);
    brr_jbuf_reset(&c->apps);
    for (size_t i = 0; i < c->n; i++) {
        pending_t *p = c->arr[i];
        unsigned char enc[37];
        char ref[BRR_UUID_STRLEN + 1];
        brr_uuid_t u;
        if (p->same_key != NULL)
            continue;
        if (intake_bsn_encrypt(&api.conf.keys, p->app.bsn, enc) != 0) {
            rc = BRR_ECRYPTO;
            goto out;
        }
        brr_uuid_v4(&u);
        brr_uuid_format(&u, ref);
        open_row(keys, i);
        brr_jbuf_member_str(keys, "channel", p->channel);
        brr_jbuf_member_str(keys, "key", p->key);
        brr_jbuf_member_str(keys, "hash", p->hash);
        brr_jbuf_member_str(keys, "app_id", p->app_id);
        brr_jbuf_member_str(keys, "citizen_ref", ref);
        brr_jbuf_key(keys, "pseudonym");
        brr_jbuf_putc(keys, '"');
        brr_jbuf_hex(keys, p->pseudonym, sizeof(p->pseudonym));
        brr_jbuf_puts(keys, "\",\"bsn_enc\":\"");
        brr_jbuf_hex(keys, enc, sizeof(enc));
        brr_jbuf_puts(keys, "\",");
        brr_jbuf_member_str(keys, "bsn_key_id", api.conf.keys.current.id);
        close_row(keys);
    }
    if ((rc = brr_pg_ensure(c->pg)) != 0)
        goto out;
    brr_pg_pipe_add(c->pp, "BEGIN", 0, NULL, NULL, NULL);
    queue_doc(c, "intake_claim", SQL_CLAIM, keys, collect_won);
    if ((rc = brr_pg_pipe_run(c->pg, c->pp)) != 0)
        goto out;

    brr_jbuf_reset(keys);
    for (size_t i = 0; i < c->n; i++) {
        pending_t *p = c->arr[i];
        if (p->same_key != NULL)
            continue;
        if (!p->won) {
            open_row(keys, i);
            brr_jbuf_member_str(keys, "channel", p->channel);
            brr_jbuf_member_str(keys, "key", p->key);
            close_row(keys);
            held++;
            continue;
        }
        if (p->citizen_ref[0] == '\0') {
            rc = BRR_EINTERNAL;
            goto out;
        }
        if ((rc = add_accepted(c, p, now_ms)) != 0)
            goto out;
        p->status = 202;
        p->response = accepted_response(p);
    }
    if (held > 0)
        queue_doc(c, "intake_keys_held", SQL_KEYS_HELD, keys, collect_keys);
    if (c->apps.len > 0) {
        queue_doc(c, "intake_applications", SQL_APPLICATIONS, &c->apps, NULL);
        brr_outbox_queue(c->ob, c->pp);
    }
    brr_pg_pipe_add(c->pp, "COMMIT", 0, NULL, NULL, NULL);
    rc = brr_pg_pipe_run(c->pg, c->pp);
out:
    if (rc != 0) {
        brr_outbox_clear(c->ob);
        brr_pg_rollback(c->pg);
    }
    return rc;
}

/* Once no batch is in flight after stop: the committers' connections and
 * buffers, and the spare requests. */
static void close_committers(void)
{
    for (size_t i = 0; i < api.ncommitters; i++) {
        committer_t *c = &api.committers[i];
        brr_pg_close(c->pg);
        brr_pg_pipe_free(c->pp);
        brr_outbox_free(c->ob);
        free(c->arr);
        brr_jbuf_free(&c->keys);
        brr_jbuf_free(&c->apps);
        brr_jbuf_free(&c->scratch);
        memset(c, 0, sizeof(*c));
    }
    while (spare != NULL) {
        pending_t *p = spare;
        spare = p->next;
        free(p);
    }
    nspare = 0;
}

static void commit_work(uv_work_t *w)
{
    committer_t *c = w->data;
    c->rc = flush_batch(c);
}

static void dispatch(void);

static void commit_done(uv_work_t *w, int status)
{
    committer_t *c = w->data;
    pending_t *list = c->list;
    int rc = status != 0 ? BRR_EINTERNAL : c->rc;

    c->list = NULL;
    c->busy = 0;
    api.nbusy--;
    if (rc != 0) {
        for (pending_t *p = list; p; p = p->next) {
            p->status = 0;
            p->replayed = 0;
            free(p->response);
            p->response = NULL;
        }
        brr_log_warn("application batch not committed, answered 503", "err",
                     brr_err_name(rc), NULL);
    } else {
        if (api.svc->relay != NULL)
            brr_relay_kick(api.svc->relay);
        /* an earlier request with the same key in this batch answers for
         * the later ones */
        for (pending_t *p = list; p; p = p->next) {
            pending_t *q = p->same_key;
            if (q == NULL)
                continue;
            if (strcmp(q->hash, p->hash) == 0) {
                p->status = q->status;
                p->response = q->response ? strdup(q->response) : NULL;
                p->replayed = 1;
            } else {
                p->status = 422;
                p->response = reused_key_problem();
            }
        }
    }
    {
        uint64_t took = uv_hrtime() - c->t0;
        /* a moving average over about the last eight batches */
        api.commit_ewma_ns =
            api.commit_ewma_ns == 0
                ? took
                : api.commit_ewma_ns - api.commit_ewma_ns / 8 + took / 8;
        brr_histogram_observe(api.commit_seconds, (double)took / 1e9);
    }
    brr_histogram_observe(api.batch_size, (double)c->n);
    finish_all(list);
    if (!api.stopping)
        dispatch();
    else if (api.nbusy == 0)
        close_committers();
}

/* FNV-1a of channel and key: the same_key table's hash. */
static uint32_t key_hash(const pending_t *p)
{
    uint32_t h = 2166136261u;
    for (const char *s = p->channel; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    h = (h ^ 0xffu) * 16777619u; /* a separator no name contains */
    for (const char *s = p->key; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Points each request at the first earlier one in the batch with the same
 * channel and Idempotency-Key (same_key), through an open-addressing table
 * of the batch's size: a batch can hold thousands. */
static void mark_same_keys(committer_t *c)
{
    size_t cap = 16;
    pending_t **tab;
    while (cap < 2 * c->n)
        cap *= 2;
    if ((tab = calloc(cap, sizeof(*tab))) == NULL)
        abort();
    for (size_t i = 0; i < c->n; i++) {
        pending_t *p = c->arr[i];
        size_t at = key_hash(p) & (cap - 1);
        for (;; at = (at + 1) & (cap - 1)) {
            pending_t *q = tab[at];
            if (q == NULL) {
                tab[at] = p;
                break;
            }
            if (strcmp(q->key, p->key) == 0 &&
                strcmp(q->channel, p->channel) == 0) {
                p->same_key = q;
                break;
            }
        }
    }
    free(tab);
}

static void on_flush(uv_timer_t *t);

/* Is the pending batch due for a free committer?  At once when no batch
 * is committing, or when flush_max are waiting.  While another batch
 * commits, only once the oldest request has waited half the recent
 * commit time (at most MAX_BATCH_WAIT_NS): every batch costs the database
 * a fixed amount of work besides its rows, and a committer that took the
 * few requests of the last millisecond would spend it on a handful.
 * Otherwise the flush timer is set for when it will be due. */
static int batch_due(void)
{
    uint64_t now, due;
    if (api.nbusy == 0 || api.npending >= api.conf.flush_max || api.stopping)
        return 1;
    now = uv_hrtime();
    /* never long: a slow commit must not hold the next batch back */
    due = api.head->t_ns + (api.commit_ewma_ns / 2 < MAX_BATCH_WAIT_NS
                                ? api.commit_ewma_ns / 2
                                : MAX_BATCH_WAIT_NS);
    if (now >= due)
        return 1;
    if (!uv_is_active((uv_handle_t *)&api.flush_timer))
        uv_timer_start(&api.flush_timer, on_flush,
                       (due - now + 999999) / 1000000, 0);
    return 0;
}

/* Hands the pending requests (up to flush_max) to a free committer when
 * the batch is due. */
static void dispatch(void)
{
    committer_t *c = NULL;
    pending_t *list = api.head, *last = NULL, *p;
    size_t n = 0;

    if (api.head == NULL)
        return;
    for (size_t i = 0; i < api.ncommitters && c == NULL; i++)
        if (!api.committers[i].busy && api.committers[i].pg != NULL)
            c = &api.committers[i];
    if (c == NULL)
        return; /* the next commit_done dispatches */
    if (!batch_due())
        return;
    for (p = list; p != NULL && n < api.conf.flush_max; p = p->next) {
        if (n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 64;
            c->arr = realloc(c->arr, c->cap * sizeof(*c->arr));
            if (c->arr == NULL)
                abort();
        }
        c->arr[n++] = p;
        last = p;
    }
    api.head = last->next;
    last->next = NULL;
    if (api.head == NULL)
        api.tail = &api.head;
    api.npending -= n;
    c->list = list;
    c->n = n;
    mark_same_keys(c);
    c->busy = 1;
    c->rc = 0;
    c->t0 = uv_hrtime();
    c->work.data = c;
    api.nbusy++;
    if (uv_queue_work(api.svc->loop, &c->work, commit_work, commit_done) != 0) {
        c->rc = BRR_EINTERNAL;
        commit_done(&c->work, 0);
        return;
    }
    if (api.head != NULL)
        dispatch();
}

static void on_flush(uv_timer_t *t)
{
    (void)t;
    dispatch();
}

/* ---- handlers ----------------------------------------------------------- */

static int post_application(h2o_req_t *req, void *data)
{
    pending_t *p;
    const char *body, *tp;
    size_t len, tplen;
    char day[11];
    int rc;
    (void)data;

    p = pending_get();
    if (!admit(req, p->channel, sizeof(p->channel)) ||
        counsellor_refused(req, p->channel)) {
        pending_put(p);
        return 0;
    }
    if (!idempotency_key(req, p->key)) {
        pending_put(p);
        send_problem(req, 400, "missing Idempotency-Key",
                     "send an Idempotency-Key header of 1 to 128 visible "
                     "ASCII characters");
        return 0;
    }
    if (brr_http_body(req, api.conf.max_body, &body, &len) != 0) {
        pending_put(p);
        send_problem(req, 413, "body too large",
                     "the application exceeds the size limit");
        return 0;
    }
    if (api.stopping) {
        pending_put(p);
        brr_http_add_header(req, "retry-after", "1");
        send_problem(req, 503, "temporarily unavailable",
                     "the service is stopping; retry");
        return 0;
    }
    if (load_orgs() != 0) {
        pending_put(p);
        brr_http_add_header(req, "retry-after", "1");
        send_problem(req, 503, "temporarily unavailable",
                     "the organisation registry cannot be read; retry with "
                     "the same Idempotency-Key");
        return 0;
    }
    today(day);
    rc = intake_app_parse(body, len, p->channel, day, org_known, NULL, &p->app);
    if (rc != 0) {
        char *prob = intake_problem(400, "invalid application",
                                    "one or more fields are invalid",
                                    p->app.errors, p->app.nerrors);
        send_json(req, 400, PROBLEM, prob);
        free(prob);
        pending_put(p);
        brr_counter_inc(api.rejected);
        return 0;
    }
    sha256_hex(body, len, p->hash);
    brr_uuid_v7_str(p->app_id);
    intake_bsn_pseudonym(&api.conf.keys, p->app.bsn, p->pseudonym);
    if (brr_http_header(req, "traceparent", &tp, &tplen) == 0 &&
        tplen < sizeof(p->traceparent)) {
        memcpy(p->traceparent, tp, tplen);
        p->traceparent[tplen] = '\0';
    }
    p->d = brr_http_defer(req, on_cancel, p);
    p->t_ns = uv_hrtime();
    *api.tail = p;
    api.tail = &p->next;
    if (++api.npending >= api.conf.flush_max)
        dispatch();
    else if (!uv_is_active((uv_handle_t *)&api.flush_timer))
        uv_timer_start(&api.flush_timer, on_flush, 1, 0);
    return 0;
}

/* Does an If-None-Match header list etag (or "*")?  Weak comparison, as
 * RFC 9110 asks for If-None-Match. */
static int etag_matches(h2o_req_t *req, const char *etag)
{
    const char *v, *end;
    size_t n, el = strlen(etag);
    if (brr_http_header(req, "if-none-match", &v, &n) != 0)
        return 0;
    end = v + n;
    while (v < end) {
        const char *t;
        while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
            v++;
        if (v < end && *v == '*')
            return 1;
        if (end - v > 2 && v[0] == 'W' && v[1] == '/')
            v += 2;
        t = v;
        while (v < end && *v != ',')
            v++;
        while (v > t && (v[-1] == ' ' || v[-1] == '\t'))
            v--;
        if ((size_t)(v - t) == el && memcmp(t, etag, el) == 0)
            return 1;
        while (v < end && *v != ',')
            v++;
    }
    return 0;
}

/* 200 with an ETag (the body's digest), or 304 when the client has it. */
static void send_with_etag(h2o_req_t *req, const char *body)
{
    char digest[65], etag[40];
    sha256_hex(body, strlen(body), digest);
    snprintf(etag, sizeof(etag), "\"%.32s\"", digest);
    brr_http_add_header(req, "etag", etag);
    brr_http_add_header(req, "cache-control", "private, no-cache");
    if (etag_matches(req, etag))
        brr_http_send(req, 304, NULL, NULL, 0);
    else
        send_json(req, 200, "application/json", body);
}

/* The id after prefix in the path, when it is a UUID and nothing follows. */
static int path_id(h2o_req_t *req, const char *prefix, char id[64])
{
    size_t pl = strlen(prefix);
    size_t n = req->path_normalized.len - pl;
    brr_uuid_t u;
    if (req->path_normalized.len < pl || n >= 64)
        return 0;
    memcpy(id, req->path_normalized.base + pl, n);
    id[n] = '\0';
    return brr_uuid_parse(id, &u) == 0;
}

/* A read for this channel: the one JSON text of sql ($1 id, $2 channel).
 * A debt counsellor's channel gets 403 unless counsellor_may. */
static void get_one(h2o_req_t *req, const char *prefix, const char *what,
                    const char *sql, int counsellor_may)
{
    char channel[64], id[64];
    const char *params[2];
    PGresult *res;
    if (!admit(req, channel, sizeof(channel)) ||
        (!counsellor_may && counsellor_refused(req, channel)))
        return;
    if (!path_id(req, prefix, id)) {
        send_problem(req, 404, "not found", what);
        return;
    }
    params[0] = id;
    params[1] = channel;
    if (brr_pg_ensure(api.svc->pg) != 0 ||
        brr_pg_query(api.svc->pg, sql, 2, params, &res) != 0) {
        brr_http_add_header(req, "retry-after", "1");
        send_problem(req, 503, "temporarily unavailable", "retry shortly");
        return;
    }
    if (PQntuples(res) == 0)
        send_problem(req, 404, "not found", what);
    else
        send_with_etag(req, PQgetvalue(res, 0, 0));
    PQclear(res);
}

static int get_application(h2o_req_t *req, void *data)
{
    (void)data;
    get_one(req, "/v1/applications/", "no such application",
            "SELECT json_build_object('application_id', application_id, "
            "'status', status, 'arrangement_id', arrangement_id, 'reasons', "
            "reasons, 'kind', kind, 'created_at', created_at, 'updated_at', "
            "updated_at)::text FROM intake.applications WHERE "
            "application_id = $1::uuid AND channel = $2",
            0);
    return 0;
}

/* The citizen's arrangement, for a channel that submitted one of its
 * applications or asked a pause of it as a debt counsellor: terms, schedule
 * (with the projected end date, which a pause moves under EXTEND), pauses (a
 * refused one with its refusal) and history. */
static void get_arrangement_view(h2o_req_t *req)
{
    get_one(
        req, "/v1/arrangements/", "no such arrangement",
        "SELECT json_build_object('arrangement_id', v.arrangement_id, "
        "'state', v.state, "
        "'schedule', json_build_object('instalment_cents', "
        "v.body->'instalment_cents', 'months', v.body->'months', "
        "'first_due_date', v.body->'first_due_date', 'end_date', "
        "nullif(v.body->>'end_date', ''), 'review_date', "
        "nullif(v.body->>'review_date', '')), "
        "'organisations', coalesce(v.body->'organisations', '[]'), "
        "'reasons', coalesce(v.body->'reasons', '[]'), "
        "'pauses', coalesce((SELECT json_agg(json_build_object("
        "'pause_id', p.pause_id, 'state', p.state, 'start_date', "
        "p.start_date, 'end_date', p.end_date, 'effect', p.effect, "
        "'refusal', p.refusal) ORDER BY p.start_date, p.pause_id) "
        "FROM intake.arrangement_pauses p WHERE p.arrangement_id = "
        "v.arrangement_id), '[]'), "
        "'history', coalesce((SELECT json_agg(json_build_object('at', h.at, "
        "'source', h.source, 'event_type', h.event_type, 'state', h.state) "
        "ORDER BY h.id) FROM intake.arrangement_history h WHERE "
        "h.arrangement_id = v.arrangement_id), '[]'), "
        "'updated_at', v.updated_at)::text "
        "FROM intake.arrangements_view v WHERE v.arrangement_id = $1::uuid "
        "AND (EXISTS (SELECT 1 FROM intake.applications a WHERE "
        "a.arrangement_id = v.arrangement_id AND a.channel = $2) OR EXISTS "
        "(SELECT 1 FROM intake.pause_channels c WHERE c.arrangement_id = "
        "v.arrangement_id AND c.channel = $2))",
        1);
}

/* Splits /v1/arrangements/{id}[/pauses[/{pause_id}]]: the number of parts
 * (1 to 3) when the ids are UUIDs and the second part is "pauses", else 0.
 * id and pid get the ids (pid only for 3 parts). */
static int arrangement_path(h2o_req_t *req, char id[64], char pid[64])
{
    static const char pre[] = "/v1/arrangements/";
    const char *p = req->path_normalized.base + sizeof(pre) - 1;
    const char *end = req->path_normalized.base + req->path_normalized.len;
    char part[3][64];
    int np = 0;
    brr_uuid_t u;
    if (req->path_normalized.len < sizeof(pre))
        return 0;
    while (p < end && np < 3) {
        const char *s = memchr(p, '/', (size_t)(end - p));
        size_t l = s ? (size_t)(s - p) : (size_t)(end - p);
        if (l == 0 || l >= sizeof(part[0]))
            return 0;
        memcpy(part[np], p, l);
        part[np++][l] = '\0';
        p += l;
        if (s != NULL && ++p == end)
            return 0; /* a trailing slash */
    }
    if (p < end || np == 0 || brr_uuid_parse(part[0], &u) != 0 ||
        (np >= 2 && strcmp(part[1], "pauses") != 0) ||
        (np == 3 && brr_uuid_parse(part[2], &u) != 0))
        return 0;
    memcpy(id, part[0], sizeof(part[0]));
    if (np == 3)
        memcpy(pid, part[2], sizeof(part[0]));
    return np;
}

/* GET /v1/arrangements/{id}/pauses/{pause_id}: the pause as the read model
 * has it; a refused one answers 422 problem+json naming the limit and the
 * figures (the answer to the POST that asked for it). */
static void get_pause(h2o_req_t *req, const char *id, const char *pid)
{
    char channel[64];
    const char *params[3] = {id, channel, pid};
    PGresult *res;
    if (!admit(req, channel, sizeof(channel)))
        return;
    if (brr_pg_ensure(api.svc->pg) != 0 ||
        brr_pg_query(
            api.svc->pg,
            "SELECT p.state, json_build_object('pause_id', p.pause_id, "
            "'arrangement_id', p.arrangement_id, 'state', p.state, "
            "'start_date', p.start_date, 'end_date', p.end_date, 'effect', "
            "p.effect, 'refusal', p.refusal)::text, "
            "json_build_object('type', 'urn:brr:problem:pause-refused', "
            "'title', 'pause refused', 'status', 422, 'detail', "
            "p.refusal->>'detail', 'pause_id', p.pause_id, 'limit', "
            "p.refusal->>'limit', 'allowed', p.refusal->'allowed', 'asked', "
            "p.refusal->'asked', 'unit', p.refusal->>'unit')::text FROM "
            "intake.arrangement_pauses p WHERE p.pause_id = $3 AND "
            "p.arrangement_id = $1::uuid AND (EXISTS (SELECT 1 FROM "
            "intake.applications a WHERE a.arrangement_id = "
            "p.arrangement_id AND a.channel = $2) OR EXISTS (SELECT 1 FROM "
            "intake.pause_channels c WHERE c.arrangement_id = "
            "p.arrangement_id AND c.channel = $2))",
            3, params, &res) != 0) {
        brr_http_add_header(req, "retry-after", "1");
        send_problem(req, 503, "temporarily unavailable", "retry shortly");
        return;
    }
    if (PQntuples(res) == 0)
        send_problem(req, 404, "not found",
                     "no such pause (a request just made may not be decided "
                     "yet)");
    else if (strcmp(PQgetvalue(res, 0, 0), "refused") == 0)
        send_json(req, 422, PROBLEM, PQgetvalue(res, 0, 2));
    else
        send_with_etag(req, PQgetvalue(res, 0, 1));
    PQclear(res);
}

static int get_arrangement(h2o_req_t *req, void *data)
{
    char id[64], pid[64];
    (void)data;
    if (arrangement_path(req, id, pid) == 3)
        get_pause(req, id, pid);
    else
        get_arrangement_view(req);
    return 0;
}

/* The earlier answer to (channel, key): 1 when there is one (answered:
 * replayed, or 422 for another request under the same key), 0 when the
 * key is new, -1 when the database failed. */
static int pause_replay(h2o_req_t *req, const char *channel, const char *key,
                        const char *hash)
{
    const char *kp[3] = {channel, key, hash};
    PGresult *old;
    if (brr_pg_query(api.svc->pg,
                     "SELECT response::text, request_hash = decode($3, "
                     "'hex') FROM intake.idempotency_keys WHERE channel = $1 "
                     "AND key = $2",
                     3, kp, &old) != 0)
        return -1;
    if (PQntuples(old) == 0) {
        PQclear(old);
        return 0;
    }
    if (PQgetvalue(old, 0, 1)[0] == 't') {
        brr_counter_add(api.replayed, 1);
        send_json(req, 202, "application/json", PQgetvalue(old, 0, 0));
    } else {
        send_problem(req, 422, "idempotency key reused",
                     "this Idempotency-Key was used with a different "
                     "request");
    }
    PQclear(old);
    return 1;
}

/*
 * Commits pr (a new pause, or a cancel of pause cancel_of) for brr-pause
 * through the outbox, with the Idempotency-Key, in one transaction, and
 * answers: 202 {pause_id, request_id, status}; the earlier answer for a
 * repeat; 404 for an unknown arrangement or pause, and for an arrangement
 * of another channel (a debt counsellor's channel may ask for any); 409
 * for a pause that can no longer be cancelled; 422 for a key reused; 503
 * (retryable) when the database is not there.  The citizen reference comes
 * from the read model, never from the body.  A counsellor's request is
 * recorded in intake.pause_channels, so it can read what it asked for.
 */
static void pause_request(h2o_req_t *req, const char *channel, const char *key,
                          const char *hash, Brr__V1__PauseRequest *pr,
                          const char *cancel_of)
{
    int counsellor = is_counsellor(channel);
    const char *p[4] = {pr->arrangement_id, cancel_of ? cancel_of : "", channel,
                        counsellor ? "t" : "f"};
    char resp[192], citizen[40];
    PGresult *res;
    int rc;

    if (brr_pg_ensure(api.svc->pg) != 0 || brr_pg_begin(api.svc->pg) != 0)
        goto unavailable;
    rc = pause_replay(req, channel, key, hash);
    if (rc != 0) {
        brr_pg_rollback(api.svc->pg);
        if (rc < 0)
            goto unavailable;
        return;
    }
    if (brr_pg_query(api.svc->pg,
                     "SELECT v.citizen_ref::text, (SELECT p.state FROM "
                     "intake.arrangement_pauses p WHERE p.pause_id = $2 AND "
                     "p.arrangement_id = v.arrangement_id) FROM "
                     "intake.arrangements_view v WHERE v.arrangement_id = "
                     "$1::uuid AND ($4::boolean OR EXISTS (SELECT 1 FROM "
                     "intake.applications a WHERE a.arrangement_id = "
                     "v.arrangement_id AND a.channel = $3))",
                     4, p, &res) != 0) {
        brr_pg_rollback(api.svc->pg);
        goto unavailable;
    }
    if (PQntuples(res) == 0 || (cancel_of != NULL && PQgetisnull(res, 0, 1))) {
        /* another channel's arrangement looks like none at all */
        const char *what =
            PQntuples(res) == 0 ? "no such arrangement" : "no such pause";
        PQclear(res);
        brr_pg_rollback(api.svc->pg);
        send_problem(req, 404, "not found", what);
        return;
    }
    if (cancel_of != NULL && strcmp(PQgetvalue(res, 0, 1), "scheduled") != 0 &&
        strcmp(PQgetvalue(res, 0, 1), "started") != 0) {
        char detail[128];
        snprintf(detail, sizeof(detail),
                 "the pause is %s: only a scheduled or running pause can be "
                 "cancelled",
                 PQgetvalue(res, 0, 1));
        PQclear(res);
        brr_pg_rollback(api.svc->pg);
        send_problem(req, 409, "pause cannot be cancelled", detail);
        return;
    }
    snprintf(citizen, sizeof(citizen), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    pr->citizen_ref = citizen;
    pr->channel = (char *)channel;
    snprintf(resp, sizeof(resp),
             "{\"pause_id\":\"%s\",\"request_id\":\"%s\",\"status\":\"%s\"}",
             cancel_of ? cancel_of : pr->request_id, pr->request_id,
             cancel_of ? "cancel_requested" : "requested");
    {
        const char *ip[5] = {channel, key, hash, "202", resp};
        if (brr_pg_query(api.svc->pg,
                         "INSERT INTO intake.idempotency_keys (channel, key, "
                         "request_hash, status, response) VALUES ($1, $2, "
                         "decode($3, 'hex'), $4::int, $5::jsonb) ON CONFLICT "
                         "DO NOTHING RETURNING 1",
                         5, ip, &res) != 0) {
            brr_pg_rollback(api.svc->pg);
            goto unavailable;
        }
    }
    if (PQntuples(res) == 0) {
        /* the same key committed meanwhile: answer as it was answered */
        PQclear(res);
        brr_pg_rollback(api.svc->pg);
        if (brr_pg_begin(api.svc->pg) != 0 ||
            pause_replay(req, channel, key, hash) != 1) {
            brr_pg_rollback(api.svc->pg);
            goto unavailable;
        }
        brr_pg_rollback(api.svc->pg);
        return;
    }
    PQclear(res);
    brr_outbox_add(api.svc->ob, TOPIC_PAUSE_REQUESTS, citizen, "arrangement",
                   pr->arrangement_id,
                   cancel_of ? "pause.cancel_requested" : "pause.requested",
                   &pr->base, NULL, NULL);
    brr_outbox_queue(api.svc->ob, api.pp);
    if (counsellor) {
        const char *cp[2] = {pr->arrangement_id, channel};
        brr_pg_pipe_add(api.pp,
                        "INSERT INTO intake.pause_channels (arrangement_id, "
                        "channel) VALUES ($1::uuid, $2) ON CONFLICT DO "
                        "NOTHING",
                        2, cp, NULL, NULL);
    }
    brr_pg_pipe_add(api.pp, "COMMIT", 0, NULL, NULL, NULL);
    if (brr_pg_pipe_run(api.svc->pg, api.pp) != 0) {
        brr_outbox_clear(api.svc->ob);
        brr_pg_rollback(api.svc->pg);
        goto unavailable;
    }
    brr_relay_kick(api.svc->relay);
    send_json(req, 202, "application/json", resp);
    return;
unavailable:
    brr_http_add_header(req, "retry-after", "1");
    send_problem(req, 503, "temporarily unavailable", "retry");
}

/* sha256 of "METHOD path\n" and the body: one key, one request. */
static void request_hash(h2o_req_t *req, const char *body, size_t len,
                         char out[65])
{
    size_t n = req->method.len + 1 + req->path_normalized.len + 1 + len;
    char *buf = malloc(n ? n : 1);
    if (buf == NULL)
        abort();
    memcpy(buf, req->method.base, req->method.len);
    buf[req->method.len] = ' ';
    memcpy(buf + req->method.len + 1, req->path_normalized.base,
           req->path_normalized.len);
    buf[req->method.len + 1 + req->path_normalized.len] = '\n';
    if (len > 0)
        memcpy(buf + n - len, body, len);
    sha256_hex(buf, n, out);
    free(buf);
}

static void add_error(intake_error_t *errs, size_t *ne, size_t cap,
                      const char *field, const char *detail)
{
    if (*ne >= cap)
        return;
    snprintf(errs[*ne].field, sizeof(errs[*ne].field), "%s", field);
    snprintf(errs[*ne].detail, sizeof(errs[*ne].detail), "%s", detail);
    (*ne)++;
}

/* A reason: 1 to 200 bytes of UTF-8 text without control characters. */
static int reason_ok(const char *s)
{
    return brr_text_valid(s, 1, 200);
}

/* POST /v1/arrangements/{id}/pauses {start_date, end_date, reason}: a pause
 * request for brr-pause.  The channel is the client certificate's; the
 * limits are brr-pause's (DOMAIN §5): the answer to a refused request is
 * at GET .../pauses/{pause_id} (422, the limit and the figures). */
static int post_pause(h2o_req_t *req, const char *id, const char *channel)
{
    static const char *const known[] = {"start_date", "end_date", "reason",
                                        NULL};
    char key[KEY_MAX + 1], hash[65], rid[40];
    intake_error_t errs[8];
    size_t ne = 0;
    const char *body, *sd = NULL, *ed = NULL, *rs = NULL;
    size_t len;
    json_t *root;
    json_error_t jerr;
    Brr__V1__PauseRequest pr = BRR__V1__PAUSE_REQUEST__INIT;

    if (!idempotency_key(req, key)) {
        send_problem(req, 400, "missing Idempotency-Key",
                     "send an Idempotency-Key header");
        return 0;
    }
    if (brr_http_body(req, 4096, &body, &len) != 0) {
        send_problem(req, 413, "body too large", "a pause request is small");
        return 0;
    }
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        send_problem(req, 400, "invalid pause request",
                     "the body must be one JSON object");
        return 0;
    }
    {
        const char *k;
        json_t *v;
        json_object_foreach(root, k, v)
        {
            int found = 0;
            for (size_t i = 0; known[i] != NULL; i++)
                found |= strcmp(k, known[i]) == 0;
            if (!found)
                add_error(errs, &ne, 8, strlen(k) < 60 ? k : "(long name)",
                          "is not a field of a pause request");
        }
    }
    {
        json_t *v = json_object_get(root, "start_date");
        sd = json_is_string(v) ? json_string_value(v) : NULL;
        if (sd == NULL || !brr_date_valid(sd, strlen(sd), NULL, NULL, NULL))
            add_error(errs, &ne, 8, "start_date",
                      "is required as a date YYYY-MM-DD");
        v = json_object_get(root, "end_date");
        ed = json_is_string(v) ? json_string_value(v) : NULL;
        if (ed == NULL || !brr_date_valid(ed, strlen(ed), NULL, NULL, NULL))
            add_error(errs, &ne, 8, "end_date",
                      "is required as a date YYYY-MM-DD");
        else if (sd != NULL &&
                 brr_date_valid(sd, strlen(sd), NULL, NULL, NULL) &&
                 strcmp(ed, sd) < 0)
            add_error(errs, &ne, 8, "end_date",
                      "must not be before start_date");
        v = json_object_get(root, "reason");
        rs = json_is_string(v) ? json_string_value(v) : NULL;
        if (rs == NULL || !reason_ok(rs))
            add_error(errs, &ne, 8, "reason",
                      "is required: 1 to 200 characters, no control "
                      "characters");
    }
    if (ne > 0) {
        char *prob = intake_problem(400, "invalid pause request",
                                    "one or more fields are invalid", errs, ne);
        send_json(req, 400, PROBLEM, prob);
        free(prob);
        json_decref(root);
        return 0;
    }
    request_hash(req, body, len, hash);
    brr_uuid_v7_str(rid);
    pr.request_id = rid;
    pr.arrangement_id = (char *)id;
    pr.start_date = (char *)sd;
    pr.end_date = (char *)ed;
    pr.reason = (char *)rs;
    pause_request(req, channel, key, hash, &pr, NULL);
    json_decref(root);
    return 0;
}

/* DELETE /v1/arrangements/{id}/pauses/{pause_id}: cancels a scheduled
 * pause, or ends a running one early (brr-pause decides; the read model
 * shows it). */
static int delete_pause(h2o_req_t *req, const char *id, const char *pid,
                        const char *channel)
{
    char key[KEY_MAX + 1], hash[65], rid[40];
    Brr__V1__PauseRequest pr = BRR__V1__PAUSE_REQUEST__INIT;
    if (!idempotency_key(req, key)) {
        send_problem(req, 400, "missing Idempotency-Key",
                     "send an Idempotency-Key header");
        return 0;
    }
    request_hash(req, "", 0, hash);
    brr_uuid_v7_str(rid);
    pr.request_id = rid;
    pr.arrangement_id = (char *)id;
    pr.pause_id = (char *)pid;
    pr.cancel = 1;
    pr.start_date = "";
    pr.end_date = "";
    pr.reason = "";
    pause_request(req, channel, key, hash, &pr, pid);
    return 0;
}

/* POST and DELETE under /v1/arrangements/, behind the channel's rate
 * limit. */
static int pause_endpoint(h2o_req_t *req, int del)
{
    char channel[64], id[64], pid[64];
    int np;
    if (!channel_of(req, channel, sizeof(channel))) {
        send_problem(req, 403, "not a channel", INTAKE_PEER_NOT_CHANNEL);
        return 0;
    }
    np = arrangement_path(req, id, pid);
    if (np != (del ? 3 : 2)) {
        send_problem(req, 404, "not found", "no such resource");
        return 0;
    }
    if (!admit(req, channel, sizeof(channel)))
        return 0;
    return del ? delete_pause(req, id, pid, channel)
               : post_pause(req, id, channel);
}

/* The pause endpoints behind the same channel rate limit. */
static int limited_post_pause(h2o_req_t *req, void *data)
{
    (void)data;
    return pause_endpoint(req, 0);
}

static int limited_delete_pause(h2o_req_t *req, void *data)
{
    (void)data;
    return pause_endpoint(req, 1);
}

static int parse_channels(const char *list)
{
    const char *p = list;
    api.nchannels = 0;
    while (*p) {
        size_t l = strcspn(p, ",");
        channel_t *c;
        if (l == 0 || l >= sizeof(c->name) || api.nchannels == MAX_CHANNELS)
            return BRR_ECONFIG;
        c = &api.channels[api.nchannels++];
        memcpy(c->name, p, l);
        c->name[l] = '\0';
        intake_bucket_init(&c->bucket, api.conf.rate_per_s, api.conf.rate_burst,
                           uv_now(api.svc->loop));
        p += l;
        if (*p == ',')
            p++;
    }
    return api.nchannels > 0 ? 0 : BRR_ECONFIG;
}

/* Marks the channels of list (comma-separated, may be empty or NULL) as
 * debt counsellors'; a name that is no channel is never admitted anyway.
 * BRR_ECONFIG for an empty or overlong name. */
static int parse_counsellors(const char *list)
{
    const char *p = list ? list : "";
    while (*p) {
        size_t l = strcspn(p, ",");
        if (l == 0 || l >= sizeof(api.channels[0].name))
            return BRR_ECONFIG;
        for (size_t i = 0; i < api.nchannels; i++)
            if (strlen(api.channels[i].name) == l &&
                memcmp(api.channels[i].name, p, l) == 0)
                api.channels[i].counsellor = 1;
        p += l;
        if (*p == ',')
            p++;
    }
    return 0;
}

int intake_api_start(brr_service_t *svc, const intake_api_conf_t *conf)
{
    brr_http_tls_t tls = {conf->cert, conf->key, conf->channel_ca,
                          conf->org_ca};
    brr_http_conf_t hc = {.tls = &tls,
                          .max_body = conf->max_body,
                          .name = "intake",
                          .req_timeout_ms = conf->req_timeout_ms,
                          .idle_timeout_ms = conf->idle_timeout_ms,
                          .handshake_timeout_ms = conf->handshake_timeout_ms};
    char host[64];
    const char *colon = strrchr(conf->listen, ':');
    int rc;

    if (colon == NULL || (size_t)(colon - conf->listen) >= sizeof(host))
        return BRR_ECONFIG;
    memcpy(host, conf->listen, (size_t)(colon - conf->listen));
    host[colon - conf->listen] = '\0';
    hc.host = host;
    hc.port = atoi(colon + 1);
    api.svc = svc;
    api.conf = *conf;
    api.head = NULL;
    api.tail = &api.head;
    api.pp = brr_pg_pipe_new();
    if ((rc = parse_channels(conf->channels)) != 0) {
        brr_log_error("invalid channel list", "channels", conf->channels, NULL);
        return rc;
    }
    if ((rc = parse_counsellors(conf->counsellors)) != 0) {
        brr_log_error("invalid counsellor channel list", "channels",
                      conf->counsellors, NULL);
        return rc;
    }
    api.ncommitters = conf->committers < 1                ? 1
                      : conf->committers > MAX_COMMITTERS ? MAX_COMMITTERS
                                                          : conf->committers;
    for (size_t i = 0; i < api.ncommitters; i++) {
        committer_t *c = &api.committers[i];
        /* a database that is down now is retried by each batch */
        brr_pg_connect(conf->pg_dsn, "brr-intake-commit", &c->pg);
        c->pp = brr_pg_pipe_new();
        c->ob = brr_outbox_new("intake", "/brr/intake");
    }
    api.accepted = brr_metrics_counter("brr_intake_applications_accepted_total",
                                       "applications committed (202)", NULL);
    api.rejected = brr_metrics_counter("brr_intake_applications_invalid_total",
                                       "applications refused as invalid", NULL);
    api.replayed = brr_metrics_counter(
        "brr_intake_idempotent_replays_total",
        "requests answered from an earlier Idempotency-Key", NULL);
    api.failed = brr_metrics_counter("brr_intake_commit_failures_total",
                                     "requests answered 503 (retryable)", NULL);
    api.limited = brr_metrics_counter("brr_intake_rate_limited_total",
                                      "requests answered 429", NULL);
    {
        static const double b[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                   0.1,   0.2,   0.5,   1,    2};
        static const double sz[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
        api.commit_seconds = brr_metrics_histogram(
            "brr_intake_commit_seconds", "time to commit one batch", b,
            sizeof(b) / sizeof(b[0]), NULL);
        api.batch_size = brr_metrics_histogram(
            "brr_intake_batch_size", "applications per committed batch", sz,
            sizeof(sz) / sizeof(sz[0]), NULL);
    }
    uv_timer_init(svc->loop, &api.flush_timer);
    if ((rc = brr_http_server_init(svc->loop, &hc, &api.srv)) != 0)
        return rc;
    brr_http_server_route(api.srv, "POST", "/v1/applications", post_application,
                          NULL);
    brr_http_server_route(api.srv, "GET", "/v1/applications/", get_application,
                          NULL);
    brr_http_server_route(api.srv, "GET", "/v1/arrangements/", get_arrangement,
                          NULL);
    brr_http_server_route(api.srv, "POST", "/v1/arrangements/",
                          limited_post_pause, NULL);
    brr_http_server_route(api.srv, "DELETE", "/v1/arrangements/",
                          limited_delete_pause, NULL);
    /* POST /v1/reports */
    intake_reports_start(svc, api.srv, &api.conf.roles, conf->rate_per_s,
                         conf->rate_burst);
    return brr_http_server_start(api.srv);
}

void intake_api_stop(void)
{
    api.stopping = 1;
    /* What is pending is committed (a free committer takes it now); what
     * no committer can take any more is answered 503. */
    dispatch();
    if (api.head != NULL) {
        pending_t *list = api.head;
        api.head = NULL;
        api.tail = &api.head;
        api.npending = 0;
        finish_all(list);
    }
    uv_timer_stop(&api.flush_timer);
    uv_close((uv_handle_t *)&api.flush_timer, NULL);
    if (api.srv != NULL)
        brr_http_server_stop(api.srv, NULL, NULL);
    api.srv = NULL;
    brr_pg_pipe_free(api.pp);
    api.pp = NULL;
    if (api.nbusy == 0)
        close_committers();
}
