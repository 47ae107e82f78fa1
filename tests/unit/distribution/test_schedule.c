/*
 * test_schedule.c: civil dates, due dates at month ends and in leap years,
 * schedules that pay exactly the total, the simulated plan in which a claim
 * paid off frees capacity, and the missed-instalment lifecycle at its day
 * boundaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "schedule.h"

static int32_t D(int32_t y, int m, int d)
{
    return dist_days_from_civil(y, m, d);
}

static void assert_date(int32_t day, const char *want)
{
    char buf[11];
    assert_string_equal(dist_date_format(day, buf), want);
}

static void test_date_known_days(void **state)
{
    assert_int_equal(D(1970, 1, 1), 0);
    assert_int_equal(D(1969, 12, 31), -1);
    assert_int_equal(D(2000, 3, 1), 11017);
    assert_int_equal(D(2024, 3, 1) - D(2024, 2, 28), 2);
    assert_int_equal(D(2023, 3, 1) - D(2023, 2, 28), 1);
    assert_int_equal(D(2100, 3, 1) - D(2100, 2, 28), 1);
    assert_int_equal(D(2000, 3, 1) - D(2000, 2, 28), 2);
    assert_true(dist_is_leap(2024));
    assert_true(dist_is_leap(2000));
    assert_false(dist_is_leap(1900));
    assert_false(dist_is_leap(2023));
    assert_int_equal(dist_days_in_month(2024, 2), 29);
    assert_int_equal(dist_days_in_month(2025, 2), 28);
    assert_int_equal(dist_days_in_month(2025, 4), 30);
    assert_int_equal(dist_days_in_month(2025, 12), 31);
}

static void test_date_roundtrip_1900_to_2200(void **state)
{
    int32_t day = D(1900, 1, 1);
    int32_t y = 1900;
    int m = 1, d = 1;
    for (; day <= D(2200, 12, 31); day++) {
        int32_t yy;
        int mm, dd;
        dist_civil_from_days(day, &yy, &mm, &dd);
        assert_int_equal(yy, y);
        assert_int_equal(mm, m);
        assert_int_equal(dd, d);
        assert_int_equal(D(yy, mm, dd), day);
        if (++d > dist_days_in_month(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
}

static void test_date_parse_and_format(void **state)
{
    int32_t day;
    assert_int_equal(dist_date_parse("2024-02-29", 10, &day), 0);
    assert_int_equal(day, D(2024, 2, 29));
    assert_date(day, "2024-02-29");
    assert_int_equal(dist_date_parse("2000-02-29", 10, &day), 0);
    assert_int_equal(dist_date_parse("2023-02-29", 10, &day), BRR_EPARSE);
    assert_int_equal(dist_date_parse("1900-02-29", 10, &day), BRR_EPARSE);
    assert_int_equal(dist_date_parse("2024-04-31", 10, &day), BRR_EPARSE);
    assert_int_equal(dist_date_parse("2024-13-01", 10, &day), BRR_EPARSE);
    assert_int_equal(dist_date_parse("2024-00-10", 10, &day), BRR_EPARSE);
    assert_int_equal(dist_date_parse("2024-1-10", 9, &day), BRR_EPARSE);
    assert_int_equal(dist_date_parse("2024/01/10", 10, &day), BRR_EPARSE);
    assert_int_equal(dist_date_parse("1899-12-31", 10, &day), BRR_EPARSE);
    assert_int_equal(dist_date_parse("2024-01-10Z", 11, &day), BRR_EPARSE);
    assert_int_equal(dist_date_parse("+024-01-10", 10, &day), BRR_EPARSE);
    assert_int_equal(dist_date_parse("9999-12-31", 10, &day), 0);
    assert_date(day, "9999-12-31");
    assert_date(0, "1970-01-01");
}

static void test_add_months_clamps_to_month_end(void **state)
{
    assert_date(dist_add_months(D(2024, 1, 31), 1), "2024-02-29");
    assert_date(dist_add_months(D(2023, 1, 31), 1), "2023-02-28");
    assert_date(dist_add_months(D(2024, 3, 31), -1), "2024-02-29");
    assert_date(dist_add_months(D(2024, 1, 31), 3), "2024-04-30");
    assert_date(dist_add_months(D(2024, 2, 29), 12), "2025-02-28");
    assert_date(dist_add_months(D(2024, 2, 29), 48), "2028-02-29");
    assert_date(dist_add_months(D(2024, 11, 15), 2), "2025-01-15");
    assert_date(dist_add_months(D(2024, 1, 15), -1), "2023-12-15");
    assert_date(dist_add_months(D(2024, 1, 15), -13), "2022-12-15");
    assert_date(dist_add_months(D(2024, 5, 10), 0), "2024-05-10");
}

static void test_due_day_31_follows_month_ends(void **state)
{
    int32_t first = D(2024, 1, 31);
    assert_date(dist_due_nth(first, 31, 0), "2024-01-31");
    assert_date(dist_due_nth(first, 31, 1), "2024-02-29");
    assert_date(dist_due_nth(first, 31, 2), "2024-03-31");
    assert_date(dist_due_nth(first, 31, 3), "2024-04-30");
    assert_date(dist_due_nth(first, 31, 13), "2025-02-28");
    assert_date(dist_due_nth(first, 31, 14), "2025-03-31");
    /* a due day of 30 comes back to 30 after February */
    first = D(2023, 1, 30);
    assert_date(dist_due_nth(first, 30, 1), "2023-02-28");
    assert_date(dist_due_nth(first, 30, 2), "2023-03-30");
    assert_date(dist_due_in_month(2024, 2, DIST_DUE_LAST), "2024-02-29");
    assert_date(dist_due_in_month(2100, 2, DIST_DUE_LAST), "2100-02-28");
    assert_date(dist_due_in_month(2024, 6, 1), "2024-06-01");
}

static void test_due_on_or_after(void **state)
{
    assert_date(dist_due_on_or_after(D(2024, 2, 15), 10), "2024-03-10");
    assert_date(dist_due_on_or_after(D(2024, 2, 15), 15), "2024-02-15");
    assert_date(dist_due_on_or_after(D(2024, 2, 16), 15), "2024-03-15");
    assert_date(dist_due_on_or_after(D(2024, 2, 15), 31), "2024-02-29");
    assert_date(dist_due_on_or_after(D(2024, 12, 2), 1), "2025-01-01");
    assert_date(dist_due_on_or_after(D(2023, 2, 28), 31), "2023-02-28");
}

static void test_schedule_count_and_last(void **state)
{
    size_t n;
    brr_cents_t last;
    assert_int_equal(dist_schedule_count(100000, 4200, &n, &last), 0);
    assert_int_equal(n, 24);
    assert_int_equal(last, 100000 - 23 * 4200);
    assert_int_equal(dist_schedule_count(84000, 4200, &n, &last), 0);
    assert_int_equal(n, 20);
    assert_int_equal(last, 4200);
    assert_int_equal(dist_schedule_count(1, 4200, &n, &last), 0);
    assert_int_equal(n, 1);
    assert_int_equal(last, 1);
    assert_int_equal(dist_schedule_count(0, 4200, &n, &last), BRR_EINVAL);
    assert_int_equal(dist_schedule_count(100, 0, &n, &last), BRR_EINVAL);
    assert_int_equal(dist_schedule_count(DIST_SCHEDULE_MAX + 1, 1, &n, &last),
                     BRR_ERANGE);
    assert_int_equal(dist_schedule_count(DIST_SCHEDULE_MAX, 1, &n, &last), 0);
}

static void test_schedule_build_sums_to_total(void **state)
{
    dist_instalment_t s[DIST_SCHEDULE_MAX];
    size_t n;
    assert_int_equal(dist_schedule_build(198300, 12345, D(2024, 1, 31), 31, s,
                                         DIST_SCHEDULE_MAX, &n),
                     0);
    assert_int_equal(n, 17);
    brr_cents_t sum = 0;
    for (size_t k = 0; k < n; k++) {
        sum += s[k].cents;
        assert_true(s[k].cents > 0 && s[k].cents <= 12345);
        if (k + 1 < n)
            assert_int_equal(s[k].cents, 12345);
    }
    assert_int_equal(sum, 198300);
    assert_int_equal(s[16].cents, 198300 - 16 * 12345);
    assert_date(s[1].due_day, "2024-02-29");
    assert_date(s[16].due_day, "2025-05-31");
    assert_int_equal(
        dist_schedule_build(198300, 12345, D(2024, 1, 31), 31, s, 16, &n),
        BRR_ERANGE);
    assert_int_equal(
        dist_schedule_build(198300, 12345, D(2024, 1, 31), 0, s, 20, &n),
        BRR_EINVAL);
}

static dist_claim_t claim(const char *org, const char *ref, brr_cents_t open,
                          int32_t due)
{
    dist_claim_t c;
    memset(&c, 0, sizeof(c));
    snprintf(c.organisation, sizeof(c.organisation), "%s", org);
    snprintf(c.reference, sizeof(c.reference), "%s", ref);
    c.open_cents = open;
    c.due_day = due;
    return c;
}

static void test_plan_paid_off_claim_frees_capacity(void **state)
{
    /* CAK's 1000 gets the minimum 500 twice and is paid off; from the third
     * instalment DUO receives all of it */
    dist_claim_t c[] = {
        claim("DUO", "d1", 100000, D(2023, 1, 1)),
        claim("CAK", "k1", 1000, D(2023, 6, 1)),
    };
    dist_plan_t plan;
    assert_int_equal(
        dist_plan_build(c, 2, 5000, D(2024, 1, 28), 28, NULL, &plan), 0);
    assert_int_equal(plan.ninst, 21);
    assert_int_equal(plan.norgs, 2);
    assert_string_equal(plan.org[0], "CAK");
    assert_string_equal(plan.org[1], "DUO");
    assert_int_equal(plan.share[0 * 2 + 0], 500);
    assert_int_equal(plan.share[0 * 2 + 1], 4500);
    assert_int_equal(plan.share[1 * 2 + 0], 500);
    assert_int_equal(plan.share[2 * 2 + 0], 0);
    assert_int_equal(plan.share[2 * 2 + 1], 5000);
    assert_date(plan.org_end[0], "2024-02-28");
    assert_date(plan.org_end[1], "2025-09-28");
    assert_date(plan.end, "2025-09-28");
    assert_int_equal(plan.amount[20], 101000 - 20 * 5000);
    /* per claim too: instalment 3 goes to d1 alone */
    assert_int_equal(plan.claim_cents[2 * 2 + 0], 5000);
    assert_int_equal(plan.claim_cents[2 * 2 + 1], 0);
    dist_plan_free(&plan);
    assert_null(plan.share);
}

static uint64_t rs = UINT64_C(0x7363686564756c65);

static uint64_t rnd(uint64_t n)
{
    rs ^= rs >> 12;
    rs ^= rs << 25;
    rs ^= rs >> 27;
    return (rs * UINT64_C(2685821657736338717)) % n;
}

static void test_plan_pays_exactly_the_total(void **state)
{
    static const char *const orgs[] = {"BD",  "CAK", "CJIB", "DUO",
                                       "RDW", "SVB", "UWV",  "TSL"};
    for (int iter = 0; iter < 2000; iter++) {
        dist_claim_t c[24];
        size_t n = 1 + rnd(24);
        brr_cents_t total = 0;
        for (size_t i = 0; i < n; i++) {
            char ref[32];
            snprintf(ref, sizeof(ref), "r%zu", i);
            c[i] = claim(orgs[rnd(8)], ref, (brr_cents_t)rnd(300000),
                         D(2023, 1, 1) + (int32_t)rnd(400));
            total += c[i].open_cents;
        }
        if (total == 0)
            continue;
        brr_cents_t amount = total / 36 + 1 + (brr_cents_t)rnd(5000);
        dist_policy_t pol;
        dist_policy_default(&pol);
        if (rnd(2))
            pol.small_claims = DIST_PAY_OFF_FIRST;
        dist_plan_t plan;
        assert_int_equal(
            dist_plan_build(c, n, amount, D(2024, 3, 31), 31, &pol, &plan), 0);
        size_t want_n;
        brr_cents_t last;
        assert_int_equal(dist_schedule_count(total, amount, &want_n, &last), 0);
        assert_int_equal(plan.ninst, want_n);
        assert_int_equal(plan.amount[plan.ninst - 1], last);
        brr_cents_t paid = 0;
        for (size_t k = 0; k < plan.ninst; k++) {
            brr_cents_t row = 0;
            for (size_t j = 0; j < plan.norgs; j++)
                row += plan.share[k * plan.norgs + j];
            assert_int_equal(row, plan.amount[k]);
            paid += row;
        }
        assert_int_equal(paid, total);
        for (size_t i = 0; i < n; i++) {
            brr_cents_t got = 0;
            for (size_t k = 0; k < plan.ninst; k++)
                got += plan.claim_cents[k * n + i];
            assert_int_equal(got, c[i].open_cents);
        }
        assert_int_equal(plan.end, plan.due[plan.ninst - 1]);
        dist_plan_free(&plan);
    }
}

static void test_plan_refuses_nothing_open(void **state)
{
    dist_claim_t c[] = {claim("DUO", "d1", 0, 0)};
    dist_plan_t plan;
    assert_int_equal(dist_plan_build(c, 1, 5000, 0, 1, NULL, &plan),
                     BRR_EINVAL);
    c[0].open_cents = 100;
    assert_int_equal(dist_plan_build(c, 1, 0, 0, 1, NULL, &plan), BRR_EINVAL);
    assert_int_equal(dist_plan_build(c, 1, 50, 0, 32, NULL, &plan), BRR_EINVAL);
}

/* ---- lifecycle --------------------------------------------------------- */

static dist_decision_t decide(dist_state_t st, int reminders, int32_t last,
                              const dist_inst_t *inst, size_t n, int32_t today)
{
    dist_life_t life = {st, reminders, last, 100000, inst, n};
    dist_decision_t dec;
    assert_int_equal(dist_life_next(&life, NULL, today, &dec), 0);
    return dec;
}

static void test_life_grace_ends_after_14_days(void **state)
{
    int32_t due = D(2024, 1, 1);
    dist_inst_t in[] = {{due - 31, DIST_INST_PAID},
                        {due, DIST_INST_DUE},
                        {D(2024, 2, 1), DIST_INST_DUE}};
    dist_decision_t dec = decide(DIST_ST_ACTIEF, 0, 0, in, 3, due + 14);
    assert_int_equal(dec.action, DIST_ACT_NONE);
    assert_int_equal(dec.missed, 0);
    assert_int_equal(dec.next_check, due + 15);
    dec = decide(DIST_ST_ACTIEF, 0, 0, in, 3, due + 15);
    assert_int_equal(dec.action, DIST_ACT_ARREARS);
    assert_int_equal(dec.inst, 1);
    assert_int_equal(dec.missed, 1);
    assert_int_equal(dec.next_check, due + 15);
    /* paid on the last day of grace: nothing happens */
    in[1].status = DIST_INST_PAID;
    dec = decide(DIST_ST_ACTIEF, 0, 0, in, 3, due + 15);
    assert_int_equal(dec.action, DIST_ACT_NONE);
    assert_int_equal(dec.next_check, D(2024, 2, 16));
}

static void test_life_paused_instalment_is_never_missed(void **state)
{
    dist_inst_t in[] = {{D(2024, 1, 1), DIST_INST_PAUSED},
                        {D(2024, 2, 1), DIST_INST_PAUSED},
                        {D(2024, 3, 1), DIST_INST_DUE}};
    dist_decision_t dec = decide(DIST_ST_ACTIEF, 0, 0, in, 3, D(2024, 3, 1));
    assert_int_equal(dec.action, DIST_ACT_NONE);
    assert_int_equal(dec.missed, 0);
    assert_int_equal(dec.next_check, D(2024, 3, 16));
    /* a paused arrangement takes no steps at all */
    in[2].status = DIST_INST_DUE;
    dec = decide(DIST_ST_GEPAUZEERD, 0, 0, in, 3, D(2024, 9, 1));
    assert_int_equal(dec.action, DIST_ACT_NONE);
    assert_int_equal(dec.next_check, DIST_NEVER);
}

static void test_life_second_reminder_after_14_days(void **state)
{
    int32_t due = D(2024, 1, 1), r1 = due + 15;
    dist_inst_t in[] = {{due, DIST_INST_DUE}, {D(2024, 2, 1), DIST_INST_DUE}};
    dist_decision_t dec = decide(DIST_ST_ACHTERSTAND, 1, r1, in, 2, r1 + 14);
    assert_int_equal(dec.action, DIST_ACT_NONE);
    assert_int_equal(dec.next_check, r1 + 15);
    dec = decide(DIST_ST_ACHTERSTAND, 1, r1, in, 2, r1 + 15);
    assert_int_equal(dec.action, DIST_ACT_REMINDER2);
    assert_int_equal(dec.inst, 0);
}

static void test_life_lapse_when_two_missed_after_second_reminder(void **state)
{
    int32_t due1 = D(2024, 1, 1), due2 = D(2024, 2, 1);
    int32_t r2 = due1 + 30; /* 2024-01-31 */
    dist_inst_t in[] = {{due1, DIST_INST_DUE},
                        {due2, DIST_INST_DUE},
                        {D(2024, 3, 1), DIST_INST_DUE}};
    /* one missed: no lapse, however long after the reminder */
    dist_decision_t dec = decide(DIST_ST_ACHTERSTAND, 2, r2, in, 3, due2 + 14);
    assert_int_equal(dec.action, DIST_ACT_NONE);
    assert_int_equal(dec.missed, 1);
    assert_int_equal(dec.next_check, due2 + 15);
    dec = decide(DIST_ST_ACHTERSTAND, 2, r2, in, 3, due2 + 15);
    assert_int_equal(dec.action, DIST_ACT_LAPSE);
    assert_int_equal(dec.missed, 2);
    assert_int_equal(dec.inst, 0);
    /* the second paid in time: no lapse */
    in[1].status = DIST_INST_PAID;
    dec = decide(DIST_ST_ACHTERSTAND, 2, r2, in, 3, due2 + 15);
    assert_int_equal(dec.action, DIST_ACT_NONE);
}

static void test_life_second_reminder_gets_its_full_period(void **state)
{
    /* two instalments already missed when the second reminder went out
     * (a catch-up): the citizen still has 14 days to answer it */
    int32_t due1 = D(2024, 1, 1), due2 = D(2024, 2, 1);
    int32_t r2 = D(2024, 3, 1);
    dist_inst_t in[] = {{due1, DIST_INST_DUE}, {due2, DIST_INST_DUE}};
    dist_decision_t dec = decide(DIST_ST_ACHTERSTAND, 2, r2, in, 2, r2);
    assert_int_equal(dec.action, DIST_ACT_NONE);
    assert_int_equal(dec.next_check, r2 + 15);
    dec = decide(DIST_ST_ACHTERSTAND, 2, r2, in, 2, r2 + 14);
    assert_int_equal(dec.action, DIST_ACT_NONE);
    dec = decide(DIST_ST_ACHTERSTAND, 2, r2, in, 2, r2 + 15);
    assert_int_equal(dec.action, DIST_ACT_LAPSE);
}

static void test_life_recover_and_complete(void **state)
{
    int32_t due = D(2024, 1, 1);
    dist_inst_t in[] = {{due, DIST_INST_PAID}, {D(2024, 2, 1), DIST_INST_DUE}};
    dist_decision_t dec =
        decide(DIST_ST_ACHTERSTAND, 2, due + 30, in, 2, due + 35);
    assert_int_equal(dec.action, DIST_ACT_RECOVER);

    dist_life_t life = {DIST_ST_ACTIEF, 0, 0, 0, in, 2};
    assert_int_equal(dist_life_next(&life, NULL, due + 100, &dec), 0);
    assert_int_equal(dec.action, DIST_ACT_COMPLETE);
    /* in arrears, nothing open: back to ACTIEF first, then complete */
    in[0].status = DIST_INST_DUE;
    life.state = DIST_ST_ACHTERSTAND;
    life.reminders = 1;
    assert_int_equal(dist_life_next(&life, NULL, due + 100, &dec), 0);
    assert_int_equal(dec.action, DIST_ACT_RECOVER);
    for (dist_state_t st = DIST_ST_VERVALLEN; st <= DIST_ST_BEEINDIGD; st++) {
        life.state = st;
        assert_int_equal(dist_life_next(&life, NULL, due + 100, &dec), 0);
        assert_int_equal(dec.action, DIST_ACT_NONE);
    }
    life.state = DIST_ST_ACHTERSTAND;
    life.reminders = 0;
    assert_int_equal(dist_life_next(&life, NULL, due + 100, &dec), BRR_EINVAL);
}

static void test_life_whole_default_timeline(void **state)
{
    /* walks a citizen who stops paying: due dates on the 1st, the service
     * asking every day and applying what it is told */
    dist_inst_t in[6];
    for (int k = 0; k < 6; k++)
        in[k] = (dist_inst_t){D(2024, 1 + k, 1), DIST_INST_DUE};
    in[0].status = DIST_INST_PAID;
    dist_life_t life = {DIST_ST_ACTIEF, 0, 0, 50000, in, 6};
    int32_t arrears = 0, rem2 = 0, lapse = 0;
    for (int32_t day = D(2024, 1, 1); day < D(2024, 7, 1); day++) {
        dist_decision_t dec;
        assert_int_equal(dist_life_next(&life, NULL, day, &dec), 0);
        switch (dec.action) {
        case DIST_ACT_ARREARS:
            life.state = DIST_ST_ACHTERSTAND;
            life.reminders = 1;
            life.last_reminder = arrears = day;
            break;
        case DIST_ACT_REMINDER2:
            life.reminders = 2;
            life.last_reminder = rem2 = day;
            break;
        case DIST_ACT_LAPSE:
            life.state = DIST_ST_VERVALLEN;
            lapse = day;
            break;
        case DIST_ACT_NONE:
            break;
        default:
            fail_msg("unexpected action %d", dec.action);
        }
    }
    assert_date(arrears, "2024-02-16");
    assert_date(rem2, "2024-03-02");
    assert_date(lapse, "2024-03-17");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_known_days),
        cmocka_unit_test(test_date_roundtrip_1900_to_2200),
        cmocka_unit_test(test_date_parse_and_format),
        cmocka_unit_test(test_add_months_clamps_to_month_end),
        cmocka_unit_test(test_due_day_31_follows_month_ends),
        cmocka_unit_test(test_due_on_or_after),
        cmocka_unit_test(test_schedule_count_and_last),
        cmocka_unit_test(test_schedule_build_sums_to_total),
        cmocka_unit_test(test_plan_paid_off_claim_frees_capacity),
        cmocka_unit_test(test_plan_pays_exactly_the_total),
        cmocka_unit_test(test_plan_refuses_nothing_open),
        cmocka_unit_test(test_life_grace_ends_after_14_days),
        cmocka_unit_test(test_life_paused_instalment_is_never_missed),
        cmocka_unit_test(test_life_second_reminder_after_14_days),
        cmocka_unit_test(test_life_lapse_when_two_missed_after_second_reminder),
        cmocka_unit_test(test_life_second_reminder_gets_its_full_period),
        cmocka_unit_test(test_life_recover_and_complete),
        cmocka_unit_test(test_life_whole_default_timeline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
