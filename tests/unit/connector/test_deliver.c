/* Tests for services/connector/deliver.c against a real local HTTPS server
 * with mutual TLS (tls_fixture.c): classification of every answer, the
 * headers and signature an organisation receives, keep-alive, the
 * per-host connection bound, client-certificate refusal, and cancellation
 * with every uv handle closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "deliver.h"
#include "err.h"
#include "tls_fixture.h"
#include "webhook.h"

#define EID "01890a5d-ac96-774b-bcce-b302099a8057"
#define TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define BODY "{\"id\":\"" EID "\",\"specversion\":\"1.0\"}"
#define TS 1700000000

static fx_pki_t pki;
static fx_server_t *srv;
static char url[64];
static conn_webhook_secret_t secret;

typedef struct {
    int n;
    conn_result_t last;
    char error[CURL_ERROR_SIZE];
    int outcomes[5];
    /* chain test: posts left to make from the callback */
    int chain_left;
    conn_deliver_t *d;
    /* close-from-callback test */
    int close_on_first;
} done_t;

typedef struct {
    uv_loop_t loop;
    conn_deliver_t *d;
    int closed;
} eng_t;

static conn_endpoint_t endpoint(void)
{
    conn_endpoint_t ep = {
        .url = url,
        .client_cert = pki.client_cert,
        .client_key = pki.client_key,
        .ca_bundle = pki.ca,
        .bearer_token = "test-token",
        .connect_timeout_ms = 10000,
        .timeout_ms = 20000,
    };
    return ep;
}

static conn_request_t request(void)
{
    conn_request_t req = {
        .event_id = EID,
        .timestamp = TS,
        .body = BODY,
        .body_len = strlen(BODY),
        .secrets = &secret,
        .nsecrets = 1,
        .traceparent = TRACEPARENT,
    };
    return req;
}

static void on_done(const conn_result_t *res, void *arg);

static void on_done(const conn_result_t *res, void *arg)
{
    done_t *dn = arg;

    dn->n++;
    dn->last = *res;
    snprintf(dn->error, sizeof(dn->error), "%s", res->error);
    dn->last.error = dn->error;
    dn->outcomes[res->outcome]++;
    if (dn->close_on_first && dn->n == 1)
        conn_deliver_close(dn->d, NULL, NULL);
    if (dn->chain_left > 0 && res->outcome == CONN_DELIVERED) {
        conn_endpoint_t ep = endpoint();
        conn_request_t req = request();
        dn->chain_left--;
        assert_int_equal(conn_deliver_post(dn->d, &ep, &req, on_done, dn), 0);
    }
}

static void eng_open(eng_t *e, const conn_deliver_opts_t *opts)
{
    memset(e, 0, sizeof(*e));
    assert_int_equal(uv_loop_init(&e->loop), 0);
    assert_int_equal(conn_deliver_init(&e->loop, opts, &e->d), 0);
}

static void on_closed(void *arg)
{
    *(int *)arg = 1;
}

/* Closes the engine and proves every handle is gone: uv_loop_close fails
 * with UV_EBUSY if one is left open. */
static void eng_close(eng_t *e)
{
    conn_deliver_close(e->d, on_closed, &e->closed);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(e->closed, 1);
    assert_int_equal(uv_loop_close(&e->loop), 0);
}

static void run_until(eng_t *e, done_t *dn, int n)
{
    while (dn->n < n)
        uv_run(&e->loop, UV_RUN_ONCE);
}

/* One POST with the server answering status + headers. */
static done_t post_one(const char *reply_headers, int status,
                       const conn_deliver_opts_t *opts)
{
    conn_endpoint_t ep = endpoint();
    conn_request_t req = request();
    done_t dn;
    eng_t e;

    memset(&dn, 0, sizeof(dn));
    fx_server_reply(srv, status, reply_headers);
    eng_open(&e, opts);
    assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn), 0);
    assert_int_equal(conn_deliver_inflight(e.d), 1);
    /* never synchronously */
    assert_int_equal(dn.n, 0);
    run_until(&e, &dn, 1);
    assert_int_equal(conn_deliver_inflight(e.d), 0);
    eng_close(&e);
    assert_int_equal(dn.n, 1);
    return dn;
}

static int setup(void **state)
{
    if (fx_pki_create(&pki) < 0)
        return -1;
    if ((srv = fx_server_start(&pki, 1)) == NULL)
        return -1;
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/events",
             fx_server_port(srv));
    return conn_webhook_secret_parse(&secret, "whsec_YnJyLXRlc3Qtc2VjcmV0");
}

static int teardown(void **state)
{
    fx_server_stop(srv);
    fx_pki_remove(&pki);
    return 0;
}

static void test_classify_table(void **state)
{
    assert_int_equal(conn_deliver_classify(0, 200, 0), CONN_DELIVERED);
    assert_int_equal(conn_deliver_classify(0, 204, 0), CONN_DELIVERED);
    assert_int_equal(conn_deliver_classify(0, 299, 0), CONN_DELIVERED);
    assert_int_equal(conn_deliver_classify(0, 300, 0), CONN_RETRY);
    assert_int_equal(conn_deliver_classify(0, 199, 0), CONN_RETRY);
    assert_int_equal(conn_deliver_classify(0, 410, 0), CONN_GONE);
    assert_int_equal(conn_deliver_classify(0, 429, 1), CONN_RETRY_AFTER);
    assert_int_equal(conn_deliver_classify(0, 503, 1), CONN_RETRY_AFTER);
    assert_int_equal(conn_deliver_classify(0, 429, 0), CONN_RETRY);
    assert_int_equal(conn_deliver_classify(0, 500, 1), CONN_RETRY);
    assert_int_equal(conn_deliver_classify(0, 404, 0), CONN_RETRY);
    assert_int_equal(conn_deliver_classify(CURLE_COULDNT_CONNECT, 0, 0),
                     CONN_RETRY);
    assert_int_equal(conn_deliver_classify(CURLE_OPERATION_TIMEDOUT, 200, 0),
                     CONN_RETRY);
    assert_string_equal(conn_outcome_name(CONN_RETRY_AFTER), "retry_after");
    assert_string_equal(conn_outcome_name(CONN_CANCELLED), "cancelled");
}

static void test_200_is_delivered_with_signed_headers(void **state)
{
    fx_request_t *rq = test_malloc(sizeof(*rq));
    char v[256];
    done_t dn = post_one(NULL, 200, NULL);

    assert_int_equal(dn.last.outcome, CONN_DELIVERED);
    assert_int_equal(dn.last.status, 200);
    assert_int_equal(dn.last.curl_code, 0);
    assert_string_equal(dn.last.error, "");
    assert_int_equal(dn.last.retry_after_s, -1);
    assert_true(dn.last.latency_us > 0);

    assert_int_equal(fx_server_last(srv, rq), 0);
    assert_true(strncmp(rq->headers, "POST /events HTTP/1.1\r\n", 23) == 0);
    assert_int_equal(rq->body_len, strlen(BODY));
    assert_memory_equal(rq->body, BODY, strlen(BODY));
    assert_int_equal(fx_header(rq->headers, "Content-Type", v, sizeof(v)), 0);
    assert_string_equal(v, "application/cloudevents+json; charset=utf-8");
    assert_int_equal(fx_header(rq->headers, "webhook-id", v, sizeof(v)), 0);
    assert_string_equal(v, EID);
    assert_int_equal(fx_header(rq->headers, "traceparent", v, sizeof(v)), 0);
    assert_string_equal(v, TRACEPARENT);
    assert_int_equal(fx_header(rq->headers, "Authorization", v, sizeof(v)), 0);
    assert_string_equal(v, "Bearer test-token");
    assert_int_equal(fx_header(rq->headers, "Expect", v, sizeof(v)), -1);
    assert_int_equal(fx_header(rq->headers, "webhook-timestamp", v, sizeof(v)),
                     0);
    assert_string_equal(v, "1700000000");
    {
        char sig[256];
        assert_int_equal(
            fx_header(rq->headers, "webhook-signature", sig, sizeof(sig)), 0);
        /* what the organisation would do */
        assert_int_equal(conn_webhook_verify(&secret, 1, EID, v, rq->body,
                                             rq->body_len, sig, TS, 0),
                         0);
        assert_int_equal(conn_webhook_verify(&secret, 1, EID, v, rq->body,
                                             rq->body_len - 1, sig, TS, 0),
                         BRR_ECRYPTO);
    }
    test_free(rq);
}

static void test_rotation_sends_two_signatures(void **state)
{
    conn_webhook_secret_t two[2];
    conn_endpoint_t ep = endpoint();
    conn_request_t req = request();
    fx_request_t *rq = test_malloc(sizeof(*rq));
    char sig[256];
    done_t dn = {0};
    eng_t e;

    two[0] = secret;
    conn_webhook_secret_parse(&two[1], "the-next-secret");
    req.secrets = two;
    req.nsecrets = 2;
    fx_server_reply(srv, 204, NULL);
    eng_open(&e, NULL);
    assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn), 0);
    run_until(&e, &dn, 1);
    eng_close(&e);
    assert_int_equal(dn.last.outcome, CONN_DELIVERED);
    assert_int_equal(fx_server_last(srv, rq), 0);
    assert_int_equal(
        fx_header(rq->headers, "webhook-signature", sig, sizeof(sig)), 0);
    assert_non_null(strchr(sig, ' '));
    assert_int_equal(conn_webhook_verify(&two[1], 1, EID, "1700000000",
                                         rq->body, rq->body_len, sig, TS, 0),
                     0);
    assert_int_equal(conn_webhook_verify(&two[0], 1, EID, "1700000000",
                                         rq->body, rq->body_len, sig, TS, 0),
                     0);
    test_free(rq);
}

static void test_429_with_retry_after_seconds(void **state)
{
    done_t dn = post_one("Retry-After: 2\r\n", 429, NULL);

    assert_int_equal(dn.last.outcome, CONN_RETRY_AFTER);
    assert_int_equal(dn.last.status, 429);
    assert_int_equal(dn.last.retry_after_s, 2);
}

static void test_503_with_http_date_is_capped(void **state)
{
    conn_deliver_opts_t opts = {.max_host_connections = 4,
                                .retry_after_max_s = 60};
    done_t dn =
        post_one("Retry-After: Fri, 31 Dec 2060 23:59:59 GMT\r\n", 503, &opts);

    assert_int_equal(dn.last.outcome, CONN_RETRY_AFTER);
    assert_int_equal(dn.last.status, 503);
    assert_int_equal(dn.last.retry_after_s, 60);
}

static void test_429_without_usable_retry_after_is_retry(void **state)
{
    done_t dn = post_one(NULL, 429, NULL);

    assert_int_equal(dn.last.outcome, CONN_RETRY);
    assert_int_equal(dn.last.retry_after_s, -1);
    dn = post_one("Retry-After: soon\r\n", 503, NULL);
    assert_int_equal(dn.last.outcome, CONN_RETRY);
    assert_int_equal(dn.last.status, 503);
    assert_int_equal(dn.last.retry_after_s, -1);
}

static void test_410_is_gone(void **state)
{
    done_t dn = post_one(NULL, 410, NULL);

    assert_int_equal(dn.last.outcome, CONN_GONE);
    assert_int_equal(dn.last.status, 410);
}

static void test_500_and_redirect_are_retry(void **state)
{
    done_t dn = post_one(NULL, 500, NULL);

    assert_int_equal(dn.last.outcome, CONN_RETRY);
    assert_int_equal(dn.last.status, 500);
    assert_int_equal(dn.last.curl_code, 0);
    dn = post_one("Location: https://example.org/\r\n", 302, NULL);
    assert_int_equal(dn.last.outcome, CONN_RETRY);
    assert_int_equal(dn.last.status, 302);
}

static void test_refused_connection_is_retry_with_status_0(void **state)
{
    /* A bound socket that does not listen: connecting is refused, and the
     * port cannot be taken by anyone else meanwhile. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    char refused_url[64];
    conn_endpoint_t ep = endpoint();
    conn_request_t req = request();
    done_t dn = {0};
    eng_t e;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(refused_url, sizeof(refused_url), "https://127.0.0.1:%d/",
             ntohs(sa.sin_port));
    ep.url = refused_url;
    eng_open(&e, NULL);
    assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn), 0);
    run_until(&e, &dn, 1);
    eng_close(&e);
    close(fd);
    assert_int_equal(dn.last.outcome, CONN_RETRY);
    assert_int_equal(dn.last.status, 0);
    assert_int_equal(dn.last.curl_code, CURLE_COULDNT_CONNECT);
    assert_true(strlen(dn.last.error) > 0);
}

/* Posts once with ep and reports whether the server saw a request. */
static done_t post_counting(const conn_endpoint_t *ep, unsigned *new_requests)
{
    conn_request_t req = request();
    unsigned before, after;
    done_t dn = {0};
    eng_t e;

    fx_server_reply(srv, 200, NULL);
    fx_server_counts(srv, &before, NULL, NULL);
    eng_open(&e, NULL);
    assert_int_equal(conn_deliver_post(e.d, ep, &req, on_done, &dn), 0);
    run_until(&e, &dn, 1);
    eng_close(&e);
    fx_server_counts(srv, &after, NULL, NULL);
    *new_requests = after - before;
    return dn;
}

static void test_server_refuses_request_without_client_cert(void **state)
{
    conn_endpoint_t ep = endpoint();
    unsigned seen;
    done_t dn;

    ep.client_cert = NULL;
    ep.client_key = NULL;
    dn = post_counting(&ep, &seen);
    assert_int_equal(dn.last.outcome, CONN_RETRY);
    assert_int_equal(dn.last.status, 0);
    assert_int_not_equal(dn.last.curl_code, 0);
    assert_int_equal(seen, 0);
    /* and the same endpoint with the certificate works */
    ep = endpoint();
    dn = post_counting(&ep, &seen);
    assert_int_equal(dn.last.outcome, CONN_DELIVERED);
    assert_int_equal(seen, 1);
}

static void test_server_refuses_certificate_of_another_ca(void **state)
{
    conn_endpoint_t ep = endpoint();
    unsigned seen;
    done_t dn;

    ep.client_cert = pki.rogue_cert;
    ep.client_key = pki.rogue_key;
    dn = post_counting(&ep, &seen);
    assert_int_equal(dn.last.outcome, CONN_RETRY);
    assert_int_equal(dn.last.status, 0);
    assert_int_not_equal(dn.last.curl_code, 0);
    assert_int_equal(seen, 0);
}

static void test_untrusted_server_is_refused(void **state)
{
    conn_endpoint_t ep = endpoint();
    unsigned seen;
    done_t dn;

    ep.ca_bundle = pki.rogue_ca;
    dn = post_counting(&ep, &seen);
    assert_int_equal(dn.last.outcome, CONN_RETRY);
    assert_int_equal(dn.last.status, 0);
    assert_int_equal(dn.last.curl_code, CURLE_PEER_FAILED_VERIFICATION);
    assert_int_equal(seen, 0);
}

static void test_sequential_posts_reuse_one_connection(void **state)
{
    conn_endpoint_t ep = endpoint();
    conn_request_t req = request();
    unsigned req0, conn0, req1, conn1;
    done_t dn = {0};
    eng_t e;

    fx_server_reply(srv, 200, NULL);
    fx_server_counts(srv, &req0, &conn0, NULL);
    eng_open(&e, NULL);
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn), 0);
        run_until(&e, &dn, i);
        assert_int_equal(dn.last.outcome, CONN_DELIVERED);
    }
    eng_close(&e);
    fx_server_counts(srv, &req1, &conn1, NULL);
    assert_int_equal(req1 - req0, 5);
    assert_int_equal(conn1 - conn0, 1);
}

static void test_concurrency_is_bounded_per_host(void **state)
{
    conn_deliver_opts_t opts = {.max_host_connections = 2};
    conn_endpoint_t ep = endpoint();
    conn_request_t req = request();
    unsigned req0, conn0, req1, conn1;
    done_t dn = {0};
    eng_t e;

    fx_server_reply(srv, 200, NULL);
    fx_server_counts(srv, &req0, &conn0, NULL);
    eng_open(&e, &opts);
    for (int i = 0; i < 20; i++)
        assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn), 0);
    assert_int_equal(conn_deliver_inflight(e.d), 20);
    run_until(&e, &dn, 20);
    eng_close(&e);
    fx_server_counts(srv, &req1, &conn1, NULL);
    assert_int_equal(dn.outcomes[CONN_DELIVERED], 20);
    assert_int_equal(req1 - req0, 20);
    assert_in_range(conn1 - conn0, 1, 2);
}

static void test_callback_may_post_the_next_event(void **state)
{
    conn_endpoint_t ep = endpoint();
    conn_request_t req = request();
    done_t dn = {0};
    eng_t e;

    fx_server_reply(srv, 200, NULL);
    eng_open(&e, NULL);
    dn.d = e.d;
    dn.chain_left = 3;
    assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn), 0);
    run_until(&e, &dn, 4);
    eng_close(&e);
    assert_int_equal(dn.outcomes[CONN_DELIVERED], 4);
    assert_int_equal(dn.chain_left, 0);
}

static void test_close_cancels_requests_in_flight(void **state)
{
    conn_endpoint_t ep = endpoint();
    conn_request_t req = request();
    unsigned req0, seen;
    done_t dn = {0};
    eng_t e;

    /* the server reads the requests and never answers */
    fx_server_reply(srv, 0, NULL);
    fx_server_counts(srv, &req0, NULL, NULL);
    eng_open(&e, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn), 0);
    do {
        uv_run(&e.loop, UV_RUN_NOWAIT);
        fx_server_counts(srv, &seen, NULL, NULL);
        if (seen - req0 < 3)
            usleep(1000);
    } while (seen - req0 < 3);
    assert_int_equal(dn.n, 0);
    conn_deliver_close(e.d, on_closed, &e.closed);
    /* every callback ran before close returned */
    assert_int_equal(dn.n, 3);
    assert_int_equal(dn.outcomes[CONN_CANCELLED], 3);
    assert_int_equal(dn.last.status, 0);
    assert_int_equal(e.closed, 0);
    uv_run(&e.loop, UV_RUN_DEFAULT);
    assert_int_equal(e.closed, 1);
    assert_int_equal(uv_loop_close(&e.loop), 0);
    fx_server_reply(srv, 200, NULL);
}

static void test_close_right_after_post_cancels(void **state)
{
    conn_endpoint_t ep = endpoint();
    conn_request_t req = request();
    done_t dn = {0};
    eng_t e;

    eng_open(&e, NULL);
    assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn), 0);
    assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn), 0);
    eng_close(&e);
    assert_int_equal(dn.n, 2);
    assert_int_equal(dn.outcomes[CONN_CANCELLED], 2);
}

static void test_close_from_a_callback(void **state)
{
    conn_endpoint_t ep = endpoint();
    conn_request_t req = request();
    done_t dn = {0};
    eng_t e;

    fx_server_reply(srv, 200, NULL);
    eng_open(&e, NULL);
    dn.d = e.d;
    dn.close_on_first = 1;
    for (int i = 0; i < 4; i++)
        assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn), 0);
    /* runs until the first result closes the engine and all handles */
    uv_run(&e.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e.loop), 0);
    assert_int_equal(dn.n, 4);
    assert_int_equal(dn.outcomes[CONN_DELIVERED] + dn.outcomes[CONN_CANCELLED],
                     4);
    assert_true(dn.outcomes[CONN_DELIVERED] >= 1);
}

static void test_bad_posts_are_refused_without_callback(void **state)
{
    conn_endpoint_t ep = endpoint();
    conn_request_t req = request();
    done_t dn = {0};
    eng_t e;

    eng_open(&e, NULL);
    ep.url = "http://127.0.0.1:1/";
    assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn),
                     BRR_EINVAL);
    ep.url = "ftp://127.0.0.1/";
    ep.allow_http = 1;
    assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn),
                     BRR_EINVAL);
    ep = endpoint();
    req.event_id = EID "\r\nX-Injected: 1";
    assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn),
                     BRR_EINVAL);
    req = request();
    req.traceparent = "00-\n";
    assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn),
                     BRR_EINVAL);
    req = request();
    req.nsecrets = 0;
    assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn),
                     BRR_EINVAL);
    req = request();
    ep.bearer_token = "tok\r\n";
    assert_int_equal(conn_deliver_post(e.d, &ep, &req, on_done, &dn),
                     BRR_EINVAL);
    assert_int_equal(conn_deliver_inflight(e.d), 0);
    eng_close(&e);
    assert_int_equal(dn.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_200_is_delivered_with_signed_headers),
        cmocka_unit_test(test_rotation_sends_two_signatures),
        cmocka_unit_test(test_429_with_retry_after_seconds),
        cmocka_unit_test(test_503_with_http_date_is_capped),
        cmocka_unit_test(test_429_without_usable_retry_after_is_retry),
        cmocka_unit_test(test_410_is_gone),
        cmocka_unit_test(test_500_and_redirect_are_retry),
        cmocka_unit_test(test_refused_connection_is_retry_with_status_0),
        cmocka_unit_test(test_server_refuses_request_without_client_cert),
        cmocka_unit_test(test_server_refuses_certificate_of_another_ca),
        cmocka_unit_test(test_untrusted_server_is_refused),
        cmocka_unit_test(test_sequential_posts_reuse_one_connection),
        cmocka_unit_test(test_concurrency_is_bounded_per_host),
        cmocka_unit_test(test_callback_may_post_the_next_event),
        cmocka_unit_test(test_close_cancels_requests_in_flight),
        cmocka_unit_test(test_close_right_after_post_cancels),
        cmocka_unit_test(test_close_from_a_callback),
        cmocka_unit_test(test_bad_posts_are_refused_without_callback),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
