/*
 * calendar.c: civil-date arithmetic (calendar.h).
 *
 * Pure: no I/O, no clock.  Shared by the capacity and distribution rules so
 * that both count months the same way; the intermediate values are 64-bit
 * so that no int32 day count can overflow.
 */
#include "calendar.h"

#include "err.h"

#include <string.h>

int brr_calendar_is_leap(int32_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int brr_calendar_days_in_month(int32_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && brr_calendar_is_leap(y))
        return 29;
    return dim[m - 1];
}

brr_date_t brr_calendar_from_ymd(int32_t y, int m, int d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return (brr_date_t)(era * 146097 + doe - 719468);
}

void brr_calendar_to_ymd(brr_date_t t, int32_t *y, int *m, int *d)
{
    int64_t z = (int64_t)t + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int dd = (int)(doy - (153 * mp + 2) / 5 + 1);
    int mm = (int)(mp < 10 ? mp + 3 : mp - 9);

    if (y != NULL)
        *y = (int32_t)(yoe + era * 400 + (mm <= 2));
    if (m != NULL)
        *m = mm;
    if (d != NULL)
        *d = dd;
}

static int digits(const char *s, size_t n, int32_t *out)
{
    int32_t v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return BRR_EPARSE;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int brr_calendar_parse(const char *s, size_t len, int32_t min_year,
                       int32_t max_year, brr_date_t *out)
{
    int32_t y, m, d;

    if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-')
        return BRR_EPARSE;
    if (digits(s, 4, &y) != 0 || digits(s + 5, 2, &m) != 0 ||
        digits(s + 8, 2, &d) != 0)
        return BRR_EPARSE;
    if (y < min_year || y > max_year || m < 1 || m > 12 || d < 1 ||
        d > brr_calendar_days_in_month(y, (int)m))
        return BRR_EPARSE;
    *out = brr_calendar_from_ymd(y, (int)m, (int)d);
    return 0;
}

/* Writes v with at least width digits, zero-padded, and returns the end. */
static char *put_uint(char *p, uint32_t v, int width)
{
    char tmp[12];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n < width)
        tmp[n++] = '0';
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

char *brr_calendar_format_iso(brr_date_t t, char out[11])
{
    int32_t y;
    int m, d;
    char *p = out;

    brr_calendar_to_ymd(t, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = 0;
    p = put_uint(p, (uint32_t)y, 4);
    *p++ = '-';
    p = put_uint(p, (uint32_t)m, 2);
    *p++ = '-';
    p = put_uint(p, (uint32_t)d, 2);
    *p = '\0';
    return out;
}

char *brr_calendar_format_nl(brr_date_t t, char out[24])
{
    static const char *const months[12] = {
        "januari", "februari", "maart",     "april",   "mei",      "juni",
        "juli",    "augustus", "september", "oktober", "november", "december"};
    int32_t y;
    int m, d;
    char *p = out;
    size_t n;

    brr_calendar_to_ymd(t, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = 0;
    p = put_uint(p, (uint32_t)d, 1);
    *p++ = ' ';
    n = strlen(months[m - 1]);
    memcpy(p, months[m - 1], n);
    p += n;
    *p++ = ' ';
    p = put_uint(p, (uint32_t)y, 4);
    *p = '\0';
    return out;
}

void brr_calendar_month_split(int64_t idx, int32_t *y, int *m)
{
    int64_t yy = idx >= 0 ? idx / 12 : -((-idx + 11) / 12);

    *y = (int32_t)yy;
    *m = (int)(idx - yy * 12) + 1;
}

brr_date_t brr_calendar_add_months(brr_date_t t, int32_t n)
{
    int32_t y;
    int m, d, dim;

    brr_calendar_to_ymd(t, &y, &m, &d);
    brr_calendar_month_split((int64_t)y * 12 + (m - 1) + n, &y, &m);
    dim = brr_calendar_days_in_month(y, m);
    return brr_calendar_from_ymd(y, m, d > dim ? dim : d);
}
