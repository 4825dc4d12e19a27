/*
 * The interposed functions, and nothing else: each looks up the real one,
 * calls it, and tells the recorder what happened. Also the start and end of
 * tracing (constructor, destructor) and the exec family, so a process image's
 * trace is complete before exec replaces it.
 *
 * dlsym itself may allocate before the real allocator is known: those requests
 * are served from a small static arena, and never freed.
 *
 * dlopen is deliberately not wrapped: glibc resolves the library search path
 * from dlopen's caller, which a wrapper would change. New modules are noticed
 * from glibc's load counters instead (modules.c).
 */
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "options_names.h"

#define EXPORT __attribute__((visibility("default")))

static struct {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
    int (*dlclose)(void *);
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*fexecve)(int, char *const[], char *const[]);
    void (*_exit)(int);
    void (*_Exit)(int);
    pid_t (*wait)(int *);
    pid_t (*waitpid)(pid_t, int *, int);
    pid_t (*wait3)(int *, int, struct rusage *);
    pid_t (*wait4)(pid_t, int *, int, struct rusage *);
    int (*waitid)(idtype_t, id_t, siginfo_t *, int);
    int (*daemon)(int, int);
    void *(*sbrk)(intptr_t);
    int (*brk)(void *);
} real;

/* ------------------------------------------------------------ bootstrap */

static _Alignas(64) char boot_arena[256 * 1024];
static atomic_size_t boot_used;
static atomic_int resolving;

static void *boot_alloc(size_t n)
{
    size_t need = (n + 31) & ~(size_t)15;
    size_t at = atomic_fetch_add(&boot_used, need);
    if (at + need > sizeof boot_arena)
        return NULL;
    *(size_t *)(boot_arena + at) = n; /* its size, for realloc */
    return boot_arena + at + 16;
}

static inline int boot_owns(const void *p)
{
    return (const char *)p >= boot_arena && (const char *)p < boot_arena + sizeof boot_arena;
}

static void resolve(void)
{
    if (atomic_exchange(&resolving, 1))
        return;
#define FIND(name) real.name = (__typeof__(real.name))dlsym(RTLD_NEXT, #name)
    FIND(calloc);
    FIND(realloc);
    FIND(reallocarray);
    FIND(free);
    FIND(posix_memalign);
    FIND(aligned_alloc);
    FIND(memalign);
    FIND(valloc);
    FIND(pvalloc);
    FIND(malloc_usable_size);
    FIND(dlclose);
    FIND(execve);
    FIND(execvpe);
    FIND(fexecve);
    FIND(_exit);
    FIND(_Exit);
    FIND(wait);
    FIND(waitpid);
    FIND(wait3);
    FIND(wait4);
    FIND(waitid);
    FIND(daemon);
    FIND(sbrk);
    FIND(brk);
    live_init(real.malloc_usable_size);
    FIND(malloc); /* last: its being set says all are */
#undef FIND
}

/* Whether this call is recorded (else it goes straight to the real one).
 * Recording off may mean not started yet: an allocation made before our
 * constructor (another library's constructor) starts it. */
static inline int traced(void)
{
    if (HS_LIKELY(atomic_load_explicit(&rec_on, memory_order_relaxed)))
        return !rec_self.guard;
    return rec_start();
}

/* Calls the real function with the guard held: an allocator that calls
 * another interposed function (glibc's reallocarray calls realloc) must not
 * be recorded twice. */
#define REAL_CALL(expr) (rec_self.guard++, __extension__({ __auto_type r_ = (expr); rec_unguard(); r_; }))

#define ENSURE_REAL()                          \
    do {                                       \
        if (HS_UNLIKELY(!real.malloc))         \
            resolve();                         \
    } while (0)

/* ---------------------------------------------------------- allocation */

EXPORT void *malloc(size_t n)
{
    if (HS_UNLIKELY(!real.malloc)) {
        if (atomic_load(&resolving))
            return boot_alloc(n);
        resolve();
    }
    if (!traced())
        return real.malloc(n);
    struct stack_origin from = HS_CALLER_ORIGIN();
    void *p = REAL_CALL(real.malloc(live_request(n)));
    rec_alloc(FMT_FN_MALLOC, p, n, &from);
    return p;
}

EXPORT void *calloc(size_t n, size_t size)
{
    if (HS_UNLIKELY(!real.malloc)) {
        if (atomic_load(&resolving)) {
            size_t total;
            return __builtin_mul_overflow(n, size, &total) ? NULL : boot_alloc(total); /* zeroed */
        }
        resolve();
    }
    size_t total;
    if (__builtin_mul_overflow(n, size, &total) || !traced())
        return real.calloc(n, size);
    struct stack_origin from = HS_CALLER_ORIGIN();
    void *p = REAL_CALL(real.calloc(1, live_request(total)));
    rec_alloc(FMT_FN_CALLOC, p, total, &from);
    return p;
}

EXPORT void free(void *p)
{
    if (!p || boot_owns(p))
        return;
    ENSURE_REAL();
    if (traced())
        rec_free(p);
    else
        live_forget((uintptr_t)p); /* not recorded, but its tag is gone */
    real.free(p);
}

static void *boot_realloc(void *p, size_t n)
{
    size_t old = *(size_t *)((char *)p - 16);
    void *q = malloc(n);
    if (q)
        memcpy(q, p, old < n ? old : n);
    return q;
}

static void *do_realloc(void *p, size_t n, size_t count, size_t size, unsigned fn,
                        const struct stack_origin *from)
{
    if (HS_UNLIKELY(p && boot_owns(p)))
        return boot_realloc(p, n);
    ENSURE_REAL();
    struct live_block saved;
    if (!traced()) { /* not recorded; but a tagged block loses its tag (if the realloc fails, it
                        stays untagged: its tag's bytes are the program's slack then) */
        if (p)
            live_forget((uintptr_t)p);
        return fn == FMT_FN_REALLOC ? real.realloc(p, n) : real.reallocarray(p, count, size);
    }
    int had = rec_realloc_take(p, &saved);
    /* realloc(p, 0) frees p: it must still */
    void *q = REAL_CALL(real.realloc(p, p && !n ? 0 : live_request(n)));
    rec_realloc_done(p, had, &saved, q, n, fn, from);
    return q;
}

EXPORT void *realloc(void *p, size_t n)
{
    struct stack_origin from = HS_CALLER_ORIGIN();
    return do_realloc(p, n, 0, 0, FMT_FN_REALLOC, &from);
}

EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    struct stack_origin from = HS_CALLER_ORIGIN();
    return do_realloc(p, n, count, size, FMT_FN_REALLOCARRAY, &from);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    ENSURE_REAL();
    if (!traced())
        return real.posix_memalign(out, align, n);
    struct stack_origin from = HS_CALLER_ORIGIN();
    int err = REAL_CALL(real.posix_memalign(out, align, live_request(n)));
    if (!err)
        rec_alloc(FMT_FN_POSIX_MEMALIGN, *out, n, &from);
    return err;
}

/* traced_call: the real call for a traced block, with its tag's room */
#define ALIGNED_HOOK(name, fn_id, params, args, traced_call, size) \
    EXPORT void *name params                                       \
    {                                                              \
        ENSURE_REAL();                                             \
        if (!traced())                                             \
            return real.name args;                                 \
        struct stack_origin from = HS_CALLER_ORIGIN();             \
        void *p = REAL_CALL(traced_call);                          \
        rec_alloc(fn_id, p, size, &from);                          \
        return p;                                                  \
    }

/* pvalloc(n) is memalign(page, n rounded up to pages, at least one); the
 * tag goes past that, not into the rounding */
static size_t page_round(size_t n)
{
    size_t page = (size_t)getpagesize();
    return n > SIZE_MAX - page ? n : n ? (n + page - 1) & ~(page - 1) : page;
}

ALIGNED_HOOK(aligned_alloc, FMT_FN_ALIGNED_ALLOC, (size_t align, size_t n), (align, n),
             real.aligned_alloc(align, live_request(n)), n)
ALIGNED_HOOK(memalign, FMT_FN_MEMALIGN, (size_t align, size_t n), (align, n),
             real.memalign(align, live_request(n)), n)
ALIGNED_HOOK(valloc, FMT_FN_VALLOC, (size_t n), (n), real.memalign((size_t)getpagesize(), live_request(n)), n)
ALIGNED_HOOK(pvalloc, FMT_FN_PVALLOC, (size_t n), (n),
             real.memalign((size_t)getpagesize(), live_request(page_round(n))), n)

EXPORT size_t malloc_usable_size(void *p)
{
    if (p && boot_owns(p))
        return *(size_t *)((char *)p - 16);
    ENSURE_REAL();
    size_t n = real.malloc_usable_size(p);
    return p ? live_usable(p, n) : n;
}

/* -------------------------------------------------------------- modules */

EXPORT int dlclose(void *handle)
{
    ENSURE_REAL();
    rec_modules_changed(); /* record what is there before it goes */
    int r = real.dlclose(handle);
    rec_modules_changed(); /* and forget its unwind rules: its addresses may be reused */
    return r;
}

/* ----------------------------------------------------------------- exec */

extern char **environ;

/* An exec'd image keeps its pid: unmark it as the first process, so that it
 * does not take (and truncate) the first process's trace file. */
static char *const *exec_env(char *const *envp, char **copy, size_t room)
{
    static const char root_is[] = HS_ENV_ROOT_PID "=";
    static char not_first[] = HS_ENV_ROOT_PID "=0";
    if (!hs_opt.first_process || !envp)
        return envp;
    size_t n = 0;
    while (envp[n])
        n++;
    if (n + 1 > room)
        return envp;
    for (size_t i = 0; i <= n; i++)
        copy[i] = envp[i] && strncmp(envp[i], root_is, sizeof root_is - 1) == 0 ? not_first : envp[i];
    return copy;
}

enum exec_kind { EXEC_PATH, EXEC_SEARCH, EXEC_FD };

static int do_exec(enum exec_kind kind, const char *file, int fd, char *const argv[],
                   char *const envp[])
{
    ENSURE_REAL();
    /* In a vfork child (another pid, our memory) the tracer is the parent's:
     * leave it alone. */
    int ours = atomic_load(&rec_on) && getpid() == rec_pid();
    char *env_copy[2048];
    char *const *env = envp;
    notes_exec(file, fd, kind == EXEC_SEARCH); /* a vfork child's too: it has no trace to say it in */
    if (ours) {
        env = exec_env(envp, env_copy, sizeof env_copy / sizeof env_copy[0]);
        rec_exec(HS_CALLER_SP());
    }
    int r = kind == EXEC_PATH ? real.execve(file, argv, env)
            : kind == EXEC_SEARCH ? real.execvpe(file, argv, env)
                                  : real.fexecve(fd, argv, env);
    if (ours) {
        int saved = errno;
        rec_exec_failed();
        errno = saved;
    }
    return r;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    return do_exec(EXEC_PATH, path, -1, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[]) { return do_exec(EXEC_PATH, path, -1, argv, environ); }

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    return do_exec(EXEC_SEARCH, file, -1, argv, envp);
}

EXPORT int execvp(const char *file, char *const argv[])
{
    return do_exec(EXEC_SEARCH, file, -1, argv, environ);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    return do_exec(EXEC_FD, NULL, fd, argv, envp);
}

/* The execl family: gather the variadic arguments into an argv (and, for
 * execle, the environment after its terminating NULL). */
#define ARGV_MAX 2048

static int exec_list(enum exec_kind kind, const char *file, const char *arg, va_list ap, int has_env)
{
    char *argv[ARGV_MAX];
    size_t i = 0;
    argv[i++] = (char *)arg;
    while (i < ARGV_MAX && (argv[i] = va_arg(ap, char *)))
        i++;
    if (i == ARGV_MAX) {
        errno = E2BIG;
        return -1;
    }
    char *const *envp = has_env ? va_arg(ap, char *const *) : environ;
    return do_exec(kind, file, -1, argv, envp);
}

#define EXEC_LIST_HOOK(name, kind, has_env)                    \
    EXPORT int name(const char *file, const char *arg, ...)    \
    {                                                          \
        va_list ap;                                            \
        va_start(ap, arg);                                     \
        int r = exec_list(kind, file, arg, ap, has_env);       \
        va_end(ap);                                            \
        return r;                                              \
    }

EXEC_LIST_HOOK(execl, EXEC_PATH, 0)
EXEC_LIST_HOOK(execlp, EXEC_SEARCH, 0)
EXEC_LIST_HOOK(execle, EXEC_PATH, 1)

/* ----------------------------------------------------------------- wait */

/* The caller may not want the status; we do. */
#define STATUS_OR(status, spare) ((status) ? (status) : &(spare))

static pid_t reaped(pid_t pid, const int *status)
{
    if (pid > 0)
        notes_child(pid, *status);
    return pid;
}

EXPORT pid_t wait(int *status)
{
    ENSURE_REAL();
    int spare, *st = STATUS_OR(status, spare);
    return reaped(real.wait(st), st);
}

EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
    ENSURE_REAL();
    int spare, *st = STATUS_OR(status, spare);
    return reaped(real.waitpid(pid, st, options), st);
}

EXPORT pid_t wait3(int *status, int options, struct rusage *usage)
{
    ENSURE_REAL();
    int spare, *st = STATUS_OR(status, spare);
    return reaped(real.wait3(st, options, usage), st);
}

EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *usage)
{
    ENSURE_REAL();
    int spare, *st = STATUS_OR(status, spare);
    return reaped(real.wait4(pid, st, options, usage), st);
}

EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    ENSURE_REAL();
    int r = real.waitid(idtype, id, info, options);
    if (r == 0 && info && info->si_pid > 0) {
        int code = info->si_code, s = info->si_status;
        if (code == CLD_EXITED || code == CLD_KILLED || code == CLD_DUMPED)
            notes_child(info->si_pid, code == CLD_EXITED ? W_EXITCODE(s, 0) : code == CLD_DUMPED ? s | WCOREFLAG : s);
    }
    return r;
}

/* ------------------------------------------------------------ lifetime */

/* The program's own moves of the break (malloc's own are not calls through
 * here): what it takes is its memory, a root of the heap scan. */
EXPORT void *sbrk(intptr_t increment)
{
    ENSURE_REAL();
    void *old = real.sbrk(increment);
    if (old != (void *)-1 && increment)
        scan_program_brk((uintptr_t)old, (uintptr_t)old + (uintptr_t)increment);
    return old;
}

EXPORT int brk(void *end)
{
    ENSURE_REAL();
    void *old = real.sbrk(0);
    int r = real.brk(end);
    if (r == 0 && old != (void *)-1)
        scan_program_brk((uintptr_t)old, (uintptr_t)end);
    return r;
}

EXPORT int daemon(int nochdir, int noclose)
{
    ENSURE_REAL();
    return rec_daemon(real.daemon, nochdir, noclose, HS_CALLER_SP());
}

/* _exit skips destructors (dash and many daemons leave this way): finish the
 * trace first. A vfork child calling _exit is not ours to finish. */
EXPORT void _exit(int status)
{
    ENSURE_REAL();
    if (getpid() == rec_pid())
        rec_exit(HS_CALLER_SP());
    real._exit(status);
    __builtin_unreachable();
}

EXPORT void _Exit(int status)
{
    ENSURE_REAL();
    if (getpid() == rec_pid())
        rec_exit(HS_CALLER_SP());
    real._Exit(status);
    __builtin_unreachable();
}

/* At exit the program's live frames are those of exit's caller and above:
 * exit's own frames reuse stack that held the program's dead locals, and a
 * stale pointer there would keep a lost block "reachable". */
static void finish_at_exit(void)
{
    uintptr_t sp = HS_CALLER_SP(), start, end, caller = 0;
    rec_self.guard++;
    if (plat_function_range("exit", &start, &end) == 0)
        caller = stack_caller_sp(start, end);
    rec_self.guard--;
    rec_exit(caller > sp ? caller : sp);
}

/* The exit snapshot is taken after every library's destructors, as valgrind
 * looks at the very end: what they free (libxml2's parser state, a PHP
 * extension's tables) is not a leak. exit runs its handlers in the reverse
 * of their registration, and __libc_start_main registers the loader's
 * _dl_fini (which runs every library's destructors) after the libraries'
 * constructors, ours among them, have run: a handler registered here, tied
 * to no library, runs after it. */
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);
static int exit_handler_registered;

static void heapscope_exit_handler(void *arg)
{
    (void)arg;
    finish_at_exit();
}

/* Recording may have started already, at the first allocation; a program
 * that allocates nothing before main is traced from here. */
__attribute__((constructor)) static void heapscope_start(void)
{
    ENSURE_REAL();
    live_learn_free_mark(real.malloc, real.free);
    rec_start();
    notes_allocator(); /* before the writer: a process whose malloc is not ours gets none */
    python_init();
    rec_start_late();
    notes_follow_forks();
    exit_handler_registered = __cxa_atexit(heapscope_exit_handler, NULL, NULL) == 0;
}

/* Without the exit handler, the trace ends with our own destructor. */
__attribute__((destructor)) static void heapscope_stop(void)
{
    if (!exit_handler_registered)
        finish_at_exit();
}
