/*
 * mft_drain QUEUE...: a test helper. Takes every ready message from
 * each queue (on METRIFLOW_AMQP_URL), acknowledges it and prints
 * "QUEUE BODY" per message. Exits 0, or 1 when the broker cannot be used.
 */
#include "mf_amqp.h"

#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
    const char *url = getenv("METRIFLOW_AMQP_URL");
    struct mf_amqp *a = NULL;
    char err[512];

    if (url == NULL || mf_amqp_connect(url, &a, err, sizeof(err)) != 0) {
        fprintf(stderr, "mft_drain: cannot connect: %s\n",
                url ? err : "METRIFLOW_AMQP_URL is not set");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        for (;;) {
            struct mf_amqp_msg m = {0};
            int rc = mf_amqp_get(a, argv[i], &m);
            if (rc == MF_AMQP_EMPTY)
                break;
            if (rc != MF_AMQP_OK) {
                fprintf(stderr, "mft_drain: %s\n", mf_amqp_error(a));
                mf_amqp_close(a);
                return 1;
            }
            printf("%s %.*s\n", argv[i], (int)m.len, (const char *)m.body);
            mf_amqp_ack(a, &m, 0);
            mf_amqp_msg_free(&m);
        }
    }
    mf_amqp_close(a);
    return 0;
}
