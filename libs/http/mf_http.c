/* mf_http: libmicrohttpd behind a route table. */
#include "mf_http.h"
#include "mf_time.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HEADERS 16

struct mf_http {
    struct MHD_Daemon *d;
    struct mf_http_config cfg;
    int port;
    unsigned id_prefix;
    atomic_ullong id_next;
    atomic_int deferred; /* requests suspended by mf_http_defer */
};

struct mf_http_resp {
    int status;
    char *body;
    size_t len;
    const char *ctype;
    int nh;
    char *h[MAX_HEADERS][2];
    const char *req_id;
};

struct mf_http_req {
    struct mf_http *h;
    struct MHD_Connection *c;
    const char *method;
    const char *path;
    char id[24];
    char client[INET6_ADDRSTRLEN];
    int64_t start_ns;
    char *body;
    size_t len, cap;
    int too_large;
    int answered;
    /* mf_http_defer: set by the handler; after the handler returns the
     * connection is suspended, start is called, and once mf_http_resume
     * wakes it, cont finishes the answer in resp. */
    void (*start)(struct mf_http_req *req, void *arg);
    void (*cont)(struct mf_http_req *req, struct mf_http_resp *resp, void *arg);
    void *arg;
    struct mf_http_resp *resp;
    const struct mf_http_route *route;
};

/* --- answers ----------------------------------------------------------- */

static void
resp_set(struct mf_http_resp *resp, int status, const char *ctype, char *body,
         size_t len)
{
    free(resp->body);
    resp->status = status;
    resp->ctype = ctype;
    resp->body = body;
    resp->len = len;
}

void
mf_http_resp_take(struct mf_http_resp *resp, int status, const char *ctype,
                  char *body, size_t len)
{
    resp_set(resp, status, ctype, body, len);
}

void
mf_http_resp_text(struct mf_http_resp *resp, int status, const char *ctype,
                  const char *body, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        resp_set(resp, 500, NULL, NULL, 0);
        return;
    }
    memcpy(copy, body, len);
    copy[len] = '\0';
    resp_set(resp, status, ctype, copy, len);
}

void
mf_http_resp_empty(struct mf_http_resp *resp, int status)
{
    resp_set(resp, status, NULL, NULL, 0);
}

void
mf_http_resp_json(struct mf_http_resp *resp, int status, json_t *json)
{
    char *s =
        json ? json_dumps(json, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(json);
    if (s == NULL) {
        mf_http_resp_problem(resp, 500, "Internal error",
                             "The answer could not be encoded.", NULL);
        return;
    }
    resp_set(resp, status, "application/json; charset=utf-8", s, strlen(s));
}

/* The problem type for a status: a stable URN per kind of failure. */
static const char *
problem_type(int status)
{
    switch (status) {
    case 400:
        return "urn:metriflow:problem:invalid-request";
    case 401:
        return "urn:metriflow:problem:unauthorized";
    case 403:
        return "urn:metriflow:problem:forbidden";
    case 404:
        return "urn:metriflow:problem:not-found";
    case 405:
        return "urn:metriflow:problem:method-not-allowed";
    case 409:
        return "urn:metriflow:problem:conflict";
    case 413:
        return "urn:metriflow:problem:body-too-large";
    case 415:
        return "urn:metriflow:problem:unsupported-media-type";
    case 429:
        return "urn:metriflow:problem:rate-limited";
    case 503:
        return "urn:metriflow:problem:unavailable";
    default:
        return "urn:metriflow:problem:internal";
    }
}

char *
mf_http_problem_json(int status, const char *title, const char *detail,
                     const char *field, const char *request_id)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "type", json_string(problem_type(status)));
    json_object_set_new(o, "title", json_string(title ? title : "Error"));
    json_object_set_new(o, "status", json_integer(status));
    json_object_set_new(o, "detail", json_string(detail ? detail : ""));
    if (field != NULL)
        json_object_set_new(o, "field", json_string(field));
    if (request_id != NULL)
        json_object_set_new(o, "request_id", json_string(request_id));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

void
mf_http_resp_problem(struct mf_http_resp *resp, int status, const char *title,
                     const char *detail, const char *field)
{
    char *s = mf_http_problem_json(status, title, detail, field, resp->req_id);
    resp_set(resp, status, "application/problem+json", s, s ? strlen(s) : 0);
}

void
mf_http_resp_header(struct mf_http_resp *resp, const char *name,
                    const char *value)
{
    if (resp->nh >= MAX_HEADERS)
        return;
    char *n = strdup(name), *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return;
    }
    resp->h[resp->nh][0] = n;
    resp->h[resp->nh][1] = v;
    resp->nh++;
}

int
mf_http_resp_status(const struct mf_http_resp *resp)
{
    return resp->status;
}

const char *
mf_http_resp_get_header(const struct mf_http_resp *resp, const char *name)
{
    for (int i = 0; i < resp->nh; i++)
        if (strcasecmp(resp->h[i][0], name) == 0)
            return resp->h[i][1];
    return NULL;
}

static void
resp_free(struct mf_http_resp *resp)
{
    free(resp->body);
    for (int i = 0; i < resp->nh; i++) {
        free(resp->h[i][0]);
        free(resp->h[i][1]);
    }
}

/* --- the request --------------------------------------------------------- */

const char *
mf_http_req_method(const struct mf_http_req *req)
{
    return req->method;
}

const char *
mf_http_req_path(const struct mf_http_req *req)
{
    return req->path;
}

const char *
mf_http_req_query(struct mf_http_req *req, const char *name)
{
    const char *v =
        MHD_lookup_connection_value(req->c, MHD_GET_ARGUMENT_KIND, name);
    if (v != NULL)
        return v;
    /* "?name" without '=' has a NULL value: tell it from absence. */
    return mf_http_req_query_count(req, name) > 0 ? "" : NULL;
}

struct count_arg {
    const char *name;
    int n;
};

static enum MHD_Result
count_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct count_arg *a = cls;
    if (key != NULL && strcmp(key, a->name) == 0)
        a->n++;
    return MHD_YES;
}

int
mf_http_req_query_count(struct mf_http_req *req, const char *name)
{
    struct count_arg a = {name, 0};
    MHD_get_connection_values(req->c, MHD_GET_ARGUMENT_KIND, count_cb, &a);
    return a.n;
}

struct each_arg {
    int (*fn)(const char *, const char *, void *);
    void *arg;
    int rc;
};

static enum MHD_Result
each_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct each_arg *a = cls;
    a->rc = a->fn(key ? key : "", value, a->arg);
    return a->rc == 0 ? MHD_YES : MHD_NO;
}

int
mf_http_req_query_each(struct mf_http_req *req,
                       int (*fn)(const char *, const char *, void *), void *arg)
{
    struct each_arg a = {fn, arg, 0};
    MHD_get_connection_values(req->c, MHD_GET_ARGUMENT_KIND, each_cb, &a);
    return a.rc;
}

const char *
mf_http_req_header(struct mf_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->c, MHD_HEADER_KIND, name);
}

const char *
mf_http_req_body(const struct mf_http_req *req, size_t *len)
{
    *len = req->len;
    return req->body ? req->body : "";
}

const char *
mf_http_req_client(const struct mf_http_req *req)
{
    return req->client;
}

const char *
mf_http_req_id(const struct mf_http_req *req)
{
    return req->id;
}

/* --- serving ------------------------------------------------------------- */

/* The policy and caching defaults give way to a handler's own (the
 * dashboard's files set both). */
static void
add_security_headers(struct MHD_Response *r, const struct mf_http_resp *resp)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (mf_http_resp_get_header(resp, "Content-Security-Policy") == NULL)
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; frame-ancestors 'none'");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    if (mf_http_resp_get_header(resp, "Cache-Control") == NULL)
        MHD_add_response_header(r, "Cache-Control", "no-store");
}

/* Queues resp on the connection and reports it through done. */
static enum MHD_Result
answer(struct mf_http_req *req, const struct mf_http_route *route,
       struct mf_http_resp *resp)
{
    if (resp->status == 0)
        mf_http_resp_problem(resp, 500, "Internal error",
                             "The request was not answered.", NULL);
    struct MHD_Response *r = MHD_create_response_from_buffer(
        resp->len, resp->body ? resp->body : (void *)"",
        resp->body ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    add_security_headers(r, resp);
    MHD_add_response_header(r, "X-Request-Id", req->id);
    if (resp->ctype != NULL)
        MHD_add_response_header(r, "Content-Type", resp->ctype);
    for (int i = 0; i < resp->nh; i++)
        MHD_add_response_header(r, resp->h[i][0], resp->h[i][1]);
    enum MHD_Result rc = MHD_queue_response(req->c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    req->answered = 1;

    struct mf_http *h = req->h;
    if (h->cfg.done != NULL)
        h->cfg.done(req, route, resp,
                    (mf_time_mono_ns() - req->start_ns) / 1000, h->cfg.user);
    return rc;
}

/* Finds the route; *allowed_other is set when only the method differs. */
static const struct mf_http_route *
find_route(const struct mf_http *h, const char *method, const char *path,
           const char **allowed_other)
{
    *allowed_other = NULL;
    for (size_t i = 0; i < h->cfg.nroutes; i++) {
        const struct mf_http_route *r = &h->cfg.routes[i];
        if (strcmp(r->path, path) != 0)
            continue;
        if (strcmp(r->method, method) == 0)
            return r;
        *allowed_other = r->method;
    }
    return NULL;
}

/* The whole body is in: route, handle, answer. */
static enum MHD_Result
dispatch(struct mf_http_req *req)
{
    struct mf_http *h = req->h;
    struct mf_http_resp resp = {0};
    resp.req_id = req->id;
    const char *allowed = NULL;
    const struct mf_http_route *route =
        find_route(h, req->method, req->path, &allowed);
    if (req->too_large) {
        mf_http_resp_problem(&resp, 413, "Request body too large",
                             "The request body is longer than allowed.", NULL);
    } else if (route == NULL && allowed != NULL) {
        mf_http_resp_problem(&resp, 405, "Method not allowed",
                             "This path does not accept that method.", NULL);
        mf_http_resp_header(&resp, "Allow", allowed);
    } else if (route == NULL) {
        mf_http_resp_problem(&resp, 404, "Not found",
                             "No route matches this path.", NULL);
    } else {
        h->cfg.handle(req, route, &resp, h->cfg.user);
    }
    if (req->start != NULL) {
        /* Deferred: keep what the handler wrote, suspend, and only then
         * let the work start, so its mf_http_resume always finds the
         * connection suspended. */
        req->resp = malloc(sizeof(*req->resp));
        if (req->resp == NULL) {
            req->start = NULL;
            mf_http_resp_problem(&resp, 500, "Internal error", "Out of memory.",
                                 NULL);
            req->cont(req, NULL, req->arg); /* lets the owner free arg */
        } else {
            *req->resp = resp;
            req->route = route;
            atomic_fetch_add(&h->deferred, 1);
            MHD_suspend_connection(req->c);
            req->start(req, req->arg);
            return MHD_YES;
        }
    }
    enum MHD_Result rc = answer(req, route, &resp);
    resp_free(&resp);
    return rc;
}

void
mf_http_defer(struct mf_http_req *req,
              void (*start)(struct mf_http_req *req, void *arg),
              void (*cont)(struct mf_http_req *req, struct mf_http_resp *resp,
                           void *arg),
              void *arg)
{
    req->start = start;
    req->cont = cont;
    req->arg = arg;
}

void
mf_http_resume(struct mf_http_req *req)
{
    MHD_resume_connection(req->c);
}

/* The second call for a deferred request, after mf_http_resume. */
static enum MHD_Result
finish_deferred(struct mf_http_req *req)
{
    struct mf_http_resp *resp = req->resp;
    req->resp = NULL;
    req->start = NULL;
    req->cont(req, resp, req->arg);
    enum MHD_Result rc = answer(req, req->route, resp);
    resp_free(resp);
    free(resp);
    atomic_fetch_sub(&req->h->deferred, 1);
    return rc;
}

/* Sets up the request on its first call; answers 413 at once when the
 * announced length is beyond the cap. */
static struct mf_http_req *
req_new(struct mf_http *h, struct MHD_Connection *c, const char *method,
        const char *url)
{
    struct mf_http_req *req = calloc(1, sizeof(*req));
    if (req == NULL)
        return NULL;
    req->h = h;
    req->c = c;
    req->method = method;
    req->path = url;
    req->start_ns = mf_time_mono_ns();
    unsigned long long n = atomic_fetch_add(&h->id_next, 1);
    snprintf(req->id, sizeof(req->id), "%08x%08llx", h->id_prefix,
             n & 0xffffffffULL);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(req->client, sizeof(req->client), "unknown");
    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
                      req->client, sizeof(req->client));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                      req->client, sizeof(req->client));
    }
    return req;
}

/* Appends a body chunk, or only counts it once past the cap. */
static void
body_add(struct mf_http_req *req, const char *data, size_t size)
{
    size_t max = req->h->cfg.max_body;
    if (req->too_large || size > max - req->len) {
        req->too_large = 1;
        return;
    }
    if (req->len + size + 1 > req->cap) {
        size_t cap = req->cap ? req->cap : 1024;
        while (cap < req->len + size + 1)
            cap *= 2;
        char *b = realloc(req->body, cap);
        if (b == NULL) {
            req->too_large = 1;
            return;
        }
        req->body = b;
        req->cap = cap;
    }
    memcpy(req->body + req->len, data, size);
    req->len += size;
    req->body[req->len] = '\0';
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_data_size, void **con_cls)
{
    struct mf_http *h = cls;
    struct mf_http_req *req = *con_cls;
    if (req == NULL) {
        req = req_new(h, c, method, url);
        if (req == NULL)
            return MHD_NO;
        *con_cls = req;
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl != NULL) {
            char *end;
            unsigned long long v = strtoull(cl, &end, 10);
            if (end == cl || *end != '\0' || v > h->cfg.max_body) {
                req->too_large = 1;
                return dispatch(req);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!req->answered)
            body_add(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->answered)
        return MHD_YES;
    if (req->resp != NULL)
        return finish_deferred(req);
    return dispatch(req);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct mf_http_req *req = *con_cls;
    if (req == NULL)
        return;
    free(req->body);
    free(req);
    *con_cls = NULL;
}

/* Parses "a.b.c.d:port" into sin. */
static int
parse_addr(const char *addr, struct sockaddr_in *sin)
{
    const char *colon = strrchr(addr, ':');
    char host[64];
    if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
        return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port < 0 || port > 65535)
        return -1;
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    if (host[0] == '\0' || strcmp(host, "*") == 0)
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
        return -1;
    return 0;
}

int
mf_http_start(const struct mf_http_config *cfg, struct mf_http **out, char *err,
              size_t errlen)
{
    struct sockaddr_in sin;
    if (cfg->threads < 1 || cfg->max_body < 1 || cfg->handle == NULL) {
        snprintf(err, errlen, "invalid server settings");
        return -1;
    }
    if (parse_addr(cfg->addr, &sin) != 0) {
        snprintf(err, errlen, "listen address must be IPv4 HOST:PORT");
        return -1;
    }
    struct mf_http *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->cfg = *cfg;
    if (getrandom(&h->id_prefix, sizeof(h->id_prefix), 0) < 0)
        h->id_prefix = (unsigned)getpid();

    h->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
            MHD_ALLOW_SUSPEND_RESUME,
        0, NULL, NULL, on_request, h, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(cfg->max_conn ? cfg->max_conn : 1024),
        MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(cfg->timeout_s ? cfg->timeout_s : 30),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sin, MHD_OPTION_END);
    if (h->d == NULL) {
        snprintf(err, errlen, "cannot listen on %.64s", cfg->addr);
        free(h);
        return -1;
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : 0;
    *out = h;
    return 0;
}

int
mf_http_port(const struct mf_http *h)
{
    return h->port;
}

void
mf_http_stop(struct mf_http *h, int wait_ms)
{
    if (h == NULL)
        return;
    MHD_socket fd = MHD_quiesce_daemon(h->d);
    for (int waited = 0; waited < wait_ms; waited += 20) {
        const union MHD_DaemonInfo *di =
            MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (di == NULL || di->num_connections == 0)
            break;
        mf_time_sleep_ms(20);
    }
    /* A deferred request's owner still holds it: stopping the daemon now
     * would free it under the owner's feet. Give them the same time
     * again; if one is still out, leave the daemon to the process exit. */
    for (int waited = 0; atomic_load(&h->deferred) > 0; waited += 20) {
        if (waited >= wait_ms)
            return;
        mf_time_sleep_ms(20);
    }
    MHD_stop_daemon(h->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    free(h);
}
