#include "mf_sig.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_signal;

static void
on_stop(int signo)
{
    if (stop_signal == 0)
        stop_signal = signo;
}

int
mf_sig_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

int
mf_sig_stop_requested(void)
{
    return stop_signal != 0;
}

int
mf_sig_last(void)
{
    return stop_signal;
}

void
mf_sig_request_stop(void)
{
    stop_signal = -1;
}
