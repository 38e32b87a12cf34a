/* Chunks: the rows of one transaction, encoded for binary COPY. */
#include "ingest.h"

#include <stdlib.h>
#include <string.h>

const unsigned char copy_header[19] = {'P',  'G',  'C',  'O', 'P', 'Y', '\n',
                                       0377, '\r', '\n', 0,   0,   0,   0,
                                       0,    0,    0,    0,   0};
const unsigned char copy_trailer[2] = {0xff, 0xff};

/* PostgreSQL's epoch, 2000-01-01, in Unix microseconds. */
#define PG_EPOCH_USEC INT64_C(946684800000000)

/* The most one record's row can take (GA or PSI), and a rejected row. */
#define ROW_MAX                                                                \
    (2 + 11 * 4 + 2 * 8 + MF_RECORD_SITE_MAX + MF_RECORD_PAGE_MAX + 8 +        \
     6 * (8 + 2 * 12) + 64)
#define REJECT_ROW_MAX                                                         \
    (2 + 6 * 4 + 2 * 8 + 4 + 4096 + INGEST_REASON_MAX + 4 * INGEST_REJECT_TEXT)

void
chunk_reset(struct chunk *c)
{
    c->first_ord = 0;
    c->records = 0;
    c->seq = 0;
    c->numbered = false;
    for (int i = 0; i < 3; i++) {
        c->accepted[i] = c->rejected[i] = 0;
        c->rows[i].len = 0;
        c->batch_id[i] = 0;
    }
}

void
chunk_free(struct chunk *c)
{
    for (int i = 0; i < 3; i++) {
        free(c->rows[i].p);
        c->rows[i].p = NULL;
        c->rows[i].cap = c->rows[i].len = 0;
    }
}

int
chunk_full(const struct chunk *c)
{
    size_t bytes = c->rows[0].len + c->rows[1].len + c->rows[2].len;
    return c->records >= INGEST_CHUNK_RECS || bytes >= INGEST_CHUNK_BYTES;
}

/* Makes room for need more bytes; buffers grow to what one chunk needs,
 * then are reused. */
static int
reserve(struct buf *b, size_t need)
{
    if (b->cap - b->len >= need)
        return 0;
    size_t cap = b->cap ? b->cap : 64 * 1024;
    while (cap - b->len < need)
        cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static unsigned char *
be16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
    return p + 2;
}

static unsigned char *
be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return p + 4;
}

static unsigned char *
be64(unsigned char *p, uint64_t v)
{
    be32(p, (uint32_t)(v >> 32));
    be32(p + 4, (uint32_t)v);
    return p + 8;
}

static unsigned char *
field_i64(unsigned char *p, int64_t v)
{
    p = be32(p, 8);
    return be64(p, (uint64_t)v);
}

static unsigned char *
field_text(unsigned char *p, const char *s, size_t n)
{
    p = be32(p, (uint32_t)n);
    memcpy(p, s, n);
    return p + n;
}

static unsigned char *
field_null(unsigned char *p)
{
    return be32(p, UINT32_MAX);
}

/*
 * A canonical decimal as PostgreSQL's binary numeric: ndigits, weight,
 * sign, dscale, then base-10000 digits, the first and last non-zero.
 */
static unsigned char *
field_numeric(unsigned char *p, const struct mf_scan_dec *d)
{
    uint16_t groups[16];
    int nint = d->nint, nfrac = d->nfrac, n = 0, weight;
    int lead = (4 - nint % 4) % 4, gi = (nint + lead) / 4;
    int gf = (nfrac + 3) / 4;

    /* Digits in groups of four from the point: pad the integer part on
     * the left and the fraction on the right. */
    for (int g = 0; g < gi + gf; g++) {
        unsigned v = 0;
        for (int k = 0; k < 4; k++) {
            int pos = g * 4 + k - lead; /* index into d->digits */
            int in_range =
                g < gi ? pos >= 0 : pos - nint < nfrac && pos >= nint;
            v = v * 10 + (in_range ? (unsigned)(d->digits[pos] - '0') : 0);
        }
        groups[n++] = (uint16_t)v;
    }
    weight = gi - 1;
    int first = 0, last = n;
    while (first < last && groups[first] == 0) {
        first++;
        weight--;
    }
    while (last > first && groups[last - 1] == 0)
        last--;
    if (first == last)
        weight = 0;
    p = be32(p, (uint32_t)(8 + 2 * (last - first)));
    p = be16(p, (uint16_t)(last - first));
    p = be16(p, (uint16_t)(int16_t)weight);
    p = be16(p, d->neg && first < last ? 0x4000 : 0);
    p = be16(p, (uint16_t)nfrac);
    for (int g = first; g < last; g++)
        p = be16(p, groups[g]);
    return p;
}

int
chunk_add_record(struct chunk *c, const struct mf_record *r, int64_t ord)
{
    struct buf *b = &c->rows[r->kind];
    unsigned char *p;

    if (reserve(b, ROW_MAX) != 0)
        return -1;
    p = b->p + b->len;
    p = be16(p, r->kind == MF_RECORD_GA ? 10 : 11);
    p = field_i64(p, 0); /* batch_id, set by chunk_set_batch */
    p = field_i64(p, ord);
    p = field_text(p, r->site, r->site_len);
    p = field_text(p, r->path, r->path_len);
    p = field_i64(p, r->ts_usec - PG_EPOCH_USEC);
    if (r->kind == MF_RECORD_GA) {
        p = field_i64(p, r->users);
        p = field_i64(p, r->sessions);
        p = field_i64(p, r->views);
        p = field_i64(p, r->bounces);
        p = field_numeric(p, &r->duration_s);
    } else {
        for (int i = 0; i < MF_PSI_COUNT; i++)
            p = r->present[i] ? field_numeric(p, &r->psi[i]) : field_null(p);
    }
    b->len = (size_t)(p - b->p);
    if (c->records == 0)
        c->first_ord = ord;
    c->records++;
    c->accepted[r->kind]++;
    return 0;
}

/* Appends one UTF-8 replacement character. */
static size_t
put_fffd(char *out, size_t n)
{
    memcpy(out + n, "\xef\xbf\xbd", 3);
    return n + 3;
}

/* Length of the valid UTF-8 sequence at s (at most avail bytes), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;

    if (c < 0x80)
        return c == 0 ? 0 : 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else
        return 0;
    if (need > avail)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if (s[i] < lo || s[i] > hi)
            return 0;
        lo = 0x80;
        hi = 0xBF;
    }
    return need;
}

size_t
utf8_sanitise(const char *s, size_t len, char *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;

    for (size_t i = 0; i < len && n + 4 < cap;) {
        size_t k = utf8_len(u + i, len - i);
        if (k == 0) {
            n = put_fffd(out, n);
            i++;
        } else {
            memcpy(out + n, u + i, k);
            n += k;
            i += k;
        }
    }
    out[n] = '\0';
    return n;
}

int
chunk_add_reject(struct chunk *c, enum mf_record_kind kind, const char *stream,
                 int64_t ord, uint64_t offset, const char *reason,
                 const char *text, size_t len)
{
    struct buf *b = &c->rows[ROWS_REJECTED];
    size_t slen = strlen(stream), rlen = strlen(reason);
    unsigned char *p;

    if (slen > 4096)
        slen = 4096;
    if (rlen > INGEST_REASON_MAX)
        rlen = INGEST_REASON_MAX;
    if (len > INGEST_REJECT_TEXT)
        len = INGEST_REJECT_TEXT;
    if (reserve(b, REJECT_ROW_MAX) != 0)
        return -1;
    p = b->p + b->len;
    p = be16(p, 6);
    const char *kname = mf_record_kind_name(kind);
    p = kname ? field_text(p, kname, strlen(kname)) : field_null(p);
    p = field_text(p, stream, slen);
    p = field_i64(p, ord);
    p = field_i64(p, (int64_t)offset);
    p = field_text(p, reason, rlen);
    /* the text: valid UTF-8, written after its length field */
    size_t n = utf8_sanitise(text, len, (char *)p + 4, 4 * INGEST_REJECT_TEXT);
    p = be32(p, (uint32_t)n) + n;
    b->len = (size_t)(p - b->p);
    if (c->records == 0)
        c->first_ord = ord;
    c->records++;
    c->rejected[kind]++;
    return 0;
}

static uint32_t
rd32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

void
chunk_set_batch(struct chunk *c, int kind, int64_t batch_id)
{
    struct buf *b = &c->rows[kind];
    size_t pos = 0;

    /* Each row: field count, then the batch id as the first field. */
    while (pos < b->len) {
        unsigned nf = (unsigned)b->p[pos] << 8 | b->p[pos + 1];
        be64(b->p + pos + 6, (uint64_t)batch_id);
        pos += 2;
        for (unsigned f = 0; f < nf; f++) {
            uint32_t flen = rd32(b->p + pos);
            pos += 4 + (flen == UINT32_MAX ? 0 : flen);
        }
    }
    c->batch_id[kind] = batch_id;
}
