/* metriflow-admin user: arrives with its issue. */
#include "admin.h"
#include "mf_log.h"

int
admin_user(struct mf_cli *cli)
{
    (void)cli;
    mf_error("command not implemented yet", NULL);
    return 1;
}
