/* Unit tests for services/common/config.c: the declarative table, its
 * error messages and the BRR_KAFKA_* passthrough. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"

static const char *dsn;
static int64_t pool;
static int tls;
static const char *secret_key;

static const brr_config_entry_t table[] = {
    {"BRR_T_DSN", BRR_CONF_STRING, &dsn, NULL, 0, 0, 0,
     "postgres connection string"},
    {"BRR_T_POOL", BRR_CONF_INT, &pool, "4", 1, 64, 0, "connections"},
    {"BRR_T_TLS", BRR_CONF_BOOL, &tls, "false", 0, 0, 0, "use tls"},
    {"BRR_T_KEY", BRR_CONF_STRING, &secret_key, "dev-key", 0, 0, 1, "hmac key"},
    {0},
};

static int reset_env(void **state)
{
    (void)state;
    unsetenv("BRR_T_DSN");
    unsetenv("BRR_T_POOL");
    unsetenv("BRR_T_TLS");
    unsetenv("BRR_T_KEY");
    dsn = NULL;
    pool = -1;
    tls = -1;
    secret_key = NULL;
    return 0;
}

static void test_config_defaults_fill_targets(void **state)
{
    char err[256];

    (void)state;
    setenv("BRR_T_DSN", "host=db", 1);
    assert_int_equal(brr_config_load(table, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_string_equal(dsn, "host=db");
    assert_int_equal(pool, 4);
    assert_int_equal(tls, 0);
    assert_string_equal(secret_key, "dev-key");
}

static void test_config_environment_overrides_default(void **state)
{
    char err[256];

    (void)state;
    setenv("BRR_T_DSN", "host=db", 1);
    setenv("BRR_T_POOL", "64", 1);
    setenv("BRR_T_TLS", "Yes", 1);
    setenv("BRR_T_KEY", "s3cr3t", 1);
    assert_int_equal(brr_config_load(table, err, sizeof(err)), 0);
    assert_int_equal(pool, 64);
    assert_int_equal(tls, 1);
    assert_string_equal(secret_key, "s3cr3t");
}

static void test_config_missing_required(void **state)
{
    char err[256];

    (void)state;
    assert_int_equal(brr_config_load(table, err, sizeof(err)), BRR_ECONFIG);
    assert_string_equal(err, "missing required setting BRR_T_DSN "
                             "(postgres connection string)");
    /* An empty variable counts as unset. */
    setenv("BRR_T_DSN", "", 1);
    assert_int_equal(brr_config_load(table, err, sizeof(err)), BRR_ECONFIG);
    assert_non_null(strstr(err, "missing required setting BRR_T_DSN"));
}

static void test_config_int_bounds(void **state)
{
    char err[256];

    (void)state;
    setenv("BRR_T_DSN", "host=db", 1);
    setenv("BRR_T_POOL", "1", 1);
    assert_int_equal(brr_config_load(table, err, sizeof(err)), 0);
    assert_int_equal(pool, 1);

    setenv("BRR_T_POOL", "0", 1);
    assert_int_equal(brr_config_load(table, err, sizeof(err)), BRR_ECONFIG);
    assert_string_equal(err, "invalid value \"0\" for BRR_T_POOL: out of "
                             "range (must be between 1 and 64)");

    setenv("BRR_T_POOL", "65", 1);
    assert_int_equal(brr_config_load(table, err, sizeof(err)), BRR_ECONFIG);
    assert_string_equal(err, "invalid value \"65\" for BRR_T_POOL: out of "
                             "range (must be between 1 and 64)");

    setenv("BRR_T_POOL", "99999999999999999999", 1);
    assert_int_equal(brr_config_load(table, err, sizeof(err)), BRR_ECONFIG);
    assert_non_null(strstr(err, "out of range"));
}

static void test_config_int_not_a_number(void **state)
{
    static const char *const bad[] = {"abc", "4x", " 4",   "4 ",
                                      "",    "+",  "0x10", "1e3"};
    char err[256];

    (void)state;
    setenv("BRR_T_DSN", "host=db", 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("BRR_T_POOL", bad[i], 1);
        if (bad[i][0] == '\0') {
            /* empty: falls back to the default */
            assert_int_equal(brr_config_load(table, err, sizeof(err)), 0);
            assert_int_equal(pool, 4);
            continue;
        }
        assert_int_equal(brr_config_load(table, err, sizeof(err)), BRR_ECONFIG);
        assert_non_null(strstr(err, "for BRR_T_POOL: not an integer"));
        assert_non_null(strstr(err, bad[i]));
    }
    setenv("BRR_T_POOL", "+7", 1);
    assert_int_equal(brr_config_load(table, err, sizeof(err)), 0);
    assert_int_equal(pool, 7);
}

static void test_config_bad_bool(void **state)
{
    static const char *const yes[] = {"1", "true", "TRUE", "yes", "on"};
    static const char *const no[] = {"0", "false", "No", "off"};
    char err[256];

    (void)state;
    setenv("BRR_T_DSN", "host=db", 1);
    setenv("BRR_T_TLS", "maybe", 1);
    assert_int_equal(brr_config_load(table, err, sizeof(err)), BRR_ECONFIG);
    assert_string_equal(err, "invalid value \"maybe\" for BRR_T_TLS: not a "
                             "boolean (use 1/0, true/false, yes/no, on/off)");
    setenv("BRR_T_TLS", "2", 1);
    assert_int_equal(brr_config_load(table, err, sizeof(err)), BRR_ECONFIG);

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        setenv("BRR_T_TLS", yes[i], 1);
        tls = -1;
        assert_int_equal(brr_config_load(table, err, sizeof(err)), 0);
        assert_int_equal(tls, 1);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        setenv("BRR_T_TLS", no[i], 1);
        tls = -1;
        assert_int_equal(brr_config_load(table, err, sizeof(err)), 0);
        assert_int_equal(tls, 0);
    }
}

static void test_config_secret_value_not_echoed(void **state)
{
    static int64_t n;
    static const brr_config_entry_t t[] = {
        {"BRR_T_KEY", BRR_CONF_INT, &n, NULL, 1, 10, 1, "secret number"},
        {0},
    };
    char err[256];

    (void)state;
    setenv("BRR_T_KEY", "hunter2", 1);
    assert_int_equal(brr_config_load(t, err, sizeof(err)), BRR_ECONFIG);
    assert_null(strstr(err, "hunter2"));
    assert_string_equal(err, "invalid value for BRR_T_KEY (not shown, "
                             "secret): not an integer");
}

static void test_config_bad_default_is_reported(void **state)
{
    static int64_t n;
    static const brr_config_entry_t t[] = {
        {"BRR_T_POOL", BRR_CONF_INT, &n, "100", 1, 10, 0, "x"},
        {0},
    };
    char err[256];

    (void)state;
    assert_int_equal(brr_config_load(t, err, sizeof(err)), BRR_ECONFIG);
    assert_string_equal(err, "invalid default \"100\" for BRR_T_POOL: out of "
                             "range (must be between 1 and 10)");
}

static void test_config_unbounded_int_and_small_err_buffer(void **state)
{
    static int64_t n;
    static const brr_config_entry_t t[] = {
        {"BRR_T_POOL", BRR_CONF_INT, &n, "0", 0, 0, 0, "no bounds"},
        {0},
    };
    char err[8];

    (void)state;
    setenv("BRR_T_POOL", "-9223372036854775808", 1);
    assert_int_equal(brr_config_load(t, err, sizeof(err)), 0);
    assert_true(n == INT64_MIN);
    setenv("BRR_T_POOL", "x", 1);
    assert_int_equal(brr_config_load(t, err, sizeof(err)), BRR_ECONFIG);
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_int_equal(brr_config_load(t, NULL, 0), BRR_ECONFIG);
}

static void test_config_usage_lists_table_without_secrets(void **state)
{
    char out[4096];
    int fds[2], saved;
    ssize_t r;
    size_t n = 0;

    (void)state;
    fflush(stdout);
    assert_int_equal(pipe(fds), 0);
    saved = dup(STDOUT_FILENO);
    assert_true(dup2(fds[1], STDOUT_FILENO) >= 0);
    close(fds[1]);
    brr_config_usage(table);
    fflush(stdout);
    assert_true(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);
    while (n + 1 < sizeof(out) &&
           (r = read(fds[0], out + n, sizeof(out) - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);

    assert_non_null(strstr(out, "BRR_T_DSN"));
    assert_non_null(strstr(out, "required"));
    assert_non_null(strstr(out, "postgres connection string"));
    assert_non_null(strstr(out, "1..64"));
    assert_non_null(strstr(out, "default \"4\""));
    assert_non_null(strstr(out, "BRR_T_KEY"));
    assert_null(strstr(out, "dev-key"));
    assert_non_null(strstr(out, "BRR_KAFKA_"));
}

struct seen {
    int n;
    int linger, idem;
};

static void on_prop(const char *prop, const char *val, void *arg)
{
    struct seen *s = arg;

    s->n++;
    if (strcmp(prop, "linger.ms") == 0 && strcmp(val, "5") == 0)
        s->linger++;
    if (strcmp(prop, "enable.idempotence") == 0 && strcmp(val, "true") == 0)
        s->idem++;
    assert_null(strchr(prop, '_'));
}

static void test_config_kafka_passthrough(void **state)
{
    struct seen s = {0, 0, 0};
    int base;

    (void)state;
    unsetenv("BRR_KAFKA_LINGER_MS");
    unsetenv("BRR_KAFKA_ENABLE_IDEMPOTENCE");
    unsetenv("BRR_KAFKA_");
    unsetenv("BRR_KAFKA_EMPTY");
    base = brr_config_each_kafka(NULL, NULL);

    setenv("BRR_KAFKA_LINGER_MS", "5", 1);
    setenv("BRR_KAFKA_ENABLE_IDEMPOTENCE", "true", 1);
    setenv("BRR_KAFKA_", "no property", 1);
    setenv("BRR_KAFKA_EMPTY", "", 1);
    setenv("BRR_KAFKALIKE", "x", 1);
    assert_int_equal(brr_config_each_kafka(on_prop, &s), base + 2);
    assert_int_equal(s.n, base + 2);
    assert_int_equal(s.linger, 1);
    assert_int_equal(s.idem, 1);
    unsetenv("BRR_KAFKA_LINGER_MS");
    unsetenv("BRR_KAFKA_ENABLE_IDEMPOTENCE");
    unsetenv("BRR_KAFKA_");
    unsetenv("BRR_KAFKA_EMPTY");
    unsetenv("BRR_KAFKALIKE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_defaults_fill_targets, reset_env),
        cmocka_unit_test_setup(test_config_environment_overrides_default,
                               reset_env),
        cmocka_unit_test_setup(test_config_missing_required, reset_env),
        cmocka_unit_test_setup(test_config_int_bounds, reset_env),
        cmocka_unit_test_setup(test_config_int_not_a_number, reset_env),
        cmocka_unit_test_setup(test_config_bad_bool, reset_env),
        cmocka_unit_test_setup(test_config_secret_value_not_echoed, reset_env),
        cmocka_unit_test_setup(test_config_bad_default_is_reported, reset_env),
        cmocka_unit_test_setup(test_config_unbounded_int_and_small_err_buffer,
                               reset_env),
        cmocka_unit_test_setup(test_config_kafka_passthrough, reset_env),
        cmocka_unit_test_setup(test_config_usage_lists_table_without_secrets,
                               reset_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
