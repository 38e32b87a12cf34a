/* metriflow-admin: one function per command, each in its own file. */
#ifndef ADMIN_H
#define ADMIN_H

#include "mf_config.h"

/*
 * A command gets the parsed command line (cli->args[0] is the command name,
 * the rest its arguments) and returns the process exit code: 0 success,
 * 1 fatal error, 2 bad usage (after printing why).
 */
int admin_migrate(struct mf_cli *cli);
int admin_user(struct mf_cli *cli);
int admin_status(struct mf_cli *cli);
int admin_dead_letters(struct mf_cli *cli);
int admin_verify(struct mf_cli *cli);

#endif
