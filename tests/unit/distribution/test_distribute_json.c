/*
 * test_distribute_json.c: the JSON contract of `brrctl calc distribute`
 * (issue 4, item 5): DOMAIN's example end to end, the policy fields, and
 * refusals that name the offending field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "distribute_json.h"
#include "err.h"

static int calc(const char *req, char **out, char *err, size_t cap)
{
    return dist_calc_json(req, strlen(req), out, err, cap);
}

static void test_json_domain_example(void **state)
{
    const char *req = "{\"instalment_cents\":12345,\"claims\":["
                      "{\"organisation\":\"CJIB\",\"reference\":\"C-1\","
                      "\"open_cents\":45000,\"due_date\":\"2024-05-01\"},"
                      "{\"organisation\":\"DUO\",\"reference\":\"D-1\","
                      "\"open_cents\":120000,\"due_date\":\"2023-09-01\"},"
                      "{\"organisation\":\"CAK\",\"reference\":\"K-1\","
                      "\"open_cents\":33300,\"due_date\":\"2024-01-15\"}]}";
    char *out = NULL, err[256];
    assert_int_equal(calc(req, &out, err, sizeof(err)), 0);
    assert_string_equal(out,
                        "{\"total_cents\":12345,\"shares\":["
                        "{\"organisation\":\"CAK\",\"cents\":2073,\"claims\":"
                        "[{\"reference\":\"K-1\",\"cents\":2073}]},"
                        "{\"organisation\":\"CJIB\",\"cents\":2801,\"claims\":"
                        "[{\"reference\":\"C-1\",\"cents\":2801}]},"
                        "{\"organisation\":\"DUO\",\"cents\":7471,\"claims\":"
                        "[{\"reference\":\"D-1\",\"cents\":7471}]}]}");
    free(out);
}

static void test_json_policy_and_claim_order(void **state)
{
    const char *req = "{\"instalment_cents\":20000,"
                      "\"policy\":{\"min_per_org_cents\":0,\"small_claims\":"
                      "\"PAY_OFF_FIRST\",\"small_claim_cents\":10000,"
                      "\"weights\":{\"CJIB\":1}},"
                      "\"claims\":["
                      "{\"organisation\":\"DUO\",\"reference\":\"d-small\","
                      "\"open_cents\":9000,\"due_date\":\"2024-01-05\"},"
                      "{\"organisation\":\"CJIB\",\"reference\":\"big\","
                      "\"open_cents\":200000,\"due_date\":\"2024-01-10\"},"
                      "{\"organisation\":\"CAK\",\"reference\":\"k-small\","
                      "\"open_cents\":4000,\"due_date\":\"2024-01-20\"},"
                      "{\"organisation\":\"DUO\",\"reference\":\"d-big\","
                      "\"open_cents\":100000,\"due_date\":\"2024-01-01\"}]}";
    char *out = NULL, err[256];
    assert_int_equal(calc(req, &out, err, sizeof(err)), 0);
    /* DUO's claims listed oldest first */
    assert_string_equal(out,
                        "{\"total_cents\":20000,\"shares\":["
                        "{\"organisation\":\"CAK\",\"cents\":4000,\"claims\":"
                        "[{\"reference\":\"k-small\",\"cents\":4000}]},"
                        "{\"organisation\":\"CJIB\",\"cents\":4667,\"claims\":"
                        "[{\"reference\":\"big\",\"cents\":4667}]},"
                        "{\"organisation\":\"DUO\",\"cents\":11333,\"claims\":"
                        "[{\"reference\":\"d-big\",\"cents\":2333},"
                        "{\"reference\":\"d-small\",\"cents\":9000}]}]}");
    free(out);
}

static void test_json_total_below_instalment(void **state)
{
    const char *req = "{\"instalment_cents\":99999,\"claims\":["
                      "{\"organisation\":\"RDW\",\"reference\":\"r\","
                      "\"open_cents\":1234,\"due_date\":\"2024-05-01\"}]}";
    char *out = NULL, err[256];
    assert_int_equal(calc(req, &out, err, sizeof(err)), 0);
    assert_string_equal(out, "{\"total_cents\":1234,\"shares\":["
                             "{\"organisation\":\"RDW\",\"cents\":1234,"
                             "\"claims\":[{\"reference\":\"r\",\"cents\":"
                             "1234}]}]}");
    free(out);
}

typedef struct {
    const char *req;
    int rc;
    const char *field; /* must appear in the message */
} bad_t;

#define CLAIM(extra)                                                           \
    "{\"organisation\":\"CJIB\",\"reference\":\"C-1\",\"open_cents\":45000,"   \
    "\"due_date\":\"2024-05-01\"" extra "}"

static void test_json_refusals_name_the_field(void **state)
{
    static const bad_t bad[] = {
        {"not json", BRR_EPARSE, "request"},
        {"[1,2]", BRR_EINVAL, "request"},
        {"{\"claims\":[" CLAIM("") "]}", BRR_EINVAL, "instalment_cents"},
        {"{\"instalment_cents\":\"12\",\"claims\":[" CLAIM("") "]}", BRR_EINVAL,
         "instalment_cents"},
        {"{\"instalment_cents\":12.5,\"claims\":[" CLAIM("") "]}", BRR_EINVAL,
         "instalment_cents"},
        {"{\"instalment_cents\":true,\"claims\":[" CLAIM("") "]}", BRR_EINVAL,
         "instalment_cents"},
        {"{\"instalment_cents\":-1,\"claims\":[" CLAIM("") "]}", BRR_ERANGE,
         "instalment_cents"},
        {"{\"instalment_cents\":10000000000001,\"claims\":[" CLAIM("") "]}",
         BRR_ERANGE, "instalment_cents"},
        {"{\"instalment_cents\":1,\"claims\":[]}", BRR_EINVAL, "claims"},
        {"{\"instalment_cents\":1}", BRR_EINVAL, "claims"},
        {"{\"instalment_cents\":1,\"claims\":[" CLAIM("") "],\"x\":1}",
         BRR_EINVAL, "x: unknown field"},
        {"{\"instalment_cents\":1,\"instalment_cents\":2,\"claims\":[" CLAIM(
             "") "]}",
         BRR_EPARSE, "duplicate"},
        {"{\"instalment_cents\":1,\"claims\":[" CLAIM(",\"bsn\":1") "]}",
         BRR_EINVAL, "claims[0].bsn: unknown field"},
        {"{\"instalment_cents\":1,\"claims\":[" CLAIM("") ",7]}", BRR_EINVAL,
         "claims[1]"},
        {"{\"instalment_cents\":1,\"claims\":[{\"organisation\":\"C J\","
         "\"reference\":\"r\",\"open_cents\":1,\"due_date\":\"2024-01-01\"}]}",
         BRR_EINVAL, "claims[0].organisation"},
        {"{\"instalment_cents\":1,\"claims\":[{\"organisation\":\"CJIB\","
         "\"open_cents\":1,\"due_date\":\"2024-01-01\"}]}",
         BRR_EINVAL, "claims[0].reference"},
        {"{\"instalment_cents\":1,\"claims\":[{\"organisation\":\"CJIB\","
         "\"reference\":\"r\",\"due_date\":\"2024-01-01\"}]}",
         BRR_EINVAL, "claims[0].open_cents"},
        {"{\"instalment_cents\":1,\"claims\":[{\"organisation\":\"CJIB\","
         "\"reference\":\"r\",\"open_cents\":-3,\"due_date\":\"2024-01-01\"}"
         "]}",
         BRR_ERANGE, "claims[0].open_cents"},
        {"{\"instalment_cents\":1,\"claims\":[{\"organisation\":\"CJIB\","
         "\"reference\":\"r\",\"open_cents\":3,\"due_date\":\"2023-02-29\"}"
         "]}",
         BRR_EINVAL, "claims[0].due_date"},
        {"{\"instalment_cents\":1,\"claims\":[" CLAIM("") "," CLAIM("") "]}",
         BRR_EINVAL, "claims[1].reference"},
        {"{\"instalment_cents\":1,\"claims\":[" CLAIM("") "],\"policy\":7}",
         BRR_EINVAL, "policy"},
        {"{\"instalment_cents\":1,\"claims\":[" CLAIM(
             "") "],\"policy\":{\"min_per_org\":1}}",
         BRR_EINVAL, "policy.min_per_org: unknown field"},
        {"{\"instalment_cents\":1,\"claims\":[" CLAIM(
             "") "],\"policy\":{\"small_claims\":\"SOMETIMES\"}}",
         BRR_EINVAL, "policy.small_claims"},
        {"{\"instalment_cents\":1,\"claims\":[" CLAIM(
             "") "],\"policy\":{\"small_claim_cents\":-1}}",
         BRR_ERANGE, "policy.small_claim_cents"},
        {"{\"instalment_cents\":1,\"claims\":[" CLAIM(
             "") "],\"policy\":{\"min_per_org_cents\":null}}",
         BRR_EINVAL, "policy.min_per_org_cents"},
        {"{\"instalment_cents\":1,\"claims\":[" CLAIM(
             "") "],\"policy\":{\"weights\":{\"CJIB\":0}}}",
         BRR_EINVAL, "policy.weights.CJIB"},
        {"{\"instalment_cents\":1,\"claims\":[" CLAIM(
             "") "],\"policy\":{\"weights\":[1]}}",
         BRR_EINVAL, "policy.weights"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = (char *)1, err[256];
        int rc = calc(bad[i].req, &out, err, sizeof(err));
        if (rc != bad[i].rc || strstr(err, bad[i].field) == NULL)
            fail_msg("case %zu: rc %d, want %d; message \"%s\", want \"%s\"", i,
                     rc, bad[i].rc, err, bad[i].field);
        assert_null(out);
    }
}

static void test_json_refuses_oversized_request(void **state)
{
    char *out, err[128];
    const char *req = "{}";
    assert_int_equal(
        dist_calc_json(req, DIST_JSON_MAX_REQUEST + 1, &out, err, sizeof(err)),
        BRR_EPARSE);
    assert_non_null(strstr(err, "request"));
    /* no room for a message is fine too */
    assert_int_equal(dist_calc_json("[", 1, &out, NULL, 0), BRR_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_domain_example),
        cmocka_unit_test(test_json_policy_and_claim_order),
        cmocka_unit_test(test_json_total_below_instalment),
        cmocka_unit_test(test_json_refusals_name_the_field),
        cmocka_unit_test(test_json_refuses_oversized_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
