/*
 * par.h: metriflow-gen's writers. The schedule is decided in order (cheap);
 * the text of a batch of records is written by several threads at once,
 * each into its own buffer, and handed back in order, so the bytes do not
 * depend on the number of threads.
 */
#ifndef GEN_PAR_H
#define GEN_PAR_H

#include "gen.h"

#include <stddef.h>
#include <stdint.h>

struct gen_par;

/* A run of text, to be written in the order given. */
struct gen_piece {
    const char *buf;
    size_t len;
};

/*
 * Sets up threads writers (1 to GEN_PAR_MAX; 1 writes in the caller's
 * thread) for engine g, which stays owned by the caller. Returns 0 and
 * *out, or -1 with a reason in err.
 */
#define GEN_PAR_MAX 4
int gen_par_new(struct gen *g, int threads, struct gen_par **out, char *err,
                size_t errlen);

/*
 * Writes the next batch. Fills pieces (at least GEN_PAR_MAX entries) and
 * *npieces, and *records with the records the batch holds: 0 when the
 * stream is complete. The pieces stay valid until the next call. Returns
 * 0, or -1 when out of memory.
 */
int gen_par_next(struct gen_par *p, struct gen_piece *pieces, int *npieces,
                 uint64_t *records);

/* Stops the threads and frees everything; NULL is allowed. */
void gen_par_free(struct gen_par *p);

#endif
