/* Unit tests of mf_record: every rule of records.md on valid and invalid
 * records, normalisation, exact numbers, repeated and unknown members. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_record.h"

static struct mf_record rec;

#define GA  MF_RECORD_GA
#define PSI MF_RECORD_PSI
#define ANY MF_RECORD_UNKNOWN

static void
ok_kind(const char *json, enum mf_record_kind forced)
{
    struct mf_record_err err;
    size_t used = 0;
    int rc =
        mf_record_parse(json, strlen(json), 0, 1, forced, &rec, &used, &err);
    if (rc != MF_RECORD_OK)
        fail_msg("%s: rc %d: %s", json, rc, err.why ? err.why : "?");
}

static void
ok(const char *json)
{
    ok_kind(json, GA);
}

/* A rejected record; the reason must contain want. */
static void
rej_kind(const char *json, enum mf_record_kind forced, const char *want,
         enum mf_record_kind err_kind)
{
    struct mf_record_err err;
    size_t used = 0;
    int rc =
        mf_record_parse(json, strlen(json), 0, 1, forced, &rec, &used, &err);
    if (rc != MF_RECORD_REJECT)
        fail_msg("%s: rc %d, expected a rejection (%s)", json, rc, want);
    if (strstr(err.why, want) == NULL)
        fail_msg("%s: reason '%s' lacks '%s'", json, err.why, want);
    assert_int_equal(err.kind, err_kind);
}

static void
rej(const char *json, const char *want)
{
    rej_kind(json, GA, want, GA);
}

static void
syn(const char *json, uint64_t at)
{
    struct mf_record_err err;
    size_t used = 0;
    int rc =
        mf_record_parse(json, strlen(json), 1000, 1, GA, &rec, &used, &err);
    if (rc != MF_RECORD_SYNTAX)
        fail_msg("%s: rc %d, expected a syntax error", json, rc);
    if (err.offset != 1000 + at)
        fail_msg("%s: offset %llu, expected %llu (%s)", json,
                 (unsigned long long)err.offset,
                 (unsigned long long)(1000 + at), err.why);
}

static const char *
text(const char *s, size_t n)
{
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    memcpy(buf[k], s, n);
    buf[k][n] = '\0';
    return buf[k];
}

static const char *
dtext(const struct mf_scan_dec *d)
{
    static char buf[64];
    mf_scan_dec_text(d, buf, sizeof(buf));
    return buf;
}

#define P "\"page\":\"/p\",\"ts\":0"

static void
test_ga_example(void **state)
{
    (void)state;
    ok_kind("{\"site\":\"shop.example\",\"page\":\"/pricing\",\"ts\":\"2026-03-"
            "14T10:00:00Z\",\"users\":120,\"sessions\":150,\"views\":410,"
            "\"bounces\":60,\"duration_s\":10234.5}",
            GA);
    assert_int_equal(rec.kind, GA);
    assert_string_equal(text(rec.site, rec.site_len), "shop.example");
    assert_string_equal(text(rec.path, rec.path_len), "/pricing");
    assert_true(rec.ts_usec == INT64_C(1773482400) * 1000000);
    assert_int_equal(rec.users, 120);
    assert_int_equal(rec.sessions, 150);
    assert_int_equal(rec.views, 410);
    assert_int_equal(rec.bounces, 60);
    assert_string_equal(dtext(&rec.duration_s), "10234.5");
}

static void
test_psi_example(void **state)
{
    (void)state;
    ok_kind("{\"page\":\"https://shop.example/pricing/\",\"ts\":1773482400,"
            "\"performance_score\":87,\"lcp_ms\":2350,\"cls\":0.04}",
            PSI);
    assert_int_equal(rec.kind, PSI);
    assert_string_equal(text(rec.site, rec.site_len), "shop.example");
    assert_string_equal(text(rec.path, rec.path_len), "/pricing");
    assert_true(rec.ts_usec == INT64_C(1773482400) * 1000000);
    assert_string_equal(dtext(&rec.psi[MF_PSI_PERFORMANCE_SCORE]), "87");
    assert_string_equal(dtext(&rec.psi[MF_PSI_LCP_MS]), "2350");
    assert_string_equal(dtext(&rec.psi[MF_PSI_CLS]), "0.04");
    assert_true(rec.present[MF_PSI_CLS]);
    assert_false(rec.present[MF_PSI_INP_MS]);
    assert_false(rec.present[MF_PSI_FCP_MS]);
    assert_false(rec.present[MF_PSI_TTFB_MS]);
}

static void
test_kind(void **state)
{
    (void)state;
    ok_kind("{\"source\":\"ga\"," P ",\"users\":1}", ANY);
    assert_int_equal(rec.kind, GA);
    ok_kind("{\"source\":\"psi\"," P ",\"performance_score\":1,\"lcp_ms\":2}",
            ANY);
    assert_int_equal(rec.kind, PSI);
    ok_kind("{\"source\":\"ga\"," P ",\"users\":1}", GA);
    rej_kind("{\"source\":\"psi\"," P ",\"users\":1}", GA, "disagrees", ANY);
    rej_kind("{" P ",\"users\":1}", ANY, "kind cannot be told", ANY);
    rej_kind("{\"source\":\"GA\"," P ",\"users\":1}", ANY, "source must be",
             ANY);
    rej_kind("{\"source\":1," P ",\"users\":1}", GA, "source must be", GA);
    rej_kind("{\"source\":null," P ",\"users\":1}", ANY, "source must be", ANY);
    /* the kind's own members are checked, the other kind's ignored */
    ok_kind("{\"source\":\"ga\"," P ",\"users\":1,\"lcp_ms\":\"x\"}", ANY);
    ok_kind("{\"source\":\"psi\"," P ",\"performance_score\":1,\"lcp_ms\":2,"
            "\"users\":-5}",
            ANY);
    /* a psi record without its required members */
    rej_kind("{\"source\":\"psi\"," P ",\"users\":1}", ANY,
             "performance_score is missing", PSI);
}

static void
test_unknown_and_repeated(void **state)
{
    (void)state;
    /* unknown members of any nesting are skipped, even with listed names
     * inside */
    ok("{\"x\":{\"page\":5,\"y\":[1,{\"users\":\"no\"},[[[]]]]}," P
       ",\"users\":3,\"z\":null,\"w\":[true,false],\"v\":\"\\u00e9\"}");
    assert_int_equal(rec.users, 3);
    assert_string_equal(text(rec.path, rec.path_len), "/p");
    /* the last occurrence counts, whatever the earlier ones were */
    ok("{" P ",\"users\":\"bad\",\"users\":5}");
    assert_int_equal(rec.users, 5);
    rej("{" P ",\"users\":5,\"users\":\"bad\"}", "users must be an integer");
    ok("{\"page\":7,\"page\":\"/q\",\"ts\":0,\"views\":1}");
    assert_string_equal(text(rec.path, rec.path_len), "/q");
    /* an escaped member name is the same name */
    ok("{\"\\u0070age\":\"/e\",\"ts\":0,\"us\\u0065rs\":9}");
    assert_int_equal(rec.users, 9);
    assert_string_equal(text(rec.path, rec.path_len), "/e");
    /* a long unknown name is just unknown */
    ok("{\"a_member_name_much_longer_than_any_listed_one\":1," P
       ",\"users\":1}");
}

static void
test_wrong_types(void **state)
{
    (void)state;
    rej("{\"page\":5,\"ts\":0,\"users\":1}", "page must be a string");
    rej("{\"page\":null,\"ts\":0,\"users\":1}", "page must be a string");
    rej("{" P ",\"site\":[\"a\"],\"users\":1}", "site must be a string");
    rej("{\"page\":\"/p\",\"ts\":true,\"users\":1}", "ts must be");
    rej("{\"page\":\"/p\",\"ts\":{},\"users\":1}", "ts must be");
    rej("{" P ",\"users\":\"1\"}", "users must be an integer");
    rej("{" P ",\"sessions\":{}}", "sessions must be an integer");
    rej("{" P ",\"views\":null}", "views must be an integer");
    rej("{" P ",\"users\":1,\"bounces\":false}", "bounces must be an integer");
    rej("{" P ",\"users\":1,\"duration_s\":\"5\"}",
        "duration_s must be a number");
    rej_kind("{" P ",\"performance_score\":\"9\",\"lcp_ms\":1}", PSI,
             "performance_score must be a number", PSI);
    rej_kind("{" P ",\"performance_score\":9,\"lcp_ms\":1,\"cls\":null}", PSI,
             "cls must be a number", PSI);
}

static void
test_page_normalisation(void **state)
{
    struct {
        const char *page, *site, *want_site, *want_path;
    } cases[] = {
        {"/pricing", NULL, "default", "/pricing"},
        {"/pricing/", NULL, "default", "/pricing"},
        {"/pricing//", NULL, "default", "/pricing"},
        {"/", NULL, "default", "/"},
        {"//", NULL, "default", "/"},
        {"/a?b=1", NULL, "default", "/a"},
        {"/a/#top", NULL, "default", "/a"},
        {"/a/?x#y", NULL, "default", "/a"},
        {"/A/b", NULL, "default", "/A/b"},
        {"https://Shop.Example/pricing/", NULL, "shop.example", "/pricing"},
        {"http://shop.example", NULL, "shop.example", "/"},
        {"HTTPS://SHOP.EXAMPLE/", NULL, "shop.example", "/"},
        {"https://shop.example?q=1", NULL, "shop.example", "/"},
        {"https://shop.example#f", NULL, "shop.example", "/"},
        {"https://shop.example:8443/x/", NULL, "shop.example", "/x"},
        {"https://user:pw@shop.example/x", NULL, "shop.example", "/x"},
        {"https://shop.example/x", "Other.Example", "other.example", "/x"},
        {"/x", "MiXeD.Example", "mixed.example", "/x"},
        {"/caf\xc3\xa9", NULL, "default", "/caf\xc3\xa9"},
    };
    char json[512];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].site)
            snprintf(json, sizeof(json),
                     "{\"page\":\"%s\",\"site\":\"%s\",\"ts\":0,\"users\":1}",
                     cases[i].page, cases[i].site);
        else
            snprintf(json, sizeof(json),
                     "{\"page\":\"%s\",\"ts\":0,\"users\":1}", cases[i].page);
        ok(json);
        assert_string_equal(text(rec.site, rec.site_len), cases[i].want_site);
        assert_string_equal(text(rec.path, rec.path_len), cases[i].want_path);
    }
}

static void
test_page_rules(void **state)
{
    char *json = malloc(3000);
    (void)state;
    assert_non_null(json);
    rej("{\"ts\":0,\"users\":1}", "page is missing");
    rej("{\"page\":\"\",\"ts\":0,\"users\":1}", "page is empty");
    rej("{\"page\":\"pricing\",\"ts\":0,\"users\":1}", "page must be a path");
    rej("{\"page\":\"ftp://x/y\",\"ts\":0,\"users\":1}", "page must be a path");
    rej("{\"page\":\"https:///x\",\"ts\":0,\"users\":1}", "no host");
    rej("{\"page\":\"https://a:b/x\",\"ts\":0,\"users\":1}", "invalid port");
    rej("{\"page\":\"https://a b/x\",\"ts\":0,\"users\":1}",
        "host is not a host name");
    rej("{\"page\":\"/a\\u0000b\",\"ts\":0,\"users\":1}", "control character");
    rej("{\"page\":\"/a\\nb\",\"ts\":0,\"users\":1}", "control character");
    /* 2048 bytes pass, 2049 do not */
    for (int len = 2048; len <= 2049; len++) {
        int n = snprintf(json, 3000, "{\"page\":\"/");
        memset(json + n, 'a', (size_t)len - 1);
        n += len - 1;
        snprintf(json + n, 3000 - (size_t)n, "\",\"ts\":0,\"users\":1}");
        if (len == 2048) {
            ok(json);
            assert_int_equal(rec.path_len, 2048);
        } else {
            rej(json, "page is longer than 2048 bytes");
        }
    }
    free(json);
}

static void
test_site_rules(void **state)
{
    char json[600];
    (void)state;
    rej("{" P ",\"site\":\"\",\"users\":1}", "site is empty");
    rej("{" P ",\"site\":\"a b\",\"users\":1}", "site is not a host name");
    rej("{" P ",\"site\":\"a/b\",\"users\":1}", "site is not a host name");
    rej("{" P ",\"site\":\"a:80\",\"users\":1}", "site is not a host name");
    for (int len = 253; len <= 254; len++) {
        int n = snprintf(json, sizeof(json), "{" P ",\"site\":\"");
        memset(json + n, 'S', (size_t)len);
        n += len;
        snprintf(json + n, sizeof(json) - (size_t)n, "\",\"users\":1}");
        if (len == 253) {
            ok(json);
            assert_int_equal(rec.site_len, 253);
            assert_int_equal(rec.site[0], 's');
        } else {
            rej(json, "site is longer than 253 bytes");
        }
    }
}

static void
test_ts_rules(void **state)
{
    (void)state;
    ok("{\"page\":\"/p\",\"ts\":\"2026-03-14T12:00:00+02:00\",\"users\":1}");
    assert_true(rec.ts_usec == INT64_C(1773482400) * 1000000);
    ok("{\"page\":\"/p\",\"ts\":\"2026-03-14T10:00:00.25Z\",\"users\":1}");
    assert_true(rec.ts_usec == INT64_C(1773482400) * 1000000 + 250000);
    ok("{\"page\":\"/p\",\"ts\":1.7734824e9,\"users\":1}");
    assert_true(rec.ts_usec == INT64_C(1773482400) * 1000000);
    ok("{\"page\":\"/p\",\"ts\":1773482400.000,\"users\":1}");
    ok("{\"page\":\"/p\",\"ts\":0,\"users\":1}");
    assert_true(rec.ts_usec == 0);
    ok("{\"page\":\"/p\",\"ts\":7258118399,\"users\":1}");
    ok("{\"page\":\"/p\",\"ts\":\"2199-12-31T23:59:59Z\",\"users\":1}");
    rej("{\"page\":\"/p\",\"ts\":7258118400,\"users\":1}", "1970-2199");
    rej("{\"page\":\"/p\",\"ts\":-1,\"users\":1}", "1970-2199");
    rej("{\"page\":\"/p\",\"ts\":1e30,\"users\":1}", "1970-2199");
    rej("{\"page\":\"/p\",\"ts\":1773482400.5,\"users\":1}", "fractional part");
    rej("{\"page\":\"/p\",\"ts\":\"2200-01-01T00:00:00Z\",\"users\":1}",
        "1970-2199");
    rej("{\"page\":\"/p\",\"ts\":\"1969-12-31T23:59:59Z\",\"users\":1}",
        "1970-2199");
    rej("{\"page\":\"/p\",\"ts\":\"2026-02-30T00:00:00Z\",\"users\":1}",
        "ts has an invalid calendar date");
    rej("{\"page\":\"/p\",\"ts\":\"yesterday\",\"users\":1}", "ts");
    rej("{\"page\":\"/p\",\"ts\":\"2026-03-14T10:00:00\",\"users\":1}",
        "RFC 3339");
    rej("{\"page\":\"/p\",\"ts\":\"2026-03-14T10:00:00+0200\",\"users\":1}",
        "offset");
    rej("{\"page\":\"/p\",\"users\":1}", "ts is missing");
}

static void
test_ga_rules(void **state)
{
    (void)state;
    ok("{" P ",\"views\":1}");
    assert_int_equal(rec.users, 0);
    assert_int_equal(rec.sessions, 0);
    assert_int_equal(rec.bounces, 0);
    assert_string_equal(dtext(&rec.duration_s), "0");
    rej("{" P "}", "at least one of users, sessions, views");
    rej("{" P ",\"bounces\":0,\"duration_s\":1}", "at least one of");
    ok("{" P ",\"users\":1e12,\"sessions\":1000000000000,\"views\":1e3,"
       "\"bounces\":10.0}");
    assert_true(rec.users == INT64_C(1000000000000));
    assert_int_equal(rec.views, 1000);
    assert_int_equal(rec.bounces, 10);
    ok("{" P ",\"users\":-0}");
    assert_int_equal(rec.users, 0);
    rej("{" P ",\"users\":1000000000001}", "users is out of range");
    rej("{" P ",\"users\":1e13}", "users is out of range");
    rej("{" P ",\"users\":99999999999999999999999}", "users is out of range");
    rej("{" P ",\"users\":-1}", "users is out of range");
    rej("{" P ",\"sessions\":1.5}", "sessions must be an integer (it has");
    rej("{" P ",\"views\":1e-1}", "views must be an integer (it has");
    rej("{" P ",\"sessions\":2,\"bounces\":3}", "bounces exceeds sessions");
    rej("{" P ",\"users\":2,\"bounces\":1}", "bounces exceeds sessions");
    ok("{" P ",\"sessions\":3,\"bounces\":3}");
}

static void
test_numeric_rules(void **state)
{
    (void)state;
    ok("{" P ",\"users\":1,\"duration_s\":1e12}");
    assert_string_equal(dtext(&rec.duration_s), "1000000000000");
    ok("{" P ",\"users\":1,\"duration_s\":1000000000000.000000000}");
    rej("{" P ",\"users\":1,\"duration_s\":1000000000000.0000001}",
        "duration_s is out of range");
    rej("{" P ",\"users\":1,\"duration_s\":1e400}",
        "duration_s is out of range");
    rej("{" P ",\"users\":1,\"duration_s\":-0.5}",
        "duration_s is out of range");
    ok("{" P ",\"users\":1,\"duration_s\":-0.0}");
    assert_string_equal(dtext(&rec.duration_s), "0");
    ok("{" P ",\"users\":1,\"duration_s\":0.123456789012345}");
    assert_string_equal(dtext(&rec.duration_s), "0.123456789012345");
    ok("{" P ",\"users\":1,\"duration_s\":0.12345678901234500000}");
    assert_string_equal(dtext(&rec.duration_s), "0.123456789012345");
    rej("{" P ",\"users\":1,\"duration_s\":0.1234567890123456}",
        "duration_s has more than 15 fractional digits");
    rej("{" P ",\"users\":1,\"duration_s\":1e-400}",
        "more than 15 fractional digits");
    ok("{" P ",\"users\":1,\"duration_s\":12.5e-3}");
    assert_string_equal(dtext(&rec.duration_s), "0.0125");
    ok("{" P ",\"users\":1,\"duration_s\":999999999999.999999999999999}");
    assert_string_equal(dtext(&rec.duration_s), "999999999999.999999999999999");
}

static void
test_psi_rules(void **state)
{
    (void)state;
    ok_kind("{" P ",\"performance_score\":100,\"lcp_ms\":600000,\"cls\":100,"
            "\"inp_ms\":6e5,\"fcp_ms\":0,\"ttfb_ms\":0.5}",
            PSI);
    assert_string_equal(dtext(&rec.psi[MF_PSI_INP_MS]), "600000");
    assert_true(rec.present[MF_PSI_TTFB_MS]);
    rej_kind("{" P ",\"lcp_ms\":1}", PSI, "performance_score is missing", PSI);
    rej_kind("{" P ",\"performance_score\":1}", PSI, "lcp_ms is missing", PSI);
    rej_kind("{" P ",\"performance_score\":100.000001,\"lcp_ms\":1}", PSI,
             "performance_score is out of range", PSI);
    rej_kind("{" P ",\"performance_score\":-1,\"lcp_ms\":1}", PSI,
             "performance_score is out of range", PSI);
    rej_kind("{" P ",\"performance_score\":1,\"lcp_ms\":600001}", PSI,
             "lcp_ms is out of range", PSI);
    rej_kind("{" P ",\"performance_score\":1,\"lcp_ms\":1,\"cls\":101}", PSI,
             "cls is out of range", PSI);
    rej_kind("{" P ",\"performance_score\":1,\"lcp_ms\":1,\"inp_ms\":1e6}", PSI,
             "inp_ms is out of range", PSI);
    rej_kind("{" P ",\"performance_score\":1,\"lcp_ms\":1,\"fcp_ms\":-2}", PSI,
             "fcp_ms is out of range", PSI);
    rej_kind("{" P ",\"performance_score\":1,\"lcp_ms\":1,\"ttfb_ms\":7e5}",
             PSI, "ttfb_ms is out of range", PSI);
    rej_kind("{" P ",\"performance_score\":1,\"lcp_ms\":1,\"cls\":"
             "0.0000000000000001}",
             PSI, "cls has more than 15 fractional digits", PSI);
}

static void
test_not_object_and_syntax(void **state)
{
    struct mf_record_err err;
    size_t used = 0;
    (void)state;
    rej("[1,2]", "not a JSON object");
    rej("\"text\"", "not a JSON object");
    rej("42", "not a JSON object");
    rej("null", "not a JSON object");
    syn("{\"page\":\"/p\",}", 13);
    syn("{\"page\" \"/p\"}", 8);
    syn("{\"page\":\"/p\"", 12);
    syn("{\"users\":01}", 10);
    syn("{\"page\":\"\\x\"}", 9);
    syn("{\"a\":{\"b\":[1,}", 13);
    syn("{page:1}", 1);
    syn("{\"page\":\"/p\" \"ts\":0}", 13);
    syn("{\"x\":\"\xff\"}", 6);
    syn("", 0);
    /* the value's length, and more input asked for when not final */
    const char *two = "  {\"page\":\"/p\",\"ts\":0,\"users\":1} {\"x\"";
    assert_int_equal(
        mf_record_parse(two, strlen(two), 0, 0, GA, &rec, &used, &err),
        MF_RECORD_OK);
    assert_int_equal(used, 32);
    assert_int_equal(mf_record_parse(two + used, strlen(two) - used, used, 0,
                                     GA, &rec, &used, &err),
                     MF_RECORD_MORE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ga_example),
        cmocka_unit_test(test_psi_example),
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_unknown_and_repeated),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_page_normalisation),
        cmocka_unit_test(test_page_rules),
        cmocka_unit_test(test_site_rules),
        cmocka_unit_test(test_ts_rules),
        cmocka_unit_test(test_ga_rules),
        cmocka_unit_test(test_numeric_rules),
        cmocka_unit_test(test_psi_rules),
        cmocka_unit_test(test_not_object_and_syntax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
