/*
 * loadgen.c: brr-loadgen, the load and sample generator for brr-intake's
 * POST /v1/applications.
 *
 * Generates N applications deterministically from a seed: valid BSNs
 * (elfproef), 1 to 4 claims over the registered organisations with unique
 * references and realistic amounts, both intake channels, and a fraction of
 * invalid ones whose reason (and so the expected answer) is known.  Submits
 * them over mutual TLS with C transfers in flight on libcurl's multi
 * interface (HTTP/2 multiplexed, or keep-alive HTTP/1.1), retries a 503 or
 * a broken transfer with the same Idempotency-Key, and writes one JSON line
 * per application for scripts/demo, scripts/bench and the e2e test to
 * compare with what the organisations received.
 *
 * An answer that contradicts the expectation (202 for an invalid one, 4xx
 * for a valid one, a 400 that does not name the broken field) is a failure:
 * the exit status is then 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "validate.h"

#define LG_MAX_CLAIMS 5
#define LG_MAX_CHANNELS 4
#define LG_MAX_ATTEMPTS 20
#define LG_RESP_MAX 8192
#define LG_OVERSIZE_PAD (70 * 1024) /* above intake's 64 KiB limit */
/* Per claim, in cents: EUR 25 to EUR 4,800, so even four claims stay
 * within the standard arrangement's EUR 20,000 (DOMAIN §2) and every amount
 * has fewer than 9 digits (never mistaken for a BSN downstream). */
#define LG_MIN_CENTS 2500
#define LG_MAX_CENTS 480000
#define LG_ABSURD_CENTS INT64_C(1000000000) /* intake's maximum */

static const char *const lg_orgs[] = {
    "CJIB", "DUO", "CAK", "BELASTINGDIENST", "TOESLAGEN", "UWV", "SVB", "RVO"};
#define LG_NORGS (sizeof(lg_orgs) / sizeof(lg_orgs[0]))

typedef enum {
    LG_VALID = 0,
    LG_BAD_BSN,
    LG_UNKNOWN_ORG,
    LG_NEGATIVE,
    LG_ABSURD,
    LG_MISSING,
    LG_UNKNOWN_FIELD,
    LG_OVERSIZED,
    LG_NKINDS
} lg_kind_t;

static const char *const lg_kind_names[LG_NKINDS] = {
    "valid",         "bad_bsn",       "unknown_organisation", "negative_amount",
    "absurd_amount", "missing_field", "unknown_field",        "oversized_body"};

typedef struct {
    char org[17];
    char ref[96];
    int64_t cents;
    int drop_ref, drop_cents; /* missing_field variants */
    int extra_field;          /* unknown_field variant */
} lg_claim_t;

typedef struct {
    /* generated */
    lg_kind_t kind;
    int channel;
    char bsn[10];
    char key[64];
    lg_claim_t claims[LG_MAX_CLAIMS];
    int nclaims;
    int due_day;      /* 0: absent */
    int with_channel; /* the body names its channel */
    int drop_bsn, drop_kind, drop_consent, extra_top;
    int expect_status;
    char expect_field[64];
    /* outcome */
    int status;
    int curl_error;
    char app_id[64];
    json_t *got_fields;
    int attempts;
    int64_t submit_ms, answer_ms; /* wall clock, for the database */
    int64_t t0_us, t1_us;         /* monotonic, for latency */
    int ok;
    char note[160];
} lg_app_t;

/* One transfer in flight. */
typedef struct {
    size_t idx;
    char *body;
    size_t body_len;
    struct curl_slist *headers;
    char resp[LG_RESP_MAX];
    size_t resp_len;
    long retry_after_s; /* -1: none */
} lg_xfer_t;

typedef struct {
    size_t idx;
    int64_t due_us;
} lg_retry_t;

static struct {
    size_t n;
    int concurrency;
    uint64_t seed;
    double invalid_fraction;
    const char *url;
    const char *ca;
    const char *certs[LG_MAX_CHANNELS], *keys[LG_MAX_CHANNELS];
    char channel_names[LG_MAX_CHANNELS][32];
    int ncerts, nkeys;
    const char *out, *bsn_out;
    int http1;
    int connections; /* HTTP/2: spread the transfers over this many */
    int verbose;
} lg_opt;

static lg_app_t *lg_apps;
static lg_retry_t *lg_retries;
static size_t lg_nretries;
/* Finished easy handles, kept for the next transfers: a handle carries
 * its setup (and libcurl's buffers) from one request to the next instead
 * of being built and torn down per request. */
static CURL **lg_pool;
static size_t lg_npool;
/* Per channel: transfers in flight, and whether one has finished.  Until
 * one has, a channel has one transfer in flight, so its connection is set
 * up once and the others multiplex on it instead of each opening (and
 * loading the key for) a connection of its own. */
static int lg_chan_inflight[LG_MAX_CHANNELS];
static int lg_chan_up[LG_MAX_CHANNELS];

static uint64_t lg_splitmix(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t lg_below(uint64_t *s, uint64_t n)
{
    return lg_splitmix(s) % n;
}

static double lg_unit(uint64_t *s)
{
    return (double)(lg_splitmix(s) >> 11) / 9007199254740992.0;
}

static int64_t lg_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t lg_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The check digit that makes prefix (8 digits) pass the elfproef, or -1
 * when no digit does (the weighted sum is 10 mod 11). */
static int lg_check_digit(uint32_t prefix)
{
    int sum = 0;
    for (int w = 2; w <= 9; w++) {
        sum += w * (int)(prefix % 10);
        prefix /= 10;
    }
    return sum % 11 == 10 ? -1 : sum % 11;
}

/* Consecutive valid BSNs from a seed-chosen start: unique within a run, so
 * every application is a different citizen (one live arrangement each). */
static void lg_gen_bsns(void)
{
    uint64_t s = lg_opt.seed ^ UINT64_C(0x42534e42534e);
    uint32_t prefix = 10000000 + (uint32_t)lg_below(&s, 90000000);
    for (size_t i = 0; i < lg_opt.n; i++) {
        int d;
        while ((d = lg_check_digit(prefix)) < 0)
            prefix = prefix >= 99999999 ? 10000000 : prefix + 1;
        for (int k = 7, p = (int)prefix; k >= 0; k--, p /= 10)
            lg_apps[i].bsn[k] = (char)('0' + p % 10);
        lg_apps[i].bsn[8] = (char)('0' + d);
        lg_apps[i].bsn[9] = '\0';
        if (!brr_bsn_valid(lg_apps[i].bsn, 9, NULL)) {
            fprintf(stderr, "brr-loadgen: generated an invalid BSN\n");
            exit(2);
        }
        prefix = prefix >= 99999999 ? 10000000 : prefix + 1;
    }
}

static int64_t lg_amount(uint64_t *s)
{
    double lo = log(LG_MIN_CENTS), hi = log(LG_MAX_CENTS);
    int64_t c = (int64_t)exp(lo + lg_unit(s) * (hi - lo));
    if (lg_below(s, 3) == 0)
        c -= c % 100; /* whole euros, as many claims are */
    return c < LG_MIN_CENTS ? LG_MIN_CENTS : c;
}

/* Makes application i invalid in the way its kind says, recording the
 * answer and the field intake must name. */
static void lg_spoil(lg_app_t *a, uint64_t *s)
{
    int j = (int)lg_below(s, (uint64_t)a->nclaims);
    lg_claim_t *c = &a->claims[j];
    a->expect_status = 400;
    switch (a->kind) {
    case LG_BAD_BSN:
        a->bsn[8] = (char)('0' + (a->bsn[8] - '0' + 1) % 10);
        snprintf(a->expect_field, sizeof(a->expect_field), "bsn");
        break;
    case LG_UNKNOWN_ORG: {
        static const char *const unknown[] = {"GEMEENTE-UTRECHT", "ABN-AMRO",
                                              "KVK", "RDW-X"};
        snprintf(c->org, sizeof(c->org), "%s",
                 unknown[lg_below(s, sizeof(unknown) / sizeof(*unknown))]);
        snprintf(a->expect_field, sizeof(a->expect_field),
                 "claims[%d].organisation", j);
        break;
    }
    case LG_NEGATIVE:
        c->cents = -c->cents;
        snprintf(a->expect_field, sizeof(a->expect_field),
                 "claims[%d].open_cents", j);
        break;
    case LG_ABSURD:
        c->cents = LG_ABSURD_CENTS + 1 + (int64_t)lg_below(s, 90000000000);
        snprintf(a->expect_field, sizeof(a->expect_field),
                 "claims[%d].open_cents", j);
        break;
    case LG_MISSING:
        switch (lg_below(s, 5)) {
        case 4:
            a->drop_consent = 1; /* consent is never assumed */
            snprintf(a->expect_field, sizeof(a->expect_field), "consent");
            break;
        case 0:
            a->drop_bsn = 1;
            snprintf(a->expect_field, sizeof(a->expect_field), "bsn");
            break;
        case 1:
            a->drop_kind = 1;
            snprintf(a->expect_field, sizeof(a->expect_field), "kind");
            break;
        case 2:
            c->drop_ref = 1;
            snprintf(a->expect_field, sizeof(a->expect_field),
                     "claims[%d].reference", j);
            break;
        default:
            c->drop_cents = 1;
            snprintf(a->expect_field, sizeof(a->expect_field),
                     "claims[%d].open_cents", j);
        }
        break;
    case LG_UNKNOWN_FIELD:
        if (lg_below(s, 2) == 0) {
            a->extra_top = 1;
            snprintf(a->expect_field, sizeof(a->expect_field), "iban");
        } else {
            c->extra_field = 1;
            snprintf(a->expect_field, sizeof(a->expect_field),
                     "claims[%d].interest_cents", j);
        }
        break;
    case LG_OVERSIZED:
        a->expect_status = 413;
        break;
    default:
        break;
    }
}

static void lg_generate(void)
{
    unsigned tag = (unsigned)(lg_opt.seed & 0xffffff);
    lg_gen_bsns();
    for (size_t i = 0; i < lg_opt.n; i++) {
        lg_app_t *a = &lg_apps[i];
        uint64_t s = lg_opt.seed * UINT64_C(0x100000001b3) + i;
        size_t order[LG_NORGS];
        lg_splitmix(&s);
        a->channel = (int)lg_below(&s, (uint64_t)lg_opt.ncerts);
        a->kind = lg_unit(&s) < lg_opt.invalid_fraction
                      ? (lg_kind_t)(1 + lg_below(&s, LG_NKINDS - 1))
                      : LG_VALID;
        snprintf(a->key, sizeof(a->key), "lg-%016" PRIx64 "-%07zu", lg_opt.seed,
                 i);
        for (size_t k = 0; k < LG_NORGS; k++)
            order[k] = k;
        a->nclaims = 1 + (int)lg_below(&s, 4);
        for (int k = 0; k < a->nclaims; k++) {
            size_t r = (size_t)k + lg_below(&s, LG_NORGS - (size_t)k);
            size_t t = order[k];
            order[k] = order[r];
            order[r] = t;
        }
        for (int k = 0; k < a->nclaims; k++) {
            lg_claim_t *c = &a->claims[k];
            snprintf(c->org, sizeof(c->org), "%s", lg_orgs[order[k]]);
            c->cents = lg_amount(&s);
        }
        /* Now and then a second claim at the same organisation: still one
         * event for that organisation, carrying both claims. */
        if (a->nclaims < 4 && lg_below(&s, 10) == 0) {
            lg_claim_t *c = &a->claims[a->nclaims++];
            snprintf(c->org, sizeof(c->org), "%s", a->claims[0].org);
            c->cents = lg_amount(&s);
        }
        for (int k = 0; k < a->nclaims; k++) {
            char org[sizeof(a->claims[k].org)];
            memcpy(org, a->claims[k].org, sizeof(org));
            snprintf(a->claims[k].ref, sizeof(a->claims[k].ref),
                     "%s-%06x-%07zu-%d", org, tag, i, k + 1);
        }
        a->due_day = lg_below(&s, 2) ? 1 + (int)lg_below(&s, 28) : 0;
        a->with_channel = lg_below(&s, 3) == 0;
        a->expect_status = 202;
        if (a->kind != LG_VALID)
            lg_spoil(a, &s);
    }
}

/* The request body of application a (malloc'd, *len set). */
static char *lg_body(const lg_app_t *a, size_t *len)
{
    size_t cap = 2048 + (a->kind == LG_OVERSIZED ? LG_OVERSIZE_PAD : 0);
    char *b = malloc(cap);
    size_t n = 0;
    if (b == NULL)
        abort();
#define LG_PUT(...) (n += (size_t)snprintf(b + n, cap - n, __VA_ARGS__))
    LG_PUT("{");
    if (!a->drop_bsn)
        LG_PUT("\"bsn\":\"%s\",", a->bsn);
    if (a->with_channel)
        LG_PUT("\"channel\":\"%s\",", lg_opt.channel_names[a->channel]);
    if (!a->drop_kind)
        LG_PUT("\"kind\":\"standard\",");
    if (a->due_day)
        LG_PUT("\"due_day\":%d,", a->due_day);
    if (!a->drop_consent)
        LG_PUT("\"consent\":true,");
    if (a->extra_top)
        LG_PUT("\"iban\":\"NL91ABNA0417164300\",");
    LG_PUT("\"claims\":[");
    for (int k = 0; k < a->nclaims; k++) {
        const lg_claim_t *c = &a->claims[k];
        LG_PUT("%s{\"organisation\":\"%s\"", k ? "," : "", c->org);
        if (!c->drop_ref)
            LG_PUT(",\"reference\":\"%s\"", c->ref);
        if (!c->drop_cents)
            LG_PUT(",\"open_cents\":%" PRId64, c->cents);
        if (c->extra_field)
            LG_PUT(",\"interest_cents\":1250");
        LG_PUT("}");
    }
    LG_PUT("]");
#undef LG_PUT
    if (a->kind == LG_OVERSIZED) {
        /* Valid JSON, only too large: whitespace is allowed anywhere. */
        memset(b + n, ' ', LG_OVERSIZE_PAD);
        n += LG_OVERSIZE_PAD;
    }
    b[n++] = '}';
    b[n] = '\0';
    *len = n;
    return b;
}

static size_t lg_on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    lg_xfer_t *x = arg;
    size_t n = size * nmemb, room = sizeof(x->resp) - 1 - x->resp_len;
    memcpy(x->resp + x->resp_len, ptr, n < room ? n : room);
    x->resp_len += n < room ? n : room;
    x->resp[x->resp_len] = '\0';
    return n;
}

static size_t lg_on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
    lg_xfer_t *x = arg;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(ptr, "retry-after:", 12) == 0) {
        char buf[32];
        size_t m = n - 12 < sizeof(buf) - 1 ? n - 12 : sizeof(buf) - 1;
        memcpy(buf, ptr + 12, m);
        buf[m] = '\0';
        x->retry_after_s = strtol(buf, NULL, 10);
    }
    return n;
}

static void lg_start(CURLM *multi, size_t idx)
{
    lg_app_t *a = &lg_apps[idx];
    lg_xfer_t *x = calloc(1, sizeof(*x));
    CURL *e = lg_npool > 0 ? lg_pool[--lg_npool] : NULL;
    char hdr[128];
    long ver = lg_opt.http1 ? CURL_HTTP_VERSION_1_1 : CURL_HTTP_VERSION_2TLS;

    if (e == NULL) {
        e = curl_easy_init();
        if (e == NULL)
            abort();
        curl_easy_setopt(e, CURLOPT_URL, lg_opt.url);
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_CAINFO, lg_opt.ca);
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, lg_on_body);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, lg_on_header);
    }
    if (x == NULL)
        abort();
    x->idx = idx;
    x->retry_after_s = -1;
    x->body = lg_body(a, &x->body_len);
    snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", a->key);
    x->headers = curl_slist_append(NULL, hdr);
    x->headers =
        curl_slist_append(x->headers, "Content-Type: application/json");
    x->headers = curl_slist_append(x->headers, "Expect:");
    /* libh2o 2.2.5 refuses an oversized HTTP/2 stream (REFUSED_STREAM)
     * instead of answering 413; over HTTP/1.1 it answers 413. */
    if (a->kind == LG_OVERSIZED)
        ver = CURL_HTTP_VERSION_1_1;
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(e, CURLOPT_SSLCERT, lg_opt.certs[a->channel]);
    curl_easy_setopt(e, CURLOPT_SSLKEY, lg_opt.keys[a->channel]);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, ver);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    if (a->attempts++ == 0) {
        a->submit_ms = lg_wall_ms();
        a->t0_us = lg_mono_us();
    }
    lg_chan_inflight[a->channel]++;
    curl_multi_add_handle(multi, e);
}

/* May a transfer of channel ch start now? */
static int lg_may_start(int ch)
{
    return lg_chan_up[ch] || lg_chan_inflight[ch] == 0;
}

static void lg_xfer_free(lg_xfer_t *x)
{
    curl_slist_free_all(x->headers);
    free(x->body);
    free(x);
}

static void lg_schedule_retry(size_t idx, int64_t delay_us)
{
    lg_retries[lg_nretries].idx = idx;
    lg_retries[lg_nretries].due_us = lg_mono_us() + delay_us;
    lg_nretries++;
}

/* Compares the final answer with the expectation; 1 when it matches. */
static int lg_judge(lg_app_t *a, const lg_xfer_t *x)
{
    json_t *root = json_loadb(x->resp, x->resp_len, 0, NULL);
    json_t *errs, *v;
    size_t i;

    a->got_fields = json_array();
    if (root != NULL && a->status == 202) {
        const char *id =
            json_string_value(json_object_get(root, "application_id"));
        snprintf(a->app_id, sizeof(a->app_id), "%s", id ? id : "");
    }
    errs = root ? json_object_get(root, "errors") : NULL;
    json_array_foreach(errs, i, v)
    {
        json_t *f = json_object_get(v, "field");
        if (json_is_string(f))
            json_array_append(a->got_fields, f);
    }
    json_decref(root);

    if (a->status != a->expect_status) {
        snprintf(a->note, sizeof(a->note), "expected HTTP %d, got %d",
                 a->expect_status, a->status);
        return 0;
    }
    if (a->status == 202 && a->app_id[0] == '\0') {
        snprintf(a->note, sizeof(a->note), "202 without an application_id");
        return 0;
    }
    if (a->status == 400) {
        json_array_foreach(a->got_fields, i, v)
        {
            if (strcmp(json_string_value(v), a->expect_field) == 0)
                return 1;
        }
        snprintf(a->note, sizeof(a->note), "400 does not name field %s",
                 a->expect_field);
        return 0;
    }
    return 1;
}

/* Transfer errors worth another attempt with the same key: the service
 * restarting or the connection breaking, not a bad certificate or URL. */
static int lg_retryable(CURLcode res)
{
    switch (res) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

/* Handles one finished transfer: a retry, or the final answer.  Returns
 * 1 when application idx is finished. */
static int lg_finish(CURLM *multi, CURL *e, CURLcode res)
{
    lg_xfer_t *x;
    lg_app_t *a;
    long status = 0;
    char *priv = NULL;

    curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
    x = (lg_xfer_t *)(void *)priv;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(multi, e);
    lg_pool[lg_npool++] = e; /* for the next transfer */
    a = &lg_apps[x->idx];
    lg_chan_inflight[a->channel]--;
    if (res == CURLE_OK)
        lg_chan_up[a->channel] = 1;

    if (((res != CURLE_OK && lg_retryable(res)) ||
         (res == CURLE_OK && status == 503)) &&
        a->attempts < LG_MAX_ATTEMPTS) {
        int64_t delay = (int64_t)100000 << (a->attempts < 5 ? a->attempts : 5);
        if (res == CURLE_OK && x->retry_after_s >= 0)
            delay = (x->retry_after_s > 30 ? 30 : x->retry_after_s) * 1000000;
        if (lg_opt.verbose)
            fprintf(stderr, "brr-loadgen: %s: %s, retrying in %" PRId64 " ms\n",
                    a->key,
                    res != CURLE_OK ? curl_easy_strerror(res) : "HTTP 503",
                    delay / 1000);
        lg_schedule_retry(x->idx, delay);
        lg_xfer_free(x);
        return 0;
    }
    a->t1_us = lg_mono_us();
    a->answer_ms = lg_wall_ms();
    a->status = res == CURLE_OK ? (int)status : 0;
    if (res != CURLE_OK) {
        a->curl_error = (int)res;
        a->got_fields = json_array();
        snprintf(a->note, sizeof(a->note), "transfer failed: %s",
                 curl_easy_strerror(res));
        a->ok = 0;
    } else {
        a->ok = lg_judge(a, x);
    }
    if (!a->ok)
        fprintf(stderr, "brr-loadgen: %s (%s): %s\n", a->key,
                lg_kind_names[a->kind], a->note);
    lg_xfer_free(x);
    return 1;
}

static void lg_run(double *elapsed_s)
{
    CURLM *multi = curl_multi_init();
    size_t next = 0, done = 0, inflight = 0;
    int64_t start = lg_mono_us(), last_report = start;

    curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    if (lg_opt.connections > 0) {
        /* at most this many streams per connection, so the transfers in
         * flight need that many connections */
        long per =
            (lg_opt.concurrency + lg_opt.connections - 1) / lg_opt.connections;
        curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, per);
    }
    while (done < lg_opt.n) {
        CURLMsg *msg;
        int running, left, timeout_ms = 100;
        int64_t now = lg_mono_us();

        for (size_t r = 0;
             r < lg_nretries && inflight < (size_t)lg_opt.concurrency;) {
            if (lg_retries[r].due_us <= now &&
                lg_may_start(lg_apps[lg_retries[r].idx].channel)) {
                lg_start(multi, lg_retries[r].idx);
                inflight++;
                lg_retries[r] = lg_retries[--lg_nretries];
            } else {
                int64_t wait = (lg_retries[r].due_us - now) / 1000 + 1;
                if (wait < timeout_ms)
                    timeout_ms = (int)wait;
                r++;
            }
        }
        while (inflight < (size_t)lg_opt.concurrency && next < lg_opt.n &&
               lg_may_start(lg_apps[next].channel)) {
            lg_start(multi, next++);
            inflight++;
        }
        curl_multi_perform(multi, &running);
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            inflight--;
            done +=
                (size_t)lg_finish(multi, msg->easy_handle, msg->data.result);
        }
        if (lg_opt.verbose && now - last_report > 2000000) {
            fprintf(stderr, "brr-loadgen: %zu of %zu answered\n", done,
                    lg_opt.n);
            last_report = now;
        }
        if (done < lg_opt.n)
            curl_multi_poll(multi, NULL, 0, timeout_ms, NULL);
    }
    *elapsed_s = (double)(lg_mono_us() - start) / 1e6;
    while (lg_npool > 0)
        curl_easy_cleanup(lg_pool[--lg_npool]);
    curl_multi_cleanup(multi);
}

static void lg_write_out(FILE *f)
{
    for (size_t i = 0; i < lg_opt.n; i++) {
        lg_app_t *a = &lg_apps[i];
        json_t *orgs = json_array(), *claims = json_array();
        json_t *o;
        for (int k = 0; k < a->nclaims; k++) {
            const lg_claim_t *c = &a->claims[k];
            int seen = 0;
            for (int m = 0; m < k; m++)
                seen |= strcmp(a->claims[m].org, c->org) == 0;
            if (!seen)
                json_array_append_new(orgs, json_string(c->org));
            json_array_append_new(
                claims, json_pack("{s:s, s:s, s:I}", "organisation", c->org,
                                  "reference", c->ref, "open_cents",
                                  (json_int_t)c->cents));
        }
        o = json_pack("{s:I, s:s, s:s, s:b, s:s, s:i, s:s, s:i, s:s?, s:o,"
                      " s:o, s:I, s:I, s:I, s:i, s:O, s:b, s:s?}",
                      "i", (json_int_t)i, "key", a->key, "channel",
                      lg_opt.channel_names[a->channel], "valid",
                      a->kind == LG_VALID, "reason", lg_kind_names[a->kind],
                      "expect_status", a->expect_status, "expect_field",
                      a->expect_field, "status", a->status, "application_id",
                      a->app_id[0] ? a->app_id : NULL, "organisations", orgs,
                      "claims", claims, "submit_ms", (json_int_t)a->submit_ms,
                      "answer_ms", (json_int_t)a->answer_ms, "latency_us",
                      (json_int_t)(a->t1_us - a->t0_us), "attempts",
                      a->attempts, "errors", a->got_fields, "ok", a->ok, "note",
                      a->note[0] ? a->note : NULL);
        if (o == NULL) {
            fprintf(stderr, "brr-loadgen: could not encode record %zu\n", i);
            exit(2);
        }
        json_dumpf(o, f, JSON_COMPACT);
        fputc('\n', f);
        json_decref(o);
    }
}

static int lg_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Prints the summary; returns the number of unexpected answers. */
static size_t lg_summary(double elapsed)
{
    size_t by_kind[LG_NKINDS] = {0}, accepted = 0, bad = 0, retried = 0;
    size_t r400 = 0, r413 = 0, other = 0, nlat = 0;
    double *lat = malloc(sizeof(double) * (lg_opt.n ? lg_opt.n : 1));
    int64_t first = INT64_MAX, last = 0;

    if (lat == NULL)
        abort();
    for (size_t i = 0; i < lg_opt.n; i++) {
        const lg_app_t *a = &lg_apps[i];
        by_kind[a->kind]++;
        bad += !a->ok;
        retried += a->attempts > 1;
        if (a->status == 202) {
            accepted++;
            if (a->answer_ms < first)
                first = a->answer_ms;
            if (a->answer_ms > last)
                last = a->answer_ms;
        } else if (a->status == 400) {
            r400++;
        } else if (a->status == 413) {
            r413++;
        } else {
            other++;
        }
        if (a->status != 0)
            lat[nlat++] = (double)(a->t1_us - a->t0_us) / 1000.0;
    }
    qsort(lat, nlat, sizeof(double), lg_cmp_double);
    printf("brr-loadgen: %zu applications (%zu meant invalid), seed 0x%" PRIx64
           ", concurrency %d, %s\n",
           lg_opt.n, lg_opt.n - by_kind[LG_VALID], lg_opt.seed,
           lg_opt.concurrency, lg_opt.http1 ? "HTTP/1.1" : "HTTP/2");
    printf("  accepted (202)          %8zu\n", accepted);
    printf("  rejected 400            %8zu\n", r400);
    printf("  rejected 413            %8zu\n", r413);
    printf("  other / no answer       %8zu\n", other);
    printf("  retried (503, transfer) %8zu\n", retried);
    printf("  unexpected answers      %8zu\n", bad);
    printf("  invalid by reason:");
    for (int k = 1; k < LG_NKINDS; k++)
        printf(" %s %zu", lg_kind_names[k], by_kind[k]);
    printf("\n");
    printf("  elapsed %.3f s: %.1f requests/s, %.1f accepted/s\n", elapsed,
           elapsed > 0 ? (double)lg_opt.n / elapsed : 0.0,
           elapsed > 0 ? (double)accepted / elapsed : 0.0);
    if (nlat > 0)
        printf("  HTTP latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
               lat[(nlat - 1) / 2], lat[(size_t)((double)(nlat - 1) * 0.99)],
               lat[nlat - 1]);
    free(lat);
    return bad;
}

static void lg_usage(FILE *out)
{
    fprintf(
        out,
        "usage: brr-loadgen [options]\n"
        "\n"
        "Generates sample applications from a seed and submits them to\n"
        "brr-intake over mutual TLS; writes one JSON line per application\n"
        "and prints a summary.  Exit 1 when an answer contradicts the\n"
        "expectation (202 for an invalid one, 4xx for a valid one).\n"
        "\n"
        "  -n N                    applications (default 100)\n"
        "  -c C                    transfers in flight (default 32)\n"
        "  --seed S                seed (default: from the clock; printed)\n"
        "  --invalid-fraction F    share of invalid ones, 0..1 (default 0.1)\n"
        "  --url URL               default https://$BRR_INTAKE_LISTEN"
        "/v1/applications\n"
        "                          (127.0.0.1:8443)\n"
        "  --cert FILE --key FILE  a channel's client certificate and key;\n"
        "                          repeat for more channels (default\n"
        "                          $BRR_PKI_DIR/channel-CJIB and\n"
        "                          channel-BELASTINGDIENST)\n"
        "  --ca FILE               CA bundle (default $BRR_PKI_DIR/ca.crt)\n"
        "  --out FILE              JSON lines, one per application\n"
        "  --bsn-out FILE          every well-formed BSN used, one a line\n"
        "                          (for leak checks; synthetic test data)\n"
        "  --http1.1               keep-alive HTTP/1.1 instead of HTTP/2\n"
        "  --connections K         HTTP/2: at most C/K streams per "
        "connection,\n"
        "                          so the C transfers use about K connections\n"
        "                          (default: as many streams as the server\n"
        "                          allows, about one connection per channel)\n"
        "  -v, --verbose           progress and retries on stderr\n"
        "  -h, --help              this text\n");
}

/* "dir/channel-CJIB.crt" names channel CJIB; anything else chN. */
static void lg_channel_name(int k, const char *cert)
{
    const char *b = strrchr(cert, '/'), *dot;
    b = b ? b + 1 : cert;
    if (strncmp(b, "channel-", 8) == 0 && (dot = strchr(b + 8, '.')) &&
        dot - (b + 8) < 31)
        snprintf(lg_opt.channel_names[k], sizeof(lg_opt.channel_names[k]),
                 "%.*s", (int)(dot - (b + 8)), b + 8);
    else
        snprintf(lg_opt.channel_names[k], sizeof(lg_opt.channel_names[k]),
                 "ch%d", k);
}

static void lg_readable(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "brr-loadgen: could not open \"%s\": %s\n", path,
                strerror(errno));
        exit(2);
    }
    fclose(f);
}

static void lg_options(int argc, char **argv)
{
    enum {
        O_SEED = 256,
        O_FRAC,
        O_URL,
        O_CERT,
        O_KEY,
        O_CA,
        O_OUT,
        O_BSN,
        O_HTTP1,
        O_CONNS
    };
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, O_SEED},
        {"invalid-fraction", required_argument, NULL, O_FRAC},
        {"url", required_argument, NULL, O_URL},
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"ca", required_argument, NULL, O_CA},
        {"out", required_argument, NULL, O_OUT},
        {"bsn-out", required_argument, NULL, O_BSN},
        {"http1.1", no_argument, NULL, O_HTTP1},
        {"connections", required_argument, NULL, O_CONNS},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static char url[256], ca[512], certs[2][512], keys[2][512];
    const char *pki = getenv("BRR_PKI_DIR"), *listen;
    char *end;
    int c, seeded = 0;

    lg_opt.n = 100;
    lg_opt.concurrency = 32;
    lg_opt.invalid_fraction = 0.1;
    while ((c = getopt_long(argc, argv, "n:c:vh", longopts, NULL)) != -1) {
        errno = 0;
        switch (c) {
        case 'n':
            lg_opt.n = strtoul(optarg, &end, 10);
            if (errno || *end || lg_opt.n == 0 || lg_opt.n > 10000000)
                goto bad;
            break;
        case 'c':
            lg_opt.concurrency = (int)strtol(optarg, &end, 10);
            if (errno || *end || lg_opt.concurrency < 1 ||
                lg_opt.concurrency > 4096)
                goto bad;
            break;
        case O_SEED:
            lg_opt.seed = strtoull(optarg, &end, 0);
            if (errno || *end)
                goto bad;
            seeded = 1;
            break;
        case O_FRAC:
            lg_opt.invalid_fraction = strtod(optarg, &end);
            if (errno || *end || !(lg_opt.invalid_fraction >= 0) ||
                lg_opt.invalid_fraction > 1)
                goto bad;
            break;
        case O_URL:
            lg_opt.url = optarg;
            break;
        case O_CERT:
            if (lg_opt.ncerts == LG_MAX_CHANNELS)
                goto bad;
            lg_opt.certs[lg_opt.ncerts++] = optarg;
            break;
        case O_KEY:
            if (lg_opt.nkeys == LG_MAX_CHANNELS)
                goto bad;
            lg_opt.keys[lg_opt.nkeys++] = optarg;
            break;
        case O_CA:
            lg_opt.ca = optarg;
            break;
        case O_OUT:
            lg_opt.out = optarg;
            break;
        case O_BSN:
            lg_opt.bsn_out = optarg;
            break;
        case O_HTTP1:
            lg_opt.http1 = 1;
            break;
        case O_CONNS:
            lg_opt.connections = (int)strtol(optarg, &end, 10);
            if (errno || *end || lg_opt.connections < 1 ||
                lg_opt.connections > 4096)
                goto bad;
            break;
        case 'v':
            lg_opt.verbose = 1;
            break;
        case 'h':
            lg_usage(stdout);
            exit(0);
        default:
            lg_usage(stderr);
            exit(2);
        }
    }
    if (optind != argc || lg_opt.ncerts != lg_opt.nkeys)
        goto usage;
    if (lg_opt.ncerts == 0 || lg_opt.ca == NULL) {
        if (pki == NULL) {
            fprintf(stderr, "brr-loadgen: set BRR_PKI_DIR or pass --cert, "
                            "--key and --ca\n");
            exit(2);
        }
        if (lg_opt.ca == NULL) {
            snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
            lg_opt.ca = ca;
        }
        if (lg_opt.ncerts == 0) {
            static const char *const ch[] = {"CJIB", "BELASTINGDIENST"};
            for (int k = 0; k < 2; k++) {
                snprintf(certs[k], sizeof(certs[k]), "%s/channel-%s.crt", pki,
                         ch[k]);
                snprintf(keys[k], sizeof(keys[k]), "%s/channel-%s.key", pki,
                         ch[k]);
                lg_opt.certs[k] = certs[k];
                lg_opt.keys[k] = keys[k];
            }
            lg_opt.ncerts = lg_opt.nkeys = 2;
        }
    }
    for (int k = 0; k < lg_opt.ncerts; k++) {
        lg_channel_name(k, lg_opt.certs[k]);
        lg_readable(lg_opt.certs[k]);
        lg_readable(lg_opt.keys[k]);
    }
    lg_readable(lg_opt.ca);
    if (lg_opt.url == NULL) {
        listen = getenv("BRR_INTAKE_LISTEN");
        snprintf(url, sizeof(url), "https://%s/v1/applications",
                 listen && *listen ? listen : "127.0.0.1:8443");
        lg_opt.url = url;
    }
    if (!seeded) {
        uint64_t s = (uint64_t)lg_wall_ms() ^ ((uint64_t)lg_mono_us() << 20);
        lg_opt.seed = lg_splitmix(&s) >> 16;
    }
    return;
bad:
    fprintf(stderr, "brr-loadgen: invalid value for -%c: '%s'\n",
            c < 256 ? c : '-', optarg);
    exit(2);
usage:
    lg_usage(stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    FILE *out = NULL;
    double elapsed;
    size_t bad;

    lg_options(argc, argv);
    if (lg_opt.out != NULL && (out = fopen(lg_opt.out, "w")) == NULL) {
        fprintf(stderr, "brr-loadgen: could not open \"%s\": %s\n", lg_opt.out,
                strerror(errno));
        return 2;
    }
    lg_apps = calloc(lg_opt.n, sizeof(*lg_apps));
    lg_retries = calloc(lg_opt.n, sizeof(*lg_retries));
    lg_pool = calloc((size_t)lg_opt.concurrency, sizeof(*lg_pool));
    if (lg_apps == NULL || lg_retries == NULL || lg_pool == NULL)
        abort();
    lg_generate();
    if (lg_opt.bsn_out != NULL) {
        FILE *f = fopen(lg_opt.bsn_out, "w");
        if (f == NULL) {
            fprintf(stderr, "brr-loadgen: could not open \"%s\": %s\n",
                    lg_opt.bsn_out, strerror(errno));
            return 2;
        }
        for (size_t i = 0; i < lg_opt.n; i++)
            if (lg_apps[i].kind != LG_BAD_BSN)
                fprintf(f, "%s\n", lg_apps[i].bsn);
        fclose(f);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lg_run(&elapsed);
    if (out != NULL) {
        lg_write_out(out);
        if (fclose(out) != 0) {
            fprintf(stderr, "brr-loadgen: could not write \"%s\": %s\n",
                    lg_opt.out, strerror(errno));
            return 2;
        }
    }
    bad = lg_summary(elapsed);
    for (size_t i = 0; i < lg_opt.n; i++)
        json_decref(lg_apps[i].got_fields);
    free(lg_apps);
    free(lg_retries);
    free(lg_pool);
    curl_global_cleanup();
    return bad ? 1 : 0;
}
