/*
 * The preload's options: one table, read once from HEAPSCOPE_* variables at
 * start-up (docs/SPEC.md lists them). A bad value is ignored with a warning,
 * never fatal.
 */
#include "internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hs_options hs_opt;

static char output_buf[4096], run_log_buf[4096];

static int parse_signal(const char *s)
{
    static const struct { const char *name; int sig; } names[] = {
        { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP }, { "PROF", SIGPROF },
        { "URG", SIGURG }, { "WINCH", SIGWINCH },
    };
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].sig;
    char *end;
    long v = strtol(s, &end, 10);
    if (*s && !*end && v >= 0 && v < NSIG)
        return (int)v;
    plat_warn_once("HEAPSCOPE_SNAPSHOT_SIGNAL=%s is not a signal; using none", s);
    return 0;
}

static long parse_num(const char *name, long def, long lo, long hi)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi) {
        plat_warn_once("%s=%s is out of range (%ld..%ld); using %ld", name, s, lo, hi, def);
        return def;
    }
    return v;
}

void options_init(void)
{
    const char *out = getenv("HEAPSCOPE_OUTPUT");
    if (!out || !*out)
        out = "heapscope.%e.%p.hst";
    /* A relative pattern is taken from where the program started, not from
     * wherever it has gone by the time the trace is opened. */
    if (out[0] != '/' && getcwd(output_buf, sizeof output_buf - 256) &&
        strlen(output_buf) + strlen(out) + 2 < sizeof output_buf) {
        strcat(output_buf, "/");
        strcat(output_buf, out);
    } else {
        snprintf(output_buf, sizeof output_buf, "%s", out);
    }
    hs_opt.output = output_buf;

    const char *sig = getenv("HEAPSCOPE_SNAPSHOT_SIGNAL");
    hs_opt.snapshot_signal = sig && *sig ? parse_signal(sig) : SIGUSR2;
    hs_opt.interval_ms = (unsigned)parse_num("HEAPSCOPE_SNAPSHOT_INTERVAL_MS", 0, 0, 86400000);
    hs_opt.max_frames = (unsigned)parse_num("HEAPSCOPE_MAX_FRAMES", 128, 1, FMT_MAX_FRAMES);
    hs_opt.follow = (int)parse_num("HEAPSCOPE_FOLLOW", 1, 0, 1);
    hs_opt.scan = (int)parse_num("HEAPSCOPE_SCAN", 1, 0, 1);
    /* copied: a program may write over its environment's strings (Chromium's
     * setproctitle does) */
    const char *run_log = getenv("HEAPSCOPE_RUN_LOG");
    if (run_log && *run_log && strlen(run_log) < sizeof run_log_buf)
        hs_opt.run_log = strcpy(run_log_buf, run_log);

    /* HEAPSCOPE_ROOT_PID marks the descendants of the first traced process,
     * so that only the first one takes a pattern without %p as it is. */
    const char *root = getenv("HEAPSCOPE_ROOT_PID");
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    hs_opt.first_process = !root || !*root || strcmp(root, pid) == 0;
}

void options_mark_root(void)
{
    const char *root = getenv("HEAPSCOPE_ROOT_PID");
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    if ((!root || !*root) && hs_opt.follow)
        setenv("HEAPSCOPE_ROOT_PID", pid, 1);
}

void options_unpreload(void)
{
    extern char **environ;
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "LD_PRELOAD=", 11) != 0)
            continue;
        /* Rewrite the list in place without the entries naming us. */
        char *src = *e + 11, *dst = src;
        while (*src) {
            size_t n = strcspn(src, ": ");
            int ours = n >= 15 && memmem(src, n, "libheapscope.so", 15) != NULL;
            if (!ours) {
                if (dst != *e + 11)
                    *dst++ = ':';
                memmove(dst, src, n);
                dst += n;
            }
            src += n;
            while (*src == ':' || *src == ' ')
                src++;
        }
        *dst = 0;
    }
}
