/*
 * tls_fixture.c: throwaway PKI and a tiny threaded HTTPS server for the
 * connector tests (see tls_fixture.h).  Test code: simple, blocking, and
 * strict about cleaning up.
 */
#include "tls_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* PKI */

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok;

    if (ext == NULL)
        return -1;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

enum { KIND_CA, KIND_SERVER, KIND_CLIENT };

static X509 *make_cert(EVP_PKEY *key, const char *cn, int kind, X509 *issuer,
                       EVP_PKEY *issuer_key, long serial)
{
    X509 *x = X509_new();
    X509_NAME *name;
    X509V3_CTX ctx;
    int rc = 0;

    if (x == NULL)
        return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 2 * 86400);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               (const unsigned char *)"brr test", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    rc |= add_ext(x, &ctx, NID_subject_key_identifier, "hash");
    if (kind == KIND_CA) {
        rc |= add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        rc |= add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        rc |= add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
        rc |= add_ext(x, &ctx, NID_authority_key_identifier, "keyid");
        rc |= add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature");
        rc |= add_ext(x, &ctx, NID_ext_key_usage,
                      kind == KIND_SERVER ? "serverAuth" : "clientAuth");
        if (kind == KIND_SERVER)
            rc |= add_ext(x, &ctx, NID_subject_alt_name,
                          "DNS:localhost,IP:127.0.0.1");
    }
    if (rc != 0 || !X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int write_pem(const char *path, X509 *x, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (f == NULL)
        return -1;
    ok = x ? PEM_write_X509(f, x)
           : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Issues key + certificate of kind under (issuer, issuer_key), or a
 * self-signed CA when issuer is NULL; writes both. */
static int issue(const char *cert_path, const char *key_path, const char *cn,
                 int kind, X509 *issuer, EVP_PKEY *issuer_key, long serial,
                 X509 **cert_out, EVP_PKEY **key_out)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x;
    int rc;

    if (key == NULL)
        return -1;
    x = make_cert(key, cn, kind, issuer, issuer_key, serial);
    if (x == NULL) {
        EVP_PKEY_free(key);
        return -1;
    }
    rc = write_pem(cert_path, x, NULL) | write_pem(key_path, NULL, key);
    if (rc == 0 && cert_out) {
        *cert_out = x;
        *key_out = key;
    } else {
        X509_free(x);
        EVP_PKEY_free(key);
    }
    return rc;
}

int fx_pki_create(fx_pki_t *p)
{
    X509 *ca = NULL, *rogue = NULL;
    EVP_PKEY *ca_key = NULL, *rogue_key = NULL;
    char rogue_ca_key[160];
    int rc = -1;

    memset(p, 0, sizeof(*p));
    snprintf(p->dir, sizeof(p->dir), "/tmp/brr-conn-pki-XXXXXX");
    if (mkdtemp(p->dir) == NULL)
        return -1;
#define PATH(field, file)                                                      \
    snprintf(p->field, sizeof(p->field), "%s/" file, p->dir)
    PATH(ca, "ca.pem");
    PATH(ca_key, "ca.key");
    PATH(server_cert, "server.pem");
    PATH(server_key, "server.key");
    PATH(client_cert, "client.pem");
    PATH(client_key, "client.key");
    PATH(rogue_ca, "rogue-ca.pem");
    PATH(rogue_cert, "rogue.pem");
    PATH(rogue_key, "rogue.key");
#undef PATH
    snprintf(rogue_ca_key, sizeof(rogue_ca_key), "%s/rogue-ca.key", p->dir);
    if (issue(p->ca, p->ca_key, "brr test ca", KIND_CA, NULL, NULL, 1, &ca,
              &ca_key) < 0 ||
        issue(p->rogue_ca, rogue_ca_key, "brr rogue ca", KIND_CA, NULL, NULL, 1,
              &rogue, &rogue_key) < 0 ||
        issue(p->server_cert, p->server_key, "localhost", KIND_SERVER, ca,
              ca_key, 2, NULL, NULL) < 0 ||
        issue(p->client_cert, p->client_key, "brr-connector", KIND_CLIENT, ca,
              ca_key, 3, NULL, NULL) < 0 ||
        issue(p->rogue_cert, p->rogue_key, "brr-connector", KIND_CLIENT, rogue,
              rogue_key, 2, NULL, NULL) < 0)
        goto out;
    rc = 0;
out:
    X509_free(ca);
    X509_free(rogue);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(rogue_key);
    return rc;
}

void fx_pki_remove(const fx_pki_t *p)
{
    char rogue_ca_key[160];
    const char *files[] = {p->ca,         p->ca_key,      p->server_cert,
                           p->server_key, p->client_cert, p->client_key,
                           p->rogue_ca,   p->rogue_cert,  p->rogue_key,
                           rogue_ca_key};

    snprintf(rogue_ca_key, sizeof(rogue_ca_key), "%s/rogue-ca.key", p->dir);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(files[i]);
    rmdir(p->dir);
}

/* Server */

typedef struct {
    pthread_t thread;
    int fd;
    fx_server_t *srv;
} fx_conn_t;

struct fx_server_s {
    SSL_CTX *ctx;
    int listen_fd;
    int port;
    pthread_t accept_thread;
    pthread_mutex_t lock;
    int stopping;
    int status;
    char extra[1024];
    unsigned requests, connections, failed;
    fx_conn_t **conns;
    size_t nconns, capconns;
    fx_request_t *last;
    int have_last;
};

static char *find_crlfcrlf(char *buf, size_t len)
{
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
            return buf + i;
    return NULL;
}

int fx_header(const char *headers, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *p = strstr(headers, "\r\n");

    while (p != NULL && p[2] != '\0' && !(p[2] == '\r' && p[3] == '\n')) {
        const char *line = p + 2, *end = strstr(line, "\r\n");
        if (end == NULL)
            end = line + strlen(line);
        if ((size_t)(end - line) > n && strncasecmp(line, name, n) == 0 &&
            line[n] == ':') {
            const char *v = line + n + 1;
            size_t len;
            while (*v == ' ' || *v == '\t')
                v++;
            len = (size_t)(end - v);
            if (len >= cap)
                return -1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 0;
        }
        p = end[0] ? end : NULL;
    }
    return -1;
}

static int write_all(SSL *ssl, const char *buf, size_t len)
{
    while (len > 0) {
        int n = SSL_write(ssl, buf, (int)len);
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *conn_main(void *arg)
{
    fx_conn_t *c = arg;
    fx_server_t *srv = c->srv;
    size_t cap = FX_HDRS_MAX + FX_BODY_MAX, have = 0;
    char *buf = malloc(cap);
    SSL *ssl = SSL_new(srv->ctx);

    if (buf == NULL || ssl == NULL)
        goto out;
    SSL_set_fd(ssl, c->fd);
    if (SSL_accept(ssl) <= 0) {
        pthread_mutex_lock(&srv->lock);
        srv->failed++;
        pthread_mutex_unlock(&srv->lock);
        goto out;
    }
    for (;;) {
        char *eoh = find_crlfcrlf(buf, have), cl[32], resp[1200];
        size_t hdr_len, body_len = 0, need;
        int n, status;

        if (eoh == NULL) {
            if (have == cap)
                break;
            if ((n = SSL_read(ssl, buf + have, (int)(cap - have))) <= 0)
                break;
            have += (size_t)n;
            continue;
        }
        hdr_len = (size_t)(eoh - buf) + 4;
        buf[hdr_len - 2] = '\0'; /* for fx_header; restored below */
        if (fx_header(buf, "Content-Length", cl, sizeof(cl)) == 0)
            body_len = strtoul(cl, NULL, 10);
        buf[hdr_len - 2] = '\r';
        if (hdr_len > FX_HDRS_MAX || body_len > FX_BODY_MAX)
            break;
        need = hdr_len + body_len;
        while (have < need) {
            if ((n = SSL_read(ssl, buf + have, (int)(cap - have))) <= 0)
                goto out;
            have += (size_t)n;
        }
        pthread_mutex_lock(&srv->lock);
        memcpy(srv->last->headers, buf, hdr_len - 2);
        srv->last->headers[hdr_len - 2] = '\0';
        memcpy(srv->last->body, buf + hdr_len, body_len);
        srv->last->body_len = body_len;
        srv->have_last = 1;
        srv->requests++;
        status = srv->status;
        snprintf(resp, sizeof(resp),
                 "HTTP/1.1 %d Test\r\nContent-Length: 0\r\n%s\r\n", status,
                 srv->extra);
        pthread_mutex_unlock(&srv->lock);
        if (status != 0 && write_all(ssl, resp, strlen(resp)) < 0)
            break;
        memmove(buf, buf + need, have - need);
        have -= need;
    }
out:
    SSL_free(ssl);
    free(buf);
    /* The fd is closed by fx_server_stop after the join, so a stop never
     * shuts down a number the kernel has handed out again. */
    return NULL;
}

static void *accept_main(void *arg)
{
    fx_server_t *srv = arg;

    for (;;) {
        int fd = accept(srv->listen_fd, NULL, NULL);
        fx_conn_t *c;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        pthread_mutex_lock(&srv->lock);
        if (srv->stopping) {
            pthread_mutex_unlock(&srv->lock);
            close(fd);
            break;
        }
        if (srv->nconns == srv->capconns) {
            srv->capconns = srv->capconns ? srv->capconns * 2 : 16;
            srv->conns = realloc(srv->conns, srv->capconns * sizeof(c));
            if (srv->conns == NULL)
                abort();
        }
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            abort();
        c->fd = fd;
        c->srv = srv;
        srv->conns[srv->nconns++] = c;
        srv->connections++;
        if (pthread_create(&c->thread, NULL, conn_main, c) != 0)
            abort();
        pthread_mutex_unlock(&srv->lock);
    }
    return NULL;
}

fx_server_t *fx_server_start(const fx_pki_t *pki, int require_client_cert)
{
    fx_server_t *srv = calloc(1, sizeof(*srv));
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    int one = 1;

    if (srv == NULL)
        return NULL;
    /* A client that hangs up while we answer must not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    srv->last = calloc(1, sizeof(*srv->last));
    srv->status = 200;
    srv->listen_fd = -1;
    pthread_mutex_init(&srv->lock, NULL);
    srv->ctx = SSL_CTX_new(TLS_server_method());
    if (srv->last == NULL || srv->ctx == NULL)
        goto fail;
    SSL_CTX_set_min_proto_version(srv->ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(srv->ctx, pki->server_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(srv->ctx, pki->server_key,
                                    SSL_FILETYPE_PEM) != 1)
        goto fail;
    if (require_client_cert) {
        if (SSL_CTX_load_verify_locations(srv->ctx, pki->ca, NULL) != 1)
            goto fail;
        SSL_CTX_set_client_CA_list(srv->ctx, SSL_load_client_CA_file(pki->ca));
        SSL_CTX_set_verify(
            srv->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    srv->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv->listen_fd < 0)
        goto fail;
    setsockopt(srv->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(srv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(srv->listen_fd, 512) < 0 ||
        getsockname(srv->listen_fd, (struct sockaddr *)&sa, &salen) < 0)
        goto fail;
    srv->port = ntohs(sa.sin_port);
    if (pthread_create(&srv->accept_thread, NULL, accept_main, srv) != 0)
        goto fail;
    return srv;
fail:
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    SSL_CTX_free(srv->ctx);
    pthread_mutex_destroy(&srv->lock);
    free(srv->last);
    free(srv);
    return NULL;
}

void fx_server_stop(fx_server_t *srv)
{
    pthread_mutex_lock(&srv->lock);
    srv->stopping = 1;
    pthread_mutex_unlock(&srv->lock);
    shutdown(srv->listen_fd, SHUT_RDWR);
    pthread_join(srv->accept_thread, NULL);
    close(srv->listen_fd);
    /* No new connections now; wake every reader and wait for it. */
    for (size_t i = 0; i < srv->nconns; i++)
        shutdown(srv->conns[i]->fd, SHUT_RDWR);
    for (size_t i = 0; i < srv->nconns; i++) {
        pthread_join(srv->conns[i]->thread, NULL);
        close(srv->conns[i]->fd);
        free(srv->conns[i]);
    }
    free(srv->conns);
    SSL_CTX_free(srv->ctx);
    pthread_mutex_destroy(&srv->lock);
    free(srv->last);
    free(srv);
}

int fx_server_port(const fx_server_t *srv)
{
    return srv->port;
}

void fx_server_reply(fx_server_t *srv, int status, const char *extra_headers)
{
    pthread_mutex_lock(&srv->lock);
    srv->status = status;
    snprintf(srv->extra, sizeof(srv->extra), "%s",
             extra_headers ? extra_headers : "");
    pthread_mutex_unlock(&srv->lock);
}

void fx_server_counts(fx_server_t *srv, unsigned *requests,
                      unsigned *connections, unsigned *failed_handshakes)
{
    pthread_mutex_lock(&srv->lock);
    if (requests)
        *requests = srv->requests;
    if (connections)
        *connections = srv->connections;
    if (failed_handshakes)
        *failed_handshakes = srv->failed;
    pthread_mutex_unlock(&srv->lock);
}

int fx_server_last(fx_server_t *srv, fx_request_t *out)
{
    int ok;

    pthread_mutex_lock(&srv->lock);
    ok = srv->have_last;
    if (ok)
        memcpy(out, srv->last, sizeof(*out));
    pthread_mutex_unlock(&srv->lock);
    return ok ? 0 : -1;
}
