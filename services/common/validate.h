/*
 * validate.h: input rules of DOMAIN.md §7 (BSN, IBAN, postcode, dates).
 *
 * Pure: no I/O.  Each check returns 1 when valid and 0 when not, and never
 * reads past len.  Normalised forms are written to caller buffers.
 */
#ifndef BRR_VALIDATE_H
#define BRR_VALIDATE_H

#include <stddef.h>

/* BSN: 9 digits (8 digits are left-padded with a 0), not all zeros, and the
 * elfproef 9d1+8d2+...+2d8-d9 = 0 (mod 11).  On success writes the 9-digit
 * form plus NUL into out (10 bytes). */
int brr_bsn_valid(const char *s, size_t len, char out[10]);

/* Masks a BSN for the one place it may be referred to: "*****6708".
 * out gets 10 bytes.  Anything that is not 8 or 9 digits becomes "*****". */
void brr_bsn_mask(const char *bsn, char out[10]);

/* IBAN: spaces stripped, upper-cased, length per country (NL 18 with the
 * NL pattern), ISO 7064 mod 97 == 1 computed piecewise.  out gets the
 * normalised form (35 bytes is enough). */
int brr_iban_valid(const char *s, size_t len, char out[35]);

/* Dutch postcode ^[1-9][0-9]{3} ?[A-Z]{2}$ excluding SA, SD, SS; out gets
 * "1234AB" (7 bytes). */
int brr_postcode_valid(const char *s, size_t len, char out[7]);

/* Calendar date "YYYY-MM-DD" (1900..2999, real days, leap years).  On
 * success writes year, month, day when the pointers are not NULL. */
int brr_date_valid(const char *s, size_t len, int *y, int *m, int *d);

/* Organisation code: 2..16 characters of A-Z, 0-9 and '-'. */
int brr_org_code_valid(const char *s, size_t len);

/* Free text: min..max bytes (s is NUL-terminated), no control characters
 * (below 0x20, or DEL). */
int brr_text_valid(const char *s, size_t min, size_t max);

#endif
