/*
 * deliver.h: brr-connector's HTTP delivery engine: one signed POST of a
 * CloudEvent to an organisation's HTTPS endpoint, asynchronously, on the
 * service's libuv loop.
 *
 * libcurl's multi interface is driven by the caller's uv_loop_t (one
 * uv_poll_t per socket curl asks us to watch, one uv_timer_t for curl's
 * timeout; curl_multi_socket_action on every event), so thousands of
 * deliveries are in flight on one thread.  Connections are kept alive and
 * reused between deliveries to the same endpoint; the number per host is
 * bounded (extra requests wait inside curl for a free connection).
 *
 * The process must ignore SIGPIPE (signal(SIGPIPE, SIG_IGN) in main):
 * OpenSSL writes to sockets with write(2), so a peer that hangs up at the
 * wrong moment would otherwise kill the service.
 *
 * The engine only sends and classifies.  Whether and when to try again, the
 * order per (organisation, arrangement) and the delivery log belong to the
 * caller (see backoff.h for the retry rules).
 *
 * Usage:
 *     conn_deliver_t *d;
 *     conn_deliver_init(loop, NULL, &d);
 *     conn_deliver_post(d, &ep, &req, on_done, ctx);   // on_done runs later
 *     ...
 *     conn_deliver_close(d, on_closed, ctx);  // cancels, then uv handles close
 *     uv_run(loop, UV_RUN_DEFAULT);           // until on_closed has run
 */
#ifndef CONN_DELIVER_H
#define CONN_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "webhook.h"

typedef struct conn_deliver_s conn_deliver_t;

typedef enum {
    CONN_DELIVERED = 0, /* 2xx: done */
    CONN_RETRY_AFTER,   /* 429 or 503 with a usable Retry-After */
    CONN_GONE,          /* 410: disable the endpoint until an operator acts */
    CONN_RETRY,         /* anything else, incl. network and TLS errors */
    CONN_CANCELLED,     /* conn_deliver_close ran first; nothing is known */
} conn_outcome_t;

typedef struct {
    long max_host_connections;  /* per host; default 16, 0 = unlimited */
    long max_total_connections; /* default 0 = unlimited */
    long max_connects;          /* idle connection cache; default 64 */
    uint32_t retry_after_max_s; /* cap on Retry-After; 0 = 6 h default */
} conn_deliver_opts_t;

typedef struct {
    const char *url;             /* https://...; required */
    const char *client_cert;     /* PEM file for mutual TLS; NULL for none */
    const char *client_key;      /* PEM file; NULL when inside client_cert */
    const char *ca_bundle;       /* PEM file of trusted CAs; NULL for system */
    const char *bearer_token;    /* Authorization: Bearer; NULL for none */
    uint32_t connect_timeout_ms; /* 0 = 10 s */
    uint32_t timeout_ms;         /* whole request; 0 = 30 s */
    int allow_http;              /* accept http:// (local tests only) */
    int http1_only;              /* no HTTP/2 even if ALPN offers it */
} conn_endpoint_t;

typedef struct {
    const char *event_id; /* webhook-id: the event's id; required */
    int64_t timestamp;    /* webhook-timestamp, Unix s; 0 = now */
    const void *body;     /* the CloudEvent JSON; copied */
    size_t body_len;
    const conn_webhook_secret_t *secrets; /* 1 or 2 (rotation), current
                                             first; copied */
    size_t nsecrets;
    const char *traceparent; /* W3C traceparent; NULL for none */
} conn_request_t;

typedef struct {
    conn_outcome_t outcome;
    int status;            /* HTTP status; 0 on network/TLS error, cancel */
    int curl_code;         /* CURLcode; 0 when the exchange completed */
    const char *error;     /* curl's error text, "" if none; valid only
                              during the callback */
    uint64_t latency_us;   /* curl's total time of the transfer */
    int64_t retry_after_s; /* parsed Retry-After, capped; -1 if absent */
} conn_result_t;

/* Called once per accepted post, from the loop (never from inside
 * conn_deliver_post), with the outcome.  It may post again; it may call
 * conn_deliver_close. */
typedef void (*conn_deliver_cb)(const conn_result_t *res, void *arg);

/* Called once when conn_deliver_close has finished and the engine is
 * freed. */
typedef void (*conn_deliver_close_cb)(void *arg);

/* Creates an engine on loop (opts NULL for the defaults) into *out.
 * Initialises libcurl globally on first use (call curl_global_init in main
 * first if other threads use curl).  Returns 0, or BRR_EINTERNAL when curl
 * or the timer cannot be set up. */
int conn_deliver_init(uv_loop_t *loop, const conn_deliver_opts_t *opts,
                      conn_deliver_t **out);

/* Starts one delivery: POST req->body to ep->url with the Standard Webhooks
 * headers, Content-Type application/cloudevents+json, traceparent and the
 * bearer token, over TLS 1.2 or newer with peer and host verification and
 * the endpoint's client certificate.  Everything is copied; ep and req may
 * be freed on return.  On 0, cb(res, arg) runs exactly once later; on
 * failure it never runs: BRR_EINVAL (missing field, header value with
 * control characters, a URL not https:// unless allow_http, engine
 * closing), BRR_ECONFIG (an option this libcurl refuses), BRR_ECRYPTO
 * (signing), BRR_EINTERNAL. */
int conn_deliver_post(conn_deliver_t *d, const conn_endpoint_t *ep,
                      const conn_request_t *req, conn_deliver_cb cb, void *arg);

/* Deliveries started and not yet reported. */
size_t conn_deliver_inflight(const conn_deliver_t *d);

/* Changes max_host_connections (0 = unlimited) while running, and grows
 * the idle cache to hold that many.  Transfers over the limit wait inside
 * curl for a connection or, on HTTP/2, for a free stream on one.  Without
 * a limit a burst of more transfers than one HTTP/2 connection's streams
 * (100 at most servers) opens a connection, and a TLS handshake, for
 * nearly every transfer over that. */
void conn_deliver_limit_host(conn_deliver_t *d, long max_host_connections);

/* Cancels every delivery in flight (each callback runs with
 * CONN_CANCELLED, status 0, before this returns, or right after the
 * current callback when called from one), closes all connections and
 * starts closing the uv handles.  close_cb (may be NULL) runs from the loop
 * once the last handle is closed and d is freed; keep running the loop
 * until then.  Call once; d must not be used afterwards. */
void conn_deliver_close(conn_deliver_t *d, conn_deliver_close_cb close_cb,
                        void *arg);

/* The classification rule, exposed for tests and the delivery log. */
conn_outcome_t conn_deliver_classify(int curl_code, int status,
                                     int has_retry_after);

/* "delivered", "retry_after", "gone", "retry", "cancelled". */
const char *conn_outcome_name(conn_outcome_t outcome);

#endif
