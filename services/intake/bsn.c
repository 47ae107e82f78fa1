/*
 * bsn.c: the personal data brr must hold, and only here: the BSN, and an
 * application's contact details and refund account.  Encrypted at rest
 * with AES-256-GCM under a key ring: the key id is stored with every
 * ciphertext and bound as associated data (with the row's context, e.g.
 * the application id), so a row opens only under its own key and in its
 * own place, and keys can rotate: a new current key encrypts, previous
 * keys stay readable.  The BSN is found again through a keyed pseudonym,
 * never through the plain number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "err.h"
#include "intake.h"

static int read_key(const char *path, unsigned char out[32], char *err,
                    size_t cap)
{
    FILE *f = path != NULL ? fopen(path, "rb") : NULL;
    size_t n;
    unsigned char extra;
    if (f == NULL) {
        snprintf(err, cap, "could not open key file \"%s\"",
                 path != NULL ? path : "(not set)");
        return BRR_ECONFIG;
    }
    n = fread(out, 1, 32, f);
    if (n != 32 || fread(&extra, 1, 1, f) != 0) {
        fclose(f);
        snprintf(err, cap, "key file \"%s\" must hold exactly 32 bytes", path);
        return BRR_ECONFIG;
    }
    fclose(f);
    return 0;
}

static int key_id_ok(const char *id, size_t n)
{
    if (n == 0 || n > INTAKE_KEY_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

int intake_keys_load(intake_keys_t *k, const char *enc_file,
                     const char *hmac_file, const char *key_id, char *err,
                     size_t cap)
{
    int rc;
    memset(k, 0, sizeof(*k));
    if ((rc = read_key(enc_file, k->current.key, err, cap)) != 0 ||
        (rc = read_key(hmac_file, k->hmac_key, err, cap)) != 0)
        return rc;
    if (key_id == NULL || !key_id_ok(key_id, strlen(key_id))) {
        snprintf(err, cap,
                 "key id must be 1 to %d characters of A-Z a-z 0-9 - _ .",
                 INTAKE_KEY_ID_MAX);
        return BRR_ECONFIG;
    }
    snprintf(k->current.id, sizeof(k->current.id), "%s", key_id);
    return 0;
}

int intake_keys_add_old(intake_keys_t *k, const char *spec, char *err,
                        size_t cap)
{
    const char *p = spec;
    if (spec == NULL)
        return 0;
    while (*p) {
        size_t l = strcspn(p, ","), idl = strcspn(p, "=");
        char id[INTAKE_KEY_ID_MAX + 1], path[512];
        intake_key_t *key;
        int rc;
        if (idl >= l || !key_id_ok(p, idl) || l - idl - 1 == 0 ||
            l - idl - 1 >= sizeof(path)) {
            snprintf(err, cap, "previous keys must be id=file[,id=file]");
            return BRR_ECONFIG;
        }
        memcpy(id, p, idl);
        id[idl] = '\0';
        memcpy(path, p + idl + 1, l - idl - 1);
        path[l - idl - 1] = '\0';
        if (intake_keys_find(k, id) != NULL) {
            snprintf(err, cap, "key id \"%s\" is given twice", id);
            return BRR_ECONFIG;
        }
        if (k->nold == INTAKE_MAX_OLD_KEYS) {
            snprintf(err, cap, "at most %d previous keys", INTAKE_MAX_OLD_KEYS);
            return BRR_ECONFIG;
        }
        key = &k->old[k->nold];
        if ((rc = read_key(path, key->key, err, cap)) != 0)
            return rc;
        snprintf(key->id, sizeof(key->id), "%s", id);
        k->nold++;
        p += l;
        if (*p == ',')
            p++;
    }
    return 0;
}

const intake_key_t *intake_keys_find(const intake_keys_t *k, const char *id)
{
    if (strcmp(k->current.id, id) == 0)
        return &k->current;
    for (size_t i = 0; i < k->nold; i++)
        if (strcmp(k->old[i].id, id) == 0)
            return &k->old[i];
    return NULL;
}

void intake_bsn_pseudonym(const intake_keys_t *k, const char *bsn,
                          unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), k->hmac_key, 32, (const unsigned char *)bsn, 9, out,
         &len);
}

/* Associated data: the key id, then (when there is a context) a NUL and
 * the context.  Without a context it is the key id alone, which is what
 * BSN rows have always carried. */
static int add_aad(EVP_CIPHER_CTX *c, const char *key_id, const char *aad,
                   int enc)
{
    int len = 0;
    int (*upd)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *,
               int) = enc ? EVP_EncryptUpdate : EVP_DecryptUpdate;
    if (!upd(c, NULL, &len, (const unsigned char *)key_id, (int)strlen(key_id)))
        return 0;
    if (aad != NULL &&
        (!upd(c, NULL, &len, (const unsigned char *)"", 1) ||
         !upd(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad))))
        return 0;
    return 1;
}

int intake_seal(const intake_keys_t *k, const char *aad, const void *in,
                size_t len, unsigned char *out)
{
    EVP_CIPHER_CTX *c;
    int n = 0, ok;
    if (len > INT32_MAX - 64)
        return BRR_ECRYPTO;
    if ((c = EVP_CIPHER_CTX_new()) == NULL)
        abort();
    ok = RAND_bytes(out, 12) == 1 &&
         EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->current.key, out) &&
         add_aad(c, k->current.id, aad, 1) &&
         EVP_EncryptUpdate(c, out + 12, &n, in, (int)len) &&
         EVP_EncryptFinal_ex(c, out + 12 + n, &n) &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + len);
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : BRR_ECRYPTO;
}

int intake_open(const intake_keys_t *k, const char *key_id, const char *aad,
                const unsigned char *in, size_t inlen, unsigned char *out)
{
    const intake_key_t *key = intake_keys_find(k, key_id);
    EVP_CIPHER_CTX *c;
    unsigned char tag[16];
    size_t len;
    int n = 0, ok;
    if (key == NULL)
        return BRR_ENOTFOUND;
    if (inlen < INTAKE_SEAL_OVERHEAD || inlen > INT32_MAX - 64)
        return BRR_ECRYPTO;
    len = inlen - INTAKE_SEAL_OVERHEAD;
    memcpy(tag, in + 12 + len, 16);
    if ((c = EVP_CIPHER_CTX_new()) == NULL)
        abort();
    ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key->key, in) &&
         add_aad(c, key->id, aad, 0) &&
         EVP_DecryptUpdate(c, out, &n, in + 12, (int)len) &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) &&
         EVP_DecryptFinal_ex(c, out + n, &n) > 0;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        OPENSSL_cleanse(out, len);
        return BRR_ECRYPTO;
    }
    return 0;
}

int intake_bsn_encrypt(const intake_keys_t *k, const char *bsn,
                       unsigned char out[37])
{
    return intake_seal(k, NULL, bsn, 9, out);
}

int intake_bsn_decrypt(const intake_keys_t *k, const char *key_id,
                       const unsigned char in[37], char out[10])
{
    int rc = intake_open(k, key_id, NULL, in, 37, (unsigned char *)out);
    if (rc != 0)
        memset(out, 0, 10);
    else
        out[9] = '\0';
    return rc;
}
