/*
 * bench_split.c: the monthly instalment run of brr-distribution, without the
 * database: dist_split() over synthetic active arrangements of 1 to 16
 * organisations with 1 to 3 claims each, instalment a 24th of the total
 * (rounded up to whole euros), DOMAIN's default policy.
 *
 * Usage: bench_split [arrangements]   (default 200000)
 * Prints arrangements per second, counting the split alone; the synthetic
 * data is made before the clock starts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "split.h"

static const char *const ORGS[16] = {
    "BD",  "CAK", "CJIB", "DUO", "FEI", "IJENV", "NEA",     "NVWA",
    "RDI", "RDW", "RVO",  "SVB", "TSL", "UWV",   "GEM0363", "WS01"};

typedef struct {
    uint32_t first; /* index of its first claim */
    uint32_t n;
    brr_cents_t instalment;
} arr_t;

static uint64_t rs = UINT64_C(0x62656e6368737074);

static uint64_t rnd(uint64_t n)
{
    rs ^= rs >> 12;
    rs ^= rs << 25;
    rs ^= rs >> 27;
    return (rs * UINT64_C(2685821657736338717)) % n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t narr = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    if (narr == 0)
        narr = 200000;
    arr_t *arr = calloc(narr, sizeof(*arr));
    dist_claim_t *claims = calloc(narr * 48, sizeof(*claims));
    if (arr == NULL || claims == NULL)
        abort();

    size_t nc = 0, norg_total = 0;
    for (size_t a = 0; a < narr; a++) {
        size_t norg = 1 + rnd(16), off = rnd(16);
        brr_cents_t total = 0;
        arr[a].first = (uint32_t)nc;
        for (size_t o = 0; o < norg; o++) {
            size_t k = 1 + rnd(3);
            for (size_t i = 0; i < k; i++) {
                dist_claim_t *c = &claims[nc++];
                strcpy(c->organisation, ORGS[(off + o) % 16]);
                snprintf(c->reference, sizeof(c->reference), "%zu-%zu-%zu", a,
                         o, i);
                c->open_cents = 1000 + (brr_cents_t)rnd(500000);
                c->due_day = 19000 + (int32_t)rnd(700);
                total += c->open_cents;
            }
        }
        arr[a].n = (uint32_t)(nc - arr[a].first);
        brr_cents_t m = (total + 23) / 24;
        arr[a].instalment = (m + 99) / 100 * 100;
        norg_total += norg;
    }

    dist_policy_t pol;
    dist_policy_default(&pol);
    dist_share_t sh[48];
    brr_cents_t cc[48];
    brr_cents_t paid = 0;
    double t0 = now();
    for (size_t a = 0; a < narr; a++) {
        size_t nsh;
        if (dist_split(arr[a].instalment, &claims[arr[a].first], arr[a].n, &pol,
                       sh, &nsh, cc) != 0) {
            fprintf(stderr, "bench_split: split failed at %zu\n", a);
            return 1;
        }
        for (size_t j = 0; j < nsh; j++)
            paid += sh[j].cents;
    }
    double dt = now() - t0;
    printf("bench_split: %zu arrangements (%.1f organisations, %.1f claims "
           "on average) in %.3f s: %.0f arrangements/s (checksum %lld)\n",
           narr, (double)norg_total / (double)narr, (double)nc / (double)narr,
           dt, (double)narr / dt, (long long)paid);
    free(arr);
    free(claims);
    return 0;
}
