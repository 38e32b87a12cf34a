/* metriflow-admin: the operator's tool. */
#include "admin.h"
#include "mf_log.h"
#include "mf_sig.h"

#include <stdio.h>
#include <string.h>

static struct mf_opt opts[] = {
    MF_OPT_PG_URL,
    MF_OPT_AMQP_URL,
    {"role", NULL, MF_OPT_STR, "viewer", "ROLE", "role for 'user add'", 0, 0, 0,
     "admin|viewer", NULL, NULL, 0},
    {"from", NULL, MF_OPT_STR, NULL, "DATE", "first date for 'verify'", 0, 0, 0,
     NULL, NULL, NULL, 0},
    {"to", NULL, MF_OPT_STR, NULL, "DATE", "last date for 'verify'", 0, 0, 0,
     NULL, NULL, NULL, 0},
    {"limit", NULL, MF_OPT_INT, "100", "N",
     "rows for 'dead-letters list' and 'verify' reports", 0, 1, 100000, NULL,
     NULL, NULL, 0},
    MF_OPT_LOG,
};

static const struct {
    const char *name;
    int (*run)(struct mf_cli *cli);
} commands[] = {
    {"migrate", admin_migrate}, {"user", admin_user},
    {"status", admin_status},   {"dead-letters", admin_dead_letters},
    {"verify", admin_verify},
};

int
main(int argc, char **argv)
{
    struct mf_cli cli = {
        .program = "metriflow-admin",
        .usage = "migrate | user add EMAIL --role admin|viewer | status | "
                 "dead-letters list|replay | verify [--from DATE --to DATE]",
        .description =
            "Operator tool. migrate applies the schema (safe to repeat); "
            "user add creates a user, reading the password from standard "
            "input; status shows pending work per stage; dead-letters lists "
            "or replays failed messages; verify recomputes every level and "
            "exits 1 on drift.",
        .opts = opts,
        .nopts = sizeof(opts) / sizeof(opts[0]),
        .min_args = 1,
        .max_args = -1,
    };
    int rc = mf_cli_parse(&cli, argc, argv);
    if (rc != MF_CLI_OK)
        return rc == MF_CLI_EXIT ? 0 : 2;
    mf_cli_init_log(&cli, "admin");
    mf_sig_install();

    rc = -1;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cli.args[0], commands[i].name) == 0)
            rc = commands[i].run(&cli);
    if (rc < 0) {
        mf_cli_usage_error(&cli, "unknown command '%.40s'", cli.args[0]);
        rc = 2;
    }
    mf_cli_free(&cli);
    return rc;
}
