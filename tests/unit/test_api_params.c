/* The API's parameter and body parsing, and the split of a date range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mf_time.h"
#include "params.h"

#include <stdio.h>
#include <string.h>

static int64_t
D(int y, int m, int d)
{
    return mf_days_from_civil(y, m, d);
}

static void
test_dates(void **state)
{
    struct api_err e = {0};
    int64_t v;
    assert_int_equal(api_parse_date("2024-02-29", "from", &v, &e), 0);
    assert_int_equal(v, D(2024, 2, 29));
    const char *bad[] = {"2023-02-29", "2024-2-01", "2024-02-01T00:00",
                         "2024-13-01", "24-02-01",  " 2024-02-01",
                         "2024-02-00", "",          "2024/02/01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e.field = NULL;
        assert_int_equal(api_parse_date(bad[i], "from", &v, &e), -1);
        assert_string_equal(e.field, "from");
    }
    assert_int_equal(api_parse_date(NULL, "to", &v, &e), -1);
    assert_string_equal(e.field, "to");
    assert_int_equal(api_parse_month("2024-12", "from", &v, &e), 0);
    assert_int_equal(v, (2024 - 1970) * 12 + 11);
    assert_int_equal(api_parse_month("2024-00", "from", &v, &e), -1);
    assert_int_equal(api_parse_month("2024-1", "from", &v, &e), -1);
    assert_int_equal(api_parse_year("2024", "to", &v, &e), 0);
    assert_int_equal(v, 2024);
    assert_int_equal(api_parse_year("0000", "to", &v, &e), -1);
    assert_int_equal(api_parse_year("+202", "to", &v, &e), -1);
}

static void
test_spans(void **state)
{
    struct api_err e = {0};
    struct api_query q = {0};
    int64_t a, b;
    q.from = "2015-01-01";
    q.to = "2025-02-16"; /* 3,700 days */
    assert_int_equal(api_parse_span(&q, UNIT_DAY, 0, &a, &b, &e), 0);
    assert_int_equal(b - a + 1, 3700);
    q.to = "2025-02-17";
    assert_int_equal(api_parse_span(&q, UNIT_DAY, 0, &a, &b, &e), -1);
    assert_string_equal(e.field, "to");
    q.from = "1900-01";
    q.to = "1999-12";
    assert_int_equal(api_parse_span(&q, UNIT_MONTH, 0, &a, &b, &e), 0);
    q.to = "2000-01";
    assert_int_equal(api_parse_span(&q, UNIT_MONTH, 0, &a, &b, &e), -1);
    q.from = "1801";
    q.to = "2000";
    assert_int_equal(api_parse_span(&q, UNIT_YEAR, 0, &a, &b, &e), 0);
    q.from = "1800";
    assert_int_equal(api_parse_span(&q, UNIT_YEAR, 0, &a, &b, &e), -1);
    q.from = "2001";
    assert_int_equal(api_parse_span(&q, UNIT_YEAR, 0, &a, &b, &e), -1);
    assert_string_equal(e.field, "to"); /* to before from */
    q.from = NULL;
    assert_int_equal(api_parse_span(&q, UNIT_YEAR, 0, &a, &b, &e), -1);
    assert_string_equal(e.field, "from");
}

static void
test_limit_sort_prefix(void **state)
{
    struct api_err e = {0};
    int v;
    assert_int_equal(api_parse_limit(NULL, 10, &v, &e), 0);
    assert_int_equal(v, 10);
    assert_int_equal(api_parse_limit("1000", 10, &v, &e), 0);
    assert_int_equal(v, 1000);
    const char *bad[] = {"0", "1001", "-1", "1e3", "", "10 ", "99999", "0x10"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(api_parse_limit(bad[i], 10, &v, &e), -1);
        assert_string_equal(e.field, "limit");
    }
    assert_int_equal(api_parse_sort(NULL, &e), 0);
    assert_string_equal(api_sort_keys[api_parse_sort("bounce_rate", &e)],
                        "bounce_rate");
    assert_int_equal(api_parse_sort("views desc", &e), -1);
    assert_string_equal(e.field, "sort");
    char out[API_PATH_MAX + 1];
    assert_int_equal(api_parse_prefix("/blog", out, &e), 0);
    assert_string_equal(out, "/blog");
    assert_int_equal(api_parse_prefix("blog", out, &e), -1);
    assert_string_equal(e.field, "q");
}

static void
test_cursor(void **state)
{
    struct api_err e = {0};
    char enc[64], dec[API_PATH_MAX + 1];
    assert_int_equal(api_cursor_encode("/a'b", enc, sizeof(enc)), 0);
    assert_string_equal(enc, "2f612762");
    assert_int_equal(api_cursor_decode(enc, dec, &e), 0);
    assert_string_equal(dec, "/a'b");
    assert_int_equal(api_cursor_encode("/abc", enc, 8), -1);
    const char *bad[] = {"", "2", "zz", "2f00", "6162", "2f0a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(api_cursor_decode(bad[i], dec, &e), -1);
        assert_string_equal(e.field, "cursor");
    }
}

static void
test_text(void **state)
{
    assert_true(api_text_ok("/caf\xc3\xa9", 6));
    assert_true(api_text_ok("/\xf0\x9f\x98\x80", 5));
    assert_false(api_text_ok("/\xc3(", 3));
    assert_false(api_text_ok("/\xc0\xaf", 3));         /* overlong '/' */
    assert_false(api_text_ok("/\xed\xa0\x80", 4));     /* surrogate */
    assert_false(api_text_ok("/\xf4\x90\x80\x80", 5)); /* > U+10FFFF */
    assert_false(api_text_ok("/a\nb", 4));
    assert_false(api_text_ok("/\xc2\x85", 3)); /* C1 control */
    assert_false(api_text_ok("/\xe2\x82", 3)); /* truncated */
}

static void
test_query(void **state)
{
    struct api_err e = {0};
    struct api_query q = {.allowed = QP_SITE | QP_PAGE | QP_FROM | QP_TO};
    char buf[256];
    assert_int_equal(api_query_parse_string(&q,
                                            "page=%2Fa%20b&site=x+y&from=1&to",
                                            buf, sizeof(buf), &e),
                     0);
    assert_string_equal(q.page, "/a b");
    assert_string_equal(q.site, "x y");
    assert_string_equal(q.to, "");
    struct api_query q2 = {.allowed = QP_PAGE};
    assert_int_equal(
        api_query_parse_string(&q2, "page=1&page=2", buf, sizeof(buf), &e), -1);
    assert_string_equal(e.field, "page");
    struct api_query q3 = {.allowed = QP_PAGE};
    assert_int_equal(
        api_query_parse_string(&q3, "limit=1", buf, sizeof(buf), &e), -1);
    assert_string_equal(e.field, "limit");
    struct api_query q4 = {.allowed = QP_PAGE};
    assert_int_equal(
        api_query_parse_string(&q4, "bogus=1", buf, sizeof(buf), &e), -1);
    assert_null(e.field);
    assert_non_null(strstr(e.detail, "bogus"));
    struct api_query q5 = {.allowed = QP_PAGE};
    assert_int_equal(
        api_query_parse_string(&q5, "page=%zz%2", buf, sizeof(buf), &e), 0);
    assert_string_equal(q5.page, "%zz%2");
    assert_int_equal(api_query_parse_string(&q5, "page=123456789", buf, 8, &e),
                     -1);
}

static void
test_page(void **state)
{
    struct api_err e = {0};
    struct api_page p;
    struct api_query q = {0};
    q.page = "/Blog/";
    q.site = "Example.ORG";
    assert_int_equal(api_parse_page(&q, 1, &p, &e), 0);
    assert_string_equal(p.path, "/Blog");
    assert_string_equal(p.site, "example.org");
    q.page = "/";
    q.site = NULL;
    assert_int_equal(api_parse_page(&q, 1, &p, &e), 0);
    assert_string_equal(p.path, "/");
    assert_string_equal(p.site, "default");
    q.page = "x";
    assert_int_equal(api_parse_page(&q, 1, &p, &e), -1);
    assert_string_equal(e.field, "page");
    q.page = NULL;
    assert_int_equal(api_parse_page(&q, 1, &p, &e), -1);
    assert_int_equal(api_parse_page(&q, 0, &p, &e), 0);
    q.site = "a/b";
    assert_int_equal(api_parse_page(&q, 0, &p, &e), -1);
    assert_string_equal(e.field, "site");
}

/* Checks one plan: every day of [a, b] covered exactly once, nothing
 * outside, and each run at the coarsest level that fits. */
static void
check_plan(int64_t a, int64_t b)
{
    struct api_range_plan p;
    static unsigned char seen[6000];
    int64_t base = a - 400;
    memset(seen, 0, sizeof(seen));
    api_range_plan(a, b, &p);
    for (int i = 0; i < 2; i++) {
        for (int64_t d = p.day_lo[i]; d <= p.day_hi[i]; d++) {
            assert_true(d >= a && d <= b);
            seen[d - base]++;
            /* A day run never holds a whole month inside [a, b]. */
            int64_t y;
            int m, dd;
            mf_civil_from_days(d, &y, &m, &dd);
            int64_t first = D((int)y, m, 1);
            int64_t last = first + mf_days_in_month(y, m) - 1;
            assert_false(first >= a && last <= b);
        }
        for (int64_t m = p.month_lo[i]; m <= p.month_hi[i]; m++) {
            int64_t y = (m + 1970 * 12) / 12;
            int mo = (int)((m + 1970 * 12) % 12) + 1;
            int64_t first = D((int)y, mo, 1);
            int64_t last = first + mf_days_in_month(y, mo) - 1;
            assert_true(first >= a && last <= b);
            assert_false(D((int)y, 1, 1) >= a && D((int)y, 12, 31) <= b);
            for (int64_t d = first; d <= last; d++)
                seen[d - base]++;
        }
    }
    for (int64_t y = p.year_lo; y <= p.year_hi; y++) {
        assert_true(D((int)y, 1, 1) >= a && D((int)y, 12, 31) <= b);
        for (int64_t d = D((int)y, 1, 1); d <= D((int)y, 12, 31); d++)
            seen[d - base]++;
    }
    for (int64_t d = base; d < base + 6000; d++)
        assert_int_equal(seen[d - base], d >= a && d <= b ? 1 : 0);
}

static void
test_range_plan(void **state)
{
    struct api_range_plan p;
    api_range_plan(D(2023, 12, 31), D(2025, 1, 1), &p);
    assert_int_equal(p.year_lo, 2024);
    assert_int_equal(p.year_hi, 2024);
    assert_int_equal(p.day_lo[0], D(2023, 12, 31));
    assert_int_equal(p.day_hi[1], D(2025, 1, 1));
    assert_true(p.month_lo[0] > p.month_hi[0]);
    assert_true(p.month_lo[1] > p.month_hi[1]);

    /* Every start over two years against many lengths. */
    for (int64_t a = D(2023, 11, 20); a < D(2025, 2, 10); a += 3)
        for (int64_t len = 1; len < 1500; len += 37)
            check_plan(a, a + len - 1);
    check_plan(D(2024, 1, 1), D(2024, 12, 31));
    check_plan(D(2024, 2, 1), D(2024, 2, 29));
    check_plan(D(2024, 2, 2), D(2024, 2, 2));
    check_plan(D(1970, 1, 1), D(1979, 12, 31));
    check_plan(D(1969, 12, 31), D(1970, 1, 1));
}

static void
test_credentials(void **state)
{
    struct api_err e = {0};
    struct api_credentials c;
    const char *ok = "{\"email\":\"A@B.org\",\"password\":\"0123456789\"}";
    assert_int_equal(api_parse_credentials(ok, strlen(ok), 0, 1, &c, &e), 0);
    assert_string_equal(c.email, "a@b.org");
    assert_int_equal(c.password_len, 10);
    static const struct {
        const char *body;
        int allow_role;
        const char *field;
    } bad[] = {
        {"{\"email\":\"a@b.org\",\"password\":\"012345678\"}", 0, "password"},
        {"{\"email\":\"ab.org\",\"password\":\"0123456789\"}", 0, "email"},
        {"{\"email\":\"a@b.org\"}", 0, "password"},
        {"{\"email\":1,\"password\":\"0123456789\"}", 0, "email"},
        {"{\"email\":\"a@b.org\",\"password\":\"0123456789\",\"role\":"
         "\"admin\"}",
         0, NULL},
        {"{\"email\":\"a@b.org\",\"password\":\"0123456789\",\"role\":"
         "\"root\"}",
         1, "role"},
        {"[1]", 0, NULL},
        {"{\"email\":", 0, NULL},
        {"{\"email\":\"a@b.org\",\"email\":\"c@d.org\",\"password\":"
         "\"0123456789\"}",
         0, NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e.field = "unset";
        assert_int_equal(api_parse_credentials(bad[i].body, strlen(bad[i].body),
                                               bad[i].allow_role, 1, &c, &e),
                         -1);
        if (bad[i].field == NULL)
            assert_null(e.field);
        else
            assert_string_equal(e.field, bad[i].field);
    }
    char tok[64];
    const char *r = "{\"refresh_token\":\"abc\"}";
    assert_int_equal(api_parse_refresh(r, strlen(r), tok, sizeof(tok), &e), 0);
    assert_string_equal(tok, "abc");
    r = "{\"refresh_token\":\"abc\",\"x\":1}";
    assert_int_equal(api_parse_refresh(r, strlen(r), tok, sizeof(tok), &e), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_spans),
        cmocka_unit_test(test_limit_sort_prefix),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_page),
        cmocka_unit_test(test_range_plan),
        cmocka_unit_test(test_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
