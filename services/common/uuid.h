/*
 * uuid.h: UUIDv7 (RFC 9562) for event ids, and random UUIDv4 for opaque
 * citizen references.
 *
 * v7: 48-bit Unix milliseconds, 4-bit version, 12-bit sub-millisecond
 * counter (monotonic within a process even if the clock steps back), 2-bit
 * variant, 62 random bits from the OS.  Sorts by creation time.
 */
#ifndef BRR_UUID_H
#define BRR_UUID_H

#include <stdint.h>

typedef struct {
    uint8_t b[16];
} brr_uuid_t;

#define BRR_UUID_STRLEN 36 /* without the NUL */

/* A new UUIDv7; monotonic within this process. */
void brr_uuid_v7(brr_uuid_t *out);

/* A new random UUIDv4. */
void brr_uuid_v4(brr_uuid_t *out);

/* Canonical lower-case text, 37 bytes with the NUL. */
void brr_uuid_format(const brr_uuid_t *u, char out[BRR_UUID_STRLEN + 1]);

/* Parses canonical text (either case); 0 or BRR_EPARSE. */
int brr_uuid_parse(const char *s, brr_uuid_t *out);

/* Milliseconds since the epoch stored in a v7 id. */
uint64_t brr_uuid_v7_ms(const brr_uuid_t *u);

/* Convenience: a new v7 as text into out. */
void brr_uuid_v7_str(char out[BRR_UUID_STRLEN + 1]);

#endif
