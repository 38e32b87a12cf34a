/*
 * mf_sig: shutdown signals. The handlers only set a flag; daemons poll
 * mf_sig_stop_requested() between units of work and finish the one in hand.
 */
#ifndef MF_SIG_H
#define MF_SIG_H

/* Installs handlers for SIGTERM and SIGINT and ignores SIGPIPE.
 * Returns 0, or -1 with errno set. */
int mf_sig_install(void);

/* 1 once SIGTERM or SIGINT arrived (or mf_sig_request_stop was called). */
int mf_sig_stop_requested(void);

/* The number of the first stop signal received, 0 if none. */
int mf_sig_last(void);

/* Requests a stop from inside the program, as a signal would. */
void mf_sig_request_stop(void);

#endif
