/* Token buckets: in Redis (one Lua script, the server's clock) so that
 * replicas share them, and in this process while Redis is unreachable. */
#include "api.h"

#include "mf_time.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/*
 * KEYS[1] the bucket; ARGV: rate in milli-tokens per second, burst in
 * tokens. Tokens are kept in milli-tokens with the time of the last
 * update in ms. Returns {allowed, remaining tokens, retry ms, full ms}.
 */
static const char bucket_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local rate = tonumber(ARGV[1])\n"
    "local cap = tonumber(ARGV[2]) * 1000\n"
    "local h = redis.call('HMGET', KEYS[1], 'tk', 'ts')\n"
    "local tk = tonumber(h[1]) or cap\n"
    "local ts = tonumber(h[2]) or now\n"
    "if now > ts then tk = math.min(cap, tk + (now - ts) * rate / 1000) end\n"
    "local ok, retry = 0, 0\n"
    "if tk >= 1000 then ok = 1; tk = tk - 1000\n"
    "else retry = math.ceil((1000 - tk) * 1000 / rate) end\n"
    "redis.call('HSET', KEYS[1], 'tk', tk, 'ts', now)\n"
    "local full = math.ceil((cap - tk) * 1000 / rate)\n"
    "redis.call('PEXPIRE', KEYS[1], full + 1000)\n"
    "return {ok, math.floor(tk / 1000), retry, full}\n";

/* The fallback: a fixed table of buckets indexed by a hash of the key; a
 * collision replaces the older bucket (bounded memory, never unlimited). */
#define LOCAL_BUCKETS 4096

struct local_bucket {
    char key[96];
    double tokens;
    double at; /* seconds, monotonic */
};

static struct local_bucket local[LOCAL_BUCKETS];
static pthread_mutex_t local_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned
hash_key(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int
local_take(const char *key, const struct api_bucket *b, long long *remaining,
           long long *reset_s, long long *retry_s)
{
    double now = mf_time_mono_s(), cap = (double)b->burst;
    pthread_mutex_lock(&local_lock);
    struct local_bucket *lb = &local[hash_key(key) % LOCAL_BUCKETS];
    if (strncmp(lb->key, key, sizeof(lb->key)) != 0) {
        snprintf(lb->key, sizeof(lb->key), "%s", key);
        lb->tokens = cap;
        lb->at = now;
    }
    lb->tokens = fmin(cap, lb->tokens + (now - lb->at) * b->rate);
    lb->at = now;
    int ok = lb->tokens >= 1.0;
    if (ok)
        lb->tokens -= 1.0;
    *remaining = (long long)lb->tokens;
    *retry_s = ok ? 0 : (long long)ceil((1.0 - lb->tokens) / b->rate);
    *reset_s = (long long)ceil((cap - lb->tokens) / b->rate);
    pthread_mutex_unlock(&local_lock);
    return ok;
}

int
api_rate_take(const char *key, const struct api_bucket *b, long long *remaining,
              long long *reset_s, long long *retry_s)
{
    if (api_g.redis != NULL) {
        long long args[2] = {(long long)llround(b->rate * 1000.0), b->burst};
        long long out[4];
        int n =
            mf_redis_eval_ints(api_g.redis, bucket_lua, key, 2, args, out, 4);
        api_redis_state(n >= 0);
        if (n == 4) {
            *remaining = out[1];
            *retry_s = out[0] ? 0 : (out[2] + 999) / 1000;
            if (!out[0] && *retry_s < 1)
                *retry_s = 1;
            *reset_s = (out[3] + 999) / 1000;
            return (int)out[0];
        }
    }
    int ok = local_take(key, b, remaining, reset_s, retry_s);
    if (!ok && *retry_s < 1)
        *retry_s = 1;
    return ok;
}
