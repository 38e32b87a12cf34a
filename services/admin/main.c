/* metriflow-admin: placeholder entry point until its issue lands. */
#include "mf_config.h"
#include "mf_log.h"

#include <stdio.h>

static struct mf_opt opts[] = {
    MF_OPT_PG_URL,
    MF_OPT_AMQP_URL,
    MF_OPT_LOG,
};

int
main(int argc, char **argv)
{
    struct mf_cli cli = {
        .program = "metriflow-admin",
        .usage = "COMMAND [ARGS]",
        .description =
            "Operator tool: migrate, user add, status, dead-letters, verify.",
        .opts = opts,
        .nopts = sizeof(opts) / sizeof(opts[0]),
        .min_args = 1,
        .max_args = -1,
    };
    int rc = mf_cli_parse(&cli, argc, argv);
    if (rc != MF_CLI_OK)
        return rc == MF_CLI_EXIT ? 0 : 2;
    mf_cli_init_log(&cli, "metriflow-admin");
    mf_error("not implemented yet", NULL);
    mf_cli_free(&cli);
    return 1;
}
