/*
 * metriflow-worker's metrics beyond the per-call counters of worker.c:
 * runs that did work, acknowledged messages, and the stage's pending work
 * read from mf_pipeline_status(). All labelled with the stage; served by
 * the listener worker.c starts. Before worker_metrics_register every call
 * is a no-op.
 */
#ifndef WORKER_METRICS_H
#define WORKER_METRICS_H

struct mf_pg;

/* Registers the metrics for stage (once, at start, before any thread).
 * Pending work is refreshed at most every refresh_s seconds. */
void worker_metrics_register(const char *stage, int refresh_s);

/* A committed mf_stage_run call that did units of work (0: none). */
void worker_metrics_run(long long units);

/* Messages acknowledged. */
void worker_metrics_acked(int n);

/*
 * Refreshes the pending-work gauges of the stage from mf_pipeline_status()
 * on pg when refresh_s has passed since the last refresh. A failed query
 * leaves them unchanged, is logged once, and leaves pg as it is (the
 * caller sees a lost connection itself).
 */
void worker_metrics_tick(struct mf_pg *pg);

#endif
