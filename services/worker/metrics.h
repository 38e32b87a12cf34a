/*
 * metriflow-worker's Prometheus metrics (libs/metrics), every one labelled
 * with the worker's stage: one call per event. Before worker_metrics_start
 * every call is a no-op.
 */
#ifndef WORKER_METRICS_H
#define WORKER_METRICS_H

struct mf_pg;

/* The servers a connection is counted for. */
enum worker_server { WORKER_PG, WORKER_AMQP };

/*
 * Registers the metrics for stage and starts the listener on addr
 * (--metrics-addr; "off" or empty: registered but not served). Pending
 * work is refreshed at most every refresh_s seconds. Returns 0, or -1
 * after logging why the listener could not start.
 */
int worker_metrics_start(const char *addr, const char *stage, int refresh_s);

/* Stops the listener, if any. */
void worker_metrics_stop(void);

/* A monotonic clock in seconds, for durations. */
double worker_metrics_clock(void);

/* One mf_stage_run call that committed: units done, started at t0
 * (worker_metrics_clock). A call that found no work counts only as a call. */
void worker_metrics_run(long long units, double t0);

/* Messages taken from the queue. */
void worker_metrics_received(int n);

/* Messages acknowledged. */
void worker_metrics_acked(int n);

/* A failed message handed back: to retry (dead 0) or to mf.dead (1). */
void worker_metrics_failed(int dead);

/* A periodic sweep. */
void worker_metrics_sweep(void);

/* A connection established; every one after the process's first to that
 * server counts as a reconnect. */
void worker_metrics_connected(enum worker_server server);

/*
 * Refreshes the pending-work gauges of the stage from mf_pipeline_status()
 * on pg when refresh_s has passed since the last refresh. A failed query
 * leaves them unchanged (the caller sees a lost connection itself).
 */
void worker_metrics_tick(struct mf_pg *pg);

#endif
