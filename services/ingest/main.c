/* metriflow-ingest: placeholder entry point until its issue lands. */
#include "mf_config.h"
#include "mf_log.h"

#include <stdio.h>

static struct mf_opt opts[] = {
    MF_OPT_PG_URL,
    MF_OPT_AMQP_URL,
    {"source", NULL, MF_OPT_STR, NULL, "KIND", "record kind", 0, 0, 0, "ga|psi",
     NULL, NULL, 0},
    {"watch", NULL, MF_OPT_STR, NULL, "DIR", "watch DIR for files", 0, 0, 0,
     NULL, NULL, NULL, 0},
    MF_OPT_LOG,
};

int
main(int argc, char **argv)
{
    struct mf_cli cli = {
        .program = "metriflow-ingest",
        .usage = "[--source ga|psi] FILE... | --watch DIR",
        .description = "Loads analytics records into PostgreSQL.",
        .opts = opts,
        .nopts = sizeof(opts) / sizeof(opts[0]),
        .min_args = 0,
        .max_args = -1,
    };
    int rc = mf_cli_parse(&cli, argc, argv);
    if (rc != MF_CLI_OK)
        return rc == MF_CLI_EXIT ? 0 : 2;
    mf_cli_init_log(&cli, "metriflow-ingest");
    mf_error("not implemented yet", NULL);
    mf_cli_free(&cli);
    return 1;
}
