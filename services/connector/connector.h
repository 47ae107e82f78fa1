/*
 * connector.h: brr-connector's modules.
 *
 *   main.c      consumes brr.organisations.<org>.v1 into the durable
 *               delivery queue (connector.deliveries), one row per event
 *               and organisation with its sequence per arrangement
 *   dispatch.c  sends the head of every (organisation, arrangement) queue
 *               that is due (found through the key counters in
 *               connector.sequences, so the cost does not grow with a
 *               backlog), records each attempt and its outcome, keeps each
 *               organisation's health in connector.org_status, and reports
 *               deliveries on brr.connector.deliveries.v1
 *
 * brrctl deliveries and brrctl replay (services/brrctl/deliveries.c) read
 * and change the same tables.
 */
#ifndef BRR_CONNECTOR_H
#define BRR_CONNECTOR_H

#include <stdint.h>

#include "service.h"

typedef struct {
    const char *oin;      /* the sending system's OIN (CloudEvent source) */
    int64_t max_age_s;    /* park after this long undelivered */
    int64_t max_inflight; /* deliveries in flight over all organisations */
    int64_t registry_refresh_ms;
} conn_dispatch_conf_t;

/* Starts dispatching on svc's loop with its own database connection.
 * 0 or a BRR_E* code. */
int conn_dispatch_start(brr_service_t *svc, const conn_dispatch_conf_t *conf);

/* New rows were committed: look for work now. */
void conn_dispatch_kick(void);

/* The same, as the service's after-commit hook (arg unused). */
void conn_dispatch_committed(void *arg);

/* Cancels what is in flight (it stays pending) and closes. */
void conn_dispatch_stop(void);

#endif
