/*
 * Fuzzes the API's input parsing: the first byte chooses between a query
 * string (split, decoded, then every parameter parser and the range split)
 * and a JSON body (credentials and refresh requests).
 */
#include "params.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
fuzz_query(const char *s, size_t len)
{
    char qs[4096], buf[4200];
    if (len >= sizeof(qs))
        len = sizeof(qs) - 1;
    memcpy(qs, s, len);
    qs[len] = '\0';
    struct api_err e = {0};
    struct api_query q = {.allowed = 0x1ff};
    if (api_query_parse_string(&q, qs, buf, sizeof(buf), &e) != 0)
        return;

    struct api_page p;
    api_parse_page(&q, 1, &p, &e);
    api_parse_page(&q, 0, &p, &e);
    int64_t a, b, v;
    for (int u = UNIT_DAY; u <= UNIT_YEAR; u++)
        if (api_parse_span(&q, (enum api_unit)u, 0, &a, &b, &e) == 0 &&
            u == UNIT_DAY) {
            struct api_range_plan plan;
            api_range_plan(a, b, &plan);
        }
    if (q.date != NULL)
        api_parse_date(q.date, "date", &v, &e);
    int n;
    api_parse_limit(q.limit, 10, &n, &e);
    api_parse_sort(q.sort, &e);
    char out[API_PATH_MAX + 1];
    if (q.q != NULL)
        api_parse_prefix(q.q, out, &e);
    if (q.cursor != NULL && api_cursor_decode(q.cursor, out, &e) == 0) {
        char enc[2 * API_PATH_MAX + 1];
        if (api_cursor_encode(out, enc, sizeof(enc)) != 0)
            abort();
    }
}

static void
fuzz_body(const char *s, size_t len)
{
    struct api_err e = {0};
    struct api_credentials c;
    char tok[128];
    api_parse_credentials(s, len, 0, 1, &c, &e);
    api_parse_credentials(s, len, 1, 0, &c, &e);
    api_parse_refresh(s, len, tok, sizeof(tok), &e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_query((const char *)data + 1, size - 1);
    else
        fuzz_body((const char *)data + 1, size - 1);
    return 0;
}
