/*
 * test_split.c: the split of DOMAIN §4 at its boundaries, DOMAIN's worked
 * example, and property tests over 100,000 seeded random arrangements.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "split.h"

#define MAXC 64

typedef struct {
    dist_claim_t c[MAXC];
    size_t n;
    dist_share_t sh[MAXC];
    size_t nsh;
    brr_cents_t cc[MAXC];
} fx_t;

static void add(fx_t *f, const char *org, const char *ref, brr_cents_t open,
                int32_t due)
{
    dist_claim_t *c = &f->c[f->n++];
    memset(c, 0, sizeof(*c));
    snprintf(c->organisation, sizeof(c->organisation), "%s", org);
    snprintf(c->reference, sizeof(c->reference), "%s", ref);
    c->open_cents = open;
    c->due_day = due;
}

static int run(fx_t *f, brr_cents_t a, const dist_policy_t *pol)
{
    return dist_split(a, f->c, f->n, pol, f->sh, &f->nsh, f->cc);
}

static brr_cents_t share_of(const fx_t *f, const char *org)
{
    for (size_t j = 0; j < f->nsh; j++)
        if (strcmp(f->sh[j].organisation, org) == 0)
            return f->sh[j].cents;
    fail_msg("no share for %s", org);
    return -1;
}

static dist_policy_t pol_min(brr_cents_t min)
{
    dist_policy_t p;
    dist_policy_default(&p);
    p.min_per_org = min;
    return p;
}

static void test_split_domain_example(void **state)
{
    fx_t f = {0};
    add(&f, "CJIB", "C1", 45000, 100);
    add(&f, "DUO", "D1", 120000, 100);
    add(&f, "CAK", "K1", 33300, 100);
    assert_int_equal(run(&f, 12345, NULL), 0);
    assert_int_equal(f.nsh, 3);
    /* sorted by code */
    assert_string_equal(f.sh[0].organisation, "CAK");
    assert_string_equal(f.sh[1].organisation, "CJIB");
    assert_string_equal(f.sh[2].organisation, "DUO");
    assert_int_equal(share_of(&f, "CJIB"), 2801);
    assert_int_equal(share_of(&f, "DUO"), 7471);
    assert_int_equal(share_of(&f, "CAK"), 2073);
    assert_int_equal(f.cc[0], 2801);
    assert_int_equal(f.cc[1], 7471);
    assert_int_equal(f.cc[2], 2073);
    assert_int_equal(f.sh[1].balance, 45000);
}

static void test_split_one_organisation_takes_everything(void **state)
{
    fx_t f = {0};
    add(&f, "DUO", "late", 9000, 300);
    add(&f, "DUO", "early", 5000, 100);
    assert_int_equal(run(&f, 7000, NULL), 0);
    assert_int_equal(f.nsh, 1);
    assert_int_equal(f.sh[0].cents, 7000);
    /* the oldest claim is paid first */
    assert_int_equal(f.cc[1], 5000);
    assert_int_equal(f.cc[0], 2000);
}

static void test_split_instalment_zero_gives_nothing(void **state)
{
    fx_t f = {0};
    add(&f, "CJIB", "C1", 45000, 100);
    add(&f, "DUO", "D1", 1000, 100);
    dist_policy_t p = pol_min(500);
    p.small_claims = DIST_PAY_OFF_FIRST;
    assert_int_equal(run(&f, 0, &p), 0);
    assert_int_equal(f.sh[0].cents + f.sh[1].cents, 0);
    assert_int_equal(f.cc[0] + f.cc[1], 0);
}

static void test_split_one_cent_goes_to_largest_fraction(void **state)
{
    fx_t f = {0};
    add(&f, "CJIB", "C1", 45000, 100);
    add(&f, "DUO", "D1", 120000, 100);
    add(&f, "CAK", "K1", 33300, 100);
    /* the default minimum cannot be met by 1 cent: waived */
    assert_int_equal(run(&f, 1, NULL), 0);
    assert_int_equal(share_of(&f, "DUO"), 1);
    assert_int_equal(share_of(&f, "CJIB") + share_of(&f, "CAK"), 0);
}

static void test_split_remainder_goes_to_largest_fraction(void **state)
{
    /* A=10 over 1:1:1: base 3 each, the one cent left goes to the equal
     * fractions' larger balance -- all equal, so to the lowest code */
    fx_t f = {0};
    add(&f, "C", "c", 100, 1);
    add(&f, "A", "a", 100, 1);
    add(&f, "B", "b", 100, 1);
    dist_policy_t p = pol_min(0);
    assert_int_equal(run(&f, 10, &p), 0);
    assert_int_equal(share_of(&f, "A"), 4);
    assert_int_equal(share_of(&f, "B"), 3);
    assert_int_equal(share_of(&f, "C"), 3);

    /* A=100 over 1:2:4 (W=7000): raw/W = 14 r2000, 28 r4000, 57 r1000:
     * the one cent left goes to Y, the largest remainder */
    fx_t g = {0};
    add(&g, "X", "x", 1000, 1);
    add(&g, "Y", "y", 2000, 1);
    add(&g, "Z", "z", 4000, 1);
    assert_int_equal(run(&g, 100, &p), 0);
    assert_int_equal(share_of(&g, "X"), 14);
    assert_int_equal(share_of(&g, "Y"), 29);
    assert_int_equal(share_of(&g, "Z"), 57);
}

static void test_split_tie_goes_to_larger_balance_then_code(void **state)
{
    /* A=2, balances 2,7,1 (W=10): raw 4,14,2 -> fractions 4,4,2 and one
     * cent left: X and Y tie on the fraction, Y has the larger balance */
    fx_t f = {0};
    add(&f, "X", "x", 2, 1);
    add(&f, "Y", "y", 7, 1);
    add(&f, "Z", "z", 1, 1);
    dist_policy_t p = pol_min(0);
    assert_int_equal(run(&f, 2, &p), 0);
    assert_int_equal(share_of(&f, "X"), 0);
    assert_int_equal(share_of(&f, "Y"), 2);
    assert_int_equal(share_of(&f, "Z"), 0);

    /* equal fractions and balances: the lower code wins */
    fx_t g = {0};
    add(&g, "DUO", "d", 5, 1);
    add(&g, "CAK", "k", 5, 1);
    assert_int_equal(run(&g, 1, &p), 0);
    assert_int_equal(share_of(&g, "CAK"), 1);
    assert_int_equal(share_of(&g, "DUO"), 0);
}

static void test_split_cap_spreads_excess_over_the_rest(void **state)
{
    /* X weighs 1000x: pro rata it would take ~990 of 1000, but owes 100 */
    fx_t f = {0};
    add(&f, "X", "x", 100, 1);
    add(&f, "Y", "y", 100000, 1);
    add(&f, "Z", "z", 300000, 1);
    dist_weight_t w[] = {{"X", 1000}};
    dist_policy_t p = pol_min(0);
    p.weights = w;
    p.nweights = 1;
    assert_int_equal(run(&f, 1000, &p), 0);
    assert_int_equal(share_of(&f, "X"), 100);
    /* the 900 left is shared 1:3 */
    assert_int_equal(share_of(&f, "Y"), 225);
    assert_int_equal(share_of(&f, "Z"), 675);
}

static void test_split_weights_shift_the_shares(void **state)
{
    fx_t f = {0};
    add(&f, "A", "a", 100000, 1);
    add(&f, "B", "b", 100000, 1);
    dist_weight_t w[] = {{"B", 3}};
    dist_policy_t p = pol_min(0);
    p.weights = w;
    p.nweights = 1;
    assert_int_equal(run(&f, 1000, &p), 0);
    assert_int_equal(share_of(&f, "A"), 250);
    assert_int_equal(share_of(&f, "B"), 750);
}

static void test_split_final_instalment_pays_every_balance(void **state)
{
    fx_t f = {0};
    add(&f, "CJIB", "C1", 450, 100);
    add(&f, "DUO", "D1", 1200, 100);
    add(&f, "DUO", "D2", 0, 50);
    assert_int_equal(run(&f, 5000, NULL), 0);
    assert_int_equal(share_of(&f, "CJIB"), 450);
    assert_int_equal(share_of(&f, "DUO"), 1200);
    assert_int_equal(f.cc[2], 0);

    /* exactly the total is the same case */
    assert_int_equal(run(&f, 1650, NULL), 0);
    assert_int_equal(share_of(&f, "DUO"), 1200);
}

static void test_split_min_per_org_raises_small_share(void **state)
{
    /* pro rata DUO would get 10000*20000/1020000 = 196: raised to 500,
     * taken from CJIB */
    fx_t f = {0};
    add(&f, "CJIB", "C1", 1000000, 1);
    add(&f, "DUO", "D1", 20000, 1);
    assert_int_equal(run(&f, 10000, NULL), 0);
    assert_int_equal(share_of(&f, "DUO"), 500);
    assert_int_equal(share_of(&f, "CJIB"), 9500);

    /* the minimum is disabled with 0 */
    dist_policy_t p = pol_min(0);
    assert_int_equal(run(&f, 10000, &p), 0);
    assert_int_equal(share_of(&f, "DUO"), 196);
}

static void test_split_min_per_org_pays_off_tiny_balance(void **state)
{
    /* a balance below the minimum is paid off whole */
    fx_t f = {0};
    add(&f, "CJIB", "C1", 1000000, 1);
    add(&f, "RDW", "R1", 3, 1);
    add(&f, "DUO", "D1", 200000, 1);
    assert_int_equal(run(&f, 6000, NULL), 0);
    assert_int_equal(share_of(&f, "RDW"), 3);
    assert_int_equal(share_of(&f, "CJIB") + share_of(&f, "DUO"), 5997);
    /* the rest pro rata 5:1 on 5997: 4997.5 / 999.5 -> tie on fraction,
     * the larger balance (CJIB) takes the cent */
    assert_int_equal(share_of(&f, "CJIB"), 4998);
    assert_int_equal(share_of(&f, "DUO"), 999);
}

static void test_split_min_per_org_cascades(void **state)
{
    /* pro rata C gets 518; raising B to its whole 100 leaves 1900, of
     * which C would get 492: C is raised to 500 in a second round */
    fx_t f = {0};
    add(&f, "A", "a", 100000, 1);
    add(&f, "B", "b", 100, 1);
    add(&f, "C", "c", 35000, 1);
    assert_int_equal(run(&f, 2000, NULL), 0);
    assert_int_equal(share_of(&f, "B"), 100);
    assert_int_equal(share_of(&f, "C"), 500);
    assert_int_equal(share_of(&f, "A"), 1400);
}

static void test_split_min_per_org_waived_when_unreachable(void **state)
{
    /* three organisations cannot all get 500 out of 1000 */
    fx_t f = {0};
    add(&f, "A", "a", 100000, 1);
    add(&f, "B", "b", 100000, 1);
    add(&f, "C", "c", 100000, 1);
    assert_int_equal(run(&f, 1000, NULL), 0);
    assert_int_equal(share_of(&f, "A"), 334);
    assert_int_equal(share_of(&f, "B"), 333);
    assert_int_equal(share_of(&f, "C"), 333);

    /* exactly reachable: 1500 gives 500 each */
    assert_int_equal(run(&f, 1500, NULL), 0);
    assert_int_equal(share_of(&f, "C"), 500);
}

static void test_split_min_per_org_with_heavy_capped_weight(void **state)
{
    /* B weighs so much it takes its whole balance; what B cannot take goes
     * to A, which so ends above its minimum */
    fx_t f = {0};
    add(&f, "A", "a", 100000, 1);
    add(&f, "B", "b", 600, 1);
    dist_weight_t w[] = {{"B", 1000}};
    dist_policy_t p = pol_min(500);
    p.weights = w;
    p.nweights = 1;
    assert_int_equal(run(&f, 1500, &p), 0);
    assert_int_equal(share_of(&f, "B"), 600);
    assert_int_equal(share_of(&f, "A"), 900);
}

static void test_split_pay_off_first_pays_small_claims_whole(void **state)
{
    fx_t f = {0};
    add(&f, "CJIB", "big", 200000, 10);
    add(&f, "CAK", "k-small", 4000, 20);
    add(&f, "DUO", "d-small", 9000, 5);
    add(&f, "DUO", "d-big", 100000, 1);
    dist_policy_t p = pol_min(0);
    p.small_claims = DIST_PAY_OFF_FIRST;
    assert_int_equal(run(&f, 20000, &p), 0);
    assert_int_equal(f.cc[1], 4000);
    assert_int_equal(f.cc[2], 9000);
    /* 7000 left pro rata 200000:100000 -> 4667 : 2333 */
    assert_int_equal(f.cc[0], 4667);
    assert_int_equal(f.cc[3], 2333);
    assert_int_equal(share_of(&f, "DUO"), 9000 + 2333);

    /* the same under PRO_RATA_ONLY shares everything: W = 313000 */
    p.small_claims = DIST_PRO_RATA_ONLY;
    assert_int_equal(run(&f, 20000, &p), 0);
    /* 12779.55, 255.59, 6964.86: two cents left, to DUO and CAK */
    assert_int_equal(share_of(&f, "CAK"), 256);
    assert_int_equal(share_of(&f, "CJIB"), 12779);
    assert_int_equal(share_of(&f, "DUO"), 6965);
    /* within DUO the oldest claim (d-big, day 1) is paid first */
    assert_int_equal(f.cc[3], 6965);
    assert_int_equal(f.cc[2], 0);
}

static void test_split_pay_off_first_smallest_first_while_fits(void **state)
{
    fx_t f = {0};
    add(&f, "A", "a", 100000, 1);
    add(&f, "B", "b", 6000, 1);
    add(&f, "C", "c", 3000, 1);
    add(&f, "D", "d", 10000, 1); /* at the threshold: small */
    add(&f, "E", "e", 10001, 1); /* above it: not small */
    dist_policy_t p = pol_min(0);
    p.small_claims = DIST_PAY_OFF_FIRST;
    /* 10000: C (3000) and B (6000) fit, D (10000) does not; 1000 left is
     * shared over A, D, E = 100000:10000:10001 */
    assert_int_equal(run(&f, 10000, &p), 0);
    assert_int_equal(share_of(&f, "C"), 3000);
    assert_int_equal(share_of(&f, "B"), 6000);
    assert_int_equal(share_of(&f, "A"), 833);
    assert_int_equal(share_of(&f, "D"), 83);
    assert_int_equal(share_of(&f, "E"), 84);
}

static void test_split_min_counts_small_claims_paid(void **state)
{
    /* DUO got 300 through its small claim; its floor is the 200 more that
     * makes 500 */
    fx_t f = {0};
    add(&f, "CJIB", "c", 1000000, 1);
    add(&f, "DUO", "d-small", 300, 1);
    add(&f, "DUO", "d-big", 30000, 2);
    dist_policy_t p = pol_min(500);
    p.small_claims = DIST_PAY_OFF_FIRST;
    assert_int_equal(run(&f, 5000, &p), 0);
    assert_int_equal(f.cc[1], 300);
    assert_int_equal(share_of(&f, "DUO"), 500);
    assert_int_equal(f.cc[2], 200);
    assert_int_equal(share_of(&f, "CJIB"), 4500);
}

static void test_split_oldest_claim_first_then_reference(void **state)
{
    fx_t f = {0};
    add(&f, "CJIB", "z", 1000, 20);
    add(&f, "CJIB", "b", 1000, 10);
    add(&f, "CJIB", "a", 1000, 10);
    assert_int_equal(run(&f, 1500, NULL), 0);
    assert_int_equal(f.cc[2], 1000); /* day 10, "a" */
    assert_int_equal(f.cc[1], 500);  /* day 10, "b" */
    assert_int_equal(f.cc[0], 0);    /* day 20 */
}

static void test_split_refuses_bad_input(void **state)
{
    fx_t f = {0};
    add(&f, "CJIB", "r", 1000, 1);
    add(&f, "CJIB", "r", 2000, 2);
    assert_int_equal(run(&f, 100, NULL), BRR_EINVAL);
    snprintf(f.c[1].organisation, sizeof(f.c[1].organisation), "DUO");
    assert_int_equal(run(&f, 100, NULL), 0); /* same ref elsewhere: fine */
    assert_int_equal(run(&f, -1, NULL), BRR_EINVAL);
    assert_int_equal(run(&f, BRR_CENTS_MAX + 1, NULL), BRR_ERANGE);
    f.c[0].open_cents = -5;
    assert_int_equal(run(&f, 100, NULL), BRR_EINVAL);
    f.c[0].open_cents = 5;
    f.c[0].organisation[0] = '\0';
    assert_int_equal(run(&f, 100, NULL), BRR_EINVAL);
    snprintf(f.c[0].organisation, sizeof(f.c[0].organisation), "CJIB");

    dist_weight_t w[] = {{"CJIB", 0}};
    dist_policy_t p = pol_min(0);
    p.weights = w;
    p.nweights = 1;
    assert_int_equal(run(&f, 100, &p), BRR_EINVAL);
    w[0].weight = DIST_WEIGHT_MAX + 1;
    assert_int_equal(run(&f, 100, &p), BRR_EINVAL);
    w[0].weight = DIST_WEIGHT_MAX;
    assert_int_equal(run(&f, 100, &p), 0);
    p.small_claims = (dist_small_policy_t)7;
    assert_int_equal(run(&f, 100, &p), BRR_EINVAL);
    assert_int_equal(dist_split(100, f.c, 0, NULL, f.sh, &f.nsh, f.cc),
                     BRR_EINVAL);
}

static void test_split_largest_amounts_do_not_overflow(void **state)
{
    fx_t f = {0};
    add(&f, "A", "a", BRR_CENTS_MAX, 1);
    add(&f, "B", "b", BRR_CENTS_MAX - 1, 1);
    add(&f, "C", "c", 1, 1);
    dist_weight_t w[] = {{"A", DIST_WEIGHT_MAX}, {"B", DIST_WEIGHT_MAX}};
    dist_policy_t p = pol_min(0);
    p.weights = w;
    p.nweights = 2;
    assert_int_equal(run(&f, BRR_CENTS_MAX, &p), 0);
    brr_cents_t sum = share_of(&f, "A") + share_of(&f, "B") + share_of(&f, "C");
    assert_int_equal(sum, BRR_CENTS_MAX);
    assert_true(share_of(&f, "A") - share_of(&f, "B") <= 1);
}

/* ---- property tests ---------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: fixed seed, the same cases on every run */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static brr_cents_t rnd_amount(void)
{
    switch (rnd_below(8)) {
    case 0:
        return (brr_cents_t)rnd_below(1000); /* tiny */
    case 1:
        return (brr_cents_t)rnd_below(20001); /* around small_claim */
    case 2:
        return (brr_cents_t)rnd_below(BRR_CENTS_MAX / 100 + 1);
    default: {
        /* log-uniform up to 1e8 */
        brr_cents_t lim = 1;
        for (uint64_t d = rnd_below(9); d > 0; d--)
            lim *= 10;
        return (brr_cents_t)rnd_below((uint64_t)lim + 1);
    }
    }
}

typedef struct {
    dist_claim_t c[MAXC];
    size_t n;
    dist_policy_t pol;
    dist_weight_t w[16];
    brr_cents_t a;
} case_t;

static const char *const ORGS[16] = {
    "BD",  "CAK", "CJIB", "DUO", "FEI", "IJENV", "NEA",     "NVWA",
    "RDI", "RDW", "RVO",  "SVB", "TSL", "UWV",   "GEM0363", "WS01"};

static void gen_case(case_t *k)
{
    memset(k, 0, sizeof(*k));
    size_t norg = 1 + rnd_below(16);
    size_t first = rnd_below(16);
    brr_cents_t total = 0;
    for (size_t o = 0; o < norg; o++) {
        const char *org = ORGS[(first + o) % 16];
        size_t nc = 1 + rnd_below(3);
        for (size_t i = 0; i < nc; i++) {
            dist_claim_t *c = &k->c[k->n++];
            snprintf(c->organisation, sizeof(c->organisation), "%s", org);
            snprintf(c->reference, sizeof(c->reference), "%s-%zu",
                     rnd_below(2) ? "V" : "W", i);
            c->open_cents = rnd_below(10) == 0 ? 0 : rnd_amount();
            c->due_day = 19000 + (int32_t)rnd_below(40);
            total += c->open_cents;
        }
    }
    dist_policy_default(&k->pol);
    switch (rnd_below(4)) {
    case 0:
        k->pol.min_per_org = 0;
        break;
    case 1:
        k->pol.min_per_org = (brr_cents_t)rnd_below(5000);
        break;
    default:
        break;
    }
    if (rnd_below(2))
        k->pol.small_claims = DIST_PAY_OFF_FIRST;
    if (rnd_below(4) == 0)
        k->pol.small_claim = (brr_cents_t)rnd_below(50000);
    if (rnd_below(4) == 0) {
        size_t nw = 1 + rnd_below(4);
        for (size_t i = 0; i < nw; i++) {
            snprintf(k->w[i].organisation, sizeof(k->w[i].organisation), "%s",
                     ORGS[(first + i * 3) % 16]);
            k->w[i].weight = 1 + (int32_t)rnd_below(DIST_WEIGHT_MAX);
        }
        k->pol.weights = k->w;
        k->pol.nweights = nw;
    }
    /* instalment: mostly below the total, sometimes at or above it */
    switch (rnd_below(6)) {
    case 0:
        k->a = (brr_cents_t)rnd_below((uint64_t)total + total / 4 + 2);
        break;
    case 1:
        k->a = total;
        break;
    case 2:
        k->a = (brr_cents_t)rnd_below(100);
        break;
    default:
        k->a = total / (brr_cents_t)(1 + rnd_below(36));
        break;
    }
}

static brr_cents_t org_balance(const case_t *k, const char *org)
{
    brr_cents_t b = 0;
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->c[i].organisation, org) == 0)
            b += k->c[i].open_cents;
    return b;
}

static void test_split_properties_hold_for_100000_cases(void **state)
{
    static case_t k, perm;
    static dist_share_t sh[MAXC], sh2[MAXC];
    static brr_cents_t cc[MAXC], cc2[MAXC];
    size_t idx[MAXC];
    size_t floors_checked = 0, exact_checked = 0, capped_cases = 0;

    rng_state = UINT64_C(0x6272722d73706c74); /* "brr-splt" */
    for (int iter = 0; iter < 100000; iter++) {
        gen_case(&k);
        size_t nsh;
        assert_int_equal(dist_split(k.a, k.c, k.n, &k.pol, sh, &nsh, cc), 0);

        brr_cents_t total = 0, sum = 0;
        for (size_t i = 0; i < k.n; i++) {
            total += k.c[i].open_cents;
            assert_true(cc[i] >= 0);
            assert_true(cc[i] <= k.c[i].open_cents);
        }
        brr_cents_t want = k.a < total ? k.a : total;
        brr_cents_t floor_sum = 0;
        for (size_t j = 0; j < nsh; j++) {
            brr_cents_t b = org_balance(&k, sh[j].organisation);
            assert_int_equal(sh[j].balance, b);
            assert_true(sh[j].cents >= 0);
            assert_true(sh[j].cents <= b);
            if (sh[j].cents == b && b > 0 && k.a < total)
                capped_cases++;
            brr_cents_t byclaim = 0;
            for (size_t i = 0; i < k.n; i++)
                if (strcmp(k.c[i].organisation, sh[j].organisation) == 0)
                    byclaim += cc[i];
            assert_int_equal(byclaim, sh[j].cents);
            if (j > 0)
                assert_true(strcmp(sh[j - 1].organisation, sh[j].organisation) <
                            0);
            sum += sh[j].cents;
            floor_sum += b < k.pol.min_per_org ? b : k.pol.min_per_org;
        }
        assert_int_equal(sum, want);

        /* the minimum holds whenever it can be met by the pro-rata step */
        if (k.a < total && k.pol.small_claims == DIST_PRO_RATA_ONLY &&
            floor_sum <= k.a && k.pol.min_per_org > 0) {
            for (size_t j = 0; j < nsh; j++) {
                brr_cents_t b = sh[j].balance;
                brr_cents_t f = b < k.pol.min_per_org ? b : k.pol.min_per_org;
                assert_true(sh[j].cents >= f);
            }
            floors_checked++;
        }
        /* plain largest remainder: equal weights, no minimum, no payoff */
        if (k.a < total && k.pol.min_per_org == 0 && k.pol.nweights == 0 &&
            k.pol.small_claims == DIST_PRO_RATA_ONLY) {
            for (size_t j = 0; j < nsh; j++) {
                __int128 raw = (__int128)k.a * sh[j].balance;
                brr_cents_t base = (brr_cents_t)(raw / total);
                assert_true(sh[j].cents == base || sh[j].cents == base + 1);
            }
            exact_checked++;
        }

        /* the same result whatever the order of the input */
        for (size_t i = 0; i < k.n; i++)
            idx[i] = i;
        for (size_t i = k.n; i > 1; i--) {
            size_t r = rnd_below(i), t = idx[i - 1];
            idx[i - 1] = idx[r];
            idx[r] = t;
        }
        perm = k;
        for (size_t i = 0; i < k.n; i++)
            perm.c[i] = k.c[idx[i]];
        for (size_t i = 0; i + 1 < perm.pol.nweights; i += 2) {
            dist_weight_t t = perm.w[i];
            perm.w[i] = perm.w[i + 1];
            perm.w[i + 1] = t;
        }
        if (perm.pol.nweights > 0)
            perm.pol.weights = perm.w;
        size_t nsh2;
        assert_int_equal(
            dist_split(perm.a, perm.c, perm.n, &perm.pol, sh2, &nsh2, cc2), 0);
        assert_int_equal(nsh2, nsh);
        for (size_t i = 0; i < k.n; i++)
            assert_int_equal(cc2[i], cc[idx[i]]);
        for (size_t j = 0; j < nsh; j++) {
            assert_string_equal(sh2[j].organisation, sh[j].organisation);
            assert_int_equal(sh2[j].cents, sh[j].cents);
        }
    }
    /* the generator must reach the interesting regions */
    assert_true(floors_checked > 5000);
    assert_true(exact_checked > 1000);
    assert_true(capped_cases > 1000);
    print_message("split properties: 100000 cases, %zu with the minimum "
                  "checked, %zu exact largest remainder, %zu shares equal to "
                  "their balance\n",
                  floors_checked, exact_checked, capped_cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_domain_example),
        cmocka_unit_test(test_split_one_organisation_takes_everything),
        cmocka_unit_test(test_split_instalment_zero_gives_nothing),
        cmocka_unit_test(test_split_one_cent_goes_to_largest_fraction),
        cmocka_unit_test(test_split_remainder_goes_to_largest_fraction),
        cmocka_unit_test(test_split_tie_goes_to_larger_balance_then_code),
        cmocka_unit_test(test_split_cap_spreads_excess_over_the_rest),
        cmocka_unit_test(test_split_weights_shift_the_shares),
        cmocka_unit_test(test_split_final_instalment_pays_every_balance),
        cmocka_unit_test(test_split_min_per_org_raises_small_share),
        cmocka_unit_test(test_split_min_per_org_pays_off_tiny_balance),
        cmocka_unit_test(test_split_min_per_org_cascades),
        cmocka_unit_test(test_split_min_per_org_waived_when_unreachable),
        cmocka_unit_test(test_split_min_per_org_with_heavy_capped_weight),
        cmocka_unit_test(test_split_pay_off_first_pays_small_claims_whole),
        cmocka_unit_test(test_split_pay_off_first_smallest_first_while_fits),
        cmocka_unit_test(test_split_min_counts_small_claims_paid),
        cmocka_unit_test(test_split_oldest_claim_first_then_reference),
        cmocka_unit_test(test_split_refuses_bad_input),
        cmocka_unit_test(test_split_largest_amounts_do_not_overflow),
        cmocka_unit_test(test_split_properties_hold_for_100000_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
