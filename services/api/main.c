/* metriflow-api: the reporting API server. */
#include "api.h"

#include "mf_auth.h"
#include "mf_config.h"
#include "mf_log.h"
#include "mf_sig.h"
#include "mf_time.h"
#include "static.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct api api_g;
static struct mf_static *web; /* the dashboard's files; NULL: none */

enum auth_mode { AUTH_NONE, AUTH_REQUIRED, AUTH_OPTIONAL };
enum limit_mode { LIMIT_NONE, LIMIT_ADDRESS, LIMIT_USER };

const struct mf_http_route api_routes[R_COUNT] = {
    [R_HEALTHZ] = {"GET", "/healthz", R_HEALTHZ},
    [R_READYZ] = {"GET", "/readyz", R_READYZ},
    [R_METRICS] = {"GET", "/metrics", R_METRICS},
    [R_OPENAPI] = {"GET", "/openapi.json", R_OPENAPI},
    [R_REGISTER] = {"POST", "/api/v1/auth/register", R_REGISTER},
    [R_LOGIN] = {"POST", "/api/v1/auth/login", R_LOGIN},
    [R_REFRESH] = {"POST", "/api/v1/auth/refresh", R_REFRESH},
    [R_LOGOUT] = {"POST", "/api/v1/auth/logout", R_LOGOUT},
    [R_PIPELINE] = {"GET", "/api/v1/pipeline", R_PIPELINE},
    [R_PAGES] = {"GET", "/api/v1/pages", R_PAGES},
    [R_HOURLY] = {"GET", "/api/v1/reports/hourly", R_HOURLY},
    [R_INTERVALS] = {"GET", "/api/v1/reports/intervals", R_INTERVALS},
    [R_DAILY] = {"GET", "/api/v1/reports/daily", R_DAILY},
    [R_MONTHLY] = {"GET", "/api/v1/reports/monthly", R_MONTHLY},
    [R_YEARLY] = {"GET", "/api/v1/reports/yearly", R_YEARLY},
    [R_RANGE] = {"GET", "/api/v1/reports/range", R_RANGE},
    [R_TOP_PAGES] = {"GET", "/api/v1/reports/pages", R_TOP_PAGES},
    [R_SUMMARY] = {"GET", "/api/v1/reports/summary", R_SUMMARY},
};

/* What each route needs before its handler runs. */
static const struct {
    api_handler fn;
    enum auth_mode auth;
    enum limit_mode limit;
} route_rules[R_COUNT] = {
    [R_HEALTHZ] = {api_healthz, AUTH_NONE, LIMIT_NONE},
    [R_READYZ] = {api_readyz, AUTH_NONE, LIMIT_NONE},
    [R_METRICS] = {api_metrics, AUTH_NONE, LIMIT_NONE},
    [R_OPENAPI] = {api_openapi, AUTH_NONE, LIMIT_NONE},
    [R_REGISTER] = {api_register, AUTH_OPTIONAL, LIMIT_ADDRESS},
    [R_LOGIN] = {api_login, AUTH_NONE, LIMIT_ADDRESS},
    [R_REFRESH] = {api_refresh, AUTH_NONE, LIMIT_ADDRESS},
    [R_LOGOUT] = {api_logout, AUTH_REQUIRED, LIMIT_ADDRESS},
    [R_PIPELINE] = {api_pipeline, AUTH_REQUIRED, LIMIT_USER},
    [R_PAGES] = {api_pages, AUTH_REQUIRED, LIMIT_USER},
    [R_HOURLY] = {api_hourly, AUTH_REQUIRED, LIMIT_USER},
    [R_INTERVALS] = {api_intervals, AUTH_REQUIRED, LIMIT_USER},
    [R_DAILY] = {api_daily, AUTH_REQUIRED, LIMIT_USER},
    [R_MONTHLY] = {api_monthly, AUTH_REQUIRED, LIMIT_USER},
    [R_YEARLY] = {api_yearly, AUTH_REQUIRED, LIMIT_USER},
    [R_RANGE] = {api_range, AUTH_REQUIRED, LIMIT_USER},
    [R_TOP_PAGES] = {api_top_pages, AUTH_REQUIRED, LIMIT_USER},
    [R_SUMMARY] = {api_summary, AUTH_REQUIRED, LIMIT_USER},
};

static struct mf_opt opts[] = {
    MF_OPT_PG_URL,
    MF_OPT_REDIS_URL,
    MF_OPT_HTTP_ADDR,
    MF_OPT_JWT_SECRET,
    MF_OPT_REGISTRATION,
    MF_OPT_LOG,
    MF_STATIC_OPT_WEB_ROOT,
    {"threads", "METRIFLOW_API_THREADS", MF_OPT_INT, "4", "N",
     "HTTP worker threads (each with its own PostgreSQL connection)", 0, 1, 64,
     NULL, NULL, NULL, 0},
    {"max-body", "METRIFLOW_API_MAX_BODY", MF_OPT_INT, "16384", "BYTES",
     "largest request body accepted (413 beyond)", 0, 256, 1048576, NULL, NULL,
     NULL, 0},
    {"jwt-ttl", "METRIFLOW_JWT_TTL", MF_OPT_INT, "900", "SECONDS",
     "access token lifetime", 0, 30, 86400, NULL, NULL, NULL, 0},
    {"jwt-issuer", "METRIFLOW_JWT_ISSUER", MF_OPT_STR, "metriflow", "ISS",
     "issuer written into and required of access tokens", 0, 0, 0, NULL, NULL,
     NULL, 0},
    {"jwt-audience", "METRIFLOW_JWT_AUDIENCE", MF_OPT_STR, "metriflow-api",
     "AUD", "audience written into and required of access tokens", 0, 0, 0,
     NULL, NULL, NULL, 0},
    {"refresh-ttl", "METRIFLOW_REFRESH_TTL", MF_OPT_INT, "2592000", "SECONDS",
     "refresh token lifetime", 0, 60, 31622400, NULL, NULL, NULL, 0},
    {"rate-user", "METRIFLOW_RATE_USER", MF_OPT_NUM, "20", "PER_S",
     "tokens per second of each user's bucket", 0, 0.001, 1e7, NULL, NULL, NULL,
     0},
    {"burst-user", "METRIFLOW_BURST_USER", MF_OPT_INT, "200", "N",
     "capacity of each user's bucket", 0, 1, 1e9, NULL, NULL, NULL, 0},
    {"rate-auth", "METRIFLOW_RATE_AUTH", MF_OPT_NUM, "0.2", "PER_S",
     "tokens per second of each client address's bucket on /auth/*", 0, 0.001,
     1e7, NULL, NULL, NULL, 0},
    {"burst-auth", "METRIFLOW_BURST_AUTH", MF_OPT_INT, "10", "N",
     "capacity of each client address's bucket on /auth/*", 0, 1, 1e9, NULL,
     NULL, NULL, 0},
    {"rate-lease", "METRIFLOW_RATE_LEASE", MF_OPT_INT, "0", "N",
     "tokens this process takes from a user's Redis bucket per call and "
     "spends locally (1: ask Redis on every request; 0: burst/20, at most "
     "100; /auth/* buckets always ask)",
     0, 0, 10000, NULL, NULL, NULL, 0},
    {"redis-prefix", "METRIFLOW_REDIS_PREFIX", MF_OPT_STR, "mf:", "TEXT",
     "prefix of every Redis key (cache and rate limits)", 0, 0, 0, NULL, NULL,
     NULL, 0},
    {"no-cache", "METRIFLOW_API_NO_CACHE", MF_OPT_FLAG, "0", NULL,
     "do not cache /reports/range answers in Redis", 0, 0, 0, NULL, NULL, NULL,
     0},
    {"local-cache", "METRIFLOW_API_LOCAL_CACHE", MF_OPT_INT, "1024", "N",
     "range answers also kept in this process, in front of Redis (0: none)", 0,
     0, 1048576, NULL, NULL, NULL, 0},
    {"cache-ttl", "METRIFLOW_API_CACHE_TTL", MF_OPT_INT, "86400", "SECONDS",
     "lifetime of a cached range answer", 0, 1, 31622400, NULL, NULL, NULL, 0},
    {"hash-concurrency", "METRIFLOW_API_HASHES", MF_OPT_INT, "2", "N",
     "password hashes computed at once (64 MiB each)", 0, 1, 64, NULL, NULL,
     NULL, 0},
    {"list-routes", NULL, MF_OPT_FLAG, "0", NULL,
     "print the routed METHOD PATH pairs and exit", 0, 0, 0, NULL, NULL, NULL,
     0},
};

void
api_bad_request(struct mf_http_resp *resp, const struct api_err *err)
{
    mf_http_resp_problem(resp, 400, "Invalid request", err->detail, err->field);
}

void
api_db_unavailable(struct mf_http_resp *resp)
{
    mf_http_resp_problem(resp, 503, "Database unavailable",
                         "The database did not answer; try again shortly.",
                         NULL);
}

void
api_redis_state(int ok)
{
    if (!ok && atomic_exchange(&api_g.redis_warned, 1) == 0)
        mf_warn("Redis unavailable: answering uncached, rate limits kept in "
                "this process",
                NULL);
    else if (ok && atomic_exchange(&api_g.redis_warned, 0) == 1)
        mf_info("Redis available again", NULL);
}

/* Checks "Authorization: Bearer <token>". Returns 1 and fills who, 0 when
 * the header is absent, -1 when present but refused (resp answered). */
static int
authenticate(struct mf_http_req *req, struct api_caller *who,
             struct mf_http_resp *resp)
{
    const char *h = mf_http_req_header(req, "Authorization");
    if (h == NULL)
        return 0;
    int rc = MF_JWT_EFORMAT;
    if (strncasecmp(h, "Bearer ", 7) == 0)
        rc = mf_jwt_verify(api_g.jwt, h + 7, (int64_t)time(NULL), 30,
                           &who->claims);
    if (rc != MF_JWT_OK) {
        mf_info("access token refused", "reason=\"%s\"", mf_jwt_strerror(rc));
        mf_http_resp_problem(resp, 401, "Unauthorized",
                             "The access token is not valid.", NULL);
        mf_http_resp_header(resp, "WWW-Authenticate",
                            "Bearer realm=\"metriflow\", "
                            "error=\"invalid_token\"");
        return -1;
    }
    who->authenticated = 1;
    return 1;
}

/* Takes a token from the caller's bucket and sets the RateLimit headers.
 * Returns 0, or -1 after answering 429. */
static int
rate_limit(struct mf_http_req *req, enum limit_mode mode,
           const struct api_caller *who, struct mf_http_resp *resp)
{
    char key[128], v[32];
    const struct api_bucket *b = &api_g.auth_bucket;
    if (mode == LIMIT_USER) {
        b = &api_g.user_bucket;
        snprintf(key, sizeof(key), "%srl:u:%s", api_g.redis_prefix,
                 who->claims.sub);
    } else {
        snprintf(key, sizeof(key), "%srl:a:%s", api_g.redis_prefix,
                 mf_http_req_client(req));
    }
    long long remaining, reset, retry;
    int ok = api_rate_take(key, b, &remaining, &reset, &retry);
    snprintf(v, sizeof(v), "%lld", b->burst);
    mf_http_resp_header(resp, "RateLimit-Limit", v);
    snprintf(v, sizeof(v), "%lld", remaining);
    mf_http_resp_header(resp, "RateLimit-Remaining", v);
    snprintf(v, sizeof(v), "%lld", reset);
    mf_http_resp_header(resp, "RateLimit-Reset", v);
    if (ok)
        return 0;
    api_metrics_limited();
    snprintf(v, sizeof(v), "%lld", retry);
    mf_http_resp_header(resp, "Retry-After", v);
    mf_http_resp_problem(resp, 429, "Too many requests",
                         "The request rate limit is exceeded; retry later.",
                         NULL);
    return -1;
}

static void
on_request(struct mf_http_req *req, const struct mf_http_route *route,
           struct mf_http_resp *resp, void *user)
{
    char ctx[48];
    snprintf(ctx, sizeof(ctx), "req=%s", mf_http_req_id(req));
    mf_log_set_context(ctx);
    struct api_caller who = {0};
    int r = route->id;

    if (r == R_DASHBOARD) { /* a dashboard file: public, like the probes */
        mf_static_respond(web, req, resp);
        return;
    }

    /* /auth routes are limited per address before anything else, so that
     * guessing passwords costs the guesser, not the server. */
    if (route_rules[r].limit == LIMIT_ADDRESS &&
        rate_limit(req, LIMIT_ADDRESS, &who, resp) != 0)
        return;
    if (route_rules[r].auth != AUTH_NONE) {
        int a = authenticate(req, &who, resp);
        if (a == 0 && route_rules[r].auth == AUTH_REQUIRED) {
            mf_http_resp_problem(resp, 401, "Unauthorized",
                                 "This route needs an access token.", NULL);
            mf_http_resp_header(resp, "WWW-Authenticate",
                                "Bearer realm=\"metriflow\"");
        }
        if (a < 0 || (a == 0 && route_rules[r].auth == AUTH_REQUIRED)) {
            /* Without a user, the address pays (and token guessing is
             * limited like password guessing). */
            if (route_rules[r].limit == LIMIT_USER)
                rate_limit(req, LIMIT_ADDRESS, &who, resp);
            return;
        }
    }
    if (route_rules[r].limit == LIMIT_USER &&
        rate_limit(req, LIMIT_USER, &who, resp) != 0)
        return;
    route_rules[r].fn(req, &who, resp);
}

/* One access-log line and the metrics of every answer. */
static void
on_done(struct mf_http_req *req, const struct mf_http_route *route,
        const struct mf_http_resp *resp, int64_t usec, void *user)
{
    char ctx[48], path[160];
    snprintf(ctx, sizeof(ctx), "req=%s", mf_http_req_id(req));
    mf_log_set_context(ctx);
    int status = mf_http_resp_status(resp);
    const char *cache = mf_http_resp_get_header(resp, "Cache-Status");
    mf_info("request",
            "method=%s path=%s route=%s status=%d ms=%.3f client=%s cache=%s",
            mf_http_req_method(req),
            mf_log_q(path, sizeof(path), mf_http_req_path(req)),
            route ? route->path : "-", status, (double)usec / 1000.0,
            mf_http_req_client(req),
            cache == NULL          ? "-"
            : strstr(cache, "hit") ? "hit"
                                   : "miss");
    api_metrics_request(route ? route->id : R_COUNT, status, usec);
    mf_log_set_context(NULL);
}

/* The lease of a bucket: the --rate-lease given, or else a twentieth of
 * its burst, at most 100; never more than the burst, at least 1. */
static long long
lease_of(const struct api_bucket *b, long long opt)
{
    long long n = opt > 0 ? opt : b->burst / 20;
    if (opt == 0 && n > 100)
        n = 100;
    if (n > b->burst)
        n = b->burst;
    return n < 1 ? 1 : n;
}

/* Sets up api_g from the options. Returns 0 or -1 (logged). */
static int
setup(const struct mf_cli *cli)
{
    api_g.pg_url = mf_opt_str(cli, "pg-url");
    api_g.redis_prefix = mf_opt_str(cli, "redis-prefix");
    if (strlen(api_g.redis_prefix) > 32) {
        mf_error("the Redis key prefix is longer than 32 bytes", NULL);
        return -1;
    }
    api_g.registration_open =
        strcmp(mf_opt_str(cli, "registration"), "open") == 0;
    api_g.cache_enabled = !mf_opt_flag(cli, "no-cache");
    api_g.cache_ttl_s = (int)mf_opt_int(cli, "cache-ttl");
    api_g.refresh_ttl_s = mf_opt_int(cli, "refresh-ttl");
    api_g.user_bucket.rate = mf_opt_num(cli, "rate-user");
    api_g.user_bucket.burst = mf_opt_int(cli, "burst-user");
    api_g.auth_bucket.rate = mf_opt_num(cli, "rate-auth");
    api_g.auth_bucket.burst = mf_opt_int(cli, "burst-auth");
    api_g.user_bucket.lease =
        lease_of(&api_g.user_bucket, mf_opt_int(cli, "rate-lease"));
    api_g.auth_bucket.lease = 1; /* the auth routes ask Redis every time */

    if (api_g.cache_enabled &&
        api_lcache_init((size_t)mf_opt_int(cli, "local-cache")) != 0) {
        mf_error("cannot allocate the local range cache", NULL);
        return -1;
    }
    if (mf_auth_init((int)mf_opt_int(cli, "hash-concurrency")) != 0) {
        mf_error("cannot initialise libsodium", NULL);
        return -1;
    }
    const char *secret = mf_opt_str(cli, "jwt-secret");
    if (mf_jwt_key_new(secret, strlen(secret), mf_opt_str(cli, "jwt-issuer"),
                       mf_opt_str(cli, "jwt-audience"),
                       (int)mf_opt_int(cli, "jwt-ttl"),
                       &api_g.jwt) != MF_JWT_OK) {
        mf_error("cannot use the JWT secret",
                 "reason=\"it must have at least 32 bytes\"");
        return -1;
    }
    const char *redis = mf_opt_str(cli, "redis-url");
    char err[256];
    if (redis != NULL && redis[0] != '\0' &&
        mf_redis_open(redis, (int)mf_opt_int(cli, "threads") + 2, 250,
                      &api_g.redis, err, sizeof(err)) != 0) {
        mf_error("cannot use the Redis URL", "reason=\"%s\"", err);
        return -1;
    }
    if (api_g.redis == NULL)
        mf_warn("no Redis configured: answers are uncached, limits local",
                NULL);
    else if (mf_redis_ping(api_g.redis) != 0)
        api_redis_state(0);
    return 0;
}

/* Waits for SIGTERM or SIGINT. */
static void
wait_for_stop(void)
{
    while (!mf_sig_stop_requested()) {
        mf_time_sleep_ms(100);
    }
}

int
main(int argc, char **argv)
{
    struct mf_cli cli = {
        .program = "metriflow-api",
        .usage = "[options]",
        .description =
            "Serves the reporting API: authentication, reports from the "
            "aggregate levels, cached ranges, rate limits, probes and "
            "metrics.",
        .opts = opts,
        .nopts = sizeof(opts) / sizeof(opts[0]),
        .min_args = 0,
        .max_args = 0,
    };
    if (argc == 2 && strcmp(argv[1], "--list-routes") == 0) {
        for (int i = 0; i < R_COUNT; i++)
            printf("%s %s\n", api_routes[i].method, api_routes[i].path);
        return 0;
    }
    int rc = mf_cli_parse(&cli, argc, argv);
    if (rc != MF_CLI_OK) {
        mf_cli_free(&cli);
        return rc == MF_CLI_EXIT ? 0 : 2;
    }
    mf_cli_init_log(&cli, "api");
    mf_sig_install();

    rc = 1;
    struct mf_http *http = NULL;
    struct mf_http_route *routes = NULL;
    size_t nroutes = 0;
    if (setup(&cli) != 0 ||
        mf_static_start(mf_opt_str(&cli, "web-root"), &web) != 0 ||
        mf_static_routes(web, api_routes, R_COUNT, R_DASHBOARD, &routes,
                         &nroutes) != 0)
        goto out;
    struct mf_http_config hc = {
        .addr = mf_opt_str(&cli, "http-addr"),
        .threads = (unsigned)mf_opt_int(&cli, "threads"),
        .max_body = (size_t)mf_opt_int(&cli, "max-body"),
        .max_conn = 1024,
        .timeout_s = 30,
        .routes = routes,
        .nroutes = nroutes,
        .handle = on_request,
        .done = on_done,
    };
    char err[256];
    if (api_lookup_start() != 0)
        goto out;
    if (mf_http_start(&hc, &http, err, sizeof(err)) != 0) {
        mf_error("cannot start the HTTP server", "reason=\"%s\"", err);
        goto out;
    }
    mf_info("listening", "addr=%s port=%d threads=%u registration=%s cache=%s",
            hc.addr, mf_http_port(http), hc.threads,
            api_g.registration_open ? "open" : "admin",
            api_g.cache_enabled ? "on" : "off");
    wait_for_stop();
    mf_info("stopping", "signal=%d", mf_sig_last());
    mf_http_stop(http, 5000);
    mf_info("stopped", NULL);
    rc = 0;
out:
    api_lookup_stop(); /* after the server: it answers what is deferred */
    free(routes);
    mf_static_close(web);
    api_db_close();
    mf_redis_close(api_g.redis);
    api_lcache_free();
    mf_jwt_key_free(api_g.jwt);
    mf_cli_free(&cli);
    return rc;
}
