/*
 * pause_limits.c: the payment pause's limits (see pause_limits.h).
 *
 * Pure: no I/O, no clock.  The calendar comes from brr-distribution's
 * rules (schedule.h): one copy of the date arithmetic for both services.
 */
#include "pause_limits.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "schedule.h"

void pause_policy_default(pause_policy_t *pol)
{
    memset(pol, 0, sizeof(*pol));
    snprintf(pol->version, sizeof(pol->version), "%s", PAUSE_POLICY_VERSION);
    pol->max_months = 3;
    pol->max_months_counsellor = 4;
    pol->max_count = 2;
    pol->max_total_months = 6;
    pol->min_gap_paid = 3;
    pol->retroactive = 1;
    pol->max_ahead_months = 12;
    pol->effect = PAUSE_EFFECT_EXTEND;
}

static int within(int v, int lo, int hi)
{
    return v >= lo && v <= hi;
}

int pause_policy_check(const pause_policy_t *pol)
{
    if (pol == NULL || pol->version[0] == '\0' ||
        !within(pol->max_months, 1, 24) ||
        !within(pol->max_months_counsellor, 1, 24) ||
        !within(pol->max_count, 1, 12) ||
        !within(pol->max_total_months, 1, 24 * 12) ||
        !within(pol->min_gap_paid, 0, 24) || !within(pol->retroactive, 0, 3) ||
        !within(pol->max_ahead_months, 1, 24) ||
        (pol->effect != PAUSE_EFFECT_EXTEND &&
         pol->effect != PAUSE_EFFECT_RESPREAD))
        return BRR_EINVAL;
    return 0;
}

const char *pause_effect_name(pause_effect_t e)
{
    return e == PAUSE_EFFECT_RESPREAD ? "RESPREAD" : "EXTEND";
}

int pause_effect_parse(const char *s, pause_effect_t *out)
{
    if (s != NULL && strcmp(s, "EXTEND") == 0)
        *out = PAUSE_EFFECT_EXTEND;
    else if (s != NULL && strcmp(s, "RESPREAD") == 0)
        *out = PAUSE_EFFECT_RESPREAD;
    else
        return BRR_EINVAL;
    return 0;
}

const char *pause_limit_name(pause_limit_t l)
{
    switch (l) {
    case PAUSE_OK:
        return "";
    case PAUSE_LIMIT_DATES:
        return "pause.dates";
    case PAUSE_LIMIT_AHEAD:
        return "pause.max_ahead_months";
    case PAUSE_LIMIT_RETROACTIVE:
        return "pause.retroactive";
    case PAUSE_LIMIT_LENGTH:
        return "pause.max_length_months";
    case PAUSE_LIMIT_OVERLAP:
        return "pause.no_overlap";
    case PAUSE_LIMIT_COUNT:
        return "pause.max_count";
    case PAUSE_LIMIT_TOTAL:
        return "pause.max_total_months";
    case PAUSE_LIMIT_GAP:
        return "pause.min_gap";
    }
    return "pause.unknown";
}

int pause_months(int32_t start, int32_t end)
{
    int n = 1;
    if (end < start)
        return 0;
    /* the first n with end < start + n months; bounded by the date range */
    while (end >= dist_add_months(start, n) && n < 100 * 12)
        n++;
    return n;
}

int pause_dues_between(int32_t first_due, int due_day, int32_t from, int32_t to)
{
    int n = 0;
    if (first_due == 0 || due_day < 1 || due_day > 31 || to < from)
        return 0;
    for (int32_t k = 0; k < DIST_SCHEDULE_MAX; k++) {
        int32_t d = dist_due_nth(first_due, due_day, k);
        if (d > to)
            break;
        if (d >= from)
            n++;
    }
    return n;
}

/* The last Sunday of month m of year y. */
static int32_t last_sunday(int32_t y, int m)
{
    int32_t last = dist_days_from_civil(y, m, dist_days_in_month(y, m));
    /* 1970-01-01 was a Thursday: (day + 4) mod 7 is 0 on a Sunday */
    int32_t wd = (int32_t)(((int64_t)last + 4) % 7);
    if (wd < 0)
        wd += 7;
    return last - wd;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The UTC offset in seconds of Europe/Amsterdam at unix time t. */
static int64_t amsterdam_offset(int64_t t)
{
    int32_t y;
    int64_t on, off;
    dist_civil_from_days((int32_t)floor_div(t, 86400), &y, NULL, NULL);
    on = (int64_t)last_sunday(y, 3) * 86400 + 3600;
    off = (int64_t)last_sunday(y, 10) * 86400 + 3600;
    return t >= on && t < off ? 7200 : 3600;
}

int32_t pause_amsterdam_day(int64_t t)
{
    return (int32_t)floor_div(t + amsterdam_offset(t), 86400);
}

int64_t pause_amsterdam_midnight(int32_t day)
{
    int64_t local = (int64_t)day * 86400;
    /* the offset at local midnight: DST never changes at midnight here */
    return local - amsterdam_offset(local - 3600);
}

static int refuse(pause_verdict_t *v, pause_limit_t l, int64_t allowed,
                  int64_t asked, const char *unit, const char *fmt)
{
    v->limit = l;
    v->allowed = allowed;
    v->asked = asked;
    v->unit = unit;
    snprintf(v->detail, sizeof(v->detail), fmt, (long long)asked,
             (long long)allowed);
    return 0;
}

int pause_check(const pause_policy_t *pol, const pause_request_t *rq,
                pause_verdict_t *v)
{
    int months, max, total;
    memset(v, 0, sizeof(*v));
    v->unit = "";
    if (pause_policy_check(pol) != 0 || rq == NULL ||
        rq->nprior > PAUSE_MAX_PRIOR || (rq->nprior > 0 && rq->prior == NULL) ||
        (rq->first_due != 0 && !within(rq->due_day, 1, 31)) || rq->paid < 0)
        return BRR_EINVAL;

    if (rq->end < rq->start)
        return refuse(v, PAUSE_LIMIT_DATES, 0, (int64_t)rq->end - rq->start,
                      "days",
                      "the end date lies %lld day(s) before the start date "
                      "(at least %lld needed)");
    if (rq->start > dist_add_months(rq->today, pol->max_ahead_months))
        return refuse(v, PAUSE_LIMIT_AHEAD, pol->max_ahead_months,
                      pause_months(rq->today, rq->start) - 1, "months",
                      "the pause would start %lld month(s) ahead, at most "
                      "%lld allowed");
    if (rq->start < rq->today) {
        int due = pause_dues_between(rq->first_due, rq->due_day, rq->start,
                                     rq->today - 1);
        /* never further back than the retroactive instalments' months */
        if (rq->start < dist_add_months(rq->today, -pol->retroactive) &&
            due <= pol->retroactive)
            due = pol->retroactive + 1;
        if (due > pol->retroactive)
            return refuse(v, PAUSE_LIMIT_RETROACTIVE, pol->retroactive, due,
                          "instalments",
                          "the pause would cover %lld instalment(s) already "
                          "due, at most %lld allowed");
    }
    months = pause_months(rq->start, rq->end);
    max = rq->counsellor ? pol->max_months_counsellor : pol->max_months;
    if (months > max)
        return refuse(v, PAUSE_LIMIT_LENGTH, max, months, "months",
                      rq->counsellor ? "the pause lasts %lld month(s), at most "
                                       "%lld allowed for a debt counsellor"
                                     : "the pause lasts %lld month(s), at most "
                                       "%lld allowed");
    for (size_t i = 0; i < rq->nprior; i++) {
        const pause_prior_t *p = &rq->prior[i];
        if (p->start <= rq->end && rq->start <= p->end)
            return refuse(v, PAUSE_LIMIT_OVERLAP, 0, 1, "pauses",
                          "the pause overlaps %lld other pause(s), %lld "
                          "allowed");
    }
    if (rq->nprior + 1 > (size_t)pol->max_count)
        return refuse(v, PAUSE_LIMIT_COUNT, pol->max_count,
                      (int64_t)rq->nprior + 1, "pauses",
                      "this would be pause number %lld of the arrangement, "
                      "at most %lld allowed");
    total = months;
    for (size_t i = 0; i < rq->nprior; i++)
        total += pause_months(rq->prior[i].start, rq->prior[i].end);
    if (total > pol->max_total_months)
        return refuse(v, PAUSE_LIMIT_TOTAL, pol->max_total_months, total,
                      "months",
                      "the pauses would last %lld month(s) together, at most "
                      "%lld allowed");
    if (pol->min_gap_paid > 0)
        for (size_t i = 0; i < rq->nprior; i++) {
            const pause_prior_t *p = &rq->prior[i];
            int64_t paid;
            /* a later pause, or one that has not ended: nothing can have
             * been paid between it and this one yet */
            if (p->start > rq->end || !p->ended)
                paid = 0;
            else
                paid = (int64_t)rq->paid - p->paid_at_end;
            if (paid < pol->min_gap_paid)
                return refuse(v, PAUSE_LIMIT_GAP, pol->min_gap_paid,
                              paid < 0 ? 0 : paid, "instalments",
                              "%lld instalment(s) paid since the previous "
                              "pause, at least %lld needed");
        }
    return 0;
}
