/*
 * test_reports.c: the organisations' report body (services/intake/
 * reports.c): each type with its required fields, bounds, every error
 * reported together, and never an organisation taken from the body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "brr/v1/report.pb-c.h"
#include "err.h"
#include "reports.h"

#define ARR "01a20841-547c-7000-ab9c-5d37a4661efa"

static intake_report_t rep;

static int parse(const char *body)
{
    return intake_report_parse(body, strlen(body), &rep);
}

static int has_error(const char *field)
{
    for (size_t i = 0; i < rep.nerrors; i++)
        if (strcmp(rep.errors[i].field, field) == 0)
            return 1;
    return 0;
}

static void test_report_payment_is_parsed(void **state)
{
    assert_int_equal(parse("{\"report_id\":\"CJIB-1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"PAYMENT_RECEIVED\",\"reference\":"
                           "\"C-1\",\"amount_cents\":2801,\"received_on\":"
                           "\"2025-03-01\"}"),
                     0);
    assert_string_equal(rep.report_id, "CJIB-1");
    assert_string_equal(rep.arrangement_id, ARR);
    assert_int_equal(rep.kind, BRR__V1__REPORT_KIND__PAYMENT_RECEIVED);
    assert_string_equal(rep.reference, "C-1");
    assert_int_equal(rep.amount_cents, 2801);
    assert_string_equal(rep.received_on, "2025-03-01");
}

static void test_report_each_type_needs_its_fields(void **state)
{
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"PAYMENT_RECEIVED\"}"),
                     BRR_EINVAL);
    assert_true(has_error("reference"));
    assert_true(has_error("amount_cents"));
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"CLAIM_CHANGED\",\"reference\":"
                           "\"C\",\"open_cents\":0}"),
                     0);
    assert_int_equal(rep.open_cents, 0);
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"NEW_CLAIM\",\"reference\":\"C\","
                           "\"open_cents\":0}"),
                     BRR_EINVAL);
    assert_true(has_error("open_cents"));
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"NEW_CLAIM\",\"reference\":\"C\","
                           "\"open_cents\":100,\"due_date\":\"2024-02-30\"}"),
                     BRR_EINVAL);
    assert_true(has_error("due_date"));
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"CLAIM_WITHDRAWN\",\"reference\":"
                           "\"C\"}"),
                     0);
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"END_REQUESTED\",\"reason\":"
                           "\"WSNP\"}"),
                     0);
    assert_int_equal(rep.kind, BRR__V1__REPORT_KIND__END_REQUESTED);
    assert_string_equal(rep.reason, "WSNP");
}

/* Every organisation of the arrangement is told why it ended: a code, not
 * free text that could carry the citizen's personal data to the others. */
static void test_report_end_reason_is_a_code(void **state)
{
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"END_REQUESTED\",\"reason\":"
                           "\"SCHULDSANERING_WSNP-2\"}"),
                     0);
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"END_REQUESTED\"}"),
                     0);
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"END_REQUESTED\",\"reason\":"
                           "\"WSNP for J. Jansen, 12 Dorpsstraat\"}"),
                     BRR_EINVAL);
    assert_int_equal(rep.nerrors, 1);
    assert_true(has_error("reason"));
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"END_REQUESTED\",\"reason\":"
                           "\"wsnp\"}"),
                     BRR_EINVAL);
    /* a withdrawal's reason stays with distribution: free text is fine */
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"CLAIM_WITHDRAWN\",\"reference\":"
                           "\"C\",\"reason\":\"paid in full at the desk\"}"),
                     0);
}

static void test_report_organisation_never_from_body(void **state)
{
    assert_int_equal(parse("{\"report_id\":\"1\",\"organisation\":\"DUO\","
                           "\"arrangement_id\":\"" ARR
                           "\",\"type\":\"END_REQUESTED\"}"),
                     BRR_EINVAL);
    assert_true(has_error("organisation"));
}

static void test_report_bounds_and_unknowns(void **state)
{
    char big[200];
    memset(big, 'x', 65);
    big[65] = '\0';
    {
        char body[400];
        snprintf(body, sizeof(body),
                 "{\"report_id\":\"%s\",\"arrangement_id\":\"nope\","
                 "\"type\":\"REFUND\",\"colour\":1}",
                 big);
        assert_int_equal(parse(body), BRR_EINVAL);
    }
    assert_true(has_error("report_id"));
    assert_true(has_error("arrangement_id"));
    assert_true(has_error("type"));
    assert_true(has_error("colour"));
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"PAYMENT_RECEIVED\",\"reference\":"
                           "\"C\",\"amount_cents\":-5}"),
                     BRR_EINVAL);
    assert_true(has_error("amount_cents"));
    assert_int_equal(parse("{\"report_id\":\"1\",\"arrangement_id\":\"" ARR
                           "\",\"type\":\"PAYMENT_RECEIVED\",\"reference\":"
                           "\"C\",\"amount_cents\":1.5}"),
                     BRR_EINVAL);
    assert_int_equal(parse("[1]"), BRR_EPARSE);
    assert_int_equal(parse("{\"report_id\":"), BRR_EPARSE);
    assert_int_equal(parse("{\"report_id\":\"1\",\"report_id\":\"2\"}"),
                     BRR_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_payment_is_parsed),
        cmocka_unit_test(test_report_each_type_needs_its_fields),
        cmocka_unit_test(test_report_end_reason_is_a_code),
        cmocka_unit_test(test_report_organisation_never_from_body),
        cmocka_unit_test(test_report_bounds_and_unknowns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
