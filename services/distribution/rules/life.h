/*
 * life.h: one arrangement's life in memory (DOMAIN §1, §4, §6): its claims,
 * the instalments (termijnen) opened so far with each claim's share, and
 * the steps that change them: opening the next instalment over the
 * balances open at that moment, payments and claim changes reported by the
 * organisations, amendments, pauses, ending on request, and the
 * missed-instalment lifecycle of dist_life_next().
 *
 * Pure: no I/O, no clock.  brr-distribution loads an arrangement from
 * Postgres into a dist_arr_t, applies steps with today's Amsterdam date,
 * writes back whatever is marked dirty, and compares each organisation's
 * dist_arr_org_digest() before and after to tell it of every change.
 *
 * The schedule rolls: instalment k opens the day after instalment k-1 was
 * due (instalment 1 when the arrangement is made) for min(amount, what is
 * still to be asked), split by dist_split() over each claim's balance minus
 * what earlier unsettled instalments already ask of it.  Instalments that
 * nobody has paid anything on are split again whenever balances change
 * (dist_arr_resplit), so a claim paid off frees capacity for the others at
 * once.  An instalment is PAID when every share of it is paid, MISSED once
 * its grace has passed unpaid, PAUSED when it falls in a pause.
 */
#ifndef BRR_DIST_LIFE_H
#define BRR_DIST_LIFE_H

#include <stddef.h>
#include <stdint.h>

#include "money.h"
#include "schedule.h"
#include "split.h"

#define DIST_NONE SIZE_MAX
#define DIST_LIFE_MAX_STEPS 8 /* lifecycle steps applied in one call */

typedef enum {
    DIST_IST_OPEN = 0,
    DIST_IST_PAID,
    DIST_IST_MISSED,
    DIST_IST_PAUSED
} dist_ist_t;

typedef struct {
    dist_claim_t c; /* organisation, reference, open_cents, due_day (age) */
    int withdrawn;
    int dirty;
} dist_aclaim_t;

typedef struct {
    int32_t seq; /* 1, 2, ... */
    int32_t due;
    dist_ist_t state;
    int dirty;
    int fresh; /* opened by this process (for the history) */
} dist_ainst_t;

typedef struct {
    int32_t seq;
    size_t claim; /* index into the arrangement's claims */
    brr_cents_t cents, paid;
    int dirty;
} dist_ashare_t;

/* What happened since the arrangement was loaded (dist_arr_t.events). */
enum {
    DIST_EV_CREATED = 1u << 0,
    DIST_EV_AMENDED = 1u << 1,
    DIST_EV_RECALCULATED = 1u << 2,
    DIST_EV_OPENED = 1u << 3,
    DIST_EV_PAUSED = 1u << 4,
    DIST_EV_RESUMED = 1u << 5,
    DIST_EV_ARREARS = 1u << 6,
    DIST_EV_REMINDER = 1u << 7,
    DIST_EV_RECOVERED = 1u << 8,
    DIST_EV_COMPLETED = 1u << 9,
    DIST_EV_LAPSED = 1u << 10,
    DIST_EV_ENDED = 1u << 11,
    DIST_EV_MISSED = 1u << 12,
    DIST_EV_PAID = 1u << 13
};

typedef struct {
    dist_state_t state;
    brr_cents_t amount; /* the monthly instalment */
    int due_day;        /* 1..31 */
    int32_t first_due;
    int32_t next_seq; /* next instalment to open */
    int32_t next_due; /* its due date */
    int32_t open_on;  /* the day it opens */
    int32_t cur_seq;  /* latest instalment that asks money (0: none) */
    int reminders;
    int32_t last_reminder;
    dist_aclaim_t *claims;
    size_t nclaims, capclaims;
    dist_ainst_t *inst; /* unsettled ones and cur_seq, by seq */
    size_t ninst, capinst;
    dist_ashare_t *shares;
    size_t nshares, capshares;
    unsigned events; /* DIST_EV_* */
    int dirty;
    int32_t paid_count; /* instalments PAID so far (as loaded, then +) */
    /* the running pause (stored with the arrangement): its last day (0:
     * none, or until resumed), and for RESPREAD the amount and projected
     * end date from before it */
    int32_t pause_until;
    brr_cents_t pause_base;
    int32_t pause_keep_end;
} dist_arr_t;

/* An empty arrangement (all zero, state AANGEVRAAGD). */
void dist_arr_init(dist_arr_t *a);

/* Frees the arrays; a may be initialised again. */
void dist_arr_free(dist_arr_t *a);

/* The state's name ("ACTIEF") and back; parse returns 0 or BRR_EINVAL. */
const char *dist_state_name(dist_state_t s);
int dist_state_parse(const char *s, dist_state_t *out);
const char *dist_ist_name(dist_ist_t s);
int dist_ist_parse(const char *s, dist_ist_t *out);

/* ACTIEF, GEPAUZEERD or ACHTERSTAND: the citizen's one live arrangement. */
int dist_arr_live(const dist_arr_t *a);

/* Loading: append a claim, an instalment (kept in seq order) or a share as
 * stored, nothing marked dirty.  Claims and shares return their index. */
size_t dist_arr_load_claim(dist_arr_t *a, const char *org, const char *ref,
                           brr_cents_t open, int32_t due_day, int withdrawn);
void dist_arr_load_inst(dist_arr_t *a, int32_t seq, int32_t due,
                        dist_ist_t state);
void dist_arr_load_share(dist_arr_t *a, int32_t seq, size_t claim,
                         brr_cents_t cents, brr_cents_t paid);

/* The claim (org, ref), or DIST_NONE. */
size_t dist_arr_find_claim(const dist_arr_t *a, const char *org,
                           const char *ref);

/* A new arrangement's start: state (ACTIEF or GEPAUZEERD), the monthly
 * amount, due day and first due date; instalment 1 opens at the next
 * dist_arr_open_due.  Claims are added with dist_arr_claim_new. */
void dist_arr_start(dist_arr_t *a, dist_state_t state, brr_cents_t amount,
                    int due_day, int32_t first_due);

/* Opens every instalment whose day has come (open_on <= today), catching
 * up after downtime; during a pause they open PAUSED.  A month with nothing
 * left to ask opens nothing.  Returns the number opened (>= 0) or
 * dist_split's error. */
int dist_arr_open_due(dist_arr_t *a, int32_t today, const dist_policy_t *pol);

/* Splits again every OPEN instalment that nothing has been paid on yet,
 * oldest first, over the balances as they are now.  0 or dist_split's
 * error. */
int dist_arr_resplit(dist_arr_t *a, const dist_policy_t *pol);

/* A payment the organisation received for its claim: lowers the balance
 * and pays the claim's unsettled shares oldest first.  0, BRR_ENOTFOUND
 * (no such live claim), BRR_EINVAL (cents <= 0) or BRR_ERANGE (more than
 * the balance). */
int dist_arr_pay(dist_arr_t *a, const char *org, const char *ref,
                 brr_cents_t cents);

/* The claim's balance is now open (>= 0): its unsettled shares never ask
 * more than that.  0, BRR_ENOTFOUND or BRR_EINVAL. */
int dist_arr_claim_set(dist_arr_t *a, const char *org, const char *ref,
                       brr_cents_t open);

/* The organisation withdraws its claim: balance 0, unsettled shares drop
 * to what was paid.  0 or BRR_ENOTFOUND. */
int dist_arr_claim_withdraw(dist_arr_t *a, const char *org, const char *ref);

/* Adds a claim (open > 0, due_day its age).  0, BRR_EEXISTS when (org,
 * ref) is there already, BRR_EINVAL for a bad argument, BRR_ERANGE when the
 * arrangement is full. */
int dist_arr_claim_new(dist_arr_t *a, const char *org, const char *ref,
                       brr_cents_t open, int32_t due_day);

/* A pause of the days start..end (inclusive; end 0: until resumed)
 * started: GEPAUZEERD.  OPEN instalments due in it with nothing paid
 * become PAUSED (shares 0); while it runs, instalments due in it open
 * PAUSED and those due after it open OPEN as usual (dist_arr_open_due).
 * The first pause of a run remembers the amount and the projected end date
 * from before it (pause_base, pause_keep_end) for RESPREAD.  0, or
 * BRR_EINVAL when the arrangement is not ACTIEF or GEPAUZEERD. */
int dist_arr_pause(dist_arr_t *a, int32_t start, int32_t end);

/* DOMAIN §5's RESPREAD effect for a pause whose last day is `after`: the
 * arrangement keeps the end date it had before the pause (pause_keep_end)
 * and the monthly amount becomes the smallest that fits what is still to
 * be asked into the due dates after the pause up to that end (at least
 * one), never below the amount before the pause (pause_base).  OPEN
 * instalments due after `after` with nothing paid are split again with
 * it.  Called when the pause starts (its planned last day) and when it
 * ends (dist_arr_resume: the day it really ended, so a pause cut short
 * brings the amount down again).  Without pause_keep_end (nothing to ask
 * before the pause, or a pause applied before it was stored) nothing
 * changes.  EXTEND needs nothing: the amount stays and the end date moves
 * past the paused due dates.  0 or dist_split's error. */
int dist_arr_respread(dist_arr_t *a, int32_t after, const dist_policy_t *pol);

/* The pause ended; until is its last day (the planned end, or earlier
 * when it was cut short; 0: unknown).  ACTIEF again.  PAUSED instalments
 * due after until open again (OPEN, split over the balances); with
 * respread the amount is spread again from until (dist_arr_respread).
 * The pause is forgotten.  0, BRR_EINVAL when not GEPAUZEERD, or
 * dist_split's error. */
int dist_arr_resume(dist_arr_t *a, int32_t until, int respread,
                    const dist_policy_t *pol);

/* The first instalment due after day `after` (a pause's last day), as the
 * organisations will be asked it: one already OPEN keeps its shares; the
 * next to open is split now over the balances as dist_arr_open_due will
 * split it.  cents[i] gets claim i's share (nclaims entries), *due its due
 * date; *due is 0 and every share 0 when nothing is left to ask.  0 or
 * dist_split's error. */
int dist_arr_next_after(const dist_arr_t *a, int32_t after,
                        const dist_policy_t *pol, brr_cents_t *cents,
                        int32_t *due);

/* Ending on request (e.g. admission to WSNP): BEEINDIGD.  0 or BRR_EINVAL
 * when the arrangement is not live. */
int dist_arr_end(dist_arr_t *a);

/* Marks OPEN instalments past their grace MISSED and applies lifecycle
 * steps (dist_life_next) until none is due today (p NULL: defaults).
 * 0 or dist_life_next's error. */
int dist_arr_step(dist_arr_t *a, int32_t today, const dist_life_params_t *p);

/* The next day on which the schedule or the lifecycle may move (a later
 * day than today), or DIST_NEVER for a closed arrangement. */
int32_t dist_arr_wake(const dist_arr_t *a, int32_t today,
                      const dist_life_params_t *p);

/* All balances together. */
brr_cents_t dist_arr_open_total(const dist_arr_t *a);

/* The projected due date of the last instalment: the unsettled ones, then
 * monthly amounts over what is still to be asked (from next_due, skipping
 * due dates up to pause_until); 0 when nothing is. */
int32_t dist_arr_end_date(const dist_arr_t *a);

/* Claim i's share of the current instalment (cur_seq). */
brr_cents_t dist_arr_claim_share(const dist_arr_t *a, size_t i);

/* The current instalment's due date (0 when none). */
int32_t dist_arr_cur_due(const dist_arr_t *a);

/* A digest of what organisation org sees of the arrangement: state,
 * reminders, and for each of its claims the balance, withdrawal and share
 * of the current instalment.  Equal digests: nothing to tell. */
uint64_t dist_arr_org_digest(const dist_arr_t *a, const char *org);

#endif
