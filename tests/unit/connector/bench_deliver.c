/*
 * bench_deliver: deliveries per second of the connector's engine.
 *
 * Posts N signed CloudEvents over mutual TLS to a URL, keeping C requests in
 * flight on one libuv loop, and prints the rate and its own CPU time per
 * delivery.  Point it at the organisation simulator (scripts/bench-connector
 * does, with the stack's certificates):
 *
 *   bench_deliver --url https://127.0.0.1:9443/orgs/BENCH/events \
 *       --cert connector.crt --key connector.key --ca ca.crt \
 *       [--secret whsec_...] [-n 20000] [-c 64] [--conns 16]
 *
 * or, with --self, at an in-process threaded TLS server on throwaway
 * certificates (measures the client side plus that simple server).  Event
 * ids are UUIDv7 from the start time, and arrangements new per run, so a
 * second run is not a run of duplicates.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <jansson.h>
#include <uv.h>

#include "cloudevent.h"
#include "deliver.h"
#include "err.h"
#include "tls_fixture.h"
#include "webhook.h"

typedef struct {
    conn_deliver_t *d;
    conn_endpoint_t ep;
    conn_webhook_secret_t secret;
    long n, posted, done;
    long outcomes[5];
    long first_status_errors;
    char last_error[256];
    uint64_t lat_sum_us, lat_max_us;
    uint64_t t0, t1;
    uint64_t run_ms; /* the start, in the ids' time field */
} bench_t;

static void on_done(const conn_result_t *res, void *arg);

/* Event i as the connector will send it: a fresh id, a CloudEvent body. */
static int post_next(bench_t *b)
{
    char id[64], t[CONN_CE_TIME_LEN], subject[64];
    json_t *data;
    conn_cloudevent_t ce;
    conn_request_t req;
    char *body;
    size_t len;
    long i = b->posted;
    int rc;

    /* UUIDv7: 48 bits of milliseconds, then the counter */
    snprintf(id, sizeof(id), "%08" PRIx64 "-%04" PRIx64 "-7000-8000-%012lx",
             b->run_ms >> 16, b->run_ms & 0xffff, i);
    snprintf(subject, sizeof(subject),
             "%08" PRIx64 "-%04" PRIx64 "-7000-9000-%012lx", b->run_ms >> 16,
             b->run_ms & 0xffff, i % 1000);
    conn_cloudevent_time(
        (int64_t)(uv_now(uv_default_loop()) % 1000) + 1700000000000, t);
    data = json_pack("{s:s, s:I, s:[{s:s, s:I}]}", "status", "active",
                     "share_cents", (json_int_t)12345, "claims", "ref",
                     "CJIB-2024-000001", "open_cents", (json_int_t)50000);
    ce = (conn_cloudevent_t){.id = id,
                             .oin = "00000001003214345000",
                             .type = "nl.rijksoverheid.brr.arrangement.updated",
                             .subject = subject,
                             .time = t,
                             .sequence = (uint64_t)(i / 1000 + 1),
                             .data = data};
    rc = conn_cloudevent_encode(&ce, &body, &len);
    json_decref(data);
    if (rc < 0)
        return rc;
    req = (conn_request_t){.event_id = id,
                           .body = body,
                           .body_len = len,
                           .secrets = &b->secret,
                           .nsecrets = 1,
                           .traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-"
                                          "00f067aa0ba902b7-01"};
    rc = conn_deliver_post(b->d, &b->ep, &req, on_done, b);
    free(body);
    if (rc == 0)
        b->posted++;
    return rc;
}

static void on_done(const conn_result_t *res, void *arg)
{
    bench_t *b = arg;

    b->done++;
    b->outcomes[res->outcome]++;
    b->lat_sum_us += res->latency_us;
    if (res->latency_us > b->lat_max_us)
        b->lat_max_us = res->latency_us;
    if (res->outcome != CONN_DELIVERED && res->outcome != CONN_CANCELLED)
        snprintf(b->last_error, sizeof(b->last_error), "status %d: %s",
                 res->status, res->error);
    if (b->done == b->n) {
        b->t1 = uv_hrtime();
        conn_deliver_close(b->d, NULL, NULL);
        return;
    }
    if (res->outcome != CONN_CANCELLED && b->posted < b->n &&
        post_next(b) < 0) {
        fprintf(stderr, "bench_deliver: could not post\n");
        exit(1);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_deliver (--self | --url URL --cert PEM --key PEM "
            "--ca PEM)\n"
            "         [--secret S] [-n N] [-c INFLIGHT] [--conns PER_HOST]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"cert", required_argument, NULL, 'C'},
        {"key", required_argument, NULL, 'K'},
        {"ca", required_argument, NULL, 'A'},
        {"secret", required_argument, NULL, 's'},
        {"conns", required_argument, NULL, 'h'},
        {"self", no_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    bench_t b;
    conn_deliver_opts_t dopts = {.max_host_connections = 16,
                                 .max_connects = 64};
    const char *secret = "whsec_YnJyLWJlbmNoLXNlY3JldA==";
    long inflight = 64;
    int self = 0, opt;
    fx_pki_t pki;
    fx_server_t *srv = NULL;
    char self_url[64];
    double secs, cpu_us;
    struct rusage ru;

    memset(&b, 0, sizeof(b));
    b.n = 20000;
    b.ep.connect_timeout_ms = 10000;
    b.ep.timeout_ms = 30000;
    while ((opt = getopt_long(argc, argv, "n:c:", opts, NULL)) != -1) {
        switch (opt) {
        case 'u':
            b.ep.url = optarg;
            break;
        case 'C':
            b.ep.client_cert = optarg;
            break;
        case 'K':
            b.ep.client_key = optarg;
            break;
        case 'A':
            b.ep.ca_bundle = optarg;
            break;
        case 's':
            secret = optarg;
            break;
        case 'h':
            dopts.max_host_connections = atol(optarg);
            break;
        case 'S':
            self = 1;
            break;
        case 'n':
            b.n = atol(optarg);
            break;
        case 'c':
            inflight = atol(optarg);
            break;
        default:
            usage();
        }
    }
    if (b.n <= 0 || inflight <= 0 || (!self && b.ep.url == NULL))
        usage();
    if (conn_webhook_secret_parse(&b.secret, secret) < 0) {
        fprintf(stderr, "bench_deliver: invalid --secret\n");
        return 2;
    }
    if (self) {
        if (fx_pki_create(&pki) < 0 ||
            (srv = fx_server_start(&pki, 1)) == NULL) {
            fprintf(stderr, "bench_deliver: could not start the server\n");
            return 1;
        }
        snprintf(self_url, sizeof(self_url), "https://127.0.0.1:%d/events",
                 fx_server_port(srv));
        b.ep.url = self_url;
        b.ep.client_cert = pki.client_cert;
        b.ep.client_key = pki.client_key;
        b.ep.ca_bundle = pki.ca;
    }
    if (conn_deliver_init(uv_default_loop(), &dopts, &b.d) < 0) {
        fprintf(stderr, "bench_deliver: could not start the engine\n");
        return 1;
    }
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        b.run_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    }
    b.t0 = uv_hrtime();
    for (long i = 0; i < inflight && i < b.n; i++)
        if (post_next(&b) < 0) {
            fprintf(stderr, "bench_deliver: could not post (check --url)\n");
            return 1;
        }
    uv_run(uv_default_loop(), UV_RUN_DEFAULT);
    uv_loop_close(uv_default_loop());
    secs = (double)(b.t1 - b.t0) / 1e9;
    getrusage(RUSAGE_SELF, &ru);
    cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
             (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    printf("deliveries=%ld delivered=%ld retry_after=%ld gone=%ld retry=%ld "
           "inflight=%ld conns_per_host=%ld seconds=%.3f "
           "deliveries_per_second=%.0f mean_latency_ms=%.2f "
           "max_latency_ms=%.2f cpu_us_per_delivery=%.0f\n",
           b.done, b.outcomes[CONN_DELIVERED], b.outcomes[CONN_RETRY_AFTER],
           b.outcomes[CONN_GONE], b.outcomes[CONN_RETRY], inflight,
           dopts.max_host_connections, secs, (double)b.done / secs,
           (double)b.lat_sum_us / (double)b.done / 1000.0,
           (double)b.lat_max_us / 1000.0, cpu_us / (double)b.done);
    if (b.last_error[0])
        printf("last error: %s\n", b.last_error);
    if (srv) {
        fx_server_stop(srv);
        fx_pki_remove(&pki);
    }
    return b.outcomes[CONN_DELIVERED] == b.n ? 0 : 1;
}
