/*
 * tls_fixture.h: throwaway PKI and a tiny HTTPS/1.1 server for the
 * connector's engine tests and bench_deliver.
 *
 * fx_pki_create writes a CA, a server certificate for 127.0.0.1/localhost, a
 * client certificate, and a second ("rogue") CA with its own client
 * certificate into a fresh temporary directory.  fx_server runs on its own
 * threads (one per connection) with blocking OpenSSL I/O, answers every
 * request with a configurable status and extra headers, keeps connections
 * alive, and records what it saw.
 */
#ifndef FX_TLS_FIXTURE_H
#define FX_TLS_FIXTURE_H

#include <stddef.h>

typedef struct {
    char dir[64];
    char ca[128], ca_key[128];
    char server_cert[128], server_key[128];
    char client_cert[128], client_key[128];
    char rogue_ca[128], rogue_cert[128], rogue_key[128];
} fx_pki_t;

/* Creates the PKI under a new mkdtemp directory; 0 or -1. */
int fx_pki_create(fx_pki_t *pki);

/* Removes the files and the directory. */
void fx_pki_remove(const fx_pki_t *pki);

typedef struct fx_server_s fx_server_t;

#define FX_HDRS_MAX 4096
#define FX_BODY_MAX 65536

/* The last request the server read, copied under its lock. */
typedef struct {
    char headers[FX_HDRS_MAX]; /* raw request line and headers */
    char body[FX_BODY_MAX];
    size_t body_len;
} fx_request_t;

/* Starts a server on 127.0.0.1 (ephemeral port) with pki's server
 * certificate; require_client_cert demands a client certificate signed by
 * pki's CA.  NULL on failure. */
fx_server_t *fx_server_start(const fx_pki_t *pki, int require_client_cert);

/* Stops accepting, ends every connection, joins the threads, frees. */
void fx_server_stop(fx_server_t *srv);

int fx_server_port(const fx_server_t *srv);

/* Answers from now on with status and extra_headers (each line ending in
 * "\r\n", or NULL); status 0 means read requests and never answer. */
void fx_server_reply(fx_server_t *srv, int status, const char *extra_headers);

/* Requests read, TLS connections accepted, handshakes that failed. */
void fx_server_counts(fx_server_t *srv, unsigned *requests,
                      unsigned *connections, unsigned *failed_handshakes);

/* Copies the last request into out; 0, or -1 when none was read. */
int fx_server_last(fx_server_t *srv, fx_request_t *out);

/* Value of header name (case-insensitive) in raw headers into out; 0 or
 * -1. */
int fx_header(const char *headers, const char *name, char *out, size_t cap);

#endif
