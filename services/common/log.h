/*
 * log.h: one line per event, logfmt by default, JSON on request.
 *
 * Format: ts=... lvl=info svc=brr-intake msg="..." key=value ...
 * Messages follow PostgreSQL's style: lower case, factual, "could not X: Y".
 * Never pass personal data (BSN, names, IBAN, income, a person's amounts):
 * log event ids and trace ids instead.  brr_bsn_mask() exists for the one
 * place a BSN must be referred to.
 */
#ifndef BRR_LOG_H
#define BRR_LOG_H

#include <stdarg.h>
#include <stddef.h>

typedef enum {
    BRR_LOG_DEBUG = 0,
    BRR_LOG_INFO,
    BRR_LOG_WARN,
    BRR_LOG_ERROR,
} brr_log_level_t;

typedef enum { BRR_LOG_LOGFMT = 0, BRR_LOG_JSON } brr_log_format_t;

/* Sets the service name, minimum level and format; call once at start-up.
 * Before this call the defaults are svc=brr, info, logfmt.  Output goes to
 * stderr, one write(2) per line so lines from processes never interleave. */
void brr_log_init(const char *svc, brr_log_level_t min, brr_log_format_t fmt);

/* Parses "debug", "info", "warn", "error"; returns 0 or BRR_EINVAL. */
int brr_log_level_parse(const char *s, brr_log_level_t *out);

/* Parses "logfmt" or "json" (any case); returns 0 or BRR_EINVAL. */
int brr_log_format_parse(const char *s, brr_log_format_t *out);

/* Logs msg plus key/value pairs given as a NULL-terminated list of
 * const char * (key, value, key, value, ..., NULL).  Values are quoted and
 * escaped as needed.  Example:
 *   brr_log(BRR_LOG_INFO, "application accepted", "eid", id, NULL); */
void brr_log(brr_log_level_t lvl, const char *msg, ...);
void brr_logv(brr_log_level_t lvl, const char *msg, va_list ap);

#define brr_log_debug(...) brr_log(BRR_LOG_DEBUG, __VA_ARGS__)
#define brr_log_info(...) brr_log(BRR_LOG_INFO, __VA_ARGS__)
#define brr_log_warn(...) brr_log(BRR_LOG_WARN, __VA_ARGS__)
#define brr_log_error(...) brr_log(BRR_LOG_ERROR, __VA_ARGS__)

/* Formats one line into buf (NUL-terminated, truncated to cap) without
 * writing it; the unit tests use this.  Returns the length written. */
size_t brr_log_format_line(char *buf, size_t cap, brr_log_level_t lvl,
                           const char *msg, va_list ap);

#endif
