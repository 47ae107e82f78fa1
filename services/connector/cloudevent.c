/*
 * cloudevent.c: the NL GOV CloudEvent that brr-connector delivers (see
 * cloudevent.h).
 */
#include "cloudevent.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Hinnant's civil_from_days: days since 1970-01-01 to y-m-d. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static void put_num(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

int conn_cloudevent_time(int64_t unix_ms, char out[CONN_CE_TIME_LEN])
{
    /* 9999-12-31T23:59:59.999Z */
    static const int64_t max_ms = 253402300799999;
    int64_t days, rem, y;
    int m, d;

    if (unix_ms < 0 || unix_ms > max_ms)
        return BRR_ERANGE;
    days = unix_ms / 86400000;
    rem = unix_ms % 86400000;
    civil_from_days(days, &y, &m, &d);
    memcpy(out, "0000-00-00T00:00:00.000Z", CONN_CE_TIME_LEN);
    put_num(out, y, 4);
    put_num(out + 5, m, 2);
    put_num(out + 8, d, 2);
    put_num(out + 11, rem / 3600000, 2);
    put_num(out + 14, rem / 60000 % 60, 2);
    put_num(out + 17, rem / 1000 % 60, 2);
    put_num(out + 20, rem % 1000, 3);
    return 0;
}

static int valid_oin(const char *oin)
{
    size_t i;

    if (oin == NULL)
        return 0;
    for (i = 0; oin[i]; i++)
        if (oin[i] < '0' || oin[i] > '9')
            return 0;
    return i == CONN_CE_OIN_LEN;
}

static int nonempty(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* 1 when s is well-formed UTF-8 (what json_string accepts). */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++, n, cp;
        if (c < 0x80)
            continue;
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07;
        else
            return 0;
        for (unsigned i = 0; i < n; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (*p & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
    }
    return 1;
}

/* The attributes every event needs, as conn_cloudevent_build checks them. */
static int attributes_ok(const conn_cloudevent_t *ce)
{
    return nonempty(ce->id) && valid_oin(ce->oin) && nonempty(ce->subject) &&
           nonempty(ce->time) && nonempty(ce->type) &&
           strncmp(ce->type, CONN_CE_TYPE_PREFIX,
                   sizeof(CONN_CE_TYPE_PREFIX) - 1) == 0 &&
           ce->type[sizeof(CONN_CE_TYPE_PREFIX) - 1] != '\0';
}

/* "urn:nld:oin:<OIN>:systeem:betalingsregeling" */
#define SRC_PRE "urn:nld:oin:"
#define SRC_POST ":systeem:betalingsregeling"
#define SOURCE_LEN (sizeof(SRC_PRE) - 1 + CONN_CE_OIN_LEN + sizeof(SRC_POST))

static void make_source(const char *oin, char out[SOURCE_LEN])
{
    memcpy(out, SRC_PRE, sizeof(SRC_PRE) - 1);
    memcpy(out + sizeof(SRC_PRE) - 1, oin, CONN_CE_OIN_LEN);
    memcpy(out + sizeof(SRC_PRE) - 1 + CONN_CE_OIN_LEN, SRC_POST,
           sizeof(SRC_POST));
}

/* The decimal text of s at the end of buf[24]; returns where it starts. */
static const char *seq_text(uint64_t s, char buf[24])
{
    size_t n = 23;
    buf[n] = '\0';
    do {
        buf[--n] = (char)('0' + s % 10);
        s /= 10;
    } while (s);
    return buf + n;
}

/* -1 when val is not valid UTF-8 (json_string refuses it). */
static int set_str(json_t *obj, const char *key, const char *val)
{
    json_t *v = json_string(val);

    if (v == NULL)
        return -1;
    if (json_object_set_new(obj, key, v) < 0)
        abort();
    return 0;
}

int conn_cloudevent_build(const conn_cloudevent_t *ce, json_t **out)
{
    char source[SOURCE_LEN], seq[24];
    json_t *ev;
    int bad = 0;

    if (!attributes_ok(ce) || ce->data_text != NULL ||
        (ce->data != NULL && !json_is_object(ce->data)))
        return BRR_EINVAL;
    make_source(ce->oin, source);
    ev = json_object();
    if (ev == NULL)
        abort();
    bad |= set_str(ev, "specversion", CONN_CE_SPECVERSION);
    bad |= set_str(ev, "id", ce->id);
    bad |= set_str(ev, "source", source);
    bad |= set_str(ev, "type", ce->type);
    bad |= set_str(ev, "subject", ce->subject);
    bad |= set_str(ev, "time", ce->time);
    bad |= set_str(ev, "sequence", seq_text(ce->sequence, seq));
    bad |= set_str(ev, "datacontenttype", CONN_CE_DATA_CONTENT_TYPE);
    if (ce->data != NULL && json_object_set(ev, "data", ce->data) < 0)
        abort();
    if (bad) {
        json_decref(ev);
        return BRR_EINVAL;
    }
    *out = ev;
    return 0;
}

/* The body under construction: cap is enough for everything (counted
 * before writing), so appends never check. */
typedef struct {
    char *p;
    size_t len;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* ,"key":"value" (no comma before the first member), escaped as jansson
 * escapes: quote, backslash and control characters; UTF-8 as it is. */
static void put_member(out_t *o, const char *key, const char *val)
{
    static const char hex[] = "0123456789ABCDEF";
    if (o->len > 1)
        put(o, ",", 1);
    put(o, "\"", 1);
    put(o, key, strlen(key));
    put(o, "\":\"", 3);
    for (const char *s = val; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *e = NULL;
        switch (c) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\f':
            e = "\\f";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        default:
            break;
        }
        if (e != NULL) {
            put(o, e, 2);
        } else if (c < 0x20) {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(o, u, 6);
        } else {
            o->p[o->len++] = (char)c;
        }
    }
    put(o, "\"", 1);
}

static int json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* data_text, trimmed of surrounding JSON whitespace, is "{...}". */
static int object_text(const char *t, size_t n, const char **start, size_t *len)
{
    while (n > 0 && json_space(t[0]))
        t++, n--;
    while (n > 0 && json_space(t[n - 1]))
        n--;
    if (n < 2 || t[0] != '{' || t[n - 1] != '}')
        return 0;
    *start = t;
    *len = n;
    return 1;
}

int conn_cloudevent_encode(const conn_cloudevent_t *ce, char **body,
                           size_t *len)
{
    char source[SOURCE_LEN], seq[24];
    const char *data = NULL;
    char *dumped = NULL;
    size_t data_len = 0, cap;
    out_t o;

    if (!attributes_ok(ce) || (ce->data != NULL && ce->data_text != NULL) ||
        (ce->data != NULL && !json_is_object(ce->data)) || !utf8_ok(ce->id) ||
        !utf8_ok(ce->type) || !utf8_ok(ce->subject) || !utf8_ok(ce->time))
        return BRR_EINVAL;
    if (ce->data_text != NULL &&
        !object_text(ce->data_text, ce->data_len, &data, &data_len))
        return BRR_EINVAL;
    if (ce->data != NULL) {
        if ((dumped = json_dumps(ce->data, JSON_COMPACT | JSON_SORT_KEYS)) ==
            NULL)
            abort();
        data = dumped;
        data_len = strlen(dumped);
    }
    make_source(ce->oin, source);
    /* members and punctuation, and each string escaped at most 6-fold */
    cap = 160 + data_len + sizeof(source) + sizeof(seq) +
          6 * (strlen(ce->id) + strlen(ce->type) + strlen(ce->subject) +
               strlen(ce->time));
    if ((o.p = malloc(cap)) == NULL)
        abort();
    o.len = 0;
    put(&o, "{", 1);
    if (data != NULL) {
        put(&o, "\"data\":", 7);
        put(&o, data, data_len);
    }
    put_member(&o, "datacontenttype", CONN_CE_DATA_CONTENT_TYPE);
    put_member(&o, "id", ce->id);
    put_member(&o, "sequence", seq_text(ce->sequence, seq));
    put_member(&o, "source", source);
    put_member(&o, "specversion", CONN_CE_SPECVERSION);
    put_member(&o, "subject", ce->subject);
    put_member(&o, "time", ce->time);
    put_member(&o, "type", ce->type);
    put(&o, "}", 2); /* and the NUL */
    free(dumped);
    *body = o.p;
    *len = o.len - 1;
    return 0;
}
