/*
 * libFuzzer harness for mf_scan and mf_record: any bytes, parsed as a
 * final buffer and as a streaming one, with and without a forced kind.
 * Besides the sanitizers it checks the parser's own promises: a value
 * parsed whole is asked to wait for more when cut short, a prefix never
 * gives a different verdict, and accepted records respect their bounds.
 */
#include "mf_record.h"
#include "mf_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
check_record(const struct mf_record *r)
{
    if (r->site_len == 0 || r->site_len > MF_RECORD_SITE_MAX)
        abort();
    if (r->path_len == 0 || r->path_len > MF_RECORD_PAGE_MAX ||
        r->path[0] != '/')
        abort();
    if (r->path_len > 1 && r->path[r->path_len - 1] == '/')
        abort();
    for (size_t i = 0; i < r->site_len; i++)
        if (r->site[i] >= 'A' && r->site[i] <= 'Z')
            abort();
    if (r->ts_usec < 0)
        abort();
    if (r->kind == MF_RECORD_GA &&
        (r->users < 0 || r->sessions < 0 || r->views < 0 ||
         r->bounces > r->sessions || r->duration_s.neg ||
         r->duration_s.nfrac > MF_RECORD_FRAC_MAX))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mf_record rec;
    struct mf_record_err err;
    size_t used = 0, used2 = 0;
    const char *buf = (const char *)data;

    int rc =
        mf_record_parse(buf, size, 7, 1, MF_RECORD_UNKNOWN, &rec, &used, &err);
    if (rc == MF_RECORD_MORE)
        abort(); /* a final buffer never asks for more */
    if (rc == MF_RECORD_OK)
        check_record(&rec);
    if (rc == MF_RECORD_SYNTAX && (err.offset < 7 || err.offset > 7 + size))
        abort();
    if (rc >= 0 && used > size)
        abort();

    /* The same bytes as the start of a stream: same verdict, or more. */
    int rc2 =
        mf_record_parse(buf, size, 7, 0, MF_RECORD_GA, &rec, &used2, &err);
    if (rc2 == MF_RECORD_OK)
        check_record(&rec);
    if (rc >= 0 && rc2 != MF_RECORD_MORE && (rc2 < 0 || used2 != used))
        abort();

    /* A value cut in half is incomplete, never wrong. */
    if (rc >= 0 && used > 1) {
        size_t half = used / 2;
        while (half > 0 && (data[half - 1] == ' ' || data[half - 1] == '\n' ||
                            data[half - 1] == '\r' || data[half - 1] == '\t'))
            half--;
        if (half > 0) {
            int rc3 = mf_record_parse(buf, half, 7, 0, MF_RECORD_PSI, &rec,
                                      &used2, &err);
            if (rc3 != MF_RECORD_MORE && !(rc3 >= 0 && used2 == half))
                abort();
        }
    }

    /* The scanner's skip agrees with the record parser on syntax. */
    struct mf_scan s;
    mf_scan_init(&s, buf, size, 0, 1);
    int srec = mf_scan_skip(&s);
    /* (members of a record may nest 512 levels below the record itself) */
    if ((srec == MF_SCAN_OK) != (rc >= 0) &&
        !(srec == MF_SCAN_SYNTAX && strstr(s.why, "nest") != NULL))
        abort();
    if (srec == MF_SCAN_OK && rc >= 0 && s.pos != used)
        abort();
    return 0;
}
