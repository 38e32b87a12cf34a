/*
 * mf_log: one event per line on standard error.
 *
 * Every line reads
 *   ts=2026-03-14T10:00:00.123Z level=info component=ingest ctx msg="..." k=v
 * where ctx is the calling thread's context (stage, batch, request id) and
 * the fields after msg are the caller's. Lines are written with a single
 * write(2), so concurrent threads never interleave within a line.
 * Only daemon layers log; libraries return errors instead.
 */
#ifndef MF_LOG_H
#define MF_LOG_H

#include <stddef.h>

enum mf_log_level { MF_LOG_DEBUG, MF_LOG_INFO, MF_LOG_WARN, MF_LOG_ERROR };

/* Sets the component name (copied, at most 31 bytes) and minimum level. */
void mf_log_init(const char *component, enum mf_log_level level);

/* Parses "debug|info|warn|error". Returns 0, or -1 leaving *out unchanged. */
int mf_log_parse_level(const char *s, enum mf_log_level *out);

/* Sets this thread's context fields (copied, at most 127 bytes), for example
 * "stage=daily" or "req=4f2a". NULL clears it. */
void mf_log_set_context(const char *ctx);

/*
 * Writes one event: msg is a fixed message, fields_fmt formats key=value
 * fields (may be NULL). User-supplied strings must go through mf_log_q.
 */
void mf_log_event(enum mf_log_level level, const char *msg,
                  const char *fields_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns 1 when events of this level are written. */
int mf_log_enabled(enum mf_log_level level);

/*
 * Quotes s for a log field into buf (size n >= 8): double quotes, control
 * characters escaped, truncated to at most 120 bytes of input with "...".
 * Returns buf.
 */
const char *mf_log_q(char *buf, size_t n, const char *s);

#define mf_debug(msg, ...) mf_log_event(MF_LOG_DEBUG, msg, __VA_ARGS__)
#define mf_info(msg, ...)  mf_log_event(MF_LOG_INFO, msg, __VA_ARGS__)
#define mf_warn(msg, ...)  mf_log_event(MF_LOG_WARN, msg, __VA_ARGS__)
#define mf_error(msg, ...) mf_log_event(MF_LOG_ERROR, msg, __VA_ARGS__)

#endif
