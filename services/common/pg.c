/*
 * pg.c: see pg.h.  One connection per use (the consumer's batch, the
 * relay), reconnected lazily; nothing here retries on its own: the caller
 * owns the retry policy because only it knows what to roll back.
 */
#include "pg.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "log.h"

/* Where a pipe's run is: what was sent, and which answer comes next. */
typedef struct {
    long *what; /* per request sent: see pipe_send() */
    size_t sent, next;
    int want_end; /* the NULL that ends a request's results is next */
    int syncing;  /* every request answered: the sync is next */
    int rc;       /* the first failure's classification */
} pg_run_t;

struct brr_pg {
    PGconn *conn;
    char *dsn;
    char *app_name;
    char *options; /* libpq "options" (server settings), or NULL */
    /* names of the statements prepared on this connection (a new
     * connection has none) */
    char **prepared;
    size_t nprepared, capprepared;
    /* a run on the loop (brr_pg_pipe_start) while apipe is not NULL */
    brr_pg_pipe_t *apipe;
    pg_run_t run;
    brr_pg_done_cb adone;
    void *aarg;
    uv_poll_t *poll; /* on the socket poll_fd, during a run */
    int poll_fd;
};

static void poll_release(brr_pg_t *pg);

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

/* Closes the connection (a later brr_pg_ensure() opens a new one). */
static void pg_drop(brr_pg_t *pg)
{
    poll_release(pg);    /* before its socket closes */
    forget_prepared(pg); /* they lived in the old session */
    if (pg->conn != NULL)
        PQfinish(pg->conn);
    pg->conn = NULL;
}

static int pg_open(brr_pg_t *pg)
{
    const char *keys[] = {"dbname", "application_name", "options", NULL};
    const char *vals[] = {pg->dsn, pg->app_name, pg->options, NULL};

    pg_drop(pg);
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
    return brr_pg_connect_opts(dsn, app_name, NULL, out);
}

int brr_pg_connect_opts(const char *dsn, const char *app_name,
                        const char *options, brr_pg_t **out)
{
    brr_pg_t *pg = xmalloc(sizeof(*pg));
    memset(pg, 0, sizeof(*pg));
    pg->dsn = xstrdup(dsn);
    pg->app_name = xstrdup(app_name ? app_name : "brr");
    pg->options = options ? xstrdup(options) : NULL;
    *out = pg;
    return pg_open(pg);
}

void brr_pg_close(brr_pg_t *pg)
{
    if (pg == NULL)
        return;
    brr_pg_pipe_wait(pg);
    pg_drop(pg);
    free(pg->prepared);
    free(pg->dsn);
    free(pg->app_name);
    free(pg->options);
    free(pg);
}

int brr_pg_ok(brr_pg_t *pg)
{
    return pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK;
}

int brr_pg_ensure(brr_pg_t *pg)
{
    brr_pg_pipe_wait(pg);
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
    brr_pg_pipe_wait(pg); /* one thing at a time on a connection */
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
    brr_pg_pipe_wait(pg);
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

/* ---- running a pipe: one state machine for both ways ------------------ */

/* Sends every queued statement in pipeline mode, then a sync.  Fills
 * r->what with one entry per request sent: the statement's index, or
 * -1 - index for the Parse of a named statement not yet prepared on this
 * connection.  Returns the first failure's classification; what was sent
 * before it is still collected. */
static int pipe_send(brr_pg_t *pg, brr_pg_pipe_t *pp, pg_run_t *r)
{
    PGconn *c = pg->conn;
    int rc = 0;

    r->what = xmalloc(2 * pp->n * sizeof(*r->what));
    r->sent = r->next = 0;
    r->want_end = 0;
    r->syncing = 0;
    r->rc = 0;
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
            r->what[r->sent++] = -1 - (long)i;
        }
        if ((s->name != NULL ? PQsendQueryPrepared(c, s->name, s->nparams,
                                                   params, NULL, NULL, 0)
                             : PQsendQueryParams(c, s->sql, s->nparams, NULL,
                                                 params, NULL, NULL, 0)) != 1) {
            rc = brr_pg_classify(pg, NULL);
            break;
        }
        r->what[r->sent++] = (long)i;
    }
    if (PQpipelineSync(c) != 1 && rc == 0)
        rc = brr_pg_classify(pg, NULL);
    r->rc = rc;
    r->syncing = r->sent == 0;
    return rc;
}

/* Takes one return of PQgetResult (NULL included).  Each request yields
 * its result then NULL; after an error the rest come back
 * PGRES_PIPELINE_ABORTED; the sync ends the run.  Returns 1 when the run
 * is over. */
static int pipe_take(brr_pg_t *pg, brr_pg_pipe_t *pp, pg_run_t *r,
                     PGresult *res)
{
    if (r->syncing) {
        int over = res == NULL || PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
        return over;
    }
    if (res == NULL) {
        if (!r->want_end) {
            /* no result where one was due: the connection is gone */
            if (r->rc == 0)
                r->rc = brr_pg_classify(pg, NULL);
            return 1;
        }
        r->want_end = 0;
        if (++r->next == r->sent)
            r->syncing = 1;
        return 0;
    }
    if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED) {
        /* an earlier statement failed and was classified */
    } else if (!result_ok(res)) {
        if (r->rc == 0)
            r->rc = brr_pg_classify(pg, res);
    } else if (r->what[r->next] < 0) {
        /* prepared for the session: a rollback does not undo it */
        add_prepared(pg, pp->v[-1 - r->what[r->next]].name);
    } else if (pp->v[r->what[r->next]].cb != NULL) {
        pipe_stmt_t *s = &pp->v[r->what[r->next]];
        s->cb(s->arg, res);
    }
    PQclear(res);
    r->want_end = 1;
    return 0;
}

/* Leaves pipeline mode and empties the pipe; the run's result. */
static int pipe_end(brr_pg_t *pg, brr_pg_pipe_t *pp, pg_run_t *r)
{
    int rc = r->rc;
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        if (rc == 0)
            rc = BRR_EDBTRANSIENT;
    } else if (PQexitPipelineMode(pg->conn) != 1) {
        /* results left unread (the run broke off): start afresh, the next
         * brr_pg_ensure() reconnects */
        if (rc == 0)
            rc = BRR_EDBTRANSIENT;
        pg_drop(pg);
    }
    free(r->what);
    r->what = NULL;
    pipe_clear(pp);
    return rc;
}

int brr_pg_pipe_run(brr_pg_t *pg, brr_pg_pipe_t *pp)
{
    pg_run_t r;

    if (pp->n == 0)
        return 0;
    brr_pg_pipe_wait(pg);
    if (!brr_pg_ok(pg)) {
        pipe_clear(pp);
        return BRR_EDBTRANSIENT;
    }
    if (PQenterPipelineMode(pg->conn) != 1) {
        pipe_clear(pp);
        return brr_pg_classify(pg, NULL);
    }
    pipe_send(pg, pp, &r);
    while (!pipe_take(pg, pp, &r, PQgetResult(pg->conn)))
        ;
    return pipe_end(pg, pp, &r);
}

/* ---- running a pipe on the loop ----------------------------------------- */

static void poll_closed(uv_handle_t *h)
{
    free(h);
}

/* Stops watching the socket; before it closes, or to watch another. */
static void poll_release(brr_pg_t *pg)
{
    if (pg->poll == NULL)
        return;
    uv_poll_stop(pg->poll);
    uv_close((uv_handle_t *)pg->poll, poll_closed);
    pg->poll = NULL;
}

static void on_poll(uv_poll_t *h, int status, int events);

static int poll_watch(brr_pg_t *pg, uv_loop_t *loop, int want_write)
{
    int fd = PQsocket(pg->conn);
    if (pg->poll != NULL && (pg->poll_fd != fd || pg->poll->loop != loop))
        poll_release(pg);
    if (pg->poll == NULL) {
        pg->poll = xmalloc(sizeof(*pg->poll));
        if (uv_poll_init(loop, pg->poll, fd) != 0) {
            free(pg->poll);
            pg->poll = NULL;
            return BRR_EIO;
        }
        pg->poll->data = pg;
        pg->poll_fd = fd;
    }
    return uv_poll_start(pg->poll, UV_READABLE | (want_write ? UV_WRITABLE : 0),
                         on_poll) == 0
               ? 0
               : BRR_EIO;
}

/* Reads what arrived, sends what is still buffered, and takes every result
 * that is complete.  1 when the run is over. */
static int async_step(brr_pg_t *pg, int *want_write)
{
    PGconn *c = pg->conn;
    int f;

    if (PQconsumeInput(c) != 1 || (f = PQflush(c)) < 0) {
        if (pg->run.rc == 0)
            pg->run.rc = brr_pg_classify(pg, NULL);
        return 1;
    }
    *want_write = f == 1;
    while (!PQisBusy(c))
        if (pipe_take(pg, pg->apipe, &pg->run, PQgetResult(c)))
            return 1;
    return 0;
}

static void async_finish(brr_pg_t *pg)
{
    brr_pg_pipe_t *pp = pg->apipe;
    brr_pg_done_cb done = pg->adone;
    void *arg = pg->aarg;
    int rc;

    poll_release(pg); /* nothing of the loop's outlives the run */
    pg->apipe = NULL;
    pg->adone = NULL;
    pg->aarg = NULL;
    rc = pipe_end(pg, pp, &pg->run);
    if (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK)
        PQsetnonblocking(pg->conn, 0);
    done(arg, rc);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    brr_pg_t *pg = h->data;
    int want_write = 0;

    (void)events;
    if (pg->apipe == NULL) {
        uv_poll_stop(h);
        return;
    }
    if (status < 0) {
        if (pg->run.rc == 0)
            pg->run.rc = BRR_EDBTRANSIENT;
        async_finish(pg);
        return;
    }
    if (async_step(pg, &want_write)) {
        async_finish(pg);
        return;
    }
    if (poll_watch(pg, h->loop, want_write) != 0) {
        brr_pg_pipe_wait(pg); /* cannot happen on a watched socket */
    }
}

int brr_pg_pipe_start(brr_pg_t *pg, brr_pg_pipe_t *pp, uv_loop_t *loop,
                      brr_pg_done_cb done, void *arg)
{
    PGconn *c;
    int f, rc;

    if (pp->n == 0 || pg->apipe != NULL) {
        if (pp != pg->apipe)
            pipe_clear(pp);
        return BRR_EINVAL;
    }
    if (!brr_pg_ok(pg)) {
        pipe_clear(pp);
        return BRR_EDBTRANSIENT;
    }
    c = pg->conn;
    if (PQsetnonblocking(c, 1) != 0 || PQenterPipelineMode(c) != 1) {
        PQsetnonblocking(c, 0);
        pipe_clear(pp);
        return brr_pg_classify(pg, NULL);
    }
    pipe_send(pg, pp, &pg->run);
    if (PQstatus(c) != CONNECTION_OK || (f = PQflush(c)) < 0) {
        rc = pipe_end(pg, pp, &pg->run);
        return rc != 0 ? rc : BRR_EDBTRANSIENT;
    }
    pg->apipe = pp;
    pg->adone = done;
    pg->aarg = arg;
    if (poll_watch(pg, loop, f == 1) != 0)
        brr_pg_pipe_wait(pg); /* no watch: answer now, the blocking way */
    return 0;
}

int brr_pg_busy(const brr_pg_t *pg)
{
    return pg->apipe != NULL;
}

void brr_pg_pipe_wait(brr_pg_t *pg)
{
    int want_write = 1;

    while (pg->apipe != NULL) {
        struct pollfd pfd = {PQsocket(pg->conn), POLLIN, 0};
        if (want_write)
            pfd.events |= POLLOUT;
        if (pfd.fd < 0 || (poll(&pfd, 1, -1) < 0 && errno != EINTR) ||
            async_step(pg, &want_write)) {
            if (pfd.fd < 0 && pg->run.rc == 0)
                pg->run.rc = BRR_EDBTRANSIENT;
            async_finish(pg);
        }
    }
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
