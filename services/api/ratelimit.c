/* Token buckets: in Redis (one Lua script, the server's clock) so that
 * replicas share them, taken from it in leases of a few tokens when the
 * bucket is large, and in this process while Redis is unreachable. */
#include "api.h"

#include "mf_time.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/*
 * KEYS[1] the bucket; ARGV: rate in milli-tokens per second, burst in
 * tokens, and how many tokens the caller would like (its lease, >= 1).
 * Tokens are kept in milli-tokens with the time of the last update in ms.
 * Grants as many whole tokens as the bucket holds, up to the lease.
 * Returns {tokens granted (0: refused), remaining tokens, retry ms, full ms}.
 */
static const char bucket_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local rate = tonumber(ARGV[1])\n"
    "local cap = tonumber(ARGV[2]) * 1000\n"
    "local want = tonumber(ARGV[3])\n"
    "local h = redis.call('HMGET', KEYS[1], 'tk', 'ts')\n"
    "local tk = tonumber(h[1]) or cap\n"
    "local ts = tonumber(h[2]) or now\n"
    "if now > ts then tk = math.min(cap, tk + (now - ts) * rate / 1000) end\n"
    "local n, retry = math.min(want, math.floor(tk / 1000)), 0\n"
    "if n >= 1 then tk = tk - n * 1000\n"
    "else n = 0; retry = math.ceil((1000 - tk) * 1000 / rate) end\n"
    "redis.call('HSET', KEYS[1], 'tk', tk, 'ts', now)\n"
    "local full = math.ceil((cap - tk) * 1000 / rate)\n"
    "redis.call('PEXPIRE', KEYS[1], full + 1000)\n"
    "return {n, math.floor(tk / 1000), retry, full}\n";

/*
 * Leases: with a lease above 1, one Redis call takes up to that many
 * tokens from the shared bucket and this process spends them on the
 * caller's next requests without asking Redis again. Every token spent was
 * taken from the shared bucket first, so the replicas together never
 * exceed it; tokens of a lease that are not spent within LEASE_TTL_S are
 * dropped (the caller loses them rather than getting them later on top of
 * a refilled bucket). A table indexed by a hash of the key, like the
 * fallback below; a collision drops the older lease.
 */
#define LEASES      4096
#define LEASE_TTL_S 1.0

struct lease {
    char key[96];
    long long tokens;    /* left to spend here */
    long long remaining; /* what the shared bucket held after the grant */
    double until;        /* monotonic seconds */
};

static struct lease leases[LEASES];
static pthread_mutex_t lease_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* Reset seconds for a bucket holding `left` whole tokens. */
static long long
reset_of(const struct api_bucket *b, long long left)
{
    double missing = (double)(b->burst - left);
    return missing > 0 ? (long long)ceil(missing / b->rate) : 0;
}

/* Spends a token of this key's lease; 0 when there is none to spend. */
static int
lease_spend(const char *key, const struct api_bucket *b, long long *remaining,
            long long *reset_s)
{
    double now = mf_time_mono_s();
    int ok = 0;
    pthread_mutex_lock(&lease_lock);
    struct lease *l = &leases[hash_key(key) % LEASES];
    if (l->tokens > 0 && now < l->until &&
        strncmp(l->key, key, sizeof(l->key)) == 0) {
        l->tokens--;
        *remaining = l->remaining + l->tokens;
        ok = 1;
    }
    pthread_mutex_unlock(&lease_lock);
    if (ok)
        *reset_s = reset_of(b, *remaining);
    return ok;
}

/* Keeps the tokens of a grant beyond the one spent now. */
static void
lease_keep(const char *key, long long tokens, long long remaining)
{
    pthread_mutex_lock(&lease_lock);
    struct lease *l = &leases[hash_key(key) % LEASES];
    snprintf(l->key, sizeof(l->key), "%s", key);
    l->tokens = tokens;
    l->remaining = remaining;
    l->until = mf_time_mono_s() + LEASE_TTL_S;
    pthread_mutex_unlock(&lease_lock);
}

int
api_rate_take(const char *key, const struct api_bucket *b, long long *remaining,
              long long *reset_s, long long *retry_s)
{
    if (api_g.redis != NULL) {
        long long want = b->lease; /* >= 1 (main.c) */
        *retry_s = 0;
        if (want > 1 && lease_spend(key, b, remaining, reset_s))
            return 1;
        long long args[3] = {(long long)llround(b->rate * 1000.0), b->burst,
                             want};
        long long out[4];
        int n =
            mf_redis_eval_ints(api_g.redis, bucket_lua, key, 3, args, out, 4);
        api_redis_state(n >= 0);
        if (n == 4) {
            int ok = out[0] >= 1;
            *remaining = out[1] + (ok ? out[0] - 1 : 0);
            if (ok && out[0] > 1)
                lease_keep(key, out[0] - 1, out[1]);
            *retry_s = ok ? 0 : (out[2] + 999) / 1000;
            if (!ok && *retry_s < 1)
                *retry_s = 1;
            *reset_s =
                want > 1 ? reset_of(b, *remaining) : (out[3] + 999) / 1000;
            return ok;
        }
    }
    int ok = local_take(key, b, remaining, reset_s, retry_s);
    if (!ok && *retry_s < 1)
        *retry_s = 1;
    return ok;
}
