/*
 * Integration tests of orgsim_store.c on the real PostgreSQL of the local
 * stack (BRR_PG_DSN): the set-based batch gives each delivery the verdict
 * it would get one by one (stored, out of order, duplicate), against what
 * was recorded before and what came earlier in the same batch, and writes
 * orgsim.received, orgsim.duplicates and orgsim.order_violations to match;
 * a batch PostgreSQL refuses as a whole is recorded one by one, so only
 * the bad delivery fails.  Every run uses its own organisation code and
 * deletes its rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <uv.h>

#include "log.h"
#include "orgsim.h"

typedef struct {
    int done;
    int rc;
    orgsim_store_result_t v;
} verdict_t;

typedef struct {
    uv_loop_t loop;
    orgsim_store_t *st;
    PGconn *conn;
    char org[17];
} fixture_t;

static const char *dsn(void)
{
    const char *d = getenv("BRR_PG_DSN");
    return d ? d : "host=127.0.0.1 port=55432 dbname=brr user=brr";
}

static void on_recorded(void *arg, int rc, orgsim_store_result_t v)
{
    verdict_t *r = arg;
    r->done++;
    r->rc = rc;
    r->v = v;
}

static long long scalar(fixture_t *f, const char *sql)
{
    const char *p[1] = {f->org};
    PGresult *res = PQexecParams(f->conn, sql, 1, NULL, p, NULL, NULL, 0);
    long long v;
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

static void cleanup(fixture_t *f)
{
    static const char *const sql[] = {
        "DELETE FROM orgsim.received WHERE org = $1",
        "DELETE FROM orgsim.duplicates WHERE org = $1",
        "DELETE FROM orgsim.order_violations WHERE org = $1",
    };
    const char *p[1] = {f->org};
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
        PQclear(PQexecParams(f->conn, sql[i], 1, NULL, p, NULL, NULL, 0));
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    brr_log_init("test_orgsim_store", BRR_LOG_ERROR, BRR_LOG_LOGFMT);
    snprintf(f->org, sizeof(f->org), "STORE%08X",
             (unsigned)(time(NULL) ^ (getpid() << 8)));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->st = orgsim_store_new(dsn());
    orgsim_store_attach(f->st, &f->loop);
    /* creates schema orgsim and its tables when missing */
    assert_int_equal(orgsim_store_ensure(f->st), 0);
    f->conn = PQconnectdb(dsn());
    assert_int_equal(PQstatus(f->conn), CONNECTION_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    cleanup(f);
    PQfinish(f->conn);
    orgsim_store_free(f->st);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

/* Queues delivery number n (its id ends in n) of arrangement arr. */
static void queue(fixture_t *f, int n, const char *arr, int64_t seq,
                  const char *body, verdict_t *out)
{
    orgsim_event_t ev;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.id, sizeof(ev.id), "01900000-0000-7000-8000-%012d", n);
    snprintf(ev.type, sizeof(ev.type), "nl.rijksoverheid.brr.test");
    snprintf(ev.source, sizeof(ev.source), "urn:test");
    snprintf(ev.subject, sizeof(ev.subject), "%s", arr);
    ev.sequence = seq;
    orgsim_store_event_async(f->st, f->org, &ev, body, strlen(body),
                             on_recorded, out);
}

/* One turn of the loop: what was queued is recorded as one batch. */
static void run_batch(fixture_t *f)
{
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void assert_verdict(const verdict_t *r, orgsim_store_result_t want)
{
    assert_int_equal(r->done, 1);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->v, want);
}

static void test_batch_verdicts_match_one_by_one(void **state)
{
    fixture_t *f = *state;
    verdict_t v[12] = {0};
    const char *body =
        "{\"data\":{\"status\":\"ACTIEF\",\"text\":\"a \\\"q\\\" "
        "\\u00e9\"}}";

    /* batch 1: in order on A; B out of order within the batch; a
     * repeat within the batch */
    queue(f, 1, "A", 1, body, &v[0]);
    queue(f, 2, "A", 2, body, &v[1]);
    queue(f, 3, "B", 2, body, &v[2]);
    queue(f, 4, "B", 1, body, &v[3]);
    queue(f, 1, "A", 1, body, &v[4]);
    run_batch(f);
    assert_verdict(&v[0], ORGSIM_STORED);
    assert_verdict(&v[1], ORGSIM_STORED);
    assert_verdict(&v[2], ORGSIM_STORED);
    assert_verdict(&v[3], ORGSIM_OUT_OF_ORDER);
    assert_verdict(&v[4], ORGSIM_DUPLICATE);

    /* batch 2: a repeat of what was recorded before; B below what was
     * recorded; A goes on; C twice in one batch; an arrangement id that
     * needs escaping */
    queue(f, 2, "A", 2, body, &v[5]);
    queue(f, 5, "B", 1, body, &v[6]);
    queue(f, 6, "A", 3, body, &v[7]);
    queue(f, 7, "C \"x\"\\", 1, body, &v[8]);
    queue(f, 7, "C \"x\"\\", 1, body, &v[9]);
    run_batch(f);
    assert_verdict(&v[5], ORGSIM_DUPLICATE);
    assert_verdict(&v[6], ORGSIM_OUT_OF_ORDER);
    assert_verdict(&v[7], ORGSIM_STORED);
    assert_verdict(&v[8], ORGSIM_STORED);
    assert_verdict(&v[9], ORGSIM_DUPLICATE);

    /* batch 3: a repeat of id 6 claiming a higher sequence, then the next
     * one of A: a repeat has no effect, so neither does its sequence */
    queue(f, 6, "A", 9, body, &v[10]);
    queue(f, 8, "A", 4, body, &v[11]);
    run_batch(f);
    assert_verdict(&v[10], ORGSIM_DUPLICATE);
    assert_verdict(&v[11], ORGSIM_STORED);

    /* every first arrival recorded once, with its body and arrangement */
    assert_int_equal(
        scalar(f, "SELECT count(*) FROM orgsim.received WHERE org = $1"), 8);
    assert_int_equal(scalar(f, "SELECT count(*) FROM orgsim.received WHERE "
                               "org = $1 AND arrangement_id = 'C \"x\"\\' "
                               "AND body->'data'->>'text' = 'a \"q\" é'"),
                     1);
    /* each repeat counted: ids 1, 2, 6 and 7 once each */
    assert_int_equal(scalar(f, "SELECT count(*) * 100 + sum(n) FROM "
                               "orgsim.duplicates WHERE org = $1"),
                     404);
    /* the two out-of-order ones, each with the highest sequence before */
    assert_int_equal(scalar(f, "SELECT count(*) FROM orgsim.order_violations "
                               "WHERE org = $1 AND arrangement_id = 'B' AND "
                               "sequence = 1 AND last_sequence = 2"),
                     2);
    assert_int_equal(
        scalar(f,
               "SELECT count(*) FROM orgsim.order_violations WHERE org = $1"),
        2);
}

static void test_refused_batch_is_recorded_one_by_one(void **state)
{
    fixture_t *f = *state;
    verdict_t v[3] = {0};

    /* jsonb refuses \u0000: the batch fails as a whole, then each goes
     * alone and only that one fails */
    queue(f, 11, "D", 1, "{\"data\":{}}", &v[0]);
    queue(f, 12, "D", 2, "{\"data\":{\"x\":\"\\u0000\"}}", &v[1]);
    queue(f, 13, "D", 3, "{\"data\":{}}", &v[2]);
    run_batch(f);
    assert_verdict(&v[0], ORGSIM_STORED);
    assert_int_equal(v[1].done, 1);
    assert_int_not_equal(v[1].rc, 0);
    assert_verdict(&v[2], ORGSIM_STORED);
    assert_int_equal(scalar(f, "SELECT count(*) FROM orgsim.received WHERE "
                               "org = $1 AND arrangement_id = 'D'"),
                     2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_verdicts_match_one_by_one,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_refused_batch_is_recorded_one_by_one, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
