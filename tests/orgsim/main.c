/*
 * main.c: brr-orgsim, the organisation simulator (see orgsim.h).
 *
 *   POST /orgs/<CODE>/events   (HTTPS, client certificate required)
 *     fault injected?            -> that status (Retry-After for 429/503)
 *     content type not
 *       application/cloudevents+json                      -> 415
 *     webhook-id/-timestamp/-signature missing or wrong,
 *       timestamp outside +-5 min                         -> 401
 *     not a CloudEvent, or webhook-id != id               -> 400
 *     a BSN anywhere in the body                          -> 422
 *     database unavailable                                -> 503
 *     recorded (or a duplicate, counted, no effect)       -> 200
 *   on the admin port (plain HTTP):
 *     POST /faults/<CODE> {"status":503,"count":10}
 *                         {"status":429,"retry_after":2,"count":3}
 *                         {"status":410}            (no count: until DELETE)
 *                         {"delay_ms":200,"count":5} (recorded, answered late)
 *     DELETE /faults/<CODE>, DELETE /faults/ (all), GET /faults/
 *     /healthz, /readyz (postgres), /metrics
 *
 * Every verdict is counted in orgsim_deliveries_total{org,result} and, for
 * rejections, in orgsim.rejected, so tests can assert on either.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <uv.h>

#include "admin.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "orgsim.h"
#include "validate.h"

#define ORGSIM_WINDOW_S 300
#define ORGSIM_MAX_ORGS 64

typedef struct {
    char org[17];
    int status;      /* 0: none, answer normally */
    int retry_after; /* seconds, -1: no header */
    int delay_ms;
    long remaining; /* requests left, -1: until DELETE */
} orgsim_fault_t;

/* A response held back by a delay fault. */
typedef struct orgsim_delay {
    uv_timer_t timer;
    struct orgsim *os;
    brr_http_deferred_t *d;
    int status;
    char body[96];
    char retry_after[16];
    struct orgsim_delay *prev, *next;
} orgsim_delay_t;

typedef struct orgsim {
    uv_loop_t *loop;
    brr_http_server_t *srv;
    brr_admin_t *adm;
    orgsim_store_t *st;
    unsigned char *key;
    size_t keylen;
    size_t max_body;
    orgsim_fault_t faults[ORGSIM_MAX_ORGS];
    size_t nfaults;
    orgsim_delay_t *delays;
    uv_signal_t sigterm, sigint;
} orgsim_t;

static char *listen_addr, *admin_addr, *cert_file, *key_file, *ca_file, *secret,
    *pg_dsn, *log_level;
static int64_t max_body;

static const brr_config_entry_t config_table[] = {
    {"BRR_ORGSIM_LISTEN", BRR_CONF_STRING, &listen_addr, "127.0.0.1:9443", 0, 0,
     0, "host:port of the organisations' HTTPS endpoint"},
    {"BRR_ORGSIM_ADMIN", BRR_CONF_STRING, &admin_addr, "127.0.0.1:9444", 0, 0,
     0, "host:port of the fault-injection and health endpoint"},
    {"BRR_ORGSIM_CERT", BRR_CONF_STRING, &cert_file, NULL, 0, 0, 0,
     "server certificate chain (PEM)"},
    {"BRR_ORGSIM_KEY", BRR_CONF_STRING, &key_file, NULL, 0, 0, 0,
     "server private key (PEM)"},
    {"BRR_ORGSIM_CA", BRR_CONF_STRING, &ca_file, NULL, 0, 0, 0,
     "CA bundle that client certificates must chain to"},
    {"BRR_ORGSIM_SECRET", BRR_CONF_STRING, &secret, NULL, 0, 0, 1,
     "Standard Webhooks secret (whsec_<base64> or raw)"},
    {"BRR_PG_DSN", BRR_CONF_STRING, &pg_dsn, NULL, 0, 0, 1,
     "libpq connection string"},
    {"BRR_ORGSIM_MAX_BODY", BRR_CONF_INT, &max_body, "1048576", 1024,
     64 * 1024 * 1024, 0, "largest accepted event in bytes"},
    {"BRR_LOG_LEVEL", BRR_CONF_STRING, &log_level, "info", 0, 0, 0,
     "debug, info, warn or error"},
    {0},
};

/* ---- helpers ---- */

static void count(const char *org, const char *result)
{
    brr_counter_inc(brr_metrics_counter(
        "orgsim_deliveries_total",
        "Deliveries received by the organisation simulator, by verdict.", "org",
        org, "result", result, NULL));
}

static void problem(h2o_req_t *req, int status, const char *title)
{
    json_t *p = json_pack("{s:s, s:i}", "title", title, "status", status);
    char *text = json_dumps(p, JSON_COMPACT);

    brr_http_send(req, status, "application/problem+json", text, strlen(text));
    free(text);
    json_decref(p);
}

static void reject(orgsim_t *os, h2o_req_t *req, const char *org, int status,
                   const char *reason, const char *title)
{
    count(org, reason);
    orgsim_store_rejection(os->st, org, reason);
    brr_log_info("delivery rejected", "org", org, "reason", reason, NULL);
    problem(req, status, title);
}

/* Splits "host:port" or "[v6]:port" into host (cap bytes) and port. */
static int parse_hostport(const char *s, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hlen;
    char *end;
    long p;

    if (colon == NULL)
        return BRR_EINVAL;
    hlen = (size_t)(colon - s);
    if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= cap)
        return BRR_EINVAL;
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535 || end == colon + 1)
        return BRR_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

/* ---- faults ---- */

static orgsim_fault_t *fault_find(orgsim_t *os, const char *org)
{
    size_t i;

    for (i = 0; i < os->nfaults; i++)
        if (strcmp(os->faults[i].org, org) == 0)
            return &os->faults[i];
    return NULL;
}

static void fault_remove(orgsim_t *os, orgsim_fault_t *f)
{
    *f = os->faults[--os->nfaults];
}

/* Takes one use of org's fault, if any, into *out.  0: none. */
static int fault_take(orgsim_t *os, const char *org, orgsim_fault_t *out)
{
    orgsim_fault_t *f = fault_find(os, org);

    if (f == NULL)
        return 0;
    *out = *f;
    if (f->remaining > 0 && --f->remaining == 0)
        fault_remove(os, f);
    return 1;
}

static void delay_closed(uv_handle_t *h)
{
    free(h->data);
}

static void delay_unlink(orgsim_t *os, orgsim_delay_t *dl)
{
    if (dl->prev != NULL)
        dl->prev->next = dl->next;
    else
        os->delays = dl->next;
    if (dl->next != NULL)
        dl->next->prev = dl->prev;
}

static void delay_fire(uv_timer_t *t)
{
    orgsim_delay_t *dl = t->data;
    orgsim_t *os = dl->os;
    h2o_req_t *req = brr_http_deferred_req(dl->d);

    if (req != NULL && dl->retry_after[0] != '\0')
        brr_http_add_header(req, "retry-after", dl->retry_after);
    brr_http_deferred_send(dl->d, dl->status, "application/json", dl->body,
                           strlen(dl->body));
    delay_unlink(os, dl);
    uv_close((uv_handle_t *)&dl->timer, delay_closed);
}

/* Answers a deferred request now, or after delay_ms. */
static void answer_later(orgsim_t *os, brr_http_deferred_t *d, int delay_ms,
                         int status, const char *body, int retry_after)
{
    orgsim_delay_t *dl;

    if (delay_ms <= 0) {
        h2o_req_t *req = brr_http_deferred_req(d);
        if (req != NULL && retry_after >= 0) {
            char ra[16];
            snprintf(ra, sizeof(ra), "%d", retry_after);
            brr_http_add_header(req, "retry-after", ra);
        }
        brr_http_deferred_send(d, status, "application/json", body,
                               strlen(body));
        return;
    }
    dl = calloc(1, sizeof(*dl));
    if (dl == NULL)
        abort();
    dl->os = os;
    dl->d = d;
    dl->status = status;
    snprintf(dl->body, sizeof(dl->body), "%s", body);
    if (retry_after >= 0)
        snprintf(dl->retry_after, sizeof(dl->retry_after), "%d", retry_after);
    uv_timer_init(os->loop, &dl->timer);
    dl->timer.data = dl;
    dl->next = os->delays;
    if (os->delays != NULL)
        os->delays->prev = dl;
    os->delays = dl;
    uv_timer_start(&dl->timer, delay_fire, (uint64_t)delay_ms, 0);
}

/* Answers now, or after delay_ms through a deferred response. */
static void answer(orgsim_t *os, h2o_req_t *req, int delay_ms, int status,
                   const char *body, int retry_after)
{
    if (delay_ms <= 0) {
        if (retry_after >= 0) {
            char ra[16];
            snprintf(ra, sizeof(ra), "%d", retry_after);
            brr_http_add_header(req, "retry-after", ra);
        }
        brr_http_send(req, status, "application/json", body, strlen(body));
        return;
    }
    answer_later(os, brr_http_defer(req, NULL, NULL), delay_ms, status, body,
                 retry_after);
}

/* A delivery waiting for its batch to be recorded. */
typedef struct {
    orgsim_t *os;
    brr_http_deferred_t *d;
    int delay_ms;
    char org[17];
    char id[37];
    char subject[128];
} orgsim_rec_t;

static void recorded(void *arg, int rc, orgsim_store_result_t res)
{
    orgsim_rec_t *r = arg;

    if (rc != 0) {
        count(r->org, "unavailable");
        answer_later(r->os, r->d, 0, 503,
                     "{\"title\":\"could not record the event\","
                     "\"status\":503}",
                     -1);
        free(r);
        return;
    }
    switch (res) {
    case ORGSIM_DUPLICATE:
        count(r->org, "duplicate");
        brr_log_info("duplicate delivery", "org", r->org, "eid", r->id, NULL);
        answer_later(r->os, r->d, r->delay_ms, 200,
                     "{\"status\":\"duplicate\"}", -1);
        break;
    case ORGSIM_OUT_OF_ORDER:
        count(r->org, "out_of_order");
        brr_log_warn("delivery out of order", "org", r->org, "eid", r->id,
                     "arrangement", r->subject, NULL);
        answer_later(r->os, r->d, r->delay_ms, 200, "{\"status\":\"received\"}",
                     -1);
        break;
    case ORGSIM_STORED:
        count(r->org, "received");
        answer_later(r->os, r->d, r->delay_ms, 200, "{\"status\":\"received\"}",
                     -1);
        break;
    }
    free(r);
}

/* ---- POST /orgs/<CODE>/events ---- */

/* Extracts CODE from /orgs/<CODE>/events into org (17 bytes). */
static int org_from_path(h2o_req_t *req, char org[17])
{
    const char *p = req->path_normalized.base + 6; /* after "/orgs/" */
    size_t n = req->path_normalized.len - 6, i;

    for (i = 0; i < n && p[i] != '/'; i++)
        ;
    if (i == 0 || i > 16 || n - i != 7 || memcmp(p + i, "/events", 7) != 0 ||
        !brr_org_code_valid(p, i))
        return BRR_ENOTFOUND;
    memcpy(org, p, i);
    org[i] = '\0';
    return 0;
}

static int content_type_ok(h2o_req_t *req)
{
    static const char want[] = "application/cloudevents+json";
    const char *v;
    size_t len, n = sizeof(want) - 1;

    if (brr_http_header(req, "content-type", &v, &len) != 0 || len < n ||
        strncasecmp(v, want, n) != 0)
        return 0;
    return len == n || v[n] == ';' || v[n] == ' ';
}

static int h_events(h2o_req_t *req, void *data)
{
    orgsim_t *os = data;
    char org[17], why[160], cn[128] = "";
    const char *id, *ts, *sig, *body;
    size_t idlen, tslen, siglen, len;
    orgsim_fault_t fault = {0};
    orgsim_event_t ev;
    orgsim_rec_t *rec;
    int delay_ms;

    if (org_from_path(req, org) != 0) {
        problem(req, 404, "no such organisation endpoint");
        return 0;
    }
    brr_http_peer_subject_cn(req, cn, sizeof(cn));
    brr_log_debug("delivery", "org", org, "client", cn, NULL);
    fault_take(os, org, &fault);
    delay_ms = fault.delay_ms;
    if (fault.status != 0) {
        char fbody[64];

        count(org, "fault");
        snprintf(fbody, sizeof(fbody), "{\"fault\":%d}", fault.status);
        answer(os, req, delay_ms, fault.status, fbody,
               (fault.status == 429 || fault.status == 503) ? fault.retry_after
                                                            : -1);
        return 0;
    }
    if (!content_type_ok(req)) {
        reject(os, req, org, 415, "content_type",
               "content type must be application/cloudevents+json");
        return 0;
    }
    if (brr_http_body(req, (size_t)max_body, &body, &len) != 0) {
        reject(os, req, org, 413, "too_large", "event too large");
        return 0;
    }
    if (brr_http_header(req, "webhook-id", &id, &idlen) != 0 ||
        brr_http_header(req, "webhook-timestamp", &ts, &tslen) != 0 ||
        brr_http_header(req, "webhook-signature", &sig, &siglen) != 0) {
        reject(os, req, org, 401, "signature", "webhook headers missing");
        return 0;
    }
    if (!orgsim_timestamp_ok(ts, tslen, time(NULL), ORGSIM_WINDOW_S)) {
        reject(os, req, org, 401, "timestamp",
               "webhook-timestamp outside the tolerance window");
        return 0;
    }
    if (orgsim_signature_ok(os->key, os->keylen, id, idlen, ts, tslen, body,
                            len, sig, siglen) != 0) {
        reject(os, req, org, 401, "signature", "webhook signature mismatch");
        return 0;
    }
    if (orgsim_event_parse(body, len, &ev, why, sizeof(why)) != 0) {
        reject(os, req, org, 400, "invalid_event", why);
        return 0;
    }
    if (idlen != strlen(ev.id) || memcmp(id, ev.id, idlen) != 0) {
        reject(os, req, org, 400, "invalid_event",
               "webhook-id differs from the event id");
        return 0;
    }
    if (orgsim_has_bsn(body, len)) {
        /* Never log the body: it holds the BSN. */
        brr_log_error("a bsn reached an organisation", "org", org, "eid", ev.id,
                      NULL);
        reject(os, req, org, 422, "bsn", "event contains a bsn");
        return 0;
    }
    /* Answered once its batch is recorded: a 200 means it is stored. */
    rec = calloc(1, sizeof(*rec));
    if (rec == NULL)
        abort();
    rec->os = os;
    rec->delay_ms = delay_ms;
    snprintf(rec->org, sizeof(rec->org), "%s", org);
    snprintf(rec->id, sizeof(rec->id), "%s", ev.id);
    snprintf(rec->subject, sizeof(rec->subject), "%s", ev.subject);
    orgsim_store_event_async(os->st, org, &ev, body, len, recorded, rec);
    rec->d = brr_http_defer(req, NULL, NULL);
    return 0;
}

/* ---- admin: /faults/ ---- */

static json_t *fault_json(const orgsim_fault_t *f)
{
    json_t *o = json_object();

    json_object_set_new(o, "org", json_string(f->org));
    if (f->status != 0)
        json_object_set_new(o, "status", json_integer(f->status));
    if (f->retry_after >= 0)
        json_object_set_new(o, "retry_after", json_integer(f->retry_after));
    if (f->delay_ms > 0)
        json_object_set_new(o, "delay_ms", json_integer(f->delay_ms));
    if (f->remaining >= 0)
        json_object_set_new(o, "count", json_integer(f->remaining));
    return o;
}

static void send_json(h2o_req_t *req, int status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);

    brr_http_send(req, status, "application/json", text, strlen(text));
    free(text);
    json_decref(j);
}

/* Reads an optional integer member within [lo, hi]; -2 when invalid. */
static long opt_int(json_t *o, const char *key, long lo, long hi, long def)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL)
        return def;
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi)
        return -2;
    return (long)json_integer_value(v);
}

static int h_faults(h2o_req_t *req, void *data)
{
    orgsim_t *os = data;
    const char *code = req->path_normalized.base + 8; /* after /faults/ */
    size_t n = req->path_normalized.len - 8, i;
    orgsim_fault_t f = {0}, *slot;
    json_error_t jerr;
    json_t *j;

    if (n > 0 && (n > 16 || !brr_org_code_valid(code, n))) {
        problem(req, 404, "no such organisation");
        return 0;
    }
    memcpy(f.org, code, n);
    f.org[n] = '\0';
    if (brr_http_method_is(req, "GET")) {
        json_t *list = json_array();
        for (i = 0; i < os->nfaults; i++)
            if (n == 0 || strcmp(os->faults[i].org, f.org) == 0)
                json_array_append_new(list, fault_json(&os->faults[i]));
        send_json(req, 200, list);
        return 0;
    }
    if (brr_http_method_is(req, "DELETE")) {
        if (n == 0)
            os->nfaults = 0;
        else if ((slot = fault_find(os, f.org)) != NULL)
            fault_remove(os, slot);
        brr_log_info("fault cleared", "org", n ? f.org : "*", NULL);
        brr_http_send(req, 204, NULL, NULL, 0);
        return 0;
    }
    if (!brr_http_method_is(req, "POST") || n == 0) {
        problem(req, 405, "use POST /faults/<CODE>");
        return 0;
    }
    j = json_loadb(req->entity.base, req->entity.len, 0, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        problem(req, 400, "body must be a json object");
        return 0;
    }
    f.status = (int)opt_int(j, "status", 400, 599, 0);
    f.retry_after = (int)opt_int(j, "retry_after", 0, 86400, -1);
    f.delay_ms = (int)opt_int(j, "delay_ms", 0, 600000, 0);
    f.remaining = opt_int(j, "count", 1, 1000000000, -1);
    json_decref(j);
    if (f.status == -2 || f.retry_after == -2 || f.delay_ms == -2 ||
        f.remaining == -2 || (f.status == 0 && f.delay_ms == 0)) {
        problem(req, 400,
                "want status (400-599) and/or delay_ms, optional "
                "retry_after and count");
        return 0;
    }
    if ((slot = fault_find(os, f.org)) == NULL) {
        if (os->nfaults == ORGSIM_MAX_ORGS) {
            problem(req, 409, "too many faults");
            return 0;
        }
        slot = &os->faults[os->nfaults++];
    }
    *slot = f;
    brr_log_info("fault set", "org", f.org, NULL);
    send_json(req, 201, fault_json(slot));
    return 0;
}

/* ---- lifecycle ---- */

static int ready_pg(void *arg)
{
    orgsim_t *os = arg;

    return orgsim_store_ensure(os->st) == 0;
}

static void stop(orgsim_t *os)
{
    orgsim_delay_t *dl;

    uv_close((uv_handle_t *)&os->sigterm, NULL);
    uv_close((uv_handle_t *)&os->sigint, NULL);
    while ((dl = os->delays) != NULL) {
        brr_http_deferred_release(dl->d);
        delay_unlink(os, dl);
        uv_close((uv_handle_t *)&dl->timer, delay_closed);
    }
    brr_http_server_stop(os->srv, NULL, NULL);
    brr_admin_stop(os->adm);
}

static void on_signal(uv_signal_t *s, int signum)
{
    brr_log_info("stopping", NULL);
    stop(s->data);
}

int main(int argc, char **argv)
{
    static orgsim_t os;
    char err[256], host[128], ahost[128];
    int port, aport;
    brr_log_level_t lvl = BRR_LOG_INFO;
    brr_http_tls_t tls = {0};
    brr_http_conf_t conf = {0};
    uv_loop_t *loop = uv_default_loop();

    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: brr-orgsim\n\nconfiguration (environment):\n");
        brr_config_usage(config_table);
        return 0;
    }
    if (brr_config_load(config_table, err, sizeof(err)) != 0) {
        fprintf(stderr, "brr-orgsim: %s\n", err);
        return 2;
    }
    brr_log_level_parse(log_level, &lvl);
    brr_log_init("brr-orgsim", lvl, BRR_LOG_LOGFMT);
    if (parse_hostport(listen_addr, host, sizeof(host), &port) != 0 ||
        parse_hostport(admin_addr, ahost, sizeof(ahost), &aport) != 0) {
        fprintf(stderr, "brr-orgsim: BRR_ORGSIM_LISTEN and BRR_ORGSIM_ADMIN "
                        "must be host:port\n");
        return 2;
    }
    if (secret[0] == '\0' ||
        orgsim_secret_decode(secret, &os.key, &os.keylen) != 0 ||
        os.keylen == 0) {
        fprintf(stderr, "brr-orgsim: BRR_ORGSIM_SECRET is empty or not "
                        "valid whsec_<base64>\n");
        return 2;
    }
    os.loop = loop;
    os.st = orgsim_store_new(pg_dsn);
    orgsim_store_attach(os.st, loop);
    if (orgsim_store_ensure(os.st) != 0)
        brr_log_warn("postgres not reachable yet; retrying per request", NULL);

    tls.cert_file = cert_file;
    tls.key_file = key_file;
    tls.client_ca_file = ca_file;
    conf.host = host;
    conf.port = port;
    conf.tls = &tls;
    conf.max_body = (size_t)max_body;
    conf.name = "orgsim";
    if (brr_http_server_init(loop, &conf, &os.srv) != 0)
        return 1;
    brr_http_server_route(os.srv, "POST", "/orgs/", h_events, &os);
    if (brr_http_server_start(os.srv) != 0)
        return 1;
    if (brr_admin_start(loop, ahost, aport, &os.adm) != 0)
        return 1;
    brr_admin_add_ready_check(os.adm, "postgres", ready_pg, &os);
    brr_http_server_route(brr_admin_server(os.adm), NULL, "/faults/", h_faults,
                          &os);

    uv_signal_init(loop, &os.sigterm);
    uv_signal_init(loop, &os.sigint);
    os.sigterm.data = os.sigint.data = &os;
    uv_signal_start(&os.sigterm, on_signal, SIGTERM);
    uv_signal_start(&os.sigint, on_signal, SIGINT);
    brr_log_info("organisation simulator started", NULL);
    uv_run(loop, UV_RUN_DEFAULT);

    orgsim_store_free(os.st);
    free(os.key);
    brr_metrics_reset();
    uv_loop_close(loop);
    brr_log_info("organisation simulator stopped", NULL);
    return 0;
}
