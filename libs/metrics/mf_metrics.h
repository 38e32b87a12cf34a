/*
 * mf_metrics: counters, gauges and histograms in Prometheus text format,
 * and a small HTTP listener that serves them on GET /metrics.
 *
 * Metrics are registered once at start (not thread-safe), then updated from
 * any thread with atomic operations. The listener runs in its own thread and
 * answers only GET /metrics, /healthz, with 404 for anything else.
 */
#ifndef MF_METRICS_H
#define MF_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "mf_config.h"

struct mf_metric;

/*
 * Registers a metric. name is a Prometheus name, labels NULL or a fixed
 * label set such as "stage=\"daily\"" (one registration per label set).
 * Returns a handle valid for the process's life, or NULL when the table
 * (256 metrics) is full or the arguments are invalid.
 */
struct mf_metric *mf_metrics_counter(const char *name, const char *labels,
                                     const char *help);
struct mf_metric *mf_metrics_gauge(const char *name, const char *labels,
                                   const char *help);
/* A histogram of seconds with fixed buckets from 1 ms to 60 s. */
struct mf_metric *mf_metrics_histogram(const char *name, const char *labels,
                                       const char *help);

/* Updates; m may be NULL (then nothing happens). */
void mf_metrics_add(struct mf_metric *m, int64_t n);
void mf_metrics_set(struct mf_metric *m, int64_t v);
void mf_metrics_observe(struct mf_metric *m, double seconds);

/*
 * Renders every metric into buf (size n). Returns the length written, or
 * the length needed (> n - 1) when buf is too small, as snprintf does.
 */
size_t mf_metrics_render(char *buf, size_t n);

/*
 * Starts the listener on addr ("HOST:PORT"; port 0 picks one) in a
 * background thread. Returns 0 and the bound port in *port (may be NULL),
 * or -1 with a reason in err. Empty addr or "off": nothing starts, 0.
 */
int mf_metrics_listen(const char *addr, int *port, char *err, size_t errlen);

/*
 * Checks a listener address as mf_metrics_listen would take it (an mf_opt
 * check): returns 0, or -1 with a reason in why (size n).
 */
int mf_metrics_check_addr(const char *value, char *why, size_t n);

/* Stops the listener thread, if any. */
void mf_metrics_stop(void);

/* The shared option: --metrics-addr / METRIFLOW_METRICS_ADDR. */
#define MF_OPT_METRICS_ADDR(def)                                               \
    {                                                                          \
        "metrics-addr", "METRIFLOW_METRICS_ADDR", MF_OPT_STR, def,             \
            "HOST:PORT", "metrics listener address (\"off\" disables it)", 0,  \
            0, 0, NULL, mf_metrics_check_addr, NULL, 0                         \
    }

#endif
