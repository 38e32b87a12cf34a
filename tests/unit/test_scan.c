/* Unit tests of mf_scan: strings, numbers, skipping, errors and offsets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_scan.h"

/* Scans one string; returns its unescaped text (static buffer) or NULL. */
static const char *
str_ok(const char *json, size_t *outlen)
{
    static char out[256];
    struct mf_scan s;
    mf_scan_init(&s, json, strlen(json), 0, 1);
    assert_int_equal(mf_scan_string(&s, out, sizeof(out) - 1, outlen),
                     MF_SCAN_OK);
    out[*outlen < sizeof(out) - 1 ? *outlen : sizeof(out) - 1] = '\0';
    return out;
}

/* A string that must fail with a syntax error at offset at. */
static void
str_bad(const char *json, size_t json_len, uint64_t at)
{
    char out[64];
    size_t n;
    struct mf_scan s;
    mf_scan_init(&s, json, json_len, 100, 1);
    assert_int_equal(mf_scan_string(&s, out, sizeof(out), &n), MF_SCAN_SYNTAX);
    assert_non_null(s.why);
    assert_int_equal(s.err_off, 100 + at);
}

static void
test_string_escapes(void **state)
{
    size_t n;
    (void)state;
    assert_string_equal(str_ok("\"plain\"", &n), "plain");
    assert_string_equal(str_ok("\"a\\\"b\\\\c\\/d\"", &n), "a\"b\\c/d");
    assert_string_equal(str_ok("\"\\b\\f\\n\\r\\t\"", &n), "\b\f\n\r\t");
    assert_string_equal(str_ok("\"\\u0070age\"", &n), "page");
    assert_string_equal(str_ok("\"\\u00e9\"", &n), "\xc3\xa9");
    assert_string_equal(str_ok("\"\\u20AC\"", &n), "\xe2\x82\xac");
    /* a surrogate pair joins into one 4-byte character */
    assert_string_equal(str_ok("\"\\ud83d\\ude00\"", &n), "\xf0\x9f\x98\x80");
    assert_string_equal(str_ok("\"\xf0\x9f\x98\x80 \xc3\xa9\"", &n),
                        "\xf0\x9f\x98\x80 \xc3\xa9");
    assert_string_equal(str_ok("\"\"", &n), "");
    assert_int_equal(n, 0);
    /* \u0000 is valid JSON: one NUL byte */
    str_ok("\"a\\u0000b\"", &n);
    assert_int_equal(n, 3);
}

static void
test_string_errors(void **state)
{
    (void)state;
    str_bad("\"ab\\x\"", 6, 3);            /* invalid escape */
    str_bad("\"\\ud83d\"", 8, 1);          /* lone high surrogate */
    str_bad("\"\\ud83dx\\ude00\"", 14, 1); /* high then no escape */
    str_bad("\"\\ud83d\\u0041\"", 13, 7);  /* high then not a low */
    str_bad("\"\\ude00\"", 8, 1);          /* lone low surrogate */
    str_bad("\"\\u12G4\"", 8, 5);          /* bad hex digit */
    str_bad("\"a\tb\"", 5, 2);             /* raw control character */
    str_bad("\"\xc0\x80\"", 4, 1);         /* overlong NUL */
    str_bad("\"\xe0\x80\x80\"", 5, 2);     /* overlong 3-byte */
    str_bad("\"\xed\xa0\x80\"", 5, 2);     /* encoded surrogate */
    str_bad("\"\xf4\x90\x80\x80\"", 6, 2); /* above U+10FFFF */
    str_bad("\"\xf5\x80\x80\x80\"", 6, 1); /* invalid lead byte */
    str_bad("\"\x80\"", 3, 1);             /* lone continuation */
    str_bad("\"\xc3\"", 3, 2);             /* truncated sequence */
    str_bad("\"abc", 4, 4);                /* unterminated */
    str_bad("abc", 3, 0);                  /* not a string */
}

static void
test_string_long_and_more(void **state)
{
    char out[4];
    size_t n;
    struct mf_scan s;
    const char *j = "\"abcdefgh\"";
    (void)state;
    /* output is cut at cap but the full length is reported */
    mf_scan_init(&s, j, strlen(j), 0, 1);
    assert_int_equal(mf_scan_string(&s, out, sizeof(out), &n), MF_SCAN_OK);
    assert_int_equal(n, 8);
    assert_memory_equal(out, "abcd", 4);
    assert_int_equal(s.pos, strlen(j));
    /* every proper prefix asks for more when not final */
    const char *full = "\"a\\u00e9\xc3\xa9\\ud83d\\ude00z\"";
    for (size_t k = 0; k < strlen(full); k++) {
        mf_scan_init(&s, full, k, 0, 0);
        assert_int_equal(mf_scan_string(&s, out, sizeof(out), &n),
                         MF_SCAN_MORE);
        assert_int_equal(s.pos, 0);
        mf_scan_init(&s, full, k, 0, 1);
        assert_int_equal(mf_scan_string(&s, out, sizeof(out), &n),
                         MF_SCAN_SYNTAX);
    }
}

static struct mf_scan_num
num_ok(const char *text)
{
    struct mf_scan s;
    struct mf_scan_num n;
    mf_scan_init(&s, text, strlen(text), 0, 1);
    assert_int_equal(mf_scan_number(&s, &n), MF_SCAN_OK);
    assert_int_equal(s.pos, strlen(text));
    return n;
}

static void
num_bad(const char *text, uint64_t at)
{
    struct mf_scan s;
    struct mf_scan_num n;
    mf_scan_init(&s, text, strlen(text), 0, 1);
    int rc = mf_scan_number(&s, &n);
    if (rc == MF_SCAN_OK) {
        /* the number stops early: what follows is not part of it */
        assert_true(s.pos < strlen(text));
        assert_int_equal(s.pos, at);
        return;
    }
    assert_int_equal(rc, MF_SCAN_SYNTAX);
    assert_int_equal(s.err_off, at);
}

static const char *
dec(const char *text)
{
    static char buf[64];
    struct mf_scan_num n = num_ok(text);
    struct mf_scan_dec d;
    mf_scan_num_decimal(&n, &d);
    mf_scan_dec_text(&d, buf, sizeof(buf));
    return buf;
}

static void
test_number_forms(void **state)
{
    (void)state;
    assert_string_equal(dec("0"), "0");
    assert_string_equal(dec("-0"), "0");
    assert_string_equal(dec("-0.0e5"), "0");
    assert_string_equal(dec("1e3"), "1000");
    assert_string_equal(dec("1E+3"), "1000");
    assert_string_equal(dec("10.0"), "10");
    assert_string_equal(dec("1.50e1"), "15");
    assert_string_equal(dec("123.456e-5"), "0.00123456");
    assert_string_equal(dec("0.04"), "0.04");
    assert_string_equal(dec("10234.5"), "10234.5");
    assert_string_equal(dec("-2.5"), "-2.5");
    assert_string_equal(dec("5e-1"), "0.5");
    assert_string_equal(dec("0.000100"), "0.0001");
    assert_string_equal(dec("1000000000000"), "1000000000000");
    assert_string_equal(dec("12345678901234567890"), "12345678901234567890");
    assert_string_equal(dec("0e999999999999999999999"), "0");

    num_bad("01", 1);
    num_bad("-", 1);
    num_bad("1.", 2);
    num_bad("1.e5", 2);
    num_bad(".5", 0);
    num_bad("+1", 0);
    num_bad("1e", 2);
    num_bad("1e+", 3);
    num_bad("-a", 1);
}

static void
test_number_exactness(void **state)
{
    struct mf_scan_num n;
    struct mf_scan_dec d;
    int64_t v = 7;
    (void)state;

    n = num_ok("1e400");
    mf_scan_num_decimal(&n, &d);
    assert_true(d.too_big);
    assert_int_equal(mf_scan_dec_cmp_u64(&d, UINT64_MAX), 1);

    n = num_ok("1e-400");
    mf_scan_num_decimal(&n, &d);
    assert_true(d.frac_cut);
    assert_int_equal(d.frac_total, 400);
    assert_int_equal(mf_scan_dec_cmp_u64(&d, 0), 1);
    assert_int_equal(mf_scan_dec_cmp_u64(&d, 1), -1);

    n = num_ok("1e12");
    mf_scan_num_decimal(&n, &d);
    assert_int_equal(mf_scan_dec_cmp_u64(&d, 1000000000000ULL), 0);
    n = num_ok("1000000000000.0000001");
    mf_scan_num_decimal(&n, &d);
    assert_int_equal(mf_scan_dec_cmp_u64(&d, 1000000000000ULL), 1);
    n = num_ok("1000000000000.00000000000000000000000000001");
    mf_scan_num_decimal(&n, &d);
    assert_int_equal(mf_scan_dec_cmp_u64(&d, 1000000000000ULL), 1);
    n = num_ok("999999999999.99999999999999999999999");
    mf_scan_num_decimal(&n, &d);
    assert_int_equal(mf_scan_dec_cmp_u64(&d, 1000000000000ULL), -1);
    n = num_ok("99999999999999999999999");
    mf_scan_num_decimal(&n, &d);
    assert_int_equal(mf_scan_dec_cmp_u64(&d, UINT64_MAX), 1);

    n = num_ok("9223372036854775807");
    assert_int_equal(mf_scan_num_int64(&n, &v), 0);
    assert_true(v == INT64_MAX);
    n = num_ok("-9223372036854775808");
    assert_int_equal(mf_scan_num_int64(&n, &v), 0);
    assert_true(v == INT64_MIN);
    n = num_ok("9223372036854775808");
    assert_int_equal(mf_scan_num_int64(&n, &v), -2);
    n = num_ok("1e19");
    assert_int_equal(mf_scan_num_int64(&n, &v), -2);
    v = 7;
    n = num_ok("1.5");
    assert_int_equal(mf_scan_num_int64(&n, &v), -1);
    assert_int_equal(v, 7);
    n = num_ok("1e3");
    assert_int_equal(mf_scan_num_int64(&n, &v), 0);
    assert_int_equal(v, 1000);
    n = num_ok("10.000");
    assert_int_equal(mf_scan_num_int64(&n, &v), 0);
    assert_int_equal(v, 10);
    n = num_ok("-0");
    assert_int_equal(mf_scan_num_int64(&n, &v), 0);
    assert_int_equal(v, 0);
    n = num_ok("1500e-3");
    assert_int_equal(mf_scan_num_int64(&n, &v), -1);
    n = num_ok("15000e-1");
    assert_int_equal(mf_scan_num_int64(&n, &v), 0);
    assert_int_equal(v, 1500);
}

static void
test_number_more(void **state)
{
    struct mf_scan s;
    struct mf_scan_num n;
    (void)state;
    /* a number at the end of a non-final buffer may go on */
    mf_scan_init(&s, "123", 3, 0, 0);
    assert_int_equal(mf_scan_number(&s, &n), MF_SCAN_MORE);
    mf_scan_init(&s, "1.5e", 4, 0, 0);
    assert_int_equal(mf_scan_number(&s, &n), MF_SCAN_MORE);
    mf_scan_init(&s, "123,", 4, 0, 0);
    assert_int_equal(mf_scan_number(&s, &n), MF_SCAN_OK);
    assert_int_equal(s.pos, 3);
}

static int
skip_json(const char *json, int final, uint64_t *err_off, size_t *pos)
{
    struct mf_scan s;
    mf_scan_init(&s, json, strlen(json), 0, final);
    int rc = mf_scan_skip(&s);
    if (err_off)
        *err_off = s.err_off;
    if (pos)
        *pos = s.pos;
    return rc;
}

static void
test_skip_values(void **state)
{
    size_t pos;
    uint64_t off;
    (void)state;
    const char *good[] = {
        "{}",
        "[]",
        "1",
        "\"x\"",
        "true",
        "false",
        "null",
        "{\"a\":[1,{\"b\":[[],{}]},\"c\"],\"d\":{\"e\":null}}",
        " [ 1 , 2 , [ 3 , { \"x\" : -1.5e3 } ] ] ",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(skip_json(good[i], 1, NULL, &pos), MF_SCAN_OK);
        /* the trailing blank is not part of the value */
        assert_true(pos == strlen(good[i]) || good[i][pos] == ' ');
    }
    /* the value ends where it ends, not at the end of the buffer */
    assert_int_equal(skip_json("{\"a\":1} ,[", 1, NULL, &pos), MF_SCAN_OK);
    assert_int_equal(pos, 7);

    struct {
        const char *json;
        uint64_t at;
    } bad[] = {
        {"[}", 1},    {"{]", 1},        {"[1,]", 3},      {"{\"a\":1,}", 7},
        {"[1 2]", 3}, {"{\"a\" 1}", 5}, {"{1:2}", 1},     {"[tru]", 4},
        {"[nul", 4},  {"{\"a\":}", 5},  {"[\"\\q\"]", 2}, {"[01]", 2},
        {"[1}", 2},   {"{\"a\":1]", 6},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(skip_json(bad[i].json, 1, &off, NULL), MF_SCAN_SYNTAX);
        if (off != bad[i].at)
            fail_msg("%s: offset %llu, expected %llu", bad[i].json,
                     (unsigned long long)off, (unsigned long long)bad[i].at);
    }
}

static void
test_skip_depth(void **state)
{
    char *deep = malloc(2 * 600 + 1);
    uint64_t off;
    (void)state;
    assert_non_null(deep);
    /* 512 levels pass, 513 are refused at the 513th bracket */
    for (int depth = 512; depth <= 513; depth++) {
        for (int i = 0; i < depth; i++) {
            deep[i] = '[';
            deep[2 * depth - 1 - i] = ']';
        }
        deep[2 * depth] = '\0';
        int rc = skip_json(deep, 1, &off, NULL);
        if (depth == 512) {
            assert_int_equal(rc, MF_SCAN_OK);
        } else {
            assert_int_equal(rc, MF_SCAN_SYNTAX);
            assert_int_equal(off, 512);
        }
    }
    /* a long run of nested objects is skipped without recursion */
    size_t n = 0;
    for (int i = 0; i < 500; i++) {
        memcpy(deep + n, "{\"", 2);
        n += 2;
        deep[n++] = 'k';
        memcpy(deep + n, "\":", 2);
        n += 2;
        if (n > 1100)
            break;
    }
    deep[n] = '\0';
    assert_int_equal(skip_json(deep, 0, NULL, NULL), MF_SCAN_MORE);
    free(deep);
}

static void
test_skip_more_every_prefix(void **state)
{
    const char *full = "{\"a\":[1,-2.5e3,{\"b\":\"\\u00e9x\"}],\"c\":true,"
                       "\"d\":null,\"e\":false,\"f\":{}}";
    (void)state;
    for (size_t k = 0; k < strlen(full); k++) {
        struct mf_scan s;
        char buf[128];
        memcpy(buf, full, k);
        mf_scan_init(&s, buf, k, 0, 0);
        assert_int_equal(mf_scan_skip(&s), MF_SCAN_MORE);
        mf_scan_init(&s, buf, k, 0, 1);
        assert_int_equal(mf_scan_skip(&s), MF_SCAN_SYNTAX);
    }
    assert_int_equal(skip_json(full, 0, NULL, NULL), MF_SCAN_OK);
}

static void
test_punct_and_literals(void **state)
{
    struct mf_scan s;
    (void)state;
    mf_scan_init(&s, "  :x", 4, 10, 1);
    assert_int_equal(mf_scan_punct(&s, ':'), MF_SCAN_OK);
    assert_int_equal(mf_scan_offset(&s), 13);
    assert_int_equal(mf_scan_punct(&s, ','), MF_SCAN_SYNTAX);
    assert_int_equal(s.err_off, 13);
    assert_int_equal(mf_scan_accept(&s, 'x'), 1);
    assert_int_equal(mf_scan_accept(&s, 'x'), MF_SCAN_SYNTAX);

    mf_scan_init(&s, "true false null", 15, 0, 1);
    assert_int_equal(mf_scan_literal(&s), MF_SCAN_TRUE);
    assert_int_equal(mf_scan_literal(&s), MF_SCAN_FALSE);
    assert_int_equal(mf_scan_literal(&s), MF_SCAN_NULL);
    mf_scan_init(&s, "fals", 4, 0, 0);
    assert_int_equal(mf_scan_literal(&s), MF_SCAN_MORE);
    mf_scan_init(&s, "nil", 3, 0, 0);
    assert_int_equal(mf_scan_literal(&s), MF_SCAN_SYNTAX);
    mf_scan_init(&s, "@", 1, 0, 1);
    assert_int_equal(mf_scan_peek(&s), MF_SCAN_SYNTAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_string_errors),
        cmocka_unit_test(test_string_long_and_more),
        cmocka_unit_test(test_number_forms),
        cmocka_unit_test(test_number_exactness),
        cmocka_unit_test(test_number_more),
        cmocka_unit_test(test_skip_values),
        cmocka_unit_test(test_skip_depth),
        cmocka_unit_test(test_skip_more_every_prefix),
        cmocka_unit_test(test_punct_and_literals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
