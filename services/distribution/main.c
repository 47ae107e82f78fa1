/*
 * brr-distribution: owns the arrangement's whole life.  Consumes
 * assessments (brr.capacity.assessments.v1), pause events
 * (brr.pause.events.v1) and the organisations' reports
 * (brr.intake.reports.v1); creates the arrangement, or amends the citizen's
 * live one; keeps the schedule (termijnen) with each organisation's share,
 * split over the balances open when each instalment opens (DOMAIN §4,
 * rules/split.c); runs the missed-instalment lifecycle from durable timers
 * (DOMAIN §1, §6, timers.c); keeps the history; and tells the whole story
 * on brr.arrangements.events.v1 and each organisation every change to its
 * own part on brr.organisations.<org>.v1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "brr/v1/arrangement.pb-c.h"
#include "brr/v1/assessment.pb-c.h"
#include "brr/v1/pause.pb-c.h"
#include "brr/v1/report.pb-c.h"
#include "clock.h"
#include "dist.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "service.h"
#include "uuid.h"

static brr_service_t svc;
static uv_timer_t tick;
static int64_t tick_ms, timer_batch;
static brr_counter_t *fired_total;

static const brr_config_entry_t config[] = {
    {"BRR_DIST_TICK_MS", BRR_CONF_INT, &tick_ms, "1000", 10, 60000, 0,
     "how often due arrangement timers are looked for"},
    {"BRR_DIST_TIMER_BATCH", BRR_CONF_INT, &timer_batch, "500", 1, 10000, 0,
     "arrangements whose timers fire in one transaction"},
    {0}};

static void reject(brr_msg_t *m, const Brr__V1__Assessment *as,
                   brr_outbox_t *ob, char **reasons, size_t nreasons)
{
    Brr__V1__ArrangementEvent ev = BRR__V1__ARRANGEMENT_EVENT__INIT;
    ev.event_type = "arrangement.rejected";
    ev.arrangement_id = "";
    ev.citizen_ref = as->citizen_ref;
    ev.application_id = as->application_id;
    ev.state = BRR__V1__ARRANGEMENT_STATE__AFGEWEZEN;
    ev.reasons = reasons;
    ev.n_reasons = nreasons;
    ev.submitted_at_ms = as->submitted_at_ms;
    brr_outbox_add(ob, DIST_TOPIC_ARRANGEMENTS, m->key, "application",
                   as->application_id, "arrangement.rejected", &ev.base,
                   m->traceparent, NULL);
}

static int32_t claim_day(const Brr__V1__Claim *c)
{
    int32_t day = 0;
    if (c->due_date[0] != '\0')
        dist_date_parse(c->due_date, strlen(c->due_date), &day);
    return day;
}

static void remember(dist_item_t *it, brr_msg_t *m,
                     const Brr__V1__Assessment *as, dist_batch_t *b)
{
    it->touched = 1;
    it->application_id = brr_arena_strdup(b->arena, as->application_id);
    it->traceparent = m->traceparent;
    it->submitted_at_ms = as->submitted_at_ms;
}

/* A new arrangement from an eligible assessment. */
static void create(brr_msg_t *m, const Brr__V1__Assessment *as, dist_batch_t *b)
{
    dist_item_t *it;
    char review[11];
    int32_t ref, first_due;
    int32_t y;
    int mo, due_day = as->due_day > 0 && as->due_day <= 31 ? as->due_day : 1;

    if (dist_date_parse(as->reference_date, strlen(as->reference_date), &ref) !=
        0) {
        m->rc = BRR_EINVAL;
        m->error = "assessment has no valid reference date";
        return;
    }
    for (size_t i = 0; i < as->n_claims; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(as->claims[i]->organisation,
                       as->claims[j]->organisation) == 0 &&
                strcmp(as->claims[i]->reference, as->claims[j]->reference) ==
                    0) {
                m->rc = BRR_EINVAL;
                m->error = "assessment names a claim twice";
                return;
            }
    /* The first instalment falls in the month after the reference date,
     * and never before the month after today: an old reference date picks
     * the norms, it does not put a new arrangement in arrears. */
    if (ref < b->today)
        ref = b->today;
    dist_civil_from_days(dist_add_months(ref, 1), &y, &mo, NULL);
    first_due = dist_due_in_month(y, mo, due_day);

    it = dist_batch_new(b, as->citizen_ref);
    dist_arr_start(&it->a,
                   as->starts_paused ? DIST_ST_GEPAUZEERD : DIST_ST_ACTIEF,
                   as->instalment_cents, due_day, first_due);
    snprintf(it->kind, sizeof(it->kind), "%s",
             as->kind == BRR__V1__KIND__KIND_MAATWERK ? "maatwerk"
                                                      : "standard");
    it->months = as->months;
    /* DOMAIN §3: capacity below the minimum instalment sets none; the
     * arrangement starts paused and is reassessed within 12 months */
    if (as->starts_paused)
        it->review = dist_add_months(b->today, 12);
    remember(it, m, as, b);
    for (size_t i = 0; i < as->n_claims; i++) {
        const Brr__V1__Claim *c = as->claims[i];
        int rc;
        if (c->open_cents == 0)
            continue;
        rc = dist_arr_claim_new(&it->a, c->organisation, c->reference,
                                c->open_cents, claim_day(c));
        if (rc != 0) {
            it->touched = 0;
            it->a.state = DIST_ST_AFGEWEZEN; /* never written, never live */
            m->rc = rc;
            m->error = "assessment holds an invalid claim";
            return;
        }
    }
    it->a.events &= ~(unsigned)DIST_EV_RECALCULATED;
    dist_batch_history(
        b, it->id, NULL, "assessment.accepted", dist_state_name(it->a.state),
        json_pack("{s:s, s:s, s:s, s:I, s:i, s:s?}", "application_id",
                  as->application_id, "assessment_id", as->assessment_id,
                  "rule_version", as->rule_version, "instalment_cents",
                  (json_int_t)as->instalment_cents, "months", as->months,
                  "review_date",
                  it->review ? dist_date_format(it->review, review) : NULL));
}

/*
 * DOMAIN §1: a new application from a citizen with a live arrangement
 * amends it.  Its claims join (a claim already there takes the new
 * balance); a maatwerk assessment sets the monthly amount (the citizen's
 * capacity as assessed now), a standard one adds its instalment for the
 * claims it brings.  What nobody paid on yet is split again.
 */
static void amend(brr_msg_t *m, const Brr__V1__Assessment *as, dist_item_t *it,
                  dist_batch_t *b)
{
    size_t added = 0;
    for (size_t i = 0; i < as->n_claims; i++) {
        const Brr__V1__Claim *c = as->claims[i];
        size_t k = dist_arr_find_claim(&it->a, c->organisation, c->reference);
        if (k != DIST_NONE) {
            if (!it->a.claims[k].withdrawn)
                dist_arr_claim_set(&it->a, c->organisation, c->reference,
                                   c->open_cents);
        } else if (c->open_cents > 0 &&
                   dist_arr_claim_new(&it->a, c->organisation, c->reference,
                                      c->open_cents, claim_day(c)) == 0) {
            added++;
        }
    }
    if (as->kind == BRR__V1__KIND__KIND_MAATWERK)
        it->a.amount = as->instalment_cents;
    else if (it->a.amount <= BRR_CENTS_MAX - as->instalment_cents)
        it->a.amount += as->instalment_cents;
    if (as->months > it->months)
        it->months = as->months;
    it->a.events |= DIST_EV_AMENDED;
    it->a.dirty = 1;
    it->resplit = 1;
    remember(it, m, as, b);
    dist_batch_history(
        b, it->id, NULL, "application.amends", dist_state_name(it->a.state),
        json_pack("{s:s, s:s, s:I, s:I}", "application_id", as->application_id,
                  "assessment_id", as->assessment_id, "claims_added",
                  (json_int_t)added, "instalment_cents",
                  (json_int_t)it->a.amount));
}

static void on_assessment(brr_msg_t *m, const Brr__V1__Assessment *as,
                          dist_batch_t *b, brr_outbox_t *ob)
{
    dist_item_t *live;
    if (!as->eligible) {
        reject(m, as, ob, as->reasons, as->n_reasons);
        return;
    }
    live = dist_batch_live(b, as->citizen_ref);
    if (live != NULL)
        amend(m, as, live, b);
    else
        create(m, as, b);
}

/* A pause event that changes nothing: recorded in the history; a start is
 * also answered on brr.arrangements.events.v1 (arrangement.pause_ignored),
 * so brr-pause marks the pause as not applied instead of running. */
static void pause_ignored(brr_msg_t *m, const Brr__V1__PauseEvent *pe,
                          dist_item_t *it, dist_batch_t *b, brr_outbox_t *ob,
                          int started)
{
    char *why = brr_arena_alloc(b->arena, 160);
    if (started)
        snprintf(why, 160,
                 "the arrangement was %s when the pause was due to start; "
                 "nothing was paused",
                 dist_state_name(it->a.state));
    else
        snprintf(why, 160, "the arrangement is %s and not in this pause",
                 dist_state_name(it->a.state));
    dist_batch_history(b, it->id, m->event_id, "pause.ignored",
                       dist_state_name(it->a.state),
                       json_pack("{s:s, s:s, s:s}", "pause_id", pe->pause_id,
                                 "event_type", pe->event_type, "reason", why));
    if (!started)
        return;
    it->traceparent = m->traceparent;
    dist_batch_pause_ignored(b, it, pe->pause_id, why, ob);
}

/*
 * Pause started or ended (DOMAIN §5): the state, the instalments in the
 * pause, and every organisation of the arrangement hears of it with its
 * new schedule: the first instalment due after the pause and its share of
 * it.  The effect is the pause policy's, carried by the event: EXTEND
 * keeps the instalment and the end date moves past the paused due dates;
 * RESPREAD keeps the end date and raises the instalment (at the start, for
 * the planned last day; at the end again for the day it really ended, so a
 * pause cut short lowers it, never below the instalment before the
 * pause).  Instalments whose day has come open first, so the start pauses
 * them and the end finds those due in the pause PAUSED.  A start for an
 * arrangement no longer active (arrears, closed) is ignored and answered;
 * an end that is not the running pause's (or for an arrangement that
 * started paused: maatwerk below the minimum, amount 0) changes nothing.
 */
static void on_pause(brr_msg_t *m, const Brr__V1__PauseEvent *pe,
                     dist_batch_t *b, brr_outbox_t *ob)
{
    int started = strcmp(pe->event_type, "pause.started") == 0;
    int respread = strcmp(pe->effect, "RESPREAD") == 0;
    dist_item_t *it = dist_batch_find(b, pe->arrangement_id);
    dist_arr_t *a;
    int32_t start = b->today, end = 0;
    int rc;

    if (it == NULL) {
        brr_log_warn("pause for an unknown arrangement", "eid", m->event_id,
                     NULL);
        return;
    }
    a = &it->a;
    if (pe->start_date[0] != '\0')
        dist_date_parse(pe->start_date, strlen(pe->start_date), &start);
    if (pe->end_date[0] != '\0')
        dist_date_parse(pe->end_date, strlen(pe->end_date), &end);
    if (started ? a->state != DIST_ST_ACTIEF && a->state != DIST_ST_GEPAUZEERD
                : a->state != DIST_ST_GEPAUZEERD || a->amount <= 0 ||
                      (it->pause_id[0] != '\0' &&
                       strcmp(it->pause_id, pe->pause_id) != 0)) {
        pause_ignored(m, pe, it, b, ob, started);
        return;
    }
    if ((rc = dist_arr_open_due(a, b->today, b->pol)) >= 0) {
        if (started) {
            rc = dist_arr_pause(a, start, end);
            if (rc == 0 && respread)
                rc = dist_arr_respread(a, end, b->pol);
            snprintf(it->pause_id, sizeof(it->pause_id), "%s", pe->pause_id);
        } else {
            rc = dist_arr_resume(a, end, respread, b->pol);
            it->pause_id[0] = '\0';
        }
    }
    if (rc >= 0) {
        free(it->resume_cents);
        it->resume_cents = calloc(a->nclaims + 1, sizeof(*it->resume_cents));
        if (it->resume_cents == NULL)
            abort();
        rc = dist_arr_next_after(a, end, b->pol, it->resume_cents,
                                 &it->resume_due);
    }
    if (rc < 0) {
        m->rc = rc;
        m->error = "pause could not be applied to the schedule";
        return;
    }
    it->touched = 1;
    it->traceparent = m->traceparent;
    it->pause_start = brr_arena_strdup(b->arena, pe->start_date);
    it->pause_end = brr_arena_strdup(b->arena, pe->end_date);
    dist_batch_history(
        b, it->id, m->event_id, pe->event_type, dist_state_name(a->state),
        json_pack("{s:s, s:s, s:s, s:s, s:I}", "pause_id", pe->pause_id,
                  "start_date", pe->start_date, "end_date", pe->end_date,
                  "effect", pe->effect[0] ? pe->effect : "EXTEND",
                  "instalment_cents", (json_int_t)a->amount));
    dist_batch_notify_all(
        b, it, started ? "arrangement.paused" : "arrangement.resumed", ob);
}

static int uuid_ok(const char *s)
{
    brr_uuid_t u;
    return s != NULL && brr_uuid_parse(s, &u) == 0;
}

static int dist_apply(void *arg, brr_pg_t *pg, brr_pg_pipe_t *pp,
                      brr_msg_t *msgs, size_t n, brr_outbox_t *ob,
                      brr_arena_t *a)
{
    void **pb = brr_arena_calloc(a, n + 1, sizeof(void *));
    const char **ids = brr_arena_calloc(a, n + 1, sizeof(char *));
    const char **cits = brr_arena_calloc(a, n + 1, sizeof(char *));
    const char **orgs = brr_arena_calloc(a, n + 1, sizeof(char *));
    const char **rids = brr_arena_calloc(a, n + 1, sizeof(char *));
    size_t nids = 0, ncit = 0, nrep = 0;
    dist_batch_t b;
    int rc;
    (void)arg;

    /* Decode everything first, so one load serves the whole batch. */
    for (size_t i = 0; i < n; i++) {
        brr_msg_t *m = &msgs[i];
        ProtobufCAllocator *al = brr_arena_protobuf(a);
        if (strcmp(m->topic, DIST_TOPIC_ASSESSMENTS) == 0) {
            Brr__V1__Assessment *as =
                brr__v1__assessment__unpack(al, m->len, m->value);
            if (as == NULL || !uuid_ok(as->citizen_ref)) {
                m->rc = BRR_EDECODE;
                m->error = "could not decode Assessment";
                continue;
            }
            pb[i] = as;
            if (as->eligible)
                cits[ncit++] = as->citizen_ref;
        } else if (strcmp(m->topic, DIST_TOPIC_PAUSES) == 0) {
            Brr__V1__PauseEvent *pe =
                brr__v1__pause_event__unpack(al, m->len, m->value);
            if (pe == NULL) {
                m->rc = BRR_EDECODE;
                m->error = "could not decode PauseEvent";
                continue;
            }
            /* scheduled, cancelled, refused: no effect on the schedule */
            if ((strcmp(pe->event_type, "pause.started") != 0 &&
                 strcmp(pe->event_type, "pause.ended") != 0) ||
                !uuid_ok(pe->arrangement_id))
                continue;
            pb[i] = pe;
            ids[nids++] = pe->arrangement_id;
        } else if (strcmp(m->topic, DIST_TOPIC_REPORTS) == 0) {
            Brr__V1__OrganisationReport *r =
                brr__v1__organisation_report__unpack(al, m->len, m->value);
            if (r == NULL) {
                m->rc = BRR_EDECODE;
                m->error = "could not decode OrganisationReport";
                continue;
            }
            pb[i] = r;
            if (uuid_ok(r->arrangement_id))
                ids[nids++] = r->arrangement_id;
            else
                r->arrangement_id = "";
            orgs[nrep] = r->organisation;
            rids[nrep++] = r->report_id;
        }
    }

    dist_batch_init(&b, a);
    rc = dist_batch_load(&b, pg, ids, nids, cits, ncit, orgs, rids, nrep);
    for (size_t i = 0; i < n && rc == 0; i++) {
        brr_msg_t *m = &msgs[i];
        if (pb[i] == NULL || m->rc != 0)
            continue;
        if (strcmp(m->topic, DIST_TOPIC_ASSESSMENTS) == 0)
            on_assessment(m, pb[i], &b, ob);
        else if (strcmp(m->topic, DIST_TOPIC_PAUSES) == 0)
            on_pause(m, pb[i], &b, ob);
        else
            dist_report_apply(&b, m, pb[i], ob);
    }
    if (rc == 0)
        rc = dist_batch_finish(&b, pp, ob);
    dist_batch_free(&b);
    return rc;
}

/* Fires due timers; more may be due at once when the batch was full. */
static void on_tick(uv_timer_t *t)
{
    size_t fired = 0;
    int rc;
    (void)t;
    rc = dist_timers_fire(svc.pg, svc.ob, (size_t)timer_batch, &fired);
    if (rc != 0) {
        brr_log_warn("arrangement timers not fired, retrying", "err",
                     brr_err_name(rc), NULL);
        return;
    }
    if (fired == 0)
        return;
    brr_relay_kick(svc.relay);
    brr_counter_add(fired_total, (double)fired);
    {
        char c[24];
        snprintf(c, sizeof(c), "%zu", fired);
        brr_log_info("arrangement timers fired", "count", c, NULL);
    }
    if (fired == (size_t)timer_batch)
        uv_timer_start(&tick, on_tick, 0, (uint64_t)tick_ms);
}

static void on_stop(brr_service_t *s)
{
    (void)s;
    uv_timer_stop(&tick);
    uv_close((uv_handle_t *)&tick, NULL);
}

static const char *const topics[] = {DIST_TOPIC_ASSESSMENTS, DIST_TOPIC_PAUSES,
                                     DIST_TOPIC_REPORTS};

int main(int argc, char **argv)
{
    brr_service_def_t def = {.name = "brr-distribution",
                             .schema = "distribution",
                             .source = "/brr/distribution",
                             .admin_port = 8083,
                             .topics = topics,
                             .ntopics = 3,
                             .apply = dist_apply,
                             .config = config};
    brr_service_init(&svc, &def, argc, argv);
    if (brr_clock_is_test())
        brr_log_warn("built with the test clock: not for production", NULL);
    svc.on_stop = on_stop;
    fired_total = brr_metrics_counter(
        "brr_distribution_timers_fired_total",
        "arrangement timers fired (instalments opened, lifecycle steps)", NULL);
    uv_timer_init(svc.loop, &tick);
    uv_timer_start(&tick, on_tick, (uint64_t)tick_ms, (uint64_t)tick_ms);
    return brr_service_run(&svc);
}
