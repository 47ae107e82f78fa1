/*
 * test_capacity.c: the capacity rules at their boundaries, the worked
 * examples of DOMAIN.md §2-§3 to the cent, and properties over random
 * inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "capacity.h"
#include "err.h"
#include "normset.h"

static brr_normsets_t sets;
static brr_capacity_result_t res;

static int setup(void **state)
{
    char err[512];

    (void)state;
    if (capacity_normsets_load_dir(BRR_NORMSET_DIR, &sets, err, sizeof(err)) !=
        0) {
        print_error("%s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    capacity_normsets_free(&sets);
    return 0;
}

static brr_capacity_claim_t one_claim[1] = {{"CJIB", "C-1", 1000000, 0}};

static brr_capacity_request_t maat(int y, int m, int d, brr_household_t hh,
                                   brr_cents_t income)
{
    brr_capacity_request_t r;

    memset(&r, 0, sizeof(r));
    r.reference_date = capacity_date_from_ymd(y, m, d);
    r.kind = BRR_CAP_MAATWERK;
    r.household = hh;
    r.net_income_cents = income;
    r.claims = one_claim;
    r.nclaims = 1;
    return r;
}

static brr_capacity_request_t std_req(const brr_capacity_claim_t *c, size_t n)
{
    brr_capacity_request_t r;

    memset(&r, 0, sizeof(r));
    r.reference_date = capacity_date_from_ymd(2025, 3, 1);
    r.kind = BRR_CAP_STANDARD;
    r.claims = c;
    r.nclaims = n;
    return r;
}

static void assess(const brr_capacity_request_t *r)
{
    assert_int_equal(
        capacity_assess(r, &sets, NULL, BRR_CAPACITY_EXPLAIN, &res), 0);
}

static int has_reason(const char *code)
{
    for (size_t i = 0; i < res.nreasons; i++)
        if (strcmp(res.reasons[i].code, code) == 0)
            return 1;
    return 0;
}

static int explained(const char *needle)
{
    for (size_t i = 0; i < res.nlines; i++)
        if (strstr(res.explanation[i], needle) != NULL)
            return 1;
    return 0;
}

/* Group 1/3 result with BVV and capacity, eligible, not paused. */
static void expect_bvv(int group, brr_cents_t bvv, brr_cents_t ac)
{
    assert_true(res.eligible);
    assert_int_equal(res.group, group);
    assert_true(res.has_bvv);
    assert_int_equal(res.bvv_cents, bvv);
    assert_int_equal(res.capacity_cents, ac);
}

/* ---- DOMAIN §3 worked examples ---------------------------------------- */

static void test_worked_single_bijstand_is_group1(void **state)
{
    brr_capacity_request_t r = maat(2025, 3, 1, BRR_HH_SINGLE, 134545);

    (void)state;
    assess(&r);
    expect_bvv(1, 127818, 6727);
    assert_string_equal(res.norm_set, "2025-01-01.r1");
    assert_string_equal(res.rule_version, BRR_CAPACITY_RULE_VERSION);
    assert_true(explained("€ 1.345,45"));
    assert_true(explained("95% x € 1.345,45 = € 1.278,18"));
    assert_true(explained("Afloscapaciteit = € 1.345,45 - € 1.278,18 = "
                          "€ 67,27"));
    assert_true(explained("groep 1"));
    assert_int_equal(res.instalment_cents, 6727);
    assert_false(res.starts_paused);
}

static void test_worked_single_high_income_is_group3(void **state)
{
    brr_capacity_request_t r = maat(2025, 3, 1, BRR_HH_SINGLE, 500000);

    (void)state;
    assess(&r);
    expect_bvv(3, 207124, 292876);
    assert_true(explained("€ 2.071,24"));
    assert_true(explained("groep 3"));
}

static void test_worked_couple_with_child_sole_earner(void **state)
{
    brr_capacity_request_t r =
        maat(2025, 3, 1, BRR_HH_COUPLE_WITH_CHILDREN, 800000);

    (void)state;
    assess(&r);
    expect_bvv(3, 285596, 514404);
    assert_int_equal(res.household_bvv_cents, 285596);
}

/* ---- group boundaries ------------------------------------------------- */

static void test_income_at_norm_is_group1(void **state)
{
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 134545);

    (void)state;
    assess(&r);
    expect_bvv(1, 127818, 6727);
}

static void test_income_one_cent_below_norm(void **state)
{
    /* 95% of 134544 = 127816.8 -> 127817 in the citizen's favour. */
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 134544);

    (void)state;
    assess(&r);
    expect_bvv(1, 127817, 6727);
}

static void test_income_one_cent_above_norm_refused_as_group2(void **state)
{
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 134546);

    (void)state;
    assess(&r);
    assert_false(res.eligible);
    assert_int_equal(res.group, 2);
    assert_false(res.has_bvv);
    assert_true(has_reason("TOESLAGEN_PARAMS_UNAVAILABLE"));
    assert_int_equal(res.instalment_cents, 0);
    assert_int_equal(res.months, 0);
    assert_true(explained("toeslagenparameters"));
}

static void test_group3_starts_at_twice_the_maximum(void **state)
{
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 414248);

    (void)state;
    assess(&r);
    expect_bvv(3, 207124, 207124);
    r.net_income_cents = 414247;
    assess(&r);
    assert_int_equal(res.group, 2);
    assert_false(res.eligible);
}

static void test_income_above_maximum_stays_at_maximum(void **state)
{
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 10000000);

    (void)state;
    assess(&r);
    expect_bvv(3, 207124, 10000000 - 207124);
}

static void test_aow_norms_apply_at_pension_age(void **state)
{
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 150107);

    (void)state;
    r.aow_age = 1;
    assess(&r);
    /* 95% of 150107 = 142601.65 -> 142602. */
    expect_bvv(1, 142602, 7505);
    assert_true(explained("AOW-leeftijd"));
    r.aow_age = 0; /* the same income is above the non-AOW norm */
    assess(&r);
    assert_int_equal(res.group, 2);

    r = maat(2025, 1, 1, BRR_HH_COUPLE, 205348);
    r.aow_age = 1;
    assess(&r);
    assert_int_equal(res.group, 1);
    r.net_income_cents = 205349;
    assess(&r);
    assert_int_equal(res.group, 2);
}

static void test_couple_norm_and_single_parent_maximum(void **state)
{
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_COUPLE, 192207);

    (void)state;
    assess(&r);
    /* 95% of 192207 = 182596.65 -> 182597. */
    expect_bvv(1, 182597, 9610);

    r = maat(2025, 1, 1, BRR_HH_SINGLE_PARENT, 134545);
    assess(&r);
    assert_int_equal(res.group, 1); /* single parents share the single norm */
    r.net_income_cents = 448448;    /* 2 x 224224 */
    assess(&r);
    expect_bvv(3, 224224, 224224);
    r = maat(2025, 1, 1, BRR_HH_COUPLE, 547806);
    assess(&r);
    expect_bvv(3, 273903, 273903);
}

static void test_under_21_uses_the_21_plus_norm(void **state)
{
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 100000);

    (void)state;
    assess(&r);
    assert_true(explained("jonger is dan 21 jaar"));
    assert_true(explained("21 jaar tot AOW-leeftijd"));
}

/* ---- norm set by reference date -------------------------------------- */

static void test_norm_set_picked_by_reference_date(void **state)
{
    brr_capacity_request_t r = maat(2024, 6, 30, BRR_HH_SINGLE, 128383);

    (void)state;
    assess(&r);
    assert_string_equal(res.norm_set, "2024-01-01.r2");
    assert_int_equal(res.group, 1);
    r.reference_date = capacity_date_from_ymd(2024, 7, 1);
    assess(&r);
    assert_string_equal(res.norm_set, "2024-07-01.r2");
    r.reference_date = capacity_date_from_ymd(2025, 6, 30);
    assess(&r);
    assert_string_equal(res.norm_set, "2025-01-01.r1");
    r = maat(2025, 8, 1, BRR_HH_SINGLE, 500000);
    assess(&r);
    assert_string_equal(res.norm_set, "2025-07-01.r1");
    expect_bvv(3, 209367, 290633);
    r.net_income_cents = 136906; /* the 1 July 2025 norm */
    assess(&r);
    assert_int_equal(res.group, 1);
    r.net_income_cents = 136907;
    assess(&r);
    assert_int_equal(res.group, 2);
}

static void test_date_outside_every_set_is_refused(void **state)
{
    brr_capacity_request_t r = maat(2023, 12, 31, BRR_HH_SINGLE, 100000);

    (void)state;
    assess(&r);
    assert_false(res.eligible);
    assert_true(has_reason("NORM_SET_NOT_FOUND"));
    assert_string_equal(res.norm_set, "");
    assert_false(res.has_bvv);
    r.reference_date = capacity_date_from_ymd(2027, 1, 1);
    assess(&r);
    assert_true(has_reason("NORM_SET_NOT_FOUND"));
    assert_true(explained("1 januari 2027"));
}

static void test_set_without_maxima_refuses_group3(void **state)
{
    brr_capacity_request_t r = maat(2024, 9, 1, BRR_HH_SINGLE, 500000);
    brr_normset_t v = *capacity_normsets_find(&sets, r.reference_date);
    brr_normsets_t one;
    char err[256];

    (void)state;
    /* Every repository set has its maxima now; a set without them still
     * refuses group 3 and keeps group 1. */
    v.has_bvv_max = 0;
    v.revision = 1; /* alone, without its superseded revision 1 */
    snprintf(v.id, sizeof(v.id), "%s.r1", v.version);
    assert_int_equal(capacity_normsets_init(&one, &v, 1, err, sizeof(err)), 0);
    assert_int_equal(
        capacity_assess(&r, &one, NULL, BRR_CAPACITY_EXPLAIN, &res), 0);
    assert_false(res.eligible);
    assert_true(has_reason("BVV_MAX_UNAVAILABLE"));
    r.net_income_cents = 130845; /* group 1 still works */
    assert_int_equal(
        capacity_assess(&r, &one, NULL, BRR_CAPACITY_EXPLAIN, &res), 0);
    expect_bvv(1, 124303, 6542);
    capacity_normsets_free(&one);
}

/* A stored assessment names its set by identifier; recomputing it with
 * that identifier gives the old decision, not today's.  Couple at AOW age,
 * 1 March 2024, household income € 1.933,00: revision 1 of 2024-01-01 had
 * a norm of € 1.933,98 (group 1), revision 2 has the law's € 1.932,32
 * (group 2, refused). */
static void test_superseded_revision_reproduces_the_old_decision(void **state)
{
    brr_capacity_request_t r = maat(2024, 3, 1, BRR_HH_COUPLE, 193300);
    const brr_normset_t *r1 = capacity_normsets_find_id(&sets, "2024-01-01.r1");

    (void)state;
    r.aow_age = 1;
    assess(&r); /* a new assessment: the current revision */
    assert_string_equal(res.norm_set, "2024-01-01.r2");
    assert_int_equal(res.group, 2);
    assert_false(res.eligible);
    assert_true(explained("volgens normenset 2024-01-01.r2: € 1.932,32."));

    assert_non_null(r1);
    assert_true(r1->superseded);
    r.norm_set = r1;
    assess(&r);
    assert_string_equal(res.norm_set, "2024-01-01.r1");
    assert_true(explained("met normenset 2024-01-01.r1 (regels"));
    assert_true(explained("volgens normenset 2024-01-01.r1: € 1.933,98."));
    /* 95% of 193300 = 183635 */
    expect_bvv(1, 183635, 9665);

    /* 1 July 2024, revision 1 had no maxima: group 3 was refused. */
    r = maat(2024, 9, 1, BRR_HH_SINGLE, 500000);
    r.norm_set = capacity_normsets_find_id(&sets, "2024-07-01.r1");
    assert_non_null(r.norm_set);
    assess(&r);
    assert_false(res.eligible);
    assert_true(has_reason("BVV_MAX_UNAVAILABLE"));
    assert_true(explained("normenset 2024-07-01.r1 bevat geen maximale"));
    r.norm_set = NULL;
    assess(&r);
    assert_string_equal(res.norm_set, "2024-07-01.r2");
    expect_bvv(3, 201960, 298040);
}

static void test_pinned_set_must_cover_the_reference_date(void **state)
{
    brr_capacity_request_t r = maat(2025, 3, 1, BRR_HH_SINGLE, 134545);

    (void)state;
    r.norm_set = capacity_normsets_find_id(&sets, "2024-01-01.r1");
    assert_non_null(r.norm_set);
    assert_int_equal(capacity_assess(&r, &sets, NULL, 0, &res), BRR_EINVAL);
    r.norm_set = capacity_normsets_find_id(&sets, "2025-01-01.r1");
    assess(&r);
    assert_string_equal(res.norm_set, "2025-01-01.r1");
    expect_bvv(1, 127818, 6727);
}

/* 1 July 2024: the maxima of art. 475da lid 1 Rv as in force then. */
static void test_second_half_2024_has_its_maxima(void **state)
{
    brr_capacity_request_t r = maat(2024, 9, 1, BRR_HH_SINGLE, 500000);

    (void)state;
    assess(&r);
    assert_string_equal(res.norm_set, "2024-07-01.r2");
    expect_bvv(3, 201960, 298040);
    r = maat(2024, 12, 31, BRR_HH_COUPLE_WITH_CHILDREN, 555164);
    assess(&r);
    expect_bvv(3, 277582, 277582);
    r.net_income_cents = 555163; /* one cent below twice the maximum */
    assess(&r);
    assert_int_equal(res.group, 2);
    assert_true(has_reason("TOESLAGEN_PARAMS_UNAVAILABLE"));
}

/* 2026: norms of art. 21/22 Participatiewet and maxima of art. 475da lid 1
 * Rv per 1 January and 1 July, at every group boundary. */
static void test_2026_half_years_at_their_boundaries(void **state)
{
    brr_capacity_request_t r = maat(2026, 1, 1, BRR_HH_SINGLE, 140150);

    (void)state;
    assess(&r);
    assert_string_equal(res.norm_set, "2026-01-01.r1");
    /* 95% of 140150 = 133142.5 -> 133143 in the citizen's favour. */
    expect_bvv(1, 133143, 7007);
    assert_true(explained("€ 1.401,50"));
    r.net_income_cents = 140151;
    assess(&r);
    assert_int_equal(res.group, 2);
    assert_false(res.eligible);
    assert_false(res.has_bvv);
    assert_true(has_reason("TOESLAGEN_PARAMS_UNAVAILABLE"));
    assert_true(explained("normenset 2026-01-01.r1"));
    r.net_income_cents = 438283; /* 2 x 219142 - 1: still group 2 */
    assess(&r);
    assert_int_equal(res.group, 2);
    r.net_income_cents = 438284; /* the group 3 cap */
    assess(&r);
    expect_bvv(3, 219142, 219142);

    r = maat(2026, 6, 30, BRR_HH_SINGLE_PARENT, 600000);
    assess(&r);
    expect_bvv(3, 252669, 347331);

    r = maat(2026, 7, 1, BRR_HH_COUPLE, 202779);
    assess(&r);
    assert_string_equal(res.norm_set, "2026-07-01.r1");
    /* 95% of 202779 = 192640.05 -> 192641. */
    expect_bvv(1, 192641, 10138);
    r.net_income_cents = 202780;
    assess(&r);
    assert_int_equal(res.group, 2);
    r.net_income_cents = 581158; /* 2 x 290579 */
    assess(&r);
    expect_bvv(3, 290579, 290579);

    r = maat(2026, 12, 31, BRR_HH_COUPLE_WITH_CHILDREN, 1000000);
    r.aow_age = 1;
    assess(&r);
    expect_bvv(3, 317968, 682032);
    r.net_income_cents = 217610; /* the AOW norm for couples */
    assess(&r);
    expect_bvv(1, 206730, 10880);
    r.net_income_cents = 217611;
    assess(&r);
    assert_int_equal(res.group, 2);
}

/* ---- housing costs, couples, minimum instalment, max months ---------- */

static void test_extra_housing_raises_bvv(void **state)
{
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 500000);

    (void)state;
    r.extra_housing_cents = 10000;
    assess(&r);
    expect_bvv(3, 217124, 282876);
    assert_true(explained("Extra woonkosten"));
}

static void test_extra_housing_keeps_five_percent_repayable(void **state)
{
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 500000);

    (void)state;
    r.extra_housing_cents = 1000000;
    assess(&r);
    expect_bvv(3, 475000, 25000);
    r = maat(2025, 1, 1, BRR_HH_SINGLE, 134545);
    r.extra_housing_cents = 10000; /* group 1 is already at the floor */
    assess(&r);
    expect_bvv(1, 127818, 6727);
}

static void test_couple_bvv_split_by_income(void **state)
{
    brr_capacity_request_t r =
        maat(2025, 1, 1, BRR_HH_COUPLE_WITH_CHILDREN, 600000);

    (void)state;
    r.partner_net_income_cents = 200000;
    assess(&r);
    assert_int_equal(res.household_bvv_cents, 285596);
    expect_bvv(3, 214197, 385803);
    assert_true(explained("naar inkomen verdeeld"));

    /* Applicant without income: nothing of the partner's is taken. */
    r.net_income_cents = 0;
    r.partner_net_income_cents = 800000;
    assess(&r);
    assert_int_equal(res.bvv_cents, 0);
    assert_int_equal(res.capacity_cents, 0);
    assert_true(res.starts_paused);
}

static void test_couple_split_rounds_in_applicants_favour(void **state)
{
    /* Household 100001 (group 1): BVV ceil(95000.95) = 95001; the
     * applicant's part 95001 x 33334 / 100001 = 31667.3 rounds up to
     * 31668, which is also 95% of 33334 rounded up. */
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_COUPLE, 33334);

    (void)state;
    r.partner_net_income_cents = 66667;
    assess(&r);
    assert_int_equal(res.household_bvv_cents, 95001);
    assert_int_equal(res.bvv_cents, 31668);
    assert_int_equal(res.bvv_cents + res.capacity_cents, 33334);
    assert_true(res.capacity_cents >= 33334 * 500 / 10000);
}

static void test_partner_income_for_single_is_invalid(void **state)
{
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 100000);

    (void)state;
    r.partner_net_income_cents = 1;
    assert_int_equal(capacity_assess(&r, &sets, NULL, 0, &res), BRR_EINVAL);
}

static void test_maatwerk_minimum_instalment(void **state)
{
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 9980);

    (void)state;
    assess(&r); /* BVV 9481, AC 499 */
    assert_true(res.eligible);
    assert_int_equal(res.capacity_cents, 499);
    assert_true(res.starts_paused);
    assert_int_equal(res.instalment_cents, 0);
    assert_int_equal(res.months, 0);
    assert_true(has_reason("REFER_DEBT_HELP"));
    assert_true(explained("schuldhulpverlening"));

    r.net_income_cents = 10000; /* BVV 9500, AC 500 */
    assess(&r);
    assert_int_equal(res.capacity_cents, 500);
    assert_false(res.starts_paused);
    assert_int_equal(res.instalment_cents, 500);
    assert_int_equal(res.months, 36); /* 1,000,000 / 500 > 36 months */
}

static void test_maatwerk_max_months(void **state)
{
    brr_capacity_claim_t c[1] = {{"DUO", "D-1", 36 * 6727, 0}};
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 134545);

    (void)state;
    r.claims = c;
    assess(&r);
    assert_int_equal(res.instalment_cents, 6727);
    assert_int_equal(res.months, 36);
    assert_int_equal(res.last_instalment_cents, 6727);
    assert_false(has_reason("MAAT_MAX_MONTHS"));

    c[0].open_cents = 36 * 6727 + 1;
    assess(&r);
    assert_int_equal(res.months, 36);
    assert_int_equal(res.unpaid_after_max_cents, 1);
    assert_true(has_reason("MAAT_MAX_MONTHS"));
    assert_true(res.eligible);

    c[0].open_cents = 35 * 6727 + 1; /* 36 months, last 1 cent */
    assess(&r);
    assert_int_equal(res.months, 36);
    assert_int_equal(res.last_instalment_cents, 1);
}

static void test_maatwerk_higher_instalment_by_choice(void **state)
{
    brr_capacity_request_t r = maat(2025, 1, 1, BRR_HH_SINGLE, 134545);

    (void)state;
    r.requested_instalment_cents = 50000;
    assess(&r);
    assert_int_equal(res.capacity_cents, 6727);
    assert_int_equal(res.instalment_cents, 50000);
    assert_int_equal(res.months, 20);
}

/* ---- standard arrangement (DOMAIN §2) ---------------------------------- */

static void test_standard_domain_example(void **state)
{
    brr_capacity_claim_t c[3] = {{"CJIB", "A", 45000, 0},
                                 {"DUO", "B", 120000, 0},
                                 {"CAK", "C", 33300, 0}};
    brr_capacity_request_t r = std_req(c, 3);

    (void)state;
    assess(&r);
    /* T 198300; m_raw ceil(8262.5) = 8263 -> 8300; n 24; last 7400. */
    assert_true(res.eligible);
    assert_int_equal(res.group, 0);
    assert_false(res.has_bvv);
    assert_int_equal(res.total_cents, 198300);
    assert_int_equal(res.instalment_cents, 8300);
    assert_int_equal(res.months, 24);
    assert_int_equal(res.last_instalment_cents, 7400);
    assert_true(explained("€ 1.983,00 / 24 = € 82,63"));
    assert_true(explained("Naar boven afgerond op hele euro's: € 83,00"));
    assert_true(explained("€ 1.983,00 - 23 x € 83,00 = € 74,00"));
}

static void test_standard_max_total_boundary(void **state)
{
    brr_capacity_claim_t c[1] = {{"BD", "X", 2000000, 0}};
    brr_capacity_request_t r = std_req(c, 1);

    (void)state;
    assess(&r);
    assert_true(res.eligible);
    assert_int_equal(res.instalment_cents, 83400);
    assert_int_equal(res.months, 24);
    assert_int_equal(res.last_instalment_cents, 2000000 - 23 * 83400);
    c[0].open_cents = 2000001;
    assess(&r);
    assert_false(res.eligible);
    assert_true(has_reason("STD_MAX_TOTAL"));
    assert_int_equal(res.instalment_cents, 0);

    /* The same total is fine for maatwerk. */
    r = maat(2025, 1, 1, BRR_HH_SINGLE, 500000);
    r.claims = c;
    assess(&r);
    assert_true(res.eligible);
}

static void test_standard_minimum_instalment(void **state)
{
    brr_capacity_claim_t c[1] = {{"CJIB", "X", 24000, 0}};
    brr_capacity_request_t r = std_req(c, 1);

    (void)state;
    assess(&r); /* m_raw 1000 < 2000 */
    assert_int_equal(res.instalment_cents, 2000);
    assert_int_equal(res.months, 12);
    assert_int_equal(res.last_instalment_cents, 2000);
    c[0].open_cents = 24001;
    assess(&r);
    assert_int_equal(res.instalment_cents, 2000);
    assert_int_equal(res.months, 13);
    assert_int_equal(res.last_instalment_cents, 1);
    c[0].open_cents = 48000; /* exactly the minimum over 24 months */
    assess(&r);
    assert_int_equal(res.instalment_cents, 2000);
    assert_int_equal(res.months, 24);
    c[0].open_cents = 48001; /* m_raw 2001 -> 2100 */
    assess(&r);
    assert_int_equal(res.instalment_cents, 2100);
    assert_int_equal(res.months, 23);
    assert_int_equal(res.last_instalment_cents, 48001 - 22 * 2100);
    c[0].open_cents = 1500; /* less than one instalment */
    assess(&r);
    assert_int_equal(res.instalment_cents, 1500);
    assert_int_equal(res.months, 1);
    assert_int_equal(res.last_instalment_cents, 1500);
}

static void test_standard_higher_never_lower(void **state)
{
    brr_capacity_claim_t c[1] = {{"CJIB", "X", 198300, 0}};
    brr_capacity_request_t r = std_req(c, 1);

    (void)state;
    r.requested_instalment_cents = 10000;
    assess(&r);
    assert_int_equal(res.instalment_cents, 10000);
    assert_int_equal(res.months, 20);
    assert_int_equal(res.last_instalment_cents, 8300);
    r.requested_instalment_cents = 5000;
    assess(&r);
    assert_true(res.eligible);
    assert_int_equal(res.instalment_cents, 8300);
    assert_true(has_reason("REQUESTED_BELOW_MINIMUM"));
    r.requested_instalment_cents = 8300; /* equal: no remark */
    assess(&r);
    assert_false(has_reason("REQUESTED_BELOW_MINIMUM"));
    r.requested_instalment_cents = 500000; /* more than the total */
    assess(&r);
    assert_int_equal(res.instalment_cents, 198300);
    assert_int_equal(res.months, 1);
}

static void test_standard_blocked_for_12_months_after_lapse(void **state)
{
    brr_capacity_request_t r = std_req(one_claim, 1);

    (void)state;
    r.has_last_lapse = 1;
    r.last_lapse_date = capacity_date_from_ymd(2024, 3, 1);
    r.reference_date = capacity_date_from_ymd(2025, 2, 28);
    assess(&r);
    assert_false(res.eligible);
    assert_true(has_reason("STD_LAPSE_BLOCK"));
    assert_true(explained("1 maart 2025"));
    r.reference_date = capacity_date_from_ymd(2025, 3, 1);
    assess(&r);
    assert_true(res.eligible);

    /* Maatwerk stays possible inside the block. */
    r = maat(2025, 2, 28, BRR_HH_SINGLE, 134545);
    r.has_last_lapse = 1;
    r.last_lapse_date = capacity_date_from_ymd(2024, 3, 1);
    assess(&r);
    assert_true(res.eligible);
}

static void test_claims_under_objection_held_out(void **state)
{
    brr_capacity_claim_t c[2] = {{"CJIB", "A", 45000, 1},
                                 {"DUO", "B", 120000, 0}};
    brr_capacity_request_t r = std_req(c, 2);

    (void)state;
    assess(&r);
    assert_true(res.eligible);
    assert_int_equal(res.total_cents, 120000);
    assert_true(has_reason("CLAIMS_HELD_OUT"));
    assert_true(explained("bezwaar of beroep"));
    c[1].under_objection = 1;
    assess(&r);
    assert_false(res.eligible);
    assert_true(has_reason("NO_OPEN_CLAIMS"));
}

static void test_no_open_claims_refused(void **state)
{
    brr_capacity_claim_t c[1] = {{"CJIB", "A", 0, 0}};
    brr_capacity_request_t r = std_req(c, 1);

    (void)state;
    assess(&r);
    assert_false(res.eligible);
    assert_true(has_reason("NO_OPEN_CLAIMS"));
    r.nclaims = 0;
    r.claims = NULL;
    assess(&r);
    assert_true(has_reason("NO_OPEN_CLAIMS"));

    /* Maatwerk without claims still reports the protected income. */
    r = maat(2025, 1, 1, BRR_HH_SINGLE, 134545);
    r.nclaims = 0;
    assess(&r);
    assert_false(res.eligible);
    assert_int_equal(res.bvv_cents, 127818);
}

static void test_min_orgs_counts_distinct_organisations(void **state)
{
    brr_capacity_claim_t c[3] = {
        {"CJIB", "A", 100, 0}, {"CJIB", "B", 100, 0}, {"DUO", "C", 100, 1}};
    brr_capacity_request_t r = std_req(c, 3);
    brr_capacity_params_t p;

    (void)state;
    capacity_params_default(&p);
    p.min_orgs = 2;
    assert_int_equal(capacity_assess(&r, &sets, &p, 0, &res), 0);
    assert_false(res.eligible);
    assert_true(has_reason("NO_OPEN_CLAIMS"));
    c[2].under_objection = 0;
    assert_int_equal(capacity_assess(&r, &sets, &p, 0, &res), 0);
    assert_true(res.eligible);
}

static void test_standard_without_norm_set_still_computed(void **state)
{
    brr_capacity_request_t r = std_req(one_claim, 1);

    (void)state;
    r.reference_date = capacity_date_from_ymd(2030, 1, 1);
    assess(&r);
    assert_true(res.eligible);
    assert_string_equal(res.norm_set, "");
    assert_int_equal(capacity_assess(&r, NULL, NULL, 0, &res), 0);
    assert_true(res.eligible);
}

static void test_invalid_requests(void **state)
{
    brr_capacity_claim_t c[1] = {{"CJIB", "A", -1, 0}};
    brr_capacity_request_t r = std_req(c, 1);
    brr_capacity_params_t p;

    (void)state;
    assert_int_equal(capacity_assess(&r, &sets, NULL, 0, &res), BRR_EINVAL);
    c[0].open_cents = BRR_CENTS_MAX + 1;
    assert_int_equal(capacity_assess(&r, &sets, NULL, 0, &res), BRR_EINVAL);
    r = maat(2025, 1, 1, BRR_HH_SINGLE, -5);
    assert_int_equal(capacity_assess(&r, &sets, NULL, 0, &res), BRR_EINVAL);
    r = maat(2025, 1, 1, (brr_household_t)7, 5);
    assert_int_equal(capacity_assess(&r, &sets, NULL, 0, &res), BRR_EINVAL);
    r = std_req(NULL, 2);
    assert_int_equal(capacity_assess(&r, &sets, NULL, 0, &res), BRR_EINVAL);
    r = std_req(one_claim, 1);
    capacity_params_default(&p);
    p.group3_from_bp = 9999;
    assert_int_equal(capacity_assess(&r, &sets, &p, 0, &res), BRR_EINVAL);
}

static void test_total_overflow_reported(void **state)
{
    brr_capacity_claim_t c[2] = {{"CJIB", "A", BRR_CENTS_MAX, 0},
                                 {"DUO", "B", 1, 0}};
    brr_capacity_request_t r = std_req(c, 2);

    (void)state;
    assert_int_equal(capacity_assess(&r, &sets, NULL, 0, &res), BRR_EOVERFLOW);
}

/* ---- properties --------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int64_t pick_income(void)
{
    static const int64_t edges[] = {
        0,      1,      499,    9980,   10000,  128383, 130845, 134545, 134546,
        136906, 150107, 192207, 205348, 414247, 414248, 418734, 571192, 577600};

    switch (next() % 4) {
    case 0:
        return edges[next() % (sizeof(edges) / sizeof(edges[0]))] +
               (int64_t)(next() % 3) - 1;
    case 1:
        return (int64_t)(next() % 20000);
    case 2:
        return (int64_t)(next() % 1200000);
    default:
        return (int64_t)(next() % 100000000);
    }
}

static brr_capacity_result_t res2;

static void test_money_text_matches_common_formatter(void **state)
{
    static const brr_cents_t fixed[] = {
        0,      1,        99,        100,           134545,        -134545,
        100000, 99999999, 100000000, BRR_CENTS_MAX, -BRR_CENTS_MAX};
    char a[40], b[40];

    (void)state;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        capacity_money_text(fixed[i], a);
        brr_money_format_nl(fixed[i], b, sizeof(b));
        assert_string_equal(a, b);
    }
    capacity_money_text(134545, a);
    assert_string_equal(a, "€ 1.345,45");
    for (int i = 0; i < 100000; i++) {
        brr_cents_t v = (brr_cents_t)(next() % (uint64_t)BRR_CENTS_MAX);
        size_t n;

        if (i % 3 == 0)
            v %= 10000000;
        if (i % 2)
            v = -v;
        n = capacity_money_text(v, a);
        assert_int_equal(n, strlen(a));
        brr_money_format_nl(v, b, sizeof(b));
        assert_string_equal(a, b);
    }
}

static void test_property_random_maatwerk(void **state)
{
    brr_capacity_claim_t c[3];
    long checked = 0, with_bvv = 0;

    (void)state;
    for (long i = 0; i < 120000; i++) {
        brr_capacity_request_t r;
        brr_date_t d0 = capacity_date_from_ymd(2023, 12, 1);
        int couple;
        brr_cents_t own, inc;

        memset(&r, 0, sizeof(r));
        r.kind = BRR_CAP_MAATWERK;
        /* December 2023 to March 2027: every norm set and both ends. */
        r.reference_date = d0 + (brr_date_t)(next() % 1200);
        r.household = (brr_household_t)(next() % BRR_HH_COUNT);
        r.aow_age = (int)(next() % 2);
        couple = r.household >= BRR_HH_COUPLE;
        r.net_income_cents = pick_income();
        if (r.net_income_cents < 0)
            r.net_income_cents = 0;
        r.partner_net_income_cents = couple && next() % 2 ? pick_income() : 0;
        if (r.partner_net_income_cents < 0)
            r.partner_net_income_cents = 0;
        r.extra_housing_cents =
            next() % 3 == 0 ? (int64_t)(next() % 200000) : 0;
        for (int k = 0; k < 3; k++) {
            c[k].organisation = k == 0 ? "CJIB" : k == 1 ? "DUO" : "CAK";
            c[k].reference = "R";
            c[k].open_cents = (int64_t)(next() % 5000000);
            c[k].under_objection = next() % 5 == 0;
        }
        r.claims = c;
        r.nclaims = next() % 4;
        r.requested_instalment_cents =
            next() % 4 == 0 ? (int64_t)(next() % 100000) : 0;

        assert_int_equal(capacity_assess(&r, &sets, NULL,
                                         i % 8 == 0 ? BRR_CAPACITY_EXPLAIN : 0,
                                         &res),
                         0);
        own = r.net_income_cents;
        inc = own + r.partner_net_income_cents;
        (void)inc;
        if (res.has_bvv) {
            with_bvv++;
            assert_true(res.capacity_cents >= 0);
            assert_true(res.bvv_cents >= 0);
            assert_int_equal(res.bvv_cents + res.capacity_cents, own);
            /* At least 5% of a positive income stays repayable; the BVV
             * rounds up in the citizen's favour, so 5% rounds down. */
            assert_true(res.capacity_cents >= own * 500 / 10000);
        } else {
            assert_false(res.eligible);
        }
        if (res.eligible && !res.starts_paused) {
            brr_cents_t t = res.total_cents, m = res.instalment_cents;

            assert_true(m >= 500 || m == t);
            assert_true(res.months >= 1 && res.months <= 36);
            if (res.unpaid_after_max_cents > 0)
                assert_int_equal(36 * m + res.unpaid_after_max_cents, t);
            else
                assert_int_equal(
                    (res.months - 1) * m + res.last_instalment_cents, t);
            assert_true(res.last_instalment_cents > 0 &&
                        res.last_instalment_cents <= m);
        }
        if (res.starts_paused)
            assert_true(res.capacity_cents < 500);
        /* Group 2 is never guessed: refused, no BVV, the reason given. */
        if (res.group == 2) {
            assert_false(res.eligible);
            assert_false(res.has_bvv);
            assert_true(has_reason("TOESLAGEN_PARAMS_UNAVAILABLE"));
        }

        /* Same input, same output. */
        if (i % 8 == 0) {
            assert_int_equal(
                capacity_assess(&r, &sets, NULL, BRR_CAPACITY_EXPLAIN, &res2),
                0);
            assert_int_equal(res.eligible, res2.eligible);
            assert_int_equal(res.group, res2.group);
            assert_int_equal(res.bvv_cents, res2.bvv_cents);
            assert_int_equal(res.capacity_cents, res2.capacity_cents);
            assert_int_equal(res.instalment_cents, res2.instalment_cents);
            assert_int_equal(res.months, res2.months);
            assert_int_equal(res.nlines, res2.nlines);
            for (size_t k = 0; k < res.nlines; k++)
                assert_string_equal(res.explanation[k], res2.explanation[k]);
            assert_int_equal(res.nreasons, res2.nreasons);
        }
        checked++;
    }
    assert_int_equal(checked, 120000);
    assert_true(with_bvv > 50000); /* the properties were really exercised */
}

static void test_property_random_standard(void **state)
{
    brr_capacity_claim_t c[4];

    (void)state;
    for (long i = 0; i < 100000; i++) {
        brr_capacity_request_t r;
        brr_cents_t t = 0;

        for (int k = 0; k < 4; k++) {
            c[k].organisation = k % 2 ? "CJIB" : "DUO";
            c[k].reference = NULL;
            c[k].open_cents = next() % 3 == 0 ? (int64_t)(next() % 100)
                                              : (int64_t)(next() % 900000);
            c[k].under_objection = next() % 6 == 0;
        }
        r = std_req(c, 1 + next() % 4);
        r.requested_instalment_cents =
            next() % 5 == 0 ? (int64_t)(next() % 200000) : 0;
        assert_int_equal(capacity_assess(&r, &sets, NULL, 0, &res), 0);
        for (size_t k = 0; k < r.nclaims; k++)
            if (!c[k].under_objection)
                t += c[k].open_cents;
        assert_int_equal(res.total_cents, t);
        assert_false(res.has_bvv);
        if (t == 0 || t > 2000000) {
            assert_false(res.eligible);
            continue;
        }
        assert_true(res.eligible);
        {
            brr_cents_t m = res.instalment_cents;

            assert_true(m >= 2000 || m == t);
            if (m != t && m != r.requested_instalment_cents)
                assert_int_equal(m % 100, 0);
            /* A higher amount by choice, never a lower one. */
            if (r.requested_instalment_cents <= t)
                assert_true(m >= r.requested_instalment_cents);
            assert_true(res.months >= 1 && res.months <= 24);
            assert_int_equal((res.months - 1) * m + res.last_instalment_cents,
                             t);
            assert_true(res.last_instalment_cents > 0 &&
                        res.last_instalment_cents <= m);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_single_bijstand_is_group1),
        cmocka_unit_test(test_worked_single_high_income_is_group3),
        cmocka_unit_test(test_worked_couple_with_child_sole_earner),
        cmocka_unit_test(test_income_at_norm_is_group1),
        cmocka_unit_test(test_income_one_cent_below_norm),
        cmocka_unit_test(test_income_one_cent_above_norm_refused_as_group2),
        cmocka_unit_test(test_group3_starts_at_twice_the_maximum),
        cmocka_unit_test(test_income_above_maximum_stays_at_maximum),
        cmocka_unit_test(test_aow_norms_apply_at_pension_age),
        cmocka_unit_test(test_couple_norm_and_single_parent_maximum),
        cmocka_unit_test(test_under_21_uses_the_21_plus_norm),
        cmocka_unit_test(test_norm_set_picked_by_reference_date),
        cmocka_unit_test(test_superseded_revision_reproduces_the_old_decision),
        cmocka_unit_test(test_pinned_set_must_cover_the_reference_date),
        cmocka_unit_test(test_date_outside_every_set_is_refused),
        cmocka_unit_test(test_set_without_maxima_refuses_group3),
        cmocka_unit_test(test_second_half_2024_has_its_maxima),
        cmocka_unit_test(test_2026_half_years_at_their_boundaries),
        cmocka_unit_test(test_extra_housing_raises_bvv),
        cmocka_unit_test(test_extra_housing_keeps_five_percent_repayable),
        cmocka_unit_test(test_couple_bvv_split_by_income),
        cmocka_unit_test(test_couple_split_rounds_in_applicants_favour),
        cmocka_unit_test(test_partner_income_for_single_is_invalid),
        cmocka_unit_test(test_maatwerk_minimum_instalment),
        cmocka_unit_test(test_maatwerk_max_months),
        cmocka_unit_test(test_maatwerk_higher_instalment_by_choice),
        cmocka_unit_test(test_standard_domain_example),
        cmocka_unit_test(test_standard_max_total_boundary),
        cmocka_unit_test(test_standard_minimum_instalment),
        cmocka_unit_test(test_standard_higher_never_lower),
        cmocka_unit_test(test_standard_blocked_for_12_months_after_lapse),
        cmocka_unit_test(test_claims_under_objection_held_out),
        cmocka_unit_test(test_no_open_claims_refused),
        cmocka_unit_test(test_min_orgs_counts_distinct_organisations),
        cmocka_unit_test(test_standard_without_norm_set_still_computed),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_total_overflow_reported),
        cmocka_unit_test(test_money_text_matches_common_formatter),
        cmocka_unit_test(test_property_random_maatwerk),
        cmocka_unit_test(test_property_random_standard),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
