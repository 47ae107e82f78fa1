/*
 * service.h: the skeleton every brr service shares, so a service's main.c
 * stays short: configuration, logging, the admin endpoint, the outbox
 * relay, and (for consuming services) the consumer with its processing
 * runtime, all on one libuv loop; SIGTERM and SIGINT stop it cleanly.
 *
 * Common configuration (environment):
 *   BRR_PG_DSN, BRR_KAFKA_BROKERS, BRR_INSTANCE_ID, BRR_ADMIN_HOST,
 *   BRR_ADMIN_PORT, BRR_LOG_LEVEL, BRR_LOG_FORMAT, BRR_BATCH_MAX,
 *   BRR_OUTBOX_RETENTION_S, and BRR_KAFKA_<property> pass-through.
 */
#ifndef BRR_SERVICE_H
#define BRR_SERVICE_H

#include <stdint.h>
#include <uv.h>

#include "admin.h"
#include "config.h"
#include "outbox.h"
#include "pg.h"
#include "proc.h"

typedef struct brr_service brr_service_t;

typedef struct {
    const char *name;          /* "brr-capacity": logs, client ids, group */
    const char *schema;        /* "capacity" */
    const char *source;        /* CloudEvents source, "/brr/capacity" */
    int admin_port;            /* default admin port */
    const char *const *topics; /* consumed topics (NULL: consumes none) */
    size_t ntopics;
    brr_proc_apply_cb apply;
    void *arg;                        /* for apply and committed */
    const brr_config_entry_t *config; /* service's own table, or NULL */
    void (*committed)(void *arg);     /* after each consumed batch commits */
} brr_service_def_t;

struct brr_service {
    const brr_service_def_t *def;
    uv_loop_t *loop;
    brr_pg_t *pg; /* the service's working connection */
    brr_kc_t *kc; /* NULL for a service that consumes nothing */
    brr_proc_t *proc;
    brr_relay_t *relay;
    brr_outbox_t *ob;
    brr_admin_t *admin;
    uv_signal_t sigterm, sigint;
    int stopping;
    /* configuration */
    char *pg_dsn, *brokers, *instance, *admin_host, *log_level, *log_format;
    int64_t admin_port, max_batch, retention_s;
    /* called on the loop when a stop was requested, before teardown */
    void (*on_stop)(brr_service_t *svc);
    void *data;
};

/* Reads configuration (printing usage for --help), initialises logging and
 * connects; starts nothing yet.  Exits the process with a precise message
 * on bad configuration. */
int brr_service_init(brr_service_t *svc, const brr_service_def_t *def, int argc,
                     char **argv);

/* Starts the relay, the consumer (if topics were given) and the admin
 * endpoint, runs the loop until stopped, tears everything down.  Returns
 * the process exit code. */
int brr_service_run(brr_service_t *svc);

/* Requests a clean stop (from a signal or the service itself). */
void brr_service_stop(brr_service_t *svc);

#endif
