/* metriflow-admin dead_letters: arrives with its issue. */
#include "admin.h"
#include "mf_log.h"

int
admin_dead_letters(struct mf_cli *cli)
{
    (void)cli;
    mf_error("command not implemented yet", NULL);
    return 1;
}
