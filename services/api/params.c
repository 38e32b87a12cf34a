/* Parsing of the API's parameters and bodies. */
#include "params.h"

#include "mf_time.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
    size_t off;
} qp_names[] = {
    {"site", QP_SITE, offsetof(struct api_query, site)},
    {"page", QP_PAGE, offsetof(struct api_query, page)},
    {"from", QP_FROM, offsetof(struct api_query, from)},
    {"to", QP_TO, offsetof(struct api_query, to)},
    {"date", QP_DATE, offsetof(struct api_query, date)},
    {"q", QP_Q, offsetof(struct api_query, q)},
    {"sort", QP_SORT, offsetof(struct api_query, sort)},
    {"limit", QP_LIMIT, offsetof(struct api_query, limit)},
    {"cursor", QP_CURSOR, offsetof(struct api_query, cursor)},
};

static int
fail(struct api_err *err, const char *field, const char *detail)
{
    err->field = field;
    snprintf(err->detail, sizeof(err->detail), "%s", detail);
    return -1;
}

int
api_query_add(struct api_query *q, const char *name, const char *value,
              struct api_err *err)
{
    for (size_t i = 0; i < sizeof(qp_names) / sizeof(qp_names[0]); i++) {
        if (strcmp(name, qp_names[i].name) != 0)
            continue;
        if (!(q->allowed & qp_names[i].bit))
            break;
        if (q->seen & qp_names[i].bit)
            return fail(err, qp_names[i].name,
                        "The parameter is given more than once.");
        q->seen |= qp_names[i].bit;
        *(const char **)((char *)q + qp_names[i].off) = value ? value : "";
        return 0;
    }
    err->field = NULL;
    for (size_t i = 0; i < sizeof(qp_names) / sizeof(qp_names[0]); i++)
        if (strcmp(name, qp_names[i].name) == 0)
            err->field = qp_names[i].name;
    snprintf(err->detail, sizeof(err->detail),
             "This route does not accept the parameter '%.40s'.", name);
    if (!api_text_ok(name, strlen(name)))
        snprintf(err->detail, sizeof(err->detail),
                 "This route does not accept one of the parameters.");
    return -1;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) ('+' as space, %XX) into out, NUL-terminated. */
static size_t
url_decode(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
                   hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o++] = '\0';
    return o;
}

int
api_query_parse_string(struct api_query *q, const char *qs, char *buf, size_t n,
                       struct api_err *err)
{
    size_t len = strlen(qs), used = 0;
    if (len + 2 > n)
        return fail(err, NULL, "The query string is too long.");
    const char *p = qs, *end = qs + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop == p) {
            p = stop + 1;
            continue;
        }
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        char *name = buf + used;
        used += url_decode(p, (size_t)((eq ? eq : stop) - p), name);
        char *value = NULL;
        if (eq != NULL) {
            value = buf + used;
            used += url_decode(eq + 1, (size_t)(stop - eq - 1), value);
        }
        if (api_query_add(q, name, value, err) != 0)
            return -1;
        p = stop + 1;
    }
    return 0;
}

int
api_text_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        size_t need;
        unsigned cp;
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            need = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        /* Overlong forms, surrogates, beyond U+10FFFF, C1 controls. */
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
            (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return 0;
        i += need + 1;
    }
    return 1;
}

int
api_parse_page(const struct api_query *q, int need_page, struct api_page *out,
               struct api_err *err)
{
    const char *site = q->site ? q->site : "default";
    size_t slen = strlen(site);
    if (slen == 0 || slen > API_SITE_MAX || !api_text_ok(site, slen) ||
        strchr(site, '/') != NULL || strchr(site, ' ') != NULL)
        return fail(
            err, "site",
            "site must be 1-253 printable characters without '/' or spaces.");
    for (size_t i = 0; i <= slen; i++) {
        char c = site[i];
        out->site[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out->path[0] = '\0';
    if (!need_page)
        return 0;
    if (q->page == NULL || q->page[0] == '\0')
        return fail(err, "page",
                    "page is required: the page's path, URL-encoded.");
    size_t plen = strlen(q->page);
    if (q->page[0] != '/' || plen > API_PATH_MAX || !api_text_ok(q->page, plen))
        return fail(
            err, "page",
            "page must be a path starting with '/', at most 2048 bytes of printable UTF-8.");
    memcpy(out->path, q->page, plen + 1);
    while (plen > 1 && out->path[plen - 1] == '/')
        out->path[--plen] = '\0';
    return 0;
}

static int
bad_value(struct api_err *err, const char *field, const char *want)
{
    err->field = field;
    snprintf(err->detail, sizeof(err->detail), "%s must be %s.", field, want);
    return -1;
}

int
api_parse_date(const char *s, const char *field, int64_t *days,
               struct api_err *err)
{
    if (s == NULL)
        return bad_value(err, field, "a date YYYY-MM-DD (required)");
    if (mf_time_parse_date(s, strlen(s), days) != 0)
        return bad_value(err, field, "a valid date YYYY-MM-DD");
    return 0;
}

int
api_parse_month(const char *s, const char *field, int64_t *months,
                struct api_err *err)
{
    if (s == NULL)
        return bad_value(err, field, "a month YYYY-MM (required)");
    if (mf_time_parse_month(s, strlen(s), months) != 0)
        return bad_value(err, field, "a valid month YYYY-MM");
    return 0;
}

int
api_parse_year(const char *s, const char *field, int64_t *year,
               struct api_err *err)
{
    if (s == NULL)
        return bad_value(err, field, "a year YYYY (required)");
    if (mf_time_parse_year(s, strlen(s), year) != 0)
        return bad_value(err, field, "a valid year YYYY");
    return 0;
}

int
api_parse_span(const struct api_query *q, enum api_unit unit, int64_t max,
               int64_t *a, int64_t *b, struct api_err *err)
{
    static const char *const unit_names[] = {"days", "months", "years"};
    static const int64_t limits[] = {API_MAX_DAYS, API_MAX_MONTHS,
                                     API_MAX_YEARS};
    int (*parse)(const char *, const char *, int64_t *, struct api_err *) =
        unit == UNIT_DAY     ? api_parse_date
        : unit == UNIT_MONTH ? api_parse_month
                             : api_parse_year;
    if (parse(q->from, "from", a, err) != 0 || parse(q->to, "to", b, err) != 0)
        return -1;
    if (*a > *b)
        return fail(err, "to", "to must not be before from.");
    if (max == 0)
        max = limits[unit];
    if (*b - *a + 1 > max) {
        err->field = "to";
        snprintf(err->detail, sizeof(err->detail),
                 "The range spans %lld %s; at most %lld are allowed.",
                 (long long)(*b - *a + 1), unit_names[unit], (long long)max);
        return -1;
    }
    return 0;
}

int
api_parse_limit(const char *s, int def, int *out, struct api_err *err)
{
    if (s == NULL) {
        *out = def;
        return 0;
    }
    int v = 0;
    size_t len = strlen(s);
    if (len == 0 || len > 4)
        return bad_value(err, "limit", "an integer from 1 to 1000");
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return bad_value(err, "limit", "an integer from 1 to 1000");
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > API_MAX_LIMIT)
        return bad_value(err, "limit", "an integer from 1 to 1000");
    *out = v;
    return 0;
}

const char *const api_sort_keys[] = {
    "views",
    "users",
    "sessions",
    "bounces",
    "duration_s",
    "psi_samples",
    "bounce_rate",
    "avg_session_duration_s",
    "performance_score",
    "lcp_ms",
    "cls",
    "inp_ms",
    "fcp_ms",
    "ttfb_ms",
    NULL,
};

int
api_parse_sort(const char *s, struct api_err *err)
{
    if (s == NULL)
        return 0;
    for (int i = 0; api_sort_keys[i] != NULL; i++)
        if (strcmp(s, api_sort_keys[i]) == 0)
            return i;
    bad_value(
        err, "sort",
        "one of views, users, sessions, bounces, duration_s, psi_samples, bounce_rate, avg_session_duration_s, performance_score, lcp_ms, cls, inp_ms, fcp_ms, ttfb_ms");
    return -1;
}

int
api_parse_prefix(const char *s, char *out, struct api_err *err)
{
    out[0] = '\0';
    if (s == NULL || s[0] == '\0')
        return 0;
    size_t len = strlen(s);
    if (s[0] != '/' || len > API_PATH_MAX || !api_text_ok(s, len))
        return bad_value(err, "q", "a path prefix starting with '/'");
    memcpy(out, s, len + 1);
    return 0;
}

int
api_cursor_encode(const char *path, char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = strlen(path);
    if (2 * len + 1 > n)
        return -1;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[(unsigned char)path[i] >> 4];
        out[2 * i + 1] = hex[(unsigned char)path[i] & 15];
    }
    out[2 * len] = '\0';
    return 0;
}

int
api_cursor_decode(const char *s, char *out, struct api_err *err)
{
    size_t len = strlen(s);
    if (len == 0 || len % 2 != 0 || len / 2 > API_PATH_MAX)
        return bad_value(err, "cursor", "a cursor returned by this API");
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return bad_value(err, "cursor", "a cursor returned by this API");
        out[i / 2] = (char)(hi * 16 + lo);
    }
    out[len / 2] = '\0';
    if (!api_text_ok(out, len / 2) || out[0] != '/')
        return bad_value(err, "cursor", "a cursor returned by this API");
    return 0;
}

/* Months since 1970-01 of a day, and the first day of a month. */
static int64_t
month_of(int64_t day)
{
    int64_t y;
    int m, d;
    mf_civil_from_days(day, &y, &m, &d);
    return y * 12 + (m - 1) - INT64_C(1970) * 12;
}

static int64_t
month_first_day(int64_t month)
{
    int64_t t = month + INT64_C(1970) * 12;
    int64_t y = t >= 0 ? t / 12 : -((-t + 11) / 12);
    return mf_days_from_civil(y, (int)(t - y * 12) + 1, 1);
}

static int64_t
month_year(int64_t month)
{
    int64_t t = month + INT64_C(1970) * 12;
    return t >= 0 ? t / 12 : -((-t + 11) / 12);
}

void
api_range_plan(int64_t from, int64_t to, struct api_range_plan *p)
{
    /* Everything empty until found. */
    for (int i = 0; i < 2; i++) {
        p->day_lo[i] = p->month_lo[i] = 1;
        p->day_hi[i] = p->month_hi[i] = 0;
    }
    p->year_lo = 1;
    p->year_hi = 0;

    /* Whole months: the first starting on or after from, the last ending
     * on or before to. */
    int64_t m_lo = month_of(from);
    if (month_first_day(m_lo) < from)
        m_lo++;
    int64_t m_hi = month_of(to);
    if (month_first_day(m_hi + 1) - 1 > to)
        m_hi--;
    if (m_lo > m_hi) {
        p->day_lo[0] = from;
        p->day_hi[0] = to;
        return;
    }
    p->day_lo[0] = from;
    p->day_hi[0] = month_first_day(m_lo) - 1;
    p->day_lo[1] = month_first_day(m_hi + 1);
    p->day_hi[1] = to;

    /* Whole years inside the whole months. */
    int64_t y_lo = month_year(m_lo);
    if (y_lo * 12 - INT64_C(1970) * 12 < m_lo)
        y_lo++;
    int64_t y_hi = month_year(m_hi);
    if ((y_hi + 1) * 12 - INT64_C(1970) * 12 - 1 > m_hi)
        y_hi--;
    if (y_lo > y_hi) {
        p->month_lo[0] = m_lo;
        p->month_hi[0] = m_hi;
        return;
    }
    p->month_lo[0] = m_lo;
    p->month_hi[0] = y_lo * 12 - INT64_C(1970) * 12 - 1;
    p->month_lo[1] = (y_hi + 1) * 12 - INT64_C(1970) * 12;
    p->month_hi[1] = m_hi;
    p->year_lo = y_lo;
    p->year_hi = y_hi;
}

/* Loads a JSON object body strictly. NULL with *err on failure. */
static json_t *
load_object(const char *body, size_t len, struct api_err *err)
{
    json_error_t je;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL) {
        fail(err, NULL, "The body is not valid JSON.");
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        fail(err, NULL, "The body must be a JSON object.");
        return NULL;
    }
    return o;
}

/* Copies string member name into out (size n). 0, or -1 with *err. */
static int
get_string(json_t *o, const char *name, char *out, size_t n, size_t *len,
           struct api_err *err)
{
    json_t *v = json_object_get(o, name);
    if (v == NULL)
        return fail(err, name, "The field is required.");
    if (!json_is_string(v))
        return fail(err, name, "The field must be a string.");
    size_t l = json_string_length(v);
    const char *s = json_string_value(v);
    if (l >= n || memchr(s, '\0', l) != NULL)
        return fail(err, name, "The field is too long or contains NUL.");
    memcpy(out, s, l + 1);
    if (len != NULL)
        *len = l;
    return 0;
}

/* An e-mail address: printable, no spaces, one '@' with text on both
 * sides and a dot after it. Lower-cased in place. */
static int
check_email(char *e, struct api_err *err)
{
    size_t len = strlen(e);
    char *at = strchr(e, '@');
    if (len < 3 || !api_text_ok(e, len) || strchr(e, ' ') != NULL ||
        at == NULL || at == e || strchr(at + 1, '@') != NULL || at[1] == '\0' ||
        strchr(at + 1, '.') == NULL)
        return fail(err, "email",
                    "email must be an address like name@example.org.");
    for (char *p = e; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return 0;
}

int
api_parse_credentials(const char *body, size_t len, int allow_role,
                      int check_password, struct api_credentials *out,
                      struct api_err *err)
{
    memset(out, 0, sizeof(*out));
    json_t *o = load_object(body, len, err);
    if (o == NULL)
        return -1;
    int rc = -1;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "email") != 0 && strcmp(key, "password") != 0 &&
            !(allow_role && strcmp(key, "role") == 0)) {
            fail(err, NULL, "The body has a field this route does not accept.");
            goto out;
        }
    }
    if (get_string(o, "email", out->email, sizeof(out->email), NULL, err) !=
            0 ||
        check_email(out->email, err) != 0)
        goto out;
    if (get_string(o, "password", out->password, sizeof(out->password),
                   &out->password_len, err) != 0)
        goto out;
    if (check_password && out->password_len < 10) {
        fail(err, "password", "password must have at least 10 characters.");
        goto out;
    }
    if (json_object_get(o, "role") != NULL) {
        if (get_string(o, "role", out->role, sizeof(out->role), NULL, err) != 0)
            goto out;
        if (strcmp(out->role, "admin") != 0 &&
            strcmp(out->role, "viewer") != 0) {
            fail(err, "role", "role must be admin or viewer.");
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int
api_parse_refresh(const char *body, size_t len, char *out, size_t n,
                  struct api_err *err)
{
    json_t *o = load_object(body, len, err);
    if (o == NULL)
        return -1;
    int rc = -1;
    if (json_object_size(o) != 1) {
        fail(err, NULL, "The body must hold exactly the field refresh_token.");
        goto out;
    }
    rc = get_string(o, "refresh_token", out, n, NULL, err);
out:
    json_decref(o);
    return rc;
}
