/*
 * webhook.h: Standard Webhooks signatures (standardwebhooks.com) for the
 * deliveries of brr-connector, and their verification for the organisation
 * simulator.
 *
 * The signed content is "<webhook-id>.<webhook-timestamp>.<body>"; the
 * signature is "v1," + base64(HMAC-SHA256(secret, content)).  While a
 * secret is rotated the header carries one signature per secret, separated
 * by a space, so a receiver holding either secret accepts the request.
 * Secrets are raw bytes, or text "whsec_<base64>" as Standard Webhooks
 * libraries print them.
 */
#ifndef CONN_WEBHOOK_H
#define CONN_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#define CONN_WEBHOOK_SECRET_MAX 64 /* bytes; the spec uses 24 to 64 */
#define CONN_WEBHOOK_MAX_SECRETS 2
/* One "v1," + 44 base64 characters; the header has one per secret,
 * space-separated, plus the NUL. */
#define CONN_WEBHOOK_SIG_LEN 47
#define CONN_WEBHOOK_HEADER_MAX                                                \
    (CONN_WEBHOOK_MAX_SECRETS * (CONN_WEBHOOK_SIG_LEN + 1) + 1)
#define CONN_WEBHOOK_TOLERANCE_S 300 /* the spec's timestamp window */

typedef struct {
    uint8_t key[CONN_WEBHOOK_SECRET_MAX];
    size_t len;
} conn_webhook_secret_t;

/* Sets a secret from len raw bytes (1..CONN_WEBHOOK_SECRET_MAX); 0 or
 * BRR_EINVAL. */
int conn_webhook_secret_raw(conn_webhook_secret_t *secret, const void *key,
                            size_t len);

/* Parses a secret as configured: "whsec_<base64>" is decoded, anything
 * else is taken as raw bytes (the text itself).  0, BRR_EINVAL for an empty
 * or too long secret, or BRR_EPARSE for bad base64 after "whsec_". */
int conn_webhook_secret_parse(conn_webhook_secret_t *secret, const char *text);

/* Writes the webhook-signature header value for (id, timestamp, body) under
 * nsecrets secrets (1 or 2, the current one first) into out, NUL
 * terminated; cap should be CONN_WEBHOOK_HEADER_MAX.  Returns 0,
 * BRR_EINVAL (no secrets, too many, NULL id) , BRR_ERANGE (out too small) or
 * BRR_ECRYPTO. */
int conn_webhook_sign(const conn_webhook_secret_t *secrets, size_t nsecrets,
                      const char *id, int64_t timestamp, const void *body,
                      size_t body_len, char *out, size_t cap);

/* Verifies a received request the way a Standard Webhooks receiver does:
 * the timestamp header must be decimal Unix seconds within tolerance_s of
 * now_s (0 tolerance means CONN_WEBHOOK_TOLERANCE_S) and one of the
 * space-separated "v1,<sig>" entries of sig_header must match one of the
 * nsecrets secrets (constant-time comparison; other versions are
 * ignored).  Returns 0 when valid, BRR_ERANGE for a timestamp outside the
 * window, BRR_EPARSE for a malformed timestamp, BRR_ECRYPTO when no
 * signature matches, BRR_EINVAL for bad arguments. */
int conn_webhook_verify(const conn_webhook_secret_t *secrets, size_t nsecrets,
                        const char *id, const char *timestamp, const void *body,
                        size_t body_len, const char *sig_header, int64_t now_s,
                        int64_t tolerance_s);

#endif
