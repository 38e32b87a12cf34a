/* Unit tests of mf_config: sources and their precedence, validation,
 * error reporting, secrets, --help and --version. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mf_config.h"

#define SECRET_VALUE "s3cr3t-never-shown"

static struct mf_opt opts[] = {
    {"name", "MFT_NAME", MF_OPT_STR, "dflt", "TEXT", "a plain value", 0, 0, 0,
     NULL, NULL, NULL, 0},
    {"count", "MFT_COUNT", MF_OPT_INT, "5", "N", "a bounded integer", 0, 1, 100,
     NULL, NULL, NULL, 0},
    {"ratio", NULL, MF_OPT_NUM, "0.5", "F", "a bounded number", 0, 0, 1, NULL,
     NULL, NULL, 0},
    {"mode", "MFT_MODE", MF_OPT_STR, "admin", "MODE", "a choice", 0, 0, 0,
     "open|admin", NULL, NULL, 0},
    {"fast", NULL, MF_OPT_FLAG, NULL, NULL, "a switch", 0, 0, 0, NULL, NULL,
     NULL, 0},
    {"token", "MFT_TOKEN", MF_OPT_STR, NULL, "SECRET", "a secret",
     MF_OPT_SECRET, 0, 0, NULL, mf_check_secret32, NULL, 0},
    {"pin", "MFT_PIN", MF_OPT_INT, "1234", "N", "a secret number",
     MF_OPT_SECRET, 0, 9999, NULL, NULL, NULL, 0},
    {"need", "MFT_NEED", MF_OPT_STR, NULL, "X", "a required value",
     MF_OPT_REQUIRED, 0, 0, NULL, NULL, NULL, 0},
};

static struct mf_cli cli;
static char captured[16384];

static void
reset(void)
{
    static const char *const vars[] = {"MFT_NAME",  "MFT_COUNT", "MFT_MODE",
                                       "MFT_TOKEN", "MFT_PIN",   "MFT_NEED"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    memset(&cli, 0, sizeof(cli));
    cli.program = "mft";
    cli.usage = "[options] [ARG]";
    cli.description = "Test program.";
    cli.opts = opts;
    cli.nopts = sizeof(opts) / sizeof(opts[0]);
    cli.min_args = 0;
    cli.max_args = 1;
}

static int
setup(void **state)
{
    (void)state;
    reset();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    mf_cli_free(&cli);
    return 0;
}

/* Runs mf_cli_parse on a NULL-terminated list, with standard output and
 * standard error captured together into `captured`. */
static int
parse(const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    argv[argc++] = "mft";
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < 31;
         a = va_arg(ap, const char *))
        argv[argc++] = (char *)(uintptr_t)a;
    va_end(ap);
    argv[argc] = NULL;

    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stdout);
    fflush(stderr);
    int save_out = dup(1), save_err = dup(2);
    dup2(fileno(tmp), 1);
    dup2(fileno(tmp), 2);
    mf_cli_free(&cli);
    int rc = mf_cli_parse(&cli, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(save_out, 1);
    dup2(save_err, 2);
    close(save_out);
    close(save_err);
    rewind(tmp);
    size_t n = fread(captured, 1, sizeof(captured) - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
    return rc;
}

static const char *
write_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/mft_config_%d.conf", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void
test_defaults(void **state)
{
    (void)state;
    assert_int_equal(parse("--need", "x", NULL), MF_CLI_OK);
    assert_string_equal(mf_opt_str(&cli, "name"), "dflt");
    assert_int_equal(mf_opt_int(&cli, "count"), 5);
    assert_true(mf_opt_num(&cli, "ratio") == 0.5);
    assert_string_equal(mf_opt_str(&cli, "mode"), "admin");
    assert_int_equal(mf_opt_flag(&cli, "fast"), 0);
    assert_null(mf_opt_str(&cli, "token"));
    assert_false(mf_opt_is_set(&cli, "name"));
    assert_true(mf_opt_is_set(&cli, "need"));
    assert_string_equal(captured, "");
}

static void
test_precedence(void **state)
{
    (void)state;
    const char *file = write_file("# comment\n"
                                  "MFT_NAME = from-file\n"
                                  "count=7\n"
                                  "\n"
                                  "  mode=open\r\n"
                                  "need=file-need\n");

    /* The environment beats the default. */
    setenv("MFT_NAME", "from-env", 1);
    setenv("MFT_COUNT", "9", 1);
    setenv("MFT_NEED", "env-need", 1);
    assert_int_equal(parse(NULL), MF_CLI_OK);
    assert_string_equal(mf_opt_str(&cli, "name"), "from-env");
    assert_int_equal(mf_opt_int(&cli, "count"), 9);

    /* The file beats the environment, by either key spelling. */
    assert_int_equal(parse("--config", file, NULL), MF_CLI_OK);
    assert_string_equal(mf_opt_str(&cli, "name"), "from-file");
    assert_int_equal(mf_opt_int(&cli, "count"), 7);
    assert_string_equal(mf_opt_str(&cli, "mode"), "open");
    assert_string_equal(mf_opt_str(&cli, "need"), "file-need");

    /* A flag beats the file, wherever --config stands. */
    assert_int_equal(
        parse("--name", "from-flag", "--config", file, "--count=3", NULL),
        MF_CLI_OK);
    assert_string_equal(mf_opt_str(&cli, "name"), "from-flag");
    assert_int_equal(mf_opt_int(&cli, "count"), 3);
    assert_string_equal(mf_opt_str(&cli, "mode"), "open");
    unlink(file);
}

static void
test_flags_and_args(void **state)
{
    (void)state;
    assert_int_equal(parse("--need", "n", "--fast", "pos", NULL), MF_CLI_OK);
    assert_int_equal(mf_opt_flag(&cli, "fast"), 1);
    assert_int_equal(cli.nargs, 1);
    assert_string_equal(cli.args[0], "pos");
    assert_int_equal(parse("--need=n", "--fast=false", NULL), MF_CLI_OK);
    assert_int_equal(mf_opt_flag(&cli, "fast"), 0);
    /* "--" ends the options: what follows is an argument. */
    assert_int_equal(parse("--need", "n", "--", "--fast", NULL), MF_CLI_OK);
    assert_int_equal(mf_opt_flag(&cli, "fast"), 0);
    assert_string_equal(cli.args[0], "--fast");
    assert_int_equal(parse("--need", "n", "a", "b", NULL), MF_CLI_USAGE);
    assert_non_null(strstr(captured, "too many arguments"));
}

static void
test_validation(void **state)
{
    (void)state;
    assert_int_equal(parse("--need", "n", "--count", "101", NULL),
                     MF_CLI_USAGE);
    assert_non_null(strstr(captured, "--count: 101 is outside 1 to 100"));
    assert_int_equal(parse("--need", "n", "--count", "0", NULL), MF_CLI_USAGE);
    assert_int_equal(parse("--need", "n", "--count", "12x", NULL),
                     MF_CLI_USAGE);
    assert_non_null(strstr(captured, "--count: 12x is not a whole number"));
    assert_int_equal(parse("--need", "n", "--count", "", NULL), MF_CLI_USAGE);
    assert_int_equal(parse("--need", "n", "--count", "100", NULL), MF_CLI_OK);
    assert_int_equal(parse("--need", "n", "--ratio", "1.5", NULL),
                     MF_CLI_USAGE);
    assert_int_equal(parse("--need", "n", "--ratio", "nan", NULL),
                     MF_CLI_USAGE);
    assert_int_equal(parse("--need", "n", "--ratio", "0.25", NULL), MF_CLI_OK);
    assert_true(mf_opt_num(&cli, "ratio") == 0.25);
    assert_int_equal(parse("--need", "n", "--mode", "closed", NULL),
                     MF_CLI_USAGE);
    assert_non_null(
        strstr(captured, "--mode: closed is not one of open|admin"));
    assert_int_equal(parse("--need", "n", "--fast=maybe", NULL), MF_CLI_USAGE);
    /* The environment is validated like a flag. */
    setenv("MFT_MODE", "sometimes", 1);
    assert_int_equal(parse("--need", "n", NULL), MF_CLI_USAGE);
    assert_non_null(strstr(captured, "sometimes is not one of"));
}

static void
test_all_errors_together(void **state)
{
    (void)state;
    const char *file = write_file("count=500\nbogus=1\nno equals sign\n");
    assert_int_equal(parse("--count", "abc", "--mode", "x", "--nope", "-q",
                           "--config", file, "--name", NULL),
                     MF_CLI_USAGE);
    assert_non_null(strstr(captured, "--count: abc is not a whole number"));
    assert_non_null(strstr(captured, "--mode: x is not one of"));
    assert_non_null(strstr(captured, "unknown option --nope"));
    assert_non_null(strstr(captured, "unknown option -q"));
    assert_non_null(strstr(captured, "unknown setting bogus"));
    assert_non_null(strstr(captured, "expected KEY=value"));
    assert_non_null(strstr(captured, "--name needs a value"));
    assert_non_null(strstr(captured, "--need is required (or set MFT_NEED)"));
    assert_non_null(strstr(captured, "Usage: mft"));
    unlink(file);
    assert_int_equal(parse("--need", "n", "--config", "/nonexistent/f", NULL),
                     MF_CLI_USAGE);
    assert_non_null(strstr(captured, "cannot open config file"));
}

static void
test_secrets_never_echoed(void **state)
{
    (void)state;
    /* A bad secret: the error names the option, never the value. */
    assert_int_equal(parse("--need", "n", "--token", SECRET_VALUE, NULL),
                     MF_CLI_USAGE);
    assert_non_null(strstr(captured, "--token"));
    assert_null(strstr(captured, SECRET_VALUE));
    setenv("MFT_PIN", SECRET_VALUE, 1);
    assert_int_equal(parse("--need", "n", NULL), MF_CLI_USAGE);
    assert_non_null(strstr(captured, "--pin: (hidden) is not a whole number"));
    assert_null(strstr(captured, SECRET_VALUE));
    unsetenv("MFT_PIN");
    /* A good one is accepted and returned. */
    setenv("MFT_TOKEN", SECRET_VALUE SECRET_VALUE, 1);
    assert_int_equal(parse("--need", "n", NULL), MF_CLI_OK);
    assert_string_equal(mf_opt_str(&cli, "token"), SECRET_VALUE SECRET_VALUE);
    /* --help shows no secret default nor value. */
    assert_int_equal(parse("--help", NULL), MF_CLI_EXIT);
    assert_null(strstr(captured, "1234"));
    assert_null(strstr(captured, SECRET_VALUE));
}

static void
test_help_version(void **state)
{
    (void)state;
    /* Both exit (0 for the program) even when required values are missing
     * or other arguments are wrong. */
    assert_int_equal(parse("--help", NULL), MF_CLI_EXIT);
    assert_non_null(strstr(captured, "Usage: mft [options] [ARG]"));
    assert_non_null(strstr(captured, "--count N"));
    assert_non_null(strstr(captured, "[env MFT_COUNT]"));
    assert_non_null(strstr(captured, "[default 5]"));
    assert_non_null(strstr(captured, "(open|admin)"));
    assert_non_null(strstr(captured, "--need X"));
    assert_non_null(strstr(captured, "[required]"));
    assert_int_equal(parse("--version", NULL), MF_CLI_EXIT);
    assert_non_null(strstr(captured, "mft " MF_VERSION));
    assert_int_equal(parse("--count", "zzz", "--version", NULL), MF_CLI_EXIT);
    /* Nothing stays allocated after an exit or a usage error. */
    assert_null(cli.args);
    assert_int_equal(parse("--nope", NULL), MF_CLI_USAGE);
    assert_null(cli.args);
}

static void
test_usage_error_helper(void **state)
{
    (void)state;
    assert_int_equal(parse("--need", "n", NULL), MF_CLI_OK);
    fflush(stderr);
    FILE *tmp = tmpfile();
    int save = dup(2);
    dup2(fileno(tmp), 2);
    mf_cli_usage_error(&cli, "unknown command '%s'", "frob");
    fflush(stderr);
    dup2(save, 2);
    close(save);
    rewind(tmp);
    size_t n = fread(captured, 1, sizeof(captured) - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
    assert_non_null(strstr(captured, "mft: unknown command 'frob'"));
    assert_non_null(strstr(captured, "Try 'mft --help'."));
}

static void
test_secret32(void **state)
{
    (void)state;
    char why[80];
    assert_int_equal(
        mf_check_secret32("0123456789abcdef0123456789abcdef", why, sizeof(why)),
        0);
    assert_int_equal(
        mf_check_secret32("0123456789abcdef0123456789abcde", why, sizeof(why)),
        -1);
    assert_non_null(strstr(why, "32 bytes"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags_and_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_errors_together, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_secrets_never_echoed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_help_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_error_helper, setup,
                                        teardown),
        cmocka_unit_test(test_secret32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
