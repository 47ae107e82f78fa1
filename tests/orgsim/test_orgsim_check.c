/*
 * test_orgsim_check.c: the organisation simulator's pure checks (BSN scan,
 * Standard Webhooks signature and timestamp, CloudEvent shape).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "orgsim.h"

#define S(lit) lit, sizeof(lit) - 1

/* 111222333 passes the elfproef (9+8+7+12+10+8+12+9-... = 0 mod 11). */
static void test_orgsim_bsn_found_when_standalone(void **state)
{
    (void)state;
    assert_true(orgsim_has_bsn(S("111222333")));
    assert_true(orgsim_has_bsn(S("{\"bsn\":\"111222333\"}")));
    assert_true(orgsim_has_bsn(S("{\"x\":111222333}")));
    assert_true(orgsim_has_bsn(S("bsn 123456782 here")));
}

static void test_orgsim_bsn_not_found_in_other_numbers(void **state)
{
    (void)state;
    assert_false(orgsim_has_bsn(S("111222334")));  /* fails elfproef */
    assert_false(orgsim_has_bsn(S("1112223330"))); /* 10 digits */
    assert_false(orgsim_has_bsn(S("11122233")));   /* 8 digits */
    assert_false(orgsim_has_bsn(S("000000000")));  /* all zeros */
    assert_false(orgsim_has_bsn(S("a111222333"))); /* inside a token */
    assert_false(orgsim_has_bsn(S("111222333f")));
    assert_false(orgsim_has_bsn(S("0190a1b2-c3d4-7e5f-8a9b-111222333abc")));
    assert_false(orgsim_has_bsn(S("")));
    /* The scan must stop at len: the BSN lies past it. */
    assert_false(orgsim_has_bsn("x 111222333", 5));
}

static void test_orgsim_secret_whsec_is_base64(void **state)
{
    unsigned char *key;
    size_t len;

    (void)state;
    /* "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" is the Standard Webhooks example
     * secret body: 24 bytes. */
    assert_int_equal(orgsim_secret_decode(
                         "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &key, &len),
                     0);
    assert_int_equal(len, 24);
    assert_int_equal(key[0], 0x31);
    free(key);
    assert_int_equal(orgsim_secret_decode("whsec_YWI=", &key, &len), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(key, "ab", 2);
    free(key);
    assert_int_equal(orgsim_secret_decode("plain", &key, &len), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(key, "plain", 5);
    free(key);
    assert_int_equal(orgsim_secret_decode("whsec_abc", &key, &len), BRR_EPARSE);
}

/* The Standard Webhooks specification's own test vector. */
static void test_orgsim_signature_matches_spec_vector(void **state)
{
    unsigned char *key;
    size_t len;
    const char *id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const char *ts = "1614265330";
    const char *body = "{\"test\": 2432232314}";
    const char *want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    char sig[48];

    (void)state;
    assert_int_equal(orgsim_secret_decode(
                         "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &key, &len),
                     0);
    assert_int_equal(
        orgsim_signature_make(key, len, id, ts, body, strlen(body), sig),
        strlen(want));
    assert_string_equal(sig, want);
    assert_int_equal(orgsim_signature_ok(key, len, id, strlen(id), ts,
                                         strlen(ts), body, strlen(body), want,
                                         strlen(want)),
                     0);
    free(key);
}

static void test_orgsim_signature_any_of_several(void **state)
{
    const unsigned char key[] = "secret";
    char good[48], hdr[160];
    const char *body = "{}";

    (void)state;
    orgsim_signature_make(key, 6, "id1", "100", body, 2, good);
    snprintf(hdr, sizeof(hdr), "v1,AAAA %s v2,zzz", good);
    assert_int_equal(orgsim_signature_ok(key, 6, S("id1"), S("100"), body, 2,
                                         hdr, strlen(hdr)),
                     0);
    /* Wrong body, id, timestamp or key: refused. */
    assert_int_equal(orgsim_signature_ok(key, 6, S("id1"), S("100"), "{ }", 3,
                                         hdr, strlen(hdr)),
                     BRR_EREFUSED);
    assert_int_equal(orgsim_signature_ok(key, 6, S("id2"), S("100"), body, 2,
                                         hdr, strlen(hdr)),
                     BRR_EREFUSED);
    assert_int_equal(orgsim_signature_ok(key, 6, S("id1"), S("101"), body, 2,
                                         hdr, strlen(hdr)),
                     BRR_EREFUSED);
    assert_int_equal(orgsim_signature_ok(key, 5, S("id1"), S("100"), body, 2,
                                         hdr, strlen(hdr)),
                     BRR_EREFUSED);
    /* The right MAC under another version tag does not count. */
    snprintf(hdr, sizeof(hdr), "v2,%s", good + 3);
    assert_int_equal(orgsim_signature_ok(key, 6, S("id1"), S("100"), body, 2,
                                         hdr, strlen(hdr)),
                     BRR_EREFUSED);
    assert_int_equal(
        orgsim_signature_ok(key, 6, S("id1"), S("100"), body, 2, "", 0),
        BRR_EREFUSED);
}

static void test_orgsim_timestamp_window(void **state)
{
    (void)state;
    assert_true(orgsim_timestamp_ok(S("1000"), 1000, 300));
    assert_true(orgsim_timestamp_ok(S("1300"), 1000, 300));
    assert_true(orgsim_timestamp_ok(S("700"), 1000, 300));
    assert_false(orgsim_timestamp_ok(S("1301"), 1000, 300));
    assert_false(orgsim_timestamp_ok(S("699"), 1000, 300));
    assert_false(orgsim_timestamp_ok(S(""), 1000, 300));
    assert_false(orgsim_timestamp_ok(S("10x0"), 1000, 300));
    assert_false(orgsim_timestamp_ok(S("-1000"), 1000, 300));
}

static const char good_event[] =
    "{\"specversion\":\"1.0\","
    "\"id\":\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\","
    "\"source\":\"urn:nld:oin:00000001234567890000:systeem:"
    "betalingsregeling\","
    "\"type\":\"nl.rijksoverheid.brr.arrangement.updated\","
    "\"subject\":\"arr-42\",\"sequence\":7,"
    "\"datacontenttype\":\"application/"
    "json\",\"data\":{\"status\":\"active\"}}";

static void test_orgsim_event_parses_fields(void **state)
{
    orgsim_event_t ev;
    char why[128];

    (void)state;
    assert_int_equal(orgsim_event_parse(S(good_event), &ev, why, sizeof(why)),
                     0);
    assert_string_equal(ev.id, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    assert_string_equal(ev.subject, "arr-42");
    assert_string_equal(ev.type, "nl.rijksoverheid.brr.arrangement.updated");
    assert_int_equal(ev.sequence, 7);
}

static void expect_bad(const char *json, const char *reason)
{
    orgsim_event_t ev;
    char why[128] = "";

    assert_int_equal(
        orgsim_event_parse(json, strlen(json), &ev, why, sizeof(why)),
        BRR_EPARSE);
    assert_non_null(strstr(why, reason));
}

static void test_orgsim_event_rejects_bad_shapes(void **state)
{
    orgsim_event_t ev;
    char why[128];
    const char *seqstr =
        "{\"specversion\":\"1.0\",\"id\":\"0190a1b2-c3d4-7e5f-8a9b-"
        "0c1d2e3f4a5b\",\"source\":\"s\",\"type\":\"t\",\"subject\":\"a\","
        "\"sequence\":\"00012\",\"data\":{}}";

    (void)state;
    assert_int_equal(
        orgsim_event_parse(seqstr, strlen(seqstr), &ev, why, sizeof(why)), 0);
    assert_int_equal(ev.sequence, 12);

    expect_bad("[1]", "json object");
    expect_bad("{\"specversion\":\"0.3\"}", "specversion");
    expect_bad("{\"specversion\":\"1.0\",\"id\":\"x\"}", "uuid");
    expect_bad("{\"specversion\":\"1.0\",\"id\":\"0190a1b2-c3d4-7e5f-8a9b-"
               "0c1d2e3f4a5b\",\"source\":\"s\",\"type\":\"t\"}",
               "subject");
    expect_bad("{\"specversion\":\"1.0\",\"id\":\"0190a1b2-c3d4-7e5f-8a9b-"
               "0c1d2e3f4a5b\",\"source\":\"s\",\"type\":\"t\","
               "\"subject\":\"a\",\"sequence\":-1,\"data\":{}}",
               "sequence");
    expect_bad("{\"specversion\":\"1.0\",\"id\":\"0190a1b2-c3d4-7e5f-8a9b-"
               "0c1d2e3f4a5b\",\"source\":\"s\",\"type\":\"t\","
               "\"subject\":\"a\",\"sequence\":1,\"data\":\"x\"}",
               "data");
    expect_bad("{\"specversion\":\"1.0\",\"specversion\":\"1.0\"}",
               "invalid json");
    expect_bad("{", "invalid json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orgsim_bsn_found_when_standalone),
        cmocka_unit_test(test_orgsim_bsn_not_found_in_other_numbers),
        cmocka_unit_test(test_orgsim_secret_whsec_is_base64),
        cmocka_unit_test(test_orgsim_signature_matches_spec_vector),
        cmocka_unit_test(test_orgsim_signature_any_of_several),
        cmocka_unit_test(test_orgsim_timestamp_window),
        cmocka_unit_test(test_orgsim_event_parses_fields),
        cmocka_unit_test(test_orgsim_event_rejects_bad_shapes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
