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
    static const char src_pre[] = "urn:nld:oin:";
    static const char src_post[] = ":systeem:betalingsregeling";
    char source[sizeof(src_pre) + CONN_CE_OIN_LEN + sizeof(src_post)];
    char seq[24];
    size_t n = sizeof(seq);
    uint64_t s;
    json_t *ev;
    int bad = 0;

    if (!nonempty(ce->id) || !valid_oin(ce->oin) || !nonempty(ce->subject) ||
        !nonempty(ce->time) || !nonempty(ce->type) ||
        strncmp(ce->type, CONN_CE_TYPE_PREFIX,
                sizeof(CONN_CE_TYPE_PREFIX) - 1) != 0 ||
        ce->type[sizeof(CONN_CE_TYPE_PREFIX) - 1] == '\0' ||
        (ce->data != NULL && !json_is_object(ce->data)))
        return BRR_EINVAL;

    memcpy(source, src_pre, sizeof(src_pre) - 1);
    memcpy(source + sizeof(src_pre) - 1, ce->oin, CONN_CE_OIN_LEN);
    memcpy(source + sizeof(src_pre) - 1 + CONN_CE_OIN_LEN, src_post,
           sizeof(src_post));

    seq[--n] = '\0';
    s = ce->sequence;
    do {
        seq[--n] = (char)('0' + s % 10);
        s /= 10;
    } while (s);

    ev = json_object();
    if (ev == NULL)
        abort();
    bad |= set_str(ev, "specversion", CONN_CE_SPECVERSION);
    bad |= set_str(ev, "id", ce->id);
    bad |= set_str(ev, "source", source);
    bad |= set_str(ev, "type", ce->type);
    bad |= set_str(ev, "subject", ce->subject);
    bad |= set_str(ev, "time", ce->time);
    bad |= set_str(ev, "sequence", seq + n);
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

int conn_cloudevent_encode(const conn_cloudevent_t *ce, char **body,
                           size_t *len)
{
    json_t *ev;
    char *s;
    int rc;

    if ((rc = conn_cloudevent_build(ce, &ev)) < 0)
        return rc;
    s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(ev);
    if (s == NULL)
        abort();
    *body = s;
    *len = strlen(s);
    return 0;
}
