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
    {"BRR_CONNECTOR_OIN", BRR_CONF_STRING, &oin, "00000099000000000000", 0,
     0, 0, "OIN of the sending system (CloudEvent source)"},
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

/* The organisation's part as the CloudEvent's data: its claims, share,
 * schedule and status; nothing about the citizen. */
static json_t *event_data(const Brr__V1__OrganisationEvent *oe)
{
    json_t *claims = json_array();
    json_t *d;
    for (size_t i = 0; i < oe->n_claims; i++)
        json_array_append_new(
            claims, json_pack("{s:s, s:I, s:I}", "reference",
                              oe->claims[i]->reference, "open_cents",
                              (json_int_t)oe->claims[i]->open_cents,
                              "share_cents",
                              (json_int_t)oe->claims[i]->share_cents));
    d = json_pack("{s:s, s:s, s:s, s:I, s:i, s:o}", "arrangement_id",
                  oe->arrangement_id, "organisation", oe->organisation,
                  "status", state_name(oe->state), "instalment_cents",
                  (json_int_t)oe->instalment_cents, "months", oe->months,
                  "claims", claims);
    if (oe->first_due_date[0])
        json_object_set_new(d, "first_due_date",
                            json_string(oe->first_due_date));
    if (oe->pause_start[0])
        json_object_set_new(d, "pause",
                            json_pack("{s:s, s:s}", "start", oe->pause_start,
                                      "end", oe->pause_end));
    return d;
}

/* The key's counters move in the same statement as the row they count;
 * an event already queued (the ON CONFLICT guard) takes no sequence number,
 * so sequences stay gapless.  A key that had nothing pending is due now. */
static const char enqueue_sql[] =
    "WITH s AS (INSERT INTO connector.sequences AS q (organisation, "
    "arrangement_id, next_seq, pending, due_at) SELECT $2, $3, 2, 1, now() "
    "WHERE NOT EXISTS (SELECT 1 FROM connector.deliveries WHERE "
    "organisation = $2 AND event_id = $1::uuid) ON CONFLICT (organisation, "
    "arrangement_id) DO UPDATE SET next_seq = q.next_seq + 1, pending = "
    "q.pending + 1, due_at = CASE WHEN q.pending = 0 THEN now() ELSE "
    "q.due_at END RETURNING next_seq - 1 AS seq) "
    "INSERT INTO connector.deliveries (event_id, organisation, "
    "arrangement_id, citizen_ref, sequence, type, data, event_time, "
    "submitted_at_ms, traceparent) SELECT $1::uuid, $2, $3, $4, s.seq, $5, "
    "$6::jsonb, $7::timestamptz, $8::bigint, nullif($9, '') FROM s "
    "ON CONFLICT (organisation, event_id) DO NOTHING";

static int conn_apply(void *arg, brr_pg_t *pg, brr_pg_pipe_t *pp,
                      brr_msg_t *msgs, size_t n, brr_outbox_t *ob,
                      brr_arena_t *a)
{
    (void)arg;
    (void)pg;
    (void)ob;
    for (size_t i = 0; i < n; i++) {
        brr_msg_t *m = &msgs[i];
        Brr__V1__OrganisationEvent *oe =
            brr__v1__organisation_event__unpack(brr_arena_protobuf(a), m->len,
                                                m->value);
        char time[64], sub[24];
        json_t *data;
        char *dtext;
        const char *p[9];
        if (oe == NULL || oe->arrangement_id[0] == '\0' ||
            oe->organisation[0] == '\0') {
            m->rc = BRR_EDECODE;
            m->error = "could not decode OrganisationEvent";
            continue;
        }
        if (brr_kafka_header(m->rkm, "ce_time", time, sizeof(time)) != 0)
            brr_rfc3339_now(time, sizeof(time));
        data = event_data(oe);
        dtext = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(data);
        snprintf(sub, sizeof(sub), "%lld", (long long)oe->submitted_at_ms);
        p[0] = m->event_id;
        p[1] = oe->organisation;
        p[2] = oe->arrangement_id;
        p[3] = m->key;
        p[4] = m->type;
        p[5] = dtext;
        p[6] = time;
        p[7] = sub;
        p[8] = m->traceparent ? m->traceparent : "";
        brr_pg_pipe_add(pp, enqueue_sql, 9, p, NULL, NULL);
        free(dtext);
    }
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
        brr_log_error("could not start the dispatcher", "err",
                      brr_strerror(rc), NULL);
        return 1;
    }
    return brr_service_run(&svc);
}
