/*
 * The dashboard's files: a web root read once at start into memory and
 * served by URL path. Only regular files found under the root at start are
 * ever answered, so no request path can reach outside it; the lookup also
 * refuses any path with "..", "%", "\\", a hidden segment or a character
 * outside a small set. Every answer carries its content type, an ETag, a
 * Cache-Control and a Content-Security-Policy without 'unsafe-inline' for
 * scripts.
 *
 * URL layout: "/" and "/index.html" (index.html), "/docs" and "/docs/"
 * (docs.html), "/assets/<file>" (assets/<file>).
 */
#ifndef API_STATIC_H
#define API_STATIC_H

#include <stddef.h>

struct mf_static;

#define MF_STATIC_MAX_FILES  256         /* files under the web root */
#define MF_STATIC_MAX_FILE   (8u << 20)  /* bytes of one file */
#define MF_STATIC_MAX_TOTAL  (32u << 20) /* bytes of all files */
#define MF_STATIC_MAX_DEPTH  6           /* directory levels below the root */
#define MF_STATIC_MAX_HEADER 4           /* headers of one answer */

/* The option that names the web root (metriflow-api --web-root). */
#define MF_STATIC_OPT_WEB_ROOT                                                 \
    {                                                                          \
        "web-root", "METRIFLOW_WEB_ROOT", MF_OPT_STR, NULL, "DIR",             \
            "dashboard files (default: ../share/metriflow/web beside the "     \
            "binary, else /usr/local/share/metriflow/web)",                    \
            0, 0, 0, NULL, NULL, NULL, 0                                       \
    }

/* One answer. Strings and body belong to the mf_static (or are static)
 * and stay valid until mf_static_close. */
struct mf_static_answer {
    int status;        /* 200, 304 or 404 */
    const char *ctype; /* content type; NULL for 304 and 404 */
    const char *body;
    size_t len;
    const char *headers[MF_STATIC_MAX_HEADER][2]; /* name, value */
    size_t nheaders;
};

/*
 * The web root to use when none is configured: ../share/metriflow/web
 * relative to the running executable when that directory exists, else
 * /usr/local/share/metriflow/web. Writes it into buf (size n) and returns
 * buf, or NULL when it does not fit.
 */
const char *mf_static_default_root(char *buf, size_t n);

/*
 * Reads every servable file under root (regular files with a known
 * extension, not hidden; a symbolic link only when it resolves inside the
 * root). Returns 0 and *out (free with mf_static_close), or -1 with the
 * reason in err and *out unchanged: root missing or unreadable, more than
 * MF_STATIC_MAX_FILES files, a file or the total too large, no index.html.
 */
int mf_static_open(const char *root, struct mf_static **out, char *err,
                   size_t errlen);

/* Frees everything mf_static_open made. NULL allowed. */
void mf_static_close(struct mf_static *st);

/* The number of URL paths served, and the i-th (i < count), for a router
 * that matches exact paths. The strings live until mf_static_close. */
size_t mf_static_count(const struct mf_static *st);
const char *mf_static_url(const struct mf_static *st, size_t i);

/* The root directory as opened (resolved, absolute). */
const char *mf_static_root(const struct mf_static *st);

/*
 * Answers a GET of url_path (percent-decoded, no query string).
 * if_none_match is the request's If-None-Match header or NULL; a match
 * answers 304. An unknown or refused path answers 404 (with the headers).
 * Fills *a; never fails.
 */
void mf_static_lookup(const struct mf_static *st, const char *url_path,
                      const char *if_none_match, struct mf_static_answer *a);

/* 1 when url_path has a shape the lookup would even consider, else 0.
 * Exposed for tests. */
int mf_static_path_ok(const char *url_path);

/* --- metriflow-api's glue (static_http.c) ------------------------------ */

struct mf_http_route;
struct mf_http_req;
struct mf_http_resp;

/*
 * Opens the web root named by the option value (NULL: the default root).
 * A missing default root is not an error: *out is NULL and the API serves
 * no dashboard (logged as a warning); a configured root that cannot be
 * opened is (logged). Returns 0 or -1.
 */
int mf_static_start(const char *configured, struct mf_static **out);

/*
 * The router's table: the n routes of base followed by a GET route with
 * the given id for every URL of st (st may be NULL: base alone). Returns 0
 * and *out (free()) with *nout, or -1 when out of memory.
 */
int mf_static_routes(const struct mf_static *st,
                     const struct mf_http_route *base, size_t n, int id,
                     struct mf_http_route **out, size_t *nout);

/* Answers a routed GET from st's files, with the file's headers. */
void mf_static_respond(const struct mf_static *st, struct mf_http_req *req,
                       struct mf_http_resp *resp);

#endif
