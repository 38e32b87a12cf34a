/* mf_http: RFC 9457 problem documents; deferred answers over a socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mf_http.h"
#include "mf_time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* --- deferral ------------------------------------------------------------ */

/* A handler that defers: a thread resumes the request 300 ms later, and
 * cont writes the body; the header the handler set must survive, and the
 * server's one pool thread must answer others meanwhile. */
struct later {
    struct mf_http_req *req;
    int started, continued, freed;
};

static void *
resume_later(void *arg)
{
    struct later *l = arg;
    mf_time_sleep_ms(300);
    mf_http_resume(l->req);
    return NULL;
}

static void
later_start(struct mf_http_req *req, void *arg)
{
    struct later *l = arg;
    l->req = req;
    l->started++;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, resume_later, l), 0);
    pthread_detach(t);
}

static void
later_cont(struct mf_http_req *req, struct mf_http_resp *resp, void *arg)
{
    (void)req;
    struct later *l = arg;
    l->continued++;
    if (resp != NULL)
        mf_http_resp_text(resp, 200, "text/plain", "later", 5);
}

static struct later the_later;

static void
defer_handle(struct mf_http_req *req, const struct mf_http_route *route,
             struct mf_http_resp *resp, void *user)
{
    (void)user;
    if (route->id == 1) {
        mf_http_resp_header(resp, "X-Before", "kept");
        mf_http_defer(req, later_start, later_cont, &the_later);
    } else {
        mf_http_resp_text(resp, 200, "text/plain", "now", 3);
    }
}

/* One GET on a new connection; the whole answer into buf. */
static void
get(int port, const char *path, char *buf, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {0};
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    char req[128];
    int len = snprintf(
        req, sizeof(req),
        "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)len), len);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < n && (r = read(fd, buf + got, n - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fd);
}

struct getter {
    int port;
    char buf[4096];
};

static void *
get_later(void *arg)
{
    struct getter *g = arg;
    get(g->port, "/later", g->buf, sizeof(g->buf));
    return NULL;
}

static void
test_defer_resume(void **state)
{
    (void)state;
    static const struct mf_http_route routes[] = {{"GET", "/later", 1},
                                                  {"GET", "/now", 2}};
    struct mf_http_config cfg = {
        .addr = "127.0.0.1:0",
        .threads = 1,
        .max_body = 1024,
        .timeout_s = 5,
        .routes = routes,
        .nroutes = 2,
        .handle = defer_handle,
    };
    struct mf_http *h = NULL;
    char err[128], buf[4096];
    assert_int_equal(mf_http_start(&cfg, &h, err, sizeof(err)), 0);
    struct getter g = {mf_http_port(h), {0}};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, get_later, &g), 0);
    mf_time_sleep_ms(100);
    /* The one pool thread is free while /later waits. */
    get(g.port, "/now", buf, sizeof(buf));
    assert_non_null(strstr(buf, "\r\n\r\nnow"));
    assert_int_equal(the_later.started, 1);
    assert_int_equal(the_later.continued, 0);
    pthread_join(t, NULL);
    assert_non_null(strstr(g.buf, "HTTP/1.1 200"));
    assert_non_null(strstr(g.buf, "X-Before: kept"));
    assert_non_null(strstr(g.buf, "\r\n\r\nlater"));
    assert_int_equal(the_later.continued, 1);
    mf_http_stop(h, 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_problem_fields),
        cmocka_unit_test(test_problem_without_field),
        cmocka_unit_test(test_problem_escapes),
        cmocka_unit_test(test_problem_types),
        cmocka_unit_test(test_defer_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
