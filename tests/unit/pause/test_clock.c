/*
 * test_clock.c: services/common/clock.c in both builds.  Built twice:
 * pause_test_clock with BRR_TEST_CLOCK (the file sets "now"; absent, empty
 * or garbage means the real time) and pause_test_clock_real without it (the
 * file is ignored: a production binary cannot be moved).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"

static char path[64];

static void write_clock(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    int fd;
    (void)state;
    snprintf(path, sizeof(path), "/tmp/brr-test-clock-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    setenv("BRR_TEST_CLOCK_FILE", path, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    unsetenv("BRR_TEST_CLOCK_FILE");
    return 0;
}

static int near_real(int64_t t)
{
    int64_t now = (int64_t)time(NULL);
    return t >= now - 3600 && t <= now + 3600; /* far from 2000 */
}

#ifdef BRR_TEST_CLOCK
static void test_file_sets_now(void **state)
{
    (void)state;
    assert_true(brr_clock_is_test());
    write_clock("946684800\n"); /* 2000-01-01T00:00:00Z */
    assert_int_equal(brr_clock_now(), INT64_C(946684800));
    write_clock("0");
    assert_int_equal(brr_clock_now(), 0);
}

static void test_empty_or_bad_file_is_real_time(void **state)
{
    (void)state;
    write_clock("");
    assert_true(near_real(brr_clock_now()));
    write_clock("soon");
    assert_true(near_real(brr_clock_now()));
    write_clock("-5");
    assert_true(near_real(brr_clock_now()));
    write_clock("99999999999999999999");
    assert_true(near_real(brr_clock_now()));
    unlink(path);
    assert_true(near_real(brr_clock_now()));
    unsetenv("BRR_TEST_CLOCK_FILE");
    assert_true(near_real(brr_clock_now()));
}
#else
static void test_production_build_ignores_the_file(void **state)
{
    (void)state;
    assert_false(brr_clock_is_test());
    write_clock("946684800\n");
    assert_true(near_real(brr_clock_now()));
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#ifdef BRR_TEST_CLOCK
        cmocka_unit_test_setup_teardown(test_file_sets_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_or_bad_file_is_real_time,
                                        setup, teardown),
#else
        cmocka_unit_test_setup_teardown(test_production_build_ignores_the_file,
                                        setup, teardown),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
