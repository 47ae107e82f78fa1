/*
 * brrctl arrangement: one arrangement's life for operators.
 *
 *   brrctl arrangement history ID        the arrangement, its claims and
 *                                        schedule, then every state change
 *                                        and event in order
 *   brrctl arrangement end ID [--reason R]
 *                                        ends it on request (BEEINDIGD,
 *                                        e.g. --reason WSNP)
 *
 * history only reads distribution's schema.  end does not change the
 * arrangement itself: it writes an END_REQUESTED report (operator
 * "brrctl", a fresh report id) to distribution's outbox on
 * brr.intake.reports.v1, keyed by the citizen, so brr-distribution applies
 * it like any organisation's report: once, in order with everything else
 * of that citizen, telling every organisation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brr/v1/report.pb-c.h"
#include "brrctl.h"
#include "outbox.h"
#include "pg.h"
#include "uuid.h"

static int query(brr_pg_t *pg, const char *sql, const char *id, PGresult **res)
{
    const char *p[1] = {id};
    if (brr_pg_query(pg, sql, 1, p, res) != 0)
        return brrctl_fail("could not read the arrangement");
    return 0;
}

static int history(brr_pg_t *pg, const char *id)
{
    PGresult *res;
    if (query(pg,
              "SELECT state, kind, instalment_cents, due_day, "
              "coalesce(first_due_date::text, '-'), next_seq, "
              "coalesce(next_due::text, '-'), reminders, "
              "coalesce(last_reminder::text, '-'), "
              "coalesce(end_date::text, '-'), coalesce(ended_reason, '-'), "
              "to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') FROM "
              "distribution.arrangements WHERE arrangement_id = $1::uuid",
              id, &res) != 0)
        return 1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return brrctl_fail("no arrangement %s", id);
    }
    printf("arrangement %s\n", id);
    printf("  state %s (%s), created %s\n", PQgetvalue(res, 0, 0),
           PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 11));
    printf("  instalment %s cents on day %s, first due %s, next %s due %s, "
           "projected end %s\n",
           PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
           PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6), PQgetvalue(res, 0, 9));
    printf("  reminders %s (last %s), ended reason %s\n", PQgetvalue(res, 0, 7),
           PQgetvalue(res, 0, 8), PQgetvalue(res, 0, 10));
    PQclear(res);

    if (query(pg,
              "SELECT organisation, reference, open_cents, share_cents, "
              "CASE WHEN withdrawn THEN 'withdrawn' ELSE '' END FROM "
              "distribution.claims WHERE arrangement_id = $1::uuid ORDER BY "
              "organisation, due_date NULLS LAST, reference",
              id, &res) != 0)
        return 1;
    printf("\nclaims\n  %-16s %-24s %12s %12s\n", "ORGANISATION", "REFERENCE",
           "OPEN", "SHARE");
    for (int i = 0; i < PQntuples(res); i++)
        printf("  %-16s %-24s %12s %12s %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
    PQclear(res);

    if (query(pg,
              "SELECT i.seq, i.due_date, i.amount_cents, i.paid_cents, "
              "i.state, coalesce(string_agg(s.organisation || ' ' || "
              "s.share_cents || '/' || s.paid_cents, ', ' ORDER BY "
              "s.organisation, s.reference) FILTER (WHERE s.share_cents > 0 "
              "OR s.paid_cents > 0), '') FROM distribution.instalments i "
              "LEFT JOIN distribution.instalment_shares s USING "
              "(arrangement_id, seq) WHERE i.arrangement_id = $1::uuid "
              "GROUP BY i.seq, i.due_date, i.amount_cents, i.paid_cents, "
              "i.state ORDER BY i.seq",
              id, &res) != 0)
        return 1;
    printf("\nschedule (share/paid per organisation)\n  %4s %-10s %10s "
           "%10s %-7s %s\n",
           "SEQ", "DUE", "AMOUNT", "PAID", "STATE", "SHARES");
    for (int i = 0; i < PQntuples(res); i++)
        printf("  %4s %-10s %10s %10s %-7s %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
               PQgetvalue(res, i, 5));
    PQclear(res);

    if (query(pg,
              "SELECT to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.MS'), "
              "event_type, state, event_id, detail::text FROM "
              "distribution.history WHERE arrangement_id = $1::uuid ORDER "
              "BY id",
              id, &res) != 0)
        return 1;
    printf("\nhistory\n  %-23s %-26s %-11s %-36s %s\n", "AT", "EVENT", "STATE",
           "EVENT ID", "DETAIL");
    for (int i = 0; i < PQntuples(res); i++)
        printf("  %-23s %-26s %-11s %-36s %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
    PQclear(res);
    return 0;
}

static int end(brr_pg_t *pg, const char *id, const char *reason)
{
    PGresult *res;
    brr_outbox_t *ob;
    brr_pg_pipe_t *pp;
    char rid[40], citizen[40];
    Brr__V1__OrganisationReport r = BRR__V1__ORGANISATION_REPORT__INIT;
    int rc;

    if (strlen(reason) == 0 || strlen(reason) > 200)
        return brrctl_fail("--reason must be 1 to 200 characters");
    if (query(pg,
              "SELECT citizen_ref::text, state IN ('ACTIEF', 'GEPAUZEERD', "
              "'ACHTERSTAND') FROM distribution.arrangements WHERE "
              "arrangement_id = $1::uuid",
              id, &res) != 0)
        return 1;
    if (PQntuples(res) == 0 || PQgetvalue(res, 0, 1)[0] != 't') {
        PQclear(res);
        return brrctl_fail("no live arrangement %s", id);
    }
    snprintf(citizen, sizeof(citizen), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    brr_uuid_v7_str(rid);
    r.report_id = rid;
    r.organisation = "";
    r.requested_by = "brrctl";
    r.arrangement_id = (char *)id;
    r.citizen_ref = citizen;
    r.kind = BRR__V1__REPORT_KIND__END_REQUESTED;
    r.reason = (char *)reason;
    ob = brr_outbox_new("distribution", "/brr/brrctl");
    brr_outbox_add(ob, "brr.intake.reports.v1", citizen, "arrangement", id,
                   "report.received", &r.base, NULL, NULL);
    pp = brr_pg_pipe_new();
    brr_pg_pipe_add(pp, "BEGIN", 0, NULL, NULL, NULL);
    brr_outbox_queue(ob, pp);
    brr_pg_pipe_add(pp, "COMMIT", 0, NULL, NULL, NULL);
    rc = brr_pg_pipe_run(pg, pp);
    brr_pg_pipe_free(pp);
    brr_outbox_free(ob);
    if (rc != 0) {
        brr_pg_rollback(pg);
        return brrctl_fail("could not write the request");
    }
    printf("end of %s requested (report %s, reason %s)\n", id, rid, reason);
    return 0;
}

int brrctl_arrangement(int argc, char **argv)
{
    brr_uuid_t u;
    brr_pg_t *pg;
    int rc;

    if (argc < 2 || brr_uuid_parse(argv[1], &u) != 0 ||
        (strcmp(argv[0], "history") != 0 && strcmp(argv[0], "end") != 0)) {
        fprintf(stderr, "usage: brrctl arrangement history ID\n"
                        "       brrctl arrangement end ID [--reason R]\n");
        return 2;
    }
    if ((pg = brrctl_connect()) == NULL)
        return 1;
    if (strcmp(argv[0], "history") == 0) {
        rc = history(pg, argv[1]);
    } else {
        const char *reason = "ON_REQUEST";
        for (int i = 2; i + 1 < argc; i++)
            if (strcmp(argv[i], "--reason") == 0)
                reason = argv[i + 1];
        rc = end(pg, argv[1], reason);
    }
    brr_pg_close(pg);
    return rc;
}
