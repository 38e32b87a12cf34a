/*
 * mf_amqp: the only place that calls librabbitmq.
 *
 * Topology (declared by mf_amqp_connect, idempotent): a durable direct
 * exchange "metriflow"; per stage NAME a durable quorum queue "mf.NAME"
 * bound with routing key NAME, with a delivery limit, dead-lettering to the
 * exchange "metriflow.dlx" and its queue "mf.dead". Messages are persistent
 * and every publish waits for the broker's confirm. A message body is a
 * small JSON object saying "there is work" (pipeline.md: the work itself is
 * recorded in PostgreSQL).
 *
 * A handle is used by one thread at a time.
 */
#ifndef MF_AMQP_H
#define MF_AMQP_H

#include <stddef.h>
#include <stdint.h>

struct mf_amqp;

enum {
    MF_AMQP_OK = 0,
    MF_AMQP_ERR = -1,       /* refused (nack, bad argument); link is fine */
    MF_AMQP_CONN_LOST = -2, /* the link is gone: mf_amqp_reconnect */
    MF_AMQP_TIMEOUT = -3,   /* nothing arrived / no confirm in time */
};

/*
 * Connects to url ("amqp://user:pass@host:port/vhost"), opens a channel in
 * confirm mode and declares the topology. Returns MF_AMQP_OK with a handle
 * in *out (free with mf_amqp_close), or a negative code with the reason in
 * err (never the password).
 */
int mf_amqp_connect(const char *url, struct mf_amqp **out, char *err,
                    size_t errlen);

/* Closes the connection and frees the handle. NULL is allowed. */
void mf_amqp_close(struct mf_amqp *a);

/*
 * Reconnects with backoff (100 ms doubling to 5 s), redeclaring the topology
 * and any consumer, until it succeeds or *stop is non-zero.
 */
int mf_amqp_reconnect(struct mf_amqp *a, volatile int *stop);

/* The last error's text ("" when none). */
const char *mf_amqp_error(const struct mf_amqp *a);

/*
 * Publishes a persistent message to the "metriflow" exchange with routing
 * key stage and waits up to timeout_ms for the broker's confirm.
 * MF_AMQP_OK only when the broker confirmed (ack) it.
 */
int mf_amqp_publish(struct mf_amqp *a, const char *stage, const void *body,
                    size_t len, int timeout_ms);

#endif
