/*
 * metriflow-admin verify [--from DATE --to DATE] [--limit N]: recomputes
 * every aggregate level from the staged records with mf_verify() (straight
 * GROUP BYs, independent of the stage procedures), prints each difference
 * (level, page, key, measure, stored, expected; at most --limit of them)
 * and exits 1 when there is any, 0 when the levels are exact.
 */
#include "admin.h"
#include "mf_log.h"
#include "mf_pg.h"
#include "mf_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One scan: the differences first (up to $3 of them), then the total. */
#define VERIFY_SQL                                                             \
    "WITH v AS MATERIALIZED (SELECT *, row_number() OVER () AS n "             \
    " FROM mf_verify($1::date, $2::date)) "                                    \
    "(SELECT 0 AS o, level, site, path, key, measure, stored, expected, n "    \
    " FROM v ORDER BY n LIMIT $3::int) "                                       \
    "UNION ALL SELECT 1, count(*)::text, NULL, NULL, NULL, NULL, NULL, NULL, " \
    "0 FROM v ORDER BY 1, 9"

#define PENDING_SQL "SELECT coalesce(sum(pending), 0) FROM mf_pipeline_status()"

/* Checks an optional --from/--to value; returns 0 or -1 (after saying so). */
static int
check_date(struct mf_cli *cli, const char *name)
{
    const char *v = mf_opt_str(cli, name);
    int64_t days;
    if (v == NULL || mf_time_parse_date(v, strlen(v), &days) == 0)
        return 0;
    mf_cli_usage_error(cli, "--%s must be a date YYYY-MM-DD", name);
    return -1;
}

static const char *
or_null(const char *s)
{
    return s != NULL ? s : "NULL";
}

/* Prints the differences; returns their total count. */
static long long
print_diffs(struct mf_pg_res *r)
{
    int n = mf_pg_res_rows(r);
    if (n > 1)
        printf("%-8s %-24s %-32s %-14s %-22s %18s %18s\n", "LEVEL", "SITE",
               "PATH", "KEY", "MEASURE", "STORED", "EXPECTED");
    for (int i = 0; i < n - 1; i++)
        printf("%-8s %-24.24s %-32.32s %-14s %-22s %18s %18s\n",
               mf_pg_res_value(r, i, 1), mf_pg_res_value(r, i, 2),
               mf_pg_res_value(r, i, 3), mf_pg_res_value(r, i, 4),
               mf_pg_res_value(r, i, 5), or_null(mf_pg_res_value(r, i, 6)),
               or_null(mf_pg_res_value(r, i, 7)));
    return strtoll(mf_pg_res_value(r, n - 1, 1), NULL, 10);
}

/* Warns when work is pending: pending keys then show up as differences. */
static void
warn_if_busy(struct mf_pg *pg)
{
    struct mf_pg_res *r;
    if (mf_pg_query(pg, PENDING_SQL, 0, NULL, &r) != MF_PG_OK)
        return;
    const char *v = mf_pg_res_value(r, 0, 0);
    if (v != NULL && strcmp(v, "0") != 0)
        mf_warn("the pipeline is not idle; pending work can show up as "
                "differences",
                "pending=%s", v);
    mf_pg_res_free(r);
}

int
admin_verify(struct mf_cli *cli)
{
    struct mf_pg *pg = NULL;
    struct mf_pg_res *r = NULL;
    char err[1024], limit[24];
    int rc = 1;

    if (cli->nargs != 1) {
        mf_cli_usage_error(cli, "verify takes no arguments");
        return 2;
    }
    if (check_date(cli, "from") != 0 || check_date(cli, "to") != 0)
        return 2;
    snprintf(limit, sizeof(limit), "%lld", mf_opt_int(cli, "limit"));
    if (mf_pg_connect(mf_opt_str(cli, "pg-url"), "metriflow-admin", &pg, err,
                      sizeof(err)) != MF_PG_OK) {
        mf_error("cannot connect to PostgreSQL", "error=%s", err);
        return 1;
    }
    warn_if_busy(pg);

    const char *p[] = {mf_opt_str(cli, "from"), mf_opt_str(cli, "to"), limit};
    if (mf_pg_query(pg, VERIFY_SQL, 3, p, &r) != MF_PG_OK) {
        mf_error("verify failed", "error=%s", mf_pg_error(pg));
        goto out;
    }
    long long diffs = print_diffs(r);
    if (diffs == 0) {
        printf("verify: every level matches the staged records\n");
        rc = 0;
    } else {
        printf("verify: %lld difference%s (%d shown)\n", diffs,
               diffs == 1 ? "" : "s", mf_pg_res_rows(r) - 1);
        rc = 1;
    }
out:
    mf_pg_res_free(r);
    mf_pg_close(pg);
    return rc;
}
