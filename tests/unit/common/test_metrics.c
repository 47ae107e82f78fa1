/*
 * test_metrics.c: the Prometheus registry and text format of metrics.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"

static int reset(void **state)
{
    (void)state;
    brr_metrics_reset();
    return 0;
}

static char *render(void)
{
    size_t len;
    char *text = brr_metrics_render(&len);

    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_metrics_counter_without_labels(void **state)
{
    brr_counter_t *c = brr_metrics_counter("brr_x_total", "Things done.", NULL);
    char *text;

    (void)state;
    brr_counter_inc(c);
    brr_counter_add(c, 2);
    brr_counter_add(c, -5); /* counters never go down */
    assert_true(brr_metrics_value(c) == 3);
    text = render();
    assert_string_equal(text, "# HELP brr_x_total Things done.\n"
                              "# TYPE brr_x_total counter\n"
                              "brr_x_total 3\n");
    free(text);
}

static void test_metrics_same_labels_same_series(void **state)
{
    brr_counter_t *a = brr_metrics_counter("brr_events_total", "Events.", "org",
                                           "CJIB", "result", "ok", NULL);
    brr_counter_t *b = brr_metrics_counter("brr_events_total", "Events.", "org",
                                           "CJIB", "result", "ok", NULL);
    brr_counter_t *c = brr_metrics_counter("brr_events_total", "Events.", "org",
                                           "DUO", "result", "ok", NULL);
    char *text;

    (void)state;
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    brr_counter_inc(a);
    brr_counter_inc(b);
    brr_counter_set(c, 7);
    text = render();
    /* One HELP/TYPE for the family, series in registration order. */
    assert_string_equal(text,
                        "# HELP brr_events_total Events.\n"
                        "# TYPE brr_events_total counter\n"
                        "brr_events_total{org=\"CJIB\",result=\"ok\"} 2\n"
                        "brr_events_total{org=\"DUO\",result=\"ok\"} 7\n");
    free(text);
}

static void test_metrics_label_values_and_help_are_escaped(void **state)
{
    brr_gauge_t *g = brr_metrics_gauge("brr_g", "Line one\nback\\slash", "v",
                                       "a\"b\\c\nd", NULL);
    char *text;

    (void)state;
    brr_gauge_set(g, -1.5);
    text = render();
    assert_string_equal(text, "# HELP brr_g Line one\\nback\\\\slash\n"
                              "# TYPE brr_g gauge\n"
                              "brr_g{v=\"a\\\"b\\\\c\\nd\"} -1.5\n");
    free(text);
}

static void test_metrics_escape_label_reports_needed_length(void **state)
{
    char out[4];

    (void)state;
    assert_int_equal(brr_metrics_escape_label("a\"b", out, sizeof(out)), 4);
    assert_string_equal(out, "a\\\""); /* truncated, still terminated */
    assert_int_equal(brr_metrics_escape_label("", out, sizeof(out)), 0);
    assert_string_equal(out, "");
}

static void test_metrics_gauge_set_and_add(void **state)
{
    brr_gauge_t *g = brr_metrics_gauge("brr_lag", "Lag.", NULL);

    (void)state;
    brr_gauge_set(g, 10);
    brr_gauge_add(g, -3);
    assert_true(brr_metrics_value(g) == 7);
}

static void test_metrics_histogram_buckets_are_cumulative(void **state)
{
    static const double bounds[] = {0.1, 1, 10};
    brr_histogram_t *h = brr_metrics_histogram(
        "brr_latency_seconds", "Latency.", bounds, 3, "op", "commit", NULL);
    char *text;

    (void)state;
    brr_histogram_observe(h, 0.05);
    brr_histogram_observe(h, 0.1); /* le is inclusive */
    brr_histogram_observe(h, 5);
    brr_histogram_observe(h, 100);
    text = render();
    assert_string_equal(
        text, "# HELP brr_latency_seconds Latency.\n"
              "# TYPE brr_latency_seconds histogram\n"
              "brr_latency_seconds_bucket{op=\"commit\",le=\"0.1\"} 2\n"
              "brr_latency_seconds_bucket{op=\"commit\",le=\"1\"} 2\n"
              "brr_latency_seconds_bucket{op=\"commit\",le=\"10\"} 3\n"
              "brr_latency_seconds_bucket{op=\"commit\",le=\"+Inf\"} 4\n"
              "brr_latency_seconds_sum{op=\"commit\"} 105.15\n"
              "brr_latency_seconds_count{op=\"commit\"} 4\n");
    free(text);
}

static void test_metrics_histogram_without_labels(void **state)
{
    static const double bounds[] = {0.005};
    brr_histogram_t *h = brr_metrics_histogram("brr_h", "H.", bounds, 1, NULL);
    char *text;

    (void)state;
    text = render();
    assert_string_equal(text, "# HELP brr_h H.\n"
                              "# TYPE brr_h histogram\n"
                              "brr_h_bucket{le=\"0.005\"} 0\n"
                              "brr_h_bucket{le=\"+Inf\"} 0\n"
                              "brr_h_sum 0\n"
                              "brr_h_count 0\n");
    free(text);
    brr_histogram_observe(h, 1);
    text = render();
    assert_non_null(strstr(text, "brr_h_bucket{le=\"0.005\"} 0\n"
                                 "brr_h_bucket{le=\"+Inf\"} 1\n"));
    free(text);
}

static void test_metrics_values_format_like_prometheus(void **state)
{
    brr_gauge_t *a = brr_metrics_gauge("brr_f", "F.", "k", "a", NULL);
    brr_gauge_t *b = brr_metrics_gauge("brr_f", "F.", "k", "b", NULL);
    brr_gauge_t *c = brr_metrics_gauge("brr_f", "F.", "k", "c", NULL);
    brr_gauge_t *d = brr_metrics_gauge("brr_f", "F.", "k", "d", NULL);
    char *text;

    (void)state;
    brr_gauge_set(a, 0.1);
    brr_gauge_set(b, 1234567890123.0);
    brr_gauge_set(c, 1.0 / 0.0);
    brr_gauge_set(d, 0.1 + 0.2); /* needs 17 digits to read back */
    text = render();
    assert_non_null(strstr(text, "brr_f{k=\"a\"} 0.1\n"));
    assert_non_null(strstr(text, "brr_f{k=\"b\"} 1234567890123\n"));
    assert_non_null(strstr(text, "brr_f{k=\"c\"} +Inf\n"));
    assert_non_null(strstr(text, "brr_f{k=\"d\"} 0.30000000000000004\n"));
    free(text);
}

static int collected;
static brr_gauge_t *collected_gauge;

static void collect(void *arg)
{
    collected++;
    brr_gauge_set(collected_gauge, *(int *)arg);
}

static void test_metrics_collectors_run_before_render(void **state)
{
    int source = 42;
    char *text;

    (void)state;
    collected = 0;
    collected_gauge = brr_metrics_gauge("brr_queue", "Queue.", NULL);
    brr_metrics_add_collector(collect, &source);
    text = render();
    assert_int_equal(collected, 1);
    assert_non_null(strstr(text, "brr_queue 42\n"));
    free(text);
}

static void test_metrics_empty_registry_renders_empty(void **state)
{
    char *text;

    (void)state;
    text = render();
    assert_string_equal(text, "");
    free(text);
}

/* Registration mistakes abort: run them in a child. */
static int aborts(void (*fn)(void))
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        /* Keep the child's report off the test output. */
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO);
        fn();
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void bad_name(void)
{
    brr_metrics_counter("1bad", "x", NULL);
}

static void bad_label(void)
{
    brr_metrics_counter("brr_ok_total", "x", "__reserved", "v", NULL);
}

static void type_clash(void)
{
    brr_metrics_counter("brr_same", "x", NULL);
    brr_metrics_gauge("brr_same", "x", NULL);
}

static void label_clash(void)
{
    brr_metrics_counter("brr_same_total", "x", "a", "1", NULL);
    brr_metrics_counter("brr_same_total", "x", "b", "1", NULL);
}

static void bad_bounds(void)
{
    static const double bounds[] = {1, 1};
    brr_metrics_histogram("brr_hh", "x", bounds, 2, NULL);
}

static void good(void)
{
    brr_metrics_counter("brr_fine:total", "x", "a_1", "v", NULL);
}

static void test_metrics_registration_mistakes_abort(void **state)
{
    (void)state;
    assert_true(aborts(bad_name));
    assert_true(aborts(bad_label));
    assert_true(aborts(type_clash));
    assert_true(aborts(label_clash));
    assert_true(aborts(bad_bounds));
    assert_false(aborts(good));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_metrics_counter_without_labels, reset),
        cmocka_unit_test_teardown(test_metrics_same_labels_same_series, reset),
        cmocka_unit_test_teardown(
            test_metrics_label_values_and_help_are_escaped, reset),
        cmocka_unit_test_teardown(
            test_metrics_escape_label_reports_needed_length, reset),
        cmocka_unit_test_teardown(test_metrics_gauge_set_and_add, reset),
        cmocka_unit_test_teardown(test_metrics_histogram_buckets_are_cumulative,
                                  reset),
        cmocka_unit_test_teardown(test_metrics_histogram_without_labels, reset),
        cmocka_unit_test_teardown(test_metrics_values_format_like_prometheus,
                                  reset),
        cmocka_unit_test_teardown(test_metrics_collectors_run_before_render,
                                  reset),
        cmocka_unit_test_teardown(test_metrics_empty_registry_renders_empty,
                                  reset),
        cmocka_unit_test_teardown(test_metrics_registration_mistakes_abort,
                                  reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
