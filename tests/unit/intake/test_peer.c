/*
 * test_peer.c: the caller's role from its client certificate
 * (services/intake/peer.c).  A channel certificate and an organisation
 * certificate may carry the same CN (CJIB is both); only the issuing CA
 * tells them apart.  Certificates are made here with the OpenSSL API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "peer.h"

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    assert_non_null(ext);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

/* A certificate for cn on key (a fresh P-256 key when NULL), signed by
 * signer_key and naming issuer as its issuer (NULL: self-signed).  No
 * authority key identifier, so only the signature links it to its CA. */
static X509 *make_cert(const char *cn, int ca, X509 *issuer,
                       EVP_PKEY *signer_key, EVP_PKEY **key)
{
    static long serial = 1;
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (*key == NULL)
        *key = EVP_EC_gen("P-256");
    assert_non_null(*key);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(cert, name);
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
    X509_NAME_free(name);
    X509_set_pubkey(cert, *key);
    if (ca) {
        add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(cert, cert, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert, cert, NID_ext_key_usage, "clientAuth");
    }
    assert_true(X509_sign(cert, signer_key ? signer_key : *key, EVP_sha256()) >
                0);
    return cert;
}

typedef struct {
    EVP_PKEY *ch_key, *org_key, *rogue_key;
    X509 *ch_ca, *org_ca, *rogue_ca;
} pki_t;

static pki_t pki;

static int setup(void **state)
{
    (void)state;
    memset(&pki, 0, sizeof(pki));
    pki.ch_ca = make_cert("brr channel CA", 1, NULL, NULL, &pki.ch_key);
    pki.org_ca = make_cert("brr organisation CA", 1, NULL, NULL, &pki.org_key);
    /* a CA nobody trusts that calls itself the channel CA */
    pki.rogue_ca = make_cert("brr channel CA", 1, NULL, NULL, &pki.rogue_key);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    X509_free(pki.ch_ca);
    X509_free(pki.org_ca);
    X509_free(pki.rogue_ca);
    EVP_PKEY_free(pki.ch_key);
    EVP_PKEY_free(pki.org_key);
    EVP_PKEY_free(pki.rogue_key);
    return 0;
}

static STACK_OF(X509) * one(X509 *ca)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    X509_up_ref(ca);
    sk_X509_push(sk, ca);
    return sk;
}

static void roles(intake_roles_t *r)
{
    char err[160];
    assert_int_equal(
        intake_roles_set(r, one(pki.ch_ca), one(pki.org_ca), err, sizeof(err)),
        0);
}

/* The role of a fresh leaf for cn issued under issuer, signed by key. */
static intake_role_t role_of_leaf(const intake_roles_t *r, X509 *issuer,
                                  EVP_PKEY *signer)
{
    EVP_PKEY *key = NULL;
    X509 *leaf = make_cert("CJIB", 0, issuer, signer, &key);
    intake_role_t role = intake_role_of(r, leaf);
    X509_free(leaf);
    EVP_PKEY_free(key);
    return role;
}

static void test_same_cn_told_apart_by_issuing_ca(void **state)
{
    intake_roles_t r;
    (void)state;
    roles(&r);
    assert_int_equal(role_of_leaf(&r, pki.ch_ca, pki.ch_key),
                     INTAKE_ROLE_CHANNEL);
    assert_int_equal(role_of_leaf(&r, pki.org_ca, pki.org_key),
                     INTAKE_ROLE_ORGANISATION);
    intake_roles_free(&r);
}

static void test_issuer_name_without_the_cas_signature_is_no_role(void **state)
{
    intake_roles_t r;
    (void)state;
    roles(&r);
    /* names the channel CA as issuer, signed by the rogue CA's key */
    assert_int_equal(role_of_leaf(&r, pki.ch_ca, pki.rogue_key),
                     INTAKE_ROLE_NONE);
    assert_int_equal(role_of_leaf(&r, pki.rogue_ca, pki.rogue_key),
                     INTAKE_ROLE_NONE);
    /* a CA certificate itself is no client of either role */
    assert_int_equal(intake_role_of(&r, pki.ch_ca), INTAKE_ROLE_NONE);
    intake_roles_free(&r);
}

static void test_one_ca_in_both_roles_is_refused(void **state)
{
    intake_roles_t r;
    char err[160] = "";
    EVP_PKEY *key = pki.ch_key;
    X509 *again;
    (void)state;
    assert_int_equal(
        intake_roles_set(&r, one(pki.ch_ca), one(pki.ch_ca), err, sizeof(err)),
        BRR_ECONFIG);
    assert_non_null(strstr(err, "own CA"));
    assert_null(r.channel_cas);
    /* another certificate over the same CA key signs for both as well */
    EVP_PKEY_up_ref(key);
    again = make_cert("brr organisation CA", 1, NULL, NULL, &key);
    assert_int_equal(
        intake_roles_set(&r, one(pki.ch_ca), one(again), err, sizeof(err)),
        BRR_ECONFIG);
    X509_free(again);
    EVP_PKEY_free(key);
}

static void test_empty_or_non_ca_files_are_refused(void **state)
{
    intake_roles_t r;
    char err[160] = "";
    EVP_PKEY *key = NULL;
    X509 *leaf = make_cert("CJIB", 0, pki.ch_ca, pki.ch_key, &key);
    (void)state;
    assert_int_equal(intake_roles_set(&r, sk_X509_new_null(), one(pki.org_ca),
                                      err, sizeof(err)),
                     BRR_ECONFIG);
    assert_non_null(strstr(err, "channel"));
    assert_int_equal(
        intake_roles_set(&r, one(pki.ch_ca), one(leaf), err, sizeof(err)),
        BRR_ECONFIG);
    assert_non_null(strstr(err, "not a CA"));
    X509_free(leaf);
    EVP_PKEY_free(key);
}

static void test_load_reads_bundles_and_names_a_missing_file(void **state)
{
    char dir[] = "/tmp/brr-test-peer-XXXXXX", ch[64], org[64], err[200];
    intake_roles_t r;
    EVP_PKEY *key = NULL;
    X509 *leaf = make_cert("CJIB", 0, pki.org_ca, pki.org_key, &key);
    FILE *f;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(ch, sizeof(ch), "%s/channel-ca.crt", dir);
    snprintf(org, sizeof(org), "%s/org-ca.crt", dir);
    assert_non_null(f = fopen(ch, "w"));
    PEM_write_X509(f, pki.ch_ca);
    fclose(f);
    assert_non_null(f = fopen(org, "w")); /* two CAs, as during a rollover */
    PEM_write_X509(f, pki.rogue_ca);
    PEM_write_X509(f, pki.org_ca);
    fclose(f);
    assert_int_equal(intake_roles_load(&r, ch, org, err, sizeof(err)), 0);
    assert_int_equal(sk_X509_num(r.org_cas), 2);
    assert_int_equal(intake_role_of(&r, leaf), INTAKE_ROLE_ORGANISATION);
    intake_roles_free(&r);
    assert_int_equal(
        intake_roles_load(&r, ch, "/nonexistent/org-ca.crt", err, sizeof(err)),
        BRR_ECONFIG);
    assert_non_null(strstr(err, "/nonexistent/org-ca.crt"));
    assert_int_equal(intake_roles_load(&r, NULL, org, err, sizeof(err)),
                     BRR_ECONFIG);
    unlink(ch);
    unlink(org);
    rmdir(dir);
    X509_free(leaf);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_cn_told_apart_by_issuing_ca),
        cmocka_unit_test(test_issuer_name_without_the_cas_signature_is_no_role),
        cmocka_unit_test(test_one_ca_in_both_roles_is_refused),
        cmocka_unit_test(test_empty_or_non_ca_files_are_refused),
        cmocka_unit_test(test_load_reads_bundles_and_names_a_missing_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
