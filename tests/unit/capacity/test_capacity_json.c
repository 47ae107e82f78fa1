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
                        "2025-01-01");
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
                                "\"norm_set\":\"2025-01-01\","
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
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
