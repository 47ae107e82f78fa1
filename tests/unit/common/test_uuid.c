/* Unit tests for services/common/uuid.c.  The .c is included (h2o's habit)
 * to drive the v7 state machine with a clock that stands still or steps
 * back.  The tests are single-threaded, so they call v7_next() without
 * v7_lock: a failed assertion must not leave the lock held. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "uuid.c"

static uint64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static unsigned version(const brr_uuid_t *u)
{
    return u->b[6] >> 4;
}

static unsigned variant(const brr_uuid_t *u)
{
    return u->b[8] >> 6;
}

static unsigned counter(const brr_uuid_t *u)
{
    return (unsigned)(u->b[6] & 0x0f) << 8 | u->b[7];
}

static void test_uuid_v7_monotonic_over_100000(void **state)
{
    enum { N = 100000 };
    brr_uuid_t prev, cur;
    uint64_t before, after;

    (void)state;
    before = wall_ms();
    brr_uuid_v7(&prev);
    for (int i = 1; i < N; i++) {
        brr_uuid_v7(&cur);
        assert_true(memcmp(prev.b, cur.b, 16) < 0);
        assert_int_equal(version(&cur), 7);
        assert_int_equal(variant(&cur), 2);
        prev = cur;
    }
    after = wall_ms();
    /* The stored time may run ahead of the clock by at most one
     * millisecond per 4096 ids, never behind it. */
    assert_true(brr_uuid_v7_ms(&prev) >= before);
    assert_true(brr_uuid_v7_ms(&prev) <= after + N / 4096 + 1);
}

static void test_uuid_v7_counter_within_one_ms(void **state)
{
    const uint8_t rnd[8] = {0xff, 1, 2, 3, 4, 5, 6, 7};
    const uint64_t ms = UINT64_C(1700000000000);
    brr_uuid_t u;

    (void)state;
    v7_last_ms = 0;
    v7_next(&u, ms, rnd);
    assert_true(brr_uuid_v7_ms(&u) == ms);
    assert_int_equal(counter(&u), 0);
    /* Random bits land in rand_b below the variant. */
    assert_int_equal(u.b[8], 0xbf);
    assert_memory_equal(&u.b[9], &rnd[1], 7);
    for (unsigned i = 1; i <= 0xfff; i++) {
        v7_next(&u, ms, rnd);
        assert_true(brr_uuid_v7_ms(&u) == ms);
        assert_int_equal(counter(&u), i);
        assert_int_equal(version(&u), 7);
    }
    /* Counter exhausted: borrow the next millisecond. */
    v7_next(&u, ms, rnd);
    assert_true(brr_uuid_v7_ms(&u) == ms + 1);
    assert_int_equal(counter(&u), 0);
    /* The real clock catching up does not go back. */
    v7_next(&u, ms + 1, rnd);
    assert_true(brr_uuid_v7_ms(&u) == ms + 1);
    assert_int_equal(counter(&u), 1);
    v7_next(&u, ms + 2, rnd);
    assert_true(brr_uuid_v7_ms(&u) == ms + 2);
    assert_int_equal(counter(&u), 0);
}

static void test_uuid_v7_clock_step_back_stays_monotonic(void **state)
{
    const uint8_t rnd[8] = {0};
    brr_uuid_t a, b, c;

    (void)state;
    v7_last_ms = 0;
    v7_next(&a, 5000, rnd);
    v7_next(&b, 4000, rnd); /* clock stepped back a second */
    v7_next(&c, 1, rnd);
    assert_true(brr_uuid_v7_ms(&b) == 5000);
    assert_true(brr_uuid_v7_ms(&c) == 5000);
    assert_true(memcmp(a.b, b.b, 16) < 0);
    assert_true(memcmp(b.b, c.b, 16) < 0);
    assert_int_equal(variant(&c), 2);
}

static void test_uuid_v4_bits(void **state)
{
    uint8_t ones[16] = {0}, zeros[16];
    brr_uuid_t u, first;

    (void)state;
    memset(zeros, 0xff, sizeof(zeros));
    brr_uuid_v4(&first);
    for (int i = 0; i < 1000; i++) {
        brr_uuid_v4(&u);
        assert_int_equal(version(&u), 4);
        assert_int_equal(variant(&u), 2);
        for (int k = 0; k < 16; k++) {
            ones[k] |= u.b[k];
            zeros[k] &= u.b[k];
        }
    }
    assert_memory_not_equal(first.b, u.b, 16);
    /* Over 1000 ids every free bit has been seen as 0 and as 1. */
    for (int k = 0; k < 16; k++) {
        uint8_t fixed = k == 6 ? 0xf0 : k == 8 ? 0xc0 : 0x00;
        assert_int_equal(ones[k] | fixed, 0xff);
        assert_int_equal(zeros[k] & (uint8_t)~fixed, 0x00);
    }
}

static void test_uuid_format_parse_known_vector(void **state)
{
    /* RFC 9562 Appendix A.6 example UUIDv7. */
    const char *rfc = "017F22E2-79B0-7CC3-98C4-DC0C0C07398F";
    char s[BRR_UUID_STRLEN + 1];
    brr_uuid_t u;

    (void)state;
    assert_int_equal(brr_uuid_parse(rfc, &u), 0);
    assert_int_equal(u.b[0], 0x01);
    assert_int_equal(u.b[15], 0x8f);
    assert_true(brr_uuid_v7_ms(&u) == UINT64_C(1645557742000));
    assert_int_equal(version(&u), 7);
    assert_int_equal(counter(&u), 0xcc3);
    brr_uuid_format(&u, s);
    assert_string_equal(s, "017f22e2-79b0-7cc3-98c4-dc0c0c07398f");
    assert_int_equal(strlen(s), BRR_UUID_STRLEN);
}

static void test_uuid_round_trip(void **state)
{
    char s[BRR_UUID_STRLEN + 1];
    brr_uuid_t u, back;

    (void)state;
    for (int i = 0; i < 1000; i++) {
        if (i % 2)
            brr_uuid_v4(&u);
        else
            brr_uuid_v7(&u);
        brr_uuid_format(&u, s);
        assert_int_equal(brr_uuid_parse(s, &back), 0);
        assert_memory_equal(u.b, back.b, 16);
    }
    brr_uuid_v7_str(s);
    assert_int_equal(strlen(s), BRR_UUID_STRLEN);
    assert_int_equal(brr_uuid_parse(s, &u), 0);
    assert_int_equal(s[14], '7');
    assert_int_equal(version(&u), 7);
}

static void test_uuid_parse_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398",   /* short */
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398f0", /* long */
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398g",  /* not hex */
        "017f22e2079b0-7cc3-98c4-dc0c0c07398f",  /* dash missing */
        "017f22e-279b0-7cc3-98c4-dc0c0c07398f",  /* dash moved */
        "{017f22e2-79b0-7cc3-98c4-dc0c0c07398f}",
        "017f22e279b07cc398c4dc0c0c07398f",
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398 ",
        " 017f22e2-79b0-7cc3-98c4-dc0c0c07398f",
    };
    brr_uuid_t u;

    (void)state;
    memset(&u, 0xaa, sizeof(u));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(brr_uuid_parse(bad[i], &u), BRR_EPARSE);
    assert_int_equal(brr_uuid_parse(NULL, &u), BRR_EPARSE);
    assert_int_equal(u.b[0], 0xaa); /* untouched on failure */
    assert_int_equal(brr_uuid_parse("00000000-0000-0000-0000-000000000000", &u),
                     0);
    assert_int_equal(brr_uuid_parse("FFFFFFFF-ffff-FFFF-ffff-FFFFFFFFFFFF", &u),
                     0);
    assert_int_equal(u.b[0], 0xff);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_v7_monotonic_over_100000),
        cmocka_unit_test(test_uuid_v7_counter_within_one_ms),
        cmocka_unit_test(test_uuid_v7_clock_step_back_stays_monotonic),
        cmocka_unit_test(test_uuid_v4_bits),
        cmocka_unit_test(test_uuid_format_parse_known_vector),
        cmocka_unit_test(test_uuid_round_trip),
        cmocka_unit_test(test_uuid_parse_rejects_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
