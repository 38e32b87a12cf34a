/* Numbers between text and double: see mf_numfmt.h. */
#include "mf_numfmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef unsigned __int128 u128;

#define P12 UINT64_C(1000000000000) /* 10^12 */
#define P11 UINT64_C(100000000000)  /* 10^11 */

/* 10^n for n in 0..38 (the largest power of ten in 128 bits). */
static u128
pow10_u128(int n)
{
    u128 p = 1;
    while (n-- > 0)
        p *= 10;
    return p;
}

/* num * f, or 0 when it would not fit in 128 bits. */
static int
mul_fits(u128 *num, u128 f)
{
    if (f != 0 && *num > ~(u128)0 / f)
        return 0;
    *num *= f;
    return 1;
}

/*
 * The 12 significant digits of a (> 0, finite) as q in [10^11, 10^12)
 * with a ~= q * 10^(x - 11), rounded half to even on the exact value.
 * Returns 0 when the exact arithmetic would leave 128 bits (the caller
 * then asks the C library).
 */
static int
digits12(double a, uint64_t *q_out, int *x_out)
{
    int e2;
    double fr = frexp(a, &e2);
    uint64_t m = (uint64_t)ldexp(fr, 53); /* a = m * 2^e exactly */
    int e = e2 - 53;
    if (e > 70 || e < -126)
        return 0;
    int x = (int)floor(log10(a));
    for (int tries = 0; tries < 3; tries++) {
        int k = x - 11; /* q = a / 10^k */
        if (k > 38 || k < -38)
            return 0;
        u128 num = m, den = 1;
        if (e >= 0)
            num <<= e;
        else
            den <<= -e;
        if (k < 0 ? !mul_fits(&num, pow10_u128(-k))
                  : !mul_fits(&den, pow10_u128(k)))
            return 0;
        u128 q = num / den, r = num % den;
        if (q < P11) {
            x--;
            continue;
        }
        if (q >= P12) {
            x++;
            continue;
        }
        /* Half to even: r against what is left up to den. */
        u128 rest = den - r;
        if (r > rest || (r == rest && (q & 1)))
            q++;
        if (q == P12) {
            q = P11;
            x++;
        }
        *q_out = (uint64_t)q;
        *x_out = x;
        return 1;
    }
    return 0;
}

int
mf_fmt_g12(double v, char *buf)
{
    uint64_t q;
    int x;
    if (!isfinite(v) || v == 0 || !digits12(fabs(v), &q, &x))
        return snprintf(buf, MF_FMT_G12_MAX, "%.12g", v);
    char d[12];
    for (int i = 11; i >= 0; i--) {
        d[i] = (char)('0' + q % 10);
        q /= 10;
    }
    int nd = 12; /* significant digits left once trailing zeros go */
    while (nd > 1 && d[nd - 1] == '0')
        nd--;
    char *p = buf;
    if (signbit(v))
        *p++ = '-';
    if (x < -4 || x >= 12) { /* d.ddde[+-]XX */
        *p++ = d[0];
        if (nd > 1) {
            *p++ = '.';
            for (int i = 1; i < nd; i++)
                *p++ = d[i];
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        if (ax >= 100)
            *p++ = (char)('0' + ax / 100);
        *p++ = (char)('0' + ax / 10 % 10);
        *p++ = (char)('0' + ax % 10);
    } else if (x >= 0) { /* ddd.ddd */
        for (int i = 0; i <= x; i++)
            *p++ = d[i];
        if (nd > x + 1) {
            *p++ = '.';
            for (int i = x + 1; i < nd; i++)
                *p++ = d[i];
        }
    } else { /* 0.000ddd */
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -x - 1; i++)
            *p++ = '0';
        for (int i = 0; i < nd; i++)
            *p++ = d[i];
    }
    *p = '\0';
    return (int)(p - buf);
}

double
mf_parse_decimal(const char *s)
{
    /* [-]digits[.digits], at most 19 significant digits whose value is
     * below 2^53 and at most 22 decimals: the quotient of two exactly
     * representable numbers, which one IEEE division rounds correctly,
     * as strtod does. Anything else goes to strtod. */
    const char *p = s;
    int neg = 0;
    if (*p == '-')
        neg = 1, p++;
    uint64_t mant = 0;
    int sig = 0, frac = 0, any = 0;
    for (; *p >= '0' && *p <= '9'; p++, any = 1) {
        if (sig == 0 && *p == '0')
            continue;
        if (++sig > 19)
            return strtod(s, NULL);
        mant = mant * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, any = 1) {
            if (++frac > 22)
                return strtod(s, NULL);
            if (sig == 0 && *p == '0')
                continue;
            if (++sig > 19)
                return strtod(s, NULL);
            mant = mant * 10 + (uint64_t)(*p - '0');
        }
    }
    if (!any || *p != '\0' || mant > (UINT64_C(1) << 53))
        return strtod(s, NULL);
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    double v = (double)mant / p10[frac];
    return neg ? -v : v;
}
