/*
 * pause_limits.h: the limits of a payment pause (DOMAIN §5) as a pure module,
 * with the policy as a versioned set of parameters.
 *
 * Pure: no I/O, no clock.  brr-pause fills a pause_request_t from its own
 * schema (the arrangement's schedule as mirrored from
 * brr.arrangements.events.v1 and the arrangement's earlier pauses), passes
 * today's Europe/Amsterdam date, and gets back either "accepted" or the one
 * limit the request breaks with the figures (allowed and asked), which go
 * into the pause.refused event and from there to the citizen.
 *
 * Dates are civil days since 1970-01-01 (services/distribution/rules/
 * schedule.h does the calendar).  A pause runs from 00:00 on its start date
 * to 00:00 after its end date, both inclusive.  Its length counts calendar
 * months rounded up: start + n months (the day clamped to a shorter month's
 * end) is the first day after an n-month pause, so 15 Jan..14 Apr is 3
 * months and 15 Jan..15 Apr is 4; 31 Jan..29 Apr is 3 because 31 Jan + 3
 * months is 30 Apr.
 */
#ifndef BRR_PAUSE_LIMITS_H
#define BRR_PAUSE_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#define PAUSE_POLICY_VERSION "pause-policy-2026-1"
#define PAUSE_MAX_PRIOR 64 /* earlier pauses of one arrangement considered */

typedef enum {
    PAUSE_EFFECT_EXTEND = 0, /* instalment unchanged, the end date moves */
    PAUSE_EFFECT_RESPREAD    /* same end date, the instalment is raised */
} pause_effect_t;

/* The policy: DOMAIN §5's defaults are proposals, so every figure is a
 * parameter and the version travels with every decision. */
typedef struct {
    char version[32];
    int max_months;            /* pause.max_length_months: 3 */
    int max_months_counsellor; /* ... when a debt counsellor asks: 4 */
    int max_count;             /* pause.max_count per arrangement: 2 */
    int max_total_months;      /* pause.max_total_months: 6 */
    int min_gap_paid;          /* pause.min_gap: 3 paid instalments */
    int retroactive;           /* pause.retroactive: 1 instalment due */
    int max_ahead_months;      /* a start at most this far ahead: 12 */
    pause_effect_t effect;     /* pause.effect: EXTEND */
} pause_policy_t;

/* The limit a request breaks (PAUSE_OK: none). */
typedef enum {
    PAUSE_OK = 0,
    PAUSE_LIMIT_DATES,       /* end before start */
    PAUSE_LIMIT_AHEAD,       /* start too far in the future */
    PAUSE_LIMIT_RETROACTIVE, /* start too far back */
    PAUSE_LIMIT_LENGTH,      /* longer than max_months(_counsellor) */
    PAUSE_LIMIT_OVERLAP,     /* overlaps a scheduled, running or past pause */
    PAUSE_LIMIT_COUNT,       /* more than max_count pauses */
    PAUSE_LIMIT_TOTAL,       /* more than max_total_months together */
    PAUSE_LIMIT_GAP          /* too few instalments paid since the last */
} pause_limit_t;

/* An earlier pause of the arrangement that counts (scheduled, running or
 * ended; never a cancelled-before-start or refused one). */
typedef struct {
    int32_t start, end;  /* as it ran (an early cancel shortens end) */
    int ended;           /* 1 once it ended */
    int32_t paid_at_end; /* paid instalments when it ended */
} pause_prior_t;

typedef struct {
    int32_t today;      /* Europe/Amsterdam */
    int32_t start, end; /* asked, inclusive */
    int counsellor;     /* asked by a debt counsellor's channel */
    int32_t first_due;  /* the arrangement's first due date; 0: none */
    int due_day;        /* 1..31 */
    int32_t paid;       /* instalments paid so far */
    const pause_prior_t *prior;
    size_t nprior;
} pause_request_t;

typedef struct {
    pause_limit_t limit;
    int64_t allowed;  /* the limit's figure */
    int64_t asked;    /* the request's figure */
    const char *unit; /* "months", "pauses", "instalments", "days" */
    char detail[200]; /* one sentence, figures included, no personal data */
} pause_verdict_t;

/* Fills pol with DOMAIN §5's defaults and PAUSE_POLICY_VERSION. */
void pause_policy_default(pause_policy_t *pol);

/* 0 when every parameter is in range (lengths 1..24, count 1..12, gap
 * 0..24, retroactive 0..3, ahead 1..24, a version), else BRR_EINVAL. */
int pause_policy_check(const pause_policy_t *pol);

/* "EXTEND" / "RESPREAD" and back (0 or BRR_EINVAL). */
const char *pause_effect_name(pause_effect_t e);
int pause_effect_parse(const char *s, pause_effect_t *out);

/* The policy parameter a limit stands for ("pause.max_length_months"), or
 * "" for PAUSE_OK. */
const char *pause_limit_name(pause_limit_t l);

/* Calendar months of the pause start..end (inclusive), rounded up; 0 when
 * end < start. */
int pause_months(int32_t start, int32_t end);

/* Due dates of a schedule (first_due, then monthly on due_day) that fall in
 * from..to inclusive; 0 when first_due is 0. */
int pause_dues_between(int32_t first_due, int due_day, int32_t from,
                       int32_t to);

/* The Europe/Amsterdam calendar date at unix time t (seconds): CET, and
 * CEST from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
 * Sunday of October (EU rule, in force since 1996). */
int32_t pause_amsterdam_day(int64_t t);

/* The unix time of 00:00 Europe/Amsterdam on day. */
int64_t pause_amsterdam_midnight(int32_t day);

/*
 * Checks rq against pol.  Returns 0 with v->limit PAUSE_OK when the pause
 * may be scheduled, 0 with the first limit it breaks (in the order of the
 * enum) and its figures otherwise, or BRR_EINVAL when pol or rq is not
 * usable (bad policy, due_day out of range, too many prior pauses).
 */
int pause_check(const pause_policy_t *pol, const pause_request_t *rq,
                pause_verdict_t *v);

#endif
