/*
 * api.h: brr-intake's HTTP API (see api.c) on top of the service skeleton.
 */
#ifndef BRR_INTAKE_API_H
#define BRR_INTAKE_API_H

#include "http.h"
#include "intake.h"
#include "service.h"

typedef struct {
    const char *listen;      /* host:port */
    const char *cert, *key, *client_ca;
    const char *channels;    /* comma-separated channel CNs allowed */
    size_t max_body;
    size_t flush_max;        /* applications per commit */
    intake_keys_t keys;
} intake_api_conf_t;

/* Starts the API on svc's loop, committing through svc's connection and
 * outbox.  0 or a BRR_E* code (logged). */
int intake_api_start(brr_service_t *svc, const intake_api_conf_t *conf);

/* Stops listening; answers what is pending with 503 (retryable). */
void intake_api_stop(void);

#endif
