/*
 * orgsim_check.c: the organisation simulator's pure checks: BSN scan,
 * Standard Webhooks signature and timestamp, CloudEvent shape.
 *
 * No I/O: each check takes bytes and returns a verdict, so
 * test_orgsim_check.c covers them without a server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "err.h"
#include "orgsim.h"
#include "validate.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_word(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_';
}

int orgsim_has_bsn(const char *s, size_t len)
{
    size_t i = 0, start;

    while (i < len) {
        if (!is_digit(s[i])) {
            i++;
            continue;
        }
        start = i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i - start != 9)
            continue;
        if (start > 0 && is_word(s[start - 1]))
            continue;
        if (i < len && is_word(s[i]))
            continue;
        if (brr_bsn_valid(s + start, 9, NULL))
            return 1;
    }
    return 0;
}

int orgsim_secret_decode(const char *secret, unsigned char **key,
                         size_t *keylen)
{
    size_t n = strlen(secret), pad = 0;
    unsigned char *out;
    int got;

    if (strncmp(secret, "whsec_", 6) != 0) {
        out = malloc(n + 1);
        if (out == NULL)
            abort();
        memcpy(out, secret, n);
        *key = out;
        *keylen = n;
        return 0;
    }
    secret += 6;
    n -= 6;
    if (n == 0 || n % 4 != 0)
        return BRR_EPARSE;
    out = malloc(n / 4 * 3 + 1);
    if (out == NULL)
        abort();
    got = EVP_DecodeBlock(out, (const unsigned char *)secret, (int)n);
    if (got < 0) {
        free(out);
        return BRR_EPARSE;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    while (pad < 2 && secret[n - 1 - pad] == '=')
        pad++;
    *key = out;
    *keylen = (size_t)got - pad;
    return 0;
}

static size_t sign(const unsigned char *key, size_t keylen, const char *id,
                   size_t idlen, const char *ts, size_t tslen, const char *body,
                   size_t bodylen, char *out)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end()};
    EVP_MAC *mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *h = mac_alg != NULL ? EVP_MAC_CTX_new(mac_alg) : NULL;

    if (h == NULL || EVP_MAC_init(h, key, keylen, params) != 1 ||
        EVP_MAC_update(h, (const unsigned char *)id, idlen) != 1 ||
        EVP_MAC_update(h, (const unsigned char *)".", 1) != 1 ||
        EVP_MAC_update(h, (const unsigned char *)ts, tslen) != 1 ||
        EVP_MAC_update(h, (const unsigned char *)".", 1) != 1 ||
        EVP_MAC_update(h, (const unsigned char *)body, bodylen) != 1 ||
        EVP_MAC_final(h, mac, &maclen, sizeof(mac)) != 1)
        abort(); /* HMAC-SHA256 is always there; this is OOM */
    EVP_MAC_CTX_free(h);
    EVP_MAC_free(mac_alg);
    return (size_t)EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
}

size_t orgsim_signature_make(const unsigned char *key, size_t keylen,
                             const char *id, const char *ts, const char *body,
                             size_t bodylen, char *out)
{
    memcpy(out, "v1,", 3);
    return 3 + sign(key, keylen, id, strlen(id), ts, strlen(ts), body, bodylen,
                    out + 3);
}

int orgsim_signature_ok(const unsigned char *key, size_t keylen, const char *id,
                        size_t idlen, const char *ts, size_t tslen,
                        const char *body, size_t bodylen, const char *sig,
                        size_t siglen)
{
    char want[48];
    size_t wantlen =
        sign(key, keylen, id, idlen, ts, tslen, body, bodylen, want);
    size_t i = 0, start, n;
    int ok = 0;

    while (i < siglen) {
        while (i < siglen && sig[i] == ' ')
            i++;
        start = i;
        while (i < siglen && sig[i] != ' ')
            i++;
        n = i - start;
        if (n == 3 + wantlen && memcmp(sig + start, "v1,", 3) == 0 &&
            CRYPTO_memcmp(sig + start + 3, want, wantlen) == 0)
            ok = 1;
    }
    return ok ? 0 : BRR_EREFUSED;
}

int orgsim_timestamp_ok(const char *ts, size_t len, time_t now, long window)
{
    long long v = 0, d;
    size_t i;

    if (len == 0 || len > 12)
        return 0;
    for (i = 0; i < len; i++) {
        if (!is_digit(ts[i]))
            return 0;
        v = v * 10 + (ts[i] - '0');
    }
    d = v - (long long)now;
    return d <= window && d >= -window;
}

static int copy_str(json_t *obj, const char *key, char *out, size_t cap,
                    char *why, size_t whycap)
{
    json_t *v = json_object_get(obj, key);
    size_t n;

    if (!json_is_string(v) || (n = json_string_length(v)) == 0 || n >= cap ||
        memchr(json_string_value(v), '\0', n) != NULL) {
        snprintf(why, whycap,
                 "%s must be a non-empty string of at most %zu "
                 "bytes",
                 key, cap - 1);
        return BRR_EPARSE;
    }
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

static int uuid_shape(const char *s)
{
    int i;

    for (i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!is_digit(c) && !(c >= 'a' && c <= 'f') &&
                   !(c >= 'A' && c <= 'F')) {
            return 0;
        }
    }
    return s[36] == '\0';
}

int orgsim_event_parse(const char *body, size_t len, orgsim_event_t *ev,
                       char *why, size_t whycap)
{
    json_error_t jerr;
    json_t *root, *v;
    int rc = BRR_EPARSE;

    memset(ev, 0, sizeof(*ev));
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(why, whycap, "invalid json: %s", jerr.text);
        return BRR_EPARSE;
    }
    if (!json_is_object(root)) {
        snprintf(why, whycap, "event must be a json object");
        goto out;
    }
    v = json_object_get(root, "specversion");
    if (!json_is_string(v) || strcmp(json_string_value(v), "1.0") != 0) {
        snprintf(why, whycap, "specversion must be \"1.0\"");
        goto out;
    }
    if (copy_str(root, "id", ev->id, sizeof(ev->id), why, whycap) != 0)
        goto out;
    if (!uuid_shape(ev->id)) {
        snprintf(why, whycap, "id must be a uuid");
        goto out;
    }
    if (copy_str(root, "source", ev->source, sizeof(ev->source), why, whycap) !=
            0 ||
        copy_str(root, "type", ev->type, sizeof(ev->type), why, whycap) != 0 ||
        copy_str(root, "subject", ev->subject, sizeof(ev->subject), why,
                 whycap) != 0)
        goto out;
    v = json_object_get(root, "sequence");
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        ev->sequence = json_integer_value(v);
    } else if (json_is_string(v) && json_string_length(v) > 0 &&
               json_string_length(v) <= 18) {
        const char *s = json_string_value(v);
        size_t i, n = json_string_length(v);

        for (i = 0; i < n; i++) {
            if (!is_digit(s[i])) {
                snprintf(why, whycap, "sequence must be digits");
                goto out;
            }
            ev->sequence = ev->sequence * 10 + (s[i] - '0');
        }
    } else {
        snprintf(why, whycap, "sequence must be a non-negative integer");
        goto out;
    }
    if (!json_is_object(json_object_get(root, "data"))) {
        snprintf(why, whycap, "data must be a json object");
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
