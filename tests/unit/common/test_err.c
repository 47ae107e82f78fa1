/* Unit tests for services/common/err.c: names, text and retry class come
 * from the one X-macro table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"

static void test_err_known_codes_have_text_and_name(void **state)
{
    (void)state;
    assert_string_equal(brr_strerror(BRR_EINVAL), "invalid argument");
    assert_string_equal(brr_err_name(BRR_EINVAL), "EINVAL");
    assert_string_equal(brr_strerror(BRR_EOVERFLOW), "arithmetic overflow");
    assert_string_equal(brr_err_name(BRR_EOVERFLOW), "EOVERFLOW");
    assert_string_equal(brr_err_name(BRR_EKAFKATRANSIENT), "EKAFKATRANSIENT");
    assert_string_equal(brr_strerror(BRR_EINTERNAL), "internal error");
    assert_string_equal(brr_err_name(BRR_EINTERNAL), "EINTERNAL");
}

static void test_err_every_table_entry_round_trips(void **state)
{
    (void)state;
#define XX(name, value, transient, msg)                                        \
    assert_int_equal(BRR_E##name, value);                                      \
    assert_string_equal(brr_strerror(value), msg);                             \
    assert_string_equal(brr_err_name(value), "E" #name);                       \
    assert_int_equal(brr_err_is_transient(value), transient);
    BRR_ERRNO_MAP(XX)
#undef XX
}

static void test_err_codes_are_unique_and_negative(void **state)
{
    static const int codes[] = {
#define XX(name, value, transient, msg) value,
        BRR_ERRNO_MAP(XX)
#undef XX
    };
    size_t n = sizeof(codes) / sizeof(codes[0]);

    (void)state;
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] < 0);
        for (size_t j = i + 1; j < n; j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
}

static void test_err_unknown_codes(void **state)
{
    (void)state;
    assert_string_equal(brr_strerror(-9999), "unknown error");
    assert_string_equal(brr_err_name(-9999), "EUNKNOWN");
    assert_string_equal(brr_strerror(1), "unknown error");
    assert_string_equal(brr_err_name(BRR_EINTERNAL - 1), "EUNKNOWN");
    assert_int_equal(brr_err_is_transient(-9999), 0);
}

static void test_err_success(void **state)
{
    (void)state;
    assert_string_equal(brr_strerror(BRR_OK), "success");
    assert_string_equal(brr_err_name(BRR_OK), "OK");
    assert_int_equal(brr_err_is_transient(BRR_OK), 0);
}

static void test_err_transient_class(void **state)
{
    (void)state;
    assert_true(brr_err_is_transient(BRR_EDBTRANSIENT));
    assert_true(brr_err_is_transient(BRR_EKAFKATRANSIENT));
    assert_true(brr_err_is_transient(BRR_ETIMEOUT));
    assert_true(brr_err_is_transient(BRR_EBUSY));
    assert_false(brr_err_is_transient(BRR_EDB));
    assert_false(brr_err_is_transient(BRR_EDECODE));
    assert_false(brr_err_is_transient(BRR_EREFUSED));
    assert_false(brr_err_is_transient(BRR_EPARKED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_known_codes_have_text_and_name),
        cmocka_unit_test(test_err_every_table_entry_round_trips),
        cmocka_unit_test(test_err_codes_are_unique_and_negative),
        cmocka_unit_test(test_err_unknown_codes),
        cmocka_unit_test(test_err_success),
        cmocka_unit_test(test_err_transient_class),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
