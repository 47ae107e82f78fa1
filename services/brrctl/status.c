/*
 * brrctl status: for every consumer group, per partition, the committed
 * offset, the end offset and the lag between them: the operator's first
 * look at whether the pipeline keeps up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "brrctl.h"

#define STATUS_TIMEOUT_MS 15000

static rd_kafka_event_t *wait_result(rd_kafka_queue_t *q)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, STATUS_TIMEOUT_MS + 1000);
    if (ev == NULL) {
        brrctl_fail("no answer from Kafka at %s within %d s",
                    brrctl_conf.brokers, STATUS_TIMEOUT_MS / 1000);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        brrctl_fail("admin request failed: %s",
                    rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

static int group_status(rd_kafka_t *rk, rd_kafka_queue_t *q, const char *group,
                        long long *total_lag)
{
    rd_kafka_ListConsumerGroupOffsets_t *req =
        rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rd_kafka_event_t *ev;
    const rd_kafka_group_result_t **gr;
    size_t ng;

    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, NULL, q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    if ((ev = wait_result(q)) == NULL)
        return 1;
    gr = rd_kafka_ListConsumerGroupOffsets_result_groups(
        rd_kafka_event_ListConsumerGroupOffsets_result(ev), &ng);
    for (size_t g = 0; g < ng; g++) {
        const rd_kafka_topic_partition_list_t *parts =
            rd_kafka_group_result_partitions(gr[g]);
        for (int i = 0; parts && i < parts->cnt; i++) {
            const rd_kafka_topic_partition_t *p = &parts->elems[i];
            int64_t lo = 0, hi = 0;
            long long lag;
            rd_kafka_query_watermark_offsets(rk, p->topic, p->partition, &lo,
                                             &hi, 10000);
            lag = p->offset >= 0 ? (long long)(hi - p->offset)
                                 : (long long)(hi - lo);
            *total_lag += lag;
            printf("%-24s %-40s %4d %12lld %12lld %10lld\n", group, p->topic,
                   (int)p->partition, (long long)p->offset, (long long)hi, lag);
        }
    }
    rd_kafka_event_destroy(ev);
    return 0;
}

int brrctl_status(int argc, char **argv)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;
    rd_kafka_AdminOptions_t *opts;
    const rd_kafka_ConsumerGroupListing_t **gl;
    size_t ng;
    long long lag = 0;
    int rc = 0;

    (void)argc;
    (void)argv;
    rd_kafka_conf_set(conf, "bootstrap.servers", brrctl_conf.brokers, err,
                      sizeof(err));
    /* Connection failures are summed up in one line below, not logged per
     * retry by librdkafka. */
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL)
        return brrctl_fail("could not create kafka client: %s", err);
    q = rd_kafka_queue_new(rk);
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
    rd_kafka_AdminOptions_set_request_timeout(opts, STATUS_TIMEOUT_MS, err,
                                              sizeof(err));
    rd_kafka_ListConsumerGroups(rk, opts, q);
    rd_kafka_AdminOptions_destroy(opts);
    if ((ev = wait_result(q)) == NULL) {
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
        return 1;
    }
    {
        /* A broker that did not answer is an error, not an empty list. */
        size_t nerr;
        const rd_kafka_error_t **errs =
            rd_kafka_ListConsumerGroups_result_errors(
                rd_kafka_event_ListConsumerGroups_result(ev), &nerr);
        if (nerr > 0) {
            brrctl_fail("could not list consumer groups at %s: %s",
                        brrctl_conf.brokers, rd_kafka_error_string(errs[0]));
            rd_kafka_event_destroy(ev);
            rd_kafka_queue_destroy(q);
            rd_kafka_destroy(rk);
            return 1;
        }
    }
    gl = rd_kafka_ListConsumerGroups_result_valid(
        rd_kafka_event_ListConsumerGroups_result(ev), &ng);
    printf("%-24s %-40s %4s %12s %12s %10s\n", "GROUP", "TOPIC", "PART",
           "COMMITTED", "END", "LAG");
    for (size_t i = 0; i < ng && rc == 0; i++)
        rc = group_status(rk, q, rd_kafka_ConsumerGroupListing_group_id(gl[i]),
                          &lag);
    rd_kafka_event_destroy(ev);
    printf("total lag: %lld\n", lag);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}
