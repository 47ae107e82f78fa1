/*
 * brrctl deliveries and brrctl replay: what brr-connector owes each
 * organisation, and putting parked (or, on request, delivered) events back
 * in its queue.
 *
 *   brrctl deliveries [--org CODE]
 *       per organisation: enabled or why not, backlog (pending), parked,
 *       age of the oldest undelivered event, last success, consecutive
 *       failures and the last error
 *   brrctl deliveries --parked [--org CODE] [--limit N]
 *       the parked events, oldest first, with what to replay
 *   brrctl replay EVENT-ID [--org CODE] [--delivered]
 *   brrctl replay --org CODE --since RFC3339 [--delivered]
 *       re-queues the event (every organisation's copy unless --org), or
 *       all of an organisation's events since a time, that are PARKED, and
 *       with --delivered also those already DELIVERED.  The dispatcher
 *       sends them again in sequence order with the same event id, so the
 *       organisation can drop what it already has.
 *
 * Exit codes: 0 done, 1 failed or nothing to replay, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brrctl.h"
#include "pg.h"
#include "uuid.h"
#include "validate.h"

static int connect_pg(brr_pg_t **pg)
{
    return (*pg = brrctl_connect()) == NULL;
}

/* "-" for NULL, else seconds as "45s", "12m03s", "5h07m", "3d04h". */
static const char *age(const char *secs, char *buf, size_t cap)
{
    long long s;
    if (secs[0] == '\0')
        return "-";
    s = strtoll(secs, NULL, 10);
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(buf, cap, "%llds", s);
    else if (s < 3600)
        snprintf(buf, cap, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, cap, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, cap, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
    return buf;
}

static int usage_fail(const char *msg)
{
    fprintf(stderr,
            "brrctl: %s\n"
            "usage: brrctl deliveries [--org CODE]\n"
            "       brrctl deliveries --parked [--org CODE] [--limit N]\n"
            "       brrctl replay EVENT-ID [--org CODE] [--delivered]\n"
            "       brrctl replay --org CODE --since RFC3339 [--delivered]\n",
            msg);
    return 2;
}

static int org_arg(const char *code)
{
    if (!brr_org_code_valid(code, strlen(code))) {
        brrctl_fail("invalid organisation code \"%s\"", code);
        return 0;
    }
    return 1;
}

/* Nonzero when org is in the registry; *enabled and reason (cap bytes)
 * describe it. */
static int org_lookup(brr_pg_t *pg, const char *org, int *enabled, char *reason,
                      size_t cap)
{
    const char *p[1] = {org};
    PGresult *res;
    int found;
    if (brr_pg_query(pg,
                     "SELECT enabled, coalesce(disabled_reason, '') FROM "
                     "connector.organisations WHERE code = $1",
                     1, p, &res) != 0)
        return -1;
    found = PQntuples(res) == 1;
    if (found) {
        *enabled = PQgetvalue(res, 0, 0)[0] == 't';
        snprintf(reason, cap, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return found;
}

/* Per organisation, over the keys with a backlog only (sequences_due for
 * the pending ones, sequences_parked for the parked ones), so the cost
 * grows with the keys waiting, not with every arrangement ever delivered:
 * backlog and parked from the key counters, and the oldest undelivered
 * event from each key's first undelivered row (deliveries.status has no
 * index since migration 0013; the unique (organisation, arrangement_id,
 * sequence) index leads there). */
static const char summary_sql[] =
    "SELECT o.code, o.enabled, coalesce(o.disabled_reason, ''), "
    "coalesce(b.pending, 0), coalesce(b.parked, 0), b.oldest, "
    "extract(epoch FROM now() - s.last_success_at)::bigint, "
    "coalesce(s.consecutive_failures, 0), "
    "extract(epoch FROM now() - s.last_error_at)::bigint, "
    "coalesce(s.last_error, '') "
    "FROM connector.organisations o LEFT JOIN connector.org_status s ON "
    "s.organisation = o.code CROSS JOIN LATERAL (SELECT sum(k.pending) AS "
    "pending, sum(k.parked) AS parked, extract(epoch FROM now() - "
    "min(h.created_at))::bigint AS oldest FROM (SELECT q.arrangement_id, "
    "q.pending, q.parked FROM connector.sequences q WHERE q.organisation = "
    "o.code AND q.pending > 0 AND q.parked = 0 UNION ALL SELECT "
    "q.arrangement_id, q.pending, q.parked FROM connector.sequences q WHERE "
    "q.organisation = o.code AND q.parked > 0) k LEFT JOIN LATERAL (SELECT "
    "d.created_at FROM connector.deliveries d WHERE d.organisation = o.code "
    "AND d.arrangement_id = k.arrangement_id AND d.status <> 'DELIVERED' "
    "ORDER BY d.sequence LIMIT 1) h ON true) b "
    "WHERE $1::text IS NULL OR o.code = $1 ORDER BY o.code";

static int summary(brr_pg_t *pg, const char *org)
{
    const char *p[1] = {org};
    PGresult *res;
    if (brr_pg_query(pg, summary_sql, 1, p, &res) != 0)
        return brrctl_fail("deliveries: query failed");
    if (org != NULL && PQntuples(res) == 0) {
        PQclear(res);
        return brrctl_fail("deliveries: no organisation %s in the registry",
                           org);
    }
    printf("%-16s %-8s %9s %7s %9s %12s %6s  %s\n", "ORG", "ENABLED", "BACKLOG",
           "PARKED", "OLDEST", "LAST-SUCCESS", "FAILS", "LAST-ERROR");
    for (int i = 0; i < PQntuples(res); i++) {
        char a1[32], a2[32], a3[32], en[64];
        const char *reason = PQgetvalue(res, i, 2);
        if (PQgetvalue(res, i, 1)[0] == 't')
            snprintf(en, sizeof(en), "yes");
        else
            snprintf(en, sizeof(en), "no");
        printf("%-16s %-8s %9s %7s %9s %12s %6s  ", PQgetvalue(res, i, 0), en,
               PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
               age(PQgetvalue(res, i, 5), a1, sizeof(a1)),
               age(PQgetvalue(res, i, 6), a2, sizeof(a2)),
               PQgetvalue(res, i, 7));
        if (PQgetvalue(res, i, 8)[0])
            printf("%s ago: %s", age(PQgetvalue(res, i, 8), a3, sizeof(a3)),
                   PQgetvalue(res, i, 9));
        else
            printf("-");
        if (PQgetvalue(res, i, 1)[0] != 't')
            printf("  [disabled: %s]", reason[0] ? reason : "no reason");
        putchar('\n');
    }
    PQclear(res);
    return 0;
}

/* The parked rows of the keys that have any (sequences_parked), through
 * each key's unique (organisation, arrangement_id, sequence) index: no
 * index on deliveries.status (migration 0013). */
static const char parked_sql[] =
    "SELECT d.event_id::text, d.organisation, d.arrangement_id, d.sequence, "
    "d.attempts, extract(epoch FROM now() - d.created_at)::bigint, "
    "coalesce(d.last_error, CASE WHEN d.last_status > 0 THEN 'HTTP ' || "
    "d.last_status END, '') FROM connector.sequences q JOIN "
    "connector.deliveries d ON d.organisation = q.organisation AND "
    "d.arrangement_id = q.arrangement_id WHERE q.parked > 0 AND ($1::text "
    "IS NULL OR q.organisation = $1) AND d.status = 'PARKED' "
    "ORDER BY d.created_at, d.id LIMIT $2::int";

static int parked_list(brr_pg_t *pg, const char *org, const char *limit)
{
    const char *p[2] = {org, limit};
    PGresult *res;
    if (brr_pg_query(pg, parked_sql, 2, p, &res) != 0)
        return brrctl_fail("deliveries: query failed");
    printf("%-36s %-16s %-36s %5s %8s %9s  %s\n", "EVENT", "ORG", "ARRANGEMENT",
           "SEQ", "ATTEMPTS", "AGE", "LAST-ERROR");
    for (int i = 0; i < PQntuples(res); i++) {
        char a[32];
        printf("%-36s %-16s %-36s %5s %8s %9s  %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
               age(PQgetvalue(res, i, 5), a, sizeof(a)), PQgetvalue(res, i, 6));
    }
    if (PQntuples(res) > 0)
        printf("replay with: brrctl replay EVENT --org ORG, or brrctl replay "
               "--org ORG --since TIME\n");
    PQclear(res);
    return 0;
}

int brrctl_deliveries(int argc, char **argv)
{
    const char *org = NULL, *limit = "100";
    int parked = 0, rc;
    brr_pg_t *pg;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--org") == 0 && i + 1 < argc)
            org = argv[++i];
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            limit = argv[++i];
        else if (strcmp(argv[i], "--parked") == 0)
            parked = 1;
        else
            return usage_fail("deliveries: unknown or incomplete option");
    }
    if (org != NULL && !org_arg(org))
        return 2;
    if (strspn(limit, "0123456789") != strlen(limit) || limit[0] == '\0' ||
        strlen(limit) > 7)
        return usage_fail("deliveries: --limit wants a number");
    if (connect_pg(&pg) != 0)
        return 1;
    rc = parked ? parked_list(pg, org, limit) : summary(pg, org);
    brr_pg_close(pg);
    return rc;
}

/* ---- replay ------------------------------------------------------------- */

static int digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static int rfc3339_valid(const char *s)
{
    size_t n = strlen(s), i = 19;
    if (n < 20 || !brr_date_valid(s, 10, NULL, NULL, NULL) ||
        (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return 0;
    if (s[i] == '.') {
        size_t f = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f)
            return 0;
    }
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z'))
        return 1;
    return i + 6 == n && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) &&
           s[i + 3] == ':' && digits(s + i + 4, 2);
}

/* $1 event id or NULL, $2 organisation or NULL, $3 since or NULL, $4 the
 * states to replay.  The rows are locked first, so their old state is the
 * one committed last, and the key counters move in the same statement. */
static const char replay_sql[] =
    "WITH t AS (SELECT id, organisation, arrangement_id, status AS was FROM "
    "connector.deliveries WHERE ($1::uuid IS NULL OR event_id = $1::uuid) "
    "AND ($2::text IS NULL OR organisation = $2) AND ($3::timestamptz IS "
    "NULL OR event_time >= $3::timestamptz) AND status = ANY($4::text[]) "
    "ORDER BY organisation, arrangement_id, sequence FOR UPDATE), "
    "u AS (UPDATE connector.deliveries d SET status = 'PENDING', attempts = "
    "0, first_attempt_at = NULL, next_attempt_at = now() FROM t WHERE d.id "
    "= t.id RETURNING t.organisation, t.arrangement_id, t.was), "
    "c AS (SELECT organisation, arrangement_id, count(*) AS n, count(*) "
    "FILTER (WHERE was = 'PARKED') AS p FROM u GROUP BY 1, 2), "
    "s AS (UPDATE connector.sequences s SET pending = s.pending + c.n, "
    "parked = greatest(s.parked - c.p, 0), due_at = now() FROM c WHERE "
    "s.organisation = c.organisation AND s.arrangement_id = "
    "c.arrangement_id RETURNING 1) "
    "SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM u WHERE was = "
    "'PARKED'), (SELECT count(*) FROM s), (SELECT string_agg(DISTINCT "
    "organisation, ',') FROM u)";

/* Why nothing matched: the matching rows by state. */
static void explain_nothing(brr_pg_t *pg, const char *const *p)
{
    PGresult *res;
    if (brr_pg_query(pg,
                     "SELECT status, count(*) FROM connector.deliveries "
                     "WHERE ($1::uuid IS NULL OR event_id = $1::uuid) AND "
                     "($2::text IS NULL OR organisation = $2) AND "
                     "($3::timestamptz IS NULL OR event_time >= "
                     "$3::timestamptz) GROUP BY 1 ORDER BY 1",
                     3, p, &res) != 0)
        return;
    if (PQntuples(res) == 0)
        fprintf(stderr, "brrctl: replay: no such event%s\n",
                p[0] ? "" : " in that period");
    for (int i = 0; i < PQntuples(res); i++) {
        const char *st = PQgetvalue(res, i, 0);
        fprintf(stderr, "brrctl: replay: %s matching event(s) %s%s\n",
                PQgetvalue(res, i, 1),
                strcmp(st, "PENDING") == 0     ? "still pending (nothing to do)"
                : strcmp(st, "DELIVERED") == 0 ? "delivered"
                                               : st,
                strcmp(st, "DELIVERED") == 0
                    ? " (add --delivered to send them again)"
                    : "");
    }
    PQclear(res);
}

int brrctl_replay(int argc, char **argv)
{
    const char *eid = NULL, *org = NULL, *since = NULL;
    const char *states = "{PARKED}";
    const char *p[4];
    int delivered = 0, rc = 0;
    long long n;
    brr_uuid_t u;
    brr_pg_t *pg;
    PGresult *res;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--org") == 0 && i + 1 < argc)
            org = argv[++i];
        else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
            since = argv[++i];
        else if (strcmp(argv[i], "--delivered") == 0)
            delivered = 1;
        else if (argv[i][0] != '-' && eid == NULL)
            eid = argv[i];
        else
            return usage_fail("replay: unknown or incomplete option");
    }
    if ((eid == NULL) == (since == NULL))
        return usage_fail("replay: give an EVENT-ID or --org CODE --since "
                          "TIME");
    if (since != NULL && org == NULL)
        return usage_fail("replay: --since needs --org CODE");
    if (eid != NULL && brr_uuid_parse(eid, &u) != 0)
        return usage_fail("replay: EVENT-ID must be a UUID");
    if (since != NULL && !rfc3339_valid(since))
        return usage_fail("replay: --since wants an RFC 3339 time such as "
                          "2024-05-01T12:00:00Z");
    if (org != NULL && !org_arg(org))
        return 2;
    if (delivered)
        states = "{PARKED,DELIVERED}";
    if (connect_pg(&pg) != 0)
        return 1;
    if (org != NULL) {
        int enabled = 1;
        char reason[256] = "";
        int found = org_lookup(pg, org, &enabled, reason, sizeof(reason));
        if (found < 0) {
            brr_pg_close(pg);
            return brrctl_fail("replay: query failed");
        }
        if (found == 0) {
            brr_pg_close(pg);
            return brrctl_fail("replay: no organisation %s in the registry",
                               org);
        }
        if (!enabled)
            fprintf(stderr,
                    "brrctl: note: %s is disabled (%s); replayed events wait "
                    "until brrctl org enable %s\n",
                    org, reason[0] ? reason : "no reason", org);
    }
    p[0] = eid;
    p[1] = org;
    p[2] = since;
    p[3] = states;
    if (brr_pg_query(pg, replay_sql, 4, p, &res) != 0) {
        brr_pg_close(pg);
        return brrctl_fail("replay: the queue refused the change");
    }
    n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (n == 0) {
        explain_nothing(pg, p);
        rc = brrctl_fail("replay: nothing to replay");
    } else {
        printf("replayed %lld event(s) (%s parked, %lld delivered) for %s "
               "over %s arrangement(s); brr-connector sends them in order\n",
               n, PQgetvalue(res, 0, 1),
               n - strtoll(PQgetvalue(res, 0, 1), NULL, 10),
               PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    brr_pg_close(pg);
    return rc;
}
