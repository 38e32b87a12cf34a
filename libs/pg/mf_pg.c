#include "mf_pg.h"

#include "mf_time.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mf_pg {
    PGconn *conn;
    char *url;
    char app[64];
    char err[1024];
    char sqlstate[6];
    /* Statements prepared on this connection, by the address of their
     * text (mf_pg_query_prepared); forgotten on reconnect. */
    const char *prepared[32];
    int nprepared;
};

struct mf_pg_res {
    PGresult *res;
};

static void
set_err(struct mf_pg *pg, const char *what, const PGresult *res)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *ctx = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;

    if ((msg == NULL || msg[0] == '\0') && pg->conn != NULL)
        msg = PQerrorMessage(pg->conn);
    snprintf(pg->err, sizeof(pg->err), "%s: %s%s%s", what,
             msg ? msg : "unknown error", ctx ? " context: " : "",
             ctx ? ctx : "");
    /* One line: libpq messages end with newlines. */
    for (char *p = pg->err; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s", state ? state : "");
}

static void
clear_err(struct mf_pg *pg)
{
    pg->err[0] = '\0';
    pg->sqlstate[0] = '\0';
}

/* Maps a failed result to MF_PG_ERR or, when the link is gone, CONN_LOST. */
static int
fail(struct mf_pg *pg, const char *what, PGresult *res)
{
    set_err(pg, what, res);
    PQclear(res);
    return PQstatus(pg->conn) == CONNECTION_OK ? MF_PG_ERR : MF_PG_CONN_LOST;
}

static int
open_conn(struct mf_pg *pg)
{
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {pg->url, pg->app, NULL};

    if (pg->conn != NULL)
        PQfinish(pg->conn);
    pg->nprepared = 0;
    /* expand_dbname lets the URL carry everything; app name is added. */
    pg->conn = PQconnectdbParams(keys, vals, 1);
    if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
        set_err(pg, "cannot connect to PostgreSQL", NULL);
        return MF_PG_CONN_LOST;
    }
    clear_err(pg);
    return MF_PG_OK;
}

int
mf_pg_connect(const char *url, const char *app, struct mf_pg **out, char *err,
              size_t errlen)
{
    struct mf_pg *pg = calloc(1, sizeof(*pg));
    if (pg == NULL || (pg->url = strdup(url)) == NULL) {
        free(pg);
        snprintf(err, errlen, "out of memory");
        return MF_PG_ERR;
    }
    snprintf(pg->app, sizeof(pg->app), "%s", app ? app : "metriflow");
    int rc = open_conn(pg);
    if (rc != MF_PG_OK) {
        snprintf(err, errlen, "%s", pg->err);
        mf_pg_close(pg);
        return rc;
    }
    *out = pg;
    return MF_PG_OK;
}

void
mf_pg_close(struct mf_pg *pg)
{
    if (pg == NULL)
        return;
    if (pg->conn != NULL)
        PQfinish(pg->conn);
    free(pg->url);
    free(pg);
}

int
mf_pg_reconnect(struct mf_pg *pg, volatile int *stop)
{
    long delay_ms = 100;

    for (;;) {
        if (open_conn(pg) == MF_PG_OK)
            return MF_PG_OK;
        if (stop == NULL || *stop)
            return MF_PG_CONN_LOST;
        mf_time_sleep_ms(delay_ms);
        delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
    }
}

int
mf_pg_alive(const struct mf_pg *pg)
{
    return pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK;
}

const char *
mf_pg_error(const struct mf_pg *pg)
{
    return pg->err;
}

const char *
mf_pg_sqlstate(const struct mf_pg *pg)
{
    return pg->sqlstate;
}

int
mf_pg_exec(struct mf_pg *pg, const char *sql)
{
    clear_err(pg);
    PGresult *res = PQexec(pg->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return fail(pg, "statement failed", res);
    PQclear(res);
    return MF_PG_OK;
}

int
mf_pg_query(struct mf_pg *pg, const char *sql, int nparams,
            const char *const *params, struct mf_pg_res **out)
{
    clear_err(pg);
    PGresult *res =
        PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return fail(pg, "query failed", res);
    if (out == NULL) {
        PQclear(res);
        return MF_PG_OK;
    }
    *out = malloc(sizeof(**out));
    if (*out == NULL) {
        PQclear(res);
        snprintf(pg->err, sizeof(pg->err), "out of memory");
        return MF_PG_ERR;
    }
    (*out)->res = res;
    return MF_PG_OK;
}

/* Wraps a successful result for the caller (or frees it). */
static int
hand_over(struct mf_pg *pg, PGresult *res, struct mf_pg_res **out)
{
    if (out == NULL) {
        PQclear(res);
        return MF_PG_OK;
    }
    *out = malloc(sizeof(**out));
    if (*out == NULL) {
        PQclear(res);
        snprintf(pg->err, sizeof(pg->err), "out of memory");
        return MF_PG_ERR;
    }
    (*out)->res = res;
    return MF_PG_OK;
}

int
mf_pg_query_prepared(struct mf_pg *pg, const char *sql, int nparams,
                     const char *const *params, struct mf_pg_res **out)
{
    char name[16];
    int i = 0;
    while (i < pg->nprepared && pg->prepared[i] != sql)
        i++;
    if (i == pg->nprepared) {
        if (i >= (int)(sizeof(pg->prepared) / sizeof(pg->prepared[0])))
            return mf_pg_query(pg, sql, nparams, params, out);
        clear_err(pg);
        snprintf(name, sizeof(name), "mf_p%d", i);
        PGresult *res = PQprepare(pg->conn, name, sql, nparams, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            return fail(pg, "prepare failed", res);
        PQclear(res);
        pg->prepared[pg->nprepared++] = sql;
    }
    clear_err(pg);
    snprintf(name, sizeof(name), "mf_p%d", i);
    PGresult *res =
        PQexecPrepared(pg->conn, name, nparams, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return fail(pg, "query failed", res);
    return hand_over(pg, res, out);
}

int
mf_pg_res_rows(const struct mf_pg_res *r)
{
    return PQntuples(r->res);
}

int
mf_pg_res_cols(const struct mf_pg_res *r)
{
    return PQnfields(r->res);
}

const char *
mf_pg_res_value(const struct mf_pg_res *r, int row, int col)
{
    if (PQgetisnull(r->res, row, col))
        return NULL;
    return PQgetvalue(r->res, row, col);
}

long long
mf_pg_res_affected(const struct mf_pg_res *r)
{
    const char *n = PQcmdTuples(r->res);
    return n && *n ? strtoll(n, NULL, 10) : 0;
}

int
mf_pg_res_col(const struct mf_pg_res *r, const char *name)
{
    return PQfnumber(r->res, name);
}

void
mf_pg_res_free(struct mf_pg_res *r)
{
    if (r == NULL)
        return;
    PQclear(r->res);
    free(r);
}

int
mf_pg_copy_begin(struct mf_pg *pg, const char *sql)
{
    clear_err(pg);
    PGresult *res = PQexec(pg->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN)
        return fail(pg, "COPY could not start", res);
    PQclear(res);
    return MF_PG_OK;
}

int
mf_pg_copy_put(struct mf_pg *pg, const void *buf, size_t len)
{
    /* libpq takes an int length: feed large buffers in slices. */
    const char *p = buf;
    while (len > 0) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        if (PQputCopyData(pg->conn, p, n) != 1) {
            set_err(pg, "COPY data could not be sent", NULL);
            return MF_PG_CONN_LOST;
        }
        p += n;
        len -= (size_t)n;
    }
    return MF_PG_OK;
}

int
mf_pg_copy_end(struct mf_pg *pg, long long *rows)
{
    int rc = MF_PG_OK;
    PGresult *res;

    if (PQputCopyEnd(pg->conn, NULL) != 1) {
        set_err(pg, "COPY could not be finished", NULL);
        return MF_PG_CONN_LOST;
    }
    /* The server's verdict on the whole COPY arrives only now. */
    while ((res = PQgetResult(pg->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            if (rc == MF_PG_OK)
                set_err(pg, "COPY failed", res);
            rc = PQstatus(pg->conn) == CONNECTION_OK ? MF_PG_ERR
                                                     : MF_PG_CONN_LOST;
        } else if (rows != NULL) {
            const char *n = PQcmdTuples(res);
            *rows = n && *n ? strtoll(n, NULL, 10) : 0;
        }
        PQclear(res);
    }
    return rc;
}

void
mf_pg_copy_abort(struct mf_pg *pg, const char *reason)
{
    PGresult *res;
    if (PQputCopyEnd(pg->conn, reason ? reason : "aborted") == 1)
        while ((res = PQgetResult(pg->conn)) != NULL)
            PQclear(res);
}

char *
mf_pg_literal(struct mf_pg *pg, const char *s)
{
    char *q = PQescapeLiteral(pg->conn, s, strlen(s));
    char *copy = q ? strdup(q) : NULL;
    PQfreemem(q);
    return copy;
}
