/*
 * brrctl dlq: the dead letters of the consumer runtime (proc.c).
 *
 *   brrctl dlq list [SCHEMA]                 unresolved dead letters, parked
 * keys brrctl dlq replay SCHEMA (ID | --key KEY) brrctl dlq discard SCHEMA (ID
 * | --key KEY)
 *
 * A message that could never be applied was written to SCHEMA.dead_letters
 * (and to <topic>.dlq) and its key parked, so later messages for the same
 * citizen were set aside after it, in order.  Replay puts the original
 * event (same ce_id, same payload) back on its topic through the service's
 * own outbox, oldest first, and unparks the key once nothing of it is left;
 * the service's relay publishes it and its consumer applies it.  Discard
 * resolves without applying.  Both run in one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brrctl.h"
#include "pg.h"

static const char *const schemas[] = {"intake", "capacity", "distribution",
                                      "pause", "connector"};

/* A schema name safe to put into SQL: the services' and the tests'. */
static int known_schema(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == n;
}

static int dlq_list(int argc, char **argv)
{
    brr_pg_t *pg = brrctl_connect();
    size_t total = 0;
    if (pg == NULL)
        return 1;
    printf("%-13s %6s %-20s %-34s %4s %8s %-38s %s\n", "SCHEMA", "ID",
           "CREATED", "TOPIC", "PART", "OFFSET", "KEY", "ERROR");
    for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
        char sql[512];
        PGresult *res;
        if (argc > 0 && strcmp(argv[0], schemas[i]) != 0)
            continue;
        snprintf(sql, sizeof(sql),
                 "SELECT id, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS'), "
                 "topic, partition, \"offset\", key, error_code || ': ' || "
                 "error_text FROM %s.dead_letters WHERE resolved_at IS NULL "
                 "ORDER BY id",
                 schemas[i]);
        if (brr_pg_query(pg, sql, 0, NULL, &res) != 0)
            continue; /* schema not migrated */
        for (int r = 0; r < PQntuples(res); r++, total++)
            printf("%-13s %6s %-20s %-34s %4s %8s %-38s %s\n", schemas[i],
                   PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
                   PQgetvalue(res, r, 2), PQgetvalue(res, r, 3),
                   PQgetvalue(res, r, 4), PQgetvalue(res, r, 5),
                   PQgetvalue(res, r, 6));
        PQclear(res);
    }
    printf("dead letters: %zu unresolved\n", total);
    brr_pg_close(pg);
    return 0;
}

static int dlq_resolve(const char *schema, const char *id, const char *key,
                       int replay)
{
    brr_pg_t *pg;
    char sel[256], sql[2048];
    const char *p[1] = {id ? id : key};
    PGresult *res;
    int n;

    if (!known_schema(schema))
        return brrctl_fail("dlq: unknown schema \"%s\"", schema);
    if ((pg = brrctl_connect()) == NULL)
        return 1;
    snprintf(sel, sizeof(sel), "%s", id ? "id = $1::bigint" : "key = $1");
    /* Replay: the original event back on its topic via the outbox, in the
     * order it arrived; the dlq_* bookkeeping headers are dropped. */
    snprintf(
        sql, sizeof(sql),
        "WITH d AS (UPDATE %1$s.dead_letters SET resolved_at = now(), "
        "resolution = '%2$s' WHERE resolved_at IS NULL AND %3$s "
        "RETURNING id, topic, key, headers, payload), "
        "o AS (INSERT INTO %1$s.outbox (event_id, aggregatetype, "
        "aggregateid, type, topic, key, headers, payload) "
        "SELECT gen_random_uuid(), 'replay', d.key, 'replay', d.topic, "
        "d.key, (SELECT coalesce(jsonb_object_agg(k, v), '{}') FROM "
        "jsonb_each(d.headers) AS h(k, v) WHERE k NOT LIKE 'dlq\\_%%'), "
        "d.payload FROM d WHERE %4$s AND d.payload IS NOT NULL "
        "ORDER BY d.id RETURNING 1), "
        "u AS (DELETE FROM %1$s.parked_keys k USING d WHERE k.topic = "
        "d.topic AND k.key = d.key AND NOT EXISTS (SELECT 1 FROM "
        "%1$s.dead_letters x WHERE x.topic = d.topic AND x.key = d.key AND "
        "x.resolved_at IS NULL AND x.id <> ALL (SELECT id FROM d)) "
        "RETURNING 1) "
        "SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM o), "
        "(SELECT count(*) FROM u)",
        schema, replay ? "replayed" : "discarded", sel,
        replay ? "true" : "false");
    if (brr_pg_query(pg, sql, 1, p, &res) != 0) {
        brr_pg_close(pg);
        return brrctl_fail("dlq: could not %s", replay ? "replay" : "discard");
    }
    n = atoi(PQgetvalue(res, 0, 0));
    printf("%s %d dead letter(s), %s key(s) unparked\n",
           replay ? "replayed" : "discarded", n, PQgetvalue(res, 0, 2));
    PQclear(res);
    brr_pg_close(pg);
    return n > 0 ? 0 : brrctl_fail("dlq: nothing unresolved matched");
}

int brrctl_dlq(int argc, char **argv)
{
    if (argc < 1)
        return brrctl_fail("dlq: expected list, replay or discard");
    if (strcmp(argv[0], "list") == 0)
        return dlq_list(argc - 1, argv + 1);
    if (strcmp(argv[0], "replay") == 0 || strcmp(argv[0], "discard") == 0) {
        int replay = argv[0][0] == 'r';
        if (argc == 3)
            return dlq_resolve(argv[1], argv[2], NULL, replay);
        if (argc == 4 && strcmp(argv[2], "--key") == 0)
            return dlq_resolve(argv[1], NULL, argv[3], replay);
        return brrctl_fail("dlq %s: expected SCHEMA ID or SCHEMA --key KEY",
                           argv[0]);
    }
    return brrctl_fail("dlq: unknown action \"%s\"", argv[0]);
}
