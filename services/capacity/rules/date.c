/*
 * date.c: day arithmetic for the capacity rules (date.h), as thin wrappers
 * over services/common/calendar.c.
 *
 * Pure: no I/O.  The year range of capacity_date_parse (1900..2999) and its
 * error code (BRR_EINVAL) are this module's contract and stay as they were.
 */
#include "date.h"

#include "err.h"

#define CAPACITY_DATE_MIN_YEAR 1900
#define CAPACITY_DATE_MAX_YEAR 2999

brr_date_t capacity_date_from_ymd(int y, int m, int d)
{
    return brr_calendar_from_ymd(y, m, d);
}

void capacity_date_to_ymd(brr_date_t t, int *y, int *m, int *d)
{
    int32_t yy;

    brr_calendar_to_ymd(t, &yy, m, d);
    if (y != NULL)
        *y = (int)yy;
}

int capacity_date_parse(const char *s, size_t len, brr_date_t *out)
{
    if (brr_calendar_parse(s, len, CAPACITY_DATE_MIN_YEAR,
                           CAPACITY_DATE_MAX_YEAR, out) != 0)
        return BRR_EINVAL;
    return 0;
}

void capacity_date_format_iso(brr_date_t t, char out[11])
{
    brr_calendar_format_iso(t, out);
}

void capacity_date_format_nl(brr_date_t t, char out[24])
{
    brr_calendar_format_nl(t, out);
}

brr_date_t capacity_date_add_months(brr_date_t t, int n)
{
    return brr_calendar_add_months(t, n);
}
