#include "mf_time.h"

#include <stdio.h>
#include <time.h>

/* Floor division for possibly negative numerators. */
static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int
mf_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
mf_days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && mf_is_leap(y))
        return 29;
    return days[m - 1];
}

/* Howard Hinnant's days-from-civil algorithm, on 400-year eras. */
int64_t
mf_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void
mf_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Reads exactly n decimal digits at s. Returns the value or -1. */
static int64_t
digits(const char *s, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int
parse_ymd(const char *s, int64_t *y, int *m, int *d)
{
    if (s[4] != '-' || s[7] != '-')
        return -1;
    *y = digits(s, 4);
    int64_t mm = digits(s + 5, 2), dd = digits(s + 8, 2);
    if (*y < 1 || mm < 1 || mm > 12 || dd < 1)
        return -1;
    if (dd > mf_days_in_month(*y, (int)mm))
        return -1;
    *m = (int)mm;
    *d = (int)dd;
    return 0;
}

int
mf_time_parse_date(const char *s, size_t len, int64_t *days)
{
    int64_t y;
    int m, d;
    if (len != 10 || parse_ymd(s, &y, &m, &d) != 0)
        return -1;
    *days = mf_days_from_civil(y, m, d);
    return 0;
}

int
mf_time_parse_month(const char *s, size_t len, int64_t *months)
{
    if (len != 7 || s[4] != '-')
        return -1;
    int64_t y = digits(s, 4), m = digits(s + 5, 2);
    if (y < 1 || m < 1 || m > 12)
        return -1;
    *months = y * 12 + (m - 1) - INT64_C(1970) * 12;
    return 0;
}

int
mf_time_parse_year(const char *s, size_t len, int64_t *year)
{
    if (len != 4)
        return -1;
    int64_t y = digits(s, 4);
    if (y < 1)
        return -1;
    *year = y;
    return 0;
}

static int
check_record_range(int64_t usec, const char **why)
{
    if (usec < MF_TS_MIN_SEC * MF_USEC_PER_SEC ||
        usec >= MF_TS_END_SEC * MF_USEC_PER_SEC) {
        *why = "ts is outside the years 1970-2199";
        return -1;
    }
    return 0;
}

/* Parses the clock part "HH:MM:SS[.frac]" and the offset; sets *secs (from
 * midnight, offset applied, may be negative or exceed a day) and *frac_us. */
static int
parse_clock_and_offset(const char *s, size_t len, int64_t *secs,
                       int64_t *frac_us, const char **why)
{
    size_t i = 8;
    int64_t hh = digits(s, 2), mi = digits(s + 3, 2), ss = digits(s + 6, 2);

    if (len < 9 || s[2] != ':' || s[5] != ':' || hh < 0 || mi < 0 || ss < 0) {
        *why = "ts is not an RFC 3339 date-time";
        return -1;
    }
    if (hh > 23 || mi > 59 || ss > 60) {
        *why = "ts has an invalid time of day";
        return -1;
    }
    if (ss == 60) {
        *why = "ts is a leap second, which UTC instants cannot hold";
        return -1;
    }

    /* Fraction: 1 to 6 digits. */
    *frac_us = 0;
    if (s[i] == '.') {
        int nd = 0;
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (++nd > 6) {
                *why = "ts has more than 6 fractional digits";
                return -1;
            }
            *frac_us = *frac_us * 10 + (s[i] - '0');
            i++;
        }
        if (nd == 0) {
            *why = "ts is not an RFC 3339 date-time";
            return -1;
        }
        for (int k = nd; k < 6; k++)
            *frac_us *= 10;
    }

    /* Offset: Z, or +HH:MM / -HH:MM. */
    int64_t off = 0;
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        off = 0;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') &&
               s[i + 3] == ':') {
        int64_t oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || om < 0 || oh > 23 || om > 59) {
            *why = "ts has an invalid UTC offset";
            return -1;
        }
        off = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    } else {
        *why = "ts is not an RFC 3339 date-time (offset missing or invalid)";
        return -1;
    }
    *secs = hh * 3600 + mi * 60 + ss - off;
    return 0;
}

int
mf_time_parse_rfc3339(const char *s, size_t len, int64_t *usec,
                      const char **why)
{
    int64_t y, secs, frac;
    int m, d;

    if (len < 20 || len > 35) {
        *why = "ts is not an RFC 3339 date-time";
        return -1;
    }
    if (s[4] != '-' || s[7] != '-' || digits(s, 4) < 0 ||
        digits(s + 5, 2) < 0 || digits(s + 8, 2) < 0) {
        *why = "ts is not an RFC 3339 date-time";
        return -1;
    }
    if (parse_ymd(s, &y, &m, &d) != 0) {
        *why = "ts has an invalid calendar date";
        return -1;
    }
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
        *why = "ts is not an RFC 3339 date-time";
        return -1;
    }
    if (parse_clock_and_offset(s + 11, len - 11, &secs, &frac, why) != 0)
        return -1;

    int64_t v =
        (mf_days_from_civil(y, m, d) * 86400 + secs) * MF_USEC_PER_SEC + frac;
    if (check_record_range(v, why) != 0)
        return -1;
    *usec = v;
    return 0;
}

int
mf_time_from_unix(int64_t sec, int64_t *usec, const char **why)
{
    if (sec < MF_TS_MIN_SEC || sec >= MF_TS_END_SEC) {
        *why = "ts is outside the years 1970-2199";
        return -1;
    }
    *usec = sec * MF_USEC_PER_SEC;
    return 0;
}

int64_t
mf_time_hour_start(int64_t usec)
{
    return floor_div(usec, MF_USEC_PER_HOUR) * MF_USEC_PER_HOUR;
}

int64_t
mf_time_day(int64_t usec)
{
    return floor_div(usec, MF_USEC_PER_DAY);
}

int
mf_time_interval(int64_t usec)
{
    int64_t hour = floor_div(usec, MF_USEC_PER_HOUR) - mf_time_day(usec) * 24;
    return (int)(hour / 4) + 1;
}

int64_t
mf_time_month(int64_t usec)
{
    int64_t y;
    int m, d;
    mf_civil_from_days(mf_time_day(usec), &y, &m, &d);
    return y * 12 + (m - 1) - INT64_C(1970) * 12;
}

int64_t
mf_time_year(int64_t usec)
{
    int64_t y;
    int m, d;
    mf_civil_from_days(mf_time_day(usec), &y, &m, &d);
    return y;
}

void
mf_time_format(int64_t usec, char *buf, size_t n)
{
    int64_t days = mf_time_day(usec), y;
    int64_t rem = usec - days * MF_USEC_PER_DAY;
    int64_t secs = rem / MF_USEC_PER_SEC, frac = rem % MF_USEC_PER_SEC;
    int m, d;

    mf_civil_from_days(days, &y, &m, &d);
    if (frac == 0)
        snprintf(buf, n, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    else
        snprintf(buf, n, "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                 (long long)y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60),
                 (int)(secs % 60), (long long)frac);
}

void
mf_time_format_date(int64_t days, char *buf, size_t n)
{
    int64_t y;
    int m, d;
    mf_civil_from_days(days, &y, &m, &d);
    snprintf(buf, n, "%04lld-%02d-%02d", (long long)y, m, d);
}

double
mf_time_mono_s(void)
{
    return (double)mf_time_mono_ns() / 1e9;
}

int64_t
mf_time_mono_ms(void)
{
    return mf_time_mono_ns() / 1000000;
}

int64_t
mf_time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
mf_time_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
