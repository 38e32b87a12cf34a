/*
 * mf_redis: the only place that calls hiredis. A small locked pool of
 * connections shared by the threads of a daemon, a few commands, and Lua
 * scripts run by EVALSHA with a reload when the server forgot them.
 *
 * The server may be down: every call then fails fast with MF_REDIS_DOWN
 * (a failed connection is retried at most once per backoff period), so
 * callers can fall back instead of waiting.
 */
#ifndef MF_REDIS_H
#define MF_REDIS_H

#include <stddef.h>

struct mf_redis;

enum {
    MF_REDIS_OK = 0,
    MF_REDIS_DOWN = -1,  /* no connection, timeout or I/O error */
    MF_REDIS_ERROR = -2, /* the server answered with an error */
};

/*
 * Parses url ("redis://[[user]:password@]host[:port][/db]") and makes a
 * pool of size connections (1..64) opened on first use, each command
 * bounded by timeout_ms. Returns 0 and *out (free with mf_redis_close), or
 * -1 with the reason in err (never the password) and *out unchanged.
 */
int mf_redis_open(const char *url, int size, int timeout_ms,
                  struct mf_redis **out, char *err, size_t errlen);

/* Closes every connection and frees the pool. NULL is allowed. */
void mf_redis_close(struct mf_redis *r);

/* PING. Returns 0 or MF_REDIS_DOWN. */
int mf_redis_ping(struct mf_redis *r);

/*
 * GET key. Returns 1 with a new buffer in *val (free(); NUL-terminated,
 * length in *len), 0 when the key does not exist, or a negative code.
 */
int mf_redis_get(struct mf_redis *r, const char *key, char **val, size_t *len);

/* SET key val EX ttl_s. Returns 0 or a negative code. */
int mf_redis_set(struct mf_redis *r, const char *key, const void *val,
                 size_t len, int ttl_s);

/*
 * Runs the Lua script lua (the same pointer each time: its SHA is kept per
 * pool) with one key and nargs integer arguments, expecting an array of
 * integers: up to nout of them go to out. EVALSHA first, SCRIPT LOAD and
 * again after NOSCRIPT. Returns the number of integers stored, or a
 * negative code.
 */
int mf_redis_eval_ints(struct mf_redis *r, const char *lua, const char *key,
                       int nargs, const long long *args, long long *out,
                       int nout);

/* 1 while the last attempt to use the server succeeded. */
int mf_redis_up(const struct mf_redis *r);

#endif
