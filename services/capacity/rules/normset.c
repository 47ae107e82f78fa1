/*
 * normset.c: loads and validates the norm-set files (normset.h).
 *
 * Runs once at start-up of brr-capacity and brrctl; a bad file stops the
 * program with one message naming the file and the field, so a wrong figure
 * can never reach a citizen's assessment silently.  The revision checks
 * (one current revision per version, no identifier twice, no earlier
 * revision lost) keep every identifier a stored assessment names
 * resolvable to the figures it was made with.
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

/* "revision": an integer 1..BRR_NORMSET_MAX_REV, required; a revision
 * above 1 says in "revision_note" what it corrected.  Fills ns->revision
 * and ns->id (ns->version is set). */
static int get_revision(json_t *root, const char *nm, brr_normset_t *ns,
                        char *err, size_t errcap)
{
    json_t *v = json_object_get(root, "revision");
    json_t *note = json_object_get(root, "revision_note");

    if (v == NULL)
        return fail(err, errcap, BRR_EINVAL,
                    "%s: revision: missing (an integer >= 1; a corrected set "
                    "is a new revision, see README.md)",
                    nm);
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > BRR_NORMSET_MAX_REV)
        return fail(err, errcap, BRR_EINVAL,
                    "%s: revision: must be an integer from 1 to %d", nm,
                    BRR_NORMSET_MAX_REV);
    ns->revision = (int)json_integer_value(v);
    if (note != NULL &&
        (!json_is_string(note) || json_string_length(note) == 0))
        return fail(err, errcap, BRR_EINVAL,
                    "%s: revision_note: must be a non-empty string", nm);
    if (note == NULL && ns->revision > 1)
        return fail(err, errcap, BRR_EINVAL,
                    "%s: revision_note: required for revision %d (what it "
                    "corrects in revision %d)",
                    nm, ns->revision, ns->revision - 1);
    snprintf(ns->id, sizeof(ns->id), "%s.r%d", ns->version, ns->revision);
    return 0;
}

int capacity_normset_parse(const char *json, size_t len, const char *name,
                           brr_normset_t *out, char *err, size_t errcap)
{
    static const char *const top[] = {
        "version",         "revision",    "revision_note",  "effective_from",
        "effective_until", "description", "bijstandsnorm",  "bvv_max",
        "bvv_max_note",    "toeslagen",   "toeslagen_note", NULL};
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
    if (get_revision(root, nm, &ns, err, errcap) != 0)
        goto out;
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
        const char *base = strrchr(name, '/');
        size_t n;

        base = base != NULL ? base + 1 : name;
        n = strlen(base);
        if (n > 5 && strcmp(base + n - 5, ".json") == 0 &&
            !(n - 5 == 10 && strncmp(base, ns.version, 10) == 0) &&
            !(n - 5 == strlen(ns.id) && strncmp(base, ns.id, n - 5) == 0)) {
            fail(err, errcap, BRR_EINVAL,
                 "%s: file name must be the version \"%s.json\" (or, for a "
                 "superseded revision, \"%s.json\")",
                 nm, ns.version, ns.id);
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

    if (x->from != y->from)
        return (x->from > y->from) - (x->from < y->from);
    return (x->revision > y->revision) - (x->revision < y->revision);
}

/* The file a set was loaded from, relative to the norm-set directory. */
static const char *file_of(const brr_normset_t *ns, char buf[64])
{
    if (ns->superseded)
        snprintf(buf, 64, "superseded/%s.json", ns->id);
    else
        snprintf(buf, 64, "%s.json", ns->version);
    return buf;
}

/* The current set of version, in cur (sorted by from), or NULL. */
static const brr_normset_t *current_of(const brr_normset_t *cur, size_t n,
                                       const char *version)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cur[i].version, version) == 0)
            return &cur[i];
    return NULL;
}

/* The revision checks of capacity_normsets_init(): cur sorted by from,
 * sup by version and revision. */
static int check_revisions(const brr_normset_t *cur, size_t ncur,
                           const brr_normset_t *sup, size_t nsup, char *err,
                           size_t errcap)
{
    char fa[64], fb[64];

    for (size_t i = 1; i < ncur; i++)
        if (strcmp(cur[i].version, cur[i - 1].version) == 0)
            return fail(err, errcap, BRR_EINVAL,
                        "norm set %s: two current revisions (r%d and r%d); "
                        "exactly one may be current, the older belongs in "
                        "superseded/%s.json",
                        cur[i].version, cur[i - 1].revision, cur[i].revision,
                        cur[i - 1].id);
    for (size_t i = 0; i < nsup; i++) {
        const brr_normset_t *c = current_of(cur, ncur, sup[i].version);

        if (i > 0 && strcmp(sup[i].id, sup[i - 1].id) == 0)
            return fail(err, errcap, BRR_EINVAL,
                        "duplicate norm set identifier %s: %s is loaded twice",
                        sup[i].id, file_of(&sup[i], fa));
        if (c == NULL)
            return fail(err, errcap, BRR_EINVAL,
                        "%s: no current revision of norm set %s (%s.json "
                        "missing)",
                        file_of(&sup[i], fa), sup[i].version, sup[i].version);
        if (c->revision == sup[i].revision)
            return fail(err, errcap, BRR_EINVAL,
                        "duplicate norm set identifier %s: %s and %s",
                        sup[i].id, file_of(c, fa), file_of(&sup[i], fb));
        if (c->revision < sup[i].revision)
            return fail(err, errcap, BRR_EINVAL,
                        "%s: superseded revision %d is not below the current "
                        "revision %d in %s",
                        file_of(&sup[i], fa), sup[i].revision, c->revision,
                        file_of(c, fb));
    }
    /* Every revision that was ever current may be named by a stored
     * assessment, so all of 1..N-1 must still be here. */
    for (size_t i = 0; i < ncur; i++) {
        int want = 1;

        for (size_t k = 0; k < nsup && want < cur[i].revision; k++) {
            if (strcmp(sup[k].version, cur[i].version) != 0)
                continue;
            if (sup[k].revision != want)
                break;
            want++;
        }
        if (want < cur[i].revision)
            return fail(err, errcap, BRR_EINVAL,
                        "%s: revision %d, but superseded/%s.r%d.json is "
                        "missing; every earlier revision must stay to "
                        "reproduce the assessments made with it",
                        file_of(&cur[i], fa), cur[i].revision, cur[i].version,
                        want);
    }
    return 0;
}

int capacity_normsets_init(brr_normsets_t *out, const brr_normset_t *sets,
                           size_t n, char *err, size_t errcap)
{
    brr_normset_t *cur, *sup;
    size_t ncur = 0, nsup = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        if (!sets[i].superseded)
            ncur++;
    if (ncur == 0)
        return fail(err, errcap, BRR_EINVAL, "no norm sets");
    nsup = n - ncur;
    cur = malloc(ncur * sizeof(*cur));
    sup = nsup > 0 ? malloc(nsup * sizeof(*sup)) : NULL;
    if (cur == NULL || (nsup > 0 && sup == NULL))
        abort();
    ncur = nsup = 0;
    for (size_t i = 0; i < n; i++) {
        if (sets[i].superseded)
            sup[nsup++] = sets[i];
        else
            cur[ncur++] = sets[i];
    }
    qsort(cur, ncur, sizeof(*cur), cmp_from);
    if (nsup > 0)
        qsort(sup, nsup, sizeof(*sup), cmp_from);
    rc = check_revisions(cur, ncur, sup, nsup, err, errcap);
    for (size_t i = 1; rc == 0 && i < ncur; i++)
        if (cur[i].from <= cur[i - 1].until)
            rc = fail(err, errcap, BRR_EINVAL,
                      "norm set %s overlaps norm set %s", cur[i].version,
                      cur[i - 1].version);
    if (rc != 0) {
        free(cur);
        free(sup);
        return rc;
    }
    out->sets = cur;
    out->n = ncur;
    out->superseded = sup;
    out->nsuperseded = nsup;
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

typedef struct {
    brr_normset_t *v;
    size_t n, cap;
} set_list_t;

/* Parses every *.json in dir/sub (sub "" or "superseded") into list.  A
 * current set's file is <version>.json, a superseded one's <id>.json.  A
 * missing superseded directory is no error. */
static int load_files(const char *dir, const char *sub, set_list_t *list,
                      char *err, size_t errcap)
{
    const int superseded = *sub != '\0';
    char dpath[4096];
    DIR *d;
    struct dirent *de;
    int rc = 0;

    snprintf(dpath, sizeof(dpath), "%s%s%s", dir, superseded ? "/" : "", sub);
    d = opendir(dpath);
    if (d == NULL) {
        if (superseded && errno == ENOENT)
            return 0;
        return fail(err, errcap, BRR_EIO,
                    "could not open norm set directory %s: %s", dpath,
                    strerror(errno));
    }
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        char path[4400], name[320];
        char *buf = NULL;
        size_t len = 0;
        brr_normset_t *ns;

        if (nl < 6 || nl > 255 || strcmp(de->d_name + nl - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dpath, de->d_name);
        snprintf(name, sizeof(name), "%s%s%s", sub, superseded ? "/" : "",
                 de->d_name);
        if ((rc = read_file(path, &buf, &len, err, errcap)) != 0)
            break;
        if (list->n == list->cap) {
            list->cap = list->cap ? list->cap * 2 : 8;
            list->v = realloc(list->v, list->cap * sizeof(*list->v));
            if (list->v == NULL)
                abort();
        }
        ns = &list->v[list->n];
        rc = capacity_normset_parse(buf, len, name, ns, err, errcap);
        free(buf);
        if (rc != 0)
            break;
        ns->superseded = superseded;
        if (!superseded && nl - 5 != 10)
            rc = fail(err, errcap, BRR_EINVAL,
                      "%s: a superseded revision belongs in "
                      "superseded/%s.json; the current revision is %s.json",
                      name, ns->id, ns->version);
        else if (superseded && (nl - 5 != strlen(ns->id) ||
                                strncmp(de->d_name, ns->id, nl - 5) != 0))
            rc = fail(err, errcap, BRR_EINVAL,
                      "%s: a superseded file is named after its identifier: "
                      "superseded/%s.json",
                      name, ns->id);
        if (rc == 0)
            list->n++;
    }
    closedir(d);
    return rc;
}

int capacity_normsets_load_dir(const char *dir, brr_normsets_t *out, char *err,
                               size_t errcap)
{
    set_list_t list = {NULL, 0, 0};
    size_t ncur;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = load_files(dir, "", &list, err, errcap);
    ncur = list.n;
    if (rc == 0 && ncur == 0)
        rc = fail(err, errcap, BRR_EINVAL, "no *.json norm sets in %s", dir);
    if (rc == 0)
        rc = load_files(dir, "superseded", &list, err, errcap);
    if (rc == 0)
        rc = capacity_normsets_init(out, list.v, list.n, err, errcap);
    free(list.v);
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

int capacity_normset_id_parse(const char *id, char version[11], int *revision)
{
    brr_date_t t;
    size_t n;
    int rev = 0;

    if (id == NULL)
        return BRR_EINVAL;
    n = strlen(id);
    if (n < 10 || capacity_date_parse(id, 10, &t) != 0)
        return BRR_EINVAL;
    if (n > 10) {
        /* ".r" then 1 to 4 digits, no leading zero */
        if (n < 13 || n > 16 || id[10] != '.' || id[11] != 'r' || id[12] == '0')
            return BRR_EINVAL;
        for (size_t i = 12; i < n; i++) {
            if (id[i] < '0' || id[i] > '9')
                return BRR_EINVAL;
            rev = rev * 10 + (id[i] - '0');
        }
    }
    memcpy(version, id, 10);
    version[10] = '\0';
    *revision = rev;
    return 0;
}

const brr_normset_t *capacity_normsets_find_id(const brr_normsets_t *sets,
                                               const char *id)
{
    if (sets == NULL || id == NULL)
        return NULL;
    for (size_t i = 0; i < sets->n; i++)
        if (strcmp(sets->sets[i].id, id) == 0)
            return &sets->sets[i];
    for (size_t i = 0; i < sets->nsuperseded; i++)
        if (strcmp(sets->superseded[i].id, id) == 0)
            return &sets->superseded[i];
    return NULL;
}

size_t capacity_normsets_revisions(const brr_normsets_t *sets,
                                   const char *version,
                                   const brr_normset_t **out, size_t cap)
{
    size_t k = 0;

    if (sets == NULL || version == NULL)
        return 0;
    /* superseded is sorted by revision and holds only revisions below the
     * current one, so the current set comes last. */
    for (size_t i = 0; i < sets->nsuperseded; i++)
        if (strcmp(sets->superseded[i].version, version) == 0) {
            if (k < cap)
                out[k] = &sets->superseded[i];
            k++;
        }
    for (size_t i = 0; i < sets->n; i++)
        if (strcmp(sets->sets[i].version, version) == 0) {
            if (k < cap)
                out[k] = &sets->sets[i];
            k++;
        }
    return k;
}

void capacity_normsets_free(brr_normsets_t *sets)
{
    if (sets == NULL)
        return;
    free(sets->sets);
    free(sets->superseded);
    memset(sets, 0, sizeof(*sets));
}
