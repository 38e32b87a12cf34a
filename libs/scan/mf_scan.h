/*
 * mf_scan: a strict, allocation-free JSON scanner for record streams.
 *
 * The caller walks a value token by token over a buffer it owns: skip
 * whitespace and peek at the next value's type, take punctuation, unescape a
 * string into its own buffer, read a number's parts, or skip a whole value
 * of any nesting (iteratively, with a fixed-size bracket stack). Nothing is
 * allocated; nothing is read outside [buf, buf + len).
 *
 * Grammar: RFC 8259, exactly. Strings must be valid UTF-8 (no overlong
 * forms, no encoded surrogates, nothing above U+10FFFF); \uXXXX escapes are
 * decoded, surrogate pairs joined, lone surrogates rejected. Containers may
 * nest at most MF_SCAN_MAX_DEPTH levels (RFC 8259 section 9 allows a limit).
 *
 * Errors: MF_SCAN_SYNTAX with a static reason in s->why and the absolute
 * byte offset of the offending byte in s->err_off (base + position), or
 * MF_SCAN_MORE when the buffer ends inside a token and s->final is 0 (the
 * caller may append bytes and scan the value again). With s->final set, the
 * end of the buffer is the end of the input and a number may end there.
 */
#ifndef MF_SCAN_H
#define MF_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_SCAN_MAX_DEPTH 512
/* Digits a canonical decimal keeps on each side of the point. */
#define MF_SCAN_DEC_INT_MAX  20
#define MF_SCAN_DEC_FRAC_MAX 20

enum {
    MF_SCAN_OK = 0,
    MF_SCAN_SYNTAX = -1,
    MF_SCAN_MORE = -2,
};

enum mf_scan_type {
    MF_SCAN_OBJECT = 1,
    MF_SCAN_ARRAY,
    MF_SCAN_STRING,
    MF_SCAN_NUMBER,
    MF_SCAN_TRUE,
    MF_SCAN_FALSE,
    MF_SCAN_NULL,
};

/* Scanner state. The fields are read by callers; set them only through
 * mf_scan_init. */
struct mf_scan {
    const unsigned char *buf;
    size_t len;
    size_t pos;      /* next byte to read */
    uint64_t base;   /* stream offset of buf[0] */
    int final;       /* the buffer's end is the input's end */
    const char *why; /* reason of the last error */
    uint64_t err_off;
    unsigned char stack[MF_SCAN_MAX_DEPTH / 8]; /* 1 bit per level: object */
};

/* A number as written: its digit runs point into the scanned buffer. */
struct mf_scan_num {
    bool neg;
    const char *ip; /* integer digits */
    size_t ilen;
    const char *fp; /* fraction digits (after '.') */
    size_t flen;
    int64_t exp; /* exponent, saturated to +-10^9 */
};

/*
 * A number's exact value in canonical decimal form: no exponent, no leading
 * zeros in the integer part, no trailing zeros in the fraction, zero never
 * negative. digits holds nint integer digits then nfrac fraction digits.
 * When the value needs more than MF_SCAN_DEC_INT_MAX integer digits,
 * too_big is set and digits is not filled; when it needs more than
 * MF_SCAN_DEC_FRAC_MAX fraction digits, frac_cut is set and only the first
 * MF_SCAN_DEC_FRAC_MAX are kept (all of them are zero or not, exactly:
 * frac_nonzero).
 */
struct mf_scan_dec {
    bool neg;
    bool too_big;
    bool frac_cut;
    bool frac_nonzero;
    uint8_t nint;
    uint8_t nfrac;
    uint32_t frac_total; /* fraction digits the exact value needs */
    char digits[MF_SCAN_DEC_INT_MAX + MF_SCAN_DEC_FRAC_MAX];
};

/* Starts scanning buf[0..len) whose first byte is at stream offset base. */
void mf_scan_init(struct mf_scan *s, const void *buf, size_t len, uint64_t base,
                  int final);

/* The absolute stream offset of the next byte. */
uint64_t mf_scan_offset(const struct mf_scan *s);

/*
 * Skips whitespace and returns the type of the value that starts next
 * (without consuming it), MF_SCAN_MORE at the end of the buffer, or
 * MF_SCAN_SYNTAX when the next byte cannot start a value.
 */
int mf_scan_peek(struct mf_scan *s);

/*
 * Skips whitespace and consumes the byte c (one of "{}[]:,"). Returns
 * MF_SCAN_OK, MF_SCAN_MORE, or MF_SCAN_SYNTAX when another byte is there
 * (nothing consumed).
 */
int mf_scan_punct(struct mf_scan *s, char c);

/*
 * Skips whitespace and, if the next byte is c, consumes it and returns 1;
 * otherwise returns 0 (or MF_SCAN_MORE at the end of the buffer).
 */
int mf_scan_accept(struct mf_scan *s, char c);

/*
 * Reads a string (after optional whitespace) and writes its unescaped UTF-8
 * bytes into out, at most cap of them; *outlen receives the full unescaped
 * length, which may exceed cap (the string is still checked to its end).
 * out may be NULL when cap is 0. No terminating NUL is written.
 */
int mf_scan_string(struct mf_scan *s, char *out, size_t cap, size_t *outlen);

/* Reads a number (after optional whitespace) into *n. */
int mf_scan_number(struct mf_scan *s, struct mf_scan_num *n);

/* Reads true, false or null and returns its type (or an error). */
int mf_scan_literal(struct mf_scan *s);

/* Skips one complete value of any type and nesting, checking it fully. */
int mf_scan_skip(struct mf_scan *s);

/* Computes the canonical decimal of n into *d. Cannot fail. */
void mf_scan_num_decimal(const struct mf_scan_num *n, struct mf_scan_dec *d);

/*
 * The value of n as an int64 when it is a whole number (1e3, 10.0, -0).
 * Returns 0, -1 when it has a fractional part (*v unchanged), or -2 when it
 * is whole but outside the int64 range.
 */
int mf_scan_num_int64(const struct mf_scan_num *n, int64_t *v);

/*
 * Compares the exact value of d with the non-negative integer bound:
 * -1 below, 0 equal, 1 above.
 */
int mf_scan_dec_cmp_u64(const struct mf_scan_dec *d, uint64_t bound);

/*
 * Writes d as decimal text ("0", "12.5", "-0.001") into buf (cap >= 64)
 * with a terminating NUL; returns the length. The text is exact only when
 * neither too_big nor frac_cut is set.
 */
size_t mf_scan_dec_text(const struct mf_scan_dec *d, char *buf, size_t cap);

#endif
