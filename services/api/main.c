/* metriflow-api: placeholder entry point until its issue lands. */
#include "mf_config.h"
#include "mf_log.h"

#include <stdio.h>

static struct mf_opt opts[] = {
    MF_OPT_PG_URL,     MF_OPT_REDIS_URL,    MF_OPT_HTTP_ADDR,
    MF_OPT_JWT_SECRET, MF_OPT_REGISTRATION, MF_OPT_LOG,
};

int
main(int argc, char **argv)
{
    struct mf_cli cli = {
        .program = "metriflow-api",
        .usage = "[options]",
        .description = "Serves the reporting API.",
        .opts = opts,
        .nopts = sizeof(opts) / sizeof(opts[0]),
        .min_args = 0,
        .max_args = 0,
    };
    int rc = mf_cli_parse(&cli, argc, argv);
    if (rc != MF_CLI_OK)
        return rc == MF_CLI_EXIT ? 0 : 2;
    mf_cli_init_log(&cli, "metriflow-api");
    mf_error("not implemented yet", NULL);
    mf_cli_free(&cli);
    return 1;
}
