/*
 * Page lookups for /reports/range, batched: one thread and one PostgreSQL
 * connection answer every queued lookup with one round trip.
 *
 * A cached range answer costs one lookup, the page's current data version
 * (which is what keeps a hit from ever being stale), and that round trip
 * was most of what a hit cost: the pool thread waited on it while the
 * other connections it serves waited on the thread. Now the range route
 * queues the lookup and defers the request (mf_http_defer), the pool
 * thread goes on to its other connections, and this thread asks for the
 * pages of every lookup that is queued with one query, then resumes the
 * requests. A lookup is only sent after it was queued, so it reads
 * every commit that came before the request, as a query of its own would.
 */
#include "api.h"

#include "mf_log.h"
#include "mf_pg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lookups per round trip; the rest go in the next one. */
#define BATCH_MAX 256

/* One query for the whole batch: the i-th (site, path) of the two arrays
 * comes back with its ordinal i when the page exists. */
static const char lookup_sql[] =
    "SELECT k.i, p.page_id, p.data_version"
    " FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(site, path, i)"
    " JOIN page p ON p.site = k.site AND p.path = k.path";

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct api_lookup *head, **tail = &head;
static int stopping, started;
static pthread_t thread;

/* Appends s to t as an element of a PostgreSQL array literal. */
static void
array_add(struct api_text *t, const char *s)
{
    api_text_add(t, t->len == 0 ? "{\"" : ",\"", 2);
    for (const char *c = s; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\')
            api_text_add(t, "\\", 1);
        api_text_add(t, c, 1);
    }
    api_text_add(t, "\"", 1);
}

/* Runs the lookups of batch (n of them) and fills their answers. Equal
 * pages are asked for once: every lookup of the batch was queued before
 * the query is sent, so one answer is as fresh for each of them. */
static void
run(struct mf_pg **pg, struct api_lookup **batch, int n)
{
    int uniq[BATCH_MAX], first[BATCH_MAX], nu = 0;
    struct api_text sites = {0}, paths = {0};
    for (int i = 0; i < n; i++) {
        batch[i]->rc = -1;
        int u = 0;
        while (u < nu && (strcmp(batch[first[u]]->site, batch[i]->site) != 0 ||
                          strcmp(batch[first[u]]->path, batch[i]->path) != 0))
            u++;
        if (u == nu) {
            first[nu++] = i;
            array_add(&sites, batch[i]->site);
            array_add(&paths, batch[i]->path);
        }
        uniq[i] = u;
    }
    api_text_add(&sites, "}", 1);
    api_text_add(&paths, "}", 1);
    char err[256];
    struct mf_pg_res *res = NULL;
    if (sites.failed || paths.failed) {
        mf_error("page lookups failed", "lookups=%d error=\"out of memory\"",
                 n);
        goto out;
    }
    if (*pg == NULL && mf_pg_connect(api_g.pg_url, "metriflow-api-lookup", pg,
                                     err, sizeof(err)) != MF_PG_OK) {
        char q[300];
        mf_error("cannot connect to PostgreSQL", "lookups=%d reason=%s", n,
                 mf_log_q(q, sizeof(q), err));
        mf_pg_close(*pg);
        *pg = NULL;
        goto out;
    }
    const char *params[2] = {sites.p, paths.p};
    api_metrics_lookups(n);
    int rc = mf_pg_query_prepared(*pg, lookup_sql, 2, params, &res);
    if (rc == MF_PG_CONN_LOST && mf_pg_reconnect(*pg, NULL) == MF_PG_OK) {
        api_metrics_lookups(n);
        rc = mf_pg_query_prepared(*pg, lookup_sql, 2, params, &res);
    }
    if (rc != MF_PG_OK) {
        char q[160];
        mf_error("page lookups failed", "lookups=%d sqlstate=%s error=%s", n,
                 mf_pg_sqlstate(*pg), mf_log_q(q, sizeof(q), mf_pg_error(*pg)));
        goto out;
    }
    /* Found pages by unique index; the others stay 0 (no such page). */
    const char *ids[BATCH_MAX] = {0}, *versions[BATCH_MAX] = {0};
    for (int r = 0; r < mf_pg_res_rows(res); r++) {
        long u = strtol(mf_pg_res_value(res, r, 0), NULL, 10) - 1;
        if (u >= 0 && u < nu) {
            ids[u] = mf_pg_res_value(res, r, 1);
            versions[u] = mf_pg_res_value(res, r, 2);
        }
    }
    for (int i = 0; i < n; i++) {
        struct api_lookup *l = batch[i];
        l->rc = ids[uniq[i]] != NULL;
        if (l->rc) {
            snprintf(l->id, sizeof(l->id), "%s", ids[uniq[i]]);
            snprintf(l->version, sizeof(l->version), "%s", versions[uniq[i]]);
        }
    }
out:
    mf_pg_res_free(res);
    free(sites.p);
    free(paths.p);
}

static void *
main_loop(void *unused)
{
    (void)unused;
    struct mf_pg *pg = NULL;
    struct api_lookup *batch[BATCH_MAX];
    pthread_mutex_lock(&mu);
    for (;;) {
        while (head == NULL && !stopping)
            pthread_cond_wait(&cv, &mu);
        if (head == NULL)
            break;
        int n = 0;
        while (head != NULL && n < BATCH_MAX) {
            batch[n++] = head;
            head = head->next;
        }
        if (head == NULL)
            tail = &head;
        pthread_mutex_unlock(&mu);
        run(&pg, batch, n);
        /* After mf_http_resume the request, and the lookup in it, belong
         * to the pool thread again: nothing of it is read after. */
        for (int i = 0; i < n; i++)
            mf_http_resume(batch[i]->req);
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
    mf_pg_close(pg);
    return NULL;
}

int
api_lookup_start(void)
{
    stopping = 0;
    if (pthread_create(&thread, NULL, main_loop, NULL) != 0) {
        mf_error("cannot start the page lookup thread", "threads=1");
        return -1;
    }
    started = 1;
    return 0;
}

void
api_lookup_queue(struct api_lookup *l)
{
    l->next = NULL;
    pthread_mutex_lock(&mu);
    *tail = l;
    tail = &l->next;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

void
api_lookup_stop(void)
{
    if (!started)
        return;
    pthread_mutex_lock(&mu);
    stopping = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    started = 0;
}
