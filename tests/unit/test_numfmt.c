/* Unit tests of mf_numfmt: the fast paths give exactly the C library's
 * text and doubles. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_numfmt.h"

/* A small deterministic generator (xorshift64*), so failures repeat. */
static uint64_t rng = 88172645463325252u;

static uint64_t
next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717u;
}

static void
same_text(double v)
{
    char want[64], got[MF_FMT_G12_MAX];
    snprintf(want, sizeof(want), "%.12g", v);
    int n = mf_fmt_g12(v, got);
    if (strcmp(want, got) != 0)
        fail_msg("%a: printf \"%s\", mf_fmt_g12 \"%s\"", v, want, got);
    assert_int_equal(n, (int)strlen(want));
}

static void
test_fmt_edges(void **state)
{
    (void)state;
    static const double v[] = {0.0,
                               -0.0,
                               1,
                               -1,
                               0.5,
                               0.1,
                               0.2,
                               0.3,
                               1.0 / 3,
                               2.0 / 3,
                               10,
                               100,
                               1e11,
                               1e12,
                               1e13,
                               999999999999.0,
                               999999999999.5,
                               999999999998.5,
                               99999999999.95,
                               9.9999999999995,
                               9.99999999999949,
                               0.0001,
                               0.00001,
                               0.000099999999999995,
                               1e-5,
                               1.5e-5,
                               123456789012.5,
                               1234567890125e-1,
                               0.125,
                               2.5,
                               3.5,
                               1e15,
                               1e16,
                               1e17,
                               1e22,
                               1e23,
                               1e100,
                               1e-100,
                               1e300,
                               1e-300,
                               5e-324,
                               1.7976931348623157e308,
                               2250.123456789,
                               4000,
                               2500,
                               0.04,
                               0.1 + 0.2,
                               87.5,
                               1234.5678,
                               1e-4 * 3,
                               INFINITY,
                               -INFINITY,
                               NAN};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        same_text(v[i]);
        same_text(-v[i]);
    }
    /* Every power of ten and its neighbours. */
    for (int e = -320; e <= 308; e++) {
        double p = pow(10, e);
        same_text(p);
        same_text(nextafter(p, 0));
        same_text(nextafter(p, INFINITY));
    }
}

static void
test_fmt_random(void **state)
{
    (void)state;
    /* Ratios as the API divides them: integers over integers, sums of
     * decimals over counts. */
    for (int i = 0; i < 1000000; i++) {
        uint64_t a = next() % 100000000000u, b = next() % 100000 + 1;
        same_text((double)a / (double)b);
        same_text((double)(next() % 1000000) / 1000.0 / (double)b);
    }
    /* Any bit pattern. */
    for (int i = 0; i < 1000000; i++) {
        uint64_t bits = next();
        double v;
        memcpy(&v, &bits, sizeof(v));
        same_text(v);
    }
    /* Halfway cases of 12 digits: exact in binary when small. */
    for (int i = 0; i < 200000; i++) {
        uint64_t q = UINT64_C(100000000000) + next() % 900000000000u;
        same_text(((double)q + 0.5) / 1.0);
        same_text(((double)q + 0.5) / 1024.0);
    }
}

static void
same_double(const char *s)
{
    double want = strtod(s, NULL), got = mf_parse_decimal(s);
    if (memcmp(&want, &got, sizeof(want)) != 0)
        fail_msg("\"%s\": strtod %a, mf_parse_decimal %a", s, want, got);
}

static void
test_parse(void **state)
{
    (void)state;
    static const char *const s[] = {"0",
                                    "-0",
                                    "1",
                                    "-1",
                                    "10234.5",
                                    "10234.50",
                                    "0.05",
                                    "000.0500",
                                    "5.",
                                    ".5",
                                    ".",
                                    "",
                                    "-",
                                    "1e5",
                                    "1E-5",
                                    "NaN",
                                    "Infinity",
                                    "-Infinity",
                                    "12345678901234567890",
                                    "9007199254740992",
                                    "9007199254740993",
                                    "0.1",
                                    "0.3",
                                    "123456789.123456789",
                                    "0.0000000000000000000001",
                                    "0.00000000000000000000001",
                                    "1000000000000",
                                    "999999999999.999999",
                                    "17.25 ",
                                    "3,5"};
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        same_double(s[i]);
    char buf[64];
    for (int i = 0; i < 1000000; i++) {
        /* numeric text as PostgreSQL writes sums: up to 19 digits, any
         * scale up to 24 */
        uint64_t m = next() % 10000000000000000000u;
        int scale = (int)(next() % 25);
        int n = snprintf(buf, sizeof(buf), "%s%" PRIu64,
                         (next() & 1) ? "-" : "", m);
        (void)n;
        if (scale > 0) {
            /* insert a point scale digits from the end, padding zeros */
            char digits[64];
            snprintf(digits, sizeof(digits), "%0*" PRIu64, scale + 1, m);
            size_t len = strlen(digits);
            snprintf(buf, sizeof(buf), "%s%.*s.%s", (next() & 1) ? "-" : "",
                     (int)(len - (size_t)scale), digits,
                     digits + len - (size_t)scale);
        }
        same_double(buf);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_edges),
        cmocka_unit_test(test_fmt_random),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
