/* mf_http: RFC 9457 problem documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mf_http.h"

#include <stdlib.h>
#include <string.h>

static void
test_problem_fields(void **state)
{
    char *s = mf_http_problem_json(400, "Invalid request", "limit must be 1",
                                   "limit", "abc123");
    assert_non_null(s);
    json_t *o = json_loads(s, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "type")),
                        "urn:metriflow:problem:invalid-request");
    assert_string_equal(json_string_value(json_object_get(o, "title")),
                        "Invalid request");
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 400);
    assert_string_equal(json_string_value(json_object_get(o, "detail")),
                        "limit must be 1");
    assert_string_equal(json_string_value(json_object_get(o, "field")),
                        "limit");
    assert_string_equal(json_string_value(json_object_get(o, "request_id")),
                        "abc123");
    json_decref(o);
    free(s);
}

static void
test_problem_without_field(void **state)
{
    char *s = mf_http_problem_json(429, "Too many", "later", NULL, NULL);
    json_t *o = json_loads(s, 0, NULL);
    assert_null(json_object_get(o, "field"));
    assert_null(json_object_get(o, "request_id"));
    assert_string_equal(json_string_value(json_object_get(o, "type")),
                        "urn:metriflow:problem:rate-limited");
    json_decref(o);
    free(s);
}

static void
test_problem_escapes(void **state)
{
    /* A detail with quotes and control characters stays valid JSON. */
    char *s = mf_http_problem_json(404, "t\"x", "a\"b\n\\c", "page", NULL);
    json_t *o = json_loads(s, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "detail")),
                        "a\"b\n\\c");
    assert_string_equal(json_string_value(json_object_get(o, "type")),
                        "urn:metriflow:problem:not-found");
    json_decref(o);
    free(s);
}

static void
test_problem_types(void **state)
{
    static const struct {
        int status;
        const char *type;
    } cases[] = {
        {401, "urn:metriflow:problem:unauthorized"},
        {403, "urn:metriflow:problem:forbidden"},
        {405, "urn:metriflow:problem:method-not-allowed"},
        {409, "urn:metriflow:problem:conflict"},
        {413, "urn:metriflow:problem:body-too-large"},
        {500, "urn:metriflow:problem:internal"},
        {503, "urn:metriflow:problem:unavailable"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = mf_http_problem_json(cases[i].status, "t", "d", NULL, NULL);
        json_t *o = json_loads(s, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(o, "type")),
                            cases[i].type);
        json_decref(o);
        free(s);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_problem_fields),
        cmocka_unit_test(test_problem_without_field),
        cmocka_unit_test(test_problem_escapes),
        cmocka_unit_test(test_problem_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
