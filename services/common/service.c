/*
 * service.c: see service.h.
 */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"

static char *pg_dsn, *brokers, *instance, *admin_host, *log_level, *log_format;
static int64_t admin_port, max_batch, retention_s;

static const brr_config_entry_t common_config[] = {
    {"BRR_PG_DSN", BRR_CONF_STRING, &pg_dsn,
     "host=127.0.0.1 port=55432 dbname=brr user=brr", 0, 0, 1,
     "libpq connection string"},
    {"BRR_KAFKA_BROKERS", BRR_CONF_STRING, &brokers, "127.0.0.1:19092", 0, 0, 0,
     "Kafka bootstrap servers"},
    {"BRR_INSTANCE_ID", BRR_CONF_STRING, &instance, "", 0, 0, 0,
     "static group membership id (default <service>-1)"},
    {"BRR_ADMIN_HOST", BRR_CONF_STRING, &admin_host, "127.0.0.1", 0, 0, 0,
     "address of /healthz, /readyz, /metrics"},
    {"BRR_ADMIN_PORT", BRR_CONF_INT, &admin_port, "0", 0, 65535, 0,
     "admin port (0: the service's default)"},
    {"BRR_LOG_LEVEL", BRR_CONF_STRING, &log_level, "info", 0, 0, 0,
     "debug, info, warn or error"},
    {"BRR_LOG_FORMAT", BRR_CONF_STRING, &log_format, "logfmt", 0, 0, 0,
     "logfmt or json"},
    {"BRR_BATCH_MAX", BRR_CONF_INT, &max_batch, "500", 1, 10000, 0,
     "messages per database transaction"},
    {"BRR_OUTBOX_RETENTION_S", BRR_CONF_INT, &retention_s, "604800", 60,
     31536000, 0, "how long published outbox rows are kept"},
    {0}};

static void on_signal(uv_signal_t *h, int signum)
{
    brr_service_t *svc = h->data;
    brr_log_info("stop requested", "signal", signum == SIGTERM ? "TERM" : "INT",
                 NULL);
    brr_service_stop(svc);
}

static int ready_pg(void *arg)
{
    brr_service_t *svc = arg;
    return brr_pg_ok(svc->pg);
}

static int ready_kafka(void *arg)
{
    brr_service_t *svc = arg;
    return svc->kc == NULL || brr_kc_assigned(svc->kc) > 0;
}

static int ready_relay(void *arg)
{
    brr_service_t *svc = arg;
    return svc->relay != NULL && brr_relay_ready(svc->relay);
}

/* Copies the runtime's own counters into the registry before a scrape. */
static void collect(void *arg)
{
    brr_service_t *svc = arg;
    const char *s = svc->def->name;
    if (svc->proc != NULL) {
        brr_proc_stats_t st;
        brr_proc_stats(svc->proc, &st);
        brr_counter_set(brr_metrics_counter("brr_consumed_batches_total",
                                            "batches committed", "service", s,
                                            NULL),
                        (double)st.batches);
        brr_counter_set(brr_metrics_counter("brr_consumed_messages_total",
                                            "messages consumed and committed",
                                            "service", s, NULL),
                        (double)st.messages);
        brr_counter_set(brr_metrics_counter("brr_applied_messages_total",
                                            "messages applied (not repeats)",
                                            "service", s, NULL),
                        (double)st.applied);
        brr_counter_set(brr_metrics_counter("brr_duplicate_messages_total",
                                            "repeats dropped by the inbox",
                                            "service", s, NULL),
                        (double)st.duplicates);
        brr_counter_set(brr_metrics_counter("brr_dead_letters_total",
                                            "messages sent to the dead "
                                            "letters",
                                            "service", s, NULL),
                        (double)st.dead_letters);
        brr_counter_set(brr_metrics_counter("brr_batch_retries_total",
                                            "batches retried after a "
                                            "transient failure",
                                            "service", s, NULL),
                        (double)st.retries);
    }
    if (svc->relay != NULL) {
        brr_counter_set(brr_metrics_counter("brr_outbox_published_total",
                                            "outbox rows published", "service",
                                            s, NULL),
                        (double)brr_relay_published(svc->relay));
        brr_counter_set(brr_metrics_counter("brr_outbox_batches_total",
                                            "outbox batches published",
                                            "service", s, NULL),
                        (double)brr_relay_batches(svc->relay));
    }
    if (svc->kc != NULL)
        brr_gauge_set(brr_metrics_gauge("brr_partitions_assigned",
                                        "partitions assigned to this "
                                        "instance",
                                        "service", s, NULL),
                      (double)brr_kc_assigned(svc->kc));
}

static void usage_exit(const brr_service_def_t *def)
{
    printf("usage: %s\n\nconfiguration (environment):\n", def->name);
    brr_config_usage(common_config);
    if (def->config != NULL)
        brr_config_usage(def->config);
    exit(0);
}

int brr_service_init(brr_service_t *svc, const brr_service_def_t *def, int argc,
                     char **argv)
{
    char err[512];
    brr_log_level_t lvl;
    static char inst[128];

    memset(svc, 0, sizeof(*svc));
    svc->def = def;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            usage_exit(def);
    brr_log_init(def->name, BRR_LOG_INFO, BRR_LOG_LOGFMT);
    if (brr_config_load(common_config, err, sizeof(err)) != 0 ||
        (def->config != NULL &&
         brr_config_load(def->config, err, sizeof(err)) != 0)) {
        brr_log_error("invalid configuration", "err", err, NULL);
        exit(2);
    }
    if (brr_log_level_parse(log_level, &lvl) != 0) {
        brr_log_error("invalid configuration", "err",
                      "BRR_LOG_LEVEL must be debug, info, warn or error", NULL);
        exit(2);
    }
    brr_log_init(def->name, lvl,
                 strcmp(log_format, "json") == 0 ? BRR_LOG_JSON
                                                 : BRR_LOG_LOGFMT);
    if (instance[0] == '\0') {
        snprintf(inst, sizeof(inst), "%s-1", def->name);
        instance = inst;
    }
    svc->pg_dsn = pg_dsn;
    svc->brokers = brokers;
    svc->instance = instance;
    svc->admin_host = admin_host;
    svc->admin_port = admin_port ? admin_port : def->admin_port;
    svc->max_batch = max_batch;
    svc->retention_s = retention_s;
    svc->loop = uv_default_loop();
    brr_pg_connect(svc->pg_dsn, def->name, &svc->pg); /* retried later */
    svc->ob = brr_outbox_new(def->schema, def->source);
    return 0;
}

int brr_service_run(brr_service_t *svc)
{
    const brr_service_def_t *def = svc->def;
    int rc;

    uv_signal_init(svc->loop, &svc->sigterm);
    uv_signal_init(svc->loop, &svc->sigint);
    svc->sigterm.data = svc->sigint.data = svc;
    uv_signal_start(&svc->sigterm, on_signal, SIGTERM);
    uv_signal_start(&svc->sigint, on_signal, SIGINT);

    rc = brr_admin_start(svc->loop, svc->admin_host, (int)svc->admin_port,
                         &svc->admin);
    if (rc != 0) {
        char port[16];
        snprintf(port, sizeof(port), "%d", (int)svc->admin_port);
        brr_log_error("could not start admin endpoint", "port", port, "err",
                      brr_strerror(rc), NULL);
        return 1;
    }
    brr_admin_add_ready_check(svc->admin, "postgres", ready_pg, svc);
    brr_metrics_add_collector(collect, svc);
    brr_admin_add_ready_check(svc->admin, "outbox_relay", ready_relay, svc);

    rc = brr_relay_start(svc->loop, svc->pg_dsn, def->schema, svc->brokers,
                         svc->instance, (int)svc->retention_s, &svc->relay);
    if (rc != 0) {
        brr_log_error("could not start outbox relay", "err", brr_strerror(rc),
                      NULL);
        return 1;
    }
    if (def->ntopics > 0) {
        brr_proc_conf_t pc = {def->schema, def->name,  def->apply,    def->arg,
                              svc->ob,     svc->relay, def->committed};
        rc = brr_kc_new(svc->loop, svc->brokers, def->name, svc->instance,
                        def->topics, def->ntopics, &svc->kc);
        if (rc != 0) {
            brr_log_error("could not start consumer", "err", brr_strerror(rc),
                          NULL);
            return 1;
        }
        brr_admin_add_ready_check(svc->admin, "kafka", ready_kafka, svc);
        svc->proc = brr_proc_start(svc->loop, svc->kc, svc->pg, &pc,
                                   (size_t)svc->max_batch);
    }
    brr_log_info("service started", "instance", svc->instance, NULL);
    uv_run(svc->loop, UV_RUN_DEFAULT);
    brr_log_info("service stopped", NULL);
    return 0;
}

void brr_service_stop(brr_service_t *svc)
{
    if (svc->stopping)
        return;
    svc->stopping = 1;
    if (svc->on_stop != NULL)
        svc->on_stop(svc);
    if (svc->proc != NULL) {
        brr_proc_stop(svc->proc);
        svc->proc = NULL;
    }
    if (svc->kc != NULL) {
        brr_kc_close(svc->kc);
        svc->kc = NULL;
    }
    if (svc->relay != NULL) {
        brr_relay_stop(svc->relay, 5000);
        svc->relay = NULL;
    }
    if (svc->admin != NULL) {
        brr_admin_stop(svc->admin);
        svc->admin = NULL;
    }
    brr_outbox_free(svc->ob);
    svc->ob = NULL;
    brr_pg_close(svc->pg);
    svc->pg = NULL;
    /* The loop ends once every handle is closed: the service closed its
     * own in on_stop, the modules above close theirs asynchronously. */
    uv_close((uv_handle_t *)&svc->sigterm, NULL);
    uv_close((uv_handle_t *)&svc->sigint, NULL);
}
