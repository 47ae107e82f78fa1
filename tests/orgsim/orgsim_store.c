/*
 * orgsim_store.c: what each simulated organisation received, in
 * PostgreSQL schema orgsim (created here if missing).
 *
 * Synchronous libpq on the loop thread.  The delivery statement does the
 * whole verdict in one round trip: insert (or count a duplicate), and
 * compare the sequence with the highest seen for (org, arrangement).
 * Attached to a loop, deliveries are batched: all that arrive in one turn
 * of the loop are recorded by one set-based statement (batch_sql: the same
 * verdict per event as one by one, in order) and one commit, so the
 * simulator keeps up with the connector instead of paying a commit and a
 * statement per event.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "log.h"
#include "orgsim.h"

typedef struct pending {
    struct pending *next;
    orgsim_store_cb cb;
    void *arg;
    char org[17];
    orgsim_event_t ev;
    char *body;
    size_t len;
    int first; /* no earlier delivery of the batch has this org and id */
} pending_t;

struct orgsim_store {
    char *dsn;
    PGconn *conn;
    uv_check_t check;
    int attached;
    pending_t *head, **tail;
    size_t npending;
};

static const char schema_sql[] =
    "SET client_min_messages TO warning;"
    "CREATE SCHEMA IF NOT EXISTS orgsim;"
    "CREATE TABLE IF NOT EXISTS orgsim.received ("
    "  org text NOT NULL,"
    "  event_id uuid NOT NULL,"
    "  arrangement_id text NOT NULL,"
    "  type text NOT NULL,"
    "  sequence bigint NOT NULL,"
    "  received_at timestamptz NOT NULL DEFAULT now(),"
    "  body jsonb NOT NULL,"
    "  PRIMARY KEY (org, event_id));"
    "CREATE INDEX IF NOT EXISTS received_org_arrangement_seq"
    "  ON orgsim.received (org, arrangement_id, sequence);"
    /* no planner statistics for the bodies: no query filters on them, and
     * they were most of the cost of each ANALYZE autovacuum runs */
    "ALTER TABLE orgsim.received ALTER COLUMN body SET STATISTICS 0;"
    /* lg_wait (tests/e2e/lib.sh) counts what arrived since a run began
     * every second: an index scan, not a scan of every body received */
    "CREATE INDEX IF NOT EXISTS received_at"
    "  ON orgsim.received (received_at);"
    "CREATE TABLE IF NOT EXISTS orgsim.duplicates ("
    "  org text NOT NULL,"
    "  event_id uuid NOT NULL,"
    "  n bigint NOT NULL,"
    "  last_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (org, event_id));"
    "CREATE TABLE IF NOT EXISTS orgsim.order_violations ("
    "  id bigserial PRIMARY KEY,"
    "  org text NOT NULL,"
    "  arrangement_id text NOT NULL,"
    "  event_id uuid NOT NULL,"
    "  sequence bigint NOT NULL,"
    "  last_sequence bigint NOT NULL,"
    "  detected_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE IF NOT EXISTS orgsim.rejected ("
    "  org text NOT NULL,"
    "  reason text NOT NULL,"
    "  n bigint NOT NULL,"
    "  last_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (org, reason));"
    /* record_batch was the row-by-row version of batch_sql below. */
    "DROP FUNCTION IF EXISTS orgsim.record_batch(jsonb);";

/* $1 org, $2 event id, $3 arrangement, $4 type, $5 sequence, $6 body.
 * All CTEs see the table as it was before the statement, so prev is the
 * highest sequence before this delivery. */
static const char event_sql[] =
    "WITH prev AS ("
    "  SELECT max(sequence) AS last FROM orgsim.received"
    "  WHERE org = $1 AND arrangement_id = $3"
    "), ins AS ("
    "  INSERT INTO orgsim.received"
    "    (org, event_id, arrangement_id, type, sequence, body)"
    "  VALUES ($1, $2::uuid, $3, $4, $5::bigint, $6::jsonb)"
    "  ON CONFLICT (org, event_id) DO NOTHING RETURNING 1"
    "), dup AS ("
    "  INSERT INTO orgsim.duplicates (org, event_id, n)"
    "  SELECT $1, $2::uuid, 1 WHERE NOT EXISTS (SELECT 1 FROM ins)"
    "  ON CONFLICT (org, event_id)"
    "  DO UPDATE SET n = orgsim.duplicates.n + 1, last_at = now()"
    "  RETURNING 1"
    "), viol AS ("
    "  INSERT INTO orgsim.order_violations"
    "    (org, arrangement_id, event_id, sequence, last_sequence)"
    "  SELECT $1, $3, $2::uuid, $5::bigint, prev.last FROM prev"
    "  WHERE EXISTS (SELECT 1 FROM ins) AND prev.last > $5::bigint"
    "  RETURNING 1"
    ")"
    "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM viol),"
    "       (SELECT count(*) FROM dup)";

/* The batch, set-based: $1 is a JSON array of {i, org, id, arr, type, seq,
 * first, body} in arrival order (i = 0, 1, ...; first: no earlier element
 * of the batch has the same org and id, worked out by flush()); one row
 * per element comes back, in that order, with the verdict event_sql would
 * have given it one by one: 0 stored, 1 out of order, 2 duplicate.
 *
 * x: each element with new, a first arrival not recorded before.  Those
 * are inserted as they are: no ON CONFLICT, since x already left out what
 * the table holds and what the batch repeats (a second simulator storing
 * the same event at the same moment makes the batch fail, and flush()
 * then records it one by one).  n: each new one with the highest sequence
 * its arrangement had before it, recorded earlier (the CTEs see the table
 * as it was before the statement) or new earlier in this batch; the
 * window sorts only these narrow columns, and the bodies are never
 * sorted or joined. */
static const char batch_sql[] =
    "WITH x AS ("
    "  SELECT x.*, x.first AND NOT EXISTS (SELECT 1 FROM orgsim.received r"
    "    WHERE r.org = x.org AND r.event_id = x.id) AS new"
    "  FROM jsonb_to_recordset($1::jsonb) AS x(i int, org text, id uuid,"
    "    arr text, type text, seq bigint, first boolean, body jsonb)"
    "), ins AS ("
    "  INSERT INTO orgsim.received"
    "    (org, event_id, arrangement_id, type, sequence, body)"
    "  SELECT org, id, arr, type, seq, body FROM x WHERE new"
    "), n AS ("
    "  SELECT i, org, id, arr, seq, new, CASE WHEN new THEN greatest("
    "    (SELECT max(r.sequence) FROM orgsim.received r"
    "      WHERE r.org = x.org AND r.arrangement_id = x.arr),"
    "    max(seq) FILTER (WHERE new) OVER (PARTITION BY org, arr ORDER BY i"
    "      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) END AS last"
    "  FROM x"
    "), v AS ("
    "  INSERT INTO orgsim.order_violations"
    "    (org, arrangement_id, event_id, sequence, last_sequence)"
    "  SELECT org, arr, id, seq, last FROM n WHERE last > seq ORDER BY i"
    "), d AS ("
    "  INSERT INTO orgsim.duplicates AS d (org, event_id, n)"
    "  SELECT org, id, count(*) FROM n WHERE NOT new GROUP BY org, id"
    "  ON CONFLICT (org, event_id)"
    "  DO UPDATE SET n = d.n + excluded.n, last_at = now()"
    ")"
    "SELECT CASE WHEN NOT new THEN 2 WHEN last > seq THEN 1 ELSE 0 END"
    "  FROM n ORDER BY i";

static const char reject_sql[] =
    "INSERT INTO orgsim.rejected (org, reason, n) VALUES ($1, $2, 1)"
    " ON CONFLICT (org, reason)"
    " DO UPDATE SET n = orgsim.rejected.n + 1, last_at = now()";

orgsim_store_t *orgsim_store_new(const char *dsn)
{
    orgsim_store_t *st = calloc(1, sizeof(*st));

    if (st == NULL || (st->dsn = strdup(dsn)) == NULL)
        abort();
    return st;
}

static void check_closed(uv_handle_t *h)
{
    orgsim_store_t *st = h->data;
    free(st->dsn);
    free(st);
}

void orgsim_store_free(orgsim_store_t *st)
{
    if (st == NULL)
        return;
    if (st->attached) {
        /* the loop has stopped: nothing is queued any more */
        if (st->conn != NULL)
            PQfinish(st->conn);
        uv_close((uv_handle_t *)&st->check, check_closed);
        uv_run(st->check.loop, UV_RUN_NOWAIT);
        return;
    }
    if (st->conn != NULL)
        PQfinish(st->conn);
    free(st->dsn);
    free(st);
}

int orgsim_store_ok(orgsim_store_t *st)
{
    return st->conn != NULL && PQstatus(st->conn) == CONNECTION_OK;
}

static int result_ok(PGresult *res, const char *what)
{
    ExecStatusType s = PQresultStatus(res);

    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
        return 1;
    /* The primary message only: DETAIL may quote the body. */
    brr_log_error("orgsim statement failed", "stmt", what, "sqlstate",
                  PQresultErrorField(res, PG_DIAG_SQLSTATE), "err",
                  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), NULL);
    return 0;
}

int orgsim_store_ensure(orgsim_store_t *st)
{
    PGresult *res;
    int ok;

    if (orgsim_store_ok(st))
        return 0;
    if (st->conn != NULL)
        PQfinish(st->conn);
    {
        /* named, so its backend can be told apart (scripts/bench-connector) */
        /* No sequential scans: a batch planned while orgsim.received was
         * empty scanned it once per event (2 ms per event after a
         * benchmark's clean-up), and kept as the generic plan it went on
         * doing so.  With scans off every plan, the generic one too, walks
         * the indexes whatever the statistics say, so batch_sql is planned
         * once per connection, not for every batch as with
         * BRR_PG_CUSTOM_PLAN_OPTIONS (the batches are small: planning was
         * a fifth of this backend's CPU in scripts/bench-connector). */
        const char *keys[] = {"dbname", "fallback_application_name", "options",
                              NULL};
        const char *vals[] = {st->dsn, "brr-orgsim", "-c enable_seqscan=off",
                              NULL};
        st->conn = PQconnectdbParams(keys, vals, 1);
    }
    if (PQstatus(st->conn) != CONNECTION_OK) {
        brr_log_warn("could not connect to postgres", "err",
                     PQerrorMessage(st->conn), NULL);
        goto fail;
    }
    /* Several simulators may start at once: serialise the DDL. */
    res = PQexec(st->conn, "SELECT pg_advisory_lock(7421001);");
    ok = result_ok(res, "lock");
    PQclear(res);
    if (!ok)
        goto fail;
    res = PQexec(st->conn, schema_sql);
    ok = result_ok(res, "schema");
    PQclear(res);
    PQclear(PQexec(st->conn, "SELECT pg_advisory_unlock(7421001);"));
    if (!ok)
        goto fail;
    res = PQprepare(st->conn, "event", event_sql, 6, NULL);
    ok = result_ok(res, "prepare event");
    PQclear(res);
    if (!ok)
        goto fail;
    res = PQprepare(st->conn, "batch", batch_sql, 1, NULL);
    ok = result_ok(res, "prepare batch");
    PQclear(res);
    if (!ok)
        goto fail;
    res = PQprepare(st->conn, "reject", reject_sql, 2, NULL);
    ok = result_ok(res, "prepare reject");
    PQclear(res);
    if (!ok)
        goto fail;
    brr_log_info("connected to postgres", NULL);
    return 0;
fail:
    PQfinish(st->conn);
    st->conn = NULL;
    return BRR_EDBTRANSIENT;
}

/* A failed statement on a dead connection is transient; anything else
 * (constraint, type error) is not. */
static int failure(orgsim_store_t *st)
{
    if (PQstatus(st->conn) != CONNECTION_OK) {
        PQfinish(st->conn);
        st->conn = NULL;
        return BRR_EDBTRANSIENT;
    }
    return BRR_EDB;
}

int orgsim_store_event(orgsim_store_t *st, const char *org,
                       const orgsim_event_t *ev, const char *body, size_t len,
                       orgsim_store_result_t *out)
{
    char seq[24], *text;
    const char *params[6];
    PGresult *res;
    int rc;

    if ((rc = orgsim_store_ensure(st)) != 0)
        return rc;
    /* jsonb wants a NUL-terminated text parameter. */
    text = malloc(len + 1);
    if (text == NULL)
        abort();
    memcpy(text, body, len);
    text[len] = '\0';
    snprintf(seq, sizeof(seq), "%" PRId64, ev->sequence);
    params[0] = org;
    params[1] = ev->id;
    params[2] = ev->subject;
    params[3] = ev->type;
    params[4] = seq;
    params[5] = text;
    res = PQexecPrepared(st->conn, "event", 6, params, NULL, NULL, 0);
    free(text);
    if (!result_ok(res, "event")) {
        PQclear(res);
        return failure(st);
    }
    if (strcmp(PQgetvalue(res, 0, 0), "1") != 0)
        *out = ORGSIM_DUPLICATE;
    else if (strcmp(PQgetvalue(res, 0, 1), "1") == 0)
        *out = ORGSIM_OUT_OF_ORDER;
    else
        *out = ORGSIM_STORED;
    PQclear(res);
    return 0;
}

int orgsim_store_rejection(orgsim_store_t *st, const char *org,
                           const char *reason)
{
    const char *params[2] = {org, reason};
    PGresult *res;
    int rc;

    if ((rc = orgsim_store_ensure(st)) != 0)
        return rc;
    res = PQexecPrepared(st->conn, "reject", 2, params, NULL, NULL, 0);
    if (!result_ok(res, "reject")) {
        PQclear(res);
        return failure(st);
    }
    PQclear(res);
    return 0;
}

/* ---- batches ---- */

static void batch_done(pending_t *list, int rc, PGresult *res)
{
    int i = 0;
    while (list != NULL) {
        pending_t *next = list->next;
        orgsim_store_result_t v = ORGSIM_STORED;
        if (rc == 0 && res != NULL && i < PQntuples(res))
            v = (orgsim_store_result_t)atoi(PQgetvalue(res, i, 0));
        list->cb(list->arg, rc, v);
        free(list->body);
        free(list);
        list = next;
        i++;
    }
}

/* One by one with event_sql: the batch statement failed for something
 * other than the connection (one body PostgreSQL will not take, say). */
static void batch_singly(orgsim_store_t *st, pending_t *list)
{
    while (list != NULL) {
        pending_t *next = list->next;
        orgsim_store_result_t v = ORGSIM_STORED;
        int rc = orgsim_store_event(st, list->org, &list->ev, list->body,
                                    list->len, &v);
        list->cb(list->arg, rc, v);
        free(list->body);
        free(list);
        list = next;
    }
}

/* A growable text buffer for the batch document. */
typedef struct {
    char *p;
    size_t len, cap;
} text_t;

static void put(text_t *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        if ((t->p = realloc(t->p, cap)) == NULL)
            abort();
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void puts_(text_t *t, const char *s)
{
    put(t, s, strlen(s));
}

/* s as a JSON string (s is UTF-8: it came out of the parsed event). */
static void put_str(text_t *t, const char *s)
{
    put(t, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(t, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(t, esc, 6);
        } else {
            put(t, s, 1);
        }
    }
    put(t, "\"", 1);
}

/* FNV-1a over the organisation and the event id, the id without case (as
 * PostgreSQL compares uuids). */
static size_t key_hash(const pending_t *p)
{
    size_t h = 1469598103934665603ull;
    for (const char *c = p->org; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;
    for (const char *c = p->ev.id; *c; c++)
        h = (h ^ (unsigned char)tolower((unsigned char)*c)) * 1099511628211ull;
    return h;
}

/* Sets first on each of the n queued deliveries: whether it is the
 * batch's first with its organisation and event id (open addressing over
 * the earlier ones). */
static void mark_first(pending_t *list, size_t n)
{
    size_t cap = 16;
    pending_t **set;

    while (cap < 2 * n)
        cap *= 2;
    if ((set = calloc(cap, sizeof(*set))) == NULL)
        abort();
    for (pending_t *p = list; p != NULL; p = p->next) {
        size_t i = key_hash(p) & (cap - 1);
        p->first = 1;
        for (; set[i] != NULL; i = (i + 1) & (cap - 1))
            if (strcmp(set[i]->org, p->org) == 0 &&
                strcasecmp(set[i]->ev.id, p->ev.id) == 0) {
                p->first = 0;
                break;
            }
        if (p->first)
            set[i] = p;
    }
    free(set);
}

/* Records everything queued in this turn of the loop with batch_sql.  The
 * document is written as text: each body goes in as it arrived (it parsed
 * as JSON in orgsim_event_parse), so PostgreSQL parses it once, as jsonb. */
static void flush(uv_check_t *h)
{
    orgsim_store_t *st = h->data;
    pending_t *list = st->head;
    text_t doc = {0};
    const char *params[1];
    char num[80];
    PGresult *res;
    size_t n = st->npending;
    int rc, i = 0;

    uv_check_stop(&st->check);
    st->head = NULL;
    st->tail = &st->head;
    st->npending = 0;
    if (list == NULL)
        return;
    if ((rc = orgsim_store_ensure(st)) != 0) {
        batch_done(list, rc, NULL);
        return;
    }
    mark_first(list, n);
    for (pending_t *p = list; p != NULL; p = p->next, i++) {
        snprintf(num, sizeof(num), "%s{\"i\":%d,\"org\":", i ? "," : "[", i);
        puts_(&doc, num);
        put_str(&doc, p->org);
        puts_(&doc, ",\"id\":");
        put_str(&doc, p->ev.id);
        puts_(&doc, ",\"arr\":");
        put_str(&doc, p->ev.subject);
        puts_(&doc, ",\"type\":");
        put_str(&doc, p->ev.type);
        snprintf(num, sizeof(num),
                 ",\"seq\":%" PRId64 ",\"first\":%s,\"body\":", p->ev.sequence,
                 p->first ? "true" : "false");
        puts_(&doc, num);
        put(&doc, p->body, p->len);
        puts_(&doc, "}");
    }
    puts_(&doc, "]");
    params[0] = doc.p;
    res = PQexecPrepared(st->conn, "batch", 1, params, NULL, NULL, 0);
    free(doc.p);
    if (!result_ok(res, "batch")) {
        PQclear(res);
        /* one body PostgreSQL will not take: each on its own */
        if ((rc = failure(st)) == BRR_EDBTRANSIENT)
            batch_done(list, rc, NULL);
        else
            batch_singly(st, list);
        return;
    }
    batch_done(list, 0, res);
    PQclear(res);
}

void orgsim_store_attach(orgsim_store_t *st, uv_loop_t *loop)
{
    uv_check_init(loop, &st->check);
    st->check.data = st;
    st->head = NULL;
    st->tail = &st->head;
    st->attached = 1;
}

void orgsim_store_event_async(orgsim_store_t *st, const char *org,
                              const orgsim_event_t *ev, const char *body,
                              size_t len, orgsim_store_cb cb, void *arg)
{
    pending_t *p = calloc(1, sizeof(*p));

    if (p == NULL || (p->body = malloc(len + 1)) == NULL)
        abort();
    memcpy(p->body, body, len);
    p->body[len] = '\0';
    p->len = len;
    p->ev = *ev;
    snprintf(p->org, sizeof(p->org), "%s", org);
    p->cb = cb;
    p->arg = arg;
    *st->tail = p;
    st->tail = &p->next;
    if (st->npending++ == 0)
        uv_check_start(&st->check, flush);
}
