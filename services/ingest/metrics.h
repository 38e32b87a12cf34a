/*
 * metriflow-ingest's Prometheus metrics (libs/metrics): one call per event,
 * safe from any thread. Before ingest_metrics_start every call is a no-op.
 */
#ifndef INGEST_METRICS_H
#define INGEST_METRICS_H

#include <stdint.h>

/* The servers a reconnect is counted for. */
enum ingest_server { INGEST_PG, INGEST_AMQP };

/*
 * Registers the metrics and starts the listener on addr (--metrics-addr;
 * "off" or empty: registered but not served). Returns 0, or -1 after
 * logging why the listener could not start.
 */
int ingest_metrics_start(const char *addr);

/* Stops the listener, if any. */
void ingest_metrics_stop(void);

/* Records parsed and handed to a loader, accepted and rejected alike. */
void ingest_metrics_read(uint32_t records);

/* A committed chunk: its accepted and rejected records by kind (index
 * 0: rejected records whose kind could not be told) and the seconds its
 * commit took. */
void ingest_metrics_chunk(const uint32_t accepted[3],
                          const uint32_t rejected[3], double seconds);

/* A batch notification: published (1) or not (0: the sweep finds it). */
void ingest_metrics_notified(int published);

/* A connection to server re-established after it was lost or failed. */
void ingest_metrics_reconnect(enum ingest_server server);

/* Watch mode: a file moved to done/ (1) or failed/ (0). */
void ingest_metrics_file(int done);

#endif
