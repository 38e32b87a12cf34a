/* Unit tests of mf_time: calendar arithmetic, RFC 3339, periods. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mf_time.h"

static int64_t
parse_ok(const char *s)
{
    int64_t us = -1;
    const char *why = NULL;
    assert_int_equal(mf_time_parse_rfc3339(s, strlen(s), &us, &why), 0);
    return us;
}

static void
parse_bad(const char *s)
{
    int64_t us = 42;
    const char *why = NULL;
    assert_int_equal(mf_time_parse_rfc3339(s, strlen(s), &us, &why), -1);
    assert_non_null(why);
    assert_int_equal(us, 42);
}

static void
test_civil_round_trip(void **state)
{
    (void)state;
    /* Every day from 1969-01-01 to 2201-12-31 converts both ways. */
    int64_t first = mf_days_from_civil(1969, 1, 1);
    int64_t last = mf_days_from_civil(2201, 12, 31);
    int64_t prev_y = 1969;
    int prev_m = 1, prev_d = 0;
    for (int64_t z = first; z <= last; z++) {
        int64_t y;
        int m, d;
        mf_civil_from_days(z, &y, &m, &d);
        assert_int_equal(mf_days_from_civil(y, m, d), z);
        if (d != prev_d + 1) {
            assert_int_equal(d, 1);
            assert_int_equal(prev_d, mf_days_in_month(prev_y, prev_m));
        }
        prev_y = y;
        prev_m = m;
        prev_d = d;
    }
    assert_int_equal(mf_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(mf_days_from_civil(2000, 3, 1), 11017);
}

static void
test_leap_years(void **state)
{
    (void)state;
    assert_true(mf_is_leap(2000));
    assert_false(mf_is_leap(1900));
    assert_false(mf_is_leap(2100));
    assert_true(mf_is_leap(2024));
    assert_false(mf_is_leap(2026));
    assert_int_equal(mf_days_in_month(2024, 2), 29);
    assert_int_equal(mf_days_in_month(2100, 2), 28);
    parse_ok("2024-02-29T00:00:00Z");
    parse_bad("2023-02-29T00:00:00Z");
    parse_bad("2100-02-29T00:00:00Z");
    parse_ok("2000-02-29T23:59:59Z");
}

static void
test_rfc3339_forms(void **state)
{
    (void)state;
    int64_t base = parse_ok("2026-03-14T10:00:00Z");
    assert_int_equal(base, INT64_C(1773482400) * 1000000);
    assert_int_equal(parse_ok("2026-03-14t10:00:00z"), base);
    assert_int_equal(parse_ok("2026-03-14 10:00:00Z"), base);
    assert_int_equal(parse_ok("2026-03-14T12:00:00+02:00"), base);
    assert_int_equal(parse_ok("2026-03-14T05:30:00-04:30"), base);
    assert_int_equal(parse_ok("2026-03-14T10:00:00.5Z"), base + 500000);
    assert_int_equal(parse_ok("2026-03-14T10:00:00.123456Z"), base + 123456);
    assert_int_equal(parse_ok("2026-03-14T10:00:00+00:00"), base);
    assert_int_equal(parse_ok("2026-03-14T10:00:00-00:00"), base);
    parse_bad("2026-03-14T10:00:00.1234567Z");
    parse_bad("2026-03-14T10:00:00");
    parse_bad("2026-03-14T10:00Z");
    parse_bad("2026-03-14T24:00:00Z");
    parse_bad("2026-03-14T10:60:00Z");
    parse_bad("2026-03-14T10:00:60Z");
    parse_bad("2026-13-14T10:00:00Z");
    parse_bad("2026-00-14T10:00:00Z");
    parse_bad("2026-04-31T10:00:00Z");
    parse_bad("2026-03-14T10:00:00+24:00");
    parse_bad("2026-03-14T10:00:00+0200");
    parse_bad("2026-03-14T10:00:00.Z");
    parse_bad("26-03-14T10:00:00Z");
    parse_bad("2026-03-14X10:00:00Z");
    parse_bad("");
}

static void
test_record_year_bounds(void **state)
{
    (void)state;
    const char *why;
    int64_t us;
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    parse_bad("1969-12-31T23:59:59Z");
    /* The offset moves the instant into 1970: accepted. */
    assert_int_equal(parse_ok("1969-12-31T23:00:00-01:00"), 0);
    parse_bad("1970-01-01T00:30:00+01:00");
    parse_ok("2199-12-31T23:59:59.999999Z");
    parse_bad("2200-01-01T00:00:00Z");
    parse_bad("2199-12-31T23:00:00-01:00");
    assert_int_equal(mf_time_from_unix(0, &us, &why), 0);
    assert_int_equal(mf_time_from_unix(-1, &us, &why), -1);
    assert_int_equal(mf_time_from_unix(INT64_C(7258118399), &us, &why), 0);
    assert_int_equal(mf_time_from_unix(INT64_C(7258118400), &us, &why), -1);
}

static void
test_periods(void **state)
{
    (void)state;
    int64_t t = parse_ok("2026-03-14T10:37:12.25Z");
    char buf[40];
    assert_int_equal(mf_time_hour_start(t), parse_ok("2026-03-14T10:00:00Z"));
    assert_int_equal(mf_time_interval(t), 3);
    assert_int_equal(mf_time_interval(parse_ok("2026-03-14T00:00:00Z")), 1);
    assert_int_equal(mf_time_interval(parse_ok("2026-03-14T03:59:59Z")), 1);
    assert_int_equal(mf_time_interval(parse_ok("2026-03-14T04:00:00Z")), 2);
    assert_int_equal(mf_time_interval(parse_ok("2026-03-14T23:59:59Z")), 6);
    assert_int_equal(mf_time_day(t), mf_days_from_civil(2026, 3, 14));
    assert_int_equal(mf_time_month(t), (2026 - 1970) * 12 + 2);
    assert_int_equal(mf_time_year(t), 2026);
    assert_int_equal(mf_time_year(parse_ok("2026-12-31T23:59:59Z")), 2026);
    assert_int_equal(mf_time_year(parse_ok("2027-01-01T00:00:00Z")), 2027);
    mf_time_format(t, buf, sizeof(buf));
    assert_string_equal(buf, "2026-03-14T10:37:12.250000Z");
    mf_time_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    mf_time_format_date(mf_days_from_civil(2024, 2, 29), buf, sizeof(buf));
    assert_string_equal(buf, "2024-02-29");
}

static void
test_date_month_year(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(mf_time_parse_date("2024-02-29", 10, &v), 0);
    assert_int_equal(v, mf_days_from_civil(2024, 2, 29));
    assert_int_equal(mf_time_parse_date("2023-02-29", 10, &v), -1);
    assert_int_equal(mf_time_parse_date("2023-2-28", 9, &v), -1);
    assert_int_equal(mf_time_parse_month("2026-03", 7, &v), 0);
    assert_int_equal(v, (2026 - 1970) * 12 + 2);
    assert_int_equal(mf_time_parse_month("2026-13", 7, &v), -1);
    assert_int_equal(mf_time_parse_year("2026", 4, &v), 0);
    assert_int_equal(v, 2026);
    assert_int_equal(mf_time_parse_year("0000", 4, &v), -1);
    assert_int_equal(mf_time_parse_year("20a6", 4, &v), -1);
}

static void
test_offsets_cross_days_and_years(void **state)
{
    (void)state;
    /* Local dates on the other side of midnight, month and year ends. */
    assert_int_equal(parse_ok("2025-12-31T23:30:00-01:00"),
                     parse_ok("2026-01-01T00:30:00Z"));
    assert_int_equal(parse_ok("2026-01-01T00:30:00+01:00"),
                     parse_ok("2025-12-31T23:30:00Z"));
    assert_int_equal(parse_ok("2024-03-01T01:00:00+02:00"),
                     parse_ok("2024-02-29T23:00:00Z"));
    assert_int_equal(parse_ok("2023-03-01T01:00:00+02:00"),
                     parse_ok("2023-02-28T23:00:00Z"));
    assert_int_equal(parse_ok("2026-04-30T20:00:00-05:45"),
                     parse_ok("2026-05-01T01:45:00Z"));
    assert_int_equal(parse_ok("2026-01-01T13:59:59+14:00"),
                     parse_ok("2025-12-31T23:59:59Z"));
    assert_int_equal(parse_ok("2025-12-31T12:00:00-12:00"),
                     parse_ok("2026-01-01T00:00:00Z"));
    assert_int_equal(parse_ok("2026-03-14T10:00:00.000001+05:30"),
                     parse_ok("2026-03-14T04:30:00Z") + 1);
    /* The periods follow the UTC instant, not the local date. */
    int64_t t = parse_ok("2026-01-01T01:00:00+02:00");
    assert_int_equal(mf_time_year(t), 2025);
    assert_int_equal(mf_time_month(t), (2025 - 1970) * 12 + 11);
    assert_int_equal(mf_time_day(t), mf_days_from_civil(2025, 12, 31));
    assert_int_equal(mf_time_interval(t), 6);
}

static void
test_every_month_length(void **state)
{
    (void)state;
    char buf[40];
    for (int64_t y = 1970; y <= 2199; y++) {
        for (int m = 1; m <= 12; m++) {
            int dim = mf_days_in_month(y, m);
            int want = m == 2 ? 28 + mf_is_leap(y)
                       : (m == 4 || m == 6 || m == 9 || m == 11) ? 30
                                                                 : 31;
            assert_int_equal(dim, want);
            snprintf(buf, sizeof(buf), "%04d-%02d-%02dT12:00:00Z", (int)y, m,
                     dim);
            int64_t last = parse_ok(buf);
            snprintf(buf, sizeof(buf), "%04d-%02d-%02dT12:00:00Z", (int)y, m,
                     dim + 1);
            parse_bad(buf);
            /* The last day plus one day is the first of the next month. */
            int64_t next = last + MF_USEC_PER_DAY;
            snprintf(buf, sizeof(buf), "%04d-%02d-01T12:00:00Z",
                     (int)(m == 12 ? y + 1 : y), m == 12 ? 1 : m + 1);
            if (!(y == 2199 && m == 12))
                assert_int_equal(parse_ok(buf), next);
        }
    }
}

static void
test_unix_and_intervals(void **state)
{
    (void)state;
    const char *why;
    int64_t us;
    assert_int_equal(mf_time_from_unix(INT64_C(1773482400), &us, &why), 0);
    assert_int_equal(us, parse_ok("2026-03-14T10:00:00Z"));
    for (int h = 0; h < 24; h++) {
        int64_t at = parse_ok("2026-03-14T00:00:00Z") + h * MF_USEC_PER_HOUR;
        assert_int_equal(mf_time_interval(at), h / 4 + 1);
        assert_int_equal(mf_time_interval(at + MF_USEC_PER_HOUR - 1),
                         h / 4 + 1);
        assert_int_equal(mf_time_hour_start(at + 1234567), at);
    }
}

/* The three monotonic readings agree with each other and with a sleep. */
static void
test_monotonic(void **state)
{
    (void)state;
    int64_t ns0 = mf_time_mono_ns(), ms0 = mf_time_mono_ms();
    double s0 = mf_time_mono_s();
    mf_time_sleep_ms(20);
    int64_t ns1 = mf_time_mono_ns(), ms1 = mf_time_mono_ms();
    double s1 = mf_time_mono_s();
    assert_true(ns1 - ns0 >= 20 * 1000 * 1000);
    assert_true(ms1 - ms0 >= 19); /* ms truncate: 20 ms may read as 19 */
    assert_true(s1 - s0 >= 0.019);
    /* ms is ns truncated, s the same clock in seconds */
    assert_true(ms0 >= ns0 / 1000000 && ms0 - ns0 / 1000000 <= 1000);
    assert_true(s0 * 1e9 >= (double)ns0 && s0 * 1e9 - (double)ns0 < 1e9);
    /* whole seconds and the rest: 1,005 ms is not 5 ms */
    mf_time_sleep_ms(1005);
    assert_true(mf_time_mono_ns() - ns1 >= INT64_C(1005000000));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_round_trip),
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_rfc3339_forms),
        cmocka_unit_test(test_record_year_bounds),
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_date_month_year),
        cmocka_unit_test(test_offsets_cross_days_and_years),
        cmocka_unit_test(test_every_month_length),
        cmocka_unit_test(test_unix_and_intervals),
        cmocka_unit_test(test_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
