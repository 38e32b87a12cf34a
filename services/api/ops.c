/* The operations routes (probes, metrics, API description, pipeline
 * status) and the counters behind /metrics. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int statuses[] = {200, 201, 204, 400, 401, 403, 404,
                               405, 409, 413, 429, 500, 503};
#define NSTATUS (int)(sizeof(statuses) / sizeof(statuses[0]) + 1)
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
#define NBUCKET (int)(sizeof(buckets) / sizeof(buckets[0]))

/* Index R_COUNT counts requests that matched no route, R_DASHBOARD those
 * for the dashboard's files. */
#define NROUTE (R_DASHBOARD + 1)
static atomic_ullong requests[NROUTE][NSTATUS];
static atomic_ullong latency[NROUTE][NBUCKET + 1];
static atomic_ullong latency_sum_us[NROUTE];
static atomic_ullong cache_hits, cache_misses, limited;
static atomic_ullong lookups, lookup_trips;

void
api_metrics_request(int route, int status, int64_t usec)
{
    if (route < 0 || route >= NROUTE)
        route = R_COUNT;
    int s = NSTATUS - 1;
    for (int i = 0; i < NSTATUS - 1; i++)
        if (statuses[i] == status)
            s = i;
    atomic_fetch_add(&requests[route][s], 1);
    double sec = (double)usec / 1e6;
    int b = NBUCKET;
    for (int i = 0; i < NBUCKET; i++)
        if (sec <= buckets[i]) {
            b = i;
            break;
        }
    atomic_fetch_add(&latency[route][b], 1);
    atomic_fetch_add(&latency_sum_us[route], (unsigned long long)usec);
}

void
api_metrics_cache(int hit)
{
    atomic_fetch_add(hit ? &cache_hits : &cache_misses, 1);
}

void
api_metrics_limited(void)
{
    atomic_fetch_add(&limited, 1);
}

void
api_metrics_lookups(int n)
{
    atomic_fetch_add(&lookups, (unsigned long long)n);
    atomic_fetch_add(&lookup_trips, 1);
}

static const char *
route_label(int r)
{
    if (r == R_DASHBOARD)
        return "dashboard";
    return r < R_COUNT ? api_routes[r].path : "unmatched";
}

static void
put_histograms(struct api_text *t)
{
    api_text_put(
        t, "# HELP metriflow_api_request_duration_seconds Time from request "
           "to answer.\n# TYPE metriflow_api_request_duration_seconds "
           "histogram\n");
    for (int r = 0; r < NROUTE; r++) {
        unsigned long long cum = 0;
        for (int b = 0; b <= NBUCKET; b++) {
            cum += atomic_load(&latency[r][b]);
            if (b < NBUCKET)
                api_text_put(
                    t,
                    "metriflow_api_request_duration_seconds_bucket{route=\"%s"
                    "\",le=\"%g\"} %llu\n",
                    route_label(r), buckets[b], cum);
            else
                api_text_put(
                    t,
                    "metriflow_api_request_duration_seconds_bucket{route=\"%s"
                    "\",le=\"+Inf\"} %llu\n",
                    route_label(r), cum);
        }
        api_text_put(
            t,
            "metriflow_api_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
            route_label(r), (double)atomic_load(&latency_sum_us[r]) / 1e6);
        api_text_put(
            t,
            "metriflow_api_request_duration_seconds_count{route=\"%s\"} "
            "%llu\n",
            route_label(r), cum);
    }
}

void
api_metrics(struct mf_http_req *req, const struct api_caller *who,
            struct mf_http_resp *resp)
{
    struct api_text t = {0};
    api_text_put(&t, "# HELP metriflow_api_requests_total Answers by route and "
                     "status.\n# TYPE metriflow_api_requests_total counter\n");
    for (int r = 0; r < NROUTE; r++)
        for (int s = 0; s < NSTATUS; s++) {
            unsigned long long n = atomic_load(&requests[r][s]);
            if (n == 0)
                continue;
            if (s < NSTATUS - 1)
                api_text_put(
                    &t,
                    "metriflow_api_requests_total{route=\"%s\",status=\"%d\"}"
                    " %llu\n",
                    route_label(r), statuses[s], n);
            else
                api_text_put(&t,
                             "metriflow_api_requests_total{route=\"%s\",status="
                             "\"other\"} %llu\n",
                             route_label(r), n);
        }
    put_histograms(&t);
    api_text_put(
        &t,
        "# HELP metriflow_api_cache_hits_total Range answers served from "
        "the cache.\n# TYPE metriflow_api_cache_hits_total counter\n"
        "metriflow_api_cache_hits_total %llu\n"
        "# HELP metriflow_api_cache_misses_total Range answers computed "
        "from the levels.\n# TYPE metriflow_api_cache_misses_total "
        "counter\nmetriflow_api_cache_misses_total %llu\n"
        "# HELP metriflow_api_rate_limited_total Requests refused with "
        "429.\n# TYPE metriflow_api_rate_limited_total counter\n"
        "metriflow_api_rate_limited_total %llu\n"
        "# HELP metriflow_api_page_lookups_total Page lookups of range "
        "requests.\n# TYPE metriflow_api_page_lookups_total counter\n"
        "metriflow_api_page_lookups_total %llu\n"
        "# HELP metriflow_api_page_lookup_round_trips_total Queries that "
        "answered them (one per batch).\n"
        "# TYPE metriflow_api_page_lookup_round_trips_total counter\n"
        "metriflow_api_page_lookup_round_trips_total %llu\n"
        "# HELP metriflow_api_redis_up 1 while Redis answers.\n"
        "# TYPE metriflow_api_redis_up gauge\nmetriflow_api_redis_up %d\n",
        atomic_load(&cache_hits), atomic_load(&cache_misses),
        atomic_load(&limited), atomic_load(&lookups),
        atomic_load(&lookup_trips),
        api_g.redis != NULL && mf_redis_up(api_g.redis));
    if (t.failed) {
        free(t.p);
        mf_http_resp_problem(resp, 500, "Internal error", "Out of memory.",
                             NULL);
        return;
    }
    mf_http_resp_take(resp, 200, "text/plain; version=0.0.4; charset=utf-8",
                      t.p, t.len);
}

void
api_healthz(struct mf_http_req *req, const struct api_caller *who,
            struct mf_http_resp *resp)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string("ok"));
    mf_http_resp_json(resp, 200, o);
}

void
api_readyz(struct mf_http_req *req, const struct api_caller *who,
           struct mf_http_resp *resp)
{
    int pg = api_db_ping();
    int redis = api_g.redis != NULL && mf_redis_ping(api_g.redis) == 0;
    if (api_g.redis != NULL)
        api_redis_state(redis);
    json_t *o = json_object(), *deps = json_object();
    json_object_set_new(deps, "postgresql", json_string(pg ? "up" : "down"));
    json_object_set_new(deps, "redis",
                        json_string(api_g.redis == NULL ? "not configured"
                                    : redis             ? "up"
                                                        : "down"));
    const char *status = !pg ? "unavailable" : redis ? "ready" : "degraded";
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "dependencies", deps);
    mf_http_resp_json(resp, pg ? 200 : 503, o);
}

void
api_openapi(struct mf_http_req *req, const struct api_caller *who,
            struct mf_http_resp *resp)
{
    mf_http_resp_text(resp, 200, "application/json; charset=utf-8",
                      api_openapi_json, api_openapi_json_size);
}

void
api_pipeline(struct mf_http_req *req, const struct api_caller *who,
             struct mf_http_resp *resp)
{
    struct mf_pg_res *r = NULL;
    char state[6];
    int rc = api_db("SELECT stage, pending::int8, oldest_pending_s::float8,"
                    " to_char(last_run_at AT TIME ZONE 'UTC',"
                    " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
                    " FROM mf_pipeline_status()",
                    0, NULL, &r, state);
    if (rc != MF_PG_OK) {
        mf_http_resp_problem(resp, 503, "Pipeline status unavailable",
                             "The pipeline's status could not be read.", NULL);
        return;
    }
    json_t *o = json_object(), *stages = json_array();
    int idle = 1;
    for (int i = 0; i < mf_pg_res_rows(r); i++) {
        json_t *s = json_object();
        const char *pending = mf_pg_res_value(r, i, 1);
        const char *age = mf_pg_res_value(r, i, 2);
        const char *last = mf_pg_res_value(r, i, 3);
        long long p = pending ? strtoll(pending, NULL, 10) : 0;
        if (p > 0)
            idle = 0;
        json_object_set_new(s, "stage", json_string(mf_pg_res_value(r, i, 0)));
        json_object_set_new(s, "pending", json_integer(p));
        json_object_set_new(s, "oldest_pending_s",
                            age ? json_real(strtod(age, NULL)) : json_null());
        json_object_set_new(s, "last_run_at",
                            last ? json_string(last) : json_null());
        json_array_append_new(stages, s);
    }
    mf_pg_res_free(r);
    json_object_set_new(o, "stages", stages);
    json_object_set_new(o, "idle", json_boolean(idle));
    mf_http_resp_json(resp, 200, o);
}
