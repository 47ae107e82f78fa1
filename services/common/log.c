/*
 * log.c: brr's logger, one line per event on stderr.
 *
 * Every service logs through brr_log(); a line is formatted completely in
 * memory and handed to the kernel with one write(2), so lines from several
 * processes sharing a pipe never interleave.  logfmt is the default because
 * people read it; JSON is for the log shipper when it asks.
 */
#include "log.h"
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_STACK_LINE 4096

static struct {
    char svc[64];
    brr_log_level_t min;
    brr_log_format_t fmt;
} log_state = {"brr", BRR_LOG_INFO, BRR_LOG_LOGFMT};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Output buffer that keeps counting past cap, like snprintf, so the caller
 * learns how large the line really is. */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
} line_t;

static void put(line_t *l, char c)
{
    if (l->len + 1 < l->cap)
        l->buf[l->len] = c;
    l->len++;
}

static void puts_raw(line_t *l, const char *s)
{
    while (*s)
        put(l, *s++);
}

static void put_hex4(line_t *l, unsigned v)
{
    static const char hex[] = "0123456789abcdef";
    puts_raw(l, "\\u");
    put(l, hex[(v >> 12) & 0xf]);
    put(l, hex[(v >> 8) & 0xf]);
    put(l, hex[(v >> 4) & 0xf]);
    put(l, hex[v & 0xf]);
}

/* Length of the well-formed UTF-8 sequence at s, or 0 when the bytes there
 * are not one (overlong forms, surrogates and truncated sequences
 * included). */
static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0; /* also stops at the NUL */
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return n;
}

/* Writes s escaped for the inside of a double-quoted string; the escapes
 * are JSON's, which logfmt readers (Go's strconv.Unquote) accept too.
 * Invalid UTF-8 becomes U+FFFD so the JSON stays valid. */
static void put_escaped(line_t *l, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        unsigned char c = *p;
        switch (c) {
        case '"':
            puts_raw(l, "\\\"");
            p++;
            continue;
        case '\\':
            puts_raw(l, "\\\\");
            p++;
            continue;
        case '\n':
            puts_raw(l, "\\n");
            p++;
            continue;
        case '\r':
            puts_raw(l, "\\r");
            p++;
            continue;
        case '\t':
            puts_raw(l, "\\t");
            p++;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            put_hex4(l, c);
            p++;
            continue;
        }
        size_t n = utf8_len(p);
        if (n == 0) {
            put_hex4(l, 0xfffd);
            p++;
            continue;
        }
        while (n--)
            put(l, (char)*p++);
    }
}

static int logfmt_needs_quotes(const char *s)
{
    if (*s == '\0')
        return 1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p >= 0x7f)
            return 1;
    }
    return 0;
}

/* Keys come from our own code, but a stray space or '=' would make the
 * line unparseable, so such bytes become '_'. */
static void put_logfmt_key(line_t *l, const char *k)
{
    if (*k == '\0') {
        put(l, '_');
        return;
    }
    for (const unsigned char *p = (const unsigned char *)k; *p; p++)
        put(l, (*p <= ' ' || *p == '=' || *p == '"' || *p >= 0x7f) ? '_'
                                                                   : (char)*p);
}

static void put_logfmt_pair(line_t *l, const char *k, const char *v)
{
    if (l->len > 0)
        put(l, ' ');
    put_logfmt_key(l, k);
    put(l, '=');
    if (logfmt_needs_quotes(v)) {
        put(l, '"');
        put_escaped(l, v);
        put(l, '"');
    } else {
        puts_raw(l, v);
    }
}

static void put_json_pair(line_t *l, const char *k, const char *v)
{
    put(l, l->len > 1 ? ',' : '{');
    put(l, '"');
    put_escaped(l, k);
    puts_raw(l, "\":\"");
    put_escaped(l, v);
    put(l, '"');
}

/* RFC 3339 UTC with milliseconds: 2024-05-01T12:34:56.789Z. */
static void format_ts(char ts[32])
{
    struct timespec now;
    struct tm tm;
    size_t n;
    long ms;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = strftime(ts, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    ms = now.tv_nsec / 1000000L;
    ts[n++] = '.';
    ts[n++] = (char)('0' + ms / 100);
    ts[n++] = (char)('0' + ms / 10 % 10);
    ts[n++] = (char)('0' + ms % 10);
    ts[n++] = 'Z';
    ts[n] = '\0';
}

/* Formats the whole line with its '\n'; returns the length it needs, which
 * is larger than cap - 1 when buf was too small. */
static size_t format_line(char *buf, size_t cap, const char *ts,
                          brr_log_level_t lvl, const char *msg, va_list ap)
{
    line_t l = {buf, cap, 0};
    const char *lvl_name;
    void (*pair)(line_t *, const char *, const char *);

    if ((unsigned)lvl > BRR_LOG_ERROR)
        lvl = BRR_LOG_ERROR;
    lvl_name = level_names[lvl];
    pair = log_state.fmt == BRR_LOG_JSON ? put_json_pair : put_logfmt_pair;

    /* JSON's first pair writes the '{'; a zero-length line tells logfmt's
     * first pair not to write a separator. */
    pair(&l, "ts", ts);
    pair(&l, "lvl", lvl_name);
    pair(&l, "svc", log_state.svc);
    pair(&l, "msg", msg ? msg : "");
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (k == NULL)
            break;
        const char *v = va_arg(ap, const char *);
        pair(&l, k, v ? v : "");
    }
    if (log_state.fmt == BRR_LOG_JSON)
        put(&l, '}');
    put(&l, '\n');

    if (cap > 0) {
        if (l.len < cap) {
            buf[l.len] = '\0';
        } else {
            /* Truncated: still end in a newline so the next line starts
             * on its own. */
            buf[cap - 1] = '\0';
            if (cap >= 2)
                buf[cap - 2] = '\n';
        }
    }
    return l.len;
}

size_t brr_log_format_line(char *buf, size_t cap, brr_log_level_t lvl,
                           const char *msg, va_list ap)
{
    char ts[32];
    size_t need;

    format_ts(ts);
    need = format_line(buf, cap, ts, lvl, msg, ap);

    if (cap == 0)
        return 0;
    return need < cap ? need : cap - 1;
}

void brr_log_init(const char *svc, brr_log_level_t min, brr_log_format_t fmt)
{
    const char *name = (svc && *svc) ? svc : "brr";
    size_t n = strlen(name);

    if (n >= sizeof(log_state.svc))
        n = sizeof(log_state.svc) - 1;
    memcpy(log_state.svc, name, n);
    log_state.svc[n] = '\0';
    log_state.min = min;
    log_state.fmt = fmt == BRR_LOG_JSON ? BRR_LOG_JSON : BRR_LOG_LOGFMT;
}

int brr_log_level_parse(const char *s, brr_log_level_t *out)
{
    if (s == NULL)
        return BRR_EINVAL;
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            if (out)
                *out = (brr_log_level_t)i;
            return 0;
        }
    }
    return BRR_EINVAL;
}

int brr_log_format_parse(const char *s, brr_log_format_t *out)
{
    brr_log_format_t fmt;

    if (s == NULL)
        return BRR_EINVAL;
    if (strcasecmp(s, "logfmt") == 0)
        fmt = BRR_LOG_LOGFMT;
    else if (strcasecmp(s, "json") == 0)
        fmt = BRR_LOG_JSON;
    else
        return BRR_EINVAL;
    if (out)
        *out = fmt;
    return 0;
}

static void write_all(const char *p, size_t n)
{
    /* A short write only happens for lines longer than the pipe buffer;
     * finishing it keeps the line whole as far as we can. */
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report it */
        }
        p += w;
        n -= (size_t)w;
    }
}

void brr_logv(brr_log_level_t lvl, const char *msg, va_list ap)
{
    char stack[LOG_STACK_LINE];
    char ts[32];
    va_list again;
    size_t need;

    if (lvl < log_state.min)
        return;
    format_ts(ts);
    va_copy(again, ap);
    need = format_line(stack, sizeof(stack), ts, lvl, msg, ap);
    if (need < sizeof(stack)) {
        write_all(stack, need);
    } else {
        char *big = malloc(need + 1);
        if (big == NULL)
            abort();
        format_line(big, need + 1, ts, lvl, msg, again);
        write_all(big, need);
        free(big);
    }
    va_end(again);
}

void brr_log(brr_log_level_t lvl, const char *msg, ...)
{
    va_list ap;

    va_start(ap, msg);
    brr_logv(lvl, msg, ap);
    va_end(ap);
}
