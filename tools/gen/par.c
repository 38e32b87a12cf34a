#include "par.h"
#include "gen_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARE 4096 /* records one writer writes per batch */

struct writer {
    struct gen_par *par;
    pthread_t thread;
    int started;
    struct wctx w;
    char *buf; /* SHARE * GEN_MAX_RECORD bytes: room for any share */
    size_t len;
    const struct gen_item *items;
    size_t n;
    uint64_t seen; /* the last batch this writer took */
};

struct gen_par {
    struct gen *g;
    int nthreads;
    struct writer wr[GEN_PAR_MAX];
    struct gen_item *items;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    uint64_t batch;
    int pending, quit;
};

static void
write_share(struct writer *w)
{
    size_t len = 0;
    for (size_t i = 0; i < w->n; i++)
        len += gen_write_item(&w->w, &w->items[i], w->buf + len);
    w->len = len;
}

/* A helper thread: waits for a batch, writes its share, reports. */
static void *
writer_main(void *arg)
{
    struct writer *w = arg;
    struct gen_par *p = w->par;

    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->quit && p->batch == w->seen)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        w->seen = p->batch;
        pthread_mutex_unlock(&p->mu);

        write_share(w);

        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

int
gen_par_new(struct gen *g, int threads, struct gen_par **out, char *err,
            size_t errlen)
{
    struct gen_par *p = calloc(1, sizeof(*p));
    if (threads < 1)
        threads = 1;
    if (threads > GEN_PAR_MAX)
        threads = GEN_PAR_MAX;
    if (p == NULL)
        goto oom;
    p->g = g;
    p->nthreads = threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->items = calloc((size_t)threads * SHARE, sizeof(*p->items));
    if (p->items == NULL)
        goto oom;
    for (int i = 0; i < threads; i++) {
        struct writer *w = &p->wr[i];
        w->par = p;
        w->w.g = g;
        /* Only the pages a batch touches are ever faulted in. */
        w->buf = malloc((size_t)SHARE * GEN_MAX_RECORD);
        if (w->buf == NULL)
            goto oom;
    }
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&p->wr[i].thread, NULL, writer_main, &p->wr[i]) !=
            0) {
            snprintf(err, errlen, "cannot start a writer thread");
            gen_par_free(p);
            return -1;
        }
        p->wr[i].started = 1;
    }
    *out = p;
    return 0;
oom:
    snprintf(err, errlen, "out of memory for the output buffers");
    gen_par_free(p);
    return -1;
}

int
gen_par_next(struct gen_par *p, struct gen_piece *pieces, int *npieces,
             uint64_t *records)
{
    size_t n = 0, cap = (size_t)p->nthreads * SHARE;
    int rc = 0;

    /* The schedule, in order. */
    while (n < cap && (rc = gen_plan_one(p->g, &p->items[n])) == 0)
        n++;
    if (rc < 0)
        return -1;
    *records = n;
    *npieces = 0;
    if (n == 0)
        return 0;

    /* Consecutive shares to the writers; this thread writes the first. */
    int used = 0;
    for (int i = 0; i < p->nthreads; i++) {
        struct writer *w = &p->wr[i];
        size_t from = (size_t)i * SHARE;
        w->items = &p->items[from];
        w->n = from < n ? (n - from < SHARE ? n - from : SHARE) : 0;
        w->len = 0;
        if (w->n > 0)
            used = i + 1;
    }
    if (used > 1) {
        pthread_mutex_lock(&p->mu);
        p->pending = p->nthreads - 1;
        p->batch++;
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
    }
    write_share(&p->wr[0]);
    if (used > 1) {
        pthread_mutex_lock(&p->mu);
        while (p->pending > 0)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    for (int i = 0; i < used; i++) {
        pieces[i].buf = p->wr[i].buf;
        pieces[i].len = p->wr[i].len;
    }
    *npieces = used;
    return 0;
}

void
gen_par_free(struct gen_par *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->nthreads; i++)
        if (p->wr[i].started)
            pthread_join(p->wr[i].thread, NULL);
    for (int i = 0; i < p->nthreads; i++)
        free(p->wr[i].buf);
    free(p->items);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
