/*
 * The API's input parsing: query parameters, request bodies, cursors and
 * the split of a date range into whole years, whole months and days.
 * Pure functions (no I/O), unit-tested and fuzzed.
 */
#ifndef API_PARAMS_H
#define API_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#define API_MAX_DAYS   3700
#define API_MAX_MONTHS 1200
#define API_MAX_YEARS  200
#define API_MAX_LIMIT  1000
#define API_PATH_MAX   2048 /* bytes of a page path */
#define API_SITE_MAX   253
#define API_EMAIL_MAX  254

/* What went wrong: the parameter at fault and a sentence for the client. */
struct api_err {
    const char *field; /* static; NULL when no single parameter */
    char detail[200];
};

/* The query parameters the API knows; each appears at most once. */
enum api_qp {
    QP_SITE = 1 << 0,
    QP_PAGE = 1 << 1,
    QP_FROM = 1 << 2,
    QP_TO = 1 << 3,
    QP_DATE = 1 << 4,
    QP_Q = 1 << 5,
    QP_SORT = 1 << 6,
    QP_LIMIT = 1 << 7,
    QP_CURSOR = 1 << 8,
};

struct api_query {
    unsigned allowed; /* set by the caller: QP_* this route accepts */
    unsigned seen;
    const char *site, *page, *from, *to, *date, *q, *sort, *limit, *cursor;
};

/*
 * Records one parameter (value NULL for "?name" without '='). Returns 0,
 * or -1 with *err set for an unknown, unaccepted or repeated parameter.
 * The strings are borrowed, not copied.
 */
int api_query_add(struct api_query *q, const char *name, const char *value,
                  struct api_err *err);

/*
 * Splits a raw query string ("a=1&b=%20x") into decoded name/value pairs
 * in buf (size n) and records each with api_query_add; the pointers in q
 * point into buf. Returns 0 or -1 with *err set. Used where no HTTP
 * library has done the splitting (tests, fuzzing).
 */
int api_query_parse_string(struct api_query *q, const char *qs, char *buf,
                           size_t n, struct api_err *err);

/* The page and site of a request, normalised as the records are. */
struct api_page {
    char site[API_SITE_MAX + 1];
    char path[API_PATH_MAX + 1];
};

/*
 * Validates and normalises site (default "default"; lower-cased) and, when
 * need_page, page (required; starts with '/', trailing '/' removed except
 * for the root). Returns 0 or -1 with *err naming the parameter.
 */
int api_parse_page(const struct api_query *q, int need_page,
                   struct api_page *out, struct api_err *err);

/* Strict "YYYY-MM-DD" to days since 1970-01-01. 0 or -1 (err names
 * field). */
int api_parse_date(const char *s, const char *field, int64_t *days,
                   struct api_err *err);
/* Strict "YYYY-MM" to months since 1970-01. */
int api_parse_month(const char *s, const char *field, int64_t *months,
                    struct api_err *err);
/* Strict "YYYY" (1-9999). */
int api_parse_year(const char *s, const char *field, int64_t *year,
                   struct api_err *err);

/* The unit of a from/to pair. */
enum api_unit { UNIT_DAY, UNIT_MONTH, UNIT_YEAR };

/*
 * Parses from and to (both required) in unit, checks from <= to and that
 * the span is at most max units (0: the unit's series limit). Returns 0
 * with *a, *b set, or -1.
 */
int api_parse_span(const struct api_query *q, enum api_unit unit, int64_t max,
                   int64_t *a, int64_t *b, struct api_err *err);

/* "limit": absent gives def; else 1..API_MAX_LIMIT. */
int api_parse_limit(const char *s, int def, int *out, struct api_err *err);

/* The sort keys of top pages, each a column of the measures. */
extern const char *const api_sort_keys[];
/* "sort": absent gives "views"; else one of api_sort_keys. Returns the
 * index into api_sort_keys or -1. */
int api_parse_sort(const char *s, struct api_err *err);

/* "q", a path prefix: absent or empty gives ""; else it must start with
 * '/'. Copies into out (API_PATH_MAX + 1). */
int api_parse_prefix(const char *s, char *out, struct api_err *err);

/*
 * A cursor for /pages is the last path of the previous page, hex-encoded.
 * api_cursor_encode writes 2*len+1 bytes into out (size n) or returns -1;
 * api_cursor_decode checks and decodes s into out (API_PATH_MAX + 1).
 */
int api_cursor_encode(const char *path, char *out, size_t n);
int api_cursor_decode(const char *s, char *out, struct api_err *err);

/* 1 when s (len bytes) is valid UTF-8 without control characters. */
int api_text_ok(const char *s, size_t len);

/*
 * The levels a date range is read from: at most two runs of days (before
 * and after the whole months), two runs of whole months (before and after
 * the whole years) and one run of whole years. A run with lo > hi is
 * empty. Days count from 1970-01-01, months from 1970-01.
 */
struct api_range_plan {
    int64_t day_lo[2], day_hi[2];
    int64_t month_lo[2], month_hi[2];
    int64_t year_lo, year_hi;
};

/* Splits [from, to] (days, from <= to). */
void api_range_plan(int64_t from, int64_t to, struct api_range_plan *p);

/* Credentials of register and login. */
struct api_credentials {
    char email[API_EMAIL_MAX + 1];
    char password[1025];
    size_t password_len;
    char role[16]; /* "" when not given */
};

/*
 * Parses {"email","password"[,"role"]} (role only when allow_role): a JSON
 * object, no other keys, strings; email trimmed of nothing, lower-cased,
 * with one '@'; password MF 10..1024 bytes when check_password. Returns 0,
 * or -1 with *err (field "email", "password", "role" or NULL for bad JSON).
 * The caller wipes out->password.
 */
int api_parse_credentials(const char *body, size_t len, int allow_role,
                          int check_password, struct api_credentials *out,
                          struct api_err *err);

/* Parses {"refresh_token": "..."} into out (at least 64 bytes). */
int api_parse_refresh(const char *body, size_t len, char *out, size_t n,
                      struct api_err *err);

#endif
