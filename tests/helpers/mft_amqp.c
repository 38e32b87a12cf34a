/*
 * mft_amqp: a small RabbitMQ client for the integration tests, through
 * mf_amqp, on METRIFLOW_AMQP_URL.
 *
 *   mft_amqp publish STAGE BODY [COUNT]   confirmed publishes
 *   mft_amqp count QUEUE                  prints the ready messages
 *   mft_amqp purge QUEUE                  takes and acks every message
 *
 * Exit 0 on success, 1 on failure (reason on standard error), 2 on usage.
 */
#include "mf_amqp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
publish(struct mf_amqp *a, const char *stage, const char *body, long count)
{
    for (long i = 0; i < count; i++) {
        int rc = mf_amqp_publish(a, stage, body, strlen(body), 10000);
        if (rc != MF_AMQP_OK) {
            fprintf(stderr, "mft_amqp: publish %ld failed: %s\n", i,
                    mf_amqp_error(a));
            return 1;
        }
    }
    return 0;
}

static int
count(struct mf_amqp *a, const char *queue)
{
    long n = 0;
    if (mf_amqp_queue_count(a, queue, &n) != MF_AMQP_OK) {
        fprintf(stderr, "mft_amqp: %s\n", mf_amqp_error(a));
        return 1;
    }
    printf("%ld\n", n);
    return 0;
}

static int
purge(struct mf_amqp *a, const char *queue)
{
    struct mf_amqp_msg m;
    int rc;
    while ((rc = mf_amqp_get(a, queue, &m)) == MF_AMQP_OK) {
        rc = mf_amqp_ack(a, &m, 0);
        mf_amqp_msg_free(&m);
        if (rc != MF_AMQP_OK)
            break;
    }
    if (rc != MF_AMQP_EMPTY) {
        fprintf(stderr, "mft_amqp: %s\n", mf_amqp_error(a));
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *url = getenv("METRIFLOW_AMQP_URL");
    char err[512];
    struct mf_amqp *a = NULL;
    int rc = 2;

    if (url == NULL || argc < 3) {
        fprintf(stderr, "usage: mft_amqp publish STAGE BODY [COUNT] | "
                        "count QUEUE | purge QUEUE (METRIFLOW_AMQP_URL)\n");
        return 2;
    }
    if (mf_amqp_connect(url, &a, err, sizeof(err)) != MF_AMQP_OK) {
        fprintf(stderr, "mft_amqp: %s\n", err);
        return 1;
    }
    if (strcmp(argv[1], "publish") == 0 && argc >= 4)
        rc = publish(a, argv[2], argv[3],
                     argc > 4 ? strtol(argv[4], NULL, 10) : 1);
    else if (strcmp(argv[1], "count") == 0)
        rc = count(a, argv[2]);
    else if (strcmp(argv[1], "purge") == 0)
        rc = purge(a, argv[2]);
    else
        fprintf(stderr, "mft_amqp: unknown command\n");
    mf_amqp_close(a);
    return rc;
}
