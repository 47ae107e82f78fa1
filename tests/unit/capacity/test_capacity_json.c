/*
 * test_capacity_json.c: the JSON contract of issue 3 (request and result
 * shapes, field-naming errors) through capacity_calc_json(), the code path
 * shared by brr-capacity and `brrctl calc capacity`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "capacity_json.h"
#include "err.h"

static brr_normsets_t sets;
static char errbuf[512];

static int setup(void **state)
{
    (void)state;
    return capacity_normsets_load_dir(BRR_NORMSET_DIR, &sets, errbuf,
                                      sizeof(errbuf)) == 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    capacity_normsets_free(&sets);
    return 0;
}

/* Runs a request that must succeed and returns the parsed result. */
static json_t *calc_ok(const char *req)
{
    char *out = NULL;
    json_t *j;
    json_error_t je;

    errbuf[0] = '\0';
    if (capacity_calc_json(req, strlen(req), &sets, NULL, &out, errbuf,
                           sizeof(errbuf)) != 0)
        fail_msg("request refused: %s", errbuf);
    j = json_loads(out, 0, &je);
    assert_non_null(j);
    free(out);
    return j;
}

/* Runs a request that must fail with rc and a message mentioning msg. */
static void calc_bad(const char *req, int rc, const char *msg)
{
    char *out = (char *)1;

    errbuf[0] = '\0';
    assert_int_equal(capacity_calc_json(req, strlen(req), &sets, NULL, &out,
                                        errbuf, sizeof(errbuf)),
                     rc);
    assert_null(out);
    if (strstr(errbuf, msg) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", errbuf, msg);
}

/* calc_bad() through capacity_calc_json_with() and the set named id. */
static void calc_bad_with(const char *req, const char *id, int rc,
                          const char *msg)
{
    char *out = (char *)1;

    errbuf[0] = '\0';
    assert_int_equal(capacity_calc_json_with(req, strlen(req), &sets, id, NULL,
                                             &out, errbuf, sizeof(errbuf)),
                     rc);
    assert_null(out);
    if (strstr(errbuf, msg) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", errbuf, msg);
}

static json_int_t int_of(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);

    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void test_worked_example_group1(void **state)
{
    json_t *j = calc_ok("{\"reference_date\":\"2025-03-01\","
                        "\"kind\":\"maatwerk\",\"household\":\"single\","
                        "\"aow_age\":false,\"net_income_cents\":134545,"
                        "\"partner_net_income_cents\":0,"
                        "\"extra_housing_cents\":0,"
                        "\"claims\":[{\"organisation\":\"CJIB\","
                        "\"reference\":\"2024-001\",\"open_cents\":45000}]}");
    json_t *expl;

    (void)state;
    assert_true(json_is_true(json_object_get(j, "eligible")));
    assert_int_equal(int_of(j, "group"), 1);
    assert_int_equal(int_of(j, "bvv_cents"), 127818);
    assert_int_equal(int_of(j, "capacity_cents"), 6727);
    assert_int_equal(int_of(j, "instalment_cents"), 6727);
    assert_int_equal(int_of(j, "months"), 7);
    assert_int_equal(int_of(j, "last_instalment_cents"), 45000 - 6 * 6727);
    assert_true(json_is_false(json_object_get(j, "starts_paused")));
    assert_string_equal(json_string_value(json_object_get(j, "norm_set")),
                        "2025-01-01.r1");
    assert_string_equal(json_string_value(json_object_get(j, "rule_version")),
                        BRR_CAPACITY_RULE_VERSION);
    assert_int_equal(json_array_size(json_object_get(j, "reasons")), 0);
    expl = json_object_get(j, "explanation");
    assert_true(json_array_size(expl) >= 5);
    {
        int found = 0;

        for (size_t i = 0; i < json_array_size(expl); i++)
            found |= strstr(json_string_value(json_array_get(expl, i)),
                            "€ 1.278,18") != NULL;
        assert_true(found);
    }
    json_decref(j);
}

static void test_worked_examples_group3(void **state)
{
    json_t *j = calc_ok("{\"reference_date\":\"2025-03-01\","
                        "\"kind\":\"maatwerk\",\"household\":\"single\","
                        "\"net_income_cents\":500000,"
                        "\"claims\":[{\"organisation\":\"DUO\","
                        "\"reference\":\"x\",\"open_cents\":100000}]}");

    (void)state;
    assert_int_equal(int_of(j, "group"), 3);
    assert_int_equal(int_of(j, "bvv_cents"), 207124);
    assert_int_equal(int_of(j, "capacity_cents"), 292876);
    json_decref(j);
    j = calc_ok("{\"reference_date\":\"2025-03-01\",\"kind\":\"maatwerk\","
                "\"household\":\"couple_with_children\",\"aow_age\":false,"
                "\"net_income_cents\":800000,"
                "\"partner_net_income_cents\":0,"
                "\"claims\":[{\"organisation\":\"CAK\",\"reference\":\"y\","
                "\"open_cents\":100000}]}");
    assert_int_equal(int_of(j, "bvv_cents"), 285596);
    assert_int_equal(int_of(j, "capacity_cents"), 514404);
    json_decref(j);
}

static void test_standard_result_shape(void **state)
{
    char *out = NULL;
    const char *req = "{\"reference_date\":\"2025-03-01\","
                      "\"kind\":\"standard\",\"claims\":["
                      "{\"organisation\":\"CJIB\",\"reference\":\"a\","
                      "\"open_cents\":45000},"
                      "{\"organisation\":\"DUO\",\"reference\":\"b\","
                      "\"open_cents\":120000},"
                      "{\"organisation\":\"CAK\",\"reference\":\"c\","
                      "\"open_cents\":33300}],"
                      "\"requested_instalment_cents\":0}";
    json_t *j;

    (void)state;
    assert_int_equal(capacity_calc_json(req, strlen(req), &sets, NULL, &out,
                                        errbuf, sizeof(errbuf)),
                     0);
    /* Keys in the contract's order. */
    assert_non_null(strstr(out, "{\"eligible\":true,\"reasons\":[],"
                                "\"group\":null,\"bvv_cents\":null,"
                                "\"capacity_cents\":0,"
                                "\"instalment_cents\":8300,\"months\":24,"
                                "\"last_instalment_cents\":7400,"
                                "\"starts_paused\":false,"
                                "\"norm_set\":\"2025-01-01.r1\","
                                "\"rule_version\":"));
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_array(json_object_get(j, "explanation")));
    json_decref(j);
    free(out);
}

static void test_standard_accepts_neutral_maatwerk_fields(void **state)
{
    json_t *j = calc_ok("{\"reference_date\":\"2025-03-01\","
                        "\"kind\":\"standard\",\"household\":null,"
                        "\"aow_age\":false,\"net_income_cents\":0,"
                        "\"partner_net_income_cents\":0,"
                        "\"extra_housing_cents\":0,\"claims\":["
                        "{\"organisation\":\"CJIB\",\"open_cents\":4800}]}");

    (void)state;
    assert_int_equal(int_of(j, "instalment_cents"), 2000);
    assert_int_equal(int_of(j, "months"), 3);
    assert_int_equal(int_of(j, "last_instalment_cents"), 800);
    json_decref(j);
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"net_income_cents\":100,\"claims\":[]}",
             BRR_EINVAL, "net_income_cents: only allowed for kind");
}

static void test_refusal_carries_reasons(void **state)
{
    json_t *j = calc_ok("{\"reference_date\":\"2027-02-01\","
                        "\"kind\":\"maatwerk\",\"household\":\"single\","
                        "\"net_income_cents\":100000,\"claims\":[]}");
    json_t *r;

    (void)state;
    assert_true(json_is_false(json_object_get(j, "eligible")));
    assert_true(json_is_null(json_object_get(j, "norm_set")));
    assert_true(json_is_null(json_object_get(j, "bvv_cents")));
    r = json_array_get(json_object_get(j, "reasons"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "code")),
                        "NORM_SET_NOT_FOUND");
    assert_non_null(json_string_value(json_object_get(r, "text")));
    json_decref(j);

    j = calc_ok("{\"reference_date\":\"2025-03-01\",\"kind\":\"maatwerk\","
                "\"household\":\"single\",\"net_income_cents\":200000,"
                "\"claims\":[{\"organisation\":\"CJIB\",\"open_cents\":1}]}");
    assert_int_equal(int_of(j, "group"), 2);
    r = json_array_get(json_object_get(j, "reasons"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "code")),
                        "TOESLAGEN_PARAMS_UNAVAILABLE");
    json_decref(j);
}

static void test_extensions_objection_and_lapse(void **state)
{
    json_t *j = calc_ok("{\"reference_date\":\"2025-03-01\","
                        "\"kind\":\"standard\",\"last_lapse_date\":"
                        "\"2024-06-01\",\"claims\":[{\"organisation\":"
                        "\"CJIB\",\"reference\":\"a\",\"open_cents\":1000,"
                        "\"under_objection\":true}]}");
    json_t *reasons;

    (void)state;
    assert_true(json_is_false(json_object_get(j, "eligible")));
    reasons = json_object_get(j, "reasons");
    assert_int_equal(json_array_size(reasons), 2);
    json_decref(j);
}

static void test_bad_input_names_the_field(void **state)
{
    (void)state;
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"claims\":[],\"bogus\":1}",
             BRR_EINVAL, "bogus: unknown field");
    calc_bad("{\"kind\":\"standard\",\"claims\":[]}", BRR_EINVAL,
             "reference_date: missing");
    calc_bad("{\"reference_date\":\"2025-02-30\",\"kind\":\"standard\","
             "\"claims\":[]}",
             BRR_EINVAL, "reference_date: must be a date");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"other\","
             "\"claims\":[]}",
             BRR_EINVAL, "kind: must be");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\"}",
             BRR_EINVAL, "claims: missing");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"claims\":{}}",
             BRR_EINVAL, "claims: must be an array");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"claims\":[{\"organisation\":\"CJIB\",\"open_cents\":1},"
             "{\"organisation\":\"DUO\",\"open_cents\":-5}]}",
             BRR_EINVAL, "claims[1].open_cents");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"claims\":[{\"organisation\":\"CJIB\",\"open_cents\":1.5}]}",
             BRR_EINVAL, "claims[0].open_cents: must be an integer");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"claims\":[{\"organisation\":\"cjib!\",\"open_cents\":1}]}",
             BRR_EINVAL, "claims[0].organisation");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"claims\":[{\"organisation\":\"CJIB\",\"open_cents\":1,"
             "\"amount\":2}]}",
             BRR_EINVAL, "claims[0].amount: unknown field");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"claims\":[{\"open_cents\":1}]}",
             BRR_EINVAL, "claims[0].organisation: missing");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"household\":\"single\",\"claims\":[]}",
             BRR_EINVAL, "household: only allowed for kind \"maatwerk\"");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"maatwerk\","
             "\"net_income_cents\":1,\"claims\":[]}",
             BRR_EINVAL, "household: missing");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"maatwerk\","
             "\"household\":\"trio\",\"net_income_cents\":1,\"claims\":[]}",
             BRR_EINVAL, "household: must be");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"maatwerk\","
             "\"household\":\"single\",\"claims\":[]}",
             BRR_EINVAL, "net_income_cents: missing");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"maatwerk\","
             "\"household\":\"single\",\"net_income_cents\":\"100\","
             "\"claims\":[]}",
             BRR_EINVAL, "net_income_cents: must be an integer");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"maatwerk\","
             "\"household\":\"single\",\"net_income_cents\":100,"
             "\"partner_net_income_cents\":5,\"claims\":[]}",
             BRR_EINVAL, "partner_net_income_cents: must be 0");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"maatwerk\","
             "\"household\":\"single\",\"net_income_cents\":100,"
             "\"aow_age\":1,\"claims\":[]}",
             BRR_EINVAL, "aow_age: must be true or false");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"maatwerk\","
             "\"household\":\"single\",\"net_income_cents\":"
             "10000000000001,\"claims\":[]}",
             BRR_EINVAL, "net_income_cents: must be between");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"last_lapse_date\":\"2025-04-01\",\"claims\":[]}",
             BRR_EINVAL, "last_lapse_date");
    calc_bad("{\"reference_date\":\"2025-03-01\",", BRR_EPARSE,
             "not valid JSON");
    calc_bad("[1]", BRR_EINVAL, "must be a JSON object");
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"kind\":\"maatwerk\",\"claims\":[]}",
             BRR_EPARSE, "duplicate");
}

static void test_overflow_is_an_error(void **state)
{
    (void)state;
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"claims\":[{\"organisation\":\"CJIB\",\"open_cents\":"
             "10000000000000},{\"organisation\":\"DUO\",\"open_cents\":1}]}",
             BRR_EOVERFLOW, "overflow");
}

/* ---- recomputing with a named set, and replaying a stored one -------- */

/* Couple at AOW age on 1 March 2024 with € 1.933,00: group 1 under
 * 2024-01-01.r1 (norm € 1.933,98), group 2 under r2 (norm € 1.932,32). */
#define AOW_REQ                                                                \
    "{\"reference_date\":\"2024-03-01\",\"kind\":\"maatwerk\","                \
    "\"household\":\"couple\",\"aow_age\":true,\"net_income_cents\":193300,"   \
    "\"claims\":[{\"organisation\":\"CJIB\",\"open_cents\":100000}]}"

static char *calc_with(const char *req, const char *id)
{
    char *out = NULL;

    errbuf[0] = '\0';
    if (capacity_calc_json_with(req, strlen(req), &sets, id, NULL, &out, errbuf,
                                sizeof(errbuf)) != 0)
        fail_msg("request refused: %s", errbuf);
    return out;
}

/* Replays {"inputs":req,"result":result,"norm_set":id}; returns the
 * parsed answer, or NULL with rc in *rcp. */
static json_t *replay(const char *req, const char *result, const char *id,
                      int *rcp)
{
    char doc[16384], *out = NULL;
    json_t *j;

    snprintf(doc, sizeof(doc),
             "{\"inputs\":%s,\"result\":%s,\"norm_set\":%s%s%s,"
             "\"assessment_id\":\"x\",\"rule_version\":\"y\"}",
             req, result, id ? "\"" : "", id ? id : "null", id ? "\"" : "");
    errbuf[0] = '\0';
    *rcp = capacity_replay_json(doc, strlen(doc), &sets, &out, errbuf,
                                sizeof(errbuf));
    if (*rcp != 0) {
        assert_null(out);
        return NULL;
    }
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    free(out);
    return j;
}

static const char *matched(const json_t *j, size_t i)
{
    return json_string_value(json_array_get(json_object_get(j, "matches"), i));
}

static void test_calc_with_named_set(void **state)
{
    char *r1 = calc_with(AOW_REQ, "2024-01-01.r1");
    char *r2 = calc_with(AOW_REQ, "2024-01-01.r2");
    char *cur = calc_with(AOW_REQ, NULL);
    json_t *j = json_loads(r1, 0, NULL);

    (void)state;
    assert_int_equal(int_of(j, "group"), 1);
    assert_int_equal(int_of(j, "bvv_cents"), 183635);
    assert_string_equal(json_string_value(json_object_get(j, "norm_set")),
                        "2024-01-01.r1");
    json_decref(j);
    assert_non_null(strstr(r2, "\"group\":2,"));
    assert_string_equal(cur, r2); /* new assessments use the current one */
    free(r1);
    free(r2);
    free(cur);

    calc_bad_with(AOW_REQ, "2024-01-01.r3", BRR_ENOTFOUND,
                  "2024-01-01.r3 is not loaded: it is newer than the loaded "
                  "revisions of 2024-01-01 (r1, r2)");
    calc_bad_with(AOW_REQ, "2023-07-01.r1", BRR_ENOTFOUND,
                  "no revision of 2023-07-01 is");
    calc_bad_with(AOW_REQ, "2024-01-01", BRR_EINVAL,
                  "is not a norm set identifier");
    calc_bad_with(AOW_REQ, "2025-01-01.r1", BRR_EINVAL,
                  "2025-01-01.r1 does not cover reference_date 2024-03-01");
}

static void test_replay_reproduces_a_stored_assessment(void **state)
{
    char *r1 = calc_with(AOW_REQ, "2024-01-01.r1");
    char *r2 = calc_with(AOW_REQ, NULL);
    json_t *j, *tried;
    int rc;

    (void)state;
    j = replay(AOW_REQ, r1, "2024-01-01.r1", &rc);
    assert_int_equal(rc, 0);
    assert_true(json_is_true(json_object_get(j, "reproduced")));
    assert_string_equal(matched(j, 0), "2024-01-01.r1");
    assert_int_equal(int_of(json_object_get(j, "result"), "bvv_cents"), 183635);
    json_decref(j);

    j = replay(AOW_REQ, r2, "2024-01-01.r2", &rc);
    assert_true(json_is_true(json_object_get(j, "reproduced")));
    json_decref(j);

    /* Stored with r1 but replayed with r2: every changed field named. */
    j = replay(AOW_REQ, r1, "2024-01-01.r2", &rc);
    assert_int_equal(rc, 0);
    assert_true(json_is_false(json_object_get(j, "reproduced")));
    assert_int_equal(json_array_size(json_object_get(j, "matches")), 0);
    tried = json_array_get(json_object_get(j, "tried"), 0);
    {
        char *d = json_dumps(json_object_get(tried, "differences"), 0);

        assert_non_null(strstr(d, "\"group\""));
        assert_non_null(strstr(d, "\"bvv_cents\""));
        assert_non_null(strstr(d, "\"norm_set\""));
        assert_non_null(strstr(d, "\"explanation\""));
        assert_null(strstr(d, "\"rule_version\""));
        free(d);
    }
    json_decref(j);

    /* One stored figure changed by a cent is found. */
    {
        char *bad = strdup(r1), *at = strstr(bad, "\"bvv_cents\":183635");

        assert_non_null(at);
        at[strlen("\"bvv_cents\":18363")] = '6';
        j = replay(AOW_REQ, bad, "2024-01-01.r1", &rc);
        assert_true(json_is_false(json_object_get(j, "reproduced")));
        tried = json_array_get(json_object_get(j, "tried"), 0);
        assert_int_equal(json_array_size(json_object_get(tried, "differences")),
                         1);
        assert_string_equal(json_string_value(json_array_get(
                                json_object_get(tried, "differences"), 0)),
                            "bvv_cents");
        json_decref(j);
        free(bad);
    }
    /* So is another rule version. */
    {
        char *old = strdup(r1), *at = strstr(old, "rules/1.");

        assert_non_null(at);
        at[strlen("rules/")] = '0';
        j = replay(AOW_REQ, old, "2024-01-01.r1", &rc);
        assert_true(json_is_false(json_object_get(j, "reproduced")));
        json_decref(j);
        free(old);
    }

    /* A revision that is not loaded is named, not guessed. */
    j = replay(AOW_REQ, r1, "2024-01-01.r7", &rc);
    assert_null(j);
    assert_int_equal(rc, BRR_ENOTFOUND);
    assert_non_null(strstr(errbuf, "2024-01-01.r7 is not loaded"));
    j = replay(AOW_REQ, r1, "2022-01-01.r1", &rc);
    assert_int_equal(rc, BRR_ENOTFOUND);
    assert_non_null(strstr(errbuf, "2022-01-01"));
    free(r1);
    free(r2);
}

/* text with every from replaced by to (malloc'd; to no longer than
 * from). */
static char *subst(const char *text, const char *from, const char *to)
{
    char *out = calloc(1, strlen(text) + 1), *w = out;
    size_t nf = strlen(from), nt = strlen(to);

    assert_non_null(out);
    while (*text != '\0') {
        if (strncmp(text, from, nf) == 0) {
            memcpy(w, to, nt);
            w += nt;
            text += nf;
        } else {
            *w++ = *text++;
        }
    }
    return out;
}

/* Assessments stored before revisions existed name "2024-01-01": both
 * revisions are tried, in the explanation's old wording. */
static void test_replay_bare_version_tries_every_revision(void **state)
{
    char *r1 = calc_with(AOW_REQ, "2024-01-01.r1");
    char *r2 = calc_with(AOW_REQ, "2024-01-01.r2");
    char *old1 = NULL, *old2 = NULL;
    json_t *j;
    int rc;

    (void)state;
    /* As the service wrote them then: the bare version everywhere. */
    old1 = subst(r1, "2024-01-01.r1", "2024-01-01");
    old2 = subst(r2, "2024-01-01.r2", "2024-01-01");
    assert_null(strstr(old1, ".r1"));
    assert_non_null(strstr(old1, "normenset 2024-01-01 "));
    j = replay(AOW_REQ, old1, "2024-01-01", &rc);
    assert_int_equal(rc, 0);
    assert_true(json_is_true(json_object_get(j, "reproduced")));
    assert_int_equal(json_array_size(json_object_get(j, "matches")), 1);
    assert_string_equal(matched(j, 0), "2024-01-01.r1");
    assert_int_equal(json_array_size(json_object_get(j, "tried")), 2);
    /* The recomputed result is shown as it is written now. */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "result"), "norm_set")),
                        "2024-01-01.r1");
    json_decref(j);
    j = replay(AOW_REQ, old2, "2024-01-01", &rc);
    assert_true(json_is_true(json_object_get(j, "reproduced")));
    assert_string_equal(matched(j, 0), "2024-01-01.r2");
    json_decref(j);
    /* The new wording under the bare version is not the old text. */
    j = replay(AOW_REQ, r1, "2024-01-01", &rc);
    assert_true(json_is_false(json_object_get(j, "reproduced")));
    json_decref(j);
    free(old1);
    free(old2);
    free(r1);
    free(r2);
}

static void test_replay_without_a_set(void **state)
{
    const char *req = "{\"reference_date\":\"2027-02-01\","
                      "\"kind\":\"maatwerk\",\"household\":\"single\","
                      "\"net_income_cents\":100000,\"claims\":[]}";
    char *res = calc_with(req, NULL);
    json_t *j;
    int rc;

    (void)state;
    j = replay(req, res, NULL, &rc);
    assert_int_equal(rc, 0);
    assert_true(json_is_true(json_object_get(j, "reproduced")));
    json_decref(j);
    j = replay(req, res, "", &rc);
    assert_true(json_is_true(json_object_get(j, "reproduced")));
    json_decref(j);
    free(res);
}

static void test_replay_bad_stored_object_names_the_field(void **state)
{
    char *out = NULL;
    static const struct {
        const char *doc;
        int rc;
        const char *msg;
    } cases[] = {
        {"[", BRR_EPARSE, "not valid JSON"},
        {"[]", BRR_EINVAL, "must be a JSON object"},
        {"{\"inputs\":{},\"result\":{},\"zzz\":1}", BRR_EINVAL,
         "zzz: unknown field"},
        {"{\"result\":{}}", BRR_EINVAL, "inputs: missing"},
        {"{\"inputs\":{}}", BRR_EINVAL, "result: missing"},
        {"{\"inputs\":{},\"result\":{},\"norm_set\":7}", BRR_EINVAL,
         "norm_set: must be a string"},
        {"{\"inputs\":{},\"result\":{},\"norm_set\":\"2024-01-01.r01\"}",
         BRR_EINVAL, "not a norm set identifier"},
        {"{\"inputs\":{\"kind\":\"standard\"},\"result\":{},"
         "\"norm_set\":\"2025-01-01.r1\"}",
         BRR_EINVAL, "reference_date: missing"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        errbuf[0] = '\0';
        assert_int_equal(capacity_replay_json(cases[i].doc,
                                              strlen(cases[i].doc), &sets, &out,
                                              errbuf, sizeof(errbuf)),
                         cases[i].rc);
        assert_null(out);
        if (strstr(errbuf, cases[i].msg) == NULL)
            fail_msg("case %zu: \"%s\" does not mention \"%s\"", i, errbuf,
                     cases[i].msg);
    }
}

static void test_reference_text_stays_valid_utf8(void **state)
{
    /* A long multi-byte reference is refused by length, never cut in the
     * middle of a character. */
    (void)state;
    calc_bad("{\"reference_date\":\"2025-03-01\",\"kind\":\"standard\","
             "\"claims\":[{\"organisation\":\"CJIB\",\"reference\":"
             "\"€€€€€€€€€€€€€€€€€€€€€€€€\",\"open_cents\":1}]}",
             BRR_EINVAL, "claims[0].reference");
    json_decref(calc_ok("{\"reference_date\":\"2025-03-01\","
                        "\"kind\":\"standard\",\"claims\":[{"
                        "\"organisation\":\"CJIB\",\"reference\":"
                        "\"€€€€€€€€€€€€€€€€€€€€€\",\"open_cents\":1}]}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example_group1),
        cmocka_unit_test(test_worked_examples_group3),
        cmocka_unit_test(test_standard_result_shape),
        cmocka_unit_test(test_standard_accepts_neutral_maatwerk_fields),
        cmocka_unit_test(test_refusal_carries_reasons),
        cmocka_unit_test(test_extensions_objection_and_lapse),
        cmocka_unit_test(test_bad_input_names_the_field),
        cmocka_unit_test(test_overflow_is_an_error),
        cmocka_unit_test(test_reference_text_stays_valid_utf8),
        cmocka_unit_test(test_calc_with_named_set),
        cmocka_unit_test(test_replay_reproduces_a_stored_assessment),
        cmocka_unit_test(test_replay_bare_version_tries_every_revision),
        cmocka_unit_test(test_replay_without_a_set),
        cmocka_unit_test(test_replay_bad_stored_object_names_the_field),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
