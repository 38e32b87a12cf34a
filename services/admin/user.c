/*
 * metriflow-admin user add EMAIL --role admin|viewer: creates an API user,
 * reading the password from the first line of standard input (at least 10
 * characters), hashed with Argon2id. Fails when the email is taken.
 */
#include "admin.h"
#include "mf_auth.h"
#include "mf_log.h"
#include "mf_pg.h"

#include <stdio.h>
#include <string.h>

/* Reads the first line of standard input into buf (without the newline).
 * Returns its length, or -1 when it is empty or longer than the cap. */
static long
read_password(char *buf, size_t n)
{
    if (fgets(buf, (int)n, stdin) == NULL)
        return -1;
    size_t len = strcspn(buf, "\r\n");
    if (len == n - 1 && buf[len] == '\0')
        return -1; /* no end of line within the cap: too long */
    buf[len] = '\0';
    return (long)len;
}

/* Lower-cases email in place and checks its shape: 0 or -1. */
static int
check_email(char *email)
{
    size_t len = strlen(email);
    char *at = strchr(email, '@');
    if (len < 3 || len > 254 || at == NULL || at == email ||
        strchr(at + 1, '@') != NULL || strchr(at + 1, '.') == NULL)
        return -1;
    for (char *p = email; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return -1;
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    return 0;
}

static int
user_add(struct mf_cli *cli, const char *email_arg)
{
    char email[256], password[MF_AUTH_PASSWORD_MAX + 2];
    char hash[MF_AUTH_HASH_MAX], err[256];
    const char *role = mf_opt_str(cli, "role");
    snprintf(email, sizeof(email), "%s", email_arg);
    if (strlen(email_arg) >= sizeof(email) || check_email(email) != 0) {
        mf_cli_usage_error(cli, "'%.60s' is not an email address", email_arg);
        return 2;
    }
    long len = read_password(password, sizeof(password));
    if (len < MF_AUTH_PASSWORD_MIN || len > MF_AUTH_PASSWORD_MAX) {
        mf_auth_wipe(password, sizeof(password));
        mf_error("the password on standard input must be one line of 10 to "
                 "1024 characters",
                 NULL);
        return 1;
    }
    if (mf_auth_init(1) != 0 ||
        mf_auth_hash_password(password, (size_t)len, hash) != 0) {
        mf_auth_wipe(password, sizeof(password));
        mf_error("cannot hash the password", NULL);
        return 1;
    }
    mf_auth_wipe(password, sizeof(password));

    struct mf_pg *pg = NULL;
    if (mf_pg_connect(mf_opt_str(cli, "pg-url"), "metriflow-admin", &pg, err,
                      sizeof(err)) != MF_PG_OK) {
        mf_error("cannot connect to PostgreSQL", "reason=\"%s\"", err);
        mf_auth_wipe(hash, sizeof(hash));
        return 1;
    }
    const char *params[] = {email, hash, role};
    struct mf_pg_res *r = NULL;
    int rc = 1;
    if (mf_pg_query(pg,
                    "INSERT INTO app_user (email, password_hash, role)"
                    " VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING"
                    " RETURNING id",
                    3, params, &r) != MF_PG_OK) {
        char q[160];
        mf_error("cannot create the user", "error=%s",
                 mf_log_q(q, sizeof(q), mf_pg_error(pg)));
    } else if (mf_pg_res_rows(r) != 1) {
        mf_error("a user with this email exists", "email=%s", email);
    } else {
        mf_info("user created", "id=%s email=%s role=%s",
                mf_pg_res_value(r, 0, 0), email, role);
        printf("%s\n", mf_pg_res_value(r, 0, 0));
        rc = 0;
    }
    mf_pg_res_free(r);
    mf_pg_close(pg);
    mf_auth_wipe(hash, sizeof(hash));
    return rc;
}

int
admin_user(struct mf_cli *cli)
{
    if (cli->nargs != 3 || strcmp(cli->args[1], "add") != 0) {
        mf_cli_usage_error(cli, "usage: user add EMAIL --role admin|viewer "
                                "(password on standard input)");
        return 2;
    }
    return user_add(cli, cli->args[2]);
}
