/*
 * Notes for the analyzer about what a trace cannot show by itself, so that
 * `heapscope run` and the gate can account for every process:
 *
 * - an allocator heapscope does not see: a program whose malloc is its own
 *   (rustc's jemalloc, Chromium's PartitionAlloc) binds every malloc call to
 *   itself, before any preloaded library, and records nothing; a known
 *   allocator's own API beside our malloc (jemalloc's mallocx, mimalloc's
 *   mi_malloc, tcmalloc's tc_malloc) is not traced either (ALLOCATOR records);
 * - under `heapscope run`, in its run log: the program each image is about
 *   to exec, so that a target which leaves no trace is named (a vfork child
 *   has no trace of its own to say it in), and each child a process reaps
 *   with its wait status, so that a child killed before its trace was
 *   complete is told apart, with its signal.
 *
 * Never allocates through the hooks, never writes to stdout. The run log's
 * notes may come from a signal handler (a SIGCHLD handler reaps) or a vfork
 * child (it shares its parent's memory): they only format into their stack
 * and make async-signal-safe system calls.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Functions only a known allocator defines, and its name. */
static const struct {
    const char *symbol, *allocator;
} known_apis[] = {
    { "mallocx", "jemalloc" },   { "je_mallocx", "jemalloc" }, { "_rjem_mallocx", "jemalloc" },
    { "je_malloc", "jemalloc" }, { "_rjem_malloc", "jemalloc" }, { "mi_malloc", "mimalloc" },
    { "tc_malloc", "tcmalloc" },
};

#define ALLOCATORS_MAX 4

struct allocator {
    int malloc_ours; /* 0: malloc itself is this module's */
    const void *base; /* the module's, to tell modules apart */
    char name[16];   /* "" when not known */
    char module[512];
};

static struct allocator found[ALLOCATORS_MAX]; /* written once, by the constructor */
static unsigned n_found;

int notes_malloc_foreign(void) { return n_found && !found[0].malloc_ours; }

static void put_allocator(const struct allocator *a)
{
    struct out_buf *ob = out_global_acquire(FMT_ALLOCATOR_ROOM(sizeof a->name, sizeof a->module));
    if (!ob)
        return;
    fmt_put_allocator(out_fmt(ob), a->malloc_ours, a->name, a->module);
    out_release(ob);
}

/* Notes the allocator holding addr, unless already noted. */
static struct allocator *note_module(const void *addr, int malloc_ours, const char *name)
{
    const void *base;
    char module[sizeof found[0].module];
    if (plat_module_path(addr, &base, module, sizeof module) != 0)
        return NULL;
    for (unsigned i = 0; i < n_found; i++)
        if (found[i].base == base && (!name || strcmp(found[i].name, name) == 0))
            return &found[i];
    if (n_found == ALLOCATORS_MAX)
        return NULL;
    struct allocator *a = &found[n_found++];
    a->malloc_ours = malloc_ours;
    a->base = base;
    memcpy(a->module, module, sizeof module);
    if (name)
        strncpy(a->name, name, sizeof a->name - 1);
    return a;
}

/* The known allocator whose API the module at base defines, or NULL. Its
 * program's functions may be in its symbol table only (rustc's jemalloc). */
static const char *allocator_of(const void *base)
{
    for (size_t i = 0; i < sizeof known_apis / sizeof known_apis[0]; i++) {
        const void *f = plat_program_function(known_apis[i].symbol), *fbase;
        char path[PATH_MAX];
        if (f && plat_module_path(f, &fbase, path, sizeof path) == 0 && fbase == base)
            return known_apis[i].allocator;
    }
    return NULL;
}

void notes_allocator(void)
{
    if (!atomic_load(&rec_on))
        return;
    rec_self.guard++;
    int saved_errno = errno;
    static const char *const entries[] = { "malloc", "free", "calloc", "realloc" };
    const void *mine, *theirs;
    void *f;
    if (plat_module_path((const void *)notes_allocator, &mine, NULL, 0) != 0)
        goto out;
    /* a function is foreign when a module not ours defines what calls bind to */
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        if (plat_symbol_definer(entries[i], &f, &theirs) == 0 && theirs != mine) {
            struct allocator *a = note_module(f, 0, NULL);
            const char *name = a ? allocator_of(a->base) : NULL;
            if (name)
                strncpy(a->name, name, sizeof a->name - 1);
            break;
        }
    }
    /* another allocator's API beside ours (named already if malloc is its) */
    for (size_t i = 0; i < sizeof known_apis / sizeof known_apis[0]; i++)
        if (plat_symbol_definer(known_apis[i].symbol, &f, &theirs) == 0 && theirs != mine &&
            !(notes_malloc_foreign() && theirs == found[0].base))
            note_module(f, 1, known_apis[i].allocator);
    for (unsigned i = 0; i < n_found; i++)
        put_allocator(&found[i]);
out:
    errno = saved_errno;
    rec_unguard();
}

static void fork_child(void)
{
    if (!atomic_load(&rec_on))
        return;
    rec_self.guard++;
    for (unsigned i = 0; i < n_found; i++)
        put_allocator(&found[i]);
    rec_unguard();
}

void notes_follow_forks(void)
{
    if (n_found && atomic_load(&rec_on))
        pthread_atfork(NULL, NULL, fork_child);
}

/* Appends v in decimal; async-signal-safe. */
static size_t put_decimal(char *out, size_t at, long long v)
{
    char digits[24];
    size_t n = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
        digits[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        out[at++] = '-';
    while (n)
        out[at++] = digits[--n];
    return at;
}

/* Appends n bytes of s to out (of room), if they fit; async-signal-safe. */
static size_t put_bytes(char *out, size_t at, size_t room, const char *s, size_t n)
{
    if (at > room || n > room - at)
        return room + 1; /* does not fit: the line is dropped */
    memcpy(out + at, s, n);
    return at + n;
}

void notes_child(pid_t child, int status)
{
    if (!hs_opt.run_log || !(WIFEXITED(status) || WIFSIGNALED(status)))
        return;
    int saved_errno = errno;
    /* "@wait CHILD STATUS REAPER": a trace's path never starts with '@' (run makes it absolute) */
    char line[96] = "@wait ";
    size_t n = put_decimal(line, 6, child);
    line[n++] = ' ';
    n = put_decimal(line, n, status);
    line[n++] = ' ';
    n = put_decimal(line, n, getpid());
    line[n++] = '\n';
    plat_append_file(hs_opt.run_log, line, n);
    errno = saved_errno;
}

void notes_exec(const char *file, int fd, int search)
{
    if (!hs_opt.run_log)
        return;
    int saved_errno = errno;
    /* "@exec<TAB>PID<TAB>SEARCH<TAB>FILE": SEARCH is the PATH execvp looks
     * along (this process's, not the new environment's), or empty */
    char line[3 * PATH_MAX];
    size_t room = sizeof line - 1, n = put_bytes(line, 0, room, "@exec\t", 6);
    n = put_decimal(line, n, getpid());
    n = put_bytes(line, n, room, "\t", 1);
    if (file && search && !strchr(file, '/')) {
        const char *path = getenv("PATH");
        path = path ? path : "/bin:/usr/bin";
        n = put_bytes(line, n, room, path, strlen(path));
    }
    n = put_bytes(line, n, room, "\t", 1);
    if (fd >= 0) { /* (line has room for a NUL past room) */
        ssize_t got = n <= room ? plat_fd_path(fd, line + n, room - n + 1) : -1;
        n = got > 0 ? n + (size_t)got : room + 1;
    } else if (file && file[0] != '/' && (!search || strchr(file, '/'))) {
        if (n < room && getcwd(line + n, room - n))
            n = put_bytes(line, n + strlen(line + n), room, "/", 1);
        else
            n = room + 1;
    }
    if (file && fd < 0)
        n = put_bytes(line, n, room, file, strlen(file));
    if (n <= room) {
        line[n++] = '\n';
        plat_append_file(hs_opt.run_log, line, n);
    }
    errno = saved_errno;
}
