/*
 * backoff.c: retry delays, the give-up rule and Retry-After parsing for
 * brr-connector (see backoff.h).  Pure: no I/O, no clock, no randomness of
 * its own.
 */
#include "backoff.h"

#include <stddef.h>
#include <string.h>

#include "err.h"

void conn_backoff_defaults(conn_backoff_t *bo)
{
    bo->base_ms = CONN_BACKOFF_BASE_MS;
    bo->cap_ms = CONN_BACKOFF_CAP_MS;
    bo->max_age_ms = CONN_BACKOFF_MAX_AGE_MS;
}

static uint64_t base_of(const conn_backoff_t *bo)
{
    return bo->base_ms ? bo->base_ms : CONN_BACKOFF_BASE_MS;
}

static uint64_t cap_of(const conn_backoff_t *bo)
{
    return bo->cap_ms ? bo->cap_ms : CONN_BACKOFF_CAP_MS;
}

static uint64_t max_age_of(const conn_backoff_t *bo)
{
    return bo->max_age_ms ? bo->max_age_ms : CONN_BACKOFF_MAX_AGE_MS;
}

uint64_t conn_backoff_ceiling_ms(const conn_backoff_t *bo, uint32_t attempt)
{
    uint64_t base = base_of(bo), cap = cap_of(bo);

    if (base >= cap)
        return cap;
    /* base < cap, so base << attempt exceeds cap exactly when base exceeds
     * cap >> attempt; checking that way round cannot overflow. */
    if (attempt >= 64 || base > (cap >> attempt))
        return cap;
    return base << attempt;
}

uint64_t conn_backoff_delay_ms(const conn_backoff_t *bo, uint32_t attempt,
                               uint64_t rnd)
{
    uint64_t ceiling = conn_backoff_ceiling_ms(bo, attempt);

    if (ceiling == UINT64_MAX)
        return rnd;
    return rnd % (ceiling + 1);
}

int conn_backoff_give_up(const conn_backoff_t *bo, uint64_t first_ms,
                         uint64_t now_ms)
{
    if (now_ms < first_ms)
        return 0;
    return now_ms - first_ms >= max_age_of(bo);
}

uint64_t conn_backoff_next_ms(const conn_backoff_t *bo, uint32_t attempt,
                              uint64_t rnd, int64_t retry_after_s,
                              uint64_t first_ms, uint64_t now_ms)
{
    uint64_t delay, deadline, next;

    if (retry_after_s >= 0)
        delay = (uint64_t)retry_after_s * 1000u;
    else
        delay = conn_backoff_delay_ms(bo, attempt, rnd);
    next = now_ms + delay;
    if (next < now_ms)
        next = UINT64_MAX;
    deadline = first_ms + max_age_of(bo);
    if (deadline < first_ms)
        deadline = UINT64_MAX;
    if (next > deadline)
        next = deadline > now_ms ? deadline : now_ms;
    return next;
}

/* HTTP-date parsing (RFC 9110 §5.6.7), by hand so it stays pure and does
 * not depend on the locale or on timegm(). */

static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
static const char *const day_names[7] = {"Mon", "Tue", "Wed", "Thu",
                                         "Fri", "Sat", "Sun"};
static const char *const long_day_names[7] = {
    "Monday", "Tuesday",  "Wednesday", "Thursday",
    "Friday", "Saturday", "Sunday"};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads exactly n digits at *p; advances *p. */
static int read_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int expect(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

static int read_name(const char **p, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (strncmp(*p, names[i], len) == 0) {
            *p += len;
            return i;
        }
    }
    return -1;
}

/* "HH:MM:SS" */
static int read_time(const char **p, int *h, int *m, int *s)
{
    if (read_digits(p, 2, h) < 0 || expect(p, ':') < 0 ||
        read_digits(p, 2, m) < 0 || expect(p, ':') < 0 ||
        read_digits(p, 2, s) < 0)
        return -1;
    return 0;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int to_unix(int year, int mon, int day, int h, int mi, int s,
                   int64_t *out)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    int dim;

    if (mon < 0 || mon > 11 || year < 1970)
        return -1;
    dim = mdays[mon] + (mon == 1 && is_leap(year));
    if (day < 1 || day > dim || h > 23 || mi > 59 || s > 60)
        return -1;
    *out = days_from_civil(year, mon + 1, day) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

static int only_space_left(const char *p)
{
    while (is_space(*p))
        p++;
    return *p == '\0';
}

int conn_http_date_parse(const char *value, int64_t *out_s)
{
    const char *p = value;
    int day, mon, year, h, mi, s;

    while (is_space(*p))
        p++;
    if (read_name(&p, long_day_names, 7) >= 0) {
        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        if (expect(&p, ',') < 0 || expect(&p, ' ') < 0 ||
            read_digits(&p, 2, &day) < 0 || expect(&p, '-') < 0 ||
            (mon = read_name(&p, month_names, 12)) < 0 || expect(&p, '-') < 0 ||
            read_digits(&p, 2, &year) < 0 || expect(&p, ' ') < 0 ||
            read_time(&p, &h, &mi, &s) < 0 || strncmp(p, " GMT", 4) != 0)
            return BRR_EPARSE;
        p += 4;
        year += year < 70 ? 2000 : 1900;
    } else if (read_name(&p, day_names, 7) >= 0) {
        if (*p == ',') {
            /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
            p++;
            if (expect(&p, ' ') < 0 || read_digits(&p, 2, &day) < 0 ||
                expect(&p, ' ') < 0 ||
                (mon = read_name(&p, month_names, 12)) < 0 ||
                expect(&p, ' ') < 0 || read_digits(&p, 4, &year) < 0 ||
                expect(&p, ' ') < 0 || read_time(&p, &h, &mi, &s) < 0 ||
                strncmp(p, " GMT", 4) != 0)
                return BRR_EPARSE;
            p += 4;
        } else {
            /* asctime: "Sun Nov  6 08:49:37 1994" */
            if (expect(&p, ' ') < 0 ||
                (mon = read_name(&p, month_names, 12)) < 0 ||
                expect(&p, ' ') < 0)
                return BRR_EPARSE;
            if (*p == ' ') {
                p++;
                if (read_digits(&p, 1, &day) < 0)
                    return BRR_EPARSE;
            } else if (read_digits(&p, 2, &day) < 0) {
                return BRR_EPARSE;
            }
            if (expect(&p, ' ') < 0 || read_time(&p, &h, &mi, &s) < 0 ||
                expect(&p, ' ') < 0 || read_digits(&p, 4, &year) < 0)
                return BRR_EPARSE;
        }
    } else {
        return BRR_EPARSE;
    }
    if (!only_space_left(p) || to_unix(year, mon, day, h, mi, s, out_s) < 0)
        return BRR_EPARSE;
    return 0;
}

int conn_retry_after_parse(const char *value, int64_t now_s, uint32_t max_s,
                           uint32_t *out_s)
{
    const char *p = value;
    uint64_t delta = 0;
    int64_t when;

    if (max_s == 0)
        max_s = CONN_RETRY_AFTER_MAX_S;
    if (value == NULL)
        return BRR_EPARSE;
    while (is_space(*p))
        p++;
    if (is_digit(*p)) {
        while (is_digit(*p)) {
            /* Saturate: a huge delta is just "longer than we wait". */
            if (delta <= max_s)
                delta = delta * 10 + (uint64_t)(*p - '0');
            p++;
        }
        if (!only_space_left(p))
            return BRR_EPARSE;
        *out_s = delta > max_s ? max_s : (uint32_t)delta;
        return 0;
    }
    if (conn_http_date_parse(p, &when) < 0)
        return BRR_EPARSE;
    if (when <= now_s)
        *out_s = 0;
    else if (when - now_s > (int64_t)max_s)
        *out_s = max_s;
    else
        *out_s = (uint32_t)(when - now_s);
    return 0;
}
