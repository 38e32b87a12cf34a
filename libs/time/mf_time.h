/*
 * mf_time: UTC instants and the calendar periods of the pipeline.
 *
 * An instant is an int64 count of microseconds since 1970-01-01T00:00:00Z.
 * Records are valid from 1970-01-01 to 2199-12-31 (records.md); the helpers
 * below work for any year from 1 to 9999, the parsers enforce the record
 * bounds where noted.
 */
#ifndef MF_TIME_H
#define MF_TIME_H

#include <stddef.h>
#include <stdint.h>

#define MF_USEC_PER_SEC  INT64_C(1000000)
#define MF_USEC_PER_HOUR (INT64_C(3600) * MF_USEC_PER_SEC)
#define MF_USEC_PER_DAY  (INT64_C(86400) * MF_USEC_PER_SEC)
/* First and one-past-last valid record second: 1970-01-01, 2200-01-01. */
#define MF_TS_MIN_SEC INT64_C(0)
#define MF_TS_END_SEC INT64_C(7258118400)

/* The monotonic clock (for intervals, never for dates): seconds,
 * milliseconds and nanoseconds since an unspecified start. */
double mf_time_mono_s(void);
int64_t mf_time_mono_ms(void);
int64_t mf_time_mono_ns(void);
/* Sleeps ms milliseconds (less when a signal interrupts it). */
void mf_time_sleep_ms(int64_t ms);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
int64_t mf_days_from_civil(int64_t y, int m, int d);

/* Inverse of mf_days_from_civil. */
void mf_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* 1 for a Gregorian leap year. */
int mf_is_leap(int64_t y);

/* Days in month m (1-12) of year y. */
int mf_days_in_month(int64_t y, int m);

/*
 * Parses an RFC 3339 date-time ("2026-03-14T10:00:00Z", "…T10:00:00.5+02:00";
 * 't', 'z' and a space for 'T' accepted; at most 6 fractional digits; no leap
 * second) into UTC microseconds. The UTC instant must fall in the record
 * years 1970-2199. Returns 0, or -1 with *why set to a static reason and
 * *usec unchanged.
 */
int mf_time_parse_rfc3339(const char *s, size_t len, int64_t *usec,
                          const char **why);

/*
 * Checks integer Unix seconds against the record years and converts them.
 * Returns 0, or -1 with *why set.
 */
int mf_time_from_unix(int64_t sec, int64_t *usec, const char **why);

/* Parses "YYYY-MM-DD" (any year 0001-9999) to days since epoch. 0 or -1. */
int mf_time_parse_date(const char *s, size_t len, int64_t *days);

/* Parses "YYYY-MM" to months since 1970-01 (year*12+month-1 - 1970*12). */
int mf_time_parse_month(const char *s, size_t len, int64_t *months);

/* Parses "YYYY" (0001-9999). 0 or -1. */
int mf_time_parse_year(const char *s, size_t len, int64_t *year);

/* Floor division of an instant to its UTC hour, day (days since epoch),
 * 4-hour interval of the day (1-6), month (months since 1970-01), year. */
int64_t mf_time_hour_start(int64_t usec);
int64_t mf_time_day(int64_t usec);
int mf_time_interval(int64_t usec);
int64_t mf_time_month(int64_t usec);
int64_t mf_time_year(int64_t usec);

/* Formats as "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" into buf (>= 32 bytes). */
void mf_time_format(int64_t usec, char *buf, size_t n);

/* Formats days since epoch as "YYYY-MM-DD" into buf (>= 11 bytes). */
void mf_time_format_date(int64_t days, char *buf, size_t n);

#endif
