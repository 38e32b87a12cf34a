/* metriflow-worker's metrics beyond worker.c's: see metrics.h. */
#include "metrics.h"

#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_pg.h"
#include "mf_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static struct mf_metric *runs, *acked, *pending, *oldest;
static char stage_name[32];
static double refresh_every, next_refresh;
static int refresh_failed;

void
worker_metrics_register(const char *stage, int refresh_s)
{
    char l[64];

    snprintf(stage_name, sizeof(stage_name), "%s", stage);
    refresh_every = refresh_s > 0 ? refresh_s : 1;
    snprintf(l, sizeof(l), "stage=\"%s\"", stage);
    runs = mf_metrics_counter("mf_worker_stage_runs_total", l,
                              "Committed mf_stage_run calls that did work");
    acked = mf_metrics_counter("mf_worker_messages_acked_total", l,
                               "Messages acknowledged");
    pending = mf_metrics_gauge("mf_worker_pending", l,
                               "Units pending at the stage "
                               "(mf_pipeline_status, refreshed periodically)");
    oldest = mf_metrics_gauge("mf_worker_oldest_pending_seconds", l,
                              "Age of the stage's oldest pending unit, 0 when "
                              "none");
}

void
worker_metrics_run(long long units)
{
    if (units > 0)
        mf_metrics_add(runs, 1);
}

void
worker_metrics_acked(int n)
{
    mf_metrics_add(acked, n);
}

void
worker_metrics_tick(struct mf_pg *pg)
{
    const char *params[1] = {stage_name};
    struct mf_pg_res *r = NULL;
    double now = mf_time_mono_s();

    if (pg == NULL || pending == NULL || now < next_refresh)
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
