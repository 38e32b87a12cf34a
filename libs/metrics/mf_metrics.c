#include "mf_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_METRICS 256
#define NBUCKETS    12

enum kind { COUNTER, GAUGE, HISTOGRAM };

static const double bucket_le[NBUCKETS] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                           0.25,  0.5,   1,    5,     15,   60};

struct mf_metric {
    enum kind kind;
    char name[80];
    char labels[96];
    char help[128];
    atomic_llong value;             /* counter, gauge; histogram count */
    atomic_llong sum_us;            /* histogram sum in microseconds */
    atomic_llong buckets[NBUCKETS]; /* cumulative at render time */
};

static struct mf_metric metrics[MAX_METRICS];
static int nmetrics;

static int
valid_name(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == ':'))
            return 0;
    return 1;
}

static struct mf_metric *
add(enum kind k, const char *name, const char *labels, const char *help)
{
    if (nmetrics >= MAX_METRICS || !valid_name(name) ||
        strlen(name) >= sizeof(metrics[0].name) ||
        (labels && strlen(labels) >= sizeof(metrics[0].labels)))
        return NULL;
    struct mf_metric *m = &metrics[nmetrics++];
    m->kind = k;
    snprintf(m->name, sizeof(m->name), "%s", name);
    snprintf(m->labels, sizeof(m->labels), "%s", labels ? labels : "");
    snprintf(m->help, sizeof(m->help), "%s", help ? help : "");
    return m;
}

struct mf_metric *
mf_metrics_counter(const char *name, const char *labels, const char *help)
{
    return add(COUNTER, name, labels, help);
}

struct mf_metric *
mf_metrics_gauge(const char *name, const char *labels, const char *help)
{
    return add(GAUGE, name, labels, help);
}

struct mf_metric *
mf_metrics_histogram(const char *name, const char *labels, const char *help)
{
    return add(HISTOGRAM, name, labels, help);
}

void
mf_metrics_add(struct mf_metric *m, int64_t n)
{
    if (m != NULL)
        atomic_fetch_add(&m->value, n);
}

void
mf_metrics_set(struct mf_metric *m, int64_t v)
{
    if (m != NULL)
        atomic_store(&m->value, v);
}

void
mf_metrics_observe(struct mf_metric *m, double seconds)
{
    if (m == NULL)
        return;
    atomic_fetch_add(&m->value, 1);
    atomic_fetch_add(&m->sum_us, (long long)(seconds * 1e6));
    for (int i = 0; i < NBUCKETS; i++)
        if (seconds <= bucket_le[i]) {
            atomic_fetch_add(&m->buckets[i], 1);
            break;
        }
}

/* Appends to buf, tracking the length a full render would need. */
struct out {
    char *buf;
    size_t n, len;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    size_t room = o->len < o->n ? o->n - o->len : 0;
    va_start(ap, fmt);
    int k = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        o->len += (size_t)k;
}

static void
render_histogram(struct out *o, struct mf_metric *m, const char *sep)
{
    long long cum = 0;
    for (int i = 0; i < NBUCKETS; i++) {
        cum += atomic_load(&m->buckets[i]);
        put(o, "%s_bucket{%s%sle=\"%g\"} %lld\n", m->name, m->labels, sep,
            bucket_le[i], cum);
    }
    put(o, "%s_bucket{%s%sle=\"+Inf\"} %lld\n", m->name, m->labels, sep,
        (long long)atomic_load(&m->value));
    put(o, "%s_sum%s%s%s %.6f\n", m->name, *m->labels ? "{" : "", m->labels,
        *m->labels ? "}" : "", (double)atomic_load(&m->sum_us) / 1e6);
    put(o, "%s_count%s%s%s %lld\n", m->name, *m->labels ? "{" : "", m->labels,
        *m->labels ? "}" : "", (long long)atomic_load(&m->value));
}

size_t
mf_metrics_render(char *buf, size_t n)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    struct out o = {buf, n, 0};

    if (n > 0)
        buf[0] = '\0';
    for (int i = 0; i < nmetrics; i++) {
        struct mf_metric *m = &metrics[i];
        /* HELP and TYPE once per name: the first registration carries them. */
        int first = 1;
        for (int j = 0; j < i; j++)
            if (strcmp(metrics[j].name, m->name) == 0)
                first = 0;
        if (first)
            put(&o, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                types[m->kind]);
        if (m->kind == HISTOGRAM)
            render_histogram(&o, m, *m->labels ? "," : "");
        else
            put(&o, "%s%s%s%s %lld\n", m->name, *m->labels ? "{" : "",
                m->labels, *m->labels ? "}" : "",
                (long long)atomic_load(&m->value));
    }
    return o.len;
}

/* ---- the listener ------------------------------------------------------ */

static int listen_fd = -1;
static pthread_t listen_thread;
static atomic_int listen_stop;

static void
respond(int fd, const char *status, const char *type, const char *body,
        size_t len)
{
    char head[256];
    int h = snprintf(head, sizeof(head),
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: "
                     "%zu\r\nConnection: close\r\n\r\n",
                     status, type, len);
    if (write(fd, head, (size_t)h) == h && len > 0) {
        ssize_t w = write(fd, body, len);
        (void)w;
    }
}

static void
serve_one(int fd)
{
    char req[1024];
    struct pollfd p = {fd, POLLIN, 0};
    ssize_t r = 0;

    /* One short read of the request line is all this listener needs. */
    if (poll(&p, 1, 2000) == 1)
        r = read(fd, req, sizeof(req) - 1);
    if (r <= 0)
        return;
    req[r] = '\0';
    if (strncmp(req, "GET /metrics ", 13) == 0 ||
        strncmp(req, "GET /metrics?", 13) == 0) {
        size_t need = mf_metrics_render(NULL, 0) + 1;
        char *body = malloc(need);
        if (body == NULL) {
            respond(fd, "500 Internal Server Error", "text/plain", "", 0);
            return;
        }
        size_t len = mf_metrics_render(body, need);
        respond(fd, "200 OK", "text/plain; version=0.0.4", body, len);
        free(body);
    } else if (strncmp(req, "GET /healthz ", 13) == 0) {
        respond(fd, "200 OK", "text/plain", "ok\n", 3);
    } else {
        respond(fd, "404 Not Found", "text/plain", "not found\n", 10);
    }
}

static void *
listen_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&listen_stop)) {
        struct pollfd p = {listen_fd, POLLIN, 0};
        if (poll(&p, 1, 200) != 1)
            continue;
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_one(fd);
        close(fd);
    }
    return NULL;
}

/* Parses "IPV4:PORT" into sa. Returns 0, or -1 with a reason in err. */
static int
parse_addr(const char *addr, struct sockaddr_in *sa, char *err, size_t errlen)
{
    char host[64], *end;
    const char *colon = strrchr(addr, ':');
    long p;

    if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
        snprintf(err, errlen, "metrics address must be HOST:PORT");
        return -1;
    }
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p < 0 || p > 65535 ||
        inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        snprintf(err, errlen, "metrics address must be IPv4-HOST:PORT");
        return -1;
    }
    sa->sin_port = htons((uint16_t)p);
    return 0;
}

int
mf_metrics_check_addr(const char *value, char *why, size_t n)
{
    struct sockaddr_in sa;

    if (value == NULL || *value == '\0' || strcmp(value, "off") == 0)
        return 0;
    return parse_addr(value, &sa, why, n);
}

int
mf_metrics_listen(const char *addr, int *port, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int one = 1;

    if (addr == NULL || *addr == '\0' || strcmp(addr, "off") == 0)
        return 0;
    if (parse_addr(addr, &sa, err, errlen) != 0)
        return -1;
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 ||
        setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(listen_fd, 16) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&sa, &sl) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        if (listen_fd >= 0)
            close(listen_fd);
        listen_fd = -1;
        return -1;
    }
    if (port != NULL)
        *port = ntohs(sa.sin_port);
    atomic_store(&listen_stop, 0);
    if (pthread_create(&listen_thread, NULL, listen_main, NULL) != 0) {
        snprintf(err, errlen, "cannot start the metrics thread");
        close(listen_fd);
        listen_fd = -1;
        return -1;
    }
    return 0;
}

void
mf_metrics_stop(void)
{
    if (listen_fd < 0)
        return;
    atomic_store(&listen_stop, 1);
    pthread_join(listen_thread, NULL);
    close(listen_fd);
    listen_fd = -1;
}
