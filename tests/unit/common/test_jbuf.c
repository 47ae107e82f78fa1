/*
 * Unit tests of jbuf.c: the text it writes is the JSON (and the numbers
 * and hex) it claims, for the awkward inputs too: quotes, control
 * characters, NUL, bytes that are not UTF-8, the integer limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jbuf.h"

/* b's text parsed as one JSON string: its value (strdup'd). */
static char *json_string_of(brr_jbuf_t *b)
{
    json_t *v = json_loads(brr_jbuf_cstr(b), JSON_DECODE_ANY, NULL);
    char *s;
    assert_non_null(v);
    assert_true(json_is_string(v));
    s = strdup(json_string_value(v));
    json_decref(v);
    return s;
}

static void test_jbuf_empty_buffer_is_an_empty_string(void **state)
{
    brr_jbuf_t b;
    (void)state;
    brr_jbuf_init(&b);
    assert_string_equal(brr_jbuf_cstr(&b), "");
    assert_int_equal(b.len, 0);
    brr_jbuf_free(&b);
    brr_jbuf_free(&b); /* twice is fine */
}

static void test_jbuf_plain_and_escaped_strings(void **state)
{
    brr_jbuf_t b;
    char *s;
    (void)state;
    brr_jbuf_init(&b);
    brr_jbuf_str(&b, "plain");
    assert_string_equal(brr_jbuf_cstr(&b), "\"plain\"");
    brr_jbuf_reset(&b);
    brr_jbuf_str(&b, "q\"b\\s/\n\r\t\x01\x1f\x7f");
    assert_string_equal(brr_jbuf_cstr(&b),
                        "\"q\\\"b\\\\s/\\n\\r\\t\\u0001\\u001f\x7f\"");
    s = json_string_of(&b);
    assert_string_equal(s, "q\"b\\s/\n\r\t\x01\x1f\x7f");
    free(s);
    brr_jbuf_reset(&b);
    brr_jbuf_str(&b, NULL);
    assert_string_equal(brr_jbuf_cstr(&b), "null");
    brr_jbuf_reset(&b);
    brr_jbuf_str(&b, "");
    assert_string_equal(brr_jbuf_cstr(&b), "\"\"");
    brr_jbuf_free(&b);
}

static void test_jbuf_utf8_passes_through(void **state)
{
    /* 2, 3 and 4 byte sequences: é, €, U+1F600 */
    static const char s[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    brr_jbuf_t b;
    char *back;
    (void)state;
    brr_jbuf_init(&b);
    brr_jbuf_str(&b, s);
    assert_int_equal(b.len, strlen(s) + 2);
    back = json_string_of(&b);
    assert_string_equal(back, s);
    free(back);
    brr_jbuf_free(&b);
}

static void test_jbuf_bytes_that_are_not_utf8_become_replacement(void **state)
{
    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } cases[] = {
        {"a\xff"
         "b",
         3, "\"a\\ufffdb\""},                  /* never in UTF-8 */
        {"\xc3", 1, "\"\\ufffd\""},            /* cut short at the end */
        {"\xc3(", 2, "\"\\ufffd(\""},          /* bad continuation */
        {"\xc0\xaf", 2, "\"\\ufffd\\ufffd\""}, /* overlong '/' */
        {"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""}, /* surrogate */
        {"\xf4\x90\x80\x80", 4,
         "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* above U+10FFFF */
        {"a\0b", 3, "\"a\\ufffdb\""},         /* NUL: jsonb refuses \u0000 */
    };
    brr_jbuf_t b;
    (void)state;
    brr_jbuf_init(&b);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *v;
        brr_jbuf_reset(&b);
        brr_jbuf_strn(&b, cases[i].in, cases[i].n);
        assert_string_equal(brr_jbuf_cstr(&b), cases[i].want);
        v = json_loads(b.p, JSON_DECODE_ANY, NULL);
        assert_non_null(v); /* always valid JSON */
        json_decref(v);
    }
    brr_jbuf_free(&b);
}

static void test_jbuf_integers_at_the_limits(void **state)
{
    brr_jbuf_t b;
    (void)state;
    brr_jbuf_init(&b);
    brr_jbuf_int(&b, 0);
    brr_jbuf_putc(&b, ',');
    brr_jbuf_int(&b, -1);
    brr_jbuf_putc(&b, ',');
    brr_jbuf_int(&b, 1000000000);
    brr_jbuf_putc(&b, ',');
    brr_jbuf_int(&b, INT64_MAX);
    brr_jbuf_putc(&b, ',');
    brr_jbuf_int(&b, INT64_MIN);
    assert_string_equal(brr_jbuf_cstr(&b),
                        "0,-1,1000000000,9223372036854775807,"
                        "-9223372036854775808");
    brr_jbuf_free(&b);
}

static void test_jbuf_hex_extend_and_unput(void **state)
{
    static const unsigned char d[] = {0x00, 0x0f, 0xa5, 0xff};
    brr_jbuf_t b;
    char *at;
    (void)state;
    brr_jbuf_init(&b);
    brr_jbuf_hex(&b, d, sizeof(d));
    assert_string_equal(brr_jbuf_cstr(&b), "000fa5ff");
    at = brr_jbuf_extend(&b, 3);
    memcpy(at, "xyz", 3);
    assert_string_equal(brr_jbuf_cstr(&b), "000fa5ffxyz");
    brr_jbuf_putc(&b, ',');
    brr_jbuf_unput(&b, ',');
    brr_jbuf_unput(&b, ','); /* only a trailing ',' goes */
    assert_string_equal(brr_jbuf_cstr(&b), "000fa5ffxyz");
    brr_jbuf_free(&b);
}

static void test_jbuf_grows_and_reset_keeps_the_memory(void **state)
{
    brr_jbuf_t b;
    char big[5000];
    size_t cap;
    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    brr_jbuf_init(&b);
    for (int i = 0; i < 10; i++)
        brr_jbuf_puts(&b, big);
    assert_int_equal(b.len, 10 * (sizeof(big) - 1));
    assert_int_equal(strlen(brr_jbuf_cstr(&b)), b.len);
    cap = b.cap;
    brr_jbuf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_string_equal(brr_jbuf_cstr(&b), "");
    brr_jbuf_free(&b);
}

static void test_jbuf_members_and_objects(void **state)
{
    brr_jbuf_t b;
    (void)state;
    brr_jbuf_init(&b);
    brr_jbuf_putc(&b, '[');
    for (int i = 0; i < 2; i++) {
        brr_jbuf_putc(&b, '{');
        brr_jbuf_member_int(&b, "n", i - 1);
        brr_jbuf_member_str(&b, "s", i ? "a\"b" : NULL);
        brr_jbuf_member_bool(&b, "b", i);
        brr_jbuf_key(&b, "o");
        brr_jbuf_putc(&b, '{');
        brr_jbuf_end_object(&b); /* empty: nothing to drop */
        brr_jbuf_end_object(&b);
    }
    brr_jbuf_unput(&b, ',');
    brr_jbuf_putc(&b, ']');
    assert_string_equal(brr_jbuf_cstr(&b),
                        "[{\"n\":-1,\"s\":null,\"b\":false,\"o\":{}},"
                        "{\"n\":0,\"s\":\"a\\\"b\",\"b\":true,\"o\":{}}]");
    brr_jbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jbuf_empty_buffer_is_an_empty_string),
        cmocka_unit_test(test_jbuf_plain_and_escaped_strings),
        cmocka_unit_test(test_jbuf_utf8_passes_through),
        cmocka_unit_test(test_jbuf_bytes_that_are_not_utf8_become_replacement),
        cmocka_unit_test(test_jbuf_integers_at_the_limits),
        cmocka_unit_test(test_jbuf_hex_extend_and_unput),
        cmocka_unit_test(test_jbuf_grows_and_reset_keeps_the_memory),
        cmocka_unit_test(test_jbuf_members_and_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
