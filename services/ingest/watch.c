/*
 * --watch DIR: loads every file that appears in DIR, complete: a file is
 * taken when it is renamed into DIR or closed after writing (inotify), or
 * when it is already there at start. Dotfiles and *.tmp / *.part files are
 * ignored. After its data is committed a file moves to DIR/done/, or to
 * DIR/failed/ when it could not be loaded whole; a file interrupted by a
 * stop request stays where it is and is loaded again at the next start.
 */
#include "ingest.h"
#include "metrics.h"

#include "mf_log.h"
#include "mf_sig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct name {
    struct name *next;
    char s[NAME_MAX + 1];
};

struct watch {
    const char *dir;
    const struct job_opts *o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct name *head, *tail;    /* waiting */
    char busy[16][NAME_MAX + 1]; /* being loaded, one per worker */
    bool stop;
};

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool
eligible(const char *dir, const char *name)
{
    struct stat st;
    char path[PATH_MAX];

    if (name[0] == '.' || ends_with(name, ".tmp") || ends_with(name, ".part"))
        return false;
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return false;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Queues a name unless it is already waiting or being loaded. */
static void
enqueue(struct watch *w, const char *name)
{
    pthread_mutex_lock(&w->mu);
    for (struct name *n = w->head; n; n = n->next)
        if (strcmp(n->s, name) == 0)
            goto out;
    for (int i = 0; i < 16; i++)
        if (strcmp(w->busy[i], name) == 0)
            goto out;
    struct name *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        mf_error("out of memory; a file is left for the next start", NULL);
        goto out;
    }
    snprintf(n->s, sizeof(n->s), "%s", name);
    if (w->tail)
        w->tail->next = n;
    else
        w->head = n;
    w->tail = n;
    pthread_cond_signal(&w->cv);
out:
    pthread_mutex_unlock(&w->mu);
}

/* Moves DIR/name to DIR/sub/name, or name.1, name.2 ... if taken. */
static void
dispose(struct watch *w, const char *name, const char *sub)
{
    char from[PATH_MAX], to[PATH_MAX], q[160];

    snprintf(from, sizeof(from), "%s/%s", w->dir, name);
    for (int i = 0; i < 1000; i++) {
        if (i == 0)
            snprintf(to, sizeof(to), "%s/%s/%s", w->dir, sub, name);
        else
            snprintf(to, sizeof(to), "%s/%s/%s.%d", w->dir, sub, name, i);
        if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
            return;
        if (errno != EEXIST)
            break;
    }
    mf_error("cannot move a loaded file", "file=%s to=%s error=%s",
             mf_log_q(q, sizeof(q), from), sub, strerror(errno));
}

struct worker_arg {
    struct watch *w;
    int slot;
};

static void *
worker_main(void *arg)
{
    struct worker_arg *a = arg;
    struct watch *w = a->w;
    char path[PATH_MAX], q[160];

    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->head == NULL && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        struct name *n = w->head;
        w->head = n->next;
        if (w->head == NULL)
            w->tail = NULL;
        snprintf(w->busy[a->slot], sizeof(w->busy[a->slot]), "%s", n->s);
        pthread_mutex_unlock(&w->mu);

        if (eligible(w->dir, n->s)) {
            struct job_result res;
            snprintf(path, sizeof(path), "%s/%s", w->dir, n->s);
            mf_info("file taken", "file=%s", mf_log_q(q, sizeof(q), path));
            job_run(path, w->o, &res);
            if (res.complete) {
                mf_info("file loaded",
                        "file=%s records=%lld accepted=%lld "
                        "rejected=%lld",
                        q, (long long)res.records, (long long)res.accepted,
                        (long long)res.rejected);
                dispose(w, n->s, "done");
                ingest_metrics_file(1);
            } else if (!res.stopped) {
                mf_error("file not fully loaded; moved to failed/",
                         "file=%s records=%lld accepted=%lld rejected=%lld "
                         "error=%s",
                         q, (long long)res.records, (long long)res.accepted,
                         (long long)res.rejected, res.error);
                dispose(w, n->s, "failed");
                ingest_metrics_file(0);
            } else {
                mf_info("stopped in the middle of a file; it stays for the "
                        "next start",
                        "file=%s", q);
            }
        }
        pthread_mutex_lock(&w->mu);
        w->busy[a->slot][0] = '\0';
        pthread_mutex_unlock(&w->mu);
        free(n);
    }
}

/* Queues every eligible file already in the directory. */
static int
scan_existing(struct watch *w)
{
    DIR *d = opendir(w->dir);
    struct dirent *e;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (eligible(w->dir, e->d_name))
            enqueue(w, e->d_name);
    closedir(d);
    return 0;
}

static void
read_events(struct watch *w, int fd)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->len > 0 && !(ev->mask & IN_ISDIR) &&
                eligible(w->dir, ev->name))
                enqueue(w, ev->name);
            if (ev->mask & IN_Q_OVERFLOW)
                mf_warn("inotify queue overflowed; some files wait for the "
                        "next start",
                        NULL);
            p += sizeof(*ev) + ev->len;
        }
    }
}

static int
make_dir(const char *dir, const char *sub)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

int
watch_run(const char *dir, const struct job_opts *o, int jobs)
{
    struct watch w = {.dir = dir, .o = o};
    struct worker_arg args[16];
    pthread_t th[16];
    char q[160];
    int fd, started = 0;

    mf_log_q(q, sizeof(q), dir);
    if (make_dir(dir, "done") != 0 || make_dir(dir, "failed") != 0) {
        mf_error("cannot prepare the watched directory", "dir=%s error=%s", q,
                 strerror(errno));
        return 1;
    }
    fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0 ||
        inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
        mf_error("cannot watch the directory", "dir=%s error=%s", q,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    /* Watch first, then list: a file arriving in between is seen twice at
     * worst, and a queued name is never queued again. */
    scan_existing(&w);
    for (int i = 0; i < jobs && i < 16; i++) {
        args[i] = (struct worker_arg){&w, i};
        if (pthread_create(&th[i], NULL, worker_main, &args[i]) == 0)
            started++;
    }
    mf_info("watching", "dir=%s jobs=%d", q, started);
    while (!mf_sig_stop_requested() && started > 0) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 200) > 0)
            read_events(&w, fd);
    }
    pthread_mutex_lock(&w.mu);
    w.stop = true;
    pthread_cond_broadcast(&w.cv);
    pthread_mutex_unlock(&w.mu);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    while (w.head) {
        struct name *n = w.head;
        w.head = n->next;
        free(n);
    }
    close(fd);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    mf_info("stopped", "dir=%s", q);
    return started > 0 ? 0 : 1;
}
