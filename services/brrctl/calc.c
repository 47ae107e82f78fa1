/*
 * brrctl calc: the rules without the stack.  One JSON request on stdin, one
 * JSON result on stdout, through the same code the services run:
 *
 *   brrctl calc capacity    < request.json   (capacity_json.h)
 *   brrctl calc capacity --norm-set 2024-01-01.r1 < request.json
 *                           with exactly that norm set (current or
 *                           superseded) instead of the one the date picks
 *   brrctl calc capacity --replay [ID] [< stored.json]
 *                           recomputes a stored assessment with the norm set
 *                           it names and compares: ID (assessment or
 *                           application id) reads the row from
 *                           capacity.assessments, without ID stdin holds
 *                           {"inputs":..., "result":..., "norm_set":...}.
 *                           Exits 0 when every stored field is reproduced,
 *                           1 when not (the differences are printed) or
 *                           when the norm set it names is not loaded.
 *   brrctl calc distribute  < request.json   (distribute_json.h)
 *
 * Bad input exits 1 with a message naming the field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "brrctl.h"
#include "capacity_json.h"
#include "config.h"
#include "distribute_json.h"
#include "pg.h"

#define CALC_MAX_INPUT (4 * 1024 * 1024)

static char *read_stdin(size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    if (buf == NULL)
        abort();
    while ((r = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += r;
        if (n == cap) {
            if (cap >= CALC_MAX_INPUT) {
                free(buf);
                return NULL;
            }
            cap *= 2;
            buf = realloc(buf, cap + 1);
            if (buf == NULL)
                abort();
        }
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The stored assessment whose assessment or application id is id, as the
 * object capacity_replay_json() reads (malloc'd), or NULL after saying
 * why. */
static char *read_assessment(const char *id)
{
    const char *p[1] = {id};
    PGresult *res = NULL;
    brr_pg_t *pg;
    char *text = NULL;

    if (strlen(id) != 36) {
        brrctl_fail("calc capacity: %.64s is not an assessment or "
                    "application id (a UUID)",
                    id);
        return NULL;
    }
    if ((pg = brrctl_connect()) == NULL)
        return NULL;
    if (brr_pg_query(pg,
                     "SELECT json_build_object('inputs', inputs, 'result', "
                     "result, 'norm_set', norm_set, 'rule_version', "
                     "rule_version)::text FROM capacity.assessments WHERE "
                     "assessment_id = $1::uuid OR application_id = $1::uuid",
                     1, p, &res) != 0)
        brrctl_fail("calc capacity: could not read the assessment");
    else if (PQntuples(res) == 0)
        brrctl_fail("calc capacity: no assessment with assessment or "
                    "application id %s",
                    id);
    else if ((text = strdup(PQgetvalue(res, 0, 0))) == NULL)
        abort();
    PQclear(res);
    brr_pg_close(pg);
    return text;
}

/* brrctl calc capacity [--norm-set ID | --replay [ID]] */
static int calc_capacity(int argc, char **argv)
{
    static char *dir;
    static const brr_config_entry_t conf[] = {
        {"BRR_NORMSET_DIR", BRR_CONF_STRING, &dir, "data/normsets", 0, 0, 0,
         "directory of norm set files"},
        {0}};
    const char *pin = NULL, *replay_id = NULL;
    int replay = 0, rc;
    char err[512] = "";
    char *in, *out = NULL;
    size_t len = 0;
    brr_normsets_t sets;

    if (argc == 2 && strcmp(argv[0], "--norm-set") == 0)
        pin = argv[1];
    else if ((argc == 1 || argc == 2) && strcmp(argv[0], "--replay") == 0) {
        replay = 1;
        replay_id = argc == 2 ? argv[1] : NULL;
    } else if (argc != 0)
        return brrctl_fail("calc capacity: expected no argument, "
                           "--norm-set ID or --replay [ID]");
    if (brr_config_load(conf, err, sizeof(err)) != 0 ||
        capacity_normsets_load_dir(dir, &sets, err, sizeof(err)) != 0)
        return brrctl_fail("calc capacity: %s", err);
    if (replay_id != NULL) {
        in = read_assessment(replay_id);
        if (in != NULL)
            len = strlen(in);
    } else if ((in = read_stdin(&len)) == NULL) {
        brrctl_fail("calc: request larger than %d bytes", CALC_MAX_INPUT);
    }
    if (in == NULL) {
        capacity_normsets_free(&sets);
        return 1;
    }
    if (replay)
        rc = capacity_replay_json(in, len, &sets, &out, err, sizeof(err));
    else
        rc = capacity_calc_json_with(in, len, &sets, pin, NULL, &out, err,
                                     sizeof(err));
    capacity_normsets_free(&sets);
    free(in);
    if (rc != 0)
        return brrctl_fail("calc capacity: %s", err);
    printf("%s\n", out);
    if (replay) {
        json_t *j = json_loads(out, 0, NULL);

        rc = json_is_true(json_object_get(j, "reproduced")) ? 0 : 1;
        json_decref(j);
        if (rc != 0)
            brrctl_fail("calc capacity: the stored assessment is not "
                        "reproduced (see \"tried\")");
    }
    free(out);
    return rc;
}

int brrctl_calc(int argc, char **argv)
{
    char err[512] = "";
    char *in, *out = NULL;
    size_t len;
    int rc;

    if (argc >= 1 && strcmp(argv[0], "capacity") == 0)
        return calc_capacity(argc - 1, argv + 1);
    if (argc < 1 || strcmp(argv[0], "distribute") != 0)
        return brrctl_fail("calc: expected \"capacity\" or \"distribute\"");
    if ((in = read_stdin(&len)) == NULL)
        return brrctl_fail("calc: request larger than %d bytes",
                           CALC_MAX_INPUT);
    rc = dist_calc_json(in, len, &out, err, sizeof(err));
    free(in);
    if (rc != 0)
        return brrctl_fail("calc %s: %s", argv[0], err);
    printf("%s\n", out);
    free(out);
    return 0;
}
