/*
 * distribute_json.c: reads a distribute request, runs dist_split() and
 * writes the result (contract in distribute_json.h).
 *
 * The checks here are strict on purpose: the command line is how people
 * test the rule, so a misspelt policy field must fail loudly rather than
 * silently fall back to a default.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "distribute_json.h"
#include "err.h"
#include "schedule.h"
#include "split.h"

typedef struct {
    char *err;
    size_t errcap;
} errbuf_t;

static int fail(errbuf_t *eb, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(errbuf_t *eb, int rc, const char *fmt, ...)
{
    if (eb->err != NULL && eb->errcap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(eb->err, eb->errcap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Refuses any key of obj not in allowed (NULL-terminated). */
static int only_keys(errbuf_t *eb, json_t *obj, const char *where,
                     const char *const *allowed)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(allowed[i], key) != 0)
            i++;
        if (allowed[i] == NULL)
            return fail(eb, BRR_EINVAL, "%s%s%s: unknown field", where,
                        *where ? "." : "", key);
    }
    return 0;
}

static int get_cents(errbuf_t *eb, json_t *v, const char *field,
                     brr_cents_t *out)
{
    if (!json_is_integer(v))
        return fail(eb, BRR_EINVAL, "%s: must be an integer number of cents",
                    field);
    json_int_t c = json_integer_value(v);
    if (c < 0 || c > BRR_CENTS_MAX)
        return fail(eb, BRR_ERANGE, "%s: must be between 0 and %lld", field,
                    (long long)BRR_CENTS_MAX);
    *out = (brr_cents_t)c;
    return 0;
}

static int org_code_ok(const char *s, size_t n)
{
    if (n == 0 || n > DIST_ORG_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static int reference_ok(const char *s, size_t n)
{
    if (n == 0 || n > DIST_REF_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static int get_claim(errbuf_t *eb, json_t *jc, size_t i, dist_claim_t *c)
{
    static const char *const keys[] = {"organisation", "reference",
                                       "open_cents", "due_date", NULL};
    char where[48], field[80];
    snprintf(where, sizeof(where), "claims[%zu]", i);
    if (!json_is_object(jc))
        return fail(eb, BRR_EINVAL, "%s: must be an object", where);
    int rc = only_keys(eb, jc, where, keys);
    if (rc != 0)
        return rc;

    json_t *v = json_object_get(jc, "organisation");
    snprintf(field, sizeof(field), "%s.organisation", where);
    if (!json_is_string(v) ||
        !org_code_ok(json_string_value(v), json_string_length(v)))
        return fail(eb, BRR_EINVAL,
                    "%s: must be an organisation code of 1 to %d letters, "
                    "digits, '_', '-' or '.'",
                    field, DIST_ORG_MAX);
    memcpy(c->organisation, json_string_value(v), json_string_length(v) + 1);

    v = json_object_get(jc, "reference");
    snprintf(field, sizeof(field), "%s.reference", where);
    if (!json_is_string(v) ||
        !reference_ok(json_string_value(v), json_string_length(v)))
        return fail(eb, BRR_EINVAL,
                    "%s: must be 1 to %d printable ASCII characters", field,
                    DIST_REF_MAX);
    memcpy(c->reference, json_string_value(v), json_string_length(v) + 1);

    v = json_object_get(jc, "open_cents");
    snprintf(field, sizeof(field), "%s.open_cents", where);
    if (v == NULL)
        return fail(eb, BRR_EINVAL, "%s: missing", field);
    rc = get_cents(eb, v, field, &c->open_cents);
    if (rc != 0)
        return rc;

    v = json_object_get(jc, "due_date");
    snprintf(field, sizeof(field), "%s.due_date", where);
    if (!json_is_string(v) ||
        dist_date_parse(json_string_value(v), json_string_length(v),
                        &c->due_day) != 0)
        return fail(eb, BRR_EINVAL,
                    "%s: must be a date \"YYYY-MM-DD\" between %d and %d",
                    field, DIST_DATE_MIN_YEAR, DIST_DATE_MAX_YEAR);
    return 0;
}

static int get_policy(errbuf_t *eb, json_t *jp, dist_policy_t *pol,
                      dist_weight_t **weights_out)
{
    static const char *const keys[] = {"min_per_org_cents", "small_claims",
                                       "small_claim_cents", "weights", NULL};
    if (!json_is_object(jp))
        return fail(eb, BRR_EINVAL, "policy: must be an object");
    int rc = only_keys(eb, jp, "policy", keys);
    if (rc != 0)
        return rc;

    json_t *v = json_object_get(jp, "min_per_org_cents");
    if (v != NULL && (rc = get_cents(eb, v, "policy.min_per_org_cents",
                                     &pol->min_per_org)) != 0)
        return rc;
    v = json_object_get(jp, "small_claim_cents");
    if (v != NULL && (rc = get_cents(eb, v, "policy.small_claim_cents",
                                     &pol->small_claim)) != 0)
        return rc;
    v = json_object_get(jp, "small_claims");
    if (v != NULL) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "PRO_RATA_ONLY") == 0)
            pol->small_claims = DIST_PRO_RATA_ONLY;
        else if (strcmp(s, "PAY_OFF_FIRST") == 0)
            pol->small_claims = DIST_PAY_OFF_FIRST;
        else
            return fail(eb, BRR_EINVAL,
                        "policy.small_claims: must be \"PRO_RATA_ONLY\" or "
                        "\"PAY_OFF_FIRST\"");
    }
    v = json_object_get(jp, "weights");
    if (v == NULL)
        return 0;
    if (!json_is_object(v))
        return fail(eb, BRR_EINVAL,
                    "policy.weights: must be an object of organisation "
                    "codes to integers");
    size_t n = json_object_size(v);
    dist_weight_t *w = calloc(n ? n : 1, sizeof(*w));
    if (w == NULL)
        abort();
    *weights_out = w;
    const char *key;
    json_t *jw;
    size_t k = 0;
    json_object_foreach(v, key, jw)
    {
        if (!org_code_ok(key, strlen(key)))
            return fail(eb, BRR_EINVAL,
                        "policy.weights: key is not an organisation code");
        if (!json_is_integer(jw) || json_integer_value(jw) < 1 ||
            json_integer_value(jw) > DIST_WEIGHT_MAX)
            return fail(eb, BRR_EINVAL,
                        "policy.weights.%s: must be an integer between 1 "
                        "and %d",
                        key, DIST_WEIGHT_MAX);
        memcpy(w[k].organisation, key, strlen(key) + 1);
        w[k].weight = (int32_t)json_integer_value(jw);
        k++;
    }
    pol->weights = w;
    pol->nweights = k;
    return 0;
}

static json_t *build_result(const dist_claim_t *claims, size_t nclaims,
                            const dist_share_t *shares, size_t nshares,
                            const brr_cents_t *claim_cents)
{
    size_t *order = malloc(nclaims * sizeof(*order));
    if (order == NULL)
        abort();
    dist_claim_order(claims, nclaims, order);

    json_t *jshares = json_array();
    brr_cents_t total = 0;
    size_t i = 0;
    for (size_t j = 0; j < nshares; j++) {
        json_t *jclaims = json_array();
        while (i < nclaims && strcmp(claims[order[i]].organisation,
                                     shares[j].organisation) == 0) {
            size_t ci = order[i++];
            json_array_append_new(jclaims,
                                  json_pack("{s:s, s:I}", "reference",
                                            claims[ci].reference, "cents",
                                            (json_int_t)claim_cents[ci]));
        }
        json_array_append_new(
            jshares,
            json_pack("{s:s, s:I, s:o}", "organisation", shares[j].organisation,
                      "cents", (json_int_t)shares[j].cents, "claims", jclaims));
        total += shares[j].cents;
    }
    free(order);
    return json_pack("{s:I, s:o}", "total_cents", (json_int_t)total, "shares",
                     jshares);
}

int dist_calc_json(const char *request, size_t len, char **result_out,
                   char *err, size_t errcap)
{
    static const char *const keys[] = {"instalment_cents", "claims", "policy",
                                       NULL};
    errbuf_t eb = {err, errcap};
    dist_claim_t *claims = NULL;
    dist_weight_t *weights = NULL;
    dist_share_t *shares = NULL;
    brr_cents_t *claim_cents = NULL;
    json_t *root = NULL;
    int rc;

    *result_out = NULL;
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (request == NULL || len > DIST_JSON_MAX_REQUEST)
        return fail(&eb, BRR_EPARSE, "request: larger than %u bytes",
                    DIST_JSON_MAX_REQUEST);

    json_error_t jerr;
    root = json_loadb(request, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return fail(&eb, BRR_EPARSE,
                    "request: not valid JSON at line %d column %d: %s",
                    jerr.line, jerr.column, jerr.text);
    if (!json_is_object(root)) {
        rc = fail(&eb, BRR_EINVAL, "request: must be a JSON object");
        goto out;
    }
    if ((rc = only_keys(&eb, root, "", keys)) != 0)
        goto out;

    brr_cents_t instalment;
    json_t *v = json_object_get(root, "instalment_cents");
    if (v == NULL) {
        rc = fail(&eb, BRR_EINVAL, "instalment_cents: missing");
        goto out;
    }
    if ((rc = get_cents(&eb, v, "instalment_cents", &instalment)) != 0)
        goto out;

    json_t *jclaims = json_object_get(root, "claims");
    if (!json_is_array(jclaims) || json_array_size(jclaims) == 0) {
        rc = fail(&eb, BRR_EINVAL,
                  "claims: must be an array of at least one claim");
        goto out;
    }
    size_t n = json_array_size(jclaims);
    if (n > DIST_MAX_CLAIMS) {
        rc = fail(&eb, BRR_ERANGE, "claims: more than %d claims",
                  DIST_MAX_CLAIMS);
        goto out;
    }
    claims = calloc(n, sizeof(*claims));
    shares = calloc(n, sizeof(*shares));
    claim_cents = calloc(n, sizeof(*claim_cents));
    if (claims == NULL || shares == NULL || claim_cents == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        if ((rc = get_claim(&eb, json_array_get(jclaims, i), i, &claims[i])) !=
            0)
            goto out;
        for (size_t k = 0; k < i; k++)
            if (strcmp(claims[k].organisation, claims[i].organisation) == 0 &&
                strcmp(claims[k].reference, claims[i].reference) == 0) {
                rc = fail(&eb, BRR_EINVAL,
                          "claims[%zu].reference: same reference as "
                          "claims[%zu] at organisation %s",
                          i, k, claims[i].organisation);
                goto out;
            }
    }

    dist_policy_t pol;
    dist_policy_default(&pol);
    v = json_object_get(root, "policy");
    if (v != NULL && (rc = get_policy(&eb, v, &pol, &weights)) != 0)
        goto out;

    size_t nshares;
    rc = dist_split(instalment, claims, n, &pol, shares, &nshares, claim_cents);
    if (rc != 0) {
        fail(&eb, rc, "request: could not split (error %d)", rc);
        goto out;
    }
    json_t *res = build_result(claims, n, shares, nshares, claim_cents);
    *result_out = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(res);
    if (*result_out == NULL)
        abort();
out:
    json_decref(root);
    free(claims);
    free(weights);
    free(shares);
    free(claim_cents);
    return rc;
}
