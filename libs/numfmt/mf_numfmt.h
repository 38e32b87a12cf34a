/*
 * mf_numfmt: numbers between text and double, fast and exactly as the C
 * library does it, for answers that hold thousands of numbers.
 *
 * mf_fmt_g12 writes what snprintf(buf, n, "%.12g", v) writes (the same
 * digits, correctly rounded, half to even); mf_parse_decimal reads what
 * strtod reads. Both take an exact integer path for the common cases and
 * call the C library for the rest, so the result is the same text or the
 * same double either way (tests/unit/test_numfmt.c checks this against
 * the C library on millions of values).
 */
#ifndef MF_NUMFMT_H
#define MF_NUMFMT_H

#include <stddef.h>

/* The longest text of mf_fmt_g12, with its NUL. */
#define MF_FMT_G12_MAX 32

/* Writes v as "%.12g" into buf (MF_FMT_G12_MAX bytes); returns the length. */
int mf_fmt_g12(double v, char *buf);

/* Reads the number at s as strtod(s, NULL) would. */
double mf_parse_decimal(const char *s);

#endif
