/*
 * uuid.c: UUIDv7 event ids and UUIDv4 citizen references (uuid.h).
 *
 * v7 ids are monotonic within the process (RFC 9562 §6.2 method 1): a
 * 12-bit counter in rand_a counts ids within one millisecond; when it runs
 * out, or the clock steps back, the stored millisecond moves forward by
 * one instead of going backwards.  Random bits come from getrandom(2) on
 * every call, so a forked child never repeats its parent's ids.
 */
#include "uuid.h"
#include "err.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define V7_COUNTER_MAX 0xfff

static pthread_mutex_t v7_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t v7_last_ms;
static uint16_t v7_counter;

static void random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            static const char msg[] = "fatal: uuid: getrandom failed\n";
            if (errno == EINTR)
                continue;
            /* No entropy means no safe ids: stop rather than repeat. */
            if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
            }
            abort();
        }
        p += r;
        n -= (size_t)r;
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The v7 state machine, separate from the clock and the random source so
 * the unit tests can drive it with a clock that stands still or steps
 * back.  Caller holds v7_lock. */
static void v7_next(brr_uuid_t *out, uint64_t ms, const uint8_t rnd[8])
{
    if (ms > v7_last_ms) {
        v7_last_ms = ms;
        v7_counter = 0;
    } else if (v7_counter < V7_COUNTER_MAX) {
        v7_counter++;
    } else {
        v7_last_ms++;
        v7_counter = 0;
    }
    ms = v7_last_ms & 0xffffffffffffu;
    for (int i = 0; i < 6; i++)
        out->b[i] = (uint8_t)(ms >> (40 - 8 * i));
    out->b[6] = (uint8_t)(0x70 | (v7_counter >> 8));
    out->b[7] = (uint8_t)(v7_counter & 0xff);
    out->b[8] = (uint8_t)(0x80 | (rnd[0] & 0x3f));
    memcpy(&out->b[9], &rnd[1], 7);
}

void brr_uuid_v7(brr_uuid_t *out)
{
    uint8_t rnd[8];

    random_bytes(rnd, sizeof(rnd));
    pthread_mutex_lock(&v7_lock);
    v7_next(out, now_ms(), rnd);
    pthread_mutex_unlock(&v7_lock);
}

void brr_uuid_v4(brr_uuid_t *out)
{
    random_bytes(out->b, sizeof(out->b));
    out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40);
    out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80);
}

void brr_uuid_format(const brr_uuid_t *u, char out[BRR_UUID_STRLEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[u->b[i] >> 4];
        *p++ = hex[u->b[i] & 0xf];
    }
    *p = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int brr_uuid_parse(const char *s, brr_uuid_t *out)
{
    brr_uuid_t u;
    int i = 0;

    if (s == NULL)
        return BRR_EPARSE;
    for (int pos = 0; pos < BRR_UUID_STRLEN;) {
        if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
            if (s[pos] != '-')
                return BRR_EPARSE;
            pos++;
            continue;
        }
        /* hexval('\0') is -1, so a short string stops here. */
        int hi = hexval(s[pos]);
        int lo = hi < 0 ? -1 : hexval(s[pos + 1]);
        if (hi < 0 || lo < 0)
            return BRR_EPARSE;
        u.b[i++] = (uint8_t)(hi << 4 | lo);
        pos += 2;
    }
    if (s[BRR_UUID_STRLEN] != '\0')
        return BRR_EPARSE;
    if (out)
        *out = u;
    return 0;
}

uint64_t brr_uuid_v7_ms(const brr_uuid_t *u)
{
    uint64_t ms = 0;

    for (int i = 0; i < 6; i++)
        ms = ms << 8 | u->b[i];
    return ms;
}

void brr_uuid_v7_str(char out[BRR_UUID_STRLEN + 1])
{
    brr_uuid_t u;

    brr_uuid_v7(&u);
    brr_uuid_format(&u, out);
}
