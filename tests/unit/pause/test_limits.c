/*
 * test_limits.c: the payment pause's limits at every boundary (length for
 * a citizen and a debt counsellor, count, total months, the gap in paid
 * instalments, the retroactive instalment, overlap, how far ahead), the
 * month arithmetic at month ends and in leap years, and Europe/Amsterdam
 * dates around the daylight-saving switches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "pause_limits.h"
#include "schedule.h"

static int32_t D(int32_t y, int m, int d)
{
    return dist_days_from_civil(y, m, d);
}

/* A request on 2025-03-10 for an arrangement due on the 1st since
 * 2025-01-01 with 2 instalments paid, asked by a citizen. */
static pause_request_t base(int32_t start, int32_t end)
{
    pause_request_t rq;
    memset(&rq, 0, sizeof(rq));
    rq.today = D(2025, 3, 10);
    rq.start = start;
    rq.end = end;
    rq.first_due = D(2025, 1, 1);
    rq.due_day = 1;
    rq.paid = 2;
    return rq;
}

static pause_limit_t check(const pause_request_t *rq, pause_verdict_t *v)
{
    pause_policy_t pol;
    pause_policy_default(&pol);
    assert_int_equal(pause_check(&pol, rq, v), 0);
    return v->limit;
}

static void test_policy_defaults_are_domain_figures(void **state)
{
    pause_policy_t pol;
    (void)state;
    pause_policy_default(&pol);
    assert_int_equal(pol.max_months, 3);
    assert_int_equal(pol.max_months_counsellor, 4);
    assert_int_equal(pol.max_count, 2);
    assert_int_equal(pol.max_total_months, 6);
    assert_int_equal(pol.min_gap_paid, 3);
    assert_int_equal(pol.retroactive, 1);
    assert_int_equal(pol.effect, PAUSE_EFFECT_EXTEND);
    assert_string_equal(pol.version, PAUSE_POLICY_VERSION);
    assert_int_equal(pause_policy_check(&pol), 0);
    pol.max_months = 0;
    assert_int_equal(pause_policy_check(&pol), BRR_EINVAL);
    pause_policy_default(&pol);
    pol.version[0] = '\0';
    assert_int_equal(pause_policy_check(&pol), BRR_EINVAL);
    pause_policy_default(&pol);
    pol.retroactive = 4;
    assert_int_equal(pause_policy_check(&pol), BRR_EINVAL);
}

static void test_effect_names_round_trip(void **state)
{
    pause_effect_t e;
    (void)state;
    assert_int_equal(pause_effect_parse("RESPREAD", &e), 0);
    assert_int_equal(e, PAUSE_EFFECT_RESPREAD);
    assert_string_equal(pause_effect_name(e), "RESPREAD");
    assert_int_equal(pause_effect_parse("EXTEND", &e), 0);
    assert_string_equal(pause_effect_name(e), "EXTEND");
    assert_int_equal(pause_effect_parse("extend", &e), BRR_EINVAL);
    assert_int_equal(pause_effect_parse(NULL, &e), BRR_EINVAL);
}

static void test_months_round_up_at_month_ends(void **state)
{
    (void)state;
    assert_int_equal(pause_months(D(2025, 1, 15), D(2025, 1, 15)), 1);
    assert_int_equal(pause_months(D(2025, 1, 15), D(2025, 2, 14)), 1);
    assert_int_equal(pause_months(D(2025, 1, 15), D(2025, 2, 15)), 2);
    assert_int_equal(pause_months(D(2025, 1, 15), D(2025, 4, 14)), 3);
    assert_int_equal(pause_months(D(2025, 1, 15), D(2025, 4, 15)), 4);
    /* 31 Jan + 3 months is 30 Apr (clamped): the pause ends the day before */
    assert_int_equal(pause_months(D(2025, 1, 31), D(2025, 4, 29)), 3);
    assert_int_equal(pause_months(D(2025, 1, 31), D(2025, 4, 30)), 4);
    /* 30 Nov + 3 months: 29 Feb in a leap year, 28 Feb otherwise */
    assert_int_equal(pause_months(D(2023, 11, 30), D(2024, 2, 28)), 3);
    assert_int_equal(pause_months(D(2023, 11, 30), D(2024, 2, 29)), 4);
    assert_int_equal(pause_months(D(2024, 11, 30), D(2025, 2, 27)), 3);
    assert_int_equal(pause_months(D(2024, 11, 30), D(2025, 2, 28)), 4);
    /* a month is a calendar month, not 30 days */
    assert_int_equal(pause_months(D(2025, 2, 1), D(2025, 2, 28)), 1);
    assert_int_equal(pause_months(D(2024, 2, 1), D(2024, 2, 29)), 1);
    assert_int_equal(pause_months(D(2025, 2, 1), D(2025, 3, 1)), 2);
    assert_int_equal(pause_months(D(2025, 2, 2), D(2025, 2, 1)), 0);
}

static void test_dues_between_month_ends(void **state)
{
    (void)state;
    /* due day 31: 31 Jan, 29 Feb (2024), 31 Mar */
    assert_int_equal(
        pause_dues_between(D(2024, 1, 31), 31, D(2024, 2, 1), D(2024, 2, 29)),
        1);
    assert_int_equal(
        pause_dues_between(D(2024, 1, 31), 31, D(2024, 2, 1), D(2024, 2, 28)),
        0);
    assert_int_equal(
        pause_dues_between(D(2024, 1, 31), 31, D(2024, 1, 31), D(2024, 3, 31)),
        3);
    assert_int_equal(pause_dues_between(0, 1, D(2024, 1, 1), D(2025, 1, 1)), 0);
    assert_int_equal(
        pause_dues_between(D(2025, 1, 1), 1, D(2024, 1, 1), D(2024, 12, 31)),
        0);
}

static void test_amsterdam_day_around_midnight_and_dst(void **state)
{
    int64_t t;
    (void)state;
    /* winter (CET, UTC+1): 22:59:59 UTC is still the same day */
    t = (int64_t)D(2024, 12, 31) * 86400 + 22 * 3600 + 59 * 60 + 59;
    assert_int_equal(pause_amsterdam_day(t), D(2024, 12, 31));
    assert_int_equal(pause_amsterdam_day(t + 1), D(2025, 1, 1));
    /* summer (CEST, UTC+2): 22:00 UTC is already tomorrow */
    t = (int64_t)D(2025, 6, 30) * 86400 + 21 * 3600 + 59 * 60 + 59;
    assert_int_equal(pause_amsterdam_day(t), D(2025, 6, 30));
    assert_int_equal(pause_amsterdam_day(t + 1), D(2025, 7, 1));
    /* 2025-03-30 01:00 UTC the clocks go forward; 2025-10-26 back */
    t = (int64_t)D(2025, 3, 30) * 86400 + 3600;
    assert_int_equal(pause_amsterdam_day(t - 1), D(2025, 3, 30));
    t = (int64_t)D(2025, 3, 30) * 86400 + 22 * 3600;
    assert_int_equal(pause_amsterdam_day(t - 1), D(2025, 3, 30));
    assert_int_equal(pause_amsterdam_day(t), D(2025, 3, 31));
    t = (int64_t)D(2025, 10, 26) * 86400 + 22 * 3600;
    assert_int_equal(pause_amsterdam_day(t), D(2025, 10, 26));
    assert_int_equal(pause_amsterdam_day(t + 3600), D(2025, 10, 27));
    /* 29 February of a leap year */
    t = (int64_t)D(2024, 2, 28) * 86400 + 23 * 3600;
    assert_int_equal(pause_amsterdam_day(t), D(2024, 2, 29));
    /* midnight in Amsterdam as UTC: 23:00 in winter, 22:00 in summer */
    assert_int_equal(pause_amsterdam_midnight(D(2025, 1, 1)),
                     (int64_t)D(2025, 1, 1) * 86400 - 3600);
    assert_int_equal(pause_amsterdam_midnight(D(2025, 7, 1)),
                     (int64_t)D(2025, 7, 1) * 86400 - 7200);
    assert_int_equal(pause_amsterdam_midnight(D(2025, 3, 30)),
                     (int64_t)D(2025, 3, 30) * 86400 - 3600);
    assert_int_equal(pause_amsterdam_midnight(D(2025, 3, 31)),
                     (int64_t)D(2025, 3, 31) * 86400 - 7200);
    assert_int_equal(pause_amsterdam_midnight(D(2025, 10, 27)),
                     (int64_t)D(2025, 10, 27) * 86400 - 3600);
}

static void test_length_three_months_for_a_citizen(void **state)
{
    pause_verdict_t v;
    pause_request_t rq = base(D(2025, 4, 1), D(2025, 6, 30));
    (void)state;
    assert_int_equal(check(&rq, &v), PAUSE_OK);
    rq.end = D(2025, 7, 1);
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_LENGTH);
    assert_int_equal(v.allowed, 3);
    assert_int_equal(v.asked, 4);
    assert_string_equal(v.unit, "months");
    assert_string_equal(pause_limit_name(v.limit), "pause.max_length_months");
    assert_non_null(strstr(v.detail, "4 month(s), at most 3"));
}

static void test_length_four_months_for_a_debt_counsellor(void **state)
{
    pause_verdict_t v;
    pause_request_t rq = base(D(2025, 4, 1), D(2025, 7, 31));
    (void)state;
    rq.counsellor = 1;
    assert_int_equal(check(&rq, &v), PAUSE_OK);
    rq.end = D(2025, 8, 1);
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_LENGTH);
    assert_int_equal(v.allowed, 4);
    assert_int_equal(v.asked, 5);
    assert_non_null(strstr(v.detail, "debt counsellor"));
}

static void test_end_before_start_is_refused(void **state)
{
    pause_verdict_t v;
    pause_request_t rq = base(D(2025, 4, 2), D(2025, 4, 1));
    (void)state;
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_DATES);
    assert_string_equal(pause_limit_name(v.limit), "pause.dates");
    rq.end = rq.start; /* one day is a pause */
    assert_int_equal(check(&rq, &v), PAUSE_OK);
}

static void test_retroactive_one_instalment_already_due(void **state)
{
    pause_verdict_t v;
    /* today 10 Mar; the 1 Mar instalment is due: from 1 Mar is allowed */
    pause_request_t rq = base(D(2025, 3, 1), D(2025, 5, 31));
    (void)state;
    assert_int_equal(check(&rq, &v), PAUSE_OK);
    /* from 28 Feb covers only 1 Mar too */
    rq.start = D(2025, 2, 28);
    rq.end = D(2025, 5, 27);
    assert_int_equal(check(&rq, &v), PAUSE_OK);
    /* from 1 Feb covers 1 Feb and 1 Mar: two already due */
    rq.start = D(2025, 2, 1);
    rq.end = D(2025, 4, 30);
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_RETROACTIVE);
    assert_int_equal(v.allowed, 1);
    assert_int_equal(v.asked, 2);
    assert_string_equal(v.unit, "instalments");
    /* never more than a month back, even before the first instalment */
    rq = base(D(2025, 2, 9), D(2025, 3, 31));
    rq.first_due = D(2025, 4, 1);
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_RETROACTIVE);
    rq.start = D(2025, 2, 10);
    assert_int_equal(check(&rq, &v), PAUSE_OK);
}

static void test_start_at_most_a_year_ahead(void **state)
{
    pause_verdict_t v;
    pause_request_t rq = base(D(2026, 3, 10), D(2026, 4, 9));
    (void)state;
    assert_int_equal(check(&rq, &v), PAUSE_OK);
    rq.start = D(2026, 3, 11);
    rq.end = D(2026, 4, 10);
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_AHEAD);
    assert_int_equal(v.allowed, 12);
}

static void test_no_overlap_with_another_pause(void **state)
{
    pause_verdict_t v;
    pause_prior_t p = {D(2025, 5, 1), D(2025, 5, 31), 0, 0};
    pause_request_t rq = base(D(2025, 5, 31), D(2025, 6, 30));
    (void)state;
    rq.prior = &p;
    rq.nprior = 1;
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_OVERLAP);
    assert_string_equal(pause_limit_name(v.limit), "pause.no_overlap");
    rq.start = D(2025, 4, 1);
    rq.end = D(2025, 5, 1);
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_OVERLAP);
}

static void test_gap_three_paid_instalments_since_the_last(void **state)
{
    pause_verdict_t v;
    pause_prior_t p = {D(2025, 1, 1), D(2025, 1, 31), 1, 0};
    pause_request_t rq = base(D(2025, 4, 1), D(2025, 4, 30));
    (void)state;
    rq.prior = &p;
    rq.nprior = 1;
    rq.paid = 2;
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_GAP);
    assert_int_equal(v.allowed, 3);
    assert_int_equal(v.asked, 2);
    assert_string_equal(pause_limit_name(v.limit), "pause.min_gap");
    rq.paid = 3;
    assert_int_equal(check(&rq, &v), PAUSE_OK);
    /* a pause still scheduled or running: nothing paid after it yet */
    p.ended = 0;
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_GAP);
    assert_int_equal(v.asked, 0);
    /* a new pause before a scheduled one: no gap possible either */
    p = (pause_prior_t){D(2025, 9, 1), D(2025, 9, 30), 0, 0};
    rq.start = D(2025, 4, 1);
    rq.end = D(2025, 4, 30);
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_GAP);
}

static void test_count_at_most_two(void **state)
{
    pause_verdict_t v;
    pause_prior_t p[2] = {{D(2024, 1, 1), D(2024, 1, 31), 1, 0},
                          {D(2024, 6, 1), D(2024, 6, 30), 1, 3}};
    pause_request_t rq = base(D(2025, 4, 1), D(2025, 4, 30));
    (void)state;
    rq.paid = 9;
    rq.prior = p;
    rq.nprior = 1;
    assert_int_equal(check(&rq, &v), PAUSE_OK);
    rq.nprior = 2;
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_COUNT);
    assert_int_equal(v.allowed, 2);
    assert_int_equal(v.asked, 3);
    assert_string_equal(v.unit, "pauses");
}

static void test_total_at_most_six_months(void **state)
{
    pause_verdict_t v;
    pause_policy_t pol;
    pause_prior_t p = {D(2024, 1, 1), D(2024, 3, 31), 1, 0};
    pause_request_t rq = base(D(2025, 4, 1), D(2025, 6, 30));
    (void)state;
    rq.paid = 9;
    rq.prior = &p;
    rq.nprior = 1;
    pause_policy_default(&pol);
    pol.max_total_months = 5; /* 3 + 3 = 6 > 5 */
    assert_int_equal(pause_check(&pol, &rq, &v), 0);
    assert_int_equal(v.limit, PAUSE_LIMIT_TOTAL);
    assert_int_equal(v.allowed, 5);
    assert_int_equal(v.asked, 6);
    pol.max_total_months = 6; /* exactly the maximum */
    assert_int_equal(pause_check(&pol, &rq, &v), 0);
    assert_int_equal(v.limit, PAUSE_OK);
    /* a counsellor's 4 months after 3 is 7 */
    rq.counsellor = 1;
    rq.end = D(2025, 7, 31);
    assert_int_equal(check(&rq, &v), PAUSE_LIMIT_TOTAL);
    assert_int_equal(v.asked, 7);
    assert_int_equal(v.allowed, 6);
}

static void test_bad_arguments_are_einval(void **state)
{
    pause_verdict_t v;
    pause_policy_t pol;
    pause_request_t rq = base(D(2025, 4, 1), D(2025, 4, 30));
    (void)state;
    pause_policy_default(&pol);
    rq.due_day = 0;
    assert_int_equal(pause_check(&pol, &rq, &v), BRR_EINVAL);
    rq.due_day = 1;
    rq.nprior = 1; /* no array */
    assert_int_equal(pause_check(&pol, &rq, &v), BRR_EINVAL);
    rq.nprior = 0;
    assert_int_equal(pause_check(&pol, NULL, &v), BRR_EINVAL);
    assert_int_equal(pause_check(&pol, &rq, &v), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_defaults_are_domain_figures),
        cmocka_unit_test(test_effect_names_round_trip),
        cmocka_unit_test(test_months_round_up_at_month_ends),
        cmocka_unit_test(test_dues_between_month_ends),
        cmocka_unit_test(test_amsterdam_day_around_midnight_and_dst),
        cmocka_unit_test(test_length_three_months_for_a_citizen),
        cmocka_unit_test(test_length_four_months_for_a_debt_counsellor),
        cmocka_unit_test(test_end_before_start_is_refused),
        cmocka_unit_test(test_retroactive_one_instalment_already_due),
        cmocka_unit_test(test_start_at_most_a_year_ahead),
        cmocka_unit_test(test_no_overlap_with_another_pause),
        cmocka_unit_test(test_gap_three_paid_instalments_since_the_last),
        cmocka_unit_test(test_count_at_most_two),
        cmocka_unit_test(test_total_at_most_six_months),
        cmocka_unit_test(test_bad_arguments_are_einval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
