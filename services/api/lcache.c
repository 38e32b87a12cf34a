/* The range answers this process served lately, kept in memory in front of
 * the shared Redis cache: a hit then costs no round trip to Redis. Keys are
 * the Redis keys, which name the page's current data version (read from
 * PostgreSQL on every request), so an entry can never be served for data
 * that changed; entries also expire after the cache TTL, like Redis's.
 *
 * A fixed, direct-mapped table: a key has one slot (by hash), a newer key
 * replaces the older one, and memory stays bounded by entries x
 * LCACHE_MAX_BODY. Slots are guarded by a few striped mutexes. */
#include "api.h"

#include "mf_time.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LCACHE_STRIPES  16
#define LCACHE_MAX_BODY 65536

struct lc_entry {
    char key[128];
    char *body;
    size_t len;
    double expires; /* monotonic seconds */
};

static struct lc_entry *slots;
static size_t nslots;
static pthread_mutex_t stripes[LCACHE_STRIPES];

static size_t
slot_of(const char *key)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (const unsigned char *s = (const unsigned char *)key; *s; s++)
        h = (h ^ *s) * 1099511628211u;
    return (size_t)(h % nslots);
}

int
api_lcache_init(size_t entries)
{
    if (entries == 0)
        return 0;
    slots = calloc(entries, sizeof(*slots));
    if (slots == NULL)
        return -1;
    nslots = entries;
    for (int i = 0; i < LCACHE_STRIPES; i++)
        pthread_mutex_init(&stripes[i], NULL);
    return 0;
}

void
api_lcache_free(void)
{
    if (slots == NULL)
        return;
    for (size_t i = 0; i < nslots; i++)
        free(slots[i].body);
    for (int i = 0; i < LCACHE_STRIPES; i++)
        pthread_mutex_destroy(&stripes[i]);
    free(slots);
    slots = NULL;
    nslots = 0;
}

int
api_lcache_get(const char *key, char **body, size_t *len)
{
    if (slots == NULL || strlen(key) >= sizeof(slots[0].key))
        return 0;
    size_t i = slot_of(key);
    struct lc_entry *e = &slots[i];
    pthread_mutex_t *m = &stripes[i % LCACHE_STRIPES];
    int hit = 0;
    pthread_mutex_lock(m);
    if (e->body != NULL && strcmp(e->key, key) == 0) {
        if (e->expires > mf_time_mono_s()) {
            char *copy = malloc(e->len + 1);
            if (copy != NULL) {
                memcpy(copy, e->body, e->len + 1);
                *body = copy;
                *len = e->len;
                hit = 1;
            }
        } else {
            free(e->body);
            e->body = NULL;
        }
    }
    pthread_mutex_unlock(m);
    return hit;
}

void
api_lcache_put(const char *key, const char *body, size_t len, int ttl_s)
{
    if (slots == NULL || strlen(key) >= sizeof(slots[0].key) ||
        len > LCACHE_MAX_BODY)
        return;
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return;
    memcpy(copy, body, len);
    copy[len] = '\0';
    size_t i = slot_of(key);
    struct lc_entry *e = &slots[i];
    pthread_mutex_t *m = &stripes[i % LCACHE_STRIPES];
    pthread_mutex_lock(m);
    free(e->body);
    strcpy(e->key, key);
    e->body = copy;
    e->len = len;
    e->expires = mf_time_mono_s() + ttl_s;
    pthread_mutex_unlock(m);
}
