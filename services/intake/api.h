/*
 * api.h: brr-intake's HTTP API (see api.c) on top of the service skeleton.
 */
#ifndef BRR_INTAKE_API_H
#define BRR_INTAKE_API_H

#include "http.h"
#include "intake.h"
#include "peer.h"
#include "service.h"

typedef struct {
    const char *listen; /* host:port */
    const char *cert, *key;
    /* the client CAs, one per role (peer.c) */
    const char *channel_ca, *org_ca;
    const char *channels; /* comma-separated channel CNs allowed */
    /* comma-separated channels of debt counsellors (a subset of channels):
     * pauses for any arrangement, no applications */
    const char *counsellors;
    size_t max_body;
    size_t flush_max;         /* applications per commit */
    size_t committers;        /* batches committing at once (own connections) */
    const char *pg_dsn;       /* for the committers' connections */
    double rate_per_s;        /* per channel: requests per second ... */
    double rate_burst;        /* ... and the burst above that */
    uint64_t req_timeout_ms;  /* HTTP/1: whole request (headers and body) */
    uint64_t idle_timeout_ms; /* HTTP/2: idle connection */
    uint64_t handshake_timeout_ms; /* TLS handshake */
    intake_keys_t keys;
    intake_roles_t roles; /* from channel_ca and org_ca */
} intake_api_conf_t;

/* Starts the API on svc's loop, committing through svc's connection and
 * outbox.  0 or a BRR_E* code (logged). */
int intake_api_start(brr_service_t *svc, const intake_api_conf_t *conf);

/* Stops listening; answers what is pending with 503 (retryable). */
void intake_api_stop(void);

#endif
