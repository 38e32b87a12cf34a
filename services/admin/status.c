/*
 * metriflow-admin status: pending work, oldest pending age and last run of
 * every stage, read from mf_pipeline_status() (the same function the API's
 * /api/v1/pipeline reads), as a table on standard output.
 */
#include "admin.h"
#include "mf_log.h"
#include "mf_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_SQL                                                             \
    "SELECT stage, pending, oldest_pending_s, "                                \
    "to_char(last_run_at AT TIME ZONE 'UTC', "                                 \
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "                                      \
    "to_char(last_work_at AT TIME ZONE 'UTC', "                                \
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), units "                                \
    "FROM mf_pipeline_status()"

/* Writes an age in seconds ("12.3 s", "4 min 05 s", "2 h 10 min") into buf,
 * or "-" when text is NULL (nothing pending). */
static void
format_age(char *buf, size_t n, const char *text)
{
    if (text == NULL) {
        snprintf(buf, n, "-");
        return;
    }
    double s = strtod(text, NULL);
    if (s < 60)
        snprintf(buf, n, "%.1f s", s);
    else if (s < 3600)
        snprintf(buf, n, "%d min %02d s", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, n, "%d h %02d min", (int)(s / 3600), (int)(s / 60) % 60);
}

static const char *
or_dash(const char *s)
{
    return s != NULL ? s : "never";
}

/* Prints the table; returns the total of pending units, or -1. */
static long long
print_status(struct mf_pg_res *r)
{
    long long total = 0;
    printf("%-10s %12s %14s  %-20s  %-20s %14s\n", "STAGE", "PENDING", "OLDEST",
           "LAST RUN", "LAST WORK", "UNITS DONE");
    for (int i = 0; i < mf_pg_res_rows(r); i++) {
        char age[32];
        const char *pending = mf_pg_res_value(r, i, 1);
        format_age(age, sizeof(age), mf_pg_res_value(r, i, 2));
        printf("%-10s %12s %14s  %-20s  %-20s %14s\n", mf_pg_res_value(r, i, 0),
               pending, age, or_dash(mf_pg_res_value(r, i, 3)),
               or_dash(mf_pg_res_value(r, i, 4)), mf_pg_res_value(r, i, 5));
        total += strtoll(pending, NULL, 10);
    }
    return total;
}

int
admin_status(struct mf_cli *cli)
{
    struct mf_pg *pg = NULL;
    struct mf_pg_res *r = NULL;
    char err[1024];
    int rc = 1;

    if (cli->nargs != 1) {
        mf_cli_usage_error(cli, "status takes no arguments");
        return 2;
    }
    if (mf_pg_connect(mf_opt_str(cli, "pg-url"), "metriflow-admin", &pg, err,
                      sizeof(err)) != MF_PG_OK) {
        mf_error("cannot connect to PostgreSQL", "error=%s", err);
        return 1;
    }
    if (mf_pg_query(pg, STATUS_SQL, 0, NULL, &r) != MF_PG_OK) {
        mf_error("cannot read the pipeline status", "error=%s",
                 mf_pg_error(pg));
        goto out;
    }
    long long total = print_status(r);
    printf("%s\n",
           total == 0 ? "pipeline idle" : "pipeline busy: work is pending");
    rc = 0;
out:
    mf_pg_res_free(r);
    mf_pg_close(pg);
    return rc;
}
