/*
 * fmt.h: the generator's hand-written text formatting. Every helper writes
 * at p, which the caller guarantees has room, and returns the new end.
 * No helper writes a terminating NUL.
 */
#ifndef GEN_FMT_H
#define GEN_FMT_H

#include <stdint.h>
#include <string.h>

/* Appends a string literal. */
#define PUT_LIT(p, lit)                                                        \
    (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

static inline char *
put_mem(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

/* Appends exactly two digits of v (0-99). */
static inline char *
put_2(char *p, unsigned v)
{
    p[0] = digit_pairs[v * 2];
    p[1] = digit_pairs[v * 2 + 1];
    return p + 2;
}

/* Appends exactly four digits of v (0-9999). */
static inline char *
put_4(char *p, unsigned v)
{
    p = put_2(p, v / 100);
    return put_2(p, v % 100);
}

/*
 * Appends v in decimal (at most 20 bytes). Numbers below a million, most of
 * them, are written directly; larger ones are built at the end of a
 * scratch buffer and copied with one fixed 24-byte move, so the room at p
 * must be 24 bytes even for a short number.
 */
static inline char *
put_u64(char *p, uint64_t v)
{
    if (v < 100) {
        if (v < 10) {
            *p = (char)('0' + v);
            return p + 1;
        }
        return put_2(p, (unsigned)v);
    }
    if (v < 10000) {
        if (v < 1000) {
            *p = (char)('0' + v / 100);
            return put_2(p + 1, (unsigned)(v % 100));
        }
        return put_4(p, (unsigned)v);
    }
    if (v < 1000000) {
        unsigned hi = (unsigned)(v / 10000), lo = (unsigned)(v % 10000);
        if (hi < 10)
            *p++ = (char)('0' + hi);
        else
            p = put_2(p, hi);
        return put_4(p, lo);
    }
    char tmp[48];
    char *end = tmp + 24, *t = end;
    memset(end, 0, 24); /* the copy below reads up to here: no stale bytes */
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        *--t = digit_pairs[d + 1];
        *--t = digit_pairs[d];
    }
    if (v >= 10) {
        unsigned d = (unsigned)v * 2;
        *--t = digit_pairs[d + 1];
        *--t = digit_pairs[d];
    } else {
        *--t = (char)('0' + v);
    }
    memcpy(p, t, 24);
    return p + (end - t);
}

/*
 * Appends the first n bytes of s, copying a fixed W bytes: both s and the
 * room at p must have W bytes (W a constant, so the copy is a few moves).
 */
#define PUT_FIXED(p, s, n, W) (memcpy((p), (s), (W)), (p) + (n))

/* Appends v (may be negative) in decimal. */
static inline char *
put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_u64(p, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(p, (uint64_t)v);
}

#endif
