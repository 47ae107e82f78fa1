/*
 * brr-intake: the only public HTTP surface.  Accepts applications and pause
 * requests from the web-form back ends (api.c), keeps the BSN encrypted and
 * pseudonymised and contact details sealed (bsn.c), and consumes
 * brr.arrangements.events.v1 and brr.pause.events.v1 to keep each
 * application's status and the citizen's arrangement view current.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "brr/v1/arrangement.pb-c.h"
#include "brr/v1/pause.pb-c.h"
#include "err.h"
#include "log.h"
#include "service.h"
#include "uuid.h"

#define TOPIC_ARRANGEMENTS "brr.arrangements.events.v1"
#define TOPIC_PAUSES "brr.pause.events.v1"

static char *listen_addr, *cert, *key, *channel_ca, *org_ca, *channels,
    *counsellors, *bsn_key, *bsn_hmac_key, *bsn_key_id, *bsn_old_keys;
static int64_t max_body, flush_max, committers, rate, burst, req_timeout,
    idle_timeout, handshake_timeout;
static brr_service_t svc;

static const brr_config_entry_t config[] = {
    {"BRR_INTAKE_LISTEN", BRR_CONF_STRING, &listen_addr, "127.0.0.1:8443", 0, 0,
     0, "address of the API (host:port)"},
    {"BRR_INTAKE_CERT", BRR_CONF_STRING, &cert, NULL, 0, 0, 0,
     "server certificate (PEM)"},
    {"BRR_INTAKE_KEY", BRR_CONF_STRING, &key, NULL, 0, 0, 0,
     "server key (PEM)"},
    {"BRR_INTAKE_CHANNEL_CA", BRR_CONF_STRING, &channel_ca, NULL, 0, 0, 0,
     "CA(s) that issue the channels' client certificates (PEM)"},
    {"BRR_INTAKE_ORG_CA", BRR_CONF_STRING, &org_ca, NULL, 0, 0, 0,
     "CA(s) that issue the organisations' client certificates (PEM); "
     "not the channel CA"},
    {"BRR_INTAKE_CHANNELS", BRR_CONF_STRING, &channels, "CJIB,BELASTINGDIENST",
     0, 0, 0, "client certificate CNs accepted as channels"},
    {"BRR_INTAKE_COUNSELLOR_CHANNELS", BRR_CONF_STRING, &counsellors,
     "SCHULDHULP", 0, 0, 0,
     "channels of debt counsellors: pause requests for any arrangement, "
     "no applications (a name must be in BRR_INTAKE_CHANNELS too)"},
    {"BRR_BSN_KEY_FILE", BRR_CONF_STRING, &bsn_key, NULL, 0, 0, 0,
     "32-byte AES-256-GCM key for the BSN"},
    {"BRR_BSN_HMAC_KEY_FILE", BRR_CONF_STRING, &bsn_hmac_key, NULL, 0, 0, 0,
     "32-byte HMAC key for the BSN pseudonym"},
    {"BRR_BSN_KEY_ID", BRR_CONF_STRING, &bsn_key_id, "k1", 0, 0, 0,
     "id of the BSN key (stored with each ciphertext)"},
    {"BRR_BSN_PREVIOUS_KEYS", BRR_CONF_STRING, &bsn_old_keys, "", 0, 0, 0,
     "earlier keys, read only: id=file[,id=file] (key rotation)"},
    {"BRR_INTAKE_MAX_BODY", BRR_CONF_INT, &max_body, "65536", 1024, 1048576, 0,
     "largest request body in bytes"},
    {"BRR_INTAKE_FLUSH_MAX", BRR_CONF_INT, &flush_max, "1000", 1, 10000, 0,
     "applications committed in one transaction at most"},
    {"BRR_INTAKE_COMMITTERS", BRR_CONF_INT, &committers, "2", 1, 8, 0,
     "batches committing at once, each on its own connection"},
    {"BRR_INTAKE_RATE", BRR_CONF_INT, &rate, "10000", 1, 1000000, 0,
     "requests per second per channel (token bucket)"},
    {"BRR_INTAKE_BURST", BRR_CONF_INT, &burst, "20000", 1, 10000000, 0,
     "requests a channel may send at once above its rate"},
    {"BRR_INTAKE_REQUEST_TIMEOUT_MS", BRR_CONF_INT, &req_timeout, "10000", 100,
     600000, 0, "HTTP/1.1: time to send a request's headers and body"},
    {"BRR_INTAKE_IDLE_TIMEOUT_MS", BRR_CONF_INT, &idle_timeout, "10000", 100,
     600000, 0, "HTTP/2: an idle connection is closed after this"},
    {"BRR_INTAKE_HANDSHAKE_TIMEOUT_MS", BRR_CONF_INT, &handshake_timeout,
     "10000", 100, 600000, 0, "time to complete the TLS handshake"},
    {0}};

static int is_uuid(const char *s)
{
    brr_uuid_t u;
    return s != NULL && brr_uuid_parse(s, &u) == 0;
}

static json_t *shares_json(const Brr__V1__ArrangementEvent *ev)
{
    json_t *orgs = json_array();
    for (size_t i = 0; i < ev->n_shares; i++) {
        const Brr__V1__OrganisationShare *sh = ev->shares[i];
        json_t *claims = json_array();
        for (size_t c = 0; c < sh->n_claims; c++)
            json_array_append_new(
                claims,
                json_pack("{s:s, s:I, s:I}", "reference",
                          sh->claims[c]->reference, "open_cents",
                          (json_int_t)sh->claims[c]->open_cents, "share_cents",
                          (json_int_t)sh->claims[c]->share_cents));
        json_array_append_new(orgs, json_pack("{s:s, s:I, s:o}", "organisation",
                                              sh->organisation, "share_cents",
                                              (json_int_t)sh->share_cents,
                                              "claims", claims));
    }
    return orgs;
}

/* One ArrangementEvent: a status row, a view row and a history row. */
static int add_arrangement(brr_msg_t *m, brr_arena_t *a, json_t *rows,
                           json_t *hist)
{
    Brr__V1__ArrangementEvent *ev = brr__v1__arrangement_event__unpack(
        brr_arena_protobuf(a), m->len, m->value);
    const ProtobufCEnumValue *st;
    json_t *reasons;
    const char *arr;
    if (ev == NULL)
        return BRR_EDECODE;
    st = protobuf_c_enum_descriptor_get_value(
        &brr__v1__arrangement_state__descriptor, (int)ev->state);
    reasons = json_array();
    for (size_t r = 0; r < ev->n_reasons; r++)
        json_array_append_new(reasons, json_string(ev->reasons[r]));
    arr = is_uuid(ev->arrangement_id) ? ev->arrangement_id : NULL;
    json_array_append_new(
        rows, json_pack("{s:s?, s:s?, s:s?, s:s, s:s, s:O, s:I, s:i, s:s, s:o}",
                        "application_id",
                        is_uuid(ev->application_id) ? ev->application_id : NULL,
                        "arrangement_id", arr, "citizen_ref",
                        is_uuid(ev->citizen_ref) ? ev->citizen_ref : NULL,
                        "state", st ? st->name : "STATE_UNSPECIFIED",
                        "event_type", ev->event_type, "reasons", reasons,
                        "instalment_cents", (json_int_t)ev->instalment_cents,
                        "months", ev->months, "first_due_date",
                        ev->first_due_date, "organisations", shares_json(ev)));
    json_object_set_new(json_array_get(rows, json_array_size(rows) - 1),
                        "end_date", json_string(ev->end_date));
    json_object_set_new(json_array_get(rows, json_array_size(rows) - 1),
                        "review_date", json_string(ev->review_date));
    if (arr != NULL)
        json_array_append_new(
            hist, json_pack("{s:s, s:s, s:s, s:s, s:{s:o, s:I, s:i, s:s?}}",
                            "arrangement_id", arr, "source", "arrangement",
                            "event_type", ev->event_type, "state",
                            st ? st->name : "STATE_UNSPECIFIED", "detail",
                            "reasons", reasons, "instalment_cents",
                            (json_int_t)ev->instalment_cents, "months",
                            ev->months, "application_id",
                            ev->application_id[0] ? ev->application_id : NULL));
    else
        json_decref(reasons);
    return 0;
}

/* One PauseEvent: the pause's row and a history row.  A refused request
 * becomes a pause in state "refused" with the limit and the figures, a
 * pause brr-distribution could not apply one in state "ignored" with the
 * reason; a refused cancel changes no pause (history only). */
static int add_pause(brr_msg_t *m, brr_arena_t *a, json_t *pauses, json_t *hist)
{
    Brr__V1__PauseEvent *ev =
        brr__v1__pause_event__unpack(brr_arena_protobuf(a), m->len, m->value);
    const char *state;
    json_t *refusal = NULL;
    if (ev == NULL)
        return BRR_EDECODE;
    if (!is_uuid(ev->arrangement_id))
        return 0; /* not about an arrangement we can show */
    state = strncmp(ev->event_type, "pause.", 6) == 0 ? ev->event_type + 6
                                                      : ev->event_type;
    /* refused: the limit and the figures; ignored (started too late:
     * the arrangement was in arrears or closed): why it was not applied */
    if (strcmp(state, "refused") == 0 || strcmp(state, "ignored") == 0)
        refusal = json_pack(
            "{s:s, s:I, s:I, s:s, s:s}", "limit", ev->limit, "allowed",
            (json_int_t)ev->limit_allowed, "asked", (json_int_t)ev->limit_asked,
            "unit", ev->limit_unit, "detail",
            ev->n_refusals > 0 && ev->refusals[0] ? ev->refusals[0] : "");
    if (is_uuid(ev->pause_id) && strcmp(state, "cancel_refused") != 0)
        json_array_append_new(
            pauses, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:o?, s:s?}",
                              "pause_id", ev->pause_id, "arrangement_id",
                              ev->arrangement_id, "state", state, "start_date",
                              ev->start_date[0] ? ev->start_date : NULL,
                              "end_date", ev->end_date[0] ? ev->end_date : NULL,
                              "refusal", refusal ? json_incref(refusal) : NULL,
                              "effect", ev->effect[0] ? ev->effect : NULL));
    json_array_append_new(
        hist,
        json_pack("{s:s, s:s, s:s, s:n, s:{s:s?, s:s?, s:s?, s:o?}}",
                  "arrangement_id", ev->arrangement_id, "source", "pause",
                  "event_type", ev->event_type, "state", "detail", "pause_id",
                  ev->pause_id[0] ? ev->pause_id : NULL, "start_date",
                  ev->start_date[0] ? ev->start_date : NULL, "end_date",
                  ev->end_date[0] ? ev->end_date : NULL, "refusal", refusal));
    return 0;
}

/* The read model: each application's status, the citizen's arrangement
 * (terms per organisation, schedule), its pauses and its history.  One
 * statement per table per batch. */
static int intake_apply(void *arg, brr_pg_t *pg, brr_pg_pipe_t *pp,
                        brr_msg_t *msgs, size_t n, brr_outbox_t *ob,
                        brr_arena_t *a)
{
    json_t *rows = json_array(), *pauses = json_array(), *hist = json_array();
    (void)arg;
    (void)pg;
    (void)ob;
    for (size_t i = 0; i < n; i++) {
        int pause = strcmp(msgs[i].topic, TOPIC_PAUSES) == 0;
        int rc = pause ? add_pause(&msgs[i], a, pauses, hist)
                       : add_arrangement(&msgs[i], a, rows, hist);
        if (rc != 0) {
            msgs[i].rc = rc;
            msgs[i].error = pause ? "could not decode PauseEvent"
                                  : "could not decode ArrangementEvent";
        }
    }
    brr_pg_pipe_add_json(
        pp,
        "UPDATE intake.applications a SET status = x.state, "
        "arrangement_id = x.arrangement_id, reasons = x.reasons, "
        "updated_at = now() FROM jsonb_to_recordset($1::jsonb) AS "
        "x(application_id uuid, arrangement_id uuid, state text, "
        "reasons jsonb) WHERE a.application_id = x.application_id",
        rows);
    brr_pg_pipe_add_json(
        pp,
        "INSERT INTO intake.arrangements_view (arrangement_id, citizen_ref, "
        "state, body) SELECT DISTINCT ON (arrangement_id) arrangement_id, "
        "citizen_ref, state, jsonb_build_object('instalment_cents', "
        "instalment_cents, 'months', months, 'first_due_date', "
        "first_due_date, 'organisations', organisations, 'reasons', "
        "reasons, 'event_type', event_type, 'end_date', end_date, "
        "'review_date', review_date) FROM ROWS FROM (jsonb_to_recordset("
        "$1::jsonb) AS (arrangement_id uuid, citizen_ref uuid, state text, "
        "event_type text, instalment_cents bigint, months int, "
        "first_due_date text, organisations jsonb, reasons jsonb, end_date "
        "text, review_date text)) WITH ORDINALITY AS x(arrangement_id, "
        "citizen_ref, state, event_type, instalment_cents, months, "
        "first_due_date, organisations, reasons, end_date, review_date, o) "
        "WHERE arrangement_id IS NOT NULL AND "
        "citizen_ref IS NOT NULL ORDER BY arrangement_id, o DESC "
        "ON CONFLICT (arrangement_id) DO UPDATE SET state = excluded.state, "
        "body = excluded.body, version = intake.arrangements_view.version "
        "+ 1, updated_at = now()",
        rows);
    brr_pg_pipe_add_json(
        pp,
        "INSERT INTO intake.arrangement_pauses (pause_id, "
        "arrangement_id, state, start_date, end_date, refusal, "
        "effect) SELECT DISTINCT ON (pause_id) pause_id, "
        "arrangement_id, state, start_date, end_date, refusal, effect "
        "FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (pause_id "
        "text, arrangement_id uuid, state text, start_date text, "
        "end_date text, refusal jsonb, effect text)) WITH ORDINALITY "
        "AS x(pause_id, arrangement_id, state, start_date, end_date, "
        "refusal, effect, o) ORDER BY pause_id, o DESC ON CONFLICT "
        "(pause_id) DO UPDATE SET state = excluded.state, start_date "
        "= coalesce(excluded.start_date, "
        "intake.arrangement_pauses.start_date), end_date = "
        "coalesce(excluded.end_date, "
        "intake.arrangement_pauses.end_date), refusal = "
        "coalesce(excluded.refusal, intake.arrangement_pauses.refusal), "
        "effect = coalesce(excluded.effect, "
        "intake.arrangement_pauses.effect), updated_at = now()",
        pauses);
    brr_pg_pipe_add_json(
        pp,
        "INSERT INTO intake.arrangement_history (arrangement_id, "
        "source, event_type, state, detail) SELECT arrangement_id, "
        "source, event_type, state, coalesce(detail, '{}') FROM ROWS "
        "FROM (jsonb_to_recordset($1::jsonb) AS (arrangement_id uuid, "
        "source text, event_type text, state text, detail jsonb)) "
        "WITH ORDINALITY AS x(arrangement_id, source, event_type, "
        "state, detail, o) ORDER BY o",
        hist);
    json_decref(rows);
    json_decref(pauses);
    json_decref(hist);
    return 0;
}

static void on_stop(brr_service_t *s)
{
    (void)s;
    intake_api_stop();
}

static const char *const topics[] = {TOPIC_ARRANGEMENTS, TOPIC_PAUSES};

int main(int argc, char **argv)
{
    brr_service_def_t def = {.name = "brr-intake",
                             .schema = "intake",
                             .source = "/brr/intake",
                             .admin_port = 8081,
                             .topics = topics,
                             .ntopics = 2,
                             .apply = intake_apply,
                             .config = config};
    intake_api_conf_t ac;
    char err[256];
    int rc;

    /* Dates of the citizen's world: the default reference date is today in
     * the Netherlands, whatever the host's zone. */
    setenv("TZ", "Europe/Amsterdam", 1);
    tzset();
    brr_service_init(&svc, &def, argc, argv);
    memset(&ac, 0, sizeof(ac));
    ac.listen = listen_addr;
    ac.cert = cert;
    ac.key = key;
    ac.channel_ca = channel_ca;
    ac.org_ca = org_ca;
    ac.channels = channels;
    ac.counsellors = counsellors;
    ac.max_body = (size_t)max_body;
    ac.flush_max = (size_t)flush_max;
    ac.committers = (size_t)committers;
    ac.pg_dsn = svc.pg_dsn;
    ac.rate_per_s = (double)rate;
    ac.rate_burst = (double)burst;
    ac.req_timeout_ms = (uint64_t)req_timeout;
    ac.idle_timeout_ms = (uint64_t)idle_timeout;
    ac.handshake_timeout_ms = (uint64_t)handshake_timeout;
    if (intake_keys_load(&ac.keys, bsn_key, bsn_hmac_key, bsn_key_id, err,
                         sizeof(err)) != 0 ||
        intake_keys_add_old(&ac.keys, bsn_old_keys, err, sizeof(err)) != 0 ||
        intake_roles_load(&ac.roles, channel_ca, org_ca, err, sizeof(err)) !=
            0) {
        brr_log_error("invalid configuration", "err", err, NULL);
        return 2;
    }
    svc.on_stop = on_stop;
    if ((rc = intake_api_start(&svc, &ac)) != 0) {
        brr_log_error("could not start the API", "listen", listen_addr, "err",
                      brr_strerror(rc), NULL);
        return 1;
    }
    return brr_service_run(&svc);
}
