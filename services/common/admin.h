/*
 * admin.h: the internal admin endpoint every brr service runs.
 *
 * Plain HTTP on an internal address (127.0.0.1 by default, see the
 * service's BRR_ADMIN_HOST/PORT) with three routes:
 *   GET /healthz  200 while the loop turns: a uv_timer heartbeat younger
 *                 than the stale limit (503 otherwise);
 *   GET /readyz   200 when every registered readiness check says ready,
 *                 else 503 with {"status":"not ready","failing":[names]};
 *   GET /metrics  the metrics.h registry, Prometheus text format 0.0.4.
 * More routes may be added on brr_admin_server() (the organisation
 * simulator's fault injection lives there).
 */
#ifndef BRR_ADMIN_H
#define BRR_ADMIN_H

#include <stdint.h>
#include <uv.h>

#include "http.h"

typedef struct brr_admin brr_admin_t;

/* A readiness check: nonzero when ready.  Runs on every GET /readyz from
 * the loop, so it must be cheap (report state the service keeps, e.g.
 * "connected", "partitions assigned"); it must not block. */
typedef int (*brr_admin_check_cb)(void *arg);

/* Starts the endpoint on host:port (port 0: ephemeral, see
 * brr_admin_port).  0, BRR_EINVAL or BRR_EIO (could not listen; logged).
 * On failure nothing is left open and *out is untouched. */
int brr_admin_start(uv_loop_t *loop, const char *host, int port,
                    brr_admin_t **out);

/* Registers a readiness check under name (copied; shown when failing). */
void brr_admin_add_ready_check(brr_admin_t *adm, const char *name,
                               brr_admin_check_cb check, void *arg);

/* Heartbeat period and the age after which /healthz answers 503 (defaults
 * 1000 ms and 5000 ms). */
void brr_admin_set_heartbeat(brr_admin_t *adm, uint64_t interval_ms,
                             uint64_t stale_ms);

/* The port listened on. */
int brr_admin_port(const brr_admin_t *adm);

/* The underlying server, to add routes (brr_http_server_route). */
brr_http_server_t *brr_admin_server(brr_admin_t *adm);

/* Stops: closes the listener and the heartbeat, lets in-flight requests
 * finish, and frees adm once every handle is closed (from the loop; the
 * loop keeps turning until then).  adm is invalid after the call.  NULL is
 * fine. */
void brr_admin_stop(brr_admin_t *adm);

#endif
