/* mf_redis: a locked pool of hiredis connections. */
#include "mf_redis.h"
#include "mf_time.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_POOL   64
#define BACKOFF_MS 1000 /* between attempts to reach a server that is down */

struct mf_redis {
    char host[256];
    int port;
    int db;
    char user[128];
    char password[256];
    int timeout_ms;

    pthread_mutex_t lock;
    pthread_cond_t freed;
    int size;
    redisContext *conn[MAX_POOL];
    int busy[MAX_POOL];
    int64_t retry_at_ms; /* no connect attempt before this */
    atomic_int up;

    char sha[41]; /* of the one script in use, "" until loaded */
    const char *sha_of;
};

/* Splits "[[user]:password@]host[:port][/db]" into r. */
static int
parse_url(struct mf_redis *r, const char *url, char *err, size_t errlen)
{
    const char *p = url;
    if (strncmp(p, "redis://", 8) != 0) {
        snprintf(err, errlen, "Redis URL must start with redis://");
        return -1;
    }
    p += 8;
    const char *at = strrchr(p, '@');
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ulen = colon ? (size_t)(colon - p) : 0;
        const char *pw = colon ? colon + 1 : p;
        size_t plen = (size_t)(at - pw);
        if (ulen >= sizeof(r->user) || plen >= sizeof(r->password)) {
            snprintf(err, errlen, "Redis URL credentials are too long");
            return -1;
        }
        memcpy(r->user, p, ulen);
        memcpy(r->password, pw, plen);
        p = at + 1;
    }
    size_t hlen = strcspn(p, ":/");
    if (hlen == 0 || hlen >= sizeof(r->host)) {
        snprintf(err, errlen, "Redis URL has no host");
        return -1;
    }
    memcpy(r->host, p, hlen);
    p += hlen;
    r->port = 6379;
    if (*p == ':') {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v < 1 || v > 65535 || (*end && *end != '/')) {
            snprintf(err, errlen, "Redis URL has a bad port");
            return -1;
        }
        r->port = (int)v;
        p = end;
    }
    if (*p == '/' && p[1] != '\0') {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || v < 0 || v > 1000) {
            snprintf(err, errlen, "Redis URL has a bad database number");
            return -1;
        }
        r->db = (int)v;
    }
    return 0;
}

int
mf_redis_open(const char *url, int size, int timeout_ms, struct mf_redis **out,
              char *err, size_t errlen)
{
    if (size < 1 || size > MAX_POOL || timeout_ms < 1) {
        snprintf(err, errlen, "Redis pool size or timeout out of range");
        return -1;
    }
    struct mf_redis *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (parse_url(r, url, err, errlen) != 0) {
        explicit_bzero(r->password, sizeof(r->password));
        free(r);
        return -1;
    }
    r->size = size;
    r->timeout_ms = timeout_ms;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->freed, NULL);
    *out = r;
    return 0;
}

void
mf_redis_close(struct mf_redis *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < r->size; i++)
        if (r->conn[i] != NULL)
            redisFree(r->conn[i]);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->freed);
    explicit_bzero(r->password, sizeof(r->password));
    free(r);
}

int
mf_redis_up(const struct mf_redis *r)
{
    return atomic_load(&r->up);
}

/* Runs a command expecting a STATUS "OK" (AUTH, SELECT). */
static int
expect_ok(redisContext *c, redisReply *rep)
{
    int ok = rep != NULL && rep->type == REDIS_REPLY_STATUS && c->err == 0;
    freeReplyObject(rep);
    return ok ? 0 : -1;
}

/* Opens one connection: connect, timeouts (again after every connect, as
 * hiredis drops them), AUTH, SELECT. NULL when any step fails. */
static redisContext *
connect_one(struct mf_redis *r)
{
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
    if (c == NULL || c->err != 0)
        goto fail;
    if (redisSetTimeout(c, tv) != REDIS_OK)
        goto fail;
    redisEnableKeepAlive(c);
    if (r->password[0] != '\0') {
        redisReply *rep =
            r->user[0] != '\0'
                ? redisCommand(c, "AUTH %s %s", r->user, r->password)
                : redisCommand(c, "AUTH %s", r->password);
        if (expect_ok(c, rep) != 0)
            goto fail;
    }
    if (r->db != 0 && expect_ok(c, redisCommand(c, "SELECT %d", r->db)) != 0)
        goto fail;
    return c;
fail:
    if (c != NULL)
        redisFree(c);
    return NULL;
}

/* Takes a connected slot; -1 when the server is (still) unreachable. */
static int
acquire(struct mf_redis *r)
{
    pthread_mutex_lock(&r->lock);
    int slot = -1;
    for (;;) {
        for (int i = 0; i < r->size && slot < 0; i++)
            if (!r->busy[i] && r->conn[i] != NULL)
                slot = i;
        for (int i = 0; i < r->size && slot < 0; i++)
            if (!r->busy[i])
                slot = i;
        if (slot >= 0)
            break;
        pthread_cond_wait(&r->freed, &r->lock);
    }
    r->busy[slot] = 1;
    int need = r->conn[slot] == NULL;
    int64_t now = mf_time_mono_ms();
    if (need && now < r->retry_at_ms) {
        r->busy[slot] = 0;
        pthread_mutex_unlock(&r->lock);
        return -1;
    }
    pthread_mutex_unlock(&r->lock);
    if (!need)
        return slot;

    redisContext *c = connect_one(r);
    pthread_mutex_lock(&r->lock);
    if (c == NULL) {
        r->retry_at_ms = mf_time_mono_ms() + BACKOFF_MS;
        r->busy[slot] = 0;
        atomic_store(&r->up, 0);
        pthread_cond_signal(&r->freed);
        pthread_mutex_unlock(&r->lock);
        return -1;
    }
    r->conn[slot] = c;
    pthread_mutex_unlock(&r->lock);
    return slot;
}

/* Gives a slot back; a connection with an error is dropped (the error
 * sticks in hiredis), and the server counts as down until a reconnect. */
static void
release(struct mf_redis *r, int slot)
{
    pthread_mutex_lock(&r->lock);
    redisContext *c = r->conn[slot];
    if (c != NULL && c->err != 0) {
        redisFree(c);
        r->conn[slot] = NULL;
        r->retry_at_ms = mf_time_mono_ms() + BACKOFF_MS;
        atomic_store(&r->up, 0);
    } else {
        atomic_store(&r->up, 1);
    }
    r->busy[slot] = 0;
    pthread_cond_signal(&r->freed);
    pthread_mutex_unlock(&r->lock);
}

int
mf_redis_ping(struct mf_redis *r)
{
    int slot = acquire(r);
    if (slot < 0)
        return MF_REDIS_DOWN;
    redisReply *rep = redisCommand(r->conn[slot], "PING");
    int rc = rep != NULL && rep->type == REDIS_REPLY_STATUS ? MF_REDIS_OK
                                                            : MF_REDIS_DOWN;
    freeReplyObject(rep);
    release(r, slot);
    return rc;
}

int
mf_redis_get(struct mf_redis *r, const char *key, char **val, size_t *len)
{
    int slot = acquire(r);
    if (slot < 0)
        return MF_REDIS_DOWN;
    redisReply *rep = redisCommand(r->conn[slot], "GET %s", key);
    int rc = MF_REDIS_DOWN;
    if (rep == NULL)
        goto out;
    if (rep->type == REDIS_REPLY_NIL) {
        rc = 0;
    } else if (rep->type == REDIS_REPLY_STRING) {
        char *copy = malloc(rep->len + 1);
        if (copy == NULL)
            goto out;
        memcpy(copy, rep->str, rep->len);
        copy[rep->len] = '\0';
        *val = copy;
        *len = rep->len;
        rc = 1;
    } else {
        rc = MF_REDIS_ERROR;
    }
out:
    freeReplyObject(rep);
    release(r, slot);
    return rc;
}

int
mf_redis_set(struct mf_redis *r, const char *key, const void *val, size_t len,
             int ttl_s)
{
    int slot = acquire(r);
    if (slot < 0)
        return MF_REDIS_DOWN;
    redisReply *rep =
        redisCommand(r->conn[slot], "SET %s %b EX %d", key, val, len, ttl_s);
    int rc = rep == NULL                       ? MF_REDIS_DOWN
             : rep->type == REDIS_REPLY_STATUS ? MF_REDIS_OK
                                               : MF_REDIS_ERROR;
    freeReplyObject(rep);
    release(r, slot);
    return rc;
}

/* Loads lua and remembers its SHA. */
static int
load_script(struct mf_redis *r, redisContext *c, const char *lua)
{
    redisReply *rep = redisCommand(c, "SCRIPT LOAD %s", lua);
    int rc = MF_REDIS_DOWN;
    if (rep != NULL && rep->type == REDIS_REPLY_STRING && rep->len == 40) {
        pthread_mutex_lock(&r->lock);
        memcpy(r->sha, rep->str, 40);
        r->sha[40] = '\0';
        r->sha_of = lua;
        pthread_mutex_unlock(&r->lock);
        rc = MF_REDIS_OK;
    } else if (rep != NULL) {
        rc = MF_REDIS_ERROR;
    }
    freeReplyObject(rep);
    return rc;
}

/* EVALSHA sha 1 key args... through the argv form. */
static redisReply *
evalsha(redisContext *c, const char *sha, const char *key, int nargs,
        const long long *args)
{
    const char *argv[20];
    size_t lens[20];
    char nums[16][24];
    argv[0] = "EVALSHA";
    argv[1] = sha;
    argv[2] = "1";
    argv[3] = key;
    for (int i = 0; i < 4; i++)
        lens[i] = strlen(argv[i]);
    for (int i = 0; i < nargs; i++) {
        int n = snprintf(nums[i], sizeof(nums[i]), "%lld", args[i]);
        argv[4 + i] = nums[i];
        lens[4 + i] = (size_t)n;
    }
    return redisCommandArgv(c, 4 + nargs, argv, lens);
}

int
mf_redis_eval_ints(struct mf_redis *r, const char *lua, const char *key,
                   int nargs, const long long *args, long long *out, int nout)
{
    if (nargs < 0 || nargs > 16)
        return MF_REDIS_ERROR;
    int slot = acquire(r);
    if (slot < 0)
        return MF_REDIS_DOWN;
    redisContext *c = r->conn[slot];
    char sha[41];
    pthread_mutex_lock(&r->lock);
    int known = r->sha_of == lua;
    memcpy(sha, r->sha, sizeof(sha));
    pthread_mutex_unlock(&r->lock);

    int rc = MF_REDIS_DOWN;
    redisReply *rep = NULL;
    if (!known && (rc = load_script(r, c, lua)) != MF_REDIS_OK)
        goto out;
    if (!known) {
        pthread_mutex_lock(&r->lock);
        memcpy(sha, r->sha, sizeof(sha));
        pthread_mutex_unlock(&r->lock);
    }
    rep = evalsha(c, sha, key, nargs, args);
    if (rep != NULL && rep->type == REDIS_REPLY_ERROR &&
        strncmp(rep->str, "NOSCRIPT", 8) == 0) {
        /* The server restarted or was flushed: load it again. */
        freeReplyObject(rep);
        rep = NULL;
        if ((rc = load_script(r, c, lua)) != MF_REDIS_OK)
            goto out;
        pthread_mutex_lock(&r->lock);
        memcpy(sha, r->sha, sizeof(sha));
        pthread_mutex_unlock(&r->lock);
        rep = evalsha(c, sha, key, nargs, args);
    }
    rc = MF_REDIS_DOWN;
    if (rep == NULL)
        goto out;
    rc = MF_REDIS_ERROR;
    if (rep->type != REDIS_REPLY_ARRAY)
        goto out;
    int n = 0;
    for (size_t i = 0; i < rep->elements && n < nout; i++) {
        if (rep->element[i]->type != REDIS_REPLY_INTEGER)
            goto out;
        out[n++] = rep->element[i]->integer;
    }
    rc = n;
out:
    freeReplyObject(rep);
    release(r, slot);
    return rc;
}
