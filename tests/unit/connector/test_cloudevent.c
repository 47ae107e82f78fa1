/* Tests for services/connector/cloudevent.c: the NL GOV CloudEvent shape,
 * byte-for-byte determinism, and refusal of malformed attributes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cloudevent.h"
#include "err.h"

#define OIN "00000001003214345000"
#define EID "01890a5d-ac96-774b-bcce-b302099a8057"
#define AID "0190f1a2-3b4c-7d5e-8f60-718293a4b5c6"

static json_t *sample_data(void)
{
    /* inserted out of order on purpose */
    return json_pack("{s:s, s:I, s:[{s:s, s:I}]}", "status", "active",
                     "share_cents", (json_int_t)12345, "claims", "ref",
                     "CJIB-2024-001", "open_cents", (json_int_t)50000);
}

static conn_cloudevent_t sample(json_t *data)
{
    conn_cloudevent_t ce = {
        .id = EID,
        .oin = OIN,
        .type = "nl.rijksoverheid.brr.arrangement.created",
        .subject = AID,
        .time = "2024-02-29T12:00:00.123Z",
        .sequence = 42,
        .data = data,
    };
    return ce;
}

static void test_build_has_every_nl_gov_attribute(void **state)
{
    json_t *data = sample_data(), *ev = NULL;
    conn_cloudevent_t ce = sample(data);

    assert_int_equal(conn_cloudevent_build(&ce, &ev), 0);
    assert_non_null(ev);
    assert_int_equal(json_object_size(ev), 9);
    assert_string_equal(json_string_value(json_object_get(ev, "specversion")),
                        "1.0");
    assert_string_equal(json_string_value(json_object_get(ev, "id")), EID);
    assert_string_equal(json_string_value(json_object_get(ev, "source")),
                        "urn:nld:oin:" OIN ":systeem:betalingsregeling");
    assert_string_equal(json_string_value(json_object_get(ev, "type")),
                        "nl.rijksoverheid.brr.arrangement.created");
    assert_string_equal(json_string_value(json_object_get(ev, "subject")), AID);
    assert_string_equal(json_string_value(json_object_get(ev, "time")),
                        "2024-02-29T12:00:00.123Z");
    /* sequence is a string per the CloudEvents sequence extension */
    assert_true(json_is_string(json_object_get(ev, "sequence")));
    assert_string_equal(json_string_value(json_object_get(ev, "sequence")),
                        "42");
    assert_string_equal(
        json_string_value(json_object_get(ev, "datacontenttype")),
        "application/json");
    assert_true(json_equal(json_object_get(ev, "data"), data));
    json_decref(ev);
    /* the caller's reference is untouched */
    assert_int_equal(data->refcount, 1);
    json_decref(data);
}

static void test_encode_is_compact_sorted_and_exact(void **state)
{
    json_t *data = sample_data();
    conn_cloudevent_t ce = sample(data);
    char *body = NULL;
    size_t len = 0;

    assert_int_equal(conn_cloudevent_encode(&ce, &body, &len), 0);
    assert_string_equal(
        body, "{\"data\":{\"claims\":[{\"open_cents\":50000,\"ref\":\"CJIB-"
              "2024-001\"}],\"share_cents\":12345,\"status\":\"active\"},"
              "\"datacontenttype\":\"application/json\",\"id\":\"" EID "\","
              "\"sequence\":\"42\",\"source\":\"urn:nld:oin:" OIN
              ":systeem:betalingsregeling\",\"specversion\":\"1.0\","
              "\"subject\":\"" AID "\",\"time\":\"2024-02-29T12:00:00.123Z\","
              "\"type\":\"nl.rijksoverheid.brr.arrangement.created\"}");
    assert_int_equal(len, strlen(body));
    free(body);
    json_decref(data);
}

static void test_same_event_same_bytes_whatever_insertion_order(void **state)
{
    json_t *a = json_pack("{s:i, s:i, s:i}", "z", 1, "a", 2, "m", 3);
    json_t *b = json_pack("{s:i, s:i, s:i}", "m", 3, "z", 1, "a", 2);
    conn_cloudevent_t ca = sample(a), cb = sample(b);
    char *ba, *bb;
    size_t la, lb;

    assert_int_equal(conn_cloudevent_encode(&ca, &ba, &la), 0);
    assert_int_equal(conn_cloudevent_encode(&cb, &bb, &lb), 0);
    assert_int_equal(la, lb);
    assert_string_equal(ba, bb);
    free(ba);
    free(bb);
    json_decref(a);
    json_decref(b);
}

static void test_sequence_extremes_and_no_data(void **state)
{
    conn_cloudevent_t ce = sample(NULL);
    json_t *ev;

    ce.sequence = UINT64_MAX;
    assert_int_equal(conn_cloudevent_build(&ce, &ev), 0);
    assert_string_equal(json_string_value(json_object_get(ev, "sequence")),
                        "18446744073709551615");
    assert_null(json_object_get(ev, "data"));
    assert_int_equal(json_object_size(ev), 8);
    json_decref(ev);
    ce.sequence = 0;
    assert_int_equal(conn_cloudevent_build(&ce, &ev), 0);
    assert_string_equal(json_string_value(json_object_get(ev, "sequence")),
                        "0");
    json_decref(ev);
}

static void test_malformed_attributes_are_refused(void **state)
{
    json_t *arr = json_array(), *ev = (json_t *)0x1;
    conn_cloudevent_t ce;

#define REFUSED(field, value)                                                  \
    do {                                                                       \
        ce = sample(NULL);                                                     \
        ce.field = value;                                                      \
        assert_int_equal(conn_cloudevent_build(&ce, &ev), BRR_EINVAL);         \
        assert_ptr_equal(ev, (json_t *)0x1);                                   \
    } while (0)
    REFUSED(oin, "0000000100321434500");   /* 19 digits */
    REFUSED(oin, "000000010032143450001"); /* 21 digits */
    REFUSED(oin, "0000000100321434500X");
    REFUSED(oin, NULL);
    REFUSED(id, "");
    REFUSED(id, NULL);
    REFUSED(subject, NULL);
    REFUSED(time, "");
    REFUSED(type, "com.example.created");
    REFUSED(type, "nl.rijksoverheid.brr.");
    REFUSED(type, NULL);
    REFUSED(subject, "\xff\xfe not utf-8");
    REFUSED(data, arr);
#undef REFUSED
    json_decref(arr);
}

static void test_encode_data_text_is_copied_as_it_is(void **state)
{
    json_t *data = sample_data();
    conn_cloudevent_t ce = sample(data);
    char *a, *b;
    size_t la, lb;
    static const char spaced[] =
        " {\"status\": \"active\", \"claims\": [{\"ref\": \"x\"}]}\n";

    /* the text jansson would write gives the same bytes */
    assert_int_equal(conn_cloudevent_encode(&ce, &a, &la), 0);
    ce.data = NULL;
    ce.data_text = "{\"claims\":[{\"open_cents\":50000,\"ref\":\"CJIB-2024-"
                   "001\"}],\"share_cents\":12345,\"status\":\"active\"}";
    ce.data_len = strlen(ce.data_text);
    assert_int_equal(conn_cloudevent_encode(&ce, &b, &lb), 0);
    assert_int_equal(la, lb);
    assert_string_equal(a, b);
    free(b);
    /* any other layout (PostgreSQL's jsonb text) goes in unchanged */
    ce.data_text = spaced;
    ce.data_len = sizeof(spaced) - 1;
    assert_int_equal(conn_cloudevent_encode(&ce, &b, &lb), 0);
    assert_int_equal(lb, strlen(b));
    assert_non_null(strstr(b, "{\"data\":{\"status\": \"active\", "
                              "\"claims\": [{\"ref\": \"x\"}]},"
                              "\"datacontenttype\":"));
    {
        json_error_t err;
        json_t *ev = json_loads(b, 0, &err);
        assert_non_null(ev);
        assert_int_equal(json_object_size(ev), 9);
        json_decref(ev);
    }
    free(a);
    free(b);
    json_decref(data);
}

static void test_encode_without_data_and_escaped_subject(void **state)
{
    conn_cloudevent_t ce = sample(NULL);
    json_error_t err;
    json_t *ev;
    char *body;
    size_t len;

    ce.subject = "a\"b\\c\n\x01\xc3\xa9";
    assert_int_equal(conn_cloudevent_encode(&ce, &body, &len), 0);
    assert_memory_equal(body, "{\"datacontenttype\":", 19);
    assert_non_null(strstr(body, "\"subject\":\"a\\\"b\\\\c\\n\\u0001"
                                 "\xc3\xa9\","));
    ev = json_loads(body, 0, &err);
    assert_non_null(ev);
    assert_int_equal(json_object_size(ev), 8);
    assert_string_equal(json_string_value(json_object_get(ev, "subject")),
                        ce.subject);
    json_decref(ev);
    free(body);
}

static void test_encode_refuses_what_build_refuses(void **state)
{
    json_t *data = sample_data();
    conn_cloudevent_t ce;
    char *body = (char *)0x1;
    size_t len;

#define REFUSED(field, value)                                                  \
    do {                                                                       \
        ce = sample(NULL);                                                     \
        ce.data_text = "{}";                                                   \
        ce.data_len = 2;                                                       \
        ce.field = value;                                                      \
        assert_int_equal(conn_cloudevent_encode(&ce, &body, &len),             \
                         BRR_EINVAL);                                          \
        assert_ptr_equal(body, (char *)0x1);                                   \
    } while (0)
    REFUSED(oin, "0000000100321434500");
    REFUSED(type, "com.example.created");
    REFUSED(subject, "\xff\xfe not utf-8");
    REFUSED(subject, "\xed\xa0\x80"); /* a UTF-16 surrogate */
    REFUSED(id, "\xc0\xaf");          /* overlong */
    REFUSED(data, data);              /* data and data_text */
    REFUSED(data_text, "[1]");
    REFUSED(data_text, " ");
    REFUSED(data_len, 1); /* "{" */
#undef REFUSED
    json_decref(data);
}

static void test_time_is_rfc3339_utc_with_millis(void **state)
{
    char t[CONN_CE_TIME_LEN];

    assert_int_equal(conn_cloudevent_time(0, t), 0);
    assert_string_equal(t, "1970-01-01T00:00:00.000Z");
    assert_int_equal(conn_cloudevent_time(1709208000123, t), 0);
    assert_string_equal(t, "2024-02-29T12:00:00.123Z");
    assert_int_equal(conn_cloudevent_time(784111777999, t), 0);
    assert_string_equal(t, "1994-11-06T08:49:37.999Z");
    assert_int_equal(conn_cloudevent_time(253402300799999, t), 0);
    assert_string_equal(t, "9999-12-31T23:59:59.999Z");
    assert_int_equal(conn_cloudevent_time(253402300800000, t), BRR_ERANGE);
    assert_int_equal(conn_cloudevent_time(-1, t), BRR_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_has_every_nl_gov_attribute),
        cmocka_unit_test(test_encode_is_compact_sorted_and_exact),
        cmocka_unit_test(test_same_event_same_bytes_whatever_insertion_order),
        cmocka_unit_test(test_sequence_extremes_and_no_data),
        cmocka_unit_test(test_malformed_attributes_are_refused),
        cmocka_unit_test(test_time_is_rfc3339_utc_with_millis),
        cmocka_unit_test(test_encode_data_text_is_copied_as_it_is),
        cmocka_unit_test(test_encode_without_data_and_escaped_subject),
        cmocka_unit_test(test_encode_refuses_what_build_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
