/*
 * distribute_json.h: the JSON face of the split (issue 4, item 5), used by
 * `brrctl calc distribute` so that the command line and brr-distribution
 * run the same dist_split().
 *
 * Request:
 *   {"instalment_cents":12345,
 *    "claims":[{"organisation":"CJIB","reference":"R1","open_cents":45000,
 *               "due_date":"2024-05-01"}],
 *    "policy":{"min_per_org_cents":500,"small_claims":"PRO_RATA_ONLY",
 *              "small_claim_cents":10000,"weights":{"CJIB":1}}}
 * policy and each of its fields are optional (defaults from DOMAIN §4);
 * every other field is required, and unknown fields are refused.
 *
 * Result:
 *   {"total_cents":12345,
 *    "shares":[{"organisation":"CJIB","cents":2801,
 *               "claims":[{"reference":"R1","cents":2801}]}]}
 * shares are in organisation code order, each with every one of its claims
 * in payment order (oldest due date first, then reference); total_cents is
 * the sum of the shares.
 */
#ifndef BRR_DIST_DISTRIBUTE_JSON_H
#define BRR_DIST_DISTRIBUTE_JSON_H

#include <stddef.h>

#define DIST_JSON_MAX_REQUEST (4u << 20) /* bytes */

/* Computes the split for the JSON request (len bytes, no NUL needed).  On
 * success returns 0 and stores a NUL-terminated compact JSON result in
 * *result_out, which the caller releases with free().  On failure returns
 * BRR_EPARSE (not JSON, or too large), BRR_EINVAL (a field missing, unknown,
 * of the wrong type or invalid) or BRR_ERANGE (an amount or count out of
 * bounds), leaves *result_out NULL and writes a message naming the field
 * into err (errcap bytes; err may be NULL when errcap is 0). */
int dist_calc_json(const char *request, size_t len, char **result_out,
                   char *err, size_t errcap);

#endif
