/* metriflow-worker: one pipeline stage, driven by RabbitMQ and a sweep. */
#ifndef WORKER_H
#define WORKER_H

#include <stdint.h>

struct worker_config {
    const char *stage;        /* one of mf_amqp_stages */
    const char *pg_url;       /* libpq connection string */
    const char *amqp_url;     /* amqp://... */
    int prefetch;             /* unacknowledged messages at most */
    int batch;                /* max_units per mf_stage_run call */
    int sweep_s;              /* seconds between sweeps */
    int coalesce_s;           /* wait for earlier stages at most this long */
    int max_attempts;         /* failures before a message is dead-lettered */
    const char *metrics_addr; /* "HOST:PORT" of the metrics listener, "off" */
};

/* The stage after stage, or NULL for the last one (yearly). */
const char *worker_next_stage(const char *stage);

/* The default max_units of a stage. */
int worker_default_batch(const char *stage);

/* The default coalesce_s of a stage: 0 (never wait) but for the monthly and
 * yearly stages, whose keys each collect a month or a year of input. */
int worker_default_coalesce(const char *stage);

/*
 * Runs the worker until SIGTERM or SIGINT (mf_sig): reconnects to
 * PostgreSQL and RabbitMQ with backoff whenever they go away. Returns the
 * process exit code: 0 after a clean stop, 1 on a fatal error (logged).
 */
int worker_run(const struct worker_config *cfg);

#endif
