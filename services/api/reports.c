/* The report routes: pages, the series of each level, range, top pages
 * and summary. Everything is read from the aggregate levels. */
#include "api.h"

#include "mf_log.h"
#include "mf_numfmt.h"
#include "mf_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The additive columns every level stores, in the order of BASE_COLS. */
#define BASE_COLS                                                              \
    "page_id, users, sessions, views, bounces, duration_s, psi_samples, "      \
    "performance_score_n, performance_score_sum, lcp_ms_n, lcp_ms_sum, "       \
    "cls_n, cls_sum, inp_ms_n, inp_ms_sum, fcp_ms_n, fcp_ms_sum, "             \
    "ttfb_ms_n, ttfb_ms_sum"

/* The measures over a set of rows of BASE_COLS: sums, and the ratios
 * derived from the sums (NULL on a zero denominator). 14 columns. */
#define MEASURES                                                               \
    "coalesce(sum(users), 0)::int8 AS users, "                                 \
    "coalesce(sum(sessions), 0)::int8 AS sessions, "                           \
    "coalesce(sum(views), 0)::int8 AS views, "                                 \
    "coalesce(sum(bounces), 0)::int8 AS bounces, "                             \
    "coalesce(sum(duration_s), 0)::float8 AS duration_s, "                     \
    "(sum(bounces)::float8 / nullif(sum(sessions), 0)) AS bounce_rate, "       \
    "(sum(duration_s) / nullif(sum(sessions), 0))::float8 "                    \
    "AS avg_session_duration_s, "                                              \
    "coalesce(sum(psi_samples), 0)::int8 AS psi_samples, "                     \
    "(sum(performance_score_sum) / nullif(sum(performance_score_n), 0))"       \
    "::float8 AS performance_score, "                                          \
    "(sum(lcp_ms_sum) / nullif(sum(lcp_ms_n), 0))::float8 AS lcp_ms, "         \
    "(sum(cls_sum) / nullif(sum(cls_n), 0))::float8 AS cls, "                  \
    "(sum(inp_ms_sum) / nullif(sum(inp_ms_n), 0))::float8 AS inp_ms, "         \
    "(sum(fcp_ms_sum) / nullif(sum(fcp_ms_n), 0))::float8 AS fcp_ms, "         \
    "(sum(ttfb_ms_sum) / nullif(sum(ttfb_ms_n), 0))::float8 AS ttfb_ms"

/* The stored columns of one row, for a series (each level's key makes a
 * period one row): the API derives the ratios itself, so PostgreSQL only
 * sends the stored values. Read by add_row_measures. */
#define ROW_COLS                                                               \
    "users, sessions, views, bounces, duration_s, psi_samples, "               \
    "performance_score_n, performance_score_sum, lcp_ms_n, lcp_ms_sum, "       \
    "cls_n, cls_sum, inp_ms_n, inp_ms_sum, fcp_ms_n, fcp_ms_sum, "             \
    "ttfb_ms_n, ttfb_ms_sum"

#define NMEASURES 14
static const char *const measure_names[NMEASURES] = {
    "users",
    "sessions",
    "views",
    "bounces",
    "duration_s",
    "bounce_rate",
    "avg_session_duration_s",
    "psi_samples",
    "performance_score",
    "lcp_ms",
    "cls",
    "inp_ms",
    "fcp_ms",
    "ttfb_ms",
};
/* 1 for the integer measures. */
static const char measure_int[NMEASURES] = {1, 1, 1, 1, 0, 0, 0,
                                            1, 0, 0, 0, 0, 0, 0};

/* The union of the three levels a range is read from, for the pages that
 * the condition "WHERE_PAGE" selects ($1 names them), with $2..$11 the
 * runs of api_range_plan. */
#define RANGE_UNION(WHERE_PAGE)                                                \
    "SELECT " BASE_COLS " FROM agg_day WHERE " WHERE_PAGE                      \
    " AND (day BETWEEN $2::date AND $3::date"                                  \
    " OR day BETWEEN $4::date AND $5::date)"                                   \
    " UNION ALL SELECT " BASE_COLS " FROM agg_month WHERE " WHERE_PAGE         \
    " AND (month BETWEEN $6::date AND $7::date"                                \
    " OR month BETWEEN $8::date AND $9::date)"                                 \
    " UNION ALL SELECT " BASE_COLS " FROM agg_year WHERE " WHERE_PAGE          \
    " AND year BETWEEN $10::int AND $11::int"

#define ONE_PAGE  "page_id = $1::int8"
#define SITE_PAGE "page_id IN (SELECT page_id FROM page WHERE site = $1)"

/* Adds the measures in columns col.. of row to o. */
static void
add_measures(json_t *o, const struct mf_pg_res *r, int row, int col)
{
    for (int i = 0; i < NMEASURES; i++) {
        const char *v = mf_pg_res_value(r, row, col + i);
        json_t *j;
        if (v == NULL)
            j = json_null();
        else if (measure_int[i])
            j = json_integer(strtoll(v, NULL, 10));
        else
            j = json_real(strtod(v, NULL));
        json_object_set_new(o, measure_names[i], j ? j : json_null());
    }
}

/* The text of a series answer is written straight from the rows into an
 * api_text: a long series (a year of days) is thousands of numbers, and
 * building jansson objects for them cost more than the query. Numbers are
 * written as jansson writes them (mf_http_resp_json: reals with 12
 * significant digits), so both paths give the same text. */

static void
jb_str(struct api_text *b, const char *s)
{
    api_text_add(b, s, strlen(s));
}

/* A real as jansson's JSON_REAL_PRECISION(12) writes it ("%.12g", a ".0"
 * when it would read as an integer, no '+' or leading zeros in the
 * exponent); null when not finite. */
static void
jb_real(struct api_text *b, double v)
{
    if (!isfinite(v)) {
        api_text_add(b, "null", 4);
        return;
    }
    char t[MF_FMT_G12_MAX + 2];
    int n = mf_fmt_g12(v, t);
    char *e = strchr(t, 'e');
    if (e == NULL) {
        if (strchr(t, '.') == NULL) {
            memcpy(t + n, ".0", 3);
            n += 2;
        }
    } else {
        char *from = e + 1, *to = e + 1;
        if (*from == '-')
            from++, to++;
        else if (*from == '+')
            from++;
        while (*from == '0' && from[1] != '\0')
            from++;
        memmove(to, from, strlen(from) + 1);
        n = (int)strlen(t);
    }
    api_text_add(b, t, (size_t)n);
}

/* "name": */
static void
jb_name(struct api_text *b, const char *name)
{
    api_text_add(b, ",\"", 2);
    jb_str(b, name);
    api_text_add(b, "\":", 2);
}

/* An integer column as its text (PostgreSQL writes plain decimals). */
static void
jb_intcol(struct api_text *b, const struct mf_pg_res *r, int row, int col)
{
    const char *v = mf_pg_res_value(r, row, col);
    jb_str(b, v ? v : "null");
}

static double
num(const struct mf_pg_res *r, int row, int col)
{
    const char *v = mf_pg_res_value(r, row, col);
    return v ? mf_parse_decimal(v) : 0;
}

/* a / b as a real, or null when b is 0. */
static void
jb_ratio(struct api_text *b, double x, double y)
{
    if (y != 0)
        jb_real(b, x / y);
    else
        api_text_add(b, "null", 4);
}

/* The measures of MEASURES columns col.. of row, as add_measures gives
 * them. */
static void
jb_measures(struct api_text *b, const struct mf_pg_res *r, int row, int col)
{
    for (int i = 0; i < NMEASURES; i++) {
        const char *v = mf_pg_res_value(r, row, col + i);
        jb_name(b, measure_names[i]);
        if (v == NULL)
            api_text_add(b, "null", 4);
        else if (measure_int[i])
            jb_str(b, v);
        else
            jb_real(b, mf_parse_decimal(v));
    }
}

/* The measures of the ROW_COLS in columns col.. of row, deriving the
 * ratios and means as MEASURES does. */
static void
jb_row_measures(struct api_text *b, const struct mf_pg_res *r, int row, int col)
{
    static const char *const means[] = {
        "performance_score", "lcp_ms", "cls", "inp_ms", "fcp_ms", "ttfb_ms"};
    double sessions = num(r, row, col + 1);
    double bounces = num(r, row, col + 3);
    double duration = num(r, row, col + 4);
    for (int i = 0; i < 4; i++) {
        jb_name(b, measure_names[i]);
        jb_intcol(b, r, row, col + i);
    }
    jb_name(b, "duration_s");
    jb_real(b, duration);
    jb_name(b, "bounce_rate");
    jb_ratio(b, bounces, sessions);
    jb_name(b, "avg_session_duration_s");
    jb_ratio(b, duration, sessions);
    jb_name(b, "psi_samples");
    jb_intcol(b, r, row, col + 5);
    for (int m = 0; m < 6; m++) {
        jb_name(b, means[m]);
        jb_ratio(b, num(r, row, col + 7 + 2 * m), num(r, row, col + 6 + 2 * m));
    }
}

/* Collects the query parameters of a route that accepts allowed. */
static int
add_param(const char *name, const char *value, void *arg)
{
    void **a = arg;
    return api_query_add(a[0], name, value, a[1]);
}

static int
read_query(struct mf_http_req *req, unsigned allowed, struct api_query *q,
           struct mf_http_resp *resp)
{
    struct api_err err = {0};
    memset(q, 0, sizeof(*q));
    q->allowed = allowed;
    void *a[2] = {q, &err};
    if (mf_http_req_query_each(req, add_param, a) != 0) {
        api_bad_request(resp, &err);
        return -1;
    }
    return 0;
}

/* Finds the page; answers 404 or 503 itself and returns -1 then. */
static int
find_page(const struct api_page *pg, char *id, char *version,
          struct mf_http_resp *resp)
{
    const char *params[] = {pg->site, pg->path};
    struct mf_pg_res *r = NULL;
    if (api_db_prepared("SELECT page_id, data_version FROM page"
                        " WHERE site = $1 AND path = $2",
                        2, params, &r) != MF_PG_OK) {
        api_db_unavailable(resp);
        return -1;
    }
    int found = mf_pg_res_rows(r) == 1;
    if (found) {
        snprintf(id, 24, "%s", mf_pg_res_value(r, 0, 0));
        snprintf(version, 24, "%s", mf_pg_res_value(r, 0, 1));
    }
    mf_pg_res_free(r);
    if (!found) {
        mf_http_resp_problem(resp, 404, "Page not found",
                             "No page with this path on this site.", "page");
        return -1;
    }
    return 0;
}

/* The head of a series answer. */
static json_t *
series_head(const struct api_page *pg, const char *from, const char *to)
{
    json_t *o = json_object();
    json_object_set_new(o, "site", json_string(pg->site));
    if (pg->path[0] != '\0')
        json_object_set_new(o, "page", json_string(pg->path));
    json_object_set_new(o, "from", json_string(from));
    json_object_set_new(o, "to", json_string(to));
    return o;
}

/* How the first column of a series query (the period) is written. */
enum key_kind {
    KEY_TEXT, /* as is */
    KEY_INT,  /* an integer */
    KEY_DAY,  /* days since 1970-01-01, written YYYY-MM-DD */
};

/* Runs a series query whose first column is the period (key, of kind
 * kind) and answers the rows; prepared when sql is a literal; the other
 * columns are ROW_COLS when raw, else MEASURES. */
static void
answer_series(struct mf_http_resp *resp, json_t *head, const char *sql, int n,
              const char *const *params, const char *key, enum key_kind kind,
              int prepared, int raw)
{
    struct mf_pg_res *r = NULL;
    if (api_db_run(prepared, sql, n, params, &r, NULL) != MF_PG_OK) {
        json_decref(head);
        api_db_unavailable(resp);
        return;
    }
    /* The head as jansson writes it, its closing brace replaced by the
     * rows. */
    char *h = json_dumps(head, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(head);
    struct api_text b = {0};
    if (h != NULL) {
        api_text_add(&b, h, strlen(h) - 1);
        free(h);
    } else {
        b.failed = 1;
    }
    api_text_add(&b, ",\"rows\":[", 9);
    for (int i = 0; i < mf_pg_res_rows(r); i++) {
        const char *k = mf_pg_res_value(r, i, 0);
        api_text_add(&b, i ? ",{\"" : "{\"", i ? 3 : 2);
        jb_str(&b, key);
        api_text_add(&b, "\":", 2);
        if (kind == KEY_INT) {
            jb_intcol(&b, r, i, 0);
        } else if (kind == KEY_DAY) {
            char day[16];
            mf_time_format_date(strtoll(k, NULL, 10), day, sizeof(day));
            api_text_add(&b, "\"", 1);
            jb_str(&b, day);
            api_text_add(&b, "\"", 1);
        } else {
            json_t *j = json_string(k);
            char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
            json_decref(j);
            if (t == NULL)
                b.failed = 1;
            else
                jb_str(&b, t);
            free(t);
        }
        if (raw)
            jb_row_measures(&b, r, i, 1);
        else
            jb_measures(&b, r, i, 1);
        api_text_add(&b, "}", 1);
    }
    mf_pg_res_free(r);
    api_text_add(&b, "]}", 2);
    if (b.failed) {
        free(b.p);
        mf_http_resp_problem(resp, 500, "Internal error",
                             "The answer could not be encoded.", NULL);
        return;
    }
    mf_http_resp_take(resp, 200, "application/json; charset=utf-8", b.p, b.len);
}

/* The common start of the routes: parameters, site and (need_page) page. */
static int
start(struct mf_http_req *req, unsigned allowed, int need_page,
      struct api_query *q, struct api_page *pg, struct mf_http_resp *resp)
{
    struct api_err err = {0};
    if (read_query(req, allowed, q, resp) != 0)
        return -1;
    if (api_parse_page(q, need_page, pg, &err) != 0) {
        api_bad_request(resp, &err);
        return -1;
    }
    return 0;
}

/* Formats days since 1970-01-01 as YYYY-MM-DD into buf (>= 11). */
static void
fmt_day(int64_t days, char *buf)
{
    mf_time_format_date(days, buf, 11);
}

/* The first day of a month counted from 1970-01, as YYYY-MM-DD, into buf
 * (>= 16 bytes). */
static void
fmt_month_first(int64_t month, char *buf)
{
    int64_t t = month + INT64_C(1970) * 12;
    int64_t y = t / 12;
    int m = (int)(t % 12) + 1;
    if (y < 1)
        y = 1, m = 1;
    if (y > 9999)
        y = 9999;
    snprintf(buf, 16, "%04d-%02d-01", (int)y, m);
}

/* One day: hours or intervals. */
static void
one_day(struct mf_http_req *req, struct mf_http_resp *resp, int hourly)
{
    struct api_query q;
    struct api_page pg;
    struct api_err err = {0};
    int64_t day;
    char id[24], version[24], date[11];
    if (start(req, QP_SITE | QP_PAGE | QP_DATE, 1, &q, &pg, resp) != 0)
        return;
    if (api_parse_date(q.date, "date", &day, &err) != 0) {
        api_bad_request(resp, &err);
        return;
    }
    if (find_page(&pg, id, version, resp) != 0)
        return;
    fmt_day(day, date);
    const char *params[] = {id, date};
    if (hourly)
        answer_series(
            resp, series_head(&pg, date, date),
            "SELECT extract(hour FROM hour AT TIME ZONE 'UTC')::int, " ROW_COLS
            " FROM agg_hour WHERE page_id = $1::int8"
            " AND hour >= $2::date::timestamp AT TIME ZONE 'UTC'"
            " AND hour < ($2::date + 1)::timestamp AT TIME ZONE 'UTC'"
            " ORDER BY hour",
            2, params, "hour", KEY_INT, 1, 1);
    else
        answer_series(resp, series_head(&pg, date, date),
                      "SELECT interval, " ROW_COLS
                      " FROM agg_interval WHERE page_id = $1::int8"
                      " AND day = $2::date ORDER BY interval",
                      2, params, "interval", KEY_INT, 1, 1);
}

void
api_hourly(struct mf_http_req *req, const struct api_caller *who,
           struct mf_http_resp *resp)
{
    one_day(req, resp, 1);
}

void
api_intervals(struct mf_http_req *req, const struct api_caller *who,
              struct mf_http_resp *resp)
{
    one_day(req, resp, 0);
}

/* A series over from..to in unit. */
static void
series(struct mf_http_req *req, struct mf_http_resp *resp, enum api_unit unit)
{
    struct api_query q;
    struct api_page pg;
    struct api_err err = {0};
    int64_t a, b;
    char id[24], version[24], lo[16], hi[16];
    if (start(req, QP_SITE | QP_PAGE | QP_FROM | QP_TO, 1, &q, &pg, resp) != 0)
        return;
    if (api_parse_span(&q, unit, 0, &a, &b, &err) != 0) {
        api_bad_request(resp, &err);
        return;
    }
    if (find_page(&pg, id, version, resp) != 0)
        return;
    const char *params[] = {id, lo, hi};
    json_t *head = series_head(&pg, q.from, q.to);
    switch (unit) {
    case UNIT_DAY:
        fmt_day(a, lo);
        fmt_day(b, hi);
        answer_series(resp, head,
                      "SELECT day - DATE '1970-01-01', " ROW_COLS
                      " FROM agg_day WHERE page_id = $1::int8"
                      " AND day BETWEEN $2::date AND $3::date ORDER BY day",
                      3, params, "date", KEY_DAY, 1, 1);
        break;
    case UNIT_MONTH:
        fmt_month_first(a, lo);
        fmt_month_first(b, hi);
        answer_series(resp, head,
                      "SELECT to_char(month, 'YYYY-MM'), " ROW_COLS
                      " FROM agg_month WHERE page_id = $1::int8"
                      " AND month BETWEEN $2::date AND $3::date"
                      " ORDER BY month",
                      3, params, "month", KEY_TEXT, 1, 1);
        break;
    case UNIT_YEAR:
        snprintf(lo, sizeof(lo), "%lld", (long long)a);
        snprintf(hi, sizeof(hi), "%lld", (long long)b);
        answer_series(resp, head,
                      "SELECT year, " ROW_COLS
                      " FROM agg_year WHERE page_id = $1::int8"
                      " AND year BETWEEN $2::int AND $3::int ORDER BY year",
                      3, params, "year", KEY_INT, 1, 1);
        break;
    }
}

void
api_daily(struct mf_http_req *req, const struct api_caller *who,
          struct mf_http_resp *resp)
{
    series(req, resp, UNIT_DAY);
}

void
api_monthly(struct mf_http_req *req, const struct api_caller *who,
            struct mf_http_resp *resp)
{
    series(req, resp, UNIT_MONTH);
}

void
api_yearly(struct mf_http_req *req, const struct api_caller *who,
           struct mf_http_resp *resp)
{
    series(req, resp, UNIT_YEAR);
}

/* The ten text parameters $2..$11 of RANGE_UNION for [a, b]. */
struct plan_text {
    char v[10][16];
};

static void
plan_params(int64_t a, int64_t b, struct plan_text *t, const char **params)
{
    struct api_range_plan p;
    api_range_plan(a, b, &p);
    for (int i = 0; i < 2; i++) {
        fmt_day(p.day_lo[i], t->v[2 * i]);
        fmt_day(p.day_hi[i], t->v[2 * i + 1]);
        fmt_month_first(p.month_lo[i], t->v[4 + 2 * i]);
        fmt_month_first(p.month_hi[i], t->v[4 + 2 * i + 1]);
        if (p.month_lo[i] > p.month_hi[i]) {
            /* Empty: an inverted pair of first days. */
            snprintf(t->v[4 + 2 * i], 16, "1970-02-01");
            snprintf(t->v[4 + 2 * i + 1], 16, "1970-01-01");
        }
        if (p.day_lo[i] > p.day_hi[i]) {
            snprintf(t->v[2 * i], 16, "1970-01-02");
            snprintf(t->v[2 * i + 1], 16, "1970-01-01");
        }
    }
    snprintf(t->v[8], 16, "%lld", (long long)p.year_lo);
    snprintf(t->v[9], 16, "%lld", (long long)p.year_hi);
    for (int i = 0; i < 10; i++)
        params[i] = t->v[i];
}

/* Parses from/to as dates spanning at most 200 years. */
static int
range_span(const struct api_query *q, int64_t *a, int64_t *b,
           struct mf_http_resp *resp)
{
    struct api_err err = {0};
    if (api_parse_span(q, UNIT_DAY, (int64_t)API_MAX_YEARS * 366, a, b, &err) !=
        0) {
        api_bad_request(resp, &err);
        return -1;
    }
    return 0;
}

/* Builds the range answer from the levels; NULL with resp answered. The
 * data version of the same snapshot goes to version. */
static json_t *
range_compute(const struct api_page *pg, const char *id, int64_t a, int64_t b,
              const struct api_query *q, char *version,
              struct mf_http_resp *resp)
{
    struct plan_text t;
    const char *params[11];
    params[0] = id;
    plan_params(a, b, &t, params + 1);
    struct mf_pg_res *r = NULL;
    if (api_db_prepared("SELECT (SELECT data_version FROM page WHERE "
                        "page_id = $1::int8), " MEASURES
                        " FROM (" RANGE_UNION(ONE_PAGE) ") s",
                        11, params, &r) != MF_PG_OK) {
        api_db_unavailable(resp);
        return NULL;
    }
    const char *v = mf_pg_res_value(r, 0, 0);
    snprintf(version, 24, "%s", v ? v : "gone");
    json_t *o = series_head(pg, q->from, q->to);
    json_t *totals = json_object();
    add_measures(totals, r, 0, 1);
    json_object_set_new(o, "totals", totals);
    mf_pg_res_free(r);
    return o;
}

/* A range request while its page lookup is out (lookup.c). */
struct range_job {
    struct api_lookup lookup;
    struct api_query q;
    struct api_page pg;
    int64_t a, b;
};

static void range_answer(const struct api_page *pg, const char *id,
                         const char *version, int64_t a, int64_t b,
                         const struct api_query *q, struct mf_http_resp *resp);

static void
range_start(struct mf_http_req *req, void *arg)
{
    (void)req;
    api_lookup_queue(&((struct range_job *)arg)->lookup);
}

static void
range_cont(struct mf_http_req *req, struct mf_http_resp *resp, void *arg)
{
    struct range_job *j = arg;
    if (resp != NULL) {
        char ctx[48];
        snprintf(ctx, sizeof(ctx), "req=%s", mf_http_req_id(req));
        mf_log_set_context(ctx);
        if (j->lookup.rc < 0)
            api_db_unavailable(resp);
        else if (j->lookup.rc == 0)
            mf_http_resp_problem(resp, 404, "Page not found",
                                 "No page with this path on this site.",
                                 "page");
        else
            range_answer(&j->pg, j->lookup.id, j->lookup.version, j->a, j->b,
                         &j->q, resp);
    }
    free(j);
}

/* The page is looked up by the lookup thread, with the lookups of the
 * other requests waiting at the same time; the answer is finished in
 * range_cont. */
void
api_range(struct mf_http_req *req, const struct api_caller *who,
          struct mf_http_resp *resp)
{
    (void)who;
    struct range_job *j = malloc(sizeof(*j));
    if (j == NULL) {
        mf_http_resp_problem(resp, 500, "Internal error", "Out of memory.",
                             NULL);
        return;
    }
    if (start(req, QP_SITE | QP_PAGE | QP_FROM | QP_TO, 1, &j->q, &j->pg,
              resp) != 0 ||
        range_span(&j->q, &j->a, &j->b, resp) != 0) {
        free(j);
        return;
    }
    j->lookup.req = req;
    j->lookup.site = j->pg.site;
    j->lookup.path = j->pg.path;
    mf_http_defer(req, range_start, range_cont, j);
}

/* The answer for page id at data version vers: from the process's copy,
 * from Redis, or computed from the levels and then stored. */
static void
range_answer(const struct api_page *pg, const char *id, const char *vers,
             int64_t a, int64_t b, const struct api_query *q,
             struct mf_http_resp *resp)
{
    char version[24], key[128];
    snprintf(version, sizeof(version), "%s", vers);

    /* The key names the page's data version: once an aggregate of the
     * page changes, the version moves and the old entry is never read. */
    snprintf(key, sizeof(key), "%srange:v1:%s:%s:%lld:%lld", api_g.redis_prefix,
             id, version, (long long)a, (long long)b);
    /* The process's own copy first, while Redis answers (without Redis
     * the answers are uncached, here too); then Redis, shared by the
     * replicas. */
    int cached = api_g.cache_enabled && api_g.redis != NULL;
    if (cached) {
        char *body = NULL;
        size_t len = 0;
        int rc = 0;
        if (mf_redis_up(api_g.redis))
            rc = api_lcache_get(key, &body, &len);
        if (rc == 0) {
            rc = mf_redis_get(api_g.redis, key, &body, &len);
            api_redis_state(rc >= 0);
            if (rc == 1)
                api_lcache_put(key, body, len, api_g.cache_ttl_s);
        }
        if (rc == 1) {
            api_metrics_cache(1);
            mf_http_resp_take(resp, 200, "application/json; charset=utf-8",
                              body, len);
            mf_http_resp_header(resp, "Cache-Status", "metriflow; hit");
            return;
        }
    }
    api_metrics_cache(0);
    json_t *o = range_compute(pg, id, a, b, q, version, resp);
    if (o == NULL)
        return;
    char *body = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(o);
    if (body == NULL) {
        mf_http_resp_problem(resp, 500, "Internal error",
                             "The answer could not be encoded.", NULL);
        return;
    }
    if (cached) {
        snprintf(key, sizeof(key), "%srange:v1:%s:%s:%lld:%lld",
                 api_g.redis_prefix, id, version, (long long)a, (long long)b);
        int ok = mf_redis_set(api_g.redis, key, body, strlen(body),
                              api_g.cache_ttl_s) == MF_REDIS_OK;
        api_redis_state(ok);
        if (ok)
            api_lcache_put(key, body, strlen(body), api_g.cache_ttl_s);
    }
    mf_http_resp_take(resp, 200, "application/json; charset=utf-8", body,
                      strlen(body));
    mf_http_resp_header(resp, "Cache-Status", "metriflow; fwd=miss");
}

void
api_summary(struct mf_http_req *req, const struct api_caller *who,
            struct mf_http_resp *resp)
{
    struct api_query q;
    struct api_page pg;
    int64_t a, b;
    if (start(req, QP_SITE | QP_FROM | QP_TO, 0, &q, &pg, resp) != 0 ||
        range_span(&q, &a, &b, resp) != 0)
        return;
    struct plan_text t;
    const char *params[11];
    params[0] = pg.site;
    plan_params(a, b, &t, params + 1);
    struct mf_pg_res *r = NULL;
    if (api_db("SELECT " MEASURES " FROM (" RANGE_UNION(SITE_PAGE) ") s", 11,
               params, &r, NULL) != MF_PG_OK) {
        api_db_unavailable(resp);
        return;
    }
    json_t *o = series_head(&pg, q.from, q.to);
    json_t *totals = json_object();
    add_measures(totals, r, 0, 0);
    mf_pg_res_free(r);
    json_object_set_new(o, "totals", totals);
    mf_http_resp_json(resp, 200, o);
}

void
api_top_pages(struct mf_http_req *req, const struct api_caller *who,
              struct mf_http_resp *resp)
{
    struct api_query q;
    struct api_page pg;
    struct api_err err = {0};
    int64_t a, b;
    int limit, sort;
    if (start(req, QP_SITE | QP_FROM | QP_TO | QP_SORT | QP_LIMIT, 0, &q, &pg,
              resp) != 0 ||
        range_span(&q, &a, &b, resp) != 0)
        return;
    if ((sort = api_parse_sort(q.sort, &err)) < 0 ||
        api_parse_limit(q.limit, 10, &limit, &err) != 0) {
        api_bad_request(resp, &err);
        return;
    }
    /* The sort key comes from a fixed list, never from the request. */
    char sql[4096], lim[16];
    snprintf(sql, sizeof(sql),
             "SELECT p.path, " MEASURES " FROM (" RANGE_UNION(
                 SITE_PAGE) ") s JOIN page p USING (page_id) GROUP BY p.path"
                            " ORDER BY %s DESC NULLS LAST, p.path COLLATE \"C\""
                            " LIMIT $12::int",
             api_sort_keys[sort]);
    snprintf(lim, sizeof(lim), "%d", limit);
    struct plan_text t;
    const char *params[12];
    params[0] = pg.site;
    plan_params(a, b, &t, params + 1);
    params[11] = lim;
    json_t *head = series_head(&pg, q.from, q.to);
    json_object_set_new(head, "sort", json_string(api_sort_keys[sort]));
    answer_series(resp, head, sql, 12, params, "path", KEY_TEXT, 0, 0);
}

void
api_pages(struct mf_http_req *req, const struct api_caller *who,
          struct mf_http_resp *resp)
{
    struct api_query q;
    struct api_page pg;
    struct api_err err = {0};
    int limit;
    char prefix[API_PATH_MAX + 1], after[API_PATH_MAX + 1];
    char pattern[2 * API_PATH_MAX + 2], lim[16];
    if (start(req, QP_SITE | QP_Q | QP_LIMIT | QP_CURSOR, 0, &q, &pg, resp) !=
        0)
        return;
    if (api_parse_prefix(q.q, prefix, &err) != 0 ||
        api_parse_limit(q.limit, 100, &limit, &err) != 0 ||
        (q.cursor != NULL && api_cursor_decode(q.cursor, after, &err) != 0)) {
        api_bad_request(resp, &err);
        return;
    }
    /* The prefix as a LIKE pattern: its own wildcards escaped. */
    size_t o = 0;
    for (const char *p = prefix; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            pattern[o++] = '\\';
        pattern[o++] = *p;
    }
    pattern[o++] = '%';
    pattern[o] = '\0';
    snprintf(lim, sizeof(lim), "%d", limit + 1);
    const char *params[] = {pg.site, pattern, q.cursor ? after : NULL, lim};
    struct mf_pg_res *r = NULL;
    if (api_db("SELECT path FROM page WHERE site = $1"
               " AND path LIKE $2 ESCAPE '\\'"
               " AND ($3::text IS NULL OR path COLLATE \"C\" > $3)"
               " ORDER BY path COLLATE \"C\" LIMIT $4::int",
               4, params, &r, NULL) != MF_PG_OK) {
        api_db_unavailable(resp);
        return;
    }
    json_t *out = json_object(), *rows = json_array();
    int n = mf_pg_res_rows(r);
    for (int i = 0; i < n && i < limit; i++) {
        json_t *row = json_object();
        json_object_set_new(row, "path", json_string(mf_pg_res_value(r, i, 0)));
        json_array_append_new(rows, row);
    }
    json_object_set_new(out, "site", json_string(pg.site));
    json_object_set_new(out, "rows", rows);
    char cursor[2 * API_PATH_MAX + 1];
    if (n > limit && api_cursor_encode(mf_pg_res_value(r, limit - 1, 0), cursor,
                                       sizeof(cursor)) == 0)
        json_object_set_new(out, "next_cursor", json_string(cursor));
    else
        json_object_set_new(out, "next_cursor", json_null());
    mf_pg_res_free(r);
    mf_http_resp_json(resp, 200, out);
}
