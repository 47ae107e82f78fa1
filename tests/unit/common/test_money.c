/* Unit tests for services/common/money.c: boundaries at BRR_CENTS_MAX,
 * rounding directions, Dutch formatting, and property tests over
 * deterministic pseudo-random amounts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"
#include "money.h"

#define MAX BRR_CENTS_MAX
#define SENTINEL INT64_C(-777)

__extension__ typedef __int128 i128;

static void test_money_add_boundaries(void **state)
{
    brr_cents_t r = SENTINEL;

    (void)state;
    assert_int_equal(brr_money_add(0, 0, &r), 0);
    assert_int_equal(r, 0);
    assert_int_equal(brr_money_add(1, 1, &r), 0);
    assert_int_equal(r, 2);
    assert_int_equal(brr_money_add(MAX - 1, 1, &r), 0);
    assert_true(r == MAX);
    assert_int_equal(brr_money_add(MAX, 0, &r), 0);
    assert_true(r == MAX);
    assert_int_equal(brr_money_add(-MAX, 0, &r), 0);
    assert_true(r == -MAX);

    r = SENTINEL;
    assert_int_equal(brr_money_add(MAX, 1, &r), BRR_EOVERFLOW);
    assert_int_equal(brr_money_add(-MAX, -1, &r), BRR_EOVERFLOW);
    assert_int_equal(brr_money_add(INT64_MAX, INT64_MAX, &r), BRR_EOVERFLOW);
    assert_int_equal(brr_money_add(INT64_MIN, INT64_MIN, &r), BRR_EOVERFLOW);
    assert_true(r == SENTINEL); /* untouched on failure */
    /* An out-of-range input that comes back into range is fine. */
    assert_int_equal(brr_money_add(INT64_MAX, -INT64_MAX, &r), 0);
    assert_int_equal(r, 0);
}

static void test_money_sub_boundaries(void **state)
{
    brr_cents_t r = SENTINEL;

    (void)state;
    assert_int_equal(brr_money_sub(0, 1, &r), 0);
    assert_int_equal(r, -1);
    assert_int_equal(brr_money_sub(MAX, MAX, &r), 0);
    assert_int_equal(r, 0);
    assert_int_equal(brr_money_sub(0, MAX, &r), 0);
    assert_true(r == -MAX);
    assert_int_equal(brr_money_sub(-MAX, 1, &r), BRR_EOVERFLOW);
    assert_int_equal(brr_money_sub(MAX, -1, &r), BRR_EOVERFLOW);
    assert_int_equal(brr_money_sub(0, INT64_MIN, &r), BRR_EOVERFLOW);
}

static void test_money_mul_boundaries(void **state)
{
    brr_cents_t r = SENTINEL;

    (void)state;
    assert_int_equal(brr_money_mul(12345, 0, &r), 0);
    assert_int_equal(r, 0);
    assert_int_equal(brr_money_mul(12345, 1, &r), 0);
    assert_int_equal(r, 12345);
    assert_int_equal(brr_money_mul(MAX / 2, 2, &r), 0);
    assert_true(r == MAX);
    assert_int_equal(brr_money_mul(MAX, -1, &r), 0);
    assert_true(r == -MAX);
    assert_int_equal(brr_money_mul(MAX / 2 + 1, 2, &r), BRR_EOVERFLOW);
    assert_int_equal(brr_money_mul(INT64_MIN, -1, &r), BRR_EOVERFLOW);
    assert_int_equal(brr_money_mul(INT64_MAX, INT64_MAX, &r), BRR_EOVERFLOW);
}

static void test_money_muldiv_rounding(void **state)
{
    brr_cents_t f = SENTINEL, c = SENTINEL;

    (void)state;
    /* 2.5% of € 10,00, exact. */
    assert_int_equal(brr_money_muldiv_floor(1000, 250, 10000, &f), 0);
    assert_int_equal(brr_money_muldiv_ceil(1000, 250, 10000, &c), 0);
    assert_int_equal(f, 25);
    assert_int_equal(c, 25);
    /* A remainder: floor and ceil differ by one. */
    assert_int_equal(brr_money_muldiv_floor(999, 1, 10, &f), 0);
    assert_int_equal(brr_money_muldiv_ceil(999, 1, 10, &c), 0);
    assert_int_equal(f, 99);
    assert_int_equal(c, 100);
    /* Negative values round towards -inf and +inf, not towards zero. */
    assert_int_equal(brr_money_muldiv_floor(-7, 1, 2, &f), 0);
    assert_int_equal(brr_money_muldiv_ceil(-7, 1, 2, &c), 0);
    assert_int_equal(f, -4);
    assert_int_equal(c, -3);
    assert_int_equal(brr_money_muldiv_floor(7, -1, 2, &f), 0);
    assert_int_equal(f, -4);
    assert_int_equal(brr_money_muldiv_floor(0, 5, 3, &f), 0);
    assert_int_equal(f, 0);
    assert_int_equal(brr_money_muldiv_ceil(1, 1, INT64_MAX, &c), 0);
    assert_int_equal(c, 1);
    assert_int_equal(brr_money_muldiv_floor(1, 1, INT64_MAX, &f), 0);
    assert_int_equal(f, 0);
}

static void test_money_muldiv_wide_intermediate(void **state)
{
    brr_cents_t r = SENTINEL;

    (void)state;
    /* MAX * INT64_MAX overflows 64 bits but not the 128-bit product. */
    assert_int_equal(brr_money_muldiv_floor(MAX, INT64_MAX, INT64_MAX, &r), 0);
    assert_true(r == MAX);
    assert_int_equal(brr_money_muldiv_ceil(INT64_MAX, INT64_MAX, INT64_MAX, &r),
                     BRR_EOVERFLOW);
    assert_int_equal(brr_money_muldiv_floor(MAX, 10001, 10000, &r),
                     BRR_EOVERFLOW);
    assert_int_equal(brr_money_muldiv_floor(INT64_MIN, INT64_MIN, 1, &r),
                     BRR_EOVERFLOW);
}

static void test_money_muldiv_rejects_bad_denominator(void **state)
{
    brr_cents_t r = SENTINEL;

    (void)state;
    assert_int_equal(brr_money_muldiv_floor(1, 1, 0, &r), BRR_EINVAL);
    assert_int_equal(brr_money_muldiv_ceil(1, 1, 0, &r), BRR_EINVAL);
    assert_int_equal(brr_money_muldiv_floor(1, 1, -1, &r), BRR_EINVAL);
    assert_int_equal(brr_money_muldiv_ceil(1, 1, INT64_MIN, &r), BRR_EINVAL);
    assert_true(r == SENTINEL);
}

static void test_money_div_ceil(void **state)
{
    int64_t r = SENTINEL;

    (void)state;
    assert_int_equal(brr_money_div_ceil(0, 5, &r), 0);
    assert_int_equal(r, 0);
    assert_int_equal(brr_money_div_ceil(1, 5, &r), 0);
    assert_int_equal(r, 1);
    assert_int_equal(brr_money_div_ceil(10, 5, &r), 0);
    assert_int_equal(r, 2);
    assert_int_equal(brr_money_div_ceil(11, 5, &r), 0);
    assert_int_equal(r, 3);
    assert_int_equal(brr_money_div_ceil(INT64_MAX, 1, &r), 0);
    assert_true(r == INT64_MAX);
    assert_int_equal(brr_money_div_ceil(INT64_MAX, INT64_MAX, &r), 0);
    assert_int_equal(r, 1);
    r = SENTINEL;
    assert_int_equal(brr_money_div_ceil(-1, 5, &r), BRR_EINVAL);
    assert_int_equal(brr_money_div_ceil(1, 0, &r), BRR_EINVAL);
    assert_int_equal(brr_money_div_ceil(1, -5, &r), BRR_EINVAL);
    assert_true(r == SENTINEL);
}

static void test_money_round_up(void **state)
{
    brr_cents_t r = SENTINEL;

    (void)state;
    assert_int_equal(brr_money_round_up(0, 100, &r), 0);
    assert_int_equal(r, 0);
    assert_int_equal(brr_money_round_up(1, 100, &r), 0);
    assert_int_equal(r, 100);
    assert_int_equal(brr_money_round_up(100, 100, &r), 0);
    assert_int_equal(r, 100);
    assert_int_equal(brr_money_round_up(101, 100, &r), 0);
    assert_int_equal(r, 200);
    assert_int_equal(brr_money_round_up(MAX, 1, &r), 0);
    assert_true(r == MAX);
    assert_int_equal(brr_money_round_up(MAX - 1, 2, &r), 0);
    assert_true(r == MAX);
    /* MAX is 1e13 = 1 (mod 3): the next multiple lies beyond MAX. */
    assert_int_equal(brr_money_round_up(MAX, 3, &r), BRR_EOVERFLOW);
    assert_int_equal(brr_money_round_up(INT64_MAX, INT64_MAX - 1, &r),
                     BRR_EOVERFLOW);
    assert_int_equal(brr_money_round_up(-1, 100, &r), BRR_EINVAL);
    assert_int_equal(brr_money_round_up(1, 0, &r), BRR_EINVAL);
}

static void test_money_sum(void **state)
{
    const brr_cents_t ok[] = {MAX, 1, -1};
    const brr_cents_t over[] = {MAX, 1};
    const brr_cents_t wide[] = {INT64_MAX, INT64_MAX, -INT64_MAX, -INT64_MAX,
                                5};
    const brr_cents_t some[] = {100, 250, 1};
    brr_cents_t r = SENTINEL;

    (void)state;
    assert_int_equal(brr_money_sum(NULL, 0, &r), 0);
    assert_int_equal(r, 0);
    assert_int_equal(brr_money_sum(some, 3, &r), 0);
    assert_int_equal(r, 351);
    assert_int_equal(brr_money_sum(some, 1, &r), 0);
    assert_int_equal(r, 100);
    /* Only the total must fit, not every partial sum. */
    assert_int_equal(brr_money_sum(ok, 3, &r), 0);
    assert_true(r == MAX);
    assert_int_equal(brr_money_sum(wide, 5, &r), 0);
    assert_int_equal(r, 5);
    assert_int_equal(brr_money_sum(over, 2, &r), BRR_EOVERFLOW);
    assert_int_equal(brr_money_sum(NULL, 1, &r), BRR_EINVAL);
}

static void test_money_valid(void **state)
{
    (void)state;
    assert_true(brr_money_valid(0));
    assert_true(brr_money_valid(MAX));
    assert_true(brr_money_valid(-MAX));
    assert_false(brr_money_valid(MAX + 1));
    assert_false(brr_money_valid(-MAX - 1));
    assert_false(brr_money_valid(INT64_MIN));
}

static void check_fmt(brr_cents_t a, const char *want)
{
    char buf[32];

    memset(buf, 'z', sizeof(buf));
    assert_ptr_equal(brr_money_format_nl(a, buf, sizeof(buf)), buf);
    assert_string_equal(buf, want);
}

static void test_money_format_nl(void **state)
{
    (void)state;
    check_fmt(0, "€ 0,00");
    check_fmt(1, "€ 0,01");
    check_fmt(5, "€ 0,05");
    check_fmt(10, "€ 0,10");
    check_fmt(100, "€ 1,00");
    check_fmt(99999, "€ 999,99");
    check_fmt(100000, "€ 1.000,00");
    check_fmt(134545, "€ 1.345,45");
    check_fmt(100000000, "€ 1.000.000,00");
    check_fmt(-1, "-€ 0,01");
    check_fmt(-134545, "-€ 1.345,45");
    check_fmt(MAX, "€ 100.000.000.000,00");
    check_fmt(INT64_MAX, "€ 92.233.720.368.547.758,07");
    check_fmt(INT64_MIN, "-€ 92.233.720.368.547.758,08");
}

static void test_money_format_nl_truncates_safely(void **state)
{
    char buf[8];

    (void)state;
    memset(buf, 'z', sizeof(buf));
    brr_money_format_nl(134545, buf, 7);
    assert_int_equal(strlen(buf), 6);
    assert_memory_equal(buf, "€ 1.", 6);
    assert_int_equal(buf[7], 'z');
    buf[0] = 'q';
    brr_money_format_nl(1, buf, 0);
    assert_int_equal(buf[0], 'q');
}

/* splitmix64: a fixed seed makes the property runs reproducible. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rng(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A random amount in -MAX..MAX, often near the interesting edges. */
static brr_cents_t rand_amount(void)
{
    switch (rng() % 4) {
    case 0:
        return (brr_cents_t)(rng() % 1000) - 500;
    case 1:
        return MAX - (brr_cents_t)(rng() % 1000);
    case 2:
        return -MAX + (brr_cents_t)(rng() % 1000);
    default:
        return (brr_cents_t)(rng() % (2 * (uint64_t)MAX + 1)) - MAX;
    }
}

static void test_money_property_add_then_sub(void **state)
{
    (void)state;
    for (int i = 0; i < 100000; i++) {
        brr_cents_t a = rand_amount(), b = rand_amount(), s, back;
        i128 exact = (i128)a + b;
        int rc = brr_money_add(a, b, &s);

        if (exact > MAX || exact < -MAX) {
            assert_int_equal(rc, BRR_EOVERFLOW);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(brr_money_sub(s, b, &back), 0);
        assert_true(back == a);
        assert_int_equal(brr_money_sub(s, a, &back), 0);
        assert_true(back == b);
    }
}

static void test_money_property_muldiv_floor_ceil(void **state)
{
    (void)state;
    for (int i = 0; i < 100000; i++) {
        brr_cents_t a = rand_amount(), f, c;
        int64_t num = (int64_t)(rng() % 20001) - 10000;
        int64_t den = (int64_t)(rng() % 10000) + 1;
        i128 p = (i128)a * num;
        int rf = brr_money_muldiv_floor(a, num, den, &f);
        int rcl = brr_money_muldiv_ceil(a, num, den, &c);

        if (rf != 0 || rcl != 0) {
            /* Only a result beyond MAX may fail. */
            assert_true(p / den > MAX - 1 || p / den < -MAX + 1);
            continue;
        }
        assert_true(f <= c);
        assert_true(c <= f + 1);
        /* floor: f*den <= p < (f+1)*den; ceil: (c-1)*den < p <= c*den */
        assert_true((i128)f * den <= p);
        assert_true(p < ((i128)f + 1) * den);
        assert_true(((i128)c - 1) * den < p);
        assert_true(p <= (i128)c * den);
        assert_int_equal(c == f, p % den == 0);
    }
}

static void test_money_property_round_up_and_div_ceil(void **state)
{
    (void)state;
    for (int i = 0; i < 100000; i++) {
        brr_cents_t a = (brr_cents_t)(rng() % (uint64_t)MAX), r;
        int64_t step = (int64_t)(rng() % 100000) + 1, q;

        assert_int_equal(brr_money_round_up(a, step, &r), 0);
        assert_true(r >= a && r - a < step && r % step == 0);
        assert_int_equal(brr_money_div_ceil(a, step, &q), 0);
        assert_true(q * step == r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money_add_boundaries),
        cmocka_unit_test(test_money_sub_boundaries),
        cmocka_unit_test(test_money_mul_boundaries),
        cmocka_unit_test(test_money_muldiv_rounding),
        cmocka_unit_test(test_money_muldiv_wide_intermediate),
        cmocka_unit_test(test_money_muldiv_rejects_bad_denominator),
        cmocka_unit_test(test_money_div_ceil),
        cmocka_unit_test(test_money_round_up),
        cmocka_unit_test(test_money_sum),
        cmocka_unit_test(test_money_valid),
        cmocka_unit_test(test_money_format_nl),
        cmocka_unit_test(test_money_format_nl_truncates_safely),
        cmocka_unit_test(test_money_property_add_then_sub),
        cmocka_unit_test(test_money_property_muldiv_floor_ceil),
        cmocka_unit_test(test_money_property_round_up_and_div_ceil),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
