/*
 * money.h: amounts in euro cents as int64, every operation overflow-checked.
 *
 * Pure: no I/O.  The rules (capacity, split, schedule) build on these.
 * Functions return 0 or BRR_EOVERFLOW / BRR_EINVAL and write the result
 * through an out-parameter, so an overflow can never pass silently.
 */
#ifndef BRR_MONEY_H
#define BRR_MONEY_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t brr_cents_t;

/* The largest amount brr accepts anywhere: 1e13 cents (100 billion euro).
 * Anything larger is absurd input, not a debt. */
#define BRR_CENTS_MAX INT64_C(10000000000000)

/* 1 when -BRR_CENTS_MAX <= a <= BRR_CENTS_MAX, else 0.  Every function
 * below fails with BRR_EOVERFLOW rather than return a result outside that
 * range. */
int brr_money_valid(brr_cents_t a);

int brr_money_add(brr_cents_t a, brr_cents_t b, brr_cents_t *out);
int brr_money_sub(brr_cents_t a, brr_cents_t b, brr_cents_t *out);
int brr_money_mul(brr_cents_t a, int64_t factor, brr_cents_t *out);

/* a * num / den with a 128-bit intermediate, rounded down (floor) or up
 * (ceil); den > 0.  Used for percentages in basis points (den 10000). */
int brr_money_muldiv_floor(brr_cents_t a, int64_t num, int64_t den,
                           brr_cents_t *out);
int brr_money_muldiv_ceil(brr_cents_t a, int64_t num, int64_t den,
                          brr_cents_t *out);

/* ceil(a / b) for a >= 0, b > 0. */
int brr_money_div_ceil(brr_cents_t a, int64_t b, int64_t *out);

/* Rounds a >= 0 up to a multiple of step > 0. */
int brr_money_round_up(brr_cents_t a, int64_t step, brr_cents_t *out);

/* Sum of n amounts, overflow-checked. */
int brr_money_sum(const brr_cents_t *v, size_t n, brr_cents_t *out);

/* Formats as Dutch text "€ 1.345,45" (negative: "-€ 1.345,45") into buf;
 * returns buf.  cap of 32 is always enough. */
char *brr_money_format_nl(brr_cents_t a, char *buf, size_t cap);

#endif
