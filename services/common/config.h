/*
 * config.h: configuration from BRR_* environment variables, declared as one
 * table per service (Redis's config.c pattern).
 *
 * A service declares an array of brr_config_entry_t ending in {0}, each
 * pointing at the field it fills, and calls brr_config_load() once at
 * start-up.  A missing required key, or a value that does not parse or is
 * out of range, fails with one precise message naming the key, the value
 * and the reason (the value is not echoed for entries marked secret).
 * Kafka client properties pass through as BRR_KAFKA_<property> with '_'
 * for '.', e.g. BRR_KAFKA_LINGER_MS=5 -> linger.ms=5.
 */
#ifndef BRR_CONFIG_H
#define BRR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    BRR_CONF_STRING = 0, /* char ** (points into the environment or default) */
    BRR_CONF_INT,        /* int64_t *, bounded by min..max */
    BRR_CONF_BOOL,       /* int *: 1/0, true/false, yes/no, on/off */
} brr_config_type_t;

typedef struct {
    const char *name; /* full variable name, e.g. "BRR_PG_DSN" */
    brr_config_type_t type;
    void *target;
    const char *default_value; /* NULL: required */
    int64_t min, max;          /* for BRR_CONF_INT */
    int secret;                /* never echo the value in messages */
    const char *help;          /* one line, shown by --help */
} brr_config_entry_t;

/* Fills every target from the environment or its default.  On failure
 * writes a message into err (cap bytes) and returns BRR_ECONFIG. */
int brr_config_load(const brr_config_entry_t *table, char *err, size_t cap);

/* Prints the table (name, default, help) to stdout, for --help. */
void brr_config_usage(const brr_config_entry_t *table);

/* Calls fn(property, value, arg) for every BRR_KAFKA_* variable, with the
 * property name lower-cased and '_' turned into '.'.  Returns the count. */
int brr_config_each_kafka(void (*fn)(const char *prop, const char *val,
                                     void *arg),
                          void *arg);

#endif
