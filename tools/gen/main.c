/*
 * metriflow-gen: writes ga or psi records (records.md) fast and
 * deterministically, with chosen shares of late, duplicate, corrected and
 * invalid records. See docs/GENERATOR.md.
 */
#include "gen.h"
#include "out.h"
#include "par.h"
#include "mf_config.h"
#include "mf_log.h"
#include "mf_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 4096 /* the stream's opening and closing */

static int
check_start(const char *v, char *why, size_t n)
{
    int64_t days;
    if (mf_time_parse_date(v, strlen(v), &days) != 0 || days < 0 ||
        days >= MF_TS_END_SEC / 86400) {
        snprintf(why, n, "%.40s is not a date YYYY-MM-DD from 1970 to 2199", v);
        return -1;
    }
    return 0;
}

static struct mf_opt opts[] = {
    {"source", NULL, MF_OPT_STR, NULL, "KIND", "record kind", MF_OPT_REQUIRED,
     0, 0, "ga|psi", NULL, NULL, 0},
    {"records", NULL, MF_OPT_INT, NULL, "N",
     "records to write, every kind included", MF_OPT_REQUIRED, 0, 1e13, NULL,
     NULL, NULL, 0},
    {"pages", NULL, MF_OPT_INT, "100", "N", "pages of the grid", 0, 1, 1e6,
     NULL, NULL, NULL, 0},
    {"sites", NULL, MF_OPT_INT, "5", "N",
     "sites the pages are spread over (at most --pages)", 0, 1, 1e4, NULL, NULL,
     NULL, 0},
    {"start", NULL, MF_OPT_STR, "2026-01-01", "YYYY-MM-DD",
     "first hour of the grid (00:00 UTC of that day)", 0, 0, 0, NULL,
     check_start, NULL, 0},
    {"seed", NULL, MF_OPT_INT, "1", "N", "seed of every random choice", 0, 0,
     9007199254740991.0, NULL, NULL, NULL, 0},
    {"format", NULL, MF_OPT_STR, "ndjson", "FRAMING", "stream framing", 0, 0, 0,
     "ndjson|array", NULL, NULL, 0},
    {"gzip", NULL, MF_OPT_FLAG, NULL, NULL, "compress the output with gzip", 0,
     0, 0, NULL, NULL, NULL, 0},
    {"late", NULL, MF_OPT_NUM, "0", "F",
     "share of grid records written after a later hour", 0, 0, 1, NULL, NULL,
     NULL, 0},
    {"duplicates", NULL, MF_OPT_NUM, "0", "F",
     "share of exact repeats of an earlier record", 0, 0, 1, NULL, NULL, NULL,
     0},
    {"corrections", NULL, MF_OPT_NUM, "0", "F",
     "share of earlier records repeated with new values", 0, 0, 1, NULL, NULL,
     NULL, 0},
    {"invalid", NULL, MF_OPT_NUM, "0", "F",
     "share of records that break one rule", 0, 0, 1, NULL, NULL, NULL, 0},
    {"output", NULL, MF_OPT_STR, NULL, "FILE",
     "write to FILE instead of standard output (also -o FILE)", 0, 0, 0, NULL,
     NULL, NULL, 0},
    MF_OPT_LOG,
};

static const char description[] =
    "Writes N analytics records of one kind (records.md), the same bytes for "
    "the same arguments.\n"
    "\n"
    "The grid: record k is for page k mod --pages at hour --start + k div "
    "--pages, so every page gets one record per hour. Pages are spread over "
    "--sites host names (shop0.example, blog1.example, ...); the grid "
    "depends only on --seed, --pages, --sites and --start, so ga and psi "
    "runs with one seed cover the same pages and hours. Records vary in "
    "spelling (ts as UTC, with an offset, with fractional seconds or as Unix "
    "seconds; page as a path, with a trailing slash, or as an http(s) URL "
    "with upper-case host, query and fragment; optional members absent; "
    "unknown members to ignore), never in meaning.\n"
    "\n"
    "Shares F (0 to 1) of N, each written exactly floor(F*N + 0.5) times:\n"
    "  --late         grid records written after a record of a later hour, "
    "new identities\n"
    "  --duplicates   repeats of an earlier valid record: same identity and "
    "values (spelling may differ)\n"
    "  --corrections  an earlier valid identity with different values: the "
    "later one wins\n"
    "  --invalid      records breaking exactly one rule, cycling through "
    "about 40 rules; with ndjson some are malformed JSON lines, with array "
    "only semantic errors (a syntax error would end an array stream)\n"
    "Grid records are N minus duplicates, corrections and invalid; late ones "
    "are among them. Feed the output to metriflow-ingest with --source.\n"
    "\n"
    "Progress goes to standard error when it is a terminal; a one-line "
    "summary always ends the run.";

/* libs/config reads long options only: -o FILE becomes --output FILE. */
static char **
expand_short(int argc, char **argv, char **spare)
{
    char **out = calloc((size_t)argc + 1, sizeof(char *));
    if (out == NULL)
        return NULL;
    *spare = NULL;
    for (int i = 0, args_only = 0; i < argc; i++) {
        out[i] = argv[i];
        if (i == 0 || args_only)
            continue;
        if (strcmp(argv[i], "--") == 0)
            args_only = 1;
        else if (strcmp(argv[i], "-o") == 0)
            out[i] = "--output";
        else if (strncmp(argv[i], "-o", 2) == 0 && *spare == NULL) {
            size_t n = strlen(argv[i]) + sizeof("--output=");
            *spare = malloc(n);
            if (*spare == NULL) {
                free(out);
                return NULL;
            }
            snprintf(*spare, n, "--output=%s", argv[i] + 2);
            out[i] = *spare;
        }
    }
    return out;
}

struct run {
    struct gen *g;
    struct gen_par *par;
    struct out *o;
    char *buf;
    uint64_t records, bytes;
    double t0;
};

static void
progress(const struct run *r, int final)
{
    double el = mf_time_mono_s() - r->t0;
    fprintf(stderr, "\rmetriflow-gen: %llu records, %.2f M records/s, %.1f s%s",
            (unsigned long long)r->records,
            el > 0 ? (double)r->records / el / 1e6 : 0.0, el,
            final ? "\n" : "");
}

/* Writes the whole stream. Returns 0, or -1 with err set. */
static int
generate(struct run *r, char *err, size_t errlen)
{
    int tty = isatty(STDERR_FILENO);
    double last = r->t0;
    struct gen_piece pieces[GEN_PAR_MAX];
    int npieces;
    uint64_t n;
    size_t len = gen_begin(r->g, r->buf);

    if (out_write(r->o, r->buf, len, err, errlen) != 0)
        return -1;
    r->bytes += len;
    for (;;) {
        if (gen_par_next(r->par, pieces, &npieces, &n) != 0) {
            snprintf(err, errlen, "out of memory for late records");
            return -1;
        }
        if (n == 0)
            break;
        for (int i = 0; i < npieces; i++) {
            if (out_write(r->o, pieces[i].buf, pieces[i].len, err, errlen))
                return -1;
            r->bytes += pieces[i].len;
        }
        r->records += n;
        if (tty && mf_time_mono_s() - last > 0.5) {
            last = mf_time_mono_s();
            progress(r, 0);
        }
    }
    len = gen_end(r->g, r->buf);
    if (out_write(r->o, r->buf, len, err, errlen) != 0)
        return -1;
    r->bytes += len;
    if (tty)
        progress(r, 1);
    return 0;
}

/* One writer thread per online core, up to GEN_PAR_MAX. */
static int
writer_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > GEN_PAR_MAX ? GEN_PAR_MAX : (int)n;
}

/* Reads the parsed options into engine parameters. */
static void
params(const struct mf_cli *cli, struct gen_params *p)
{
    const char *start = mf_opt_str(cli, "start");
    memset(p, 0, sizeof(*p));
    p->psi = strcmp(mf_opt_str(cli, "source"), "psi") == 0;
    p->array = strcmp(mf_opt_str(cli, "format"), "array") == 0;
    p->records = (uint64_t)mf_opt_int(cli, "records");
    p->pages = (uint64_t)mf_opt_int(cli, "pages");
    p->sites = (uint64_t)mf_opt_int(cli, "sites");
    /* The default number of sites shrinks to fit a small grid. */
    if (!mf_opt_is_set(cli, "sites") && p->sites > p->pages)
        p->sites = p->pages;
    p->seed = (uint64_t)mf_opt_int(cli, "seed");
    mf_time_parse_date(start, strlen(start), &p->start_day);
    p->late = mf_opt_num(cli, "late");
    p->duplicates = mf_opt_num(cli, "duplicates");
    p->corrections = mf_opt_num(cli, "corrections");
    p->invalid = mf_opt_num(cli, "invalid");
}

int
main(int argc, char **argv)
{
    struct mf_cli cli = {
        .program = "metriflow-gen",
        .usage = "--source ga|psi --records N [--pages N] [--sites N] "
                 "[--start YYYY-MM-DD] [--seed N] [--format ndjson|array] "
                 "[--gzip] [--late F] [--duplicates F] [--corrections F] "
                 "[--invalid F] [-o FILE]",
        .description = description,
        .opts = opts,
        .nopts = sizeof(opts) / sizeof(opts[0]),
        .min_args = 0,
        .max_args = 0,
    };
    struct run r = {0};
    struct gen_params p;
    struct gen_counts c;
    char err[512], *spare = NULL;
    int rc = 2;

    char **av = expand_short(argc, argv, &spare);
    if (av == NULL) {
        fprintf(stderr, "metriflow-gen: out of memory\n");
        return 1;
    }
    int prc = mf_cli_parse(&cli, argc, av);
    if (prc != MF_CLI_OK) {
        rc = prc == MF_CLI_EXIT ? 0 : 2;
        goto out;
    }
    mf_cli_init_log(&cli, "gen");
    params(&cli, &p);
    if (gen_new(&p, &r.g, err, sizeof(err)) != 0) {
        mf_cli_usage_error(&cli, "%s", err);
        goto out;
    }
    rc = 1;
    if (out_open(mf_opt_str(&cli, "output"), mf_opt_flag(&cli, "gzip"), &r.o,
                 err, sizeof(err)) != 0) {
        mf_error("cannot open the output", "error=\"%s\"", err);
        goto out;
    }
    r.buf = malloc(BUF_SIZE);
    if (r.buf == NULL) {
        mf_error("out of memory", NULL);
        goto out;
    }
    if (gen_par_new(r.g, writer_threads(), &r.par, err, sizeof(err)) != 0) {
        mf_error("cannot set up the writers", "error=\"%s\"", err);
        goto out;
    }
    r.t0 = mf_time_mono_s();
    if (generate(&r, err, sizeof(err)) != 0) {
        mf_error("generation failed", "error=\"%s\"", err);
        goto out;
    }
    struct out *o = r.o;
    uint64_t written = 0;
    r.o = NULL;
    if (out_close(o, &written, err, sizeof(err)) != 0) {
        mf_error("cannot finish the output", "error=\"%s\"", err);
        goto out;
    }
    double el = mf_time_mono_s() - r.t0;
    gen_done(r.g, &c);
    mf_info("done",
            "source=%s format=%s records=%llu grid=%llu late=%llu "
            "duplicates=%llu corrections=%llu invalid=%llu bytes=%llu "
            "written=%llu elapsed_s=%.3f records_per_s=%.0f",
            p.psi ? "psi" : "ga", p.array ? "array" : "ndjson",
            (unsigned long long)r.records, (unsigned long long)c.base,
            (unsigned long long)c.late, (unsigned long long)c.duplicates,
            (unsigned long long)c.corrections, (unsigned long long)c.invalid,
            (unsigned long long)r.bytes, (unsigned long long)written, el,
            el > 0 ? (double)r.records / el : 0.0);
    rc = 0;
out:
    if (r.o != NULL)
        out_close(r.o, NULL, err, sizeof(err));
    free(r.buf);
    gen_par_free(r.par);
    gen_free(r.g);
    mf_cli_free(&cli);
    free(av);
    free(spare);
    return rc;
}
