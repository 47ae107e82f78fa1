/*
 * timers.c: the durable timers of brr-distribution (distribution.timers,
 * one per live arrangement): the monthly instalment run and the
 * missed-instalment lifecycle.
 *
 * A firing claims due rows with FOR UPDATE SKIP LOCKED and deletes them,
 * loads those arrangements, opens every instalment whose day has come,
 * applies the lifecycle steps due today, writes the rows, the events and
 * each arrangement's next timer, and commits: all in one transaction, so a
 * timer fires exactly once even with several instances, and one that came
 * due while the service was down fires on the first tick after start and
 * catches up (every missed month opens, one lifecycle step at a time).
 * "Now" is the database's clock in Europe/Amsterdam; in
 * brr-distribution-testclock, the test clock (dist_clock_param).
 */
#include <stdio.h>
#include <stdlib.h>

#include "dist.h"
#include "err.h"
#include "log.h"

static void collect_due(void *arg, const PGresult *res)
{
    void **ctx = arg;
    brr_arena_t *arena = ctx[0];
    const char ***ids = ctx[1];
    size_t *n = ctx[2];
    *n = (size_t)PQntuples(res);
    *ids = brr_arena_calloc(arena, *n + 1, sizeof(char *));
    for (size_t i = 0; i < *n; i++)
        (*ids)[i] = brr_arena_strdup(arena, PQgetvalue(res, (int)i, 0));
}

/* One transaction: claims the due timers (up to limit, or only the one of
 * arrangement id), fires them, commits.  The claimed ids go to *ids. */
static int fire(brr_pg_t *pg, brr_outbox_t *ob, brr_arena_t *arena,
                size_t limit, const char *id, const char ***ids, size_t *n)
{
    brr_pg_pipe_t *pp = brr_pg_pipe_new();
    dist_batch_t b;
    char lim[24], clk[24];
    const char *p[3] = {lim, id, dist_clock_param(clk)};
    void *ctx[3] = {arena, ids, n};
    int rc;

    *n = 0;
    snprintf(lim, sizeof(lim), "%zu", limit);
    if ((rc = brr_pg_ensure(pg)) != 0 || (rc = brr_pg_begin(pg)) != 0) {
        brr_pg_pipe_free(pp);
        return rc;
    }
    brr_pg_pipe_add(pp,
                    "DELETE FROM distribution.timers WHERE arrangement_id IN "
                    "(SELECT arrangement_id FROM distribution.timers WHERE "
                    "due_at <= coalesce(to_timestamp($3::bigint), now()) "
                    "AND ($2::uuid IS NULL OR "
                    "arrangement_id = $2::uuid) ORDER BY due_at LIMIT "
                    "$1::int FOR UPDATE SKIP LOCKED) RETURNING "
                    "arrangement_id::text",
                    3, p, collect_due, ctx);
    rc = brr_pg_pipe_run(pg, pp);
    if (rc == 0 && *n == 0) {
        rc = brr_pg_commit(pg);
        brr_pg_pipe_free(pp);
        return rc;
    }
    dist_batch_init(&b, arena);
    if (rc == 0)
        rc = dist_batch_load(&b, pg, *ids, *n, NULL, 0, NULL, NULL, 0);
    for (size_t i = 0; rc == 0 && i < b.nitems; i++)
        b.items[i]->touched = 1;
    if (rc == 0)
        rc = dist_batch_finish(&b, pp, ob);
    if (rc == 0) {
        brr_outbox_queue(ob, pp);
        brr_pg_pipe_add(pp, "COMMIT", 0, NULL, NULL, NULL);
        rc = brr_pg_pipe_run(pg, pp);
    }
    if (rc != 0) {
        brr_outbox_clear(ob);
        brr_pg_rollback(pg);
    }
    dist_batch_free(&b);
    brr_pg_pipe_free(pp);
    return rc;
}

/* An arrangement whose step can never succeed must not hold up the
 * others: its timer moves an hour on and an operator is told. */
static void postpone(brr_pg_t *pg, const char *id, int why)
{
    char clk[24];
    const char *p[2] = {id, dist_clock_param(clk)};
    brr_log_error("arrangement timer failed, postponed an hour", "arr", id,
                  "err", brr_err_name(why), NULL);
    brr_pg_query(pg,
                 "UPDATE distribution.timers SET due_at = "
                 "coalesce(to_timestamp($2::bigint), now()) + interval "
                 "'1 hour' WHERE arrangement_id = $1::uuid",
                 2, p, NULL);
}

int dist_timers_fire(brr_pg_t *pg, brr_outbox_t *ob, size_t limit,
                     size_t *fired)
{
    brr_arena_t arena;
    const char **ids = NULL;
    size_t n = 0;
    int rc;

    *fired = 0;
    brr_arena_init(&arena, 0);
    rc = fire(pg, ob, &arena, limit, NULL, &ids, &n);
    if (rc == 0) {
        *fired = n;
    } else if (!brr_err_is_transient(rc) && n > 0) {
        /* one of them cannot be processed: find it, fire the rest */
        for (size_t i = 0; i < n; i++) {
            const char **one = NULL;
            size_t got = 0;
            int r1 = fire(pg, ob, &arena, 1, ids[i], &one, &got);
            if (r1 == 0)
                *fired += got;
            else if (!brr_err_is_transient(r1))
                postpone(pg, ids[i], r1);
        }
        rc = 0;
    }
    brr_arena_destroy(&arena);
    return rc;
}
