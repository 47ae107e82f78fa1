/*
 * brrctl org: the organisation registry (connector.organisations).
 * Participating organisations are data: adding one is `brrctl org add` and
 * `brrctl topics`, no rebuild; brr-connector picks it up on its next
 * registry refresh.
 *
 *   brrctl org add CODE --name N --oin OIN --url URL --cert F --key F --ca F
 *                       [--secret-ref R] [--token-ref R] [--concurrency N]
 *                       [--timeout-ms N]
 *   brrctl org update CODE (same options; only those given change)
 *   brrctl org disable CODE [--reason TEXT] | enable CODE | list
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brrctl.h"
#include "pg.h"
#include "validate.h"

enum {
    F_NAME,
    F_OIN,
    F_URL,
    F_CERT,
    F_KEY,
    F_CA,
    F_SECRET,
    F_TOKEN,
    F_CONC,
    F_TIMEOUT,
    F_REASON,
    F_COUNT
};

static const char *const flags[F_COUNT] = {
    "--name",        "--oin",        "--url",        "--cert",
    "--key",         "--ca",         "--secret-ref", "--token-ref",
    "--concurrency", "--timeout-ms", "--reason"};

static int parse_flags(int argc, char **argv, const char *v[F_COUNT])
{
    for (int i = 0; i < argc; i++) {
        int f;
        for (f = 0; f < F_COUNT; f++)
            if (strcmp(argv[i], flags[f]) == 0)
                break;
        if (f == F_COUNT || i + 1 >= argc)
            return brrctl_fail("org: unknown or incomplete option \"%s\"",
                               argv[i]);
        v[f] = argv[++i];
    }
    return 0;
}

static int run(const char *sql, int n, const char *const *p, PGresult **res)
{
    brr_pg_t *pg;
    int rc;
    if ((pg = brrctl_connect()) == NULL)
        return 1;
    rc = brr_pg_query(pg, sql, n, p, res);
    brr_pg_close(pg);
    return rc ? brrctl_fail("org: the registry refused the change") : 0;
}

static int org_list(void)
{
    PGresult *res;
    if (run("SELECT code, name, oin, enabled, endpoint_url, concurrency, "
            "coalesce(disabled_reason, '') FROM connector.organisations "
            "ORDER BY code",
            0, NULL, &res) != 0)
        return 1;
    printf("%-16s %-28s %-22s %-8s %-5s %s\n", "CODE", "NAME", "OIN", "ENABLED",
           "CONC", "ENDPOINT");
    for (int i = 0; i < PQntuples(res); i++)
        printf("%-16s %-28s %-22s %-8s %-5s %s%s%s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3)[0] == 't' ? "yes" : "no",
               PQgetvalue(res, i, 5), PQgetvalue(res, i, 4),
               PQgetvalue(res, i, 6)[0] ? " disabled: " : "",
               PQgetvalue(res, i, 6));
    PQclear(res);
    return 0;
}

int brrctl_org(int argc, char **argv)
{
    const char *v[F_COUNT] = {0};
    const char *code;

    if (argc < 1)
        return brrctl_fail("org: expected add, update, disable, enable or "
                           "list");
    if (strcmp(argv[0], "list") == 0)
        return org_list();
    if (argc < 2)
        return brrctl_fail("org %s: expected an organisation code", argv[0]);
    code = argv[1];
    if (!brr_org_code_valid(code, strlen(code)))
        return brrctl_fail("org: invalid code \"%s\": 2 to 16 of A-Z, 0-9 "
                           "and -",
                           code);
    if (parse_flags(argc - 2, argv + 2, v) != 0)
        return 1;
    if (v[F_OIN] != NULL &&
        (strlen(v[F_OIN]) != 20 || strspn(v[F_OIN], "0123456789") != 20))
        return brrctl_fail("org: --oin must be 20 digits");
    if (strcmp(argv[0], "add") == 0) {
        const char *p[11];
        for (int f = F_NAME; f <= F_CA; f++)
            if (v[f] == NULL)
                return brrctl_fail("org add: %s is required", flags[f]);
        p[0] = code;
        for (int f = F_NAME; f <= F_TIMEOUT; f++)
            p[f + 1] = v[f];
        if (run("INSERT INTO connector.organisations (code, name, oin, "
                "endpoint_url, client_cert, client_key, ca_bundle, "
                "signing_secret_ref, bearer_token_ref, concurrency, "
                "timeout_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                "coalesce($10::int, 64), coalesce($11::int, 15000))",
                11, p, NULL) != 0)
            return 1;
        printf("organisation %s added; run brrctl topics for its topic\n",
               code);
        return 0;
    }
    if (strcmp(argv[0], "update") == 0) {
        const char *p[11];
        p[0] = code;
        for (int f = F_NAME; f <= F_TIMEOUT; f++)
            p[f + 1] = v[f];
        return run("UPDATE connector.organisations SET "
                   "name = coalesce($2, name), oin = coalesce($3, oin), "
                   "endpoint_url = coalesce($4, endpoint_url), "
                   "client_cert = coalesce($5, client_cert), "
                   "client_key = coalesce($6, client_key), "
                   "ca_bundle = coalesce($7, ca_bundle), "
                   "signing_secret_ref = coalesce($8, signing_secret_ref), "
                   "bearer_token_ref = coalesce($9, bearer_token_ref), "
                   "concurrency = coalesce($10::int, concurrency), "
                   "timeout_ms = coalesce($11::int, timeout_ms), "
                   "updated_at = now() WHERE code = $1",
                   11, p, NULL);
    }
    if (strcmp(argv[0], "disable") == 0 || strcmp(argv[0], "enable") == 0) {
        int on = strcmp(argv[0], "enable") == 0;
        const char *p[3] = {code, on ? "true" : "false",
                            on ? NULL
                               : (v[F_REASON] ? v[F_REASON] : "operator")};
        return run("UPDATE connector.organisations SET enabled = $2::bool, "
                   "disabled_reason = $3, updated_at = now() WHERE code = $1",
                   3, p, NULL);
    }
    return brrctl_fail("org: unknown action \"%s\"", argv[0]);
}
