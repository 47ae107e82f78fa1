/*
 * brr-connector: delivers each organisation's events to that
 * organisation's endpoint (ARCHITECTURE §4).
 *
 * Consuming and delivering are decoupled by a durable queue in Postgres:
 * an event consumed from brr.organisations.<org>.v1 becomes a PENDING row
 * (with the next sequence number for its organisation and arrangement) in
 * the same transaction as the inbox entry, and only then is the offset
 * stored.  The dispatcher (dispatch.c) sends from that queue: an
 * organisation that is down for days holds up only its own rows, never
 * the Kafka partition nor another organisation.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "brr/v1/arrangement.pb-c.h"
#include "connector.h"
#include "err.h"
#include "log.h"
#include "service.h"

static char *oin;
static int64_t max_age_s, max_inflight, refresh_ms;

static const brr_config_entry_t config[] = {
    {"BRR_CONNECTOR_OIN", BRR_CONF_STRING, &oin, "00000099000000000000", 0, 0,
     0, "OIN of the sending system (CloudEvent source)"},
    {"BRR_CONNECTOR_MAX_AGE_S", BRR_CONF_INT, &max_age_s, "259200", 60,
     31536000, 0, "park an event undelivered for this long (72 h)"},
    {"BRR_CONNECTOR_MAX_INFLIGHT", BRR_CONF_INT, &max_inflight, "1024", 1,
     100000, 0, "deliveries in flight over all organisations"},
    {"BRR_CONNECTOR_REGISTRY_REFRESH_MS", BRR_CONF_INT, &refresh_ms, "5000",
     100, 600000, 0, "how often the organisation registry is re-read"},
    {0}};

static const char *state_name(Brr__V1__ArrangementState s)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &brr__v1__arrangement_state__descriptor, (int)s);
    return v ? v->name : "STATE_UNSPECIFIED";
}

/* A text member when s is not empty; *bad when s is not UTF-8. */
static void set_text(json_t *d, const char *key, const char *s, int *bad)
{
    json_t *v;
    if (s == NULL || s[0] == '\0')
        return;
    if ((v = json_string(s)) == NULL)
        *bad = 1;
    else
        json_object_set_new(d, key, v);
}

/* The organisation's part as the CloudEvent's data: its claims (balance,
 * share, withdrawn), its share per instalment, the schedule (current
 * instalment, its due date, the projected end), the status with the
 * reminder in arrears, a pause (with the first instalment after it and the
 * organisation's share of it), and the answer to its own report (id,
 * refusal or ending reason); nothing about the citizen.  NULL when a text
 * is not UTF-8. */
static json_t *event_data(const Brr__V1__OrganisationEvent *oe)
{
    json_t *claims = json_array();
    json_t *d;
    int bad = 0;
    for (size_t i = 0; i < oe->n_claims; i++)
        json_array_append_new(
            claims,
            json_pack("{s:s, s:I, s:I, s:b}", "reference",
                      oe->claims[i]->reference, "open_cents",
                      (json_int_t)oe->claims[i]->open_cents, "share_cents",
                      (json_int_t)oe->claims[i]->share_cents, "withdrawn",
                      (int)oe->claims[i]->withdrawn));
    d = json_pack("{s:s, s:s, s:s, s:I, s:i, s:o, s:i, s:i}", "arrangement_id",
                  oe->arrangement_id, "organisation", oe->organisation,
                  "status", state_name(oe->state), "instalment_cents",
                  (json_int_t)oe->instalment_cents, "months", oe->months,
                  "claims", claims, "instalment_seq", oe->instalment_seq,
                  "reminder", oe->reminder);
    if (d == NULL)
        return NULL;
    set_text(d, "first_due_date", oe->first_due_date, &bad);
    set_text(d, "due_date", oe->due_date, &bad);
    set_text(d, "end_date", oe->end_date, &bad);
    set_text(d, "report_id", oe->report_id, &bad);
    set_text(d, "reason", oe->reason, &bad);
    if (oe->pause_start[0]) {
        json_t *p = json_pack("{s:s, s:s}", "start", oe->pause_start, "end",
                              oe->pause_end);
        /* the new schedule: the first instalment after the pause and this
         * organisation's share of it, per claim */
        if (p != NULL && oe->resume_due_date[0]) {
            json_t *rc = json_array();
            for (size_t i = 0; i < oe->n_claims; i++)
                json_array_append_new(
                    rc,
                    json_pack("{s:s, s:I}", "reference",
                              oe->claims[i]->reference, "share_cents",
                              (json_int_t)oe->claims[i]->resume_share_cents));
            json_object_set_new(
                p, "resume",
                json_pack("{s:s, s:I, s:o}", "due_date", oe->resume_due_date,
                          "instalment_cents",
                          (json_int_t)oe->resume_instalment_cents, "claims",
                          rc));
        }
        if (p == NULL)
            bad = 1;
        else
            json_object_set_new(d, "pause", p);
    }
    if (bad) {
        json_decref(d);
        return NULL;
    }
    return d;
}

/* The whole batch in one statement (one parse, one plan, one round trip):
 * the key's counters move in the same statement as the rows they count.
 * Events already queued (redelivered after a crash between commit and
 * offset store) take no sequence number, so sequences stay gapless; the
 * events of one key take consecutive numbers in the order consumed ($1's
 * "i").  A key that had nothing pending is due now.  Keys are locked in
 * key order, so this cannot deadlock with the dispatcher's updates. */
static const char enqueue_sql[] =
    "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(i int, "
    "event_id uuid, organisation text, arrangement_id text, citizen_ref "
    "text, type text, data jsonb, event_time timestamptz, submitted_at_ms "
    "bigint, traceparent text)), "
    "n AS (SELECT DISTINCT ON (x.organisation, x.event_id) x.* FROM x "
    "WHERE NOT EXISTS (SELECT 1 FROM connector.deliveries d WHERE "
    "d.organisation = x.organisation AND d.event_id = x.event_id) "
    "ORDER BY x.organisation, x.event_id, x.i), "
    "r AS (SELECT n.*, row_number() OVER w AS k, count(*) OVER w AS cnt "
    "FROM n WINDOW w AS (PARTITION BY organisation, arrangement_id ORDER BY "
    "i ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)), "
    "s AS (INSERT INTO connector.sequences AS q (organisation, "
    "arrangement_id, next_seq, pending, due_at) SELECT organisation, "
    "arrangement_id, 1 + max(cnt), max(cnt), now() FROM r GROUP BY "
    "organisation, arrangement_id ORDER BY organisation, arrangement_id "
    "ON CONFLICT (organisation, arrangement_id) DO UPDATE SET next_seq = "
    "q.next_seq + excluded.pending, pending = q.pending + excluded.pending, "
    "due_at = CASE WHEN q.pending = 0 THEN now() ELSE q.due_at END "
    "RETURNING organisation, arrangement_id, next_seq) "
    "INSERT INTO connector.deliveries (event_id, organisation, "
    "arrangement_id, citizen_ref, sequence, type, data, event_time, "
    "submitted_at_ms, traceparent) SELECT r.event_id, r.organisation, "
    "r.arrangement_id, r.citizen_ref, s.next_seq - r.cnt + r.k - 1, r.type, "
    "r.data, r.event_time, r.submitted_at_ms, nullif(r.traceparent, '') "
    "FROM r JOIN s USING (organisation, arrangement_id) ORDER BY r.i "
    "ON CONFLICT (organisation, event_id) DO NOTHING";

static int conn_apply(void *arg, brr_pg_t *pg, brr_pg_pipe_t *pp,
                      brr_msg_t *msgs, size_t n, brr_outbox_t *ob,
                      brr_arena_t *a)
{
    json_t *rows = json_array();
    (void)arg;
    (void)pg;
    (void)ob;
    for (size_t i = 0; i < n; i++) {
        brr_msg_t *m = &msgs[i];
        Brr__V1__OrganisationEvent *oe = brr__v1__organisation_event__unpack(
            brr_arena_protobuf(a), m->len, m->value);
        char time[64];
        json_t *row;
        if (oe == NULL || oe->arrangement_id[0] == '\0' ||
            oe->organisation[0] == '\0') {
            m->rc = BRR_EDECODE;
            m->error = "could not decode OrganisationEvent";
            continue;
        }
        if (brr_kafka_header(m->rkm, "ce_time", time, sizeof(time)) != 0)
            brr_rfc3339_now(time, sizeof(time));
        row = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:s}",
                        "i", (json_int_t)i, "event_id", m->event_id,
                        "organisation", oe->organisation, "arrangement_id",
                        oe->arrangement_id, "citizen_ref", m->key, "type",
                        m->type, "data", event_data(oe), "event_time", time,
                        "submitted_at_ms", (json_int_t)oe->submitted_at_ms,
                        "traceparent", m->traceparent ? m->traceparent : "");
        if (row == NULL) { /* a string that is not UTF-8 */
            m->rc = BRR_EDECODE;
            m->error = "OrganisationEvent holds text that is not UTF-8";
            continue;
        }
        json_array_append_new(rows, row);
    }
    if (json_array_size(rows) > 0) {
        char *doc = json_dumps(rows, JSON_COMPACT);
        const char *p[1] = {doc};
        if (doc == NULL)
            abort();
        brr_pg_pipe_add(pp, enqueue_sql, 1, p, NULL, NULL);
        free(doc);
    }
    json_decref(rows);
    return 0;
}

static void on_stop(brr_service_t *s)
{
    (void)s;
    conn_dispatch_stop();
}

static const char *const topics[] = {"^brr\\.organisations\\..*\\.v1$"};

int main(int argc, char **argv)
{
    brr_service_t svc;
    brr_service_def_t def = {.name = "brr-connector",
                             .schema = "connector",
                             .source = "/brr/connector",
                             .admin_port = 8085,
                             .topics = topics,
                             .ntopics = 1,
                             .apply = conn_apply,
                             .config = config,
                             .committed = conn_dispatch_committed};
    conn_dispatch_conf_t dc;
    int rc;

    signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(2) */
    brr_service_init(&svc, &def, argc, argv);
    dc.oin = oin;
    dc.max_age_s = max_age_s;
    dc.max_inflight = max_inflight;
    dc.registry_refresh_ms = refresh_ms;
    svc.on_stop = on_stop;
    if ((rc = conn_dispatch_start(&svc, &dc)) != 0) {
        brr_log_error("could not start the dispatcher", "err", brr_strerror(rc),
                      NULL);
        return 1;
    }
    return brr_service_run(&svc);
}
