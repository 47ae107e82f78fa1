/*
 * money.c: overflow-checked arithmetic on euro cents (money.h).
 *
 * Pure: no I/O.  Every result must lie within -BRR_CENTS_MAX..BRR_CENTS_MAX;
 * anything beyond is reported as BRR_EOVERFLOW, well before int64 itself
 * would overflow, so a corrupt input can never turn into a plausible debt.
 */
#include "money.h"
#include "err.h"

#include <string.h>

__extension__ typedef __int128 i128;

static int bounded(i128 v, brr_cents_t *out)
{
    if (v > BRR_CENTS_MAX || v < -BRR_CENTS_MAX)
        return BRR_EOVERFLOW;
    *out = (brr_cents_t)v;
    return 0;
}

int brr_money_valid(brr_cents_t a)
{
    return a >= -BRR_CENTS_MAX && a <= BRR_CENTS_MAX;
}

int brr_money_add(brr_cents_t a, brr_cents_t b, brr_cents_t *out)
{
    return bounded((i128)a + b, out);
}

int brr_money_sub(brr_cents_t a, brr_cents_t b, brr_cents_t *out)
{
    return bounded((i128)a - b, out);
}

int brr_money_mul(brr_cents_t a, int64_t factor, brr_cents_t *out)
{
    return bounded((i128)a * factor, out);
}

int brr_money_muldiv_floor(brr_cents_t a, int64_t num, int64_t den,
                           brr_cents_t *out)
{
    i128 p, q;

    if (den <= 0)
        return BRR_EINVAL;
    /* |a * num| < 2^126: the product itself cannot overflow. */
    p = (i128)a * num;
    q = p / den;
    if (p % den < 0) /* C truncates towards zero */
        q--;
    return bounded(q, out);
}

int brr_money_muldiv_ceil(brr_cents_t a, int64_t num, int64_t den,
                          brr_cents_t *out)
{
    i128 p, q;

    if (den <= 0)
        return BRR_EINVAL;
    p = (i128)a * num;
    q = p / den;
    if (p % den > 0)
        q++;
    return bounded(q, out);
}

int brr_money_div_ceil(brr_cents_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b <= 0)
        return BRR_EINVAL;
    *out = a / b + (a % b != 0);
    return 0;
}

int brr_money_round_up(brr_cents_t a, int64_t step, brr_cents_t *out)
{
    int64_t r;

    if (a < 0 || step <= 0)
        return BRR_EINVAL;
    r = a % step;
    return bounded(r == 0 ? (i128)a : (i128)a + (step - r), out);
}

int brr_money_sum(const brr_cents_t *v, size_t n, brr_cents_t *out)
{
    /* Summed in 128 bits and checked once, so only the total has to fit:
     * no realistic n can overflow the accumulator (n * 2^63 < 2^127). */
    i128 s = 0;

    if (v == NULL && n > 0)
        return BRR_EINVAL;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return bounded(s, out);
}

char *brr_money_format_nl(brr_cents_t a, char *buf, size_t cap)
{
    char tmp[40];
    char *p = tmp + sizeof(tmp);
    uint64_t mag = a < 0 ? 0 - (uint64_t)a : (uint64_t)a;
    uint64_t euros = mag / 100, cents = mag % 100;
    int group = 0;
    size_t n;

    *--p = (char)('0' + cents % 10);
    *--p = (char)('0' + cents / 10);
    *--p = ',';
    do {
        if (group == 3) {
            *--p = '.';
            group = 0;
        }
        *--p = (char)('0' + euros % 10);
        euros /= 10;
        group++;
    } while (euros > 0);
    *--p = ' ';
    p -= 3;
    memcpy(p, "\xe2\x82\xac", 3); /* the euro sign in UTF-8 */
    if (a < 0)
        *--p = '-';

    if (buf == NULL || cap == 0)
        return buf;
    n = (size_t)(tmp + sizeof(tmp) - p);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}
