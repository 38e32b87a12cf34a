/*
 * metriflow-api: the state shared by the route handlers, and the handlers.
 * main.c owns the route table and the order of checks (auth, rate limit,
 * handler); each other file owns one group of routes.
 */
#ifndef API_H
#define API_H

#include "mf_http.h"
#include "mf_jwt.h"
#include "mf_pg.h"
#include "mf_redis.h"
#include "params.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* The routes; the index of each in main.c's table. */
enum api_route {
    R_HEALTHZ,
    R_READYZ,
    R_METRICS,
    R_OPENAPI,
    R_REGISTER,
    R_LOGIN,
    R_REFRESH,
    R_LOGOUT,
    R_PIPELINE,
    R_PAGES,
    R_HOURLY,
    R_INTERVALS,
    R_DAILY,
    R_MONTHLY,
    R_YEARLY,
    R_RANGE,
    R_TOP_PAGES,
    R_SUMMARY,
    R_COUNT
};
/* The id of every dashboard file's route (static_http.c); R_COUNT itself
 * stands for "no route" in the metrics. */
#define R_DASHBOARD (R_COUNT + 1)

/* The route table (main.c), indexed by enum api_route. */
extern const struct mf_http_route api_routes[R_COUNT];

/* A token bucket's settings. */
struct api_bucket {
    double rate; /* tokens per second */
    long long burst;
    long long lease; /* tokens taken from Redis per call (1: every request) */
};

struct api {
    const char *pg_url;
    const char *redis_prefix; /* before every key: "mf:" */
    struct mf_redis *redis;   /* NULL when no Redis is configured */
    struct mf_jwt_key *jwt;
    int registration_open;
    int cache_enabled;
    int cache_ttl_s;
    long long refresh_ttl_s;
    struct api_bucket user_bucket, auth_bucket;
    atomic_int redis_warned; /* 1 while "Redis unavailable" was logged */
};

extern struct api api_g;

/* Who is calling, once the bearer token checked out. */
struct api_caller {
    int authenticated;
    struct mf_jwt_claims claims;
};

/* --- db.c: one PostgreSQL connection per pool thread ------------------ */

/*
 * Runs sql with params on this thread's connection, reconnecting once if
 * it was lost. Returns MF_PG_OK and *res, or a negative code; on failure
 * the server's message is logged here (the daemon layer) with sqlstate
 * copied to state (6 bytes) when state is not NULL.
 */
int api_db(const char *sql, int n, const char *const *params,
           struct mf_pg_res **res, char *state);

/*
 * api_db for a statement run often: prepared on this thread's connection
 * the first time. sql must be a string literal (known by its address).
 */
int api_db_prepared(const char *sql, int n, const char *const *params,
                    struct mf_pg_res **res);

/* api_db or api_db_prepared, as prepared says. */
int api_db_run(int prepared, const char *sql, int n, const char *const *params,
               struct mf_pg_res **res, char *state);

/* 1 when this thread can reach PostgreSQL (SELECT 1). */
int api_db_ping(void);

/* Closes this thread's connection (at thread end; safe to repeat). */
void api_db_close(void);

/* --- the handlers ---------------------------------------------------- */

typedef void (*api_handler)(struct mf_http_req *req,
                            const struct api_caller *who,
                            struct mf_http_resp *resp);

void api_register(struct mf_http_req *, const struct api_caller *,
                  struct mf_http_resp *);
void api_login(struct mf_http_req *, const struct api_caller *,
               struct mf_http_resp *);
void api_refresh(struct mf_http_req *, const struct api_caller *,
                 struct mf_http_resp *);
void api_logout(struct mf_http_req *, const struct api_caller *,
                struct mf_http_resp *);

void api_pages(struct mf_http_req *, const struct api_caller *,
               struct mf_http_resp *);
void api_hourly(struct mf_http_req *, const struct api_caller *,
                struct mf_http_resp *);
void api_intervals(struct mf_http_req *, const struct api_caller *,
                   struct mf_http_resp *);
void api_daily(struct mf_http_req *, const struct api_caller *,
               struct mf_http_resp *);
void api_monthly(struct mf_http_req *, const struct api_caller *,
                 struct mf_http_resp *);
void api_yearly(struct mf_http_req *, const struct api_caller *,
                struct mf_http_resp *);
void api_range(struct mf_http_req *, const struct api_caller *,
               struct mf_http_resp *);
void api_top_pages(struct mf_http_req *, const struct api_caller *,
                   struct mf_http_resp *);
void api_summary(struct mf_http_req *, const struct api_caller *,
                 struct mf_http_resp *);

void api_healthz(struct mf_http_req *, const struct api_caller *,
                 struct mf_http_resp *);
void api_readyz(struct mf_http_req *, const struct api_caller *,
                struct mf_http_resp *);
void api_metrics(struct mf_http_req *, const struct api_caller *,
                 struct mf_http_resp *);
void api_openapi(struct mf_http_req *, const struct api_caller *,
                 struct mf_http_resp *);
void api_pipeline(struct mf_http_req *, const struct api_caller *,
                  struct mf_http_resp *);

/* --- shared answers --------------------------------------------------- */

/* 400 naming err->field. */
void api_bad_request(struct mf_http_resp *resp, const struct api_err *err);
/* 503 after a database failure (already logged). */
void api_db_unavailable(struct mf_http_resp *resp);
/* Notes that Redis failed (logged once per outage) or answered again. */
void api_redis_state(int ok);

/* --- ratelimit.c ------------------------------------------------------- */

/*
 * Takes one token from the bucket key: in Redis when it answers, else in
 * this process's fallback table. Returns 1 allowed or 0 refused, with the
 * remaining tokens, the seconds until the bucket is full again, and, when
 * refused, the seconds to wait.
 */
int api_rate_take(const char *key, const struct api_bucket *b,
                  long long *remaining, long long *reset_s, long long *retry_s);

/* --- lookup.c: page lookups of /reports/range, batched ---------------- */

/* A lookup of (site, path): queued by a deferred request (mf_http_defer),
 * answered by the lookup thread, which then resumes req. */
struct api_lookup {
    struct mf_http_req *req;
    const char *site, *path;
    char id[24], version[24];
    int rc; /* 1 found, 0 no such page, -1 database error (logged) */
    struct api_lookup *next;
};

int api_lookup_start(void);
/* Queues l; its request must be suspended already (mf_http_defer's start). */
void api_lookup_queue(struct api_lookup *l);
/* Answers what is queued, then ends the thread: after mf_http_stop. */
void api_lookup_stop(void);

/* --- text.c: a growing text buffer ------------------------------------ */

/* Start as {0}; after a failed allocation failed is set and later calls do
 * nothing; p (free()) holds len bytes and a NUL otherwise. */
struct api_text {
    char *p;
    size_t len, cap;
    int failed;
};

/* Appends n bytes of s. */
void api_text_add(struct api_text *t, const char *s, size_t n);
/* Appends what printf(fmt, ...) writes. */
void api_text_put(struct api_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- lcache.c: range answers kept in this process -------------------- */

/* Makes room for entries answers (0: no local cache). Returns 0 or -1. */
int api_lcache_init(size_t entries);
/* Frees every entry. */
void api_lcache_free(void);
/*
 * Looks key up: 1 with a copy of the answer in *body (free(); NUL-terminated,
 * length in *len), 0 when absent or expired.
 */
int api_lcache_get(const char *key, char **body, size_t *len);
/* Stores a copy of body under key for ttl_s seconds (larger ones: not). */
void api_lcache_put(const char *key, const char *body, size_t len, int ttl_s);

/* --- metrics (ops.c) -------------------------------------------------- */

void api_metrics_request(int route, int status, int64_t usec);
void api_metrics_cache(int hit);
void api_metrics_limited(void);
/* n page lookups answered by one round trip (lookup.c). */
void api_metrics_lookups(int n);

/* The embedded OpenAPI document (openapi_embed.c). */
extern const char api_openapi_json[];
extern const size_t api_openapi_json_size;

#endif
