/*
 * The record engine: the page grid, the schedule that mixes late,
 * duplicate, corrected and invalid records into it, and the text of valid
 * records. Everything is a pure function of the parameters, so the same
 * parameters give the same bytes.
 *
 * Grid record k is for page k mod pages at hour start + k div pages. Its
 * values are a hash of (seed, k, version), so a duplicate or a correction
 * recomputes them instead of storing them.
 */
#include "gen_int.h"
#include "fmt.h"
#include "mf_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGES_MAX     1000000
#define HEAP_MAX      (SIZE_MAX / sizeof(struct late_item) / 4)
#define GA_MAX        UINT64_C(1000000000000)
#define LATE_SPAN_MAX (UINT64_C(1) << 20) /* late records held, about */

static const char *const site_prefix[] = {"shop", "blog", "docs", "news"};

/* Top-level pages first, then generated deeper ones. */
static const char *const fixed_paths[] = {"/",
                                          "/pricing",
                                          "/about",
                                          "/contact",
                                          "/blog",
                                          "/products",
                                          "/docs",
                                          "/signup",
                                          "/login",
                                          "/de/\xc3\xbc"
                                          "ber-uns",
                                          "/careers",
                                          "/search"};
static const char *const categories[] = {
    "shoes",  "shirts",  "bags", "watches", "books",
    "garden", "kitchen", "toys", "sports",  "music"};
static const char *const words[] = {
    "how-to-choose", "spring-sale", "release-notes", "our-story", "case-study",
    "tips",          "guide",       "news",          "review",    "interview"};
static const char *const sections[] = {
    "getting-started", "api",       "install",  "faq",
    "reference",       "tutorials", "changelog"};
static const char *const langs[] = {"de", "fr", "es", "it"};
static const char *const queries[] = {"?utm_source=newsletter&utm_medium=email",
                                      "?ref=home", "?q=shoes&page=2", "?"};
static const char *const fragments[] = {"#top", "#pricing-table", "#", "#faq"};
static const int offsets_min[] = {120, -300, 330, -210, 345, -600, 840, 0};
static const char *const fractions[] = {".0", ".000", ".000000", ".00"};
static const uint64_t pow10[] = {1, 10, 100, 1000, 10000};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* --- the page table ------------------------------------------------------ */

static void
make_sites(struct gen *g)
{
    for (uint64_t s = 0; s < g->p.sites; s++) {
        struct site *st = &g->sites[s];
        int n = snprintf(st->name, sizeof(st->name), "%s%llu.example",
                         site_prefix[s % COUNT(site_prefix)],
                         (unsigned long long)s);
        st->len = (uint8_t)n;
        memcpy(st->mixed, st->name, (size_t)n + 1);
        /* "Shop3.Example": each label starts upper-case. */
        for (int i = 0; i < n; i++)
            if (i == 0 || st->name[i - 1] == '.')
                st->mixed[i] = (char)(st->name[i] - 'a' + 'A');
    }
}

/* A path unique within its site: n = page div sites is unique there. */
static void
make_path(struct gen *g, uint64_t pg, struct page *out)
{
    uint64_t n = pg / g->p.sites;
    uint64_t h = gen_mix3(g->p.seed, pg, 0x9a7e);
    int len;

    if (n < COUNT(fixed_paths)) {
        len = snprintf(out->path, sizeof(out->path), "%s", fixed_paths[n]);
    } else {
        unsigned long long id = (unsigned long long)n;
        const char *cat = categories[(h >> 8) % COUNT(categories)];
        const char *word = words[(h >> 16) % COUNT(words)];
        switch (h % 5) {
        case 0:
            len = snprintf(out->path, sizeof(out->path),
                           "/products/%s/item-%llu", cat, id);
            break;
        case 1:
            len = snprintf(out->path, sizeof(out->path), "/blog/%d/%s-%llu",
                           2019 + (int)((h >> 24) % 8), word, id);
            break;
        case 2:
            len = snprintf(out->path, sizeof(out->path), "/docs/%s/%s-%llu",
                           sections[(h >> 32) % COUNT(sections)], word, id);
            break;
        case 3:
            len = snprintf(out->path, sizeof(out->path), "/%s/products/%s/%llu",
                           langs[(h >> 40) % COUNT(langs)], cat, id);
            break;
        default:
            len = snprintf(out->path, sizeof(out->path), "/p/%llu", id);
            break;
        }
    }
    out->path_len = (uint8_t)len;
    out->ascii = 1;
    for (int i = 0; i < len; i++)
        if ((unsigned char)out->path[i] >= 0x80)
            out->ascii = 0;
    out->site = (uint32_t)(pg % g->p.sites);
    /* Popularity: most pages are small, a few are large. */
    uint64_t a = (h >> 20) % 1000, b = (h >> 44) % 1000;
    out->pop = (uint32_t)(1 + a * b / 1000);
}

/* --- values -------------------------------------------------------------- */

static void
ga_values(uint64_t r1, uint64_t r2, uint64_t r3, uint32_t pop, struct vals *v)
{
    uint64_t cap = (uint64_t)pop * 50 + 10;
    uint64_t views = gen_below(r1, cap);
    uint64_t sessions = views * (20 + (r1 >> 32) % 71) / 100;
    uint64_t users = sessions * (40 + r2 % 61) / 100;
    uint64_t bounces = sessions * ((r2 >> 8) % 101) / 100;
    uint64_t tenths = sessions * ((r2 >> 16) % 3000) + (r2 >> 32) % 10;
    unsigned extreme = (unsigned)((r3 >> 32) & 4095);

    if (extreme == 0) {
        users = sessions = views = GA_MAX;
        bounces = GA_MAX / 2;
        tenths = GA_MAX * 10;
    } else if (extreme == 1) {
        users = sessions = views = bounces = tenths = 0;
    } else if (extreme == 2) {
        bounces = sessions;
    }
    v->f[GA_USERS] = (struct num){users, 0, 0};
    v->f[GA_SESSIONS] = (struct num){sessions, 0, 0};
    v->f[GA_VIEWS] = (struct num){views, 0, 0};
    v->f[GA_BOUNCES] = (struct num){bounces, 0, 0};
    v->f[GA_DURATION] = (struct num){tenths, 1, 0};
    v->present = 0x1f;
    if (extreme <= 1)
        return;

    /* Optional members, sometimes absent; at least one of users, sessions
     * and views stays, and bounces goes with sessions. */
    if ((r3 & 15) == 0)
        v->present &= ~(1u << GA_USERS);
    if (((r3 >> 4) & 15) == 0)
        v->present &= ~(1u << GA_SESSIONS | 1u << GA_BOUNCES);
    if (((r3 >> 8) & 15) == 0 && (v->present & 3u))
        v->present &= ~(1u << GA_VIEWS);
    if (((r3 >> 12) & 7) == 0)
        v->present &= ~(1u << GA_BOUNCES);
    if (((r3 >> 15) & 7) == 0)
        v->present &= ~(1u << GA_DURATION);
    if (((r3 >> 18) & 3) == 0) {
        v->f[GA_DURATION].mant /= 10;
        v->f[GA_DURATION].dec = 0;
    } else if (((r3 >> 20) & 31) == 0) {
        v->f[GA_DURATION].form = (uint8_t)(1 + ((r3 >> 25) & 1));
    }
}

static void
psi_values(uint64_t r1, uint64_t r2, uint64_t r3, uint32_t pop, struct vals *v)
{
    uint64_t score = r1 % 101;
    uint64_t lcp = 300 + gen_below(r2 * 31 + r1, 2000 + (uint64_t)pop * 20);
    unsigned extreme = (unsigned)((r3 >> 44) & 4095);

    v->present = 0x3f;
    v->f[PSI_SCORE] = (struct num){score, 0, 0};
    if (((r1 >> 8) & 3) == 0 && score < 100) {
        v->f[PSI_SCORE].mant = score * 10 + 5;
        v->f[PSI_SCORE].dec = 1;
    }
    v->f[PSI_LCP] = (struct num){lcp, 0, 0};
    if ((r2 & 3) == 1) {
        v->f[PSI_LCP].mant = lcp * 10 + (r2 >> 2) % 10;
        v->f[PSI_LCP].dec = 1;
    } else if ((r2 & 3) == 2) {
        v->f[PSI_LCP].mant = lcp * 100 + (r2 >> 6) % 100;
        v->f[PSI_LCP].dec = 2;
    }
    v->f[PSI_CLS] = (struct num){(r2 >> 16) % 600, 3, 0};
    if (((r2 >> 28) & 15) == 0)
        v->f[PSI_CLS].form = (uint8_t)(1 + ((r2 >> 27) & 1));
    v->f[PSI_INP] = (struct num){30 + (r2 >> 32) % 800, 0, 0};
    v->f[PSI_FCP] = (struct num){200 + r3 % 5000, 0, 0};
    if ((r3 >> 13) & 1) {
        v->f[PSI_FCP].mant = v->f[PSI_FCP].mant * 10 + (r3 >> 14) % 10;
        v->f[PSI_FCP].dec = 1;
    }
    v->f[PSI_TTFB] = (struct num){20 + (r3 >> 16) % 1500, 0, 0};

    if (extreme == 0) {
        struct num top = {600000, 0, 0};
        v->f[PSI_SCORE] = (struct num){100, 0, 0};
        v->f[PSI_LCP] = v->f[PSI_INP] = v->f[PSI_FCP] = v->f[PSI_TTFB] = top;
        v->f[PSI_CLS] = (struct num){100, 0, 0};
        return;
    }
    if (extreme == 1) {
        for (int i = 0; i < NVALS; i++)
            v->f[i] = (struct num){0, 0, 0};
        return;
    }
    for (int i = PSI_CLS; i <= PSI_TTFB; i++)
        if (((r3 >> (32 + 3 * (i - PSI_CLS))) & 7) == 0)
            v->present &= ~(1u << i);
}

static void
locate(struct wctx *w, uint64_t k)
{
    if (w->loc_valid && w->loc_k == k)
        return;
    uint64_t h = k / w->g->p.pages;
    w->loc_k = k;
    w->loc_hour = (uint64_t)w->g->p.start_day * 24 + h;
    w->loc_page = k - h * w->g->p.pages;
    w->loc_valid = 1;
}

uint64_t
gen_hour_of(struct wctx *w, uint64_t k)
{
    locate(w, k);
    return w->loc_hour;
}

const struct page *
gen_page_of(struct wctx *w, uint64_t k)
{
    locate(w, k);
    return &w->g->pages[w->loc_page];
}

void
gen_values(struct wctx *w, uint64_t k, uint64_t version, struct vals *out)
{
    const struct gen *g = w->g;
    uint64_t s = gen_mix3(g->p.seed, k, version);
    uint64_t r1 = s, r2 = gen_mix_next(&s), r3 = gen_mix_next(&s);
    uint32_t pop = gen_page_of(w, k)->pop;

    if (g->p.psi)
        psi_values(r1, r2, r3, pop, out);
    else
        ga_values(r1, r2, r3, pop, out);
    if (version == 0)
        return;

    /* A correction must differ from the version before it (the stored
     * values): one member is the original's plus the version number,
     * modulo one past its bound, so consecutive versions never agree. */
    struct vals v0;
    gen_values(w, k, 0, &v0);
    if (g->p.psi) {
        const struct num *l = &v0.f[PSI_LCP];
        uint64_t ms = l->mant / pow10[l->dec];
        out->f[PSI_LCP] = (struct num){(ms + version) % 600001, 0, 0};
    } else {
        uint64_t views = (v0.present >> GA_VIEWS) & 1 ? v0.f[GA_VIEWS].mant : 0;
        out->f[GA_VIEWS] = (struct num){(views + version) % (GA_MAX + 1), 0, 0};
        out->present |= 1u << GA_VIEWS;
    }
}

/* --- writing ------------------------------------------------------------- */

char *
gen_put_num(char *p, const struct num *n)
{
    if (n->dec == 0)
        return put_u64(p, n->mant);
    if (n->form != 0) {
        p = put_u64(p, n->mant);
        *p++ = n->form == 1 ? 'e' : 'E';
        *p++ = '-';
        *p++ = (char)('0' + n->dec);
        return p;
    }
    /* Constant divisors: the compiler turns them into multiplications. */
    uint64_t m = n->mant;
    switch (n->dec) {
    case 1:
        p = put_u64(p, m / 10);
        *p++ = '.';
        *p++ = (char)('0' + m % 10);
        return p;
    case 2:
        p = put_u64(p, m / 100);
        *p++ = '.';
        return put_2(p, (unsigned)(m % 100));
    default:
        p = put_u64(p, m / 1000);
        *p++ = '.';
        *p++ = (char)('0' + m % 1000 / 100);
        return put_2(p, (unsigned)(m % 100));
    }
}

/* Member keys with their separators, padded so that a fixed-size copy of
 * KEY_ROOM bytes stays inside the array. */
#define KEY_ROOM 24
struct key {
    char text[KEY_ROOM];
    size_t len;
};
#define KEY_PAIR(name)                                                         \
    {                                                                          \
        {",\"" name "\":", sizeof(",\"" name "\":") - 1},                      \
        {                                                                      \
            ", \"" name "\": ", sizeof(", \"" name "\": ") - 1                 \
        }                                                                      \
    }
static const struct key ga_keys[5][2] = {
    KEY_PAIR("users"),   KEY_PAIR("sessions"),   KEY_PAIR("views"),
    KEY_PAIR("bounces"), KEY_PAIR("duration_s"),
};
static const struct key psi_keys[6][2] = {
    KEY_PAIR("performance_score"),
    KEY_PAIR("lcp_ms"),
    KEY_PAIR("cls"),
    KEY_PAIR("inp_ms"),
    KEY_PAIR("fcp_ms"),
    KEY_PAIR("ttfb_ms"),
};

/* Writes a member key in the record's separator style. */
#define PUT_KEY(p, spaced, name)                                               \
    ((spaced) ? PUT_LIT(p, ", \"" name "\": ") : PUT_LIT(p, ",\"" name "\":"))

char *
gen_put_values(const struct gen *g, char *p, const struct vals *v, int spaced)
{
    const struct key(*keys)[2] = g->p.psi ? psi_keys : ga_keys;
    int n = g->p.psi ? 6 : 5;
    for (int i = 0; i < n; i++) {
        if (!((v->present >> i) & 1))
            continue;
        p = PUT_FIXED(p, keys[i][spaced].text, keys[i][spaced].len, KEY_ROOM);
        p = gen_put_num(p, &v->f[i]);
    }
    return p;
}

/*
 * Writes the local time of an absolute hour at UTC offset off (minutes):
 * "YYYY-MM-DDTHH:MM:SS", then frac, then "+HH:MM" (or nothing when zulu;
 * the caller adds the 'Z').
 */
static char *
put_local(char *p, uint64_t hour, int off, const char *frac, int zulu)
{
    int64_t local = (int64_t)hour * 60 + off;
    int64_t day = local >= 0 ? local / 1440 : -((-local + 1439) / 1440);
    int mins = (int)(local - day * 1440);
    int64_t y;
    int m, d;

    mf_civil_from_days(day, &y, &m, &d);
    p = put_4(p, (unsigned)y);
    *p++ = '-';
    p = put_2(p, (unsigned)m);
    *p++ = '-';
    p = put_2(p, (unsigned)d);
    *p++ = 'T';
    p = put_2(p, (unsigned)(mins / 60));
    *p++ = ':';
    p = put_2(p, (unsigned)(mins % 60));
    p = PUT_LIT(p, ":00");
    if (frac != NULL)
        p = put_mem(p, frac, strlen(frac));
    if (zulu)
        return p;
    int a = off < 0 ? -off : off;
    *p++ = off < 0 ? '-' : '+';
    p = put_2(p, (unsigned)(a / 60));
    *p++ = ':';
    return put_2(p, (unsigned)(a % 60));
}

char *
gen_put_hour_z(char *p, uint64_t hour)
{
    p = put_local(p, hour, 0, NULL, 1);
    *p++ = 'Z';
    return p;
}

/* The ts member, in one of several spellings of the same instant. */
static char *
put_ts(struct wctx *w, char *p, uint64_t hour, uint64_t r, int spaced)
{
    unsigned sel = (unsigned)((r >> 16) & 31);
    unsigned sub = (unsigned)((r >> 21) & 7);

    p = PUT_KEY(p, spaced, "ts");
    if (sel < 15) {
        if (!w->z_valid || w->z_hour != hour) {
            gen_put_hour_z(w->z_ts, hour);
            w->z_hour = hour;
            w->z_valid = 1;
        }
        *p++ = '"';
        p = put_mem(p, w->z_ts, 20);
        *p++ = '"';
        return p;
    }
    if (sel < 23)
        return put_u64(p, hour * 3600);
    *p++ = '"';
    if (sel < 28) {
        p = put_local(p, hour, offsets_min[sub], NULL, 0);
    } else if (sub & 4) {
        p = put_local(p, hour, offsets_min[sub], fractions[sub & 3], 0);
    } else {
        p = put_local(p, hour, 0, fractions[sub & 3], 1);
        *p++ = 'Z';
    }
    *p++ = '"';
    return p;
}

/* A path with every '/' as "\/" and non-ASCII characters as \u escapes. */
static char *
put_escaped_path(char *p, const struct page *pg)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)pg->path;
    for (size_t i = 0; i < pg->path_len;) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c == '/')
                *p++ = '\\';
            *p++ = (char)c;
            i++;
            continue;
        }
        unsigned cp;
        if ((c & 0xe0) == 0xc0) {
            cp = (c & 0x1fu) << 6 | (s[i + 1] & 0x3fu);
            i += 2;
        } else {
            cp = (c & 0x0fu) << 12 | (s[i + 1] & 0x3fu) << 6 |
                 (s[i + 2] & 0x3fu);
            i += 3;
        }
        p = PUT_LIT(p, "\\u");
        for (int sh = 12; sh >= 0; sh -= 4)
            *p++ = hex[(cp >> sh) & 15];
    }
    return p;
}

/* The page (and site) members, in one of several spellings of one page. */
static char *
put_page(const struct gen *g, char *p, const struct page *pg, uint64_t r,
         uint64_t u, int spaced)
{
    const struct site *st = &g->sites[pg->site];
    unsigned sel = (unsigned)(r & 63);
    int root = pg->path_len == 1;

    if (sel < 44 || sel >= 60) {
        /* A site member and a path. */
        p = PUT_KEY(p, spaced, "site");
        *p++ = '"';
        p = put_mem(p, sel == 60 || sel == 61 ? st->mixed : st->name, st->len);
        *p++ = '"';
        p = PUT_KEY(p, spaced, "page");
        *p++ = '"';
        if (sel >= 62)
            p = put_escaped_path(p, pg);
        else
            p = PUT_FIXED(p, pg->path, pg->path_len, sizeof(pg->path));
        if (sel >= 38 && sel < 44 && !root)
            *p++ = '/';
        *p++ = '"';
        return p;
    }

    /* An absolute URL, with or without a site member that agrees. */
    if (sel >= 52 && sel < 57) {
        p = PUT_KEY(p, spaced, "site");
        *p++ = '"';
        p = put_mem(p, (u >> 20) & 1 ? st->mixed : st->name, st->len);
        *p++ = '"';
    }
    p = PUT_KEY(p, spaced, "page");
    *p++ = '"';
    p = sel >= 57 ? PUT_LIT(p, "http://") : PUT_LIT(p, "https://");
    p = PUT_FIXED(p, u & 1 ? st->mixed : st->name, st->len, sizeof(st->name));
    if (!root || ((u >> 1) & 3) != 0)
        p = PUT_FIXED(p, pg->path, pg->path_len, sizeof(pg->path));
    if (!root && ((u >> 3) & 3) == 0)
        *p++ = '/';
    if (((u >> 5) & 3) == 0) {
        const char *q = queries[(u >> 7) & 3];
        p = put_mem(p, q, strlen(q));
    }
    if (((u >> 9) & 7) == 0) {
        const char *f = fragments[(u >> 12) & 3];
        p = put_mem(p, f, strlen(f));
    }
    *p++ = '"';
    return p;
}

/* Members no consumer knows: they must be ignored. */
static char *
put_unknown(char *p, unsigned which, int spaced)
{
    if (which == 0) {
        p = PUT_KEY(p, spaced, "campaign");
        return PUT_LIT(p, "\"spring-sale\"");
    }
    p = PUT_KEY(p, spaced, "meta");
    return PUT_LIT(p, "{\"agent\":\"mf-gen\",\"tags\":[\"a\",1,{\"x\":null,"
                      "\"ok\":true}],\"ratio\":0.25,\"page\":\"ignored\"}");
}

static char *
put_source(const struct gen *g, char *p, int spaced)
{
    p = PUT_KEY(p, spaced, "source");
    return g->p.psi ? PUT_LIT(p, "\"psi\"") : PUT_LIT(p, "\"ga\"");
}

/* Writes one valid record of grid record k with values v; r and u choose
 * the spelling. */
static char *
put_record(struct wctx *w, char *p, uint64_t k, const struct vals *v,
           uint64_t r, uint64_t u)
{
    const struct gen *g = w->g;
    const struct page *pg = gen_page_of(w, k);
    uint64_t hour = gen_hour_of(w, k);
    int spaced = ((r >> 36) & 31) == 0;
    unsigned src = (unsigned)((r >> 26) & 31);
    unsigned unknown = (unsigned)((r >> 31) & 31);
    char *start = p;

    /* Members are written each with a leading comma; the first comma
     * becomes the opening brace. */
    if (src == 0)
        p = put_source(g, p, spaced);
    if (((r >> 41) & 7) == 0) {
        p = gen_put_values(g, p, v, spaced);
        p = put_ts(w, p, hour, r, spaced);
        p = put_page(g, p, pg, r, u, spaced);
    } else {
        p = put_page(g, p, pg, r, u, spaced);
        p = put_ts(w, p, hour, r, spaced);
        p = gen_put_values(g, p, v, spaced);
    }
    if (src == 1)
        p = put_source(g, p, spaced);
    if (unknown < 2)
        p = put_unknown(p, unknown, spaced);
    start[0] = '{';
    *p++ = '}';
    return p;
}

/* --- the schedule -------------------------------------------------------- */

static int
heap_less(const struct late_item *a, const struct late_item *b)
{
    return a->release < b->release || (a->release == b->release && a->k < b->k);
}

static int
heap_push(struct gen *g, uint64_t release, uint64_t k)
{
    if (g->heap_n == g->heap_cap) {
        size_t cap = g->heap_cap ? g->heap_cap * 2 : 1024;
        struct late_item *h;
        if (cap > HEAP_MAX || (h = realloc(g->heap, cap * sizeof(*h))) == NULL)
            return -1;
        g->heap = h;
        g->heap_cap = cap;
    }
    size_t i = g->heap_n++;
    struct late_item it = {release, k};
    while (i > 0 && heap_less(&it, &g->heap[(i - 1) / 2])) {
        g->heap[i] = g->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    g->heap[i] = it;
    return 0;
}

static uint64_t
heap_pop(struct gen *g)
{
    uint64_t k = g->heap[0].k;
    struct late_item last = g->heap[--g->heap_n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= g->heap_n)
            break;
        if (c + 1 < g->heap_n && heap_less(&g->heap[c + 1], &g->heap[c]))
            c++;
        if (!heap_less(&g->heap[c], &last))
            break;
        g->heap[i] = g->heap[c];
        i = c;
    }
    if (g->heap_n > 0)
        g->heap[i] = last;
    return k;
}

/* How many grid hours a late record waits: mostly one, sometimes a day. */
static uint64_t
late_delay(const struct gen *g, uint64_t k)
{
    static const uint64_t delays[] = {1, 1, 1, 1, 2, 3, 6, 24};
    uint64_t d = delays[gen_mix3(g->p.seed, k, 0x1a7e) & 7];
    uint64_t cap = LATE_SPAN_MAX / g->p.pages;
    return d > cap ? (cap > 0 ? cap : 1) : d;
}

/*
 * The next grid record to write: in order, except that the late ones wait
 * until a record of a later hour has been written. Returns the grid index,
 * or UINT64_MAX when out of memory.
 */
static uint64_t
next_base(struct gen *g, int *late)
{
    for (;;) {
        if (g->heap_n > 0 && g->heap[0].release <= g->max_hour) {
            *late = 1;
            return heap_pop(g);
        }
        if (g->k_next < g->plan.base) {
            uint64_t k = g->k_next++, h = k / g->p.pages;
            if (k < g->late_cand) {
                g->late_acc += g->plan.late;
                if (g->late_acc >= g->late_cand) {
                    uint64_t rel = h + late_delay(g, k);
                    g->late_acc -= g->late_cand;
                    if (heap_push(g, rel < g->last_hour ? rel : g->last_hour,
                                  k) != 0)
                        return UINT64_MAX;
                    continue;
                }
            }
            if (h > g->max_hour)
                g->max_hour = h;
            *late = 0;
            return k;
        }
        *late = 1;
        return heap_pop(g);
    }
}

static size_t
ring_pick(struct gen *g)
{
    return (size_t)(gen_mix_next(&g->rng) % g->ring_n);
}

/* Plans an extra slot (duplicate, correction or invalid). Returns 1 for an
 * invalid record (no URL draw: invalid records are spelled plainly). */
static int
plan_extra(struct gen *g, struct gen_item *it)
{
    /* Which extra: a smooth weighted round robin gives exact counts. */
    const int64_t want[3] = {(int64_t)g->plan.duplicates,
                             (int64_t)g->plan.corrections,
                             (int64_t)g->plan.invalid};
    int t = 0;
    for (int i = 0; i < 3; i++) {
        g->wrr[i] += want[i];
        if (g->wrr[i] > g->wrr[t])
            t = i;
    }
    g->wrr[t] -= (int64_t)g->extras;

    if (t == 2) {
        size_t last = (g->ring_head + RING_SIZE - 1) % RING_SIZE;
        it->type = ITEM_INVALID;
        it->k = g->ring_n > 0 ? g->ring[last].k : g->inv_serial % g->p.pages;
        it->version = g->inv_serial++;
        g->done.invalid++;
        return 1;
    }
    size_t i = ring_pick(g);
    if (t == 1) {
        g->ring[i].version++;
        g->done.corrections++;
        it->type = ITEM_CORRECTION;
    } else {
        g->done.duplicates++;
        it->type = ITEM_DUPLICATE;
    }
    it->k = g->ring[i].k;
    it->version = g->ring[i].version;
    return 0;
}

/* 1 when the spelling r writes the page as an URL (put_page draws u). */
static int
wants_url(uint64_t r)
{
    unsigned sel = (unsigned)(r & 63);
    return sel >= 44 && sel < 60;
}

int
gen_plan_one(struct gen *g, struct gen_item *it)
{
    if (g->slot >= g->p.records)
        return 1;
    it->slot = g->slot++;
    it->r = gen_mix_next(&g->rng);
    it->u = 0;
    g->slot_acc += g->extras;
    if (g->slot_acc < g->p.records) {
        int late;
        uint64_t k = next_base(g, &late);
        if (k == UINT64_MAX)
            return -1;
        g->ring[g->ring_head] = (struct ring_item){k, 0};
        g->ring_head = (g->ring_head + 1) % RING_SIZE;
        if (g->ring_n < RING_SIZE)
            g->ring_n++;
        g->done.base++;
        g->done.late += (uint64_t)late;
        it->type = ITEM_BASE;
        it->k = k;
        it->version = 0;
    } else {
        g->slot_acc -= g->p.records;
        if (plan_extra(g, it) != 0)
            return 0;
    }
    if (wants_url(it->r))
        it->u = gen_mix_next(&g->rng);
    return 0;
}

size_t
gen_write_item(struct wctx *w, const struct gen_item *it, char *buf)
{
    const struct gen *g = w->g;
    struct vals v;
    char *p = buf;

    if (g->p.array && it->slot > 0)
        p = PUT_LIT(p, ",\n");
    if (it->type == ITEM_INVALID) {
        p = gen_put_invalid(w, p, it->k, it->version);
    } else {
        gen_values(w, it->k, it->version, &v);
        p = put_record(w, p, it->k, &v, it->r, it->u);
    }
    if (!g->p.array) {
        /* Now and then a CRLF line end or a blank line (both allowed), from
         * bits of the slot's draw that the spelling leaves alone. */
        if (((it->r >> 44) & 63) == 0)
            *p++ = '\r';
        *p++ = '\n';
        if (((it->r >> 50) & 1023) == 0)
            *p++ = '\n';
    }
    return (size_t)(p - buf);
}

/* --- the interface ------------------------------------------------------- */

static uint64_t
share(double f, uint64_t n)
{
    return (uint64_t)floor(f * (double)n + 0.5);
}

/* Checks that the shares fit together; fills g->plan. */
static int
plan(struct gen *g, char *err, size_t errlen)
{
    const struct gen_params *p = &g->p;
    struct gen_counts *c = &g->plan;

    c->records = p->records;
    c->late = share(p->late, p->records);
    c->duplicates = share(p->duplicates, p->records);
    c->corrections = share(p->corrections, p->records);
    c->invalid = share(p->invalid, p->records);
    g->extras = c->duplicates + c->corrections + c->invalid;
    if (g->extras > p->records) {
        snprintf(
            err, errlen,
            "--duplicates, --corrections and --invalid add up to more than all records");
        return -1;
    }
    c->base = p->records - g->extras;
    if (c->base == 0 && c->duplicates + c->corrections > 0) {
        snprintf(
            err, errlen,
            "duplicates and corrections need at least one grid record to repeat");
        return -1;
    }
    g->last_hour = c->base > 0 ? (c->base - 1) / p->pages : 0;
    g->late_cand = g->last_hour * p->pages;
    if (c->late > g->late_cand) {
        snprintf(
            err, errlen,
            "--late asks for %llu late records, but only %llu grid records have a later hour after them; raise --records or lower --pages",
            (unsigned long long)c->late, (unsigned long long)g->late_cand);
        return -1;
    }
    int64_t end_hour = (int64_t)p->start_day * 24 + (int64_t)g->last_hour;
    if (end_hour >= MF_TS_END_SEC / 3600) {
        snprintf(
            err, errlen,
            "the last hour of the grid falls after 2199; choose an earlier --start or fewer records");
        return -1;
    }
    return 0;
}

int
gen_new(const struct gen_params *p, struct gen **out, char *err, size_t errlen)
{
    struct gen *g;

    if (p->pages < 1 || p->pages > PAGES_MAX) {
        snprintf(err, errlen, "--pages must be 1 to %d", PAGES_MAX);
        return -1;
    }
    if (p->sites < 1 || p->sites > p->pages) {
        snprintf(err, errlen,
                 "--sites must be 1 to --pages (%llu): every site needs a page",
                 (unsigned long long)p->pages);
        return -1;
    }
    if (p->start_day < 0) {
        snprintf(err, errlen, "--start must be 1970-01-01 or later");
        return -1;
    }
    g = calloc(1, sizeof(*g));
    if (g == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g->p = *p;
    if (plan(g, err, errlen) != 0) {
        free(g);
        return -1;
    }
    g->sites = calloc(p->sites, sizeof(*g->sites));
    g->pages = calloc(p->pages, sizeof(*g->pages));
    if (g->sites == NULL || g->pages == NULL) {
        snprintf(err, errlen, "out of memory for %llu pages",
                 (unsigned long long)p->pages);
        gen_free(g);
        return -1;
    }
    make_sites(g);
    for (uint64_t i = 0; i < p->pages; i++)
        make_path(g, i, &g->pages[i]);
    g->rng = gen_mix3(p->seed, 0x5eed, 0);
    gen_invalid_setup(g);
    *out = g;
    return 0;
}

void
gen_planned(const struct gen *g, struct gen_counts *c)
{
    *c = g->plan;
}

void
gen_done(const struct gen *g, struct gen_counts *c)
{
    *c = g->done;
    c->records = g->slot;
}

size_t
gen_begin(struct gen *g, char *buf)
{
    if (!g->p.array)
        return 0;
    memcpy(buf, "[\n", 2);
    return 2;
}

size_t
gen_next(struct gen *g, char *buf)
{
    struct gen_item it;
    int rc = gen_plan_one(g, &it);
    if (rc != 0)
        return rc > 0 ? 0 : SIZE_MAX;
    if (g->w0.g == NULL)
        g->w0.g = g;
    return gen_write_item(&g->w0, &it, buf);
}

size_t
gen_end(struct gen *g, char *buf)
{
    if (!g->p.array)
        return 0;
    if (g->slot == 0) {
        memcpy(buf, "]\n", 2);
        return 2;
    }
    memcpy(buf, "\n]\n", 3);
    return 3;
}

void
gen_free(struct gen *g)
{
    if (g == NULL)
        return;
    free(g->heap);
    free(g->pages);
    free(g->sites);
    free(g);
}
