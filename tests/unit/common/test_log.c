/* Unit tests for services/common/log.c: line layout, logfmt and JSON
 * quoting, truncation, level filtering and the single write per line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#define TS_LEN 24 /* 2024-05-01T12:34:56.789Z */

static size_t fmt(char *buf, size_t cap, brr_log_level_t lvl, const char *msg,
                  ...)
{
    va_list ap;
    size_t n;

    va_start(ap, msg);
    n = brr_log_format_line(buf, cap, lvl, msg, ap);
    va_end(ap);
    return n;
}

static void assert_rfc3339_ms(const char *ts)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

    for (size_t i = 0; i < TS_LEN; i++) {
        if (shape[i] == 'd')
            assert_true(ts[i] >= '0' && ts[i] <= '9');
        else
            assert_int_equal(ts[i], shape[i]);
    }
    assert_true(strncmp(ts, "2024", 4) >= 0);
}

/* Checks the "ts=<timestamp> " prefix and returns what follows it. */
static const char *after_ts(const char *line)
{
    assert_memory_equal(line, "ts=", 3);
    assert_rfc3339_ms(line + 3);
    assert_int_equal(line[3 + TS_LEN], ' ');
    return line + 3 + TS_LEN + 1;
}

static int setup_logfmt(void **state)
{
    (void)state;
    brr_log_init("brr-intake", BRR_LOG_INFO, BRR_LOG_LOGFMT);
    return 0;
}

static void test_log_logfmt_layout(void **state)
{
    char buf[512];
    size_t n;

    (void)state;
    n = fmt(buf, sizeof(buf), BRR_LOG_INFO, "application accepted", "eid",
            "0190a1b2-0000-7000-8000-000000000001", "trace", "abc", NULL);
    assert_int_equal(n, strlen(buf));
    assert_string_equal(after_ts(buf),
                        "lvl=info svc=brr-intake msg=\"application accepted\" "
                        "eid=0190a1b2-0000-7000-8000-000000000001 "
                        "trace=abc\n");
}

static void test_log_logfmt_no_pairs_and_bare_msg(void **state)
{
    char buf[256];

    (void)state;
    fmt(buf, sizeof(buf), BRR_LOG_ERROR, "started", NULL);
    assert_string_equal(after_ts(buf),
                        "lvl=error svc=brr-intake msg=started\n");
    fmt(buf, sizeof(buf), BRR_LOG_WARN, NULL, NULL);
    assert_string_equal(after_ts(buf), "lvl=warn svc=brr-intake msg=\"\"\n");
    fmt(buf, sizeof(buf), BRR_LOG_DEBUG, "x", NULL);
    assert_string_equal(after_ts(buf), "lvl=debug svc=brr-intake msg=x\n");
}

static void test_log_logfmt_escapes_quotes_newlines_spaces(void **state)
{
    char buf[512];

    (void)state;
    fmt(buf, sizeof(buf), BRR_LOG_INFO, "m", "q", "say \"hi\"", "nl",
        "two\nlines", "sp", "a b", "eq", "a=b", "bs", "c:\\dir", "tab", "a\tb",
        "cr", "a\rb", "ctl", "a\001b", "del", "a\177b", "empty", "", "null",
        NULL, NULL);
    assert_string_equal(
        after_ts(buf),
        "lvl=info svc=brr-intake msg=m "
        "q=\"say \\\"hi\\\"\" nl=\"two\\nlines\" sp=\"a b\" "
        "eq=\"a=b\" bs=\"c:\\\\dir\" tab=\"a\\tb\" "
        "cr=\"a\\rb\" ctl=\"a\\u0001b\" del=\"a\\u007fb\" empty=\"\" "
        "null=\"\"\n");
    /* The whole event stays on one line. */
    assert_ptr_equal(strchr(buf, '\n'), buf + strlen(buf) - 1);
}

static void test_log_logfmt_utf8(void **state)
{
    char buf[256];

    (void)state;
    fmt(buf, sizeof(buf), BRR_LOG_INFO, "m", "ok", "\xe2\x82\xac", "bad",
        "a\xff"
        "b",
        "cut", "\xe2\x82", NULL);
    assert_string_equal(after_ts(buf), "lvl=info svc=brr-intake msg=m "
                                       "ok=\"\xe2\x82\xac\" "
                                       "bad=\"a\\ufffdb\" "
                                       "cut=\"\\ufffd\\ufffd\"\n");
}

static void test_log_logfmt_sanitises_keys(void **state)
{
    char buf[256];

    (void)state;
    fmt(buf, sizeof(buf), BRR_LOG_INFO, "m", "bad key=", "v", "", "w", NULL);
    assert_string_equal(after_ts(buf),
                        "lvl=info svc=brr-intake msg=m bad_key_=v _=w\n");
}

static void test_log_truncates_and_keeps_newline(void **state)
{
    char buf[40];
    size_t n;

    (void)state;
    memset(buf, 'x', sizeof(buf));
    n = fmt(buf, sizeof(buf), BRR_LOG_INFO, "a long message to cut", NULL);
    assert_int_equal(n, sizeof(buf) - 1);
    assert_int_equal(buf[sizeof(buf) - 1], '\0');
    assert_int_equal(buf[sizeof(buf) - 2], '\n');
    assert_int_equal(strlen(buf), sizeof(buf) - 1);

    /* cap 1: only the NUL fits; cap 0: nothing is written. */
    buf[0] = 'x';
    assert_int_equal(fmt(buf, 1, BRR_LOG_INFO, "m", NULL), 0);
    assert_int_equal(buf[0], '\0');
    buf[0] = 'x';
    assert_int_equal(fmt(buf, 0, BRR_LOG_INFO, "m", NULL), 0);
    assert_int_equal(buf[0], 'x');
}

static void test_log_json_is_valid_and_round_trips(void **state)
{
    char buf[1024];
    json_error_t jerr;
    json_t *o;
    const char *tricky = "say \"hi\"\n\\ \t\001 \xe2\x82\xac";

    (void)state;
    brr_log_init("brr-capacity", BRR_LOG_DEBUG, BRR_LOG_JSON);
    fmt(buf, sizeof(buf), BRR_LOG_WARN, "could not connect: \"x\"", "eid", "e1",
        "odd", tricky, "null", NULL, NULL);
    assert_memory_equal(buf, "{\"ts\":\"", 7);
    assert_rfc3339_ms(buf + 7);
    assert_int_equal(buf[strlen(buf) - 1], '\n');
    assert_int_equal(buf[strlen(buf) - 2], '}');
    assert_ptr_equal(strchr(buf, '\n'), buf + strlen(buf) - 1);

    o = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 7);
    assert_string_equal(json_string_value(json_object_get(o, "lvl")), "warn");
    assert_string_equal(json_string_value(json_object_get(o, "svc")),
                        "brr-capacity");
    assert_string_equal(json_string_value(json_object_get(o, "msg")),
                        "could not connect: \"x\"");
    assert_string_equal(json_string_value(json_object_get(o, "eid")), "e1");
    assert_string_equal(json_string_value(json_object_get(o, "odd")), tricky);
    assert_string_equal(json_string_value(json_object_get(o, "null")), "");
    /* Keys appear in the documented order: ts, lvl, svc, msg, pairs. */
    assert_true(strstr(buf, "\"lvl\"") < strstr(buf, "\"svc\""));
    assert_true(strstr(buf, "\"svc\"") < strstr(buf, "\"msg\""));
    assert_true(strstr(buf, "\"msg\"") < strstr(buf, "\"eid\""));
    json_decref(o);

    /* Invalid UTF-8 is replaced so the line still parses. */
    fmt(buf, sizeof(buf), BRR_LOG_INFO, "m", "bad", "a\xc0\xafz", NULL);
    o = json_loads(buf, 0, &jerr);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "bad")),
                        "a\xef\xbf\xbd\xef\xbf\xbdz");
    json_decref(o);
    brr_log_init("brr-intake", BRR_LOG_INFO, BRR_LOG_LOGFMT);
}

static void test_log_level_parse(void **state)
{
    brr_log_level_t lvl = BRR_LOG_ERROR;

    (void)state;
    assert_int_equal(brr_log_level_parse("debug", &lvl), 0);
    assert_int_equal(lvl, BRR_LOG_DEBUG);
    assert_int_equal(brr_log_level_parse("info", &lvl), 0);
    assert_int_equal(lvl, BRR_LOG_INFO);
    assert_int_equal(brr_log_level_parse("WARN", &lvl), 0);
    assert_int_equal(lvl, BRR_LOG_WARN);
    assert_int_equal(brr_log_level_parse("error", &lvl), 0);
    assert_int_equal(lvl, BRR_LOG_ERROR);
    assert_int_equal(brr_log_level_parse("verbose", &lvl), BRR_EINVAL);
    assert_int_equal(brr_log_level_parse("", &lvl), BRR_EINVAL);
    assert_int_equal(brr_log_level_parse(NULL, &lvl), BRR_EINVAL);
    assert_int_equal(lvl, BRR_LOG_ERROR); /* untouched on failure */
}

static void test_log_format_parse(void **state)
{
    brr_log_format_t f = BRR_LOG_LOGFMT;

    (void)state;
    assert_int_equal(brr_log_format_parse("json", &f), 0);
    assert_int_equal(f, BRR_LOG_JSON);
    assert_int_equal(brr_log_format_parse("LOGFMT", &f), 0);
    assert_int_equal(f, BRR_LOG_LOGFMT);
    assert_int_equal(brr_log_format_parse("text", &f), BRR_EINVAL);
    assert_int_equal(brr_log_format_parse(NULL, &f), BRR_EINVAL);
}

/* Runs brr_log with stderr pointed at a pipe and returns what arrived. */
static size_t capture(char *out, size_t cap, void (*fn)(void))
{
    int fds[2], saved;
    ssize_t r;
    size_t n = 0;

    assert_int_equal(pipe(fds), 0);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
    close(fds[1]);
    fn();
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    while (n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    return n;
}

static void log_below_and_at_min(void)
{
    brr_log_init("brr-pause", BRR_LOG_WARN, BRR_LOG_LOGFMT);
    brr_log_debug("hidden debug", NULL);
    brr_log_info("hidden info", NULL);
    brr_log_warn("shown warn", "k", "v", NULL);
    brr_log_error("shown error", NULL);
}

static void test_log_filters_below_min_level(void **state)
{
    char out[1024];

    (void)state;
    capture(out, sizeof(out), log_below_and_at_min);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "lvl=warn svc=brr-pause msg=\"shown warn\" "
                                "k=v\n"));
    assert_non_null(strstr(out, "lvl=error svc=brr-pause msg=\"shown "
                                "error\"\n"));
    /* Exactly two lines. */
    assert_non_null(strchr(out, '\n'));
    assert_non_null(strchr(strchr(out, '\n') + 1, '\n'));
    assert_string_equal(strchr(strchr(out, '\n') + 1, '\n'), "\n");
    brr_log_init("brr-intake", BRR_LOG_INFO, BRR_LOG_LOGFMT);
}

static char *long_value;

static void log_long_line(void)
{
    brr_log_init("brr-pause", BRR_LOG_INFO, BRR_LOG_LOGFMT);
    brr_log_info("long", "v", long_value, NULL);
}

static void test_log_long_line_is_written_whole(void **state)
{
    enum { VLEN = 10000 };
    char *out = malloc(VLEN + 512);
    size_t n;

    (void)state;
    long_value = malloc(VLEN + 1);
    memset(long_value, 'y', VLEN);
    long_value[VLEN] = '\0';
    n = capture(out, VLEN + 512, log_long_line);
    assert_true(n > VLEN);
    assert_int_equal(out[n - 1], '\n');
    assert_non_null(strstr(out, "msg=long v=yyyy"));
    assert_int_equal(strspn(strstr(out, " v=") + 3, "y"), VLEN);
    free(long_value);
    free(out);
    brr_log_init("brr-intake", BRR_LOG_INFO, BRR_LOG_LOGFMT);
}

static void test_log_init_defaults_for_bad_svc(void **state)
{
    char buf[256];

    (void)state;
    brr_log_init(NULL, BRR_LOG_INFO, BRR_LOG_LOGFMT);
    fmt(buf, sizeof(buf), BRR_LOG_INFO, "m", NULL);
    assert_string_equal(after_ts(buf), "lvl=info svc=brr msg=m\n");
    brr_log_init("brr-intake", BRR_LOG_INFO, BRR_LOG_LOGFMT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_log_logfmt_layout, setup_logfmt),
        cmocka_unit_test_setup(test_log_logfmt_no_pairs_and_bare_msg,
                               setup_logfmt),
        cmocka_unit_test_setup(test_log_logfmt_escapes_quotes_newlines_spaces,
                               setup_logfmt),
        cmocka_unit_test_setup(test_log_logfmt_utf8, setup_logfmt),
        cmocka_unit_test_setup(test_log_logfmt_sanitises_keys, setup_logfmt),
        cmocka_unit_test_setup(test_log_truncates_and_keeps_newline,
                               setup_logfmt),
        cmocka_unit_test(test_log_json_is_valid_and_round_trips),
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test(test_log_format_parse),
        cmocka_unit_test(test_log_filters_below_min_level),
        cmocka_unit_test(test_log_long_line_is_written_whole),
        cmocka_unit_test(test_log_init_defaults_for_bad_svc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
