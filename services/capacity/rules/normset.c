/*
 * normset.c: loads and validates the norm-set files (normset.h).
 *
 * Runs once at start-up of brr-capacity and brrctl; a bad file stops the
 * program with one message naming the file and the field, so a wrong figure
 * can never reach a citizen's assessment silently.
 */
#include "normset.h"

#include "err.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const hh_keys[BRR_HH_COUNT] = {
    "single", "single_parent", "couple", "couple_with_children"};

static int fail(char *err, size_t errcap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errcap, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errcap > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Refuses any key of obj not in allowed (NULL-terminated). */
static int only_keys(json_t *obj, const char *const *allowed, const char *nm,
                     const char *path, char *err, size_t errcap)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        int ok = 0;

        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = 1;
        if (!ok)
            return fail(err, errcap, BRR_EINVAL, "%s: %s%s%s: unknown field",
                        nm, path, *path ? "." : "", key);
    }
    return 0;
}

static int get_date(json_t *root, const char *key, const char *nm,
                    brr_date_t *out, char *err, size_t errcap)
{
    json_t *v = json_object_get(root, key);
    const char *s;

    if (v == NULL)
        return fail(err, errcap, BRR_EINVAL, "%s: %s: missing", nm, key);
    s = json_string_value(v);
    if (s == NULL || capacity_date_parse(s, json_string_length(v), out) != 0)
        return fail(err, errcap, BRR_EINVAL,
                    "%s: %s: must be a date \"YYYY-MM-DD\"", nm, key);
    return 0;
}

/* Reads {"cents": N, "source": "..."}: N > 0, source non-empty. */
static int get_figure(json_t *parent, const char *pname, const char *key,
                      const char *nm, brr_cents_t *out, char *err,
                      size_t errcap)
{
    static const char *const keys[] = {"cents", "source", NULL};
    json_t *fig = json_object_get(parent, key), *c, *s;
    char path[64];
    int rc;

    snprintf(path, sizeof(path), "%s.%s", pname, key);
    if (fig == NULL || json_is_null(fig))
        return fail(err, errcap, BRR_EINVAL, "%s: %s: missing figure", nm,
                    path);
    if (!json_is_object(fig))
        return fail(err, errcap, BRR_EINVAL,
                    "%s: %s: must be an object {\"cents\", \"source\"}", nm,
                    path);
    if ((rc = only_keys(fig, keys, nm, path, err, errcap)) != 0)
        return rc;
    c = json_object_get(fig, "cents");
    s = json_object_get(fig, "source");
    if (c == NULL)
        return fail(err, errcap, BRR_EINVAL, "%s: %s.cents: missing figure", nm,
                    path);
    if (!json_is_integer(c) || json_integer_value(c) <= 0 ||
        json_integer_value(c) > BRR_CENTS_MAX)
        return fail(err, errcap, BRR_EINVAL,
                    "%s: %s.cents: must be a positive integer (cents)", nm,
                    path);
    if (s == NULL || !json_is_string(s) || json_string_length(s) == 0)
        return fail(err, errcap, BRR_EINVAL,
                    "%s: %s.source: every figure needs its source", nm, path);
    *out = (brr_cents_t)json_integer_value(c);
    return 0;
}

static int need_object(json_t *root, const char *key, const char *nm,
                       json_t **out, char *err, size_t errcap)
{
    *out = json_object_get(root, key);
    if (*out == NULL)
        return fail(err, errcap, BRR_EINVAL, "%s: %s: missing", nm, key);
    if (!json_is_object(*out))
        return fail(err, errcap, BRR_EINVAL, "%s: %s: must be an object", nm,
                    key);
    return 0;
}

static int check_semantics(const brr_normset_t *ns, const char *nm, char *err,
                           size_t errcap)
{
    /* The group 3 maximum can never lie below group 1's protection at the
     * norm itself; a figure that does is a typing error. */
    for (int hh = 0; hh < BRR_HH_COUNT && ns->has_bvv_max; hh++) {
        int couple = hh == BRR_HH_COUPLE || hh == BRR_HH_COUPLE_WITH_CHILDREN;

        for (int aow = 0; aow < 2; aow++) {
            brr_cents_t floor95;

            if (brr_money_muldiv_ceil(ns->norm[couple][aow], 9500, 10000,
                                      &floor95) != 0)
                return fail(err, errcap, BRR_EINVAL, "%s: overflow", nm);
            if (ns->bvv_max[hh] < floor95)
                return fail(err, errcap, BRR_EINVAL,
                            "%s: bvv_max.%s: %lld is below 95%% of the "
                            "bijstandsnorm (%lld)",
                            nm, hh_keys[hh], (long long)ns->bvv_max[hh],
                            (long long)floor95);
        }
    }
    return 0;
}

int capacity_normset_parse(const char *json, size_t len, const char *name,
                           brr_normset_t *out, char *err, size_t errcap)
{
    static const char *const top[] = {"version",         "effective_from",
                                      "effective_until", "description",
                                      "bijstandsnorm",   "bvv_max",
                                      "bvv_max_note",    "toeslagen",
                                      "toeslagen_note",  NULL};
    static const char *const norm_keys[] = {"single", "couple", "single_aow",
                                            "couple_aow", NULL};
    static const char *const max_keys[] = {"single", "single_parent", "couple",
                                           "couple_with_children", NULL};
    const char *nm = name != NULL ? name : "norm set";
    json_error_t jerr;
    json_t *root, *v, *bn, *mx;
    brr_normset_t ns;
    const char *s;
    int rc = BRR_EINVAL;

    memset(&ns, 0, sizeof(ns));
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return fail(err, errcap, BRR_EPARSE, "%s: line %d: %s", nm, jerr.line,
                    jerr.text);
    if (!json_is_object(root)) {
        fail(err, errcap, BRR_EINVAL, "%s: must be a JSON object", nm);
        goto out;
    }
    if (only_keys(root, top, nm, "", err, errcap) != 0)
        goto out;

    v = json_object_get(root, "version");
    s = json_string_value(v);
    if (s == NULL || json_string_length(v) != 10) {
        fail(err, errcap, BRR_EINVAL,
             "%s: version: must be the effective date \"YYYY-MM-DD\"", nm);
        goto out;
    }
    memcpy(ns.version, s, 11);
    if (get_date(root, "effective_from", nm, &ns.from, err, errcap) != 0 ||
        get_date(root, "effective_until", nm, &ns.until, err, errcap) != 0)
        goto out;
    if (ns.until < ns.from) {
        fail(err, errcap, BRR_EINVAL,
             "%s: effective_until is before effective_from", nm);
        goto out;
    }
    {
        char iso[11];

        capacity_date_format_iso(ns.from, iso);
        if (strcmp(iso, ns.version) != 0) {
            fail(err, errcap, BRR_EINVAL,
                 "%s: version \"%s\" differs from effective_from \"%s\"", nm,
                 ns.version, iso);
            goto out;
        }
    }
    if (name != NULL) {
        size_t n = strlen(name);
        const char *base = strrchr(name, '/');

        base = base != NULL ? base + 1 : name;
        n = strlen(base);
        if (n > 5 && strcmp(base + n - 5, ".json") == 0 &&
            (n - 5 != 10 || strncmp(base, ns.version, 10) != 0)) {
            fail(err, errcap, BRR_EINVAL,
                 "%s: file name must be the version \"%s.json\"", nm,
                 ns.version);
            goto out;
        }
    }

    if (need_object(root, "bijstandsnorm", nm, &bn, err, errcap) != 0 ||
        only_keys(bn, norm_keys, nm, "bijstandsnorm", err, errcap) != 0)
        goto out;
    if (get_figure(bn, "bijstandsnorm", "single", nm, &ns.norm[0][0], err,
                   errcap) != 0 ||
        get_figure(bn, "bijstandsnorm", "single_aow", nm, &ns.norm[0][1], err,
                   errcap) != 0 ||
        get_figure(bn, "bijstandsnorm", "couple", nm, &ns.norm[1][0], err,
                   errcap) != 0 ||
        get_figure(bn, "bijstandsnorm", "couple_aow", nm, &ns.norm[1][1], err,
                   errcap) != 0)
        goto out;

    mx = json_object_get(root, "bvv_max");
    if (mx == NULL) {
        fail(err, errcap, BRR_EINVAL,
             "%s: bvv_max: missing (write null with a bvv_max_note when the "
             "maxima are not available)",
             nm);
        goto out;
    }
    if (json_is_null(mx)) {
        v = json_object_get(root, "bvv_max_note");
        if (!json_is_string(v) || json_string_length(v) == 0) {
            fail(err, errcap, BRR_EINVAL,
                 "%s: bvv_max_note: required when bvv_max is null", nm);
            goto out;
        }
    } else {
        if (!json_is_object(mx)) {
            fail(err, errcap, BRR_EINVAL, "%s: bvv_max: must be an object", nm);
            goto out;
        }
        if (only_keys(mx, max_keys, nm, "bvv_max", err, errcap) != 0)
            goto out;
        for (int hh = 0; hh < BRR_HH_COUNT; hh++)
            if (get_figure(mx, "bvv_max", hh_keys[hh], nm, &ns.bvv_max[hh], err,
                           errcap) != 0)
                goto out;
        ns.has_bvv_max = 1;
    }

    v = json_object_get(root, "toeslagen");
    if (v == NULL || !json_is_null(v)) {
        fail(err, errcap, BRR_EINVAL,
             "%s: toeslagen: must be null; this rule version has no group 2 "
             "formula (see toeslagen_note)",
             nm);
        goto out;
    }
    v = json_object_get(root, "toeslagen_note");
    if (!json_is_string(v) || json_string_length(v) == 0) {
        fail(err, errcap, BRR_EINVAL,
             "%s: toeslagen_note: required when toeslagen is null", nm);
        goto out;
    }
    if (check_semantics(&ns, nm, err, errcap) != 0)
        goto out;

    *out = ns;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int cmp_from(const void *a, const void *b)
{
    const brr_normset_t *x = a, *y = b;

    return (x->from > y->from) - (x->from < y->from);
}

int capacity_normsets_init(brr_normsets_t *out, const brr_normset_t *sets,
                           size_t n, char *err, size_t errcap)
{
    brr_normset_t *v;

    out->sets = NULL;
    out->n = 0;
    if (n == 0)
        return fail(err, errcap, BRR_EINVAL, "no norm sets");
    v = malloc(n * sizeof(*v));
    if (v == NULL)
        abort();
    memcpy(v, sets, n * sizeof(*v));
    qsort(v, n, sizeof(*v), cmp_from);
    for (size_t i = 1; i < n; i++) {
        if (v[i].from <= v[i - 1].until) {
            int rc = fail(err, errcap, BRR_EINVAL,
                          "norm set %s overlaps norm set %s", v[i].version,
                          v[i - 1].version);
            free(v);
            return rc;
        }
    }
    out->sets = v;
    out->n = n;
    return 0;
}

static int read_file(const char *path, char **buf, size_t *len, char *err,
                     size_t errcap)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 8192, n = 0, r;
    char *b;

    if (f == NULL)
        return fail(err, errcap, BRR_EIO, "could not open %s: %s", path,
                    strerror(errno));
    b = malloc(cap);
    if (b == NULL)
        abort();
    while ((r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            if (cap >= (size_t)1 << 20) {
                free(b);
                fclose(f);
                return fail(err, errcap, BRR_EINVAL, "%s: larger than 1 MiB",
                            path);
            }
            cap *= 2;
            b = realloc(b, cap);
            if (b == NULL)
                abort();
        }
    }
    if (ferror(f)) {
        free(b);
        fclose(f);
        return fail(err, errcap, BRR_EIO, "could not read %s", path);
    }
    fclose(f);
    *buf = b;
    *len = n;
    return 0;
}

int capacity_normsets_load_dir(const char *dir, brr_normsets_t *out, char *err,
                               size_t errcap)
{
    DIR *d;
    struct dirent *de;
    brr_normset_t *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    out->sets = NULL;
    out->n = 0;
    d = opendir(dir);
    if (d == NULL)
        return fail(err, errcap, BRR_EIO,
                    "could not open norm set directory %s: %s", dir,
                    strerror(errno));
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        char path[4096];
        char *buf = NULL;
        size_t len = 0;

        if (nl < 6 || strcmp(de->d_name + nl - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if ((rc = read_file(path, &buf, &len, err, errcap)) != 0)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            v = realloc(v, cap * sizeof(*v));
            if (v == NULL)
                abort();
        }
        rc = capacity_normset_parse(buf, len, de->d_name, &v[n], err, errcap);
        free(buf);
        if (rc == 0)
            n++;
    }
    closedir(d);
    if (rc == 0 && n == 0)
        rc = fail(err, errcap, BRR_EINVAL, "no *.json norm sets in %s", dir);
    if (rc == 0)
        rc = capacity_normsets_init(out, v, n, err, errcap);
    free(v);
    return rc;
}

const brr_normset_t *capacity_normsets_find(const brr_normsets_t *sets,
                                            brr_date_t t)
{
    size_t lo = 0, hi;

    if (sets == NULL || sets->n == 0)
        return NULL;
    hi = sets->n;
    /* Last set with from <= t. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (sets->sets[mid].from <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    return t <= sets->sets[lo - 1].until ? &sets->sets[lo - 1] : NULL;
}

void capacity_normsets_free(brr_normsets_t *sets)
{
    if (sets == NULL)
        return;
    free(sets->sets);
    sets->sets = NULL;
    sets->n = 0;
}
