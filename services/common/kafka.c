/*
 * kafka.c: see kafka.h.  Both halves share the wake-up plumbing: a pipe that
 * librdkafka writes to when a queue turns non-empty, a uv_poll_t on its read
 * end, and a 100 ms timer as a safety net.
 */
#include "kafka.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "log.h"

/* ---- shared helpers ----------------------------------------------------- */

typedef struct {
    int fds[2];
    uv_poll_t poll;
    uv_timer_t timer;
    int open;
    int closing; /* handles not yet closed */
    void *owner; /* freed once both handles are closed */
} wake_t;

static int wake_init(uv_loop_t *loop, wake_t *w, void *data, uv_poll_cb pcb,
                     uv_timer_cb tcb)
{
    if (pipe2(w->fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return BRR_EIO;
    uv_poll_init(loop, &w->poll, w->fds[0]);
    uv_timer_init(loop, &w->timer);
    w->poll.data = data;
    w->timer.data = data;
    uv_poll_start(&w->poll, UV_READABLE, pcb);
    uv_timer_start(&w->timer, tcb, 100, 100);
    w->open = 1;
    return 0;
}

static void wake_drain(wake_t *w)
{
    char buf[256];
    while (read(w->fds[0], buf, sizeof(buf)) > 0)
        ;
}

static void wake_close_cb(uv_handle_t *h)
{
    wake_t *w = h->data;
    if (--w->closing == 0)
        free(w->owner);
}

/* Closes the handles and frees owner (the struct holding w) once libuv is
 * done with them; owner may be NULL when it is freed elsewhere. */
static void wake_close(wake_t *w, void *owner)
{
    if (!w->open) {
        free(owner);
        return;
    }
    uv_poll_stop(&w->poll);
    uv_timer_stop(&w->timer);
    w->poll.data = w;
    w->timer.data = w;
    w->owner = owner;
    w->closing = 2;
    uv_close((uv_handle_t *)&w->poll, wake_close_cb);
    uv_close((uv_handle_t *)&w->timer, wake_close_cb);
    close(w->fds[0]);
    close(w->fds[1]);
    w->open = 0;
}

static void xset(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        brr_log_warn("could not set kafka property", "property", k, "err", err,
                     NULL);
}

typedef struct {
    rd_kafka_conf_t *conf;
    int failed;
    char *err;
    size_t cap;
} passthrough_t;

static void passthrough(const char *prop, const char *val, void *arg)
{
    passthrough_t *pt = arg;
    char err[256];
    /* BRR_KAFKA_BROKERS is brr's own setting, not a client property. */
    if (pt->failed || strcmp(prop, "brokers") == 0)
        return;
    if (rd_kafka_conf_set(pt->conf, prop, val, err, sizeof(err)) !=
        RD_KAFKA_CONF_OK) {
        snprintf(pt->err, pt->cap, "invalid kafka property %s: %s", prop, err);
        pt->failed = 1;
    }
}

int brr_kafka_conf_apply(rd_kafka_conf_t *conf, char *err, size_t cap)
{
    passthrough_t pt = {conf, 0, err, cap};
    brr_config_each_kafka(passthrough, &pt);
    return pt.failed ? BRR_ECONFIG : 0;
}

void brr_rfc3339_now(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    char tmp[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03ldZ", tmp, ts.tv_nsec / 1000000);
}

int64_t brr_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hadd(rd_kafka_headers_t *h, const char *k, const char *v)
{
    if (v != NULL)
        rd_kafka_header_add(h, k, -1, v, -1);
}

rd_kafka_headers_t *brr_ce_headers(const brr_ce_t *ce)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    char now[40];
    hadd(h, "ce_specversion", "1.0");
    hadd(h, "ce_id", ce->id);
    hadd(h, "ce_source", ce->source);
    hadd(h, "ce_type", ce->type);
    if (ce->time == NULL)
        brr_rfc3339_now(now, sizeof(now));
    hadd(h, "ce_time", ce->time ? ce->time : now);
    hadd(h, "ce_subject", ce->subject);
    hadd(h, "content-type", "application/protobuf");
    hadd(h, "traceparent", ce->traceparent);
    return h;
}

int brr_kafka_header(const rd_kafka_message_t *rkm, const char *name, char *buf,
                     size_t cap)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t len;
    if (rd_kafka_message_headers(rkm, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(h, name, &v, &len) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        v == NULL)
        return BRR_ENOTFOUND;
    if (len + 1 > cap)
        return BRR_ERANGE;
    memcpy(buf, v, len);
    buf[len] = '\0';
    return 0;
}

/* ---- producer ----------------------------------------------------------- */

struct brr_kp {
    uv_loop_t *loop;
    rd_kafka_t *rk;
    wake_t wake;
    char *brokers;
    char *client_id;
    brr_kp_dr_cb cb;
    void *arg;
    int fatal;
    int outstanding;
};

static void kp_dr(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    brr_kp_t *kp = opaque;
    (void)rk;
    kp->outstanding--;
    if (kp->cb != NULL)
        kp->cb(kp->arg, rkm->_private, rkm->err);
}

static void kp_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    brr_kp_t *kp = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[256];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        brr_log_error("kafka producer fatal error, recreating", "err", buf,
                      NULL);
        kp->fatal = 1;
        return;
    }
    brr_log_warn("kafka producer error", "err", reason, "code",
                 rd_kafka_err2name(err), NULL);
}

static void kp_wake(uv_poll_t *h, int status, int events)
{
    brr_kp_t *kp = h->data;
    wake_drain(&kp->wake);
    rd_kafka_poll(kp->rk, 0);
}

static void kp_tick(uv_timer_t *t)
{
    brr_kp_t *kp = t->data;
    rd_kafka_poll(kp->rk, 0);
}

static int kp_create(brr_kp_t *kp)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_queue_t *q;

    xset(conf, "bootstrap.servers", kp->brokers);
    xset(conf, "client.id", kp->client_id);
    xset(conf, "enable.idempotence", "true");
    xset(conf, "acks", "all");
    xset(conf, "partitioner", "murmur2_random");
    xset(conf, "linger.ms", "5");
    xset(conf, "compression.type", "lz4");
    xset(conf, "batch.num.messages", "10000");
    xset(conf, "queue.buffering.max.messages", "1000000");
    xset(conf, "message.timeout.ms", "60000");
    if (brr_kafka_conf_apply(conf, err, sizeof(err)) != 0) {
        brr_log_error("could not configure kafka producer", "err", err, NULL);
        rd_kafka_conf_destroy(conf);
        return BRR_ECONFIG;
    }
    rd_kafka_conf_set_opaque(conf, kp);
    rd_kafka_conf_set_dr_msg_cb(conf, kp_dr);
    rd_kafka_conf_set_error_cb(conf, kp_error);
    kp->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (kp->rk == NULL) {
        brr_log_error("could not create kafka producer", "err", err, NULL);
        rd_kafka_conf_destroy(conf);
        return BRR_EKAFKA;
    }
    conf = NULL; /* owned by rk now */
    q = rd_kafka_queue_get_main(kp->rk);
    rd_kafka_queue_io_event_enable(q, kp->wake.fds[1], "1", 1);
    rd_kafka_queue_destroy(q);
    kp->fatal = 0;
    return 0;
}

int brr_kp_new(uv_loop_t *loop, const char *brokers, const char *client_id,
               brr_kp_dr_cb cb, void *arg, brr_kp_t **out)
{
    brr_kp_t *kp = calloc(1, sizeof(*kp));
    int rc;
    if (kp == NULL)
        abort();
    kp->loop = loop;
    kp->brokers = strdup(brokers);
    kp->client_id = strdup(client_id);
    kp->cb = cb;
    kp->arg = arg;
    if ((rc = wake_init(loop, &kp->wake, kp, kp_wake, kp_tick)) != 0 ||
        (rc = kp_create(kp)) != 0) {
        free(kp->brokers);
        free(kp->client_id);
        wake_close(&kp->wake, kp);
        return rc;
    }
    *out = kp;
    return 0;
}

int brr_kp_produce(brr_kp_t *kp, const char *topic, const char *key,
                   size_t keylen, const void *val, size_t len,
                   rd_kafka_headers_t *hdrs, void *opaque)
{
    rd_kafka_resp_err_t err;
    if (kp->fatal)
        return BRR_EKAFKATRANSIENT;
    err = rd_kafka_producev(
        kp->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
        RD_KAFKA_V_VALUE((void *)val, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL ||
            err == RD_KAFKA_RESP_ERR__FATAL)
            return BRR_EKAFKATRANSIENT;
        brr_log_error("could not produce", "topic", topic, "err",
                      rd_kafka_err2str(err), NULL);
        return BRR_EKAFKA;
    }
    kp->outstanding++;
    return 0;
}

void brr_kp_poll(brr_kp_t *kp)
{
    rd_kafka_poll(kp->rk, 0);
}

int brr_kp_fatal(const brr_kp_t *kp)
{
    return kp->fatal;
}

int brr_kp_outstanding(const brr_kp_t *kp)
{
    return kp->outstanding;
}

int brr_kp_recreate(brr_kp_t *kp)
{
    /* Fail every outstanding message through its delivery report, so the
     * relay knows to republish it, then start over. */
    rd_kafka_purge(kp->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(kp->rk, 0);
    rd_kafka_destroy(kp->rk);
    kp->rk = NULL;
    kp->outstanding = 0;
    return kp_create(kp);
}

void brr_kp_close(brr_kp_t *kp, int timeout_ms)
{
    if (kp == NULL)
        return;
    if (kp->rk != NULL) {
        rd_kafka_flush(kp->rk, timeout_ms);
        rd_kafka_destroy(kp->rk);
    }
    free(kp->brokers);
    free(kp->client_id);
    /* The uv handles live inside kp: it is freed once they are closed. */
    wake_close(&kp->wake, kp);
}

rd_kafka_t *brr_kp_handle(brr_kp_t *kp)
{
    return kp->rk;
}

/* ---- consumer ----------------------------------------------------------- */

struct brr_kc {
    uv_loop_t *loop;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    wake_t wake;
    brr_kc_batch_cb cb;
    void *arg;
    size_t max_batch;
    rd_kafka_message_t **buf;
    int held;
    int started;
    int assigned;
};

static void kc_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    brr_kc_t *kc = opaque;
    char n[16];
    snprintf(n, sizeof(n), "%d", parts ? parts->cnt : 0);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        kc->assigned = parts->cnt;
        brr_log_info("partitions assigned", "count", n, NULL);
    } else {
        rd_kafka_assign(rk, NULL);
        kc->assigned = 0;
        brr_log_info("partitions revoked", "count", n, NULL);
    }
}

static void kc_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    brr_log_warn("kafka consumer error", "err", reason, "code",
                 rd_kafka_err2name(err), NULL);
}

static void kc_drain(brr_kc_t *kc)
{
    if (!kc->started)
        return;
    while (!kc->held) {
        ssize_t n =
            rd_kafka_consume_batch_queue(kc->q, 0, kc->buf, kc->max_batch);
        size_t good = 0;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *rkm = kc->buf[i];
            if (rkm->err) {
                if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    brr_log_warn("kafka consume error", "err",
                                 rd_kafka_message_errstr(rkm), NULL);
                rd_kafka_message_destroy(rkm);
                continue;
            }
            kc->buf[good++] = rkm;
        }
        if (good > 0)
            kc->cb(kc->arg, kc->buf, good);
    }
}

static void kc_wake(uv_poll_t *h, int status, int events)
{
    brr_kc_t *kc = h->data;
    wake_drain(&kc->wake);
    kc_drain(kc);
}

static void kc_tick(uv_timer_t *t)
{
    brr_kc_t *kc = t->data;
    kc_drain(kc);
}

/* The static member id carries a hash of the subscription.  The broker
 * hands a static member that rejoins within session.timeout.ms its old
 * assignment, and does not always rebalance when the subscription changed
 * (seen on Kafka 4.1 with a fresh group: the restarted member kept topic
 * A's partitions and never got topic B's; tests/integration/
 * static_membership.sh).  A changed subscription is therefore a new
 * member; the old one leaves when its session times out (10 s), and the
 * rebalance then assigns every subscribed topic.  FNV-1a over the topic
 * names in order (each service subscribes in a fixed order). */
static uint32_t subscription_hash(const char *const *topics, size_t ntopics)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < ntopics; i++) {
        for (const unsigned char *p = (const unsigned char *)topics[i]; *p; p++)
            h = (h ^ *p) * 16777619u;
        h = (h ^ 0xffu) * 16777619u; /* separator: "ab","c" != "a","bc" */
    }
    return h;
}

int brr_kc_new(uv_loop_t *loop, const char *brokers, const char *group,
               const char *instance_id, const char *const *topics,
               size_t ntopics, brr_kc_t **out)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *subs;
    brr_kc_t *kc = calloc(1, sizeof(*kc));
    rd_kafka_resp_err_t kerr;

    if (kc == NULL)
        abort();
    kc->loop = loop;
    xset(conf, "bootstrap.servers", brokers);
    xset(conf, "group.id", group);
    if (instance_id != NULL && instance_id[0] != '\0') {
        char member[256];
        snprintf(member, sizeof(member), "%s-%08" PRIx32, instance_id,
                 subscription_hash(topics, ntopics));
        xset(conf, "group.instance.id", member);
    }
    xset(conf, "client.id", instance_id ? instance_id : group);
    xset(conf, "session.timeout.ms", "10000");
    xset(conf, "heartbeat.interval.ms", "1000");
    xset(conf, "enable.auto.offset.store", "false");
    xset(conf, "enable.auto.commit", "true");
    xset(conf, "auto.commit.interval.ms", "1000");
    xset(conf, "auto.offset.reset", "earliest");
    xset(conf, "topic.metadata.refresh.interval.ms", "10000");
    /* The broker answers a fetch as soon as a message arrives, so a long
     * wait adds no latency; a short one only makes every idle consumer
     * poll the broker (10 ms cost the JVM broker ~15% of a core idle). */
    xset(conf, "fetch.wait.max.ms", "500");
    xset(conf, "partition.assignment.strategy", "range,roundrobin");
    if (brr_kafka_conf_apply(conf, err, sizeof(err)) != 0) {
        brr_log_error("could not configure kafka consumer", "err", err, NULL);
        rd_kafka_conf_destroy(conf);
        free(kc);
        return BRR_ECONFIG;
    }
    rd_kafka_conf_set_opaque(conf, kc);
    rd_kafka_conf_set_rebalance_cb(conf, kc_rebalance);
    rd_kafka_conf_set_error_cb(conf, kc_error);
    kc->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (kc->rk == NULL) {
        brr_log_error("could not create kafka consumer", "err", err, NULL);
        rd_kafka_conf_destroy(conf);
        free(kc);
        return BRR_EKAFKA;
    }
    conf = NULL; /* owned by rk now */
    rd_kafka_poll_set_consumer(kc->rk);
    kc->q = rd_kafka_queue_get_consumer(kc->rk);
    if (wake_init(loop, &kc->wake, kc, kc_wake, kc_tick) != 0) {
        rd_kafka_queue_destroy(kc->q);
        rd_kafka_destroy(kc->rk);
        free(kc);
        return BRR_EIO;
    }
    rd_kafka_queue_io_event_enable(kc->q, kc->wake.fds[1], "1", 1);

    subs = rd_kafka_topic_partition_list_new((int)ntopics);
    for (size_t i = 0; i < ntopics; i++)
        rd_kafka_topic_partition_list_add(subs, topics[i],
                                          RD_KAFKA_PARTITION_UA);
    kerr = rd_kafka_subscribe(kc->rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        brr_log_error("could not subscribe", "err", rd_kafka_err2str(kerr),
                      NULL);
        brr_kc_close(kc);
        return BRR_EKAFKA;
    }
    *out = kc;
    return 0;
}

void brr_kc_start(brr_kc_t *kc, size_t max_batch, brr_kc_batch_cb cb, void *arg)
{
    kc->cb = cb;
    kc->arg = arg;
    kc->max_batch = max_batch ? max_batch : 500;
    kc->buf = calloc(kc->max_batch, sizeof(*kc->buf));
    if (kc->buf == NULL)
        abort();
    kc->started = 1;
}

void brr_kc_hold(brr_kc_t *kc)
{
    kc->held = 1;
}

void brr_kc_resume(brr_kc_t *kc)
{
    kc->held = 0;
    kc_drain(kc);
}

int brr_kc_store(brr_kc_t *kc, rd_kafka_message_t *const *msgs, size_t n)
{
    rd_kafka_topic_partition_list_t *offs;
    rd_kafka_resp_err_t err;

    if (n == 0)
        return 0;
    offs = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_message_t *rkm = msgs[i];
        const char *topic = rd_kafka_topic_name(rkm->rkt);
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(offs, topic, rkm->partition);
        if (p == NULL)
            p = rd_kafka_topic_partition_list_add(offs, topic, rkm->partition);
        else if (p->offset > rkm->offset)
            continue;
        p->offset = rkm->offset + 1;
    }
    err = rd_kafka_offsets_store(kc->rk, offs);
    rd_kafka_topic_partition_list_destroy(offs);
    /* A partition revoked meanwhile fails to store: its next owner
     * re-reads the batch and the inbox drops the repeats. */
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__STATE) {
        brr_log_warn("could not store offsets", "err", rd_kafka_err2str(err),
                     NULL);
        return BRR_EKAFKATRANSIENT;
    }
    return 0;
}

int brr_kc_assigned(const brr_kc_t *kc)
{
    return kc->assigned;
}

rd_kafka_t *brr_kc_handle(brr_kc_t *kc)
{
    return kc->rk;
}

void brr_kc_close(brr_kc_t *kc)
{
    if (kc == NULL)
        return;
    kc->started = 0;
    rd_kafka_queue_io_event_enable(kc->q, -1, NULL, 0);
    rd_kafka_consumer_close(kc->rk);
    rd_kafka_queue_destroy(kc->q);
    rd_kafka_destroy(kc->rk);
    free(kc->buf);
    wake_close(&kc->wake, kc);
}
