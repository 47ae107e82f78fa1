/*
 * deliver.c: libcurl multi on a libuv loop (see deliver.h).
 *
 * The integration is curl's "multi_socket" pattern: curl tells us which
 * sockets to watch (sock_cb) and when it next needs a timeout (timer_cb); we
 * watch them with uv_poll_t and a uv_timer_t and hand every event back with
 * curl_multi_socket_action, then collect finished transfers (dispatch).
 * libuv handles close asynchronously, so the engine is freed only when the
 * last uv_close callback has run.
 */
#include "deliver.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "backoff.h"
#include "cloudevent.h"
#include "err.h"

#define DEFAULT_MAX_HOST_CONNECTIONS 16
#define DEFAULT_MAX_CONNECTS 64
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_TIMEOUT_MS 30000
#define SPARE_MAX 1024

typedef struct sock_s {
    uv_poll_t poll;
    curl_socket_t fd;
    conn_deliver_t *d;
    int closed;
    struct sock_s *prev, *next;
} sock_t;

typedef struct xfer_s {
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    conn_deliver_cb cb;
    void *arg;
    conn_deliver_t *d;
    struct xfer_s *prev, *next;
    char errbuf[CURL_ERROR_SIZE];
} xfer_t;

struct conn_deliver_s {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    xfer_t *xfers;
    sock_t *socks;
    size_t inflight;
    unsigned handles_open; /* timer plus polls not yet through uv_close */
    int closing;
    int dispatching;
    uint32_t retry_after_max_s;
    long max_connects;      /* the idle connection cache */
    CURL *spare[SPARE_MAX]; /* easy handles of finished transfers */
    size_t nspare;
    conn_deliver_close_cb close_cb;
    void *close_arg;
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL)
        abort();
    return p;
}

static void teardown(conn_deliver_t *d);

conn_outcome_t conn_deliver_classify(int curl_code, int status,
                                     int has_retry_after)
{
    if (curl_code != CURLE_OK)
        return CONN_RETRY;
    if (status >= 200 && status <= 299)
        return CONN_DELIVERED;
    if (status == 410)
        return CONN_GONE;
    if ((status == 429 || status == 503) && has_retry_after)
        return CONN_RETRY_AFTER;
    return CONN_RETRY;
}

const char *conn_outcome_name(conn_outcome_t outcome)
{
    switch (outcome) {
    case CONN_DELIVERED:
        return "delivered";
    case CONN_RETRY_AFTER:
        return "retry_after";
    case CONN_GONE:
        return "gone";
    case CONN_RETRY:
        return "retry";
    case CONN_CANCELLED:
        return "cancelled";
    }
    return "unknown";
}

/* Frees d once conn_deliver_close has run and every uv handle is closed. */
static void maybe_free(conn_deliver_t *d)
{
    conn_deliver_close_cb cb;
    void *arg;

    if (!d->closing || d->handles_open > 0 || d->multi != NULL)
        return;
    cb = d->close_cb;
    arg = d->close_arg;
    free(d);
    if (cb)
        cb(arg);
}

static void sock_close_cb(uv_handle_t *h)
{
    sock_t *s = h->data;
    conn_deliver_t *d = s->d;

    free(s);
    d->handles_open--;
    maybe_free(d);
}

/* Safe to call twice: curl_multi_cleanup may report a socket whose watcher
 * teardown already closed. */
static void sock_close(conn_deliver_t *d, sock_t *s)
{
    if (s->closed)
        return;
    s->closed = 1;
    if (s->prev)
        s->prev->next = s->next;
    else
        d->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, sock_close_cb);
}

/* Frees x; its easy handle is reset and kept for the next post (curl
 * keeps the buffers it allocated for a transfer with the handle), up to
 * SPARE_MAX of them. */
static void xfer_free(conn_deliver_t *d, xfer_t *x)
{
    if (x->easy != NULL) {
        if (!d->closing && d->nspare < SPARE_MAX) {
            curl_easy_reset(x->easy);
            d->spare[d->nspare++] = x->easy;
        } else {
            curl_easy_cleanup(x->easy);
        }
    }
    curl_slist_free_all(x->headers);
    free(x->body);
    free(x);
}

static void xfer_unlink(conn_deliver_t *d, xfer_t *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        d->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    d->inflight--;
}

static int64_t retry_after_of(conn_deliver_t *d, CURL *easy)
{
    struct curl_header *h;
    uint32_t secs;

    if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) !=
        CURLHE_OK)
        return -1;
    if (conn_retry_after_parse(h->value, (int64_t)time(NULL),
                               d->retry_after_max_s, &secs) < 0)
        return -1;
    return secs;
}

static void finish(conn_deliver_t *d, xfer_t *x, CURLcode cc)
{
    conn_result_t res;
    curl_off_t total_us = 0;
    long status = 0;

    memset(&res, 0, sizeof(res));
    res.retry_after_s = -1;
    res.curl_code = (int)cc;
    if (cc == CURLE_OK) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        res.status = (int)status;
        if (status == 429 || status == 503)
            res.retry_after_s = retry_after_of(d, x->easy);
        res.error = "";
    } else {
        res.error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);
    }
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    res.latency_us = total_us > 0 ? (uint64_t)total_us : 0;
    res.outcome = conn_deliver_classify(res.curl_code, res.status,
                                        res.retry_after_s >= 0);
    x->cb(&res, x->arg);
}

/* Reports every finished transfer.  A callback may post (the multi handle
 * is not inside a curl callback here) or close (then the teardown waits
 * until this loop is left). */
static void dispatch(conn_deliver_t *d)
{
    CURLMsg *msg;
    int left;

    d->dispatching++;
    while (!d->closing && (msg = curl_multi_info_read(d->multi, &left))) {
        char *priv = NULL;
        xfer_t *x;
        CURLcode cc;

        if (msg->msg != CURLMSG_DONE)
            continue;
        cc = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        x = (xfer_t *)priv;
        /* msg is invalid after remove_handle. */
        curl_multi_remove_handle(d->multi, x->easy);
        xfer_unlink(d, x);
        finish(d, x, cc);
        xfer_free(d, x);
    }
    d->dispatching--;
    if (d->closing && d->dispatching == 0)
        teardown(d);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    sock_t *s = h->data;
    conn_deliver_t *d = s->d;
    int flags = 0, running;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action(d->multi, s->fd, flags, &running);
    dispatch(d);
}

static void timer_fire_cb(uv_timer_t *h)
{
    conn_deliver_t *d = h->data;
    int running;

    curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    dispatch(d);
}

/* CURLMOPT_TIMERFUNCTION: never drive curl from here (curl's rule); a zero
 * timeout becomes a zero timer that fires on the next loop iteration. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    conn_deliver_t *d = userp;

    if (d->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&d->timer);
    else
        uv_timer_start(&d->timer, timer_fire_cb, (uint64_t)timeout_ms, 0);
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION. */
static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                   void *socketp)
{
    conn_deliver_t *d = userp;
    sock_t *s = socketp;
    int events = 0;

    if (what == CURL_POLL_REMOVE) {
        /* curl drops its record of fd after this call, so no assign. */
        if (s)
            sock_close(d, s);
        return 0;
    }
    if (d->closing)
        return 0;
    if (s == NULL) {
        s = xcalloc(1, sizeof(*s));
        if (uv_poll_init_socket(d->loop, &s->poll, fd) < 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        s->fd = fd;
        s->d = d;
        s->next = d->socks;
        if (d->socks)
            d->socks->prev = s;
        d->socks = s;
        d->handles_open++;
        curl_multi_assign(d->multi, fd, s);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, poll_cb);
    return 0;
}

static void timer_close_cb(uv_handle_t *h)
{
    conn_deliver_t *d = h->data;

    d->handles_open--;
    maybe_free(d);
}

int conn_deliver_init(uv_loop_t *loop, const conn_deliver_opts_t *opts,
                      conn_deliver_t **out)
{
    static int curl_ready;
    conn_deliver_opts_t def = {.max_host_connections =
                                   DEFAULT_MAX_HOST_CONNECTIONS,
                               .max_connects = DEFAULT_MAX_CONNECTS};
    conn_deliver_t *d;
    long maxconn;

    if (loop == NULL || out == NULL)
        return BRR_EINVAL;
    if (opts == NULL)
        opts = &def;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return BRR_EINTERNAL;
        curl_ready = 1;
    }
    d = xcalloc(1, sizeof(*d));
    d->loop = loop;
    d->retry_after_max_s = opts->retry_after_max_s;
    if ((d->multi = curl_multi_init()) == NULL) {
        free(d);
        return BRR_EINTERNAL;
    }
    if (uv_timer_init(loop, &d->timer) < 0) {
        curl_multi_cleanup(d->multi);
        free(d);
        return BRR_EINTERNAL;
    }
    d->timer.data = d;
    d->handles_open = 1;
    maxconn =
        opts->max_connects > 0 ? opts->max_connects : DEFAULT_MAX_CONNECTS;
    /* The idle cache must hold at least one connection per allowed one, or
     * keep-alive connections are closed as soon as they go idle. */
    if (opts->max_host_connections > maxconn)
        maxconn = opts->max_host_connections;
    if (opts->max_total_connections > maxconn)
        maxconn = opts->max_total_connections;
    curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
    curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
    curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      opts->max_host_connections);
    curl_multi_setopt(d->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      opts->max_total_connections);
    curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, maxconn);
    d->max_connects = maxconn;
    *out = d;
    return 0;
}

/* Header values come from configuration and events: refuse anything that
 * could split a header (CR, LF) or is not printable ASCII. */
static int header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static size_t discard_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    return size * nmemb;
}

static void add_header(xfer_t *x, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    struct curl_slist *l;

    if (line == NULL)
        abort();
    snprintf(line, n, "%s: %s", name, value);
    if ((l = curl_slist_append(x->headers, line)) == NULL)
        abort();
    x->headers = l;
    free(line);
}

#define SETOPT(easy, opt, val)                                                 \
    do {                                                                       \
        if (curl_easy_setopt((easy), (opt), (val)) != CURLE_OK) {              \
            rc = BRR_ECONFIG;                                                  \
            goto fail;                                                         \
        }                                                                      \
    } while (0)

int conn_deliver_post(conn_deliver_t *d, const conn_endpoint_t *ep,
                      const conn_request_t *req, conn_deliver_cb cb, void *arg)
{
    char sig[CONN_WEBHOOK_HEADER_MAX], ts[24];
    int64_t timestamp;
    xfer_t *x;
    int rc;

    if (d == NULL || d->closing || ep == NULL || req == NULL || cb == NULL ||
        ep->url == NULL || req->event_id == NULL ||
        (req->body == NULL && req->body_len > 0) ||
        !header_safe(req->event_id) ||
        (req->traceparent && !header_safe(req->traceparent)) ||
        (ep->bearer_token && !header_safe(ep->bearer_token)))
        return BRR_EINVAL;
    if (strncasecmp(ep->url, "https://", 8) != 0 &&
        !(ep->allow_http && strncasecmp(ep->url, "http://", 7) == 0))
        return BRR_EINVAL;
    timestamp = req->timestamp ? req->timestamp : (int64_t)time(NULL);
    rc =
        conn_webhook_sign(req->secrets, req->nsecrets, req->event_id, timestamp,
                          req->body, req->body_len, sig, sizeof(sig));
    if (rc < 0)
        return rc == BRR_EINVAL ? BRR_EINVAL : BRR_ECRYPTO;
    snprintf(ts, sizeof(ts), "%" PRId64, timestamp);

    x = xcalloc(1, sizeof(*x));
    x->d = d;
    x->cb = cb;
    x->arg = arg;
    x->body = malloc(req->body_len + 1);
    if (x->body == NULL)
        abort();
    if (req->body_len)
        memcpy(x->body, req->body, req->body_len);
    x->body[req->body_len] = '\0';
    if (d->nspare > 0)
        x->easy = d->spare[--d->nspare];
    else if ((x->easy = curl_easy_init()) == NULL)
        abort();

    add_header(x, "Content-Type", CONN_CE_MEDIA_TYPE);
    add_header(x, "webhook-id", req->event_id);
    add_header(x, "webhook-timestamp", ts);
    add_header(x, "webhook-signature", sig);
    if (req->traceparent)
        add_header(x, "traceparent", req->traceparent);
    if (ep->bearer_token) {
        char *auth = malloc(strlen(ep->bearer_token) + 8);
        if (auth == NULL)
            abort();
        strcpy(auth, "Bearer ");
        strcat(auth, ep->bearer_token);
        add_header(x, "Authorization", auth);
        free(auth);
    }
    /* No "Expect: 100-continue" round trip for larger bodies. */
    x->headers = curl_slist_append(x->headers, "Expect:");
    if (x->headers == NULL)
        abort();

    SETOPT(x->easy, CURLOPT_URL, ep->url);
    SETOPT(x->easy, CURLOPT_PROTOCOLS_STR,
           ep->allow_http ? "http,https" : "https");
    SETOPT(x->easy, CURLOPT_NOSIGNAL, 1L);
    SETOPT(x->easy, CURLOPT_PRIVATE, x);
    SETOPT(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
    SETOPT(x->easy, CURLOPT_POST, 1L);
    SETOPT(x->easy, CURLOPT_POSTFIELDS, x->body);
    SETOPT(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    SETOPT(x->easy, CURLOPT_HTTPHEADER, x->headers);
    SETOPT(x->easy, CURLOPT_USERAGENT, "brr-connector/1");
    SETOPT(x->easy, CURLOPT_WRITEFUNCTION, discard_cb);
    SETOPT(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
           (long)(ep->connect_timeout_ms ? ep->connect_timeout_ms
                                         : DEFAULT_CONNECT_TIMEOUT_MS));
    SETOPT(x->easy, CURLOPT_TIMEOUT_MS,
           (long)(ep->timeout_ms ? ep->timeout_ms : DEFAULT_TIMEOUT_MS));
    SETOPT(x->easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SETOPT(x->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(x->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ep->http1_only)
        SETOPT(x->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    else
        /* Wait for a connection being set up to this endpoint and multiplex
         * on it, rather than opening one TLS connection per transfer: a
         * burst of events must not become a burst of handshakes that time
         * out together. */
        SETOPT(x->easy, CURLOPT_PIPEWAIT, 1L);
    if (ep->ca_bundle)
        SETOPT(x->easy, CURLOPT_CAINFO, ep->ca_bundle);
    if (ep->client_cert)
        SETOPT(x->easy, CURLOPT_SSLCERT, ep->client_cert);
    if (ep->client_key)
        SETOPT(x->easy, CURLOPT_SSLKEY, ep->client_key);

    if (curl_multi_add_handle(d->multi, x->easy) != CURLM_OK) {
        rc = BRR_EINTERNAL;
        goto fail;
    }
    x->next = d->xfers;
    if (d->xfers)
        d->xfers->prev = x;
    d->xfers = x;
    d->inflight++;
    return 0;

fail:
    xfer_free(d, x);
    return rc;
}

size_t conn_deliver_inflight(const conn_deliver_t *d)
{
    return d->inflight;
}

void conn_deliver_limit_host(conn_deliver_t *d, long max_host_connections)
{
    if (d == NULL || d->closing || max_host_connections < 0)
        return;
    curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      max_host_connections);
    if (max_host_connections > d->max_connects) {
        d->max_connects = max_host_connections;
        curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, d->max_connects);
    }
}

/* Runs once, outside any dispatch: cancel, close every socket watcher and
 * the timer, free curl. */
static void teardown(conn_deliver_t *d)
{
    conn_result_t res = {.outcome = CONN_CANCELLED,
                         .curl_code = CURLE_ABORTED_BY_CALLBACK,
                         .error = "delivery cancelled",
                         .retry_after_s = -1};

    if (d->multi == NULL)
        return;
    uv_timer_stop(&d->timer);
    while (d->xfers) {
        xfer_t *x = d->xfers;
        curl_multi_remove_handle(d->multi, x->easy);
        xfer_unlink(d, x);
        x->cb(&res, x->arg);
        xfer_free(d, x);
    }
    while (d->nspare > 0)
        curl_easy_cleanup(d->spare[--d->nspare]);
    /* Watchers stop before curl closes the descriptors they watch. */
    while (d->socks)
        sock_close(d, d->socks);
    curl_multi_cleanup(d->multi);
    d->multi = NULL;
    uv_close((uv_handle_t *)&d->timer, timer_close_cb);
}

void conn_deliver_close(conn_deliver_t *d, conn_deliver_close_cb close_cb,
                        void *arg)
{
    if (d == NULL || d->closing)
        return;
    d->closing = 1;
    d->close_cb = close_cb;
    d->close_arg = arg;
    if (d->dispatching == 0)
        teardown(d);
}
