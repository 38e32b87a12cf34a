#include "mf_scan.h"

#include <string.h>

#define EXP_SATURATE INT64_C(1000000000)

void
mf_scan_init(struct mf_scan *s, const void *buf, size_t len, uint64_t base,
             int final)
{
    s->buf = buf;
    s->len = len;
    s->pos = 0;
    s->base = base;
    s->final = final;
    s->why = NULL;
    s->err_off = 0;
}

uint64_t
mf_scan_offset(const struct mf_scan *s)
{
    return s->base + s->pos;
}

static int
syntax(struct mf_scan *s, size_t at, const char *why)
{
    s->why = why;
    s->err_off = s->base + at;
    return MF_SCAN_SYNTAX;
}

/* The buffer ended inside a token: more input may follow, unless final. */
static int
ended(struct mf_scan *s, const char *why)
{
    if (!s->final)
        return MF_SCAN_MORE;
    return syntax(s, s->len, why);
}

static void
skip_ws(struct mf_scan *s)
{
    const unsigned char *b = s->buf;
    size_t p = s->pos, n = s->len;
    while (p < n &&
           (b[p] == ' ' || b[p] == '\n' || b[p] == '\r' || b[p] == '\t'))
        p++;
    s->pos = p;
}

int
mf_scan_peek(struct mf_scan *s)
{
    skip_ws(s);
    if (s->pos >= s->len)
        return ended(s, "unexpected end of input where a value was expected");
    switch (s->buf[s->pos]) {
    case '{':
        return MF_SCAN_OBJECT;
    case '[':
        return MF_SCAN_ARRAY;
    case '"':
        return MF_SCAN_STRING;
    case 't':
        return MF_SCAN_TRUE;
    case 'f':
        return MF_SCAN_FALSE;
    case 'n':
        return MF_SCAN_NULL;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return MF_SCAN_NUMBER;
    default:
        return syntax(s, s->pos,
                      "unexpected character where a value was expected");
    }
}

int
mf_scan_punct(struct mf_scan *s, char c)
{
    static const char *const reasons[] = {
        "expected '{'", "expected '}'", "expected '['",
        "expected ']'", "expected ':'", "expected ','",
    };
    static const char chars[] = "{}[]:,";
    const char *w = strchr(chars, c);
    const char *why = w ? reasons[w - chars] : "unexpected character";

    skip_ws(s);
    if (s->pos >= s->len)
        return ended(s, "unexpected end of input");
    if (s->buf[s->pos] != (unsigned char)c)
        return syntax(s, s->pos, why);
    s->pos++;
    return MF_SCAN_OK;
}

int
mf_scan_accept(struct mf_scan *s, char c)
{
    skip_ws(s);
    if (s->pos >= s->len)
        return ended(s, "unexpected end of input");
    if (s->buf[s->pos] != (unsigned char)c)
        return 0;
    s->pos++;
    return 1;
}

static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits of a \u escape whose backslash is at p; a
 * missing "\u" is blamed on the escape at lone (a lone high surrogate). */
static int
read_u4(struct mf_scan *s, size_t p, size_t lone, unsigned *cp)
{
    unsigned v = 0;
    if ((p < s->len && s->buf[p] != '\\') ||
        (p + 1 < s->len && s->buf[p + 1] != 'u'))
        return syntax(
            s, lone,
            "a high surrogate escape is not followed by a low surrogate escape");
    if (p + 6 > s->len)
        return ended(s, "unexpected end of input inside a string");
    for (size_t i = p + 2; i < p + 6; i++) {
        int h = hexval(s->buf[i]);
        if (h < 0)
            return syntax(s, i, "invalid hex digit in a \\u escape");
        v = v * 16 + (unsigned)h;
    }
    *cp = v;
    return MF_SCAN_OK;
}

static size_t
utf8_encode(unsigned cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Decodes the escape whose backslash is at s->pos into o (up to 4 bytes);
 * sets *olen and advances s->pos past it.
 */
static int
scan_escape(struct mf_scan *s, unsigned char *o, size_t *olen)
{
    size_t p = s->pos;
    unsigned cp, lo;
    int rc;

    if (p + 1 >= s->len)
        return ended(s, "unexpected end of input inside a string");
    switch (s->buf[p + 1]) {
    case '"':
    case '\\':
    case '/':
        o[0] = s->buf[p + 1];
        break;
    case 'b':
        o[0] = '\b';
        break;
    case 'f':
        o[0] = '\f';
        break;
    case 'n':
        o[0] = '\n';
        break;
    case 'r':
        o[0] = '\r';
        break;
    case 't':
        o[0] = '\t';
        break;
    case 'u':
        if ((rc = read_u4(s, p, p, &cp)) != MF_SCAN_OK)
            return rc;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return syntax(s, p, "a lone low surrogate escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if ((rc = read_u4(s, p + 6, p, &lo)) != MF_SCAN_OK)
                return rc;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return syntax(
                    s, p + 6,
                    "a high surrogate escape is not followed by a low surrogate escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            s->pos = p + 12;
        } else {
            s->pos = p + 6;
        }
        *olen = utf8_encode(cp, o);
        return MF_SCAN_OK;
    default:
        return syntax(s, p, "invalid escape in a string");
    }
    *olen = 1;
    s->pos = p + 2;
    return MF_SCAN_OK;
}

/* Checks the multi-byte UTF-8 sequence at s->pos; returns its length in
 * *n, or an error. */
static int
scan_utf8(struct mf_scan *s, size_t *n)
{
    const unsigned char *b = s->buf + s->pos;
    size_t avail = s->len - s->pos, need;
    unsigned char lo = 0x80, hi = 0xBF;
    unsigned char c = b[0];

    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return syntax(s, s->pos, "invalid UTF-8 in a string");
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= avail)
            return ended(s, "unexpected end of input inside a string");
        if (b[i] < lo || b[i] > hi)
            return syntax(s, s->pos + i, "invalid UTF-8 in a string");
        lo = 0x80;
        hi = 0xBF;
    }
    *n = need;
    return MF_SCAN_OK;
}

static void
put(char *out, size_t cap, size_t *n, const void *src, size_t len)
{
    if (*n < cap) {
        size_t room = cap - *n;
        memcpy(out + *n, src, len < room ? len : room);
    }
    *n += len;
}

int
mf_scan_string(struct mf_scan *s, char *out, size_t cap, size_t *outlen)
{
    const unsigned char *b = s->buf;
    size_t n = 0, start, k;
    unsigned char tmp[4];
    int rc;

    skip_ws(s);
    if (s->pos >= s->len)
        return ended(s, "unexpected end of input where a string was expected");
    if (b[s->pos] != '"')
        return syntax(s, s->pos, "expected a string");
    start = s->pos;
    s->pos++;
    for (;;) {
        /* The common case: a run of plain ASCII. */
        size_t p = s->pos, run;
        while (p < s->len && b[p] >= 0x20 && b[p] < 0x80 && b[p] != '"' &&
               b[p] != '\\')
            p++;
        run = p - s->pos;
        if (run > 0)
            put(out, cap, &n, b + s->pos, run);
        s->pos = p;
        if (p >= s->len) {
            s->pos = start;
            return ended(s, "unexpected end of input inside a string");
        }
        if (b[p] == '"') {
            s->pos = p + 1;
            *outlen = n;
            return MF_SCAN_OK;
        }
        if (b[p] == '\\')
            rc = scan_escape(s, tmp, &k);
        else if (b[p] < 0x20)
            rc = syntax(s, p, "a control character inside a string");
        else if ((rc = scan_utf8(s, &k)) == MF_SCAN_OK) {
            memcpy(tmp, b + p, k);
            s->pos = p + k;
        }
        if (rc != MF_SCAN_OK) {
            if (rc == MF_SCAN_MORE)
                s->pos = start;
            return rc;
        }
        put(out, cap, &n, tmp, k);
    }
}

static int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

int
mf_scan_number(struct mf_scan *s, struct mf_scan_num *n)
{
    const unsigned char *b = s->buf;
    size_t p, start;
    const char *eoi = "unexpected end of input inside a number";

    skip_ws(s);
    start = p = s->pos;
    memset(n, 0, sizeof(*n));
    if (p < s->len && b[p] == '-') {
        n->neg = true;
        p++;
    }
    if (p >= s->len)
        goto more;
    if (!is_digit(b[p]))
        return syntax(s, p, "a number needs a digit here");
    n->ip = (const char *)b + p;
    if (b[p] == '0') {
        p++;
        if (p < s->len && is_digit(b[p]))
            return syntax(s, p, "a number has a leading zero");
    } else {
        while (p < s->len && is_digit(b[p]))
            p++;
    }
    n->ilen = (size_t)((const char *)b + p - n->ip);
    if (p >= s->len)
        goto end;
    if (b[p] == '.') {
        p++;
        n->fp = (const char *)b + p;
        while (p < s->len && is_digit(b[p]))
            p++;
        n->flen = (size_t)((const char *)b + p - n->fp);
        if (p >= s->len && n->flen == 0)
            goto more;
        if (n->flen == 0)
            return syntax(s, p, "a number needs a digit after '.'");
        if (p >= s->len)
            goto end;
    }
    if (b[p] == 'e' || b[p] == 'E') {
        int eneg = 0, nd = 0;
        int64_t e = 0;
        p++;
        if (p < s->len && (b[p] == '+' || b[p] == '-'))
            eneg = b[p++] == '-';
        while (p < s->len && is_digit(b[p])) {
            if (e < EXP_SATURATE)
                e = e * 10 + (b[p] - '0');
            nd++;
            p++;
        }
        if (nd == 0) {
            if (p >= s->len)
                goto more;
            return syntax(s, p, "a number needs a digit in its exponent");
        }
        if (e > EXP_SATURATE)
            e = EXP_SATURATE;
        n->exp = eneg ? -e : e;
    }
    if (p >= s->len && !s->final)
        goto more;
    s->pos = p;
    return MF_SCAN_OK;
end:
    if (!s->final)
        goto more;
    s->pos = p;
    return MF_SCAN_OK;
more:
    s->pos = start;
    return ended(s, eoi);
}

int
mf_scan_literal(struct mf_scan *s)
{
    static const struct {
        const char *word;
        size_t len;
        int type;
    } lits[] = {{"true", 4, MF_SCAN_TRUE},
                {"false", 5, MF_SCAN_FALSE},
                {"null", 4, MF_SCAN_NULL}};

    skip_ws(s);
    if (s->pos >= s->len)
        return ended(s, "unexpected end of input where a value was expected");
    for (size_t i = 0; i < 3; i++) {
        if (s->buf[s->pos] != (unsigned char)lits[i].word[0])
            continue;
        size_t avail = s->len - s->pos;
        size_t cmp = avail < lits[i].len ? avail : lits[i].len;
        for (size_t k = 0; k < cmp; k++)
            if (s->buf[s->pos + k] != (unsigned char)lits[i].word[k])
                return syntax(s, s->pos + k,
                              "invalid literal (expected true, false or null)");
        if (cmp < lits[i].len)
            return ended(s, "unexpected end of input inside a literal");
        s->pos += lits[i].len;
        return lits[i].type;
    }
    return syntax(s, s->pos, "unexpected character where a value was expected");
}

static void
set_bit(unsigned char *stack, size_t depth, int is_object)
{
    unsigned char mask = (unsigned char)(1u << (depth % 8));
    if (is_object)
        stack[depth / 8] |= mask;
    else
        stack[depth / 8] &= (unsigned char)~mask;
}

static int
get_bit(const unsigned char *stack, size_t depth)
{
    return (stack[depth / 8] >> (depth % 8)) & 1;
}

/* Reads an object member's name and colon (whitespace allowed). */
static int
member_name(struct mf_scan *s)
{
    size_t len;
    int rc;

    skip_ws(s);
    if (s->pos >= s->len)
        return ended(
            s, "unexpected end of input where a member name was expected");
    if (s->buf[s->pos] != '"')
        return syntax(s, s->pos, "expected a member name (a string)");
    if ((rc = mf_scan_string(s, NULL, 0, &len)) != MF_SCAN_OK)
        return rc;
    return mf_scan_punct(s, ':');
}

/* Reads one scalar, or opens a container (pushing it); *opened tells. */
static int
skip_open(struct mf_scan *s, size_t *depth)
{
    int t = mf_scan_peek(s), rc;
    struct mf_scan_num num;
    size_t len;

    if (t < 0)
        return t;
    switch (t) {
    case MF_SCAN_OBJECT:
    case MF_SCAN_ARRAY:
        if (*depth >= MF_SCAN_MAX_DEPTH)
            return syntax(s, s->pos, "containers nest deeper than 512 levels");
        set_bit(s->stack, *depth, t == MF_SCAN_OBJECT);
        (*depth)++;
        s->pos++;
        if ((rc = mf_scan_accept(s, t == MF_SCAN_OBJECT ? '}' : ']')) < 0)
            return rc;
        if (rc == 1) {
            (*depth)--;
            return MF_SCAN_OK;
        }
        if (t == MF_SCAN_OBJECT && (rc = member_name(s)) != MF_SCAN_OK)
            return rc;
        return 1; /* a value must follow */
    case MF_SCAN_STRING:
        return mf_scan_string(s, NULL, 0, &len);
    case MF_SCAN_NUMBER:
        return mf_scan_number(s, &num);
    default:
        rc = mf_scan_literal(s);
        return rc < 0 ? rc : MF_SCAN_OK;
    }
}

int
mf_scan_skip(struct mf_scan *s)
{
    size_t depth = 0, start;
    int rc;

    skip_ws(s);
    start = s->pos;
    for (;;) {
        /* A value: a scalar, or an opening bracket (then a value again). */
        rc = skip_open(s, &depth);
        if (rc == 1)
            continue;
        if (rc != MF_SCAN_OK)
            goto fail;
        /* After a value: close containers or go on to the next member. */
        for (;;) {
            if (depth == 0)
                return MF_SCAN_OK;
            int obj = get_bit(s->stack, depth - 1);
            skip_ws(s);
            if (s->pos >= s->len) {
                rc = ended(s, "unexpected end of input inside a container");
                goto fail;
            }
            unsigned char c = s->buf[s->pos];
            if (c == (obj ? '}' : ']')) {
                s->pos++;
                depth--;
                continue;
            }
            if (c != ',') {
                rc = syntax(s, s->pos,
                            obj ? "expected ',' or '}' in an object"
                                : "expected ',' or ']' in an array");
                goto fail;
            }
            s->pos++;
            if (obj && (rc = member_name(s)) != MF_SCAN_OK)
                goto fail;
            break;
        }
    }
fail:
    if (rc == MF_SCAN_MORE)
        s->pos = start;
    return rc;
}

static char
digit_at(const struct mf_scan_num *n, int64_t i)
{
    if (i < 0)
        return '0';
    if ((uint64_t)i < n->ilen)
        return n->ip[i];
    if ((uint64_t)i - n->ilen < n->flen)
        return n->fp[i - (int64_t)n->ilen];
    return '0';
}

void
mf_scan_num_decimal(const struct mf_scan_num *n, struct mf_scan_dec *d)
{
    int64_t total = (int64_t)(n->ilen + n->flen), a = -1, b = -1;
    int64_t point = (int64_t)n->ilen + n->exp, nint, nfrac;

    memset(d, 0, sizeof(*d));
    for (int64_t i = 0; i < total; i++) {
        if (digit_at(n, i) != '0') {
            if (a < 0)
                a = i;
            b = i;
        }
    }
    if (a < 0)
        return; /* zero, whatever the sign and exponent */
    d->neg = n->neg;
    nint = point > a ? point - a : 0;
    nfrac = b >= point ? b + 1 - point : 0;
    d->frac_nonzero = nfrac > 0;
    d->frac_total = nfrac > UINT32_MAX ? UINT32_MAX : (uint32_t)nfrac;
    if (nint > MF_SCAN_DEC_INT_MAX) {
        d->too_big = true;
        return;
    }
    d->nint = (uint8_t)nint;
    for (int64_t i = 0; i < nint; i++)
        d->digits[i] = digit_at(n, a + i);
    if (nfrac > MF_SCAN_DEC_FRAC_MAX) {
        d->frac_cut = true;
        nfrac = MF_SCAN_DEC_FRAC_MAX;
    }
    d->nfrac = (uint8_t)nfrac;
    for (int64_t i = 0; i < nfrac; i++)
        d->digits[nint + i] = digit_at(n, point + i);
}

int
mf_scan_num_int64(const struct mf_scan_num *n, int64_t *v)
{
    struct mf_scan_dec d;
    uint64_t u = 0, limit;

    mf_scan_num_decimal(n, &d);
    if (d.frac_nonzero)
        return -1;
    if (d.too_big || d.nint > 19)
        return -2;
    for (int i = 0; i < d.nint; i++)
        u = u * 10 + (uint64_t)(d.digits[i] - '0');
    limit = d.neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (u > limit)
        return -2;
    if (d.neg)
        *v = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    else
        *v = (int64_t)u;
    return 0;
}

int
mf_scan_dec_cmp_u64(const struct mf_scan_dec *d, uint64_t bound)
{
    uint64_t iv = 0;

    if (d->neg)
        return -1;
    if (d->too_big)
        return 1;
    for (int i = 0; i < d->nint; i++) {
        unsigned dg = (unsigned)(d->digits[i] - '0');
        if (iv > (UINT64_MAX - dg) / 10)
            return 1;
        iv = iv * 10 + dg;
    }
    if (iv != bound)
        return iv < bound ? -1 : 1;
    return d->frac_nonzero ? 1 : 0;
}

size_t
mf_scan_dec_text(const struct mf_scan_dec *d, char *buf, size_t cap)
{
    size_t n = 0;

    if (cap < 64) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    if (d->neg)
        buf[n++] = '-';
    if (d->nint == 0)
        buf[n++] = '0';
    memcpy(buf + n, d->digits, d->nint);
    n += d->nint;
    if (d->nfrac > 0) {
        buf[n++] = '.';
        memcpy(buf + n, d->digits + d->nint, d->nfrac);
        n += d->nfrac;
    }
    buf[n] = '\0';
    return n;
}
