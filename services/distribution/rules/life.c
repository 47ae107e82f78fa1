/*
 * life.c: one arrangement's schedule and lifecycle in memory (see life.h).
 *
 * Pure: no I/O, no clock.  Arrangements are small (a handful of claims,
 * the few unsettled instalments), so lookups are linear scans.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "life.h"

static const char *const state_names[] = {
    "AANGEVRAAGD", "AFGEWEZEN", "ACTIEF",  "GEPAUZEERD",
    "ACHTERSTAND", "VERVALLEN", "VOLDAAN", "BEEINDIGD"};
static const char *const ist_names[] = {"OPEN", "PAID", "MISSED", "PAUSED"};

#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))
#define NISTS (sizeof(ist_names) / sizeof(ist_names[0]))

static void *xrealloc(void *p, size_t n, size_t size)
{
    p = realloc(p, (n ? n : 1) * size);
    if (p == NULL)
        abort();
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL)
        abort();
    return p;
}

void dist_arr_init(dist_arr_t *a)
{
    memset(a, 0, sizeof(*a));
    a->state = DIST_ST_AANGEVRAAGD;
    a->next_seq = 1;
}

void dist_arr_free(dist_arr_t *a)
{
    free(a->claims);
    free(a->inst);
    free(a->shares);
    memset(a, 0, sizeof(*a));
}

const char *dist_state_name(dist_state_t s)
{
    return (size_t)s < NSTATES ? state_names[s] : "STATE_UNSPECIFIED";
}

int dist_state_parse(const char *s, dist_state_t *out)
{
    for (size_t i = 0; i < NSTATES; i++)
        if (strcmp(s, state_names[i]) == 0) {
            *out = (dist_state_t)i;
            return 0;
        }
    return BRR_EINVAL;
}

const char *dist_ist_name(dist_ist_t s)
{
    return (size_t)s < NISTS ? ist_names[s] : "OPEN";
}

int dist_ist_parse(const char *s, dist_ist_t *out)
{
    for (size_t i = 0; i < NISTS; i++)
        if (strcmp(s, ist_names[i]) == 0) {
            *out = (dist_ist_t)i;
            return 0;
        }
    return BRR_EINVAL;
}

int dist_arr_live(const dist_arr_t *a)
{
    return a->state == DIST_ST_ACTIEF || a->state == DIST_ST_GEPAUZEERD ||
           a->state == DIST_ST_ACHTERSTAND;
}

static int unsettled(dist_ist_t s)
{
    return s == DIST_IST_OPEN || s == DIST_IST_MISSED;
}

static size_t add_claim(dist_arr_t *a, const char *org, const char *ref,
                        brr_cents_t open, int32_t due_day, int withdrawn)
{
    dist_aclaim_t *c;
    if (a->nclaims == a->capclaims) {
        a->capclaims = a->capclaims ? a->capclaims * 2 : 8;
        a->claims = xrealloc(a->claims, a->capclaims, sizeof(*a->claims));
    }
    c = &a->claims[a->nclaims];
    memset(c, 0, sizeof(*c));
    strncpy(c->c.organisation, org, DIST_ORG_MAX);
    strncpy(c->c.reference, ref, DIST_REF_MAX);
    c->c.open_cents = open;
    c->c.due_day = due_day;
    c->withdrawn = withdrawn;
    return a->nclaims++;
}

size_t dist_arr_load_claim(dist_arr_t *a, const char *org, const char *ref,
                           brr_cents_t open, int32_t due_day, int withdrawn)
{
    return add_claim(a, org, ref, open, due_day, withdrawn);
}

static size_t find_inst(const dist_arr_t *a, int32_t seq)
{
    for (size_t k = 0; k < a->ninst; k++)
        if (a->inst[k].seq == seq)
            return k;
    return DIST_NONE;
}

static dist_ainst_t *add_inst(dist_arr_t *a, int32_t seq, int32_t due,
                              dist_ist_t state)
{
    size_t at = a->ninst;
    if (a->ninst == a->capinst) {
        a->capinst = a->capinst ? a->capinst * 2 : 4;
        a->inst = xrealloc(a->inst, a->capinst, sizeof(*a->inst));
    }
    while (at > 0 && a->inst[at - 1].seq > seq)
        at--;
    memmove(&a->inst[at + 1], &a->inst[at], (a->ninst - at) * sizeof(*a->inst));
    memset(&a->inst[at], 0, sizeof(a->inst[at]));
    a->inst[at].seq = seq;
    a->inst[at].due = due;
    a->inst[at].state = state;
    a->ninst++;
    return &a->inst[at];
}

void dist_arr_load_inst(dist_arr_t *a, int32_t seq, int32_t due,
                        dist_ist_t state)
{
    add_inst(a, seq, due, state);
}

static dist_ashare_t *find_share(dist_arr_t *a, int32_t seq, size_t claim)
{
    for (size_t s = 0; s < a->nshares; s++)
        if (a->shares[s].seq == seq && a->shares[s].claim == claim)
            return &a->shares[s];
    return NULL;
}

static dist_ashare_t *add_share(dist_arr_t *a, int32_t seq, size_t claim,
                                brr_cents_t cents, brr_cents_t paid)
{
    dist_ashare_t *sh;
    if (a->nshares == a->capshares) {
        a->capshares = a->capshares ? a->capshares * 2 : 16;
        a->shares = xrealloc(a->shares, a->capshares, sizeof(*a->shares));
    }
    sh = &a->shares[a->nshares++];
    memset(sh, 0, sizeof(*sh));
    sh->seq = seq;
    sh->claim = claim;
    sh->cents = cents;
    sh->paid = paid;
    return sh;
}

void dist_arr_load_share(dist_arr_t *a, int32_t seq, size_t claim,
                         brr_cents_t cents, brr_cents_t paid)
{
    add_share(a, seq, claim, cents, paid);
}

size_t dist_arr_find_claim(const dist_arr_t *a, const char *org,
                           const char *ref)
{
    for (size_t i = 0; i < a->nclaims; i++)
        if (strcmp(a->claims[i].c.organisation, org) == 0 &&
            strcmp(a->claims[i].c.reference, ref) == 0)
            return i;
    return DIST_NONE;
}

void dist_arr_start(dist_arr_t *a, dist_state_t state, brr_cents_t amount,
                    int due_day, int32_t first_due)
{
    a->state = state;
    a->amount = amount;
    a->due_day = due_day;
    a->first_due = first_due;
    a->next_seq = 1;
    a->next_due = first_due;
    a->open_on = INT32_MIN; /* instalment 1 opens at once */
    a->events |= DIST_EV_CREATED;
    a->dirty = 1;
}

static dist_ist_t inst_state(const dist_arr_t *a, int32_t seq)
{
    size_t k = find_inst(a, seq);
    return k == DIST_NONE ? DIST_IST_PAID : a->inst[k].state;
}

/* What unsettled instalments still ask of claim i. */
static brr_cents_t outstanding(const dist_arr_t *a, size_t i)
{
    brr_cents_t sum = 0;
    for (size_t s = 0; s < a->nshares; s++) {
        const dist_ashare_t *sh = &a->shares[s];
        if (sh->claim == i && unsettled(inst_state(a, sh->seq)))
            sum += sh->cents - sh->paid;
    }
    return sum;
}

/* What a new instalment may still ask of claim i. */
static brr_cents_t available(const dist_arr_t *a, size_t i)
{
    brr_cents_t v;
    if (a->claims[i].withdrawn)
        return 0;
    v = a->claims[i].c.open_cents - outstanding(a, i);
    return v > 0 ? v : 0;
}

static void set_share(dist_arr_t *a, int32_t seq, size_t claim,
                      brr_cents_t cents)
{
    dist_ashare_t *sh = find_share(a, seq, claim);
    if (sh == NULL) {
        if (cents == 0)
            return;
        sh = add_share(a, seq, claim, 0, 0);
    }
    if (sh->cents != cents) {
        sh->cents = cents;
        sh->dirty = 1;
    }
}

/* What the next instalment asks of each claim: min(amount, what is
 * available) split over the claims (out[i] for claim i, every entry set).
 * Returns 1 when something is asked, 0 when nothing can be, or
 * dist_split's error. */
static int split_next(const dist_arr_t *a, const dist_policy_t *pol,
                      brr_cents_t *out)
{
    dist_claim_t *tmp = xcalloc(a->nclaims, sizeof(*tmp));
    size_t *idx = xcalloc(a->nclaims, sizeof(*idx));
    dist_share_t *sh = xcalloc(a->nclaims, sizeof(*sh));
    brr_cents_t *cc = xcalloc(a->nclaims, sizeof(*cc));
    brr_cents_t total = 0, amt;
    size_t n = 0, ns;
    int rc = 0;

    for (size_t i = 0; i < a->nclaims; i++) {
        brr_cents_t v = available(a, i);
        out[i] = 0;
        if (v == 0)
            continue;
        tmp[n] = a->claims[i].c;
        tmp[n].open_cents = v;
        idx[n++] = i;
        total += v;
    }
    amt = a->amount < total ? a->amount : total;
    if (amt > 0) {
        rc = dist_split(amt, tmp, n, pol, sh, &ns, cc);
        if (rc == 0) {
            for (size_t j = 0; j < n; j++)
                out[idx[j]] = cc[j];
            rc = 1;
        }
    }
    free(tmp);
    free(idx);
    free(sh);
    free(cc);
    return rc;
}

/* Splits min(amount, what is available) over the claims as instalment seq
 * (its shares must be zero).  Returns 1 when something was asked, 0 when
 * nothing could be, or dist_split's error. */
static int split_into(dist_arr_t *a, int32_t seq, const dist_policy_t *pol)
{
    brr_cents_t *cc = xcalloc(a->nclaims, sizeof(*cc));
    int rc = split_next(a, pol, cc);
    if (rc == 1)
        for (size_t i = 0; i < a->nclaims; i++)
            set_share(a, seq, i, cc[i]);
    free(cc);
    return rc;
}

/* Instalments with nothing left to pay are PAID. */
static void settle(dist_arr_t *a)
{
    for (size_t k = 0; k < a->ninst; k++) {
        dist_ainst_t *in = &a->inst[k];
        brr_cents_t left = 0;
        if (!unsettled(in->state))
            continue;
        for (size_t s = 0; s < a->nshares; s++)
            if (a->shares[s].seq == in->seq)
                left += a->shares[s].cents - a->shares[s].paid;
        if (left == 0) {
            in->state = DIST_IST_PAID;
            in->dirty = 1;
            a->paid_count++;
            a->events |= DIST_EV_PAID;
        }
    }
}

int dist_arr_open_due(dist_arr_t *a, int32_t today, const dist_policy_t *pol)
{
    int opened = 0;
    for (int guard = 0;
         dist_arr_live(a) && a->open_on <= today && guard < DIST_SCHEDULE_MAX;
         guard++) {
        int32_t seq = a->next_seq, due = a->next_due;
        int rc;
        /* in a pause, an instalment due after its last day asks money
         * as usual: the citizen pays it once the pause is over */
        if (a->state == DIST_ST_GEPAUZEERD &&
            (a->pause_until == 0 || due <= a->pause_until)) {
            dist_ainst_t *in = add_inst(a, seq, due, DIST_IST_PAUSED);
            in->dirty = in->fresh = 1;
            a->next_seq++;
            opened++;
        } else {
            dist_ainst_t *in = add_inst(a, seq, due, DIST_IST_OPEN);
            in->dirty = in->fresh = 1;
            rc = split_into(a, seq, pol);
            if (rc < 0)
                return rc;
            if (rc == 0) {
                /* nothing left to ask this month: no instalment */
                size_t k = find_inst(a, seq);
                memmove(&a->inst[k], &a->inst[k + 1],
                        (a->ninst - k - 1) * sizeof(*a->inst));
                a->ninst--;
            } else {
                a->cur_seq = seq;
                a->next_seq++;
                opened++;
            }
        }
        a->open_on = due + 1;
        a->next_due = dist_due_nth(due, a->due_day, 1);
        a->dirty = 1;
    }
    if (opened > 0)
        a->events |= DIST_EV_OPENED;
    return opened;
}

static brr_cents_t inst_paid(const dist_arr_t *a, int32_t seq)
{
    brr_cents_t paid = 0;
    for (size_t s = 0; s < a->nshares; s++)
        if (a->shares[s].seq == seq)
            paid += a->shares[s].paid;
    return paid;
}

int dist_arr_resplit(dist_arr_t *a, const dist_policy_t *pol)
{
    unsigned char *redo = xcalloc(a->ninst, 1);
    int rc = 0;
    for (size_t k = 0; k < a->ninst; k++)
        if (a->inst[k].state == DIST_IST_OPEN &&
            inst_paid(a, a->inst[k].seq) == 0) {
            redo[k] = 1;
            for (size_t s = 0; s < a->nshares; s++)
                if (a->shares[s].seq == a->inst[k].seq)
                    set_share(a, a->shares[s].seq, a->shares[s].claim, 0);
        }
    for (size_t k = 0; k < a->ninst && rc >= 0; k++)
        if (redo[k])
            rc = split_into(a, a->inst[k].seq, pol);
    free(redo);
    if (rc < 0)
        return rc;
    settle(a);
    return 0;
}

static size_t live_claim(const dist_arr_t *a, const char *org, const char *ref)
{
    size_t i = dist_arr_find_claim(a, org, ref);
    return i != DIST_NONE && !a->claims[i].withdrawn ? i : DIST_NONE;
}

int dist_arr_pay(dist_arr_t *a, const char *org, const char *ref,
                 brr_cents_t cents)
{
    size_t i = live_claim(a, org, ref);
    brr_cents_t left = cents;
    if (i == DIST_NONE)
        return BRR_ENOTFOUND;
    if (cents <= 0)
        return BRR_EINVAL;
    if (cents > a->claims[i].c.open_cents)
        return BRR_ERANGE;
    a->claims[i].c.open_cents -= cents;
    a->claims[i].dirty = 1;
    for (size_t k = 0; k < a->ninst && left > 0; k++) {
        dist_ashare_t *sh;
        brr_cents_t take;
        if (!unsettled(a->inst[k].state))
            continue;
        sh = find_share(a, a->inst[k].seq, i);
        if (sh == NULL || sh->paid >= sh->cents)
            continue;
        take = sh->cents - sh->paid < left ? sh->cents - sh->paid : left;
        sh->paid += take;
        sh->dirty = 1;
        left -= take;
    }
    settle(a);
    a->events |= DIST_EV_RECALCULATED;
    return 0;
}

/* Unsettled shares of claim i never ask more than its balance: the newest
 * give way first, never below what was paid on them. */
static void cap_claim(dist_arr_t *a, size_t i)
{
    brr_cents_t excess = outstanding(a, i) - a->claims[i].c.open_cents;
    for (size_t k = a->ninst; k-- > 0 && excess > 0;) {
        dist_ashare_t *sh;
        brr_cents_t cut;
        if (!unsettled(a->inst[k].state))
            continue;
        sh = find_share(a, a->inst[k].seq, i);
        if (sh == NULL)
            continue;
        cut = sh->cents - sh->paid < excess ? sh->cents - sh->paid : excess;
        if (cut > 0) {
            sh->cents -= cut;
            sh->dirty = 1;
            excess -= cut;
        }
    }
}

int dist_arr_claim_set(dist_arr_t *a, const char *org, const char *ref,
                       brr_cents_t open)
{
    size_t i = live_claim(a, org, ref);
    if (i == DIST_NONE)
        return BRR_ENOTFOUND;
    if (open < 0 || open > BRR_CENTS_MAX)
        return BRR_EINVAL;
    a->claims[i].c.open_cents = open;
    a->claims[i].dirty = 1;
    cap_claim(a, i);
    settle(a);
    a->events |= DIST_EV_RECALCULATED;
    return 0;
}

int dist_arr_claim_withdraw(dist_arr_t *a, const char *org, const char *ref)
{
    size_t i = live_claim(a, org, ref);
    if (i == DIST_NONE)
        return BRR_ENOTFOUND;
    a->claims[i].c.open_cents = 0;
    a->claims[i].withdrawn = 1;
    a->claims[i].dirty = 1;
    cap_claim(a, i);
    settle(a);
    a->events |= DIST_EV_RECALCULATED;
    return 0;
}

int dist_arr_claim_new(dist_arr_t *a, const char *org, const char *ref,
                       brr_cents_t open, int32_t due_day)
{
    size_t i, lo = strlen(org), lr = strlen(ref);
    if (lo == 0 || lo > DIST_ORG_MAX || lr == 0 || lr > DIST_REF_MAX ||
        open <= 0 || open > BRR_CENTS_MAX)
        return BRR_EINVAL;
    if (dist_arr_find_claim(a, org, ref) != DIST_NONE)
        return BRR_EEXISTS;
    if (a->nclaims >= DIST_MAX_CLAIMS)
        return BRR_ERANGE;
    i = add_claim(a, org, ref, open, due_day, 0);
    a->claims[i].dirty = 1;
    a->events |= DIST_EV_RECALCULATED;
    return 0;
}

int dist_arr_pause(dist_arr_t *a, int32_t start, int32_t end)
{
    if (a->state != DIST_ST_ACTIEF && a->state != DIST_ST_GEPAUZEERD)
        return BRR_EINVAL;
    /* the schedule as it was before this run of pauses is what RESPREAD
     * keeps to; a pause that follows one still running keeps it too */
    if (a->state == DIST_ST_ACTIEF || a->pause_base == 0) {
        a->pause_base = a->amount;
        a->pause_keep_end = dist_arr_end_date(a);
    }
    a->state = DIST_ST_GEPAUZEERD;
    a->pause_until = end;
    for (size_t k = 0; k < a->ninst; k++) {
        dist_ainst_t *in = &a->inst[k];
        if (in->state != DIST_IST_OPEN || in->due < start ||
            (end != 0 && in->due > end) || inst_paid(a, in->seq) != 0)
            continue;
        in->state = DIST_IST_PAUSED;
        in->dirty = 1;
        for (size_t s = 0; s < a->nshares; s++)
            if (a->shares[s].seq == in->seq && a->shares[s].cents != 0) {
                a->shares[s].cents = 0;
                a->shares[s].dirty = 1;
            }
    }
    a->events |= DIST_EV_PAUSED;
    a->dirty = 1;
    return 0;
}

/* What new instalments may still ask, all claims together. */
static brr_cents_t to_ask(const dist_arr_t *a)
{
    brr_cents_t ask = 0;
    for (size_t i = 0; i < a->nclaims; i++)
        ask += available(a, i);
    return ask;
}

/* The first k >= 0 whose due date from next_due lies after pause_until. */
static int32_t first_after_pause(const dist_arr_t *a)
{
    int32_t k = 0;
    while (a->pause_until != 0 && k < DIST_SCHEDULE_MAX &&
           dist_due_nth(a->next_due, a->due_day, k) <= a->pause_until)
        k++;
    return k;
}

/* OPEN instalments due after day `after` that nothing was paid on: they
 * may still be split again. */
static int respreadable(const dist_arr_t *a, const dist_ainst_t *in,
                        int32_t after)
{
    return in->state == DIST_IST_OPEN && in->due > after &&
           inst_paid(a, in->seq) == 0;
}

int dist_arr_respread(dist_arr_t *a, int32_t after, const dist_policy_t *pol)
{
    brr_cents_t ask, amount;
    int32_t m = 0;
    int rc = 0;
    /* no schedule from before the pause (a pause applied before it was
     * stored with the arrangement): nothing to keep to */
    if (a->due_day < 1 || a->amount <= 0 || a->pause_keep_end == 0)
        return 0;
    ask = to_ask(a);
    for (size_t k = 0; k < a->ninst; k++)
        if (respreadable(a, &a->inst[k], after)) {
            m++;
            for (size_t s = 0; s < a->nshares; s++)
                if (a->shares[s].seq == a->inst[k].seq)
                    ask += a->shares[s].cents;
        }
    for (int32_t k = 0; k < DIST_SCHEDULE_MAX; k++) {
        int32_t due = dist_due_nth(a->next_due, a->due_day, k);
        if (due > a->pause_keep_end)
            break;
        if (due > after)
            m++;
    }
    if (m < 1)
        m = 1;
    amount = (ask + m - 1) / m;
    if (amount < a->pause_base)
        amount = a->pause_base;
    if (amount < 1 || amount == a->amount)
        return 0;
    a->amount = amount;
    a->dirty = 1;
    a->events |= DIST_EV_RECALCULATED;
    /* what is open after the pause asks the new amount, oldest first */
    for (size_t k = 0; k < a->ninst; k++) {
        if (!respreadable(a, &a->inst[k], after))
            continue;
        for (size_t s = 0; s < a->nshares; s++)
            if (a->shares[s].seq == a->inst[k].seq)
                set_share(a, a->shares[s].seq, a->shares[s].claim, 0);
    }
    for (size_t k = 0; k < a->ninst && rc >= 0; k++)
        if (respreadable(a, &a->inst[k], after))
            rc = split_into(a, a->inst[k].seq, pol);
    return rc < 0 ? rc : 0;
}

int dist_arr_resume(dist_arr_t *a, int32_t until, int respread,
                    const dist_policy_t *pol)
{
    int rc = 0;
    if (a->state != DIST_ST_GEPAUZEERD)
        return BRR_EINVAL;
    a->state = DIST_ST_ACTIEF;
    /* cut short: what fell due after its last day was never in it */
    for (size_t k = 0; k < a->ninst && until != 0 && rc >= 0; k++) {
        dist_ainst_t *in = &a->inst[k];
        if (in->state != DIST_IST_PAUSED || in->due <= until)
            continue;
        in->state = DIST_IST_OPEN;
        in->dirty = 1;
        rc = split_into(a, in->seq, pol);
        if (in->seq > a->cur_seq)
            a->cur_seq = in->seq;
    }
    if (rc >= 0 && respread && until != 0)
        rc = dist_arr_respread(a, until, pol);
    a->pause_until = 0;
    a->pause_base = 0;
    a->pause_keep_end = 0;
    a->events |= DIST_EV_RESUMED;
    a->dirty = 1;
    return rc < 0 ? rc : 0;
}

int dist_arr_next_after(const dist_arr_t *a, int32_t after,
                        const dist_policy_t *pol, brr_cents_t *cents,
                        int32_t *due)
{
    int32_t k = 0;
    int rc;
    *due = 0;
    for (size_t i = 0; i < a->nclaims; i++)
        cents[i] = 0;
    if (!dist_arr_live(a) || a->amount <= 0 || a->due_day < 1)
        return 0;
    /* one already open keeps what it asks */
    for (size_t j = 0; j < a->ninst; j++) {
        const dist_ainst_t *in = &a->inst[j];
        if (in->state != DIST_IST_OPEN || in->due <= after)
            continue;
        for (size_t s = 0; s < a->nshares; s++)
            if (a->shares[s].seq == in->seq)
                cents[a->shares[s].claim] = a->shares[s].cents;
        *due = in->due;
        return 0;
    }
    while (k < DIST_SCHEDULE_MAX &&
           dist_due_nth(a->next_due, a->due_day, k) <= after)
        k++;
    rc = split_next(a, pol, cents);
    if (rc == 1)
        *due = dist_due_nth(a->next_due, a->due_day, k);
    return rc < 0 ? rc : 0;
}

int dist_arr_end(dist_arr_t *a)
{
    if (!dist_arr_live(a))
        return BRR_EINVAL;
    a->state = DIST_ST_BEEINDIGD;
    a->events |= DIST_EV_ENDED;
    a->dirty = 1;
    return 0;
}

brr_cents_t dist_arr_open_total(const dist_arr_t *a)
{
    brr_cents_t t = 0;
    for (size_t i = 0; i < a->nclaims; i++)
        t += a->claims[i].c.open_cents;
    return t;
}

/* The lifecycle's view of the unsettled instalments; *inst is malloc'd. */
static void life_view(const dist_arr_t *a, dist_life_t *life,
                      dist_inst_t **inst)
{
    size_t n = 0;
    *inst = xcalloc(a->ninst, sizeof(**inst));
    for (size_t k = 0; k < a->ninst; k++)
        if (unsettled(a->inst[k].state)) {
            (*inst)[n].due_day = a->inst[k].due;
            (*inst)[n++].status = DIST_INST_DUE;
        }
    memset(life, 0, sizeof(*life));
    life->state = a->state;
    life->reminders = a->reminders;
    life->last_reminder = a->last_reminder;
    life->open_cents = dist_arr_open_total(a);
    life->inst = *inst;
    life->ninst = n;
}

int dist_arr_step(dist_arr_t *a, int32_t today, const dist_life_params_t *p)
{
    dist_life_params_t def;
    if (p == NULL) {
        dist_life_params_default(&def);
        p = &def;
    }
    for (int iter = 0; iter < DIST_LIFE_MAX_STEPS; iter++) {
        dist_life_t life;
        dist_inst_t *inst;
        dist_decision_t d;
        int rc;
        if (a->state != DIST_ST_ACTIEF && a->state != DIST_ST_ACHTERSTAND)
            return 0;
        for (size_t k = 0; k < a->ninst; k++)
            if (a->inst[k].state == DIST_IST_OPEN &&
                today > a->inst[k].due + p->grace_days) {
                a->inst[k].state = DIST_IST_MISSED;
                a->inst[k].dirty = 1;
                a->events |= DIST_EV_MISSED;
            }
        life_view(a, &life, &inst);
        rc = dist_life_next(&life, p, today, &d);
        free(inst);
        if (rc != 0)
            return rc;
        switch (d.action) {
        case DIST_ACT_NONE:
            return 0;
        case DIST_ACT_ARREARS:
            a->state = DIST_ST_ACHTERSTAND;
            a->reminders = 1;
            a->last_reminder = today;
            a->events |= DIST_EV_ARREARS;
            break;
        case DIST_ACT_REMINDER2:
            a->reminders = 2;
            a->last_reminder = today;
            a->events |= DIST_EV_REMINDER;
            break;
        case DIST_ACT_LAPSE:
            a->state = DIST_ST_VERVALLEN;
            a->events |= DIST_EV_LAPSED;
            break;
        case DIST_ACT_RECOVER:
            a->state = DIST_ST_ACTIEF;
            a->reminders = 0;
            a->last_reminder = 0;
            a->events |= DIST_EV_RECOVERED;
            break;
        case DIST_ACT_COMPLETE:
            a->state = DIST_ST_VOLDAAN;
            a->events |= DIST_EV_COMPLETED;
            break;
        }
        a->dirty = 1;
    }
    return 0;
}

int32_t dist_arr_wake(const dist_arr_t *a, int32_t today,
                      const dist_life_params_t *p)
{
    int32_t w;
    if (!dist_arr_live(a))
        return DIST_NEVER;
    w = a->open_on > today ? a->open_on : today + 1;
    if (a->state != DIST_ST_GEPAUZEERD) {
        dist_life_t life;
        dist_inst_t *inst;
        dist_decision_t d;
        life_view(a, &life, &inst);
        if (dist_life_next(&life, p, today, &d) == 0) {
            int32_t c = d.action == DIST_ACT_NONE ? d.next_check : today + 1;
            if (c < w)
                w = c;
        }
        free(inst);
    }
    return w;
}

int32_t dist_arr_end_date(const dist_arr_t *a)
{
    int32_t last = 0;
    brr_cents_t ask = 0;
    for (size_t k = 0; k < a->ninst; k++)
        if (unsettled(a->inst[k].state) && a->inst[k].due > last)
            last = a->inst[k].due;
    ask = to_ask(a);
    if (ask > 0 && a->amount > 0 && a->due_day >= 1) {
        int64_t n = (ask + a->amount - 1) / a->amount;
        if (n > DIST_SCHEDULE_MAX)
            n = DIST_SCHEDULE_MAX;
        last = dist_due_nth(a->next_due, a->due_day,
                            first_after_pause(a) + (int32_t)(n - 1));
    }
    return last;
}

brr_cents_t dist_arr_claim_share(const dist_arr_t *a, size_t i)
{
    for (size_t s = 0; s < a->nshares; s++)
        if (a->shares[s].seq == a->cur_seq && a->shares[s].claim == i)
            return a->shares[s].cents;
    return 0;
}

int32_t dist_arr_cur_due(const dist_arr_t *a)
{
    size_t k = find_inst(a, a->cur_seq);
    return k == DIST_NONE ? 0 : a->inst[k].due;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

uint64_t dist_arr_org_digest(const dist_arr_t *a, const char *org)
{
    uint64_t h = 14695981039346656037ull;
    int32_t st = (int32_t)a->state, rem = a->reminders;
    h = fnv(h, &st, sizeof(st));
    h = fnv(h, &rem, sizeof(rem));
    for (size_t i = 0; i < a->nclaims; i++) {
        const dist_aclaim_t *c = &a->claims[i];
        int64_t v[3];
        if (strcmp(c->c.organisation, org) != 0)
            continue;
        v[0] = c->c.open_cents;
        v[1] = c->withdrawn;
        v[2] = dist_arr_claim_share(a, i);
        h = fnv(h, c->c.reference, strlen(c->c.reference) + 1);
        h = fnv(h, v, sizeof(v));
    }
    return h;
}
