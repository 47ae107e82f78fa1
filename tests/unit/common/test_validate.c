/* Unit tests for services/common/validate.c: DOMAIN.md §7's valid and
 * invalid examples plus the boundaries around them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "validate.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void test_validate_bsn_domain_examples(void **state)
{
    char out[10];

    (void)state;
    assert_true(brr_bsn_valid(S("999996708"), out));
    assert_string_equal(out, "999996708");
    assert_true(brr_bsn_valid(S("111222333"), out));
    assert_true(brr_bsn_valid(S("123456782"), out));
    assert_string_equal(out, "123456782");
    assert_false(brr_bsn_valid(S("123456789"), out));
    assert_false(brr_bsn_valid(S("000000000"), out));
}

static void test_validate_bsn_eight_digits_left_padded(void **state)
{
    char out[10];

    (void)state;
    assert_true(brr_bsn_valid(S("12345611"), out));
    assert_string_equal(out, "012345611");
    assert_true(brr_bsn_valid(S("012345611"), out));
    assert_false(brr_bsn_valid(S("12345612"), out));
    assert_false(brr_bsn_valid(S("00000000"), out));
}

static void test_validate_bsn_rejects_shape(void **state)
{
    char out[10] = "untouched";

    (void)state;
    assert_false(brr_bsn_valid(S("1234567"), out));    /* 7 digits */
    assert_false(brr_bsn_valid(S("1234567820"), out)); /* 10 digits */
    assert_false(brr_bsn_valid(S("99999670a"), out));
    assert_false(brr_bsn_valid(S("99999 708"), out));
    assert_false(brr_bsn_valid(S("-99996708"), out));
    assert_false(brr_bsn_valid(S(""), out));
    assert_false(brr_bsn_valid(NULL, 9, out));
    assert_string_equal(out, "untouched");
    /* len bounds the read: the valid prefix of a longer buffer counts. */
    assert_true(brr_bsn_valid("999996708XYZ", 9, out));
    assert_true(brr_bsn_valid(S("999996708"), NULL));
}

static void test_validate_bsn_mask(void **state)
{
    char out[10];

    (void)state;
    brr_bsn_mask("999996708", out);
    assert_string_equal(out, "*****6708");
    brr_bsn_mask("12345611", out);
    assert_string_equal(out, "*****5611");
    brr_bsn_mask("1234567", out);
    assert_string_equal(out, "*****");
    brr_bsn_mask("1234567890", out);
    assert_string_equal(out, "*****");
    brr_bsn_mask("12345678a", out);
    assert_string_equal(out, "*****");
    brr_bsn_mask("", out);
    assert_string_equal(out, "*****");
    brr_bsn_mask(NULL, out);
    assert_string_equal(out, "*****");
}

static void test_validate_iban_domain_examples(void **state)
{
    char out[35];

    (void)state;
    assert_true(brr_iban_valid(S("NL91ABNA0417164300"), out));
    assert_string_equal(out, "NL91ABNA0417164300");
    assert_true(brr_iban_valid(S("GB82WEST12345698765432"), out));
    assert_string_equal(out, "GB82WEST12345698765432");
    assert_false(brr_iban_valid(S("NL91ABNA0417164301"), out));
}

static void test_validate_iban_normalises(void **state)
{
    char out[35];

    (void)state;
    assert_true(brr_iban_valid(S("nl91 abna 0417 1643 00"), out));
    assert_string_equal(out, "NL91ABNA0417164300");
    assert_true(brr_iban_valid(S("  NL91ABNA0417164300 "), out));
    assert_string_equal(out, "NL91ABNA0417164300");
    assert_false(brr_iban_valid(S("NL91-ABNA-0417-1643-00"), out));
    assert_false(brr_iban_valid(S("NL91\tABNA0417164300"), out));
}

static void test_validate_iban_other_sepa_countries(void **state)
{
    static const char *const ok[] = {
        "DE89370400440532013000",
        "BE68539007547034",
        "FR1420041010050500013M02606",
        "NO9386011117947",
        "MT84MALT011000012345MTLCAST001S",
        "CH9300762011623852957",
        "AT611904300234573201",
    };
    char out[35];

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_true(brr_iban_valid(ok[i], strlen(ok[i]), out));
        assert_string_equal(out, ok[i]);
    }
}

static void test_validate_iban_rejects(void **state)
{
    char out[35] = "untouched";

    (void)state;
    /* Length per country: one short, one long. */
    assert_false(brr_iban_valid(S("NL91ABNA041716430"), out));
    assert_false(brr_iban_valid(S("NL91ABNA04171643000"), out));
    assert_false(brr_iban_valid(S("DE8937040044053201300"), out));
    /* NL pattern: four letters, ten digits. */
    assert_false(brr_iban_valid(S("NL91ABN10417164300"), out));
    assert_false(brr_iban_valid(S("NL91ABNA041716430A"), out));
    /* Country not in SEPA / not a country. */
    assert_false(brr_iban_valid(S("US91ABNA0417164300"), out));
    assert_false(brr_iban_valid(S("1191ABNA0417164300"), out));
    assert_false(brr_iban_valid(S("NLX1ABNA0417164300"), out));
    /* Transposed digits. */
    assert_false(brr_iban_valid(S("NL91ABNA0417163400"), out));
    /* Longer than any IBAN, empty, NULL. */
    assert_false(
        brr_iban_valid(S("NL91ABNA04171643000000000000000000000"), out));
    assert_false(brr_iban_valid(S(""), out));
    assert_false(brr_iban_valid(S("    "), out));
    assert_false(brr_iban_valid(NULL, 18, out));
    assert_string_equal(out, "untouched");
}

static void test_validate_iban_check_digit_aliases(void **state)
{
    char out[35];

    (void)state;
    /* 00, 01 and 99 satisfy mod 97 as aliases of 97, 98 and 02 but are
     * never issued. */
    assert_true(brr_iban_valid(S("NL02ABNA0417164059"), out));
    assert_false(brr_iban_valid(S("NL99ABNA0417164059"), out));
    assert_true(brr_iban_valid(S("NL98ABNA0417164077"), out));
    assert_false(brr_iban_valid(S("NL01ABNA0417164077"), out));
    assert_true(brr_iban_valid(S("NL97ABNA0417164095"), out));
    assert_false(brr_iban_valid(S("NL00ABNA0417164095"), out));
}

static void test_validate_postcode(void **state)
{
    char out[7] = "xxxxxx";

    (void)state;
    assert_true(brr_postcode_valid(S("1234AB"), out));
    assert_string_equal(out, "1234AB");
    assert_true(brr_postcode_valid(S("1234 AB"), out));
    assert_string_equal(out, "1234AB");
    assert_true(brr_postcode_valid(S("9999ZZ"), out));
    assert_true(brr_postcode_valid(S("1000AA"), out));
    assert_true(brr_postcode_valid(S("1234SB"), out));
    assert_true(brr_postcode_valid(S("1234AS"), out));

    memcpy(out, "xxxxxx", 7);
    assert_false(brr_postcode_valid(S("0234AB"), out)); /* leading 0 */
    assert_false(brr_postcode_valid(S("1234SA"), out));
    assert_false(brr_postcode_valid(S("1234 SD"), out));
    assert_false(brr_postcode_valid(S("1234SS"), out));
    assert_false(brr_postcode_valid(S("1234ab"), out));
    assert_false(brr_postcode_valid(S("1234  AB"), out));
    assert_false(brr_postcode_valid(S("1234-AB"), out));
    assert_false(brr_postcode_valid(S("123AB"), out));
    assert_false(brr_postcode_valid(S("12345AB"), out));
    assert_false(brr_postcode_valid(S("1234A"), out));
    assert_false(brr_postcode_valid(S("A234AB"), out));
    assert_false(brr_postcode_valid(NULL, 6, out));
    assert_string_equal(out, "xxxxxx");
}

static void test_validate_date(void **state)
{
    int y = 0, m = 0, d = 0;

    (void)state;
    assert_true(brr_date_valid(S("2024-02-29"), &y, &m, &d));
    assert_int_equal(y, 2024);
    assert_int_equal(m, 2);
    assert_int_equal(d, 29);
    assert_true(brr_date_valid(S("1900-01-01"), NULL, NULL, NULL));
    assert_true(brr_date_valid(S("2999-12-31"), NULL, NULL, NULL));
    assert_true(brr_date_valid(S("2000-02-29"), NULL, NULL, NULL));
    assert_true(brr_date_valid(S("2025-04-30"), NULL, NULL, NULL));

    y = -1;
    assert_false(brr_date_valid(S("1899-12-31"), &y, &m, &d));
    assert_false(brr_date_valid(S("3000-01-01"), &y, &m, &d));
    assert_false(brr_date_valid(S("2023-02-29"), &y, &m, &d));
    assert_false(brr_date_valid(S("2100-02-29"), &y, &m, &d));
    assert_false(brr_date_valid(S("2025-04-31"), &y, &m, &d));
    assert_false(brr_date_valid(S("2025-13-01"), &y, &m, &d));
    assert_false(brr_date_valid(S("2025-00-10"), &y, &m, &d));
    assert_false(brr_date_valid(S("2025-01-00"), &y, &m, &d));
    assert_false(brr_date_valid(S("2025-01-32"), &y, &m, &d));
    assert_false(brr_date_valid(S("2025-1-01"), &y, &m, &d));
    assert_false(brr_date_valid(S("2025/01/01"), &y, &m, &d));
    assert_false(brr_date_valid(S("2025-01-01T00:00:00Z"), &y, &m, &d));
    assert_false(brr_date_valid(S("20250101"), &y, &m, &d));
    assert_false(brr_date_valid(S("2025-0a-01"), &y, &m, &d));
    assert_false(brr_date_valid(NULL, 10, &y, &m, &d));
    assert_int_equal(y, -1);
}

static void test_validate_org_code(void **state)
{
    (void)state;
    assert_true(brr_org_code_valid(S("CJIB")));
    assert_true(brr_org_code_valid(S("BD")));
    assert_true(brr_org_code_valid(S("DUO-2")));
    assert_true(brr_org_code_valid(S("ABCDEFGHIJKLMNOP"))); /* 16 */
    assert_false(brr_org_code_valid(S("ABCDEFGHIJKLMNOPQ")));
    assert_false(brr_org_code_valid(S("B")));
    assert_false(brr_org_code_valid(S("")));
    assert_false(brr_org_code_valid(S("cjib")));
    assert_false(brr_org_code_valid(S("CJ IB")));
    assert_false(brr_org_code_valid(S("CJ_IB")));
    assert_false(brr_org_code_valid(NULL, 4));
}

/* Free text: length bounds inclusive, no control characters. */
static void test_validate_text(void **state)
{
    (void)state;
    assert_true(brr_text_valid("a", 1, 3));
    assert_true(brr_text_valid("abc", 1, 3));
    assert_false(brr_text_valid("", 1, 3));
    assert_false(brr_text_valid("abcd", 1, 3));
    assert_true(brr_text_valid("", 0, 3));
    assert_true(brr_text_valid("\xc3\xa9\xe2\x82\xac", 1, 5)); /* UTF-8 */
    assert_false(brr_text_valid("a\nb", 1, 10));
    assert_false(brr_text_valid("a\tb", 1, 10));
    assert_false(brr_text_valid("a\x7f", 1, 10));
    assert_false(brr_text_valid("\x1f", 1, 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_bsn_domain_examples),
        cmocka_unit_test(test_validate_bsn_eight_digits_left_padded),
        cmocka_unit_test(test_validate_bsn_rejects_shape),
        cmocka_unit_test(test_validate_bsn_mask),
        cmocka_unit_test(test_validate_iban_domain_examples),
        cmocka_unit_test(test_validate_iban_normalises),
        cmocka_unit_test(test_validate_iban_other_sepa_countries),
        cmocka_unit_test(test_validate_iban_rejects),
        cmocka_unit_test(test_validate_iban_check_digit_aliases),
        cmocka_unit_test(test_validate_postcode),
        cmocka_unit_test(test_validate_date),
        cmocka_unit_test(test_validate_org_code),
        cmocka_unit_test(test_validate_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
