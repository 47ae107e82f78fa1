/*
 * Integration tests of pg.c and outbox.c on the real PostgreSQL of the
 * local stack (BRR_PG_DSN), with the relay publishing to librdkafka's
 * in-process mock cluster: pipelined batches succeed and fail as one,
 * errors are classified, prepared statements are prepared once per
 * connection and again after a reconnect, outbox rows carry CloudEvents
 * headers, and the relay publishes every row once, in id order, with its
 * headers, and marks it.  A batch run on the loop (brr_pg_pipe_start)
 * leaves the loop free while it waits, answers as the blocking run would,
 * fails as one, survives more than a socket buffer each way and a killed
 * connection.
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

#include "brr/v1/delivery.pb-c.h"
#include "err.h"
#include "log.h"
#include "outbox.h"
#include "pg.h"

static const char *dsn(void)
{
    const char *d = getenv("BRR_PG_DSN");
    return d ? d : "host=127.0.0.1 port=55432 dbname=brr user=brr";
}

static int setup(void **state)
{
    brr_pg_t *pg;
    brr_log_init("test_pg_outbox", BRR_LOG_ERROR, BRR_LOG_LOGFMT);
    assert_int_equal(brr_pg_connect(dsn(), "test", &pg), 0);
    assert_int_equal(brr_pg_exec(pg,
                                 "SET client_min_messages TO warning; "
                                 "DROP SCHEMA IF EXISTS it_pg CASCADE; "
                                 "SELECT public.brr_messaging_tables('it_pg'); "
                                 "CREATE TABLE it_pg.t (id int PRIMARY KEY)"),
                     0);
    *state = pg;
    return 0;
}

static int teardown(void **state)
{
    brr_pg_t *pg = *state;
    brr_pg_exec(pg, "DROP SCHEMA IF EXISTS it_pg CASCADE");
    brr_pg_close(pg);
    return 0;
}

static void count_cb(void *arg, const PGresult *res)
{
    *(int *)arg = atoi(PQgetvalue(res, 0, 0));
}

static void test_pipeline_commits_all_statements_in_one_round_trip(void **state)
{
    brr_pg_t *pg = *state;
    brr_pg_pipe_t *pp = brr_pg_pipe_new();
    int n = -1;
    brr_pg_pipe_add(pp, "BEGIN", 0, NULL, NULL, NULL);
    for (int i = 1; i <= 100; i++) {
        char v[16];
        const char *p[1] = {v};
        snprintf(v, sizeof(v), "%d", i);
        brr_pg_pipe_add(pp, "INSERT INTO it_pg.t VALUES ($1::int)", 1, p, NULL,
                        NULL);
    }
    brr_pg_pipe_add(pp, "COMMIT", 0, NULL, NULL, NULL);
    brr_pg_pipe_add(pp, "SELECT count(*) FROM it_pg.t", 0, NULL, count_cb, &n);
    assert_int_equal(brr_pg_pipe_run(pg, pp), 0);
    assert_int_equal(n, 100);
    assert_int_equal(brr_pg_pipe_count(pp), 0);
    brr_pg_pipe_free(pp);
}

static void test_pipeline_failure_rolls_back_the_whole_batch(void **state)
{
    brr_pg_t *pg = *state;
    brr_pg_pipe_t *pp = brr_pg_pipe_new();
    PGresult *res;
    const char *dup[1] = {"1"};
    const char *fresh[1] = {"500"};
    assert_int_equal(brr_pg_begin(pg), 0);
    brr_pg_pipe_add(pp, "INSERT INTO it_pg.t VALUES ($1::int)", 1, fresh, NULL,
                    NULL);
    /* a unique violation: permanent, not to be retried in place */
    brr_pg_pipe_add(pp, "INSERT INTO it_pg.t VALUES ($1::int)", 1, dup, NULL,
                    NULL);
    brr_pg_pipe_add(pp, "COMMIT", 0, NULL, NULL, NULL);
    assert_int_equal(brr_pg_pipe_run(pg, pp), BRR_EDB);
    brr_pg_rollback(pg);
    assert_int_equal(brr_pg_query(pg,
                                  "SELECT count(*) FROM it_pg.t WHERE id = "
                                  "500",
                                  0, NULL, &res),
                     0);
    assert_string_equal(PQgetvalue(res, 0, 0), "0");
    PQclear(res);
    brr_pg_pipe_free(pp);
}

static void test_query_classifies_a_bad_statement_as_permanent(void **state)
{
    brr_pg_t *pg = *state;
    PGresult *res = (PGresult *)1;
    assert_int_equal(
        brr_pg_query(pg, "SELECT * FROM it_pg.no_such_table", 0, NULL, &res),
        BRR_EDB);
    assert_null(res);
    assert_true(brr_pg_ok(pg));
}

static void text_cb(void *arg, const PGresult *res)
{
    snprintf(arg, 64, "%s", PQgetvalue(res, 0, 0));
}

/* How many statements named name the server holds for pg's session. */
static int prepared_count(brr_pg_t *pg, const char *name)
{
    PGresult *res;
    const char *p[1] = {name};
    int n;
    assert_int_equal(brr_pg_query(pg,
                                  "SELECT count(*) FROM pg_prepared_statements "
                                  "WHERE name = $1",
                                  1, p, &res),
                     0);
    n = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

/* Ends pid's session from another connection, as an operator or a
 * failover would; pid is the backend of the connection under test. */
static void kill_backend(int pid)
{
    brr_pg_t *admin;
    PGresult *res;
    char v[16];
    const char *p[1] = {v};

    snprintf(v, sizeof(v), "%d", pid);
    assert_int_equal(brr_pg_connect(dsn(), "test-admin", &admin), 0);
    assert_int_equal(
        brr_pg_query(admin, "SELECT pg_terminate_backend($1::int)", 1, p, &res),
        0);
    PQclear(res);
    brr_pg_close(admin);
}

static void test_prepared_statement_once_per_connection(void **state)
{
    brr_pg_t *pg = *state;
    brr_pg_pipe_t *pp = brr_pg_pipe_new();
    static const char sql[] = "SELECT ($1::int * 2)::text";
    const char *two[1] = {"2"}, *bad[1] = {"x"}, *three[1] = {"3"};
    char got[64] = "", got2[64] = "";

    /* the first run prepares it, the same name twice in one run once */
    brr_pg_pipe_add_prepared(pp, "it_double", sql, 1, two, text_cb, got);
    brr_pg_pipe_add_prepared(pp, "it_double", sql, 1, three, text_cb, got2);
    assert_int_equal(brr_pg_pipe_run(pg, pp), 0);
    assert_string_equal(got, "4");
    assert_string_equal(got2, "6");
    assert_int_equal(prepared_count(pg, "it_double"), 1);

    /* a failed execution leaves it prepared and usable */
    brr_pg_pipe_add_prepared(pp, "it_double", sql, 1, bad, text_cb, got);
    assert_int_equal(brr_pg_pipe_run(pg, pp), BRR_EDB);
    brr_pg_pipe_add_prepared(pp, "it_double", sql, 1, three, text_cb, got);
    assert_int_equal(brr_pg_pipe_run(pg, pp), 0);
    assert_string_equal(got, "6");
    assert_int_equal(prepared_count(pg, "it_double"), 1);

    /* a new session has none: after the connection is killed and made
     * again, the next run prepares it again */
    kill_backend(PQbackendPID(brr_pg_conn(pg)));
    brr_pg_pipe_add_prepared(pp, "it_double", sql, 1, two, text_cb, got);
    assert_int_equal(brr_pg_pipe_run(pg, pp), BRR_EDBTRANSIENT);
    assert_int_equal(brr_pg_ensure(pg), 0);
    got[0] = '\0';
    brr_pg_pipe_add_prepared(pp, "it_double", sql, 1, two, text_cb, got);
    assert_int_equal(brr_pg_pipe_run(pg, pp), 0);
    assert_string_equal(got, "4");
    assert_int_equal(prepared_count(pg, "it_double"), 1);
    brr_pg_pipe_free(pp);
}

typedef struct {
    uv_timer_t t;
    brr_pg_t *pg;
    brr_relay_t *rl;
    int done;
} watch_t;

static void on_watch(uv_timer_t *t)
{
    watch_t *w = (watch_t *)t;
    PGresult *res;
    if (brr_pg_query(w->pg,
                     "SELECT count(*) FROM it_pg.outbox WHERE published_at "
                     "IS NULL",
                     0, NULL, &res) == 0) {
        if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
            w->done = 1;
        PQclear(res);
    }
    if (w->done) {
        uv_timer_stop(t);
        uv_close((uv_handle_t *)t, NULL);
        brr_relay_stop(w->rl, 5000);
    }
}

static void test_outbox_rows_are_published_once_in_order(void **state)
{
    brr_pg_t *pg = *state;
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
    const char *brokers = rd_kafka_mock_cluster_bootstraps(mc);
    brr_outbox_t *ob = brr_outbox_new("it_pg", "/brr/test");
    brr_pg_pipe_t *pp = brr_pg_pipe_new();
    uv_loop_t loop;
    watch_t w;
    PGresult *res;
    char first_id[40];

    rd_kafka_mock_topic_create(mc, "brr.itpg.v1", 1, 1);
    for (int i = 0; i < 250; i++) {
        Brr__V1__Delivery d = BRR__V1__DELIVERY__INIT;
        char seq[16];
        d.sequence = i;
        snprintf(seq, sizeof(seq), "%d", i);
        brr_outbox_add(ob, "brr.itpg.v1", "citizen-1", "test", seq,
                       "test.event", &d.base, "00-trace-01",
                       i == 0 ? first_id : NULL);
    }
    {
        /* one more, with a header value the relay must unescape */
        Brr__V1__Delivery d = BRR__V1__DELIVERY__INIT;
        uint8_t buf[32];
        size_t len;
        d.sequence = 250;
        len = brr__v1__delivery__pack(&d, buf);
        brr_outbox_add_raw(ob, "brr.itpg.v1", "citizen-1", "test", "250",
                           "test.event", buf, len,
                           "{\"ce_type\":\"q\\\"uote\\\\d \\u00e9\","
                           "\"n\":1}");
    }
    assert_int_equal(brr_outbox_count(ob), 251);
    brr_pg_pipe_add(pp, "BEGIN", 0, NULL, NULL, NULL);
    brr_outbox_queue(ob, pp);
    assert_int_equal(brr_outbox_count(ob), 0);
    brr_pg_pipe_add(pp, "COMMIT", 0, NULL, NULL, NULL);
    assert_int_equal(brr_pg_pipe_run(pg, pp), 0);

    /* the first row's headers are the CloudEvents binding */
    {
        const char *p[1] = {first_id};
        assert_int_equal(
            brr_pg_query(pg,
                         "SELECT headers->>'ce_type', headers->>'ce_source', "
                         "headers->>'traceparent', key, aggregateid FROM "
                         "it_pg.outbox WHERE event_id = $1::uuid",
                         1, p, &res),
            0);
        assert_int_equal(PQntuples(res), 1);
        assert_string_equal(PQgetvalue(res, 0, 0),
                            "nl.rijksoverheid.brr.test.event");
        assert_string_equal(PQgetvalue(res, 0, 1), "/brr/test");
        assert_string_equal(PQgetvalue(res, 0, 2), "00-trace-01");
        assert_string_equal(PQgetvalue(res, 0, 3), "citizen-1");
        assert_string_equal(PQgetvalue(res, 0, 4), "0");
        PQclear(res);
    }

    uv_loop_init(&loop);
    memset(&w, 0, sizeof(w));
    w.pg = pg;
    assert_int_equal(
        brr_relay_start(&loop, dsn(), "it_pg", brokers, "test", 3600, &w.rl),
        0);
    uv_timer_init(&loop, &w.t);
    uv_timer_start(&w.t, on_watch, 50, 50);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(w.done);
    assert_int_equal(uv_loop_close(&loop), 0);

    /* published in id order: the topic's single partition holds 0..249 */
    {
        rd_kafka_conf_t *cc = rd_kafka_conf_new();
        rd_kafka_t *c;
        rd_kafka_topic_partition_list_t *parts;
        int n = 0, in_order = 1;
        rd_kafka_conf_set(cc, "bootstrap.servers", brokers, err, sizeof(err));
        rd_kafka_conf_set(cc, "group.id", "it-pg", err, sizeof(err));
        c = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof(err));
        parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(parts, "brr.itpg.v1", 0)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(c, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        while (n < 251) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 10000);
            Brr__V1__Delivery *d;
            rd_kafka_headers_t *h = NULL;
            const void *hv;
            size_t hl;
            if (m == NULL)
                break;
            if (m->err) {
                rd_kafka_message_destroy(m);
                continue;
            }
            d = brr__v1__delivery__unpack(NULL, m->len, m->payload);
            assert_non_null(d);
            if (d->sequence != n)
                in_order = 0;
            /* the CloudEvents headers reach Kafka as written */
            assert_int_equal(rd_kafka_message_headers(m, &h), 0);
            assert_int_equal(rd_kafka_header_get_last(h, "ce_type", &hv, &hl),
                             0);
            if (n < 250) {
                assert_int_equal(hl, strlen("nl.rijksoverheid.brr.test."
                                            "event"));
                assert_memory_equal(hv, "nl.rijksoverheid.brr.test.event", hl);
                assert_int_equal(
                    rd_kafka_header_get_last(h, "traceparent", &hv, &hl), 0);
                assert_memory_equal(hv, "00-trace-01", hl);
            } else {
                assert_int_equal(hl, strlen("q\"uote\\d \xc3\xa9"));
                assert_memory_equal(hv, "q\"uote\\d \xc3\xa9", hl);
                /* not a string: left out */
                assert_int_equal(rd_kafka_header_get_last(h, "n", &hv, &hl),
                                 RD_KAFKA_RESP_ERR__NOENT);
            }
            brr__v1__delivery__free_unpacked(d, NULL);
            rd_kafka_message_destroy(m);
            n++;
        }
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
        assert_int_equal(n, 251);
        assert_true(in_order);
    }
    brr_outbox_free(ob);
    brr_pg_pipe_free(pp);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
}

/* ---- runs on the loop (brr_pg_pipe_start) ------------------------------ */

typedef struct {
    int calls, rc;
    int ticks; /* the loop's timer ran this often while the run was on */
    brr_pg_t *pg;
    uv_timer_t t;
} async_t;

static void on_async_done(void *arg, int rc)
{
    async_t *a = arg;
    a->calls++;
    a->rc = rc;
}

static void on_async_tick(uv_timer_t *t)
{
    async_t *a = t->data;
    if (brr_pg_busy(a->pg)) {
        a->ticks++;
        return;
    }
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, NULL);
}

/* Runs loop until the run under way on a->pg has ended; a timer counts the
 * turns the loop took meanwhile. */
static void async_loop(uv_loop_t *loop, async_t *a)
{
    uv_timer_init(loop, &a->t);
    a->t.data = a;
    uv_timer_start(&a->t, on_async_tick, 0, 1);
    uv_run(loop, UV_RUN_DEFAULT);
}

static void test_async_pipeline_answers_on_the_loop(void **state)
{
    brr_pg_t *pg = *state;
    brr_pg_pipe_t *pp = brr_pg_pipe_new();
    uv_loop_t loop;
    async_t a = {0, -1, 0, pg, {0}};
    int n = -1, slept = -1;

    uv_loop_init(&loop);
    brr_pg_pipe_add(pp, "BEGIN", 0, NULL, NULL, NULL);
    for (int i = 1001; i <= 1100; i++) {
        char v[16];
        const char *p[1] = {v};
        snprintf(v, sizeof(v), "%d", i);
        brr_pg_pipe_add_prepared(pp, "it_ins",
                                 "INSERT INTO it_pg.t VALUES ($1::int)", 1, p,
                                 NULL, NULL);
    }
    brr_pg_pipe_add(pp, "COMMIT", 0, NULL, NULL, NULL);
    /* long enough for the loop to turn while the server works */
    brr_pg_pipe_add(pp, "SELECT 1 FROM pg_sleep(0.2)", 0, NULL, count_cb,
                    &slept);
    brr_pg_pipe_add(pp,
                    "SELECT count(*) FROM it_pg.t WHERE id BETWEEN 1001 AND "
                    "1100",
                    0, NULL, count_cb, &n);
    assert_int_equal(brr_pg_pipe_start(pg, pp, &loop, on_async_done, &a), 0);
    /* sent, not answered: nothing has been called yet */
    assert_true(brr_pg_busy(pg));
    assert_int_equal(a.calls, 0);
    assert_int_equal(n, -1);
    /* a second run on the same connection is refused */
    brr_pg_pipe_t *other = brr_pg_pipe_new();
    brr_pg_pipe_add(other, "SELECT 1", 0, NULL, NULL, NULL);
    assert_int_equal(brr_pg_pipe_start(pg, other, &loop, on_async_done, &a),
                     BRR_EINVAL);
    brr_pg_pipe_free(other);
    async_loop(&loop, &a);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.rc, 0);
    assert_int_equal(slept, 1);
    assert_int_equal(n, 100);
    assert_true(a.ticks > 0); /* the loop was free while it waited */
    assert_false(brr_pg_busy(pg));
    assert_int_equal(brr_pg_pipe_count(pp), 0);
    /* the connection is back to the blocking way */
    assert_int_equal(brr_pg_exec(pg, "SELECT 1"), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    brr_pg_pipe_free(pp);
}

static void test_async_pipeline_failure_and_wait(void **state)
{
    brr_pg_t *pg = *state;
    brr_pg_pipe_t *pp = brr_pg_pipe_new();
    uv_loop_t loop;
    async_t a = {0, -1, 0, pg, {0}};
    const char *dup[1] = {"1001"}, *fresh[1] = {"2001"};
    PGresult *res;

    uv_loop_init(&loop);
    brr_pg_pipe_add(pp, "BEGIN", 0, NULL, NULL, NULL);
    brr_pg_pipe_add(pp, "INSERT INTO it_pg.t VALUES ($1::int)", 1, fresh, NULL,
                    NULL);
    brr_pg_pipe_add(pp, "INSERT INTO it_pg.t VALUES ($1::int)", 1, dup, NULL,
                    NULL);
    brr_pg_pipe_add(pp, "COMMIT", 0, NULL, NULL, NULL);
    assert_int_equal(brr_pg_pipe_start(pg, pp, &loop, on_async_done, &a), 0);
    async_loop(&loop, &a);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.rc, BRR_EDB);
    brr_pg_rollback(pg);
    assert_int_equal(brr_pg_query(pg,
                                  "SELECT count(*) FROM it_pg.t WHERE id = "
                                  "2001",
                                  0, NULL, &res),
                     0);
    assert_string_equal(PQgetvalue(res, 0, 0), "0");
    PQclear(res);

    /* waiting ends a run without the loop, and calls done */
    brr_pg_pipe_add(pp, "INSERT INTO it_pg.t VALUES ($1::int)", 1, fresh, NULL,
                    NULL);
    assert_int_equal(brr_pg_pipe_start(pg, pp, &loop, on_async_done, &a), 0);
    assert_int_equal(a.calls, 1);
    brr_pg_pipe_wait(pg);
    assert_int_equal(a.calls, 2);
    assert_int_equal(a.rc, 0);
    /* a blocking query meanwhile would have waited the same way */
    assert_int_equal(brr_pg_pipe_start(pg, pp, &loop, on_async_done, &a),
                     BRR_EINVAL); /* pp is empty */
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    brr_pg_pipe_free(pp);
}

/* Far more than a socket buffer holds in both directions: the run must
 * read answers while it still writes, or client and server wait on each
 * other. */
static void test_async_pipeline_larger_than_the_socket(void **state)
{
    brr_pg_t *pg = *state;
    brr_pg_pipe_t *pp = brr_pg_pipe_new();
    uv_loop_t loop;
    async_t a = {0, -1, 0, pg, {0}};
    char *big = malloc(8193);
    int rows = 0;

    assert_non_null(big);
    memset(big, 'x', 8192);
    big[8192] = '\0';
    uv_loop_init(&loop);
    for (int i = 0; i < 2000; i++) {
        const char *p[1] = {big};
        brr_pg_pipe_add_prepared(pp, "it_echo", "SELECT length($1::text)", 1, p,
                                 NULL, NULL);
    }
    brr_pg_pipe_add(pp, "SELECT count(*) FROM generate_series(1, 2000)", 0,
                    NULL, count_cb, &rows);
    assert_int_equal(brr_pg_pipe_start(pg, pp, &loop, on_async_done, &a), 0);
    async_loop(&loop, &a);
    assert_int_equal(a.rc, 0);
    assert_int_equal(rows, 2000);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(big);
    brr_pg_pipe_free(pp);
}

static void test_async_pipeline_connection_lost(void **state)
{
    brr_pg_t *pg;
    brr_pg_pipe_t *pp = brr_pg_pipe_new();
    uv_loop_t loop;
    async_t a = {0, -1, 0, NULL, {0}};
    char pid[16];

    (void)state;
    assert_int_equal(brr_pg_connect(dsn(), "test-victim", &pg), 0);
    a.pg = pg;
    uv_loop_init(&loop);
    snprintf(pid, sizeof(pid), "%d", PQbackendPID(brr_pg_conn(pg)));
    brr_pg_pipe_add(pp, "SELECT pg_sleep(60)", 0, NULL, NULL, NULL);
    assert_int_equal(brr_pg_pipe_start(pg, pp, &loop, on_async_done, &a), 0);
    kill_backend(PQbackendPID(brr_pg_conn(pg)));
    async_loop(&loop, &a);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.rc, BRR_EDBTRANSIENT);
    assert_false(brr_pg_busy(pg));
    /* the next use connects again */
    assert_int_equal(brr_pg_ensure(pg), 0);
    assert_int_equal(brr_pg_exec(pg, "SELECT 1"), 0);
    brr_pg_close(pg);
    assert_int_equal(uv_loop_close(&loop), 0);
    brr_pg_pipe_free(pp);
}

/* Options hold for the session, and again after a reconnect. */
static void test_connect_options_survive_a_reconnect(void **state)
{
    brr_pg_t *pg;
    PGresult *res;

    assert_int_equal(brr_pg_connect_opts(dsn(), "test-opts",
                                         BRR_PG_CUSTOM_PLAN_OPTIONS, &pg),
                     0);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(
            brr_pg_query(pg, "SHOW plan_cache_mode", 0, NULL, &res), 0);
        assert_string_equal(PQgetvalue(res, 0, 0), "force_custom_plan");
        PQclear(res);
        kill_backend(PQbackendPID(brr_pg_conn(pg)));
        /* the default stays for a connection made without options */
        assert_int_equal(
            brr_pg_query(*state, "SHOW plan_cache_mode", 0, NULL, &res), 0);
        assert_string_equal(PQgetvalue(res, 0, 0), "auto");
        PQclear(res);
        assert_int_not_equal(brr_pg_exec(pg, "SELECT 1"), 0);
        assert_int_equal(brr_pg_ensure(pg), 0);
    }
    brr_pg_close(pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_pipeline_commits_all_statements_in_one_round_trip),
        cmocka_unit_test(test_pipeline_failure_rolls_back_the_whole_batch),
        cmocka_unit_test(test_query_classifies_a_bad_statement_as_permanent),
        cmocka_unit_test(test_prepared_statement_once_per_connection),
        cmocka_unit_test(test_outbox_rows_are_published_once_in_order),
        cmocka_unit_test(test_async_pipeline_answers_on_the_loop),
        cmocka_unit_test(test_async_pipeline_failure_and_wait),
        cmocka_unit_test(test_async_pipeline_larger_than_the_socket),
        cmocka_unit_test(test_async_pipeline_connection_lost),
        cmocka_unit_test(test_connect_options_survive_a_reconnect),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
