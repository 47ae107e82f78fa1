/*
 * Unit tests of kafka.c against librdkafka's in-process mock cluster: the
 * producer and consumer on a libuv loop, CloudEvents headers, keys, and
 * offsets stored only when asked.  No external broker is needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "err.h"
#include "kafka.h"
#include "log.h"

#define TOPIC "brr.test.v1"
#define N 200

typedef struct {
    rd_kafka_t *mock_rk;
    rd_kafka_mock_cluster_t *mc;
    char brokers[256];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    brr_log_init("test_kafka", BRR_LOG_ERROR, BRR_LOG_LOGFMT);
    f->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(f->mock_rk);
    f->mc = rd_kafka_mock_cluster_new(f->mock_rk, 1);
    assert_non_null(f->mc);
    snprintf(f->brokers, sizeof(f->brokers), "%s",
             rd_kafka_mock_cluster_bootstraps(f->mc));
    assert_int_equal(rd_kafka_mock_topic_create(f->mc, TOPIC, 2, 1), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    rd_kafka_mock_cluster_destroy(f->mc);
    rd_kafka_destroy(f->mock_rk);
    free(f);
    return 0;
}

typedef struct {
    int delivered, failed;
    uv_loop_t *loop;
} dr_state_t;

static void on_dr(void *arg, void *opaque, rd_kafka_resp_err_t err)
{
    dr_state_t *s = arg;
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        s->delivered++;
    else
        s->failed++;
    if (s->delivered + s->failed == N)
        uv_stop(s->loop);
}

typedef struct {
    brr_kc_t *kc;
    int got, ordered, headers_ok;
    int64_t last[2];
    uv_loop_t *loop;
    int too_long, missing;
} consume_state_t;

static void on_batch(void *arg, rd_kafka_message_t **msgs, size_t n)
{
    consume_state_t *s = arg;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        char id[64], type[128], tiny[4];
        if (brr_kafka_header(m, "ce_id", tiny, sizeof(tiny)) == BRR_ERANGE)
            s->too_long++;
        if (brr_kafka_header(m, "no-such", id, sizeof(id)) == BRR_ENOTFOUND)
            s->missing++;
        if (brr_kafka_header(m, "ce_id", id, sizeof(id)) == 0 &&
            brr_kafka_header(m, "ce_type", type, sizeof(type)) == 0 &&
            strcmp(type, "nl.rijksoverheid.brr.test") == 0 &&
            strncmp(id, "id-", 3) == 0)
            s->headers_ok++;
        /* per partition the offsets only grow */
        if (m->offset > s->last[m->partition] || s->last[m->partition] < 0)
            s->ordered++;
        s->last[m->partition] = m->offset;
        s->got++;
    }
    assert_int_equal(brr_kc_store(s->kc, msgs, n), 0);
    for (size_t i = 0; i < n; i++)
        rd_kafka_message_destroy(msgs[i]);
    if (s->got >= N)
        uv_stop(s->loop);
}

static void on_timeout(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void
test_kafka_produce_consume_roundtrip_keeps_headers_and_order(void **state)
{
    fixture_t *f = *state;
    uv_loop_t loop;
    dr_state_t dr = {0, 0, &loop};
    consume_state_t cs;
    brr_kp_t *kp;
    const char *topics[] = {TOPIC};
    uv_timer_t guard;

    uv_loop_init(&loop);
    uv_timer_init(&loop, &guard);
    assert_int_equal(brr_kp_new(&loop, f->brokers, "test", on_dr, &dr, &kp), 0);
    for (int i = 0; i < N; i++) {
        char id[32], key[16], val[32];
        brr_ce_t ce = {id,     "/test", "nl.rijksoverheid.brr.test",
                       "subj", NULL,    NULL};
        snprintf(id, sizeof(id), "id-%d", i);
        snprintf(key, sizeof(key), "k%d", i % 7);
        snprintf(val, sizeof(val), "v%d", i);
        assert_int_equal(brr_kp_produce(kp, TOPIC, key, strlen(key), val,
                                        strlen(val), brr_ce_headers(&ce), NULL),
                         0);
    }
    /* a guard so a broken wake-up fails the test instead of hanging it */
    uv_timer_start(&guard, on_timeout, 30000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(dr.delivered, N);
    assert_int_equal(dr.failed, 0);
    assert_int_equal(brr_kp_outstanding(kp), 0);

    memset(&cs, 0, sizeof(cs));
    cs.loop = &loop;
    cs.last[0] = cs.last[1] = -1;
    assert_int_equal(brr_kc_new(&loop, f->brokers, "test-group", "test-1",
                                topics, 1, &cs.kc),
                     0);
    brr_kc_start(cs.kc, 50, on_batch, &cs);
    uv_timer_start(&guard, on_timeout, 30000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(cs.got, N);
    assert_int_equal(cs.headers_ok, N);
    assert_int_equal(cs.ordered, N);
    assert_int_equal(cs.too_long, N);
    assert_int_equal(cs.missing, N);
    assert_true(brr_kc_assigned(cs.kc) > 0);

    brr_kc_close(cs.kc);
    brr_kp_close(kp, 1000);
    uv_timer_stop(&guard);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_kafka_ce_headers_carry_every_attribute(void **state)
{
    brr_ce_t ce = {"id-1",
                   "/brr/intake",
                   "nl.rijksoverheid.brr.x",
                   "s-1",
                   "2026-01-01T00:00:00.000Z",
                   "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"};
    rd_kafka_headers_t *h = brr_ce_headers(&ce);
    const char *names[] = {"ce_specversion", "ce_id",      "ce_source",
                           "ce_type",        "ce_time",    "ce_subject",
                           "content-type",   "traceparent"};
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const void *v;
        size_t len;
        assert_int_equal(rd_kafka_header_get_last(h, names[i], &v, &len),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_true(len > 0);
    }
    rd_kafka_headers_destroy(h);
}

static void test_kafka_now_is_rfc3339_utc(void **state)
{
    char buf[40];
    (void)state;
    brr_rfc3339_now(buf, sizeof(buf));
    assert_int_equal(strlen(buf), 24);
    assert_int_equal(buf[10], 'T');
    assert_int_equal(buf[23], 'Z');
    assert_true(brr_now_ms() > INT64_C(1700000000000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_kafka_produce_consume_roundtrip_keeps_headers_and_order, setup,
            teardown),
        cmocka_unit_test(test_kafka_ce_headers_carry_every_attribute),
        cmocka_unit_test(test_kafka_now_is_rfc3339_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
