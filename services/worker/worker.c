/*
 * The worker loop.
 *
 * Messages only say "there is work"; the work itself is pending in
 * PostgreSQL. So a batch of messages is handled by draining the stage
 * (mf_stage_run until it returns 0, each call its own transaction), then
 * notifying the next stage once, then acknowledging every message of the
 * batch with one multiple ack. A message that cannot be handled goes back
 * to its queue with an incremented attempt count, and after max_attempts
 * to mf.dead with its error. The sweep drains the stage every sweep_s
 * seconds even without messages, which recovers work whose message was
 * lost. On a lost link the batch is dropped unacknowledged: the broker
 * redelivers it, and a redelivered message finds its work already done.
 *
 * With coalesce_s > 0 a drain first asks mf_stage_should_wait: while an
 * earlier stage still has work pending (that will mark this stage's keys
 * again) and this stage's oldest pending unit is younger than coalesce_s,
 * the drain does nothing, the messages are acknowledged (the work stays
 * recorded in PostgreSQL) and the worker asks again within 200 ms.
 */
#include "worker.h"

#include "metrics.h"
#include "mf_amqp.h"
#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_pg.h"
#include "mf_sig.h"
#include "mf_time.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIRM_TIMEOUT_MS 10000
#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     5000
#define RETRY_CONFLICTS    20 /* deadlock / serialization retries per call */
#define ERR_MAX            512
#define NOTICE_EVERY_MS    1000 /* notices during a long drain, at most */
#define RECHECK_MS         200  /* asking again while coalescing */

/* One message of a batch and what became of it. */
struct item {
    struct mf_amqp_msg m;
    char err[ERR_MAX]; /* "" while the message is fine */
    int nacked;        /* handed back with a nack (not to be acked) */
};

struct worker {
    const struct worker_config *cfg;
    const char *next;
    struct mf_pg *pg;
    struct mf_amqp *amqp;
    struct item *items; /* the batch in hand, cap cfg->prefetch */
    int nitems;
    long long owed_units;   /* done but not yet announced to the next stage */
    int64_t last_notice_ms; /* when the last notice was confirmed */
    int fail_delay_ms;      /* pause after a failed stage run, doubling */
    int64_t next_sweep_ms;
    int waiting; /* the last drain coalesced: ask again within RECHECK_MS */
    uint64_t batches;
};

/* Prometheus counters of this worker (labelled with the stage). */
static struct {
    struct mf_metric *messages, *units, *calls, *conflicts, *failed, *dead,
        *notices, *sweeps, *waits, *pg_reconnects, *amqp_reconnects,
        *call_seconds;
} metric;

static void
register_metrics(const char *stage)
{
    char l[64];

    snprintf(l, sizeof(l), "stage=\"%s\"", stage);
    metric.messages =
        mf_metrics_counter("mf_worker_messages_total", l, "Messages received");
    metric.units = mf_metrics_counter("mf_worker_units_total", l,
                                      "Work units the stage processed");
    metric.calls = mf_metrics_counter("mf_worker_stage_calls_total", l,
                                      "Committed mf_stage_run calls");
    metric.conflicts =
        mf_metrics_counter("mf_worker_conflicts_total", l,
                           "Stage calls retried after 40P01 or 40001");
    metric.failed = mf_metrics_counter("mf_worker_failed_messages_total", l,
                                       "Messages handed back for a retry");
    metric.dead = mf_metrics_counter("mf_worker_dead_letters_total", l,
                                     "Messages sent to mf.dead");
    metric.notices = mf_metrics_counter("mf_worker_notices_total", l,
                                        "Confirmed notices to the next stage");
    metric.sweeps = mf_metrics_counter("mf_worker_sweeps_total", l,
                                       "Sweeps (drains without a message)");
    metric.waits = mf_metrics_counter(
        "mf_worker_coalesce_waits_total", l,
        "Drains postponed while an earlier stage had work pending");
    metric.pg_reconnects =
        mf_metrics_counter("mf_worker_pg_reconnects_total", l,
                           "Successful PostgreSQL (re)connections");
    metric.amqp_reconnects =
        mf_metrics_counter("mf_worker_amqp_reconnects_total", l,
                           "Successful RabbitMQ (re)connections");
    metric.call_seconds = mf_metrics_histogram(
        "mf_worker_stage_call_seconds", l, "Duration of mf_stage_run calls");
}

/* Result of draining the stage. */
enum drain {
    DRAIN_DONE,    /* the stage returned 0: no pending work left */
    DRAIN_STOPPED, /* a stop was requested between two calls */
    DRAIN_FAILED,  /* the stage raised an error (in err) */
    DRAIN_PG_LOST, /* the PostgreSQL connection went away */
};

static const char *const next_of[MF_AMQP_NSTAGES] = {
    "page", "page", "interval", "daily", "monthly", "yearly", NULL,
};

const char *
worker_next_stage(const char *stage)
{
    for (int i = 0; i < MF_AMQP_NSTAGES; i++)
        if (strcmp(stage, mf_amqp_stages[i]) == 0)
            return next_of[i];
    return NULL;
}

int
worker_default_coalesce(const char *stage)
{
    return strcmp(stage, "monthly") == 0 || strcmp(stage, "yearly") == 0 ? 30
                                                                         : 0;
}

int
worker_default_batch(const char *stage)
{
    /* A raw batch is thousands of records; the other units are keys. */
    if (strcmp(stage, "stage-ga") == 0 || strcmp(stage, "stage-psi") == 0)
        return 8;
    return 2000;
}

static int
stopping(void)
{
    return mf_sig_stop_requested();
}

/*
 * Waits ms milliseconds in short slices, servicing the RabbitMQ link when
 * there is one (heartbeats; deliveries are kept), and returning early on a
 * stop request.
 */
static void
pause_ms(struct worker *w, int ms)
{
    int64_t end = mf_time_mono_ms() + ms;

    while (!stopping()) {
        int64_t left = end - mf_time_mono_ms();
        if (left <= 0)
            return;
        int slice = left > 100 ? 100 : (int)left;
        if (w->amqp != NULL && mf_amqp_poll(w->amqp, slice) == MF_AMQP_OK)
            continue;
        mf_time_sleep_ms(slice);
    }
}

static void
backoff(struct worker *w, int *delay_ms)
{
    pause_ms(w, *delay_ms);
    *delay_ms = *delay_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *delay_ms * 2;
}

/* --- connections -----------------------------------------------------------
 */

/* Connects or reconnects PostgreSQL. Returns 0, or -1 on a stop request. */
static int
ensure_pg(struct worker *w)
{
    char err[512] = "", q[160], app[64];
    int delay = BACKOFF_MIN_MS, failures = 0;

    /* The stage in application_name: pg_stat_activity tells operators
     * which backend works for which stage. */
    snprintf(app, sizeof(app), "metriflow-worker/%s", w->cfg->stage);
    while (w->pg == NULL || !mf_pg_alive(w->pg)) {
        if (stopping())
            return -1;
        int rc;
        if (w->pg == NULL) {
            rc = mf_pg_connect(w->cfg->pg_url, app, &w->pg, err, sizeof(err));
        } else {
            rc = mf_pg_reconnect(w->pg, NULL);
            snprintf(err, sizeof(err), "%s", mf_pg_error(w->pg));
        }
        if (rc == MF_PG_OK) {
            mf_metrics_add(metric.pg_reconnects, 1);
            mf_info("connected to PostgreSQL", "after_failures=%d", failures);
            return 0;
        }
        failures++;
        mf_warn("cannot connect to PostgreSQL; retrying",
                "error=%s retry_ms=%d", mf_log_q(q, sizeof(q), err), delay);
        backoff(w, &delay);
    }
    return 0;
}

/* Connects or reconnects RabbitMQ and the consumer. 0, or -1 on a stop. */
static int
ensure_amqp(struct worker *w)
{
    char err[512] = "", q[160];
    int delay = BACKOFF_MIN_MS, failures = 0;

    while (w->amqp == NULL || !mf_amqp_alive(w->amqp)) {
        if (stopping())
            return -1;
        int rc;
        if (w->amqp == NULL) {
            rc = mf_amqp_connect(w->cfg->amqp_url, &w->amqp, err, sizeof(err));
            if (rc == MF_AMQP_OK) {
                rc = mf_amqp_consume(w->amqp, w->cfg->stage, w->cfg->prefetch);
                snprintf(err, sizeof(err), "%s", mf_amqp_error(w->amqp));
                if (rc != MF_AMQP_OK) {
                    mf_amqp_close(w->amqp);
                    w->amqp = NULL;
                }
            }
        } else {
            rc = mf_amqp_reconnect(w->amqp, NULL);
            snprintf(err, sizeof(err), "%s", mf_amqp_error(w->amqp));
        }
        if (rc == MF_AMQP_OK) {
            mf_metrics_add(metric.amqp_reconnects, 1);
            mf_info("connected to RabbitMQ",
                    "queue=mf.%s prefetch=%d "
                    "after_failures=%d",
                    w->cfg->stage, w->cfg->prefetch, failures);
            return 0;
        }
        failures++;
        mf_warn("cannot connect to RabbitMQ; retrying", "error=%s retry_ms=%d",
                mf_log_q(q, sizeof(q), err), delay);
        backoff(w, &delay);
    }
    return 0;
}

/* Frees the batch in hand without acknowledging it. */
static void
drop_batch(struct worker *w)
{
    for (int i = 0; i < w->nitems; i++)
        mf_amqp_msg_free(&w->items[i].m);
    w->nitems = 0;
}

static void
amqp_lost(struct worker *w)
{
    char q[160];

    mf_warn("lost the RabbitMQ connection; unacknowledged messages will be "
            "redelivered",
            "error=%s held=%d", mf_log_q(q, sizeof(q), mf_amqp_error(w->amqp)),
            w->nitems);
    drop_batch(w);
}

/* --- the stage -------------------------------------------------------------
 */

static int
is_conflict(const char *sqlstate)
{
    return strcmp(sqlstate, "40P01") == 0 || strcmp(sqlstate, "40001") == 0;
}

/*
 * One call of the stage in its own transaction. Returns MF_PG_OK with the
 * units done in *units, or the mf_pg code with the error in err.
 */
static int
stage_call(struct worker *w, long long *units, char *err, size_t errlen)
{
    char max[16];
    struct mf_pg_res *res = NULL;

    snprintf(max, sizeof(max), "%d", w->cfg->batch);
    const char *params[] = {w->cfg->stage, max};
    int rc = mf_pg_exec(w->pg, "BEGIN ISOLATION LEVEL READ COMMITTED");
    if (rc == MF_PG_OK)
        rc = mf_pg_query(w->pg, "SELECT mf_stage_run($1, $2::integer)", 2,
                         params, &res);
    if (rc == MF_PG_OK) {
        const char *v = mf_pg_res_rows(res) == 1 && mf_pg_res_cols(res) == 1
                            ? mf_pg_res_value(res, 0, 0)
                            : NULL;
        char *end = NULL;
        *units = v ? strtoll(v, &end, 10) : -1;
        int bad = v == NULL || *end != '\0' || *units < 0;
        mf_pg_res_free(res);
        if (bad) {
            snprintf(err, errlen, "mf_stage_run returned no unit count");
            mf_pg_exec(w->pg, "ROLLBACK");
            return MF_PG_ERR;
        }
        rc = mf_pg_exec(w->pg, "COMMIT");
    }
    if (rc != MF_PG_OK) {
        snprintf(err, errlen, "%s", mf_pg_error(w->pg));
        if (rc == MF_PG_ERR)
            mf_pg_exec(w->pg, "ROLLBACK");
    }
    return rc;
}

/* One call, retried on deadlocks and serialization failures. */
static int
stage_call_retry(struct worker *w, long long *units, char *err, size_t errlen)
{
    int delay = 10;

    for (int attempt = 1;; attempt++) {
        int64_t t0 = mf_time_mono_ms();
        int rc = stage_call(w, units, err, errlen);
        if (rc == MF_PG_OK) {
            mf_metrics_add(metric.calls, 1);
            worker_metrics_run(*units);
            mf_metrics_add(metric.units, *units);
            mf_metrics_observe(metric.call_seconds,
                               (double)(mf_time_mono_ms() - t0) / 1000.0);
        }
        if (rc != MF_PG_ERR || !is_conflict(mf_pg_sqlstate(w->pg)) ||
            attempt >= RETRY_CONFLICTS)
            return rc;
        mf_metrics_add(metric.conflicts, 1);
        mf_info("stage call conflicted with another worker; retrying",
                "sqlstate=%s attempt=%d", mf_pg_sqlstate(w->pg), attempt);
        pause_ms(w, delay + rand() % delay);
        delay = delay * 2 > 1000 ? 1000 : delay * 2;
    }
}

/*
 * Asks whether the stage should wait for earlier stages (see the top of
 * the file). Sets *wait to 1 or 0; returns MF_PG_OK or the mf_pg code with
 * the error in err.
 */
static int
should_wait(struct worker *w, int *wait, char *err, size_t errlen)
{
    char max[16];
    struct mf_pg_res *res = NULL;

    *wait = 0;
    snprintf(max, sizeof(max), "%d", w->cfg->coalesce_s);
    const char *params[] = {w->cfg->stage, max};
    int rc = mf_pg_query(w->pg, "SELECT mf_stage_should_wait($1, $2::float8)",
                         2, params, &res);
    if (rc != MF_PG_OK) {
        snprintf(err, errlen, "%s", mf_pg_error(w->pg));
        return rc;
    }
    const char *v = mf_pg_res_rows(res) == 1 && mf_pg_res_cols(res) == 1
                        ? mf_pg_res_value(res, 0, 0)
                        : NULL;
    *wait = v != NULL && strcmp(v, "t") == 0;
    mf_pg_res_free(res);
    return MF_PG_OK;
}

static int notify_next(struct worker *w);

/*
 * Calls the stage until it reports no pending work. Adds the units done to
 * *units and the calls made to *calls, also on failure.
 */
static enum drain
drain(struct worker *w, long long *units, int *calls, char *err, size_t errlen)
{
    w->waiting = 0;
    if (w->cfg->coalesce_s > 0) {
        int rc = should_wait(w, &w->waiting, err, errlen);
        if (rc == MF_PG_CONN_LOST)
            return DRAIN_PG_LOST;
        if (rc != MF_PG_OK)
            return DRAIN_FAILED;
        if (w->waiting) {
            mf_metrics_add(metric.waits, 1);
            return DRAIN_DONE;
        }
    }
    for (;;) {
        long long n = 0;
        int rc = stage_call_retry(w, &n, err, errlen);
        if (rc == MF_PG_CONN_LOST)
            return DRAIN_PG_LOST;
        if (rc != MF_PG_OK)
            return DRAIN_FAILED;
        (*calls)++;
        *units += n;
        w->owed_units += n;
        if (n == 0)
            return DRAIN_DONE;
        if (stopping())
            return DRAIN_STOPPED;
        /* Keep the RabbitMQ link serviced during a long drain, and let the
         * next stage start on what committed (the stages pipeline instead
         * of waiting for each other's drains to end). */
        if (w->amqp != NULL && mf_amqp_poll(w->amqp, 0) == MF_AMQP_OK &&
            mf_time_mono_ms() - w->last_notice_ms >= NOTICE_EVERY_MS)
            notify_next(w);
    }
}

/*
 * Tells the next stage about the units done since the last notice. Kept
 * owed when the publish fails, and sent after the next reconnect; the
 * next stage's sweep finds the work meanwhile. Returns the mf_amqp code.
 */
static int
notify_next(struct worker *w)
{
    char body[160], q[160];

    if (w->owed_units == 0 || w->next == NULL) {
        w->owed_units = 0;
        return MF_AMQP_OK;
    }
    int n = snprintf(body, sizeof(body),
                     "{\"stage\":\"%s\",\"from\":\"%s\",\"units\":%lld}",
                     w->next, w->cfg->stage, w->owed_units);
    int rc =
        mf_amqp_publish(w->amqp, w->next, body, (size_t)n, CONFIRM_TIMEOUT_MS);
    if (rc == MF_AMQP_OK) {
        w->last_notice_ms = mf_time_mono_ms();
        mf_metrics_add(metric.notices, 1);
        mf_debug("notified the next stage", "next=%s units=%lld", w->next,
                 w->owed_units);
        w->owed_units = 0;
    } else {
        mf_warn("cannot notify the next stage; will retry", "next=%s error=%s",
                w->next, mf_log_q(q, sizeof(q), mf_amqp_error(w->amqp)));
    }
    return rc;
}

/* --- messages --------------------------------------------------------------
 */

/*
 * Checks a message body: a JSON object; a "stage" member, when present,
 * names this stage. Returns 0, or -1 with the reason in it->err.
 */
static int
check_body(struct worker *w, struct item *it)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)it->m.body, it->m.len, 0, &jerr);

    if (j == NULL || !json_is_object(j)) {
        snprintf(it->err, sizeof(it->err),
                 "message body is not a JSON object: %s",
                 j == NULL ? jerr.text : "another JSON value");
        json_decref(j);
        return -1;
    }
    json_t *stage = json_object_get(j, "stage");
    if (stage != NULL &&
        (!json_is_string(stage) ||
         strcmp(json_string_value(stage), w->cfg->stage) != 0)) {
        snprintf(it->err, sizeof(it->err),
                 "message is addressed to another stage: %.40s",
                 json_is_string(stage) ? json_string_value(stage)
                                       : "(not a string)");
        json_decref(j);
        return -1;
    }
    json_decref(j);
    return 0;
}

/*
 * Hands a failed message back for another attempt, or to mf.dead after
 * max_attempts. When the broker refuses the publish, the message is
 * rejected with requeue (the queue's delivery limit bounds that too).
 * Returns MF_AMQP_OK or MF_AMQP_CONN_LOST.
 */
static int
settle_failure(struct worker *w, struct item *it, uint64_t batch)
{
    char q[160], qb[160];
    int attempts = it->m.attempts + 1;
    int dead = attempts >= w->cfg->max_attempts;
    int rc;

    if (dead)
        rc = mf_amqp_dead(w->amqp, w->cfg->stage, it->m.body, it->m.len,
                          attempts, it->err, CONFIRM_TIMEOUT_MS);
    else
        rc = mf_amqp_retry(w->amqp, w->cfg->stage, it->m.body, it->m.len,
                           attempts, it->err, CONFIRM_TIMEOUT_MS);
    if (rc == MF_AMQP_CONN_LOST)
        return rc;
    if (rc != MF_AMQP_OK) {
        mf_warn("cannot hand a failed message back; rejecting it",
                "batch=%llu error=%s", (unsigned long long)batch,
                mf_log_q(q, sizeof(q), mf_amqp_error(w->amqp)));
        it->nacked = 1;
        return mf_amqp_nack(w->amqp, &it->m, 1) == MF_AMQP_CONN_LOST
                   ? MF_AMQP_CONN_LOST
                   : MF_AMQP_OK;
    }
    mf_metrics_add(dead ? metric.dead : metric.failed, 1);
    if (dead)
        mf_error("message dead-lettered",
                 "batch=%llu attempts=%d error=%s "
                 "body=%s",
                 (unsigned long long)batch, attempts,
                 mf_log_q(q, sizeof(q), it->err),
                 mf_log_q(qb, sizeof(qb), (const char *)it->m.body));
    else
        mf_warn("message failed; retrying", "batch=%llu attempts=%d error=%s",
                (unsigned long long)batch, attempts,
                mf_log_q(q, sizeof(q), it->err));
    return MF_AMQP_OK;
}

/* Acknowledges every message of the batch that was not rejected. */
static int
ack_batch(struct worker *w)
{
    int last = -1, n = 0;

    for (int i = 0; i < w->nitems; i++) {
        n += !w->items[i].nacked;
        if (!w->items[i].nacked &&
            (last < 0 || w->items[i].m.tag > w->items[last].m.tag))
            last = i;
    }
    if (last < 0)
        return MF_AMQP_OK;
    int rc = mf_amqp_ack(w->amqp, &w->items[last].m, 1);
    if (rc == MF_AMQP_OK)
        worker_metrics_acked(n);
    return rc;
}

/*
 * Drains the stage for the batch, retrying across PostgreSQL outages.
 * Returns the drain result; DRAIN_PG_LOST only when RabbitMQ went away
 * meanwhile or a stop was requested (the batch is then not to be acked).
 */
static enum drain
drain_for_batch(struct worker *w, long long *units, int *calls, char *err,
                size_t errlen)
{
    for (;;) {
        enum drain d = drain(w, units, calls, err, errlen);
        if (d != DRAIN_PG_LOST)
            return d;
        char q[160];
        mf_warn("lost the PostgreSQL connection; the batch waits",
                "error=%s held=%d", mf_log_q(q, sizeof(q), err), w->nitems);
        if (ensure_pg(w) != 0)
            return DRAIN_PG_LOST;
        if (mf_amqp_poll(w->amqp, 0) != MF_AMQP_OK)
            return DRAIN_PG_LOST;
    }
}

/*
 * Marks every message of the batch with the stage's error. A failing stage
 * fails every message alike, so the worker backs off (doubling up to 5 s)
 * before handing them back: a passing fault does not use up attempts.
 */
static void
fail_batch(struct worker *w, uint64_t batch, const char *err)
{
    char q[160];

    mf_error("stage run failed", "batch=%llu msgs=%d error=%s retry_ms=%d",
             (unsigned long long)batch, w->nitems, mf_log_q(q, sizeof(q), err),
             w->fail_delay_ms);
    for (int i = 0; i < w->nitems; i++)
        if (w->items[i].err[0] == '\0')
            snprintf(w->items[i].err, sizeof(w->items[i].err), "%s", err);
    backoff(w, &w->fail_delay_ms);
}

/* After a drain that coalesced, the next drain comes within RECHECK_MS. */
static void
recheck_soon(struct worker *w)
{
    int64_t at = mf_time_mono_ms() + RECHECK_MS;

    if (w->waiting && w->next_sweep_ms > at)
        w->next_sweep_ms = at;
}

/* Handles the batch in w->items; see the top of the file. */
static void
process_batch(struct worker *w)
{
    int64_t t0 = mf_time_mono_ms();
    long long units = 0;
    int calls = 0, valid = 0, failed = 0;
    char err[ERR_MAX] = "";
    uint64_t batch = ++w->batches;

    mf_metrics_add(metric.messages, w->nitems);
    for (int i = 0; i < w->nitems; i++)
        if (check_body(w, &w->items[i]) == 0)
            valid++;
    enum drain d = DRAIN_DONE;
    if (valid > 0)
        d = drain_for_batch(w, &units, &calls, err, sizeof(err));
    if (d == DRAIN_FAILED)
        fail_batch(w, batch, err);
    else if (valid > 0)
        w->fail_delay_ms = BACKOFF_MIN_MS;
    if (d == DRAIN_PG_LOST) {
        if (!mf_amqp_alive(w->amqp))
            amqp_lost(w);
        drop_batch(w);
        return;
    }
    if (notify_next(w) == MF_AMQP_CONN_LOST)
        goto lost;
    /* Stopped half way: the messages stay unacknowledged for another
     * worker; what committed is already announced. */
    if (d == DRAIN_STOPPED) {
        drop_batch(w);
        return;
    }
    for (int i = 0; i < w->nitems; i++) {
        if (w->items[i].err[0] == '\0')
            continue;
        failed++;
        if (settle_failure(w, &w->items[i], batch) == MF_AMQP_CONN_LOST)
            goto lost;
    }
    if (ack_batch(w) != MF_AMQP_OK)
        goto lost;
    w->next_sweep_ms = mf_time_mono_ms() + (int64_t)w->cfg->sweep_s * 1000;
    recheck_soon(w);
    mf_info("batch done",
            "batch=%llu msgs=%d units=%lld calls=%d failed=%d "
            "waiting=%d duration_ms=%lld",
            (unsigned long long)batch, w->nitems, units, calls, failed,
            w->waiting, (long long)(mf_time_mono_ms() - t0));
    drop_batch(w);
    return;
lost:
    amqp_lost(w);
}

/* Collects the first message and whatever else is already waiting. */
static int
collect_batch(struct worker *w, int timeout_ms)
{
    int rc = mf_amqp_next(w->amqp, &w->items[0].m, timeout_ms);
    if (rc != MF_AMQP_OK)
        return rc;
    w->nitems = 1;
    while (w->nitems < w->cfg->prefetch) {
        struct item *it = &w->items[w->nitems];
        memset(it, 0, sizeof(*it));
        rc = mf_amqp_next(w->amqp, &it->m, 0);
        if (rc == MF_AMQP_CONN_LOST)
            return rc;
        if (rc != MF_AMQP_OK)
            break;
        w->nitems++;
    }
    return MF_AMQP_OK;
}

/* The periodic sweep: drains the stage without a message. */
static void
sweep(struct worker *w)
{
    int64_t t0 = mf_time_mono_ms();
    long long units = 0;
    int calls = 0;
    char err[ERR_MAX] = "", q[160];

    w->next_sweep_ms = t0 + (int64_t)w->cfg->sweep_s * 1000;
    mf_metrics_add(metric.sweeps, 1);
    enum drain d = drain(w, &units, &calls, err, sizeof(err));
    if (d == DRAIN_FAILED || d == DRAIN_PG_LOST)
        mf_error("sweep failed", "error=%s", mf_log_q(q, sizeof(q), err));
    recheck_soon(w);
    if (units > 0)
        mf_info("sweep found work", "units=%lld calls=%d duration_ms=%lld",
                units, calls, (long long)(mf_time_mono_ms() - t0));
    else if (w->waiting)
        mf_debug("waiting for earlier stages", "duration_ms=%lld",
                 (long long)(mf_time_mono_ms() - t0));
    else
        mf_debug("sweep found nothing", "duration_ms=%lld",
                 (long long)(mf_time_mono_ms() - t0));
    if (notify_next(w) == MF_AMQP_CONN_LOST)
        amqp_lost(w);
}

/* --- the loop --------------------------------------------------------------
 */

static void
loop(struct worker *w)
{
    while (!stopping()) {
        if (ensure_pg(w) != 0 || ensure_amqp(w) != 0)
            break;
        worker_metrics_tick(w->pg);
        if (w->owed_units > 0 && notify_next(w) == MF_AMQP_CONN_LOST) {
            amqp_lost(w);
            continue;
        }
        int64_t now = mf_time_mono_ms();
        if (now >= w->next_sweep_ms) {
            sweep(w);
            continue;
        }
        int64_t wait = w->next_sweep_ms - now;
        memset(w->items, 0, sizeof(*w->items) * (size_t)w->cfg->prefetch);
        int rc = collect_batch(w, wait > 1000 ? 1000 : (int)wait);
        if (rc == MF_AMQP_OK)
            process_batch(w);
        else if (rc == MF_AMQP_CONN_LOST)
            amqp_lost(w);
    }
}

int
worker_run(const struct worker_config *cfg)
{
    char ctx[64];
    struct worker w = {.cfg = cfg,
                       .next = worker_next_stage(cfg->stage),
                       .fail_delay_ms = BACKOFF_MIN_MS};

    snprintf(ctx, sizeof(ctx), "stage=%s", cfg->stage);
    mf_log_set_context(ctx);
    w.items = calloc((size_t)cfg->prefetch, sizeof(*w.items));
    if (w.items == NULL) {
        mf_error("out of memory", "prefetch=%d", cfg->prefetch);
        return 1;
    }
    srand((unsigned)mf_time_mono_ms() ^ (unsigned)getpid());
    register_metrics(cfg->stage);
    int port = 0;
    char err[256], q[160];
    if (mf_metrics_listen(cfg->metrics_addr, &port, err, sizeof(err)) != 0) {
        mf_error("cannot start the metrics listener", "error=%s",
                 mf_log_q(q, sizeof(q), err));
        free(w.items);
        return 1;
    }
    if (port > 0)
        mf_info("metrics listening", "port=%d", port);
    mf_info("worker starting",
            "next=%s prefetch=%d batch=%d sweep_s=%d coalesce_s=%d "
            "max_attempts=%d",
            w.next ? w.next : "none", cfg->prefetch, cfg->batch, cfg->sweep_s,
            cfg->coalesce_s, cfg->max_attempts);
    w.next_sweep_ms = 0; /* sweep at start */
    loop(&w);

    drop_batch(&w);
    free(w.items);
    mf_amqp_close(w.amqp);
    mf_pg_close(w.pg);
    mf_metrics_stop();
    mf_info("worker stopped", "signal=%d batches=%llu", mf_sig_last(),
            (unsigned long long)w.batches);
    return 0;
}
