/*
 * brr-distribution: owns the arrangement.  Consumes assessments
 * (brr.capacity.assessments.v1) and pause events (brr.pause.events.v1);
 * creates the arrangement with its claims, splits the instalment over the
 * organisations (DOMAIN §4, split.c), keeps the history, and tells the
 * whole story on brr.arrangements.events.v1 and each organisation its own
 * part on brr.organisations.<org>.v1.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "brr/v1/arrangement.pb-c.h"
#include "brr/v1/assessment.pb-c.h"
#include "brr/v1/pause.pb-c.h"
#include "err.h"
#include "log.h"
#include "schedule.h"
#include "service.h"
#include "split.h"
#include "uuid.h"

#define TOPIC_ASSESSMENTS "brr.capacity.assessments.v1"
#define TOPIC_PAUSES "brr.pause.events.v1"
#define TOPIC_ARRANGEMENTS "brr.arrangements.events.v1"

typedef struct {
    json_t *arrangements, *claims, *history;
    char **live;  /* citizens with a live arrangement (db + this batch) */
    size_t nlive, caplive;
} batch_t;

static const char *state_name(Brr__V1__ArrangementState s)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &brr__v1__arrangement_state__descriptor, (int)s);
    return v ? v->name : "STATE_UNSPECIFIED";
}

static void org_topic(const char *org, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "brr.organisations.%s.v1", org);
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
}

static void live_add(batch_t *b, brr_arena_t *a, const char *citizen)
{
    if (b->nlive == b->caplive) {
        size_t cap = b->caplive ? b->caplive * 2 : 64;
        char **v = brr_arena_calloc(a, cap, sizeof(char *));
        if (b->nlive)
            memcpy(v, b->live, b->nlive * sizeof(char *));
        b->live = v;
        b->caplive = cap;
    }
    b->live[b->nlive++] = brr_arena_strdup(a, citizen);
}

static int live_has(const batch_t *b, const char *citizen)
{
    for (size_t i = 0; i < b->nlive; i++)
        if (strcmp(b->live[i], citizen) == 0)
            return 1;
    return 0;
}

static void history(batch_t *b, const char *arr, const char *eid,
                    const char *type, const char *state, json_t *detail)
{
    json_array_append_new(
        b->history, json_pack("{s:s, s:s, s:s, s:s, s:o}", "arrangement_id",
                              arr, "event_id", eid, "event_type", type,
                              "state", state, "detail", detail));
}

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
    brr_outbox_add(ob, TOPIC_ARRANGEMENTS, m->key, "application",
                   as->application_id, "arrangement.rejected", &ev.base,
                   m->traceparent, NULL);
}

/* A new arrangement from an eligible assessment. */
static void create(brr_msg_t *m, const Brr__V1__Assessment *as, batch_t *b,
                   brr_outbox_t *ob, brr_arena_t *a)
{
    size_t n = as->n_claims;
    dist_claim_t *claims = brr_arena_calloc(a, n + 1, sizeof(*claims));
    dist_share_t *shares = brr_arena_calloc(a, n + 1, sizeof(*shares));
    brr_cents_t *cc = brr_arena_calloc(a, n + 1, sizeof(*cc));
    size_t nshares = 0;
    char arr[40], eid[40], due[11];
    int32_t ref, first_due;
    int y, mo, d, rc;
    Brr__V1__ArrangementState state =
        as->starts_paused ? BRR__V1__ARRANGEMENT_STATE__GEPAUZEERD
                          : BRR__V1__ARRANGEMENT_STATE__ACTIEF;
    Brr__V1__ArrangementEvent ev = BRR__V1__ARRANGEMENT_EVENT__INIT;
    Brr__V1__OrganisationShare **os;

    for (size_t i = 0; i < n; i++) {
        const Brr__V1__Claim *c = as->claims[i];
        int32_t day = 0;
        snprintf(claims[i].organisation, sizeof(claims[i].organisation), "%s",
                 c->organisation);
        snprintf(claims[i].reference, sizeof(claims[i].reference), "%s",
                 c->reference);
        claims[i].open_cents = c->open_cents;
        if (c->due_date[0] != '\0')
            dist_date_parse(c->due_date, strlen(c->due_date), &day);
        claims[i].due_day = day;
    }
    rc = dist_split(as->instalment_cents, claims, n, NULL, shares, &nshares,
                    cc);
    if (rc != 0) {
        m->rc = rc;
        m->error = "the instalment could not be split over the claims";
        return;
    }
    if (dist_date_parse(as->reference_date, strlen(as->reference_date),
                        &ref) != 0) {
        m->rc = BRR_EINVAL;
        m->error = "assessment has no valid reference date";
        return;
    }
    /* The first instalment falls in the month after the reference date. */
    dist_civil_from_days(dist_add_months(ref, 1), &y, &mo, &d);
    first_due = dist_due_in_month(y, mo, as->due_day > 0 ? as->due_day : 1);
    dist_date_format(first_due, due);

    brr_uuid_v7_str(arr);
    ev.event_type = "arrangement.created";
    ev.arrangement_id = arr;
    ev.citizen_ref = as->citizen_ref;
    ev.application_id = as->application_id;
    ev.state = state;
    ev.instalment_cents = as->instalment_cents;
    ev.months = as->months;
    ev.first_due_date = due;
    ev.submitted_at_ms = as->submitted_at_ms;
    os = brr_arena_calloc(a, nshares + 1, sizeof(*os));

    for (size_t s = 0; s < nshares; s++) {
        Brr__V1__OrganisationEvent oe = BRR__V1__ORGANISATION_EVENT__INIT;
        Brr__V1__ClaimShare **cs = brr_arena_calloc(a, n + 1, sizeof(*cs));
        size_t ncs = 0;
        char topic[200], oeid[40];
        for (size_t i = 0; i < n; i++) {
            if (strcmp(claims[i].organisation, shares[s].organisation) != 0)
                continue;
            cs[ncs] = brr_arena_alloc(a, sizeof(Brr__V1__ClaimShare));
            brr__v1__claim_share__init(cs[ncs]);
            cs[ncs]->reference = claims[i].reference;
            cs[ncs]->open_cents = claims[i].open_cents;
            cs[ncs]->share_cents = cc[i];
            ncs++;
        }
        os[s] = brr_arena_alloc(a, sizeof(Brr__V1__OrganisationShare));
        brr__v1__organisation_share__init(os[s]);
        os[s]->organisation = (char *)shares[s].organisation;
        os[s]->share_cents = shares[s].cents;
        os[s]->claims = cs;
        os[s]->n_claims = ncs;

        oe.event_type = "arrangement.created";
        oe.arrangement_id = arr;
        oe.organisation = (char *)shares[s].organisation;
        oe.state = state;
        oe.instalment_cents = shares[s].cents;
        oe.months = as->months;
        oe.first_due_date = due;
        oe.claims = cs;
        oe.n_claims = ncs;
        oe.submitted_at_ms = as->submitted_at_ms;
        org_topic(shares[s].organisation, topic, sizeof(topic));
        brr_outbox_add(ob, topic, m->key, "arrangement", arr,
                       "arrangement.created", &oe.base, m->traceparent, oeid);
        history(b, arr, oeid, "organisation.notified", state_name(state),
                json_pack("{s:s, s:I}", "organisation",
                          shares[s].organisation, "share_cents",
                          (json_int_t)shares[s].cents));
    }
    ev.shares = os;
    ev.n_shares = nshares;
    brr_outbox_add(ob, TOPIC_ARRANGEMENTS, m->key, "arrangement", arr,
                   "arrangement.created", &ev.base, m->traceparent, eid);

    json_array_append_new(
        b->arrangements,
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:s}", "arrangement_id",
                  arr, "citizen_ref", as->citizen_ref, "state",
                  state_name(state), "kind",
                  as->kind == BRR__V1__KIND__KIND_MAATWERK ? "maatwerk"
                                                           : "standard",
                  "instalment_cents", (json_int_t)as->instalment_cents,
                  "months", as->months, "due_day",
                  as->due_day > 0 ? as->due_day : 1, "first_due_date", due));
    for (size_t i = 0; i < n; i++) {
        char dd[11] = "";
        if (claims[i].due_day != 0)
            dist_date_format(claims[i].due_day, dd);
        json_array_append_new(
            b->claims,
            json_pack("{s:s, s:s, s:s, s:I, s:s?, s:I}", "arrangement_id", arr,
                      "organisation", claims[i].organisation, "reference",
                      claims[i].reference, "open_cents",
                      (json_int_t)claims[i].open_cents, "due_date",
                      dd[0] ? dd : NULL, "share_cents", (json_int_t)cc[i]));
    }
    history(b, arr, eid, "arrangement.created", state_name(state),
            json_pack("{s:s, s:s, s:s, s:I, s:i}", "application_id",
                      as->application_id, "assessment_id", as->assessment_id,
                      "rule_version", as->rule_version, "instalment_cents",
                      (json_int_t)as->instalment_cents, "months",
                      as->months));
    live_add(b, a, as->citizen_ref);
}

static void on_assessment(brr_msg_t *m, batch_t *b, brr_outbox_t *ob,
                          brr_arena_t *a)
{
    Brr__V1__Assessment *as = brr__v1__assessment__unpack(
        brr_arena_protobuf(a), m->len, m->value);
    if (as == NULL) {
        m->rc = BRR_EDECODE;
        m->error = "could not decode Assessment";
        return;
    }
    if (!as->eligible) {
        reject(m, as, ob, as->reasons, as->n_reasons);
        return;
    }
    if (live_has(b, as->citizen_ref)) {
        /* DOMAIN §1: a second application amends the live arrangement.
         * Amending is the arrangement lifecycle's work; until it lands the
         * application is refused with a reason instead of a second
         * arrangement being opened. */
        static char *why[] = {"ACTIVE_ARRANGEMENT_EXISTS"};
        reject(m, as, ob, why, 1);
        return;
    }
    create(m, as, b, ob, a);
}

/* Pause started or ended: the arrangement's state and every organisation
 * of it hear about it. */
static int on_pause(brr_msg_t *m, brr_pg_t *pg, batch_t *b, brr_outbox_t *ob,
                    brr_arena_t *a)
{
    Brr__V1__PauseEvent *pe = brr__v1__pause_event__unpack(
        brr_arena_protobuf(a), m->len, m->value);
    PGresult *res;
    const char *p[2];
    int started, rc;
    Brr__V1__ArrangementState state;
    char eid[40];

    if (pe == NULL) {
        m->rc = BRR_EDECODE;
        m->error = "could not decode PauseEvent";
        return 0;
    }
    started = strcmp(pe->event_type, "pause.started") == 0;
    if (!started && strcmp(pe->event_type, "pause.ended") != 0)
        return 0; /* scheduled, cancelled, refused: no effect on shares */
    state = started ? BRR__V1__ARRANGEMENT_STATE__GEPAUZEERD
                    : BRR__V1__ARRANGEMENT_STATE__ACTIEF;
    p[0] = pe->arrangement_id;
    p[1] = state_name(state);
    rc = brr_pg_query(pg,
                      "UPDATE distribution.arrangements SET state = $2, "
                      "version = version + 1, updated_at = now() "
                      "WHERE arrangement_id = $1::uuid "
                      "AND state IN ('ACTIEF', 'GEPAUZEERD') "
                      "RETURNING instalment_cents, months, "
                      "coalesce(first_due_date::text, '')",
                      2, p, &res);
    if (rc != 0)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        m->rc = BRR_ENOTFOUND;
        m->error = "pause for an arrangement that is not active";
        return 0;
    }
    PQclear(res);
    rc = brr_pg_query(pg,
                      "SELECT organisation, reference, open_cents, "
                      "share_cents FROM distribution.claims "
                      "WHERE arrangement_id = $1::uuid "
                      "ORDER BY organisation, due_date NULLS LAST, reference",
                      1, p, &res);
    if (rc != 0)
        return rc;
    for (int i = 0; i < PQntuples(res);) {
        Brr__V1__OrganisationEvent oe = BRR__V1__ORGANISATION_EVENT__INIT;
        const char *org = brr_arena_strdup(a, PQgetvalue(res, i, 0));
        Brr__V1__ClaimShare **cs =
            brr_arena_calloc(a, (size_t)PQntuples(res), sizeof(*cs));
        char topic[200], oeid[40];
        int64_t share = 0;
        size_t ncs = 0;
        for (; i < PQntuples(res) && strcmp(PQgetvalue(res, i, 0), org) == 0;
             i++) {
            cs[ncs] = brr_arena_alloc(a, sizeof(Brr__V1__ClaimShare));
            brr__v1__claim_share__init(cs[ncs]);
            cs[ncs]->reference = brr_arena_strdup(a, PQgetvalue(res, i, 1));
            cs[ncs]->open_cents = strtoll(PQgetvalue(res, i, 2), NULL, 10);
            cs[ncs]->share_cents = strtoll(PQgetvalue(res, i, 3), NULL, 10);
            share += cs[ncs]->share_cents;
            ncs++;
        }
        oe.event_type = started ? "arrangement.paused" : "arrangement.resumed";
        oe.arrangement_id = pe->arrangement_id;
        oe.organisation = (char *)org;
        oe.state = state;
        oe.instalment_cents = share;
        oe.claims = cs;
        oe.n_claims = ncs;
        oe.pause_start = pe->start_date;
        oe.pause_end = pe->end_date;
        org_topic(org, topic, sizeof(topic));
        brr_outbox_add(ob, topic, m->key, "arrangement", pe->arrangement_id,
                       oe.event_type, &oe.base, m->traceparent, oeid);
        history(b, pe->arrangement_id, oeid, "organisation.notified",
                state_name(state), json_pack("{s:s}", "organisation", org));
    }
    PQclear(res);
    {
        Brr__V1__ArrangementEvent ev = BRR__V1__ARRANGEMENT_EVENT__INIT;
        ev.event_type = started ? "arrangement.paused" : "arrangement.resumed";
        ev.arrangement_id = pe->arrangement_id;
        ev.citizen_ref = pe->citizen_ref;
        ev.state = state;
        brr_outbox_add(ob, TOPIC_ARRANGEMENTS, m->key, "arrangement",
                       pe->arrangement_id, ev.event_type, &ev.base,
                       m->traceparent, eid);
        history(b, pe->arrangement_id, eid, ev.event_type, state_name(state),
                json_pack("{s:s, s:s, s:s}", "pause_id", pe->pause_id,
                          "start_date", pe->start_date, "end_date",
                          pe->end_date));
    }
    return 0;
}

static void collect_live(void *arg, const PGresult *res)
{
    void **ctx = arg;
    batch_t *b = ctx[0];
    brr_arena_t *a = ctx[1];
    for (int i = 0; i < PQntuples(res); i++)
        live_add(b, a, PQgetvalue(res, i, 0));
}

static void queue_rows(brr_pg_pipe_t *pp, json_t *rows, const char *sql)
{
    char *doc;
    const char *p[1];
    if (json_array_size(rows) == 0)
        return;
    doc = json_dumps(rows, JSON_COMPACT);
    p[0] = doc;
    brr_pg_pipe_add(pp, sql, 1, p, NULL, NULL);
    free(doc);
}

static int dist_apply(void *arg, brr_pg_t *pg, brr_pg_pipe_t *pp,
                      brr_msg_t *msgs, size_t n, brr_outbox_t *ob,
                      brr_arena_t *a)
{
    batch_t b = {json_array(), json_array(), json_array(), NULL, 0, 0};
    const char **refs = brr_arena_calloc(a, n + 1, sizeof(char *));
    size_t nrefs = 0;
    int rc = 0;
    (void)arg;

    /* One round trip tells which citizens already have a live arrangement. */
    for (size_t i = 0; i < n; i++)
        if (strcmp(msgs[i].topic, TOPIC_ASSESSMENTS) == 0 && msgs[i].key[0])
            refs[nrefs++] = msgs[i].key;
    if (nrefs > 0) {
        char *lit = brr_pg_array_literal(refs, nrefs);
        const char *p[1] = {lit};
        void *ctx[2] = {&b, a};
        brr_pg_pipe_add(pp,
                        "SELECT citizen_ref::text FROM "
                        "distribution.arrangements WHERE citizen_ref = "
                        "ANY($1::uuid[]) AND state IN ('ACTIEF', "
                        "'GEPAUZEERD', 'ACHTERSTAND')",
                        1, p, collect_live, ctx);
        free(lit);
        rc = brr_pg_pipe_run(pg, pp);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (strcmp(msgs[i].topic, TOPIC_ASSESSMENTS) == 0)
            on_assessment(&msgs[i], &b, ob, a);
        else if (strcmp(msgs[i].topic, TOPIC_PAUSES) == 0)
            rc = on_pause(&msgs[i], pg, &b, ob, a);
    }
    if (rc == 0) {
        queue_rows(pp, b.arrangements,
                   "INSERT INTO distribution.arrangements (arrangement_id, "
                   "citizen_ref, state, kind, instalment_cents, months, "
                   "due_day, first_due_date) SELECT * FROM "
                   "jsonb_to_recordset($1::jsonb) AS x(arrangement_id uuid, "
                   "citizen_ref uuid, state text, kind text, instalment_cents "
                   "bigint, months int, due_day int, first_due_date date)");
        queue_rows(pp, b.claims,
                   "INSERT INTO distribution.claims (arrangement_id, "
                   "organisation, reference, open_cents, due_date, "
                   "share_cents) SELECT * FROM jsonb_to_recordset($1::jsonb) "
                   "AS x(arrangement_id uuid, organisation text, reference "
                   "text, open_cents bigint, due_date date, share_cents "
                   "bigint)");
        queue_rows(pp, b.history,
                   "INSERT INTO distribution.history (arrangement_id, "
                   "event_id, event_type, state, detail) SELECT * FROM "
                   "jsonb_to_recordset($1::jsonb) AS x(arrangement_id uuid, "
                   "event_id uuid, event_type text, state text, detail "
                   "jsonb)");
    }
    json_decref(b.arrangements);
    json_decref(b.claims);
    json_decref(b.history);
    return rc;
}

static const char *const topics[] = {TOPIC_ASSESSMENTS, TOPIC_PAUSES};

int main(int argc, char **argv)
{
    brr_service_t svc;
    brr_service_def_t def = {.name = "brr-distribution",
                             .schema = "distribution",
                             .source = "/brr/distribution",
                             .admin_port = 8083,
                             .topics = topics,
                             .ntopics = 2,
                             .apply = dist_apply};
    brr_service_init(&svc, &def, argc, argv);
    return brr_service_run(&svc);
}
