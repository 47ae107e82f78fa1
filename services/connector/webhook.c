/*
 * webhook.c: Standard Webhooks signing and verification (see webhook.h) on
 * OpenSSL 3's EVP_MAC.
 */
#include "webhook.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "err.h"

#define HMAC_LEN 32
#define B64_LEN 44 /* base64 of 32 bytes */

static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

/* Fetching an algorithm costs a lock and a lookup, so it happens once per
 * process; the fetched object lives until exit. */
static void hmac_fetch(void)
{
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

int conn_webhook_secret_raw(conn_webhook_secret_t *secret, const void *key,
                            size_t len)
{
    if (key == NULL || len == 0 || len > CONN_WEBHOOK_SECRET_MAX)
        return BRR_EINVAL;
    memcpy(secret->key, key, len);
    secret->len = len;
    return 0;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict standard base64, padding optional; no whitespace. */
static int b64_decode(const char *in, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = strlen(in), o = 0;
    uint32_t acc = 0;
    int bits = 0;

    while (n > 0 && in[n - 1] == '=')
        n--;
    if (strlen(in) - n > 2)
        return BRR_EPARSE;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(in[i]);
        if (v < 0)
            return BRR_EPARSE;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return BRR_EINVAL;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* 6 leftover bits cannot come from whole bytes. */
    if (bits >= 6)
        return BRR_EPARSE;
    *len = o;
    return 0;
}

int conn_webhook_secret_parse(conn_webhook_secret_t *secret, const char *text)
{
    static const char prefix[] = "whsec_";
    uint8_t buf[CONN_WEBHOOK_SECRET_MAX];
    size_t len;
    int rc;

    if (text == NULL || text[0] == '\0')
        return BRR_EINVAL;
    if (strncmp(text, prefix, sizeof(prefix) - 1) != 0)
        return conn_webhook_secret_raw(secret, text, strlen(text));
    rc = b64_decode(text + sizeof(prefix) - 1, buf, sizeof(buf), &len);
    if (rc == 0)
        rc = conn_webhook_secret_raw(secret, buf, len);
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

/* base64(HMAC-SHA256(secret, id "." ts "." body)) into out[B64_LEN + 1]. */
static int sign_one(const conn_webhook_secret_t *secret, const char *id,
                    const char *ts, const void *body, size_t body_len,
                    char out[B64_LEN + 1])
{
    /* One context per thread, its digest set once: a new context and a
     * digest lookup per signature cost more than the MAC itself.  Each
     * signature starts with EVP_MAC_init under its own key. */
    static _Thread_local EVP_MAC_CTX *ctx;
    static _Thread_local int digest_set;
    OSSL_PARAM params[2];
    unsigned char mac[HMAC_LEN];
    size_t mac_len = 0;
    int ok;

    pthread_once(&hmac_once, hmac_fetch);
    if (hmac_alg == NULL || secret->len == 0)
        return BRR_ECRYPTO;
    if (ctx == NULL && (ctx = EVP_MAC_CTX_new(hmac_alg)) == NULL)
        return BRR_ECRYPTO;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    ok = EVP_MAC_init(ctx, secret->key, secret->len,
                      digest_set ? NULL : params) &&
         EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) &&
         EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
         EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) &&
         EVP_MAC_update(ctx, (const unsigned char *)".", 1) &&
         EVP_MAC_update(ctx, body, body_len) &&
         EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) && mac_len == HMAC_LEN;
    if (ok)
        digest_set = 1;
    if (!ok)
        return BRR_ECRYPTO;
    EVP_EncodeBlock((unsigned char *)out, mac, HMAC_LEN);
    return 0;
}

int conn_webhook_sign(const conn_webhook_secret_t *secrets, size_t nsecrets,
                      const char *id, int64_t timestamp, const void *body,
                      size_t body_len, char *out, size_t cap)
{
    char ts[24], sig[B64_LEN + 1];
    size_t off = 0;
    int rc;

    if (secrets == NULL || nsecrets == 0 ||
        nsecrets > CONN_WEBHOOK_MAX_SECRETS || id == NULL ||
        (body == NULL && body_len > 0))
        return BRR_EINVAL;
    if (cap < nsecrets * (CONN_WEBHOOK_SIG_LEN + 1))
        return BRR_ERANGE;
    snprintf(ts, sizeof(ts), "%" PRId64, timestamp);
    for (size_t i = 0; i < nsecrets; i++) {
        if ((rc = sign_one(&secrets[i], id, ts, body ? body : "", body_len,
                           sig)) < 0)
            return rc;
        off += (size_t)snprintf(out + off, cap - off, "%sv1,%s", i ? " " : "",
                                sig);
    }
    return 0;
}

static int parse_timestamp(const char *s, int64_t *out)
{
    int64_t v = 0;

    if (s == NULL || *s == '\0')
        return BRR_EPARSE;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
            return BRR_EPARSE;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

int conn_webhook_verify(const conn_webhook_secret_t *secrets, size_t nsecrets,
                        const char *id, const char *timestamp, const void *body,
                        size_t body_len, const char *sig_header, int64_t now_s,
                        int64_t tolerance_s)
{
    char want[CONN_WEBHOOK_MAX_SECRETS][B64_LEN + 1];
    int64_t ts;
    int rc, match = 0;

    if (secrets == NULL || nsecrets == 0 ||
        nsecrets > CONN_WEBHOOK_MAX_SECRETS || id == NULL ||
        sig_header == NULL || (body == NULL && body_len > 0))
        return BRR_EINVAL;
    if (tolerance_s <= 0)
        tolerance_s = CONN_WEBHOOK_TOLERANCE_S;
    if (parse_timestamp(timestamp, &ts) < 0)
        return BRR_EPARSE;
    if (ts < now_s - tolerance_s || ts > now_s + tolerance_s)
        return BRR_ERANGE;
    for (size_t i = 0; i < nsecrets; i++)
        if ((rc = sign_one(&secrets[i], id, timestamp, body ? body : "",
                           body_len, want[i])) < 0)
            return rc;

    for (const char *p = sig_header; *p;) {
        const char *end;
        size_t len;

        while (*p == ' ')
            p++;
        end = p;
        while (*end && *end != ' ')
            end++;
        len = (size_t)(end - p);
        if (len == 3 + B64_LEN && strncmp(p, "v1,", 3) == 0)
            for (size_t i = 0; i < nsecrets; i++)
                match |= CRYPTO_memcmp(p + 3, want[i], B64_LEN) == 0;
        p = end;
    }
    return match ? 0 : BRR_ECRYPTO;
}
