/*
 * api.c: brr-intake's HTTP API for the web-form back ends.
 *
 *   POST /v1/applications               202 {application_id, status}
 *   GET  /v1/applications/{id}          200 {application_id, status, ...}
 *   POST /v1/arrangements/{id}/pauses   202 {request_id}
 *
 * Mutual TLS: the channel is the client certificate's CN, never the body.
 * Writes take an Idempotency-Key.  "202" means committed: applications
 * that arrive close together are committed in one transaction (the
 * batcher), so throughput does not fall to one fsync per request, and each
 * request is answered only after that commit.  If the commit fails every
 * request of the batch gets a retryable 503 and nothing of it remains.
 */
#include "api.h"

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
#include "uuid.h"
#include "validate.h"

#define TOPIC_APPLICATIONS "brr.intake.applications.v1"
#define TOPIC_PAUSE_REQUESTS "brr.pause.requests.v1"
#define PROBLEM "application/problem+json"
#define KEY_MAX 128

typedef struct pending {
    struct pending *next;
    brr_http_deferred_t *d;
    int cancelled;
    char channel[64];
    char key[KEY_MAX + 1];
    char hash[65];
    char app_id[BRR_UUID_STRLEN + 1];
    char traceparent[64];
    intake_app_t app;
    unsigned char pseudonym[32];
    char pseudonym_hex[67];
    /* filled by the flush */
    char citizen_ref[BRR_UUID_STRLEN + 1];
    int status;
    char *response; /* malloc'd JSON */
    struct pending *same_key; /* an earlier request in this batch */
} pending_t;

static struct {
    brr_service_t *svc;
    intake_api_conf_t conf;
    brr_http_server_t *srv;
    uv_timer_t flush_timer;
    pending_t *head, **tail;
    size_t npending;
    brr_pg_pipe_t *pp;
    char **orgs;
    size_t norgs;
    uint64_t orgs_loaded_ms;
    brr_counter_t *accepted, *rejected, *replayed, *failed;
    brr_histogram_t *commit_seconds;
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

static int channel_of(h2o_req_t *req, char *out, size_t cap)
{
    const char *p = api.conf.channels;
    size_t n;
    if (brr_http_peer_subject_cn(req, out, cap) != 0)
        return 0;
    n = strlen(out);
    while (*p) {
        size_t l = strcspn(p, ",");
        if (l == n && strncmp(p, out, n) == 0)
            return 1;
        p += l;
        if (*p == ',')
            p++;
    }
    return 0;
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
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The organisation registry, read (not owned) from connector's schema and
 * refreshed every 30 s so a new organisation is accepted without restart. */
static void load_orgs(void)
{
    PGresult *res;
    uint64_t now = uv_now(api.svc->loop);
    if (api.orgs != NULL && now - api.orgs_loaded_ms < 30000)
        return;
    if (brr_pg_query(api.svc->pg,
                     "SELECT code FROM connector.organisations "
                     "WHERE left_on IS NULL OR left_on > current_date",
                     0, NULL, &res) != 0)
        return;
    for (size_t i = 0; i < api.norgs; i++)
        free(api.orgs[i]);
    free(api.orgs);
    api.norgs = (size_t)PQntuples(res);
    api.orgs = calloc(api.norgs + 1, sizeof(char *));
    for (size_t i = 0; i < api.norgs; i++)
        api.orgs[i] = strdup(PQgetvalue(res, (int)i, 0));
    PQclear(res);
    api.orgs_loaded_ms = now;
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

static void on_cancel(void *arg)
{
    pending_t *p = arg;
    p->cancelled = 1; /* the commit still happens; only the answer is lost */
}

static void finish_all(pending_t *list)
{
    while (list != NULL) {
        pending_t *next = list->next;
        int st = list->status ? list->status : 503;
        const char *body = list->response;
        char *fallback = NULL;
        if (body == NULL) {
            fallback = intake_problem(503, "temporarily unavailable",
                                      "the application was not stored; "
                                      "retry with the same Idempotency-Key",
                                      NULL, 0);
            body = fallback;
        }
        if (brr_http_deferred_req(list->d) != NULL && st == 503)
            brr_http_add_header(brr_http_deferred_req(list->d),
                                "retry-after", "1");
        brr_http_deferred_send(list->d, st,
                               st < 300 ? "application/json" : PROBLEM, body,
                               strlen(body));
        if (st == 202)
            brr_counter_inc(api.accepted);
        else if (st == 503)
            brr_counter_inc(api.failed);
        free(fallback);
        free(list->response);
        free(list);
        list = next;
    }
}

static void collect_keys(void *arg, const PGresult *res)
{
    pending_t *list = arg;
    /* existing idempotency keys: same body replays, other body is 422 */
    for (int i = 0; i < PQntuples(res); i++) {
        const char *ch = PQgetvalue(res, i, 0), *key = PQgetvalue(res, i, 1);
        for (pending_t *p = list; p; p = p->next) {
            if (p->status || strcmp(p->channel, ch) || strcmp(p->key, key))
                continue;
            if (strcmp(p->hash, PQgetvalue(res, i, 2)) == 0) {
                p->status = atoi(PQgetvalue(res, i, 3));
                p->response = strdup(PQgetvalue(res, i, 4));
                brr_counter_inc(api.replayed);
            } else {
                p->status = 422;
                p->response = intake_problem(
                    422, "idempotency key reused",
                    "this Idempotency-Key was used with a different body",
                    NULL, 0);
            }
        }
    }
}

static void collect_citizens(void *arg, const PGresult *res)
{
    pending_t *list = arg;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *hex = PQgetvalue(res, i, 1);
        for (pending_t *p = list; p; p = p->next)
            if (strcmp(p->pseudonym_hex, hex) == 0)
                snprintf(p->citizen_ref, sizeof(p->citizen_ref), "%s",
                         PQgetvalue(res, i, 0));
    }
}

static char *hex(const unsigned char *b, size_t n, char *out)
{
    out[0] = '\\';
    out[1] = 'x';
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 + 2 * i, 3, "%02x", b[i]);
    return out;
}

/* One transaction for every pending application: two round trips. */
static int flush_batch(pending_t *list)
{
    brr_pg_t *pg = api.svc->pg;
    json_t *keys = json_array(), *citizens = json_array(),
           *apps = json_array(), *idem = json_array();
    char *doc;
    const char *p1[1];
    int rc;
    int64_t now_ms = brr_now_ms();

    /* round trip 1: which keys exist, and which citizens */
    for (pending_t *p = list; p; p = p->next) {
        unsigned char enc[37];
        char enc_hex[80];
        char ref[BRR_UUID_STRLEN + 1];
        json_array_append_new(keys, json_pack("{s:s, s:s}", "channel",
                                              p->channel, "key", p->key));
        if (p->same_key != NULL)
            continue;
        if (intake_bsn_encrypt(&api.conf.keys, p->app.bsn, enc) != 0)
            return BRR_ECRYPTO;
        {
            brr_uuid_t u;
            brr_uuid_v4(&u);
            brr_uuid_format(&u, ref);
        }
        json_array_append_new(
            citizens,
            json_pack("{s:s, s:s, s:s, s:s}", "citizen_ref", ref, "pseudonym",
                      p->pseudonym_hex, "bsn_enc", hex(enc, 37, enc_hex),
                      "bsn_key_id", api.conf.keys.key_id));
    }
    if ((rc = brr_pg_ensure(pg)) != 0 || (rc = brr_pg_begin(pg)) != 0)
        goto out;
    doc = json_dumps(keys, JSON_COMPACT);
    p1[0] = doc;
    brr_pg_pipe_add(api.pp,
                    "SELECT k.channel, k.key, encode(k.request_hash, 'hex'), "
                    "k.status, k.response::text FROM intake.idempotency_keys "
                    "k JOIN jsonb_to_recordset($1::jsonb) AS x(channel text, "
                    "key text) USING (channel, key)",
                    1, p1, collect_keys, list);
    free(doc);
    doc = json_dumps(citizens, JSON_COMPACT);
    p1[0] = doc;
    brr_pg_pipe_add(api.pp,
                    "INSERT INTO intake.citizens (citizen_ref, pseudonym, "
                    "bsn_enc, bsn_key_id) SELECT citizen_ref, "
                    "decode(substr(pseudonym, 3), 'hex'), "
                    "decode(substr(bsn_enc, 3), 'hex'), bsn_key_id "
                    "FROM jsonb_to_recordset($1::jsonb) AS x(citizen_ref "
                    "uuid, pseudonym text, bsn_enc text, bsn_key_id text) "
                    "ON CONFLICT (pseudonym) DO NOTHING",
                    1, p1, NULL, NULL);
    brr_pg_pipe_add(api.pp,
                    "SELECT c.citizen_ref::text, '\\x' || "
                    "encode(c.pseudonym, 'hex') FROM intake.citizens c "
                    "JOIN jsonb_to_recordset($1::jsonb) AS x(pseudonym text) "
                    "ON c.pseudonym = decode(substr(x.pseudonym, 3), 'hex')",
                    1, p1, collect_citizens, list);
    free(doc);
    if ((rc = brr_pg_pipe_run(pg, api.pp)) != 0)
        goto out;

    /* round trip 2: the applications, their keys, the outbox, COMMIT */
    for (pending_t *p = list; p; p = p->next) {
        Brr__V1__Application a = BRR__V1__APPLICATION__INIT;
        Brr__V1__Claim *cl[INTAKE_MAX_CLAIMS], cls[INTAKE_MAX_CLAIMS];
        json_t *resp;
        char *rtext;
        if (p->status != 0 || p->same_key != NULL)
            continue;
        if (p->citizen_ref[0] == '\0') {
            rc = BRR_EINTERNAL;
            goto out;
        }
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
        brr_outbox_add(api.svc->ob, TOPIC_APPLICATIONS, p->citizen_ref,
                       "application", p->app_id, "application.submitted",
                       &a.base, p->traceparent[0] ? p->traceparent : NULL,
                       NULL);
        resp = json_pack("{s:s, s:s}", "application_id", p->app_id, "status",
                         "ONTVANGEN");
        rtext = json_dumps(resp, JSON_COMPACT);
        json_array_append_new(
            apps, json_pack("{s:s, s:s, s:s, s:s, s:o}", "application_id",
                            p->app_id, "citizen_ref", p->citizen_ref,
                            "channel", p->channel, "kind",
                            p->app.maatwerk ? "maatwerk" : "standard", "body",
                            intake_app_public_json(&p->app)));
        json_array_append_new(
            idem, json_pack("{s:s, s:s, s:s, s:i, s:o}", "channel",
                            p->channel, "key", p->key, "hash", p->hash,
                            "status", 202, "response", resp));
        p->status = 202;
        p->response = rtext;
    }
    if (json_array_size(apps) > 0) {
        doc = json_dumps(apps, JSON_COMPACT);
        p1[0] = doc;
        brr_pg_pipe_add(api.pp,
                        "INSERT INTO intake.applications (application_id, "
                        "citizen_ref, channel, kind, body) SELECT * FROM "
                        "jsonb_to_recordset($1::jsonb) AS x(application_id "
                        "uuid, citizen_ref uuid, channel text, kind text, "
                        "body jsonb)",
                        1, p1, NULL, NULL);
        free(doc);
        doc = json_dumps(idem, JSON_COMPACT);
        p1[0] = doc;
        /* A conflict here is a concurrent request with the same key on
         * another connection or instance: the whole batch retries. */
        brr_pg_pipe_add(api.pp,
                        "INSERT INTO intake.idempotency_keys (channel, key, "
                        "request_hash, status, response) SELECT channel, key, "
                        "decode(hash, 'hex'), status, response FROM "
                        "jsonb_to_recordset($1::jsonb) AS x(channel text, key "
                        "text, hash text, status int, response jsonb)",
                        1, p1, NULL, NULL);
        free(doc);
        brr_outbox_queue(api.svc->ob, api.pp);
    }
    brr_pg_pipe_add(api.pp, "COMMIT", 0, NULL, NULL, NULL);
    rc = brr_pg_pipe_run(pg, api.pp);
out:
    json_decref(keys);
    json_decref(citizens);
    json_decref(apps);
    json_decref(idem);
    if (rc != 0) {
        brr_outbox_clear(api.svc->ob);
        brr_pg_rollback(pg);
    }
    return rc;
}

static void on_flush(uv_timer_t *t)
{
    pending_t *list = api.head;
    uint64_t t0 = uv_hrtime();
    int rc;
    (void)t;

    api.head = NULL;
    api.tail = &api.head;
    api.npending = 0;
    if (list == NULL)
        return;
    /* an earlier request with the same key in this batch answers for both */
    for (pending_t *p = list; p; p = p->next)
        for (pending_t *q = list; q != p; q = q->next)
            if (q->same_key == NULL && strcmp(q->channel, p->channel) == 0 &&
                strcmp(q->key, p->key) == 0) {
                p->same_key = q;
                break;
            }
    rc = flush_batch(list);
    if (rc != 0) {
        for (pending_t *p = list; p; p = p->next) {
            p->status = 0;
            free(p->response);
            p->response = NULL;
        }
        brr_log_warn("application batch not committed, answered 503",
                     "err", brr_err_name(rc), NULL);
    } else {
        brr_relay_kick(api.svc->relay);
        for (pending_t *p = list; p; p = p->next) {
            pending_t *q = p->same_key;
            if (q == NULL)
                continue;
            if (strcmp(q->hash, p->hash) == 0) {
                p->status = q->status;
                p->response = q->response ? strdup(q->response) : NULL;
            } else {
                p->status = 422;
                p->response = intake_problem(
                    422, "idempotency key reused",
                    "this Idempotency-Key was used with a different body",
                    NULL, 0);
            }
        }
    }
    brr_histogram_observe(api.commit_seconds,
                          (double)(uv_hrtime() - t0) / 1e9);
    finish_all(list);
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

    p = calloc(1, sizeof(*p));
    if (p == NULL)
        abort();
    if (!channel_of(req, p->channel, sizeof(p->channel))) {
        free(p);
        send_problem(req, 403, "unknown channel",
                     "the client certificate names no intake channel");
        return 0;
    }
    if (!idempotency_key(req, p->key)) {
        free(p);
        send_problem(req, 400, "missing Idempotency-Key",
                     "send an Idempotency-Key header of 1 to 128 visible "
                     "ASCII characters");
        return 0;
    }
    if (brr_http_body(req, api.conf.max_body, &body, &len) != 0) {
        free(p);
        send_problem(req, 413, "body too large",
                     "the application exceeds the size limit");
        return 0;
    }
    load_orgs();
    today(day);
    rc = intake_app_parse(body, len, p->channel, day, org_known, NULL,
                          &p->app);
    if (rc != 0) {
        char *prob = intake_problem(400, "invalid application",
                                    "one or more fields are invalid",
                                    p->app.errors, p->app.nerrors);
        send_json(req, 400, PROBLEM, prob);
        free(prob);
        free(p);
        brr_counter_inc(api.rejected);
        return 0;
    }
    sha256_hex(body, len, p->hash);
    brr_uuid_v7_str(p->app_id);
    intake_bsn_pseudonym(&api.conf.keys, p->app.bsn, p->pseudonym);
    hex(p->pseudonym, 32, p->pseudonym_hex);
    if (brr_http_header(req, "traceparent", &tp, &tplen) == 0 &&
        tplen < sizeof(p->traceparent)) {
        memcpy(p->traceparent, tp, tplen);
        p->traceparent[tplen] = '\0';
    }
    p->d = brr_http_defer(req, on_cancel, p);
    *api.tail = p;
    api.tail = &p->next;
    if (++api.npending >= api.conf.flush_max)
        on_flush(&api.flush_timer);
    else if (!uv_is_active((uv_handle_t *)&api.flush_timer))
        uv_timer_start(&api.flush_timer, on_flush, 1, 0);
    return 0;
}

static int get_application(h2o_req_t *req, void *data)
{
    char channel[64], id[64];
    const char *path = req->path_normalized.base + strlen("/v1/applications/");
    size_t n = req->path_normalized.len - strlen("/v1/applications/");
    brr_uuid_t u;
    PGresult *res;
    const char *params[2];
    (void)data;

    if (!channel_of(req, channel, sizeof(channel))) {
        send_problem(req, 403, "unknown channel",
                     "the client certificate names no intake channel");
        return 0;
    }
    if (n >= sizeof(id) || (memcpy(id, path, n), id[n] = '\0',
                            brr_uuid_parse(id, &u) != 0)) {
        send_problem(req, 404, "not found", "no such application");
        return 0;
    }
    params[0] = id;
    params[1] = channel;
    if (brr_pg_query(api.svc->pg,
                     "SELECT json_build_object('application_id', "
                     "application_id, 'status', status, 'arrangement_id', "
                     "arrangement_id, 'reasons', reasons, 'kind', kind, "
                     "'created_at', created_at, 'updated_at', updated_at)"
                     "::text FROM intake.applications WHERE application_id "
                     "= $1::uuid AND channel = $2",
                     2, params, &res) != 0) {
        brr_http_add_header(req, "retry-after", "1");
        send_problem(req, 503, "temporarily unavailable", "retry shortly");
        return 0;
    }
    if (PQntuples(res) == 0)
        send_problem(req, 404, "not found", "no such application");
    else
        send_json(req, 200, "application/json", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* POST /v1/arrangements/{id}/pauses: a pause request for brr-pause. */
static int post_pause(h2o_req_t *req, void *data)
{
    char channel[64], id[64], key[KEY_MAX + 1], hash[65], rid[40];
    const char *path = req->path_normalized.base + strlen("/v1/arrangements/");
    size_t plen = req->path_normalized.len - strlen("/v1/arrangements/");
    const char *slash = memchr(path, '/', plen);
    const char *body;
    size_t len;
    json_t *root;
    json_error_t jerr;
    brr_uuid_t u;
    PGresult *res;
    (void)data;

    if (!channel_of(req, channel, sizeof(channel))) {
        send_problem(req, 403, "unknown channel",
                     "the client certificate names no intake channel");
        return 0;
    }
    if (slash == NULL || (size_t)(slash - path) >= sizeof(id) ||
        strncmp(slash, "/pauses", plen - (size_t)(slash - path)) != 0 ||
        plen - (size_t)(slash - path) != 7) {
        send_problem(req, 404, "not found", "no such resource");
        return 0;
    }
    memcpy(id, path, (size_t)(slash - path));
    id[slash - path] = '\0';
    if (brr_uuid_parse(id, &u) != 0) {
        send_problem(req, 404, "not found", "no such arrangement");
        return 0;
    }
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
    {
        intake_error_t errs[4];
        size_t ne = 0;
        const char *f[] = {"start_date", "end_date", "reason"};
        for (int i = 0; i < 3; i++) {
            json_t *v = root ? json_object_get(root, f[i]) : NULL;
            const char *s = json_is_string(v) ? json_string_value(v) : NULL;
            int ok = s != NULL &&
                     (i == 2 ? strlen(s) >= 1 && strlen(s) <= 200
                             : brr_date_valid(s, strlen(s), NULL, NULL, NULL));
            if (!ok) {
                snprintf(errs[ne].field, sizeof(errs[ne].field), "%s", f[i]);
                snprintf(errs[ne].detail, sizeof(errs[ne].detail), "%s",
                         i == 2 ? "is required (1 to 200 characters)"
                                : "is required as a date YYYY-MM-DD");
                ne++;
            }
        }
        if (root == NULL || !json_is_object(root) || ne > 0) {
            char *prob = intake_problem(400, "invalid pause request",
                                        "one or more fields are invalid",
                                        errs, root ? ne : 0);
            send_json(req, 400, PROBLEM, prob);
            free(prob);
            json_decref(root);
            return 0;
        }
    }
    sha256_hex(body, len, hash);
    brr_uuid_v7_str(rid);
    {
        const char *p[2] = {id, NULL};
        char resp[128];
        Brr__V1__PauseRequest pr = BRR__V1__PAUSE_REQUEST__INIT;
        char *rtext;
        int rc;
        if (brr_pg_ensure(api.svc->pg) != 0 || brr_pg_begin(api.svc->pg) ||
            brr_pg_query(api.svc->pg,
                         "SELECT citizen_ref::text FROM "
                         "intake.arrangements_view WHERE arrangement_id = "
                         "$1::uuid",
                         1, p, &res) != 0) {
            brr_pg_rollback(api.svc->pg);
            json_decref(root);
            brr_http_add_header(req, "retry-after", "1");
            send_problem(req, 503, "temporarily unavailable", "retry");
            return 0;
        }
        if (PQntuples(res) == 0) {
            PQclear(res);
            brr_pg_rollback(api.svc->pg);
            json_decref(root);
            send_problem(req, 404, "not found", "no such arrangement");
            return 0;
        }
        pr.request_id = rid;
        pr.arrangement_id = id;
        pr.citizen_ref = PQgetvalue(res, 0, 0);
        pr.start_date =
            (char *)json_string_value(json_object_get(root, "start_date"));
        pr.end_date =
            (char *)json_string_value(json_object_get(root, "end_date"));
        pr.reason = (char *)json_string_value(json_object_get(root, "reason"));
        pr.channel = channel;
        snprintf(resp, sizeof(resp), "{\"request_id\":\"%s\"}", rid);
        {
            const char *ip[5] = {channel, key, hash, "202", resp};
            rc = brr_pg_query(
                api.svc->pg,
                "INSERT INTO intake.idempotency_keys (channel, key, "
                "request_hash, status, response) VALUES ($1, $2, "
                "decode($3, 'hex'), $4::int, $5::jsonb) ON CONFLICT DO "
                "NOTHING RETURNING 1",
                5, ip, &res);
        }
        if (rc == 0 && PQntuples(res) == 1) {
            brr_outbox_add(api.svc->ob, TOPIC_PAUSE_REQUESTS, pr.citizen_ref,
                           "arrangement", id, "pause.requested", &pr.base,
                           NULL, NULL);
            brr_outbox_queue(api.svc->ob, api.pp);
            brr_pg_pipe_add(api.pp, "COMMIT", 0, NULL, NULL, NULL);
            rc = brr_pg_pipe_run(api.svc->pg, api.pp);
            rtext = strdup(resp);
        } else if (rc == 0) {
            /* the key exists: replay or refuse */
            PGresult *old;
            const char *kp[3] = {channel, key, hash};
            PQclear(res);
            res = NULL;
            brr_pg_rollback(api.svc->pg);
            rc = brr_pg_query(api.svc->pg,
                              "SELECT response::text, request_hash = "
                              "decode($3, 'hex') FROM "
                              "intake.idempotency_keys WHERE channel = $1 "
                              "AND key = $2",
                              3, kp, &old);
            if (rc == 0 && PQntuples(old) == 1 &&
                PQgetvalue(old, 0, 1)[0] == 't')
                rtext = strdup(PQgetvalue(old, 0, 0));
            else
                rtext = NULL;
            if (rc == 0)
                PQclear(old);
            if (rc == 0 && rtext == NULL) {
                send_problem(req, 422, "idempotency key reused",
                             "this Idempotency-Key was used with a "
                             "different body");
                json_decref(root);
                return 0;
            }
        } else {
            rtext = NULL;
        }
        PQclear(res);
        json_decref(root);
        if (rc != 0) {
            brr_outbox_clear(api.svc->ob);
            brr_pg_rollback(api.svc->pg);
            free(rtext);
            brr_http_add_header(req, "retry-after", "1");
            send_problem(req, 503, "temporarily unavailable", "retry");
            return 0;
        }
        brr_relay_kick(api.svc->relay);
        send_json(req, 202, "application/json", rtext);
        free(rtext);
    }
    return 0;
}

int intake_api_start(brr_service_t *svc, const intake_api_conf_t *conf)
{
    brr_http_tls_t tls = {conf->cert, conf->key, conf->client_ca};
    brr_http_conf_t hc = {NULL, 0, &tls, conf->max_body, "intake"};
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
    api.accepted = brr_metrics_counter("brr_intake_applications_accepted_total",
                                       "applications committed (202)", NULL);
    api.rejected = brr_metrics_counter("brr_intake_applications_invalid_total",
                                       "applications refused as invalid",
                                       NULL);
    api.replayed = brr_metrics_counter(
        "brr_intake_idempotent_replays_total",
        "requests answered from an earlier Idempotency-Key", NULL);
    api.failed = brr_metrics_counter("brr_intake_commit_failures_total",
                                     "requests answered 503 (retryable)",
                                     NULL);
    {
        static const double b[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                   0.1,   0.2,   0.5,   1,    2};
        api.commit_seconds = brr_metrics_histogram(
            "brr_intake_commit_seconds", "time to commit one batch", b,
            sizeof(b) / sizeof(b[0]), NULL);
    }
    uv_timer_init(svc->loop, &api.flush_timer);
    if ((rc = brr_http_server_init(svc->loop, &hc, &api.srv)) != 0)
        return rc;
    brr_http_server_route(api.srv, "POST", "/v1/applications",
                          post_application, NULL);
    brr_http_server_route(api.srv, "GET", "/v1/applications/",
                          get_application, NULL);
    brr_http_server_route(api.srv, "POST", "/v1/arrangements/", post_pause,
                          NULL);
    return brr_http_server_start(api.srv);
}

void intake_api_stop(void)
{
    if (api.head != NULL)
        on_flush(&api.flush_timer);
    uv_timer_stop(&api.flush_timer);
    uv_close((uv_handle_t *)&api.flush_timer, NULL);
    if (api.srv != NULL)
        brr_http_server_stop(api.srv, NULL, NULL);
    api.srv = NULL;
    brr_pg_pipe_free(api.pp);
    api.pp = NULL;
}
