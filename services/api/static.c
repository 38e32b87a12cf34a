/*
 * The dashboard's files, read once at start: a sorted table of URL path ->
 * file body, content type, ETag and caching rule. Requests never touch the
 * file system, so a request path cannot escape the root however it is
 * spelled; the path check in mf_static_path_ok is a second line.
 */
#include "static.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INSTALLED_ROOT "/usr/local/share/metriflow/web"
#define URL_MAX        512

/* One policy for every file, /docs included: scripts and styles only
 * from this origin, no inline script, no eval, no framing. */
#define CSP_DASHBOARD                                                          \
    "default-src 'none'; script-src 'self'; style-src 'self'; "                \
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "              \
    "manifest-src 'self'; base-uri 'none'; form-action 'self'; "               \
    "frame-ancestors 'none'"
#define CACHE_REVALIDATE "no-cache"
#define CACHE_VENDOR     "public, max-age=86400"

struct file {
    char url[URL_MAX];
    char *body;
    size_t len;
    const char *ctype;
    const char *cache;
    char etag[24]; /* "\"" 16 hex digits "\"" */
};

struct mf_static {
    char root[PATH_MAX];
    struct file *files; /* sorted by url */
    size_t nfiles;
    size_t total;
};

struct ctype {
    const char *ext;
    const char *type;
};

static const struct ctype ctypes[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
    {"LICENSE", "text/plain; charset=utf-8"},
};

static void fail(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;

    if (n == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

static const char *
content_type(const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++) {
        size_t el = strlen(ctypes[i].ext);
        if (len >= el && strcmp(name + len - el, ctypes[i].ext) == 0)
            return ctypes[i].type;
    }
    return NULL;
}

/* FNV-1a, 64 bits: a cheap fingerprint of the content for the ETag. */
static uint64_t
fingerprint(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

int
mf_static_path_ok(const char *p)
{
    size_t len;

    if (p == NULL || p[0] != '/')
        return 0;
    len = strlen(p);
    if (len >= URL_MAX || strstr(p, "..") != NULL)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    c == '.' || c == '/';
        if (!plain)
            return 0; /* '%', '\\', NUL-like, spaces, anything else */
        /* A segment may not start with '.' (covers "..", ".git") and
         * may not be empty ("//"), except the final "/" of "/docs/". */
        if (c == '/') {
            if (p[i + 1] == '.')
                return 0;
            if (p[i + 1] == '/')
                return 0;
        }
    }
    return 1;
}

/* The URL of file rel (relative to the root) into url (size n). Returns 0,
 * or -1 when the file is not served at a URL of its own or the URL would
 * not pass mf_static_path_ok (docs.html and index.html have fixed URLs). */
static int
url_of(const char *rel, char *url, size_t n)
{
    int len = -1;

    if (strcmp(rel, "index.html") == 0)
        len = snprintf(url, n, "/index.html");
    else if (strcmp(rel, "docs.html") == 0)
        len = snprintf(url, n, "/docs");
    else if (strncmp(rel, "assets/", 7) == 0)
        len = snprintf(url, n, "/%s", rel);
    if (len < 0 || (size_t)len >= n || !mf_static_path_ok(url))
        return -1;
    return 0;
}

/* Adds the file at url, taking over body. Returns 0, or -1 with err set
 * (body freed) when the table is full. */
static int
add_file(struct mf_static *st, const char *url, const char *rel, char *body,
         size_t len, char *err, size_t errlen)
{
    struct file *f;

    if (st->nfiles >= MF_STATIC_MAX_FILES) {
        free(body);
        fail(err, errlen, "more than %d files under the web root",
             MF_STATIC_MAX_FILES);
        return -1;
    }
    f = &st->files[st->nfiles++];
    memset(f, 0, sizeof *f);
    snprintf(f->url, sizeof f->url, "%s", url);
    f->body = body;
    f->len = len;
    f->ctype = content_type(rel);
    f->cache = strncmp(rel, "assets/vendor/", 14) == 0 ? CACHE_VENDOR
                                                       : CACHE_REVALIDATE;
    snprintf(f->etag, sizeof f->etag, "\"%016llx\"",
             (unsigned long long)fingerprint(body, len));
    return 0;
}

/* Reads the regular file at path (already resolved inside the root). */
static int
read_file(struct mf_static *st, const char *path, const char *rel, char **body,
          size_t *len, char *err, size_t errlen)
{
    struct stat sb;
    char *buf = NULL;
    size_t got = 0;
    int fd;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        fail(err, errlen, "cannot read web file %s: %s", rel, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size < 0 ||
        (uint64_t)sb.st_size > MF_STATIC_MAX_FILE) {
        fail(err, errlen,
             "web file %s is not a regular file of at most %u "
             "bytes",
             rel, MF_STATIC_MAX_FILE);
        goto fail;
    }
    if (st->total + (size_t)sb.st_size > MF_STATIC_MAX_TOTAL) {
        fail(err, errlen, "web files exceed %u bytes in all at %s",
             MF_STATIC_MAX_TOTAL, rel);
        goto fail;
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (buf == NULL) {
        fail(err, errlen, "out of memory reading web file %s", rel);
        goto fail;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fail(err, errlen, "cannot read web file %s: %s", rel,
                 r < 0 ? strerror(errno) : "file shrank");
            goto fail;
        }
        got += (size_t)r;
    }
    close(fd);
    st->total += got;
    *body = buf;
    *len = got;
    return 0;

fail:
    free(buf);
    if (fd >= 0)
        close(fd);
    return -1;
}

/* 1 when resolved is the root itself or lies below it. */
static int
inside_root(const struct mf_static *st, const char *resolved)
{
    size_t n = strlen(st->root);

    return strncmp(resolved, st->root, n) == 0 &&
           (resolved[n] == '/' || resolved[n] == '\0');
}

static int scan_dir(struct mf_static *st, const char *rel, int depth, char *err,
                    size_t errlen);

/* One directory entry: a file is read, a directory scanned; symbolic
 * links are followed only when they resolve inside the root. */
static int
scan_entry(struct mf_static *st, const char *rel, int depth, char *err,
           size_t errlen)
{
    char path[PATH_MAX], resolved[PATH_MAX], url[URL_MAX];
    struct stat sb;
    char *body;
    size_t len;

    if (snprintf(path, sizeof path, "%s/%s", st->root, rel) >= (int)sizeof path)
        return 0; /* too long to serve: skipped */
    if (realpath(path, resolved) == NULL || !inside_root(st, resolved))
        return 0; /* dangling or pointing outside the root */
    if (stat(resolved, &sb) != 0)
        return 0;
    if (S_ISDIR(sb.st_mode))
        return scan_dir(st, rel, depth + 1, err, errlen);
    if (!S_ISREG(sb.st_mode) || content_type(rel) == NULL ||
        url_of(rel, url, sizeof url) != 0)
        return 0; /* not served */
    if (read_file(st, resolved, rel, &body, &len, err, errlen) != 0)
        return -1;
    return add_file(st, url, rel, body, len, err, errlen);
}

static int
scan_dir(struct mf_static *st, const char *rel, int depth, char *err,
         size_t errlen)
{
    char path[PATH_MAX], child[PATH_MAX];
    struct dirent *de;
    DIR *d;
    int rc = 0;

    if (depth > MF_STATIC_MAX_DEPTH)
        return 0;
    int n =
        snprintf(path, sizeof path, "%s%s%s", st->root, rel[0] ? "/" : "", rel);
    if (n < 0 || (size_t)n >= sizeof path) {
        fail(err, errlen, "web directory path too long: %s", rel);
        return -1;
    }
    d = opendir(path);
    if (d == NULL) {
        fail(err, errlen, "cannot open web directory %s: %s", path,
             strerror(errno));
        return -1;
    }
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", hidden files */
        if (snprintf(child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "",
                     de->d_name) >= (int)sizeof child)
            continue;
        rc = scan_entry(st, child, depth, err, errlen);
    }
    closedir(d);
    return rc;
}

static int
by_url(const void *a, const void *b)
{
    return strcmp(((const struct file *)a)->url, ((const struct file *)b)->url);
}

static const struct file *
find(const struct mf_static *st, const char *url)
{
    struct file key;

    if (snprintf(key.url, sizeof key.url, "%s", url) >= (int)sizeof key.url)
        return NULL;
    return bsearch(&key, st->files, st->nfiles, sizeof *st->files, by_url);
}

int
mf_static_open(const char *root, struct mf_static **out, char *err,
               size_t errlen)
{
    struct mf_static *st;

    st = calloc(1, sizeof *st);
    if (st == NULL) {
        fail(err, errlen, "out of memory");
        return -1;
    }
    st->files = calloc(MF_STATIC_MAX_FILES, sizeof *st->files);
    if (st->files == NULL) {
        fail(err, errlen, "out of memory");
        goto fail;
    }
    if (realpath(root, st->root) == NULL) {
        fail(err, errlen, "web root %s: %s", root, strerror(errno));
        goto fail;
    }
    if (scan_dir(st, "", 0, err, errlen) != 0)
        goto fail;
    qsort(st->files, st->nfiles, sizeof *st->files, by_url);
    if (find(st, "/index.html") == NULL) {
        fail(err, errlen, "web root %s has no index.html", st->root);
        goto fail;
    }
    *out = st;
    return 0;

fail:
    mf_static_close(st);
    return -1;
}

void
mf_static_close(struct mf_static *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->nfiles; i++)
        free(st->files[i].body);
    free(st->files);
    free(st);
}

/* The extra URLs: "/" serves index.html, "/docs/" serves docs.html. */
static const char *const aliases[][2] = {
    {"/", "/index.html"},
    {"/docs/", "/docs"},
};
#define NALIASES (sizeof(aliases) / sizeof(aliases[0]))

size_t
mf_static_count(const struct mf_static *st)
{
    return st->nfiles + NALIASES;
}

const char *
mf_static_url(const struct mf_static *st, size_t i)
{
    if (i < st->nfiles)
        return st->files[i].url;
    if (i - st->nfiles < NALIASES)
        return aliases[i - st->nfiles][0];
    return NULL;
}

const char *
mf_static_root(const struct mf_static *st)
{
    return st->root;
}

/* 1 when the If-None-Match list names etag (or is "*"). */
static int
etag_matches(const char *header, const char *etag)
{
    size_t n = strlen(etag);
    const char *p = header;

    if (header == NULL)
        return 0;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, n) == 0 &&
            (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return 1;
        while (*p != '\0' && *p != ',')
            p++;
    }
    return 0;
}

static void
header(struct mf_static_answer *a, const char *name, const char *value)
{
    if (a->nheaders >= MF_STATIC_MAX_HEADER)
        return;
    a->headers[a->nheaders][0] = name;
    a->headers[a->nheaders][1] = value;
    a->nheaders++;
}

void
mf_static_lookup(const struct mf_static *st, const char *url_path,
                 const char *if_none_match, struct mf_static_answer *a)
{
    const struct file *f = NULL;

    memset(a, 0, sizeof *a);
    if (mf_static_path_ok(url_path)) {
        for (size_t i = 0; i < NALIASES; i++)
            if (strcmp(url_path, aliases[i][0]) == 0)
                url_path = aliases[i][1];
        f = find(st, url_path);
    }
    if (f == NULL) {
        a->status = 404;
        header(a, "Content-Security-Policy", CSP_DASHBOARD);
        header(a, "Cache-Control", "no-store");
        return;
    }
    header(a, "Content-Security-Policy", CSP_DASHBOARD);
    header(a, "Cache-Control", f->cache);
    header(a, "ETag", f->etag);
    if (etag_matches(if_none_match, f->etag)) {
        a->status = 304;
        return;
    }
    a->status = 200;
    a->ctype = f->ctype;
    a->body = f->body;
    a->len = f->len;
}

const char *
mf_static_default_root(char *buf, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len;
    char *slash;
    struct stat sb;

    len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            if (snprintf(buf, n, "%s/../share/metriflow/web", exe) < (int)n &&
                stat(buf, &sb) == 0 && S_ISDIR(sb.st_mode))
                return buf;
        }
    }
    if (snprintf(buf, n, "%s", INSTALLED_ROOT) >= (int)n)
        return NULL;
    return buf;
}
