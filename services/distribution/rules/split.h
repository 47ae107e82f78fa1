/*
 * split.h: one instalment shared over organisations and their claims
 * (DOMAIN §4), exact in cents.
 *
 * Pure: no I/O.  brr-distribution calls dist_split() for every instalment
 * (the schedule simulation of schedule.h does too) and brrctl reaches it
 * through distribute_json.h, so the service and the command line compute the
 * same thing.  The result depends only on the content of the input, never on
 * its order.
 *
 * The rules, in the order they apply:
 *
 * 1. If the instalment covers every open balance, each claim gets its whole
 *    balance (the final instalment) and nothing else applies.
 * 2. PAY_OFF_FIRST: claims with 0 < open <= small_claim are paid in full
 *    before anything is shared, smallest first (ties: older due date,
 *    organisation code, reference), as long as the next one fits in what is
 *    left of the instalment.  PRO_RATA_ONLY skips this step.
 * 3. What is left is shared over the organisations with an open balance by
 *    largest remainder: raw_i = A*w_i*b_i (128-bit), base_i = floor(raw_i/W),
 *    the remaining cents go one each to the largest raw_i mod W, ties to the
 *    larger b_i and then the lower organisation code.  A share above b_i is
 *    capped at b_i and the capped organisations leave; the rest is shared
 *    again the same way over the others until nothing exceeds its balance.
 * 4. The minimum per organisation: every organisation with an open balance
 *    is owed floor_i = min(min_per_org - paid_small_i, b_i) (never below 0),
 *    where paid_small_i is what it already received in step 2.  When the
 *    floors of all organisations together exceed what is left to share, the
 *    minimum is waived for this instalment and step 3 alone decides.
 *    Otherwise: share as in step 3; every organisation whose share came out
 *    below its floor is given exactly its floor and leaves; the others share
 *    what remains as in step 3 (so the difference is taken from them pro
 *    rata); repeat until no share is below its floor.  Organisations only
 *    ever join the floored set, so this ends within one round per
 *    organisation.
 * 5. Within an organisation, its share pays its claims oldest first (due
 *    date, then reference), each up to its open balance.
 *
 * Hence: the shares sum to the instalment, or to the sum of the balances
 * when that is smaller; no share exceeds its balance; none is negative.
 */
#ifndef BRR_DIST_SPLIT_H
#define BRR_DIST_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "money.h"

#define DIST_ORG_MAX 32        /* organisation code length, without NUL */
#define DIST_REF_MAX 64        /* claim reference length, without NUL */
#define DIST_MAX_CLAIMS 4096   /* claims in one arrangement */
#define DIST_WEIGHT_MAX 1000   /* weights are 1..DIST_WEIGHT_MAX */
#define DIST_MIN_PER_ORG 500   /* default split.min_per_org */
#define DIST_SMALL_CLAIM 10000 /* default small_claim (EUR 100) */

typedef enum {
    DIST_PRO_RATA_ONLY = 0, /* default: small claims shared like any other */
    DIST_PAY_OFF_FIRST = 1  /* claims <= small_claim paid in full first */
} dist_small_policy_t;

typedef struct {
    char organisation[DIST_ORG_MAX + 1]; /* participant code, e.g. "CJIB" */
    char reference[DIST_REF_MAX + 1];    /* unique within the organisation */
    brr_cents_t open_cents;              /* open balance, >= 0 */
    int32_t due_day;                     /* days since 1970-01-01 */
} dist_claim_t;

typedef struct {
    char organisation[DIST_ORG_MAX + 1];
    int32_t weight; /* 1..DIST_WEIGHT_MAX */
} dist_weight_t;

typedef struct {
    brr_cents_t min_per_org; /* 0 disables the minimum */
    dist_small_policy_t small_claims;
    brr_cents_t small_claim;      /* threshold for PAY_OFF_FIRST */
    const dist_weight_t *weights; /* may be NULL; unlisted weigh 1 */
    size_t nweights;
} dist_policy_t;

typedef struct {
    const char *organisation; /* points into the caller's claims */
    brr_cents_t balance;      /* open balance before this instalment */
    brr_cents_t cents;        /* share of this instalment */
} dist_share_t;

/* Fills pol with DOMAIN's defaults: min_per_org 500, PRO_RATA_ONLY,
 * small_claim 10000, no weights. */
void dist_policy_default(dist_policy_t *pol);

/* Splits instalment (0..BRR_CENTS_MAX) over nclaims claims (1..
 * DIST_MAX_CLAIMS) under pol (NULL: defaults).  Writes one share per
 * distinct organisation into shares (room for nclaims entries; sorted by
 * organisation code ascending) and their count into *nshares, and what each
 * claim receives into claim_cents[i] for claims[i] (room for nclaims).
 * Returns 0, or BRR_EINVAL for an empty or duplicate (organisation,
 * reference), a bad weight or policy, or a negative amount, BRR_ERANGE for
 * an amount above BRR_CENTS_MAX or too many claims.  Nothing is allocated
 * that outlives the call. */
int dist_split(brr_cents_t instalment, const dist_claim_t *claims,
               size_t nclaims, const dist_policy_t *pol, dist_share_t *shares,
               size_t *nshares, brr_cents_t *claim_cents);

/* Writes into order[0..nclaims) the indexes of claims in payment order for
 * reporting: organisation code ascending, then oldest due date, then
 * reference. */
void dist_claim_order(const dist_claim_t *claims, size_t nclaims,
                      size_t *order);

#endif
