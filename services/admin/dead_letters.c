/*
 * metriflow-admin dead-letters list|replay: the messages in mf.dead.
 *
 * list prints up to --limit dead letters (time, stage, attempts, error,
 * body), one per line, tab-separated under a header, and leaves them in
 * the queue (they are taken without acknowledgement and handed back when
 * the connection closes). replay publishes each dead letter to its stage's
 * queue as a fresh message (attempts reset), waits for the broker's
 * confirm, and only then removes it from mf.dead; a letter whose stage is
 * unknown stays. Without --limit, replay takes every letter present when
 * it starts.
 */
#include "admin.h"
#include "mf_amqp.h"
#include "mf_log.h"
#include "mf_time.h"

#include <stdio.h>
#include <string.h>

#define BODY_SHOWN  200
#define ERROR_SHOWN 300

/* Writes s (at most max bytes) with tabs, newlines and control bytes
 * escaped, so that one letter stays one line. */
static void
put_field(FILE *out, const char *s, size_t len, size_t max)
{
    size_t n = len < max ? len : max;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t')
            fputs("\\t", out);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\\')
            fputs("\\\\", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    if (len > max)
        fputs("...", out);
}

static void
print_letter(const struct mf_amqp_msg *m)
{
    char when[32] = "-";

    if (m->time > 0)
        mf_time_format(m->time * MF_USEC_PER_SEC, when, sizeof(when));
    printf("%s\t%s\t%d\t", when, m->stage[0] ? m->stage : "-", m->attempts);
    put_field(stdout, m->error[0] ? m->error : "-",
              m->error[0] ? strlen(m->error) : 1, ERROR_SHOWN);
    putchar('\t');
    put_field(stdout, (const char *)m->body, m->len, BODY_SHOWN);
    putchar('\n');
}

static int
is_stage(const char *s)
{
    for (int i = 0; i < MF_AMQP_NSTAGES; i++)
        if (strcmp(s, mf_amqp_stages[i]) == 0)
            return 1;
    return 0;
}

static int
connect_broker(struct mf_cli *cli, struct mf_amqp **a, long *total)
{
    char err[512], q[160];

    if (mf_amqp_connect(mf_opt_str(cli, "amqp-url"), a, err, sizeof(err)) !=
        MF_AMQP_OK) {
        mf_error("cannot connect to RabbitMQ", "error=%s",
                 mf_log_q(q, sizeof(q), err));
        return -1;
    }
    if (mf_amqp_queue_count(*a, MF_AMQP_DEAD_QUEUE, total) != MF_AMQP_OK) {
        mf_error("cannot read the dead-letter queue", "error=%s",
                 mf_log_q(q, sizeof(q), mf_amqp_error(*a)));
        return -1;
    }
    return 0;
}

static int
list(struct mf_cli *cli, struct mf_amqp *a, long total)
{
    long limit = (long)mf_opt_int(cli, "limit"), shown = 0;
    struct mf_amqp_msg m;
    char q[160];

    printf("TIME\tSTAGE\tATTEMPTS\tERROR\tBODY\n");
    while (shown < limit && shown < total) {
        int rc = mf_amqp_get(a, MF_AMQP_DEAD_QUEUE, &m);
        if (rc == MF_AMQP_EMPTY)
            break;
        if (rc != MF_AMQP_OK) {
            mf_error("cannot read a dead letter", "error=%s",
                     mf_log_q(q, sizeof(q), mf_amqp_error(a)));
            return 1;
        }
        print_letter(&m);
        mf_amqp_msg_free(&m);
        shown++;
    }
    fprintf(stderr, "%ld dead letter(s) in %s, %ld listed\n", total,
            MF_AMQP_DEAD_QUEUE, shown);
    return 0;
}

/* Replays one letter. Returns 1 replayed, 0 left in place, -1 failed. */
static int
replay_one(struct mf_amqp *a, struct mf_amqp_msg *m)
{
    char q[160];

    if (!is_stage(m->stage)) {
        mf_warn("dead letter without a known stage left in place", "stage=%s",
                mf_log_q(q, sizeof(q), m->stage));
        return 0;
    }
    if (mf_amqp_publish(a, m->stage, m->body, m->len, 10000) != MF_AMQP_OK) {
        mf_error("cannot republish a dead letter", "stage=%s error=%s",
                 m->stage, mf_log_q(q, sizeof(q), mf_amqp_error(a)));
        return -1;
    }
    if (mf_amqp_ack(a, m, 0) != MF_AMQP_OK) {
        /* Published but still in mf.dead: a duplicate notice, harmless. */
        mf_error("cannot remove a replayed dead letter", "stage=%s error=%s",
                 m->stage, mf_log_q(q, sizeof(q), mf_amqp_error(a)));
        return -1;
    }
    return 1;
}

static int
replay(struct mf_cli *cli, struct mf_amqp *a, long total)
{
    long limit =
        mf_opt_is_set(cli, "limit") ? (long)mf_opt_int(cli, "limit") : total;
    long seen = 0, replayed = 0, kept = 0;
    struct mf_amqp_msg m;
    char q[160];
    int failed = 0;

    while (seen < limit && seen < total && !failed) {
        int rc = mf_amqp_get(a, MF_AMQP_DEAD_QUEUE, &m);
        if (rc == MF_AMQP_EMPTY)
            break;
        if (rc != MF_AMQP_OK) {
            mf_error("cannot read a dead letter", "error=%s",
                     mf_log_q(q, sizeof(q), mf_amqp_error(a)));
            failed = 1;
            break;
        }
        seen++;
        rc = replay_one(a, &m);
        mf_amqp_msg_free(&m);
        if (rc > 0)
            replayed++;
        else if (rc == 0)
            kept++;
        else
            failed = 1;
    }
    printf("replayed %ld dead letter(s), %ld left in place\n", replayed, kept);
    mf_info("dead letters replayed", "replayed=%ld kept=%ld", replayed, kept);
    return failed ? 1 : 0;
}

int
admin_dead_letters(struct mf_cli *cli)
{
    struct mf_amqp *a = NULL;
    long total = 0;
    int rc;

    if (cli->nargs != 2 || (strcmp(cli->args[1], "list") != 0 &&
                            strcmp(cli->args[1], "replay") != 0)) {
        mf_cli_usage_error(cli, "dead-letters needs 'list' or 'replay'");
        return 2;
    }
    if (connect_broker(cli, &a, &total) != 0) {
        mf_amqp_close(a);
        return 1;
    }
    if (strcmp(cli->args[1], "list") == 0)
        rc = list(cli, a, total);
    else
        rc = replay(cli, a, total);
    mf_amqp_close(a);
    return rc;
}
