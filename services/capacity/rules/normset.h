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
 * Revisions: a set's version is its effective date; its revision (>= 1)
 * counts corrections of that version.  An assessment stores the set's
 * identifier "<version>.r<revision>" ("2024-01-01.r2"), which names exactly
 * one set of figures.  A corrected set is a new revision: the current one
 * stays in <dir>/<version>.json, every earlier one is kept as
 * <dir>/superseded/<version>.r<revision>.json.  Superseded sets are loaded
 * and found by identifier (to recompute an old assessment), never picked by
 * date.
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

/* "2025-01-01.r9999" plus NUL fits; revisions are 1..BRR_NORMSET_MAX_REV. */
#define BRR_NORMSET_ID_MAX 20
#define BRR_NORMSET_MAX_REV 9999

typedef struct {
    char version[11];            /* "2025-01-01", the effective date */
    int revision;                /* >= 1 */
    char id[BRR_NORMSET_ID_MAX]; /* "2025-01-01.r1": what assessments store */
    int superseded;              /* 1: kept for old assessments only */
    brr_date_t from, until;      /* both inclusive */
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
    brr_normset_t *sets; /* current sets: sorted by from, no overlaps; owned */
    size_t n;
    brr_normset_t *superseded; /* sorted by version, revision; owned */
    size_t nsuperseded;
} brr_normsets_t;

/* Parses and validates one norm set document (superseded is left 0).  name
 * (may be NULL) is used in messages and, when its last component ends in
 * ".json", must be "<version>.json" or "<version>.r<revision>.json".
 * Returns 0, or BRR_EPARSE / BRR_EINVAL with a message in err. */
int capacity_normset_parse(const char *json, size_t len, const char *name,
                           brr_normset_t *out, char *err, size_t errcap);

/* Loads every <version>.json in dir as a current set and every
 * <version>.r<revision>.json in dir/superseded (if that directory exists)
 * as a superseded one, then checks them as capacity_normsets_init() does.
 * An empty directory is an error.  On failure out is left empty.  Returns
 * 0, or BRR_EIO / BRR_EPARSE / BRR_EINVAL with a message in err that names
 * the file. */
int capacity_normsets_load_dir(const char *dir, brr_normsets_t *out, char *err,
                               size_t errcap);

/* Takes n parsed sets (copied; each with its superseded flag) and refuses:
 * overlapping current sets, two sets with one identifier, two current
 * revisions of one version, a superseded revision with no current set of
 * its version or not below the current revision, and a current revision N
 * whose revisions 1..N-1 are not all present.  Messages name the files as
 * the loader names them ("2024-01-01.json", "superseded/2024-01-01.r1.json").
 * Used by the loader and by tests. */
int capacity_normsets_init(brr_normsets_t *out, const brr_normset_t *sets,
                           size_t n, char *err, size_t errcap);

/* The current set covering day t, or NULL when no set does.  Superseded
 * sets are never returned. */
const brr_normset_t *capacity_normsets_find(const brr_normsets_t *sets,
                                            brr_date_t t);

/* The set, current or superseded, whose identifier is id
 * ("2024-01-01.r1"), or NULL. */
const brr_normset_t *capacity_normsets_find_id(const brr_normsets_t *sets,
                                               const char *id);

/* Splits an identifier "YYYY-MM-DD.rN" into version (11 bytes) and
 * revision.  A bare "YYYY-MM-DD" (what assessments stored before revisions
 * existed) gives revision 0.  Returns 0, or BRR_EINVAL. */
int capacity_normset_id_parse(const char *id, char version[11], int *revision);

/* Every loaded revision of version, oldest first, into out (at most cap);
 * returns how many there are (which may exceed cap). */
size_t capacity_normsets_revisions(const brr_normsets_t *sets,
                                   const char *version,
                                   const brr_normset_t **out, size_t cap);

/* Frees what the loader allocated; out may be reused after. */
void capacity_normsets_free(brr_normsets_t *sets);

#endif
