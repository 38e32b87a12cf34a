/*
 * metriflow-admin migrate: applies every migration of sql/migrations that
 * the database has not recorded, each in its own transaction together with
 * its row in schema_migration, then (re)creates every function and procedure
 * of sql/procedures in one transaction. An advisory lock serialises
 * concurrent runs, so running it twice, or twice at once, is safe.
 */
#include "admin.h"
#include "mf_log.h"
#include "mf_pg.h"
#include "sql_embed.h"

#include <stdio.h>

#define MIGRATE_LOCK_KEY "7362011"

static int
applied(struct mf_pg *pg, const char *name, int *yes)
{
    struct mf_pg_res *r;
    const char *p[] = {name};
    if (mf_pg_query(pg, "SELECT 1 FROM schema_migration WHERE name = $1", 1, p,
                    &r) != MF_PG_OK)
        return -1;
    *yes = mf_pg_res_rows(r) > 0;
    mf_pg_res_free(r);
    return 0;
}

/* Runs text and a follow-up statement inside one transaction. */
static int
in_transaction(struct mf_pg *pg, const struct sql_file *f, const char *after,
               const char *param)
{
    const char *p[] = {param};
    if (mf_pg_exec(pg, "BEGIN") != MF_PG_OK)
        return -1;
    if (mf_pg_exec(pg, f->text) != MF_PG_OK ||
        (after != NULL && mf_pg_query(pg, after, 1, p, NULL) != MF_PG_OK)) {
        char q[160];
        mf_error("migration failed", "file=%s error=%s",
                 mf_log_q(q, sizeof(q), f->name), mf_pg_error(pg));
        mf_pg_exec(pg, "ROLLBACK");
        return -1;
    }
    return mf_pg_exec(pg, "COMMIT") == MF_PG_OK ? 0 : -1;
}

static int
apply_procedures(struct mf_pg *pg, int *count)
{
    if (mf_pg_exec(pg, "BEGIN") != MF_PG_OK)
        return -1;
    for (const struct sql_file *f = sql_procedures; f->name != NULL; f++) {
        if (mf_pg_exec(pg, f->text) != MF_PG_OK) {
            mf_error("procedure file failed", "file=%s error=%s", f->name,
                     mf_pg_error(pg));
            mf_pg_exec(pg, "ROLLBACK");
            return -1;
        }
        (*count)++;
    }
    return mf_pg_exec(pg, "COMMIT") == MF_PG_OK ? 0 : -1;
}

int
admin_migrate(struct mf_cli *cli)
{
    struct mf_pg *pg = NULL;
    char err[1024];
    int done = 0, procs = 0, rc = 1;

    if (cli->nargs != 1) {
        mf_cli_usage_error(cli, "migrate takes no arguments");
        return 2;
    }
    if (mf_pg_connect(mf_opt_str(cli, "pg-url"), "metriflow-admin", &pg, err,
                      sizeof(err)) != MF_PG_OK) {
        mf_error("cannot connect to PostgreSQL", "error=%s", err);
        return 1;
    }
    if (mf_pg_exec(pg, "SET client_min_messages = warning") != MF_PG_OK ||
        mf_pg_exec(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")") !=
            MF_PG_OK ||
        mf_pg_exec(pg, "CREATE TABLE IF NOT EXISTS schema_migration ("
                       "name text PRIMARY KEY, "
                       "applied_at timestamptz NOT NULL DEFAULT now())") !=
            MF_PG_OK) {
        mf_error("cannot prepare the migration table", "error=%s",
                 mf_pg_error(pg));
        goto out;
    }

    for (const struct sql_file *f = sql_migrations; f->name != NULL; f++) {
        int yes;
        if (applied(pg, f->name, &yes) != 0) {
            mf_error("cannot read schema_migration", "error=%s",
                     mf_pg_error(pg));
            goto out;
        }
        if (yes)
            continue;
        if (in_transaction(pg, f,
                           "INSERT INTO schema_migration (name) VALUES ($1)",
                           f->name) != 0)
            goto out;
        mf_info("migration applied", "file=%s", f->name);
        done++;
    }
    if (apply_procedures(pg, &procs) != 0)
        goto out;
    mf_info("schema up to date", "applied=%d procedure_files=%d", done, procs);
    rc = 0;
out:
    mf_pg_close(pg);
    return rc;
}
