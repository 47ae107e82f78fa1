/*
 * peer.h: who is calling brr-intake: a web-form channel or a participating
 * organisation, told apart by the CA that issued the client certificate
 * (see peer.c).
 */
#ifndef BRR_INTAKE_PEER_H
#define BRR_INTAKE_PEER_H

#include <stddef.h>

#include <openssl/x509.h>

#include "http.h"

typedef enum {
    INTAKE_ROLE_NONE = 0,
    INTAKE_ROLE_CHANNEL,      /* applications, reads, pauses */
    INTAKE_ROLE_ORGANISATION, /* reports (POST /v1/reports) */
} intake_role_t;

/* The CAs that issue each role's client certificates.  Both listener CA
 * files are trusted for the handshake; the role is the one whose CA signed
 * the certificate. */
typedef struct {
    STACK_OF(X509) * channel_cas;
    STACK_OF(X509) * org_cas;
} intake_roles_t;

/* The 403 details of a certificate on the other role's route. */
#define INTAKE_PEER_NOT_CHANNEL                                                \
    "this route takes the client certificate of a web-form channel, issued "   \
    "by the channel CA; an organisation's certificate is accepted only on "    \
    "POST /v1/reports"
#define INTAKE_PEER_NOT_ORGANISATION                                           \
    "this route takes the client certificate of a participating "              \
    "organisation, issued by the organisation CA; a channel's certificate "    \
    "is not accepted here"

/* Reads each role's CAs (PEM, one or more certificates per file).  0, or
 * BRR_ECONFIG with err set: a file unreadable or without certificates, a
 * certificate that is not a CA, or a CA (or a CA key) in both files, which
 * would let one certificate act in both roles.  On failure r is empty. */
int intake_roles_load(intake_roles_t *r, const char *channel_ca_file,
                      const char *org_ca_file, char *err, size_t cap);

/* The same from certificates in memory; takes ownership of both stacks
 * (freed on failure too). */
int intake_roles_set(intake_roles_t *r, STACK_OF(X509) * channel_cas,
                     STACK_OF(X509) * org_cas, char *err, size_t cap);

/* Frees the CAs; r is empty afterwards. */
void intake_roles_free(intake_roles_t *r);

/* The role of a (verified) certificate: the role whose CA issued and
 * signed it, INTAKE_ROLE_NONE when neither did. */
intake_role_t intake_role_of(const intake_roles_t *r, X509 *cert);

/* The CN of req's verified client certificate when its role is want.
 * 0; BRR_ENOTFOUND (no verified certificate, no CN), BRR_REFUSED (another
 * role's certificate, or none) or BRR_ERANGE (CN longer than cap - 1). */
int intake_peer_cn(h2o_req_t *req, const intake_roles_t *r, intake_role_t want,
                   char *cn, size_t cap);

#endif
