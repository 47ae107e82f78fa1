/*
 * capacity_json.c: request and result JSON for capacity_assess()
 * (capacity_json.h).
 *
 * Every message names the field it is about, so an operator running
 * `brrctl calc capacity` and a caller of brr-capacity read the same text.
 */
#include "capacity_json.h"

#include "err.h"
#include "validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REFERENCE 64

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

static int only_keys(json_t *obj, const char *const *allowed,
                     const char *prefix, char *err, size_t errcap)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        int ok = 0;

        for (size_t i = 0; allowed[i] != NULL && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok)
            return fail(err, errcap, BRR_EINVAL, "%s%s: unknown field", prefix,
                        key);
    }
    return 0;
}

/* Absent and null both mean "not given". */
static json_t *field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_null(v) ? NULL : v;
}

static int get_amount(json_t *obj, const char *key, const char *name,
                      int required, brr_cents_t *out, char *err, size_t errcap)
{
    json_t *v = field(obj, key);
    json_int_t x;

    if (v == NULL) {
        if (required)
            return fail(err, errcap, BRR_EINVAL, "%s: missing", name);
        *out = 0;
        return 0;
    }
    if (!json_is_integer(v))
        return fail(err, errcap, BRR_EINVAL,
                    "%s: must be an integer amount in cents", name);
    x = json_integer_value(v);
    if (x < 0 || x > BRR_CENTS_MAX)
        return fail(err, errcap, BRR_EINVAL,
                    "%s: must be between 0 and %lld cents", name,
                    (long long)BRR_CENTS_MAX);
    *out = (brr_cents_t)x;
    return 0;
}

static int get_bool(json_t *obj, const char *key, const char *name, int *out,
                    char *err, size_t errcap)
{
    json_t *v = field(obj, key);

    if (v == NULL) {
        *out = 0;
        return 0;
    }
    if (!json_is_boolean(v))
        return fail(err, errcap, BRR_EINVAL, "%s: must be true or false", name);
    *out = json_is_true(v);
    return 0;
}

static int get_date(json_t *obj, const char *key, int required, int *has,
                    brr_date_t *out, char *err, size_t errcap)
{
    json_t *v = field(obj, key);

    *has = 0;
    if (v == NULL) {
        if (required)
            return fail(err, errcap, BRR_EINVAL, "%s: missing", key);
        return 0;
    }
    if (!json_is_string(v) ||
        capacity_date_parse(json_string_value(v), json_string_length(v), out) !=
            0)
        return fail(err, errcap, BRR_EINVAL,
                    "%s: must be a date \"YYYY-MM-DD\"", key);
    *has = 1;
    return 0;
}

static int parse_claim(json_t *c, size_t i, brr_capacity_claim_t *out,
                       char *err, size_t errcap)
{
    static const char *const keys[] = {"organisation", "reference",
                                       "open_cents", "under_objection", NULL};
    char prefix[48], name[64];
    json_t *v;
    int rc;

    snprintf(prefix, sizeof(prefix), "claims[%zu].", i);
    if (!json_is_object(c))
        return fail(err, errcap, BRR_EINVAL, "claims[%zu]: must be an object",
                    i);
    if ((rc = only_keys(c, keys, prefix, err, errcap)) != 0)
        return rc;

    v = field(c, "organisation");
    if (v == NULL)
        return fail(err, errcap, BRR_EINVAL, "%sorganisation: missing", prefix);
    if (!json_is_string(v) ||
        !brr_org_code_valid(json_string_value(v), json_string_length(v)))
        return fail(err, errcap, BRR_EINVAL,
                    "%sorganisation: must be an organisation code (2-16 of "
                    "A-Z, 0-9, '-')",
                    prefix);
    out->organisation = json_string_value(v);

    v = field(c, "reference");
    out->reference = NULL;
    if (v != NULL) {
        size_t n;
        const char *s;

        if (!json_is_string(v))
            return fail(err, errcap, BRR_EINVAL,
                        "%sreference: must be a string", prefix);
        s = json_string_value(v);
        n = json_string_length(v);
        if (n == 0 || n > MAX_REFERENCE || strlen(s) != n)
            return fail(err, errcap, BRR_EINVAL,
                        "%sreference: must be 1 to %d characters", prefix,
                        MAX_REFERENCE);
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
                return fail(err, errcap, BRR_EINVAL,
                            "%sreference: must not contain control "
                            "characters",
                            prefix);
        out->reference = s;
    }
    snprintf(name, sizeof(name), "%sopen_cents", prefix);
    if ((rc = get_amount(c, "open_cents", name, 1, &out->open_cents, err,
                         errcap)) != 0)
        return rc;
    snprintf(name, sizeof(name), "%sunder_objection", prefix);
    return get_bool(c, "under_objection", name, &out->under_objection, err,
                    errcap);
}

int capacity_input_parse(const char *request, size_t len,
                         brr_capacity_input_t *in, char *err, size_t errcap)
{
    static const char *const keys[] = {"reference_date",
                                       "kind",
                                       "household",
                                       "aow_age",
                                       "net_income_cents",
                                       "partner_net_income_cents",
                                       "extra_housing_cents",
                                       "claims",
                                       "requested_instalment_cents",
                                       "last_lapse_date",
                                       NULL};
    static const char *const maat_only[] = {
        "household",           "aow_age",
        "net_income_cents",    "partner_net_income_cents",
        "extra_housing_cents", NULL};
    brr_capacity_request_t *req = &in->req;
    json_error_t jerr;
    json_t *root, *v, *claims;
    const char *kind;
    int rc, has;

    memset(in, 0, sizeof(*in));
    if (request == NULL)
        return fail(err, errcap, BRR_EPARSE, "request: missing");
    root = json_loadb(request, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return fail(err, errcap, BRR_EPARSE,
                    "request: not valid JSON: line %d column %d: %s", jerr.line,
                    jerr.column, jerr.text);
    in->root = root;
    if (!json_is_object(root)) {
        rc = fail(err, errcap, BRR_EINVAL, "request: must be a JSON object");
        goto bad;
    }
    if ((rc = only_keys(root, keys, "", err, errcap)) != 0)
        goto bad;
    if ((rc = get_date(root, "reference_date", 1, &has, &req->reference_date,
                       err, errcap)) != 0)
        goto bad;

    v = field(root, "kind");
    kind = json_string_value(v);
    if (v == NULL) {
        rc = fail(err, errcap, BRR_EINVAL, "kind: missing");
        goto bad;
    }
    if (kind != NULL && strcmp(kind, "standard") == 0) {
        req->kind = BRR_CAP_STANDARD;
    } else if (kind != NULL && strcmp(kind, "maatwerk") == 0) {
        req->kind = BRR_CAP_MAATWERK;
    } else {
        rc = fail(err, errcap, BRR_EINVAL,
                  "kind: must be \"standard\" or \"maatwerk\"");
        goto bad;
    }

    if (req->kind == BRR_CAP_STANDARD) {
        for (size_t i = 0; maat_only[i] != NULL; i++) {
            json_t *m = field(root, maat_only[i]);

            /* A form that always sends every field may send the neutral
             * values; anything meaningful belongs to maatwerk only. */
            if (m != NULL && !json_is_false(m) &&
                !(json_is_integer(m) && json_integer_value(m) == 0)) {
                rc = fail(err, errcap, BRR_EINVAL,
                          "%s: only allowed for kind \"maatwerk\"",
                          maat_only[i]);
                goto bad;
            }
        }
    } else {
        v = field(root, "household");
        if (v == NULL) {
            rc = fail(err, errcap, BRR_EINVAL,
                      "household: missing (required for maatwerk)");
            goto bad;
        }
        if (capacity_household_parse(json_string_value(v), &req->household) !=
            0) {
            rc = fail(err, errcap, BRR_EINVAL,
                      "household: must be \"single\", \"single_parent\", "
                      "\"couple\" or \"couple_with_children\"");
            goto bad;
        }
        if ((rc = get_bool(root, "aow_age", "aow_age", &req->aow_age, err,
                           errcap)) != 0 ||
            (rc = get_amount(root, "net_income_cents", "net_income_cents", 1,
                             &req->net_income_cents, err, errcap)) != 0 ||
            (rc = get_amount(
                 root, "partner_net_income_cents", "partner_net_income_cents",
                 0, &req->partner_net_income_cents, err, errcap)) != 0 ||
            (rc = get_amount(root, "extra_housing_cents", "extra_housing_cents",
                             0, &req->extra_housing_cents, err, errcap)) != 0)
            goto bad;
        if (req->partner_net_income_cents != 0 &&
            req->household != BRR_HH_COUPLE &&
            req->household != BRR_HH_COUPLE_WITH_CHILDREN) {
            rc = fail(err, errcap, BRR_EINVAL,
                      "partner_net_income_cents: must be 0 for household "
                      "\"%s\"",
                      capacity_household_name(req->household));
            goto bad;
        }
    }

    claims = field(root, "claims");
    if (claims == NULL) {
        rc = fail(err, errcap, BRR_EINVAL, "claims: missing");
        goto bad;
    }
    if (!json_is_array(claims)) {
        rc = fail(err, errcap, BRR_EINVAL, "claims: must be an array");
        goto bad;
    }
    if (json_array_size(claims) > BRR_CAPACITY_MAX_CLAIMS) {
        rc = fail(err, errcap, BRR_EINVAL, "claims: more than %d claims",
                  BRR_CAPACITY_MAX_CLAIMS);
        goto bad;
    }
    req->nclaims = json_array_size(claims);
    if (req->nclaims > 0) {
        in->claims = calloc(req->nclaims, sizeof(*in->claims));
        if (in->claims == NULL)
            abort();
    }
    for (size_t i = 0; i < req->nclaims; i++)
        if ((rc = parse_claim(json_array_get(claims, i), i, &in->claims[i], err,
                              errcap)) != 0)
            goto bad;
    req->claims = in->claims;

    if ((rc = get_amount(root, "requested_instalment_cents",
                         "requested_instalment_cents", 0,
                         &req->requested_instalment_cents, err, errcap)) != 0 ||
        (rc = get_date(root, "last_lapse_date", 0, &req->has_last_lapse,
                       &req->last_lapse_date, err, errcap)) != 0)
        goto bad;
    if (req->has_last_lapse && req->last_lapse_date > req->reference_date) {
        rc = fail(err, errcap, BRR_EINVAL,
                  "last_lapse_date: must not be after reference_date");
        goto bad;
    }
    return 0;
bad:
    capacity_input_free(in);
    return rc;
}

void capacity_input_free(brr_capacity_input_t *in)
{
    if (in == NULL)
        return;
    free(in->claims);
    json_decref(in->root);
    memset(in, 0, sizeof(*in));
}

static void set(json_t *obj, const char *key, json_t *v)
{
    /* jansson returns NULL only on OOM or invalid UTF-8; the texts are
     * built from validated input, so either is a bug worth stopping on. */
    if (v == NULL || json_object_set_new(obj, key, v) != 0)
        abort();
}

static void push(json_t *arr, json_t *v)
{
    if (v == NULL || json_array_append_new(arr, v) != 0)
        abort();
}

json_t *capacity_result_to_json(const brr_capacity_result_t *res)
{
    json_t *o = json_object(), *reasons = json_array(), *lines = json_array();

    if (o == NULL || reasons == NULL || lines == NULL)
        abort();
    for (size_t i = 0; i < res->nreasons; i++) {
        json_t *r = json_object();

        if (r == NULL)
            abort();
        set(r, "code", json_string(res->reasons[i].code));
        set(r, "text", json_string(res->reasons[i].text));
        push(reasons, r);
    }
    for (size_t i = 0; i < res->nlines; i++)
        push(lines, json_string(res->explanation[i]));

    set(o, "eligible", json_boolean(res->eligible));
    set(o, "reasons", reasons);
    set(o, "group", res->group > 0 ? json_integer(res->group) : json_null());
    set(o, "bvv_cents",
        res->has_bvv ? json_integer(res->bvv_cents) : json_null());
    set(o, "capacity_cents", json_integer(res->capacity_cents));
    set(o, "instalment_cents", json_integer(res->instalment_cents));
    set(o, "months", json_integer(res->months));
    set(o, "last_instalment_cents", json_integer(res->last_instalment_cents));
    set(o, "starts_paused", json_boolean(res->starts_paused));
    set(o, "norm_set",
        res->norm_set[0] ? json_string(res->norm_set) : json_null());
    set(o, "rule_version", json_string(res->rule_version));
    set(o, "explanation", lines);
    return o;
}

/* The current revision of version, 0 when none is loaded. */
static int newest_revision(const brr_normsets_t *sets, const char *version)
{
    for (size_t i = 0; sets != NULL && i < sets->n; i++)
        if (strcmp(sets->sets[i].version, version) == 0)
            return sets->sets[i].revision;
    return 0;
}

/* The set named id, or BRR_ENOTFOUND / BRR_EINVAL with a message that
 * says which revisions of its version are loaded. */
static int pin_set(const brr_normsets_t *sets, const char *id,
                   const brr_normset_t **out, char *err, size_t errcap)
{
    const brr_normset_t *revs[16];
    char version[11], have[128] = "";
    size_t n, used = 0;
    int rev, newest;

    if (capacity_normset_id_parse(id, version, &rev) != 0 || rev == 0)
        return fail(err, errcap, BRR_EINVAL,
                    "norm_set: \"%.40s\" is not a norm set identifier "
                    "(\"YYYY-MM-DD.rN\")",
                    id);
    if ((*out = capacity_normsets_find_id(sets, id)) != NULL)
        return 0;
    n = capacity_normsets_revisions(sets, version, revs, 16);
    if (n == 0)
        return fail(err, errcap, BRR_ENOTFOUND,
                    "norm_set: %s is not loaded (no revision of %s is loaded); "
                    "restore %s.json and superseded/%s.rN.json from the "
                    "repository history",
                    id, version, version, version);
    newest = newest_revision(sets, version);
    /* Oldest first: every superseded revision, then the current one. */
    for (size_t i = 0; i + 1 < n && i < 15; i++)
        used += (size_t)snprintf(have + used, sizeof(have) - used, "r%d, ",
                                 revs[i]->revision);
    if (n > 16)
        used += (size_t)snprintf(have + used, sizeof(have) - used, "..., ");
    snprintf(have + used, sizeof(have) - used, "r%d", newest);
    if (rev > newest)
        return fail(err, errcap, BRR_ENOTFOUND,
                    "norm_set: %s is not loaded: it is newer than the loaded "
                    "revisions of %s (%s); use the norm-set directory of the "
                    "release that made the assessment",
                    id, version, have);
    return fail(err, errcap, BRR_ENOTFOUND,
                "norm_set: %s is not loaded (loaded revisions of %s: %s); "
                "restore superseded/%s.json from the repository history",
                id, version, have, id);
}

/* Assesses in with set pinned (NULL: picked by date; empty: no set) into a
 * new result object. */
static int assess_to_json(brr_capacity_input_t *in, const brr_normsets_t *sets,
                          const brr_normset_t *pinned,
                          const brr_capacity_params_t *params, json_t **out,
                          char *err, size_t errcap)
{
    brr_capacity_result_t *res;
    int rc;

    if (pinned != NULL && (in->req.reference_date < pinned->from ||
                           in->req.reference_date > pinned->until)) {
        char d[11];

        capacity_date_format_iso(in->req.reference_date, d);
        return fail(err, errcap, BRR_EINVAL,
                    "norm_set: %s does not cover reference_date %s", pinned->id,
                    d);
    }
    in->req.norm_set = pinned;
    res = malloc(sizeof(*res));
    if (res == NULL)
        abort();
    rc = capacity_assess(&in->req, sets, params, BRR_CAPACITY_EXPLAIN, res);
    if (rc != 0) {
        free(res);
        return fail(err, errcap, rc, "request: %s", brr_strerror(rc));
    }
    *out = capacity_result_to_json(res);
    free(res);
    return 0;
}

static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT);

    if (s == NULL)
        abort();
    return s;
}

int capacity_calc_json_with(const char *request, size_t len,
                            const brr_normsets_t *sets, const char *norm_set,
                            const brr_capacity_params_t *params,
                            char **result_out, char *err, size_t errcap)
{
    const brr_normset_t *pinned = NULL;
    brr_capacity_input_t in;
    json_t *out;
    int rc;

    *result_out = NULL;
    if (norm_set != NULL &&
        (rc = pin_set(sets, norm_set, &pinned, err, errcap)) != 0)
        return rc;
    if ((rc = capacity_input_parse(request, len, &in, err, errcap)) != 0)
        return rc;
    rc = assess_to_json(&in, sets, pinned, params, &out, err, errcap);
    capacity_input_free(&in);
    if (rc != 0)
        return rc;
    *result_out = dump(out);
    json_decref(out);
    return 0;
}

int capacity_calc_json(const char *request, size_t len,
                       const brr_normsets_t *sets,
                       const brr_capacity_params_t *params, char **result_out,
                       char *err, size_t errcap)
{
    return capacity_calc_json_with(request, len, sets, NULL, params, result_out,
                                   err, errcap);
}

/* ---- replay ---------------------------------------------------------- */

/* text with every "from" replaced by "to" (malloc'd). */
static char *replace_all(const char *text, const char *from, const char *to)
{
    size_t nf = strlen(from), nt = strlen(to), n = 0;
    const char *p;
    char *out, *w;

    for (p = strstr(text, from); p != NULL; p = strstr(p + nf, from))
        n++;
    out = malloc(strlen(text) + n * nt + 1);
    if (out == NULL)
        abort();
    w = out;
    for (p = text;;) {
        const char *q = strstr(p, from);

        if (q == NULL) {
            strcpy(w, p);
            break;
        }
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        memcpy(w, to, nt);
        w += nt;
        p = q + nf;
    }
    return out;
}

/* The names of the fields in which got differs from want, in got's order,
 * then any field only want has. */
static json_t *differences(const json_t *want, const json_t *got)
{
    json_t *d = json_array();
    const char *key;
    json_t *v;

    if (d == NULL)
        abort();
    json_object_foreach((json_t *)got, key, v)
    {
        if (!json_equal(v, json_object_get(want, key)))
            push(d, json_string(key));
    }
    json_object_foreach((json_t *)want, key, v)
    {
        if (json_object_get(got, key) == NULL)
            push(d, json_string(key));
    }
    return d;
}

int capacity_replay_json(const char *stored, size_t len,
                         const brr_normsets_t *sets, char **result_out,
                         char *err, size_t errcap)
{
    static const char *const keys[] = {
        "assessment_id", "application_id", "citizen_ref", "kind",
        "eligible",      "inputs",         "result",      "norm_set",
        "rule_version",  "explanation",    "created_at",  NULL};
    static const brr_normsets_t none = {NULL, 0, NULL, 0};
    const brr_normset_t *revs[16];
    size_t nrevs = 0;
    brr_capacity_input_t in;
    json_error_t jerr;
    json_t *root, *inputs, *want, *v, *out = NULL, *tried = NULL,
                                      *matches = NULL, *shown = NULL;
    const char *id;
    char version[11], *req_text = NULL;
    int rc, rev = 0, legacy = 0;

    *result_out = NULL;
    memset(&in, 0, sizeof(in));
    root = json_loadb(stored, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return fail(err, errcap, BRR_EPARSE,
                    "stored assessment: not valid JSON: line %d column %d: %s",
                    jerr.line, jerr.column, jerr.text);
    rc = BRR_EINVAL;
    if (!json_is_object(root)) {
        fail(err, errcap, rc, "stored assessment: must be a JSON object");
        goto out;
    }
    if (only_keys(root, keys, "", err, errcap) != 0)
        goto out;
    inputs = json_object_get(root, "inputs");
    want = json_object_get(root, "result");
    if (!json_is_object(inputs) || !json_is_object(want)) {
        fail(err, errcap, rc, "%s: missing or not an object",
             json_is_object(inputs) ? "result" : "inputs");
        goto out;
    }
    v = json_object_get(root, "norm_set");
    if (v == NULL)
        v = json_object_get(want, "norm_set");
    if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
        fail(err, errcap, rc, "norm_set: must be a string or null");
        goto out;
    }
    id = json_is_string(v) ? json_string_value(v) : "";
    if (*id != '\0') {
        if (capacity_normset_id_parse(id, version, &rev) != 0) {
            fail(err, errcap, rc,
                 "norm_set: \"%.40s\" is not a norm set identifier "
                 "(\"YYYY-MM-DD.rN\", or a bare \"YYYY-MM-DD\" stored before "
                 "revisions)",
                 id);
            goto out;
        }
        legacy = rev == 0;
        if (legacy) {
            nrevs = capacity_normsets_revisions(sets, version, revs, 16);
            if (nrevs == 0) {
                fail(err, errcap, rc = BRR_ENOTFOUND,
                     "norm_set: no revision of %s is loaded; restore %s.json "
                     "and its superseded revisions from the repository "
                     "history",
                     version, version);
                goto out;
            }
            if (nrevs > 16)
                nrevs = 16;
        } else {
            if ((rc = pin_set(sets, id, &revs[0], err, errcap)) != 0)
                goto out;
            nrevs = 1;
        }
    }

    req_text = dump(inputs);
    if ((rc = capacity_input_parse(req_text, strlen(req_text), &in, err,
                                   errcap)) != 0)
        goto out;
    tried = json_array();
    matches = json_array();
    if (tried == NULL || matches == NULL)
        abort();
    for (size_t i = 0; i < (nrevs ? nrevs : 1); i++) {
        const brr_normset_t *ns = nrevs ? revs[i] : NULL;
        json_t *got, *diff, *t;

        if ((rc = assess_to_json(&in, nrevs ? sets : &none, ns, NULL, &got, err,
                                 errcap)) != 0)
            goto out;
        if (legacy) {
            /* Compared as it was then written: "normenset 2024-01-01". */
            char *text = dump(got), *then = replace_all(text, ns->id, version);
            json_t *cmp = json_loads(then, 0, NULL);

            free(text);
            free(then);
            if (cmp == NULL)
                abort();
            diff = differences(want, cmp);
            json_decref(cmp);
        } else {
            diff = differences(want, got);
        }
        t = json_pack("{s:s, s:o}", "norm_set", ns ? ns->id : "", "differences",
                      diff);
        if (t == NULL)
            abort();
        push(tried, t);
        if (json_array_size(diff) == 0) {
            push(matches, json_string(ns ? ns->id : ""));
            if (json_array_size(matches) == 1) {
                json_decref(shown);
                shown = NULL;
            }
        }
        if (shown == NULL)
            shown = got;
        else
            json_decref(got);
    }
    out = json_pack("{s:b, s:s, s:O, s:O, s:O}", "reproduced",
                    json_array_size(matches) > 0, "norm_set", id, "matches",
                    matches, "tried", tried, "result", shown);
    if (out == NULL)
        abort();
    *result_out = dump(out);
    rc = 0;
out:
    json_decref(out);
    json_decref(shown);
    json_decref(tried);
    json_decref(matches);
    capacity_input_free(&in);
    free(req_text);
    json_decref(root);
    return rc;
}
