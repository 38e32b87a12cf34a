/*
 * out.h: where metriflow-gen writes: a file or standard output, raw or
 * through gzip, in large writes.
 */
#ifndef GEN_OUT_H
#define GEN_OUT_H

#include <stddef.h>
#include <stdint.h>

struct out;

/*
 * Opens path ("-" or NULL: standard output), created or truncated. Returns
 * 0 and a sink in *o (close with out_close), or -1 with a reason in err.
 */
int out_open(const char *path, int gzip, struct out **o, char *err,
             size_t errlen);

/* Writes n bytes (compressed when gzip). Returns 0, or -1 with err set;
 * after a failure the sink only accepts out_close. */
int out_write(struct out *o, const char *buf, size_t n, char *err,
              size_t errlen);

/* Bytes that reached the file so far (after compression). */
uint64_t out_bytes(const struct out *o);

/*
 * Finishes the gzip stream, closes the file and frees the sink; *bytes (if
 * not NULL) gets the bytes that reached the file. Returns 0, or -1 with err
 * set (the sink is freed either way); NULL is allowed.
 */
int out_close(struct out *o, uint64_t *bytes, char *err, size_t errlen);

#endif
