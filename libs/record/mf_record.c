#include "mf_record.h"

#include "mf_time.h"

#include <string.h>

/* The listed members: common ones, then ga, then psi. */
enum member {
    M_PAGE,
    M_SITE,
    M_TS,
    M_SOURCE,
    M_USERS,
    M_SESSIONS,
    M_VIEWS,
    M_BOUNCES,
    M_DURATION,
    M_PSI, /* M_PSI + enum mf_record_psi */
    M_COUNT = M_PSI + MF_PSI_COUNT
};

#define NAME(s)                                                                \
    {                                                                          \
        s, sizeof(s) - 1                                                       \
    }
static const struct {
    const char *s;
    size_t len;
} member_names[M_COUNT] = {
    NAME("page"),       NAME("site"),
    NAME("ts"),         NAME("source"),
    NAME("users"),      NAME("sessions"),
    NAME("views"),      NAME("bounces"),
    NAME("duration_s"), NAME("performance_score"),
    NAME("lcp_ms"),     NAME("cls"),
    NAME("inp_ms"),     NAME("fcp_ms"),
    NAME("ttfb_ms"),
};

/* The last occurrence of each listed member. */
struct slot {
    int type; /* 0 when absent, else an mf_scan_type */
    size_t len;
    struct mf_scan_num num;
};

struct members {
    struct slot slot[M_COUNT];
    char page[MF_RECORD_PAGE_MAX];
    char site[MF_RECORD_SITE_MAX];
    char ts[48];
    char source[8];
};

const char *
mf_record_kind_name(enum mf_record_kind kind)
{
    return kind == MF_RECORD_GA ? "ga" : kind == MF_RECORD_PSI ? "psi" : NULL;
}

int
mf_record_kind_parse(const char *s, enum mf_record_kind *kind)
{
    if (strcmp(s, "ga") == 0)
        *kind = MF_RECORD_GA;
    else if (strcmp(s, "psi") == 0)
        *kind = MF_RECORD_PSI;
    else
        return -1;
    return 0;
}

static int
lookup(const char *key, size_t klen)
{
    for (int m = 0; m < M_COUNT; m++)
        if (member_names[m].len == klen && key[0] == member_names[m].s[0] &&
            memcmp(member_names[m].s, key, klen) == 0)
            return m;
    return -1;
}

/* Where a string member's text goes; NULL for members that are not
 * strings (their string values are only checked). */
static char *
string_buf(struct members *mb, int m, size_t *cap)
{
    switch (m) {
    case M_PAGE:
        *cap = sizeof(mb->page);
        return mb->page;
    case M_SITE:
        *cap = sizeof(mb->site);
        return mb->site;
    case M_TS:
        *cap = sizeof(mb->ts);
        return mb->ts;
    case M_SOURCE:
        *cap = sizeof(mb->source);
        return mb->source;
    default:
        *cap = 0;
        return NULL;
    }
}

/* Reads one member value into its slot (the last occurrence wins). */
static int
read_member(struct mf_scan *s, struct members *mb, int m)
{
    struct slot *sl = &mb->slot[m];
    int t = mf_scan_peek(s), rc;
    size_t cap;
    char *out;

    if (t < 0)
        return t;
    switch (t) {
    case MF_SCAN_STRING:
        out = string_buf(mb, m, &cap);
        rc = mf_scan_string(s, out, cap, &sl->len);
        break;
    case MF_SCAN_NUMBER:
        rc = mf_scan_number(s, &sl->num);
        break;
    default:
        rc = mf_scan_skip(s);
        break;
    }
    if (rc == MF_SCAN_OK)
        sl->type = t;
    return rc;
}

/* Reads the members of the object whose '{' is next. */
static int
read_object(struct mf_scan *s, struct members *mb)
{
    char key[24];
    size_t klen;
    int rc;

    if ((rc = mf_scan_punct(s, '{')) != MF_SCAN_OK)
        return rc;
    if ((rc = mf_scan_accept(s, '}')) != 0)
        return rc < 0 ? rc : MF_SCAN_OK;
    for (;;) {
        if ((rc = mf_scan_peek(s)) == MF_SCAN_MORE)
            return rc;
        if (rc != MF_SCAN_STRING) {
            s->why = "expected a member name (a string)";
            s->err_off = mf_scan_offset(s);
            return MF_SCAN_SYNTAX;
        }
        if ((rc = mf_scan_string(s, key, sizeof(key), &klen)) != MF_SCAN_OK)
            return rc;
        if ((rc = mf_scan_punct(s, ':')) != MF_SCAN_OK)
            return rc;
        int m = klen <= sizeof(key) ? lookup(key, klen) : -1;
        rc = m < 0 ? mf_scan_skip(s) : read_member(s, mb, m);
        if (rc != MF_SCAN_OK)
            return rc;
        if ((rc = mf_scan_accept(s, ',')) < 0)
            return rc;
        if (rc == 1)
            continue;
        if ((rc = mf_scan_punct(s, '}')) != MF_SCAN_OK) {
            if (rc == MF_SCAN_SYNTAX)
                s->why = "expected ',' or '}' after a member";
            return rc;
        }
        return MF_SCAN_OK;
    }
}

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Lower-cases a host name into out; returns 0 or -1 when it is not one. */
static int
set_host(const char *h, size_t n, struct mf_record *out)
{
    if (n == 0 || n > MF_RECORD_SITE_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = lower(h[i]);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '.' || c == '_'))
            return -1;
        out->site[i] = c;
    }
    out->site_len = n;
    return 0;
}

static int
has_prefix_ci(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (lower(s[i]) != p[i])
            return 0;
    return 1;
}

/* Splits an http(s) URL's authority off: sets *host and *rest. */
static const char *
split_url(const char *page, size_t len, const char **host, size_t *hlen,
          size_t *rest)
{
    size_t i = has_prefix_ci(page, len, "http://") ? 7 : 8, a = i, end;

    while (i < len && page[i] != '/' && page[i] != '?' && page[i] != '#')
        i++;
    end = i;
    *rest = i;
    /* user information before '@' is not part of the host */
    for (size_t k = a; k < end; k++)
        if (page[k] == '@')
            a = k + 1;
    /* a port after the last ':' */
    for (size_t k = end; k > a; k--) {
        if (page[k - 1] == ':') {
            for (size_t p = k; p < end; p++)
                if (page[p] < '0' || page[p] > '9')
                    return "page URL has an invalid port";
            end = k - 1;
            break;
        }
    }
    if (end == a)
        return "page URL has no host";
    *host = page + a;
    *hlen = end - a;
    return NULL;
}

/* Applies the page and site rules and the normalisation of records.md. */
static const char *
normalise_page(const struct members *mb, struct mf_record *out)
{
    const struct slot *ps = &mb->slot[M_PAGE], *ss = &mb->slot[M_SITE];
    const char *page = mb->page, *host = NULL, *why;
    size_t len = ps->len, start = 0, hlen = 0, end;

    if (ps->type == 0)
        return "page is missing";
    if (ps->type != MF_SCAN_STRING)
        return "page must be a string";
    if (len == 0)
        return "page is empty";
    if (len > MF_RECORD_PAGE_MAX)
        return "page is longer than 2048 bytes";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)page[i] < 0x20 || page[i] == 0x7f)
            return "page contains a control character";
    if (page[0] != '/') {
        if (!has_prefix_ci(page, len, "http://") &&
            !has_prefix_ci(page, len, "https://"))
            return "page must be a path starting with '/' or an http(s) URL";
        if ((why = split_url(page, len, &host, &hlen, &start)) != NULL)
            return why;
    }

    /* The path: query and fragment dropped, trailing '/' removed. */
    end = start;
    while (end < len && page[end] != '?' && page[end] != '#')
        end++;
    while (end - start > 1 && page[end - 1] == '/')
        end--;
    if (end == start) {
        out->path[0] = '/';
        out->path_len = 1;
    } else {
        memcpy(out->path, page + start, end - start);
        out->path_len = end - start;
    }

    /* The site: the member, else the URL's host, else "default". */
    if (ss->type != 0) {
        if (ss->type != MF_SCAN_STRING)
            return "site must be a string";
        if (ss->len == 0)
            return "site is empty";
        if (ss->len > MF_RECORD_SITE_MAX)
            return "site is longer than 253 bytes";
        if (set_host(mb->site, ss->len, out) != 0)
            return "site is not a host name";
    } else if (host != NULL) {
        if (set_host(host, hlen, out) != 0)
            return "page URL host is not a host name";
    } else {
        memcpy(out->site, "default", 7);
        out->site_len = 7;
    }
    return NULL;
}

static const char *
read_ts(const struct members *mb, struct mf_record *out)
{
    const struct slot *sl = &mb->slot[M_TS];
    const char *why = NULL;
    int64_t sec;
    int rc;

    switch (sl->type) {
    case 0:
        return "ts is missing";
    case MF_SCAN_STRING:
        if (sl->len > sizeof(mb->ts))
            return "ts is not an RFC 3339 date-time";
        if (mf_time_parse_rfc3339(mb->ts, sl->len, &out->ts_usec, &why) != 0)
            return why;
        return NULL;
    case MF_SCAN_NUMBER:
        rc = mf_scan_num_int64(&sl->num, &sec);
        if (rc == -1)
            return "ts must be whole Unix seconds (it has a fractional part)";
        if (rc == -2 || mf_time_from_unix(sec, &out->ts_usec, &why) != 0)
            return "ts is outside the years 1970-2199";
        return NULL;
    default:
        return "ts must be an RFC 3339 string or integer Unix seconds";
    }
}

struct num_rule {
    const char *wrong_type, *fraction, *range, *precision;
};

static const struct num_rule ga_rules[] = {
    {"users must be an integer",
     "users must be an integer (it has a fractional part)",
     "users is out of range (0 to 10^12)", NULL},
    {"sessions must be an integer",
     "sessions must be an integer (it has a fractional part)",
     "sessions is out of range (0 to 10^12)", NULL},
    {"views must be an integer",
     "views must be an integer (it has a fractional part)",
     "views is out of range (0 to 10^12)", NULL},
    {"bounces must be an integer",
     "bounces must be an integer (it has a fractional part)",
     "bounces is out of range (0 to sessions)", NULL},
    {"duration_s must be a number", NULL,
     "duration_s is out of range (0 to 10^12)",
     "duration_s has more than 15 fractional digits"},
};

static const struct num_rule psi_rules[MF_PSI_COUNT] = {
    {"performance_score must be a number", NULL,
     "performance_score is out of range (0 to 100)",
     "performance_score has more than 15 fractional digits"},
    {"lcp_ms must be a number", NULL, "lcp_ms is out of range (0 to 600000)",
     "lcp_ms has more than 15 fractional digits"},
    {"cls must be a number", NULL, "cls is out of range (0 to 100)",
     "cls has more than 15 fractional digits"},
    {"inp_ms must be a number", NULL, "inp_ms is out of range (0 to 600000)",
     "inp_ms has more than 15 fractional digits"},
    {"fcp_ms must be a number", NULL, "fcp_ms is out of range (0 to 600000)",
     "fcp_ms has more than 15 fractional digits"},
    {"ttfb_ms must be a number", NULL, "ttfb_ms is out of range (0 to 600000)",
     "ttfb_ms has more than 15 fractional digits"},
};

/* A decimal member within [0, max]: absent leaves *d at zero. */
static const char *
read_decimal(const struct slot *sl, const struct num_rule *r, uint64_t max,
             struct mf_scan_dec *d)
{
    memset(d, 0, sizeof(*d));
    if (sl->type == 0)
        return NULL;
    if (sl->type != MF_SCAN_NUMBER)
        return r->wrong_type;
    mf_scan_num_decimal(&sl->num, d);
    if (d->neg || mf_scan_dec_cmp_u64(d, max) > 0)
        return r->range;
    if (d->frac_total > MF_RECORD_FRAC_MAX)
        return r->precision;
    return NULL;
}

/* An integer member within [0, max]: absent gives 0. */
static const char *
read_count(const struct slot *sl, const struct num_rule *r, int64_t max,
           int64_t *v)
{
    *v = 0;
    if (sl->type == 0)
        return NULL;
    if (sl->type != MF_SCAN_NUMBER)
        return r->wrong_type;
    int rc = mf_scan_num_int64(&sl->num, v);
    if (rc == -1)
        return r->fraction;
    if (rc == -2 || *v < 0 || *v > max)
        return r->range;
    return NULL;
}

#define COUNT_MAX INT64_C(1000000000000)

static const char *
check_ga(const struct members *mb, struct mf_record *out)
{
    int64_t *dst[4] = {&out->users, &out->sessions, &out->views, &out->bounces};
    const char *why;

    for (int i = 0; i < 4; i++)
        if ((why = read_count(&mb->slot[M_USERS + i], &ga_rules[i], COUNT_MAX,
                              dst[i])) != NULL)
            return why;
    if (mb->slot[M_USERS].type == 0 && mb->slot[M_SESSIONS].type == 0 &&
        mb->slot[M_VIEWS].type == 0)
        return "a ga record needs at least one of users, sessions, views";
    if (out->bounces > out->sessions)
        return "bounces exceeds sessions";
    return read_decimal(&mb->slot[M_DURATION], &ga_rules[4],
                        (uint64_t)COUNT_MAX, &out->duration_s);
}

static const char *
check_psi(const struct members *mb, struct mf_record *out)
{
    static const uint64_t max[MF_PSI_COUNT] = {100,    600000, 100,
                                               600000, 600000, 600000};
    const char *why;

    if (mb->slot[M_PSI + MF_PSI_PERFORMANCE_SCORE].type == 0)
        return "performance_score is missing";
    if (mb->slot[M_PSI + MF_PSI_LCP_MS].type == 0)
        return "lcp_ms is missing";
    for (int i = 0; i < MF_PSI_COUNT; i++) {
        const struct slot *sl = &mb->slot[M_PSI + i];
        out->present[i] = sl->type != 0;
        if ((why = read_decimal(sl, &psi_rules[i], max[i], &out->psi[i])) !=
            NULL)
            return why;
    }
    return NULL;
}

/* Decides the kind from --source and the source member. */
static const char *
decide_kind(const struct members *mb, enum mf_record_kind forced,
            enum mf_record_kind *kind)
{
    const struct slot *sl = &mb->slot[M_SOURCE];
    enum mf_record_kind own = MF_RECORD_UNKNOWN;

    *kind = forced;
    if (sl->type != 0) {
        if (sl->type != MF_SCAN_STRING)
            return "source must be the string \"ga\" or \"psi\"";
        if (sl->len == 2 && memcmp(mb->source, "ga", 2) == 0)
            own = MF_RECORD_GA;
        else if (sl->len == 3 && memcmp(mb->source, "psi", 3) == 0)
            own = MF_RECORD_PSI;
        else
            return "source must be \"ga\" or \"psi\"";
    }
    if (forced != MF_RECORD_UNKNOWN && own != MF_RECORD_UNKNOWN &&
        own != forced) {
        *kind = MF_RECORD_UNKNOWN;
        return "source disagrees with --source";
    }
    if (forced == MF_RECORD_UNKNOWN)
        *kind = own;
    if (*kind == MF_RECORD_UNKNOWN)
        return "the record's kind cannot be told: no source member and no --source";
    return NULL;
}

int
mf_record_parse(const char *buf, size_t len, uint64_t base, int final,
                enum mf_record_kind forced, struct mf_record *out, size_t *used,
                struct mf_record_err *err)
{
    struct members mb;
    struct mf_scan s;
    const char *why;
    int rc, t;

    memset(&mb.slot, 0, sizeof(mb.slot));
    mf_scan_init(&s, buf, len, base, final);
    err->why = NULL;
    err->offset = 0;
    err->kind = forced;

    /* Syntax first: the whole value is read before any rule is applied. */
    t = mf_scan_peek(&s);
    if (t == MF_SCAN_OBJECT)
        rc = read_object(&s, &mb);
    else
        rc = t < 0 ? t : mf_scan_skip(&s);
    if (rc == MF_SCAN_MORE)
        return MF_RECORD_MORE;
    if (rc != MF_SCAN_OK) {
        err->why = s.why;
        err->offset = s.err_off;
        return MF_RECORD_SYNTAX;
    }
    *used = s.pos;
    if (t != MF_SCAN_OBJECT) {
        err->why = "the record is not a JSON object";
        return MF_RECORD_REJECT;
    }

    memset(out, 0, offsetof(struct mf_record, site));
    if ((why = decide_kind(&mb, forced, &out->kind)) != NULL) {
        err->kind = out->kind;
        err->why = why;
        return MF_RECORD_REJECT;
    }
    err->kind = out->kind;
    if ((why = normalise_page(&mb, out)) == NULL &&
        (why = read_ts(&mb, out)) == NULL)
        why = out->kind == MF_RECORD_GA ? check_ga(&mb, out)
                                        : check_psi(&mb, out);
    if (why != NULL) {
        err->why = why;
        return MF_RECORD_REJECT;
    }
    return MF_RECORD_OK;
}
