/*
 * schedule.h: civil dates, due dates, instalment schedules, each
 * organisation's share per instalment, and the missed-instalment lifecycle
 * (DOMAIN §1, §4, §6).
 *
 * Pure: no I/O, no clock.  Dates are civil dates in Europe/Amsterdam, held
 * as days since 1970-01-01 (proleptic Gregorian); the caller turns "now"
 * into today's Amsterdam date and passes it in.  brr-distribution uses this
 * to set up an arrangement and from its durable timers.
 */
#ifndef BRR_DIST_SCHEDULE_H
#define BRR_DIST_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "money.h"
#include "split.h"

#define DIST_DUE_LAST 31      /* due day meaning "last day of the month" */
#define DIST_SCHEDULE_MAX 600 /* instalments in one schedule (50 years) */
#define DIST_DATE_MIN_YEAR 1900
#define DIST_DATE_MAX_YEAR 9999
#define DIST_NEVER INT32_MAX /* "no later day" for next_check */
#define DIST_GRACE_DAYS 14   /* default grace after a due date/reminder */
#define DIST_LAPSE_OPEN 2    /* default missed instalments for a lapse */

/* Nonzero for a Gregorian leap year. */
int dist_is_leap(int32_t y);

/* Days in month m (1..12) of year y. */
int dist_days_in_month(int32_t y, int m);

/* Days since 1970-01-01 of the valid date y-m-d (negative before 1970). */
int32_t dist_days_from_civil(int32_t y, int m, int d);

/* The date of day z; any pointer may be NULL. */
void dist_civil_from_days(int32_t z, int32_t *y, int *m, int *d);

/* Parses exactly "YYYY-MM-DD" (len bytes, no NUL needed), a real date with
 * year DIST_DATE_MIN_YEAR..DIST_DATE_MAX_YEAR, into *day.  Returns 0 or
 * BRR_EPARSE. */
int dist_date_parse(const char *s, size_t len, int32_t *day);

/* Writes day as "YYYY-MM-DD" and a NUL into buf (11 bytes); returns buf. */
char *dist_date_format(int32_t day, char *buf);

/* day plus months calendar months; a day past the end of the target month
 * becomes its last day (Jan 31 + 1 month = Feb 28 or 29). */
int32_t dist_add_months(int32_t day, int32_t months);

/* The due date in month m of year y for due_day 1..31 (31 and anything past
 * the month's end give its last day). */
int32_t dist_due_in_month(int32_t y, int m, int due_day);

/* The first due date on or after day for due_day 1..31. */
int32_t dist_due_on_or_after(int32_t day, int due_day);

/* The due date k months after the month of first_due, for due_day 1..31.
 * Computed from the month, never from an earlier clamped date, so a due day
 * of 31 gives Jan 31, Feb 28/29, Mar 31. */
int32_t dist_due_nth(int32_t first_due, int due_day, int32_t k);

/* Number of instalments n = ceil(total / amount) and the last one,
 * total - (n-1)*amount (0 < last <= amount), for total > 0 and amount > 0.
 * Returns 0, BRR_EINVAL for a non-positive or too large argument, or
 * BRR_ERANGE when n exceeds DIST_SCHEDULE_MAX. */
int dist_schedule_count(brr_cents_t total, brr_cents_t amount, size_t *n,
                        brr_cents_t *last);

typedef struct {
    int32_t due_day;   /* days since 1970-01-01 */
    brr_cents_t cents; /* amount due */
} dist_instalment_t;

/* Writes the schedule for total in instalments of amount, the first due on
 * first_due and then monthly on due_day (1..31), into out (room for cap)
 * and the count into *n.  Every instalment is amount except the last.
 * Returns 0, or as dist_schedule_count, or BRR_ERANGE when cap is short. */
int dist_schedule_build(brr_cents_t total, brr_cents_t amount,
                        int32_t first_due, int due_day, dist_instalment_t *out,
                        size_t cap, size_t *n);

/*
 * A simulated plan: every instalment split over the balances still open at
 * that point (dist_split), so a claim that is paid off frees its part for
 * the others.  The plan pays exactly the total of the claims.
 */
typedef struct {
    size_t ninst;                  /* instalments */
    size_t norgs;                  /* distinct organisations */
    size_t nclaims;                /* claims, in the caller's order */
    char (*org)[DIST_ORG_MAX + 1]; /* [norgs] codes, ascending */
    int32_t *due;                  /* [ninst] due dates */
    brr_cents_t *amount;           /* [ninst] instalment amounts */
    brr_cents_t *share;            /* [ninst * norgs]: share[k*norgs+j] */
    brr_cents_t *claim_cents;      /* [ninst * nclaims] */
    int32_t *org_end; /* [norgs] due date of the organisation's last part */
    int32_t end;      /* due date of the last instalment */
} dist_plan_t;

/* Simulates the arrangement: instalments of amount from first_due monthly
 * on due_day, each split under pol (NULL: defaults) over what is still open.
 * Fills *plan (release with dist_plan_free).  Returns 0, or BRR_EINVAL when
 * the claims hold nothing open or an argument is bad, BRR_ERANGE when more
 * than DIST_SCHEDULE_MAX instalments are needed, or dist_split's error. */
int dist_plan_build(const dist_claim_t *claims, size_t nclaims,
                    brr_cents_t amount, int32_t first_due, int due_day,
                    const dist_policy_t *pol, dist_plan_t *plan);

/* Releases what dist_plan_build allocated; plan may be all zeros. */
void dist_plan_free(dist_plan_t *plan);

/* Lifecycle of DOMAIN §1 and §6. */
typedef enum {
    DIST_ST_AANGEVRAAGD = 0,
    DIST_ST_AFGEWEZEN,
    DIST_ST_ACTIEF,
    DIST_ST_GEPAUZEERD,
    DIST_ST_ACHTERSTAND,
    DIST_ST_VERVALLEN,
    DIST_ST_VOLDAAN,
    DIST_ST_BEEINDIGD
} dist_state_t;

typedef enum {
    DIST_INST_DUE = 0, /* not (fully) paid */
    DIST_INST_PAID,
    DIST_INST_PAUSED /* falls in a pause: never missed */
} dist_inst_status_t;

typedef struct {
    int32_t due_day;
    dist_inst_status_t status;
} dist_inst_t;

typedef enum {
    DIST_ACT_NONE = 0,
    DIST_ACT_ARREARS,   /* ACTIEF -> ACHTERSTAND and the first reminder */
    DIST_ACT_REMINDER2, /* the second reminder; stays ACHTERSTAND */
    DIST_ACT_LAPSE,     /* ACHTERSTAND -> VERVALLEN */
    DIST_ACT_RECOVER,   /* ACHTERSTAND -> ACTIEF; reminders start over */
    DIST_ACT_COMPLETE   /* ACTIEF -> VOLDAAN */
} dist_action_t;

typedef struct {
    int32_t grace_days; /* DIST_GRACE_DAYS */
    int32_t lapse_open; /* DIST_LAPSE_OPEN */
} dist_life_params_t;

typedef struct {
    dist_state_t state;
    int reminders;           /* sent in the current arrears: 0, 1 or 2 */
    int32_t last_reminder;   /* day the latest reminder was sent */
    brr_cents_t open_cents;  /* all open balances together */
    const dist_inst_t *inst; /* instalments due so far or later */
    size_t ninst;
} dist_life_t;

typedef struct {
    dist_action_t action;
    size_t missed;      /* instalments missed on today */
    size_t inst;        /* oldest missed instalment (index), if any */
    int32_t next_check; /* when NONE: first later day the answer may change,
                           DIST_NEVER if none; otherwise today */
} dist_decision_t;

/* Fills p with DOMAIN's defaults (grace 14 days, lapse at 2 missed). */
void dist_life_params_default(dist_life_params_t *p);

/*
 * The next lifecycle step on today (p NULL: defaults).  An instalment is
 * missed when it is DIST_INST_DUE and today > due + grace_days: the due date
 * and the grace days after it are still in time.  PAUSED never counts.
 *   ACTIEF: nothing open -> COMPLETE; a missed instalment -> ARREARS.
 *   ACHTERSTAND: nothing open or nothing missed any more -> RECOVER (a
 *     finished arrangement completes from ACTIEF on the next call);
 *     one reminder and today > last_reminder + grace_days -> REMINDER2;
 *     two reminders, today > last_reminder + grace_days (the citizen had the
 *     second reminder's full period) and at least lapse_open missed -> LAPSE.
 *   Any other state: NONE (a pause or a closed arrangement has no steps).
 * The caller applies a returned step (recording today as last_reminder for
 * ARREARS and REMINDER2) and asks again, until NONE, so a timer that fires
 * late catches up one step at a time.  Returns 0, or BRR_EINVAL for an
 * ACHTERSTAND without 1 or 2 reminders or bad parameters.
 */
int dist_life_next(const dist_life_t *life, const dist_life_params_t *p,
                   int32_t today, dist_decision_t *out);

#endif
