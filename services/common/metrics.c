/*
 * metrics.c: the process-wide Prometheus registry of metrics.h.
 *
 * Families in a list in registration order, each with its series in a list;
 * a series keeps its label set pre-rendered (`k="v",...`) so rendering is
 * plain appends.  Small by intent: a service has tens of families.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

enum { KIND_COUNTER = 0, KIND_GAUGE, KIND_HISTOGRAM };

static const char *const kind_name[] = {"counter", "gauge", "histogram"};

#define MAX_LABELS 16

typedef struct family {
    char *name;
    char *help;
    int kind;
    char *label_names[MAX_LABELS];
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    struct brr_metric *series, *series_tail;
    struct family *next;
} family_t;

struct brr_metric {
    family_t *fam;
    char *label_values[MAX_LABELS];
    char *labels;      /* rendered, without braces; "" when none */
    double value;      /* counter, gauge */
    uint64_t *buckets; /* histogram: nbounds + 1 (the last is +Inf) */
    double sum;
    uint64_t count;
    struct brr_metric *next;
};

typedef struct {
    void (*fn)(void *arg);
    void *arg;
} collector_t;

static family_t *families, *families_tail;
static collector_t *collectors;
static size_t ncollectors;

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        abort();
    return p;
}

static void die(const char *what, const char *name)
{
    fprintf(stderr, "brr metrics: %s: \"%s\"\n", what, name);
    abort();
}

static void buf_reserve(buf_t *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    while (b->len + more + 1 > b->cap)
        b->cap = b->cap ? b->cap * 2 : 4096;
    b->p = realloc(b->p, b->cap);
    if (b->p == NULL)
        abort();
}

static void buf_add(buf_t *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_puts(buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_double(buf_t *b, double v)
{
    char tmp[40];

    if (isnan(v))
        snprintf(tmp, sizeof(tmp), "NaN");
    else if (isinf(v))
        snprintf(tmp, sizeof(tmp), "%s", v > 0 ? "+Inf" : "-Inf");
    else {
        /* The shortest of %.15g and %.17g that reads back as v. */
        snprintf(tmp, sizeof(tmp), "%.15g", v);
        if (strtod(tmp, NULL) != v)
            snprintf(tmp, sizeof(tmp), "%.17g", v);
    }
    buf_puts(b, tmp);
}

static void buf_u64(buf_t *b, uint64_t v)
{
    char tmp[24];

    snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    buf_puts(b, tmp);
}

size_t brr_metrics_escape_label(const char *v, char *out, size_t cap)
{
    size_t n = 0;

    for (; *v != '\0'; v++) {
        const char *rep = NULL;
        size_t rl, i;
        char c[2] = {*v, '\0'};

        if (*v == '\\')
            rep = "\\\\";
        else if (*v == '"')
            rep = "\\\"";
        else if (*v == '\n')
            rep = "\\n";
        else
            rep = c;
        rl = strlen(rep);
        for (i = 0; i < rl; i++, n++)
            if (n + 1 < cap)
                out[n] = rep[i];
    }
    if (cap > 0)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

/* HELP text escapes only backslash and newline. */
static void buf_help(buf_t *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            buf_puts(b, "\\\\");
        else if (*s == '\n')
            buf_puts(b, "\\n");
        else
            buf_add(b, s, 1);
    }
}

static int valid_name(const char *s, int colon_ok)
{
    const char *p;

    if (s == NULL || *s == '\0')
        return 0;
    for (p = s; *p != '\0'; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    *p == '_' || (colon_ok && *p == ':');
        if (!alpha && !(p != s && *p >= '0' && *p <= '9'))
            return 0;
    }
    return 1;
}

static family_t *family_get(const char *name, const char *help, int kind,
                            char *const *lnames, size_t nlabels,
                            const double *bounds, size_t nbounds)
{
    family_t *f;
    size_t i;

    for (f = families; f != NULL; f = f->next) {
        if (strcmp(f->name, name) != 0)
            continue;
        if (f->kind != kind || f->nlabels != nlabels)
            die("metric registered again with another type or labels", name);
        for (i = 0; i < nlabels; i++)
            if (strcmp(f->label_names[i], lnames[i]) != 0)
                die("metric registered again with other label names", name);
        return f;
    }
    if (!valid_name(name, 1))
        die("invalid metric name", name);
    for (i = 0; i < nlabels; i++)
        if (!valid_name(lnames[i], 0) || strncmp(lnames[i], "__", 2) == 0 ||
            (kind == KIND_HISTOGRAM && strcmp(lnames[i], "le") == 0))
            die("invalid label name", lnames[i]);
    for (i = 0; i < nbounds; i++)
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            die("histogram bounds must be finite and increasing", name);
    f = xmalloc(sizeof(*f));
    memset(f, 0, sizeof(*f));
    f->name = xstrdup(name);
    f->help = xstrdup(help != NULL ? help : "");
    f->kind = kind;
    f->nlabels = nlabels;
    for (i = 0; i < nlabels; i++)
        f->label_names[i] = xstrdup(lnames[i]);
    if (nbounds > 0) {
        f->bounds = xmalloc(nbounds * sizeof(double));
        memcpy(f->bounds, bounds, nbounds * sizeof(double));
    }
    f->nbounds = nbounds;
    if (families_tail != NULL)
        families_tail->next = f;
    else
        families = f;
    families_tail = f;
    return f;
}

static struct brr_metric *series_get(const char *name, const char *help,
                                     int kind, const double *bounds,
                                     size_t nbounds, va_list ap)
{
    char *lnames[MAX_LABELS], *lvalues[MAX_LABELS];
    size_t n = 0, i, need;
    const char *k;
    family_t *f;
    struct brr_metric *m;
    buf_t lb = {0};

    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        if (n == MAX_LABELS || v == NULL)
            die("too many labels or a label without value", name);
        lnames[n] = (char *)k;
        lvalues[n] = (char *)v;
        n++;
    }
    f = family_get(name, help, kind, lnames, n, bounds, nbounds);
    for (m = f->series; m != NULL; m = m->next) {
        for (i = 0; i < n; i++)
            if (strcmp(m->label_values[i], lvalues[i]) != 0)
                break;
        if (i == n)
            return m;
    }
    m = xmalloc(sizeof(*m));
    memset(m, 0, sizeof(*m));
    m->fam = f;
    buf_puts(&lb, "");
    for (i = 0; i < n; i++) {
        char *esc;

        m->label_values[i] = xstrdup(lvalues[i]);
        need = brr_metrics_escape_label(lvalues[i], NULL, 0);
        esc = xmalloc(need + 1);
        brr_metrics_escape_label(lvalues[i], esc, need + 1);
        if (i > 0)
            buf_puts(&lb, ",");
        buf_puts(&lb, lnames[i]);
        buf_puts(&lb, "=\"");
        buf_puts(&lb, esc);
        buf_puts(&lb, "\"");
        free(esc);
    }
    m->labels = lb.p;
    if (kind == KIND_HISTOGRAM) {
        m->buckets = xmalloc((f->nbounds + 1) * sizeof(uint64_t));
        memset(m->buckets, 0, (f->nbounds + 1) * sizeof(uint64_t));
    }
    if (f->series_tail != NULL)
        f->series_tail->next = m;
    else
        f->series = m;
    f->series_tail = m;
    return m;
}

brr_counter_t *brr_metrics_counter(const char *name, const char *help, ...)
{
    va_list ap;
    brr_counter_t *c;

    va_start(ap, help);
    c = series_get(name, help, KIND_COUNTER, NULL, 0, ap);
    va_end(ap);
    return c;
}

brr_gauge_t *brr_metrics_gauge(const char *name, const char *help, ...)
{
    va_list ap;
    brr_gauge_t *g;

    va_start(ap, help);
    g = series_get(name, help, KIND_GAUGE, NULL, 0, ap);
    va_end(ap);
    return g;
}

brr_histogram_t *brr_metrics_histogram(const char *name, const char *help,
                                       const double *bounds, size_t nbounds,
                                       ...)
{
    va_list ap;
    brr_histogram_t *h;

    va_start(ap, nbounds);
    h = series_get(name, help, KIND_HISTOGRAM, bounds, nbounds, ap);
    va_end(ap);
    return h;
}

void brr_counter_inc(brr_counter_t *c)
{
    c->value += 1;
}

void brr_counter_add(brr_counter_t *c, double v)
{
    if (v >= 0)
        c->value += v;
}

void brr_counter_set(brr_counter_t *c, double v)
{
    c->value = v;
}

void brr_gauge_set(brr_gauge_t *g, double v)
{
    g->value = v;
}

void brr_gauge_add(brr_gauge_t *g, double v)
{
    g->value += v;
}

void brr_histogram_observe(brr_histogram_t *h, double v)
{
    const family_t *f = h->fam;
    size_t i;

    /* Buckets hold their own count; render makes them cumulative. */
    for (i = 0; i < f->nbounds && v > f->bounds[i]; i++)
        ;
    h->buckets[i]++;
    h->sum += v;
    h->count++;
}

double brr_metrics_value(const brr_counter_t *m)
{
    return m->value;
}

void brr_metrics_add_collector(void (*fn)(void *arg), void *arg)
{
    collectors = realloc(collectors, (ncollectors + 1) * sizeof(*collectors));
    if (collectors == NULL)
        abort();
    collectors[ncollectors].fn = fn;
    collectors[ncollectors].arg = arg;
    ncollectors++;
}

/* name{labels[,extra]} or name when there are none. */
static void put_series(buf_t *b, const char *name, const char *suffix,
                       const char *labels, const char *extra)
{
    buf_puts(b, name);
    buf_puts(b, suffix);
    if (labels[0] == '\0' && extra == NULL)
        return;
    buf_puts(b, "{");
    buf_puts(b, labels);
    if (extra != NULL) {
        if (labels[0] != '\0')
            buf_puts(b, ",");
        buf_puts(b, extra);
    }
    buf_puts(b, "}");
}

static void render_histogram(buf_t *b, const family_t *f,
                             const struct brr_metric *m)
{
    uint64_t cum = 0;
    size_t i;
    buf_t le = {0};

    for (i = 0; i <= f->nbounds; i++) {
        cum += m->buckets[i];
        le.len = 0;
        buf_puts(&le, "le=\"");
        if (i < f->nbounds)
            buf_double(&le, f->bounds[i]);
        else
            buf_puts(&le, "+Inf");
        buf_puts(&le, "\"");
        put_series(b, f->name, "_bucket", m->labels, le.p);
        buf_puts(b, " ");
        buf_u64(b, cum);
        buf_puts(b, "\n");
    }
    free(le.p);
    put_series(b, f->name, "_sum", m->labels, NULL);
    buf_puts(b, " ");
    buf_double(b, m->sum);
    buf_puts(b, "\n");
    put_series(b, f->name, "_count", m->labels, NULL);
    buf_puts(b, " ");
    buf_u64(b, m->count);
    buf_puts(b, "\n");
}

char *brr_metrics_render(size_t *len)
{
    buf_t b = {0};
    const family_t *f;
    const struct brr_metric *m;
    size_t i;

    for (i = 0; i < ncollectors; i++)
        collectors[i].fn(collectors[i].arg);
    buf_puts(&b, "");
    for (f = families; f != NULL; f = f->next) {
        buf_puts(&b, "# HELP ");
        buf_puts(&b, f->name);
        buf_puts(&b, " ");
        buf_help(&b, f->help);
        buf_puts(&b, "\n# TYPE ");
        buf_puts(&b, f->name);
        buf_puts(&b, " ");
        buf_puts(&b, kind_name[f->kind]);
        buf_puts(&b, "\n");
        for (m = f->series; m != NULL; m = m->next) {
            if (f->kind == KIND_HISTOGRAM) {
                render_histogram(&b, f, m);
                continue;
            }
            put_series(&b, f->name, "", m->labels, NULL);
            buf_puts(&b, " ");
            buf_double(&b, m->value);
            buf_puts(&b, "\n");
        }
    }
    if (len != NULL)
        *len = b.len;
    return b.p;
}

void brr_metrics_reset(void)
{
    family_t *f, *fnext;
    struct brr_metric *m, *mnext;
    size_t i;

    for (f = families; f != NULL; f = fnext) {
        fnext = f->next;
        for (m = f->series; m != NULL; m = mnext) {
            mnext = m->next;
            for (i = 0; i < f->nlabels; i++)
                free(m->label_values[i]);
            free(m->labels);
            free(m->buckets);
            free(m);
        }
        for (i = 0; i < f->nlabels; i++)
            free(f->label_names[i]);
        free(f->name);
        free(f->help);
        free(f->bounds);
        free(f);
    }
    families = families_tail = NULL;
    free(collectors);
    collectors = NULL;
    ncollectors = 0;
}
