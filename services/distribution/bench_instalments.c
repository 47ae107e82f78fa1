/*
 * bench_instalments: the monthly instalment run of brr-distribution over
 * many live arrangements, through the service's own code path
 * (dist_timers_fire: claim due timers, load, open the instalment split over
 * the balances, lifecycle, write rows, events and next timers, commit).
 *
 *   createdb brr_bench_life
 *   BRR_PG_DSN="... dbname=brr_bench_life" brrctl migrate
 *   BRR_PG_DSN="... dbname=brr_bench_life" bench_instalments [N] [MAXORGS]
 *
 * Generates N arrangements (default 200000) with 1..MAXORGS organisations
 * (default 16) one claim each, directly with SQL, instalment 1 paid, and
 * their timers due.  Month 1: every timer fires and instalment 2 opens (all
 * shares are new, so every organisation is told).  Then SQL pays
 * instalment 2 as split and moves the arrangements a month on; month 2 is
 * the steady monthly run (an organisation is told only when its share
 * changed).  Prints arrangements per second of each month.
 *
 * It empties distribution's tables first, so it refuses to run unless the
 * database's name starts with "brr_bench".  Nothing publishes the outbox:
 * writing the events is measured, publishing them is the relay's work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dist.h"
#include "err.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int exec(brr_pg_t *pg, const char *sql)
{
    int rc = brr_pg_exec(pg, sql);
    if (rc != 0)
        fprintf(stderr, "bench: statement failed: %.80s...\n", sql);
    return rc;
}

static long long count(brr_pg_t *pg, const char *sql)
{
    PGresult *res;
    long long v = -1;
    if (brr_pg_query(pg, sql, 0, NULL, &res) == 0) {
        v = atoll(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    return v;
}

static int generate(brr_pg_t *pg, long n, int maxorgs)
{
    char sql[4096];
    if (exec(pg, "TRUNCATE distribution.timers, distribution.instalments, "
                 "distribution.instalment_shares, distribution.claims, "
                 "distribution.history, distribution.applied_reports, "
                 "distribution.outbox, distribution.arrangements") != 0)
        return 1;
    /* due yesterday, the next one opens today */
    snprintf(sql, sizeof(sql),
             "INSERT INTO distribution.arrangements (arrangement_id, "
             "citizen_ref, state, kind, instalment_cents, months, due_day, "
             "first_due_date, next_seq, next_due, open_on, cur_seq) "
             "SELECT md5(i || 'a')::uuid, md5(i || 'c')::uuid, 'ACTIEF', "
             "'standard', 5000 + (i * 7919) %% 45000, 24, "
             "extract(day FROM current_date - 1)::int, current_date - 1, "
             "2, (current_date - 1 + interval '1 month')::date, "
             "current_date, 1 FROM generate_series(1, %ld) i",
             n);
    if (exec(pg, sql) != 0)
        return 1;
    snprintf(sql, sizeof(sql),
             "INSERT INTO distribution.claims (arrangement_id, organisation, "
             "reference, open_cents, due_date) SELECT md5(i || 'a')::uuid, "
             "'ORG' || lpad(j::text, 2, '0'), 'R' || i || '-' || j, "
             "20000 + ((i * 31 + j * 7717) %% 480000), "
             "date '2024-01-01' + j FROM generate_series(1, %ld) i, "
             "generate_series(1, 1 + (i * 7 + i / 3) %% %d) j",
             n, maxorgs);
    if (exec(pg, sql) != 0)
        return 1;
    if (exec(pg,
             "INSERT INTO distribution.instalments (arrangement_id, seq, "
             "due_date, amount_cents, paid_cents, state) SELECT "
             "arrangement_id, 1, first_due_date, instalment_cents, "
             "instalment_cents, 'PAID' FROM distribution.arrangements") != 0 ||
        exec(pg, "INSERT INTO distribution.timers (arrangement_id, due_at) "
                 "SELECT arrangement_id, now() FROM "
                 "distribution.arrangements") != 0 ||
        exec(pg, "ANALYZE distribution.arrangements; ANALYZE "
                 "distribution.claims; ANALYZE distribution.instalments; "
                 "ANALYZE distribution.timers") != 0)
        return 1;
    return 0;
}

/* Instalment seq is paid as split; a month passes for every arrangement. */
static int next_month(brr_pg_t *pg, int seq)
{
    char sql[2048];
    snprintf(sql, sizeof(sql),
             "BEGIN;"
             "UPDATE distribution.claims c SET open_cents = c.open_cents - "
             "s.share_cents FROM distribution.instalment_shares s WHERE "
             "s.arrangement_id = c.arrangement_id AND s.organisation = "
             "c.organisation AND s.reference = c.reference AND s.seq = %d;"
             "UPDATE distribution.instalment_shares SET paid_cents = "
             "share_cents WHERE seq = %d;"
             "UPDATE distribution.instalments SET state = 'PAID', "
             "paid_cents = amount_cents WHERE seq = %d;"
             "CREATE TEMP TABLE shift AS SELECT arrangement_id, open_on - "
             "current_date AS d FROM distribution.arrangements;"
             "UPDATE distribution.arrangements a SET first_due_date = "
             "first_due_date - s.d, next_due = next_due - s.d, open_on = "
             "open_on - s.d FROM shift s WHERE s.arrangement_id = "
             "a.arrangement_id;"
             "UPDATE distribution.instalments i SET due_date = due_date - "
             "s.d FROM shift s WHERE s.arrangement_id = i.arrangement_id;"
             "DROP TABLE shift;"
             "INSERT INTO distribution.timers (arrangement_id, due_at) "
             "SELECT arrangement_id, now() FROM distribution.arrangements "
             "ON CONFLICT (arrangement_id) DO UPDATE SET due_at = now();"
             "COMMIT",
             seq, seq, seq);
    if (exec(pg, sql) != 0)
        return 1;
    return exec(pg, "VACUUM ANALYZE distribution.arrangements") != 0 ||
           exec(pg, "VACUUM ANALYZE distribution.claims") != 0 ||
           exec(pg, "VACUUM ANALYZE distribution.instalments") != 0 ||
           exec(pg, "VACUUM ANALYZE distribution.instalment_shares") != 0 ||
           exec(pg, "VACUUM ANALYZE distribution.timers") != 0;
}

static int month(brr_pg_t *pg, brr_outbox_t *ob, const char *name, long n)
{
    long long ev0 = count(pg, "SELECT count(*) FROM distribution.outbox");
    size_t total = 0, fired;
    double t0 = now_s(), dt;
    int rc;
    do {
        rc = dist_timers_fire(pg, ob, 500, &fired);
        total += fired;
    } while (rc == 0 && fired > 0);
    dt = now_s() - t0;
    if (rc != 0) {
        fprintf(stderr, "bench: timers failed: %s\n", brr_strerror(rc));
        return 1;
    }
    printf("%s: %zu of %ld arrangements in %.1f s: %.0f arrangements/s, "
           "%lld organisation and arrangement events written\n",
           name, total, n, dt, (double)total / dt,
           count(pg, "SELECT count(*) FROM distribution.outbox") - ev0);
    fflush(stdout);
    return total == (size_t)n ? 0 : 1;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int maxorgs = argc > 2 ? atoi(argv[2]) : 16;
    const char *dsn = getenv("BRR_PG_DSN");
    brr_pg_t *pg;
    brr_outbox_t *ob;
    PGresult *res;
    double t0;
    int rc = 1;

    if (dsn == NULL || n < 1 || maxorgs < 1 || maxorgs > 99) {
        fprintf(stderr, "usage: BRR_PG_DSN=... bench_instalments "
                        "[arrangements] [max-orgs 1..99]\n");
        return 2;
    }
    if (brr_pg_connect(dsn, "bench_instalments", &pg) != 0 ||
        brr_pg_query(pg, "SELECT current_database()", 0, NULL, &res) != 0) {
        fprintf(stderr, "bench: could not connect\n");
        brr_pg_close(pg);
        return 1;
    }
    if (strncmp(PQgetvalue(res, 0, 0), "brr_bench", 9) != 0) {
        fprintf(stderr,
                "bench: refusing to empty database %s: use a "
                "scratch database named brr_bench*\n",
                PQgetvalue(res, 0, 0));
        PQclear(res);
        brr_pg_close(pg);
        return 2;
    }
    PQclear(res);
    ob = brr_outbox_new("distribution", "/brr/distribution");
    t0 = now_s();
    if (generate(pg, n, maxorgs) == 0) {
        printf("generated %ld arrangements, %lld claims (1..%d "
               "organisations each) in %.1f s\n",
               n, count(pg, "SELECT count(*) FROM distribution.claims"),
               maxorgs, now_s() - t0);
        fflush(stdout);
        if (month(pg, ob, "month 1 (instalment 2 opens, all shares new)", n) ==
                0 &&
            next_month(pg, 2) == 0 &&
            month(pg, ob, "month 2 (steady monthly run)", n) == 0)
            rc = 0;
    }
    brr_outbox_free(ob);
    brr_pg_close(pg);
    return rc;
}
