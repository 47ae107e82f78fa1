/*
 * peer.c: the role of brr-intake's caller, from its client certificate.
 *
 * Two kinds of client share the mutual-TLS listener: the web-form back
 * ends of the channels (CJIB, BELASTINGDIENST) send applications, reads
 * and pauses; participating organisations send reports.  Their names
 * overlap (CJIB is both a channel and an organisation), so the CN cannot
 * tell them apart: each role has its own CA, and a certificate counts for
 * the role whose CA issued it.  Each route asks for one role and answers
 * 403 to every other certificate.
 *
 * Runs on the loop for every request; the signature checks against the
 * role's CAs run once per connection (the verdict is kept on the peer
 * certificate).
 */
#include "peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "err.h"

/* Bumped by every change of a role set: see role_of_remembered(). */
static unsigned long roles_gen = 1;

static int issued_by_one_of(STACK_OF(X509) * cas, X509 *cert)
{
    for (int i = 0; cas != NULL && i < sk_X509_num(cas); i++) {
        X509 *ca = sk_X509_value(cas, i);
        /* names and key identifiers match, and the signature is the CA's:
         * a certificate naming the CA as issuer proves nothing by itself */
        if (X509_check_issued(ca, cert) == X509_V_OK &&
            X509_verify(cert, X509_get0_pubkey(ca)) == 1)
            return 1;
    }
    return 0;
}

intake_role_t intake_role_of(const intake_roles_t *r, X509 *cert)
{
    int channel, org;
    if (X509_check_ca(cert) != 0)
        return INTAKE_ROLE_NONE; /* a CA is nobody's client */
    channel = issued_by_one_of(r->channel_cas, cert);
    org = issued_by_one_of(r->org_cas, cert);
    if (channel && !org)
        return INTAKE_ROLE_CHANNEL;
    if (org && !channel)
        return INTAKE_ROLE_ORGANISATION;
    return INTAKE_ROLE_NONE; /* neither; both cannot pass roles_set */
}

void intake_roles_free(intake_roles_t *r)
{
    roles_gen++;
    sk_X509_pop_free(r->channel_cas, X509_free);
    sk_X509_pop_free(r->org_cas, X509_free);
    r->channel_cas = NULL;
    r->org_cas = NULL;
}

static int check_cas(STACK_OF(X509) * cas, const char *what, char *err,
                     size_t cap)
{
    if (cas == NULL || sk_X509_num(cas) == 0) {
        snprintf(err, cap, "the %s CA file holds no certificate", what);
        return BRR_ECONFIG;
    }
    for (int i = 0; i < sk_X509_num(cas); i++)
        if (X509_check_ca(sk_X509_value(cas, i)) == 0) {
            snprintf(err, cap, "certificate %d of the %s CA file is not a CA",
                     i + 1, what);
            return BRR_ECONFIG;
        }
    return 0;
}

int intake_roles_set(intake_roles_t *r, STACK_OF(X509) * channel_cas,
                     STACK_OF(X509) * org_cas, char *err, size_t cap)
{
    int rc;
    roles_gen++;
    r->channel_cas = channel_cas; /* owned by r now */
    r->org_cas = org_cas;
    if ((rc = check_cas(channel_cas, "channel", err, cap)) != 0 ||
        (rc = check_cas(org_cas, "organisation", err, cap)) != 0) {
        intake_roles_free(r);
        return rc;
    }
    for (int i = 0; i < sk_X509_num(channel_cas); i++)
        for (int j = 0; j < sk_X509_num(org_cas); j++) {
            X509 *a = sk_X509_value(channel_cas, i);
            X509 *b = sk_X509_value(org_cas, j);
            if (X509_cmp(a, b) == 0 ||
                EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(b)) == 1) {
                snprintf(err, cap,
                         "the channel and organisation CA files share a CA "
                         "(or a CA key): each role needs its own CA");
                intake_roles_free(r);
                return BRR_ECONFIG;
            }
        }
    return 0;
}

/* Every certificate of a PEM file; NULL when it cannot be read. */
static STACK_OF(X509) * read_cas(const char *file)
{
    STACK_OF(X509) * cas;
    X509 *ca;
    FILE *f = file != NULL ? fopen(file, "r") : NULL;
    if (f == NULL)
        return NULL;
    cas = sk_X509_new_null();
    if (cas == NULL)
        abort();
    while ((ca = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
        if (sk_X509_push(cas, ca) == 0)
            abort();
    ERR_clear_error(); /* the end of the file reads as an error */
    fclose(f);
    return cas;
}

int intake_roles_load(intake_roles_t *r, const char *channel_ca_file,
                      const char *org_ca_file, char *err, size_t cap)
{
    STACK_OF(X509) *ch = read_cas(channel_ca_file);
    STACK_OF(X509) *org = read_cas(org_ca_file);
    memset(r, 0, sizeof(*r));
    if (ch == NULL || org == NULL) {
        snprintf(err, cap, "could not read the %s CA file %s",
                 ch == NULL ? "channel" : "organisation",
                 ch == NULL ? (channel_ca_file ? channel_ca_file : "(unset)")
                            : (org_ca_file ? org_ca_file : "(unset)"));
        sk_X509_pop_free(ch, X509_free);
        sk_X509_pop_free(org, X509_free);
        return BRR_ECONFIG;
    }
    return intake_roles_set(r, ch, org, err, cap);
}

/* The role of a connection's certificate, remembered on the certificate:
 * a connection's peer certificate is one X509 for the connection's life,
 * so its signatures are checked once per connection instead of once per
 * request (an ECDSA verify per request was a third of intake's CPU under
 * load).  Any change of any role set (roles_gen) forgets every verdict. */
typedef struct {
    const intake_roles_t *roles;
    unsigned long gen;
    intake_role_t role;
} role_memo_t;

static int memo_index = -1;

static void memo_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                      long argl, void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    free(ptr);
}

static intake_role_t role_of_remembered(const intake_roles_t *r, X509 *cert)
{
    role_memo_t *m;
    if (memo_index < 0)
        memo_index = X509_get_ex_new_index(0, NULL, NULL, NULL, memo_free);
    m = memo_index >= 0 ? X509_get_ex_data(cert, memo_index) : NULL;
    if (m != NULL && m->roles == r && m->gen == roles_gen)
        return m->role;
    if (m == NULL && memo_index >= 0) {
        m = calloc(1, sizeof(*m));
        if (m == NULL)
            abort();
        if (X509_set_ex_data(cert, memo_index, m) != 1) {
            free(m);
            m = NULL;
        }
    }
    if (m == NULL)
        return intake_role_of(r, cert);
    m->roles = r;
    m->gen = roles_gen;
    m->role = intake_role_of(r, cert);
    return m->role;
}

int intake_peer_cn(h2o_req_t *req, const intake_roles_t *r, intake_role_t want,
                   char *cn, size_t cap)
{
    X509 *cert = NULL;
    int rc = brr_http_peer_cert(req, &cert);
    if (rc != 0)
        return rc;
    if (role_of_remembered(r, cert) != want)
        rc = BRR_EREFUSED;
    else
        rc = brr_http_cert_cn(cert, cn, cap);
    X509_free(cert);
    return rc;
}
