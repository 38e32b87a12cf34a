/*
 * mf_http: the only place that calls libmicrohttpd. An HTTP/1.1 server
 * with a thread pool on epoll, a route table matched on exact paths,
 * request bodies read up to a fixed cap (413 as early as possible), JSON
 * and RFC 9457 problem answers, security headers and a request id on
 * every answer, and a stop that first stops accepting, then lets the
 * requests in hand finish.
 *
 * Handlers run on the pool's threads, several at once.
 */
#ifndef MF_HTTP_H
#define MF_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct mf_http;
struct mf_http_req;
struct mf_http_resp;

/* One routed path. id is the application's, e.g. an index in its tables. */
struct mf_http_route {
    const char *method; /* "GET", "POST" */
    const char *path;   /* exact, e.g. "/api/v1/reports/range" */
    int id;
};

/*
 * handle is called for a request whose method and path matched route, on
 * a pool thread, once the whole body has been read; it fills resp (an
 * untouched resp answers 500). done is called after every answer, routed
 * or not (404, 405, 413), with the time from the first byte of the
 * request to the answer being queued; route is NULL when none matched.
 */
struct mf_http_config {
    const char *addr;  /* "127.0.0.1:8080"; port 0 picks a free port */
    unsigned threads;  /* pool size, >= 1 */
    size_t max_body;   /* bytes; a longer body answers 413 */
    unsigned max_conn; /* concurrent connections */
    unsigned timeout_s;
    const struct mf_http_route *routes;
    size_t nroutes;
    void (*handle)(struct mf_http_req *req, const struct mf_http_route *route,
                   struct mf_http_resp *resp, void *user);
    void (*done)(struct mf_http_req *req, const struct mf_http_route *route,
                 const struct mf_http_resp *resp, int64_t usec, void *user);
    void *user;
};

/*
 * Starts listening and serving. cfg->routes must outlive the server.
 * Returns 0 and *out, or -1 with the reason in err and *out unchanged.
 */
int mf_http_start(const struct mf_http_config *cfg, struct mf_http **out,
                  char *err, size_t errlen);

/* The port actually bound. */
int mf_http_port(const struct mf_http *h);

/*
 * Stops accepting connections, waits up to wait_ms for open connections
 * to finish, then stops the threads and frees the server. NULL allowed.
 */
void mf_http_stop(struct mf_http *h, int wait_ms);

/* --- the request (valid during handle and done) ---------------------- */

const char *mf_http_req_method(const struct mf_http_req *req);
/* The path, percent-decoded, without the query string. */
const char *mf_http_req_path(const struct mf_http_req *req);
/* The first value of query parameter name (decoded), "" for "?name", or
 * NULL when absent. */
const char *mf_http_req_query(struct mf_http_req *req, const char *name);
/* How many times query parameter name appears. */
int mf_http_req_query_count(struct mf_http_req *req, const char *name);
/*
 * Calls fn for every query parameter in order (value NULL for "?name");
 * stops and returns fn's value when it is non-zero, else 0.
 */
int mf_http_req_query_each(struct mf_http_req *req,
                           int (*fn)(const char *name, const char *value,
                                     void *arg),
                           void *arg);
/* A request header (case-insensitive name), or NULL. */
const char *mf_http_req_header(struct mf_http_req *req, const char *name);
/* The body read so far (NUL-terminated; length in *len). */
const char *mf_http_req_body(const struct mf_http_req *req, size_t *len);
/* The client's address as text ("127.0.0.1"). */
const char *mf_http_req_client(const struct mf_http_req *req);
/* This request's id (also sent as X-Request-Id). */
const char *mf_http_req_id(const struct mf_http_req *req);

/*
 * Deferral, for a handler whose answer waits on work done elsewhere. The
 * handler calls mf_http_defer and returns; the connection is then
 * suspended (its pool thread serves the others) and start(req, arg) is
 * called once, on that thread. Whoever does the work calls
 * mf_http_resume(req) from any thread when it is done, and must not touch
 * req after that; cont(req, resp, arg) then runs on a pool thread with the
 * answer the handler had begun (its headers kept) and finishes it. cont
 * owns arg from then on. With resp NULL, cont is only told to free arg
 * (the deferral failed; the request is answered 500).
 */
void mf_http_defer(struct mf_http_req *req,
                   void (*start)(struct mf_http_req *req, void *arg),
                   void (*cont)(struct mf_http_req *req,
                                struct mf_http_resp *resp, void *arg),
                   void *arg);
void mf_http_resume(struct mf_http_req *req);

/* --- the answer ------------------------------------------------------- */

/* Answers with json (the reference is taken), compact, reals with 12
 * significant digits. json NULL answers 500. */
void mf_http_resp_json(struct mf_http_resp *resp, int status, json_t *json);

/* Answers with body (copied) of content type ctype. */
void mf_http_resp_text(struct mf_http_resp *resp, int status, const char *ctype,
                       const char *body, size_t len);

/* Answers with a body taken over (freed with free()) as is. */
void mf_http_resp_take(struct mf_http_resp *resp, int status, const char *ctype,
                       char *body, size_t len);

/* Answers with no body (204). */
void mf_http_resp_empty(struct mf_http_resp *resp, int status);

/*
 * Answers with an RFC 9457 problem: type derived from status, title,
 * detail, field (the parameter at fault; NULL when none) and the request
 * id. Strings are copied.
 */
void mf_http_resp_problem(struct mf_http_resp *resp, int status,
                          const char *title, const char *detail,
                          const char *field);

/* Adds a header (both strings copied; at most 16 per answer). */
void mf_http_resp_header(struct mf_http_resp *resp, const char *name,
                         const char *value);

/* The status set so far (0 when none). */
int mf_http_resp_status(const struct mf_http_resp *resp);

/* A header set on the answer, or NULL. */
const char *mf_http_resp_get_header(const struct mf_http_resp *resp,
                                    const char *name);

/*
 * Builds the problem document of mf_http_resp_problem as a new string
 * (free()); exposed for tests. Returns NULL when out of memory.
 */
char *mf_http_problem_json(int status, const char *title, const char *detail,
                           const char *field, const char *request_id);

#endif
