/*
 * reports.c: POST /v1/reports, where a participating organisation reports
 * back about an arrangement (ARCHITECTURE §4).  Lives in brr-intake, the
 * only public HTTP surface, on the same mutual-TLS listener as the
 * channels' API.
 *
 *   {"report_id":"CJIB-0001","arrangement_id":"…","type":"PAYMENT_RECEIVED",
 *    "reference":"CJIB-123","amount_cents":2801,"received_on":"2025-03-01"}
 *   type CLAIM_CHANGED: reference, open_cents (the new balance)
 *   type CLAIM_WITHDRAWN: reference, reason (optional)
 *   type NEW_CLAIM: reference, open_cents, due_date (optional)
 *   type END_REQUESTED: reason (optional; a code such as "WSNP")
 *
 * The organisation is the CN of a client certificate issued by the
 * organisation CA (a channel's certificate is refused here even when its
 * CN is an organisation's code: peer.c) and must be in the registry
 * (connector.organisations); a body that names an organisation is
 * refused.  Each organisation has its own token bucket at intake's
 * per-client rate (BRR_INTAKE_RATE/BURST): beyond it, 429 with
 * Retry-After, before the body is read or the database asked.
 *
 * The report goes to brr.intake.reports.v1 through intake's outbox in the
 * same transaction as its (organisation, report id) idempotency row, keyed
 * by the arrangement's citizen from intake.arrangements_view: the same
 * report id again answers what it answered the first time and is not sent
 * twice; with another body it is 422.  brr-distribution applies it (and
 * drops repeats by report id).  202 means committed, not applied: refusals
 * (unknown claim, amount above the balance) come back to the organisation
 * as report.refused events.
 */
#include "reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "brr/v1/report.pb-c.h"
#include "err.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "uuid.h"
#include "validate.h"

#define TOPIC_REPORTS "brr.intake.reports.v1"
#define PROBLEM "application/problem+json"
#define REPORT_MAX_BODY 4096

/* One organisation's token bucket, made on its first report. */
typedef struct {
    char org[17];
    intake_bucket_t bucket;
} org_bucket_t;

static struct {
    brr_service_t *svc;
    const intake_roles_t *roles;
    double rate, burst;
    org_bucket_t *buckets; /* grows; organisations are few */
    size_t nbuckets, capbuckets;
    brr_counter_t *accepted, *invalid, *replayed, *forbidden, *limited;
} rep;

static const char *const kinds[] = {
    NULL,        "PAYMENT_RECEIVED", "CLAIM_CHANGED", "CLAIM_WITHDRAWN",
    "NEW_CLAIM", "END_REQUESTED"};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const char *const fields[] = {
    "report_id",  "arrangement_id", "type",        "reference", "amount_cents",
    "open_cents", "due_date",       "received_on", "reason"};

/* ---- parsing (pure apart from jansson) ---------------------------------- */

static void fail(intake_report_t *r, const char *field, const char *detail)
{
    if (r->nerrors == INTAKE_MAX_ERRORS)
        return;
    snprintf(r->errors[r->nerrors].field, sizeof(r->errors[0].field), "%s",
             field);
    snprintf(r->errors[r->nerrors].detail, sizeof(r->errors[0].detail), "%s",
             detail);
    r->nerrors++;
}

/* A reason code: 1 to 64 of A-Z, 0-9, '_' and '-'. */
static int reason_code(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

/* A string field copied into out (cap bytes); NULL when absent. */
static const char *text(intake_report_t *r, json_t *root, const char *key,
                        int required, size_t min, size_t max, char *out,
                        size_t cap)
{
    json_t *v = json_object_get(root, key);
    char detail[96];
    if (v == NULL) {
        if (required)
            fail(r, key, "is required");
        return NULL;
    }
    if (!json_is_string(v) || !brr_text_valid(json_string_value(v), min, max)) {
        snprintf(detail, sizeof(detail),
                 "must be text of %zu to %zu printable characters", min, max);
        fail(r, key, detail);
        return NULL;
    }
    snprintf(out, cap, "%s", json_string_value(v));
    return out;
}

static void cents(intake_report_t *r, json_t *root, const char *key,
                  int64_t min, int64_t *out)
{
    json_t *v = json_object_get(root, key);
    if (v == NULL) {
        fail(r, key, "is required");
        return;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > INTAKE_MAX_CLAIM_CENTS) {
        fail(r, key,
             min > 0 ? "must be a positive whole number of cents"
                     : "must be a whole number of cents, 0 or more");
        return;
    }
    *out = json_integer_value(v);
}

static void date(intake_report_t *r, json_t *root, const char *key, char *out)
{
    if (text(r, root, key, 0, 10, 10, out, 11) != NULL &&
        !brr_date_valid(out, strlen(out), NULL, NULL, NULL)) {
        fail(r, key, "must be a date YYYY-MM-DD");
        out[0] = '\0';
    }
}

int intake_report_parse(const char *body, size_t len, intake_report_t *r)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *key;
    json_t *v;
    char type[32] = "";
    brr_uuid_t u;

    memset(r, 0, sizeof(*r));
    if (root == NULL || !json_is_object(root)) {
        fail(r, "", "the body must be one JSON object");
        json_decref(root);
        return BRR_EPARSE;
    }
    json_object_foreach(root, key, v)
    {
        size_t i = 0;
        while (i < sizeof(fields) / sizeof(fields[0]) &&
               strcmp(fields[i], key) != 0)
            i++;
        if (strcmp(key, "organisation") == 0)
            fail(r, key,
                 "is taken from the client certificate, never from the body");
        else if (i == sizeof(fields) / sizeof(fields[0]))
            fail(r, key, "is not a field of a report");
    }
    text(r, root, "report_id", 1, 1, INTAKE_REPORT_ID_MAX, r->report_id,
         sizeof(r->report_id));
    if (text(r, root, "arrangement_id", 1, 36, 36, r->arrangement_id,
             sizeof(r->arrangement_id)) != NULL &&
        brr_uuid_parse(r->arrangement_id, &u) != 0)
        fail(r, "arrangement_id", "must be a UUID");
    if (text(r, root, "type", 1, 1, sizeof(type) - 1, type, sizeof(type)) !=
        NULL) {
        for (size_t k = 1; k < NKINDS; k++)
            if (strcmp(type, kinds[k]) == 0)
                r->kind = (int)k;
        if (r->kind == 0)
            fail(r, "type",
                 "must be PAYMENT_RECEIVED, CLAIM_CHANGED, CLAIM_WITHDRAWN, "
                 "NEW_CLAIM or END_REQUESTED");
    }
    if (r->kind != 0 && r->kind != BRR__V1__REPORT_KIND__END_REQUESTED)
        text(r, root, "reference", 1, 1, sizeof(r->reference) - 1, r->reference,
             sizeof(r->reference));
    switch (r->kind) {
    case BRR__V1__REPORT_KIND__PAYMENT_RECEIVED:
        cents(r, root, "amount_cents", 1, &r->amount_cents);
        date(r, root, "received_on", r->received_on);
        break;
    case BRR__V1__REPORT_KIND__CLAIM_CHANGED:
        cents(r, root, "open_cents", 0, &r->open_cents);
        break;
    case BRR__V1__REPORT_KIND__NEW_CLAIM:
        cents(r, root, "open_cents", 1, &r->open_cents);
        date(r, root, "due_date", r->due_date);
        break;
    default:
        break;
    }
    text(r, root, "reason", 0, 1, INTAKE_REPORT_REASON_MAX, r->reason,
         sizeof(r->reason));
    /* The reason of an end is passed on to every organisation of the
     * arrangement: a code, never free text that could carry personal
     * data of the citizen to the others. */
    if (r->kind == BRR__V1__REPORT_KIND__END_REQUESTED && r->reason[0] &&
        !reason_code(r->reason))
        fail(r, "reason",
             "for END_REQUESTED: a code of A-Z, 0-9, '_' and '-' (at most 64), "
             "e.g. WSNP, as every organisation of the arrangement is told it");
    json_decref(root);
    return r->nerrors == 0 ? 0 : BRR_EINVAL;
}

/* ---- the handler -------------------------------------------------------- */

static void send_problem(h2o_req_t *req, int status, const char *title,
                         const char *detail, const intake_error_t *errs,
                         size_t nerrs)
{
    char *p = intake_problem(status, title, detail, errs, nerrs);
    if (status == 503)
        brr_http_add_header(req, "retry-after", "1");
    brr_http_send(req, status, PROBLEM, p, strlen(p));
    free(p);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Takes a token from org's bucket; answers 429 with Retry-After and
 * returns 0 when there is none. */
static int within_rate(h2o_req_t *req, const char *org)
{
    uint64_t now = uv_now(rep.svc->loop), wait_ms;
    org_bucket_t *b = NULL;
    char secs[24];
    for (size_t i = 0; i < rep.nbuckets && b == NULL; i++)
        if (strcmp(rep.buckets[i].org, org) == 0)
            b = &rep.buckets[i];
    if (b == NULL) {
        if (rep.nbuckets == rep.capbuckets) {
            rep.capbuckets = rep.capbuckets ? 2 * rep.capbuckets : 16;
            rep.buckets =
                realloc(rep.buckets, rep.capbuckets * sizeof(*rep.buckets));
            if (rep.buckets == NULL)
                abort();
        }
        b = &rep.buckets[rep.nbuckets++];
        snprintf(b->org, sizeof(b->org), "%s", org);
        intake_bucket_init(&b->bucket, rep.rate, rep.burst, now);
    }
    if ((wait_ms = intake_bucket_take(&b->bucket, now)) == 0)
        return 1;
    snprintf(secs, sizeof(secs), "%llu",
             (unsigned long long)((wait_ms + 999) / 1000));
    brr_http_add_header(req, "retry-after", secs);
    send_problem(req, 429, "too many requests",
                 "this organisation's report rate is above its limit; retry "
                 "after the number of seconds in Retry-After",
                 NULL, 0);
    brr_counter_inc(rep.limited);
    return 0;
}

/* Is the certificate's CN an organisation in the registry today? */
static int organisation_known(brr_pg_t *pg, const char *org, int *known)
{
    PGresult *res;
    const char *p[1] = {org};
    int rc = brr_pg_query(pg,
                          "SELECT 1 FROM connector.organisations WHERE code "
                          "= $1 AND (left_on IS NULL OR left_on > "
                          "current_date)",
                          1, p, &res);
    if (rc != 0)
        return rc;
    *known = PQntuples(res) == 1;
    PQclear(res);
    return 0;
}

/* Answers an (organisation, report id) seen before: the first answer, or
 * 422 when the body differs. */
static int replay(h2o_req_t *req, brr_pg_t *pg, const char *channel,
                  const char *key, const char *hash)
{
    PGresult *res;
    const char *p[3] = {channel, key, hash};
    int rc = brr_pg_query(pg,
                          "SELECT response::text, request_hash = decode($3, "
                          "'hex') FROM intake.idempotency_keys WHERE channel "
                          "= $1 AND key = $2",
                          3, p, &res);
    if (rc != 0)
        return rc;
    if (PQntuples(res) == 1 && PQgetvalue(res, 0, 1)[0] == 't') {
        const char *body = PQgetvalue(res, 0, 0);
        brr_counter_inc(rep.replayed);
        brr_http_send(req, 202, "application/json", body, strlen(body));
    } else {
        send_problem(req, 422, "report id reused",
                     "this report_id was sent before with a different body",
                     NULL, 0);
    }
    PQclear(res);
    return 0;
}

static int commit_report(h2o_req_t *req, const char *org,
                         const intake_report_t *r, const char *hash)
{
    brr_pg_t *pg = rep.svc->pg;
    brr_pg_pipe_t *pp;
    PGresult *res;
    char channel[96], resp[512], citizen[40], tp[64] = "";
    const char *p[1] = {r->arrangement_id}, *tpv;
    size_t tplen;
    int rc, fresh;
    Brr__V1__OrganisationReport m = BRR__V1__ORGANISATION_REPORT__INIT;

    snprintf(channel, sizeof(channel), "report:%s", org);
    if ((rc = brr_pg_ensure(pg)) != 0 || (rc = brr_pg_begin(pg)) != 0)
        return rc;
    rc = brr_pg_query(pg,
                      "SELECT citizen_ref::text FROM intake.arrangements_view "
                      "WHERE arrangement_id = $1::uuid",
                      1, p, &res);
    if (rc != 0)
        goto fail;
    if (PQntuples(res) == 0) {
        PQclear(res);
        brr_pg_rollback(pg);
        send_problem(req, 404, "not found", "no such arrangement", NULL, 0);
        return 0;
    }
    snprintf(citizen, sizeof(citizen), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    {
        json_t *o = json_pack("{s:s, s:s}", "report_id", r->report_id, "status",
                              "ACCEPTED");
        char *t = json_dumps(o, JSON_COMPACT);
        snprintf(resp, sizeof(resp), "%s", t);
        free(t);
        json_decref(o);
    }
    {
        const char *ip[4] = {channel, r->report_id, hash, resp};
        rc = brr_pg_query(pg,
                          "INSERT INTO intake.idempotency_keys (channel, key, "
                          "request_hash, status, response) VALUES ($1, $2, "
                          "decode($3, 'hex'), 202, $4::jsonb) ON CONFLICT DO "
                          "NOTHING RETURNING 1",
                          4, ip, &res);
    }
    if (rc != 0)
        goto fail;
    fresh = PQntuples(res) == 1;
    PQclear(res);
    if (!fresh) {
        brr_pg_rollback(pg);
        return replay(req, pg, channel, r->report_id, hash);
    }
    if (brr_http_header(req, "traceparent", &tpv, &tplen) == 0 &&
        tplen < sizeof(tp)) {
        memcpy(tp, tpv, tplen);
        tp[tplen] = '\0';
    }
    m.report_id = (char *)r->report_id;
    m.organisation = (char *)org;
    m.arrangement_id = (char *)r->arrangement_id;
    m.citizen_ref = citizen;
    m.kind = (Brr__V1__ReportKind)r->kind;
    m.reference = (char *)r->reference;
    m.amount_cents = r->amount_cents;
    m.open_cents = r->open_cents;
    m.due_date = (char *)r->due_date;
    m.received_on = (char *)r->received_on;
    m.reason = (char *)r->reason;
    m.received_at_ms = brr_now_ms();
    brr_outbox_add(rep.svc->ob, TOPIC_REPORTS, citizen, "arrangement",
                   r->arrangement_id, "report.received", &m.base,
                   tp[0] ? tp : NULL, NULL);
    pp = brr_pg_pipe_new();
    brr_outbox_queue(rep.svc->ob, pp);
    brr_pg_pipe_add(pp, "COMMIT", 0, NULL, NULL, NULL);
    rc = brr_pg_pipe_run(pg, pp);
    brr_pg_pipe_free(pp);
    if (rc != 0)
        goto fail;
    brr_relay_kick(rep.svc->relay);
    brr_counter_inc(rep.accepted);
    brr_http_send(req, 202, "application/json", resp, strlen(resp));
    return 0;
fail:
    brr_outbox_clear(rep.svc->ob);
    brr_pg_rollback(pg);
    return rc;
}

static int post_report(h2o_req_t *req, void *data)
{
    char org[64], hash[65];
    const char *body;
    size_t len;
    intake_report_t *r;
    int known = 0, rc;
    (void)data;

    rc = intake_peer_cn(req, rep.roles, INTAKE_ROLE_ORGANISATION, org,
                        sizeof(org));
    if (rc != 0 || !brr_org_code_valid(org, strlen(org))) {
        brr_counter_inc(rep.forbidden);
        send_problem(req, 403, "not an organisation",
                     rc == BRR_EREFUSED
                         ? INTAKE_PEER_NOT_ORGANISATION
                         : "the client certificate names no organisation",
                     NULL, 0);
        return 0;
    }
    if (!within_rate(req, org))
        return 0;
    if (brr_http_body(req, REPORT_MAX_BODY, &body, &len) != 0) {
        send_problem(req, 413, "body too large", "a report is small", NULL, 0);
        return 0;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        abort();
    if (intake_report_parse(body, len, r) != 0) {
        brr_counter_inc(rep.invalid);
        send_problem(req, 400, "invalid report",
                     "one or more fields are invalid", r->errors, r->nerrors);
        free(r);
        return 0;
    }
    sha256_hex(body, len, hash);
    rc = brr_pg_ensure(rep.svc->pg);
    if (rc == 0)
        rc = organisation_known(rep.svc->pg, org, &known);
    if (rc == 0 && !known) {
        brr_counter_inc(rep.forbidden);
        send_problem(req, 403, "not an organisation",
                     "the client certificate names no participating "
                     "organisation",
                     NULL, 0);
        free(r);
        return 0;
    }
    if (rc == 0)
        rc = commit_report(req, org, r, hash);
    if (rc != 0) {
        brr_log_warn("report not committed, answered 503", "err",
                     brr_err_name(rc), NULL);
        send_problem(req, 503, "temporarily unavailable",
                     "the report was not stored; send it again", NULL, 0);
    }
    free(r);
    return 0;
}

int intake_reports_start(brr_service_t *svc, brr_http_server_t *srv,
                         const intake_roles_t *roles, double rate, double burst)
{
    rep.svc = svc;
    rep.roles = roles;
    rep.rate = rate;
    rep.burst = burst;
    rep.accepted = brr_metrics_counter("brr_intake_reports_accepted_total",
                                       "organisation reports committed", NULL);
    rep.invalid = brr_metrics_counter("brr_intake_reports_invalid_total",
                                      "organisation reports refused as "
                                      "invalid",
                                      NULL);
    rep.replayed = brr_metrics_counter(
        "brr_intake_reports_replayed_total",
        "organisation reports answered from an earlier report id", NULL);
    rep.forbidden = brr_metrics_counter(
        "brr_intake_reports_forbidden_total",
        "reports from a certificate naming no organisation", NULL);
    rep.limited =
        brr_metrics_counter("brr_intake_reports_rate_limited_total",
                            "organisation reports answered 429", NULL);
    brr_http_server_route(srv, "POST", "/v1/reports", post_report, NULL);
    return 0;
}
