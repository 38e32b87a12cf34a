/* metriflow-ingest's metrics: the handles and the listener. */
#include "metrics.h"

#include "mf_log.h"
#include "mf_metrics.h"

#include <stdio.h>

static struct mf_metric *read_total;
static struct mf_metric *accepted[3], *rejected[3];
static struct mf_metric *chunks, *commit_seconds;
static struct mf_metric *notified, *notify_failed;
static struct mf_metric *reconnects[2];
static struct mf_metric *files_done, *files_failed;

static const char *const kind_label[3] = {"kind=\"unknown\"", "kind=\"ga\"",
                                          "kind=\"psi\""};

static void
register_all(void)
{
    read_total = mf_metrics_counter("mf_ingest_records_read_total", NULL,
                                    "Records parsed, accepted or rejected.");
    for (int k = 1; k < 3; k++)
        accepted[k] =
            mf_metrics_counter("mf_ingest_records_accepted_total",
                               kind_label[k], "Records committed, by kind.");
    for (int k = 0; k < 3; k++)
        rejected[k] = mf_metrics_counter(
            "mf_ingest_records_rejected_total", kind_label[k],
            "Records rejected and stored in rejected_record, by kind.");
    chunks = mf_metrics_counter("mf_ingest_chunks_committed_total", NULL,
                                "Chunks committed, one transaction each.");
    commit_seconds = mf_metrics_histogram(
        "mf_ingest_commit_seconds", NULL,
        "Time to store and commit one chunk, reconnect waits included.");
    notified =
        mf_metrics_counter("mf_ingest_notifications_published_total", NULL,
                           "Batch notifications confirmed by RabbitMQ.");
    notify_failed = mf_metrics_counter(
        "mf_ingest_notifications_failed_total", NULL,
        "Batch notifications not sent or not confirmed (the sweep finds "
        "the batch).");
    reconnects[INGEST_PG] = mf_metrics_counter(
        "mf_ingest_reconnects_total", "server=\"postgresql\"",
        "Connections re-established after a loss or a failure.");
    reconnects[INGEST_AMQP] =
        mf_metrics_counter("mf_ingest_reconnects_total", "server=\"rabbitmq\"",
                           "Connections re-established after a loss or a "
                           "failure.");
    files_done = mf_metrics_counter("mf_ingest_files_total", "result=\"done\"",
                                    "Watch mode: files loaded and moved.");
    files_failed =
        mf_metrics_counter("mf_ingest_files_total", "result=\"failed\"",
                           "Watch mode: files loaded and moved.");
}

int
ingest_metrics_start(const char *addr)
{
    char err[256], q[160];
    int port = 0;

    register_all();
    if (mf_metrics_listen(addr, &port, err, sizeof(err)) != 0) {
        mf_error("cannot start the metrics listener", "addr=%s error=%s",
                 mf_log_q(q, sizeof(q), addr), err);
        return -1;
    }
    if (port > 0)
        mf_info("metrics listening", "port=%d", port);
    return 0;
}

void
ingest_metrics_stop(void)
{
    mf_metrics_stop();
}

void
ingest_metrics_read(uint32_t records)
{
    mf_metrics_add(read_total, records);
}

void
ingest_metrics_chunk(const uint32_t acc[3], const uint32_t rej[3],
                     double seconds)
{
    for (int k = 0; k < 3; k++) {
        if (k > 0 && acc[k] > 0)
            mf_metrics_add(accepted[k], acc[k]);
        if (rej[k] > 0)
            mf_metrics_add(rejected[k], rej[k]);
    }
    mf_metrics_add(chunks, 1);
    mf_metrics_observe(commit_seconds, seconds);
}

void
ingest_metrics_notified(int published)
{
    mf_metrics_add(published ? notified : notify_failed, 1);
}

void
ingest_metrics_reconnect(enum ingest_server server)
{
    mf_metrics_add(reconnects[server == INGEST_AMQP], 1);
}

void
ingest_metrics_file(int done)
{
    mf_metrics_add(done ? files_done : files_failed, 1);
}
