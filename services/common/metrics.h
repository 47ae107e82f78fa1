/*
 * metrics.h: Prometheus metrics in the text exposition format 0.0.4.
 *
 * One process-wide registry of counters, gauges and histograms (fixed
 * buckets), each family with any number of series told apart by constant
 * labels given at registration.  The admin endpoint renders the registry on
 * GET /metrics.  Single-threaded: call everything from the loop thread.
 *
 * Registration takes the family name, its help text and the labels as a
 * NULL-terminated list of const char * pairs (name, value, ..., NULL).
 * Registering the same name and labels again returns the same series, so
 * per-organisation series can be looked up lazily.  A name or label name
 * that is not valid Prometheus, or a name reused with another type or other
 * label names, is a programming error and aborts.  Label values are escaped
 * on output; never put personal data in them (log.h's rules hold here).
 */
#ifndef BRR_METRICS_H
#define BRR_METRICS_H

#include <stddef.h>

typedef struct brr_metric brr_counter_t;
typedef struct brr_metric brr_gauge_t;
typedef struct brr_metric brr_histogram_t;

/* A counter series (family type "counter"; name should end in _total). */
brr_counter_t *brr_metrics_counter(const char *name, const char *help, ...);

/* A gauge series. */
brr_gauge_t *brr_metrics_gauge(const char *name, const char *help, ...);

/* A histogram series with nbounds upper bounds (strictly increasing,
 * finite; "+Inf" is implicit).  The bounds of the first registration of a
 * family hold for all its series. */
brr_histogram_t *brr_metrics_histogram(const char *name, const char *help,
                                       const double *bounds, size_t nbounds,
                                       ...);

/* Adds 1 / v (v >= 0; negative values are ignored) to a counter. */
void brr_counter_inc(brr_counter_t *c);
void brr_counter_add(brr_counter_t *c, double v);

/* Mirrors a monotonic total kept elsewhere (e.g. brr_proc_stats) into c. */
void brr_counter_set(brr_counter_t *c, double v);

/* Sets / adds to a gauge (v may be negative). */
void brr_gauge_set(brr_gauge_t *g, double v);
void brr_gauge_add(brr_gauge_t *g, double v);

/* Records one observation. */
void brr_histogram_observe(brr_histogram_t *h, double v);

/* The current value of a counter or gauge (tests). */
double brr_metrics_value(const brr_counter_t *m);

/* Registers fn(arg), called at the start of every brr_metrics_render, so a
 * module can copy its own statistics into gauges and counters. */
void brr_metrics_add_collector(void (*fn)(void *arg), void *arg);

/* Renders the registry (families in registration order) into a malloc'd,
 * NUL-terminated buffer owned by the caller; *len gets its length. */
char *brr_metrics_render(size_t *len);

/* Frees the registry and every series; pointers handed out become invalid.
 * For tests and the end of main. */
void brr_metrics_reset(void);

/* Escapes a label value (\\, \" and \n) into out; returns the length it
 * needs without the NUL (like snprintf), writing at most cap bytes. */
size_t brr_metrics_escape_label(const char *v, char *out, size_t cap);

#endif
