/*
 * brrctl calc: the rules without the stack.  One JSON request on stdin, one
 * JSON result on stdout, through the same code the services run:
 *
 *   brrctl calc capacity    < request.json   (capacity_json.h)
 *   brrctl calc distribute  < request.json   (distribute_json.h)
 *
 * Bad input exits 1 with a message naming the field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brrctl.h"
#include "capacity_json.h"
#include "config.h"
#include "distribute_json.h"

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

int brrctl_calc(int argc, char **argv)
{
    char err[512] = "";
    char *in, *out = NULL;
    size_t len;
    int rc;

    if (argc < 1 || (strcmp(argv[0], "capacity") != 0 &&
                     strcmp(argv[0], "distribute") != 0))
        return brrctl_fail("calc: expected \"capacity\" or \"distribute\"");
    if ((in = read_stdin(&len)) == NULL)
        return brrctl_fail("calc: request larger than %d bytes",
                           CALC_MAX_INPUT);
    if (strcmp(argv[0], "capacity") == 0) {
        static char *dir;
        static const brr_config_entry_t conf[] = {
            {"BRR_NORMSET_DIR", BRR_CONF_STRING, &dir, "data/normsets", 0, 0,
             0, "directory of norm set files"},
            {0}};
        brr_normsets_t sets;
        if (brr_config_load(conf, err, sizeof(err)) != 0 ||
            capacity_normsets_load_dir(dir, &sets, err, sizeof(err)) != 0) {
            free(in);
            return brrctl_fail("calc capacity: %s", err);
        }
        rc = capacity_calc_json(in, len, &sets, NULL, &out, err, sizeof(err));
        capacity_normsets_free(&sets);
    } else {
        rc = dist_calc_json(in, len, &out, err, sizeof(err));
    }
    free(in);
    if (rc != 0)
        return brrctl_fail("calc %s: %s", argv[0], err);
    printf("%s\n", out);
    free(out);
    return 0;
}
