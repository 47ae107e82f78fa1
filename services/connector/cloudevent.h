/*
 * cloudevent.h: the body brr-connector sends to an organisation: one
 * CloudEvent 1.0 in structured JSON mode (application/cloudevents+json),
 * following the NL GOV CloudEvents profile.
 *
 * source is urn:nld:oin:<OIN>:systeem:betalingsregeling (the OIN of the
 * sending system), subject the arrangement id, sequence a decimal string
 * counting per (organisation, arrangement), data the organisation's part of
 * the arrangement.  Keys are written sorted and compact, so the same event
 * always yields the same bytes and therefore the same signature.  Pure
 * apart from jansson: no I/O, no clock.
 */
#ifndef CONN_CLOUDEVENT_H
#define CONN_CLOUDEVENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CONN_CE_SPECVERSION "1.0"
#define CONN_CE_MEDIA_TYPE "application/cloudevents+json; charset=utf-8"
#define CONN_CE_DATA_CONTENT_TYPE "application/json"
#define CONN_CE_TYPE_PREFIX "nl.rijksoverheid.brr."
#define CONN_CE_OIN_LEN 20
#define CONN_CE_TIME_LEN 25 /* "2024-05-01T12:00:00.123Z" plus NUL */

typedef struct {
    const char *id;      /* the event's UUIDv7 text, same on every attempt */
    const char *oin;     /* 20 digits: the sending system's OIN */
    const char *type;    /* e.g. "nl.rijksoverheid.brr.arrangement.created" */
    const char *subject; /* the arrangement id */
    const char *time;    /* RFC 3339, e.g. from conn_cloudevent_time */
    uint64_t sequence;   /* per (organisation, arrangement), from 1 */
    json_t *data;        /* borrowed; an object, or NULL for no data */
    /* Instead of data (which must then be NULL): the text of a JSON object
     * (as PostgreSQL writes jsonb), copied into the body as it is, so a
     * stored event is sent without parsing and writing it again.  Only its
     * outer braces are checked: it must be JSON.  Encode only. */
    const char *data_text;
    size_t data_len;
} conn_cloudevent_t;

/* Formats Unix milliseconds as RFC 3339 UTC with milliseconds into out.
 * Returns 0, or BRR_ERANGE for times before 1970 or after 9999. */
int conn_cloudevent_time(int64_t unix_ms, char out[CONN_CE_TIME_LEN]);

/* Builds the event as a new JSON object in *out (the caller owns the
 * reference; data gets an extra reference).  Returns 0 or BRR_EINVAL when a
 * required attribute is missing or malformed (OIN not 20 digits, type not
 * under CONN_CE_TYPE_PREFIX, data not an object). */
int conn_cloudevent_build(const conn_cloudevent_t *ce, json_t **out);

/* Serialises the event, written straight as text with the members sorted
 * and no whitespace (data as JSON_COMPACT | JSON_SORT_KEYS, or data_text
 * as given): *body is a NUL-terminated malloc'd string of *len bytes that
 * the caller frees with free().  Returns 0 or BRR_EINVAL as
 * conn_cloudevent_build, also when data and data_text are both set or
 * data_text is not "{...}". */
int conn_cloudevent_encode(const conn_cloudevent_t *ce, char **body,
                           size_t *len);

#endif
