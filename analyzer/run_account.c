/*
 * Accounting for every process of a `heapscope run` (run_account.h).
 *
 * A process (a pid) runs one image after another: each traced image has its
 * trace, in the order the log lists them. An image is seen whole when its
 * trace ends (exit, or exec). One that did not was killed before its trace
 * was complete; one that an image (or a vfork child) exec'd and that left
 * no trace could not be traced (the preload's "@exec" note names it, and
 * untraceable.c says why) or was killed before it wrote; a pid with no
 * trace at all was known only from its reaper. How each ended comes from
 * whoever reaped it.
 */
#include "run_account.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "trace_format.h"
#include "untraceable.h"
#include "util.h"

/* What one trace says about its process. */
struct facts {
    uint64_t pid; /* 0: unreadable */
    char *program;
    int has_end, exec_end;
};

struct proc {
    pid_t pid;
    pid_t reaper; /* the traced process that reaped it, 0 if none did */
    int ended, status;
    char comm[32]; /* its name, when run reaped it */
    size_t last;   /* its last trace, SIZE_MAX if none */
    char *exec_file, *exec_search; /* what it last set out to exec (search: the PATH, or NULL) */
};

struct procs {
    struct proc *p;
    size_t n;
};

static struct proc *proc_get(struct procs *ps, pid_t pid)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->p[i].pid == pid)
            return &ps->p[i];
    ps->p = xrealloc(ps->p, (ps->n + 1) * sizeof *ps->p);
    ps->p[ps->n] = (struct proc){ .pid = pid, .last = SIZE_MAX };
    return &ps->p[ps->n++];
}

static void read_facts(const char *path, struct facts *f)
{
    char err[640];
    memset(f, 0, sizeof *f);
    struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
    if (!r)
        return;
    struct fmt_record rec;
    while (fmt_reader_next(r, &rec) == 1) {
        switch (rec.type) {
        case FMT_REC_PROCESS:
            if (!f->pid) {
                f->pid = rec.u.process.pid;
                f->program = xstrdup(rec.u.process.program);
            }
            break;
        case FMT_REC_PROCESS_END:
            f->has_end = 1;
            f->exec_end = rec.u.end.reason == FMT_END_EXEC;
            break;
        }
    }
    fmt_reader_close(r);
}

/* "@exec<TAB>PID<TAB>SEARCH<TAB>FILE": what pid set out to exec. */
static void read_exec(char *line, struct procs *ps)
{
    char *end, *search = strchr(line, '\t'), *file;
    long pid = search ? strtol(search + 1, &end, 10) : 0;
    if (pid <= 0 || *end != '\t' || !(file = strchr(end + 1, '\t')))
        return;
    search = end + 1;
    *file++ = 0;
    struct proc *p = proc_get(ps, (pid_t)pid);
    free(p->exec_file);
    free(p->exec_search);
    p->exec_file = xstrdup(file);
    p->exec_search = *search ? xstrdup(search) : NULL;
}

/* The run log: trace paths, and the preload's notes ("@wait CHILD STATUS
 * REAPER", "@exec ..."). */
static void read_log(const char *log_path, struct run_account *a, struct procs *ps)
{
    FILE *f = fopen(log_path, "r");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        line[strcspn(line, "\n")] = 0;
        int child, status, reaper;
        if (sscanf(line, "@wait %d %d %d", &child, &status, &reaper) == 3) {
            struct proc *p = proc_get(ps, child);
            p->reaper = reaper;
            p->ended = 1;
            p->status = status;
        } else if (strncmp(line, "@exec\t", 6) == 0) {
            read_exec(line, ps);
        } else if (*line) {
            lines_add(&a->traces, &a->n_traces, line);
        }
    }
    free(line);
    fclose(f);
}

static void how_ended(const struct proc *p, char *out, size_t room)
{
    if (!p || !p->ended)
        snprintf(out, room, "how it ended was not seen");
    else if (WIFSIGNALED(p->status) && sigabbrev_np(WTERMSIG(p->status)))
        snprintf(out, room, "killed by SIG%s", sigabbrev_np(WTERMSIG(p->status)));
    else if (WIFSIGNALED(p->status))
        snprintf(out, room, "killed by signal %d", WTERMSIG(p->status));
    else
        snprintf(out, room, "exited with status %d", WEXITSTATUS(p->status));
}

/* The name of a process that left no trace: as run reaped it, else its
 * reaper's program (it was forked from it), else "?". */
static const char *untraced_name(const struct proc *p, struct procs *ps, const struct facts *facts)
{
    if (*p->comm)
        return p->comm;
    for (size_t i = 0; p->reaper && i < ps->n; i++)
        if (ps->p[i].pid == p->reaper && ps->p[i].last != SIZE_MAX)
            return facts[ps->p[i].last].program;
    return "?";
}

void run_account_build(struct run_account *a, const char *log_path, const struct run_reaped *reaped,
                       size_t n_reaped, pid_t first, int first_said, int first_ran, int follow)
{
    memset(a, 0, sizeof *a);
    struct procs ps = { 0 };
    read_log(log_path, a, &ps);
    struct facts *facts = xcalloc(a->n_traces ? a->n_traces : 1, sizeof *facts);
    for (size_t i = 0; i < a->n_traces; i++) {
        read_facts(a->traces[i], &facts[i]);
        if (facts[i].pid)
            proc_get(&ps, (pid_t)facts[i].pid)->last = i;
    }
    for (size_t i = 0; i < n_reaped; i++) {
        struct proc *p = proc_get(&ps, reaped[i].pid);
        p->ended = 1;
        p->status = reaped[i].status;
        snprintf(p->comm, sizeof p->comm, "%s", reaped[i].comm);
    }

    char how[64], why[2 * PATH_MAX + 256], line[sizeof why + 256];
    a->cut = xcalloc(a->n_traces ? a->n_traces : 1, sizeof *a->cut);
    a->judged = xcalloc(a->n_traces ? a->n_traces : 1, sizeof *a->judged);
    a->ran = (long)a->n_traces;
    for (size_t i = 0; i < a->n_traces; i++) {
        if (!facts[i].pid || facts[i].has_end) {
            a->judged[a->n_judged++] = a->traces[i];
            continue;
        }
        struct proc *p = proc_get(&ps, (pid_t)facts[i].pid);
        how_ended(p->last == i ? p : NULL, how, sizeof how);
        snprintf(why, sizeof why, "died before its trace was complete (%s)", how);
        a->cut[i] = xstrdup(why);
        snprintf(line, sizeof line, "%s (pid %llu): %s", facts[i].program, (unsigned long long)facts[i].pid, why);
        lines_add(&a->unseen, &a->n_unseen, line);
    }
    for (size_t i = 0; i < ps.n; i++) {
        const struct proc *p = &ps.p[i];
        if (p->pid == first && (!first_ran || first_said)) {
            a->ran += first_ran; /* said already, or never ran */
            continue;
        }
        const struct facts *last = p->last != SIZE_MAX ? &facts[p->last] : NULL;
        /* the image it exec'd left no trace: after its traced image, or
         * after a vfork (which has no trace of its own) */
        int execd = last ? last->has_end && last->exec_end : p->exec_file != NULL;
        char untraceable[sizeof why - 64];
        int says = execd && p->exec_file ?
            program_untraceable_along(p->exec_file, p->exec_search, untraceable, sizeof untraceable) : 0;
        if (last ? !execd : says == -1) /* whole; or a vfork child whose exec failed: no image ran */
            continue;
        a->ran++;
        if (!(follow || (p->pid == first && !last)))
            continue;
        const char *name = untraced_name(p, &ps, facts);
        if (execd) {
            const char *file = p->exec_file ? p->exec_file : "?", *slash = strrchr(file, '/');
            name = slash ? slash + 1 : file;
        }
        how_ended(p, how, sizeof how);
        if (says == 1)
            snprintf(why, sizeof why, "%s: it cannot be traced by preloading", untraceable);
        else
            snprintf(why, sizeof why, "left no trace (%s)", how);
        snprintf(line, sizeof line, "%s (pid %d): %s", name, (int)p->pid, why);
        lines_add(&a->untraced, &a->n_untraced, line);
        lines_add(&a->unseen, &a->n_unseen, line);
    }
    for (size_t i = 0; i < a->n_traces; i++)
        free(facts[i].program);
    for (size_t i = 0; i < ps.n; i++) {
        free(ps.p[i].exec_file);
        free(ps.p[i].exec_search);
    }
    free(facts);
    free(ps.p);
}

void run_account_free(struct run_account *a)
{
    lines_free(a->cut, a->n_traces);
    lines_free(a->traces, a->n_traces);
    free(a->judged);
    lines_free(a->untraced, a->n_untraced);
    lines_free(a->unseen, a->n_unseen);
}
