/*
 * gen.h: the record engine of metriflow-gen. It decides, record by record,
 * what comes next (a grid record in time order, a late one, a duplicate, a
 * correction or an invalid record) and writes its text; the caller owns
 * framing-independent output (files, gzip).
 */
#ifndef GEN_H
#define GEN_H

#include <stddef.h>
#include <stdint.h>

/* The longest text gen_next writes for one record, framing included. */
#define GEN_MAX_RECORD 8192

struct gen_params {
    int psi;   /* 0: ga records, 1: psi records */
    int array; /* 0: NDJSON, 1: one top-level array */
    uint64_t records, pages, sites, seed;
    int64_t start_day;                             /* days since 1970-01-01 */
    double late, duplicates, corrections, invalid; /* shares of records */
};

/* What a run writes, by kind; base counts the grid records (late included). */
struct gen_counts {
    uint64_t records, base, late, duplicates, corrections, invalid;
};

struct gen;

/*
 * Plans a run: checks that the shares fit together and allocates the page
 * table. Returns 0 and a new engine in *out (free with gen_free), or -1 with
 * a reason for the user in err (a usage error: nothing is allocated).
 */
int gen_new(const struct gen_params *p, struct gen **out, char *err,
            size_t errlen);

/* The planned counts of a run (the same before and after it). */
void gen_planned(const struct gen *g, struct gen_counts *c);

/* The counts written so far; equal to the plan once gen_next returned 0. */
void gen_done(const struct gen *g, struct gen_counts *c);

/* Writes the opening of the stream ("[" for an array) at buf; returns the
 * bytes written (buf has GEN_MAX_RECORD bytes free). */
size_t gen_begin(struct gen *g, char *buf);

/*
 * Writes the next record, with its framing, at buf (GEN_MAX_RECORD bytes
 * free). Returns the bytes written, or 0 when every record has been written.
 */
size_t gen_next(struct gen *g, char *buf);

/* Writes the end of the stream ("]" for an array). */
size_t gen_end(struct gen *g, char *buf);

/* Frees an engine; NULL is allowed. */
void gen_free(struct gen *g);

#endif
