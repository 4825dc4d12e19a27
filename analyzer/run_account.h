/*
 * What became of every process a `heapscope run` started: from the traces
 * its run log lists and what they say (whether they ended, what an image set
 * out to exec), the children that traced processes reaped (the log's "@wait"
 * lines, from the preload's wait hooks) and the processes `heapscope run`
 * reaped itself, as their subreaper.
 */
#ifndef HEAPSCOPE_RUN_ACCOUNT_H
#define HEAPSCOPE_RUN_ACCOUNT_H

#include <stddef.h>
#include <sys/types.h>

/* A process heapscope run reaped: how it ended and its name then. */
struct run_reaped {
    pid_t pid;
    int status; /* as waitpid gives it */
    char comm[32];
};

struct run_account {
    char **traces;       /* the run log's traces, in the order they were opened */
    char **cut;          /* per trace: NULL, or why it is not whole ("died before its trace
                            was complete (killed by SIGTERM)") */
    size_t n_traces;
    char **judged;       /* the traces the gate judges: those that ended (and unreadable ones,
                            which it reports); pointers into traces */
    size_t n_judged;
    char **untraced;     /* "NAME (pid N): why", one per process image that left no trace */
    size_t n_untraced;
    char **unseen;       /* for the gate: each image not seen whole, trace or not */
    size_t n_unseen;
    long ran;            /* process images that ran: traced or not */
};

/* Accounts for the run whose log is log_path. first is the first process;
 * first_said: it cannot be traced and a line said so already (it is
 * counted, but not said again); first_ran: its exec succeeded. With follow
 * (HEAPSCOPE_FOLLOW), an image without a trace is said; without, only the
 * first image was meant to be traced. */
void run_account_build(struct run_account *a, const char *log_path, const struct run_reaped *reaped,
                       size_t n_reaped, pid_t first, int first_said, int first_ran, int follow);
void run_account_free(struct run_account *a);

#endif
