/*
 * validate.c: the input rules of DOMAIN.md §7 (validate.h).
 *
 * Pure: no I/O.  Intake runs these on every application before anything is
 * stored; each check reads at most len bytes and writes its normalised
 * output only when the input is valid.
 */
#include "validate.h"

#include <stdint.h>
#include <string.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

int brr_bsn_valid(const char *s, size_t len, char out[10])
{
    char d[9];
    int sum = 0, nonzero = 0;

    if (s == NULL || (len != 8 && len != 9) || !all_digits(s, len))
        return 0;
    /* Old BSNs (sofinummers) were issued with 8 digits; the leading zero
     * is implied. */
    d[0] = '0';
    memcpy(d + (9 - len), s, len);
    for (int i = 0; i < 9; i++) {
        int v = d[i] - '0';
        nonzero |= v;
        sum += i < 8 ? (9 - i) * v : -v;
    }
    if (!nonzero || sum % 11 != 0)
        return 0;
    if (out) {
        memcpy(out, d, 9);
        out[9] = '\0';
    }
    return 1;
}

void brr_bsn_mask(const char *bsn, char out[10])
{
    size_t len = bsn ? strnlen(bsn, 10) : 0;

    memcpy(out, "*****", 6);
    if ((len == 8 || len == 9) && all_digits(bsn, len))
        memcpy(out + 5, bsn + len - 4, 5); /* last four and the NUL */
}

/* IBAN lengths of the SEPA countries and territories (SWIFT IBAN
 * registry).  A country not listed is not accepted: brr pays only within
 * SEPA. */
static const struct {
    char cc[3];
    uint8_t len;
} iban_lengths[] = {
    {"AD", 24}, {"AL", 28}, {"AT", 20}, {"BE", 16}, {"BG", 22}, {"CH", 21},
    {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"EE", 20}, {"ES", 24},
    {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GI", 23}, {"GL", 18},
    {"GR", 27}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IS", 26}, {"IT", 27},
    {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
    {"ME", 22}, {"MK", 19}, {"MT", 31}, {"NL", 18}, {"NO", 15}, {"PL", 28},
    {"PT", 25}, {"RO", 24}, {"RS", 22}, {"SE", 24}, {"SI", 19}, {"SK", 24},
    {"SM", 27}, {"VA", 22},
};

static size_t iban_country_len(const char *cc)
{
    for (size_t i = 0; i < sizeof(iban_lengths) / sizeof(iban_lengths[0]); i++)
        if (cc[0] == iban_lengths[i].cc[0] && cc[1] == iban_lengths[i].cc[1])
            return iban_lengths[i].len;
    return 0;
}

/* ISO 7064 mod 97-10 over the rearranged IBAN, one digit at a time so the
 * remainder never exceeds 3 digits (the "piecewise" method without big
 * numbers). */
static int iban_mod97(const char *iban, size_t n)
{
    unsigned rem = 0;

    for (size_t k = 0; k < n; k++) {
        char c = iban[(k + 4) % n];
        if (is_digit(c)) {
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        } else {
            unsigned v = (unsigned)(c - 'A') + 10;
            rem = (rem * 100 + v) % 97;
        }
    }
    return (int)rem;
}

int brr_iban_valid(const char *s, size_t len, char out[35])
{
    char iban[35];
    size_t n = 0, want;

    if (s == NULL)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (!is_digit(c) && !is_upper(c))
            return 0;
        if (n == 34)
            return 0; /* longer than any IBAN */
        iban[n++] = c;
    }
    if (n < 5 || !is_upper(iban[0]) || !is_upper(iban[1]) ||
        !is_digit(iban[2]) || !is_digit(iban[3]))
        return 0;
    want = iban_country_len(iban);
    if (want == 0 || n != want)
        return 0;
    /* 00, 01 and 99 pass mod 97 as aliases of 97, 98 and 02 but are never
     * issued. */
    int check = (iban[2] - '0') * 10 + (iban[3] - '0');
    if (check < 2 || check > 98)
        return 0;
    if (iban[0] == 'N' && iban[1] == 'L') {
        for (size_t i = 4; i < 8; i++)
            if (!is_upper(iban[i]))
                return 0;
        if (!all_digits(iban + 8, 10))
            return 0;
    }
    if (iban_mod97(iban, n) != 1)
        return 0;
    if (out) {
        memcpy(out, iban, n);
        out[n] = '\0';
    }
    return 1;
}

int brr_postcode_valid(const char *s, size_t len, char out[7])
{
    const char *l;

    if (s == NULL || (len != 6 && len != 7))
        return 0;
    if (s[0] < '1' || s[0] > '9' || !all_digits(s + 1, 3))
        return 0;
    if (len == 7 && s[4] != ' ')
        return 0;
    l = s + len - 2;
    if (!is_upper(l[0]) || !is_upper(l[1]))
        return 0;
    /* SA, SD and SS are not issued (their wartime connotations). */
    if (l[0] == 'S' && (l[1] == 'A' || l[1] == 'D' || l[1] == 'S'))
        return 0;
    if (out) {
        memcpy(out, s, 4);
        out[4] = l[0];
        out[5] = l[1];
        out[6] = '\0';
    }
    return 1;
}

static int num(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int brr_date_valid(const char *s, size_t len, int *y, int *m, int *d)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int yy, mm, dd, max;

    if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-' ||
        !all_digits(s, 4) || !all_digits(s + 5, 2) || !all_digits(s + 8, 2))
        return 0;
    yy = num(s, 4);
    mm = num(s + 5, 2);
    dd = num(s + 8, 2);
    if (yy < 1900 || yy > 2999 || mm < 1 || mm > 12 || dd < 1)
        return 0;
    max = days[mm - 1];
    if (mm == 2 && yy % 4 == 0 && (yy % 100 != 0 || yy % 400 == 0))
        max = 29;
    if (dd > max)
        return 0;
    if (y)
        *y = yy;
    if (m)
        *m = mm;
    if (d)
        *d = dd;
    return 1;
}

int brr_org_code_valid(const char *s, size_t len)
{
    if (s == NULL || len < 2 || len > 16)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_upper(s[i]) && !is_digit(s[i]) && s[i] != '-')
            return 0;
    return 1;
}

int brr_text_valid(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}
