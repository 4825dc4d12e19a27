/*
 * heapscope run [-o PATTERN] -- PROGRAM [ARGS...]: runs PROGRAM with the
 * preload, then prints one summary line per traced process on stderr. The
 * program's stdin, stdout and stderr are its own; its exit status (or the
 * signal that killed it) becomes ours.
 *
 * Traced processes append their trace paths to a run log (HEAPSCOPE_RUN_LOG),
 * which is how we find the traces of children we never saw, and how each
 * child they reaped ended. We are the subreaper of every descendant, and
 * wait for all of them: run_account.c accounts for each.
 *
 * A program that cannot be traced by preloading (statically linked,
 * set-user-ID...) is run untouched, with one line saying so; the gate fails
 * it. So is a run with any process not seen whole: one that could not be
 * traced (exec'd a static program, has its own malloc) or died before its
 * trace was complete.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "graph.h"
#include "options_names.h"
#include "run_account.h"
#include "untraceable.h"
#include "util.h"

static int readable(const char *p) { return access(p, R_OK) == 0; }

/* HEAPSCOPE_FOLLOW=0: exec'd images are left untraced on purpose. */
static int follow_off(void)
{
    const char *f = getenv(HS_ENV_FOLLOW);
    return f && strcmp(f, "0") == 0;
}

/* The preload beside this executable (build tree or install), or where
 * HEAPSCOPE_PRELOAD says. */
static int find_preload(char *out, size_t room)
{
    const char *env = getenv(HS_ENV_PRELOAD);
    if (env && *env) {
        if (!realpath(env, out))
            return -1;
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    const char *dir = dirname(exe);
    /* The install's libdir relative to its bindir (already "../lib..."), then the build tree's. */
    const char *candidates[] = { HEAPSCOPE_LIBDIR_FROM_BIN "/libheapscope.so", "../lib/libheapscope.so" };
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        char p[PATH_MAX * 2];
        snprintf(p, sizeof p, "%s/%s", dir, candidates[i]);
        if (readable(p) && realpath(p, out))
            return 0;
    }
    snprintf(out, room, "%s", HEAPSCOPE_INSTALL_LIB "/libheapscope.so");
    return readable(out) ? 0 : -1;
}

/* Whether program (as run, found along PATH) is CPython: a python, python3,
 * python3.11 ... after symbolic links. */
static int is_cpython(const char *program)
{
    char found[PATH_MAX], real[PATH_MAX];
    if (strchr(program, '/')) {
        snprintf(found, sizeof found, "%s", program);
    } else {
        const char *path = getenv("PATH");
        int ok = 0;
        for (const char *p = path ? path : "/usr/bin:/bin"; *p && !ok;) {
            size_t n = strcspn(p, ":");
            snprintf(found, sizeof found, "%.*s/%s", (int)n, p, program);
            ok = access(found, X_OK) == 0;
            p += n + (p[n] == ':');
        }
        if (!ok)
            return 0;
    }
    if (!realpath(found, real))
        return 0;
    const char *base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
    return strncmp(base, "python", 6) == 0 && strspn(base + 6, "0123456789.") == strlen(base + 6);
}

/* For CPython: its objects in malloc blocks (pymalloc's arenas would hide
 * them), unless the user chose an allocator; and the heapscope module on
 * its path. Says the first in one line. */
static void python_env(const char *program)
{
    if (!getenv("PYTHONMALLOC")) {
        setenv("PYTHONMALLOC", "malloc", 1);
        fprintf(stderr, "heapscope: %s runs with PYTHONMALLOC=malloc, so that each Python object is a block "
                        "heapscope sees (pymalloc's arenas would hide them)\n", program);
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = 0;
    const char *dir = dirname(exe);
    const char *candidates[] = { HEAPSCOPE_PYDIR_FROM_BIN, "../python" };
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        char p[PATH_MAX * 2], real[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s/heapscope.py", dir, candidates[i]);
        if (!readable(p) || !realpath(p, real))
            continue;
        *strrchr(real, '/') = 0;
        const char *old = getenv("PYTHONPATH");
        char *value = xmalloc(strlen(real) + (old ? strlen(old) : 0) + 2);
        sprintf(value, "%s%s%s", real, old && *old ? ":" : "", old && *old ? old : "");
        setenv("PYTHONPATH", value, 1);
        free(value);
        return;
    }
}

/* The environment of the traced program (we are its forked child). */
static void preload_env(const char *lib, const char *log_path, const char *output)
{
    const char *pre = getenv("LD_PRELOAD");
    char *preload = xmalloc(strlen(lib) + (pre ? strlen(pre) : 0) + 2);
    sprintf(preload, "%s%s%s", lib, pre && *pre ? ":" : "", pre && *pre ? pre : "");
    setenv("LD_PRELOAD", preload, 1);
    setenv(HS_ENV_RUN_LOG, log_path, 1);
    char pid_s[24];
    snprintf(pid_s, sizeof pid_s, "%d", (int)getpid());
    setenv(HS_ENV_ROOT_PID, pid_s, 1);
    if (output) {
        char abs[PATH_MAX * 2], cwd[PATH_MAX];
        if (output[0] != '/' && getcwd(cwd, sizeof cwd))
            snprintf(abs, sizeof abs, "%s/%s", cwd, output);
        else
            snprintf(abs, sizeof abs, "%s", output);
        setenv(HS_ENV_OUTPUT, abs, 1);
    }
}

/* One line per trace: what it holds; or why heapscope saw none of its
 * allocations; and whether its process died before it was complete. */
static void report(const struct run_account *a, unsigned heuristics)
{
    for (size_t i = 0; i < a->n_traces; i++) {
        const char *line = a->traces[i];
        struct model m;
        char err[640], a1[32], b[32], c[32], why[4600];
        uint64_t bytes[KIND_COUNT], blocks[KIND_COUNT], inherited[2];
        if (model_load(&m, line, &(struct model_load_options){ .progress = cli_progress }, err, sizeof err) != 0) {
            fprintf(stderr, "heapscope: %s\n", err);
            continue;
        }
        cli_model_warning(&m);
        fprintf(stderr, "heapscope: %s (pid %llu): ", m.program, (unsigned long long)m.pid);
        if (model_malloc_foreign(&m, why, sizeof why)) {
            fprintf(stderr, "%s", why);
        } else {
            fprintf(stderr, "%s allocations, %s", fmt_count(a1, m.allocs), fmt_bytes(b, m.bytes_allocated));
            if (model_exec_snapshot(&m)) {
                fprintf(stderr, "; replaced by exec");
            } else if (graph_leak_totals(&m, heuristics, bytes, blocks, inherited)) {
                fprintf(stderr, "; lost %s bytes in %s blocks (%s possibly)",
                        fmt_count(a1, bytes[KIND_DEFINITELY_LOST] + bytes[KIND_INDIRECTLY_LOST]),
                        fmt_count(b, blocks[KIND_DEFINITELY_LOST] + blocks[KIND_INDIRECTLY_LOST]),
                        fmt_count(c, bytes[KIND_POSSIBLY_LOST]));
            } else if (m.snapshot) {
                fprintf(stderr, "; %s bytes in %s blocks not freed at %s", fmt_count(c, m.reported_bytes),
                        fmt_count(a1, m.reported_blocks), m.snapshot->name);
            }
            if (model_allocators_beside(&m, why, sizeof why))
                fprintf(stderr, "; %s", why);
        }
        if (a->cut[i]) /* (which is why the trace is short) */
            fprintf(stderr, "; %s", a->cut[i]);
        else if (m.damage)
            fputs(" (trace cut short)", stderr);
        fprintf(stderr, "; trace %s\n", line);
        model_free(&m);
    }
    for (size_t i = 0; i < a->n_untraced; i++)
        fprintf(stderr, "heapscope: %s\n", a->untraced[i]);
}

/* Waits for every process the run started: the first (pid), whose status
 * goes into *status, and every descendant orphaned on the way (we are their
 * subreaper), each noted in *out with its name. ^C and ^\ are the program's
 * while it runs, ours again once it has ended. */
static size_t reap_all(pid_t pid, int *status, const struct sigaction *old_int, const struct sigaction *old_quit,
                       struct run_reaped **out)
{
    size_t n = 0;
    *out = NULL;
    for (;;) {
        siginfo_t si = { 0 };
        if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) != 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: all reaped */
        }
        struct run_reaped r = { .pid = si.si_pid };
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/comm", (int)r.pid); /* a zombie keeps its name */
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(r.comm, sizeof r.comm, f))
                r.comm[strcspn(r.comm, "\n")] = 0;
            fclose(f);
        }
        while (waitpid(r.pid, &r.status, 0) < 0 && errno == EINTR)
            ;
        if (r.pid == pid) {
            *status = r.status;
            sigaction(SIGINT, old_int, NULL);
            sigaction(SIGQUIT, old_quit, NULL);
        }
        *out = xrealloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = r;
    }
    return n;
}

static struct {
    const char *output;       /* the trace file pattern */
    int gate;                 /* judge the traces after the run */
    struct gate_options gate_options;
} env = { .gate_options = GATE_OPTIONS_INIT };

/* One run of the program: what was found before, and its process. */
struct launch {
    char lib[PATH_MAX];
    char log_path[32];
    int untraceable;                 /* it cannot be traced (or could not be run): why says */
    char why[2 * PATH_MAX + 256];
    struct sigaction old_int, old_quit;
    pid_t pid;
    int exec_failed;                 /* exec said why on the pipe */
};

/* Forks and execs the program with the preload (untouched if it cannot be
 * traced), its signals as ours were; 0, or the status of the error said. */
static int launch(struct launch *l, char **program)
{
    /* While the program runs, ^C and ^\ are its to handle, not ours. */
    struct sigaction ign = { .sa_handler = SIG_IGN };
    sigaction(SIGINT, &ign, &l->old_int);
    sigaction(SIGQUIT, &ign, &l->old_quit);
    fflush(NULL);
    int exec_pipe[2]; /* closed by a successful exec; else the child writes on it */
    if (pipe2(exec_pipe, O_CLOEXEC) != 0)
        return cli_error("cannot make a pipe: %s", strerror(errno));
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphaned descendants are ours to reap, and to account for */
    l->pid = fork();
    if (l->pid < 0)
        return cli_error("cannot fork: %s", strerror(errno));
    if (l->pid == 0) {
        sigaction(SIGINT, &l->old_int, NULL);
        sigaction(SIGQUIT, &l->old_quit, NULL);
        if (!l->untraceable) { /* else untouched, not even its environment */
            preload_env(l->lib, l->log_path, env.output);
            if (is_cpython(program[0]))
                python_env(program[0]);
        }
        execvp(program[0], program);
        int err = errno;
        fprintf(stderr, "heapscope: cannot run %s: %s\n", program[0], strerror(err));
        (void)!write(exec_pipe[1], "x", 1);
        _exit(err == ENOENT ? 127 : 126);
    }
    close(exec_pipe[1]);
    char failed_exec;
    ssize_t got;
    while ((got = read(exec_pipe[0], &failed_exec, 1)) < 0 && errno == EINTR)
        ;
    close(exec_pipe[0]);
    l->exec_failed = got == 1;
    return 0;
}

/* After the run: the gate's verdict over its traces, or a line each. */
static int judge(const struct launch *l, struct run_account *acc)
{
    if (!env.gate) {
        report(acc, env.gate_options.heuristics);
        return 0;
    }
    struct gate_options gopt = env.gate_options;
    /* what was said before the run, first */
    char **unseen = xmalloc((acc->n_unseen + 1) * sizeof *unseen);
    unseen[0] = (char *)l->why;
    memcpy(unseen + !!l->untraceable, acc->unseen, acc->n_unseen * sizeof *unseen);
    gopt.unseen = unseen;
    gopt.n_unseen = acc->n_unseen + (l->untraceable != 0);
    gopt.ran = acc->ran;
    int verdict = cli_gate(acc->judged, acc->n_judged, &gopt);
    free(unseen);
    return verdict;
}

/* Our exit: the program's own failure first, then the gate's verdict. */
static int exit_status(int status, int verdict)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status) ? WEXITSTATUS(status) : verdict;
    if (WIFSIGNALED(status)) {
        /* die the same way, so our caller sees what the program did */
        int sig = WTERMSIG(status);
        signal(sig, SIG_DFL);
        setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 }); /* the program's core was the one */
        raise(sig);
        return 128 + sig;
    }
    return EXIT_TRACE_ERROR;
}

static int run_main(int argc, char **argv)
{
    (void)argc;
    char **program = argv; /* NULL-terminated */
    struct launch l = { .log_path = "/tmp/heapscope-run-XXXXXX" };
    if (find_preload(l.lib, sizeof l.lib) != 0)
        return cli_error("cannot find libheapscope.so (set " HS_ENV_PRELOAD " to its path)");
    l.untraceable = program_untraceable(program[0], l.why, sizeof l.why);
    if (l.untraceable) {
        strcat(l.why, ": it cannot be traced by preloading");
        if (!env.gate)
            fprintf(stderr, "heapscope: %s; running it untraced\n", l.why);
    }
    int log_fd = mkstemp(l.log_path);
    if (log_fd < 0)
        return cli_error("cannot create a run log in /tmp: %s", strerror(errno));
    close(log_fd);
    int status = launch(&l, program);
    if (status) {
        unlink(l.log_path);
        return status;
    }
    struct run_reaped *reaped;
    size_t n_reaped = reap_all(l.pid, &status, &l.old_int, &l.old_quit, &reaped);
    if (l.exec_failed) {
        snprintf(l.why, sizeof l.why, "%s could not be run", program[0]);
        l.untraceable = 1;
    }
    struct run_account acc;
    run_account_build(&acc, l.log_path, reaped, n_reaped, l.pid, l.untraceable, !l.exec_failed, !follow_off());
    int verdict = judge(&l, &acc);
    run_account_free(&acc);
    free(reaped);
    unlink(l.log_path);
    return exit_status(status, verdict);
}

static const struct opt options[] = {
    OPT_STR('o', "output", &env.output, "PATTERN", "the trace files (default heapscope.%e.%p.hst)"),
    OPT_BOOL(0, "gate", &env.gate, "judge the traces after the run (any gate option below implies it)"),
    GATE_OPTIONS(&env.gate_options, &env.gate),
    OPT_TERMINATOR,
};

const struct command command_run = {
    .name = "run", .args = "[--] PROGRAM [ARGS...]", .min_args = 1, .max_args = -1, .args_end_options = 1,
    .options = options, .main = run_main,
    .summary = "run a program under the tracer",
    .about = "In PATTERN, %p is the pid and %e the program's name.\n"
             "The program's options are its own: heapscope's end at its name.\n"
             "Its exit status is heapscope's (with --gate: its own failure first, then the gate's).\n"
             "A program that cannot be traced by preloading (statically linked, set-user-ID...)\n"
             "is run untraced, with one line saying why; the gate fails such a run.\n"
             "example: heapscope run -- python3 script.py\n",
};
