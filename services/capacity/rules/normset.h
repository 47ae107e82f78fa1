/*
 * normset.h: effective-dated, versioned norm sets for the beslagvrije voet.
 *
 * One JSON file per half-year in data/normsets/ (2025-01-01.json, ...), each
 * figure with its source inside the file.  brr-capacity and brrctl load the
 * directory once at start-up; capacity_assess() then picks the set that
 * covers the application's reference date, never today's date.  Loading
 * validates every file (missing or negative figures, unknown keys, dates in
 * the wrong order, overlapping sets) and stops with a message naming the
 * file and the field.
 *
 * The structs are plain data; only the loader (normset.c) does I/O.
 */
#ifndef BRR_CAPACITY_NORMSET_H
#define BRR_CAPACITY_NORMSET_H

#include "date.h"
#include "money.h"

#include <stddef.h>

/* The four household situations of the Wet vereenvoudiging beslagvrije
 * voet. */
typedef enum {
    BRR_HH_SINGLE = 0,
    BRR_HH_SINGLE_PARENT,
    BRR_HH_COUPLE,
    BRR_HH_COUPLE_WITH_CHILDREN,
    BRR_HH_COUNT
} brr_household_t;

typedef struct {
    char version[11];       /* "2025-01-01" */
    brr_date_t from, until; /* both inclusive */
    /* Bijstandsnorm incl. holiday allowance: [couple][aow_age]. */
    brr_cents_t norm[2][2];
    /* Group 3 maximum per household; has_bvv_max 0 when the set has none
     * (group 3 is then refused for this set). */
    int has_bvv_max;
    brr_cents_t bvv_max[BRR_HH_COUNT];
    /* 1 when the half-year's toeslagen parameters are present.  No set has
     * them yet and the loader refuses a non-null "toeslagen" block, so group
     * 2 is refused with a reason (see capacity.h). */
    int has_toeslagen;
} brr_normset_t;

typedef struct {
    brr_normset_t *sets; /* sorted by from, no overlaps; owned */
    size_t n;
} brr_normsets_t;

/* Parses and validates one norm set document.  name (may be NULL) is used
 * in messages and, when it ends in ".json", must equal the version.
 * Returns 0, or BRR_EPARSE / BRR_EINVAL with a message in err. */
int capacity_normset_parse(const char *json, size_t len, const char *name,
                           brr_normset_t *out, char *err, size_t errcap);

/* Loads every *.json in dir into out (sorted, checked for overlap).  An
 * empty directory is an error.  On failure out is left empty.  Returns 0,
 * or BRR_EIO / BRR_EPARSE / BRR_EINVAL with a message in err. */
int capacity_normsets_load_dir(const char *dir, brr_normsets_t *out, char *err,
                               size_t errcap);

/* Takes n parsed sets (copied), sorts them and refuses overlaps.  Used by
 * the loader and by tests. */
int capacity_normsets_init(brr_normsets_t *out, const brr_normset_t *sets,
                           size_t n, char *err, size_t errcap);

/* The set covering day t, or NULL when no set does. */
const brr_normset_t *capacity_normsets_find(const brr_normsets_t *sets,
                                            brr_date_t t);

/* Frees what the loader allocated; out may be reused after. */
void capacity_normsets_free(brr_normsets_t *sets);

#endif
