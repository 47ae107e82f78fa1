/*
 * intake.h: brr-intake's modules.
 *
 *   app.c      the application request: strict JSON, every field bounded,
 *              all errors reported together (pure apart from jansson)
 *   bsn.c      personal data at rest: AES-256-GCM under a key ring (key id
 *              stored with each ciphertext) and the BSN pseudonym (HMAC)
 *   rate.c     per-channel token buckets (pure)
 *   api.c      the HTTP handlers and the commit batcher
 *   main.c     configuration, wiring and the read model consumer
 */
#ifndef BRR_INTAKE_H
#define BRR_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jbuf.h"
#include "money.h"

#define INTAKE_MAX_CLAIMS 100
#define INTAKE_MAX_ERRORS 32
#define INTAKE_MAX_CLAIM_CENTS INT64_C(1000000000) /* EUR 10 million */
#define INTAKE_MAX_INCOME_CENTS INT64_C(100000000) /* EUR 1 million/month */
#define INTAKE_MAX_EMAIL 254                       /* RFC 5321 path limit */
#define INTAKE_MAX_TEXT 80 /* street, city, account holder */
#define INTAKE_MAX_HOUSE_NUMBER 99999
#define INTAKE_MAX_YEARS_AHEAD 1 /* reference_date at most a year ahead */

typedef struct {
    char field[64];
    char detail[160];
} intake_error_t;

typedef struct {
    char organisation[17];
    char reference[65];
    brr_cents_t open_cents;
    char due_date[11];
    int under_objection;
} intake_claim_t;

/* Contact details and refund account: personal data, stored only sealed
 * (bsn.c), never in the public body, events or logs. */
typedef struct {
    char email[INTAKE_MAX_EMAIL + 1];
    char phone[13]; /* "+31" and 9 digits */
    int has_address;
    char street[INTAKE_MAX_TEXT + 1];
    int house_number;
    char house_number_addition[7];
    char postcode[7]; /* "1234AB" */
    char city[INTAKE_MAX_TEXT + 1];
    char iban[35]; /* normalised; "" when none */
    char account_holder[INTAKE_MAX_TEXT + 1];
} intake_personal_t;

typedef struct {
    char bsn[10]; /* 9 digits; never logged, never leaves intake */
    intake_personal_t personal;
    int maatwerk;
    intake_claim_t claims[INTAKE_MAX_CLAIMS];
    size_t nclaims;
    brr_cents_t requested_instalment_cents;
    int due_day;
    char reference_date[11];
    char household[24];
    int aow_age;
    brr_cents_t net_income_cents, partner_net_income_cents, extra_housing_cents;
    int consent;
    intake_error_t errors[INTAKE_MAX_ERRORS];
    size_t nerrors;
} intake_app_t;

/* Does the organisation code name a participating organisation? */
typedef int (*intake_org_known_cb)(void *arg, const char *code);

/* Parses and validates one application body.  channel is the channel from
 * the client certificate; today is "YYYY-MM-DD" (the default reference
 * date).  Returns 0 when valid; otherwise BRR_EPARSE (not JSON: one error)
 * or BRR_EINVAL with every invalid field in app->errors. */
int intake_app_parse(const char *body, size_t len, const char *channel,
                     const char *today, intake_org_known_cb known, void *arg,
                     intake_app_t *app);

/* The application without the BSN and personal data, as stored and
 * assessed. */
json_t *intake_app_public_json(const intake_app_t *app);

/* The contact details and refund account as one JSON object (to be sealed),
 * or NULL when the application carries none. */
json_t *intake_app_personal_json(const intake_app_t *app);

/* The same two objects written as JSON text at the end of b (no jansson
 * tree: they are written once per accepted application).  The personal
 * writer returns 0 and writes nothing when there is nothing personal. */
void intake_app_public_write(const intake_app_t *app, brr_jbuf_t *b);
int intake_app_personal_write(const intake_app_t *app, brr_jbuf_t *b);

/* Is s a syntactically acceptable e-mail address (bounded dot-atom local
 * part, '@', a domain of at least two LDH labels with an alphabetic TLD)? */
int intake_email_valid(const char *s, size_t len);

/* A Dutch telephone number (0XXXXXXXXX, +31XXXXXXXXX or 0031XXXXXXXXX,
 * spaces and '-' allowed between digits); out gets "+31" and the 9 digits
 * (13 bytes).  1 when valid. */
int intake_phone_valid(const char *s, size_t len, char out[13]);

/* The problem+json body (RFC 9457) for a validation failure. */
char *intake_problem(int status, const char *title, const char *detail,
                     const intake_error_t *errors, size_t nerrors);

/* ---- personal data at rest (bsn.c) ------------------------------------ */

#define INTAKE_KEY_ID_MAX 31
#define INTAKE_MAX_OLD_KEYS 4
#define INTAKE_SEAL_OVERHEAD 28 /* iv(12) + tag(16) */

typedef struct {
    char id[INTAKE_KEY_ID_MAX + 1];
    unsigned char key[32];
} intake_key_t;

/* The key ring: the current key encrypts; the previous keys only decrypt
 * what was stored under them until it is re-encrypted.  The HMAC key of the
 * pseudonym does not rotate (every lookup depends on it). */
typedef struct {
    intake_key_t current;
    intake_key_t old[INTAKE_MAX_OLD_KEYS];
    size_t nold;
    unsigned char hmac_key[32];
} intake_keys_t;

/* Reads both 32-byte keys from files; 0 or BRR_ECONFIG with err set. */
int intake_keys_load(intake_keys_t *k, const char *enc_file,
                     const char *hmac_file, const char *key_id, char *err,
                     size_t cap);

/* Adds previous keys for decryption from "id=file,id=file" (NULL or "" is
 * none).  0 or BRR_ECONFIG with err set (unreadable file, duplicate or
 * malformed id, too many). */
int intake_keys_add_old(intake_keys_t *k, const char *spec, char *err,
                        size_t cap);

/* The key with this id (current or old), or NULL. */
const intake_key_t *intake_keys_find(const intake_keys_t *k, const char *id);

/* HMAC-SHA256(hmac_key, bsn): 32 bytes. */
void intake_bsn_pseudonym(const intake_keys_t *k, const char *bsn,
                          unsigned char out[32]);

/* AES-256-GCM of len bytes under the current key; the key id and aad (may
 * be NULL) are bound as associated data, so a ciphertext opens only under
 * its own key and in its own context.  out gets iv(12) | ciphertext(len) |
 * tag(16) = len + INTAKE_SEAL_OVERHEAD bytes.  0 or BRR_ECRYPTO. */
int intake_seal(const intake_keys_t *k, const char *aad, const void *in,
                size_t len, unsigned char *out);

/* The inverse, with the key named by key_id (current or old): out gets
 * inlen - INTAKE_SEAL_OVERHEAD bytes.  0, BRR_ENOTFOUND (no such key) or
 * BRR_ECRYPTO (wrong key, other context, tampered data). */
int intake_open(const intake_keys_t *k, const char *key_id, const char *aad,
                const unsigned char *in, size_t inlen, unsigned char *out);

/* The BSN sealed under the current key (no extra context): 37 bytes. */
int intake_bsn_encrypt(const intake_keys_t *k, const char *bsn,
                       unsigned char out[37]);

/* The inverse for a BSN stored with key_id; out gets 10 bytes (9 digits
 * and NUL).  0, BRR_ENOTFOUND or BRR_ECRYPTO (out zeroed). */
int intake_bsn_decrypt(const intake_keys_t *k, const char *key_id,
                       const unsigned char in[37], char out[10]);

/* ---- per-channel rate limit (rate.c) ----------------------------------- */

/* A token bucket: rate tokens per second up to burst.  Times are in
 * milliseconds of any monotonic clock. */
typedef struct {
    double tokens;
    double rate, burst;
    uint64_t last_ms;
} intake_bucket_t;

/* A full bucket. */
void intake_bucket_init(intake_bucket_t *b, double rate, double burst,
                        uint64_t now_ms);

/* Takes one token: 0 when there was one, else the milliseconds (>= 1)
 * until one will be there (for Retry-After). */
uint64_t intake_bucket_take(intake_bucket_t *b, uint64_t now_ms);

#endif
