#include "mf_config.h"
#include "mf_log.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 32

/* Errors collected during one parse, reported together. */
struct errs {
    char msg[MAX_ERRORS][256];
    int n;
};

static void add_err(struct errs *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
add_err(struct errs *e, const char *fmt, ...)
{
    va_list ap;
    if (e->n >= MAX_ERRORS)
        return;
    va_start(ap, fmt);
    vsnprintf(e->msg[e->n++], sizeof(e->msg[0]), fmt, ap);
    va_end(ap);
}

/* Configuration-file text stays alive for the whole run: values point in. */
static char *file_text;

static struct mf_opt *
find_opt(struct mf_opt *opts, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        const char *k = opts[i].name;
        if (strlen(k) == len && strncmp(k, name, len) == 0)
            return &opts[i];
        k = opts[i].env;
        if (k != NULL && strlen(k) == len && strncmp(k, name, len) == 0)
            return &opts[i];
    }
    return NULL;
}

static const struct mf_opt *
lookup(const struct mf_cli *cli, const char *name)
{
    struct mf_opt *o = find_opt(cli->opts, cli->nopts, name, strlen(name));
    if (o == NULL) {
        fprintf(stderr, "BUG: option %s is not declared\n", name);
        abort();
    }
    return o;
}

static void
print_help(const struct mf_cli *cli)
{
    printf("Usage: %s %s\n\n%s\n\nOptions:\n", cli->program, cli->usage,
           cli->description);
    for (size_t i = 0; i < cli->nopts; i++) {
        const struct mf_opt *o = &cli->opts[i];
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name,
                 o->kind == MF_OPT_FLAG ? "" : " ",
                 o->kind == MF_OPT_FLAG ? "" : (o->arg ? o->arg : "VALUE"));
        printf("  %-28s %s", left, o->help);
        if (o->choices != NULL)
            printf(" (%s)", o->choices);
        if (o->env != NULL)
            printf(" [env %s]", o->env);
        if (o->def != NULL && !(o->flags & MF_OPT_SECRET))
            printf(" [default %s]", o->def);
        if (o->flags & MF_OPT_REQUIRED)
            printf(" [required]");
        printf("\n");
    }
    printf("  %-28s %s\n", "--config FILE",
           "read KEY=value settings from FILE");
    printf("  %-28s %s\n", "--help", "show this help and exit");
    printf("  %-28s %s\n", "--version", "show the version and exit");
}

/* Reads --config FILE into the option table (source 2). */
static void
load_file(struct mf_cli *cli, const char *path, struct errs *e)
{
    FILE *f = fopen(path, "r");
    long size;
    if (f == NULL) {
        add_err(e, "cannot open config file %s: %s", path, strerror(errno));
        return;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        size > 1024 * 1024 || fseek(f, 0, SEEK_SET) != 0) {
        add_err(e, "config file %s is unreadable or over 1 MiB", path);
        fclose(f);
        return;
    }
    free(file_text);
    file_text = calloc(1, (size_t)size + 1);
    if (file_text == NULL ||
        fread(file_text, 1, (size_t)size, f) != (size_t)size) {
        add_err(e, "cannot read config file %s", path);
        fclose(f);
        return;
    }
    fclose(f);

    int lineno = 0;
    for (char *line = file_text, *next; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '#' || *line == '\0' || *line == '\r')
            continue;
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            add_err(e, "%s:%d: expected KEY=value", path, lineno);
            continue;
        }
        char *end = eq;
        while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        char *val = eq + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        size_t vl = strlen(val);
        while (vl > 0 && (val[vl - 1] == '\r' || val[vl - 1] == ' '))
            val[--vl] = '\0';
        struct mf_opt *o =
            find_opt(cli->opts, cli->nopts, line, (size_t)(end - line));
        if (o == NULL) {
            add_err(e, "%s:%d: unknown setting %.*s", path, lineno,
                    (int)(end - line), line);
            continue;
        }
        if (o->source <= 2) {
            o->value = val;
            o->source = 2;
        }
    }
}

static int
parse_bool(const char *v)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ||
        strcmp(v, "yes") == 0 || strcmp(v, "on") == 0)
        return 1;
    if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 ||
        strcmp(v, "no") == 0 || strcmp(v, "off") == 0 || v[0] == '\0')
        return 0;
    return -1;
}

static int
in_choices(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    for (const char *p = choices; *p != '\0';) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == vl && strncmp(p, v, l) == 0)
            return 1;
        if (bar == NULL)
            break;
        p = bar + 1;
    }
    return 0;
}

/* Validates one option's final value, adding errors to e. */
static void
validate(const struct mf_opt *o, struct errs *e)
{
    const char *v = o->value;
    char why[160];

    if (v == NULL) {
        if ((o->flags & MF_OPT_REQUIRED) && o->env != NULL)
            add_err(e, "--%s is required (or set %s)", o->name, o->env);
        else if (o->flags & MF_OPT_REQUIRED)
            add_err(e, "--%s is required", o->name);
        return;
    }
    /* Secrets are never echoed back, not even in an error. */
    const char *shown = (o->flags & MF_OPT_SECRET) ? "(hidden)" : v;
    if (o->kind == MF_OPT_INT || o->kind == MF_OPT_NUM) {
        char *end;
        errno = 0;
        double d = o->kind == MF_OPT_INT ? (double)strtoll(v, &end, 10)
                                         : strtod(v, &end);
        if (*v == '\0' || *end != '\0' || errno != 0 || !isfinite(d))
            add_err(e, "--%s: %s is not a %s", o->name, shown,
                    o->kind == MF_OPT_INT ? "whole number" : "number");
        else if ((o->min != 0 || o->max != 0) && (d < o->min || d > o->max))
            add_err(e, "--%s: %s is outside %g to %g", o->name, shown, o->min,
                    o->max);
    } else if (o->kind == MF_OPT_FLAG && parse_bool(v) < 0) {
        add_err(e, "--%s: %s is not true or false", o->name, shown);
    }
    if (o->choices != NULL && !in_choices(o->choices, v))
        add_err(e, "--%s: %s is not one of %s", o->name, shown, o->choices);
    if (o->check != NULL && o->check(v, why, sizeof(why)) != 0)
        add_err(e, "--%s: %s", o->name, why);
}

/* Handles one "--name[=value]" at argv[*i]; may consume argv[*i + 1]. */
static void
parse_flag(struct mf_cli *cli, int argc, char **argv, int *i,
           const char **config_path, struct errs *e)
{
    const char *a = argv[*i] + 2;
    const char *eq = strchr(a, '=');
    size_t nl = eq ? (size_t)(eq - a) : strlen(a);
    const char *val = eq ? eq + 1 : NULL;

    if (nl == 6 && strncmp(a, "config", 6) == 0) {
        if (val == NULL && *i + 1 < argc)
            val = argv[++*i];
        if (val == NULL)
            add_err(e, "--config needs a file name");
        else
            *config_path = val;
        return;
    }
    struct mf_opt *o = find_opt(cli->opts, cli->nopts, a, nl);
    if (o == NULL || strncmp(o->name, a, nl) != 0) {
        add_err(e, "unknown option --%.*s", (int)(nl > 64 ? 64 : nl), a);
        return;
    }
    if (o->kind == MF_OPT_FLAG) {
        o->value = val ? val : "1";
    } else {
        if (val == NULL && *i + 1 < argc)
            val = argv[++*i];
        if (val == NULL) {
            add_err(e, "--%s needs a value", o->name);
            return;
        }
        o->value = val;
    }
    o->source = 3;
}

int
mf_cli_parse(struct mf_cli *cli, int argc, char **argv)
{
    struct errs e = {.n = 0};
    const char *config_path = NULL;

    cli->args = calloc((size_t)argc + 1, sizeof(char *));
    cli->nargs = 0;
    if (cli->args == NULL) {
        fprintf(stderr, "%s: out of memory\n", cli->program);
        return MF_CLI_USAGE;
    }

    /* Defaults, then the environment. */
    for (size_t i = 0; i < cli->nopts; i++) {
        struct mf_opt *o = &cli->opts[i];
        const char *env = o->env ? getenv(o->env) : NULL;
        o->value = o->def;
        o->source = 0;
        if (env != NULL && env[0] != '\0') {
            o->value = env;
            o->source = 1;
        }
    }

    /* Flags and positional arguments, in any order; "--" ends flags. */
    int only_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_args && strcmp(a, "--help") == 0) {
            print_help(cli);
            mf_cli_free(cli);
            return MF_CLI_EXIT;
        }
        if (!only_args && strcmp(a, "--version") == 0) {
            printf("%s %s\n", cli->program, MF_VERSION);
            mf_cli_free(cli);
            return MF_CLI_EXIT;
        }
        if (!only_args && strcmp(a, "--") == 0)
            only_args = 1;
        else if (!only_args && strncmp(a, "--", 2) == 0)
            parse_flag(cli, argc, argv, &i, &config_path, &e);
        else if (!only_args && a[0] == '-' && a[1] != '\0')
            add_err(&e, "unknown option %.64s", a);
        else
            cli->args[cli->nargs++] = argv[i];
    }

    /* The file fills what no flag set. */
    if (config_path != NULL)
        load_file(cli, config_path, &e);

    for (size_t i = 0; i < cli->nopts; i++)
        validate(&cli->opts[i], &e);
    if (cli->nargs < cli->min_args)
        add_err(&e, "missing arguments");
    if (cli->max_args >= 0 && cli->nargs > cli->max_args)
        add_err(&e, "too many arguments");

    if (e.n > 0) {
        for (int i = 0; i < e.n; i++)
            fprintf(stderr, "%s: %s\n", cli->program, e.msg[i]);
        fprintf(stderr, "Usage: %s %s\nTry '%s --help'.\n", cli->program,
                cli->usage, cli->program);
        mf_cli_free(cli);
        return MF_CLI_USAGE;
    }
    return MF_CLI_OK;
}

void
mf_cli_free(struct mf_cli *cli)
{
    free(cli->args);
    cli->args = NULL;
    cli->nargs = 0;
}

void
mf_cli_usage_error(const struct mf_cli *cli, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cli->program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nUsage: %s %s\nTry '%s --help'.\n", cli->program,
            cli->usage, cli->program);
}

const char *
mf_opt_str(const struct mf_cli *cli, const char *name)
{
    return lookup(cli, name)->value;
}

long long
mf_opt_int(const struct mf_cli *cli, const char *name)
{
    const char *v = lookup(cli, name)->value;
    return v ? strtoll(v, NULL, 10) : 0;
}

double
mf_opt_num(const struct mf_cli *cli, const char *name)
{
    const char *v = lookup(cli, name)->value;
    return v ? strtod(v, NULL) : 0.0;
}

int
mf_opt_flag(const struct mf_cli *cli, const char *name)
{
    const char *v = lookup(cli, name)->value;
    return v ? parse_bool(v) == 1 : 0;
}

int
mf_opt_is_set(const struct mf_cli *cli, const char *name)
{
    return lookup(cli, name)->source > 0;
}

void
mf_cli_init_log(const struct mf_cli *cli, const char *component)
{
    enum mf_log_level lvl = MF_LOG_INFO;
    struct mf_opt *o = find_opt(cli->opts, cli->nopts, "log", 3);
    if (o != NULL && o->value != NULL)
        mf_log_parse_level(o->value, &lvl);
    mf_log_init(component, lvl);
}

int
mf_check_secret32(const char *value, char *why, size_t n)
{
    if (strlen(value) < 32) {
        snprintf(why, n, "the secret must be at least 32 bytes long");
        return -1;
    }
    return 0;
}
