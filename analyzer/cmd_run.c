/*
 * heapscope run [-o PATTERN] -- PROGRAM [ARGS...]: runs PROGRAM with the
 * preload, then prints one summary line per traced process on stderr. The
 * program's stdin, stdout and stderr are its own; its exit status (or the
 * signal that killed it) becomes ours.
 *
 * Traced processes append their trace paths to a run log (HEAPSCOPE_RUN_LOG),
 * which is how we find the traces of children we never saw.
 *
 * A program that cannot be traced by preloading (statically linked,
 * set-user-ID...) is run untouched, with one line saying so; the gate fails
 * it. So is a run whose first process left no trace of its last image.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "gate.h"
#include "graph.h"
#include "untraceable.h"
#include "util.h"

static int readable(const char *p) { return access(p, R_OK) == 0; }

/* HEAPSCOPE_FOLLOW=0: exec'd images are left untraced on purpose. */
static int follow_off(void)
{
    const char *f = getenv("HEAPSCOPE_FOLLOW");
    return f && strcmp(f, "0") == 0;
}

/* The preload beside this executable (build tree or install), or where
 * HEAPSCOPE_PRELOAD says. */
static int find_preload(char *out, size_t room)
{
    const char *env = getenv("HEAPSCOPE_PRELOAD");
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

/* The environment of the traced program (we are its forked child). */
static void preload_env(const char *lib, const char *log_path, const char *output)
{
    const char *pre = getenv("LD_PRELOAD");
    char *preload = xmalloc(strlen(lib) + (pre ? strlen(pre) : 0) + 2);
    sprintf(preload, "%s%s%s", lib, pre && *pre ? ":" : "", pre && *pre ? pre : "");
    setenv("LD_PRELOAD", preload, 1);
    setenv("HEAPSCOPE_RUN_LOG", log_path, 1);
    char pid_s[24];
    snprintf(pid_s, sizeof pid_s, "%d", (int)getpid());
    setenv("HEAPSCOPE_ROOT_PID", pid_s, 1);
    if (output) {
        char abs[PATH_MAX * 2], cwd[PATH_MAX];
        if (output[0] != '/' && getcwd(cwd, sizeof cwd))
            snprintf(abs, sizeof abs, "%s/%s", cwd, output);
        else
            snprintf(abs, sizeof abs, "%s", output);
        setenv("HEAPSCOPE_OUTPUT", abs, 1);
    }
}

static void usage(FILE *f)
{
    fputs("usage: heapscope run [-o PATTERN] [--gate " GATE_USAGE "] [--] PROGRAM [ARGS...]\n"
          "  -o, --output PATTERN   trace file pattern (%p pid, %e program name);\n"
          "                         default heapscope.%e.%p.hst in the current directory\n"
          "  --gate                 after the run, judge its traces (see heapscope gate --help):\n"
          "                         exit 1 if they leak, the program's own status if it failed\n"
          "A program that cannot be traced by preloading (statically linked, set-user-ID...)\n"
          "is run untraced, with one line saying why; the gate fails such a run.\n"
          "example: heapscope run -- python3 script.py\n", f);
}

/* The traces listed in the run log. */
static size_t read_log(const char *log_path, char ***out)
{
    FILE *f = fopen(log_path, "r");
    *out = NULL;
    if (!f)
        return 0;
    size_t n = 0;
    char line[PATH_MAX + 2];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!*line)
            continue;
        *out = xrealloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = xstrdup(line);
    }
    fclose(f);
    return n;
}

/* The pid of a trace's process (its first record), 0 if unreadable; with
 * ended_by_exec, whether its last end record says the image exec'd. */
static uint64_t trace_process(const char *path, int *ended_by_exec)
{
    char err[640];
    struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
    if (!r)
        return 0;
    struct fmt_record rec;
    uint64_t pid = fmt_reader_next(r, &rec) == 1 && rec.type == FMT_REC_PROCESS ? rec.u.process.pid : 0;
    while (ended_by_exec && fmt_reader_next(r, &rec) == 1)
        if (rec.type == FMT_REC_PROCESS_END)
            *ended_by_exec = rec.u.end.reason == FMT_END_EXEC;
    fmt_reader_close(r);
    return pid;
}

/* Why the first process (pid) has no trace of its last image, into why; 0
 * if it has one. The run log lists traces as they were opened, so an image's
 * trace comes after the one of the image that exec'd it. */
static int first_process_untraced(char *const *traces, size_t n, pid_t pid, char *why, size_t room)
{
    size_t last = n;
    for (size_t i = 0; i < n; i++)
        if (trace_process(traces[i], NULL) == (uint64_t)pid)
            last = i;
    int exec_end = 0;
    if (last == n)
        snprintf(why, room, "the first process (pid %d) left no trace (it ran without the preload, or was "
                 "killed before it wrote)", (int)pid);
    else if (trace_process(traces[last], &exec_end) && exec_end && !follow_off())
        snprintf(why, room, "the first process (pid %d) exec'd a program that left no trace (one that cannot "
                 "be traced by preloading, or killed before it wrote)", (int)pid);
    else
        return 0;
    return 1;
}

/* One line per trace. */
static void report(char *const *traces, size_t n, unsigned heuristics)
{
    for (size_t i = 0; i < n; i++) {
        const char *line = traces[i];
        struct model m;
        char err[640], a[32], b[32], c[32];
        if (model_load(&m, line, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "heapscope: %s\n", err);
            continue;
        }
        fprintf(stderr, "heapscope: %s (pid %llu): %s allocations, %s", m.program,
                (unsigned long long)m.pid, fmt_count(a, m.allocs), fmt_bytes(b, m.bytes_allocated));
        if (model_exec_snapshot(&m)) {
            fprintf(stderr, "; replaced by exec");
        } else if (m.snapshot && m.snapshot->scanned) {
            struct graph g;
            uint64_t bytes[KIND_COUNT], blocks[KIND_COUNT], inherited[2];
            graph_build(&g, &m, heuristics);
            graph_totals(&g, bytes, blocks, inherited);
            graph_free(&g);
            fprintf(stderr, "; lost %s bytes in %s blocks (%s possibly)",
                    fmt_count(a, bytes[KIND_DEFINITELY_LOST] + bytes[KIND_INDIRECTLY_LOST]),
                    fmt_count(b, blocks[KIND_DEFINITELY_LOST] + blocks[KIND_INDIRECTLY_LOST]),
                    fmt_count(c, bytes[KIND_POSSIBLY_LOST]));
        } else if (m.snapshot) {
            fprintf(stderr, "; %s bytes in %s blocks not freed at %s", fmt_count(c, m.reported_bytes),
                    fmt_count(a, m.reported_blocks), m.snapshot->name);
        }
        fprintf(stderr, "%s; trace %s\n", m.damage ? " (trace cut short)" : "", line);
        model_free(&m);
    }
}

int cmd_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
        { "gate", no_argument, NULL, 'g' }, GATE_LONG_OPTIONS, { 0 } };
    const char *output = NULL;
    int c, gate = 0;
    struct gate_options gopt;
    gate_options_init(&gopt);
    /* "+": stop at the program's name, its options are its own */
    optind = 1;
    while ((c = getopt_long(argc, argv, "+o:h", longopts, NULL)) != -1) {
        int r;
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case 'g':
            gate = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            if ((r = gate_option(&gopt, c, optarg)) == 1) {
                gate = 1;
                break;
            }
            if (r == -1)
                return cli_error("bad value '%s' (see heapscope run --help)", optarg);
            usage(stderr);
            return EXIT_TRACE_ERROR;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_TRACE_ERROR;
    }
    char lib[PATH_MAX];
    if (find_preload(lib, sizeof lib) != 0)
        return cli_error("cannot find libheapscope.so (set HEAPSCOPE_PRELOAD to its path)");

    char why[2 * PATH_MAX + 256];
    int untraceable = program_untraceable(argv[optind], why, sizeof why);
    if (untraceable) {
        strcat(why, ": it cannot be traced by preloading");
        if (!gate)
            fprintf(stderr, "heapscope: %s; running it untraced\n", why);
    }

    char log_path[] = "/tmp/heapscope-run-XXXXXX";
    int log_fd = mkstemp(log_path);
    if (log_fd < 0)
        return cli_error("cannot create a run log in /tmp: %s", strerror(errno));
    close(log_fd);

    /* While the program runs, ^C and ^\ are its to handle, not ours. */
    struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    fflush(NULL);
    int exec_pipe[2]; /* closed by a successful exec; else the child writes on it */
    if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
        unlink(log_path);
        return cli_error("cannot make a pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        unlink(log_path);
        return cli_error("cannot fork: %s", strerror(errno));
    }
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        if (!untraceable) /* else untouched, not even its environment */
            preload_env(lib, log_path, output);
        execvp(argv[optind], argv + optind);
        int err = errno;
        fprintf(stderr, "heapscope: cannot run %s: %s\n", argv[optind], strerror(err));
        (void)!write(exec_pipe[1], "x", 1);
        _exit(err == ENOENT ? 127 : 126);
    }
    close(exec_pipe[1]);
    char failed_exec;
    ssize_t got;
    while ((got = read(exec_pipe[0], &failed_exec, 1)) < 0 && errno == EINTR)
        ;
    close(exec_pipe[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    int verdict = 0;
    char **traces;
    size_t n = read_log(log_path, &traces);
    int left_no_trace = !untraceable && got != 1 && first_process_untraced(traces, n, pid, why, sizeof why);
    if (got == 1) { /* exec said why */
        snprintf(why, sizeof why, "%s could not be run", argv[optind]);
        untraceable = 1;
    }
    if (gate) {
        gopt.untraced = untraceable || left_no_trace ? why : NULL;
        verdict = gate_run(traces, n, &gopt);
    } else {
        report(traces, n, gopt.heuristics);
        if (left_no_trace)
            fprintf(stderr, "heapscope: %s\n", why);
    }
    for (size_t i = 0; i < n; i++)
        free(traces[i]);
    free(traces);
    unlink(log_path);
    if (WIFEXITED(status)) /* the program's own failure first, then the gate's */
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
