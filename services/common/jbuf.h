/*
 * jbuf.h: a growable text buffer for writing JSON (and other text) without
 * building a tree first.
 *
 * For the hot write paths (intake's batch documents, the outbox rows): a
 * jansson tree per row costs an allocation per value and a second pass to
 * serialise it; writing the text directly costs one append.  The caller
 * writes the punctuation; brr_jbuf_str() writes a string value quoted and
 * escaped.  Memory is kept across brr_jbuf_reset() so a buffer reused per
 * batch stops allocating once it has grown.  Allocation aborts on failure.
 */
#ifndef BRR_JBUF_H
#define BRR_JBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *p;    /* NUL-terminated once anything was written */
    size_t len; /* bytes written, without the NUL */
    size_t cap;
} brr_jbuf_t;

/* An empty buffer (no allocation yet). */
void brr_jbuf_init(brr_jbuf_t *b);

/* Frees the memory; the buffer is empty and usable again. */
void brr_jbuf_free(brr_jbuf_t *b);

/* Empties the buffer, keeping its memory. */
void brr_jbuf_reset(brr_jbuf_t *b);

/* Appends n bytes / a C string / one byte. */
void brr_jbuf_put(brr_jbuf_t *b, const void *s, size_t n);
void brr_jbuf_puts(brr_jbuf_t *b, const char *s);
void brr_jbuf_putc(brr_jbuf_t *b, char c);

/* Appends s (NULL: null) as a JSON string: quoted, with '"', '\\' and the
 * control characters escaped, UTF-8 passed through.  A byte that is not
 * part of well-formed UTF-8, and NUL (which PostgreSQL's jsonb refuses),
 * become U+FFFD, so the result is always JSON that jsonb accepts. */
void brr_jbuf_str(brr_jbuf_t *b, const char *s);
void brr_jbuf_strn(brr_jbuf_t *b, const char *s, size_t n);

/* Appends a decimal integer. */
void brr_jbuf_int(brr_jbuf_t *b, int64_t v);

/* Appends n bytes as lower-case hex digits (2n characters). */
void brr_jbuf_hex(brr_jbuf_t *b, const unsigned char *d, size_t n);

/* Makes room for n bytes at the end, counts them as written and returns
 * where they start, for the caller to fill (n + 1 bytes are there, so a
 * writer that adds a NUL fits). */
char *brr_jbuf_extend(brr_jbuf_t *b, size_t n);

/* Drops the last byte when it is c (a trailing ',' after a loop). */
void brr_jbuf_unput(brr_jbuf_t *b, char c);

/* Object members, each followed by ',': "name": (a literal name, not
 * escaped), "name":"s", and "name":v,.  brr_jbuf_end_object() replaces
 * the last ',' with "}," (a caller drops the final ',' with unput). */
void brr_jbuf_key(brr_jbuf_t *b, const char *name);
void brr_jbuf_member_str(brr_jbuf_t *b, const char *name, const char *s);
void brr_jbuf_member_int(brr_jbuf_t *b, const char *name, int64_t v);
void brr_jbuf_member_bool(brr_jbuf_t *b, const char *name, int v);
void brr_jbuf_end_object(brr_jbuf_t *b);
/* The text written so far, NUL-terminated (never NULL). */
const char *brr_jbuf_cstr(brr_jbuf_t *b);

#endif
