/* One PostgreSQL connection per pool thread, opened on first use. */
#include "api.h"

#include "mf_log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* A thread's connection is closed by the key's destructor when the thread
 * ends (the server's pool threads end at shutdown). */
static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

static void
conn_destroy(void *pg)
{
    mf_pg_close(pg);
}

static void
conn_key_make(void)
{
    pthread_key_create(&conn_key, conn_destroy);
}

/* This thread's connection, connecting when there is none. */
static struct mf_pg *
conn(void)
{
    pthread_once(&conn_once, conn_key_make);
    struct mf_pg *pg = pthread_getspecific(conn_key);
    if (pg != NULL)
        return pg;
    char err[256];
    if (mf_pg_connect(api_g.pg_url, "metriflow-api", &pg, err, sizeof(err)) !=
        MF_PG_OK) {
        char q[300];
        mf_error("cannot connect to PostgreSQL", "reason=%s",
                 mf_log_q(q, sizeof(q), err));
        return NULL;
    }
    pthread_setspecific(conn_key, pg);
    return pg;
}

/* Runs sql prepared or not. */
static int
run(struct mf_pg *pg, int prepared, const char *sql, int n,
    const char *const *params, struct mf_pg_res **res)
{
    return prepared ? mf_pg_query_prepared(pg, sql, n, params, res)
                    : mf_pg_query(pg, sql, n, params, res);
}

int
api_db(const char *sql, int n, const char *const *params,
       struct mf_pg_res **res, char *state)
{
    return api_db_run(0, sql, n, params, res, state);
}

int
api_db_prepared(const char *sql, int n, const char *const *params,
                struct mf_pg_res **res)
{
    return api_db_run(1, sql, n, params, res, NULL);
}

int
api_db_run(int prepared, const char *sql, int n, const char *const *params,
           struct mf_pg_res **res, char *state)
{
    if (state != NULL)
        state[0] = '\0';
    struct mf_pg *pg = conn();
    if (pg == NULL)
        return MF_PG_CONN_LOST;
    int rc = run(pg, prepared, sql, n, params, res);
    if (rc == MF_PG_CONN_LOST) {
        /* One new attempt: the server may have restarted in between. */
        if (mf_pg_reconnect(pg, NULL) == MF_PG_OK)
            rc = run(pg, prepared, sql, n, params, res);
    }
    if (rc != MF_PG_OK) {
        char q[160];
        if (state != NULL)
            snprintf(state, 6, "%s", mf_pg_sqlstate(pg));
        mf_error("database query failed", "sqlstate=%s error=%s",
                 mf_pg_sqlstate(pg), mf_log_q(q, sizeof(q), mf_pg_error(pg)));
    }
    return rc;
}

int
api_db_ping(void)
{
    struct mf_pg *pg = conn();
    if (pg == NULL)
        return 0;
    int rc = mf_pg_query(pg, "SELECT 1", 0, NULL, NULL);
    if (rc == MF_PG_CONN_LOST && mf_pg_reconnect(pg, NULL) == MF_PG_OK)
        rc = mf_pg_query(pg, "SELECT 1", 0, NULL, NULL);
    return rc == MF_PG_OK;
}

void
api_db_close(void)
{
    pthread_once(&conn_once, conn_key_make);
    mf_pg_close(pthread_getspecific(conn_key));
    pthread_setspecific(conn_key, NULL);
}
