/*
 * gen_int.h: the engine's internal state, shared by gen.c (grid, schedule,
 * valid records) and invalid.c (records that break one rule).
 */
#ifndef GEN_INT_H
#define GEN_INT_H

#include "gen.h"

#include <stdint.h>

#define PATH_MAX_LEN 63 /* longest generated path, in bytes */
#define SITE_MAX_LEN 31
#define RING_SIZE    4096 /* recent records duplicates and corrections pick */
#define NVALS        6

/* A site: lower-case host name and a mixed-case spelling of it. */
struct site {
    char name[SITE_MAX_LEN + 1];
    char mixed[SITE_MAX_LEN + 1];
    uint8_t len;
};

/* A page of the grid: its site, its normalised path, its popularity. */
struct page {
    char path[PATH_MAX_LEN + 1];
    uint8_t path_len;
    uint8_t ascii; /* 1 when the path is plain ASCII */
    uint32_t site;
    uint32_t pop; /* 1 .. 1000: scales the traffic of the page */
};

/* A number as mant / 10^dec; form 1 or 2 writes "mant e-dec" ('e'/'E'). */
struct num {
    uint64_t mant;
    uint8_t dec;
    uint8_t form;
};

/*
 * The values of one record. GA: users, sessions, views, bounces,
 * duration_s. PSI: performance_score, lcp_ms, cls, inp_ms, fcp_ms,
 * ttfb_ms. Bit i of present says whether member i is written.
 */
struct vals {
    unsigned present;
    struct num f[NVALS];
};

enum { GA_USERS, GA_SESSIONS, GA_VIEWS, GA_BOUNCES, GA_DURATION };
enum { PSI_SCORE, PSI_LCP, PSI_CLS, PSI_INP, PSI_FCP, PSI_TTFB };

struct late_item {
    uint64_t release; /* grid hour from which it may be written */
    uint64_t k;
};

struct ring_item {
    uint64_t k;
    uint64_t version; /* 0: the grid values; n: the n-th correction */
};

/* What one slot of the stream holds, decided in order by gen_plan_one;
 * writing it (gen_write_item) needs nothing else, so several writers can
 * work on consecutive items at once. */
enum { ITEM_BASE, ITEM_DUPLICATE, ITEM_CORRECTION, ITEM_INVALID };
struct gen_item {
    uint64_t slot;
    uint64_t k;       /* grid record */
    uint64_t version; /* values version (ITEM_INVALID: its serial) */
    uint64_t r;       /* spelling: bits 0-43; framing: bits 44-59 */
    uint64_t u;       /* URL spelling, when r chose an URL */
    int type;
};

/* One writer's caches; the engine itself is only read. */
struct wctx {
    const struct gen *g;
    /* Where the last grid record asked for lies: one division each. */
    uint64_t loc_k, loc_page, loc_hour;
    int loc_valid;
    /* The UTC spelling of the last hour written. */
    uint64_t z_hour;
    char z_ts[24];
    int z_valid;
};

struct gen {
    struct gen_params p;
    struct gen_counts plan, done;

    struct site *sites;
    struct page *pages;

    /* The mixing of extras (duplicates, corrections, invalid) into base
     * records: a Bresenham accumulator over slots, then a smooth weighted
     * round robin over the three kinds. */
    uint64_t slot, slot_acc, extras;
    int64_t wrr[3];

    /* The base stream: grid index k in order, some held back as late. */
    uint64_t k_next, late_acc, late_cand, last_hour, max_hour;
    struct late_item *heap;
    size_t heap_n, heap_cap;

    struct ring_item ring[RING_SIZE];
    size_t ring_n, ring_head;

    uint64_t rng;   /* spelling choices, in emission order */
    struct wctx w0; /* the writer of gen_next */
    uint64_t inv_serial;
    unsigned ninv_kinds;
    unsigned char inv_kinds[64];
};

/* Plans the next slot into *it. Returns 0, 1 when every slot is planned,
 * or -1 when out of memory (for late records). */
int gen_plan_one(struct gen *g, struct gen_item *it);

/* Writes a planned item, with its framing, at buf (GEN_MAX_RECORD bytes
 * free); returns the bytes written. */
size_t gen_write_item(struct wctx *w, const struct gen_item *it, char *buf);

/* A number below n from 64 random bits, without a division. */
static inline uint64_t
gen_below(uint64_t r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)r * n) >> 64);
}

/* splitmix64: a step of the sequence seeded by *s. */
static inline uint64_t
gen_mix_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* A well-mixed state for the triple (seed, a, b). */
static inline uint64_t
gen_mix3(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t s = seed ^ (a * UINT64_C(0xD6E8FEB86659FD93));
    s = gen_mix_next(&s) ^ (b * UINT64_C(0xA0761D6478BD642F));
    return gen_mix_next(&s);
}

/* The absolute hour (since 1970) and page of grid record k. */
uint64_t gen_hour_of(struct wctx *w, uint64_t k);
const struct page *gen_page_of(struct wctx *w, uint64_t k);

/* The values of grid record k in version v (0: original). */
void gen_values(struct wctx *w, uint64_t k, uint64_t v, struct vals *out);

/* Writes a number as JSON. */
char *gen_put_num(char *p, const struct num *n);

/* Writes the member list of values (",\"users\":12,...") at p; spaced
 * puts a blank after each comma and colon. */
char *gen_put_values(const struct gen *g, char *p, const struct vals *v,
                     int spaced);

/* Writes the UTC RFC 3339 spelling of an absolute hour (20 bytes). */
char *gen_put_hour_z(char *p, uint64_t hour);

/* Invalid kinds of this run, in the order they cycle (invalid.c). */
void gen_invalid_setup(struct gen *g);

/* Writes invalid record number serial, based on grid record k (no framing). */
char *gen_put_invalid(struct wctx *w, char *p, uint64_t k, uint64_t serial);

#endif
