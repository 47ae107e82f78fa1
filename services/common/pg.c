/*
 * pg.c: see pg.h.  One connection per use (the consumer's batch, the
 * relay), reconnected lazily; nothing here retries on its own: the caller
 * owns the retry policy because only it knows what to roll back.
 */
#include "pg.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "log.h"

struct brr_pg {
    PGconn *conn;
    char *dsn;
    char *app_name;
    /* names of the statements prepared on this connection (a new
     * connection has none) */
    char **prepared;
    size_t nprepared, capprepared;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

static void forget_prepared(brr_pg_t *pg)
{
    for (size_t i = 0; i < pg->nprepared; i++)
        free(pg->prepared[i]);
    pg->nprepared = 0;
}

static int is_prepared(const brr_pg_t *pg, const char *name)
{
    for (size_t i = 0; i < pg->nprepared; i++)
        if (strcmp(pg->prepared[i], name) == 0)
            return 1;
    return 0;
}

static void add_prepared(brr_pg_t *pg, const char *name)
{
    if (pg->nprepared == pg->capprepared) {
        pg->capprepared = pg->capprepared ? 2 * pg->capprepared : 8;
        pg->prepared =
            realloc(pg->prepared, pg->capprepared * sizeof(*pg->prepared));
        if (pg->prepared == NULL)
            abort();
    }
    pg->prepared[pg->nprepared++] = xstrdup(name);
}

static int pg_open(brr_pg_t *pg)
{
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {pg->dsn, pg->app_name, NULL};

    forget_prepared(pg); /* they lived in the old session */
    if (pg->conn != NULL)
        PQfinish(pg->conn);
    /* expand_dbname=1: the dsn is a full conninfo string. */
    pg->conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        char msg[256];
        const char *e = PQerrorMessage(pg->conn);
        size_t n = strcspn(e, "\n");
        if (n >= sizeof(msg))
            n = sizeof(msg) - 1;
        memcpy(msg, e, n);
        msg[n] = '\0';
        brr_log_warn("could not connect to postgres", "err", msg, NULL);
        return BRR_EDBTRANSIENT;
    }
    return 0;
}

int brr_pg_connect(const char *dsn, const char *app_name, brr_pg_t **out)
{
    brr_pg_t *pg = xmalloc(sizeof(*pg));
    pg->conn = NULL;
    pg->prepared = NULL;
    pg->nprepared = pg->capprepared = 0;
    pg->dsn = xstrdup(dsn);
    pg->app_name = xstrdup(app_name ? app_name : "brr");
    *out = pg;
    return pg_open(pg);
}

void brr_pg_close(brr_pg_t *pg)
{
    if (pg == NULL)
        return;
    if (pg->conn != NULL)
        PQfinish(pg->conn);
    forget_prepared(pg);
    free(pg->prepared);
    free(pg->dsn);
    free(pg->app_name);
    free(pg);
}

int brr_pg_ok(brr_pg_t *pg)
{
    return pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK;
}

int brr_pg_ensure(brr_pg_t *pg)
{
    if (brr_pg_ok(pg))
        return 0;
    return pg_open(pg);
}

PGconn *brr_pg_conn(brr_pg_t *pg)
{
    return pg->conn;
}

int brr_pg_sqlstate_transient(const char *s)
{
    if (s == NULL || strlen(s) != 5)
        return 1;                   /* no SQLSTATE: the connection went away */
    return strncmp(s, "08", 2) == 0 /* connection exception */
           || strcmp(s, "40001") == 0    /* serialization failure */
           || strcmp(s, "40P01") == 0    /* deadlock detected */
           || strncmp(s, "53", 2) == 0   /* insufficient resources */
           || strcmp(s, "55P03") == 0    /* lock not available */
           || strcmp(s, "57014") == 0    /* query canceled (timeout) */
           || strncmp(s, "57P0", 4) == 0 /* admin/crash shutdown */
           || strcmp(s, "58000") == 0    /* system error */
           || strcmp(s, "58030") == 0;   /* io error */
}

int brr_pg_classify(brr_pg_t *pg, const PGresult *res)
{
    const char *state = NULL;
    const char *msg = NULL;
    int transient;

    if (res != NULL) {
        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    }
    if (msg == NULL)
        msg = pg->conn ? PQerrorMessage(pg->conn) : "no connection";
    transient =
        PQstatus(pg->conn) != CONNECTION_OK || brr_pg_sqlstate_transient(state);
    {
        char line[256];
        size_t n = strcspn(msg, "\n");
        if (n >= sizeof(line))
            n = sizeof(line) - 1;
        memcpy(line, msg, n);
        line[n] = '\0';
        /* Only the server's primary message and state: never parameters. */
        brr_log(transient ? BRR_LOG_WARN : BRR_LOG_ERROR,
                "postgres statement failed", "sqlstate", state ? state : "none",
                "err", line, NULL);
    }
    return transient ? BRR_EDBTRANSIENT : BRR_EDB;
}

static int result_ok(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ||
           st == PGRES_PIPELINE_SYNC;
}

int brr_pg_exec(brr_pg_t *pg, const char *sql)
{
    return brr_pg_query(pg, sql, 0, NULL, NULL);
}

int brr_pg_query(brr_pg_t *pg, const char *sql, int nparams,
                 const char *const *params, PGresult **out)
{
    PGresult *res;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (!brr_pg_ok(pg))
        return BRR_EDBTRANSIENT;
    if (nparams == 0)
        res = PQexec(pg->conn, sql);
    else
        res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (res == NULL || !result_ok(res)) {
        rc = brr_pg_classify(pg, res);
        PQclear(res);
        return rc;
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return 0;
}

int brr_pg_begin(brr_pg_t *pg)
{
    return brr_pg_exec(pg, "BEGIN");
}

int brr_pg_commit(brr_pg_t *pg)
{
    return brr_pg_exec(pg, "COMMIT");
}

void brr_pg_rollback(brr_pg_t *pg)
{
    if (brr_pg_ok(pg) && PQtransactionStatus(pg->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(pg->conn, "ROLLBACK");
        PQclear(res);
    }
}

/* ---- pipeline ---------------------------------------------------------- */

typedef struct {
    char *sql;
    char *name; /* NULL: unnamed (parsed and planned on every run) */
    int nparams;
    char **params;
    brr_pg_result_cb cb;
    void *arg;
} pipe_stmt_t;

struct brr_pg_pipe {
    pipe_stmt_t *v;
    size_t n, cap;
};

brr_pg_pipe_t *brr_pg_pipe_new(void)
{
    brr_pg_pipe_t *pp = xmalloc(sizeof(*pp));
    pp->v = NULL;
    pp->n = pp->cap = 0;
    return pp;
}

static void pipe_clear(brr_pg_pipe_t *pp)
{
    for (size_t i = 0; i < pp->n; i++) {
        pipe_stmt_t *s = &pp->v[i];
        for (int j = 0; j < s->nparams; j++)
            free(s->params[j]);
        free(s->params);
        free(s->sql);
        free(s->name);
    }
    pp->n = 0;
}

void brr_pg_pipe_free(brr_pg_pipe_t *pp)
{
    if (pp == NULL)
        return;
    pipe_clear(pp);
    free(pp->v);
    free(pp);
}

size_t brr_pg_pipe_count(const brr_pg_pipe_t *pp)
{
    return pp->n;
}

void brr_pg_pipe_add(brr_pg_pipe_t *pp, const char *sql, int nparams,
                     const char *const *params, brr_pg_result_cb cb, void *arg)
{
    brr_pg_pipe_add_prepared(pp, NULL, sql, nparams, params, cb, arg);
}

void brr_pg_pipe_add_prepared(brr_pg_pipe_t *pp, const char *name,
                              const char *sql, int nparams,
                              const char *const *params, brr_pg_result_cb cb,
                              void *arg)
{
    pipe_stmt_t *s;

    if (pp->n == pp->cap) {
        pp->cap = pp->cap ? pp->cap * 2 : 16;
        pp->v = realloc(pp->v, pp->cap * sizeof(*pp->v));
        if (pp->v == NULL)
            abort();
    }
    s = &pp->v[pp->n++];
    s->sql = xstrdup(sql);
    s->name = name != NULL ? xstrdup(name) : NULL;
    s->nparams = nparams;
    s->params = xmalloc(sizeof(char *) * (size_t)(nparams ? nparams : 1));
    for (int j = 0; j < nparams; j++)
        s->params[j] = params[j] ? xstrdup(params[j]) : NULL;
    s->cb = cb;
    s->arg = arg;
}

int brr_pg_pipe_run(brr_pg_t *pg, brr_pg_pipe_t *pp)
{
    int rc = 0;
    size_t sent = 0;
    PGconn *c = pg->conn;
    /* per request sent: the statement's index, or -1 - index for the Parse
     * of a named statement not yet prepared on this connection */
    long *what;

    if (pp->n == 0)
        return 0;
    if (!brr_pg_ok(pg)) {
        pipe_clear(pp);
        return BRR_EDBTRANSIENT;
    }
    if (PQenterPipelineMode(c) != 1) {
        pipe_clear(pp);
        return brr_pg_classify(pg, NULL);
    }
    what = xmalloc(2 * pp->n * sizeof(*what));
    for (size_t i = 0; i < pp->n && rc == 0; i++) {
        pipe_stmt_t *s = &pp->v[i];
        const char *const *params = (const char *const *)s->params;
        int prepare = s->name != NULL && !is_prepared(pg, s->name);
        /* the same name earlier in this run is being prepared already */
        for (size_t j = 0; prepare && j < i; j++)
            if (pp->v[j].name != NULL && strcmp(pp->v[j].name, s->name) == 0)
                prepare = 0;
        if (prepare) {
            if (PQsendPrepare(c, s->name, s->sql, s->nparams, NULL) != 1) {
                rc = brr_pg_classify(pg, NULL);
                break;
            }
            what[sent++] = -1 - (long)i;
        }
        if ((s->name != NULL ? PQsendQueryPrepared(c, s->name, s->nparams,
                                                   params, NULL, NULL, 0)
                             : PQsendQueryParams(c, s->sql, s->nparams, NULL,
                                                 params, NULL, NULL, 0)) != 1) {
            rc = brr_pg_classify(pg, NULL);
            break;
        }
        what[sent++] = (long)i;
    }
    if (PQpipelineSync(c) != 1 && rc == 0)
        rc = brr_pg_classify(pg, NULL);

    /* Collect: each request yields its result then NULL; after an error
     * the rest come back PGRES_PIPELINE_ABORTED; the sync ends it. */
    for (size_t i = 0; i < sent; i++) {
        PGresult *res = PQgetResult(c);
        if (res == NULL) {
            if (rc == 0)
                rc = brr_pg_classify(pg, NULL);
            break;
        }
        if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED) {
            /* an earlier statement failed and was classified */
        } else if (!result_ok(res)) {
            if (rc == 0)
                rc = brr_pg_classify(pg, res);
        } else if (what[i] < 0) {
            /* prepared for the session: a rollback does not undo it */
            add_prepared(pg, pp->v[-1 - what[i]].name);
        } else if (pp->v[what[i]].cb != NULL) {
            pp->v[what[i]].cb(pp->v[what[i]].arg, res);
        }
        PQclear(res);
        res = PQgetResult(c); /* the NULL that ends this request */
        PQclear(res);
    }
    free(what);
    for (;;) {
        PGresult *res = PQgetResult(c);
        if (res == NULL)
            break;
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (st == PGRES_PIPELINE_SYNC)
            break;
    }
    if (PQstatus(c) == CONNECTION_OK)
        PQexitPipelineMode(c);
    else if (rc == 0)
        rc = BRR_EDBTRANSIENT;
    pipe_clear(pp);
    return rc;
}

void brr_pg_pipe_add_json(brr_pg_pipe_t *pp, const char *sql, json_t *rows)
{
    char *doc;
    const char *p[1];
    if (json_array_size(rows) == 0)
        return;
    if ((doc = json_dumps(rows, JSON_COMPACT)) == NULL)
        abort(); /* out of memory: the batch cannot be written */
    p[0] = doc;
    brr_pg_pipe_add(pp, sql, 1, p, NULL, NULL);
    free(doc);
}
