/*
 * brr-pause: the payment pause (DOMAIN §5).  Consumes pause requests
 * (brr.pause.requests.v1, from brr-intake) and the arrangements' events
 * (brr.arrangements.events.v1, mirrored into pause.arrangements so the
 * limits need no other service's schema); checks each request against the
 * versioned limits (rules/pause_limits.c); records the pause with two
 * durable timers (start, end); and produces brr.pause.events.v1: scheduled or
 * refused when a request is decided, started and ended when the timers
 * fire, cancelled when a cancel request stops a scheduled or running
 * pause (a running one also gets its ended, so brr-distribution resumes
 * the schedule), and ignored when brr-distribution answers a start with
 * arrangement.pause_ignored (the arrangement was in arrears or closed by
 * then: the pause is IGNORED, not RUNNING).  Every event carries the policy's
 * version and effect; brr-distribution applies the effect.  A request for an
 * arrangement whose event has not arrived yet (another topic) is held in
 * pause.pending_requests and decided when it does, or refused after a day.
 *
 * Timers live in pause.timers.  A firing claims due rows with FOR UPDATE
 * SKIP LOCKED, deletes them, changes the pause and writes the events to the
 * outbox in one transaction: exactly once even with two instances, and a
 * service that was down when a timer came due fires it on its first tick
 * after start.  "Now" comes from brr_clock_now() (clock.h) and is passed to
 * SQL as a parameter, never now(), so the test build can move it.  Dates
 * are Europe/Amsterdam calendar days: a pause runs from 00:00 on its start
 * date to 00:00 after its end date.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brr/v1/arrangement.pb-c.h"
#include "brr/v1/pause.pb-c.h"
#include "clock.h"
#include "err.h"
#include "pause_limits.h"
#include "log.h"
#include "metrics.h"
#include "schedule.h"
#include "service.h"
#include "uuid.h"

#define TOPIC_IN "brr.pause.requests.v1"
#define TOPIC_ARRANGEMENTS "brr.arrangements.events.v1"
#define TOPIC_OUT "brr.pause.events.v1"
#define TIMER_BATCH "500"
#define REASON_MAX 200
#define CHANNEL_MAX 64

static brr_service_t svc;
static uv_timer_t tick;
static int64_t tick_ms;
static int64_t p_max, p_max_counsellor, p_count, p_total, p_gap, p_retro,
    p_ahead;
static char *p_effect, *p_version, *counsellors;
static pause_policy_t policy;
static brr_counter_t *fired_total, *refused_total;

static const brr_config_entry_t config[] = {
    {"BRR_PAUSE_TICK_MS", BRR_CONF_INT, &tick_ms, "1000", 10, 60000, 0,
     "how often due timers are looked for"},
    {"BRR_PAUSE_POLICY_VERSION", BRR_CONF_STRING, &p_version,
     PAUSE_POLICY_VERSION, 0, 0, 0,
     "version of the pause policy below (recorded with every decision)"},
    {"BRR_PAUSE_MAX_LENGTH_MONTHS", BRR_CONF_INT, &p_max, "3", 1, 24, 0,
     "pause.max_length_months"},
    {"BRR_PAUSE_MAX_LENGTH_MONTHS_COUNSELLOR", BRR_CONF_INT, &p_max_counsellor,
     "4", 1, 24, 0, "pause.max_length_months asked by a debt counsellor"},
    {"BRR_PAUSE_MAX_COUNT", BRR_CONF_INT, &p_count, "2", 1, 12, 0,
     "pause.max_count per arrangement"},
    {"BRR_PAUSE_MAX_TOTAL_MONTHS", BRR_CONF_INT, &p_total, "6", 1, 288, 0,
     "pause.max_total_months per arrangement"},
    {"BRR_PAUSE_MIN_GAP", BRR_CONF_INT, &p_gap, "3", 0, 24, 0,
     "pause.min_gap: instalments paid between pauses"},
    {"BRR_PAUSE_RETROACTIVE", BRR_CONF_INT, &p_retro, "1", 0, 3, 0,
     "pause.retroactive: instalments already due a pause may cover"},
    {"BRR_PAUSE_MAX_AHEAD_MONTHS", BRR_CONF_INT, &p_ahead, "12", 1, 24, 0,
     "how far ahead a pause may start"},
    {"BRR_PAUSE_EFFECT", BRR_CONF_STRING, &p_effect, "EXTEND", 0, 0, 0,
     "pause.effect: EXTEND or RESPREAD"},
    {"BRR_PAUSE_COUNSELLOR_CHANNELS", BRR_CONF_STRING, &counsellors,
     "SCHULDHULP", 0, 0, 0,
     "comma-separated intake channels of debt counsellors"},
    {0}};

/* ---- helpers ------------------------------------------------------------ */

static int is_uuid(const char *s)
{
    brr_uuid_t u;
    return s != NULL && brr_uuid_parse(s, &u) == 0;
}

static int parse_day(const char *s, int32_t *day)
{
    return s != NULL && dist_date_parse(s, strlen(s), day) == 0;
}

static int counsellor(const char *channel)
{
    size_t n = strlen(channel);
    const char *p = counsellors;
    while (*p) {
        size_t l = strcspn(p, ",");
        if (l == n && n > 0 && strncmp(p, channel, n) == 0)
            return 1;
        p += l;
        if (*p == ',')
            p++;
    }
    return 0;
}

static void today_str(int32_t today, char out[11])
{
    dist_date_format(today, out);
}

/* One event on brr.pause.events.v1, keyed by the citizen. */
static void emit(brr_outbox_t *ob, const char *type, Brr__V1__PauseEvent *ev,
                 const char *traceparent)
{
    ev->event_type = (char *)type;
    if (ev->effect == NULL || ev->effect[0] == '\0')
        ev->effect = (char *)pause_effect_name(policy.effect);
    if (ev->policy_version == NULL || ev->policy_version[0] == '\0')
        ev->policy_version = policy.version;
    brr_outbox_add(ob, TOPIC_OUT, ev->citizen_ref, "pause", ev->pause_id, type,
                   &ev->base,
                   traceparent && traceparent[0] ? traceparent : NULL, NULL);
}

/* A pause row's fields from row i of res, columns col to col + 6:
 * citizen_ref, start_date, end_date, reason, channel, effect,
 * policy_version.  The strings stay res's: emit before PQclear. */
static void event_from_row(Brr__V1__PauseEvent *ev, const PGresult *res, int i,
                           int col)
{
    ev->citizen_ref = PQgetvalue(res, i, col);
    ev->start_date = PQgetvalue(res, i, col + 1);
    ev->end_date = PQgetvalue(res, i, col + 2);
    ev->reason = PQgetvalue(res, i, col + 3);
    ev->channel = PQgetvalue(res, i, col + 4);
    ev->effect = PQgetvalue(res, i, col + 5);
    ev->policy_version = PQgetvalue(res, i, col + 6);
}

static void event_of(Brr__V1__PauseEvent *ev, const Brr__V1__PauseRequest *rq)
{
    brr__v1__pause_event__init(ev);
    ev->pause_id = rq->cancel ? rq->pause_id : rq->request_id;
    ev->request_id = rq->request_id;
    ev->arrangement_id = rq->arrangement_id;
    ev->citizen_ref = rq->citizen_ref;
    ev->start_date = rq->start_date;
    ev->end_date = rq->end_date;
    ev->reason = rq->reason;
    ev->channel = rq->channel;
}

static int run(brr_pg_t *pg, const char *sql, int n, const char *const *p,
               PGresult **res)
{
    int rc = brr_pg_query(pg, sql, n, p, res);
    if (rc != 0)
        brr_log_warn("pause statement failed", "err", brr_err_name(rc), NULL);
    return rc;
}

/* ---- arrangements mirror --------------------------------------------------
 */

static int on_request(brr_pg_t *pg, brr_msg_t *m,
                      const Brr__V1__PauseRequest *rq, int32_t today,
                      brr_outbox_t *ob, brr_arena_t *a);

/* Requests held for an arrangement not seen yet, decided now that its
 * event is here, oldest first. */
static int decide_held(brr_pg_t *pg, const char *arr, int32_t today,
                       brr_outbox_t *ob, brr_arena_t *a)
{
    const char *p[1] = {arr};
    PGresult *res;
    int rc = run(pg,
                 "WITH d AS (DELETE FROM pause.pending_requests WHERE "
                 "arrangement_id = $1::uuid RETURNING payload, traceparent, "
                 "received_at) SELECT payload, traceparent FROM d ORDER BY "
                 "received_at",
                 1, p, &res);
    if (rc != 0)
        return rc;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        size_t len = 0;
        unsigned char *bytes =
            PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, 0), &len);
        brr_msg_t held;
        Brr__V1__PauseRequest *rq;
        if (bytes == NULL)
            abort();
        rq = brr__v1__pause_request__unpack(brr_arena_protobuf(a), len, bytes);
        PQfreemem(bytes);
        if (rq == NULL)
            continue; /* it decoded when it was held */
        memset(&held, 0, sizeof(held));
        held.topic = TOPIC_IN;
        held.event_id = "";
        held.traceparent = brr_arena_strdup(a, PQgetvalue(res, r, 1));
        rc = on_request(pg, &held, rq, today, ob, a);
    }
    PQclear(res);
    return rc;
}

/* brr-distribution did not apply the pause ae->pause_id when it started
 * (the arrangement was in arrears or closed by then): the pause is
 * IGNORED, with why, its remaining timer goes, and pause.ignored tells
 * brr-intake's read model.  Only a pause that started changes, once (the
 * state guard and the inbox), whatever it became meanwhile (its end may
 * have fired, or a cancel come, before the answer). */
static int mark_ignored(brr_pg_t *pg, brr_msg_t *m,
                        const Brr__V1__ArrangementEvent *ae, brr_outbox_t *ob,
                        brr_arena_t *a)
{
    const char *why =
        ae->reason[0] ? ae->reason : "the arrangement could not be paused";
    const char *p[3] = {ae->pause_id, ae->arrangement_id, why};
    char **refusals = brr_arena_calloc(a, 1, sizeof(char *));
    Brr__V1__PauseEvent ev = BRR__V1__PAUSE_EVENT__INIT;
    PGresult *res;
    int rc = run(pg,
                 "WITH upd AS (UPDATE pause.pauses SET state = 'IGNORED', "
                 "refusal = jsonb_build_object('limit', "
                 "'pause.arrangement_state', 'allowed', 0, 'asked', 0, "
                 "'unit', '', 'detail', $3::text), updated_at = now() WHERE "
                 "pause_id = $1::uuid AND arrangement_id = $2::uuid AND "
                 "started AND state IN ('RUNNING', 'ENDED', 'CANCELLED') "
                 "RETURNING *), del AS (DELETE FROM pause.timers t USING upd "
                 "WHERE t.pause_id = upd.pause_id) SELECT citizen_ref::text, "
                 "start_date::text, end_date::text, reason, channel, "
                 "coalesce(effect, ''), coalesce(policy_version, '') FROM "
                 "upd",
                 3, p, &res);
    if (rc != 0)
        return rc;
    if (PQntuples(res) == 1) {
        ev.pause_id = ae->pause_id;
        ev.request_id = ae->pause_id;
        ev.arrangement_id = ae->arrangement_id;
        event_from_row(&ev, res, 0, 0);
        refusals[0] = brr_arena_strdup(a, why);
        ev.refusals = refusals;
        ev.n_refusals = 1;
        ev.limit = "pause.arrangement_state";
        ev.limit_unit = "";
        emit(ob, "pause.ignored", &ev, m->traceparent);
        brr_log_info("pause not applied by brr-distribution", "eid",
                     m->event_id, NULL);
    }
    PQclear(res);
    return 0;
}

static int on_arrangement(brr_pg_t *pg, brr_msg_t *m, int32_t today,
                          brr_outbox_t *ob, brr_arena_t *a)
{
    int rc;
    Brr__V1__ArrangementEvent *ev = brr__v1__arrangement_event__unpack(
        brr_arena_protobuf(a), m->len, m->value);
    const ProtobufCEnumValue *st;
    char due_day[8], paid[16];
    int32_t first = 0, dd;
    const char *p[6];
    if (ev == NULL) {
        m->rc = BRR_EDECODE;
        m->error = "could not decode ArrangementEvent";
        return 0;
    }
    if (!is_uuid(ev->arrangement_id) || !is_uuid(ev->citizen_ref))
        return 0; /* a rejection: no arrangement to pause */
    st = protobuf_c_enum_descriptor_get_value(
        &brr__v1__arrangement_state__descriptor, (int)ev->state);
    dd = ev->due_day;
    if (ev->first_due_date[0] != '\0' && !parse_day(ev->first_due_date, &first))
        first = 0;
    if (dd < 1 || dd > 31) {
        /* events from before due_day was carried: the first due date's */
        dd = 1;
        if (first != 0)
            dist_civil_from_days(first, NULL, NULL, &dd);
    }
    snprintf(due_day, sizeof(due_day), "%d", dd);
    snprintf(paid, sizeof(paid), "%d",
             ev->paid_instalments > 0 ? ev->paid_instalments : 0);
    p[0] = ev->arrangement_id;
    p[1] = ev->citizen_ref;
    p[2] = st ? st->name : "STATE_UNSPECIFIED";
    p[3] = due_day;
    p[4] = first != 0 ? ev->first_due_date : NULL;
    p[5] = paid;
    rc = run(pg,
             "INSERT INTO pause.arrangements (arrangement_id, citizen_ref, "
             "state, due_day, first_due_date, paid_instalments) VALUES "
             "($1::uuid, $2::uuid, $3, $4::int, $5::date, $6::int) ON "
             "CONFLICT (arrangement_id) DO UPDATE SET state = "
             "excluded.state, due_day = excluded.due_day, first_due_date "
             "= coalesce(excluded.first_due_date, "
             "arrangements.first_due_date), paid_instalments = "
             "greatest(excluded.paid_instalments, "
             "arrangements.paid_instalments), updated_at = now()",
             6, p, NULL);
    if (rc == 0 && strcmp(ev->event_type, "arrangement.pause_ignored") == 0 &&
        is_uuid(ev->pause_id))
        rc = mark_ignored(pg, m, ev, ob, a);
    return rc != 0 ? rc : decide_held(pg, ev->arrangement_id, today, ob, a);
}

/* ---- a new pause ----------------------------------------------------------
 */

/* Refuses rq: the pause row (kept, with the refusal) and the event. */
static int refuse(brr_pg_t *pg, brr_msg_t *m, const Brr__V1__PauseRequest *rq,
                  const char *limit, int64_t allowed, int64_t asked,
                  const char *unit, const char *detail, brr_outbox_t *ob,
                  brr_arena_t *a)
{
    Brr__V1__PauseEvent ev;
    char al[24], as[24];
    char **refusals = brr_arena_calloc(a, 1, sizeof(char *));
    const char *p[11];
    PGresult *res;
    int rc, fresh;
    snprintf(al, sizeof(al), "%lld", (long long)allowed);
    snprintf(as, sizeof(as), "%lld", (long long)asked);
    p[0] = rq->request_id;
    p[1] = rq->arrangement_id;
    p[2] = rq->citizen_ref;
    p[3] = rq->start_date;
    p[4] = rq->end_date;
    p[5] = rq->reason;
    p[6] = rq->channel;
    p[7] = limit;
    p[8] = al;
    p[9] = as;
    p[10] = detail;
    /* dates that do not parse are kept as 1970-01-01 placeholders */
    {
        const char *q[13] = {p[0],  p[1],           p[2], p[3], p[4],
                             p[5],  p[6],           p[7], p[8], p[9],
                             p[10], policy.version, unit};
        rc = run(pg,
                 "INSERT INTO pause.pauses (pause_id, arrangement_id, "
                 "citizen_ref, start_date, end_date, reason, channel, state, "
                 "policy_version, refusal) SELECT $1::uuid, $2::uuid, "
                 "$3::uuid, CASE WHEN $4 ~ '^\\d{4}-\\d{2}-\\d{2}$' THEN "
                 "$4::date ELSE '1970-01-01' END, CASE WHEN $5 ~ "
                 "'^\\d{4}-\\d{2}-\\d{2}$' THEN $5::date ELSE '1970-01-01' "
                 "END, $6, $7, 'REFUSED', $12, jsonb_build_object('limit', "
                 "$8::text, 'allowed', $9::bigint, 'asked', $10::bigint, "
                 "'unit', $13::text, 'detail', $11::text) ON CONFLICT "
                 "(pause_id) DO NOTHING RETURNING 1",
                 13, q, &res);
    }
    if (rc != 0)
        return rc;
    fresh = PQntuples(res) == 1;
    PQclear(res);
    if (!fresh)
        return 0; /* decided before (a replay): told already */
    event_of(&ev, rq);
    refusals[0] = brr_arena_strdup(a, detail);
    ev.refusals = refusals;
    ev.n_refusals = 1;
    ev.limit = (char *)limit;
    ev.limit_allowed = allowed;
    ev.limit_asked = asked;
    ev.limit_unit = (char *)unit;
    emit(ob, "pause.refused", &ev, m->traceparent);
    brr_counter_add(refused_total, 1);
    brr_log_info("pause refused", "eid", m->event_id, "limit", limit, NULL);
    return 0;
}

/* The arrangement's earlier pauses that count for the limits. */
static int load_prior(brr_pg_t *pg, const char *arr, const char *self,
                      pause_prior_t *prior, size_t *n)
{
    const char *p[2] = {arr, self};
    PGresult *res;
    int rc = run(pg,
                 "SELECT start_date::text, coalesce(ran_until, "
                 "end_date)::text, state IN ('ENDED', 'CANCELLED'), "
                 "coalesce(paid_at_end, 0) FROM pause.pauses WHERE "
                 "arrangement_id = $1::uuid AND pause_id <> $2::uuid AND "
                 "(state IN ('SCHEDULED', 'RUNNING', 'ENDED') OR (state = "
                 "'CANCELLED' AND started AND ran_until >= start_date)) "
                 "ORDER BY start_date LIMIT 64",
                 2, p, &res);
    if (rc != 0)
        return rc;
    *n = 0;
    for (int r = 0; r < PQntuples(res) && *n < PAUSE_MAX_PRIOR; r++) {
        pause_prior_t *pp = &prior[*n];
        if (!parse_day(PQgetvalue(res, r, 0), &pp->start) ||
            !parse_day(PQgetvalue(res, r, 1), &pp->end))
            continue;
        pp->ended = PQgetvalue(res, r, 2)[0] == 't';
        pp->paid_at_end = atoi(PQgetvalue(res, r, 3));
        (*n)++;
    }
    PQclear(res);
    return 0;
}

static int on_request(brr_pg_t *pg, brr_msg_t *m,
                      const Brr__V1__PauseRequest *rq, int32_t today,
                      brr_outbox_t *ob, brr_arena_t *a)
{
    pause_prior_t prior[PAUSE_MAX_PRIOR];
    pause_request_t req;
    pause_verdict_t v;
    Brr__V1__PauseEvent ev;
    PGresult *res;
    const char *p[2] = {rq->arrangement_id, NULL};
    char state[32];
    int rc, running = 0;

    memset(&req, 0, sizeof(req));
    req.today = today;
    if (!parse_day(rq->start_date, &req.start) ||
        !parse_day(rq->end_date, &req.end))
        return refuse(pg, m, rq, "pause.dates", 0, 0, "days",
                      "start_date and end_date must be dates YYYY-MM-DD", ob,
                      a);
    /* the arrangement, locked: two requests for it decide one by one */
    rc = run(pg,
             "SELECT state, due_day, coalesce(first_due_date::text, ''), "
             "paid_instalments, EXISTS (SELECT 1 FROM pause.pauses p WHERE "
             "p.arrangement_id = a.arrangement_id AND p.state = 'RUNNING') "
             "FROM pause.arrangements a WHERE arrangement_id = $1::uuid FOR "
             "UPDATE",
             1, p, &res);
    if (rc != 0)
        return rc;
    if (PQntuples(res) == 0) {
        /* its event is still on the way (another topic): hold the request
         * until it arrives (decide_held), or a day (expire_held) */
        char *hexp = brr_arena_alloc(a, 2 * m->len + 3), now[24];
        const char *hp[5] = {rq->request_id, rq->arrangement_id, hexp,
                             m->traceparent ? m->traceparent : "", now};
        static const char hx[] = "0123456789abcdef";
        PQclear(res);
        if (m->value == NULL)
            return 0; /* a held request replayed: never held twice */
        for (size_t i = 0; i < m->len; i++) {
            hexp[2 * i] = hx[m->value[i] >> 4];
            hexp[2 * i + 1] = hx[m->value[i] & 15];
        }
        hexp[2 * m->len] = '\0';
        snprintf(now, sizeof(now), "%lld", (long long)brr_clock_now());
        brr_log_info("pause request held until its arrangement is known", "eid",
                     m->event_id, NULL);
        return run(pg,
                   "INSERT INTO pause.pending_requests (request_id, "
                   "arrangement_id, payload, traceparent, received_at) "
                   "VALUES ($1::uuid, $2::uuid, decode($3, 'hex'), $4, "
                   "to_timestamp($5::bigint)) ON CONFLICT DO NOTHING",
                   5, hp, NULL);
    }
    snprintf(state, sizeof(state), "%s", PQgetvalue(res, 0, 0));
    req.due_day = atoi(PQgetvalue(res, 0, 1));
    if (!parse_day(PQgetvalue(res, 0, 2), &req.first_due))
        req.first_due = 0;
    req.paid = atoi(PQgetvalue(res, 0, 3));
    running = PQgetvalue(res, 0, 4)[0] == 't';
    PQclear(res);
    /* ACTIEF, or paused by one of our pauses; an arrangement that started
     * paused (maatwerk below the minimum) or is in arrears or closed has no
     * payments to pause */
    if (strcmp(state, "ACTIEF") != 0 &&
        !(strcmp(state, "GEPAUZEERD") == 0 && running)) {
        char detail[160];
        snprintf(detail, sizeof(detail),
                 "the arrangement is %s; only an active arrangement can be "
                 "paused",
                 state);
        return refuse(pg, m, rq, "pause.arrangement_state", 0, 0, "", detail,
                      ob, a);
    }
    req.counsellor = counsellor(rq->channel);
    if ((rc = load_prior(pg, rq->arrangement_id, rq->request_id, prior,
                         &req.nprior)) != 0)
        return rc;
    req.prior = prior;
    if (pause_check(&policy, &req, &v) != 0)
        return refuse(pg, m, rq, "pause.arrangement_state", 0, 0, "",
                      "the arrangement's schedule is not usable", ob, a);
    if (v.limit != PAUSE_OK)
        return refuse(pg, m, rq, pause_limit_name(v.limit), v.allowed, v.asked,
                      v.unit, v.detail, ob, a);
    {
        const char *q[9] = {rq->request_id,  rq->arrangement_id,
                            rq->citizen_ref, rq->start_date,
                            rq->end_date,    rq->reason,
                            rq->channel,     pause_effect_name(policy.effect),
                            policy.version};
        rc = run(pg,
                 "WITH ins AS (INSERT INTO pause.pauses (pause_id, "
                 "arrangement_id, citizen_ref, start_date, end_date, reason, "
                 "channel, state, effect, policy_version) VALUES ($1::uuid, "
                 "$2::uuid, $3::uuid, $4::date, $5::date, $6, $7, "
                 "'SCHEDULED', $8, $9) ON CONFLICT (pause_id) DO NOTHING "
                 "RETURNING pause_id, start_date, end_date) INSERT INTO "
                 "pause.timers (pause_id, action, due_at) SELECT pause_id, "
                 "x.action, CASE x.action WHEN 'start' THEN "
                 "start_date::timestamp AT TIME ZONE 'Europe/Amsterdam' ELSE "
                 "(end_date + 1)::timestamp AT TIME ZONE 'Europe/Amsterdam' "
                 "END FROM ins CROSS JOIN (VALUES ('start'), ('end')) AS "
                 "x(action) RETURNING 1",
                 9, q, &res);
    }
    if (rc != 0)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0; /* decided before (a replay) */
    }
    PQclear(res);
    event_of(&ev, rq);
    emit(ob, "pause.scheduled", &ev, m->traceparent);
    return 0;
}

/* ---- cancelling ------------------------------------------------------------
 */

static int on_cancel(brr_pg_t *pg, brr_msg_t *m,
                     const Brr__V1__PauseRequest *rq, int32_t today,
                     brr_outbox_t *ob, brr_arena_t *a)
{
    char yesterday[11];
    const char *p[3] = {rq->pause_id, rq->arrangement_id, NULL};
    PGresult *res;
    Brr__V1__PauseEvent ev;
    int rc;

    if (!is_uuid(rq->pause_id)) {
        m->rc = BRR_EINVAL;
        m->error = "cancel without a valid pause_id";
        return 0;
    }
    today_str(today - 1, yesterday);
    p[2] = yesterday;
    /* a running pause stops after yesterday (never before its start); a
     * scheduled one never runs; anything else is answered, not changed */
    rc = run(pg,
             "WITH cur AS (SELECT pause_id, state FROM pause.pauses WHERE "
             "pause_id = $1::uuid AND arrangement_id = $2::uuid FOR UPDATE), "
             "upd AS (UPDATE pause.pauses p SET state = 'CANCELLED', "
             "ran_until = CASE WHEN cur.state = 'RUNNING' THEN "
             "greatest(p.start_date, least(p.end_date, $3::date)) END, "
             "paid_at_end = CASE WHEN cur.state = 'RUNNING' THEN (SELECT "
             "a.paid_instalments FROM pause.arrangements a WHERE "
             "a.arrangement_id = p.arrangement_id) END, updated_at = now() "
             "FROM cur WHERE p.pause_id = cur.pause_id AND cur.state IN "
             "('SCHEDULED', 'RUNNING') RETURNING p.*, cur.state AS was), "
             "del AS (DELETE FROM pause.timers t USING upd WHERE t.pause_id "
             "= upd.pause_id) SELECT (SELECT state FROM cur), "
             "upd.was, upd.citizen_ref::text, upd.start_date::text, "
             "upd.end_date::text, upd.reason, upd.channel, "
             "coalesce(upd.effect, ''), coalesce(upd.policy_version, ''), "
             "coalesce(upd.ran_until::text, '') FROM (SELECT 1) one LEFT "
             "JOIN upd ON true",
             3, p, &res);
    if (rc != 0)
        return rc;
    event_of(&ev, rq);
    if (PQgetisnull(res, 0, 1)) {
        /* nothing to cancel: not ours, unknown, or over already */
        const char *was =
            PQgetisnull(res, 0, 0) ? "unknown" : PQgetvalue(res, 0, 0);
        char detail[120];
        char **refusals = brr_arena_calloc(a, 1, sizeof(char *));
        snprintf(detail, sizeof(detail),
                 "the pause is %s; only a scheduled or running pause can be "
                 "cancelled",
                 was);
        refusals[0] = brr_arena_strdup(a, detail);
        ev.refusals = refusals;
        ev.n_refusals = 1;
        ev.limit = "pause.cancel";
        ev.start_date = "";
        ev.end_date = "";
        emit(ob, "pause.cancel_refused", &ev, m->traceparent);
        PQclear(res);
        return 0;
    }
    event_from_row(&ev, res, 0, 2);
    if (strcmp(PQgetvalue(res, 0, 1), "RUNNING") == 0) {
        /* the schedule resumes now: brr-distribution acts on ended */
        Brr__V1__PauseEvent end = ev;
        end.end_date = PQgetvalue(res, 0, 9);
        emit(ob, "pause.ended", &end, m->traceparent);
    }
    emit(ob, "pause.cancelled", &ev, m->traceparent);
    PQclear(res);
    return 0;
}

/* ---- the consumer ----------------------------------------------------------
 */

static int valid_request(const Brr__V1__PauseRequest *rq)
{
    return is_uuid(rq->request_id) && is_uuid(rq->arrangement_id) &&
           is_uuid(rq->citizen_ref) && strlen(rq->reason) <= REASON_MAX &&
           strlen(rq->channel) <= CHANNEL_MAX && strlen(rq->start_date) <= 10 &&
           strlen(rq->end_date) <= 10;
}

/* Messages one by one on pg directly: each decision must see the ones
 * before it in the same batch (two requests for one arrangement). */
static int pause_apply(void *arg, brr_pg_t *pg, brr_pg_pipe_t *pp,
                       brr_msg_t *msgs, size_t n, brr_outbox_t *ob,
                       brr_arena_t *a)
{
    int32_t today = pause_amsterdam_day(brr_clock_now());
    (void)arg;
    (void)pp;
    for (size_t i = 0; i < n; i++) {
        brr_msg_t *m = &msgs[i];
        Brr__V1__PauseRequest *rq;
        int rc;
        if (m->rc != 0)
            continue;
        if (strcmp(m->topic, TOPIC_ARRANGEMENTS) == 0) {
            if ((rc = on_arrangement(pg, m, today, ob, a)) != 0)
                return rc;
            continue;
        }
        rq = brr__v1__pause_request__unpack(brr_arena_protobuf(a), m->len,
                                            m->value);
        if (rq == NULL || !valid_request(rq)) {
            m->rc = rq == NULL ? BRR_EDECODE : BRR_EINVAL;
            m->error = rq == NULL ? "could not decode PauseRequest"
                                  : "PauseRequest with invalid ids or sizes";
            continue;
        }
        rc = rq->cancel ? on_cancel(pg, m, rq, today, ob, a)
                        : on_request(pg, m, rq, today, ob, a);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- timers ----------------------------------------------------------------
 */

/* Requests held a day for an arrangement that never came are refused, in
 * the tick's transaction (their events go out with its commit). */
static int expire_held(brr_pg_t *pg, const char *now)
{
    const char *p[1] = {now};
    PGresult *res;
    brr_arena_t a;
    int rc = run(pg,
                 "WITH d AS (DELETE FROM pause.pending_requests WHERE "
                 "request_id IN (SELECT request_id FROM "
                 "pause.pending_requests WHERE received_at <= "
                 "to_timestamp($1::bigint) - interval '1 day' LIMIT 100 FOR "
                 "UPDATE SKIP LOCKED) RETURNING payload, traceparent) SELECT "
                 "payload, traceparent FROM d",
                 1, p, &res);
    if (rc != 0)
        return rc;
    brr_arena_init(&a, 4096);
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        size_t len = 0;
        unsigned char *bytes =
            PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, 0), &len);
        Brr__V1__PauseRequest *rq;
        brr_msg_t held;
        if (bytes == NULL)
            abort();
        rq = brr__v1__pause_request__unpack(brr_arena_protobuf(&a), len, bytes);
        PQfreemem(bytes);
        if (rq == NULL)
            continue;
        memset(&held, 0, sizeof(held));
        held.event_id = "";
        held.traceparent = brr_arena_strdup(&a, PQgetvalue(res, r, 1));
        rc = refuse(pg, &held, rq, "pause.arrangement_state", 0, 0, "",
                    "the arrangement is not known to brr-pause", svc.ob, &a);
    }
    PQclear(res);
    brr_arena_destroy(&a);
    return rc;
}

/* Fires due timers: one transaction per tick, at most TIMER_BATCH. */
static void on_tick(uv_timer_t *t)
{
    PGresult *res;
    char now[24];
    const char *p[1] = {now};
    int rc, n;
    (void)t;

    snprintf(now, sizeof(now), "%lld", (long long)brr_clock_now());
    if (brr_pg_ensure(svc.pg) != 0 || brr_pg_begin(svc.pg) != 0)
        return;
    if (expire_held(svc.pg, now) != 0) {
        brr_outbox_clear(svc.ob);
        brr_pg_rollback(svc.pg);
        return;
    }
    /* events in due order; at the same instant an end before a start
     * ('end' < 'start'), so a pause that follows another at once is
     * resumed from and then paused again, in that order */
    rc = brr_pg_query(
        svc.pg,
        "WITH due AS (DELETE FROM pause.timers WHERE timer_id IN ("
        "  SELECT timer_id FROM pause.timers WHERE due_at <= "
        "  to_timestamp($1::bigint) ORDER BY due_at, timer_id "
        "LIMIT " TIMER_BATCH
        "  FOR UPDATE SKIP LOCKED) RETURNING pause_id, action, due_at), "
        "upd AS (UPDATE pause.pauses p SET state = CASE d.action "
        "  WHEN 'start' THEN 'RUNNING' ELSE 'ENDED' END, "
        "  started = started OR d.action = 'start', "
        "  paid_at_end = CASE WHEN d.action = 'end' THEN (SELECT "
        "  a.paid_instalments FROM pause.arrangements a WHERE "
        "  a.arrangement_id = p.arrangement_id) END, updated_at = now() "
        "  FROM due d WHERE p.pause_id = d.pause_id AND p.state IN "
        "  ('SCHEDULED', 'RUNNING') RETURNING p.*, d.action, d.due_at) "
        "SELECT pause_id::text, action, arrangement_id::text, "
        "citizen_ref::text, start_date::text, end_date::text, reason, "
        "channel, coalesce(effect, ''), coalesce(policy_version, '') "
        "FROM upd ORDER BY due_at, action",
        1, p, &res);
    if (rc != 0) {
        brr_pg_rollback(svc.pg);
        return;
    }
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        Brr__V1__PauseEvent ev = BRR__V1__PAUSE_EVENT__INIT;
        int start = strcmp(PQgetvalue(res, i, 1), "start") == 0;
        ev.pause_id = PQgetvalue(res, i, 0);
        ev.request_id = PQgetvalue(res, i, 0);
        ev.arrangement_id = PQgetvalue(res, i, 2);
        event_from_row(&ev, res, i, 3);
        emit(svc.ob, start ? "pause.started" : "pause.ended", &ev, NULL);
    }
    if (n > 0 || brr_outbox_count(svc.ob) > 0) {
        brr_pg_pipe_t *pp = brr_pg_pipe_new();
        brr_outbox_queue(svc.ob, pp);
        brr_pg_pipe_add(pp, "COMMIT", 0, NULL, NULL, NULL);
        rc = brr_pg_pipe_run(svc.pg, pp);
        brr_pg_pipe_free(pp);
        PQclear(res);
        if (rc != 0) {
            brr_outbox_clear(svc.ob);
            brr_pg_rollback(svc.pg);
            return;
        }
        brr_relay_kick(svc.relay);
        if (n > 0) {
            char c[16];
            brr_counter_add(fired_total, (double)n);
            snprintf(c, sizeof(c), "%d", n);
            brr_log_info("pause timers fired", "count", c, NULL);
            /* more may be due: look again at once */
            uv_timer_start(&tick, on_tick, 0, (uint64_t)tick_ms);
        }
    } else {
        PQclear(res);
        brr_pg_commit(svc.pg);
    }
}

static void on_stop(brr_service_t *s)
{
    (void)s;
    uv_timer_stop(&tick);
    uv_close((uv_handle_t *)&tick, NULL);
}

static const char *const topics[] = {TOPIC_IN, TOPIC_ARRANGEMENTS};

int main(int argc, char **argv)
{
    brr_service_def_t def = {.name = "brr-pause",
                             .schema = "pause",
                             .source = "/brr/pause",
                             .admin_port = 8084,
                             .topics = topics,
                             .ntopics = 2,
                             .apply = pause_apply,
                             .config = config};
    brr_service_init(&svc, &def, argc, argv);
    pause_policy_default(&policy);
    snprintf(policy.version, sizeof(policy.version), "%s", p_version);
    policy.max_months = (int)p_max;
    policy.max_months_counsellor = (int)p_max_counsellor;
    policy.max_count = (int)p_count;
    policy.max_total_months = (int)p_total;
    policy.min_gap_paid = (int)p_gap;
    policy.retroactive = (int)p_retro;
    policy.max_ahead_months = (int)p_ahead;
    if (pause_effect_parse(p_effect, &policy.effect) != 0 ||
        strlen(p_version) == 0 || strlen(p_version) >= sizeof(policy.version) ||
        pause_policy_check(&policy) != 0) {
        fprintf(stderr,
                "brr-pause: invalid pause policy: BRR_PAUSE_EFFECT must be "
                "EXTEND or RESPREAD and BRR_PAUSE_POLICY_VERSION 1 to 31 "
                "characters (got \"%s\", \"%s\")\n",
                p_effect, p_version);
        return 2;
    }
    if (brr_clock_is_test())
        brr_log_warn("built with the test clock: not for production", NULL);
    svc.on_stop = on_stop;
    fired_total =
        brr_metrics_counter("brr_pause_timers_fired_total",
                            "pause timers fired (starts, ends)", NULL);
    refused_total = brr_metrics_counter(
        "brr_pause_refused_total", "pause requests refused by a limit", NULL);
    uv_timer_init(svc.loop, &tick);
    uv_timer_start(&tick, on_tick, (uint64_t)tick_ms, (uint64_t)tick_ms);
    return brr_service_run(&svc);
}
