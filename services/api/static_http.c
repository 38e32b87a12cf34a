/*
 * The dashboard's files behind mf_http: the route table that names every
 * file's URL exactly (mf_http matches exact paths) and the answer.
 */
#include "mf_http.h"
#include "mf_log.h"
#include "static.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int
mf_static_start(const char *configured, struct mf_static **out)
{
    char def[PATH_MAX], err[512];
    const char *root = configured;
    struct stat sb;

    *out = NULL;
    if (root == NULL) {
        root = mf_static_default_root(def, sizeof def);
        if (root == NULL || stat(root, &sb) != 0) {
            mf_warn("no dashboard: the web root does not exist",
                    "root=\"%s\" hint=\"set --web-root\"", root ? root : "-");
            return 0;
        }
    }
    if (mf_static_open(root, out, err, sizeof err) != 0) {
        mf_error("cannot load the dashboard's files", "reason=\"%s\"", err);
        return -1;
    }
    mf_info("dashboard files loaded", "root=\"%s\" urls=%zu",
            mf_static_root(*out), mf_static_count(*out));
    return 0;
}

int
mf_static_routes(const struct mf_static *st, const struct mf_http_route *base,
                 size_t n, int id, struct mf_http_route **out, size_t *nout)
{
    size_t extra = st ? mf_static_count(st) : 0;
    struct mf_http_route *r;

    r = calloc(n + extra, sizeof *r);
    if (r == NULL)
        return -1;
    memcpy(r, base, n * sizeof *r);
    for (size_t i = 0; i < extra; i++) {
        r[n + i].method = "GET";
        r[n + i].path = mf_static_url(st, i);
        r[n + i].id = id;
    }
    *out = r;
    *nout = n + extra;
    return 0;
}

void
mf_static_respond(const struct mf_static *st, struct mf_http_req *req,
                  struct mf_http_resp *resp)
{
    struct mf_static_answer a;

    mf_static_lookup(st, mf_http_req_path(req),
                     mf_http_req_header(req, "If-None-Match"), &a);
    if (a.status == 200)
        mf_http_resp_text(resp, 200, a.ctype, a.body, a.len);
    else if (a.status == 304)
        mf_http_resp_empty(resp, 304);
    else
        mf_http_resp_problem(resp, 404, "Not found", "There is no such file.",
                             NULL);
    for (size_t i = 0; i < a.nheaders; i++)
        mf_http_resp_header(resp, a.headers[i][0], a.headers[i][1]);
}
