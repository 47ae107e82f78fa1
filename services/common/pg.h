/*
 * pg.h: PostgreSQL connections, transactions and pipelined batches.
 *
 * Synchronous libpq on the service's loop thread: a service does its
 * database work per *batch* of messages or requests, so one round trip (or
 * two) serves hundreds of events and the loop stalls only for that long.
 * Where that stall is too long (brr-connector, whose loop also carries the
 * HTTP requests to the organisations), a pipelined batch can run on the
 * loop instead: brr_pg_pipe_start().
 * Failures are classified by SQLSTATE: connection loss, serialization
 * failures, deadlocks, shutdowns and resource exhaustion are transient
 * (BRR_EDBTRANSIENT: roll back and retry the batch later); everything else
 * is BRR_EDB.  The server's message is logged once, here, without
 * parameters (they may hold personal data).
 */
#ifndef BRR_PG_H
#define BRR_PG_H

#include <stddef.h>
#include <libpq-fe.h>
#include <uv.h>

typedef struct brr_pg brr_pg_t;

/* Connects with a libpq conninfo string.  On failure *out is still set (a
 * broken connection that brr_pg_ensure() retries later) and the return is
 * BRR_EDBTRANSIENT. */
int brr_pg_connect(const char *dsn, const char *app_name, brr_pg_t **out);

/* The same with libpq's "options" for the session (e.g. "-c
 * enable_seqscan=off"), set again on every reconnect. */
int brr_pg_connect_opts(const char *dsn, const char *app_name,
                        const char *options, brr_pg_t **out);

/* For a connection whose prepared statements run for every batch against
 * tables that grow and shrink by the batch (brr-connector's dispatcher,
 * the outbox relays): a plan made while a table was empty (a new install,
 * or right after a purge and VACUUM) scans it, and kept as the prepared
 * statement's generic plan it goes on doing so as the table grows, once
 * per row of a batch (measured: 2 ms per event).  Planned anew on every
 * run, each plan sees the table as it is now; the statement is still
 * parsed only once per connection. */
#define BRR_PG_CUSTOM_PLAN_OPTIONS "-c plan_cache_mode=force_custom_plan"

/* Closes the connection and frees pg (NULL is fine). */
void brr_pg_close(brr_pg_t *pg);

/* Reconnects when the connection is broken; 0 when usable. */
int brr_pg_ensure(brr_pg_t *pg);

/* Nonzero when the connection is currently usable. */
int brr_pg_ok(brr_pg_t *pg);

/* The libpq connection, for callers that need libpq directly. */
PGconn *brr_pg_conn(brr_pg_t *pg);

/* Runs one or more statements without parameters or results (BEGIN,
 * COMMIT, DDL).  0, BRR_EDB or BRR_EDBTRANSIENT. */
int brr_pg_exec(brr_pg_t *pg, const char *sql);

/* Runs one statement with text parameters (NULL entries are SQL NULL).
 * On success *res (if res is not NULL) receives the result, owned by the
 * caller (PQclear); on failure nothing is returned through res. */
int brr_pg_query(brr_pg_t *pg, const char *sql, int nparams,
                 const char *const *params, PGresult **res);

int brr_pg_begin(brr_pg_t *pg);
int brr_pg_commit(brr_pg_t *pg);
/* Rolls back if a transaction is open; never fails loudly. */
void brr_pg_rollback(brr_pg_t *pg);

/* Classifies a failed result (or a broken connection when res is NULL). */
int brr_pg_classify(brr_pg_t *pg, const PGresult *res);

/* SQLSTATE classification alone: 1 when transient. */
int brr_pg_sqlstate_transient(const char *sqlstate);

/*
 * Pipelined batch: statements queued with brr_pg_pipe_add() are sent in
 * pipeline mode and answered in one round trip by brr_pg_pipe_run().
 * Parameters are copied, so the caller's buffers may go away.  An optional
 * callback receives each statement's result (do not PQclear it).
 */
typedef void (*brr_pg_result_cb)(void *arg, const PGresult *res);
typedef struct brr_pg_pipe brr_pg_pipe_t;

brr_pg_pipe_t *brr_pg_pipe_new(void);
void brr_pg_pipe_free(brr_pg_pipe_t *pp);
/* Queues a statement; nparams text parameters (NULL for SQL NULL). */
void brr_pg_pipe_add(brr_pg_pipe_t *pp, const char *sql, int nparams,
                     const char *const *params, brr_pg_result_cb cb, void *arg);
/* Queues a statement that is parsed and planned once per connection: the
 * first run on a connection sends it to be prepared under name (one name
 * per sql text, e.g. "intake_keys"), later runs only bind and execute it.
 * A reconnect forgets what was prepared. */
void brr_pg_pipe_add_prepared(brr_pg_pipe_t *pp, const char *name,
                              const char *sql, int nparams,
                              const char *const *params, brr_pg_result_cb cb,
                              void *arg);
/* Queues sql with one parameter, the JSON array rows as compact text
 * (for set-based writes through json_to_recordset); nothing when rows is
 * empty. */
struct json_t;
void brr_pg_pipe_add_json(brr_pg_pipe_t *pp, const char *sql,
                          struct json_t *rows);
size_t brr_pg_pipe_count(const brr_pg_pipe_t *pp);
/* Sends everything queued, then collects; the queue is emptied either way.
 * Returns the first failure's classification, 0 when all succeeded. */
int brr_pg_pipe_run(brr_pg_t *pg, brr_pg_pipe_t *pp);

/* The same on loop, without waiting: sends everything queued (pp holds at
 * least one statement), returns, and as the answers arrive calls the
 * statements' callbacks and finally done(arg, rc) with what
 * brr_pg_pipe_run() would have returned; pp is emptied before done.  One
 * run at a time per connection, and pp stays untouched until done.  A
 * nonzero return means nothing was started: pp is emptied (unless it is
 * the pipe of the run under way) and done is not called.  Any
 * other use of pg first waits for the run to end (brr_pg_pipe_wait()). */
typedef void (*brr_pg_done_cb)(void *arg, int rc);
int brr_pg_pipe_start(brr_pg_t *pg, brr_pg_pipe_t *pp, uv_loop_t *loop,
                      brr_pg_done_cb done, void *arg);
/* 1 while a run started by brr_pg_pipe_start() is under way. */
int brr_pg_busy(const brr_pg_t *pg);
/* Blocks until the run under way (if any) has ended and its done was
 * called, e.g. before shutdown. */
void brr_pg_pipe_wait(brr_pg_t *pg);

#endif
