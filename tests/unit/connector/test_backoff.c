/* Tests for services/connector/backoff.c: full-jitter bounds, the give-up
 * rule, and Retry-After in all its forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"
#include "err.h"

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void test_defaults_are_1s_1h_72h(void **state)
{
    conn_backoff_t bo;

    conn_backoff_defaults(&bo);
    assert_int_equal(bo.base_ms, 1000);
    assert_int_equal(bo.cap_ms, 3600000);
    assert_int_equal(bo.max_age_ms, 72ull * 3600 * 1000);
}

static void test_ceiling_doubles_then_saturates_at_cap(void **state)
{
    conn_backoff_t bo = {.base_ms = 1000, .cap_ms = 3600000};

    assert_int_equal(conn_backoff_ceiling_ms(&bo, 0), 1000);
    assert_int_equal(conn_backoff_ceiling_ms(&bo, 1), 2000);
    assert_int_equal(conn_backoff_ceiling_ms(&bo, 11), 2048000);
    /* 1000 * 2^12 = 4096000 > cap */
    assert_int_equal(conn_backoff_ceiling_ms(&bo, 12), 3600000);
    assert_int_equal(conn_backoff_ceiling_ms(&bo, 63), 3600000);
    assert_int_equal(conn_backoff_ceiling_ms(&bo, 64), 3600000);
    assert_int_equal(conn_backoff_ceiling_ms(&bo, UINT32_MAX), 3600000);
}

static void test_ceiling_never_overflows(void **state)
{
    conn_backoff_t bo = {.base_ms = UINT64_MAX / 3, .cap_ms = UINT64_MAX};
    uint64_t prev = 0;

    for (uint32_t a = 0; a < 200; a++) {
        uint64_t c = conn_backoff_ceiling_ms(&bo, a);
        assert_true(c >= prev);
        assert_true(c >= bo.base_ms);
        prev = c;
    }
    assert_true(prev == UINT64_MAX);
    /* base above cap: the cap wins from the first attempt */
    bo.base_ms = 5000;
    bo.cap_ms = 100;
    assert_int_equal(conn_backoff_ceiling_ms(&bo, 0), 100);
}

static void test_zero_fields_mean_defaults(void **state)
{
    conn_backoff_t bo = {0};

    assert_int_equal(conn_backoff_ceiling_ms(&bo, 0), CONN_BACKOFF_BASE_MS);
    assert_int_equal(conn_backoff_ceiling_ms(&bo, 40), CONN_BACKOFF_CAP_MS);
    assert_false(conn_backoff_give_up(&bo, 0, CONN_BACKOFF_MAX_AGE_MS - 1));
    assert_true(conn_backoff_give_up(&bo, 0, CONN_BACKOFF_MAX_AGE_MS));
}

static void test_delay_within_zero_and_ceiling_for_all_attempts(void **state)
{
    conn_backoff_t bo;
    uint64_t seed = 0x9e3779b97f4a7c15ull;

    conn_backoff_defaults(&bo);
    for (uint32_t a = 0; a < 100; a++) {
        uint64_t ceiling = conn_backoff_ceiling_ms(&bo, a);
        assert_int_equal(conn_backoff_delay_ms(&bo, a, 0), 0);
        assert_int_equal(conn_backoff_delay_ms(&bo, a, ceiling), ceiling);
        assert_int_equal(conn_backoff_delay_ms(&bo, a, ceiling + 1), 0);
        assert_true(conn_backoff_delay_ms(&bo, a, UINT64_MAX) <= ceiling);
        for (int i = 0; i < 1000; i++)
            assert_true(conn_backoff_delay_ms(&bo, a, xorshift(&seed)) <=
                        ceiling);
    }
}

static void test_delay_is_spread_over_the_whole_range(void **state)
{
    conn_backoff_t bo = {.base_ms = 1000, .cap_ms = 3600000};
    uint64_t seed = 42, lo = UINT64_MAX, hi = 0, sum = 0;
    const int n = 10000;

    /* attempt 3: ceiling 8000 ms; full jitter means near 0 and near 8000
     * both occur and the mean is about half. */
    for (int i = 0; i < n; i++) {
        uint64_t v = conn_backoff_delay_ms(&bo, 3, xorshift(&seed));
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
    }
    assert_true(lo < 100);
    assert_true(hi > 7900);
    assert_in_range(sum / n, 3600, 4400);
}

static void test_give_up_at_exactly_max_age(void **state)
{
    conn_backoff_t bo = {.max_age_ms = 72ull * 3600 * 1000};
    uint64_t first = 1700000000000ull;

    assert_false(conn_backoff_give_up(&bo, first, first));
    assert_false(conn_backoff_give_up(&bo, first, first + bo.max_age_ms - 1));
    assert_true(conn_backoff_give_up(&bo, first, first + bo.max_age_ms));
    assert_true(conn_backoff_give_up(&bo, first, UINT64_MAX));
    /* clock stepped back: keep trying */
    assert_false(conn_backoff_give_up(&bo, first, first - 1));
    bo.max_age_ms = 60000;
    assert_true(conn_backoff_give_up(&bo, first, first + 60000));
}

static void test_next_prefers_retry_after_and_stops_at_deadline(void **state)
{
    conn_backoff_t bo = {
        .base_ms = 1000, .cap_ms = 3600000, .max_age_ms = 3600000};
    uint64_t first = 1000000, now = first + 10000;

    /* own schedule: rnd 500 at attempt 0 (ceiling 1000) */
    assert_int_equal(conn_backoff_next_ms(&bo, 0, 500, -1, first, now),
                     now + 500);
    /* Retry-After wins */
    assert_int_equal(conn_backoff_next_ms(&bo, 0, 500, 120, first, now),
                     now + 120000);
    assert_int_equal(conn_backoff_next_ms(&bo, 0, 500, 0, first, now), now);
    /* never past the deadline */
    assert_int_equal(conn_backoff_next_ms(&bo, 20, 3600000, -1, first, now),
                     first + 3600000);
    assert_int_equal(
        conn_backoff_next_ms(&bo, 0, 0, INT64_MAX / 1000, first, now),
        first + 3600000);
    /* already past it: now */
    assert_int_equal(
        conn_backoff_next_ms(&bo, 0, 999, -1, first, first + 7200000),
        first + 7200000);
}

static void test_retry_after_delta_seconds(void **state)
{
    uint32_t s = 999;

    assert_int_equal(conn_retry_after_parse("120", 0, 3600, &s), 0);
    assert_int_equal(s, 120);
    assert_int_equal(conn_retry_after_parse("  2 ", 0, 3600, &s), 0);
    assert_int_equal(s, 2);
    assert_int_equal(conn_retry_after_parse("0", 0, 3600, &s), 0);
    assert_int_equal(s, 0);
    assert_int_equal(conn_retry_after_parse("3600", 0, 3600, &s), 0);
    assert_int_equal(s, 3600);
    assert_int_equal(conn_retry_after_parse("3601", 0, 3600, &s), 0);
    assert_int_equal(s, 3600);
    assert_int_equal(
        conn_retry_after_parse("99999999999999999999999999", 0, 3600, &s), 0);
    assert_int_equal(s, 3600);
    /* 0 bound means the default cap */
    assert_int_equal(conn_retry_after_parse("86400", 0, 0, &s), 0);
    assert_int_equal(s, CONN_RETRY_AFTER_MAX_S);
}

static void test_retry_after_rejects_garbage(void **state)
{
    const char *bad[] = {"",
                         " ",
                         "-5",
                         "1.5",
                         "12a",
                         "abc",
                         "+3",
                         "0x10",
                         "1 2",
                         "Sun",
                         "Sun, 06 Nov 1994",
                         "Sun, 06 Nov 1994 08:49:37 UTC",
                         "Sun, 31 Feb 2024 00:00:00 GMT",
                         "Sun, 06 Nov 1994 24:00:00 GMT",
                         "Sun, 6 Nov 1994 08:49:37 GMT",
                         "Sun, 06 Foo 1994 08:49:37 GMT",
                         "Sun, 06 Nov 1994 08:49:37 GMT trailing"};
    uint32_t s = 7;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(conn_retry_after_parse(bad[i], 0, 3600, &s),
                         BRR_EPARSE);
        assert_int_equal(s, 7);
    }
    assert_int_equal(conn_retry_after_parse(NULL, 0, 3600, &s), BRR_EPARSE);
}

static void test_http_date_three_forms(void **state)
{
    int64_t t = 0;

    assert_int_equal(conn_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &t),
                     0);
    assert_int_equal(t, 784111777);
    t = 0;
    assert_int_equal(conn_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t),
                     0);
    assert_int_equal(t, 784111777);
    t = 0;
    assert_int_equal(conn_http_date_parse("Sun Nov  6 08:49:37 1994", &t), 0);
    assert_int_equal(t, 784111777);
    assert_int_equal(conn_http_date_parse("Thu, 29 Feb 2024 12:00:00 GMT", &t),
                     0);
    assert_int_equal(t, 1709208000);
    assert_int_equal(conn_http_date_parse("Tue, 19 Jan 2038 03:14:08 GMT", &t),
                     0);
    assert_int_equal(t, 2147483648);
    /* RFC 850 two-digit years below 70 are this century */
    assert_int_equal(
        conn_http_date_parse("Wednesday, 31-Dec-69 23:59:59 GMT", &t), 0);
    assert_int_equal(t, 3155759999);
    /* 2023 is not a leap year */
    assert_int_equal(conn_http_date_parse("Wed, 29 Feb 2023 12:00:00 GMT", &t),
                     BRR_EPARSE);
}

static void test_retry_after_http_date_relative_to_now(void **state)
{
    const char *date = "Sun, 06 Nov 1994 08:49:37 GMT";
    uint32_t s = 0;

    assert_int_equal(conn_retry_after_parse(date, 784111777 - 30, 3600, &s), 0);
    assert_int_equal(s, 30);
    /* in the past or now: retry at once */
    assert_int_equal(conn_retry_after_parse(date, 784111777, 3600, &s), 0);
    assert_int_equal(s, 0);
    assert_int_equal(conn_retry_after_parse(date, 784111777 + 5, 3600, &s), 0);
    assert_int_equal(s, 0);
    /* far future: capped */
    assert_int_equal(conn_retry_after_parse(date, 0, 3600, &s), 0);
    assert_int_equal(s, 3600);
    assert_int_equal(conn_retry_after_parse("Sun Nov  6 08:49:37 1994",
                                            784111777 - 2, 3600, &s),
                     0);
    assert_int_equal(s, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_1s_1h_72h),
        cmocka_unit_test(test_ceiling_doubles_then_saturates_at_cap),
        cmocka_unit_test(test_ceiling_never_overflows),
        cmocka_unit_test(test_zero_fields_mean_defaults),
        cmocka_unit_test(test_delay_within_zero_and_ceiling_for_all_attempts),
        cmocka_unit_test(test_delay_is_spread_over_the_whole_range),
        cmocka_unit_test(test_give_up_at_exactly_max_age),
        cmocka_unit_test(test_next_prefers_retry_after_and_stops_at_deadline),
        cmocka_unit_test(test_retry_after_delta_seconds),
        cmocka_unit_test(test_retry_after_rejects_garbage),
        cmocka_unit_test(test_http_date_three_forms),
        cmocka_unit_test(test_retry_after_http_date_relative_to_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
