/*
 * date.c: day arithmetic for the capacity rules (date.h).
 *
 * Pure: no I/O.  Conversions follow Howard Hinnant's civil-from-days
 * algorithms, exact for every date brr accepts.
 */
#include "date.h"

#include "err.h"
#include "validate.h"

#include <string.h>

brr_date_t capacity_date_from_ymd(int y, int m, int d)
{
    int era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (brr_date_t)(era * 146097 + doe - 719468);
}

void capacity_date_to_ymd(brr_date_t t, int *y, int *m, int *d)
{
    int z = t + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    int mm = mp < 10 ? mp + 3 : mp - 9;

    *y = yoe + era * 400 + (mm <= 2);
    *m = mm;
    *d = doy - (153 * mp + 2) / 5 + 1;
}

int capacity_date_parse(const char *s, size_t len, brr_date_t *out)
{
    int y, m, d;

    if (s == NULL || !brr_date_valid(s, len, &y, &m, &d))
        return BRR_EINVAL;
    *out = capacity_date_from_ymd(y, m, d);
    return 0;
}

static char *put_uint(char *p, unsigned v, int width)
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

void capacity_date_format_iso(brr_date_t t, char out[11])
{
    int y, m, d;
    char *p = out;

    capacity_date_to_ymd(t, &y, &m, &d);
    p = put_uint(p, (unsigned)y, 4);
    *p++ = '-';
    p = put_uint(p, (unsigned)m, 2);
    *p++ = '-';
    p = put_uint(p, (unsigned)d, 2);
    *p = '\0';
}

void capacity_date_format_nl(brr_date_t t, char out[24])
{
    static const char *const months[12] = {
        "januari", "februari", "maart",     "april",   "mei",      "juni",
        "juli",    "augustus", "september", "oktober", "november", "december"};
    int y, m, d;
    char *p = out;
    size_t n;

    capacity_date_to_ymd(t, &y, &m, &d);
    p = put_uint(p, (unsigned)d, 1);
    *p++ = ' ';
    n = strlen(months[m - 1]);
    memcpy(p, months[m - 1], n);
    p += n;
    *p++ = ' ';
    p = put_uint(p, (unsigned)y, 4);
    *p = '\0';
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dim[m - 1];
}

brr_date_t capacity_date_add_months(brr_date_t t, int n)
{
    int y, m, d, idx, dim;

    capacity_date_to_ymd(t, &y, &m, &d);
    idx = y * 12 + (m - 1) + n;
    y = idx / 12;
    m = idx % 12 + 1;
    dim = days_in_month(y, m);
    if (d > dim)
        d = dim;
    return capacity_date_from_ymd(y, m, d);
}
