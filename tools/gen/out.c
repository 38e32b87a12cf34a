#include "out.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define ZBUF_SIZE (1u << 20)

struct out {
    int fd;
    int own_fd; /* 1 when we opened it */
    int gzip;
    z_stream z;
    unsigned char *zbuf;
    uint64_t bytes;
    const char *name;
};

static int
write_all(struct out *o, const void *buf, size_t n, char *err, size_t errlen)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(o->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            snprintf(err, errlen, "cannot write %s: %s", o->name,
                     strerror(errno));
            return -1;
        }
        p += w;
        n -= (size_t)w;
        o->bytes += (uint64_t)w;
    }
    return 0;
}

int
out_open(const char *path, int gzip, struct out **op, char *err, size_t errlen)
{
    struct out *o = calloc(1, sizeof(*o));
    if (o == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    o->gzip = gzip;
    if (path == NULL || strcmp(path, "-") == 0) {
        o->fd = STDOUT_FILENO;
        o->name = "standard output";
    } else {
        o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        o->name = path;
        if (o->fd < 0) {
            snprintf(err, errlen, "cannot create %s: %s", path,
                     strerror(errno));
            free(o);
            return -1;
        }
        o->own_fd = 1;
    }
    if (gzip) {
        /* windowBits 15 + 16: a gzip header, with mtime 0, so the bytes
         * depend only on the input. Level 1: the generator must be fast. */
        o->zbuf = malloc(ZBUF_SIZE);
        if (o->zbuf == NULL || deflateInit2(&o->z, 1, Z_DEFLATED, 15 + 16, 8,
                                            Z_DEFAULT_STRATEGY) != Z_OK) {
            snprintf(err, errlen, "cannot set up gzip compression");
            free(o->zbuf);
            if (o->own_fd)
                close(o->fd);
            free(o);
            return -1;
        }
    }
    *op = o;
    return 0;
}

/* Runs deflate with flush until it has consumed everything it was given. */
static int
deflate_some(struct out *o, int flush, char *err, size_t errlen)
{
    for (;;) {
        o->z.next_out = o->zbuf;
        o->z.avail_out = ZBUF_SIZE;
        int rc = deflate(&o->z, flush);
        if (rc == Z_STREAM_ERROR) {
            snprintf(err, errlen, "gzip compression failed");
            return -1;
        }
        if (write_all(o, o->zbuf, ZBUF_SIZE - o->z.avail_out, err, errlen))
            return -1;
        if (flush == Z_FINISH ? rc == Z_STREAM_END
                              : o->z.avail_in == 0 && o->z.avail_out != 0)
            return 0;
    }
}

int
out_write(struct out *o, const char *buf, size_t n, char *err, size_t errlen)
{
    if (!o->gzip)
        return write_all(o, buf, n, err, errlen);
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        o->z.next_in = (unsigned char *)(uintptr_t)buf;
        o->z.avail_in = chunk;
        if (deflate_some(o, Z_NO_FLUSH, err, errlen) != 0)
            return -1;
        buf += chunk;
        n -= chunk;
    }
    return 0;
}

uint64_t
out_bytes(const struct out *o)
{
    return o->bytes;
}

int
out_close(struct out *o, uint64_t *bytes, char *err, size_t errlen)
{
    int rc = 0;
    if (o == NULL)
        return 0;
    if (o->gzip) {
        o->z.next_in = NULL;
        o->z.avail_in = 0;
        rc = deflate_some(o, Z_FINISH, err, errlen);
        deflateEnd(&o->z);
        free(o->zbuf);
    }
    if (o->own_fd && close(o->fd) != 0 && rc == 0) {
        snprintf(err, errlen, "cannot close %s: %s", o->name, strerror(errno));
        rc = -1;
    }
    if (bytes != NULL)
        *bytes = o->bytes;
    free(o);
    return rc;
}
