/*
 * it_producer: the sending half of the exactly-once integration test.
 *
 * Writes N events to the outbox of schema it_src (in transactions of 500),
 * plus every tenth event a second time under a new outbox row with the same
 * ce_id (the same event arriving twice), and runs the real outbox relay
 * until every row is published.  Creates the test topic first.
 *
 *   it_producer <n>   (BRR_PG_DSN, BRR_KAFKA_BROKERS, BRR_IT_TOPIC)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "brr/v1/delivery.pb-c.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "outbox.h"
#include "pg.h"
#include "uuid.h"

static char *dsn, *brokers, *topic;
static const brr_config_entry_t config[] = {
    {"BRR_PG_DSN", BRR_CONF_STRING, &dsn,
     "host=127.0.0.1 port=55432 dbname=brr user=brr", 0, 0, 1, "database"},
    {"BRR_KAFKA_BROKERS", BRR_CONF_STRING, &brokers, "127.0.0.1:19092", 0, 0, 0,
     "brokers"},
    {"BRR_IT_TOPIC", BRR_CONF_STRING, &topic, "brr.it.events.v1", 0, 0, 0,
     "the topic written to"},
    {0}};

/* The broker does not auto-create topics: make the test topic and the
 * dead-letter topic beside it (the consumer's outbox publishes there). */
static void create_topic(void)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_NewTopic_t *nt[2];
    char dlq[256];
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
    nt[0] = rd_kafka_NewTopic_new(topic, 4, 1, err, sizeof(err));
    nt[1] = rd_kafka_NewTopic_new(dlq, 1, 1, err, sizeof(err));
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, 2, NULL, q);
    ev = rd_kafka_queue_poll(q, 30000);
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy_array(nt, 2);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

static uv_timer_t watch;
static brr_relay_t *relay;
static brr_pg_t *pg;

static void on_watch(uv_timer_t *t)
{
    PGresult *res;
    if (brr_pg_query(pg,
                     "SELECT count(*) FROM it_src.outbox WHERE published_at "
                     "IS NULL",
                     0, NULL, &res) != 0)
        return;
    if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
        uv_timer_stop(t);
        uv_close((uv_handle_t *)t, NULL);
        brr_relay_stop(relay, 5000);
    }
    PQclear(res);
}

int main(int argc, char **argv)
{
    char err[256];
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    brr_outbox_t *ob;
    brr_pg_pipe_t *pp = brr_pg_pipe_new();
    uv_loop_t *loop = uv_default_loop();

    brr_log_init("it_producer", BRR_LOG_WARN, BRR_LOG_LOGFMT);
    if (brr_config_load(config, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    create_topic();
    if (brr_pg_connect(dsn, "it_producer", &pg) != 0)
        return 1;
    ob = brr_outbox_new("it_src", "/brr/it");
    for (int i = 0; i < n; i++) {
        Brr__V1__Delivery ev = BRR__V1__DELIVERY__INIT;
        char key[40], id[40], seq[16];
        brr_uuid_t u;
        brr_uuid_v4(&u);
        brr_uuid_format(&u, key);
        snprintf(seq, sizeof(seq), "%d", i);
        ev.organisation = "IT";
        ev.sequence = i;
        ev.citizen_ref = key;
        brr_outbox_add(ob, topic, key, "it", seq, "it.event", &ev.base, NULL,
                       id);
        if (i % 10 == 0) {
            /* the same event again: same ce_id, its own outbox row */
            uint8_t buf[256];
            size_t len = brr__v1__delivery__pack(&ev, buf);
            char h[256];
            snprintf(h, sizeof(h),
                     "{\"ce_id\":\"%s\",\"ce_type\":"
                     "\"nl.rijksoverheid.brr.it.event\",\"ce_source\":"
                     "\"/brr/it\",\"ce_specversion\":\"1.0\"}",
                     id);
            brr_outbox_add_raw(ob, topic, key, "it", seq, "it.event", buf, len,
                               h);
        }
        if ((i + 1) % 500 == 0 || i == n - 1) {
            brr_pg_pipe_add(pp, "BEGIN", 0, NULL, NULL, NULL);
            brr_outbox_queue(ob, pp);
            brr_pg_pipe_add(pp, "COMMIT", 0, NULL, NULL, NULL);
            if (brr_pg_pipe_run(pg, pp) != 0) {
                fprintf(stderr, "it_producer: could not write the outbox\n");
                return 1;
            }
        }
    }
    if (brr_relay_start(loop, dsn, "it_src", brokers, "it_producer", 3600,
                        &relay) != 0)
        return 1;
    uv_timer_init(loop, &watch);
    uv_timer_start(&watch, on_watch, 100, 100);
    uv_run(loop, UV_RUN_DEFAULT);
    brr_outbox_free(ob);
    brr_pg_pipe_free(pp);
    brr_pg_close(pg);
    printf("it_producer: %d events published (%d repeated)\n", n, (n + 9) / 10);
    return 0;
}
