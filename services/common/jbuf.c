/*
 * jbuf.c: see jbuf.h.
 */
#include "jbuf.h"

#include <stdlib.h>
#include <string.h>

void brr_jbuf_init(brr_jbuf_t *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
}

void brr_jbuf_free(brr_jbuf_t *b)
{
    free(b->p);
    brr_jbuf_init(b);
}

void brr_jbuf_reset(brr_jbuf_t *b)
{
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}

/* Room for n more bytes and the NUL. */
static void reserve(brr_jbuf_t *b, size_t n)
{
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return;
    if (need < b->len) /* overflow */
        abort();
    b->cap = b->cap ? b->cap : 256;
    while (b->cap < need)
        b->cap *= 2;
    b->p = realloc(b->p, b->cap);
    if (b->p == NULL)
        abort();
}

void brr_jbuf_put(brr_jbuf_t *b, const void *s, size_t n)
{
    reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void brr_jbuf_puts(brr_jbuf_t *b, const char *s)
{
    brr_jbuf_put(b, s, strlen(s));
}

void brr_jbuf_putc(brr_jbuf_t *b, char c)
{
    reserve(b, 1);
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

/* The length of the well-formed UTF-8 sequence at s (at most n bytes),
 * or 0 when it is not one (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned int cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1fu;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0fu;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

void brr_jbuf_strn(brr_jbuf_t *b, const char *s, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    char *o;
    if (s == NULL) {
        brr_jbuf_put(b, "null", 4);
        return;
    }
    reserve(b, 6 * n + 2); /* the worst case: every byte as \uXXXX */
    o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        size_t l;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *o++ = (char)c;
            i++;
            continue;
        }
        if (c >= 0x80) {
            if ((l = utf8_len(u + i, n - i)) != 0) {
                memcpy(o, u + i, l);
                o += l;
                i += l;
            } else {
                /* not UTF-8: U+FFFD, so the text stays JSON */
                memcpy(o, "\\ufffd", 6);
                o += 6;
                i++;
            }
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        case 0:
            /* PostgreSQL's jsonb refuses \u0000 */
            memcpy(o, "ufffd", 5);
            o += 5;
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hx[c >> 4];
            *o++ = hx[c & 15];
        }
        i++;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
}

void brr_jbuf_str(brr_jbuf_t *b, const char *s)
{
    brr_jbuf_strn(b, s, s != NULL ? strlen(s) : 0);
}

void brr_jbuf_int(brr_jbuf_t *b, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    /* via the unsigned magnitude, so INT64_MIN works too */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        tmp[n++] = '-';
    reserve(b, n);
    while (n > 0)
        b->p[b->len++] = tmp[--n];
    b->p[b->len] = '\0';
}

void brr_jbuf_hex(brr_jbuf_t *b, const unsigned char *d, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    reserve(b, 2 * n);
    for (size_t i = 0; i < n; i++) {
        b->p[b->len++] = hx[d[i] >> 4];
        b->p[b->len++] = hx[d[i] & 15];
    }
    b->p[b->len] = '\0';
}

char *brr_jbuf_extend(brr_jbuf_t *b, size_t n)
{
    char *at;
    reserve(b, n);
    at = b->p + b->len;
    b->len += n;
    b->p[b->len] = '\0';
    return at;
}

void brr_jbuf_unput(brr_jbuf_t *b, char c)
{
    if (b->len > 0 && b->p[b->len - 1] == c)
        b->p[--b->len] = '\0';
}

void brr_jbuf_key(brr_jbuf_t *b, const char *name)
{
    brr_jbuf_putc(b, '"');
    brr_jbuf_puts(b, name);
    brr_jbuf_puts(b, "\":");
}

void brr_jbuf_member_str(brr_jbuf_t *b, const char *name, const char *s)
{
    brr_jbuf_key(b, name);
    brr_jbuf_str(b, s);
    brr_jbuf_putc(b, ',');
}

void brr_jbuf_member_int(brr_jbuf_t *b, const char *name, int64_t v)
{
    brr_jbuf_key(b, name);
    brr_jbuf_int(b, v);
    brr_jbuf_putc(b, ',');
}

void brr_jbuf_member_bool(brr_jbuf_t *b, const char *name, int v)
{
    brr_jbuf_key(b, name);
    brr_jbuf_puts(b, v ? "true," : "false,");
}

void brr_jbuf_end_object(brr_jbuf_t *b)
{
    brr_jbuf_unput(b, ',');
    brr_jbuf_puts(b, "},");
}

const char *brr_jbuf_cstr(brr_jbuf_t *b)
{
    if (b->p == NULL)
        reserve(b, 0);
    b->p[b->len] = '\0';
    return b->p;
}
