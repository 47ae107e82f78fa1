/*
 * test_calendar.c: the shared civil-date module (services/common/calendar.h)
 * at its boundaries: leap years, month ends, the epoch, parsing limits,
 * Dutch formatting, month arithmetic that clamps, and a round trip over
 * every day of three centuries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "err.h"

static brr_date_t ymd(int32_t y, int m, int d)
{
    return brr_calendar_from_ymd(y, m, d);
}

static void test_leap_years_follow_the_gregorian_rule(void **state)
{
    (void)state;
    assert_false(brr_calendar_is_leap(1900));
    assert_true(brr_calendar_is_leap(2000));
    assert_true(brr_calendar_is_leap(2024));
    assert_false(brr_calendar_is_leap(2025));
    assert_false(brr_calendar_is_leap(2100));
    assert_int_equal(brr_calendar_days_in_month(2024, 2), 29);
    assert_int_equal(brr_calendar_days_in_month(2025, 2), 28);
    assert_int_equal(brr_calendar_days_in_month(2025, 1), 31);
    assert_int_equal(brr_calendar_days_in_month(2025, 4), 30);
    assert_int_equal(brr_calendar_days_in_month(2025, 12), 31);
}

static void test_epoch_and_known_days(void **state)
{
    (void)state;
    assert_int_equal(ymd(1970, 1, 1), 0);
    assert_int_equal(ymd(1969, 12, 31), -1);
    assert_int_equal(ymd(1970, 1, 2), 1);
    assert_int_equal(ymd(2000, 3, 1), 11017);
    assert_int_equal(ymd(2025, 1, 1), 20089);
    assert_int_equal(ymd(2024, 3, 1) - ymd(2024, 2, 28), 2);
    assert_int_equal(ymd(2025, 3, 1) - ymd(2025, 2, 28), 1);
}

static void test_round_trip_every_day_1900_to_2199(void **state)
{
    brr_date_t t = ymd(1900, 1, 1), end = ymd(2200, 1, 1);
    int32_t py = 1899;
    int pm = 12, pd = 31;

    (void)state;
    for (; t < end; t++) {
        int32_t y;
        int m, d;

        brr_calendar_to_ymd(t, &y, &m, &d);
        assert_int_equal(ymd(y, m, d), t);
        /* Each day follows the previous one in the calendar. */
        if (d == 1) {
            assert_int_equal(pd, brr_calendar_days_in_month(py, pm));
            assert_true((m == 1 && y == py + 1 && pm == 12) ||
                        (y == py && m == pm + 1));
        } else {
            assert_int_equal(d, pd + 1);
            assert_int_equal(m, pm);
        }
        py = y;
        pm = m;
        pd = d;
    }
}

static void test_to_ymd_accepts_null_outputs(void **state)
{
    int m = 0;

    (void)state;
    brr_calendar_to_ymd(ymd(2025, 7, 31), NULL, &m, NULL);
    assert_int_equal(m, 7);
}

static void test_parse_accepts_real_days_in_range(void **state)
{
    brr_date_t t = -5;

    (void)state;
    assert_int_equal(brr_calendar_parse("2025-01-01", 10, 1900, 2999, &t), 0);
    assert_int_equal(t, 20089);
    assert_int_equal(brr_calendar_parse("2024-02-29", 10, 1900, 2999, &t), 0);
    assert_int_equal(t, ymd(2024, 2, 29));
    assert_int_equal(brr_calendar_parse("1900-01-01", 10, 1900, 2999, &t), 0);
    assert_int_equal(brr_calendar_parse("2999-12-31", 10, 1900, 2999, &t), 0);
    assert_int_equal(t, ymd(2999, 12, 31));
    /* No NUL needed: exactly len bytes are read. */
    assert_int_equal(brr_calendar_parse("2025-06-30xyz", 10, 1900, 2999, &t),
                     0);
    assert_int_equal(t, ymd(2025, 6, 30));
}

static void test_parse_refuses_everything_else(void **state)
{
    static const char *const bad[] = {
        "2025-02-29", "2100-02-29", "2025-13-01", "2025-00-10", "2025-04-31",
        "2025-01-00", "2025/01/01", "2025-1-01",  "20250101xx", "2025-01-0a",
        "+025-01-01", "1899-12-31", "3000-01-01", " 025-01-01"};
    brr_date_t t = 42;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            brr_calendar_parse(bad[i], strlen(bad[i]), 1900, 2999, &t),
            BRR_EPARSE);
        assert_int_equal(t, 42); /* untouched on failure */
    }
    assert_int_equal(brr_calendar_parse("2025-01-01", 9, 1900, 2999, &t),
                     BRR_EPARSE);
    assert_int_equal(brr_calendar_parse("2025-01-011", 11, 1900, 2999, &t),
                     BRR_EPARSE);
    assert_int_equal(brr_calendar_parse(NULL, 10, 1900, 2999, &t), BRR_EPARSE);
    /* The range is the caller's: 3000 is fine when allowed. */
    assert_int_equal(brr_calendar_parse("3000-01-01", 10, 1900, 9999, &t), 0);
}

static void test_format_iso_and_dutch(void **state)
{
    char iso[11], nl[24];

    (void)state;
    assert_string_equal(brr_calendar_format_iso(ymd(2025, 1, 1), iso),
                        "2025-01-01");
    assert_string_equal(brr_calendar_format_iso(ymd(1970, 12, 31), iso),
                        "1970-12-31");
    assert_string_equal(brr_calendar_format_iso(ymd(9999, 12, 31), iso),
                        "9999-12-31");
    assert_string_equal(brr_calendar_format_nl(ymd(2025, 1, 1), nl),
                        "1 januari 2025");
    assert_string_equal(brr_calendar_format_nl(ymd(2026, 9, 30), nl),
                        "30 september 2026");
    assert_string_equal(brr_calendar_format_nl(ymd(2024, 2, 29), nl),
                        "29 februari 2024");
}

static void test_add_months_clamps_to_month_end(void **state)
{
    (void)state;
    assert_int_equal(brr_calendar_add_months(ymd(2025, 1, 31), 1),
                     ymd(2025, 2, 28));
    assert_int_equal(brr_calendar_add_months(ymd(2024, 1, 31), 1),
                     ymd(2024, 2, 29));
    assert_int_equal(brr_calendar_add_months(ymd(2025, 3, 31), -1),
                     ymd(2025, 2, 28));
    assert_int_equal(brr_calendar_add_months(ymd(2025, 1, 15), -1),
                     ymd(2024, 12, 15));
    assert_int_equal(brr_calendar_add_months(ymd(2024, 2, 29), 12),
                     ymd(2025, 2, 28));
    assert_int_equal(brr_calendar_add_months(ymd(2025, 5, 10), 0),
                     ymd(2025, 5, 10));
    assert_int_equal(brr_calendar_add_months(ymd(2025, 12, 31), 1),
                     ymd(2026, 1, 31));
    assert_int_equal(brr_calendar_add_months(ymd(2025, 6, 30), -18),
                     ymd(2023, 12, 30));
}

static void test_month_split_floors_negative_counts(void **state)
{
    int32_t y;
    int m;

    (void)state;
    brr_calendar_month_split(2025 * 12 + 0, &y, &m);
    assert_int_equal(y, 2025);
    assert_int_equal(m, 1);
    brr_calendar_month_split(2025 * 12 + 11, &y, &m);
    assert_int_equal(y, 2025);
    assert_int_equal(m, 12);
    brr_calendar_month_split(-1, &y, &m);
    assert_int_equal(y, -1);
    assert_int_equal(m, 12);
    brr_calendar_month_split(-12, &y, &m);
    assert_int_equal(y, -1);
    assert_int_equal(m, 1);
    brr_calendar_month_split(0, &y, &m);
    assert_int_equal(y, 0);
    assert_int_equal(m, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leap_years_follow_the_gregorian_rule),
        cmocka_unit_test(test_epoch_and_known_days),
        cmocka_unit_test(test_round_trip_every_day_1900_to_2199),
        cmocka_unit_test(test_to_ymd_accepts_null_outputs),
        cmocka_unit_test(test_parse_accepts_real_days_in_range),
        cmocka_unit_test(test_parse_refuses_everything_else),
        cmocka_unit_test(test_format_iso_and_dutch),
        cmocka_unit_test(test_add_months_clamps_to_month_end),
        cmocka_unit_test(test_month_split_floors_negative_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
