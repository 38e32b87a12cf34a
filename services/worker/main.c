/* metriflow-worker --stage NAME: runs one pipeline stage. */
#include "mf_amqp.h"
#include "mf_config.h"
#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_sig.h"
#include "metrics.h"
#include "worker.h"

#include <stdio.h>
#include <string.h>

static int
check_amqp_url(const char *value, char *why, size_t n)
{
    struct mf_amqp_url u;
    int rc = mf_amqp_parse_url(value, &u, why, n);
    explicit_bzero(&u, sizeof(u));
    return rc;
}

static struct mf_opt opts[] = {
    MF_OPT_PG_URL,
    {"amqp-url", "METRIFLOW_AMQP_URL", MF_OPT_STR,
     "amqp://guest:guest@127.0.0.1:5672/", "URL", "RabbitMQ URL", MF_OPT_SECRET,
     0, 0, NULL, check_amqp_url, NULL, 0},
    {"stage", "METRIFLOW_STAGE", MF_OPT_STR, NULL, "NAME", "the stage to run",
     MF_OPT_REQUIRED, 0, 0,
     "stage-ga|stage-psi|page|interval|daily|monthly|yearly", NULL, NULL, 0},
    {"prefetch", "METRIFLOW_PREFETCH", MF_OPT_INT, "50", "N",
     "unacknowledged messages held at most", 0, 1, 65535, NULL, NULL, NULL, 0},
    {"batch", "METRIFLOW_BATCH", MF_OPT_INT, NULL, "N",
     "work units per stage call (default: 8 for stage-ga and stage-psi, "
     "2000 for the others)",
     0, 1, 1000000, NULL, NULL, NULL, 0},
    {"sweep-seconds", "METRIFLOW_SWEEP_SECONDS", MF_OPT_INT, "10", "S",
     "seconds between sweeps for work whose message was lost", 0, 1, 86400,
     NULL, NULL, NULL, 0},
    {"coalesce-seconds", "METRIFLOW_COALESCE_SECONDS", MF_OPT_INT, NULL, "S",
     "while an earlier stage still has work pending, wait up to S seconds "
     "(counted from the oldest pending unit) before recomputing, so keys "
     "that the earlier stages will mark again are recomputed once; 0 never "
     "waits (default: 30 for monthly and yearly, 0 for the others)",
     0, 0, 3600, NULL, NULL, NULL, 0},
    {"max-attempts", "METRIFLOW_MAX_ATTEMPTS", MF_OPT_INT, "5", "N",
     "failed attempts before a message goes to mf.dead", 0, 1, 1000, NULL, NULL,
     NULL, 0},
    MF_OPT_METRICS_ADDR("off"),
    MF_OPT_LOG,
};

int
main(int argc, char **argv)
{
    struct mf_cli cli = {
        .program = "metriflow-worker",
        .usage = "--stage NAME [--prefetch N] [--batch N] [--sweep-seconds S] "
                 "[--coalesce-seconds S] [--max-attempts N]",
        .description =
            "Runs one pipeline stage: consumes the stage's queue, calls the "
            "stage's procedure until no work remains, acknowledges after the "
            "commit and notifies the next stage. Run as many instances of a "
            "stage as the load needs. Stops cleanly on SIGTERM or SIGINT.",
        .opts = opts,
        .nopts = sizeof(opts) / sizeof(opts[0]),
        .min_args = 0,
        .max_args = 0,
    };
    int rc = mf_cli_parse(&cli, argc, argv);
    if (rc != MF_CLI_OK)
        return rc == MF_CLI_EXIT ? 0 : 2;
    mf_cli_init_log(&cli, "worker");
    if (mf_sig_install() != 0) {
        mf_error("cannot install signal handlers", NULL);
        mf_cli_free(&cli);
        return 1;
    }

    struct worker_config cfg = {
        .stage = mf_opt_str(&cli, "stage"),
        .pg_url = mf_opt_str(&cli, "pg-url"),
        .amqp_url = mf_opt_str(&cli, "amqp-url"),
        .prefetch = (int)mf_opt_int(&cli, "prefetch"),
        .sweep_s = (int)mf_opt_int(&cli, "sweep-seconds"),
        .max_attempts = (int)mf_opt_int(&cli, "max-attempts"),
        .metrics_addr = mf_opt_str(&cli, "metrics-addr"),
    };
    cfg.batch = mf_opt_is_set(&cli, "batch") ? (int)mf_opt_int(&cli, "batch")
                                             : worker_default_batch(cfg.stage);
    cfg.coalesce_s = mf_opt_is_set(&cli, "coalesce-seconds")
                         ? (int)mf_opt_int(&cli, "coalesce-seconds")
                         : worker_default_coalesce(cfg.stage);
    worker_metrics_register(cfg.stage, cfg.sweep_s < 5 ? cfg.sweep_s : 5);
    rc = worker_run(&cfg);
    mf_cli_free(&cli);
    return rc;
}
