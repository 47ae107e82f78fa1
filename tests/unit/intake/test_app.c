/*
 * test_app.c: the application request of POST /v1/applications
 * (services/intake/app.c): every validation rule of DOMAIN.md §7 and issue
 * 7 at its boundaries, unknown fields, all errors reported together, and
 * what may and may not leave the request (the public body never carries
 * the BSN, contact details or IBAN).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "intake.h"

#define TODAY "2025-03-10"
#define CLAIM                                                                  \
    "{\"organisation\":\"CJIB\",\"reference\":\"R1\",\"open_cents\":5000}"

static intake_app_t app;

static int known(void *arg, const char *code)
{
    (void)arg;
    return strcmp(code, "CJIB") == 0 || strcmp(code, "DUO") == 0 ||
           strcmp(code, "BELASTINGDIENST") == 0;
}

static int parse_raw(const char *body)
{
    return intake_app_parse(body, strlen(body), "CJIB", TODAY, known, NULL,
                            &app);
}

/* parse_raw, but an object that does not mention "consent" gets
 * "consent":true first, so each test names only what it is about
 * (test_consent_is_required_and_must_be_true uses parse_raw). */
static int parse(const char *body)
{
    static char with[70000];
    if (body[0] == '{' && strstr(body, "\"consent\"") == NULL &&
        strlen(body) + 16 < sizeof(with)) {
        snprintf(with, sizeof(with), "{\"consent\":true%s%s",
                 body[1] == '}' ? "" : ",", body + 1);
        return parse_raw(with);
    }
    return parse_raw(body);
}

/* A standard application with extra top-level members (may be ""). */
static int parse_with(const char *extra)
{
    char body[8192];
    snprintf(body, sizeof(body),
             "{\"bsn\":\"999996708\",\"kind\":\"standard\",\"claims\":[" CLAIM
             "]%s%s}",
             extra[0] ? "," : "", extra);
    return parse(body);
}

static int parse_maatwerk(const char *extra)
{
    char body[8192];
    snprintf(body, sizeof(body),
             "{\"bsn\":\"999996708\",\"kind\":\"maatwerk\",\"claims\":[" CLAIM
             "]%s%s}",
             extra[0] ? "," : "", extra);
    return parse(body);
}

static int has_error(const char *field)
{
    for (size_t i = 0; i < app.nerrors; i++)
        if (strcmp(app.errors[i].field, field) == 0)
            return 1;
    return 0;
}

/* The body is refused with exactly one error, on field. */
static void assert_only_error(int rc, const char *field)
{
    if (rc != BRR_EINVAL || app.nerrors != 1 || !has_error(field)) {
        for (size_t i = 0; i < app.nerrors; i++)
            print_error("  %s: %s\n", app.errors[i].field,
                        app.errors[i].detail);
        fail_msg("expected only an error on %s (rc %d, %zu errors)", field, rc,
                 app.nerrors);
    }
}

static void test_minimal_standard_application_is_valid(void **state)
{
    (void)state;
    assert_int_equal(parse_with(""), 0);
    assert_string_equal(app.bsn, "999996708");
    assert_int_equal(app.maatwerk, 0);
    assert_int_equal(app.nclaims, 1);
    assert_string_equal(app.claims[0].organisation, "CJIB");
    assert_int_equal(app.claims[0].open_cents, 5000);
    assert_int_equal(app.due_day, 1);
    assert_string_equal(app.reference_date, TODAY);
    assert_int_equal(app.consent, 1);
    assert_null(intake_app_personal_json(&app));
}

static void test_bsn_rules(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"bsn\":\"111222333\",\"kind\":\"standard\","
                           "\"claims\":[" CLAIM "]}"),
                     0);
    assert_int_equal(parse("{\"bsn\":\"12345678\",\"kind\":\"standard\","
                           "\"claims\":[" CLAIM "]}"),
                     BRR_EINVAL); /* 012345678 fails the elfproef */
    assert_only_error(parse("{\"bsn\":\"123456789\",\"kind\":\"standard\","
                            "\"claims\":[" CLAIM "]}"),
                      "bsn");
    assert_only_error(parse("{\"bsn\":\"000000000\",\"kind\":\"standard\","
                            "\"claims\":[" CLAIM "]}"),
                      "bsn");
    assert_only_error(parse("{\"bsn\":999996708,\"kind\":\"standard\","
                            "\"claims\":[" CLAIM "]}"),
                      "bsn");
    assert_only_error(parse("{\"bsn\":\"9999967080\",\"kind\":\"standard\","
                            "\"claims\":[" CLAIM "]}"),
                      "bsn");
    assert_only_error(parse("{\"kind\":\"standard\",\"claims\":[" CLAIM "]}"),
                      "bsn");
}

static void test_eight_digit_bsn_is_left_padded(void **state)
{
    /* 12345672 -> 012345672: 0*9+1*8+2*7+3*6+4*5+5*4+6*3+7*2-2 = 110 */
    (void)state;
    assert_int_equal(parse("{\"bsn\":\"12345672\",\"kind\":\"standard\","
                           "\"claims\":[" CLAIM "]}"),
                     0);
    assert_string_equal(app.bsn, "012345672");
}

static void test_kind_and_channel(void **state)
{
    (void)state;
    assert_only_error(parse("{\"bsn\":\"999996708\",\"kind\":\"other\","
                            "\"claims\":[" CLAIM "]}"),
                      "kind");
    assert_only_error(parse("{\"bsn\":\"999996708\",\"claims\":[" CLAIM "]}"),
                      "kind");
    assert_int_equal(parse_with("\"channel\":\"CJIB\""), 0);
    assert_only_error(parse_with("\"channel\":\"BELASTINGDIENST\""), "channel");
    assert_only_error(parse_with("\"channel\":1"), "channel");
}

static void test_unknown_fields_are_refused_at_every_level(void **state)
{
    (void)state;
    assert_only_error(parse_with("\"iban\":\"NL91ABNA0417164300\""), "iban");
    assert_only_error(
        parse("{\"bsn\":\"999996708\",\"kind\":\"standard\",\"claims\":[{"
              "\"organisation\":\"CJIB\",\"reference\":\"R1\","
              "\"open_cents\":5000,\"interest_cents\":1}]}"),
        "claims[0].interest_cents");
    assert_only_error(parse_with("\"contact\":{\"fax\":\"0301234567\"}"),
                      "contact.fax");
    assert_only_error(
        parse_with("\"contact\":{\"address\":{\"street\":\"A\","
                   "\"house_number\":1,\"postcode\":\"1234AB\",\"city\":"
                   "\"B\",\"country\":\"NL\"}}"),
        "contact.address.country");
    assert_only_error(
        parse_with("\"refund_account\":{\"iban\":\"NL91ABNA0417164300\","
                   "\"account_holder\":\"J\",\"bic\":\"ABNANL2A\"}"),
        "refund_account.bic");
}

static void test_body_must_be_one_json_object(void **state)
{
    (void)state;
    assert_int_equal(parse("not json"), BRR_EPARSE);
    assert_only_error(BRR_EINVAL, "body");
    assert_int_equal(parse("[1,2]"), BRR_EPARSE);
    assert_int_equal(parse(""), BRR_EPARSE);
    /* duplicate keys would let two readers see two applications */
    assert_int_equal(parse("{\"bsn\":\"999996708\",\"bsn\":\"111222333\","
                           "\"kind\":\"standard\",\"claims\":[" CLAIM "]}"),
                     BRR_EPARSE);
    /* a NUL inside a string */
    assert_int_equal(parse("{\"bsn\":\"99999\\u00006708\"}"), BRR_EPARSE);
}

static void test_claims_rules(void **state)
{
    char body[65536], *p;
    (void)state;
    assert_only_error(parse("{\"bsn\":\"999996708\",\"kind\":\"standard\"}"),
                      "claims");
    assert_only_error(parse("{\"bsn\":\"999996708\",\"kind\":\"standard\","
                            "\"claims\":[]}"),
                      "claims");
    assert_only_error(parse("{\"bsn\":\"999996708\",\"kind\":\"standard\","
                            "\"claims\":{}}"),
                      "claims");
    assert_only_error(parse("{\"bsn\":\"999996708\",\"kind\":\"standard\","
                            "\"claims\":[1]}"),
                      "claims[0]");
    /* 100 claims are fine, 101 are not */
    for (int n = 100; n <= 101; n++) {
        p = body + sprintf(body, "{\"bsn\":\"999996708\",\"kind\":"
                                 "\"standard\",\"claims\":[");
        for (int i = 0; i < n; i++)
            p += sprintf(p,
                         "%s{\"organisation\":\"CJIB\",\"reference\":\"R%d\","
                         "\"open_cents\":100}",
                         i ? "," : "", i);
        sprintf(p, "]}");
        if (n == 100) {
            assert_int_equal(parse(body), 0);
            assert_int_equal(app.nclaims, 100);
        } else {
            assert_only_error(parse(body), "claims");
        }
    }
}

static void claim(const char *members, const char *field)
{
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"bsn\":\"999996708\",\"kind\":\"standard\",\"claims\":[{%s}]}",
             members);
    if (field == NULL)
        assert_int_equal(parse(body), 0);
    else
        assert_only_error(parse(body), field);
}

static void test_claim_fields(void **state)
{
    char ref[80];
    (void)state;
    claim("\"organisation\":\"DUO\",\"reference\":\"x\",\"open_cents\":1",
          NULL);
    claim("\"organisation\":\"NOPE\",\"reference\":\"x\",\"open_cents\":1",
          "claims[0].organisation");
    claim("\"organisation\":\"cjib\",\"reference\":\"x\",\"open_cents\":1",
          "claims[0].organisation");
    claim("\"reference\":\"x\",\"open_cents\":1", "claims[0].organisation");
    claim("\"organisation\":\"CJIB\",\"open_cents\":1", "claims[0].reference");
    claim("\"organisation\":\"CJIB\",\"reference\":\"\",\"open_cents\":1",
          "claims[0].reference");
    /* The reference is sent on to other services: never with the BSN. */
    claim("\"organisation\":\"CJIB\",\"reference\":\"B999996708-1\","
          "\"open_cents\":1",
          "claims[0].reference");
    claim("\"organisation\":\"CJIB\",\"reference\":\"a\\nb\","
          "\"open_cents\":1",
          "claims[0].reference");
    memset(ref, 'r', 64);
    ref[64] = '\0';
    {
        char m[256];
        snprintf(m, sizeof(m),
                 "\"organisation\":\"CJIB\",\"reference\":\"%s\","
                 "\"open_cents\":1",
                 ref);
        claim(m, NULL);
        snprintf(m, sizeof(m),
                 "\"organisation\":\"CJIB\",\"reference\":\"%sr\","
                 "\"open_cents\":1",
                 ref);
        claim(m, "claims[0].reference");
    }
    /* open_cents: 1 .. 10^9, whole numbers only */
    claim("\"organisation\":\"CJIB\",\"reference\":\"x\",\"open_cents\":0",
          "claims[0].open_cents");
    claim("\"organisation\":\"CJIB\",\"reference\":\"x\",\"open_cents\":-5",
          "claims[0].open_cents");
    claim("\"organisation\":\"CJIB\",\"reference\":\"x\","
          "\"open_cents\":1000000000",
          NULL);
    claim("\"organisation\":\"CJIB\",\"reference\":\"x\","
          "\"open_cents\":1000000001",
          "claims[0].open_cents");
    claim("\"organisation\":\"CJIB\",\"reference\":\"x\","
          "\"open_cents\":10.5",
          "claims[0].open_cents");
    claim("\"organisation\":\"CJIB\",\"reference\":\"x\","
          "\"open_cents\":\"100\"",
          "claims[0].open_cents");
    claim("\"organisation\":\"CJIB\",\"reference\":\"x\",\"open_cents\":1,"
          "\"due_date\":\"2025-02-30\"",
          "claims[0].due_date");
    claim("\"organisation\":\"CJIB\",\"reference\":\"x\",\"open_cents\":1,"
          "\"due_date\":\"2024-02-29\"",
          NULL);
    assert_string_equal(app.claims[0].due_date, "2024-02-29");
    claim("\"organisation\":\"CJIB\",\"reference\":\"x\",\"open_cents\":1,"
          "\"under_objection\":\"yes\"",
          "claims[0].under_objection");
    claim("\"organisation\":\"CJIB\",\"reference\":\"x\",\"open_cents\":1,"
          "\"under_objection\":true",
          NULL);
    assert_int_equal(app.claims[0].under_objection, 1);
}

static void test_repeated_claim_is_refused(void **state)
{
    (void)state;
    assert_only_error(
        parse("{\"bsn\":\"999996708\",\"kind\":\"standard\",\"claims\":[" CLAIM
              "," CLAIM "]}"),
        "claims[1].reference");
    /* the same reference at another organisation is another claim */
    assert_int_equal(
        parse("{\"bsn\":\"999996708\",\"kind\":\"standard\",\"claims\":[" CLAIM
              ",{\"organisation\":\"DUO\",\"reference\":\"R1\","
              "\"open_cents\":1}]}"),
        0);
}

static void test_instalment_and_due_day_bounds(void **state)
{
    (void)state;
    assert_int_equal(parse_with("\"requested_instalment_cents\":0"), 0);
    assert_int_equal(parse_with("\"requested_instalment_cents\":1000000000"),
                     0);
    assert_only_error(parse_with("\"requested_instalment_cents\":1000000001"),
                      "requested_instalment_cents");
    assert_only_error(parse_with("\"requested_instalment_cents\":-1"),
                      "requested_instalment_cents");
    assert_only_error(parse_with("\"due_day\":0"), "due_day");
    assert_int_equal(parse_with("\"due_day\":1"), 0);
    assert_int_equal(parse_with("\"due_day\":28"), 0);
    assert_int_equal(app.due_day, 28);
    assert_only_error(parse_with("\"due_day\":29"), "due_day");
    assert_only_error(parse_with("\"due_day\":\"5\""), "due_day");
    assert_string_equal(app.errors[0].detail, "must be a whole number");
}

static void test_reference_date_bounds(void **state)
{
    (void)state;
    assert_int_equal(parse_with("\"reference_date\":\"2025-01-01\""), 0);
    assert_string_equal(app.reference_date, "2025-01-01");
    assert_int_equal(parse_with("\"reference_date\":\"2000-01-01\""), 0);
    assert_only_error(parse_with("\"reference_date\":\"1999-12-31\""),
                      "reference_date");
    assert_int_equal(parse_with("\"reference_date\":\"2026-03-10\""), 0);
    assert_only_error(parse_with("\"reference_date\":\"2026-03-11\""),
                      "reference_date");
    assert_only_error(parse_with("\"reference_date\":\"2025-13-01\""),
                      "reference_date");
    assert_only_error(parse_with("\"reference_date\":20250101"),
                      "reference_date");
}

static void test_maatwerk_fields(void **state)
{
    (void)state;
    assert_int_equal(parse_maatwerk("\"household\":\"single\","
                                    "\"net_income_cents\":134545"),
                     0);
    assert_int_equal(app.maatwerk, 1);
    assert_string_equal(app.household, "single");
    assert_int_equal(app.net_income_cents, 134545);
    assert_only_error(parse_maatwerk("\"net_income_cents\":134545"),
                      "household");
    assert_only_error(parse_maatwerk("\"household\":\"student\","
                                     "\"net_income_cents\":1"),
                      "household");
    assert_only_error(parse_maatwerk("\"household\":\"single\""),
                      "net_income_cents");
    assert_only_error(parse_maatwerk("\"household\":\"single\","
                                     "\"net_income_cents\":100000001"),
                      "net_income_cents");
    assert_int_equal(parse_maatwerk("\"household\":\"single\","
                                    "\"net_income_cents\":0"),
                     0);
    /* a partner's income only for couples */
    assert_only_error(parse_maatwerk("\"household\":\"single\","
                                     "\"net_income_cents\":1,"
                                     "\"partner_net_income_cents\":1"),
                      "partner_net_income_cents");
    assert_int_equal(parse_maatwerk("\"household\":\"couple_with_children\","
                                    "\"net_income_cents\":1,"
                                    "\"partner_net_income_cents\":100000000,"
                                    "\"aow_age\":true,"
                                    "\"extra_housing_cents\":25000"),
                     0);
    assert_int_equal(app.aow_age, 1);
    assert_int_equal(app.partner_net_income_cents, 100000000);
    assert_int_equal(app.extra_housing_cents, 25000);
    assert_only_error(parse_maatwerk("\"household\":\"couple\","
                                     "\"net_income_cents\":1,"
                                     "\"extra_housing_cents\":-1"),
                      "extra_housing_cents");
    assert_only_error(parse_maatwerk("\"household\":\"couple\","
                                     "\"net_income_cents\":1,"
                                     "\"aow_age\":1"),
                      "aow_age");
    /* and none of them for the standard arrangement */
    assert_only_error(parse_with("\"household\":\"single\""), "household");
    assert_only_error(parse_with("\"net_income_cents\":1"), "net_income_cents");
    assert_only_error(parse_with("\"aow_age\":false"), "aow_age");
}

static void test_consent_is_required_and_must_be_true(void **state)
{
    (void)state;
    assert_int_equal(parse_with("\"consent\":true"), 0);
    assert_int_equal(app.consent, 1);
    assert_only_error(parse_with("\"consent\":false"), "consent");
    assert_int_equal(app.consent, 0);
    assert_only_error(parse_with("\"consent\":\"yes\""), "consent");
    assert_only_error(parse_with("\"consent\":1"), "consent");
    assert_only_error(parse_with("\"consent\":null"), "consent");
    /* absent is no consent: refused, naming the field */
    assert_only_error(parse_raw("{\"bsn\":\"999996708\",\"kind\":\"standard\","
                                "\"claims\":[" CLAIM "]}"),
                      "consent");
    assert_int_equal(app.consent, 0);
    assert_non_null(strstr(app.errors[0].detail, "required"));
    assert_only_error(
        parse_raw("{\"bsn\":\"999996708\",\"kind\":\"maatwerk\","
                  "\"household\":\"single\",\"net_income_cents\":150000,"
                  "\"claims\":[" CLAIM "]}"),
        "consent");
}

static void test_email_syntax(void **state)
{
    static const char *const good[] = {
        "jan@example.nl", "j.de.vries+brr@sub.example.co.uk", "a@b.nl",
        "O'Brien@Example.COM", "x_y-z@xn--bcher-kva.de"};
    static const char *const bad[] = {"",
                                      "jan",
                                      "jan@",
                                      "@example.nl",
                                      "jan@example",
                                      "jan@@example.nl",
                                      ".jan@example.nl",
                                      "jan.@example.nl",
                                      "ja..n@example.nl",
                                      "jan@-example.nl",
                                      "jan@example-.nl",
                                      "jan@example..nl",
                                      "jan@example.nl.",
                                      "jan@example.n",
                                      "jan@example.123",
                                      "jan doe@example.nl",
                                      "jan@exa mple.nl",
                                      "jan@exam_ple.nl",
                                      "\"jan\"@example.nl",
                                      "jan@[127.0.0.1]"};
    char longlocal[80], longmail[300];
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        if (!intake_email_valid(good[i], strlen(good[i])))
            fail_msg("refused %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (intake_email_valid(bad[i], strlen(bad[i])))
            fail_msg("accepted %s", bad[i]);
    /* local part 64 characters at most, the whole address 254 */
    memset(longlocal, 'a', 65);
    snprintf(longlocal + 64, sizeof(longlocal) - 64, "@x.nl");
    assert_true(intake_email_valid(longlocal, strlen(longlocal)));
    memset(longlocal, 'a', 65);
    snprintf(longlocal + 65, sizeof(longlocal) - 65, "@x.nl");
    assert_false(intake_email_valid(longlocal, strlen(longlocal)));
    memcpy(longmail, "a@", 2);
    {
        size_t n = 2;
        while (n < 248) {
            memcpy(longmail + n, "abcdefghi.", 10);
            n += 10;
        }
        memcpy(longmail + n, "nl", 3); /* 252 + NUL */
        assert_int_equal(strlen(longmail), 254);
        assert_true(intake_email_valid(longmail, strlen(longmail)));
        memcpy(longmail + n, "nlx", 4);
        assert_false(intake_email_valid(longmail, strlen(longmail)));
    }
}

static void test_phone_numbers(void **state)
{
    static const char *const good[][2] = {
        {"0612345678", "+31612345678"},     {"06 12345678", "+31612345678"},
        {"06-1234 5678", "+31612345678"},   {"+31612345678", "+31612345678"},
        {"+31 6 12345678", "+31612345678"}, {"0031612345678", "+31612345678"},
        {"030 123 4567", "+31301234567"},   {"088-1234567", "+31881234567"}};
    static const char *const bad[] = {"",
                                      "612345678",
                                      "06123456789",
                                      "061234567",
                                      "+32612345678",
                                      "+310612345678",
                                      "0012345678",
                                      "06  12345678",
                                      "06-",
                                      "-0612345678",
                                      "06 1234567a",
                                      "(030) 1234567",
                                      "+31",
                                      "++31612345678",
                                      "0031 0612345678"};
    char out[13];
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        if (!intake_phone_valid(good[i][0], strlen(good[i][0]), out))
            fail_msg("refused %s", good[i][0]);
        assert_string_equal(out, good[i][1]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (intake_phone_valid(bad[i], strlen(bad[i]), out))
            fail_msg("accepted %s", bad[i]);
}

#define ADDRESS(pc)                                                            \
    "\"contact\":{\"address\":{\"street\":\"Dorpsstraat\","                    \
    "\"house_number\":12,\"postcode\":\"" pc "\",\"city\":\"Utrecht\"}}"

static void test_contact_details(void **state)
{
    json_t *pd;
    (void)state;
    assert_int_equal(
        parse_with("\"contact\":{\"email\":\"jan@example.nl\",\"phone\":"
                   "\"06 12345678\",\"address\":{\"street\":\"Dorpsstraat\","
                   "\"house_number\":12,\"house_number_addition\":\"bis\","
                   "\"postcode\":\"1234 ab\",\"city\":\"Utrecht\"}}"),
        0);
    assert_string_equal(app.personal.email, "jan@example.nl");
    assert_string_equal(app.personal.phone, "+31612345678");
    assert_int_equal(app.personal.has_address, 1);
    assert_string_equal(app.personal.postcode, "1234AB");
    assert_int_equal(app.personal.house_number, 12);
    assert_string_equal(app.personal.house_number_addition, "bis");
    pd = intake_app_personal_json(&app);
    assert_non_null(pd);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(pd, "address"), "postcode")),
                        "1234AB");
    json_decref(pd);

    assert_int_equal(parse_with(ADDRESS("1234AB")), 0);
    assert_int_equal(parse_with(ADDRESS("9999 ZZ")), 0);
    assert_only_error(parse_with(ADDRESS("0123AB")),
                      "contact.address.postcode");
    assert_only_error(parse_with(ADDRESS("1234SA")),
                      "contact.address.postcode");
    assert_only_error(parse_with(ADDRESS("1234 SD")),
                      "contact.address.postcode");
    assert_only_error(parse_with(ADDRESS("1234SS")),
                      "contact.address.postcode");
    assert_only_error(parse_with(ADDRESS("1234  AB")),
                      "contact.address.postcode");
    assert_only_error(parse_with(ADDRESS("12345AB")),
                      "contact.address.postcode");
    assert_only_error(parse_with("\"contact\":{\"email\":\"jan@\"}"),
                      "contact.email");
    assert_only_error(parse_with("\"contact\":{\"email\":7}"), "contact.email");
    assert_only_error(parse_with("\"contact\":{\"phone\":\"12345\"}"),
                      "contact.phone");
    assert_only_error(parse_with("\"contact\":\"jan@example.nl\""), "contact");
    assert_only_error(parse_with("\"contact\":{\"address\":[]}"),
                      "contact.address");
    /* an address is whole or absent */
    assert_int_equal(parse_with("\"contact\":{\"address\":{}}"), BRR_EINVAL);
    assert_int_equal(app.nerrors, 4);
    assert_true(has_error("contact.address.street"));
    assert_true(has_error("contact.address.house_number"));
    assert_true(has_error("contact.address.postcode"));
    assert_true(has_error("contact.address.city"));
    assert_only_error(
        parse_with("\"contact\":{\"address\":{\"street\":\"A\","
                   "\"house_number\":100000,\"postcode\":\"1234AB\","
                   "\"city\":\"B\"}}"),
        "contact.address.house_number");
    assert_only_error(
        parse_with("\"contact\":{\"address\":{\"street\":\"A\","
                   "\"house_number\":1,\"house_number_addition\":\"a b\","
                   "\"postcode\":\"1234AB\",\"city\":\"B\"}}"),
        "contact.address.house_number_addition");
    {
        char extra[512], street[90];
        memset(street, 's', 81);
        street[81] = '\0';
        snprintf(extra, sizeof(extra),
                 "\"contact\":{\"address\":{\"street\":\"%s\","
                 "\"house_number\":1,\"postcode\":\"1234AB\",\"city\":\"B\"}}",
                 street);
        assert_only_error(parse_with(extra), "contact.address.street");
        street[80] = '\0';
        snprintf(extra, sizeof(extra),
                 "\"contact\":{\"address\":{\"street\":\"%s\","
                 "\"house_number\":1,\"postcode\":\"1234AB\",\"city\":\"B\"}}",
                 street);
        assert_int_equal(parse_with(extra), 0);
    }
}

static void test_refund_account(void **state)
{
    (void)state;
    assert_int_equal(
        parse_with("\"refund_account\":{\"iban\":\"nl91 abna 0417 1643 00\","
                   "\"account_holder\":\"J. Jansen\"}"),
        0);
    assert_string_equal(app.personal.iban, "NL91ABNA0417164300");
    assert_int_equal(
        parse_with("\"refund_account\":{\"iban\":\"GB82WEST12345698765432\","
                   "\"account_holder\":\"J. Jansen\"}"),
        0);
    assert_only_error(
        parse_with("\"refund_account\":{\"iban\":\"NL91ABNA0417164301\","
                   "\"account_holder\":\"J. Jansen\"}"),
        "refund_account.iban");
    assert_string_equal(app.personal.iban, "");
    assert_only_error(
        parse_with("\"refund_account\":{\"account_holder\":\"J\"}"),
        "refund_account.iban");
    assert_only_error(
        parse_with("\"refund_account\":{\"iban\":\"NL91ABNA0417164300\"}"),
        "refund_account.account_holder");
    assert_only_error(parse_with("\"refund_account\":\"NL91ABNA0417164300\""),
                      "refund_account");
}

static void test_all_errors_are_reported_together(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{\"bsn\":\"123456789\",\"kind\":\"x\",\"foo\":1,\"claims\":[{"
              "\"organisation\":\"XX\",\"reference\":\"\",\"open_cents\":-1}],"
              "\"due_day\":29,\"contact\":{\"email\":\"bad\"},"
              "\"refund_account\":{\"iban\":\"NL00\",\"account_holder\":\"J\"}"
              ",\"consent\":false}"),
        BRR_EINVAL);
    assert_int_equal(app.nerrors, 10);
    assert_true(has_error("bsn"));
    assert_true(has_error("kind"));
    assert_true(has_error("foo"));
    assert_true(has_error("claims[0].organisation"));
    assert_true(has_error("claims[0].reference"));
    assert_true(has_error("claims[0].open_cents"));
    assert_true(has_error("due_day"));
    assert_true(has_error("contact.email"));
    assert_true(has_error("refund_account.iban"));
    assert_true(has_error("consent"));
}

static void test_errors_are_bounded(void **state)
{
    char body[65536], *p;
    (void)state;
    p = body + sprintf(body, "{\"bsn\":\"1\",\"kind\":\"standard\","
                             "\"claims\":[");
    for (int i = 0; i < 50; i++)
        p += sprintf(p, "%s{\"organisation\":\"X\",\"reference\":\"\"}",
                     i ? "," : "");
    sprintf(p, "]}");
    assert_int_equal(parse(body), BRR_EINVAL);
    assert_int_equal(app.nerrors, INTAKE_MAX_ERRORS);
}

static void test_public_body_carries_no_personal_data(void **state)
{
    json_t *pub, *pd;
    char *text;
    (void)state;
    assert_int_equal(
        parse_with("\"contact\":{\"email\":\"jan@example.nl\",\"phone\":"
                   "\"0612345678\"},\"refund_account\":{\"iban\":"
                   "\"NL91ABNA0417164300\",\"account_holder\":\"J. Jansen\"}"),
        0);
    pub = intake_app_public_json(&app);
    text = json_dumps(pub, JSON_COMPACT);
    assert_null(strstr(text, "999996708"));
    assert_null(strstr(text, "jan@example.nl"));
    assert_null(strstr(text, "612345678"));
    assert_null(strstr(text, "NL91ABNA0417164300"));
    assert_null(strstr(text, "Jansen"));
    assert_non_null(strstr(text, "\"claims\""));
    free(text);
    json_decref(pub);
    pd = intake_app_personal_json(&app);
    text = json_dumps(pd, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"email\":\"jan@example.nl\",\"phone\":"
                              "\"+31612345678\",\"refund_account\":{"
                              "\"account_holder\":\"J. Jansen\",\"iban\":"
                              "\"NL91ABNA0417164300\"}}");
    free(text);
    json_decref(pd);
}

/* The text writers of the commit path write the same JSON as the jansson
 * objects: for a maatwerk application with every personal field and a
 * claim with a due date, and for one without anything personal. */
static void assert_writers_match(void)
{
    json_t *want = intake_app_public_json(&app), *got;
    brr_jbuf_t b;
    brr_jbuf_init(&b);
    intake_app_public_write(&app, &b);
    got = json_loads(b.p, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(got);
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    brr_jbuf_reset(&b);
    want = intake_app_personal_json(&app);
    if (want == NULL) {
        assert_int_equal(intake_app_personal_write(&app, &b), 0);
        assert_int_equal(b.len, 0);
    } else {
        assert_int_equal(intake_app_personal_write(&app, &b), 1);
        got = json_loads(b.p, JSON_REJECT_DUPLICATES, NULL);
        assert_non_null(got);
        assert_true(json_equal(got, want));
        json_decref(got);
        json_decref(want);
    }
    brr_jbuf_free(&b);
}

static void test_text_writers_match_the_json_objects(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{\"bsn\":\"999996708\",\"kind\":\"maatwerk\",\"household\":"
              "\"couple\",\"net_income_cents\":250000,"
              "\"partner_net_income_cents\":1000,\"due_day\":28,"
              "\"requested_instalment_cents\":12345,"
              "\"reference_date\":\"2025-01-31\",\"claims\":[{"
              "\"organisation\":\"CJIB\",\"reference\":\"R \\\"1\\\" \\u00e9\","
              "\"open_cents\":1000000000,\"due_date\":\"2025-02-01\","
              "\"under_objection\":true},{\"organisation\":\"DUO\","
              "\"reference\":\"R2\",\"open_cents\":1}],\"contact\":{\"email\":"
              "\"jan@example.nl\",\"phone\":\"0612345678\",\"address\":{"
              "\"street\":\"Dorpsstraat\",\"house_number\":12,"
              "\"house_number_addition\":\"bis\",\"postcode\":\"1234 ab\","
              "\"city\":\"'s-Hertogenbosch\"}},\"refund_account\":{\"iban\":"
              "\"NL91ABNA0417164300\",\"account_holder\":\"J. \\\"Jan\\\" "
              "Jansen\"}}"),
        0);
    assert_int_equal(app.maatwerk, 1);
    assert_int_equal(app.nclaims, 2);
    assert_writers_match();
    assert_int_equal(parse_with(""), 0);
    assert_writers_match();
    assert_int_equal(parse_with("\"refund_account\":{\"iban\":"
                                "\"NL91ABNA0417164300\",\"account_holder\":"
                                "\"J. Jansen\"}"),
                     0);
    assert_writers_match();
}

static void test_problem_lists_every_error(void **state)
{
    char *p;
    json_t *o;
    (void)state;
    assert_int_equal(parse("{\"kind\":\"x\"}"), BRR_EINVAL);
    p = intake_problem(400, "invalid application", "fields", app.errors,
                       app.nerrors);
    o = json_loads(p, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 400);
    assert_string_equal(json_string_value(json_object_get(o, "type")),
                        "about:blank");
    assert_int_equal(json_array_size(json_object_get(o, "errors")), 3);
    json_decref(o);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_standard_application_is_valid),
        cmocka_unit_test(test_bsn_rules),
        cmocka_unit_test(test_eight_digit_bsn_is_left_padded),
        cmocka_unit_test(test_kind_and_channel),
        cmocka_unit_test(test_unknown_fields_are_refused_at_every_level),
        cmocka_unit_test(test_body_must_be_one_json_object),
        cmocka_unit_test(test_claims_rules),
        cmocka_unit_test(test_claim_fields),
        cmocka_unit_test(test_repeated_claim_is_refused),
        cmocka_unit_test(test_instalment_and_due_day_bounds),
        cmocka_unit_test(test_reference_date_bounds),
        cmocka_unit_test(test_maatwerk_fields),
        cmocka_unit_test(test_consent_is_required_and_must_be_true),
        cmocka_unit_test(test_email_syntax),
        cmocka_unit_test(test_phone_numbers),
        cmocka_unit_test(test_contact_details),
        cmocka_unit_test(test_refund_account),
        cmocka_unit_test(test_all_errors_are_reported_together),
        cmocka_unit_test(test_errors_are_bounded),
        cmocka_unit_test(test_public_body_carries_no_personal_data),
        cmocka_unit_test(test_text_writers_match_the_json_objects),
        cmocka_unit_test(test_problem_lists_every_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
