/*
 * intake.h: brr-intake's modules.
 *
 *   app.c      the application request: strict JSON, every field bounded,
 *              all errors reported together (pure apart from jansson)
 *   bsn.c      BSN encryption (AES-256-GCM, key id) and pseudonym (HMAC)
 *   api.c      the HTTP handlers and the commit batcher
 *   main.c     configuration and wiring
 */
#ifndef BRR_INTAKE_H
#define BRR_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "money.h"

#define INTAKE_MAX_CLAIMS 100
#define INTAKE_MAX_ERRORS 32
#define INTAKE_MAX_CLAIM_CENTS INT64_C(1000000000) /* EUR 10 million */
#define INTAKE_MAX_INCOME_CENTS INT64_C(100000000) /* EUR 1 million/month */

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

typedef struct {
    char bsn[10]; /* 9 digits; never logged, never leaves intake */
    int maatwerk;
    intake_claim_t claims[INTAKE_MAX_CLAIMS];
    size_t nclaims;
    brr_cents_t requested_instalment_cents;
    int due_day;
    char reference_date[11];
    char household[24];
    int aow_age;
    brr_cents_t net_income_cents, partner_net_income_cents,
        extra_housing_cents;
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

/* The application without the BSN, as stored and assessed. */
json_t *intake_app_public_json(const intake_app_t *app);

/* The problem+json body (RFC 9457) for a validation failure. */
char *intake_problem(int status, const char *title, const char *detail,
                     const intake_error_t *errors, size_t nerrors);

/* ---- BSN protection (bsn.c) -------------------------------------------- */

typedef struct {
    unsigned char enc_key[32];
    unsigned char hmac_key[32];
    char key_id[32];
} intake_keys_t;

/* Reads both 32-byte keys from files; 0 or BRR_ECONFIG with err set. */
int intake_keys_load(intake_keys_t *k, const char *enc_file,
                     const char *hmac_file, const char *key_id, char *err,
                     size_t cap);

/* HMAC-SHA256(hmac_key, bsn): 32 bytes. */
void intake_bsn_pseudonym(const intake_keys_t *k, const char *bsn,
                          unsigned char out[32]);

/* AES-256-GCM of the 9 digits with the key id as associated data: out gets
 * iv(12) | ciphertext(9) | tag(16) = 37 bytes.  0 or BRR_ECRYPTO. */
int intake_bsn_encrypt(const intake_keys_t *k, const char *bsn,
                       unsigned char out[37]);

/* The inverse; out gets 10 bytes (9 digits and NUL).  0 or BRR_ECRYPTO
 * (wrong key, tampered data). */
int intake_bsn_decrypt(const intake_keys_t *k, const unsigned char in[37],
                       char out[10]);

#endif
