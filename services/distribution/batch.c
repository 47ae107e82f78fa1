/*
 * batch.c: the arrangements one transaction works on (see dist.h).
 *
 * Two round trips load them (arrangements locked FOR UPDATE, then their
 * claims, unsettled and current instalments and shares, and while a pause
 * runs its PAUSED ones, which a pause cut short may open again); the
 * changes are made in memory by rules/life.c; one pipelined round trip
 * writes every changed row with multi-row statements (jsonb_to_recordset),
 * the history, the applied reports, the next timers and the outbox.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brr/v1/arrangement.pb-c.h"
#include "clock.h"
#include "dist.h"
#include "err.h"
#include "uuid.h"

#define LIVE_STATES "('ACTIEF', 'GEPAUZEERD', 'ACHTERSTAND')"

static void *xrealloc(void *p, size_t n, size_t size)
{
    p = realloc(p, (n ? n : 1) * size);
    if (p == NULL)
        abort();
    return p;
}

const char *dist_clock_param(char buf[24])
{
    if (!brr_clock_is_test())
        return NULL;
    snprintf(buf, 24, "%lld", (long long)brr_clock_now());
    return buf;
}

void dist_org_topic(const char *org, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "brr.organisations.%s.v1", org);
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
}

void dist_batch_init(dist_batch_t *b, brr_arena_t *arena)
{
    memset(b, 0, sizeof(*b));
    b->arena = arena;
    b->history = json_array();
    b->reports = json_array();
}

void dist_batch_free(dist_batch_t *b)
{
    for (size_t i = 0; i < b->nitems; i++) {
        dist_arr_free(&b->items[i]->a);
        free(b->items[i]->orgs);
        free(b->items[i]->digest);
        free(b->items[i]->share_before);
        free(b->items[i]->resume_cents);
        free(b->items[i]);
    }
    free(b->items);
    for (size_t i = 0; i < b->napplied; i++)
        free(b->applied[i]);
    free(b->applied);
    json_decref(b->history);
    json_decref(b->reports);
    memset(b, 0, sizeof(*b));
}

static dist_item_t *add_item(dist_batch_t *b)
{
    dist_item_t *it = calloc(1, sizeof(*it));
    if (it == NULL)
        abort();
    dist_arr_init(&it->a);
    if (b->nitems == b->capitems) {
        b->capitems = b->capitems ? b->capitems * 2 : 64;
        b->items = xrealloc(b->items, b->capitems, sizeof(*b->items));
    }
    b->items[b->nitems++] = it;
    it->state_before = -1;
    it->traceparent = "";
    return it;
}

dist_item_t *dist_batch_find(dist_batch_t *b, const char *id)
{
    for (size_t i = 0; i < b->nitems; i++)
        if (strcmp(b->items[i]->id, id) == 0)
            return b->items[i];
    return NULL;
}

dist_item_t *dist_batch_live(dist_batch_t *b, const char *citizen)
{
    for (size_t i = 0; i < b->nitems; i++)
        if (dist_arr_live(&b->items[i]->a) &&
            strcmp(b->items[i]->citizen, citizen) == 0)
            return b->items[i];
    return NULL;
}

dist_item_t *dist_batch_new(dist_batch_t *b, const char *citizen)
{
    dist_item_t *it = add_item(b);
    brr_uuid_v7_str(it->id);
    snprintf(it->citizen, sizeof(it->citizen), "%s", citizen);
    it->is_new = it->touched = 1;
    return it;
}

static void applied_add(dist_batch_t *b, const char *org, const char *id)
{
    size_t lo = strlen(org), li = strlen(id);
    char *k = malloc(lo + li + 2);
    if (k == NULL)
        abort();
    memcpy(k, org, lo);
    k[lo] = '\x1f';
    memcpy(k + lo + 1, id, li + 1);
    if (b->napplied == b->capapplied) {
        b->capapplied = b->capapplied ? b->capapplied * 2 : 16;
        b->applied = xrealloc(b->applied, b->capapplied, sizeof(char *));
    }
    b->applied[b->napplied++] = k;
}

int dist_batch_report_seen(dist_batch_t *b, const char *org,
                           const char *report_id)
{
    size_t lo = strlen(org);
    for (size_t i = 0; i < b->napplied; i++)
        if (strncmp(b->applied[i], org, lo) == 0 &&
            b->applied[i][lo] == '\x1f' &&
            strcmp(b->applied[i] + lo + 1, report_id) == 0)
            return 1;
    applied_add(b, org, report_id);
    return 0;
}

void dist_batch_history(dist_batch_t *b, const char *arrangement_id,
                        const char *event_id, const char *type,
                        const char *state, json_t *detail)
{
    char eid[40];
    if (event_id == NULL) {
        brr_uuid_v7_str(eid);
        event_id = eid;
    }
    json_array_append_new(
        b->history,
        json_pack("{s:s, s:s, s:s, s:s, s:o}", "arrangement_id", arrangement_id,
                  "event_id", event_id, "event_type", type, "state", state,
                  "detail", detail ? detail : json_object()));
}

/* ---- loading ------------------------------------------------------------ */

static int32_t parse_day(const char *s)
{
    int32_t d;
    return dist_date_parse(s, strlen(s), &d) == 0 ? d : 0;
}

static void collect_today(void *arg, const PGresult *res)
{
    dist_batch_t *b = arg;
    if (PQntuples(res) == 1)
        b->today = parse_day(PQgetvalue(res, 0, 0));
}

static void collect_arrangements(void *arg, const PGresult *res)
{
    dist_batch_t *b = arg;
    for (int r = 0; r < PQntuples(res); r++) {
        dist_item_t *it = add_item(b);
        dist_arr_t *a = &it->a;
        const char *open_on = PQgetvalue(res, r, 10);
        snprintf(it->id, sizeof(it->id), "%s", PQgetvalue(res, r, 0));
        snprintf(it->citizen, sizeof(it->citizen), "%s", PQgetvalue(res, r, 1));
        if (dist_state_parse(PQgetvalue(res, r, 2), &a->state) != 0)
            a->state = DIST_ST_AANGEVRAAGD; /* unknown: never stepped */
        snprintf(it->kind, sizeof(it->kind), "%s", PQgetvalue(res, r, 3));
        a->amount = strtoll(PQgetvalue(res, r, 4), NULL, 10);
        it->months = atoi(PQgetvalue(res, r, 5));
        a->due_day = atoi(PQgetvalue(res, r, 6));
        a->first_due = parse_day(PQgetvalue(res, r, 7));
        a->next_seq = atoi(PQgetvalue(res, r, 8));
        a->next_due = parse_day(PQgetvalue(res, r, 9));
        a->open_on = open_on[0] ? parse_day(open_on) : DIST_NEVER;
        a->cur_seq = atoi(PQgetvalue(res, r, 11));
        a->reminders = atoi(PQgetvalue(res, r, 12));
        a->last_reminder = parse_day(PQgetvalue(res, r, 13));
        a->paid_count = atoi(PQgetvalue(res, r, 14));
        it->review = parse_day(PQgetvalue(res, r, 15));
        snprintf(it->pause_id, sizeof(it->pause_id), "%s",
                 PQgetvalue(res, r, 16));
        a->pause_until = parse_day(PQgetvalue(res, r, 17));
        a->pause_base = strtoll(PQgetvalue(res, r, 18), NULL, 10);
        a->pause_keep_end = parse_day(PQgetvalue(res, r, 19));
        it->state_before = (int)a->state;
    }
}

static void collect_applied(void *arg, const PGresult *res)
{
    dist_batch_t *b = arg;
    for (int r = 0; r < PQntuples(res); r++)
        applied_add(b, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1));
}

/* Rows come ordered by arrangement: one lookup per arrangement. */
static dist_item_t *row_item(dist_batch_t *b, const PGresult *res, int r,
                             dist_item_t **last)
{
    const char *id = PQgetvalue(res, r, 0);
    if (*last == NULL || strcmp((*last)->id, id) != 0)
        *last = dist_batch_find(b, id);
    return *last;
}

static void collect_claims(void *arg, const PGresult *res)
{
    dist_batch_t *b = arg;
    dist_item_t *last = NULL;
    for (int r = 0; r < PQntuples(res); r++) {
        dist_item_t *it = row_item(b, res, r, &last);
        if (it == NULL)
            continue;
        dist_arr_load_claim(
            &it->a, PQgetvalue(res, r, 1), PQgetvalue(res, r, 2),
            strtoll(PQgetvalue(res, r, 3), NULL, 10),
            parse_day(PQgetvalue(res, r, 4)), PQgetvalue(res, r, 5)[0] == 't');
    }
}

static void collect_instalments(void *arg, const PGresult *res)
{
    dist_batch_t *b = arg;
    dist_item_t *last = NULL;
    for (int r = 0; r < PQntuples(res); r++) {
        dist_item_t *it = row_item(b, res, r, &last);
        dist_ist_t st;
        if (it == NULL || dist_ist_parse(PQgetvalue(res, r, 3), &st) != 0)
            continue;
        dist_arr_load_inst(&it->a, atoi(PQgetvalue(res, r, 1)),
                           parse_day(PQgetvalue(res, r, 2)), st);
    }
}

static void collect_shares(void *arg, const PGresult *res)
{
    dist_batch_t *b = arg;
    dist_item_t *last = NULL;
    for (int r = 0; r < PQntuples(res); r++) {
        dist_item_t *it = row_item(b, res, r, &last);
        size_t c;
        if (it == NULL)
            continue;
        c = dist_arr_find_claim(&it->a, PQgetvalue(res, r, 2),
                                PQgetvalue(res, r, 3));
        if (c == DIST_NONE)
            continue;
        dist_arr_load_share(&it->a, atoi(PQgetvalue(res, r, 1)), c,
                            strtoll(PQgetvalue(res, r, 4), NULL, 10),
                            strtoll(PQgetvalue(res, r, 5), NULL, 10));
    }
}

/* The organisations of it, each once, in claim order. */
static size_t item_orgs(const dist_item_t *it, char (**out)[DIST_ORG_MAX + 1])
{
    const dist_arr_t *a = &it->a;
    char(*orgs)[DIST_ORG_MAX + 1] = calloc(a->nclaims + 1, sizeof(*orgs));
    size_t n = 0;
    if (orgs == NULL)
        abort();
    for (size_t i = 0; i < a->nclaims; i++) {
        size_t j = 0;
        while (j < n && strcmp(orgs[j], a->claims[i].c.organisation) != 0)
            j++;
        if (j == n)
            memcpy(orgs[n++], a->claims[i].c.organisation, DIST_ORG_MAX + 1);
    }
    *out = orgs;
    return n;
}

/* Remembers what each organisation saw. */
static void digest_orgs(dist_item_t *it)
{
    free(it->orgs);
    free(it->digest);
    it->norgs = item_orgs(it, &it->orgs);
    it->digest = calloc(it->norgs + 1, sizeof(*it->digest));
    if (it->digest == NULL)
        abort();
    for (size_t j = 0; j < it->norgs; j++)
        it->digest[j] = dist_arr_org_digest(&it->a, it->orgs[j]);
}

/* ... and, as loaded, each claim's current share (to know which claim rows
 * to write back). */
static void snapshot(dist_item_t *it)
{
    digest_orgs(it);
    it->share_before = calloc(it->a.nclaims + 1, sizeof(*it->share_before));
    if (it->share_before == NULL)
        abort();
    for (size_t i = 0; i < it->a.nclaims; i++)
        it->share_before[i] = dist_arr_claim_share(&it->a, i);
    it->nclaims_before = it->a.nclaims;
}

int dist_batch_load(dist_batch_t *b, brr_pg_t *pg, const char *const *ids,
                    size_t nids, const char *const *citizens, size_t ncit,
                    const char *const *orgs, const char *const *report_ids,
                    size_t nrep)
{
    brr_pg_pipe_t *pp = brr_pg_pipe_new();
    size_t first = b->nitems;
    char clk[24];
    const char *now[1] = {dist_clock_param(clk)};
    int rc;

    brr_pg_pipe_add(pp,
                    "SELECT (coalesce(to_timestamp($1::bigint), now()) AT "
                    "TIME ZONE 'Europe/Amsterdam')::date::text",
                    1, now, collect_today, b);
    if (nids + ncit > 0) {
        char *l1 = brr_pg_array_literal(ids, nids);
        char *l2 = brr_pg_array_literal(citizens, ncit);
        const char *p[2] = {l1, l2};
        brr_pg_pipe_add(
            pp,
            "SELECT arrangement_id::text, citizen_ref::text, state, kind, "
            "instalment_cents, months, due_day, "
            "coalesce(first_due_date::text, ''), next_seq, "
            "coalesce(next_due::text, ''), coalesce(open_on::text, ''), "
            "cur_seq, reminders, coalesce(last_reminder::text, ''), "
            "(SELECT count(*) FROM distribution.instalments i WHERE "
            "i.arrangement_id = arrangements.arrangement_id AND i.state = "
            "'PAID'), coalesce(review_date::text, ''), "
            "coalesce(pause_id::text, ''), coalesce(pause_until::text, ''), "
            "coalesce(pause_base_cents, 0), "
            "coalesce(pause_keep_end::text, '') FROM "
            "distribution.arrangements WHERE arrangement_id = "
            "ANY($1::uuid[]) OR (citizen_ref = ANY($2::uuid[]) AND state "
            "IN " LIVE_STATES ") ORDER BY arrangement_id FOR UPDATE",
            2, p, collect_arrangements, b);
        free(l1);
        free(l2);
    }
    if (nrep > 0) {
        char *l1 = brr_pg_array_literal(orgs, nrep);
        char *l2 = brr_pg_array_literal(report_ids, nrep);
        const char *p[2] = {l1, l2};
        brr_pg_pipe_add(pp,
                        "SELECT r.organisation, r.report_id FROM "
                        "distribution.applied_reports r JOIN unnest("
                        "$1::text[], $2::text[]) AS x(o, i) ON "
                        "r.organisation = x.o AND r.report_id = x.i",
                        2, p, collect_applied, b);
        free(l1);
        free(l2);
    }
    rc = brr_pg_pipe_run(pg, pp);
    if (rc == 0 && b->today == 0)
        rc = BRR_EINTERNAL;
    if (rc == 0 && b->nitems > first) {
        const char **found =
            brr_arena_calloc(b->arena, b->nitems - first, sizeof(char *));
        char *lit;
        const char *p[1];
        for (size_t i = first; i < b->nitems; i++)
            found[i - first] = b->items[i]->id;
        lit = brr_pg_array_literal(found, b->nitems - first);
        p[0] = lit;
        brr_pg_pipe_add(pp,
                        "SELECT arrangement_id::text, organisation, "
                        "reference, open_cents, coalesce(due_date::text, ''), "
                        "withdrawn FROM distribution.claims WHERE "
                        "arrangement_id = ANY($1::uuid[]) "
                        "ORDER BY arrangement_id, organisation, reference",
                        1, p, collect_claims, b);
        brr_pg_pipe_add(pp,
                        "SELECT i.arrangement_id::text, i.seq, "
                        "i.due_date::text, i.state FROM "
                        "distribution.instalments i JOIN "
                        "distribution.arrangements a USING (arrangement_id) "
                        "WHERE i.arrangement_id = ANY($1::uuid[]) AND "
                        "(i.state IN ('OPEN', 'MISSED') OR i.seq = a.cur_seq "
                        "OR (i.state = 'PAUSED' AND a.pause_id IS NOT NULL)) "
                        "ORDER BY i.arrangement_id, i.seq",
                        1, p, collect_instalments, b);
        brr_pg_pipe_add(pp,
                        "SELECT s.arrangement_id::text, s.seq, "
                        "s.organisation, s.reference, s.share_cents, "
                        "s.paid_cents FROM distribution.instalment_shares s "
                        "JOIN distribution.instalments i USING "
                        "(arrangement_id, seq) JOIN distribution.arrangements "
                        "a USING (arrangement_id) WHERE s.arrangement_id = "
                        "ANY($1::uuid[]) AND (i.state IN ('OPEN', 'MISSED') "
                        "OR i.seq = a.cur_seq OR (i.state = 'PAUSED' AND "
                        "a.pause_id IS NOT NULL)) ORDER BY s.arrangement_id",
                        1, p, collect_shares, b);
        free(lit);
        rc = brr_pg_pipe_run(pg, pp);
    }
    brr_pg_pipe_free(pp);
    for (size_t i = first; i < b->nitems && rc == 0; i++)
        snapshot(b->items[i]);
    return rc;
}

/* ---- writing ------------------------------------------------------------ */

static json_t *jdate(int32_t day)
{
    char buf[11];
    if (day == 0 || day == DIST_NEVER || day == INT32_MIN)
        return json_null();
    return json_string(dist_date_format(day, buf));
}

static const struct {
    unsigned ev;
    const char *type;
} kinds[] = {
    {DIST_EV_CREATED, "arrangement.created"},
    {DIST_EV_LAPSED, "arrangement.lapsed"},
    {DIST_EV_COMPLETED, "arrangement.completed"},
    {DIST_EV_ENDED, "arrangement.ended"},
    {DIST_EV_REMINDER, "arrangement.reminder"},
    {DIST_EV_ARREARS, "arrangement.arrears"},
    {DIST_EV_RECOVERED, "arrangement.recovered"},
    {DIST_EV_PAUSED, "arrangement.paused"},
    {DIST_EV_RESUMED, "arrangement.resumed"},
    {DIST_EV_AMENDED, "arrangement.amended"},
    {DIST_EV_RECALCULATED, "arrangement.recalculated"},
    {DIST_EV_PAID, "arrangement.recalculated"},
    {DIST_EV_MISSED, "arrangement.instalment"},
    {DIST_EV_OPENED, "arrangement.instalment"},
};

/* The event type that says the most about what happened. */
static const char *event_type(unsigned events)
{
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        if (events & kinds[k].ev)
            return kinds[k].type;
    return "arrangement.recalculated";
}

/* Transitions worth a history row of their own (the first is the event). */
static const unsigned transitions =
    DIST_EV_CREATED | DIST_EV_AMENDED | DIST_EV_PAUSED | DIST_EV_RESUMED |
    DIST_EV_ARREARS | DIST_EV_REMINDER | DIST_EV_RECOVERED | DIST_EV_COMPLETED |
    DIST_EV_LAPSED | DIST_EV_ENDED;

typedef struct {
    json_t *arrangements, *claims, *instalments, *shares, *timers;
} rows_t;

static void write_rows(dist_batch_t *b, dist_item_t *it, rows_t *rw)
{
    dist_arr_t *a = &it->a;
    int32_t wake = dist_arr_wake(a, b->today, NULL);
    const char *st = dist_state_name(a->state);

    json_array_append_new(
        rw->arrangements,
        json_pack(
            "{s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:o, s:i, s:o, s:o, "
            "s:i, s:i, s:o, s:o, s:s?, s:o, s:s?, s:o, s:I, s:o}",
            "arrangement_id", it->id, "citizen_ref", it->citizen, "state", st,
            "kind", it->kind[0] ? it->kind : "standard", "instalment_cents",
            (json_int_t)a->amount, "months", it->months, "due_day", a->due_day,
            "first_due_date", jdate(a->first_due), "next_seq", a->next_seq,
            "next_due", jdate(a->next_due), "open_on", jdate(a->open_on),
            "cur_seq", a->cur_seq, "reminders", a->reminders, "last_reminder",
            jdate(a->last_reminder), "end_date", jdate(dist_arr_end_date(a)),
            "ended_reason", a->state == DIST_ST_BEEINDIGD ? it->reason : NULL,
            "review_date", jdate(it->review), "pause_id",
            it->pause_id[0] ? it->pause_id : NULL, "pause_until",
            jdate(a->pause_until), "pause_base_cents",
            (json_int_t)a->pause_base, "pause_keep_end",
            jdate(a->pause_keep_end)));
    for (size_t i = 0; i < a->nclaims; i++) {
        const dist_aclaim_t *c = &a->claims[i];
        brr_cents_t sh = dist_arr_claim_share(a, i);
        if (!it->is_new && !c->dirty && i < it->nclaims_before &&
            it->share_before[i] == sh)
            continue;
        json_array_append_new(
            rw->claims,
            json_pack("{s:s, s:s, s:s, s:I, s:o, s:I, s:b}", "arrangement_id",
                      it->id, "organisation", c->c.organisation, "reference",
                      c->c.reference, "open_cents", (json_int_t)c->c.open_cents,
                      "due_date", jdate(c->c.due_day), "share_cents",
                      (json_int_t)sh, "withdrawn", c->withdrawn));
    }
    for (size_t k = 0; k < a->ninst; k++) {
        const dist_ainst_t *in = &a->inst[k];
        brr_cents_t amount = 0, paid = 0;
        int dirty = in->dirty;
        for (size_t s = 0; s < a->nshares; s++) {
            const dist_ashare_t *sh = &a->shares[s];
            if (sh->seq != in->seq)
                continue;
            amount += sh->cents;
            paid += sh->paid;
            dirty |= sh->dirty;
            if (sh->dirty)
                json_array_append_new(
                    rw->shares,
                    json_pack("{s:s, s:i, s:s, s:s, s:I, s:I}",
                              "arrangement_id", it->id, "seq", sh->seq,
                              "organisation",
                              a->claims[sh->claim].c.organisation, "reference",
                              a->claims[sh->claim].c.reference, "share_cents",
                              (json_int_t)sh->cents, "paid_cents",
                              (json_int_t)sh->paid));
        }
        if (!dirty)
            continue;
        json_array_append_new(
            rw->instalments,
            json_pack("{s:s, s:i, s:o, s:I, s:I, s:s}", "arrangement_id",
                      it->id, "seq", in->seq, "due_date", jdate(in->due),
                      "amount_cents", (json_int_t)amount, "paid_cents",
                      (json_int_t)paid, "state", dist_ist_name(in->state)));
        if (in->fresh)
            dist_batch_history(
                b, it->id, NULL, "instalment.opened", dist_ist_name(in->state),
                json_pack("{s:i, s:o, s:I}", "seq", in->seq, "due_date",
                          jdate(in->due), "amount_cents", (json_int_t)amount));
        else if (in->state != DIST_IST_OPEN) {
            char type[32];
            const char *n = dist_ist_name(in->state);
            size_t l = (size_t)snprintf(type, sizeof(type), "instalment.%s", n);
            for (size_t c = 11; c < l; c++)
                type[c] = (char)tolower((unsigned char)type[c]);
            dist_batch_history(b, it->id, NULL, type, n,
                               json_pack("{s:i, s:o, s:I, s:I}", "seq", in->seq,
                                         "due_date", jdate(in->due),
                                         "amount_cents", (json_int_t)amount,
                                         "paid_cents", (json_int_t)paid));
        }
    }
    json_array_append_new(rw->timers, json_pack("{s:s, s:o}", "arrangement_id",
                                                it->id, "wake", jdate(wake)));
}

/* One organisation's part as its event. */
static void org_event(dist_batch_t *b, dist_item_t *it, const char *org,
                      const char *type, brr_outbox_t *ob)
{
    dist_arr_t *a = &it->a;
    Brr__V1__OrganisationEvent oe = BRR__V1__ORGANISATION_EVENT__INIT;
    Brr__V1__ClaimShare **cs =
        brr_arena_calloc(b->arena, a->nclaims + 1, sizeof(*cs));
    char topic[200], eid[40], due[11] = "", end[11] = "", first[11] = "",
                              resume[11] = "";
    int32_t cur = dist_arr_cur_due(a), last = dist_arr_end_date(a);
    brr_cents_t share = 0, resume_share = 0;
    size_t n = 0;

    for (size_t i = 0; i < a->nclaims; i++) {
        if (strcmp(a->claims[i].c.organisation, org) != 0)
            continue;
        cs[n] = brr_arena_alloc(b->arena, sizeof(Brr__V1__ClaimShare));
        brr__v1__claim_share__init(cs[n]);
        cs[n]->reference = a->claims[i].c.reference;
        cs[n]->open_cents = a->claims[i].c.open_cents;
        cs[n]->share_cents = dist_arr_claim_share(a, i);
        cs[n]->withdrawn = a->claims[i].withdrawn;
        if (it->resume_cents != NULL)
            cs[n]->resume_share_cents = it->resume_cents[i];
        share += cs[n]->share_cents;
        resume_share += cs[n]->resume_share_cents;
        n++;
    }
    if (cur != 0)
        dist_date_format(cur, due);
    if (last != 0)
        dist_date_format(last, end);
    if (a->first_due != 0)
        dist_date_format(a->first_due, first);
    oe.event_type = (char *)type;
    oe.arrangement_id = it->id;
    oe.organisation = (char *)org;
    oe.state = (Brr__V1__ArrangementState)((int)a->state + 1);
    oe.instalment_cents = share;
    oe.months = it->months;
    oe.first_due_date = first;
    oe.claims = cs;
    oe.n_claims = n;
    oe.pause_start = (char *)(it->pause_start ? it->pause_start : "");
    oe.pause_end = (char *)(it->pause_end ? it->pause_end : "");
    oe.submitted_at_ms = it->submitted_at_ms;
    oe.instalment_seq = a->cur_seq;
    oe.due_date = due;
    oe.end_date = end;
    oe.reminder = a->state == DIST_ST_ACHTERSTAND ? a->reminders : 0;
    /* another organisation's report id is none of this one's business */
    oe.report_id = (char *)(it->report_id != NULL && it->reporter != NULL &&
                                    strcmp(it->reporter, org) == 0
                                ? it->report_id
                                : "");
    oe.reason = (char *)(it->reason ? it->reason : "");
    if (it->resume_due != 0) {
        oe.resume_due_date = dist_date_format(it->resume_due, resume);
        oe.resume_instalment_cents = resume_share;
    }
    dist_org_topic(org, topic, sizeof(topic));
    brr_outbox_add(ob, topic, it->citizen, "arrangement", it->id, type,
                   &oe.base, it->traceparent[0] ? it->traceparent : NULL, eid);
    b->events++;
    dist_batch_history(
        b, it->id, eid, "organisation.notified", dist_state_name(a->state),
        json_pack("{s:s, s:s, s:I, s:i, s:s?, s:I}", "organisation", org,
                  "type", type, "share_cents", (json_int_t)share, "reminder",
                  (int)oe.reminder, "resume_due_date",
                  it->resume_due ? resume : NULL, "resume_share_cents",
                  (json_int_t)resume_share));
}

/* The whole arrangement for brr.arrangements.events.v1 (intake's view). */
static void arrangement_event(dist_batch_t *b, dist_item_t *it,
                              const char *type, char (*orgs)[DIST_ORG_MAX + 1],
                              size_t norgs, brr_outbox_t *ob, char *eid)
{
    dist_arr_t *a = &it->a;
    Brr__V1__ArrangementEvent ev = BRR__V1__ARRANGEMENT_EVENT__INIT;
    Brr__V1__OrganisationShare **os =
        brr_arena_calloc(b->arena, norgs + 1, sizeof(*os));
    char due[11] = "", end[11] = "", first[11] = "", review[11] = "",
         resume[11] = "";
    int32_t cur = dist_arr_cur_due(a), last = dist_arr_end_date(a);

    for (size_t j = 0; j < norgs; j++) {
        Brr__V1__ClaimShare **cs =
            brr_arena_calloc(b->arena, a->nclaims + 1, sizeof(*cs));
        size_t n = 0;
        os[j] = brr_arena_alloc(b->arena, sizeof(Brr__V1__OrganisationShare));
        brr__v1__organisation_share__init(os[j]);
        os[j]->organisation = orgs[j];
        for (size_t i = 0; i < a->nclaims; i++) {
            if (strcmp(a->claims[i].c.organisation, orgs[j]) != 0)
                continue;
            cs[n] = brr_arena_alloc(b->arena, sizeof(Brr__V1__ClaimShare));
            brr__v1__claim_share__init(cs[n]);
            cs[n]->reference = a->claims[i].c.reference;
            cs[n]->open_cents = a->claims[i].c.open_cents;
            cs[n]->share_cents = dist_arr_claim_share(a, i);
            cs[n]->withdrawn = a->claims[i].withdrawn;
            if (it->resume_cents != NULL)
                cs[n]->resume_share_cents = it->resume_cents[i];
            os[j]->share_cents += cs[n]->share_cents;
            os[j]->resume_share_cents += cs[n]->resume_share_cents;
            n++;
        }
        os[j]->claims = cs;
        os[j]->n_claims = n;
    }
    if (cur != 0)
        dist_date_format(cur, due);
    if (last != 0)
        dist_date_format(last, end);
    if (a->first_due != 0)
        dist_date_format(a->first_due, first);
    ev.event_type = (char *)type;
    ev.arrangement_id = it->id;
    ev.citizen_ref = it->citizen;
    ev.application_id = (char *)(it->application_id ? it->application_id : "");
    ev.state = (Brr__V1__ArrangementState)((int)a->state + 1);
    ev.instalment_cents = a->amount;
    ev.months = it->months;
    ev.first_due_date = first;
    ev.shares = os;
    ev.n_shares = norgs;
    ev.submitted_at_ms = it->submitted_at_ms;
    ev.end_date = end;
    ev.reminder = a->state == DIST_ST_ACHTERSTAND ? a->reminders : 0;
    ev.reason = (char *)(it->reason ? it->reason : "");
    ev.instalment_seq = a->cur_seq;
    ev.due_date = due;
    ev.due_day = a->due_day;
    ev.paid_instalments = a->paid_count;
    if (it->review != 0)
        ev.review_date = dist_date_format(it->review, review);
    if (it->resume_due != 0)
        ev.resume_due_date = dist_date_format(it->resume_due, resume);
    if (it->ignored_pause != NULL) {
        ev.pause_id = (char *)it->ignored_pause;
        ev.reason = (char *)it->ignored_why;
    }
    brr_outbox_add(ob, DIST_TOPIC_ARRANGEMENTS, it->citizen, "arrangement",
                   it->id, type, &ev.base,
                   it->traceparent[0] ? it->traceparent : NULL, eid);
    b->events++;
}

void dist_batch_notify_all(dist_batch_t *b, dist_item_t *it, const char *type,
                           brr_outbox_t *ob)
{
    dist_arr_t *a = &it->a;
    char(*orgs)[DIST_ORG_MAX + 1];
    size_t norgs = item_orgs(it, &orgs);
    char eid[40] = "";

    arrangement_event(b, it, type, orgs, norgs, ob, eid);
    for (size_t j = 0; j < norgs; j++)
        org_event(b, it, orgs[j], type, ob);
    free(orgs);
    /* what they were told is the new baseline */
    digest_orgs(it);
    it->state_before = (int)a->state;
    a->events &= ~(unsigned)(DIST_EV_PAUSED | DIST_EV_RESUMED);
}

void dist_batch_pause_ignored(dist_batch_t *b, dist_item_t *it,
                              const char *pause_id, const char *why,
                              brr_outbox_t *ob)
{
    char(*orgs)[DIST_ORG_MAX + 1];
    size_t norgs = item_orgs(it, &orgs);
    char eid[40] = "";
    it->ignored_pause = pause_id;
    it->ignored_why = why;
    arrangement_event(b, it, "arrangement.pause_ignored", orgs, norgs, ob, eid);
    it->ignored_pause = it->ignored_why = NULL;
    free(orgs);
}

static int finish_item(dist_batch_t *b, dist_item_t *it, rows_t *rw,
                       brr_outbox_t *ob)
{
    dist_arr_t *a = &it->a;
    char(*orgs)[DIST_ORG_MAX + 1];
    unsigned char *tell;
    size_t norgs, told = 0;
    const char *type;
    char eid[40] = "";
    int rc;

    if ((rc = dist_arr_open_due(a, b->today, b->pol)) < 0)
        return rc;
    if (it->resplit && (rc = dist_arr_resplit(a, b->pol)) != 0)
        return rc;
    if ((rc = dist_arr_step(a, b->today, NULL)) != 0)
        return rc;
    type = event_type(a->events);
    /* the schedule's own history first, then transitions, then who was
     * told: the order in which things happened */
    write_rows(b, it, rw);

    norgs = item_orgs(it, &orgs);
    tell = brr_arena_calloc(b->arena, norgs + 1, 1);
    for (size_t j = 0; j < norgs; j++) {
        uint64_t now = dist_arr_org_digest(a, orgs[j]);
        size_t k = 0;
        while (k < it->norgs && strcmp(it->orgs[k], orgs[j]) != 0)
            k++;
        if (it->is_new || k == it->norgs || it->digest[k] != now) {
            tell[j] = 1;
            told++;
        }
    }
    if (told > 0 || (int)a->state != it->state_before ||
        (a->events & transitions))
        arrangement_event(b, it, type, orgs, norgs, ob, eid);
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        unsigned ev = kinds[k].ev;
        if (!(a->events & ev & transitions))
            continue;
        dist_batch_history(
            b, it->id, eid[0] && strcmp(kinds[k].type, type) == 0 ? eid : NULL,
            kinds[k].type, dist_state_name(a->state),
            json_pack("{s:s?, s:s?, s:i, s:I, s:s?}", "application_id",
                      it->application_id, "report_id", it->report_id,
                      "reminder", a->reminders, "open_cents",
                      (json_int_t)dist_arr_open_total(a), "reason",
                      a->state == DIST_ST_BEEINDIGD ? it->reason : NULL));
    }
    for (size_t j = 0; j < norgs; j++)
        if (tell[j])
            org_event(b, it, orgs[j], type, ob);
    free(orgs);
    return 0;
}

int dist_batch_finish(dist_batch_t *b, brr_pg_pipe_t *pp, brr_outbox_t *ob)
{
    rows_t rw = {json_array(), json_array(), json_array(), json_array(),
                 json_array()};
    int rc = 0;

    for (size_t i = 0; i < b->nitems && rc == 0; i++)
        if (b->items[i]->touched)
            rc = finish_item(b, b->items[i], &rw, ob);
    if (rc == 0) {
        brr_pg_pipe_add_json(
            pp,
            "INSERT INTO distribution.arrangements (arrangement_id, "
            "citizen_ref, state, kind, instalment_cents, months, due_day, "
            "first_due_date, next_seq, next_due, open_on, cur_seq, "
            "reminders, last_reminder, end_date, ended_reason, "
            "review_date, pause_id, pause_until, pause_base_cents, "
            "pause_keep_end) SELECT * FROM jsonb_to_recordset($1::jsonb) "
            "AS x(arrangement_id uuid, citizen_ref uuid, state text, kind "
            "text, instalment_cents bigint, months int, due_day int, "
            "first_due_date date, next_seq int, next_due date, open_on "
            "date, cur_seq int, reminders int, last_reminder date, "
            "end_date date, ended_reason text, review_date date, pause_id "
            "uuid, pause_until date, pause_base_cents bigint, "
            "pause_keep_end date) ON "
            "CONFLICT (arrangement_id) DO UPDATE SET review_date = "
            "coalesce(excluded.review_date, arrangements.review_date), "
            "state = excluded.state, instalment_cents = "
            "excluded.instalment_cents, months = excluded.months, "
            "next_seq = excluded.next_seq, next_due = excluded.next_due, "
            "open_on = excluded.open_on, cur_seq = excluded.cur_seq, "
            "reminders = excluded.reminders, last_reminder = "
            "excluded.last_reminder, end_date = excluded.end_date, "
            "ended_reason = coalesce(excluded.ended_reason, "
            "arrangements.ended_reason), pause_id = excluded.pause_id, "
            "pause_until = excluded.pause_until, pause_base_cents = "
            "excluded.pause_base_cents, pause_keep_end = "
            "excluded.pause_keep_end, version = arrangements.version "
            "+ 1, updated_at = now()",
            rw.arrangements);
        brr_pg_pipe_add_json(
            pp,
            "INSERT INTO distribution.claims (arrangement_id, "
            "organisation, reference, open_cents, due_date, share_cents, "
            "withdrawn) SELECT * FROM jsonb_to_recordset($1::jsonb) AS "
            "x(arrangement_id uuid, organisation text, reference text, "
            "open_cents bigint, due_date date, share_cents bigint, "
            "withdrawn boolean) ON CONFLICT (arrangement_id, "
            "organisation, reference) DO UPDATE SET open_cents = "
            "excluded.open_cents, share_cents = excluded.share_cents, "
            "withdrawn = excluded.withdrawn, updated_at = now()",
            rw.claims);
        brr_pg_pipe_add_json(
            pp,
            "INSERT INTO distribution.instalments (arrangement_id, seq, "
            "due_date, amount_cents, paid_cents, state) SELECT * FROM "
            "jsonb_to_recordset($1::jsonb) AS x(arrangement_id uuid, seq "
            "int, due_date date, amount_cents bigint, paid_cents bigint, "
            "state text) ON CONFLICT (arrangement_id, seq) DO UPDATE SET "
            "amount_cents = excluded.amount_cents, paid_cents = "
            "excluded.paid_cents, state = excluded.state, updated_at = "
            "now()",
            rw.instalments);
        brr_pg_pipe_add_json(
            pp,
            "INSERT INTO distribution.instalment_shares (arrangement_id, "
            "seq, organisation, reference, share_cents, paid_cents) "
            "SELECT * FROM jsonb_to_recordset($1::jsonb) AS "
            "x(arrangement_id uuid, seq int, organisation text, reference "
            "text, share_cents bigint, paid_cents bigint) ON CONFLICT "
            "(arrangement_id, seq, organisation, reference) DO UPDATE SET "
            "share_cents = excluded.share_cents, paid_cents = "
            "excluded.paid_cents",
            rw.shares);
        brr_pg_pipe_add_json(
            pp,
            "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS "
            "x(arrangement_id uuid, wake date)), d AS (DELETE FROM "
            "distribution.timers t USING x WHERE t.arrangement_id = "
            "x.arrangement_id AND x.wake IS NULL) INSERT INTO "
            "distribution.timers (arrangement_id, due_at) SELECT "
            "arrangement_id, wake::timestamp AT TIME ZONE "
            "'Europe/Amsterdam' FROM x WHERE wake IS NOT NULL ON CONFLICT "
            "(arrangement_id) DO UPDATE SET due_at = excluded.due_at",
            rw.timers);
        brr_pg_pipe_add_json(
            pp,
            "INSERT INTO distribution.applied_reports (organisation, "
            "report_id, arrangement_id, kind, outcome, reason) SELECT * "
            "FROM jsonb_to_recordset($1::jsonb) AS x(organisation text, "
            "report_id text, arrangement_id uuid, kind text, outcome "
            "text, reason text) ON CONFLICT DO NOTHING",
            b->reports);
        brr_pg_pipe_add_json(
            pp,
            "INSERT INTO distribution.history (arrangement_id, event_id, "
            "event_type, state, detail) SELECT * FROM "
            "jsonb_to_recordset($1::jsonb) AS x(arrangement_id uuid, "
            "event_id uuid, event_type text, state text, detail jsonb)",
            b->history);
    }
    json_decref(rw.arrangements);
    json_decref(rw.claims);
    json_decref(rw.instalments);
    json_decref(rw.shares);
    json_decref(rw.timers);
    return rc;
}
