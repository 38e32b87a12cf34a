/* metriflow-gen: placeholder entry point until its issue lands. */
#include "mf_config.h"
#include "mf_log.h"

#include <stdio.h>

static struct mf_opt opts[] = {
    {"source", NULL, MF_OPT_STR, NULL, "KIND", "record kind", MF_OPT_REQUIRED,
     0, 0, "ga|psi", NULL, NULL, 0},
    MF_OPT_LOG,
};

int
main(int argc, char **argv)
{
    struct mf_cli cli = {
        .program = "metriflow-gen",
        .usage = "--source ga|psi --records N [options]",
        .description = "Generates analytics records.",
        .opts = opts,
        .nopts = sizeof(opts) / sizeof(opts[0]),
        .min_args = 0,
        .max_args = 0,
    };
    int rc = mf_cli_parse(&cli, argc, argv);
    if (rc != MF_CLI_OK)
        return rc == MF_CLI_EXIT ? 0 : 2;
    mf_cli_init_log(&cli, "metriflow-gen");
    mf_error("not implemented yet", NULL);
    mf_cli_free(&cli);
    return 1;
}
