/*
 * The preload's options: one table, every HEAPSCOPE_* variable the preload
 * reads with its default, bounds and one line of doc, read once at start-up
 * (the names are format/options_names.h's, shared with `heapscope run`).
 * docs/SPEC.md lists the user's options; unit_options holds it to this table.
 *
 * A bad value is ignored with one warning, never fatal. Reads the
 * environment only (getenv takes no lock): safe from the first allocation.
 */
#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options_names.h"

enum option_kind {
    OPTION_TEXT,   /* a string, NULL when unset and without default */
    OPTION_NUMBER, /* a decimal in [min, max]; 0 is "off" where the default is 0 */
    OPTION_SWITCH, /* 1 or 0 */
    OPTION_SIGNAL, /* a signal's name (USR2, SIGUSR2) or number; 0 for none */
};

enum {
    OPT_OUTPUT,
    OPT_SNAPSHOT_SIGNAL,
    OPT_SNAPSHOT_INTERVAL_MS,
    OPT_MAX_FRAMES,
    OPT_FOLLOW,
    OPT_SCAN,
    OPT_CHECK_STACKS,
    OPT_RUN_LOG,
    OPT_ROOT_PID,
    OPT_COUNT
};

static const struct option {
    const char *name;
    enum option_kind kind;
    const char *text;          /* OPTION_TEXT's default */
    long number, min, max;     /* the others' default and bounds */
    int internal;              /* set for traced processes, not by the user */
    const char *doc;
} options[OPT_COUNT] = {
    [OPT_OUTPUT] = { .name = HS_ENV_OUTPUT, .kind = OPTION_TEXT, .text = "heapscope.%e.%p.hst",
                     .doc = "trace file pattern; %p pid, %e program name" },
    [OPT_SNAPSHOT_SIGNAL] = { .name = HS_ENV_SNAPSHOT_SIGNAL, .kind = OPTION_SIGNAL, .number = SIGUSR2,
                              .max = NSIG - 1, .doc = "signal that takes a snapshot (USR2, 0 for none)" },
    [OPT_SNAPSHOT_INTERVAL_MS] = { .name = HS_ENV_SNAPSHOT_INTERVAL_MS, .kind = OPTION_NUMBER, .number = 0,
                                   .max = 86400000, .doc = "periodic snapshots" },
    [OPT_MAX_FRAMES] = { .name = HS_ENV_MAX_FRAMES, .kind = OPTION_NUMBER, .number = 128, .min = 1,
                         .max = FMT_MAX_FRAMES, .doc = "frames kept per stack" },
    [OPT_FOLLOW] = { .name = HS_ENV_FOLLOW, .kind = OPTION_SWITCH, .number = 1, .max = 1,
                     .doc = "trace forked and exec'd children (1/0)" },
    [OPT_SCAN] = { .name = HS_ENV_SCAN, .kind = OPTION_SWITCH, .number = 1, .max = 1,
                   .doc = "pointer-scan the heap at snapshots (1/0)" },
    [OPT_CHECK_STACKS] = { .name = HS_ENV_CHECK_STACKS, .kind = OPTION_NUMBER, .number = 0, .max = 1000000,
                           .doc = "walk every Nth stack again with libunwind and say at exit how many differ" },
    [OPT_RUN_LOG] = { .name = HS_ENV_RUN_LOG, .kind = OPTION_TEXT, .internal = 1,
                      .doc = "the run log: each traced process appends its trace's path (heapscope run)" },
    [OPT_ROOT_PID] = { .name = HS_ENV_ROOT_PID, .kind = OPTION_TEXT, .internal = 1,
                       .doc = "the first traced process's pid, for its descendants" },
};

struct hs_options hs_opt;

static char output_buf[4096], run_log_buf[4096];

static const struct {
    const char *name;
    int sig;
} signal_names[] = {
    { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP }, { "PROF", SIGPROF },
    { "URG", SIGURG }, { "WINCH", SIGWINCH },
};

/* A decimal number, all of s; 0 or -EINVAL. */
static int parse_decimal(const char *s, long *out)
{
    char *end;
    *out = strtol(s, &end, 10);
    return *s && !*end ? 0 : -EINVAL;
}

/* A signal's number from its name (with or without SIG) or number; 0 or
 * -EINVAL. */
static int parse_signal(const char *s, long *out)
{
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
        if (strcmp(s, signal_names[i].name) == 0) {
            *out = signal_names[i].sig;
            return 0;
        }
    return parse_decimal(s, out);
}

/* What the default looks like where it is documented (docs/SPEC.md). */
static void default_text(const struct option *o, char *out, size_t room)
{
    const char *name = NULL;
    for (size_t i = 0; o->kind == OPTION_SIGNAL && i < sizeof signal_names / sizeof signal_names[0]; i++)
        if (signal_names[i].sig == o->number)
            name = signal_names[i].name;
    if (o->kind == OPTION_TEXT || name)
        snprintf(out, room, "%s", o->kind == OPTION_TEXT ? (o->text ? o->text : "") : name);
    else if (o->kind == OPTION_NUMBER && o->number == 0)
        snprintf(out, room, "off");
    else
        snprintf(out, room, "%ld", o->number);
}

/* A number option's value: its default when unset, empty or bad (said once). */
static long option_number(const struct option *o)
{
    const char *s = getenv(o->name);
    if (!s || !*s)
        return o->number;
    long v;
    int err = o->kind == OPTION_SIGNAL ? parse_signal(s, &v) : parse_decimal(s, &v);
    if (err == 0 && v >= o->min && v <= o->max)
        return v;
    char def[64];
    default_text(o, def, sizeof def);
    plat_warn_once("%s=%s is not a %s from %ld to %ld; using %s", o->name, s,
                   o->kind == OPTION_SIGNAL ? "signal" : "number", o->min, o->max, def);
    return o->number;
}

/* A text option's value: its default (maybe NULL) when unset or empty. */
static const char *option_text(const struct option *o)
{
    const char *s = getenv(o->name);
    return s && *s ? s : o->text;
}

int options_info(size_t i, struct option_info *out)
{
    if (i >= OPT_COUNT)
        return -ENOENT;
    const struct option *o = &options[i];
    out->name = o->name;
    default_text(o, out->default_text, sizeof out->default_text);
    out->doc = o->doc;
    out->internal = o->internal;
    return 0;
}

/* Whether this process is the first traced one: HEAPSCOPE_ROOT_PID marks
 * the descendants of the first traced process, so that only the first one
 * takes a pattern without %p as it is. */
static int first_process(void)
{
    const char *root = option_text(&options[OPT_ROOT_PID]);
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    return !root || strcmp(root, pid) == 0;
}

void options_init(void)
{
    const char *out = option_text(&options[OPT_OUTPUT]);
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
    hs_opt.snapshot_signal = (int)option_number(&options[OPT_SNAPSHOT_SIGNAL]);
    hs_opt.interval_ms = (unsigned)option_number(&options[OPT_SNAPSHOT_INTERVAL_MS]);
    hs_opt.max_frames = (unsigned)option_number(&options[OPT_MAX_FRAMES]);
    hs_opt.follow = (int)option_number(&options[OPT_FOLLOW]);
    hs_opt.scan = (int)option_number(&options[OPT_SCAN]);
    hs_opt.check_stacks = (unsigned)option_number(&options[OPT_CHECK_STACKS]);
    /* copied: a program may write over its environment's strings (Chromium's
     * setproctitle does) */
    const char *run_log = option_text(&options[OPT_RUN_LOG]);
    if (run_log && strlen(run_log) < sizeof run_log_buf)
        hs_opt.run_log = strcpy(run_log_buf, run_log);
    hs_opt.first_process = first_process();
}

void options_mark_root(void)
{
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (!option_text(&options[OPT_ROOT_PID]) && hs_opt.follow)
        setenv(HS_ENV_ROOT_PID, pid, 1);
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
