/*
 * bench_capacity.c: assessments per second of the pure calculation on one
 * core (issue 3 target: at least 1,000,000/s).  Not a test: it prints
 * figures and checks nothing about time.
 *
 * Usage: bench_capacity [normset-dir] [iterations]
 */
#include "capacity.h"
#include "normset.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(clockid_t clk)
{
    struct timespec ts;

    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(const char *label, const brr_capacity_request_t *reqs,
                size_t nreq, const brr_normsets_t *sets, int flags, long iters,
                brr_capacity_result_t *res)
{
    volatile brr_cents_t sink = 0;
    double t0, c0, dt, dc;

    /* CPU time of this thread is the "one core" figure; wall time is shown
     * too, and is lower when other work shares the machine. */
    t0 = now_s(CLOCK_MONOTONIC);
    c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < iters; i++) {
        if (capacity_assess(&reqs[(size_t)i % nreq], sets, NULL, flags, res) !=
            0) {
            fprintf(stderr, "bench_capacity: assessment failed\n");
            exit(1);
        }
        sink += res->capacity_cents + res->instalment_cents;
    }
    dc = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    dt = now_s(CLOCK_MONOTONIC) - t0;
    printf("%-32s %10.0f assessments/s of CPU time  (%ld in %.3f s CPU, "
           "%.3f s wall)\n",
           label, (double)iters / dc, iters, dc, dt);
    (void)sink;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : BRR_NORMSET_DIR;
    long iters = argc > 2 ? atol(argv[2]) : 2000000;
    static const brr_capacity_claim_t claims[3] = {{"CJIB", "CJIB-1", 45000, 0},
                                                   {"DUO", "DUO-7", 120000, 0},
                                                   {"CAK", "CAK-3", 33300, 0}};
    brr_capacity_request_t reqs[4] = {0};
    brr_capacity_result_t *res = malloc(sizeof(*res));
    brr_normsets_t sets;
    char err[512];

    if (res == NULL || iters <= 0)
        return 2;
    if (capacity_normsets_load_dir(dir, &sets, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_capacity: %s\n", err);
        return 1;
    }
    for (int i = 0; i < 4; i++) {
        reqs[i].reference_date = capacity_date_from_ymd(2025, 3, 1);
        reqs[i].claims = claims;
        reqs[i].nclaims = 3;
        reqs[i].kind = BRR_CAP_MAATWERK;
    }
    reqs[0].kind = BRR_CAP_STANDARD;
    reqs[1].household = BRR_HH_SINGLE; /* group 1 */
    reqs[1].net_income_cents = 134545;
    reqs[2].household = BRR_HH_SINGLE; /* group 3 */
    reqs[2].net_income_cents = 500000;
    reqs[3].household = BRR_HH_COUPLE_WITH_CHILDREN; /* group 3, split */
    reqs[3].net_income_cents = 600000;
    reqs[3].partner_net_income_cents = 200000;
    reqs[3].extra_housing_cents = 10000;

    printf("bench_capacity: %s, one core, mix of standard / group 1 / "
           "group 3 / couple\n",
           BRR_CAPACITY_RULE_VERSION);
    run("calculation only", reqs, 4, &sets, 0, iters, res);
    run("calculation + Dutch explanation", reqs, 4, &sets, BRR_CAPACITY_EXPLAIN,
        iters, res);
    capacity_normsets_free(&sets);
    free(res);
    return 0;
}
