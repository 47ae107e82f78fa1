/*
 * http_test_client.h: the client side of the HTTP server tests.
 *
 * A libcurl easy handle runs in its own thread while the test's uv loop
 * serves in the main thread; the thread wakes the loop through a uv_async
 * when it is done, so nothing here waits on a clock.  Included by
 * test_http.c and test_admin.c (header-only, static inline).
 */
#ifndef BRR_HTTP_TEST_CLIENT_H
#define BRR_HTTP_TEST_CLIENT_H

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <uv.h>

typedef struct {
    /* request */
    const char *url;
    const char *method; /* NULL: GET, or POST when body is set */
    const char *body;   /* NULL: none */
    size_t body_len;
    const char *headers[8]; /* "name: value", NULL-terminated */
    const char *ca_file;    /* verify the server against this CA */
    const char *cert_file;  /* client certificate (mTLS) */
    const char *key_file;
    long http_version; /* CURL_HTTP_VERSION_*, 0: curl default */
    /* when nonzero, abort the transfer once *abort_when becomes nonzero */
    atomic_int *abort_when;
    /* response */
    CURLcode cc;
    long status;
    long version_used; /* CURLINFO_HTTP_VERSION */
    char *resp;        /* NUL-terminated, malloc'd */
    size_t resp_len;
    char resp_ctype[128];
    char resp_headers[2048]; /* as received, lines joined */
} brr_test_req_t;

static inline size_t brr_test_write_cb(char *p, size_t sz, size_t n, void *arg)
{
    brr_test_req_t *r = arg;
    size_t len = sz * n;

    r->resp = realloc(r->resp, r->resp_len + len + 1);
    if (r->resp == NULL)
        abort();
    memcpy(r->resp + r->resp_len, p, len);
    r->resp_len += len;
    r->resp[r->resp_len] = '\0';
    return len;
}

static inline size_t brr_test_header_cb(char *p, size_t sz, size_t n, void *arg)
{
    brr_test_req_t *r = arg;
    size_t have = strlen(r->resp_headers), len = sz * n;

    if (have + len < sizeof(r->resp_headers)) {
        memcpy(r->resp_headers + have, p, len);
        r->resp_headers[have + len] = '\0';
    }
    return len;
}

static inline int brr_test_xferinfo_cb(void *arg, curl_off_t dt, curl_off_t dn,
                                       curl_off_t ut, curl_off_t un)
{
    brr_test_req_t *r = arg;

    (void)dt, (void)dn, (void)ut, (void)un;
    return r->abort_when != NULL && atomic_load(r->abort_when) ? 1 : 0;
}

/* Performs r on the easy handle h (reused across calls: keep-alive). */
static inline void brr_test_perform(CURL *h, brr_test_req_t *r)
{
    struct curl_slist *hdrs = NULL;
    char *ct = NULL;
    int i;

    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, brr_test_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, brr_test_header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    r->resp_headers[0] = '\0';
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, brr_test_xferinfo_cb);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, r);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, r->abort_when ? 0L : 1L);
    if (r->body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)r->body_len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    for (i = 0; i < 8 && r->headers[i] != NULL; i++)
        hdrs = curl_slist_append(hdrs, r->headers[i]);
    /* curl adds "Expect: 100-continue" to large POSTs; keep it simple. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (r->ca_file != NULL) {
        curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    }
    curl_easy_setopt(h, CURLOPT_SSLCERT, r->cert_file);
    curl_easy_setopt(h, CURLOPT_SSLKEY, r->key_file);
    if (r->http_version != 0)
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, r->http_version);
    r->cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &r->version_used);
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
        ct != NULL) {
        strncpy(r->resp_ctype, ct, sizeof(r->resp_ctype) - 1);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
}

static inline void brr_test_req_free(brr_test_req_t *r)
{
    free(r->resp);
    r->resp = NULL;
    r->resp_len = 0;
}

/* A client run: fn(arg) in a thread, the loop turning until it returns. */
typedef struct {
    uv_async_t async;
    uv_thread_t thread;
    atomic_int done;
    void (*fn)(void *arg);
    void *arg;
} brr_test_client_t;

static inline void brr_test_client_main(void *p)
{
    brr_test_client_t *c = p;

    c->fn(c->arg);
    atomic_store(&c->done, 1);
    uv_async_send(&c->async);
}

static inline void brr_test_async_noop(uv_async_t *a)
{
    (void)a;
}

/* Runs fn(arg) in a client thread and turns loop until it has finished.
 * hook (may be NULL) runs after every loop turn, from the loop thread: the
 * tests use it to answer deferred requests or stop the server. */
static inline void brr_test_client_run(uv_loop_t *loop, void (*fn)(void *),
                                       void *arg, void (*hook)(void *),
                                       void *hook_arg)
{
    brr_test_client_t *c = calloc(1, sizeof(*c));

    if (c == NULL)
        abort();
    c->fn = fn;
    c->arg = arg;
    uv_async_init(loop, &c->async, brr_test_async_noop);
    uv_thread_create(&c->thread, brr_test_client_main, c);
    while (!atomic_load(&c->done)) {
        uv_run(loop, UV_RUN_ONCE);
        if (hook != NULL)
            hook(hook_arg);
    }
    uv_thread_join(&c->thread);
    uv_close((uv_handle_t *)&c->async, (uv_close_cb)(void (*)(void))free);
}

/* One request with a fresh easy handle. */
static inline void brr_test_one_request(void *arg)
{
    CURL *h = curl_easy_init();

    brr_test_perform(h, arg);
    curl_easy_cleanup(h);
}

/* Convenience: one request r through a client thread on loop. */
static inline void brr_test_request(uv_loop_t *loop, brr_test_req_t *r)
{
    brr_test_client_run(loop, brr_test_one_request, r, NULL, NULL);
}

#endif
