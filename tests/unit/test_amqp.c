/*
 * Tests of mf_amqp. Without arguments: the URL parser, in-process. With
 * "--broker" (run by tests/integration/amqp.sh with METRIFLOW_AMQP_URL set
 * to a fresh vhost): publishing with confirms, consuming, acknowledgement,
 * retries, dead letters and reconnects against the real RabbitMQ.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mf_amqp.h"
#include "mf_time.h"

/* --- URL parser ----------------------------------------------------------- */

static void
url_ok(const char *s, const char *user, const char *pass, const char *host,
       int port, const char *vhost)
{
    struct mf_amqp_url u;
    char err[256] = "";

    assert_int_equal(mf_amqp_parse_url(s, &u, err, sizeof(err)), 0);
    assert_string_equal(u.user, user);
    assert_string_equal(u.pass, pass);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_string_equal(u.vhost, vhost);
}

static void
url_bad(const char *s, const char *why)
{
    struct mf_amqp_url u;
    char err[256] = "";

    assert_int_equal(mf_amqp_parse_url(s, &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, why));
    /* Nothing of a half-parsed URL is left behind, and no password. */
    assert_string_equal(u.pass, "");
    assert_null(strstr(err, "secret"));
}

static void
test_url_full(void **state)
{
    (void)state;
    url_ok("amqp://metriflow:secret@127.0.0.1:55672/mft_x", "metriflow",
           "secret", "127.0.0.1", 55672, "mft_x");
    url_ok("AMQP://u:p@rabbit.example:1/v", "u", "p", "rabbit.example", 1, "v");
    url_ok("amqp://u:p@h:65535/v", "u", "p", "h", 65535, "v");
}

static void
test_url_defaults(void **state)
{
    (void)state;
    url_ok("amqp://guest:guest@127.0.0.1:5672/", "guest", "guest", "127.0.0.1",
           5672, "/");
    url_ok("amqp://h", "guest", "guest", "h", 5672, "/");
    url_ok("amqp://", "guest", "guest", "localhost", 5672, "/");
    url_ok("amqp://u@h/", "u", "", "h", 5672, "/");
    url_ok("amqp://u:@h:1234", "u", "", "h", 1234, "/");
    url_ok("amqp://:5673/v", "guest", "guest", "localhost", 5673, "v");
}

static void
test_url_percent(void **state)
{
    (void)state;
    url_ok("amqp://h/%2F", "guest", "guest", "h", 5672, "/");
    url_ok("amqp://h/%2f", "guest", "guest", "h", 5672, "/");
    url_ok("amqp://h/a%2Fb", "guest", "guest", "h", 5672, "a/b");
    url_ok("amqp://us%40er:p%3As%2Fs%25@h/v%20x", "us@er", "p:s/s%", "h", 5672,
           "v x");
    /* '@' inside the password unescaped: the last '@' ends user info. */
    url_ok("amqp://u:p@ss@h/v", "u", "p@ss", "h", 5672, "v");
}

static void
test_url_ipv6(void **state)
{
    (void)state;
    url_ok("amqp://u:p@[::1]:5673/v", "u", "p", "::1", 5673, "v");
    url_ok("amqp://[fe80::1]/", "guest", "guest", "fe80::1", 5672, "/");
}

static void
test_url_errors(void **state)
{
    (void)state;
    url_bad("http://h/", "must start with amqp://");
    url_bad("amqps://u:secret@h/", "amqps");
    url_bad("", "must start with amqp://");
    url_bad("amqp://u:secret@h:0/", "port");
    url_bad("amqp://u:secret@h:65536/", "port");
    url_bad("amqp://u:secret@h:12x/", "port");
    url_bad("amqp://u:secret@h:/", "empty port");
    url_bad("amqp://u:secret@h:123456/", "port");
    url_bad("amqp://u:secret@h/a/b", "contains '/'");
    url_bad("amqp://u:secret@h/v?heartbeat=5", "query");
    url_bad("amqp://u:secret@h/%zz", "percent-escape");
    url_bad("amqp://u:secret@h/%2", "percent-escape");
    url_bad("amqp://u:secret@h/%00", "percent-escape");
    url_bad("amqp://u:s%G1cret@h/", "percent-escape");
    url_bad("amqp://u:secret@[::1/", "unterminated");
    url_bad("amqp://u:secret@[::1]x/", "after ']'");
}

static void
test_url_lengths(void **state)
{
    (void)state;
    char long_url[600];
    char vhost[300];

    memset(vhost, 'v', sizeof(vhost) - 1);
    vhost[sizeof(vhost) - 1] = '\0';
    snprintf(long_url, sizeof(long_url), "amqp://u:secret@h/%s", vhost);
    url_bad(long_url, "vhost is longer");

    /* 255 bytes fit exactly; escapes count once decoded. */
    vhost[255] = '\0';
    snprintf(long_url, sizeof(long_url), "amqp://h/%s", vhost);
    struct mf_amqp_url u;
    char err[256];
    assert_int_equal(mf_amqp_parse_url(long_url, &u, err, sizeof(err)), 0);
    assert_int_equal(strlen(u.vhost), 255);
}

/* --- against the broker ------------------------------------------------------
 */

static const char *
broker_url(void)
{
    const char *url = getenv("METRIFLOW_AMQP_URL");
    assert_non_null(url);
    return url;
}

static struct mf_amqp *
connect_ok(void)
{
    struct mf_amqp *a = NULL;
    char err[512] = "";
    int rc = mf_amqp_connect(broker_url(), &a, err, sizeof(err));
    if (rc != MF_AMQP_OK)
        fail_msg("connect failed: %s", err);
    return a;
}

static long
count_of(const char *queue)
{
    struct mf_amqp *a = connect_ok();
    long n = -1;
    assert_int_equal(mf_amqp_queue_count(a, queue, &n), MF_AMQP_OK);
    mf_amqp_close(a);
    return n;
}

/*
 * The ready count of queue once it equals want, waiting up to 15 s: a
 * closed consumer's messages return to a quorum queue asynchronously.
 */
static long
count_becomes(const char *queue, long want)
{
    long n = -1;
    for (int i = 0; i < 150; i++) {
        n = count_of(queue);
        if (n == want)
            break;
        mf_time_sleep_ms(100);
    }
    return n;
}

/* Empties a queue so that each test starts from nothing. */
static void
purge(const char *queue)
{
    struct mf_amqp *a = connect_ok();
    struct mf_amqp_msg m;
    while (mf_amqp_get(a, queue, &m) == MF_AMQP_OK) {
        assert_int_equal(mf_amqp_ack(a, &m, 0), MF_AMQP_OK);
        mf_amqp_msg_free(&m);
    }
    mf_amqp_close(a);
}

static void
test_broker_publish_confirm(void **state)
{
    (void)state;
    purge("mf.page");
    struct mf_amqp *a = connect_ok();
    for (int i = 0; i < 3; i++)
        assert_int_equal(mf_amqp_publish(a, "page", "{\"n\":1}", 7, 5000),
                         MF_AMQP_OK);
    /* A key no queue is bound to comes back: not confirmed as delivered. */
    assert_int_equal(mf_amqp_publish(a, "nosuch", "{}", 2, 5000), MF_AMQP_ERR);
    assert_non_null(strstr(mf_amqp_error(a), "no queue"));
    /* The link is still fine after a refusal. */
    assert_int_equal(mf_amqp_publish(a, "page", "{\"n\":2}", 7, 5000),
                     MF_AMQP_OK);
    mf_amqp_close(a);
    assert_int_equal(count_becomes("mf.page", 4), 4);
}

static void
test_broker_consume_ack(void **state)
{
    (void)state;
    purge("mf.daily");
    struct mf_amqp *p = connect_ok();
    for (int i = 0; i < 5; i++) {
        char body[32];
        int n = snprintf(body, sizeof(body), "{\"i\":%d}", i);
        assert_int_equal(mf_amqp_publish(p, "daily", body, (size_t)n, 5000),
                         MF_AMQP_OK);
    }
    mf_amqp_close(p);

    struct mf_amqp *c = connect_ok();
    assert_int_equal(mf_amqp_consume(c, "daily", 10), MF_AMQP_OK);
    struct mf_amqp_msg m[5];
    for (int i = 0; i < 5; i++) {
        char want[32];
        snprintf(want, sizeof(want), "{\"i\":%d}", i);
        assert_int_equal(mf_amqp_next(c, &m[i], 5000), MF_AMQP_OK);
        assert_string_equal((char *)m[i].body, want);
        assert_int_equal(m[i].attempts, 0);
        assert_true(m[i].time > 0);
    }
    struct mf_amqp_msg extra;
    assert_int_equal(mf_amqp_next(c, &extra, 200), MF_AMQP_TIMEOUT);
    /* Publishing on a consuming handle works (confirms and deliveries
     * share the channel). */
    assert_int_equal(mf_amqp_publish(c, "monthly", "{}", 2, 5000), MF_AMQP_OK);
    /* One multiple ack for the first three; the other two go back. */
    assert_int_equal(mf_amqp_ack(c, &m[2], 1), MF_AMQP_OK);
    assert_int_equal(mf_amqp_poll(c, 100), MF_AMQP_OK);
    mf_amqp_close(c);
    for (int i = 0; i < 5; i++)
        mf_amqp_msg_free(&m[i]);
    assert_int_equal(count_becomes("mf.daily", 2), 2);
    purge("mf.monthly");
}

static void
test_broker_retry_and_dead(void **state)
{
    (void)state;
    purge("mf.interval");
    purge(MF_AMQP_DEAD_QUEUE);
    struct mf_amqp *a = connect_ok();
    assert_int_equal(
        mf_amqp_retry(a, "interval", "x", 1, 3, "stage failed: boom", 5000),
        MF_AMQP_OK);
    assert_int_equal(
        mf_amqp_dead(a, "interval", "not json", 8, 5, "body is not JSON", 5000),
        MF_AMQP_OK);
    struct mf_amqp_msg m;
    assert_int_equal(mf_amqp_get(a, "mf.interval", &m), MF_AMQP_OK);
    assert_int_equal(m.attempts, 3);
    assert_string_equal(m.error, "stage failed: boom");
    assert_string_equal(m.stage, "interval");
    assert_int_equal(mf_amqp_ack(a, &m, 0), MF_AMQP_OK);
    mf_amqp_msg_free(&m);

    assert_int_equal(mf_amqp_get(a, MF_AMQP_DEAD_QUEUE, &m), MF_AMQP_OK);
    assert_string_equal((char *)m.body, "not json");
    assert_int_equal(m.attempts, 5);
    assert_string_equal(m.error, "body is not JSON");
    assert_string_equal(m.stage, "interval");
    assert_true(llabs((long long)(m.time - time(NULL))) < 600);
    assert_int_equal(mf_amqp_ack(a, &m, 0), MF_AMQP_OK);
    mf_amqp_msg_free(&m);
    assert_int_equal(mf_amqp_get(a, MF_AMQP_DEAD_QUEUE, &m), MF_AMQP_EMPTY);
    mf_amqp_close(a);
}

static void
test_broker_stale_after_reconnect(void **state)
{
    (void)state;
    purge("mf.yearly");
    struct mf_amqp *a = connect_ok();
    assert_int_equal(mf_amqp_publish(a, "yearly", "{}", 2, 5000), MF_AMQP_OK);
    assert_int_equal(mf_amqp_consume(a, "yearly", 5), MF_AMQP_OK);
    struct mf_amqp_msg m;
    assert_int_equal(mf_amqp_next(a, &m, 5000), MF_AMQP_OK);
    assert_int_equal(m.redelivered, 0);
    assert_int_equal(mf_amqp_reconnect(a, NULL), MF_AMQP_OK);
    /* The old tag is refused locally; the broker redelivers. */
    assert_int_equal(mf_amqp_ack(a, &m, 0), MF_AMQP_ERR);
    mf_amqp_msg_free(&m);
    assert_int_equal(mf_amqp_next(a, &m, 5000), MF_AMQP_OK);
    assert_int_equal(m.redelivered, 1);
    assert_int_equal(mf_amqp_ack(a, &m, 0), MF_AMQP_OK);
    mf_amqp_msg_free(&m);
    assert_int_equal(mf_amqp_poll(a, 100), MF_AMQP_OK);
    mf_amqp_close(a);
    assert_int_equal(count_becomes("mf.yearly", 0), 0);
}

static void
test_broker_delivery_limit(void **state)
{
    (void)state;
    purge("mf.stage-psi");
    purge(MF_AMQP_DEAD_QUEUE);
    struct mf_amqp *a = connect_ok();
    assert_int_equal(mf_amqp_publish(a, "stage-psi", "crash", 5, 5000),
                     MF_AMQP_OK);
    assert_int_equal(mf_amqp_consume(a, "stage-psi", 1), MF_AMQP_OK);
    /* A message that is handed back again and again ends in mf.dead. */
    struct mf_amqp_msg m;
    int deliveries = 0;
    while (mf_amqp_next(a, &m, 2000) == MF_AMQP_OK) {
        deliveries++;
        assert_int_equal(mf_amqp_nack(a, &m, 1), MF_AMQP_OK);
        mf_amqp_msg_free(&m);
        assert_true(deliveries <= 30);
    }
    assert_true(deliveries >= 20);
    mf_amqp_close(a);
    assert_int_equal(count_becomes(MF_AMQP_DEAD_QUEUE, 1), 1);

    a = connect_ok();
    assert_int_equal(mf_amqp_get(a, MF_AMQP_DEAD_QUEUE, &m), MF_AMQP_OK);
    assert_string_equal((char *)m.body, "crash");
    assert_string_equal(m.stage, "stage-psi");
    assert_non_null(strstr(m.error, "delivery_limit"));
    assert_int_equal(mf_amqp_ack(a, &m, 0), MF_AMQP_OK);
    mf_amqp_msg_free(&m);
    mf_amqp_close(a);
}

static void
test_broker_bad_login(void **state)
{
    (void)state;
    struct mf_amqp_url u;
    char err[512], url[1024];
    assert_int_equal(mf_amqp_parse_url(broker_url(), &u, err, sizeof(err)), 0);
    snprintf(url, sizeof(url), "amqp://%s:wrong-secret-xyz@%s:%d/", u.user,
             u.host, u.port);
    struct mf_amqp *a = NULL;
    assert_int_not_equal(mf_amqp_connect(url, &a, err, sizeof(err)),
                         MF_AMQP_OK);
    assert_null(a);
    assert_null(strstr(err, "wrong-secret-xyz"));
    assert_true(strlen(err) > 0);

    /* Nothing listens on port 1. */
    snprintf(url, sizeof(url), "amqp://u:p@127.0.0.1:1/");
    assert_int_equal(mf_amqp_connect(url, &a, err, sizeof(err)),
                     MF_AMQP_CONN_LOST);
    assert_non_null(strstr(err, "cannot connect"));
    explicit_bzero(&u, sizeof(u));
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest url_tests[] = {
        cmocka_unit_test(test_url_full),    cmocka_unit_test(test_url_defaults),
        cmocka_unit_test(test_url_percent), cmocka_unit_test(test_url_ipv6),
        cmocka_unit_test(test_url_errors),  cmocka_unit_test(test_url_lengths),
    };
    const struct CMUnitTest broker_tests[] = {
        cmocka_unit_test(test_broker_publish_confirm),
        cmocka_unit_test(test_broker_consume_ack),
        cmocka_unit_test(test_broker_retry_and_dead),
        cmocka_unit_test(test_broker_stale_after_reconnect),
        cmocka_unit_test(test_broker_delivery_limit),
        cmocka_unit_test(test_broker_bad_login),
    };

    if (argc > 1 && strcmp(argv[1], "--broker") == 0)
        return cmocka_run_group_tests(broker_tests, NULL, NULL);
    return cmocka_run_group_tests(url_tests, NULL, NULL);
}
