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

int capacity_calc_json(const char *request, size_t len,
                       const brr_normsets_t *sets,
                       const brr_capacity_params_t *params, char **result_out,
                       char *err, size_t errcap)
{
    brr_capacity_input_t in;
    brr_capacity_result_t *res;
    json_t *out;
    int rc;

    *result_out = NULL;
    if ((rc = capacity_input_parse(request, len, &in, err, errcap)) != 0)
        return rc;
    res = malloc(sizeof(*res));
    if (res == NULL)
        abort();
    rc = capacity_assess(&in.req, sets, params, BRR_CAPACITY_EXPLAIN, res);
    capacity_input_free(&in);
    if (rc != 0) {
        free(res);
        return fail(err, errcap, rc, "request: %s", brr_strerror(rc));
    }
    out = capacity_result_to_json(res);
    free(res);
    *result_out = json_dumps(out, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(out);
    if (*result_out == NULL)
        abort();
    return 0;
}
