/*
 * test_rate.c: the per-channel token bucket (services/intake/rate.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "intake.h"

static void test_bucket_allows_the_burst_then_refuses(void **state)
{
    intake_bucket_t b;
    (void)state;
    intake_bucket_init(&b, 10, 5, 1000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(intake_bucket_take(&b, 1000), 0);
    /* empty: the next token comes after 1/10 s */
    assert_int_equal(intake_bucket_take(&b, 1000), 101);
}

static void test_bucket_refills_at_its_rate(void **state)
{
    intake_bucket_t b;
    (void)state;
    intake_bucket_init(&b, 10, 1, 0);
    assert_int_equal(intake_bucket_take(&b, 0), 0);
    assert_true(intake_bucket_take(&b, 50) > 0); /* half a token */
    assert_int_equal(intake_bucket_take(&b, 100), 0);
    assert_true(intake_bucket_take(&b, 100) > 0);
}

static void test_bucket_never_holds_more_than_its_burst(void **state)
{
    intake_bucket_t b;
    int taken = 0;
    (void)state;
    intake_bucket_init(&b, 1000, 3, 0);
    while (intake_bucket_take(&b, 3600000) == 0 && taken < 100)
        taken++;
    assert_int_equal(taken, 3);
}

static void test_bucket_wait_is_at_least_one_ms(void **state)
{
    intake_bucket_t b;
    (void)state;
    intake_bucket_init(&b, 1000000, 1, 0);
    assert_int_equal(intake_bucket_take(&b, 0), 0);
    assert_int_equal(intake_bucket_take(&b, 0), 1);
}

static void test_bucket_survives_a_clock_going_back(void **state)
{
    intake_bucket_t b;
    (void)state;
    intake_bucket_init(&b, 1, 1, 5000);
    assert_int_equal(intake_bucket_take(&b, 5000), 0);
    assert_true(intake_bucket_take(&b, 1000) > 0);
    assert_int_equal(intake_bucket_take(&b, 6000), 0);
}

static void test_bucket_slow_rate_gives_retry_after_in_seconds(void **state)
{
    intake_bucket_t b;
    (void)state;
    intake_bucket_init(&b, 0.5, 1, 0);
    assert_int_equal(intake_bucket_take(&b, 0), 0);
    assert_int_equal(intake_bucket_take(&b, 0), 2001);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_allows_the_burst_then_refuses),
        cmocka_unit_test(test_bucket_refills_at_its_rate),
        cmocka_unit_test(test_bucket_never_holds_more_than_its_burst),
        cmocka_unit_test(test_bucket_wait_is_at_least_one_ms),
        cmocka_unit_test(test_bucket_survives_a_clock_going_back),
        cmocka_unit_test(test_bucket_slow_rate_gives_retry_after_in_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
