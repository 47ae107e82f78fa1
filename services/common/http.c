/*
 * http.c: the HTTP server of http.h on libh2o 2.2.5 and libuv.
 *
 * One h2o context per server, one catch-all h2o handler that dispatches to
 * brr routes by longest prefix, connections accepted on our own uv_tcp_t
 * listener and tracked so that stop knows when the last one is gone.
 * Every dispatched request carries a small shared chunk on its pool whose
 * dispose hook tells us when h2o is done with it (the in-flight list), which
 * is how stop tells busy HTTP/1 connections from idle keep-alive ones.
 * Every connection reads through conn_read, which keeps libuv's "nothing
 * to read" from reaching h2o as an error (see conn_read).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "err.h"
#include "http.h"
#include "log.h"

#define BRR_HTTP_DEFAULT_MAX_BODY (1024 * 1024)
#define BRR_HTTP_DEFAULT_IDLE_MS 10000

typedef struct {
    char *method; /* NULL: any */
    char *prefix;
    size_t prefix_len;
    brr_http_handler_cb cb;
    void *data;
} brr_http_route_t;

/* An accepted connection; tcp first so the uv callbacks can cast. */
typedef struct {
    uv_tcp_t tcp;
    brr_http_server_t *srv;
    h2o_socket_t *sock;
    uv_read_cb h2o_read; /* h2o's read callback, which conn_read calls */
    h2o_linklist_t link;
} brr_http_conn_t;

/* Lives in a request's pool; unlinked by h2o's dispose of the request. */
typedef struct {
    h2o_linklist_t link;
    h2o_req_t *req;
} brr_http_inflight_t;

typedef struct {
    h2o_handler_t super;
    brr_http_server_t *srv;
} brr_http_h2o_handler_t;

enum { LISTENER_NONE = 0, LISTENER_OPEN, LISTENER_CLOSING, LISTENER_CLOSED };

struct brr_http_server {
    uv_loop_t *loop;
    char *name;
    char *host;
    int port;
    SSL_CTX *ssl_ctx;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    int listener_state;
    brr_http_route_t *routes;
    size_t nroutes;
    h2o_linklist_t conns;
    size_t nconns;
    h2o_linklist_t inflight;
    int stopping;
    int finishing;
    /* Before each poll of the loop: see conn_read. */
    uv_prepare_t read_guard;
    /* Two handles closed one loop turn apart: see finish_stop(). */
    uv_idle_t closer_a;
    uv_idle_t closer_b;
    void (*on_stopped)(void *arg);
    void *on_stopped_arg;
};

struct brr_http_deferred {
    h2o_req_t *req; /* NULL once h2o disposed of the request */
    struct brr_http_deferred_slot *slot;
    void (*on_cancel)(void *arg);
    void *arg;
};

/* The pool side of a deferred response. */
struct brr_http_deferred_slot {
    brr_http_deferred_t *d; /* NULL once the caller answered */
};

/* The head of libh2o 2.2.5's private struct st_h2o_socket_ssl_t
 * (lib/common/socket.c): its first two members.  See peer_ssl(). */
struct brr_h2o_socket_ssl_head {
    SSL_CTX *ssl_ctx;
    SSL *ossl;
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        abort();
    return p;
}

static brr_http_server_t *server_of_req(h2o_req_t *req)
{
    return H2O_STRUCT_FROM_MEMBER(brr_http_server_t, ctx, req->conn->ctx);
}

static void log_ssl_error(const brr_http_server_t *srv, const char *msg,
                          const char *file)
{
    char reason[256] = "unknown";
    unsigned long e = ERR_get_error();

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    brr_log_error(msg, "server", srv->name, "file", file ? file : "", "err",
                  reason, NULL);
}

static int tls_init(brr_http_server_t *srv, const brr_http_tls_t *tls)
{
    SSL_CTX *ssl_ctx;
    static const unsigned char sid_ctx[] = "brr";

    if (tls->cert_file == NULL || tls->key_file == NULL)
        return BRR_EINVAL;
    ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (ssl_ctx == NULL) {
        log_ssl_error(srv, "could not create tls context", NULL);
        return BRR_ETLS;
    }
    SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_COMPRESSION |
                                     SSL_OP_CIPHER_SERVER_PREFERENCE |
                                     SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_cipher_list(ssl_ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
        goto fail_ciphers;
    /* Without a session id context OpenSSL refuses to resume sessions of
     * verified clients. */
    SSL_CTX_set_session_id_context(ssl_ctx, sid_ctx, sizeof(sid_ctx) - 1);
    if (SSL_CTX_use_certificate_chain_file(ssl_ctx, tls->cert_file) != 1) {
        log_ssl_error(srv, "could not load certificate", tls->cert_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ssl_ctx, tls->key_file, SSL_FILETYPE_PEM) !=
            1 ||
        SSL_CTX_check_private_key(ssl_ctx) != 1) {
        log_ssl_error(srv, "could not load private key", tls->key_file);
        goto fail;
    }
    if (tls->client_ca_file != NULL) {
        STACK_OF(X509_NAME) * names;

        if (SSL_CTX_load_verify_locations(ssl_ctx, tls->client_ca_file, NULL) !=
            1) {
            log_ssl_error(srv, "could not load client ca", tls->client_ca_file);
            goto fail;
        }
        names = SSL_load_client_CA_file(tls->client_ca_file);
        if (names == NULL) {
            log_ssl_error(srv, "could not read client ca names",
                          tls->client_ca_file);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ssl_ctx, names); /* owned by ssl_ctx */
        if (tls->client_ca_file_2 != NULL &&
            (SSL_CTX_load_verify_locations(ssl_ctx, tls->client_ca_file_2,
                                           NULL) != 1 ||
             SSL_add_file_cert_subjects_to_stack(
                 SSL_CTX_get_client_CA_list(ssl_ctx), tls->client_ca_file_2) !=
                 1)) {
            log_ssl_error(srv, "could not load client ca",
                          tls->client_ca_file_2);
            goto fail;
        }
        SSL_CTX_set_verify(
            ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    h2o_ssl_register_alpn_protocols(ssl_ctx, h2o_alpn_protocols);
    srv->ssl_ctx = ssl_ctx;
    return 0;

fail_ciphers:
    log_ssl_error(srv, "could not set cipher list", NULL);
fail:
    SSL_CTX_free(ssl_ctx);
    return BRR_ETLS;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    }
    return status < 400 ? "OK" : "Error";
}

void brr_http_send(h2o_req_t *req, int status, const char *content_type,
                   const void *body, size_t len)
{
    brr_http_server_t *srv = server_of_req(req);

    if (body == NULL)
        body = "";
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    if (content_type != NULL) {
        h2o_iovec_t ct = h2o_strdup(&req->pool, content_type, SIZE_MAX);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
                       NULL, ct.base, ct.len);
    }
    if (status != 204 && status != 304)
        req->res.content_length = len;
    /* While stopping, an HTTP/1 connection ends with this response. */
    if (srv->stopping)
        req->http1_is_persistent = 0;
    h2o_send_inline(req, body, len);
}

void brr_http_add_header(h2o_req_t *req, const char *name, const char *value)
{
    /* h2o keeps the pointers it is given: copy both into the request's
     * pool, the name lower-cased as HTTP/2 requires. */
    h2o_iovec_t n = h2o_strdup(&req->pool, name, strlen(name));
    h2o_iovec_t v = h2o_strdup(&req->pool, value, strlen(value));
    size_t i;

    for (i = 0; i < n.len; i++)
        if (n.base[i] >= 'A' && n.base[i] <= 'Z')
            n.base[i] += 32;
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL,
                          v.base, v.len);
}

int brr_http_header(h2o_req_t *req, const char *name, const char **value,
                    size_t *len)
{
    char lname[128];
    size_t n = strlen(name), i;
    ssize_t at;

    if (n == 0 || n >= sizeof(lname))
        return BRR_ENOTFOUND;
    for (i = 0; i < n; i++)
        lname[i] = (name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i];
    at = h2o_find_header_by_str(&req->headers, lname, n, -1);
    if (at < 0)
        return BRR_ENOTFOUND;
    *value = req->headers.entries[at].value.base;
    *len = req->headers.entries[at].value.len;
    return 0;
}

int brr_http_body(h2o_req_t *req, size_t max, const char **body, size_t *len)
{
    *body = req->entity.base;
    *len = req->entity.base != NULL ? req->entity.len : 0;
    if (*len > max)
        return BRR_ERANGE;
    return 0;
}

int brr_http_method_is(h2o_req_t *req, const char *method)
{
    size_t n = strlen(method);

    return req->method.len == n && memcmp(req->method.base, method, n) == 0;
}

/* The SSL * of the request's connection, or NULL for a plain connection.
 * libh2o 2.2.5 offers no accessor, so we read the head of its private
 * socket struct.  The SSL_CTX member must be the one we created: if an
 * upgrade moves the members, this fails loudly instead of reading garbage
 * (and test_http's client-certificate test fails). */
static SSL *peer_ssl(h2o_req_t *req, int *layout_ok)
{
    brr_http_server_t *srv = server_of_req(req);
    h2o_socket_t *sock;
    const struct brr_h2o_socket_ssl_head *head;

    *layout_ok = 1;
    if (req->conn->callbacks->get_socket == NULL)
        return NULL;
    sock = req->conn->callbacks->get_socket(req->conn);
    if (sock == NULL || sock->ssl == NULL || srv->ssl_ctx == NULL)
        return NULL;
    head = (const struct brr_h2o_socket_ssl_head *)sock->ssl;
    if (head->ssl_ctx != srv->ssl_ctx || head->ossl == NULL ||
        SSL_get_SSL_CTX(head->ossl) != srv->ssl_ctx) {
        *layout_ok = 0;
        return NULL;
    }
    return head->ossl;
}

int brr_http_peer_cert(h2o_req_t *req, X509 **out)
{
    int layout_ok;
    SSL *ssl = peer_ssl(req, &layout_ok);
    X509 *cert;

    if (!layout_ok) {
        brr_log_error("libh2o socket layout is not the expected one: "
                      "cannot read the client certificate",
                      NULL);
        return BRR_EINTERNAL;
    }
    if (ssl == NULL)
        return BRR_ENOTFOUND;
    cert = SSL_get1_peer_certificate(ssl);
    if (cert == NULL)
        return BRR_ENOTFOUND;
    if (SSL_get_verify_result(ssl) != X509_V_OK) {
        X509_free(cert);
        return BRR_ENOTFOUND;
    }
    *out = cert; /* the caller's reference now */
    return 0;
}

int brr_http_cert_cn(X509 *cert, char *out, size_t cap)
{
    int idx, n, rc = BRR_ENOTFOUND;
    X509_NAME *subject = X509_get_subject_name(cert);
    ASN1_STRING *data;
    unsigned char *utf8 = NULL;

    idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx < 0)
        return BRR_ENOTFOUND;
    data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n < 0)
        return BRR_ENOTFOUND;
    if ((size_t)n >= cap || memchr(utf8, '\0', (size_t)n) != NULL) {
        rc = BRR_ERANGE;
        goto out;
    }
    memcpy(out, utf8, (size_t)n);
    out[n] = '\0';
    rc = 0;
out:
    OPENSSL_free(utf8);
    return rc;
}

int brr_http_peer_subject_cn(h2o_req_t *req, char *out, size_t cap)
{
    X509 *cert = NULL;
    int rc = brr_http_peer_cert(req, &cert);

    if (rc != 0)
        return rc;
    rc = brr_http_cert_cn(cert, out, cap);
    X509_free(cert);
    return rc;
}

static void inflight_on_dispose(void *p)
{
    brr_http_inflight_t *inf = p;

    h2o_linklist_unlink(&inf->link);
}

static const brr_http_route_t *route_find(const brr_http_server_t *srv,
                                          h2o_req_t *req, int *method_ok)
{
    const brr_http_route_t *best = NULL, *best_any = NULL;
    const h2o_iovec_t path = req->path_normalized;
    size_t i;

    for (i = 0; i < srv->nroutes; i++) {
        const brr_http_route_t *r = &srv->routes[i];

        if (path.len < r->prefix_len ||
            memcmp(path.base, r->prefix, r->prefix_len) != 0)
            continue;
        if (best_any == NULL || r->prefix_len > best_any->prefix_len)
            best_any = r;
        if (r->method != NULL && !brr_http_method_is(req, r->method))
            continue;
        if (best == NULL || r->prefix_len > best->prefix_len)
            best = r;
    }
    /* A longer prefix for another method is a 405, not a fall back. */
    if (best != NULL && best_any->prefix_len > best->prefix_len)
        best = NULL;
    *method_ok = best != NULL || best_any == NULL;
    return best;
}

static const char not_found_json[] = "{\"title\":\"not found\",\"status\":404}";
static const char not_allowed_json[] =
    "{\"title\":\"method not allowed\",\"status\":405}";
static const char internal_json[] =
    "{\"title\":\"internal error\",\"status\":500}";

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    brr_http_server_t *srv = ((brr_http_h2o_handler_t *)self)->srv;
    const brr_http_route_t *route;
    brr_http_inflight_t *inf;
    int method_ok;

    inf = h2o_mem_alloc_shared(&req->pool, sizeof(*inf), inflight_on_dispose);
    memset(inf, 0, sizeof(*inf)); /* pool memory is not zeroed: the link
                                     must start unlinked */
    inf->req = req;
    h2o_linklist_insert(&srv->inflight, &inf->link);

    route = route_find(srv, req, &method_ok);
    if (route == NULL) {
        if (method_ok)
            brr_http_send(req, 404, "application/problem+json", not_found_json,
                          sizeof(not_found_json) - 1);
        else
            brr_http_send(req, 405, "application/problem+json",
                          not_allowed_json, sizeof(not_allowed_json) - 1);
        return 0;
    }
    if (route->cb(req, route->data) != 0 && req->res.status == 0)
        brr_http_send(req, 500, "application/problem+json", internal_json,
                      sizeof(internal_json) - 1);
    return 0;
}

int brr_http_server_init(uv_loop_t *loop, const brr_http_conf_t *conf,
                         brr_http_server_t **out)
{
    brr_http_server_t *srv;
    h2o_hostconf_t *hostconf;
    h2o_pathconf_t *pathconf;
    brr_http_h2o_handler_t *handler;
    int rc;

    if (loop == NULL || conf == NULL || conf->host == NULL || conf->port < 0 ||
        conf->port > 65535)
        return BRR_EINVAL;
    /* A peer that closes early makes our next write raise SIGPIPE, which
     * would kill the process; libuv and h2o leave that to the program. */
    signal(SIGPIPE, SIG_IGN);
    srv = xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->name = xstrdup(conf->name != NULL ? conf->name : "http");
    srv->host = xstrdup(conf->host);
    srv->port = conf->port;
    h2o_linklist_init_anchor(&srv->conns);
    h2o_linklist_init_anchor(&srv->inflight);
    if (conf->tls != NULL && (rc = tls_init(srv, conf->tls)) != 0) {
        free(srv->name);
        free(srv->host);
        free(srv);
        return rc;
    }

    h2o_config_init(&srv->config);
    srv->config.server_name = h2o_iovec_init(H2O_STRLIT("brr"));
    srv->config.max_request_entity_size =
        conf->max_body != 0 ? conf->max_body : BRR_HTTP_DEFAULT_MAX_BODY;
    srv->config.http1.req_timeout = conf->req_timeout_ms != 0
                                        ? conf->req_timeout_ms
                                        : BRR_HTTP_DEFAULT_IDLE_MS;
    srv->config.http2.idle_timeout = conf->idle_timeout_ms != 0
                                         ? conf->idle_timeout_ms
                                         : BRR_HTTP_DEFAULT_IDLE_MS;
    srv->config.handshake_timeout = conf->handshake_timeout_ms != 0
                                        ? conf->handshake_timeout_ms
                                        : BRR_HTTP_DEFAULT_IDLE_MS;
    hostconf = h2o_config_register_host(
        &srv->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    pathconf = h2o_config_register_path(hostconf, "/", 0);
    handler = (brr_http_h2o_handler_t *)h2o_create_handler(pathconf,
                                                           sizeof(*handler));
    handler->super.on_req = on_req;
    handler->srv = srv;

    h2o_context_init(&srv->ctx, loop, &srv->config);
    uv_prepare_init(loop, &srv->read_guard);
    srv->read_guard.data = srv;
    srv->accept_ctx.ctx = &srv->ctx;
    srv->accept_ctx.hosts = srv->config.hosts;
    srv->accept_ctx.ssl_ctx = srv->ssl_ctx;
    *out = srv;
    return 0;
}

void brr_http_server_route(brr_http_server_t *srv, const char *method,
                           const char *prefix, brr_http_handler_cb cb,
                           void *data)
{
    brr_http_route_t *r;

    srv->routes =
        realloc(srv->routes, (srv->nroutes + 1) * sizeof(*srv->routes));
    if (srv->routes == NULL)
        abort();
    r = &srv->routes[srv->nroutes++];
    r->method = method != NULL ? xstrdup(method) : NULL;
    r->prefix = xstrdup(prefix);
    r->prefix_len = strlen(prefix);
    r->cb = cb;
    r->data = data;
}

static void on_conn_close(uv_handle_t *handle);
static void maybe_finish_stop(brr_http_server_t *srv);

static void free_handle(uv_handle_t *handle)
{
    free(handle);
}

/* libuv calls a stream's read callback with nread 0 when read(2) found
 * nothing (EAGAIN), "not an error" in its words: after a read that filled
 * the buffer it was given exactly, the next finds the socket empty.  Under
 * load that happens every few hundred thousand requests.  libh2o 2.2.5's
 * TLS reader (on_read_ssl in lib/common/socket/uv-binding.c.h) takes nread
 * 0 for an I/O error and closes the connection at once, without GOAWAY:
 * every HTTP/2 stream on it is cut mid-way (issue 6), or the handshake of a
 * new connection fails.  So connections read through conn_read, which drops
 * those calls and hands everything else to h2o's callback. */
static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

/* Puts conn_read in front of the read callback h2o installed, if it
 * installed one since.  h2o calls uv_read_start after accepting, after the
 * TLS handshake and after each HTTP/1 response, from read, write and timer
 * callbacks.  libuv reads a stream only in its poll phase, at most once
 * per poll (a write callback there runs after its stream's read), so
 * running this for every connection from a prepare handle (read_guard_cb,
 * just before each poll) and after each call into h2o from conn_read covers
 * them all; the one gap, libuv polling twice in one phase, needs 1024
 * descriptors ready at once.  uv_read_stop clears read_cb: a stopped or
 * closing stream is left alone. */
static void conn_guard_read(brr_http_conn_t *conn)
{
    uv_read_cb cb = conn->tcp.read_cb;

    if (cb != NULL && cb != conn_read) {
        conn->h2o_read = cb;
        conn->tcp.read_cb = conn_read;
    }
}

static void conn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    brr_http_conn_t *conn = (brr_http_conn_t *)stream;

    if (nread == 0)
        return;
    conn->h2o_read(stream, nread, buf);
    /* conn lives until its close callback, never freed in here. */
    conn_guard_read(conn);
}

static void read_guard_cb(uv_prepare_t *prepare)
{
    brr_http_server_t *srv = prepare->data;
    h2o_linklist_t *node;

    for (node = srv->conns.next; node != &srv->conns; node = node->next)
        conn_guard_read(H2O_STRUCT_FROM_MEMBER(brr_http_conn_t, link, node));
}

static void on_accept(uv_stream_t *listener, int status)
{
    brr_http_server_t *srv = listener->data;
    brr_http_conn_t *conn;

    if (status != 0 || srv->stopping)
        return;
    conn = xcalloc(1, sizeof(*conn));
    conn->srv = srv;
    uv_tcp_init(srv->loop, &conn->tcp);
    if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
        uv_close((uv_handle_t *)&conn->tcp, free_handle);
        return;
    }
    uv_tcp_nodelay(&conn->tcp, 1);
    h2o_linklist_insert(&srv->conns, &conn->link);
    srv->nconns++;
    conn->sock = h2o_uv_socket_create((uv_stream_t *)&conn->tcp, on_conn_close);
    h2o_accept(&srv->accept_ctx, conn->sock);
    conn_guard_read(conn);
}

/* Runs when h2o has closed the connection's socket. */
static void on_conn_close(uv_handle_t *handle)
{
    brr_http_conn_t *conn = (brr_http_conn_t *)handle;
    brr_http_server_t *srv = conn->srv;

    h2o_linklist_unlink(&conn->link);
    srv->nconns--;
    free(conn);
    maybe_finish_stop(srv);
}

static void on_listener_close(uv_handle_t *handle)
{
    brr_http_server_t *srv = handle->data;

    srv->listener_state = LISTENER_CLOSED;
    maybe_finish_stop(srv);
}

int brr_http_server_start(brr_http_server_t *srv)
{
    struct sockaddr_storage ss;
    int namelen = sizeof(ss), rc;
    char port[8];

    if (srv->listener_state != LISTENER_NONE || srv->stopping)
        return BRR_EINVAL;
    if (uv_ip4_addr(srv->host, srv->port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(srv->host, srv->port, (struct sockaddr_in6 *)&ss) != 0) {
        brr_log_error("could not parse listen address", "server", srv->name,
                      "host", srv->host, NULL);
        return BRR_EINVAL;
    }
    uv_tcp_init(srv->loop, &srv->listener);
    srv->listener.data = srv;
    srv->listener_state = LISTENER_OPEN;
    /* Unreferenced: the listener and the connections keep the loop up. */
    uv_prepare_start(&srv->read_guard, read_guard_cb);
    uv_unref((uv_handle_t *)&srv->read_guard);
    if ((rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_accept)) != 0) {
        snprintf(port, sizeof(port), "%d", srv->port);
        brr_log_error("could not listen", "server", srv->name, "host",
                      srv->host, "port", port, "err", uv_strerror(rc), NULL);
        srv->listener_state = LISTENER_CLOSING;
        uv_close((uv_handle_t *)&srv->listener, on_listener_close);
        return BRR_EIO;
    }
    if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &namelen) ==
        0)
        srv->port = ntohs(ss.ss_family == AF_INET6
                              ? ((struct sockaddr_in6 *)&ss)->sin6_port
                              : ((struct sockaddr_in *)&ss)->sin_port);
    snprintf(port, sizeof(port), "%d", srv->port);
    brr_log_info("listening", "server", srv->name, "host", srv->host, "port",
                 port, "tls", srv->ssl_ctx != NULL ? "on" : "off", NULL);
    return 0;
}

int brr_http_server_port(const brr_http_server_t *srv)
{
    return srv->listener_state == LISTENER_OPEN ? srv->port : 0;
}

size_t brr_http_server_connections(const brr_http_server_t *srv)
{
    return srv->nconns;
}

static int req_is_inflight(brr_http_server_t *srv, h2o_req_t *req)
{
    h2o_linklist_t *node;

    for (node = srv->inflight.next; node != &srv->inflight; node = node->next) {
        brr_http_inflight_t *inf =
            H2O_STRUCT_FROM_MEMBER(brr_http_inflight_t, link, node);
        if (inf->req == req)
            return 1;
    }
    return 0;
}

/* h2o 2.2.5 lets idle HTTP/1 keep-alive connections sit until their
 * timeout after a shutdown request.  An HTTP/1 connection holds exactly one
 * request struct; when that request is not in flight the connection is
 * idle (or mid-way through an unanswered request) and we shut its socket
 * down, which h2o sees as the peer closing.  HTTP/2 connections are not in
 * this list: h2o sends them GOAWAY and closes them when their streams end. */
static int close_if_idle_http1(h2o_req_t *req, void *cbdata)
{
    brr_http_server_t *srv = cbdata;
    h2o_socket_t *sock;
    h2o_linklist_t *node;
    uv_os_fd_t fd;

    if (req_is_inflight(srv, req) || req->conn == NULL ||
        req->conn->callbacks->get_socket == NULL)
        return 0;
    sock = req->conn->callbacks->get_socket(req->conn);
    for (node = srv->conns.next; node != &srv->conns; node = node->next) {
        brr_http_conn_t *conn =
            H2O_STRUCT_FROM_MEMBER(brr_http_conn_t, link, node);
        if (conn->sock == sock &&
            uv_fileno((uv_handle_t *)&conn->tcp, &fd) == 0)
            shutdown(fd, SHUT_RDWR);
    }
    return 0;
}

void brr_http_server_stop(brr_http_server_t *srv, void (*on_stopped)(void *arg),
                          void *arg)
{
    if (srv->stopping)
        return;
    srv->stopping = 1;
    srv->on_stopped = on_stopped;
    srv->on_stopped_arg = arg;
    if (srv->listener_state == LISTENER_OPEN) {
        srv->listener_state = LISTENER_CLOSING;
        uv_close((uv_handle_t *)&srv->listener, on_listener_close);
    } else if (srv->listener_state == LISTENER_NONE) {
        srv->listener_state = LISTENER_CLOSED;
    }
    h2o_context_request_shutdown(&srv->ctx);
    if (srv->config.http1.callbacks.foreach_request != NULL)
        srv->config.http1.callbacks.foreach_request(&srv->ctx,
                                                    close_if_idle_http1, srv);
    uv_idle_init(srv->loop, &srv->closer_a);
    uv_idle_init(srv->loop, &srv->closer_b);
    srv->closer_a.data = srv;
    srv->closer_b.data = srv;
    maybe_finish_stop(srv);
}

static void free_server(uv_handle_t *handle)
{
    brr_http_server_t *srv = handle->data;
    void (*cb)(void *) = srv->on_stopped;
    void *arg = srv->on_stopped_arg;
    size_t i;

    if (srv->ssl_ctx != NULL)
        SSL_CTX_free(srv->ssl_ctx);
    for (i = 0; i < srv->nroutes; i++) {
        free(srv->routes[i].method);
        free(srv->routes[i].prefix);
    }
    free(srv->routes);
    free(srv->name);
    free(srv->host);
    free(srv);
    if (cb != NULL)
        cb(arg);
}

static void on_closer_a(uv_handle_t *handle)
{
    brr_http_server_t *srv = handle->data;

    uv_close((uv_handle_t *)&srv->closer_b, free_server);
}

/* h2o_context_dispose closes the context's uv timers with no callback, and
 * those handles live inside srv.  libuv finishes the handles closed during
 * one loop turn in its next close phase, so srv may be freed only a further
 * turn later: closer_a closes with them, closer_b one turn after. */
static void maybe_finish_stop(brr_http_server_t *srv)
{
    if (!srv->stopping || srv->finishing || srv->nconns != 0 ||
        srv->listener_state == LISTENER_CLOSING)
        return;
    srv->finishing = 1;
    /* h2o_context_request_shutdown armed a one-second GOAWAY timer even if
     * no HTTP/2 connection remains; h2o_context_dispose asserts that every
     * timeout list is empty. */
    if (h2o_timeout_is_linked(&srv->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&srv->ctx.http2._graceful_shutdown_timeout);
    h2o_context_dispose(&srv->ctx);
    h2o_config_dispose(&srv->config);
    uv_close((uv_handle_t *)&srv->read_guard, NULL);
    uv_close((uv_handle_t *)&srv->closer_a, on_closer_a);
}

static void deferred_on_dispose(void *p)
{
    struct brr_http_deferred_slot *slot = p;
    brr_http_deferred_t *d = slot->d;

    if (d == NULL)
        return;
    d->req = NULL;
    d->slot = NULL;
    if (d->on_cancel != NULL)
        d->on_cancel(d->arg);
}

brr_http_deferred_t *brr_http_defer(h2o_req_t *req, void (*on_cancel)(void *),
                                    void *arg)
{
    brr_http_deferred_t *d = xcalloc(1, sizeof(*d));

    d->req = req;
    d->on_cancel = on_cancel;
    d->arg = arg;
    d->slot =
        h2o_mem_alloc_shared(&req->pool, sizeof(*d->slot), deferred_on_dispose);
    d->slot->d = d;
    return d;
}

h2o_req_t *brr_http_deferred_req(brr_http_deferred_t *d)
{
    return d->req;
}

int brr_http_deferred_send(brr_http_deferred_t *d, int status,
                           const char *content_type, const void *body,
                           size_t len)
{
    h2o_req_t *req = d->req;

    if (req == NULL) {
        free(d);
        return BRR_ENOTFOUND;
    }
    /* Detach first: the send may dispose of the request synchronously. */
    d->slot->d = NULL;
    free(d);
    brr_http_send(req, status, content_type, body, len);
    return 0;
}

void brr_http_deferred_release(brr_http_deferred_t *d)
{
    static const char body[] =
        "{\"title\":\"service unavailable\",\"status\":503}";

    brr_http_deferred_send(d, 503, "application/problem+json", body,
                           sizeof(body) - 1);
}
