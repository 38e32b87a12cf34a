/*
 * metriflow-ingest: loads GA and PSI records into PostgreSQL.
 *
 *   metriflow-ingest [--source ga|psi] FILE...   one-shot ("-" = stdin)
 *   metriflow-ingest [--source ga|psi] --watch DIR   daemon
 *
 * Exit codes: 0 all loaded, 1 a fatal error (or stopped early), 2 bad
 * usage, 3 finished but some records were rejected.
 */
#include "ingest.h"
#include "metrics.h"

#include "mf_config.h"
#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_sig.h"
#include "mf_time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct mf_opt opts[] = {
    MF_OPT_PG_URL,
    MF_OPT_AMQP_URL,
    {"source", NULL, MF_OPT_STR, NULL, "KIND",
     "record kind of every record (else each record's \"source\")", 0, 0, 0,
     "ga|psi", NULL, NULL, 0},
    {"watch", NULL, MF_OPT_STR, NULL, "DIR",
     "keep running and load every file dropped into DIR", 0, 0, 0, NULL, NULL,
     NULL, 0},
    {"jobs", "METRIFLOW_INGEST_JOBS", MF_OPT_INT, "2", "N",
     "streams loaded at once", 0, 1, 16, NULL, NULL, NULL, 0},
    MF_OPT_METRICS_ADDR("off"),
    MF_OPT_LOG,
};

struct oneshot {
    char **files;
    int nfiles;
    _Atomic int next;
    const struct job_opts *o;
    struct job_result *res;
};

static void
log_result(const char *path, const struct job_result *r, double secs)
{
    char q[160];
    mf_log_q(q, sizeof(q), path);
    if (r->failed || r->stopped)
        mf_error(r->stopped ? "stream stopped before its end"
                            : "stream not fully loaded",
                 "file=%s records=%lld accepted=%lld rejected=%lld error=%s", q,
                 (long long)r->records, (long long)r->accepted,
                 (long long)r->rejected,
                 r->stopped ? "stop requested" : r->error);
    else if (r->syntax_end)
        mf_warn("stream ended at a syntax error; the records before it are "
                "loaded",
                "file=%s records=%lld accepted=%lld rejected=%lld error=%s", q,
                (long long)r->records, (long long)r->accepted,
                (long long)r->rejected, r->error);
    else
        mf_info("stream loaded",
                "file=%s records=%lld accepted=%lld rejected=%lld "
                "seconds=%.2f",
                q, (long long)r->records, (long long)r->accepted,
                (long long)r->rejected, secs);
}

static void *
oneshot_worker(void *arg)
{
    struct oneshot *w = arg;
    int i;
    while ((i = w->next++) < w->nfiles) {
        if (mf_sig_stop_requested()) {
            w->res[i].stopped = true;
            continue;
        }
        double t0 = mf_time_mono_s();
        job_run(w->files[i], w->o, &w->res[i]);
        log_result(w->files[i], &w->res[i], mf_time_mono_s() - t0);
    }
    return NULL;
}

struct progress {
    _Atomic int done;
    double t0;
};

/* Prints records, rate and elapsed time every second on a terminal. */
static void *
progress_main(void *arg)
{
    struct progress *p = arg;
    while (!p->done) {
        for (int i = 0; i < 10 && !p->done; i++)
            usleep(100000);
        double el = mf_time_mono_s() - p->t0;
        long long n = ingest_progress_records;
        fprintf(stderr, "\r%lld records, %.0f records/s, %.0f s elapsed ", n,
                el > 0 ? (double)n / el : 0.0, el);
    }
    fputc('\n', stderr);
    return NULL;
}

static int
run_oneshot(struct mf_cli *cli, const struct job_opts *o, int jobs)
{
    struct job_result *res = calloc((size_t)cli->nargs, sizeof(*res));
    struct oneshot w = {cli->args, cli->nargs, 0, o, res};
    struct progress prog = {0, mf_time_mono_s()};
    pthread_t th[16], pth;
    int nth = jobs < cli->nargs ? jobs : cli->nargs, started = 0;
    bool show = isatty(STDERR_FILENO) &&
                pthread_create(&pth, NULL, progress_main, &prog) == 0;
    int code = 0;

    if (res == NULL) {
        mf_error("out of memory", NULL);
        return 1;
    }
    for (int i = 0; i < nth; i++)
        if (pthread_create(&th[i], NULL, oneshot_worker, &w) == 0)
            started++;
    if (started == 0)
        oneshot_worker(&w);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (show) {
        prog.done = 1;
        pthread_join(pth, NULL);
    }

    long long records = 0, accepted = 0, rejected = 0;
    int failed = 0;
    for (int i = 0; i < cli->nargs; i++) {
        records += res[i].records;
        accepted += res[i].accepted;
        rejected += res[i].rejected;
        if (res[i].failed || res[i].stopped)
            failed++;
    }
    double secs = mf_time_mono_s() - prog.t0;
    mf_info("ingest finished",
            "files=%d failed_files=%d records=%lld accepted=%lld "
            "rejected=%lld seconds=%.2f records_per_s=%.0f",
            cli->nargs, failed, records, accepted, rejected, secs,
            secs > 0 ? (double)records / secs : 0.0);
    if (failed > 0)
        code = 1;
    else if (rejected > 0)
        code = 3;
    free(res);
    return code;
}

int
main(int argc, char **argv)
{
    struct mf_cli cli = {
        .program = "metriflow-ingest",
        .usage = "[--source ga|psi] FILE... | --watch DIR",
        .description = "Loads GA and PSI records (a JSON array or NDJSON, "
                       "optionally gzip-compressed; \"-\" is standard "
                       "input) into PostgreSQL and notifies the first stage. "
                       "Exits 0 when everything was loaded, 1 on a fatal "
                       "error, 2 on bad usage, 3 when some records were "
                       "rejected.",
        .opts = opts,
        .nopts = sizeof(opts) / sizeof(opts[0]),
        .min_args = 0,
        .max_args = -1,
    };
    struct job_opts o = {0};
    const char *watch;
    int rc = mf_cli_parse(&cli, argc, argv);

    if (rc != MF_CLI_OK)
        return rc == MF_CLI_EXIT ? 0 : 2;
    watch = mf_opt_str(&cli, "watch");
    if (watch == NULL && cli.nargs == 0) {
        mf_cli_usage_error(&cli, "give FILE arguments or --watch DIR");
        mf_cli_free(&cli);
        return 2;
    }
    if (watch != NULL && cli.nargs > 0) {
        mf_cli_usage_error(&cli, "--watch takes no FILE arguments");
        mf_cli_free(&cli);
        return 2;
    }
    int nstdin = 0;
    for (int i = 0; i < cli.nargs; i++)
        nstdin += strcmp(cli.args[i], "-") == 0;
    if (nstdin > 1) {
        mf_cli_usage_error(&cli, "standard input (-) can be read only once");
        mf_cli_free(&cli);
        return 2;
    }
    mf_cli_init_log(&cli, "ingest");
    if (mf_sig_install() != 0) {
        mf_error("cannot install signal handlers", NULL);
        mf_cli_free(&cli);
        return 1;
    }
    if (ingest_metrics_start(mf_opt_str(&cli, "metrics-addr")) != 0) {
        mf_cli_free(&cli);
        return 1;
    }
    o.pg_url = mf_opt_str(&cli, "pg-url");
    o.amqp_url = mf_opt_str(&cli, "amqp-url");
    o.forced = MF_RECORD_UNKNOWN;
    if (mf_opt_is_set(&cli, "source"))
        mf_record_kind_parse(mf_opt_str(&cli, "source"), &o.forced);
    o.wait_for_db = watch != NULL;
    int jobs = (int)mf_opt_int(&cli, "jobs");

    rc = watch ? watch_run(watch, &o, jobs) : run_oneshot(&cli, &o, jobs);
    ingest_metrics_stop();
    mf_cli_free(&cli);
    return rc;
}
