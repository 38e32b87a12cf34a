/* Unit tests of services/api/static.c on a web root made in a temporary
 * directory: URL layout, content types, caching, CSP, traversal refusals
 * and symbolic links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "static.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[PATH_MAX];
static char outside[PATH_MAX];

static void
put(const char *rel, const char *text)
{
    char path[PATH_MAX + 64];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", root, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
link_to(const char *target, const char *rel)
{
    char path[PATH_MAX + 64];

    snprintf(path, sizeof path, "%s/%s", root, rel);
    assert_int_equal(symlink(target, path), 0);
}

static void
sub(const char *rel)
{
    char path[PATH_MAX + 64];

    snprintf(path, sizeof path, "%s/%s", root, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}

static int
make_root(void **state)
{
    char tmpl[] = "/tmp/mf_static_XXXXXX";
    char secret[PATH_MAX + 16];
    FILE *f;

    assert_non_null(mkdtemp(tmpl));
    snprintf(root, sizeof root, "%s/web", tmpl);
    snprintf(outside, sizeof outside, "%s/secret.js", tmpl);
    assert_int_equal(mkdir(root, 0755), 0);
    f = fopen(outside, "w");
    assert_non_null(f);
    fputs("secret", f);
    fclose(f);

    put("index.html", "<!doctype html><title>x</title>");
    put("docs.html", "<!doctype html><title>docs</title>");
    put("notes.txt", "not under assets: not served");
    sub("assets");
    sub("assets/vendor");
    put("assets/app.js", "export const a = 1;\n");
    put("assets/style.css", "body{}\n");
    put("assets/icon.svg", "<svg/>");
    put("assets/vendor/chart.min.js", "/* chart */");
    put("assets/.hidden.js", "hidden");
    put("assets/run.php", "<?php");
    snprintf(secret, sizeof secret, "%s", outside);
    link_to(secret, "assets/out.js");
    link_to("../index.html", "assets/in.js");
    link_to("/etc", "assets/etc");
    *state = NULL;
    return 0;
}

static int
remove_root(void **state)
{
    char cmd[PATH_MAX + 32];
    char *slash = strrchr(root, '/');

    (void)state;
    *slash = '\0'; /* the mkdtemp directory above the web root */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *
hdr(const struct mf_static_answer *a, const char *name)
{
    for (size_t i = 0; i < a->nheaders; i++)
        if (strcmp(a->headers[i][0], name) == 0)
            return a->headers[i][1];
    return NULL;
}

static struct mf_static *
open_root(void)
{
    struct mf_static *st = NULL;
    char err[256] = "";

    assert_int_equal(mf_static_open(root, &st, err, sizeof err), 0);
    assert_non_null(st);
    return st;
}

static void
serves_layout_with_types(void **state)
{
    struct mf_static *st = open_root();
    struct mf_static_answer a;

    (void)state;
    mf_static_lookup(st, "/", NULL, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.ctype, "text/html; charset=utf-8");
    assert_memory_equal(a.body, "<!doctype html>", 15);

    mf_static_lookup(st, "/index.html", NULL, &a);
    assert_int_equal(a.status, 200);
    mf_static_lookup(st, "/docs", NULL, &a);
    assert_int_equal(a.status, 200);
    assert_memory_equal(a.body, "<!doctype html><title>docs", 26);
    mf_static_lookup(st, "/docs/", NULL, &a);
    assert_int_equal(a.status, 200);

    mf_static_lookup(st, "/assets/app.js", NULL, &a);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.ctype, "text/javascript; charset=utf-8");
    assert_int_equal(a.len, strlen("export const a = 1;\n"));
    mf_static_lookup(st, "/assets/style.css", NULL, &a);
    assert_string_equal(a.ctype, "text/css; charset=utf-8");
    mf_static_lookup(st, "/assets/icon.svg", NULL, &a);
    assert_string_equal(a.ctype, "image/svg+xml");

    /* Only the fixed names and assets/ are served. */
    mf_static_lookup(st, "/notes.txt", NULL, &a);
    assert_int_equal(a.status, 404);
    mf_static_lookup(st, "/docs.html", NULL, &a);
    assert_int_equal(a.status, 404);
    mf_static_lookup(st, "/assets/run.php", NULL, &a);
    assert_int_equal(a.status, 404);
    mf_static_close(st);
}

static void
lists_urls_for_exact_routing(void **state)
{
    struct mf_static *st = open_root();
    int seen_root = 0, seen_app = 0, seen_docs_slash = 0;

    (void)state;
    for (size_t i = 0; i < mf_static_count(st); i++) {
        const char *u = mf_static_url(st, i);
        assert_non_null(u);
        seen_root += strcmp(u, "/") == 0;
        seen_app += strcmp(u, "/assets/app.js") == 0;
        seen_docs_slash += strcmp(u, "/docs/") == 0;
        assert_null(strstr(u, "hidden"));
        assert_null(strstr(u, "out.js"));
    }
    assert_int_equal(seen_root, 1);
    assert_int_equal(seen_app, 1);
    assert_int_equal(seen_docs_slash, 1);
    assert_null(mf_static_url(st, mf_static_count(st)));
    mf_static_close(st);
}

static void
refuses_traversal_and_outside_links(void **state)
{
    struct mf_static *st = open_root();
    struct mf_static_answer a;
    const char *bad[] = {
        "/assets/../index.html",
        "/assets/%2e%2e/index.html",
        "/assets/..%2findex.html",
        "/assets/.hidden.js",
        "/assets//app.js",
        "/assets\\app.js",
        "/../web/index.html",
        "/assets/out.js",
        "/assets/etc/passwd",
        "assets/app.js",
        "/assets/app.js ",
        "/assets/app.js%00",
        "",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mf_static_lookup(st, bad[i], NULL, &a);
        assert_int_equal(a.status, 404);
        assert_null(a.body);
        assert_non_null(hdr(&a, "Content-Security-Policy"));
    }
    mf_static_lookup(st, NULL, NULL, &a);
    assert_int_equal(a.status, 404);
    /* A link that stays inside the root is served. */
    mf_static_lookup(st, "/assets/in.js", NULL, &a);
    assert_int_equal(a.status, 200);
    mf_static_close(st);
}

static void
path_shapes(void **state)
{
    (void)state;
    assert_true(mf_static_path_ok("/"));
    assert_true(mf_static_path_ok("/docs/"));
    assert_true(mf_static_path_ok("/assets/vendor/swagger-ui/x.css"));
    assert_false(mf_static_path_ok("/a/../b"));
    assert_false(mf_static_path_ok("/a/b.."));
    assert_false(mf_static_path_ok("/a/%2e"));
    assert_false(mf_static_path_ok("/a/.git/config"));
    assert_false(mf_static_path_ok("//etc/passwd"));
    assert_false(mf_static_path_ok("/a b"));
    assert_false(mf_static_path_ok("/caf\xc3\xa9"));
    assert_false(mf_static_path_ok("relative"));
}

static void
caching_and_policy(void **state)
{
    struct mf_static *st = open_root();
    struct mf_static_answer a, b;
    char inm[64];
    const char *csp;

    (void)state;
    mf_static_lookup(st, "/assets/app.js", NULL, &a);
    assert_string_equal(hdr(&a, "Cache-Control"), "no-cache");
    assert_non_null(hdr(&a, "ETag"));
    csp = hdr(&a, "Content-Security-Policy");
    assert_non_null(strstr(csp, "script-src 'self';"));
    assert_null(strstr(csp, "unsafe"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));

    snprintf(inm, sizeof inm, "\"other\", %s", hdr(&a, "ETag"));
    mf_static_lookup(st, "/assets/app.js", inm, &b);
    assert_int_equal(b.status, 304);
    assert_null(b.body);
    assert_string_equal(hdr(&b, "ETag"), hdr(&a, "ETag"));
    mf_static_lookup(st, "/assets/app.js", "\"0000000000000000\"", &b);
    assert_int_equal(b.status, 200);

    mf_static_lookup(st, "/assets/vendor/chart.min.js", NULL, &a);
    assert_string_equal(hdr(&a, "Cache-Control"), "public, max-age=86400");

    /* /docs (Swagger UI) runs under the same strict policy. */
    mf_static_lookup(st, "/docs", NULL, &a);
    csp = hdr(&a, "Content-Security-Policy");
    assert_non_null(strstr(csp, "script-src 'self';"));
    assert_non_null(strstr(csp, "style-src 'self';"));
    assert_null(strstr(csp, "unsafe"));
    mf_static_close(st);
}

static void
open_failures_leave_out_unchanged(void **state)
{
    struct mf_static *st = (struct mf_static *)0x1;
    char err[256] = "";
    char path[PATH_MAX + 16];

    (void)state;
    assert_int_equal(mf_static_open("/nonexistent/web", &st, err, sizeof err),
                     -1);
    assert_ptr_equal(st, (struct mf_static *)0x1);
    assert_non_null(strstr(err, "/nonexistent/web"));

    /* A root without index.html. */
    snprintf(path, sizeof path, "%s/assets", root);
    assert_int_equal(mf_static_open(path, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "index.html"));
    assert_ptr_equal(st, (struct mf_static *)0x1);
}

/* A second root under the first one's temporary directory. */
static void
make_other(const char *name, char *other, size_t n)
{
    char path[PATH_MAX + 64];
    FILE *f;

    int len = snprintf(other, n, "%s/../%s", root, name);
    assert_true(len > 0 && (size_t)len < n);
    assert_int_equal(mkdir(other, 0755), 0);
    snprintf(path, sizeof path, "%s/index.html", other);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/assets", other);
    assert_int_equal(mkdir(path, 0755), 0);
}

static void
limits_are_reported(void **state)
{
    struct mf_static *st = NULL;
    char other[PATH_MAX], path[PATH_MAX + 64], err[256] = "";
    FILE *f;

    (void)state;
    /* One file over the size cap (sparse, so cheap to make). */
    make_other("big", other, sizeof other);
    snprintf(path, sizeof path, "%s/assets/big.js", other);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (off_t)MF_STATIC_MAX_FILE + 1), 0);
    fclose(f);
    assert_int_equal(mf_static_open(other, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "big.js"));
    assert_null(st);

    /* More files than the table holds. */
    make_other("many", other, sizeof other);
    for (int i = 0; i < MF_STATIC_MAX_FILES + 1; i++) {
        snprintf(path, sizeof path, "%s/assets/f%03d.js", other, i);
        f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
    }
    assert_int_equal(mf_static_open(other, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than"));
    assert_null(st);
}

static void
default_root_is_a_path(void **state)
{
    char buf[PATH_MAX];
    char tiny[8];

    (void)state;
    assert_non_null(mf_static_default_root(buf, sizeof buf));
    assert_non_null(strstr(buf, "share/metriflow/web"));
    assert_null(mf_static_default_root(tiny, sizeof tiny));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serves_layout_with_types),
        cmocka_unit_test(lists_urls_for_exact_routing),
        cmocka_unit_test(refuses_traversal_and_outside_links),
        cmocka_unit_test(path_shapes),
        cmocka_unit_test(caching_and_policy),
        cmocka_unit_test(open_failures_leave_out_unchanged),
        cmocka_unit_test(limits_are_reported),
        cmocka_unit_test(default_root_is_a_path),
    };

    return cmocka_run_group_tests(tests, make_root, remove_root);
}
