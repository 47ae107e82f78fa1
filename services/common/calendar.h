/*
 * calendar.h: civil dates as whole days since 1970-01-01, for every rule
 * that counts days or months (capacity, distribution, pause).
 *
 * Pure: no I/O, no clock, no time zone.  A brr_date_t is a civil date in
 * the proleptic Gregorian calendar; the caller turns "now" into today's
 * Amsterdam date and passes it in, so the rules stay reproducible.  The
 * conversions are Howard Hinnant's days_from_civil / civil_from_days,
 * exact for every int32 day count used here.
 *
 * The rules modules keep their own names as thin wrappers over this one
 * (capacity_date_* in services/capacity/rules/date.h, dist_* civil-date
 * functions in services/distribution/rules/schedule.h).
 */
#ifndef BRR_CALENDAR_H
#define BRR_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

typedef int32_t brr_date_t; /* days since 1970-01-01 (proleptic Gregorian) */

/* Nonzero for a Gregorian leap year. */
int brr_calendar_is_leap(int32_t y);

/* Days in month m (1..12) of year y. */
int brr_calendar_days_in_month(int32_t y, int m);

/* Days since 1970-01-01 of the valid date y-m-d (negative before 1970);
 * the caller checks validity. */
brr_date_t brr_calendar_from_ymd(int32_t y, int m, int d);

/* Splits day t into year, month (1..12) and day (1..31); any pointer may
 * be NULL. */
void brr_calendar_to_ymd(brr_date_t t, int32_t *y, int *m, int *d);

/* Parses exactly "YYYY-MM-DD" (len bytes, no NUL needed): four, two and two
 * digits, a real day, year min_year..max_year.  Returns 0 and sets *out, or
 * BRR_EPARSE (out untouched). */
int brr_calendar_parse(const char *s, size_t len, int32_t min_year,
                       int32_t max_year, brr_date_t *out);

/* Writes t as "YYYY-MM-DD" and a NUL into out (11 bytes) and returns out.
 * A year outside 0..9999 is written as 0000: such a day is never parsed. */
char *brr_calendar_format_iso(brr_date_t t, char out[11]);

/* Writes the Dutch form "1 januari 2025" and a NUL into out (24 bytes is
 * enough for years 0..9999) and returns out. */
char *brr_calendar_format_nl(brr_date_t t, char out[24]);

/* The same day n calendar months later (n may be negative); a day past the
 * end of the target month becomes its last day (31 January + 1 month =
 * 28 or 29 February). */
brr_date_t brr_calendar_add_months(brr_date_t t, int32_t n);

/* Splits a month count since year 0 (year * 12 + month - 1, flooring for
 * negative counts) into year and month (1..12). */
void brr_calendar_month_split(int64_t idx, int32_t *y, int *m);

#endif
