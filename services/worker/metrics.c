/* metriflow-worker's metrics: the handles, the listener, pending work. */
#include "metrics.h"

#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static struct mf_metric *calls, *runs, *units_total, *run_seconds;
static struct mf_metric *received, *acked, *retried, *dead;
static struct mf_metric *sweeps, *reconnects[2];
static struct mf_metric *pending, *oldest;
static int connected_once[2];
static char stage_name[32];
static double refresh_every, next_refresh;
static int refresh_failed;

static void
register_all(const char *stage)
{
    char l[64], ls[96];

    snprintf(l, sizeof(l), "stage=\"%s\"", stage);
    calls = mf_metrics_counter("mf_worker_stage_calls_total", l,
                               "Committed mf_stage_run calls, with or "
                               "without work.");
    runs = mf_metrics_counter("mf_worker_stage_runs_total", l,
                              "Committed mf_stage_run calls that did work.");
    units_total = mf_metrics_counter(
        "mf_worker_units_total", l,
        "Work units done: raw batches for stage-ga and stage-psi, keys "
        "recomputed for the others.");
    run_seconds = mf_metrics_histogram(
        "mf_worker_run_seconds", l,
        "Duration of the mf_stage_run calls that did work.");
    received = mf_metrics_counter("mf_worker_messages_received_total", l,
                                  "Messages taken from the stage's queue.");
    acked = mf_metrics_counter("mf_worker_messages_acked_total", l,
                               "Messages acknowledged.");
    retried = mf_metrics_counter("mf_worker_retries_total", l,
                                 "Failed messages handed back for another "
                                 "attempt.");
    dead = mf_metrics_counter("mf_worker_dead_letters_total", l,
                              "Messages sent to mf.dead after their last "
                              "attempt.");
    sweeps = mf_metrics_counter("mf_worker_sweeps_total", l,
                                "Periodic sweeps for work without a message.");
    snprintf(ls, sizeof(ls), "%s,server=\"postgresql\"", l);
    reconnects[WORKER_PG] =
        mf_metrics_counter("mf_worker_reconnects_total", ls,
                           "Connections re-established after the first one.");
    snprintf(ls, sizeof(ls), "%s,server=\"rabbitmq\"", l);
    reconnects[WORKER_AMQP] =
        mf_metrics_counter("mf_worker_reconnects_total", ls,
                           "Connections re-established after the first one.");
    pending = mf_metrics_gauge("mf_worker_pending", l,
                               "Units pending at the stage "
                               "(mf_pipeline_status, refreshed periodically).");
    oldest = mf_metrics_gauge("mf_worker_oldest_pending_seconds", l,
                              "Age of the stage's oldest pending unit, 0 when "
                              "none.");
}

int
worker_metrics_start(const char *addr, const char *stage, int refresh_s)
{
    char err[256], q[160];
    int port = 0;

    snprintf(stage_name, sizeof(stage_name), "%s", stage);
    refresh_every = refresh_s > 0 ? refresh_s : 1;
    register_all(stage);
    if (mf_metrics_listen(addr, &port, err, sizeof(err)) != 0) {
        mf_error("cannot start the metrics listener", "addr=%s error=%s",
                 mf_log_q(q, sizeof(q), addr), err);
        return -1;
    }
    if (port > 0)
        mf_info("serving metrics", "addr=%s port=%d",
                mf_log_q(q, sizeof(q), addr), port);
    return 0;
}

void
worker_metrics_stop(void)
{
    mf_metrics_stop();
}

double
worker_metrics_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
worker_metrics_run(long long units, double t0)
{
    mf_metrics_add(calls, 1);
    if (units <= 0)
        return;
    mf_metrics_add(runs, 1);
    mf_metrics_add(units_total, units);
    mf_metrics_observe(run_seconds, worker_metrics_clock() - t0);
}

void
worker_metrics_received(int n)
{
    mf_metrics_add(received, n);
}

void
worker_metrics_acked(int n)
{
    mf_metrics_add(acked, n);
}

void
worker_metrics_failed(int is_dead)
{
    mf_metrics_add(is_dead ? dead : retried, 1);
}

void
worker_metrics_sweep(void)
{
    mf_metrics_add(sweeps, 1);
}

void
worker_metrics_connected(enum worker_server server)
{
    int i = server == WORKER_AMQP;
    if (connected_once[i])
        mf_metrics_add(reconnects[i], 1);
    connected_once[i] = 1;
}

void
worker_metrics_tick(struct mf_pg *pg)
{
    const char *params[1] = {stage_name};
    struct mf_pg_res *r = NULL;
    double now = worker_metrics_clock();

    if (pg == NULL || now < next_refresh)
        return;
    next_refresh = now + refresh_every;
    if (mf_pg_query(pg,
                    "SELECT pending, coalesce(oldest_pending_s, 0)::bigint "
                    "FROM mf_pipeline_status() WHERE stage = $1",
                    1, params, &r) != MF_PG_OK) {
        if (!refresh_failed)
            mf_warn("cannot read the pending work for the metrics", "error=%s",
                    mf_pg_error(pg));
        refresh_failed = 1;
        return;
    }
    refresh_failed = 0;
    if (mf_pg_res_rows(r) == 1 && mf_pg_res_cols(r) == 2) {
        const char *p = mf_pg_res_value(r, 0, 0);
        const char *o = mf_pg_res_value(r, 0, 1);
        if (p != NULL)
            mf_metrics_set(pending, strtoll(p, NULL, 10));
        if (o != NULL)
            mf_metrics_set(oldest, strtoll(o, NULL, 10));
    }
    mf_pg_res_free(r);
}
