/*
 * mf_amqp: connection, topology, confirmed publishing and consuming over
 * librabbitmq 0.11.
 *
 * One channel carries everything. Frames are read by one pump (pump())
 * that routes confirms to the publisher, keeps deliveries in a ring for
 * mf_amqp_next, answers channel and connection closes, and reports a lost
 * link. 0.11 has no confirm-wait call, so a publish waits in that pump for
 * the basic.ack or basic.nack of its own sequence number.
 */
#include "mf_amqp.h"
#include "mf_time.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHANNEL           1
#define EXCHANGE          "metriflow"
#define DLX               "metriflow.dlx"
#define DELIVERY_LIMIT    20
#define CONNECT_TIMEOUT_S 5
#define RPC_TIMEOUT_S     15
#define FRAME_MAX         131072
#define POLL_SLICE_MS     1000

const char *const mf_amqp_stages[MF_AMQP_NSTAGES] = {
    "stage-ga", "stage-psi", "page", "interval", "daily", "monthly", "yearly",
};

struct mf_amqp {
    amqp_connection_state_t conn; /* NULL while disconnected */
    struct mf_amqp_url url;
    unsigned gen; /* bumped by every successful connect */
    int alive;    /* 0 once the link is known to be gone */
    uint64_t seq; /* delivery tag of the last publish on the channel */
    int confirm;  /* for seq: 0 waiting, 1 acked, -1 nacked */
    int returned; /* the broker returned the message of seq */
    char consume_stage[MF_AMQP_STAGE_MAX]; /* "" when not consuming */
    int prefetch;
    struct mf_amqp_msg *ring; /* deliveries not yet taken by mf_amqp_next */
    size_t ring_cap, ring_head, ring_len;
    char err[512];
};

/* --- small helpers ------------------------------------------------------ */

static struct timeval
tv_ms(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* Copies an AMQP string into a bounded C string. */
static void
bytes_to_str(amqp_bytes_t b, char *out, size_t cap)
{
    size_t n = b.len < cap - 1 ? b.len : cap - 1;
    if (n > 0)
        memcpy(out, b.bytes, n);
    out[n] = '\0';
}

static int
is_stage(const char *s)
{
    for (int i = 0; i < MF_AMQP_NSTAGES; i++)
        if (strcmp(s, mf_amqp_stages[i]) == 0)
            return 1;
    return 0;
}

/* Marks the link as gone and records why; returns MF_AMQP_CONN_LOST. */
static int
lost(struct mf_amqp *a, const char *what, const char *detail)
{
    a->alive = 0;
    snprintf(a->err, sizeof(a->err), "%s: %s", what, detail);
    return MF_AMQP_CONN_LOST;
}

/* Answers a close the broker sent, so that it can finish cleanly. */
static void
answer_close(struct mf_amqp *a, amqp_channel_t ch, amqp_method_number_t id)
{
    if (id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_ok_t ok = {0};
        amqp_send_method(a->conn, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    } else if (id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_ok_t ok = {0};
        amqp_send_method(a->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    }
}

/*
 * Records the error of a failed RPC. A broker exception closed the channel
 * or the connection; both are answered and reported as a lost link, since
 * the next step is a full reconnect. Returns the code to hand back.
 */
static int
rpc_fail(struct mf_amqp *a, const char *what, amqp_rpc_reply_t r)
{
    char text[256] = "";

    switch (r.reply_type) {
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return lost(a, what, amqp_error_string2(r.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *c = r.reply.decoded;
            bytes_to_str(c->reply_text, text, sizeof(text));
        } else if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *c = r.reply.decoded;
            bytes_to_str(c->reply_text, text, sizeof(text));
        }
        answer_close(a, CHANNEL, r.reply.id);
        return lost(a, what, text[0] ? text : "closed by the broker");
    default:
        return lost(a, what, "no reply from the broker");
    }
}

/* --- received messages --------------------------------------------------- */

void
mf_amqp_msg_free(struct mf_amqp_msg *m)
{
    if (m == NULL)
        return;
    free(m->body);
    memset(m, 0, sizeof(*m));
}

static long long
field_int(const amqp_field_value_t *v, int *ok)
{
    *ok = 1;
    switch (v->kind) {
    case AMQP_FIELD_KIND_I8:
        return v->value.i8;
    case AMQP_FIELD_KIND_U8:
        return v->value.u8;
    case AMQP_FIELD_KIND_I16:
        return v->value.i16;
    case AMQP_FIELD_KIND_U16:
        return v->value.u16;
    case AMQP_FIELD_KIND_I32:
        return v->value.i32;
    case AMQP_FIELD_KIND_U32:
        return v->value.u32;
    case AMQP_FIELD_KIND_I64:
        return v->value.i64;
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP:
        return v->value.u64 > INT64_MAX ? INT64_MAX : (long long)v->value.u64;
    default:
        *ok = 0;
        return 0;
    }
}

static int
field_str(const amqp_field_value_t *v, char *out, size_t cap)
{
    if (v->kind != AMQP_FIELD_KIND_UTF8 && v->kind != AMQP_FIELD_KIND_BYTES)
        return 0;
    bytes_to_str(v->value.bytes, out, cap);
    return 1;
}

static int
key_is(const amqp_table_entry_t *e, const char *name)
{
    size_t n = strlen(name);
    return e->key.len == n && memcmp(e->key.bytes, name, n) == 0;
}

/* The "time" of the first entry of an "x-death" array, or 0. */
static int64_t
x_death_time(const amqp_field_value_t *v)
{
    if (v->kind != AMQP_FIELD_KIND_ARRAY || v->value.array.num_entries < 1)
        return 0;
    const amqp_field_value_t *first = &v->value.array.entries[0];
    if (first->kind != AMQP_FIELD_KIND_TABLE)
        return 0;
    for (int i = 0; i < first->value.table.num_entries; i++) {
        const amqp_table_entry_t *e = &first->value.table.entries[i];
        int ok;
        long long t = field_int(&e->value, &ok);
        if (key_is(e, "time") && ok)
            return t;
    }
    return 0;
}

/* Describes a letter the broker dead-lettered, keeping any error text. */
static void
broker_reason(struct mf_amqp_msg *m, const char *reason, long long count)
{
    char prev[MF_AMQP_ERROR_MAX];

    memcpy(prev, m->error, sizeof(prev));
    int n = snprintf(m->error, sizeof(m->error),
                     "dead-lettered by RabbitMQ (%.60s) after %lld deliveries; "
                     "last error: ",
                     reason, count < 0 ? 0 : count);
    if (n < 0 || (size_t)n >= sizeof(m->error))
        return;
    const char *tail = prev[0] ? prev : "none recorded";
    size_t room = sizeof(m->error) - (size_t)n - 1;
    size_t len = strnlen(tail, room);
    memcpy(m->error + n, tail, len);
    m->error[(size_t)n + len] = '\0';
}

/*
 * Fills the metadata of m from the headers: ours first, then what the
 * broker adds when it dead-letters a message itself.
 */
static void
read_headers(const amqp_basic_properties_t *p, struct mf_amqp_msg *m)
{
    char queue[64] = "", reason[64] = "";
    long long delivery_count = -1, dead_at = 0, death_time = 0;
    int have_attempts = 0, ok;

    if (p->_flags & AMQP_BASIC_TIMESTAMP_FLAG)
        m->time = p->timestamp > INT64_MAX ? 0 : (int64_t)p->timestamp;
    if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
        return;
    for (int i = 0; i < p->headers.num_entries; i++) {
        const amqp_table_entry_t *e = &p->headers.entries[i];
        long long v = field_int(&e->value, &ok);
        if (key_is(e, "x-mf-attempts") && ok) {
            m->attempts = v < 0 ? 0 : v > 1000000 ? 1000000 : (int)v;
            have_attempts = 1;
        } else if (key_is(e, "x-mf-dead-at") && ok) {
            dead_at = v;
        } else if (key_is(e, "x-delivery-count") && ok) {
            delivery_count = v;
        } else if (key_is(e, "x-mf-stage")) {
            field_str(&e->value, m->stage, sizeof(m->stage));
        } else if (key_is(e, "x-mf-error")) {
            field_str(&e->value, m->error, sizeof(m->error));
        } else if (key_is(e, "x-first-death-queue")) {
            field_str(&e->value, queue, sizeof(queue));
        } else if (key_is(e, "x-first-death-reason")) {
            field_str(&e->value, reason, sizeof(reason));
        } else if (key_is(e, "x-death")) {
            death_time = x_death_time(&e->value);
        }
    }
    /* A letter the broker dead-lettered carries only its own headers. */
    if (m->stage[0] == '\0' && strncmp(queue, "mf.", 3) == 0 &&
        is_stage(queue + 3))
        snprintf(m->stage, sizeof(m->stage), "%.*s", (int)sizeof(m->stage) - 1,
                 queue + 3);
    if (reason[0] != '\0' && dead_at == 0)
        broker_reason(m, reason, delivery_count);
    if (!have_attempts && delivery_count > 0)
        m->attempts = delivery_count > 1000000 ? 1000000 : (int)delivery_count;
    if (dead_at > 0)
        m->time = dead_at;
    else if (death_time > 0)
        m->time = death_time;
}

/* Copies a message read by librabbitmq into m. Returns 0 or -1 (memory). */
static int
take_message(const amqp_message_t *in, uint64_t tag, int redelivered,
             unsigned gen, struct mf_amqp_msg *m)
{
    size_t len = in->body.len;

    memset(m, 0, sizeof(*m));
    /* Bodies are small notices; a longer one is cut (and fails to parse). */
    if (len > MF_AMQP_BODY_MAX)
        len = MF_AMQP_BODY_MAX;
    m->body = malloc(len + 1);
    if (m->body == NULL)
        return -1;
    if (len > 0)
        memcpy(m->body, in->body.bytes, len);
    m->body[len] = '\0';
    m->len = len;
    m->tag = tag;
    m->gen = gen;
    m->redelivered = redelivered;
    read_headers(&in->properties, m);
    return 0;
}

static void
ring_clear(struct mf_amqp *a)
{
    while (a->ring_len > 0) {
        mf_amqp_msg_free(&a->ring[a->ring_head]);
        a->ring_head = (a->ring_head + 1) % a->ring_cap;
        a->ring_len--;
    }
    a->ring_head = 0;
}

/* --- the frame pump --------------------------------------------------------
 */

static int
on_deliver(struct mf_amqp *a, amqp_channel_t ch, const amqp_basic_deliver_t *d)
{
    uint64_t tag = d->delivery_tag;
    int redelivered = d->redelivered;
    amqp_message_t msg;

    amqp_rpc_reply_t r = amqp_read_message(a->conn, ch, &msg, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return rpc_fail(a, "cannot read a delivery", r);
    if (a->ring_len == a->ring_cap) {
        amqp_destroy_message(&msg);
        return lost(a, "protocol error",
                    "more deliveries than the prefetch allows");
    }
    size_t slot = (a->ring_head + a->ring_len) % a->ring_cap;
    int rc = take_message(&msg, tag, redelivered, a->gen, &a->ring[slot]);
    amqp_destroy_message(&msg);
    if (rc != 0)
        return lost(a, "cannot keep a delivery", "out of memory");
    a->ring_len++;
    return MF_AMQP_OK;
}

static void
on_confirm(struct mf_amqp *a, uint64_t tag, int multiple, int result)
{
    if (a->seq == 0 || a->confirm != 0)
        return;
    if (tag == a->seq || (multiple && tag >= a->seq))
        a->confirm = result;
}

static int
on_method(struct mf_amqp *a, const amqp_frame_t *f)
{
    char text[256] = "";
    amqp_method_t m = f->payload.method;

    switch (m.id) {
    case AMQP_BASIC_DELIVER_METHOD:
        return on_deliver(a, f->channel, m.decoded);
    case AMQP_BASIC_ACK_METHOD: {
        const amqp_basic_ack_t *ack = m.decoded;
        on_confirm(a, ack->delivery_tag, ack->multiple, 1);
        return MF_AMQP_OK;
    }
    case AMQP_BASIC_NACK_METHOD: {
        const amqp_basic_nack_t *nack = m.decoded;
        on_confirm(a, nack->delivery_tag, nack->multiple, -1);
        return MF_AMQP_OK;
    }
    case AMQP_BASIC_RETURN_METHOD: {
        amqp_message_t msg;
        amqp_rpc_reply_t r = amqp_read_message(a->conn, f->channel, &msg, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL)
            return rpc_fail(a, "cannot read a returned message", r);
        amqp_destroy_message(&msg);
        a->returned = 1;
        return MF_AMQP_OK;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
        const amqp_channel_close_t *c = m.decoded;
        bytes_to_str(c->reply_text, text, sizeof(text));
        answer_close(a, f->channel, m.id);
        return lost(a, "RabbitMQ closed the channel", text);
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
        const amqp_connection_close_t *c = m.decoded;
        bytes_to_str(c->reply_text, text, sizeof(text));
        answer_close(a, 0, m.id);
        return lost(a, "RabbitMQ closed the connection", text);
    }
    case AMQP_BASIC_CANCEL_METHOD:
        return lost(a, "RabbitMQ cancelled the consumer",
                    "the queue was deleted or moved");
    default:
        return MF_AMQP_OK;
    }
}

/*
 * Reads and handles at most one frame, waiting up to timeout_ms. Returns
 * MF_AMQP_OK (a frame was handled), MF_AMQP_TIMEOUT or MF_AMQP_CONN_LOST.
 */
static int
pump(struct mf_amqp *a, int timeout_ms)
{
    amqp_frame_t f;

    if (!a->alive)
        return MF_AMQP_CONN_LOST;
    amqp_maybe_release_buffers(a->conn);
    struct timeval tv = tv_ms(timeout_ms < 0 ? 0 : timeout_ms);
    int rc = amqp_simple_wait_frame_noblock(a->conn, &f, &tv);
    if (rc == AMQP_STATUS_TIMEOUT)
        return MF_AMQP_TIMEOUT;
    if (rc != AMQP_STATUS_OK)
        return lost(a, "connection to RabbitMQ lost", amqp_error_string2(rc));
    if (f.frame_type != AMQP_FRAME_METHOD)
        return lost(a, "protocol error", "content frame without a method");
    return on_method(a, &f);
}

/* --- connecting ------------------------------------------------------------
 */

static int
declare_queue(struct mf_amqp *a, const char *queue, int dead_letters)
{
    amqp_table_entry_t e[3];
    int n = 0;

    e[n].key = amqp_cstring_bytes("x-queue-type");
    e[n].value.kind = AMQP_FIELD_KIND_UTF8;
    e[n++].value.value.bytes = amqp_cstring_bytes("quorum");
    if (dead_letters) {
        e[n].key = amqp_cstring_bytes("x-dead-letter-exchange");
        e[n].value.kind = AMQP_FIELD_KIND_UTF8;
        e[n++].value.value.bytes = amqp_cstring_bytes(DLX);
        e[n].key = amqp_cstring_bytes("x-delivery-limit");
        e[n].value.kind = AMQP_FIELD_KIND_I32;
        e[n++].value.value.i32 = DELIVERY_LIMIT;
    }
    amqp_table_t args = {n, e};
    if (amqp_queue_declare(a->conn, CHANNEL, amqp_cstring_bytes(queue), 0, 1, 0,
                           0, args) == NULL)
        return rpc_fail(a, "cannot declare a queue",
                        amqp_get_rpc_reply(a->conn));
    return MF_AMQP_OK;
}

static int
declare_topology(struct mf_amqp *a)
{
    char queue[64];

    if (amqp_exchange_declare(a->conn, CHANNEL, amqp_cstring_bytes(EXCHANGE),
                              amqp_cstring_bytes("direct"), 0, 1, 0, 0,
                              amqp_empty_table) == NULL ||
        amqp_exchange_declare(a->conn, CHANNEL, amqp_cstring_bytes(DLX),
                              amqp_cstring_bytes("fanout"), 0, 1, 0, 0,
                              amqp_empty_table) == NULL)
        return rpc_fail(a, "cannot declare the exchanges",
                        amqp_get_rpc_reply(a->conn));
    if (declare_queue(a, MF_AMQP_DEAD_QUEUE, 0) != MF_AMQP_OK)
        return MF_AMQP_CONN_LOST;
    if (amqp_queue_bind(a->conn, CHANNEL,
                        amqp_cstring_bytes(MF_AMQP_DEAD_QUEUE),
                        amqp_cstring_bytes(DLX), amqp_cstring_bytes(""),
                        amqp_empty_table) == NULL)
        return rpc_fail(a, "cannot bind the dead-letter queue",
                        amqp_get_rpc_reply(a->conn));
    for (int i = 0; i < MF_AMQP_NSTAGES; i++) {
        snprintf(queue, sizeof(queue), "mf.%s", mf_amqp_stages[i]);
        if (declare_queue(a, queue, 1) != MF_AMQP_OK)
            return MF_AMQP_CONN_LOST;
        if (amqp_queue_bind(a->conn, CHANNEL, amqp_cstring_bytes(queue),
                            amqp_cstring_bytes(EXCHANGE),
                            amqp_cstring_bytes(mf_amqp_stages[i]),
                            amqp_empty_table) == NULL)
            return rpc_fail(a, "cannot bind a stage queue",
                            amqp_get_rpc_reply(a->conn));
    }
    return MF_AMQP_OK;
}

static int
start_consumer(struct mf_amqp *a)
{
    char queue[64];

    snprintf(queue, sizeof(queue), "mf.%s", a->consume_stage);
    if (amqp_basic_qos(a->conn, CHANNEL, 0, (uint16_t)a->prefetch, 0) == NULL)
        return rpc_fail(a, "cannot set the prefetch",
                        amqp_get_rpc_reply(a->conn));
    if (amqp_basic_consume(a->conn, CHANNEL, amqp_cstring_bytes(queue),
                           amqp_empty_bytes, 0, 0, 0, amqp_empty_table) == NULL)
        return rpc_fail(a, "cannot start consuming",
                        amqp_get_rpc_reply(a->conn));
    return MF_AMQP_OK;
}

static void
drop_conn(struct mf_amqp *a)
{
    if (a->conn != NULL) {
        if (a->alive)
            amqp_connection_close(a->conn, AMQP_REPLY_SUCCESS);
        amqp_destroy_connection(a->conn);
    }
    a->conn = NULL;
    a->alive = 0;
}

/* One attempt to open the connection, log in and set everything up. */
static int
open_conn(struct mf_amqp *a)
{
    drop_conn(a);
    ring_clear(a);
    a->conn = amqp_new_connection();
    amqp_socket_t *sock = a->conn ? amqp_tcp_socket_new(a->conn) : NULL;
    if (sock == NULL)
        return lost(a, "cannot create a connection", "out of memory");
    struct timeval tv = {CONNECT_TIMEOUT_S, 0};
    int rc = amqp_socket_open_noblock(sock, a->url.host, a->url.port, &tv);
    if (rc != AMQP_STATUS_OK) {
        snprintf(a->err, sizeof(a->err),
                 "cannot connect to RabbitMQ at %s:%d: %s", a->url.host,
                 a->url.port, amqp_error_string2(rc));
        return MF_AMQP_CONN_LOST;
    }
    a->alive = 1;
    amqp_set_handshake_timeout(a->conn, &tv);
    struct timeval rpc = {RPC_TIMEOUT_S, 0};
    amqp_set_rpc_timeout(a->conn, &rpc);
    amqp_rpc_reply_t r =
        amqp_login(a->conn, a->url.vhost, 0, FRAME_MAX, MF_AMQP_HEARTBEAT_S,
                   AMQP_SASL_METHOD_PLAIN, a->url.user, a->url.pass);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return rpc_fail(a, "RabbitMQ refused the login", r);
    if (amqp_channel_open(a->conn, CHANNEL) == NULL)
        return rpc_fail(a, "cannot open a channel",
                        amqp_get_rpc_reply(a->conn));
    if (amqp_confirm_select(a->conn, CHANNEL) == NULL)
        return rpc_fail(a, "cannot enable publisher confirms",
                        amqp_get_rpc_reply(a->conn));
    if (declare_topology(a) != MF_AMQP_OK)
        return MF_AMQP_CONN_LOST;
    a->seq = 0;
    a->gen++;
    if (a->consume_stage[0] != '\0' && start_consumer(a) != MF_AMQP_OK)
        return MF_AMQP_CONN_LOST;
    a->err[0] = '\0';
    return MF_AMQP_OK;
}

int
mf_amqp_connect(const char *url, struct mf_amqp **out, char *err, size_t errlen)
{
    struct mf_amqp *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        snprintf(err, errlen, "out of memory");
        return MF_AMQP_ERR;
    }
    if (mf_amqp_parse_url(url, &a->url, err, errlen) != 0) {
        free(a);
        return MF_AMQP_ERR;
    }
    int rc = open_conn(a);
    if (rc != MF_AMQP_OK) {
        snprintf(err, errlen, "%s", a->err);
        mf_amqp_close(a);
        return rc;
    }
    *out = a;
    return MF_AMQP_OK;
}

void
mf_amqp_close(struct mf_amqp *a)
{
    if (a == NULL)
        return;
    drop_conn(a);
    ring_clear(a);
    free(a->ring);
    explicit_bzero(&a->url, sizeof(a->url));
    free(a);
}

int
mf_amqp_reconnect(struct mf_amqp *a, volatile int *stop)
{
    long delay_ms = 100;

    for (;;) {
        if (open_conn(a) == MF_AMQP_OK)
            return MF_AMQP_OK;
        if (stop == NULL || *stop)
            return MF_AMQP_CONN_LOST;
        mf_time_sleep_ms(delay_ms);
        delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
    }
}

int
mf_amqp_alive(const struct mf_amqp *a)
{
    return a->alive;
}

const char *
mf_amqp_error(const struct mf_amqp *a)
{
    return a->err;
}

/* --- publishing ------------------------------------------------------------
 */

/* Waits for the confirm of a->seq; the caller has just published it. */
static int
wait_confirm(struct mf_amqp *a, int timeout_ms)
{
    int64_t deadline = mf_time_mono_ms() + timeout_ms;

    while (a->confirm == 0) {
        int64_t left = deadline - mf_time_mono_ms();
        if (left <= 0) {
            snprintf(a->err, sizeof(a->err),
                     "RabbitMQ did not confirm a publish within %d ms",
                     timeout_ms);
            return MF_AMQP_TIMEOUT;
        }
        int rc = pump(a, left > POLL_SLICE_MS ? POLL_SLICE_MS : (int)left);
        if (rc == MF_AMQP_CONN_LOST)
            return rc;
    }
    if (a->confirm < 0) {
        snprintf(a->err, sizeof(a->err), "RabbitMQ refused a publish (nack)");
        return MF_AMQP_ERR;
    }
    if (a->returned) {
        snprintf(a->err, sizeof(a->err),
                 "RabbitMQ returned a publish: no queue is bound for it");
        return MF_AMQP_ERR;
    }
    return MF_AMQP_OK;
}

static int
publish_full(struct mf_amqp *a, const char *exchange, const char *key,
             const void *body, size_t len, amqp_table_t headers, int timeout_ms)
{
    amqp_basic_properties_t p;

    if (!a->alive)
        return MF_AMQP_CONN_LOST;
    if (key == NULL || (body == NULL && len > 0) || len > MF_AMQP_BODY_MAX ||
        timeout_ms < 0) {
        snprintf(a->err, sizeof(a->err), "bad publish arguments");
        return MF_AMQP_ERR;
    }
    memset(&p, 0, sizeof(p));
    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
               AMQP_BASIC_TIMESTAMP_FLAG;
    p.content_type = amqp_cstring_bytes("application/json");
    p.delivery_mode = 2; /* persistent */
    p.timestamp = (uint64_t)time(NULL);
    if (headers.num_entries > 0) {
        p._flags |= AMQP_BASIC_HEADERS_FLAG;
        p.headers = headers;
    }
    amqp_bytes_t b = {len, (void *)body};
    a->seq++;
    a->confirm = 0;
    a->returned = 0;
    int rc = amqp_basic_publish(a->conn, CHANNEL, amqp_cstring_bytes(exchange),
                                amqp_cstring_bytes(key), 1, 0, &p, b);
    if (rc != AMQP_STATUS_OK)
        return lost(a, "cannot publish to RabbitMQ", amqp_error_string2(rc));
    return wait_confirm(a, timeout_ms);
}

int
mf_amqp_publish(struct mf_amqp *a, const char *stage, const void *body,
                size_t len, int timeout_ms)
{
    return publish_full(a, EXCHANGE, stage, body, len, amqp_empty_table,
                        timeout_ms);
}

/* Builds the headers of a retried or dead letter into e (4 entries). */
static amqp_table_t
meta_headers(amqp_table_entry_t *e, const char *stage, int attempts,
             const char *error, char *errbuf, int dead)
{
    int n = 0;

    snprintf(errbuf, MF_AMQP_ERROR_MAX, "%s", error ? error : "");
    e[n].key = amqp_cstring_bytes("x-mf-attempts");
    e[n].value.kind = AMQP_FIELD_KIND_I32;
    e[n++].value.value.i32 = attempts;
    e[n].key = amqp_cstring_bytes("x-mf-error");
    e[n].value.kind = AMQP_FIELD_KIND_UTF8;
    e[n++].value.value.bytes = amqp_cstring_bytes(errbuf);
    e[n].key = amqp_cstring_bytes("x-mf-stage");
    e[n].value.kind = AMQP_FIELD_KIND_UTF8;
    e[n++].value.value.bytes = amqp_cstring_bytes(stage);
    if (dead) {
        e[n].key = amqp_cstring_bytes("x-mf-dead-at");
        e[n].value.kind = AMQP_FIELD_KIND_I64;
        e[n++].value.value.i64 = (int64_t)time(NULL);
    }
    amqp_table_t t = {n, e};
    return t;
}

int
mf_amqp_retry(struct mf_amqp *a, const char *stage, const void *body,
              size_t len, int attempts, const char *error, int timeout_ms)
{
    amqp_table_entry_t e[4];
    char errbuf[MF_AMQP_ERROR_MAX];

    if (stage == NULL || !is_stage(stage)) {
        snprintf(a->err, sizeof(a->err), "unknown stage");
        return MF_AMQP_ERR;
    }
    amqp_table_t h = meta_headers(e, stage, attempts, error, errbuf, 0);
    return publish_full(a, EXCHANGE, stage, body, len, h, timeout_ms);
}

int
mf_amqp_dead(struct mf_amqp *a, const char *stage, const void *body, size_t len,
             int attempts, const char *error, int timeout_ms)
{
    amqp_table_entry_t e[4];
    char errbuf[MF_AMQP_ERROR_MAX];

    amqp_table_t h =
        meta_headers(e, stage ? stage : "", attempts, error, errbuf, 1);
    return publish_full(a, DLX, "", body, len, h, timeout_ms);
}

/* --- consuming --------------------------------------------------------------
 */

int
mf_amqp_consume(struct mf_amqp *a, const char *stage, int prefetch)
{
    if (stage == NULL || !is_stage(stage) || prefetch < 1 || prefetch > 65535 ||
        a->consume_stage[0] != '\0') {
        snprintf(a->err, sizeof(a->err), "bad consume arguments");
        return MF_AMQP_ERR;
    }
    if (!a->alive)
        return MF_AMQP_CONN_LOST;
    a->ring = calloc((size_t)prefetch, sizeof(*a->ring));
    if (a->ring == NULL) {
        snprintf(a->err, sizeof(a->err), "out of memory");
        return MF_AMQP_ERR;
    }
    a->ring_cap = (size_t)prefetch;
    snprintf(a->consume_stage, sizeof(a->consume_stage), "%s", stage);
    a->prefetch = prefetch;
    int rc = start_consumer(a);
    if (rc != MF_AMQP_OK) {
        a->consume_stage[0] = '\0';
        free(a->ring);
        a->ring = NULL;
        a->ring_cap = 0;
    }
    return rc;
}

int
mf_amqp_next(struct mf_amqp *a, struct mf_amqp_msg *m, int timeout_ms)
{
    int64_t deadline = mf_time_mono_ms() + (timeout_ms < 0 ? 0 : timeout_ms);

    for (;;) {
        if (a->ring_len > 0) {
            *m = a->ring[a->ring_head];
            memset(&a->ring[a->ring_head], 0, sizeof(*m));
            a->ring_head = (a->ring_head + 1) % a->ring_cap;
            a->ring_len--;
            return MF_AMQP_OK;
        }
        int64_t left = deadline - mf_time_mono_ms();
        int rc = pump(a, left <= 0              ? 0
                         : left > POLL_SLICE_MS ? POLL_SLICE_MS
                                                : (int)left);
        if (rc == MF_AMQP_CONN_LOST)
            return rc;
        if (rc == MF_AMQP_TIMEOUT && mf_time_mono_ms() >= deadline)
            return MF_AMQP_TIMEOUT;
    }
}

int
mf_amqp_poll(struct mf_amqp *a, int ms)
{
    int64_t deadline = mf_time_mono_ms() + (ms < 0 ? 0 : ms);

    /* At least one look, so that ms = 0 still services the link. */
    for (;;) {
        int64_t left = deadline - mf_time_mono_ms();
        int rc = pump(a, left <= 0              ? 0
                         : left > POLL_SLICE_MS ? POLL_SLICE_MS
                                                : (int)left);
        if (rc == MF_AMQP_CONN_LOST)
            return rc;
        if (rc == MF_AMQP_TIMEOUT && mf_time_mono_ms() >= deadline)
            return MF_AMQP_OK;
    }
}

static int
check_tag(struct mf_amqp *a, const struct mf_amqp_msg *m)
{
    if (!a->alive)
        return MF_AMQP_CONN_LOST;
    if (m->gen != a->gen) {
        snprintf(a->err, sizeof(a->err),
                 "the delivery belongs to an earlier connection");
        return MF_AMQP_ERR;
    }
    return MF_AMQP_OK;
}

int
mf_amqp_ack(struct mf_amqp *a, const struct mf_amqp_msg *m, int multiple)
{
    int rc = check_tag(a, m);
    if (rc != MF_AMQP_OK)
        return rc;
    rc = amqp_basic_ack(a->conn, CHANNEL, m->tag, multiple != 0);
    if (rc != AMQP_STATUS_OK)
        return lost(a, "cannot acknowledge", amqp_error_string2(rc));
    return MF_AMQP_OK;
}

int
mf_amqp_nack(struct mf_amqp *a, const struct mf_amqp_msg *m, int requeue)
{
    int rc = check_tag(a, m);
    if (rc != MF_AMQP_OK)
        return rc;
    rc = amqp_basic_nack(a->conn, CHANNEL, m->tag, 0, requeue != 0);
    if (rc != AMQP_STATUS_OK)
        return lost(a, "cannot reject", amqp_error_string2(rc));
    return MF_AMQP_OK;
}

int
mf_amqp_get(struct mf_amqp *a, const char *queue, struct mf_amqp_msg *m)
{
    if (!a->alive)
        return MF_AMQP_CONN_LOST;
    amqp_rpc_reply_t r =
        amqp_basic_get(a->conn, CHANNEL, amqp_cstring_bytes(queue), 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return rpc_fail(a, "cannot get a message", r);
    if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
        return MF_AMQP_EMPTY;
    if (r.reply.id != AMQP_BASIC_GET_OK_METHOD)
        return lost(a, "protocol error", "unexpected reply to basic.get");
    const amqp_basic_get_ok_t *ok = r.reply.decoded;
    uint64_t tag = ok->delivery_tag;
    int redelivered = ok->redelivered;
    amqp_message_t msg;
    r = amqp_read_message(a->conn, CHANNEL, &msg, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return rpc_fail(a, "cannot read a message", r);
    int rc = take_message(&msg, tag, redelivered, a->gen, m);
    amqp_destroy_message(&msg);
    if (rc != 0) {
        snprintf(a->err, sizeof(a->err), "out of memory");
        return MF_AMQP_ERR;
    }
    return MF_AMQP_OK;
}

int
mf_amqp_queue_count(struct mf_amqp *a, const char *queue, long *count)
{
    if (!a->alive)
        return MF_AMQP_CONN_LOST;
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(a->conn, CHANNEL, amqp_cstring_bytes(queue), 1, 0, 0,
                           0, amqp_empty_table);
    if (ok == NULL)
        return rpc_fail(a, "cannot read the queue length",
                        amqp_get_rpc_reply(a->conn));
    *count = (long)ok->message_count;
    return MF_AMQP_OK;
}
