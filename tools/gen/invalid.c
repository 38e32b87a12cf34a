/*
 * Invalid records: each breaks exactly one rule of records.md. A record is
 * first built as a member list from a valid grid record (every optional
 * member present, so that removing or breaking one cannot break a second
 * rule), then one member is changed, or, for the JSON syntax kinds, the
 * finished text is damaged. Kinds are taken in a fixed cycle.
 */
#include "gen_int.h"
#include "fmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind {
    /* Common to both kinds of record. */
    K_PAGE_MISSING,
    K_PAGE_EMPTY,
    K_PAGE_RELATIVE,
    K_PAGE_SCHEME,
    K_PAGE_TYPE,
    K_PAGE_LONG,
    K_TS_MISSING,
    K_TS_BAD_DATE,
    K_TS_NO_OFFSET,
    K_TS_TEXT,
    K_TS_BEFORE_1970,
    K_TS_AFTER_2199,
    K_TS_UNIX_AFTER_2199,
    K_TS_UNIX_FRACTION,
    K_TS_TYPE,
    K_SITE_EMPTY,
    K_SITE_TYPE,
    K_SITE_NOT_HOST,
    K_SITE_LONG,
    K_SOURCE_OTHER,
    K_SOURCE_UNKNOWN,
    K_NOT_OBJECT_ARRAY,
    K_NOT_OBJECT_STRING,
    K_COMMON_END,
    /* ga */
    K_GA_NONE = K_COMMON_END,
    K_GA_NEGATIVE,
    K_GA_TOO_BIG,
    K_GA_STRING,
    K_GA_FRACTION,
    K_GA_BOUNCES,
    K_GA_DURATION_NEGATIVE,
    K_GA_DURATION_BIG,
    K_GA_BOOL,
    K_GA_NULL,
    K_GA_END,
    /* psi */
    K_PSI_NO_SCORE = K_GA_END,
    K_PSI_NO_LCP,
    K_PSI_SCORE_BIG,
    K_PSI_SCORE_NEGATIVE,
    K_PSI_LCP_BIG,
    K_PSI_CLS_BIG,
    K_PSI_INP_NEGATIVE,
    K_PSI_FCP_STRING,
    K_PSI_TTFB_NULL,
    K_PSI_SCORE_STRING,
    K_PSI_CLS_BOOL,
    K_PSI_END,
    /* JSON syntax, NDJSON only (in an array it would end the stream). */
    K_JSON_TRUNCATED = K_PSI_END,
    K_JSON_QUOTES,
    K_JSON_TRAILING_COMMA,
    K_JSON_MISSING_COMMA,
    K_JSON_NAN,
    K_JSON_BAD_UTF8,
    K_JSON_BROKEN_STRING,
    K_JSON_TEXT,
    K_JSON_END,
};

#define MAX_MEMBERS 12
#define ARENA       4096

/* A record under construction: members with their JSON value text. */
struct rec {
    const char *key[MAX_MEMBERS];
    const char *val[MAX_MEMBERS];
    size_t len[MAX_MEMBERS];
    int n;
    char arena[ARENA];
    size_t used;
};

/* Reserves n bytes of the arena. The kinds below stay far under its size;
 * going past it is a programming error. */
static char *
reserve(struct rec *r, size_t n)
{
    if (n > ARENA - r->used) {
        fprintf(stderr, "metriflow-gen: BUG: invalid-record arena full\n");
        abort();
    }
    char *d = r->arena + r->used;
    r->used += n;
    return d;
}

/* Copies text into the arena. */
static const char *
keep(struct rec *r, const char *s, size_t n)
{
    char *d = reserve(r, n);
    memcpy(d, s, n);
    return d;
}

static int
find(const struct rec *r, const char *key)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->key[i], key) == 0)
            return i;
    return -1;
}

/* Sets (or adds) member key to the JSON text val. */
static void
set(struct rec *r, const char *key, const char *val, size_t n)
{
    int i = find(r, key);
    if (i < 0) {
        if (r->n == MAX_MEMBERS) {
            fprintf(stderr, "metriflow-gen: BUG: too many members\n");
            abort();
        }
        i = r->n++;
        r->key[i] = key;
    }
    r->val[i] = keep(r, val, n);
    r->len[i] = n;
}

static void
set_s(struct rec *r, const char *key, const char *val)
{
    set(r, key, val, strlen(val));
}

static void
del(struct rec *r, const char *key)
{
    int i = find(r, key);
    if (i < 0)
        return;
    for (int j = i + 1; j < r->n; j++) {
        r->key[j - 1] = r->key[j];
        r->val[j - 1] = r->val[j];
        r->len[j - 1] = r->len[j];
    }
    r->n--;
}

static const char *const ga_names[] = {"users", "sessions", "views", "bounces",
                                       "duration_s"};
static const char *const psi_names[] = {
    "performance_score", "lcp_ms", "cls", "inp_ms", "fcp_ms", "ttfb_ms"};
/* Values for optional psi members a grid record left out. */
static const struct num psi_fill[] = {{0, 0, 0},   {0, 0, 0},   {5, 2, 0},
                                      {180, 0, 0}, {900, 0, 0}, {120, 0, 0}};

/* The valid starting point: site, path, UTC ts and every value member. */
static void
build(struct wctx *w, struct rec *r, uint64_t k)
{
    const struct gen *g = w->g;
    const struct page *pg = gen_page_of(w, k);
    const struct site *st = &g->sites[pg->site];
    struct vals v;
    char buf[96], *e;

    r->n = 0;
    r->used = 0;
    e = put_mem(buf, "\"", 1);
    e = put_mem(e, st->name, st->len);
    e = put_mem(e, "\"", 1);
    set(r, "site", buf, (size_t)(e - buf));
    e = put_mem(buf, "\"", 1);
    e = put_mem(e, pg->path, pg->path_len);
    e = put_mem(e, "\"", 1);
    set(r, "page", buf, (size_t)(e - buf));
    e = put_mem(buf, "\"", 1);
    e = gen_put_hour_z(e, gen_hour_of(w, k));
    e = put_mem(e, "\"", 1);
    set(r, "ts", buf, (size_t)(e - buf));

    gen_values(w, k, 0, &v);
    int n = g->p.psi ? 6 : 5;
    for (int i = 0; i < n; i++) {
        struct num x = v.f[i];
        if (!((v.present >> i) & 1))
            x = g->p.psi ? psi_fill[i] : (struct num){0, 0, 0};
        e = gen_put_num(buf, &x);
        set(r, g->p.psi ? psi_names[i] : ga_names[i], buf, (size_t)(e - buf));
    }
}

/* Writes the member list as one JSON object. */
static char *
serialise(const struct rec *r, char *p)
{
    *p++ = '{';
    for (int i = 0; i < r->n; i++) {
        if (i > 0)
            *p++ = ',';
        *p++ = '"';
        p = put_mem(p, r->key[i], strlen(r->key[i]));
        p = PUT_LIT(p, "\":");
        p = put_mem(p, r->val[i], r->len[i]);
    }
    *p++ = '}';
    return p;
}

/* Replaces the member's text with the site/path of the record, quoted,
 * after prefix (e.g. "ftp://"). */
static void
set_page_text(struct rec *r, struct wctx *w, uint64_t k, const char *prefix,
              int with_site, int skip_slash)
{
    const struct gen *g = w->g;
    const struct page *pg = gen_page_of(w, k);
    const struct site *st = &g->sites[pg->site];
    char buf[128], *e = buf;
    *e++ = '"';
    e = put_mem(e, prefix, strlen(prefix));
    if (with_site)
        e = put_mem(e, st->name, st->len);
    if (skip_slash && pg->path_len == 1)
        e = PUT_LIT(e, "home");
    else
        e = put_mem(e, pg->path + skip_slash,
                    (size_t)pg->path_len - (size_t)skip_slash);
    *e++ = '"';
    set(r, "page", buf, (size_t)(e - buf));
}

/* The hour's UTC text with one change: ts_len bytes at buf. */
static size_t
hour_text(struct wctx *w, uint64_t k, char *buf)
{
    return (size_t)(gen_put_hour_z(buf, gen_hour_of(w, k)) - buf);
}

static void
break_common(struct rec *r, struct wctx *w, uint64_t k, int kind)
{
    const struct gen *g = w->g;
    char buf[320], *e;
    size_t n;

    switch (kind) {
    case K_PAGE_MISSING:
        del(r, "page");
        break;
    case K_PAGE_EMPTY:
        set_s(r, "page", "\"\"");
        break;
    case K_PAGE_RELATIVE:
        set_page_text(r, w, k, "", 0, 1);
        break;
    case K_PAGE_SCHEME:
        set_page_text(r, w, k, "ftp://", 1, 0);
        break;
    case K_PAGE_TYPE:
        set_s(r, "page", "404");
        break;
    case K_PAGE_LONG: {
        char *big = reserve(r, 2051);
        big[0] = '"';
        big[1] = '/';
        memset(big + 2, 'a', 2048);
        big[2050] = '"';
        int i = find(r, "page");
        r->val[i] = big;
        r->len[i] = 2051;
        break;
    }
    case K_TS_MISSING:
        del(r, "ts");
        break;
    case K_TS_BAD_DATE:
        buf[0] = '"';
        n = hour_text(w, k, buf + 1);
        memcpy(buf + 6, "02-30", 5); /* YYYY-02-30 never exists */
        buf[n + 1] = '"';
        set(r, "ts", buf, n + 2);
        break;
    case K_TS_NO_OFFSET:
        buf[0] = '"';
        n = hour_text(w, k, buf + 1);
        buf[n] = '"'; /* overwrites the 'Z' */
        set(r, "ts", buf, n + 1);
        break;
    case K_TS_TEXT:
        set_s(r, "ts", "\"yesterday\"");
        break;
    case K_TS_BEFORE_1970:
        set_s(r, "ts", "\"1969-12-31T23:00:00Z\"");
        break;
    case K_TS_AFTER_2199:
        set_s(r, "ts", "\"2200-01-01T00:00:00Z\"");
        break;
    case K_TS_UNIX_AFTER_2199:
        set_s(r, "ts", "7258118400");
        break;
    case K_TS_UNIX_FRACTION:
        e = put_u64(buf, gen_hour_of(w, k) * 3600);
        e = PUT_LIT(e, ".5");
        set(r, "ts", buf, (size_t)(e - buf));
        break;
    case K_TS_TYPE:
        set_s(r, "ts", "true");
        break;
    case K_SITE_EMPTY:
        set_s(r, "site", "\"\"");
        break;
    case K_SITE_TYPE:
        set_s(r, "site", "3");
        break;
    case K_SITE_NOT_HOST: {
        const struct site *st = &g->sites[gen_page_of(w, k)->site];
        e = PUT_LIT(buf, "\"my ");
        e = put_mem(e, st->name, st->len);
        *e++ = '"';
        set(r, "site", buf, (size_t)(e - buf));
        break;
    }
    case K_SITE_LONG:
        /* Four valid labels, 254 bytes in all: only the length is wrong. */
        e = buf;
        *e++ = '"';
        for (int l = 0; l < 4; l++) {
            memset(e, 'a' + l, l == 3 ? 62 : 63);
            e += l == 3 ? 62 : 63;
            if (l < 3)
                *e++ = '.';
        }
        *e++ = '"';
        set(r, "site", buf, (size_t)(e - buf));
        break;
    case K_SOURCE_OTHER:
        set_s(r, "source", g->p.psi ? "\"ga\"" : "\"psi\"");
        break;
    case K_SOURCE_UNKNOWN:
        set_s(r, "source", "\"web\"");
        break;
    }
}

static void
break_values(struct rec *r, int kind)
{
    switch (kind) {
    case K_GA_NONE:
        del(r, "users");
        del(r, "sessions");
        del(r, "views");
        del(r, "bounces");
        break;
    case K_GA_NEGATIVE:
        set_s(r, "users", "-5");
        break;
    case K_GA_TOO_BIG:
        set_s(r, "views", "1000000000001");
        break;
    case K_GA_STRING:
        set_s(r, "sessions", "\"150\"");
        del(r, "bounces");
        break;
    case K_GA_FRACTION:
        set_s(r, "users", "12.5");
        break;
    case K_GA_BOUNCES:
        set_s(r, "sessions", "40");
        set_s(r, "bounces", "41");
        break;
    case K_GA_DURATION_NEGATIVE:
        set_s(r, "duration_s", "-1.5");
        break;
    case K_GA_DURATION_BIG:
        set_s(r, "duration_s", "1000000000000.5");
        break;
    case K_GA_BOOL:
        set_s(r, "bounces", "true");
        break;
    case K_GA_NULL:
        set_s(r, "views", "null");
        break;
    case K_PSI_NO_SCORE:
        del(r, "performance_score");
        break;
    case K_PSI_NO_LCP:
        del(r, "lcp_ms");
        break;
    case K_PSI_SCORE_BIG:
        set_s(r, "performance_score", "100.5");
        break;
    case K_PSI_SCORE_NEGATIVE:
        set_s(r, "performance_score", "-1");
        break;
    case K_PSI_LCP_BIG:
        set_s(r, "lcp_ms", "600000.5");
        break;
    case K_PSI_CLS_BIG:
        set_s(r, "cls", "100.01");
        break;
    case K_PSI_INP_NEGATIVE:
        set_s(r, "inp_ms", "-20");
        break;
    case K_PSI_FCP_STRING:
        set_s(r, "fcp_ms", "\"1200\"");
        break;
    case K_PSI_TTFB_NULL:
        set_s(r, "ttfb_ms", "null");
        break;
    case K_PSI_SCORE_STRING:
        set_s(r, "performance_score", "\"87\"");
        break;
    case K_PSI_CLS_BOOL:
        set_s(r, "cls", "false");
        break;
    }
}

/* Damages the JSON text [start, p) of a valid object; returns the end. */
static char *
break_syntax(const struct gen *g, struct rec *r, char *start, int kind)
{
    char *p;

    switch (kind) {
    case K_JSON_NAN:
        set_s(r, g->p.psi ? "lcp_ms" : "views", "NaN");
        return serialise(r, start);
    case K_JSON_BAD_UTF8:
        set_s(r, "page",
              "\"/caf\xe9"
              "\""); /* a lone Latin-1 byte: not UTF-8 */
        return serialise(r, start);
    case K_JSON_TEXT: {
        int i = find(r, "page");
        p = PUT_LIT(start, "page=");
        return put_mem(p, r->val[i] + 1, r->len[i] - 2);
    }
    }
    p = serialise(r, start);
    switch (kind) {
    case K_JSON_TRUNCATED:
        return start + (p - start) / 2;
    case K_JSON_QUOTES:
        for (char *c = start; c < p; c++)
            if (*c == '"')
                *c = '\'';
        return p;
    case K_JSON_TRAILING_COMMA:
        p[-1] = ',';
        *p++ = '}';
        return p;
    case K_JSON_MISSING_COMMA: {
        char *c = memchr(start, ',', (size_t)(p - start));
        memmove(c, c + 1, (size_t)(p - c - 1));
        return p - 1;
    }
    case K_JSON_BROKEN_STRING: {
        /* Drop the quote that closes the site value. */
        char *c = memchr(start + 9, '"', (size_t)(p - start - 9));
        memmove(c, c + 1, (size_t)(p - c - 1));
        return p - 1;
    }
    }
    return p;
}

void
gen_invalid_setup(struct gen *g)
{
    unsigned char sem[48], syn[16];
    unsigned ns = 0, ny = 0, a = 0, b = K_COMMON_END;
    unsigned b_end = g->p.psi ? K_PSI_END : K_GA_END;

    if (g->p.psi)
        b = K_GA_END;
    /* Common and kind-specific rules alternate, so that even a few
     * invalid records cover both. */
    while (a < K_COMMON_END || b < b_end) {
        if (a < K_COMMON_END)
            sem[ns++] = (unsigned char)a++;
        if (b < b_end)
            sem[ns++] = (unsigned char)b++;
    }
    if (!g->p.array)
        for (unsigned k = K_PSI_END; k < K_JSON_END; k++)
            syn[ny++] = (unsigned char)k;

    /* A syntax error after every fourth semantic one, while they last. */
    g->ninv_kinds = 0;
    for (unsigned i = 0, j = 0; i < ns || j < ny;) {
        for (int q = 0; q < 4 && i < ns; q++)
            g->inv_kinds[g->ninv_kinds++] = sem[i++];
        if (j < ny)
            g->inv_kinds[g->ninv_kinds++] = syn[j++];
    }
}

char *
gen_put_invalid(struct wctx *w, char *p, uint64_t k, uint64_t serial)
{
    const struct gen *g = w->g;
    struct rec r;
    int kind = g->inv_kinds[serial % g->ninv_kinds];

    build(w, &r, k);
    if (kind == K_NOT_OBJECT_ARRAY) {
        int i = find(&r, "page");
        *p++ = '[';
        p = put_mem(p, r.val[i], r.len[i]);
        *p++ = ',';
        p = put_u64(p, gen_hour_of(w, k) * 3600);
        *p++ = ']';
        return p;
    }
    if (kind == K_NOT_OBJECT_STRING) {
        int i = find(&r, "page");
        return put_mem(p, r.val[i], r.len[i]);
    }
    if (kind >= K_PSI_END)
        return break_syntax(g, &r, p, kind);
    if (kind < K_COMMON_END)
        break_common(&r, w, k, kind);
    else
        break_values(&r, kind);
    return serialise(&r, p);
}
