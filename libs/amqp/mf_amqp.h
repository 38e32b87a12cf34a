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
 * The delivery limit only catches messages that kill their consumer again
 * and again; ordinary failures are counted by the consumer itself in the
 * header "x-mf-attempts" (mf_amqp_retry) and end in "mf.dead" with the
 * error text (mf_amqp_dead).
 *
 * Heartbeats are only serviced inside calls of this library: a handle that
 * is left alone for more than two heartbeat periods (MF_AMQP_HEARTBEAT_S)
 * is closed by the broker and reports MF_AMQP_CONN_LOST on its next use.
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
    MF_AMQP_EMPTY = -4,     /* mf_amqp_get: the queue has no message */
};

#define MF_AMQP_HEARTBEAT_S 60
#define MF_AMQP_STAGE_MAX   32   /* bytes, with the NUL */
#define MF_AMQP_ERROR_MAX   1024 /* bytes kept of an error text */
#define MF_AMQP_BODY_MAX    (1024 * 1024)

/* The stage names, in pipeline order, and their count. */
extern const char *const mf_amqp_stages[];
#define MF_AMQP_NSTAGES 7

/* The queue of every dead letter. */
#define MF_AMQP_DEAD_QUEUE "mf.dead"

/* A parsed "amqp://user:pass@host:port/vhost". */
struct mf_amqp_url {
    char user[128];
    char pass[128];
    char host[256];
    char vhost[256];
    int port;
};

/*
 * Parses url: scheme "amqp" only; user and password default to guest,
 * the host to localhost, the port to 5672; user, password and vhost are
 * percent-decoded; an empty path or "/" is the vhost "/" (as is "/%2F").
 * Returns 0, or -1 with the reason in err (never the password) and *out
 * cleared. The caller wipes out->pass when done (explicit_bzero).
 */
int mf_amqp_parse_url(const char *url, struct mf_amqp_url *out, char *err,
                      size_t errlen);

/*
 * A received message. mf_amqp_next and mf_amqp_get fill it; the caller
 * owns the struct and releases the body with mf_amqp_msg_free.
 */
struct mf_amqp_msg {
    unsigned char *body; /* malloc'd, NUL-terminated for convenience */
    size_t len;
    uint64_t tag;    /* delivery tag, valid for this connection only */
    unsigned gen;    /* connection generation the tag belongs to */
    int redelivered; /* the broker delivered it before */
    int attempts;    /* "x-mf-attempts" header, 0 when absent */
    char stage[MF_AMQP_STAGE_MAX]; /* "x-mf-stage", else the queue's
                                      stage for a broker dead letter */
    char error[MF_AMQP_ERROR_MAX]; /* "x-mf-error", else the broker's
                                      dead-letter reason; "" when none */
    int64_t time; /* unix seconds: "x-mf-dead-at", else the publish
                     timestamp; 0 when unknown */
};

/* Frees m->body and clears *m. NULL is allowed. */
void mf_amqp_msg_free(struct mf_amqp_msg *m);

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
 * and any consumer, until it succeeds or *stop is non-zero. With stop NULL
 * it makes exactly one attempt (the caller runs its own backoff). Returns
 * MF_AMQP_OK or MF_AMQP_CONN_LOST. Messages received before are stale:
 * their tags can no longer be acknowledged (the broker redelivers them).
 */
int mf_amqp_reconnect(struct mf_amqp *a, volatile int *stop);

/* 1 while the link is believed usable (the last call saw no loss). */
int mf_amqp_alive(const struct mf_amqp *a);

/* The last error's text ("" when none). */
const char *mf_amqp_error(const struct mf_amqp *a);

/*
 * Publishes a persistent message to the "metriflow" exchange with routing
 * key stage and waits up to timeout_ms for the broker's confirm.
 * MF_AMQP_OK only when the broker confirmed (ack) it.
 */
int mf_amqp_publish(struct mf_amqp *a, const char *stage, const void *body,
                    size_t len, int timeout_ms);

/*
 * As mf_amqp_publish, carrying the headers "x-mf-attempts" = attempts and
 * "x-mf-error" = error (truncated to MF_AMQP_ERROR_MAX - 1 bytes): a
 * failed message handed back to its stage for another attempt.
 */
int mf_amqp_retry(struct mf_amqp *a, const char *stage, const void *body,
                  size_t len, int attempts, const char *error, int timeout_ms);

/*
 * Publishes a dead letter to "mf.dead" (through "metriflow.dlx") with the
 * headers stage, attempts, error and the current time, and waits for the
 * confirm as mf_amqp_publish does.
 */
int mf_amqp_dead(struct mf_amqp *a, const char *stage, const void *body,
                 size_t len, int attempts, const char *error, int timeout_ms);

/*
 * Starts consuming "mf.<stage>" with manual acknowledgement and the given
 * prefetch (1-65535). The consumer is restarted by mf_amqp_reconnect.
 * Returns MF_AMQP_OK or a negative code; unchanged on failure.
 */
int mf_amqp_consume(struct mf_amqp *a, const char *stage, int prefetch);

/*
 * Waits up to timeout_ms (0: only what has already arrived) for the next
 * delivery of the consumer, servicing heartbeats and confirms meanwhile.
 * Returns MF_AMQP_OK with *m filled (free with mf_amqp_msg_free),
 * MF_AMQP_TIMEOUT, or MF_AMQP_CONN_LOST.
 */
int mf_amqp_next(struct mf_amqp *a, struct mf_amqp_msg *m, int timeout_ms);

/*
 * Services the connection for up to ms milliseconds (heartbeats; arriving
 * deliveries are kept for mf_amqp_next). Returns MF_AMQP_OK or
 * MF_AMQP_CONN_LOST.
 */
int mf_amqp_poll(struct mf_amqp *a, int ms);

/*
 * Acknowledges m (and, with multiple, every earlier unacknowledged
 * delivery of this connection). Returns MF_AMQP_OK, MF_AMQP_CONN_LOST, or
 * MF_AMQP_ERR when m belongs to an earlier connection (nothing sent: the
 * broker has already requeued it).
 */
int mf_amqp_ack(struct mf_amqp *a, const struct mf_amqp_msg *m, int multiple);

/* Rejects m, requeueing it when requeue is non-zero. Codes as mf_amqp_ack.*/
int mf_amqp_nack(struct mf_amqp *a, const struct mf_amqp_msg *m, int requeue);

/*
 * Takes one message from queue (basic.get, manual acknowledgement) into
 * *m. Returns MF_AMQP_OK, MF_AMQP_EMPTY, or a negative code. Not for a
 * handle that is consuming.
 */
int mf_amqp_get(struct mf_amqp *a, const char *queue, struct mf_amqp_msg *m);

/*
 * Stores the number of ready messages of queue in *count (passive
 * declare). Not for a handle that is consuming. Returns MF_AMQP_OK or a
 * negative code.
 */
int mf_amqp_queue_count(struct mf_amqp *a, const char *queue, long *count);

#endif
