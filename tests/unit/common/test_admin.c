/*
 * test_admin.c: /healthz, /readyz and /metrics of admin.c, over real HTTP
 * on 127.0.0.1 with a libcurl client thread (http_test_client.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "admin.h"
#include "err.h"
#include "http_test_client.h"
#include "metrics.h"

typedef struct {
    uv_loop_t loop;
    brr_admin_t *adm;
    brr_test_req_t r;
    char url[128];
    int pg_ready;
    int kafka_ready;
    int checks_run;
} fix_t;

static int setup(void **state)
{
    fix_t *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(brr_admin_start(&f->loop, "127.0.0.1", 0, &f->adm), 0);
    assert_true(brr_admin_port(f->adm) > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix_t *f = *state;

    brr_admin_stop(f->adm);
    /* The loop ends once the admin's handles are closed, and none is left. */
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    brr_test_req_free(&f->r);
    brr_metrics_reset();
    free(f);
    return 0;
}

/* GET path; the response lands in f->r. */
static void get(fix_t *f, const char *path)
{
    brr_test_req_free(&f->r);
    memset(&f->r, 0, sizeof(f->r));
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d%s",
             brr_admin_port(f->adm), path);
    f->r.url = f->url;
    brr_test_request(&f->loop, &f->r);
    assert_int_equal(f->r.cc, CURLE_OK);
}

static void test_admin_healthz_ok_while_loop_turns(void **state)
{
    fix_t *f = *state;

    get(f, "/healthz");
    assert_int_equal(f->r.status, 200);
    assert_string_equal(f->r.resp, "ok\n");
}

static void sleep_then_get(void *arg)
{
    usleep(20 * 1000);
    brr_test_one_request(arg);
}

/* A heartbeat that has not beaten for longer than the stale limit: the
 * timer period is far longer than the test, the limit 1 ms, and the client
 * waits 20 ms before asking, so the age is at least 20 ms. */
static void test_admin_healthz_503_when_heartbeat_stale(void **state)
{
    fix_t *f = *state;

    brr_admin_set_heartbeat(f->adm, 3600 * 1000, 1);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/healthz",
             brr_admin_port(f->adm));
    f->r.url = f->url;
    brr_test_client_run(&f->loop, sleep_then_get, &f->r, NULL, NULL);
    assert_int_equal(f->r.status, 503);
}

static int check_pg(void *arg)
{
    fix_t *f = arg;

    f->checks_run++;
    return f->pg_ready;
}

static int check_kafka(void *arg)
{
    fix_t *f = arg;

    f->checks_run++;
    return f->kafka_ready;
}

static void test_admin_readyz_follows_checks(void **state)
{
    fix_t *f = *state;

    get(f, "/readyz"); /* no checks: ready */
    assert_int_equal(f->r.status, 200);

    brr_admin_add_ready_check(f->adm, "postgres", check_pg, f);
    brr_admin_add_ready_check(f->adm, "kafka", check_kafka, f);
    f->pg_ready = 1;
    get(f, "/readyz");
    assert_int_equal(f->r.status, 503);
    assert_string_equal(f->r.resp_ctype, "application/json");
    assert_string_equal(f->r.resp,
                        "{\"status\":\"not ready\",\"checks\":{\"postgres\":"
                        "true,\"kafka\":false},\"failing\":[\"kafka\"]}");
    assert_int_equal(f->checks_run, 2);

    f->kafka_ready = 1;
    get(f, "/readyz");
    assert_int_equal(f->r.status, 200);
    assert_string_equal(f->r.resp, "{\"status\":\"ready\",\"checks\":{"
                                   "\"postgres\":true,\"kafka\":true}}");

    f->pg_ready = 0;
    get(f, "/readyz");
    assert_int_equal(f->r.status, 503);
    assert_non_null(strstr(f->r.resp, "\"failing\":[\"postgres\"]"));
}

static void test_admin_metrics_renders_registry(void **state)
{
    fix_t *f = *state;
    brr_counter_t *c =
        brr_metrics_counter("brr_test_total", "Test.", "org", "CJIB", NULL);

    brr_counter_add(c, 5);
    get(f, "/metrics");
    assert_int_equal(f->r.status, 200);
    assert_string_equal(f->r.resp_ctype,
                        "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(f->r.resp, "# HELP brr_test_total Test.\n"
                                   "# TYPE brr_test_total counter\n"
                                   "brr_test_total{org=\"CJIB\"} 5\n");
}

static int h_extra(h2o_req_t *req, void *data)
{
    (void)data;
    brr_http_send(req, 200, "text/plain", "extra", 5);
    return 0;
}

static void test_admin_extra_routes_and_methods(void **state)
{
    fix_t *f = *state;

    brr_http_server_route(brr_admin_server(f->adm), NULL, "/extra/", h_extra,
                          f);
    get(f, "/extra/x");
    assert_int_equal(f->r.status, 200);
    assert_string_equal(f->r.resp, "extra");
    get(f, "/nope");
    assert_int_equal(f->r.status, 404);

    brr_test_req_free(&f->r);
    memset(&f->r, 0, sizeof(f->r));
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/healthz",
             brr_admin_port(f->adm));
    f->r.url = f->url;
    f->r.method = "POST";
    f->r.body = "";
    brr_test_request(&f->loop, &f->r);
    assert_int_equal(f->r.status, 405);
}

static void test_admin_start_fails_on_bad_host_and_leaves_nothing(void **state)
{
    uv_loop_t loop;
    brr_admin_t *adm = NULL;

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(brr_admin_start(&loop, "not-an-address", 0, &adm),
                     BRR_EINVAL);
    assert_null(adm);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_admin_start_fails_on_port_in_use(void **state)
{
    fix_t *f = *state;
    brr_admin_t *adm = NULL;

    assert_int_equal(
        brr_admin_start(&f->loop, "127.0.0.1", brr_admin_port(f->adm), &adm),
        BRR_EIO);
    assert_null(adm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_admin_healthz_ok_while_loop_turns,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_admin_healthz_503_when_heartbeat_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_readyz_follows_checks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_admin_metrics_renders_registry,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_extra_routes_and_methods,
                                        setup, teardown),
        cmocka_unit_test(test_admin_start_fails_on_bad_host_and_leaves_nothing),
        cmocka_unit_test_setup_teardown(test_admin_start_fails_on_port_in_use,
                                        setup, teardown),
    };

    curl_global_init(CURL_GLOBAL_ALL);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
