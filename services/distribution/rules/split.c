/*
 * split.c: largest-remainder sharing of one instalment over organisations,
 * with weights, caps, a minimum per organisation and the small-claims policy
 * (DOMAIN §4).  The rules are spelled out in split.h.
 *
 * Pure: no I/O.  Every ordering used here is a total order on the content of
 * the claims (organisation codes and (organisation, reference) pairs are
 * unique), which is what makes the result independent of the input order.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "split.h"

typedef unsigned __int128 u128;

typedef struct {
    const char *code;
    int64_t weight;
    brr_cents_t total; /* open balance before this instalment */
    brr_cents_t bal;   /* still open after the small claims were paid */
    brr_cents_t small; /* paid through PAY_OFF_FIRST */
    brr_cents_t share; /* pro-rata part */
    size_t first;      /* first claim in the by-age order */
    size_t count;
} org_t;

typedef struct {
    u128 frac;
    brr_cents_t bal;
    const char *code;
    size_t slot;
} rank_t;

/* Scratch for one dist_split call, carved from a single allocation. */
typedef struct {
    const dist_claim_t **byage; /* organisation, due date, reference */
    brr_cents_t *paid_small;    /* per claim index */
    org_t *org;
    size_t *act;  /* organisations with an open balance */
    size_t *sub;  /* a subset of act */
    size_t *live; /* share_capped: slots not yet capped */
    rank_t *rank;
    brr_cents_t *cap, *out, *floor, *tmp, *cap2, *out2;
    unsigned char *in_floor;
    void *block;
} work_t;

void dist_policy_default(dist_policy_t *pol)
{
    memset(pol, 0, sizeof(*pol));
    pol->min_per_org = DIST_MIN_PER_ORG;
    pol->small_claims = DIST_PRO_RATA_ONLY;
    pol->small_claim = DIST_SMALL_CLAIM;
}

static int cmp_age(const dist_claim_t *a, const dist_claim_t *b)
{
    int c = strcmp(a->organisation, b->organisation);
    if (c != 0)
        return c;
    if (a->due_day != b->due_day)
        return a->due_day < b->due_day ? -1 : 1;
    return strcmp(a->reference, b->reference);
}

static int cmp_age_ptr(const void *pa, const void *pb)
{
    return cmp_age(*(const dist_claim_t *const *)pa,
                   *(const dist_claim_t *const *)pb);
}

/* Small claims are paid smallest first: that closes the most claims. */
static int cmp_small_ptr(const void *pa, const void *pb)
{
    const dist_claim_t *a = *(const dist_claim_t *const *)pa;
    const dist_claim_t *b = *(const dist_claim_t *const *)pb;
    if (a->open_cents != b->open_cents)
        return a->open_cents < b->open_cents ? -1 : 1;
    if (a->due_day != b->due_day)
        return a->due_day < b->due_day ? -1 : 1;
    int c = strcmp(a->organisation, b->organisation);
    if (c != 0)
        return c;
    return strcmp(a->reference, b->reference);
}

static int cmp_rank(const void *pa, const void *pb)
{
    const rank_t *a = pa, *b = pb;
    if (a->frac != b->frac)
        return a->frac > b->frac ? -1 : 1;
    if (a->bal != b->bal)
        return a->bal > b->bal ? -1 : 1;
    return strcmp(a->code, b->code);
}

static int text_ok(const char *s, size_t cap)
{
    const char *nul = memchr(s, '\0', cap);
    return nul != NULL && nul != s;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

static void work_init(work_t *w, size_t n)
{
    size_t sz[] = {
        n * sizeof(*w->byage),
        n * sizeof(*w->paid_small),
        n * sizeof(*w->org),
        n * sizeof(*w->act),
        n * sizeof(*w->sub),
        n * sizeof(*w->live),
        n * sizeof(*w->rank),
        7 * n * sizeof(brr_cents_t),
        n,
    };
    size_t off[sizeof(sz) / sizeof(sz[0])], total = 0;
    for (size_t i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
        off[i] = total;
        total += ALIGN16(sz[i]);
    }
    char *b = xmalloc(total);
    w->block = b;
    w->byage = (const dist_claim_t **)(void *)(b + off[0]);
    w->paid_small = (brr_cents_t *)(void *)(b + off[1]);
    w->org = (org_t *)(void *)(b + off[2]);
    w->act = (size_t *)(void *)(b + off[3]);
    w->sub = (size_t *)(void *)(b + off[4]);
    w->live = (size_t *)(void *)(b + off[5]);
    w->rank = (rank_t *)(void *)(b + off[6]);
    brr_cents_t *c = (brr_cents_t *)(void *)(b + off[7]);
    w->cap = c;
    w->out = c + n;
    w->floor = c + 2 * n;
    w->tmp = c + 3 * n;
    w->cap2 = c + 4 * n;
    w->out2 = c + 5 * n;
    w->in_floor = (unsigned char *)(b + off[8]);
}

/*
 * Shares x over the organisations org[idx[0..n)] by largest remainder on
 * weight * bal, none above cap[k]; out[k] receives idx[k]'s share.  Capped
 * organisations leave and the others share the rest again, until none is
 * over its cap.  Returns what could not be placed: nonzero only when the
 * caps together are below x.
 */
static brr_cents_t share_capped(work_t *w, const size_t *idx, size_t n,
                                brr_cents_t x, const brr_cents_t *cap,
                                brr_cents_t *out)
{
    size_t nl = 0;
    for (size_t k = 0; k < n; k++) {
        out[k] = 0;
        w->live[nl++] = k;
    }
    while (nl > 0 && x > 0) {
        u128 W = 0;
        for (size_t j = 0; j < nl; j++) {
            const org_t *o = &w->org[idx[w->live[j]]];
            W += (u128)o->weight * (u128)o->bal;
        }
        if (W == 0)
            break;
        brr_cents_t given = 0;
        for (size_t j = 0; j < nl; j++) {
            size_t k = w->live[j];
            const org_t *o = &w->org[idx[k]];
            u128 raw = (u128)x * (u128)o->weight * (u128)o->bal;
            out[k] = (brr_cents_t)(raw / W);
            given += out[k];
            w->rank[j] = (rank_t){raw % W, o->bal, o->code, k};
        }
        brr_cents_t rem = x - given; /* < nl, since each floor loses < 1 */
        if (rem > 0) {
            qsort(w->rank, nl, sizeof(rank_t), cmp_rank);
            for (brr_cents_t r = 0; r < rem; r++)
                out[w->rank[r].slot]++;
        }
        size_t keep = 0;
        for (size_t j = 0; j < nl; j++) {
            size_t k = w->live[j];
            if (out[k] > cap[k]) {
                out[k] = cap[k];
                x -= cap[k];
            } else {
                w->live[keep++] = k;
            }
        }
        if (keep == nl)
            return 0;
        nl = keep;
        for (size_t j = 0; j < nl; j++)
            out[w->live[j]] = 0;
    }
    return x;
}

/* Step 3 and 4 of split.h over the organisations in w->act. */
static void share_with_floors(work_t *w, size_t nact, brr_cents_t x,
                              brr_cents_t min_per_org)
{
    brr_cents_t sum_floor = 0;
    for (size_t k = 0; k < nact; k++) {
        const org_t *o = &w->org[w->act[k]];
        brr_cents_t f = min_per_org - o->small;
        if (f < 0)
            f = 0;
        if (f > o->bal)
            f = o->bal;
        w->floor[k] = f;
        w->cap[k] = o->bal;
        w->in_floor[k] = 0;
        sum_floor += f;
    }
    if (min_per_org <= 0 || sum_floor > x) {
        share_capped(w, w->act, nact, x, w->cap, w->out);
        for (size_t k = 0; k < nact; k++)
            w->org[w->act[k]].share = w->out[k];
        return;
    }

    /* Each round the floored leave with exactly their floor and the others
     * share what remains.  The others' caps always exceed it: in the round
     * before, they and the newly floored took all of it while the newly
     * floored took less than their floors. */
    brr_cents_t floored = 0;
    for (;;) {
        size_t nsub = 0;
        for (size_t k = 0; k < nact; k++)
            if (!w->in_floor[k]) {
                w->sub[nsub] = w->act[k];
                w->cap2[nsub] = w->cap[k];
                nsub++;
            }
        share_capped(w, w->sub, nsub, x - floored, w->cap2, w->out2);
        int changed = 0;
        size_t j = 0;
        for (size_t k = 0; k < nact; k++) {
            if (w->in_floor[k])
                continue;
            w->tmp[k] = w->out2[j++];
            if (w->tmp[k] < w->floor[k]) {
                w->in_floor[k] = 1;
                floored += w->floor[k];
                changed = 1;
            }
        }
        if (!changed)
            break;
    }
    for (size_t k = 0; k < nact; k++)
        w->org[w->act[k]].share = w->in_floor[k] ? w->floor[k] : w->tmp[k];
}

static int64_t weight_of(const dist_policy_t *pol, const char *code)
{
    for (size_t i = 0; i < pol->nweights; i++)
        if (strcmp(pol->weights[i].organisation, code) == 0)
            return pol->weights[i].weight;
    return 1;
}

static int check_input(brr_cents_t instalment, const dist_claim_t *claims,
                       size_t nclaims, const dist_policy_t *pol)
{
    if (nclaims == 0 || claims == NULL)
        return BRR_EINVAL;
    if (nclaims > DIST_MAX_CLAIMS)
        return BRR_ERANGE;
    if (instalment < 0 || pol->min_per_org < 0 || pol->small_claim < 0)
        return BRR_EINVAL;
    if (instalment > BRR_CENTS_MAX || pol->min_per_org > BRR_CENTS_MAX ||
        pol->small_claim > BRR_CENTS_MAX)
        return BRR_ERANGE;
    if (pol->small_claims != DIST_PRO_RATA_ONLY &&
        pol->small_claims != DIST_PAY_OFF_FIRST)
        return BRR_EINVAL;
    if (pol->nweights > 0 && pol->weights == NULL)
        return BRR_EINVAL;
    for (size_t i = 0; i < pol->nweights; i++) {
        const dist_weight_t *wt = &pol->weights[i];
        if (!text_ok(wt->organisation, sizeof(wt->organisation)) ||
            wt->weight < 1 || wt->weight > DIST_WEIGHT_MAX)
            return BRR_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(pol->weights[j].organisation, wt->organisation) == 0)
                return BRR_EINVAL;
    }
    for (size_t i = 0; i < nclaims; i++) {
        const dist_claim_t *c = &claims[i];
        if (!text_ok(c->organisation, sizeof(c->organisation)) ||
            !text_ok(c->reference, sizeof(c->reference)) || c->open_cents < 0)
            return BRR_EINVAL;
        if (c->open_cents > BRR_CENTS_MAX)
            return BRR_ERANGE;
    }
    return 0;
}

static int cmp_ref_ptr(const void *pa, const void *pb)
{
    const dist_claim_t *a = *(const dist_claim_t *const *)pa;
    const dist_claim_t *b = *(const dist_claim_t *const *)pb;
    int c = strcmp(a->organisation, b->organisation);
    return c != 0 ? c : strcmp(a->reference, b->reference);
}

/* Zero when every (organisation, reference) is unique; scratch holds n
 * pointers. */
static int check_unique(const dist_claim_t *claims, size_t n,
                        const dist_claim_t **scratch)
{
    for (size_t i = 0; i < n; i++)
        scratch[i] = &claims[i];
    qsort(scratch, n, sizeof(*scratch), cmp_ref_ptr);
    for (size_t i = 1; i < n; i++)
        if (cmp_ref_ptr(&scratch[i - 1], &scratch[i]) == 0)
            return BRR_EINVAL;
    return 0;
}

void dist_claim_order(const dist_claim_t *claims, size_t nclaims, size_t *order)
{
    const dist_claim_t **p = xmalloc(nclaims * sizeof(*p));
    for (size_t i = 0; i < nclaims; i++)
        p[i] = &claims[i];
    qsort(p, nclaims, sizeof(*p), cmp_age_ptr);
    for (size_t i = 0; i < nclaims; i++)
        order[i] = (size_t)(p[i] - claims);
    free(p);
}

/* Step 2 of split.h; returns what is left of x. */
static brr_cents_t pay_small_first(work_t *w, const dist_claim_t *claims,
                                   size_t nclaims, brr_cents_t x,
                                   brr_cents_t small_claim)
{
    const dist_claim_t **cand = (const dist_claim_t **)w->rank;
    size_t ncand = 0;
    for (size_t i = 0; i < nclaims; i++)
        if (claims[i].open_cents > 0 && claims[i].open_cents <= small_claim)
            cand[ncand++] = &claims[i];
    qsort(cand, ncand, sizeof(*cand), cmp_small_ptr);
    for (size_t i = 0; i < ncand && cand[i]->open_cents <= x; i++) {
        w->paid_small[cand[i] - claims] = cand[i]->open_cents;
        x -= cand[i]->open_cents;
    }
    return x;
}

int dist_split(brr_cents_t instalment, const dist_claim_t *claims,
               size_t nclaims, const dist_policy_t *pol, dist_share_t *shares,
               size_t *nshares, brr_cents_t *claim_cents)
{
    dist_policy_t defaults;
    if (pol == NULL) {
        dist_policy_default(&defaults);
        pol = &defaults;
    }
    int rc = check_input(instalment, claims, nclaims, pol);
    if (rc != 0)
        return rc;

    work_t w;
    work_init(&w, nclaims);
    /* rank_t is larger than a pointer, so w.rank can hold nclaims of them */
    rc = check_unique(claims, nclaims, (const dist_claim_t **)w.rank);
    if (rc != 0) {
        free(w.block);
        return rc;
    }

    for (size_t i = 0; i < nclaims; i++) {
        w.byage[i] = &claims[i];
        w.paid_small[i] = 0;
    }
    qsort(w.byage, nclaims, sizeof(*w.byage), cmp_age_ptr);

    size_t norg = 0;
    brr_cents_t total = 0;
    for (size_t i = 0; i < nclaims; i++) {
        const dist_claim_t *c = w.byage[i];
        if (norg == 0 || strcmp(w.org[norg - 1].code, c->organisation) != 0) {
            org_t *o = &w.org[norg++];
            memset(o, 0, sizeof(*o));
            o->code = c->organisation;
            o->first = i;
            o->weight = weight_of(pol, o->code);
        }
        w.org[norg - 1].count++;
        w.org[norg - 1].total += c->open_cents;
        total += c->open_cents; /* <= DIST_MAX_CLAIMS * 1e13: no overflow */
    }

    if (total <= instalment) {
        for (size_t i = 0; i < nclaims; i++)
            claim_cents[i] = claims[i].open_cents;
        for (size_t j = 0; j < norg; j++)
            shares[j] =
                (dist_share_t){w.org[j].code, w.org[j].total, w.org[j].total};
        *nshares = norg;
        free(w.block);
        return 0;
    }

    brr_cents_t x = instalment;
    if (pol->small_claims == DIST_PAY_OFF_FIRST)
        x = pay_small_first(&w, claims, nclaims, x, pol->small_claim);

    size_t nact = 0;
    for (size_t j = 0; j < norg; j++) {
        org_t *o = &w.org[j];
        for (size_t i = o->first; i < o->first + o->count; i++)
            o->small += w.paid_small[w.byage[i] - claims];
        o->bal = o->total - o->small;
        if (o->bal > 0)
            w.act[nact++] = j;
    }
    /* total > instalment, so what stays open exceeds x: all of x fits. */
    if (x > 0)
        share_with_floors(&w, nact, x, pol->min_per_org);

    for (size_t j = 0; j < norg; j++) {
        org_t *o = &w.org[j];
        brr_cents_t left = o->share;
        for (size_t i = o->first; i < o->first + o->count; i++) {
            size_t ci = (size_t)(w.byage[i] - claims);
            brr_cents_t room = claims[ci].open_cents - w.paid_small[ci];
            brr_cents_t pay = left < room ? left : room;
            claim_cents[ci] = w.paid_small[ci] + pay;
            left -= pay;
        }
        shares[j] = (dist_share_t){o->code, o->total, o->small + o->share};
    }
    *nshares = norg;
    free(w.block);
    return 0;
}
