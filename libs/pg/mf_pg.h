/*
 * mf_pg: the only place that calls libpq.
 *
 * A connection handle that remembers its URL so it can reconnect, plain
 * and parameterised queries with text results, and COPY FROM STDIN. Errors
 * are returned as negative codes; the message (server text, SQLSTATE,
 * context) is kept in the handle until the next call: mf_pg_error().
 * A handle is used by one thread at a time.
 */
#ifndef MF_PG_H
#define MF_PG_H

#include <stddef.h>
#include <stdint.h>

struct mf_pg;
struct mf_pg_res;

enum {
    MF_PG_OK = 0,
    MF_PG_ERR = -1,       /* the statement failed; the connection is fine */
    MF_PG_CONN_LOST = -2, /* the connection is gone; mf_pg_reconnect */
};

/*
 * Connects to url (a libpq connection string or URI), with application_name
 * set to app. Returns MF_PG_OK and a handle in *out (freed with
 * mf_pg_close), or a negative code with the reason in err (never the
 * password).
 */
int mf_pg_connect(const char *url, const char *app, struct mf_pg **out,
                  char *err, size_t errlen);

/* Closes the connection and frees the handle. NULL is allowed. */
void mf_pg_close(struct mf_pg *pg);

/*
 * Reconnects with exponential backoff (100 ms doubling to 5 s) until it
 * succeeds or *stop becomes non-zero (stop may be NULL: one attempt).
 * Returns MF_PG_OK or MF_PG_CONN_LOST.
 */
int mf_pg_reconnect(struct mf_pg *pg, volatile int *stop);

/* 1 while the connection is usable. */
int mf_pg_alive(const struct mf_pg *pg);

/* The last error's message ("" when none); valid until the next call. */
const char *mf_pg_error(const struct mf_pg *pg);

/* The last error's SQLSTATE ("" when none), e.g. "40P01" for a deadlock. */
const char *mf_pg_sqlstate(const struct mf_pg *pg);

/* Runs one or more statements without parameters, discarding rows. */
int mf_pg_exec(struct mf_pg *pg, const char *sql);

/*
 * Runs one statement with text parameters ($1..$n; NULL is SQL NULL).
 * On MF_PG_OK *res holds the rows (free with mf_pg_res_free); res may be
 * NULL when the rows are not wanted.
 */
int mf_pg_query(struct mf_pg *pg, const char *sql, int nparams,
                const char *const *params, struct mf_pg_res **res);

/*
 * Like mf_pg_query, but prepares sql on this connection the first time and
 * executes the prepared statement after. Statements are known by the
 * ADDRESS of sql, so pass a string that never changes (a literal); at most
 * 32 per connection (beyond, it runs unprepared), forgotten on reconnect.
 */
int mf_pg_query_prepared(struct mf_pg *pg, const char *sql, int nparams,
                         const char *const *params, struct mf_pg_res **res);

int mf_pg_res_rows(const struct mf_pg_res *r);
int mf_pg_res_cols(const struct mf_pg_res *r);
/* The text of a cell; NULL for SQL NULL. Valid until mf_pg_res_free. */
const char *mf_pg_res_value(const struct mf_pg_res *r, int row, int col);
/* The number of rows a command affected (INSERT/UPDATE/DELETE/COPY). */
long long mf_pg_res_affected(const struct mf_pg_res *r);
/* The column number of a name, or -1. */
int mf_pg_res_col(const struct mf_pg_res *r, const char *name);
void mf_pg_res_free(struct mf_pg_res *r);

/*
 * COPY: mf_pg_copy_begin runs a "COPY ... FROM STDIN" statement;
 * mf_pg_copy_put sends data (buffered by libpq); mf_pg_copy_end finishes
 * and returns the number of rows in *rows, or the server's error (which
 * only arrives here: libpq accepts all data first). mf_pg_copy_abort
 * cancels a COPY in progress with the given reason.
 */
int mf_pg_copy_begin(struct mf_pg *pg, const char *sql);
int mf_pg_copy_put(struct mf_pg *pg, const void *buf, size_t len);
int mf_pg_copy_end(struct mf_pg *pg, long long *rows);
void mf_pg_copy_abort(struct mf_pg *pg, const char *reason);

/* Quotes s as a SQL literal into a new string (free()), or NULL. */
char *mf_pg_literal(struct mf_pg *pg, const char *s);

#endif
