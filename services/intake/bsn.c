/*
 * bsn.c: the BSN is the one piece of personal data brr must hold, and only
 * here: encrypted at rest (AES-256-GCM, the key id bound as associated data
 * so a row can never be decrypted under the wrong key after rotation) and
 * found again through a keyed pseudonym, never through the plain number.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "err.h"
#include "intake.h"

static int read_key(const char *path, unsigned char out[32], char *err,
                    size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    unsigned char extra;
    if (f == NULL) {
        snprintf(err, cap, "could not open key file \"%s\"", path);
        return BRR_ECONFIG;
    }
    n = fread(out, 1, 32, f);
    if (n != 32 || fread(&extra, 1, 1, f) != 0) {
        fclose(f);
        snprintf(err, cap, "key file \"%s\" must hold exactly 32 bytes",
                 path);
        return BRR_ECONFIG;
    }
    fclose(f);
    return 0;
}

int intake_keys_load(intake_keys_t *k, const char *enc_file,
                     const char *hmac_file, const char *key_id, char *err,
                     size_t cap)
{
    int rc;
    if ((rc = read_key(enc_file, k->enc_key, err, cap)) != 0 ||
        (rc = read_key(hmac_file, k->hmac_key, err, cap)) != 0)
        return rc;
    if (strlen(key_id) == 0 || strlen(key_id) >= sizeof(k->key_id)) {
        snprintf(err, cap, "key id must be 1 to %zu characters",
                 sizeof(k->key_id) - 1);
        return BRR_ECONFIG;
    }
    snprintf(k->key_id, sizeof(k->key_id), "%s", key_id);
    return 0;
}

void intake_bsn_pseudonym(const intake_keys_t *k, const char *bsn,
                          unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), k->hmac_key, 32, (const unsigned char *)bsn, 9, out,
         &len);
}

int intake_bsn_encrypt(const intake_keys_t *k, const char *bsn,
                       unsigned char out[37])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, ok;
    if (c == NULL)
        return BRR_ECRYPTO;
    ok = RAND_bytes(out, 12) == 1 &&
         EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->enc_key, out) &&
         EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)k->key_id,
                           (int)strlen(k->key_id)) &&
         EVP_EncryptUpdate(c, out + 12, &len, (const unsigned char *)bsn,
                           9) &&
         EVP_EncryptFinal_ex(c, out + 12 + len, &len) &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 21);
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : BRR_ECRYPTO;
}

int intake_bsn_decrypt(const intake_keys_t *k, const unsigned char in[37],
                       char out[10])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    unsigned char tag[16];
    int len = 0, ok;
    if (c == NULL)
        return BRR_ECRYPTO;
    memcpy(tag, in + 21, 16);
    ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->enc_key, in) &&
         EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *)k->key_id,
                           (int)strlen(k->key_id)) &&
         EVP_DecryptUpdate(c, (unsigned char *)out, &len, in + 12, 9) &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) &&
         EVP_DecryptFinal_ex(c, (unsigned char *)out + len, &len) > 0;
    EVP_CIPHER_CTX_free(c);
    out[9] = '\0';
    if (!ok)
        memset(out, 0, 10);
    return ok ? 0 : BRR_ECRYPTO;
}
