/*
 * capacity_json.h: the JSON contract of issue 3 around capacity_assess().
 *
 * brr-capacity and `brrctl calc capacity` both call capacity_calc_json(), so
 * the service and the operator's tool share one code path from request text
 * to result text.  Request:
 *
 *   {"reference_date":"YYYY-MM-DD", "kind":"standard"|"maatwerk",
 *    "household":"single"|"single_parent"|"couple"|"couple_with_children",
 *    "aow_age":false, "net_income_cents":0, "partner_net_income_cents":0,
 *    "extra_housing_cents":0,
 *    "claims":[{"organisation":"CJIB","reference":"...","open_cents":0,
 *               "under_objection":false}],
 *    "requested_instalment_cents":0, "last_lapse_date":"YYYY-MM-DD"|null}
 *
 * household and the incomes only for maatwerk (household and
 * net_income_cents required there); under_objection and last_lapse_date
 * are optional extensions carrying the eligibility facts of DOMAIN §1.
 * Unknown fields are refused.  Result:
 *
 *   {"eligible":true, "reasons":[{"code":"...","text":"..."}], "group":1,
 *    "bvv_cents":0, "capacity_cents":0, "instalment_cents":0, "months":0,
 *    "last_instalment_cents":0, "starts_paused":false,
 *    "norm_set":"2025-01-01.r1", "rule_version":"...", "explanation":["..."]}
 *
 * group and bvv_cents are null for the standard arrangement (and when no
 * BVV could be determined); norm_set is the identifier of the norm set used
 * ("<version>.r<revision>", normset.h), null when no set covers the date.
 * A request cannot choose its norm set: only capacity_calc_json_with() and
 * capacity_replay_json() (brrctl) pin one, to recompute a stored assessment.
 */
#ifndef BRR_CAPACITY_JSON_H
#define BRR_CAPACITY_JSON_H

#include "capacity.h"

#include <jansson.h>
#include <stddef.h>

/* A parsed request and the storage its claims point into. */
typedef struct {
    brr_capacity_request_t req;
    brr_capacity_claim_t *claims; /* owned */
    json_t *root;                 /* owned; claim strings point into it */
} brr_capacity_input_t;

/* Requests with more claims than this are refused. */
#define BRR_CAPACITY_MAX_CLAIMS 1000

/* Parses and validates request text into in.  On failure returns BRR_EPARSE
 * (not JSON) or BRR_EINVAL with a message in err that names the field
 * ("claims[1].open_cents: ..."); in then needs no free. */
int capacity_input_parse(const char *request, size_t len,
                         brr_capacity_input_t *in, char *err, size_t errcap);

/* Releases what capacity_input_parse() allocated. */
void capacity_input_free(brr_capacity_input_t *in);

/* The result as a new JSON object (caller owns the reference). */
json_t *capacity_result_to_json(const brr_capacity_result_t *res);

/* Request text in, result text out (compact JSON, UTF-8, malloc'd: the
 * caller frees *result_out with free()).  params may be NULL (defaults).
 * Returns 0, or BRR_EPARSE / BRR_EINVAL with a message naming the field in
 * err, or BRR_EOVERFLOW when the amounts cannot be added up. */
int capacity_calc_json(const char *request, size_t len,
                       const brr_normsets_t *sets,
                       const brr_capacity_params_t *params, char **result_out,
                       char *err, size_t errcap);

/* As capacity_calc_json(), but with the set whose identifier is norm_set
 * ("2024-01-01.r1", current or superseded) instead of the set the reference
 * date picks; norm_set NULL is capacity_calc_json().  An identifier no
 * loaded set has gives BRR_ENOTFOUND with a message naming it and the
 * revisions of its version that are loaded; a set that does not cover the
 * request's reference_date gives BRR_EINVAL. */
int capacity_calc_json_with(const char *request, size_t len,
                            const brr_normsets_t *sets, const char *norm_set,
                            const brr_capacity_params_t *params,
                            char **result_out, char *err, size_t errcap);

/* Recomputes a stored assessment and compares.  stored is an object with
 * "inputs" (the request), "result" (the stored result) and "norm_set" (the
 * stored identifier; taken from result.norm_set when absent), as a row of
 * capacity.assessments gives them (its other columns are allowed and not
 * used).  The inputs are assessed with exactly the set the identifier
 * names; an empty or null identifier (no set covered the date) with no set.
 * A bare version ("2024-01-01", stored before revisions existed) is tried
 * with every loaded revision of that version, and the explanation is
 * compared with the bare version in place of the identifier.  *result_out
 * (malloc'd, caller frees) receives
 *
 *   {"reproduced":true, "norm_set":"<stored>", "matches":["<id>"],
 *    "tried":[{"norm_set":"<id>", "differences":["bvv_cents", ...]}],
 *    "result":{...}}
 *
 * where differences lists the result fields that differ from the stored
 * ones, reproduced is true when some tried set gives every field (the
 * explanation text included) unchanged, and result is the recomputed result
 * of the first match (else of the first set tried).  Returns 0 whether or
 * not it reproduced; BRR_ENOTFOUND (message naming the missing identifier)
 * when no loaded set has it; BRR_EPARSE / BRR_EINVAL for a malformed
 * stored object, naming the field. */
int capacity_replay_json(const char *stored, size_t len,
                         const brr_normsets_t *sets, char **result_out,
                         char *err, size_t errcap);

#endif
