/*
 * mf_record: one input record (records.md) checked and normalised.
 *
 * mf_record_parse reads one JSON value from a buffer with mf_scan, keeps
 * the last occurrence of every listed member (later ones replace earlier
 * ones, whatever their type), skips every other member whatever its
 * nesting, then decides the kind and applies the rules of records.md:
 * types, ranges, required members, and the normalisation of site and path.
 * Numbers are kept exactly: integers as int64, the numeric members as
 * canonical decimals of at most MF_RECORD_FRAC_MAX fractional digits.
 * Nothing is allocated.
 */
#ifndef MF_RECORD_H
#define MF_RECORD_H

#include "mf_scan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_RECORD_PAGE_MAX 2048
#define MF_RECORD_SITE_MAX 253
/* Fractional digits a numeric member may need (after dropping trailing
 * zeros); PostgreSQL's numeric stores them exactly. */
#define MF_RECORD_FRAC_MAX 15

enum mf_record_kind {
    MF_RECORD_UNKNOWN = 0,
    MF_RECORD_GA = 1,
    MF_RECORD_PSI = 2,
};

/* The PSI metrics, in the column order of raw_psi. */
enum mf_record_psi {
    MF_PSI_PERFORMANCE_SCORE,
    MF_PSI_LCP_MS,
    MF_PSI_CLS,
    MF_PSI_INP_MS,
    MF_PSI_FCP_MS,
    MF_PSI_TTFB_MS,
    MF_PSI_COUNT
};

/* An accepted record. Strings are not NUL-terminated. */
struct mf_record {
    enum mf_record_kind kind;
    size_t site_len, path_len;
    char site[MF_RECORD_SITE_MAX];
    char path[MF_RECORD_PAGE_MAX];
    int64_t ts_usec; /* UTC microseconds since 1970 */
    /* ga */
    int64_t users, sessions, views, bounces;
    struct mf_scan_dec duration_s;
    /* psi: present[i] is false for an absent optional metric */
    bool present[MF_PSI_COUNT];
    struct mf_scan_dec psi[MF_PSI_COUNT];
};

enum {
    MF_RECORD_OK = 0,
    MF_RECORD_REJECT = 1,  /* valid JSON that breaks a rule: err->why */
    MF_RECORD_SYNTAX = -1, /* invalid JSON: err->why at err->offset */
    MF_RECORD_MORE = -2,   /* the buffer ends inside the value */
};

struct mf_record_err {
    const char *why;          /* static text naming the member */
    uint64_t offset;          /* absolute offset of a syntax error */
    enum mf_record_kind kind; /* the kind, when it could be told */
};

/*
 * Parses the JSON value at the start of buf[0..len) (leading whitespace
 * allowed), the first byte being at stream offset base; final says the
 * buffer's end is the input's end. forced is the --source kind or
 * MF_RECORD_UNKNOWN. On MF_RECORD_OK *out holds the record; on OK and
 * REJECT *used is the number of bytes the value took (whitespace before it
 * included), so the caller can go on after it. On REJECT or SYNTAX *err
 * says why. *out is unspecified unless OK.
 */
int mf_record_parse(const char *buf, size_t len, uint64_t base, int final,
                    enum mf_record_kind forced, struct mf_record *out,
                    size_t *used, struct mf_record_err *err);

/* "ga", "psi" or NULL. */
const char *mf_record_kind_name(enum mf_record_kind kind);

/* Parses "ga" or "psi". Returns 0, or -1 with *kind unchanged. */
int mf_record_kind_parse(const char *s, enum mf_record_kind *kind);

#endif
