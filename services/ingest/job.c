/*
 * One stream loaded into PostgreSQL. The calling thread reads and parses
 * the stream into chunks; INGEST_LOADERS loader threads, each with its own
 * connection, commit one chunk per transaction and then notify the first
 * stage. Chunks take their batch ids in stream order (a later chunk always
 * has a larger id, which the staged identity rule relies on) even though
 * two loaders may commit them in either order. A fixed pool of chunks
 * bounds the memory: parsing overlaps loading, never outruns it.
 */
#include "ingest.h"
#include "metrics.h"

#include "mf_amqp.h"
#include "mf_log.h"
#include "mf_pg.h"
#include "mf_sig.h"
#include "mf_time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIN_SIZE (INGEST_RECORD_MAX + 1024 * 1024)
#define NCHUNKS  (INGEST_QUEUE_CHUNKS + INGEST_LOADERS)

_Atomic long long ingest_progress_records;

struct job;

/* One loader thread and its connections. */
struct loader {
    struct job *j;
    pthread_t th;
    struct mf_pg *pg;
    struct mf_amqp *amqp;
    int64_t amqp_next_ms;
    int amqp_backoff_ms;
};

struct job {
    const struct job_opts *o;
    struct job_result *res;
    char stream[1024 + 16];
    char ctx[128];

    /* the chunk pool: free ones, and full ones waiting for the loader */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct chunk chunks[NCHUNKS];
    struct chunk *free_list[NCHUNKS];
    int nfree;
    struct chunk *queue[NCHUNKS];
    int qhead, qlen;
    bool parsing_done;  /* no more chunks will be queued */
    bool loader_failed; /* a loader gave up: stop parsing */
    int64_t next_seq;   /* the parser's next chunk number */
    int64_t numbered;   /* chunks below this have their batch ids */

    /* parser state */
    struct input *in;
    unsigned char *win;
    size_t start, end;
    uint64_t base; /* stream offset of win[0] */
    bool eof;
    int64_t ord;
    struct chunk *cur;
    struct mf_record rec;
    char perr[512]; /* the parser's error */

    struct loader loaders[INGEST_LOADERS];
};

/* ---- the queue ----------------------------------------------------------- */

/* A free chunk for the parser, or NULL when the loader has failed. */
static struct chunk *
take_free(struct job *j)
{
    struct chunk *c = NULL;
    pthread_mutex_lock(&j->mu);
    while (j->nfree == 0 && !j->loader_failed)
        pthread_cond_wait(&j->cv, &j->mu);
    if (!j->loader_failed)
        c = j->free_list[--j->nfree];
    pthread_mutex_unlock(&j->mu);
    if (c != NULL)
        chunk_reset(c);
    return c;
}

static void
push_full(struct job *j, struct chunk *c)
{
    pthread_mutex_lock(&j->mu);
    c->seq = j->next_seq++;
    j->queue[(j->qhead + j->qlen) % NCHUNKS] = c;
    j->qlen++;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* The next chunk to load, or NULL when parsing is over and none is left. */
static struct chunk *
pop_full(struct job *j)
{
    struct chunk *c = NULL;
    pthread_mutex_lock(&j->mu);
    while (j->qlen == 0 && !j->parsing_done)
        pthread_cond_wait(&j->cv, &j->mu);
    if (j->qlen > 0) {
        c = j->queue[j->qhead];
        j->qhead = (j->qhead + 1) % NCHUNKS;
        j->qlen--;
    }
    pthread_mutex_unlock(&j->mu);
    return c;
}

static void
give_back(struct job *j, struct chunk *c, bool failed)
{
    pthread_mutex_lock(&j->mu);
    j->free_list[j->nfree++] = c;
    if (failed)
        j->loader_failed = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* ---- the loaders --------------------------------------------------------- */

static const char *const raw_copy[3] = {
    "COPY rejected_record (kind, stream, ordinal, byte_offset, reason, text) "
    "FROM STDIN (FORMAT binary)",
    "COPY raw_ga (batch_id, ord, site, path, ts, users, sessions, views, "
    "bounces, duration_s) FROM STDIN (FORMAT binary)",
    "COPY raw_psi (batch_id, ord, site, path, ts, performance_score, lcp_ms, "
    "cls, inp_ms, fcp_ms, ttfb_ms) FROM STDIN (FORMAT binary)",
};

static int
copy_rows(struct loader *l, struct chunk *c, int which, long long want)
{
    long long rows = -1;
    int rc;

    if ((rc = mf_pg_copy_begin(l->pg, raw_copy[which])) != MF_PG_OK)
        return rc;
    if ((rc = mf_pg_copy_put(l->pg, copy_header, sizeof(copy_header))) ||
        (rc = mf_pg_copy_put(l->pg, c->rows[which].p, c->rows[which].len)) ||
        (rc = mf_pg_copy_put(l->pg, copy_trailer, sizeof(copy_trailer)))) {
        mf_pg_copy_abort(l->pg, "ingest could not send its rows");
        return rc;
    }
    if ((rc = mf_pg_copy_end(l->pg, &rows)) != MF_PG_OK)
        return rc;
    if (rows != want) {
        mf_error("COPY stored an unexpected number of rows",
                 "table=%d rows=%lld expected=%lld", which, rows, want);
        return MF_PG_ERR;
    }
    return MF_PG_OK;
}

static bool
has_kind(const struct chunk *c, int k)
{
    return c->accepted[k] + c->rejected[k] > 0;
}

/*
 * Gives the chunk its batch ids, in stream order: waits until every
 * earlier chunk has its ids, then takes the next values of the batch
 * sequence (outside any transaction, so a retried chunk keeps its ids).
 */
static int
number_chunk(struct loader *l, struct chunk *c)
{
    struct job *j = l->j;
    struct mf_pg_res *r = NULL;
    int rc = MF_PG_OK;

    if (c->numbered)
        return MF_PG_OK;
    pthread_mutex_lock(&j->mu);
    while (j->numbered != c->seq && !j->loader_failed)
        pthread_cond_wait(&j->cv, &j->mu);
    bool failed = j->loader_failed;
    pthread_mutex_unlock(&j->mu);
    if (failed)
        return MF_PG_ERR;
    for (int k = MF_RECORD_GA; k <= MF_RECORD_PSI && rc == MF_PG_OK; k++) {
        if (!has_kind(c, k))
            continue;
        rc = mf_pg_query(l->pg,
                         "SELECT nextval(pg_get_serial_sequence("
                         "'ingest_batch', 'batch_id'))",
                         0, NULL, &r);
        if (rc == MF_PG_OK) {
            chunk_set_batch(c, k, strtoll(mf_pg_res_value(r, 0, 0), NULL, 10));
            mf_pg_res_free(r);
        }
    }
    if (rc != MF_PG_OK)
        return rc;
    c->numbered = true;
    pthread_mutex_lock(&j->mu);
    j->numbered++;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return MF_PG_OK;
}

static int
insert_batch(struct loader *l, struct chunk *c, int kind)
{
    char id[24], first[24], acc[16], rej[16];
    const char *params[6] = {
        id, mf_record_kind_name(kind), l->j->stream, first, acc, rej};

    snprintf(id, sizeof(id), "%lld", (long long)c->batch_id[kind]);
    snprintf(first, sizeof(first), "%lld", (long long)c->first_ord);
    snprintf(acc, sizeof(acc), "%u", c->accepted[kind]);
    snprintf(rej, sizeof(rej), "%u", c->rejected[kind]);
    return mf_pg_query(l->pg,
                       "INSERT INTO ingest_batch (batch_id, kind, stream, "
                       "first_ord, accepted, rejected) OVERRIDING SYSTEM "
                       "VALUE VALUES ($1, $2, $3, $4, $5, $6)",
                       6, params, NULL);
}

/* One transaction: the batches, their rows, the rejects, the pending work. */
static int
commit_chunk(struct loader *l, struct chunk *c)
{
    int rc;

    if ((rc = number_chunk(l, c)) != MF_PG_OK)
        return rc;
    if ((rc = mf_pg_exec(l->pg, "BEGIN")) != MF_PG_OK)
        return rc;
    for (int k = MF_RECORD_GA; k <= MF_RECORD_PSI; k++) {
        if (!has_kind(c, k))
            continue;
        if ((rc = insert_batch(l, c, k)) != MF_PG_OK)
            goto fail;
        if (c->accepted[k] > 0 &&
            (rc = copy_rows(l, c, k, c->accepted[k])) != MF_PG_OK)
            goto fail;
    }
    if (c->rows[ROWS_REJECTED].len > 0 &&
        (rc = copy_rows(l, c, ROWS_REJECTED,
                        c->rejected[0] + c->rejected[1] + c->rejected[2])) !=
            MF_PG_OK)
        goto fail;
    for (int k = MF_RECORD_GA; k <= MF_RECORD_PSI; k++) {
        if (c->accepted[k] == 0)
            continue;
        char id[24];
        const char *params[2] = {k == MF_RECORD_GA ? "stage-ga" : "stage-psi",
                                 id};
        snprintf(id, sizeof(id), "%lld", (long long)c->batch_id[k]);
        rc = mf_pg_query(l->pg,
                         "INSERT INTO pending_batch (stage, batch_id) "
                         "VALUES ($1, $2)",
                         2, params, NULL);
        if (rc != MF_PG_OK)
            goto fail;
    }
    return mf_pg_exec(l->pg, "COMMIT");
fail:
    if (rc != MF_PG_CONN_LOST)
        mf_pg_exec(l->pg, "ROLLBACK");
    return rc;
}

/* Connects or reconnects with backoff until it works or a stop is asked.
 * A first connection that fails is fatal unless wait_for_db is set. */
static int
pg_ready(struct loader *l)
{
    struct job *j = l->j;
    char err[512];
    long delay = 100;

    for (;;) {
        if (l->pg == NULL) {
            if (mf_pg_connect(j->o->pg_url, "metriflow-ingest", &l->pg, err,
                              sizeof(err)) == MF_PG_OK)
                return 0;
            l->pg = NULL;
            if (!j->o->wait_for_db) {
                pthread_mutex_lock(&j->mu);
                if (j->res->error[0] == '\0')
                    snprintf(j->res->error, sizeof(j->res->error), "%s", err);
                pthread_mutex_unlock(&j->mu);
                return -1;
            }
        } else if (mf_pg_reconnect(l->pg, NULL) == MF_PG_OK) {
            ingest_metrics_reconnect(INGEST_PG);
            return 0;
        } else {
            snprintf(err, sizeof(err), "%s", mf_pg_error(l->pg));
        }
        mf_warn("cannot reach PostgreSQL; retrying", "delay_ms=%ld error=%s",
                delay, err);
        for (long waited = 0; waited < delay; waited += 100) {
            if (mf_sig_stop_requested())
                return -1;
            mf_time_sleep_ms(100);
        }
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
}

static void
amqp_backoff(struct loader *l, int first_ms)
{
    int d = l->amqp_backoff_ms ? l->amqp_backoff_ms * 2 : first_ms;
    l->amqp_backoff_ms = d > 30000 ? 30000 : d;
    l->amqp_next_ms = mf_time_mono_ms() + l->amqp_backoff_ms;
}

/* Tells the first stage about a committed batch. Best effort: the
 * pending_batch row guarantees the work whatever happens here. */
static void
notify(struct loader *l, int kind, int64_t batch_id)
{
    const char *stage = kind == MF_RECORD_GA ? "stage-ga" : "stage-psi";
    char body[64], err[512];
    int n = snprintf(body, sizeof(body), "{\"batch_id\":%lld}",
                     (long long)batch_id);

    if (l->amqp == NULL) {
        if (mf_time_mono_ms() < l->amqp_next_ms) {
            ingest_metrics_notified(0);
            return;
        }
        if (mf_amqp_connect(l->j->o->amqp_url, &l->amqp, err, sizeof(err)) !=
            MF_AMQP_OK) {
            l->amqp = NULL;
            amqp_backoff(l, 500);
            mf_warn("cannot reach RabbitMQ; the batch waits for the sweep",
                    "batch=%lld retry_ms=%d error=%s", (long long)batch_id,
                    l->amqp_backoff_ms, err);
            ingest_metrics_notified(0);
            return;
        }
        if (l->amqp_backoff_ms > 0) /* connected after a loss or failure */
            ingest_metrics_reconnect(INGEST_AMQP);
    }
    if (mf_amqp_publish(l->amqp, stage, body, (size_t)n, 5000) != MF_AMQP_OK) {
        mf_warn("notification not confirmed; the batch waits for the sweep",
                "batch=%lld stage=%s error=%s", (long long)batch_id, stage,
                mf_amqp_error(l->amqp));
        mf_amqp_close(l->amqp);
        l->amqp = NULL;
        amqp_backoff(l, 500);
        ingest_metrics_notified(0);
        return;
    }
    l->amqp_backoff_ms = 0;
    ingest_metrics_notified(1);
}

static int
load_chunk(struct loader *l, struct chunk *c)
{
    struct job *j = l->j;
    int64_t t0 = mf_time_mono_ms(), t1;

    for (;;) {
        if ((l->pg == NULL || !mf_pg_alive(l->pg)) && pg_ready(l) != 0) {
            pthread_mutex_lock(&j->mu);
            if (j->res->error[0] == '\0')
                snprintf(j->res->error, sizeof(j->res->error),
                         "stopped while PostgreSQL was unreachable");
            pthread_mutex_unlock(&j->mu);
            return -1;
        }
        int rc = commit_chunk(l, c);
        if (rc == MF_PG_OK)
            break;
        if (rc != MF_PG_CONN_LOST) {
            pthread_mutex_lock(&j->mu);
            if (j->res->error[0] == '\0')
                snprintf(j->res->error, sizeof(j->res->error),
                         "the chunk could not be stored: %s",
                         mf_pg_error(l->pg));
            pthread_mutex_unlock(&j->mu);
            return -1;
        }
        mf_warn("lost PostgreSQL during a chunk; retrying it",
                "first_ord=%lld error=%s", (long long)c->first_ord,
                mf_pg_error(l->pg));
    }
    t1 = mf_time_mono_ms();
    ingest_metrics_chunk(c->accepted, c->rejected, (double)(t1 - t0) / 1000.0);
    pthread_mutex_lock(&j->mu);
    j->res->accepted += c->accepted[1] + c->accepted[2];
    j->res->rejected += c->rejected[0] + c->rejected[1] + c->rejected[2];
    pthread_mutex_unlock(&j->mu);
    for (int k = MF_RECORD_GA; k <= MF_RECORD_PSI; k++)
        if (c->accepted[k] > 0)
            notify(l, k, c->batch_id[k]);
    mf_debug("chunk committed",
             "first_ord=%lld records=%u ga_batch=%lld psi_batch=%lld "
             "commit_ms=%lld notify_ms=%lld",
             (long long)c->first_ord, c->records, (long long)c->batch_id[1],
             (long long)c->batch_id[2], (long long)(t1 - t0),
             (long long)(mf_time_mono_ms() - t1));
    return 0;
}

static void *
loader_main(void *arg)
{
    struct loader *l = arg;
    struct job *j = l->j;
    struct chunk *c;
    bool failed = false;

    mf_log_set_context(j->ctx);
    /* Connect while the parser fills the first chunk. */
    if (pg_ready(l) != 0) {
        failed = true;
        pthread_mutex_lock(&j->mu);
        j->res->failed = true;
        j->loader_failed = true;
        pthread_cond_broadcast(&j->cv);
        pthread_mutex_unlock(&j->mu);
    }
    while ((c = pop_full(j)) != NULL) {
        if (!failed && load_chunk(l, c) != 0) {
            failed = true;
            pthread_mutex_lock(&j->mu);
            j->res->failed = true;
            pthread_mutex_unlock(&j->mu);
            mf_error("loading stopped", "error=%s", j->res->error);
        }
        give_back(j, c, failed);
    }
    return NULL;
}

/* ---- the parser ---------------------------------------------------------- */

/* Queues the current chunk for the loaders. */
static void
send_chunk(struct job *j)
{
    ingest_progress_records += j->cur->records;
    ingest_metrics_read(j->cur->records);
    push_full(j, j->cur);
    j->cur = NULL;
}

static int
ensure_chunk(struct job *j)
{
    if (j->cur != NULL && chunk_full(j->cur))
        send_chunk(j);
    if (j->cur == NULL && (j->cur = take_free(j)) == NULL)
        return -1;
    return 0;
}

static int
emit_record(struct job *j)
{
    if (ensure_chunk(j) != 0)
        return -1;
    j->res->records++;
    if (chunk_add_record(j->cur, &j->rec, j->ord) != 0) {
        snprintf(j->perr, sizeof(j->perr), "out of memory");
        return -1;
    }
    return 0;
}

static int
emit_reject(struct job *j, enum mf_record_kind kind, uint64_t offset,
            const char *reason, const unsigned char *text, size_t len)
{
    if (ensure_chunk(j) != 0)
        return -1;
    j->res->records++;
    if (chunk_add_reject(j->cur, kind, j->stream, j->ord, offset, reason,
                         (const char *)text, len) != 0) {
        snprintf(j->perr, sizeof(j->perr), "out of memory");
        return -1;
    }
    return 0;
}

static int
emit_syntax(struct job *j, uint64_t at, const char *why, size_t text_pos,
            size_t text_len)
{
    char reason[INGEST_REASON_MAX];
    snprintf(reason, sizeof(reason), "syntax error at byte %llu: %s",
             (unsigned long long)at, why);
    return emit_reject(j, j->o->forced, j->base + text_pos, reason,
                       j->win + text_pos, text_len);
}

/* Reads more input after what is buffered. Returns bytes read, 0 at the
 * end of the stream, -1 on a read error (res->error set). */
static long
refill(struct job *j)
{
    if (j->eof)
        return 0;
    if (j->start > 0 && (j->start == j->end || WIN_SIZE - j->end < 65536)) {
        memmove(j->win, j->win + j->start, j->end - j->start);
        j->base += j->start;
        j->end -= j->start;
        j->start = 0;
    }
    long r = input_read(j->in, j->win + j->end, WIN_SIZE - j->end, j->perr,
                        sizeof(j->perr));
    if (r < 0)
        return -1;
    if (r == 0)
        j->eof = true;
    j->end += (size_t)r;
    j->res->bytes += (uint64_t)r;
    return r;
}

static bool
is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Skips whitespace, reading more as needed. Returns 1 when a byte is
 * there, 0 at the end of the stream, -1 on a read error. */
static int
next_byte(struct job *j)
{
    for (;;) {
        while (j->start < j->end && is_ws(j->win[j->start]))
            j->start++;
        if (j->start < j->end)
            return 1;
        long r = refill(j);
        if (r <= 0)
            return (int)r;
    }
}

/* One NDJSON line [s, e): blank, a record, or a rejected one. */
static int
ndjson_line(struct job *j, size_t s, size_t e)
{
    struct mf_record_err err;
    size_t used = 0;

    while (s < e && is_ws(j->win[s]))
        s++;
    if (s == e)
        return 0;
    j->ord++;
    int rc = mf_record_parse((const char *)j->win + s, e - s, j->base + s, 1,
                             j->o->forced, &j->rec, &used, &err);
    if (rc >= 0) {
        size_t q = s + used;
        while (q < e && is_ws(j->win[q]))
            q++;
        if (q < e)
            return emit_syntax(j, j->base + q,
                               "unexpected data after the record", s, e - s);
    }
    if (rc == MF_RECORD_OK)
        return emit_record(j);
    if (rc == MF_RECORD_REJECT)
        return emit_reject(j, err.kind, j->base + s, err.why, j->win + s,
                           e - s);
    return emit_syntax(j, err.offset, err.why, s, e - s);
}

/* A line longer than INGEST_RECORD_MAX: rejected, then skipped. */
static int
ndjson_overlong(struct job *j)
{
    j->ord++;
    if (emit_reject(j, j->o->forced, j->base + j->start,
                    "the record is longer than 1 MiB", j->win + j->start,
                    INGEST_REJECT_TEXT) != 0)
        return -1;
    for (;;) {
        unsigned char *nl = memchr(j->win + j->start, '\n', j->end - j->start);
        if (nl != NULL) {
            j->start = (size_t)(nl - j->win) + 1;
            return 0;
        }
        j->start = j->end;
        long r = refill(j);
        if (r <= 0)
            return (int)r;
    }
}

static int
parse_ndjson(struct job *j)
{
    for (;;) {
        if (mf_sig_stop_requested())
            return 1;
        unsigned char *nl = memchr(j->win + j->start, '\n', j->end - j->start);
        size_t e;
        if (nl == NULL && !j->eof) {
            if (j->end - j->start >= INGEST_RECORD_MAX) {
                if (ndjson_overlong(j) != 0)
                    return -1;
                continue;
            }
            if (refill(j) < 0)
                return -1;
            continue;
        }
        if (nl == NULL && j->start == j->end)
            return 0;
        e = nl ? (size_t)(nl - j->win) : j->end;
        if (ndjson_line(j, j->start, e) != 0)
            return -1;
        j->start = nl ? e + 1 : e;
    }
}

/* A syntax error in an array ends the stream (records.md). */
static int
array_error(struct job *j, uint64_t at, const char *why)
{
    j->ord++;
    j->res->syntax_end = true;
    size_t len = j->end - j->start;
    if (emit_syntax(j, at, why, j->start,
                    len > INGEST_REJECT_TEXT ? INGEST_REJECT_TEXT : len) != 0)
        return -1;
    snprintf(j->perr, sizeof(j->perr),
             "syntax error at byte %llu: %s; the rest of the stream was not "
             "read",
             (unsigned long long)at, why);
    return 1;
}

/* One array element at j->start: parsed, refilling until it is whole. */
static int
array_element(struct job *j)
{
    struct mf_record_err err;
    size_t used = 0;
    int rc;

    for (;;) {
        rc = mf_record_parse((const char *)j->win + j->start, j->end - j->start,
                             j->base + j->start, j->eof, j->o->forced, &j->rec,
                             &used, &err);
        if (rc != MF_RECORD_MORE)
            break;
        if (j->end - j->start >= INGEST_RECORD_MAX)
            return array_error(j, j->base + j->start,
                               "a record is longer than 1 MiB");
        if (refill(j) < 0)
            return -1;
    }
    if (rc == MF_RECORD_SYNTAX)
        return array_error(j, err.offset, err.why);
    j->ord++;
    if (rc == MF_RECORD_OK)
        rc = emit_record(j);
    else
        rc = emit_reject(j, err.kind, j->base + j->start, err.why,
                         j->win + j->start, used);
    j->start += used;
    return rc;
}

static int
parse_array(struct job *j)
{
    bool first = true;
    int rc;

    j->start++; /* '[' */
    for (;;) {
        if (!first && mf_sig_stop_requested())
            return 1;
        if ((rc = next_byte(j)) < 0)
            return -1;
        if (rc == 0)
            return array_error(j, j->base + j->end,
                               "the input ends inside the array");
        unsigned char c = j->win[j->start];
        if (c == ']') {
            j->start++;
            break;
        }
        if (!first) {
            if (c != ',')
                return array_error(j, j->base + j->start,
                                   "expected ',' or ']' after an element");
            j->start++;
            if ((rc = next_byte(j)) < 0)
                return -1;
            if (rc == 0)
                return array_error(j, j->base + j->end,
                                   "the input ends inside the array");
        }
        first = false;
        if ((rc = array_element(j)) != 0)
            return rc;
    }
    /* Only whitespace may follow the array. */
    if ((rc = next_byte(j)) < 0)
        return -1;
    if (rc == 1)
        return array_error(j, j->base + j->start,
                           "unexpected data after the array");
    return 0;
}

/* Detects the framing and parses the whole stream. Returns 0 at its end,
 * 1 when it stopped early (stop request or array syntax error), -1 on a
 * fatal error. */
static int
parse_stream(struct job *j)
{
    int rc = next_byte(j);
    if (rc <= 0)
        return rc;
    /* a UTF-8 byte order mark is not content */
    if (j->end - j->start >= 3 &&
        memcmp(j->win + j->start, "\xef\xbb\xbf", 3) == 0) {
        j->start += 3;
        if ((rc = next_byte(j)) <= 0)
            return rc;
    }
    return j->win[j->start] == '[' ? parse_array(j) : parse_ndjson(j);
}

/* ---- the job ------------------------------------------------------------- */

static int
job_init(struct job *j, const char *path, const struct job_opts *o,
         struct job_result *res)
{
    memset(j, 0, sizeof(*j));
    j->o = o;
    j->res = res;
    utf8_sanitise(path, strnlen(path, 1024), j->stream, sizeof(j->stream));
    snprintf(j->ctx, sizeof(j->ctx), "stream=%.100s", j->stream);
    for (size_t i = 0; i < sizeof(j->ctx); i++)
        if (j->ctx[i] == ' ' || j->ctx[i] == '"')
            j->ctx[i] = '_';
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    for (int i = 0; i < NCHUNKS; i++)
        j->free_list[j->nfree++] = &j->chunks[i];
    j->win = malloc(WIN_SIZE);
    if (j->win == NULL) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        return -1;
    }
    return 0;
}

static void
job_cleanup(struct job *j)
{
    for (int i = 0; i < NCHUNKS; i++)
        chunk_free(&j->chunks[i]);
    free(j->win);
    input_close(j->in);
    for (int i = 0; i < INGEST_LOADERS; i++) {
        mf_pg_close(j->loaders[i].pg);
        mf_amqp_close(j->loaders[i].amqp);
    }
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
}

void
job_run(const char *path, const struct job_opts *o, struct job_result *res)
{
    struct job *j = malloc(sizeof(*j));
    int rc = -1;

    memset(res, 0, sizeof(*res));
    if (j == NULL || job_init(j, path, o, res) != 0) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        res->failed = true;
        free(j);
        return;
    }
    mf_log_set_context(j->ctx);
    if (input_open(path, &j->in, res->error, sizeof(res->error)) != 0) {
        res->failed = true;
        goto out;
    }
    int started = 0;
    for (int i = 0; i < INGEST_LOADERS; i++) {
        j->loaders[i].j = j;
        if (pthread_create(&j->loaders[i].th, NULL, loader_main,
                           &j->loaders[i]) != 0)
            break;
        started++;
    }
    if (started > 0)
        rc = parse_stream(j);
    else
        snprintf(j->perr, sizeof(j->perr), "cannot start a thread");
    /* The chunk in hand goes to the loaders; then they drain the queue. */
    if (j->cur != NULL && j->cur->records > 0)
        send_chunk(j);
    else if (j->cur != NULL)
        give_back(j, j->cur, false);
    j->cur = NULL;
    pthread_mutex_lock(&j->mu);
    j->parsing_done = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    for (int i = 0; i < started; i++)
        pthread_join(j->loaders[i].th, NULL);

    if (started == 0 || rc < 0)
        res->failed = true;
    else if (rc == 1 && !res->syntax_end)
        res->stopped = true;
    if (res->error[0] == '\0')
        snprintf(res->error, sizeof(res->error), "%s", j->perr);
    res->complete = rc == 0 && !res->failed;
out:
    mf_log_set_context(NULL);
    job_cleanup(j);
    free(j);
}
