/*
 * dist.h: brr-distribution's modules.
 *
 *   main.c      configuration, the consumer's apply callback (assessments,
 *               pause events, organisation reports) and the timer tick
 *   batch.c     the arrangements one transaction works on: loaded from
 *               Postgres (locked), changed in memory (rules/life.h), then
 *               written back with every resulting event in the outbox,
 *               the history and the next durable timer
 *   reports.c   an organisation's report (brr.intake.reports.v1) applied
 *               once per report id
 *   timers.c    due timers claimed and fired: the monthly instalment run
 *               and the missed-instalment lifecycle
 *
 * Every path (a consumed batch, a timer firing) is: dist_batch_load, change
 * the items, dist_batch_finish, commit.  What an organisation sees of an
 * arrangement is digested before and after, so each one hears of every
 * change to its own part exactly once, through the outbox.
 */
#ifndef BRR_DIST_H
#define BRR_DIST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "arena.h"
#include "brr/v1/report.pb-c.h"
#include "life.h"
#include "outbox.h"
#include "pg.h"
#include "proc.h"

#define DIST_TOPIC_ASSESSMENTS "brr.capacity.assessments.v1"
#define DIST_TOPIC_PAUSES "brr.pause.events.v1"
#define DIST_TOPIC_REPORTS "brr.intake.reports.v1"
#define DIST_TOPIC_ARRANGEMENTS "brr.arrangements.events.v1"

/* One arrangement in the batch. */
typedef struct {
    dist_arr_t a;
    char id[40], citizen[40], kind[16];
    int months;
    int is_new;  /* created in this batch */
    int touched; /* to be stepped and written back */
    int resplit; /* balances changed: split unpaid instalments again */
    const char *application_id; /* the application that made or amended it */
    const char *traceparent;
    const char *report_id; /* the latest report applied to it */
    const char *reporter;  /* who sent it: only that one is told its id */
    const char *reason;    /* why it ended */
    const char *pause_start, *pause_end;
    char pause_id[40]; /* the running pause ("" none), stored */
    /* a pause's notices: the first instalment due after it, and each
     * claim's share of it (malloc'd, nclaims entries; NULL otherwise) */
    int32_t resume_due;
    brr_cents_t *resume_cents;
    const char *ignored_pause, *ignored_why; /* arrangement.pause_ignored */
    int32_t review; /* reassessment date of one that started paused; 0 */
    int64_t submitted_at_ms;
    /* as loaded: what each organisation saw, and each claim's share */
    char (*orgs)[DIST_ORG_MAX + 1];
    uint64_t *digest;
    size_t norgs;
    brr_cents_t *share_before;
    size_t nclaims_before;
    int state_before;
} dist_item_t;

typedef struct {
    brr_arena_t *arena;
    dist_item_t **items;
    size_t nitems, capitems;
    int32_t today; /* Europe/Amsterdam, from the database's clock (or the
                      test clock, dist_clock_param) */
    json_t *history;
    json_t *reports; /* applied_reports rows */
    char **applied;  /* "org\x1freport_id" already applied (db + batch) */
    size_t napplied, capapplied;
    const dist_policy_t *pol; /* NULL: DOMAIN's defaults */
    size_t events;            /* outbox events written */
} dist_batch_t;

/* An empty batch whose scratch memory comes from arena. */
void dist_batch_init(dist_batch_t *b, brr_arena_t *arena);
void dist_batch_free(dist_batch_t *b);

/* Loads, locking them FOR UPDATE, the arrangements named by ids and the
 * live ones of citizens (either may be empty), with their claims, unsettled
 * and current instalments and shares, which of the (orgs[i], report_ids[i])
 * were applied before, and today's date.  Ids must be valid UUIDs.  0 or a
 * BRR_EDB* code. */
int dist_batch_load(dist_batch_t *b, brr_pg_t *pg, const char *const *ids,
                    size_t nids, const char *const *citizens, size_t ncit,
                    const char *const *orgs, const char *const *report_ids,
                    size_t nrep);

/* The loaded or new arrangement with this id, or NULL. */
dist_item_t *dist_batch_find(dist_batch_t *b, const char *id);

/* The citizen's live arrangement in the batch, or NULL. */
dist_item_t *dist_batch_live(dist_batch_t *b, const char *citizen);

/* A new arrangement for citizen with a fresh UUIDv7 (dist_arr_start it). */
dist_item_t *dist_batch_new(dist_batch_t *b, const char *citizen);

/* 1 when (org, report_id) was applied before or earlier in this batch;
 * otherwise records it as applied now and returns 0. */
int dist_batch_report_seen(dist_batch_t *b, const char *org,
                           const char *report_id);

/* Appends a history row; event_id NULL gets a fresh id.  Takes detail. */
void dist_batch_history(dist_batch_t *b, const char *arrangement_id,
                        const char *event_id, const char *type,
                        const char *state, json_t *detail);

/* Steps every touched arrangement to today (opens due instalments, splits
 * again where balances changed, applies the lifecycle), queues on pp every
 * row to write and the next timers, and adds to ob one event per
 * organisation whose part changed and one per changed arrangement.  0 or
 * a BRR_E* code (the transaction must roll back). */
int dist_batch_finish(dist_batch_t *b, brr_pg_pipe_t *pp, brr_outbox_t *ob);

/* Tells every organisation of it, and the arrangements topic, now (a
 * pause started or ended: DOMAIN §5 says everybody is told each time),
 * and takes what they were told as the baseline for dist_batch_finish. */
void dist_batch_notify_all(dist_batch_t *b, dist_item_t *it, const char *type,
                           brr_outbox_t *ob);

/* Tells brr.arrangements.events.v1 (brr-pause, brr-intake's read model)
 * that the pause pause_id was not applied to it, and why: the arrangement
 * as it stands, type arrangement.pause_ignored.  The organisations hear
 * nothing: nothing of theirs changed. */
void dist_batch_pause_ignored(dist_batch_t *b, dist_item_t *it,
                              const char *pause_id, const char *why,
                              brr_outbox_t *ob);

/* "Now" for the SQL that asks the database for it: NULL (the database's
 * clock, now()) in the production binary; in brr-distribution-testclock
 * (BRR_TEST_CLOCK, clock.h) the test clock's unix seconds, written to buf,
 * for coalesce(to_timestamp($n::bigint), now()). */
const char *dist_clock_param(char buf[24]);

/* The organisation's topic: brr.organisations.<org lower-case>.v1. */
void dist_org_topic(const char *org, char *out, size_t cap);

/* Applies one decoded report to the batch (loaded beforehand with its
 * arrangement and report key).  A report that cannot apply is refused:
 * recorded, and its organisation told why.  Sets m->rc only for a message
 * that can never be applied. */
void dist_report_apply(dist_batch_t *b, brr_msg_t *m,
                       const Brr__V1__OrganisationReport *r, brr_outbox_t *ob);

/* Fires up to limit due timers in one transaction of its own on pg: the
 * arrangements' due instalments open, lifecycle steps apply, events go to
 * ob.  *fired gets the number of arrangements.  0 or a BRR_E* code (rolled
 * back: the timers fire again later). */
int dist_timers_fire(brr_pg_t *pg, brr_outbox_t *ob, size_t limit,
                     size_t *fired);

#endif
