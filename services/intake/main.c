/*
 * brr-intake: the only public HTTP surface.  Accepts applications and pause
 * requests from the web-form back ends (api.c), keeps the BSN encrypted and
 * pseudonymised (bsn.c), and consumes brr.arrangements.events.v1 to keep
 * each application's status and the arrangements view current.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "brr/v1/arrangement.pb-c.h"
#include "err.h"
#include "log.h"
#include "service.h"

#define TOPIC_ARRANGEMENTS "brr.arrangements.events.v1"

static char *listen_addr, *cert, *key, *client_ca, *channels, *bsn_key,
    *bsn_hmac_key, *bsn_key_id;
static int64_t max_body, flush_max;
static brr_service_t svc;

static const brr_config_entry_t config[] = {
    {"BRR_INTAKE_LISTEN", BRR_CONF_STRING, &listen_addr, "127.0.0.1:8443", 0,
     0, 0, "address of the API (host:port)"},
    {"BRR_INTAKE_CERT", BRR_CONF_STRING, &cert, NULL, 0, 0, 0,
     "server certificate (PEM)"},
    {"BRR_INTAKE_KEY", BRR_CONF_STRING, &key, NULL, 0, 0, 0,
     "server key (PEM)"},
    {"BRR_INTAKE_CLIENT_CA", BRR_CONF_STRING, &client_ca, NULL, 0, 0, 0,
     "CA that signs the channels' client certificates"},
    {"BRR_INTAKE_CHANNELS", BRR_CONF_STRING, &channels,
     "CJIB,BELASTINGDIENST", 0, 0, 0,
     "client certificate CNs accepted as channels"},
    {"BRR_BSN_KEY_FILE", BRR_CONF_STRING, &bsn_key, NULL, 0, 0, 0,
     "32-byte AES-256-GCM key for the BSN"},
    {"BRR_BSN_HMAC_KEY_FILE", BRR_CONF_STRING, &bsn_hmac_key, NULL, 0, 0, 0,
     "32-byte HMAC key for the BSN pseudonym"},
    {"BRR_BSN_KEY_ID", BRR_CONF_STRING, &bsn_key_id, "k1", 0, 0, 0,
     "id of the BSN key (stored with each ciphertext)"},
    {"BRR_INTAKE_MAX_BODY", BRR_CONF_INT, &max_body, "65536", 1024, 1048576,
     0, "largest request body in bytes"},
    {"BRR_INTAKE_FLUSH_MAX", BRR_CONF_INT, &flush_max, "1000", 1, 10000, 0,
     "applications committed in one transaction at most"},
    {0}};

/* The read model: application status and the arrangements view. */
static int intake_apply(void *arg, brr_pg_t *pg, brr_pg_pipe_t *pp,
                        brr_msg_t *msgs, size_t n, brr_outbox_t *ob,
                        brr_arena_t *a)
{
    json_t *rows = json_array();
    (void)arg;
    (void)pg;
    (void)ob;
    for (size_t i = 0; i < n; i++) {
        Brr__V1__ArrangementEvent *ev = brr__v1__arrangement_event__unpack(
            brr_arena_protobuf(a), msgs[i].len, msgs[i].value);
        const ProtobufCEnumValue *st;
        json_t *reasons = json_array();
        if (ev == NULL) {
            msgs[i].rc = BRR_EDECODE;
            msgs[i].error = "could not decode ArrangementEvent";
            json_decref(reasons);
            continue;
        }
        st = protobuf_c_enum_descriptor_get_value(
            &brr__v1__arrangement_state__descriptor, (int)ev->state);
        for (size_t r = 0; r < ev->n_reasons; r++)
            json_array_append_new(reasons, json_string(ev->reasons[r]));
        json_array_append_new(
            rows,
            json_pack("{s:s?, s:s?, s:s, s:s, s:o, s:I, s:i, s:s}",
                      "application_id",
                      ev->application_id[0] ? ev->application_id : NULL,
                      "arrangement_id",
                      ev->arrangement_id[0] ? ev->arrangement_id : NULL,
                      "citizen_ref", ev->citizen_ref, "state",
                      st ? st->name : "STATE_UNSPECIFIED", "reasons", reasons,
                      "instalment_cents", (json_int_t)ev->instalment_cents,
                      "months", ev->months, "first_due_date",
                      ev->first_due_date));
    }
    if (json_array_size(rows) > 0) {
        char *doc = json_dumps(rows, JSON_COMPACT);
        const char *p[1] = {doc};
        brr_pg_pipe_add(pp,
                        "UPDATE intake.applications a SET status = x.state, "
                        "arrangement_id = x.arrangement_id, reasons = "
                        "x.reasons, updated_at = now() FROM "
                        "jsonb_to_recordset($1::jsonb) AS x(application_id "
                        "uuid, arrangement_id uuid, state text, reasons "
                        "jsonb) WHERE a.application_id = x.application_id",
                        1, p, NULL, NULL);
        brr_pg_pipe_add(
            pp,
            "INSERT INTO intake.arrangements_view (arrangement_id, "
            "citizen_ref, state, body) SELECT DISTINCT ON (arrangement_id) "
            "arrangement_id, citizen_ref, state, jsonb_build_object("
            "'instalment_cents', instalment_cents, 'months', months, "
            "'first_due_date', first_due_date) FROM ROWS FROM ("
            "jsonb_to_recordset($1::jsonb) AS (arrangement_id uuid, "
            "citizen_ref uuid, state text, instalment_cents bigint, months "
            "int, first_due_date text)) WITH ORDINALITY AS x(arrangement_id, "
            "citizen_ref, state, instalment_cents, months, first_due_date, o) "
            "WHERE arrangement_id IS NOT NULL ORDER BY arrangement_id, o DESC "
            "ON CONFLICT (arrangement_id) DO UPDATE SET state = "
            "excluded.state, updated_at = now()",
            1, p, NULL, NULL);
        free(doc);
    }
    json_decref(rows);
    return 0;
}

static void on_stop(brr_service_t *s)
{
    (void)s;
    intake_api_stop();
}

static const char *const topics[] = {TOPIC_ARRANGEMENTS};

int main(int argc, char **argv)
{
    brr_service_def_t def = {.name = "brr-intake",
                             .schema = "intake",
                             .source = "/brr/intake",
                             .admin_port = 8081,
                             .topics = topics,
                             .ntopics = 1,
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
    ac.client_ca = client_ca;
    ac.channels = channels;
    ac.max_body = (size_t)max_body;
    ac.flush_max = (size_t)flush_max;
    if (intake_keys_load(&ac.keys, bsn_key, bsn_hmac_key, bsn_key_id, err,
                         sizeof(err)) != 0) {
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
