/*
 * brrctl migrate: applies migrations/NNNN_name.sql in order, each in its own
 * transaction, under an advisory lock so two runs never interleave.  The
 * SHA-256 of every applied file is recorded; a file changed after it was
 * applied stops the run (migrations are forward-only: add a new one).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "brrctl.h"
#include "pg.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int brrctl_migrate(int argc, char **argv)
{
    const char *dir = argc > 0 ? argv[0] : brrctl_conf.migrations_dir;
    DIR *d = opendir(dir);
    struct dirent *de;
    char **files = NULL;
    size_t n = 0, applied = 0;
    brr_pg_t *pg;
    int rc = 0;

    if (d == NULL)
        return brrctl_fail("could not open migrations directory \"%s\"", dir);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 9 || strcmp(de->d_name + l - 4, ".sql") != 0 ||
            strspn(de->d_name, "0123456789") != 4 || de->d_name[4] != '_')
            continue;
        files = realloc(files, (n + 1) * sizeof(*files));
        files[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(files, n, sizeof(*files), by_name);

    if ((pg = brrctl_connect()) == NULL)
        return 1;
    if (brr_pg_exec(pg, "SELECT pg_advisory_lock(hashtext('brr.migrate'))") ||
        brr_pg_exec(pg, "CREATE TABLE IF NOT EXISTS public.schema_migrations ("
                        "version int PRIMARY KEY, name text NOT NULL, "
                        "checksum text NOT NULL, applied_at timestamptz NOT "
                        "NULL DEFAULT now())")) {
        brr_pg_close(pg);
        return brrctl_fail("could not prepare the migrations table");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096], sum[65], ver[8];
        size_t len;
        char *sql;
        PGresult *res;
        const char *p[3];

        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        snprintf(ver, sizeof(ver), "%.4s", files[i]);
        if ((sql = read_file(path, &len)) == NULL) {
            rc = brrctl_fail("could not read migration \"%s\"", path);
            break;
        }
        sha256_hex(sql, len, sum);
        p[0] = ver;
        if (brr_pg_query(pg,
                         "SELECT checksum FROM public.schema_migrations "
                         "WHERE version = $1::int",
                         1, p, &res) != 0) {
            free(sql);
            rc = brrctl_fail("could not read the migrations table");
            break;
        }
        if (PQntuples(res) == 1) {
            if (strcmp(PQgetvalue(res, 0, 0), sum) != 0)
                rc = brrctl_fail("migration %s was changed after it was "
                                 "applied (checksum %.12s, recorded %.12s): "
                                 "add a new migration instead",
                                 files[i], sum, PQgetvalue(res, 0, 0));
            PQclear(res);
            free(sql);
            continue;
        }
        PQclear(res);
        p[1] = files[i];
        p[2] = sum;
        if (brr_pg_begin(pg) != 0 || brr_pg_exec(pg, sql) != 0 ||
            brr_pg_query(pg,
                         "INSERT INTO public.schema_migrations "
                         "(version, name, checksum) VALUES ($1::int, $2, $3)",
                         3, p, NULL) != 0 ||
            brr_pg_commit(pg) != 0) {
            brr_pg_rollback(pg);
            rc = brrctl_fail("migration %s failed; nothing of it was applied",
                             files[i]);
        } else {
            printf("applied %s\n", files[i]);
            applied++;
        }
        free(sql);
    }
    if (rc == 0)
        printf("migrations: %zu applied, %zu total\n", applied, n);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    brr_pg_close(pg);
    return rc;
}
