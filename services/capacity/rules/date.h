/*
 * date.h: calendar dates for the capacity rules, as days since 1970-01-01.
 *
 * Pure: no I/O.  Norm sets are picked by the application's reference date
 * and the 12-month block after a lapse is counted in calendar months, so
 * the rules need exact day arithmetic without any clock or time zone.
 *
 * These are thin wrappers over the shared civil-date module
 * (services/common/calendar.h, brr_calendar_*), kept so that existing
 * callers need not change; new code may call brr_calendar_* directly.
 */
#ifndef BRR_CAPACITY_DATE_H
#define BRR_CAPACITY_DATE_H

#include "calendar.h" /* brr_date_t */

#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 for a valid y-m-d (the caller checks validity). */
brr_date_t capacity_date_from_ymd(int y, int m, int d);

/* Splits a date into year, month (1-12) and day (1-31). */
void capacity_date_to_ymd(brr_date_t t, int *y, int *m, int *d);

/* Parses "YYYY-MM-DD" (exactly len bytes, a real day, 1900..2999).
 * Returns 0, or BRR_EINVAL. */
int capacity_date_parse(const char *s, size_t len, brr_date_t *out);

/* Writes "YYYY-MM-DD" and a NUL into out (11 bytes). */
void capacity_date_format_iso(brr_date_t t, char out[11]);

/* Writes the Dutch form "1 januari 2025" into out (24 bytes is enough). */
void capacity_date_format_nl(brr_date_t t, char out[24]);

/* The same day n calendar months later; the day is clamped to the end of
 * a shorter month (31 January + 1 month = 28 or 29 February). */
brr_date_t capacity_date_add_months(brr_date_t t, int n);

#endif
