/*
 * mf_config: command lines, environment and configuration files, as one
 * typed table per program.
 *
 * A value comes from, lowest precedence first: the default, the environment
 * variable, the file named by --config (lines "KEY=value", KEY being either
 * the environment name or the flag name; '#' starts a comment), then the
 * command-line flag. Every value is validated at start and every error is
 * reported together, before the program does anything else.
 */
#ifndef MF_CONFIG_H
#define MF_CONFIG_H

#include <stddef.h>

enum mf_opt_kind {
    MF_OPT_STR,  /* any text */
    MF_OPT_INT,  /* a decimal integer within [min, max] */
    MF_OPT_NUM,  /* a decimal number within [min, max] */
    MF_OPT_FLAG, /* takes no value on the command line; "1/0/true/false" */
};

#define MF_OPT_SECRET   0x1u /* never printed; help shows no value */
#define MF_OPT_REQUIRED 0x2u /* an error when no source supplies it */

struct mf_opt {
    const char *name; /* long flag without "--", e.g. "pg-url" */
    const char *env;  /* environment and file key, or NULL */
    enum mf_opt_kind kind;
    const char *def; /* default as text, or NULL */
    const char *arg; /* value placeholder in --help, e.g. "URL" */
    const char *help;
    unsigned flags;
    double min, max;     /* MF_OPT_INT and MF_OPT_NUM bounds */
    const char *choices; /* "ga|psi": the value must be one of these */
    /* Optional extra check: returns 0, or -1 and writes a reason. */
    int (*check)(const char *value, char *why, size_t n);

    /* Set by mf_cli_parse. */
    const char *value; /* NULL when unset and without default */
    int source;        /* 0 default, 1 environment, 2 file, 3 flag */
};

struct mf_cli {
    const char *program;     /* "metriflow-ingest" */
    const char *usage;       /* after the program name in usage lines */
    const char *description; /* a paragraph for --help */
    struct mf_opt *opts;
    size_t nopts;
    int min_args, max_args; /* positional arguments; max_args -1: any */

    /* Set by mf_cli_parse: positional arguments, in order. */
    char **args;
    int nargs;
};

enum { MF_CLI_OK = 0, MF_CLI_EXIT = 1, MF_CLI_USAGE = 2 };

/*
 * Parses argv against cli->opts. Handles --help and --version (printing to
 * standard output: MF_CLI_EXIT) and --config FILE. On errors prints every one
 * to standard error with a usage line and returns MF_CLI_USAGE. On MF_CLI_OK
 * cli->args points into argv (the array is freed with mf_cli_free); on the
 * other results nothing stays allocated (calling mf_cli_free is harmless).
 */
int mf_cli_parse(struct mf_cli *cli, int argc, char **argv);

/* Releases what mf_cli_parse allocated. */
void mf_cli_free(struct mf_cli *cli);

/* Typed accessors by flag name. Unknown names abort (a programming error).
 * mf_opt_str returns NULL when unset. */
const char *mf_opt_str(const struct mf_cli *cli, const char *name);
long long mf_opt_int(const struct mf_cli *cli, const char *name);
double mf_opt_num(const struct mf_cli *cli, const char *name);
int mf_opt_flag(const struct mf_cli *cli, const char *name);
int mf_opt_is_set(const struct mf_cli *cli, const char *name);

/* Sets up mf_log from the "log" option (info when absent). */
void mf_cli_init_log(const struct mf_cli *cli, const char *component);

/* Prints the usage line to standard error, for programs that find bad
 * usage after parsing (unknown sub-command, for example). */
void mf_cli_usage_error(const struct mf_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Checks for the JWT secret: at least 32 bytes. */
int mf_check_secret32(const char *value, char *why, size_t n);

/* The shared options of operations.md. */
#define MF_OPT_PG_URL                                                          \
    {                                                                          \
        "pg-url", "METRIFLOW_PG_URL", MF_OPT_STR, "postgresql:///metriflow",   \
            "URL", "libpq connection string", MF_OPT_SECRET, 0, 0, NULL, NULL, \
            NULL, 0                                                            \
    }
#define MF_OPT_AMQP_URL                                                        \
    {                                                                          \
        "amqp-url", "METRIFLOW_AMQP_URL", MF_OPT_STR,                          \
            "amqp://guest:guest@127.0.0.1:5672/", "URL", "RabbitMQ URL",       \
            MF_OPT_SECRET, 0, 0, NULL, NULL, NULL, 0                           \
    }
#define MF_OPT_REDIS_URL                                                       \
    {                                                                          \
        "redis-url", "METRIFLOW_REDIS_URL", MF_OPT_STR,                        \
            "redis://127.0.0.1:6379/0", "URL", "Redis URL", MF_OPT_SECRET, 0,  \
            0, NULL, NULL, NULL, 0                                             \
    }
#define MF_OPT_HTTP_ADDR                                                       \
    {                                                                          \
        "http-addr", "METRIFLOW_HTTP_ADDR", MF_OPT_STR, "127.0.0.1:8080",      \
            "HOST:PORT", "API listen address", 0, 0, 0, NULL, NULL, NULL, 0    \
    }
#define MF_OPT_JWT_SECRET                                                      \
    {                                                                          \
        "jwt-secret", "METRIFLOW_JWT_SECRET", MF_OPT_STR, NULL, "SECRET",      \
            "HS256 signing secret, at least 32 bytes",                         \
            MF_OPT_SECRET | MF_OPT_REQUIRED, 0, 0, NULL, mf_check_secret32,    \
            NULL, 0                                                            \
    }
#define MF_OPT_REGISTRATION                                                    \
    {                                                                          \
        "registration", "METRIFLOW_REGISTRATION", MF_OPT_STR, "admin", "MODE", \
            "who may register users", 0, 0, 0, "open|admin", NULL, NULL, 0     \
    }
#define MF_OPT_LOG                                                             \
    {                                                                          \
        "log", "METRIFLOW_LOG", MF_OPT_STR, "info", "LEVEL", "log level", 0,   \
            0, 0, "debug|info|warn|error", NULL, NULL, 0                       \
    }

#endif
