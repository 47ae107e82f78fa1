/*
 * config.c: loads a service's declarative configuration table from BRR_*
 * environment variables at start-up.
 *
 * Runs once, before the loop starts; any failure stops start-up with one
 * message naming the variable, the value (unless secret) and the reason.
 * Defaults go through the same parser as the environment, so a bad default
 * in a table is caught the first time the service starts.
 */
#include "config.h"
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern char **environ;

#define KAFKA_PREFIX "BRR_KAFKA_"

static void set_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || cap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* Strict base-10 integer: optional sign, digits, nothing else. */
static int parse_int(const char *s, int64_t *out)
{
    const char *p = s;
    char *end;
    long long v;

    if (*p == '+' || *p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return BRR_EPARSE;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end != '\0')
        return BRR_EPARSE;
    if (errno == ERANGE)
        return BRR_ERANGE;
    *out = (int64_t)v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return BRR_EPARSE;
}

/* Both bounds zero means the table gave none: a range of exactly {0} is
 * never what anyone means. */
static int has_bounds(const brr_config_entry_t *e)
{
    return e->min != 0 || e->max != 0;
}

/* Writes "invalid value "x" for NAME" (or the secret/default variants) as
 * the start of a message; the caller appends the reason. */
static void invalid(char *err, size_t cap, const brr_config_entry_t *e,
                    const char *val, int from_default, const char *reason)
{
    const char *what = from_default ? "default" : "value";

    if (e->secret)
        set_err(err, cap, "invalid %s for %s (not shown, secret): %s", what,
                e->name, reason);
    else
        set_err(err, cap, "invalid %s \"%.128s\" for %s: %s", what, val,
                e->name, reason);
}

static int load_one(const brr_config_entry_t *e, char *err, size_t cap)
{
    const char *val = getenv(e->name);
    int from_default = 0;
    char reason[160];

    /* An empty variable counts as unset: compose files and shell scripts
     * write NAME= when they mean "leave it alone". */
    if (val == NULL || *val == '\0') {
        if (e->default_value == NULL) {
            if (e->help && *e->help)
                set_err(err, cap, "missing required setting %s (%s)", e->name,
                        e->help);
            else
                set_err(err, cap, "missing required setting %s", e->name);
            return BRR_ECONFIG;
        }
        val = e->default_value;
        from_default = 1;
    }
    if (e->target == NULL) {
        set_err(err, cap, "setting %s has no target", e->name);
        return BRR_ECONFIG;
    }

    switch (e->type) {
    case BRR_CONF_STRING:
        *(const char **)e->target = val;
        return 0;
    case BRR_CONF_INT: {
        int64_t v = 0;
        int rc = parse_int(val, &v);
        if (rc == BRR_EPARSE) {
            invalid(err, cap, e, val, from_default, "not an integer");
            return BRR_ECONFIG;
        }
        if (rc == BRR_ERANGE || (has_bounds(e) && (v < e->min || v > e->max))) {
            if (has_bounds(e))
                snprintf(reason, sizeof(reason),
                         "out of range (must be between %lld and %lld)",
                         (long long)e->min, (long long)e->max);
            else
                snprintf(reason, sizeof(reason),
                         "out of range for a 64-bit integer");
            invalid(err, cap, e, val, from_default, reason);
            return BRR_ECONFIG;
        }
        *(int64_t *)e->target = v;
        return 0;
    }
    case BRR_CONF_BOOL: {
        int b;
        if (parse_bool(val, &b) != 0) {
            invalid(err, cap, e, val, from_default,
                    "not a boolean (use 1/0, true/false, yes/no, on/off)");
            return BRR_ECONFIG;
        }
        *(int *)e->target = b;
        return 0;
    }
    }
    set_err(err, cap, "setting %s has an unknown type %d", e->name,
            (int)e->type);
    return BRR_ECONFIG;
}

int brr_config_load(const brr_config_entry_t *table, char *err, size_t cap)
{
    if (err && cap > 0)
        err[0] = '\0';
    if (table == NULL)
        return 0;
    for (const brr_config_entry_t *e = table; e->name != NULL; e++) {
        int rc = load_one(e, err, cap);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void brr_config_usage(const brr_config_entry_t *table)
{
    static const char *const type_names[] = {"string", "int", "bool"};

    if (table == NULL)
        return;
    printf("Environment variables:\n");
    for (const brr_config_entry_t *e = table; e->name != NULL; e++) {
        const char *type = (unsigned)e->type < 3 ? type_names[e->type] : "?";

        printf("  %-32s %s", e->name, type);
        if (e->type == BRR_CONF_INT && has_bounds(e))
            printf(" %lld..%lld", (long long)e->min, (long long)e->max);
        if (e->default_value == NULL)
            printf(", required");
        else if (e->secret)
            printf(", default (secret)");
        else
            printf(", default \"%s\"", e->default_value);
        printf("\n      %s\n", e->help ? e->help : "");
    }
    printf("  %-32s Kafka client property a.b.c (e.g. BRR_KAFKA_LINGER_MS)\n",
           KAFKA_PREFIX "A_B_C");
}

int brr_config_each_kafka(void (*fn)(const char *prop, const char *val,
                                     void *arg),
                          void *arg)
{
    const size_t plen = sizeof(KAFKA_PREFIX) - 1;
    int count = 0;

    if (environ == NULL)
        return 0;
    for (char **ep = environ; *ep != NULL; ep++) {
        const char *kv = *ep;
        const char *eq = strchr(kv, '=');

        if (eq == NULL || strncmp(kv, KAFKA_PREFIX, plen) != 0)
            continue;
        size_t n = (size_t)(eq - kv) - plen;
        if (n == 0 || eq[1] == '\0')
            continue; /* empty means unset, as in brr_config_load */
        char *prop = malloc(n + 1);
        if (prop == NULL)
            abort();
        for (size_t i = 0; i < n; i++) {
            char c = kv[plen + i];
            prop[i] = c == '_'                 ? '.'
                      : (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a')
                                               : c;
        }
        prop[n] = '\0';
        if (fn)
            fn(prop, eq + 1, arg);
        free(prop);
        count++;
    }
    return count;
}
