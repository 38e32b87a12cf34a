/* metriflow-worker: placeholder entry point until its issue lands. */
#include "mf_config.h"
#include "mf_log.h"

#include <stdio.h>

static struct mf_opt opts[] = {
    MF_OPT_PG_URL,
    MF_OPT_AMQP_URL,
    {"stage", NULL, MF_OPT_STR, NULL, "NAME", "the stage to run",
     MF_OPT_REQUIRED, 0, 0,
     "stage-ga|stage-psi|page|interval|daily|monthly|yearly", NULL, NULL, 0},
    MF_OPT_LOG,
};

int
main(int argc, char **argv)
{
    struct mf_cli cli = {
        .program = "metriflow-worker",
        .usage = "--stage NAME",
        .description = "Runs one pipeline stage.",
        .opts = opts,
        .nopts = sizeof(opts) / sizeof(opts[0]),
        .min_args = 0,
        .max_args = 0,
    };
    int rc = mf_cli_parse(&cli, argc, argv);
    if (rc != MF_CLI_OK)
        return rc == MF_CLI_EXIT ? 0 : 2;
    mf_cli_init_log(&cli, "metriflow-worker");
    mf_error("not implemented yet", NULL);
    mf_cli_free(&cli);
    return 1;
}
