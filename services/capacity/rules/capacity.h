/*
 * capacity.h: repayment capacity (DOMAIN.md §1-§3), the pure calculation.
 *
 * One call turns an application (claims, and for maatwerk the household and
 * incomes) into an assessment: eligibility with reasons, the protected
 * income (beslagvrije voet, BVV) and its group, the repayment capacity, the
 * instalment plan, and an ordered explanation in Dutch that shows every
 * figure and the arithmetic.  brr-capacity and `brrctl calc capacity` both
 * reach it through capacity_calc_json() (capacity_json.h), so the service
 * and the operator's tool can never disagree.
 *
 * Pure: no I/O, no clock, no allocation.  Amounts are int64 cents with
 * overflow-checked arithmetic (money.h); percentages are basis points.
 *
 * Rules that are the project's own choice (DOMAIN "default") live in
 * brr_capacity_params_t; the rule version string names them.  Rounding is
 * always in the citizen's favour: protected amounts round up, so capacity
 * rounds down.
 *
 * Group 2 (income between the bijstandsnorm and the end of the toeslagen
 * phase-out) is art. 475da lid 2 Rv: it computes the protected income from
 * the belastbaar inkomen (gross taxable income, which an application does
 * not carry) and the half-year's toeslagen parameters, which no norm set
 * has: such an income is refused with reason TOESLAGEN_PARAMS_UNAVAILABLE
 * rather than guessed (data/normsets/README.md lists what is verified and
 * what is missing).  Group 3 is applied from
 * params.group3_from_bp (default 200%) of the household's maximum BVV: the
 * maximum is the highest protection the law gives, so placing an income in
 * group 3 can only protect more of it than the law requires, never less.
 */
#ifndef BRR_CAPACITY_H
#define BRR_CAPACITY_H

#include "date.h"
#include "money.h"
#include "normset.h"

#include <stddef.h>
#include <stdint.h>

/* Bumped whenever a rule or a default below changes meaning. */
#define BRR_CAPACITY_RULE_VERSION "brr-capacity-rules/1.0.0"

#define BRR_CAPACITY_MAX_REASONS 8
#define BRR_CAPACITY_REASON_TEXT 240
#define BRR_CAPACITY_MAX_LINES 40
#define BRR_CAPACITY_LINE_MAX 240
/* Claims listed one per line in the explanation; the rest are summed. */
#define BRR_CAPACITY_LISTED_CLAIMS 12

typedef enum { BRR_CAP_STANDARD = 0, BRR_CAP_MAATWERK } brr_capacity_kind_t;

typedef struct {
    const char *organisation; /* borrowed; e.g. "CJIB" */
    const char *reference;    /* borrowed; may be NULL */
    brr_cents_t open_cents;   /* >= 0; 0 means nothing open */
    int under_objection;      /* 1: in objection or appeal, held out */
} brr_capacity_claim_t;

typedef struct {
    brr_date_t reference_date; /* picks the norm set */
    brr_capacity_kind_t kind;
    /* Maatwerk only (ignored for the standard arrangement): */
    brr_household_t household;
    int aow_age;
    brr_cents_t net_income_cents;         /* applicant, incl. holiday pay */
    brr_cents_t partner_net_income_cents; /* couples only, else 0 */
    brr_cents_t extra_housing_cents;      /* documented, per month */
    /* Both kinds: */
    const brr_capacity_claim_t *claims; /* borrowed */
    size_t nclaims;
    brr_cents_t requested_instalment_cents; /* 0: none requested */
    int has_last_lapse;         /* a previous arrangement lapsed ... */
    brr_date_t last_lapse_date; /* ... by the citizen's default on this day */
    /* NULL: the current norm set covering reference_date (every new
     * assessment).  Else exactly this set, current or superseded, which
     * must cover reference_date: how a stored assessment is recomputed
     * with the identifier it names (borrowed). */
    const brr_normset_t *norm_set;
} brr_capacity_request_t;

typedef struct {
    int32_t std_max_months;          /* 24 */
    brr_cents_t std_min_instalment;  /* 2000 */
    brr_cents_t std_max_total;       /* 2000000 */
    brr_cents_t std_round_to;        /* 100: whole euros, rounded up */
    int32_t maat_max_months;         /* 36 */
    brr_cents_t maat_min_instalment; /* 500 */
    int32_t min_orgs;                /* 1 */
    int32_t lapse_block_months;      /* 12 */
    int32_t reassess_months;         /* 12 */
    int64_t repayable_bp;            /* 500: share of income always repayable */
    int64_t group3_from_bp;          /* 20000: group 3 from 200% of the max */
} brr_capacity_params_t;

typedef struct {
    char code[32];                       /* e.g. "STD_MAX_TOTAL" */
    char text[BRR_CAPACITY_REASON_TEXT]; /* Dutch, for the citizen */
} brr_capacity_reason_t;

typedef struct {
    int eligible;
    brr_capacity_reason_t reasons[BRR_CAPACITY_MAX_REASONS];
    size_t nreasons;
    int group;             /* 1, 2 or 3; 0 when none (standard, or no BVV) */
    int has_bvv;           /* 0: bvv_cents is null */
    brr_cents_t bvv_cents; /* the applicant's protected income; for a couple
                              the applicant's share of the household BVV */
    brr_cents_t household_bvv_cents; /* couples: the BVV before the split */
    brr_cents_t capacity_cents;      /* applicant's income minus bvv_cents */
    brr_cents_t total_cents;         /* open balances included */
    brr_cents_t instalment_cents;
    int32_t months;
    brr_cents_t last_instalment_cents;
    brr_cents_t unpaid_after_max_cents; /* maatwerk: left after max months */
    int starts_paused;
    char norm_set[BRR_NORMSET_ID_MAX]; /* "2025-01-01.r1"; "" when none */
    const char *rule_version;          /* BRR_CAPACITY_RULE_VERSION */
    char explanation[BRR_CAPACITY_MAX_LINES][BRR_CAPACITY_LINE_MAX];
    size_t nlines;
} brr_capacity_result_t;

/* Fill the explanation lines (reasons are always filled). */
#define BRR_CAPACITY_EXPLAIN 1

/* Writes the project defaults of DOMAIN.md §1-§3 into p. */
void capacity_params_default(brr_capacity_params_t *p);

/* Assesses req with the norm set covering req->reference_date (sets may be
 * NULL for the standard arrangement) and params (NULL: defaults).  flags is
 * 0 or BRR_CAPACITY_EXPLAIN.  A refusal (not eligible, no norm set for the
 * date, group 2 without toeslagen parameters) is a result with reasons and
 * returns 0.  Returns BRR_EINVAL for a malformed request (unknown kind or
 * household, negative or out-of-range amount, partner income for a single
 * household, NULL claims with nclaims > 0, a req->norm_set that does not
 * cover the reference date) and BRR_EOVERFLOW when the amounts cannot be
 * added up; res is then unspecified. */
int capacity_assess(const brr_capacity_request_t *req,
                    const brr_normsets_t *sets,
                    const brr_capacity_params_t *params, int flags,
                    brr_capacity_result_t *res);

/* Writes a as "€ 1.345,45" (the text of brr_money_format_nl()) plus a NUL
 * into out and returns its length. */
size_t capacity_money_text(brr_cents_t a, char out[40]);

/* "single", "single_parent", "couple", "couple_with_children" <-> enum;
 * parse returns 0 or BRR_EINVAL. */
const char *capacity_household_name(brr_household_t hh);
int capacity_household_parse(const char *s, brr_household_t *out);

#endif
