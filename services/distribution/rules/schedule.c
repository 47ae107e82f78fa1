/*
 * schedule.c: civil-date arithmetic, due dates, schedules, the simulated
 * per-organisation plan and the missed-instalment lifecycle decision.
 *
 * Pure: no I/O, no clock.  The date conversions live in the shared
 * services/common/calendar.c (Howard Hinnant's days_from_civil /
 * civil_from_days); the dist_* date names below wrap it.
 */
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "err.h"
#include "schedule.h"

/* The civil-date functions below are thin wrappers over the shared module
 * (services/common/calendar.h); their names and contracts stay as they
 * were so that callers need not change. */
int dist_is_leap(int32_t y)
{
    return brr_calendar_is_leap(y);
}

int dist_days_in_month(int32_t y, int m)
{
    return brr_calendar_days_in_month(y, m);
}

int32_t dist_days_from_civil(int32_t y, int m, int d)
{
    return brr_calendar_from_ymd(y, m, d);
}

void dist_civil_from_days(int32_t z, int32_t *y, int *m, int *d)
{
    brr_calendar_to_ymd(z, y, m, d);
}

int dist_date_parse(const char *s, size_t len, int32_t *day)
{
    return brr_calendar_parse(s, len, DIST_DATE_MIN_YEAR, DIST_DATE_MAX_YEAR,
                              day);
}

char *dist_date_format(int32_t day, char *buf)
{
    return brr_calendar_format_iso(day, buf);
}

/* Splits a month count since year 0 into year and month, flooring. */
static void month_index_split(int64_t idx, int32_t *y, int *m)
{
    brr_calendar_month_split(idx, y, m);
}

int32_t dist_add_months(int32_t day, int32_t months)
{
    return brr_calendar_add_months(day, months);
}

int32_t dist_due_in_month(int32_t y, int m, int due_day)
{
    int dim = dist_days_in_month(y, m);
    return dist_days_from_civil(y, m, due_day > dim ? dim : due_day);
}

int32_t dist_due_on_or_after(int32_t day, int due_day)
{
    int32_t y;
    int m;
    dist_civil_from_days(day, &y, &m, NULL);
    int32_t cand = dist_due_in_month(y, m, due_day);
    if (cand >= day)
        return cand;
    month_index_split((int64_t)y * 12 + m, &y, &m);
    return dist_due_in_month(y, m, due_day);
}

int32_t dist_due_nth(int32_t first_due, int due_day, int32_t k)
{
    int32_t y;
    int m;
    dist_civil_from_days(first_due, &y, &m, NULL);
    month_index_split((int64_t)y * 12 + (m - 1) + k, &y, &m);
    return dist_due_in_month(y, m, due_day);
}

int dist_schedule_count(brr_cents_t total, brr_cents_t amount, size_t *n,
                        brr_cents_t *last)
{
    if (total <= 0 || amount <= 0 ||
        total > (brr_cents_t)DIST_MAX_CLAIMS * BRR_CENTS_MAX ||
        amount > BRR_CENTS_MAX)
        return BRR_EINVAL;
    int64_t cnt = (total + amount - 1) / amount;
    if (cnt > DIST_SCHEDULE_MAX)
        return BRR_ERANGE;
    *n = (size_t)cnt;
    *last = total - (cnt - 1) * amount;
    return 0;
}

int dist_schedule_build(brr_cents_t total, brr_cents_t amount,
                        int32_t first_due, int due_day, dist_instalment_t *out,
                        size_t cap, size_t *n)
{
    size_t cnt;
    brr_cents_t last;
    if (due_day < 1 || due_day > 31)
        return BRR_EINVAL;
    int rc = dist_schedule_count(total, amount, &cnt, &last);
    if (rc != 0)
        return rc;
    if (cnt > cap)
        return BRR_ERANGE;
    for (size_t k = 0; k < cnt; k++) {
        out[k].due_day = dist_due_nth(first_due, due_day, (int32_t)k);
        out[k].cents = k + 1 == cnt ? last : amount;
    }
    *n = cnt;
    return 0;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL)
        abort();
    return p;
}

void dist_plan_free(dist_plan_t *plan)
{
    free(plan->org);
    free(plan->due);
    free(plan->amount);
    free(plan->share);
    free(plan->claim_cents);
    free(plan->org_end);
    memset(plan, 0, sizeof(*plan));
}

int dist_plan_build(const dist_claim_t *claims, size_t nclaims,
                    brr_cents_t amount, int32_t first_due, int due_day,
                    const dist_policy_t *pol, dist_plan_t *plan)
{
    memset(plan, 0, sizeof(*plan));
    if (claims == NULL || nclaims == 0 || due_day < 1 || due_day > 31)
        return BRR_EINVAL;
    if (nclaims > DIST_MAX_CLAIMS)
        return BRR_ERANGE;
    brr_cents_t total = 0;
    for (size_t i = 0; i < nclaims; i++) {
        if (claims[i].open_cents < 0)
            return BRR_EINVAL;
        if (claims[i].open_cents > BRR_CENTS_MAX)
            return BRR_ERANGE;
        total += claims[i].open_cents;
    }
    size_t n;
    brr_cents_t last;
    int rc = dist_schedule_count(total, amount, &n, &last);
    if (rc != 0)
        return rc;

    dist_claim_t *work = xcalloc(nclaims, sizeof(*work));
    memcpy(work, claims, nclaims * sizeof(*work));
    dist_share_t *sh = xcalloc(nclaims, sizeof(*sh));
    plan->ninst = n;
    plan->nclaims = nclaims;
    plan->due = xcalloc(n, sizeof(*plan->due));
    plan->amount = xcalloc(n, sizeof(*plan->amount));
    plan->claim_cents = xcalloc(n * nclaims, sizeof(*plan->claim_cents));

    brr_cents_t open = total;
    for (size_t k = 0; k < n && rc == 0; k++) {
        brr_cents_t inst = open < amount ? open : amount;
        brr_cents_t *cc = &plan->claim_cents[k * nclaims];
        size_t ns;
        rc = dist_split(inst, work, nclaims, pol, sh, &ns, cc);
        if (rc != 0)
            break;
        if (k == 0) {
            plan->norgs = ns;
            plan->org = xcalloc(ns, sizeof(*plan->org));
            plan->share = xcalloc(n * ns, sizeof(*plan->share));
            plan->org_end = xcalloc(ns, sizeof(*plan->org_end));
            for (size_t j = 0; j < ns; j++)
                memcpy(plan->org[j], sh[j].organisation,
                       strlen(sh[j].organisation) + 1);
        }
        plan->due[k] = dist_due_nth(first_due, due_day, (int32_t)k);
        plan->amount[k] = inst;
        brr_cents_t paid = 0;
        for (size_t j = 0; j < ns; j++) {
            plan->share[k * ns + j] = sh[j].cents;
            paid += sh[j].cents;
            if (sh[j].cents > 0)
                plan->org_end[j] = plan->due[k];
        }
        for (size_t i = 0; i < nclaims; i++)
            work[i].open_cents -= cc[i];
        if (paid != inst)
            rc = BRR_EINTERNAL;
        open -= paid;
    }
    if (rc == 0 && open != 0)
        rc = BRR_EINTERNAL;
    if (rc == 0)
        plan->end = plan->due[n - 1];
    free(work);
    free(sh);
    if (rc != 0)
        dist_plan_free(plan);
    return rc;
}

void dist_life_params_default(dist_life_params_t *p)
{
    p->grace_days = DIST_GRACE_DAYS;
    p->lapse_open = DIST_LAPSE_OPEN;
}

static int32_t earliest_after(int32_t cur, int32_t cand, int32_t today)
{
    return cand > today && cand < cur ? cand : cur;
}

int dist_life_next(const dist_life_t *life, const dist_life_params_t *p,
                   int32_t today, dist_decision_t *out)
{
    dist_life_params_t defaults;
    if (p == NULL) {
        dist_life_params_default(&defaults);
        p = &defaults;
    }
    if (p->grace_days < 0 || p->grace_days > 366 || p->lapse_open < 1 ||
        (life->ninst > 0 && life->inst == NULL))
        return BRR_EINVAL;
    if (life->state == DIST_ST_ACHTERSTAND &&
        (life->reminders < 1 || life->reminders > 2))
        return BRR_EINVAL;

    memset(out, 0, sizeof(*out));
    out->action = DIST_ACT_NONE;
    out->next_check = DIST_NEVER;
    if (life->state != DIST_ST_ACTIEF && life->state != DIST_ST_ACHTERSTAND)
        return 0;

    int32_t next = DIST_NEVER;
    int found = 0;
    for (size_t i = 0; i < life->ninst; i++) {
        const dist_inst_t *in = &life->inst[i];
        if (in->status != DIST_INST_DUE)
            continue;
        int32_t missed_from = in->due_day + p->grace_days + 1;
        if (today >= missed_from) {
            if (!found || in->due_day < life->inst[out->inst].due_day)
                out->inst = i;
            found = 1;
            out->missed++;
        } else {
            next = earliest_after(next, missed_from, today);
        }
    }

    if (life->state == DIST_ST_ACTIEF) {
        if (life->open_cents <= 0)
            out->action = DIST_ACT_COMPLETE;
        else if (out->missed > 0)
            out->action = DIST_ACT_ARREARS;
    } else {
        int32_t answered = life->last_reminder + p->grace_days + 1;
        if (life->open_cents <= 0 || out->missed == 0)
            out->action = DIST_ACT_RECOVER;
        else if (today < answered)
            next = earliest_after(next, answered, today);
        else if (life->reminders == 1)
            out->action = DIST_ACT_REMINDER2;
        else if (out->missed >= (size_t)p->lapse_open)
            out->action = DIST_ACT_LAPSE;
    }
    out->next_check = out->action == DIST_ACT_NONE ? next : today;
    return 0;
}
