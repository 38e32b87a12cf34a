/*
 * metriflow-ingest internals: the input reader, the chunk encoder, the
 * job (one stream: a parser thread feeding a loader thread) and watch mode.
 */
#ifndef INGEST_H
#define INGEST_H

#include "mf_record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits: a record, a chunk, a rejected record's kept text. */
#define INGEST_RECORD_MAX   (1024 * 1024)
#define INGEST_CHUNK_BYTES  (4 * 1024 * 1024)
#define INGEST_CHUNK_RECS   50000
#define INGEST_REJECT_TEXT  4096
#define INGEST_REASON_MAX   256
#define INGEST_QUEUE_CHUNKS 1 /* full chunks waiting, besides those in hand */
#define INGEST_LOADERS      2 /* loader threads (connections) per stream */

/* ---- input: a file or standard input, gzip-compressed or not ---------- */

struct input;

/* Opens path ("-" is standard input). Returns 0, or -1 with err set. */
int input_open(const char *path, struct input **out, char *err, size_t n);

/* Reads up to cap decompressed bytes. Returns the count, 0 at the end, or
 * -1 with the reason in err. */
long input_read(struct input *in, void *buf, size_t cap, char *err, size_t n);

/* 1 when the stream was gzip-compressed. */
int input_is_gzip(const struct input *in);

/* Closes (standard input is left open) and frees. NULL is allowed. */
void input_close(struct input *in);

/* ---- chunk: the rows of one transaction, binary COPY encoded ---------- */

struct buf {
    unsigned char *p;
    size_t len, cap;
};

/* Indexes of chunk->rows: the rejected rows, then one per kind. */
enum { ROWS_REJECTED = 0, ROWS_GA = MF_RECORD_GA, ROWS_PSI = MF_RECORD_PSI };

struct chunk {
    int64_t first_ord;    /* ordinal of the chunk's first record, 0 if none */
    uint32_t records;     /* accepted and rejected */
    uint32_t accepted[3]; /* by kind */
    uint32_t rejected[3]; /* by kind (0: the kind could not be told) */
    struct buf rows[3];
    int64_t seq;         /* the chunk's number in its stream */
    bool numbered;       /* batch_id[] taken from the sequence */
    int64_t batch_id[3]; /* set by the loader */
};

/* Empties a chunk for reuse, keeping its buffers. */
void chunk_reset(struct chunk *c);

/* Frees a chunk's buffers. */
void chunk_free(struct chunk *c);

/* 1 when the chunk should be sent before another record is added. */
int chunk_full(const struct chunk *c);

/* Adds an accepted record with its ordinal. Returns 0 or -1 (no memory). */
int chunk_add_record(struct chunk *c, const struct mf_record *r, int64_t ord);

/* Adds a rejected record: kind (UNKNOWN for NULL), the stream's name
 * (valid UTF-8), ordinal, offset, reason and the record's raw text (cut to
 * INGEST_REJECT_TEXT bytes and made valid UTF-8). Returns 0 or -1. */
int chunk_add_reject(struct chunk *c, enum mf_record_kind kind,
                     const char *stream, int64_t ord, uint64_t offset,
                     const char *reason, const char *text, size_t len);

/* Writes the batch id into every row of rows[kind]. */
void chunk_set_batch(struct chunk *c, int kind, int64_t batch_id);

/* The binary COPY header (19 bytes) and trailer (2 bytes). */
extern const unsigned char copy_header[19];
extern const unsigned char copy_trailer[2];

/* Copies s into out (cap >= 4 * len + 1) as valid UTF-8 without NUL:
 * every invalid byte and NUL becomes U+FFFD. Returns the length. */
size_t utf8_sanitise(const char *s, size_t len, char *out, size_t cap);

/* ---- job: one stream loaded into PostgreSQL --------------------------- */

struct job_opts {
    const char *pg_url;
    const char *amqp_url;
    enum mf_record_kind forced; /* --source, or UNKNOWN */
    bool wait_for_db; /* keep retrying a first connection that fails */
};

struct job_result {
    int64_t records;            /* read: accepted and rejected */
    int64_t accepted, rejected; /* committed */
    uint64_t bytes;             /* decompressed bytes read */
    bool complete;              /* read to its end and every chunk committed */
    bool syntax_end;            /* an array syntax error ended the stream */
    bool stopped;               /* a stop request ended it early */
    bool failed; /* a fatal error (input, database): error says */
    char error[512];
};

/* Records handed to the loaders so far, all jobs together (progress). */
extern _Atomic long long ingest_progress_records;

/*
 * Loads one stream (path, "-" for standard input) into PostgreSQL: parses
 * in the calling thread, loads in a second one, one transaction per chunk.
 * Every committed chunk is notified on RabbitMQ (best effort). Stops at a
 * record boundary when a stop is requested. Fills *res.
 */
void job_run(const char *path, const struct job_opts *o,
             struct job_result *res);

/* ---- watch mode -------------------------------------------------------- */

/* Runs the --watch daemon until a stop is requested. Returns an exit code. */
int watch_run(const char *dir, const struct job_opts *o, int jobs);

#endif
