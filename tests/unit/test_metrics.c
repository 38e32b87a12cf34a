/* Unit tests of mf_metrics: registration, rendering and the listener. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mf_metrics.h"

static struct mf_metric *c_ga, *c_psi, *g, *h;

static int
setup(void **state)
{
    (void)state;
    c_ga = mf_metrics_counter("mf_records_total", "kind=\"ga\"", "Records.");
    c_psi = mf_metrics_counter("mf_records_total", "kind=\"psi\"", "Records.");
    g = mf_metrics_gauge("mf_pending", NULL, "Pending units.");
    h = mf_metrics_histogram("mf_run_seconds", "stage=\"daily\"", "Runs.");
    return c_ga && c_psi && g && h ? 0 : -1;
}

static void
test_render(void **state)
{
    (void)state;
    char buf[8192];

    mf_metrics_add(c_ga, 5);
    mf_metrics_add(c_ga, 2);
    mf_metrics_add(c_psi, 1);
    mf_metrics_set(g, 42);
    mf_metrics_observe(h, 0.003);
    mf_metrics_observe(h, 2.0);
    mf_metrics_add(NULL, 1); /* a NULL handle is ignored */

    size_t len = mf_metrics_render(buf, sizeof(buf));
    assert_true(len < sizeof(buf));
    assert_non_null(strstr(buf, "mf_records_total{kind=\"ga\"} 7\n"));
    assert_non_null(strstr(buf, "mf_records_total{kind=\"psi\"} 1\n"));
    assert_non_null(strstr(buf, "mf_pending 42\n"));
    assert_non_null(
        strstr(buf, "mf_run_seconds_bucket{stage=\"daily\",le=\"0.001\"} 0\n"));
    assert_non_null(
        strstr(buf, "mf_run_seconds_bucket{stage=\"daily\",le=\"0.005\"} 1\n"));
    assert_non_null(
        strstr(buf, "mf_run_seconds_bucket{stage=\"daily\",le=\"1\"} 1\n"));
    assert_non_null(
        strstr(buf, "mf_run_seconds_bucket{stage=\"daily\",le=\"5\"} 2\n"));
    assert_non_null(strstr(buf, "mf_run_seconds_count{stage=\"daily\"} 2\n"));
    /* HELP and TYPE appear once per metric name. */
    const char *first = strstr(buf, "# TYPE mf_records_total counter");
    assert_non_null(first);
    assert_null(strstr(first + 1, "# TYPE mf_records_total"));

    /* A short buffer reports the length needed, as snprintf does. */
    char small[16];
    assert_int_equal(mf_metrics_render(small, sizeof(small)), len);
}

static void
test_invalid_names(void **state)
{
    (void)state;
    assert_null(mf_metrics_counter("bad name", NULL, "x"));
    assert_null(mf_metrics_counter("", NULL, "x"));
    assert_null(mf_metrics_gauge(NULL, NULL, "x"));
}

static void
test_listener(void **state)
{
    (void)state;
    char err[128], resp[8192];
    int port = 0;

    assert_int_equal(mf_metrics_listen("off", &port, err, sizeof(err)), 0);
    assert_int_equal(mf_metrics_listen("nonsense", &port, err, sizeof(err)),
                     -1);
    assert_int_equal(mf_metrics_listen("127.0.0.1:0", &port, err, sizeof(err)),
                     0);
    assert_true(port > 0);

    const char *reqs[] = {"GET /metrics HTTP/1.0\r\n\r\n",
                          "GET /nothing HTTP/1.0\r\n\r\n"};
    const char *want[] = {"mf_pending 42", "404 Not Found"};
    for (int i = 0; i < 2; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(write(fd, reqs[i], strlen(reqs[i])),
                         (ssize_t)strlen(reqs[i]));
        size_t got = 0;
        ssize_t r;
        while ((r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
            got += (size_t)r;
        resp[got] = '\0';
        close(fd);
        assert_non_null(strstr(resp, want[i]));
    }
    mf_metrics_stop();
}

static void
test_check_addr(void **state)
{
    (void)state;
    char why[128];
    const char *good[] = {"off", "", "127.0.0.1:9100", "0.0.0.0:0"};
    const char *bad[] = {
        "nonsense",        "127.0.0.1", "127.0.0.1:",     "127.0.0.1:x",
        "127.0.0.1:65536", ":9100",     "localhost:9100", "127.0.0.1:-1"};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(mf_metrics_check_addr(good[i], why, sizeof(why)), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(mf_metrics_check_addr(bad[i], why, sizeof(why)), -1);
        assert_non_null(strstr(why, "HOST:PORT"));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_invalid_names),
        cmocka_unit_test(test_listener),
        cmocka_unit_test(test_check_addr),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
