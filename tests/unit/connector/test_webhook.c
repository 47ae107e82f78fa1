/* Tests for services/connector/webhook.c: Standard Webhooks signatures
 * against known vectors, whsec_ secrets, rotation and verification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "webhook.h"

/* The example of the Standard Webhooks specification and its reference
 * libraries. */
#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS 1614265330
#define SW_BODY "{\"test\": 2432232314}"
#define SW_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* Computed once with
 *   printf '%s' "$ID.1700000000.$BODY" |
 *     openssl dgst -sha256 -hmac brr-test-secret -binary | base64 */
#define OWN_ID "01890a5d-ac96-774b-bcce-b302099a8057"
#define OWN_TS 1700000000
#define OWN_BODY "{\"a\":1}"
#define OWN_SIG "v1,CM4PWDBNExNQtbXl77kyDDpRMbR3nT9KSmh6yNmlozA="
#define NEXT_SIG "v1,IiKjWvWnH5TcyNmyi2nMRdpPdb531+lNlHPmufRH68Q="

static void test_sign_matches_standard_webhooks_example(void **state)
{
    conn_webhook_secret_t s;
    char out[CONN_WEBHOOK_HEADER_MAX];

    assert_int_equal(conn_webhook_secret_parse(&s, SW_SECRET), 0);
    assert_int_equal(conn_webhook_sign(&s, 1, SW_ID, SW_TS, SW_BODY,
                                       strlen(SW_BODY), out, sizeof(out)),
                     0);
    assert_string_equal(out, SW_SIG);
}

static void test_sign_matches_openssl_dgst_vector(void **state)
{
    conn_webhook_secret_t s;
    char out[CONN_WEBHOOK_HEADER_MAX];

    assert_int_equal(conn_webhook_secret_parse(&s, "brr-test-secret"), 0);
    assert_int_equal(s.len, strlen("brr-test-secret"));
    assert_int_equal(conn_webhook_sign(&s, 1, OWN_ID, OWN_TS, OWN_BODY,
                                       strlen(OWN_BODY), out, sizeof(out)),
                     0);
    assert_string_equal(out, OWN_SIG);
}

static void test_rotation_gives_two_signatures_current_first(void **state)
{
    conn_webhook_secret_t s[2];
    char out[CONN_WEBHOOK_HEADER_MAX];

    assert_int_equal(conn_webhook_secret_parse(&s[0], "brr-test-secret"), 0);
    assert_int_equal(conn_webhook_secret_raw(&s[1], "brr-next-secret", 15), 0);
    assert_int_equal(conn_webhook_sign(s, 2, OWN_ID, OWN_TS, OWN_BODY,
                                       strlen(OWN_BODY), out, sizeof(out)),
                     0);
    assert_string_equal(out, OWN_SIG " " NEXT_SIG);
}

static void test_whsec_is_base64_decoded(void **state)
{
    static const uint8_t sw_key[] = {
        0x31, 0xf2, 0x90, 0xf6, 0xbf, 0x06, 0x29, 0x8a, 0xab, 0x4f, 0x08, 0xd4,
        0x3c, 0x3f, 0x08, 0x2c, 0xf6, 0x48, 0xa3, 0x62, 0xda, 0x2d, 0xa4, 0xb0};
    conn_webhook_secret_t s;

    assert_int_equal(conn_webhook_secret_parse(&s, SW_SECRET), 0);
    assert_int_equal(s.len, sizeof(sw_key));
    assert_memory_equal(s.key, sw_key, sizeof(sw_key));
    assert_int_equal(conn_webhook_secret_parse(&s, "whsec_YWJj"), 0);
    assert_int_equal(s.len, 3);
    assert_memory_equal(s.key, "abc", 3);
    assert_int_equal(conn_webhook_secret_parse(&s, "whsec_YWI="), 0);
    assert_int_equal(s.len, 2);
    assert_memory_equal(s.key, "ab", 2);
    /* padding is optional */
    assert_int_equal(conn_webhook_secret_parse(&s, "whsec_YWI"), 0);
    assert_int_equal(s.len, 2);
}

static void test_bad_secrets_are_refused(void **state)
{
    conn_webhook_secret_t s;
    char long_b64[200];

    assert_int_equal(conn_webhook_secret_parse(&s, ""), BRR_EINVAL);
    assert_int_equal(conn_webhook_secret_parse(&s, NULL), BRR_EINVAL);
    assert_int_equal(conn_webhook_secret_parse(&s, "whsec_"), BRR_EINVAL);
    assert_int_equal(conn_webhook_secret_parse(&s, "whsec_Y"), BRR_EPARSE);
    assert_int_equal(conn_webhook_secret_parse(&s, "whsec_YW*j"), BRR_EPARSE);
    assert_int_equal(conn_webhook_secret_parse(&s, "whsec_YW==="), BRR_EPARSE);
    /* 96 base64 characters = 72 bytes, above the 64-byte maximum */
    memset(long_b64, 'A', 96);
    memcpy(long_b64, "whsec_", 6);
    memset(long_b64 + 6, 'A', 96);
    long_b64[102] = '\0';
    assert_int_equal(conn_webhook_secret_parse(&s, long_b64), BRR_EINVAL);
    assert_int_equal(conn_webhook_secret_raw(&s, "x", 0), BRR_EINVAL);
    assert_int_equal(conn_webhook_secret_raw(&s, long_b64, 65), BRR_EINVAL);
}

static void test_sign_checks_arguments(void **state)
{
    conn_webhook_secret_t s[3];
    char out[CONN_WEBHOOK_HEADER_MAX];

    for (int i = 0; i < 3; i++)
        conn_webhook_secret_raw(&s[i], "k", 1);
    assert_int_equal(conn_webhook_sign(s, 0, "id", 1, "b", 1, out, sizeof(out)),
                     BRR_EINVAL);
    assert_int_equal(conn_webhook_sign(s, 3, "id", 1, "b", 1, out, sizeof(out)),
                     BRR_EINVAL);
    assert_int_equal(conn_webhook_sign(s, 1, NULL, 1, "b", 1, out, sizeof(out)),
                     BRR_EINVAL);
    assert_int_equal(conn_webhook_sign(s, 1, "id", 1, "b", 1, out, 10),
                     BRR_ERANGE);
    assert_int_equal(
        conn_webhook_sign(s, 2, "id", 1, "b", 1, out, CONN_WEBHOOK_SIG_LEN + 1),
        BRR_ERANGE);
    /* an empty body is signed too */
    assert_int_equal(
        conn_webhook_sign(s, 1, "id", 1, NULL, 0, out, sizeof(out)), 0);
    assert_int_equal(strlen(out), CONN_WEBHOOK_SIG_LEN);
}

static void test_verify_accepts_the_standard_webhooks_example(void **state)
{
    conn_webhook_secret_t s;

    conn_webhook_secret_parse(&s, SW_SECRET);
    assert_int_equal(conn_webhook_verify(&s, 1, SW_ID, "1614265330", SW_BODY,
                                         strlen(SW_BODY), SW_SIG, SW_TS, 0),
                     0);
    /* with other entries around it, as the spec allows */
    assert_int_equal(conn_webhook_verify(
                         &s, 1, SW_ID, "1614265330", SW_BODY, strlen(SW_BODY),
                         "v1a,AAAA v1,bm90IGl0 " SW_SIG, SW_TS, 0),
                     0);
}

static void test_verify_detects_tampering(void **state)
{
    conn_webhook_secret_t s, other;
    const char *tampered = "{\"test\": 2432232315}";

    conn_webhook_secret_parse(&s, SW_SECRET);
    conn_webhook_secret_parse(&other, "some-other-secret");
    assert_int_equal(conn_webhook_verify(&s, 1, SW_ID, "1614265330", tampered,
                                         strlen(tampered), SW_SIG, SW_TS, 0),
                     BRR_ECRYPTO);
    assert_int_equal(conn_webhook_verify(&s, 1, "msg_other", "1614265330",
                                         SW_BODY, strlen(SW_BODY), SW_SIG,
                                         SW_TS, 0),
                     BRR_ECRYPTO);
    assert_int_equal(conn_webhook_verify(&other, 1, SW_ID, "1614265330",
                                         SW_BODY, strlen(SW_BODY), SW_SIG,
                                         SW_TS, 0),
                     BRR_ECRYPTO);
    /* right signature under the wrong version label */
    assert_int_equal(conn_webhook_verify(&s, 1, SW_ID, "1614265330", SW_BODY,
                                         strlen(SW_BODY),
                                         "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJ"
                                         "ELVlNIOLJ1OE=",
                                         SW_TS, 0),
                     BRR_ECRYPTO);
    assert_int_equal(conn_webhook_verify(&s, 1, SW_ID, "1614265330", SW_BODY,
                                         strlen(SW_BODY), "", SW_TS, 0),
                     BRR_ECRYPTO);
}

static void test_verify_enforces_the_timestamp_window(void **state)
{
    conn_webhook_secret_t s;

    conn_webhook_secret_parse(&s, SW_SECRET);
    assert_int_equal(conn_webhook_verify(&s, 1, SW_ID, "1614265330", SW_BODY,
                                         strlen(SW_BODY), SW_SIG, SW_TS + 300,
                                         0),
                     0);
    assert_int_equal(conn_webhook_verify(&s, 1, SW_ID, "1614265330", SW_BODY,
                                         strlen(SW_BODY), SW_SIG, SW_TS + 301,
                                         0),
                     BRR_ERANGE);
    assert_int_equal(conn_webhook_verify(&s, 1, SW_ID, "1614265330", SW_BODY,
                                         strlen(SW_BODY), SW_SIG, SW_TS - 301,
                                         0),
                     BRR_ERANGE);
    assert_int_equal(conn_webhook_verify(&s, 1, SW_ID, "1614265330", SW_BODY,
                                         strlen(SW_BODY), SW_SIG, SW_TS + 3000,
                                         3600),
                     0);
    assert_int_equal(conn_webhook_verify(&s, 1, SW_ID, "16142653x0", SW_BODY,
                                         strlen(SW_BODY), SW_SIG, SW_TS, 0),
                     BRR_EPARSE);
    assert_int_equal(conn_webhook_verify(&s, 1, SW_ID, "", SW_BODY,
                                         strlen(SW_BODY), SW_SIG, SW_TS, 0),
                     BRR_EPARSE);
}

static void test_rotated_header_verifies_with_either_secret(void **state)
{
    conn_webhook_secret_t s[2];
    char out[CONN_WEBHOOK_HEADER_MAX];

    conn_webhook_secret_parse(&s[0], "old-secret");
    conn_webhook_secret_parse(&s[1], "whsec_bmV3LXNlY3JldA==");
    assert_int_equal(conn_webhook_sign(s, 2, OWN_ID, OWN_TS, OWN_BODY,
                                       strlen(OWN_BODY), out, sizeof(out)),
                     0);
    assert_int_equal(conn_webhook_verify(&s[0], 1, OWN_ID, "1700000000",
                                         OWN_BODY, strlen(OWN_BODY), out,
                                         OWN_TS, 0),
                     0);
    assert_int_equal(conn_webhook_verify(&s[1], 1, OWN_ID, "1700000000",
                                         OWN_BODY, strlen(OWN_BODY), out,
                                         OWN_TS, 0),
                     0);
    /* a receiver holding both secrets accepts a single signature too */
    out[CONN_WEBHOOK_SIG_LEN] = '\0';
    assert_int_equal(conn_webhook_verify(s, 2, OWN_ID, "1700000000", OWN_BODY,
                                         strlen(OWN_BODY), out, OWN_TS, 0),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_matches_standard_webhooks_example),
        cmocka_unit_test(test_sign_matches_openssl_dgst_vector),
        cmocka_unit_test(test_rotation_gives_two_signatures_current_first),
        cmocka_unit_test(test_whsec_is_base64_decoded),
        cmocka_unit_test(test_bad_secrets_are_refused),
        cmocka_unit_test(test_sign_checks_arguments),
        cmocka_unit_test(test_verify_accepts_the_standard_webhooks_example),
        cmocka_unit_test(test_verify_detects_tampering),
        cmocka_unit_test(test_verify_enforces_the_timestamp_window),
        cmocka_unit_test(test_rotated_header_verifies_with_either_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
