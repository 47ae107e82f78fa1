/*
 * brr-pause: consumes brr.pause.requests.v1, records each pause with two
 * durable timers (start, end) and produces brr.pause.events.v1: scheduled
 * when accepted, started and ended when the timers fire.
 *
 * Timers live in pause.timers.  A firing claims due rows with FOR UPDATE
 * SKIP LOCKED, deletes them and writes the events to the outbox in one
 * transaction: exactly once even with two instances, and a service that
 * was down when a timer came due fires it on its first tick after start.
 * Dates are Europe/Amsterdam calendar days: a pause runs from 00:00 on its
 * start date to 00:00 after its end date.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "brr/v1/pause.pb-c.h"
#include "err.h"
#include "log.h"
#include "service.h"
#include "uuid.h"
#include "validate.h"

#define TOPIC_IN "brr.pause.requests.v1"
#define TOPIC_OUT "brr.pause.events.v1"
#define TIMER_BATCH "500"

static brr_service_t svc;
static uv_timer_t tick;
static int64_t tick_ms;

static const brr_config_entry_t config[] = {
    {"BRR_PAUSE_TICK_MS", BRR_CONF_INT, &tick_ms, "1000", 10, 60000, 0,
     "how often due timers are looked for"},
    {0}};

static void emit(brr_outbox_t *ob, const char *key, const char *type,
                 const char *pause_id, const char *arr, const char *citizen,
                 const char *start, const char *end, const char *reason,
                 const char *traceparent)
{
    Brr__V1__PauseEvent ev = BRR__V1__PAUSE_EVENT__INIT;
    ev.event_type = (char *)type;
    ev.pause_id = (char *)pause_id;
    ev.arrangement_id = (char *)arr;
    ev.citizen_ref = (char *)citizen;
    ev.start_date = (char *)start;
    ev.end_date = (char *)end;
    ev.reason = (char *)reason;
    brr_outbox_add(ob, TOPIC_OUT, key, "pause", pause_id, type, &ev.base,
                   traceparent, NULL);
}

static int pause_apply(void *arg, brr_pg_t *pg, brr_pg_pipe_t *pp,
                       brr_msg_t *msgs, size_t n, brr_outbox_t *ob,
                       brr_arena_t *a)
{
    json_t *rows = json_array();
    (void)arg;
    (void)pg;
    for (size_t i = 0; i < n; i++) {
        brr_msg_t *m = &msgs[i];
        Brr__V1__PauseRequest *rq = brr__v1__pause_request__unpack(
            brr_arena_protobuf(a), m->len, m->value);
        char pid[40];
        if (rq == NULL) {
            m->rc = BRR_EDECODE;
            m->error = "could not decode PauseRequest";
            continue;
        }
        if (!brr_date_valid(rq->start_date, strlen(rq->start_date), NULL,
                            NULL, NULL) ||
            !brr_date_valid(rq->end_date, strlen(rq->end_date), NULL, NULL,
                            NULL) ||
            strcmp(rq->start_date, rq->end_date) > 0) {
            emit(ob, m->key, "pause.refused", rq->request_id,
                 rq->arrangement_id, rq->citizen_ref, rq->start_date,
                 rq->end_date, "INVALID_DATES", m->traceparent);
            continue;
        }
        brr_uuid_v7_str(pid);
        json_array_append_new(
            rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "pause_id",
                            pid, "arrangement_id", rq->arrangement_id,
                            "citizen_ref", rq->citizen_ref, "start_date",
                            rq->start_date, "end_date", rq->end_date,
                            "reason", rq->reason, "channel", rq->channel));
        emit(ob, m->key, "pause.scheduled", pid, rq->arrangement_id,
             rq->citizen_ref, rq->start_date, rq->end_date, rq->reason,
             m->traceparent);
    }
    if (json_array_size(rows) > 0) {
        char *doc = json_dumps(rows, JSON_COMPACT);
        const char *p[1] = {doc};
        brr_pg_pipe_add(pp,
                        "INSERT INTO pause.pauses (pause_id, arrangement_id, "
                        "citizen_ref, start_date, end_date, reason, channel, "
                        "state) SELECT pause_id, arrangement_id, citizen_ref, "
                        "start_date, end_date, reason, channel, 'SCHEDULED' "
                        "FROM jsonb_to_recordset($1::jsonb) AS x(pause_id "
                        "uuid, arrangement_id uuid, citizen_ref uuid, "
                        "start_date date, end_date date, reason text, "
                        "channel text)",
                        1, p, NULL, NULL);
        brr_pg_pipe_add(
            pp,
            "INSERT INTO pause.timers (pause_id, action, due_at) "
            "SELECT pause_id, a.action, CASE a.action "
            "WHEN 'start' THEN start_date::timestamp AT TIME ZONE "
            "'Europe/Amsterdam' "
            "ELSE (end_date + 1)::timestamp AT TIME ZONE 'Europe/Amsterdam' "
            "END FROM jsonb_to_recordset($1::jsonb) AS x(pause_id uuid, "
            "start_date date, end_date date) "
            "CROSS JOIN (VALUES ('start'), ('end')) AS a(action)",
            1, p, NULL, NULL);
        free(doc);
    }
    json_decref(rows);
    return 0;
}

/* Fires due timers: one transaction per tick, at most TIMER_BATCH. */
static void on_tick(uv_timer_t *t)
{
    PGresult *res;
    int rc, n;
    (void)t;

    if (brr_pg_ensure(svc.pg) != 0 || brr_pg_begin(svc.pg) != 0)
        return;
    rc = brr_pg_query(
        svc.pg,
        "WITH due AS (DELETE FROM pause.timers WHERE timer_id IN ("
        "  SELECT timer_id FROM pause.timers WHERE due_at <= now() "
        "  ORDER BY due_at, timer_id LIMIT " TIMER_BATCH
        "  FOR UPDATE SKIP LOCKED) RETURNING pause_id, action, due_at), "
        "upd AS (UPDATE pause.pauses p SET state = CASE d.action "
        "  WHEN 'start' THEN 'RUNNING' ELSE 'ENDED' END "
        "  FROM due d WHERE p.pause_id = d.pause_id AND p.state <> "
        "  'CANCELLED' RETURNING p.*, d.action, d.due_at) "
        "SELECT pause_id::text, action, arrangement_id::text, "
        "citizen_ref::text, start_date::text, end_date::text, reason "
        "FROM upd ORDER BY due_at, action DESC",
        0, NULL, &res);
    if (rc != 0) {
        brr_pg_rollback(svc.pg);
        return;
    }
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        int start = strcmp(PQgetvalue(res, i, 1), "start") == 0;
        emit(svc.ob, PQgetvalue(res, i, 3),
             start ? "pause.started" : "pause.ended", PQgetvalue(res, i, 0),
             PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
             PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
             PQgetvalue(res, i, 6), NULL);
    }
    PQclear(res);
    if (n > 0) {
        brr_pg_pipe_t *pp = brr_pg_pipe_new();
        brr_outbox_queue(svc.ob, pp);
        brr_pg_pipe_add(pp, "COMMIT", 0, NULL, NULL, NULL);
        rc = brr_pg_pipe_run(svc.pg, pp);
        brr_pg_pipe_free(pp);
        if (rc != 0) {
            brr_outbox_clear(svc.ob);
            brr_pg_rollback(svc.pg);
            return;
        }
        brr_relay_kick(svc.relay);
        {
            char c[16];
            snprintf(c, sizeof(c), "%d", n);
            brr_log_info("pause timers fired", "count", c, NULL);
        }
        /* more may be due: look again at once */
        uv_timer_start(&tick, on_tick, 0, (uint64_t)tick_ms);
    } else {
        brr_pg_commit(svc.pg);
    }
}

static void on_stop(brr_service_t *s)
{
    (void)s;
    uv_timer_stop(&tick);
    uv_close((uv_handle_t *)&tick, NULL);
}

static const char *const topics[] = {TOPIC_IN};

int main(int argc, char **argv)
{
    brr_service_def_t def = {.name = "brr-pause",
                             .schema = "pause",
                             .source = "/brr/pause",
                             .admin_port = 8084,
                             .topics = topics,
                             .ntopics = 1,
                             .apply = pause_apply,
                             .config = config};
    brr_service_init(&svc, &def, argc, argv);
    svc.on_stop = on_stop;
    uv_timer_init(svc.loop, &tick);
    uv_timer_start(&tick, on_tick, (uint64_t)tick_ms, (uint64_t)tick_ms);
    return brr_service_run(&svc);
}
