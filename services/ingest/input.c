/* The input reader: a file or standard input, gzip detected by magic. */
#include "ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define RAW_SIZE (256 * 1024)

struct input {
    int fd;
    bool is_stdin;
    bool gzip;
    bool raw_eof;
    bool z_open;
    bool z_done; /* the last gzip member ended with the raw input */
    z_stream z;
    size_t raw_len, raw_pos;
    unsigned char raw[RAW_SIZE];
};

/* Reads more raw bytes after the unread ones. Returns the count, 0 at the
 * end, -1 on error. */
static long
fill_raw(struct input *in, char *err, size_t n)
{
    if (in->raw_pos > 0) {
        memmove(in->raw, in->raw + in->raw_pos, in->raw_len - in->raw_pos);
        in->raw_len -= in->raw_pos;
        in->raw_pos = 0;
    }
    for (;;) {
        ssize_t r =
            read(in->fd, in->raw + in->raw_len, sizeof(in->raw) - in->raw_len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, n, "cannot read the input: %s", strerror(errno));
            return -1;
        }
        if (r == 0)
            in->raw_eof = true;
        in->raw_len += (size_t)r;
        return r;
    }
}

int
input_open(const char *path, struct input **out, char *err, size_t n)
{
    struct input *in = calloc(1, sizeof(*in));
    if (in == NULL) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    if (strcmp(path, "-") == 0) {
        in->fd = STDIN_FILENO;
        in->is_stdin = true;
    } else if ((in->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, n, "cannot open the file: %s", strerror(errno));
        free(in);
        return -1;
    }
    /* The first two bytes tell gzip (1f 8b) from plain text. */
    while (in->raw_len < 2 && !in->raw_eof)
        if (fill_raw(in, err, n) < 0) {
            input_close(in);
            return -1;
        }
    if (in->raw_len >= 2 && in->raw[0] == 0x1f && in->raw[1] == 0x8b) {
        in->gzip = true;
        if (inflateInit2(&in->z, 16 + MAX_WBITS) != Z_OK) {
            snprintf(err, n, "cannot start gzip decompression");
            input_close(in);
            return -1;
        }
        in->z_open = true;
    }
    *out = in;
    return 0;
}

int
input_is_gzip(const struct input *in)
{
    return in->gzip;
}

static long
read_plain(struct input *in, void *buf, size_t cap, char *err, size_t n)
{
    if (in->raw_pos < in->raw_len) {
        size_t k = in->raw_len - in->raw_pos;
        if (k > cap)
            k = cap;
        memcpy(buf, in->raw + in->raw_pos, k);
        in->raw_pos += k;
        return (long)k;
    }
    for (;;) {
        ssize_t r = read(in->fd, buf, cap);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, n, "cannot read the input: %s", strerror(errno));
            return -1;
        }
        return (long)r;
    }
}

static long
read_gzip(struct input *in, void *buf, size_t cap, char *err, size_t n)
{
    if (cap > (1u << 30))
        cap = 1u << 30;
    in->z.next_out = buf;
    in->z.avail_out = (uInt)cap;
    while (in->z.avail_out > 0 && !in->z_done) {
        if (in->raw_pos == in->raw_len && !in->raw_eof &&
            fill_raw(in, err, n) < 0)
            return -1;
        if (in->raw_pos == in->raw_len && in->raw_eof) {
            snprintf(err, n, "the gzip stream is truncated");
            return -1;
        }
        in->z.next_in = in->raw + in->raw_pos;
        in->z.avail_in = (uInt)(in->raw_len - in->raw_pos);
        int rc = inflate(&in->z, Z_NO_FLUSH);
        in->raw_pos = in->raw_len - in->z.avail_in;
        if (rc == Z_STREAM_END) {
            /* Another member may follow (concatenated gzip files). */
            if (in->raw_pos == in->raw_len && !in->raw_eof &&
                fill_raw(in, err, n) < 0)
                return -1;
            if (in->raw_pos == in->raw_len && in->raw_eof)
                in->z_done = true;
            else
                inflateReset(&in->z);
        } else if (rc == Z_BUF_ERROR && in->z.avail_in == 0) {
            continue; /* needs input */
        } else if (rc != Z_OK) {
            snprintf(err, n, "the gzip stream is corrupt: %s",
                     in->z.msg ? in->z.msg : "inflate failed");
            return -1;
        }
        if (in->z.avail_out < cap)
            break; /* return what we have */
    }
    return (long)(cap - in->z.avail_out);
}

long
input_read(struct input *in, void *buf, size_t cap, char *err, size_t n)
{
    return in->gzip ? read_gzip(in, buf, cap, err, n)
                    : read_plain(in, buf, cap, err, n);
}

void
input_close(struct input *in)
{
    if (in == NULL)
        return;
    if (in->z_open)
        inflateEnd(&in->z);
    if (!in->is_stdin && in->fd >= 0)
        close(in->fd);
    free(in);
}
