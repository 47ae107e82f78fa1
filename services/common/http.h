/*
 * http.h: the HTTP server building block on libh2o 2.2.5 (libuv flavour).
 *
 * brr-intake's public API, every service's admin endpoint and the
 * organisation simulator sit on this.  A server lives on a caller-supplied
 * uv_loop_t, listens on one host:port, plain or TLS 1.2+ (optionally
 * requiring a client certificate from one or two CA files; ALPN offers h2
 * and http/1.1), and dispatches by longest path prefix to brr handlers.  h2o
 * buffers the whole request body before the handler runs and answers 413
 * itself when it exceeds max_body.
 *
 * brr_http_server_init ignores SIGPIPE process-wide (a peer closing early
 * must not kill the process).
 *
 * Lifecycle (libuv's verbs): brr_http_server_init, brr_http_server_route
 * (any time), brr_http_server_start, brr_http_server_stop.  Stop closes the
 * listener, lets in-flight requests finish (HTTP/2 peers get GOAWAY, idle
 * HTTP/1 keep-alive connections are closed), then closes every handle and
 * frees the server before calling the on_stopped callback.
 *
 * Deferred responses: a handler may return 0 without answering and answer
 * later from the loop (intake answers each request after the batch commit).
 * h2o keeps the request alive until it is answered or its connection dies.
 * Because the client may go away first (an HTTP/2 stream reset, a closed
 * connection), never keep a bare h2o_req_t * across loop turns: take a
 * brr_http_deferred_t with brr_http_defer() and finish it exactly once with
 * brr_http_deferred_send() (a no-op if the request is already gone) or
 * brr_http_deferred_release().  See brr_http_defer() for the details.
 */
#ifndef BRR_HTTP_H
#define BRR_HTTP_H

#include <stddef.h>
#include <uv.h>
#include <h2o.h>
#include <openssl/x509.h>

typedef struct brr_http_server brr_http_server_t;
typedef struct brr_http_deferred brr_http_deferred_t;

/* A handler.  Returns 0 when it has answered req or will answer it later
 * (deferred); nonzero makes the server answer 500 (if the handler has not
 * started a response).  data is the pointer given to brr_http_server_route. */
typedef int (*brr_http_handler_cb)(h2o_req_t *req, void *data);

typedef struct {
    const char *cert_file;        /* PEM chain, server certificate first */
    const char *key_file;         /* PEM private key */
    const char *client_ca_file;   /* NULL: no client certificate requested;
                                     else one is required and verified */
    const char *client_ca_file_2; /* NULL, or a second PEM file of CAs
                                     trusted beside client_ca_file (one
                                     file per kind of client) */
} brr_http_tls_t;

typedef struct {
    const char *host;          /* IPv4 or IPv6 literal, e.g. "127.0.0.1" */
    int port;                  /* 0: an ephemeral port (brr_http_server_port) */
    const brr_http_tls_t *tls; /* NULL: plain HTTP */
    size_t max_body;           /* request entity limit; 0: 1 MiB */
    const char *name;          /* for logs, e.g. "intake"; NULL: "http" */
    /* Timeouts in milliseconds; 0 keeps the default (10 s each).
     * req_timeout_ms: HTTP/1, from the first byte of a request until its
     * headers and body are in (also how long a keep-alive connection may
     * idle); idle_timeout_ms: HTTP/2, a connection without traffic;
     * handshake_timeout_ms: the TLS handshake. */
    uint64_t req_timeout_ms;
    uint64_t idle_timeout_ms;
    uint64_t handshake_timeout_ms;
} brr_http_conf_t;

/* Creates a server on loop from conf (copied) and loads the TLS material.
 * Nothing listens until brr_http_server_start.  0, BRR_EINVAL or BRR_ETLS
 * (the OpenSSL reason is logged).  On failure *out is untouched. */
int brr_http_server_init(uv_loop_t *loop, const brr_http_conf_t *conf,
                         brr_http_server_t **out);

/* Routes requests whose path starts with prefix (e.g. "/orgs/"; "/" for
 * everything) and, when method is not NULL, whose method is method, to cb.
 * The longest matching prefix wins; a prefix that matches only with another
 * method gives 405, no match 404.  May be called after start. */
void brr_http_server_route(brr_http_server_t *srv, const char *method,
                           const char *prefix, brr_http_handler_cb cb,
                           void *data);

/* Binds and listens.  0, BRR_EINVAL (bad address) or BRR_EIO (bind/listen
 * failed, e.g. port in use; logged).  If it fails the server may be started
 * again or stopped. */
int brr_http_server_start(brr_http_server_t *srv);

/* The port actually listened on (useful with port 0); 0 before start. */
int brr_http_server_port(const brr_http_server_t *srv);

/* Stops gracefully: closes the listener, lets in-flight (including
 * deferred) requests finish, then releases every handle and frees srv.
 * on_stopped (may be NULL) runs after that, from the loop; srv is invalid
 * from then on.  Call once. */
void brr_http_server_stop(brr_http_server_t *srv, void (*on_stopped)(void *arg),
                          void *arg);

/* Number of open connections (tests and metrics). */
size_t brr_http_server_connections(const brr_http_server_t *srv);

/* Sends the whole response: status, Content-Type (NULL: none) and body
 * (both copied; NULL with len 0 for none).  Call once per request. */
void brr_http_send(h2o_req_t *req, int status, const char *content_type,
                   const void *body, size_t len);

/* Adds a response header (name and value copied, the name lower-cased);
 * call before brr_http_send. */
void brr_http_add_header(h2o_req_t *req, const char *name, const char *value);

/* Finds request header name (case-insensitive).  Returns 0 and sets *value
 * and *len (not NUL-terminated, owned by req) or BRR_ENOTFOUND. */
int brr_http_header(h2o_req_t *req, const char *name, const char **value,
                    size_t *len);

/* The request body (h2o enforced the server's max_body already).  *body
 * may be NULL with *len 0 when there is none.  Returns 0, or BRR_ERANGE
 * when the body is longer than max (the caller answers 413). */
int brr_http_body(h2o_req_t *req, size_t max, const char **body, size_t *len);

/* Nonzero when req->method equals method. */
int brr_http_method_is(h2o_req_t *req, const char *method);

/* Copies the subject CN of the verified client certificate into out.
 * Returns 0, BRR_ENOTFOUND (plain connection or no certificate or no CN)
 * or BRR_ERANGE (does not fit cap with its NUL). */
int brr_http_peer_subject_cn(h2o_req_t *req, char *out, size_t cap);

/* The verified client certificate of req's connection (also on a resumed
 * session): 0 with *out holding a reference the caller frees with
 * X509_free, or BRR_ENOTFOUND (plain connection, no certificate, or one
 * that did not verify). */
int brr_http_peer_cert(h2o_req_t *req, X509 **out);

/* Copies the subject CN of cert into out.  0, BRR_ENOTFOUND (no CN) or
 * BRR_ERANGE (does not fit cap with its NUL, or holds a NUL). */
int brr_http_cert_cn(X509 *cert, char *out, size_t cap);

/*
 * Deferred responses.
 *
 * brr_http_defer(req, on_cancel, arg) hands back a heap object that outlives
 * req.  It holds req until either
 *   - the caller finishes it: brr_http_deferred_send() answers (if the
 *     request is still alive) and frees the object, or
 *     brr_http_deferred_release() answers 503 if still alive and frees it;
 *   - h2o disposes of the request first (client reset the stream or the
 *     connection closed): a dispose hook, registered with
 *     h2o_mem_alloc_shared() on req->pool, clears the object's request and
 *     calls on_cancel(arg) (may be NULL) from inside h2o.  The object stays
 *     allocated; the caller still finishes it, and the send is a no-op.
 * on_cancel must not call brr_http_deferred_send/_release (mark the pending
 * entry cancelled instead).  Between defer and finish, brr_http_deferred_req
 * gives the live request (to add headers) or NULL.
 */
brr_http_deferred_t *brr_http_defer(h2o_req_t *req, void (*on_cancel)(void *),
                                    void *arg);

/* The live request, or NULL when the client went away. */
h2o_req_t *brr_http_deferred_req(brr_http_deferred_t *d);

/* Answers (see brr_http_send) and frees d.  Returns 0, or BRR_ENOTFOUND
 * when the request was gone (nothing sent). */
int brr_http_deferred_send(brr_http_deferred_t *d, int status,
                           const char *content_type, const void *body,
                           size_t len);

/* Frees d, answering 503 if the request is still alive. */
void brr_http_deferred_release(brr_http_deferred_t *d);

#endif
