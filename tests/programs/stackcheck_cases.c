/* Built without frame pointers (or with them): allocates through the stack
 * shapes a stack walker that reuses part of the thread's previous walk could
 * get wrong, each allocation checked against libunwind (stackcheck_probe.h).
 * Most cases make such a walker meet, right after one allocation, a stack
 * holding the same return address at the same place as that allocation's
 * did, with other frames further out (twin functions: the same frame, other
 * code): only a walker that checks every slot it reuses gets those right.
 *
 *   sites      the same depth through other call sites; twin outer frames
 *              that leave every return-address slot but one the same
 *   depths     deeper and shallower in turn
 *   vla        a variable-length array or alloca of changing size between
 *              the outer frames and the allocation: the same return
 *              addresses at other places, stale ones in dead stack below
 *   rbp        every return address where it was, but a saved frame pointer
 *              changed: a frame with alloca (its frame pointer its CFA) at
 *              another depth, its alloca sized so that the frames below sit
 *              where they sat, over the stale frames of the deeper call
 *   tail       other return addresses in the same slots: calls in sequence
 *              from one frame, sibling (tail) calls
 *   longjmp    out of deep frames, then into the dead frames through the same
 *              functions under a twin, and as deep through other functions
 *   deep       1,000-frame recursions and stacks of 126-130 frames: more
 *              than the tracer keeps (128 by default), then fewer
 *   signal     handlers (one on an alternate stack, one leaving by
 *              siglongjmp) raised at several depths of a chain that
 *              allocates; the handler's frames land on main's dead ones
 *   timer      a timer's handler interrupting a busy deep chain that
 *              allocates, wherever the chain happens to be
 *   coroutine  swapcontext between three coroutines, each on a stack of its
 *              own, yielding from deep inside; a twin coroutine started on a
 *              finished one's stack; a stack freed and a coroutine running
 *              other functions on the block malloc gives back at its address
 *   thread     five threads at other depths at once, then new ones, on the
 *              stacks glibc keeps for reuse, under twin thread functions and
 *              through other functions
 *   dlopen     through libstackcheck_plug_a, unloaded, then through
 *              libstackcheck_plug_b, usually loaded at the same address
 *
 * Prints the checked blocks (stackcheck_probe.h) after notes, lines
 * starting with '#'. Usage: stackcheck_cases DIR fp|nofp (where the
 * libraries are, and which of them to load) */
#include "stackcheck_probe.h"

#include <alloca.h>
#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>

#define NOINLINE __attribute__((noinline))
/* a twin that must stay a function of its own: no identical code folding */
#define DISTINCT __attribute__((noipa))
/* after a call: no tail call, the caller's frame stays */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
/* an array the compiler must keep on the stack as written */
#define KEEP_ARRAY(a) __asm__ volatile("" : : "r"(a) : "memory")

static volatile int work;

/* DEPTH more frames of down(), then fn(arg). */
NOINLINE static void down(int depth, void (*fn)(int), int arg)
{
    if (depth > 0)
        down(depth - 1, fn, arg);
    else
        fn(arg);
    KEEP_FRAME();
}

/* ------------------------------------------------------------------ sites */

NOINLINE static void inner_x(int k)
{
    work = k;
    probe("sites");
    KEEP_FRAME();
}

NOINLINE static void common_c(int k)
{
    inner_x(k);
    KEEP_FRAME();
}

/* Twins: the same frame, calling common_c from the same place, so that
 * below them every slot holds the same return address at the same address
 * whichever ran; only the slot of the return into them differs. */
DISTINCT static void twin_a(int k)
{
    work = 1;
    common_c(k);
    KEEP_FRAME();
}

DISTINCT static void twin_b(int k)
{
    work = 2;
    common_c(k);
    KEEP_FRAME();
}

NOINLINE static void site_switch(int k)
{
    switch (k % 5) {
    case 0:
        twin_a(k);
        break;
    case 1:
        twin_b(k);
        break;
    case 2:
        work = 3;
        probe("sites");
        work = 4;
        break;
    case 3:
        work = 5;
        common_c(k);
        work = 6;
        break;
    default:
        work = 7;
        probe("sites");
        work = 8;
        break;
    }
    KEEP_FRAME();
}

/* Twins far out: everything inside them the same, slot for slot. */
DISTINCT static void outer_left(int k)
{
    work = 11;
    down(12, site_switch, k);
    KEEP_FRAME();
}

DISTINCT static void outer_right(int k)
{
    work = 12;
    down(12, site_switch, k);
    KEEP_FRAME();
}

NOINLINE static void sites_case(void)
{
    static const unsigned char order[] = { 0, 1, 0, 0, 1, 1, 2, 3, 4, 2, 0, 3, 1, 4, 4, 0 };
    for (int i = 0; i < 48; i++) {
        int k = order[i % sizeof order];
        if ((i / 3) % 2)
            outer_right(k);
        else
            outer_left(k);
    }
}

/* ----------------------------------------------------------------- depths */

NOINLINE static void leaf_depths(int k)
{
    if (k % 3 == 2)
        site_switch(k); /* other call sites at the bottom too */
    else
        probe("depths");
    KEEP_FRAME();
}

NOINLINE static void depths_case(void)
{
    static const unsigned char seq[] = { 30, 10, 31, 9, 60, 2, 59, 3, 30, 30, 45, 44, 46, 0, 80,
                                         79, 81, 1, 20, 21, 19, 22, 18, 40, 5, 40, 6, 100, 7, 99,
                                         50, 50, 49, 51, 0, 0, 1, 64, 32, 16 };
    for (unsigned i = 0; i < sizeof seq; i++)
        down(seq[i], leaf_depths, (int)i);
}

/* -------------------------------------------------------------------- vla */

NOINLINE static void leaf_vla(int k)
{
    work = k;
    probe("vla");
    KEEP_FRAME();
}

static const unsigned short vla_bytes[] = { 0, 4000, 8, 1024, 24, 2000, 2000, 16, 3000, 40,
                                            4000, 0, 520, 528, 536, 7, 3001, 100, 1, 2048 };
static const unsigned char vla_depth[] = { 3, 8, 3, 15, 0, 6, 6, 1, 9, 4, 2, 12, 5, 5, 5, 30, 0, 7, 2, 3 };

NOINLINE static void vla_frame(int i)
{
    unsigned n = vla_bytes[i];
    char buf[n + 1];
    buf[0] = buf[n] = (char)i;
    KEEP_ARRAY(buf);
    down(vla_depth[i], leaf_vla, i);
    KEEP_FRAME();
}

NOINLINE static void alloca_frame(int i)
{
    unsigned n = vla_bytes[i];
    char *buf = alloca(n + 1);
    buf[0] = buf[n] = (char)i;
    KEEP_ARRAY(buf);
    down(vla_depth[i], leaf_vla, i);
    KEEP_FRAME();
}

NOINLINE static void vla_case(void)
{
    int rounds = (int)(sizeof vla_bytes / sizeof *vla_bytes);
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < rounds; i++)
            down(4 + r, (i + r) % 2 ? alloca_frame : vla_frame, i);
}

/* -------------------------------------------------------------------- rbp */

/* Saves the caller's frame pointer in its own frame (the clobber), without
 * a frame pointer of its own: the only word that tells the two calls of
 * rbp_alloca apart from here out. */
__attribute__((noipa, optimize("omit-frame-pointer"))) static void rbp_saver(int k)
{
    __asm__ volatile("" ::: "rbp");
    work = k;
    probe("rbp");
    KEEP_FRAME();
}

static uintptr_t rbp_deep_fp;

/* Its frame pointer is its CFA (alloca). The deep call notes where its frame
 * is; the shallow one allocas that much more, so rbp_saver's frame and
 * probe's land where they were, and the deep call's frames, in the stack
 * this alloca skips, are left as they were: every return-address slot of
 * the previous walk still holds what it held. */
NOINLINE static void rbp_alloca(int deep, int extra)
{
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    if (deep)
        rbp_deep_fp = fp;
    char *buf = alloca(64 + 16 * (size_t)extra + (deep ? 0 : fp - rbp_deep_fp));
    KEEP_ARRAY(buf);
    rbp_saver(extra);
    KEEP_FRAME();
}

NOINLINE static void rbp_a(int deep, int extra)
{
    rbp_alloca(deep, extra);
    KEEP_FRAME();
}

/* The deep call's extra frame, larger than rbp_a's and rbp_alloca's. */
NOINLINE static void rbp_q(int deep, int extra)
{
    char pad[2048];
    KEEP_ARRAY(pad);
    rbp_a(deep, extra);
    KEEP_FRAME();
}

/* One call instruction for both, so that the slot of the return into here
 * holds the same either way. */
NOINLINE static void rbp_p(void (*fn)(int, int), int deep, int extra)
{
    fn(deep, extra);
    KEEP_FRAME();
}

/* Deep, then shallow, from one call instruction (a loop the compiler
 * cannot unroll): every slot from rbp_p out holds the same either way. */
NOINLINE static void rbp_case(void)
{
    static volatile int rounds = 16;
    for (int i = 0; i < rounds; i++)
        rbp_p(i % 2 ? rbp_a : rbp_q, !(i % 2), i / 2);
}

/* ------------------------------------------------------------------- tail */

NOINLINE static void tail_leaf_a(int k)
{
    work = k;
    probe("tail");
    KEEP_FRAME();
}

NOINLINE static void tail_leaf_b(int k)
{
    char pad[64];
    pad[k & 63] = 1;
    KEEP_ARRAY(pad);
    probe("tail");
    KEEP_FRAME();
}

/* Sibling calls at -O2: no frame of its own, its caller's slot holds the
 * return address. */
NOINLINE static void tail_dispatch(int k)
{
    if (k & 1)
        tail_leaf_a(k);
    else
        tail_leaf_b(k);
}

/* A large frame in between: the leaves' frames further down. */
NOINLINE static void tail_big(int k)
{
    char pad[512];
    pad[k & 511] = 1;
    KEEP_ARRAY(pad);
    tail_dispatch(k >> 1);
}

/* One slot, five return addresses in turn. */
NOINLINE static void tail_seq(int k)
{
    tail_leaf_a(k);
    tail_leaf_b(k);
    tail_dispatch(k);
    tail_big(k);
    tail_dispatch(k + 1);
}

NOINLINE static void tail_case(void)
{
    for (int i = 0; i < 12; i++)
        down(i % 4 * 3, tail_seq, i);
}

/* ---------------------------------------------------------------- longjmp */

static jmp_buf jump_back;

enum { JUMP_LOUD = 1, JUMP_OUT = 2 };

/* Down to depth AT, allocating every 4 frames when LOUD; at AT, allocates,
 * then longjmps out when OUT. */
NOINLINE static void jump_down(int depth, int at, int how)
{
    if ((how & JUMP_LOUD) && depth % 4 == 0)
        probe("longjmp");
    if (depth < at) {
        jump_down(depth + 1, at, how);
    } else {
        probe("longjmp");
        if (how & JUMP_OUT)
            longjmp(jump_back, 1);
    }
    KEEP_FRAME();
}

/* Twins: after a longjmp out of jump_down under one, jump_down under the
 * other puts the same return addresses where the dead frames hold them. */
DISTINCT static void jump_via_a(int at, int how)
{
    work = 21;
    jump_down(0, at, how);
    KEEP_FRAME();
}

DISTINCT static void jump_via_b(int at, int how)
{
    work = 22;
    jump_down(0, at, how);
    KEEP_FRAME();
}

DISTINCT static void climb_a(int depth)
{
    if (depth > 0)
        climb_a(depth - 1);
    else
        probe("longjmp");
    KEEP_FRAME();
}

DISTINCT static void climb_b(int depth)
{
    volatile int here = depth;
    if (here > 0)
        climb_b(depth - 1);
    else
        probe("longjmp");
    KEEP_FRAME();
}

NOINLINE static void leaf_longjmp(int k)
{
    work = k;
    probe("longjmp");
    KEEP_FRAME();
}

NOINLINE static void longjmp_case(void)
{
    static const unsigned char at[] = { 20, 35, 7, 50, 21, 36 };
    for (volatile unsigned i = 0; i < sizeof at; i++) {
        void (*from)(int, int) = i % 2 ? jump_via_b : jump_via_a;
        void (*other)(int, int) = i % 2 ? jump_via_a : jump_via_b;
        if (!setjmp(jump_back))
            from(at[i], JUMP_LOUD | JUMP_OUT);
        /* first after the jump: into the dead frames, under the other twin */
        other(at[i] - 3, 0);
        other(at[i] + 2, 0);
        from(at[i] - 1, 0);
        climb_a(at[i]);
        climb_b(at[i] - 1);
        climb_a(at[i] + 1);
        down(at[i], leaf_longjmp, 0);
        climb_b(at[i]);
    }
}

/* ----------------------------------------------------------------- signal */

static volatile sig_atomic_t handler_depth, timer_hits;
static sigjmp_buf signal_back;

NOINLINE static void leaf_signal(int k)
{
    work = k;
    probe("signal");
    KEEP_FRAME();
}

/* Frames of 64 bytes (in both builds), which the handler's chain puts
 * where the dead ones of main's chain are: with main's shifted (sig_shifted)
 * by 0, 16, 32 and 48 bytes in turn, once at the same places, holding the
 * same return addresses. */
NOINLINE static void sig_deep(int depth, const char *kase)
{
    char pad[48];
    pad[depth % 48] = 1;
    KEEP_ARRAY(pad);
    if (depth > 0)
        sig_deep(depth - 1, kase);
    else
        probe(kase);
    KEEP_FRAME();
}

NOINLINE static void sig_shifted(int shift)
{
    char buf[shift + 1];
    buf[0] = buf[shift] = 1;
    KEEP_ARRAY(buf);
    sig_deep(60, "signal");
    KEEP_FRAME();
}

static void on_usr(int sig)
{
    sig_deep(handler_depth + 8, "signal");
    probe("signal");
    down(handler_depth, leaf_signal, sig);
    sig_deep(handler_depth + 16, "signal");
    down(handler_depth / 2, leaf_signal, sig);
}

/* Out of the handler, past the frames of the chain it interrupted. */
static void on_jump(int sig)
{
    down(handler_depth, leaf_signal, sig);
    siglongjmp(signal_back, 1);
}

NOINLINE static void signal_chain(int depth, int raise_at)
{
    if (depth % 2 == 0)
        probe("signal");
    if (depth == raise_at) {
        handler_depth = depth % 9 + 1;
        for (int shift = 0; shift < 64; shift += 16) {
            sig_shifted(shift); /* right before the handler */
            raise(SIGUSR1);
        }
        probe("signal");
        raise(SIGUSR2); /* on the alternate stack */
        if (depth % 3 == 0)
            raise(SIGHUP); /* does not come back */
    }
    if (depth > 0)
        signal_chain(depth - 1, raise_at);
    KEEP_FRAME();
}

/* Allocates only where the interrupted code is not inside probe (nor, so,
 * inside the tracer): anywhere else in the busy chain, often on the dead
 * frames of its last allocation's sig_deep chain. */
static void on_timer(int sig)
{
    (void)sig;
    if (probe_busy)
        return;
    timer_hits++;
    sig_deep(20 + timer_hits % 11, "timer");
}

NOINLINE static void busy_chain(int depth)
{
    for (volatile int i = 0; i < 20000; i++)
        work += i;
    if (depth % 8 == 0)
        sig_deep(40, "timer");
    if (depth > 0)
        busy_chain(depth - 1);
    KEEP_FRAME();
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

NOINLINE static int signal_case(void)
{
    static char alt[256 * 1024];
    stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
    struct sigaction usr = { .sa_handler = on_usr }, jump = { .sa_handler = on_jump },
                     onstack = { .sa_handler = on_usr, .sa_flags = SA_ONSTACK }, timer = { .sa_handler = on_timer };
    if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGUSR1, &usr, NULL) != 0 ||
        sigaction(SIGUSR2, &onstack, NULL) != 0 || sigaction(SIGHUP, &jump, NULL) != 0 ||
        sigaction(SIGALRM, &timer, NULL) != 0)
        return -1;
    static const unsigned char at[] = { 3, 12, 0, 20, 7, 15 };
    for (volatile unsigned i = 0; i < sizeof at; i++)
        if (!sigsetjmp(signal_back, 1))
            signal_chain(24, at[i]);

    struct itimerval every = { { 0, 700 }, { 0, 700 } }, off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &every, NULL);
    double until = seconds() + 5;
    for (int round = 0; timer_hits < 24 && seconds() < until; round++)
        busy_chain(10 + round % 15);
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_IGN);
    printf("# timer handler allocations: %d\n", (int)timer_hits);
    return 0;
}

/* -------------------------------------------------------------- coroutine */

#define CORO_STACK (96 * 1024) /* below malloc's mmap threshold: a heap block */
#define COROS 5

static ucontext_t scheduler, coro[COROS];
static int coro_done[COROS];

NOINLINE static void coro_yield(int c)
{
    swapcontext(&coro[c], &scheduler);
    KEEP_FRAME();
}

NOINLINE static void coro_down(int c, int depth)
{
    if (depth > 0) {
        coro_down(c, depth - 1);
    } else {
        probe("coroutine");
        coro_yield(c); /* from deep inside: resumed on the same frames */
        probe("coroutine");
    }
    KEEP_FRAME();
}

/* Ends without yielding after its last allocation: the next coroutine
 * started on its stack allocates next. */
NOINLINE static void coro_loop(int c, int turns)
{
    for (int turn = 0; turn < turns; turn++) {
        if (turn)
            coro_yield(c);
        coro_down(c, 3 + turn * (c + 2) % 11);
    }
    coro_done[c] = 1;
}

/* Twins, as entries: a coroutine started by the other on a finished one's
 * stack puts the same return addresses at the same places in coro_down. */
DISTINCT static void coro_main(int c, int turns)
{
    work = 31;
    coro_loop(c, turns);
    KEEP_FRAME();
}

DISTINCT static void coro_twin(int c, int turns)
{
    work = 32;
    coro_loop(c, turns);
    KEEP_FRAME();
}

/* A new coroutine on a freed coroutine's stack: other functions. */
DISTINCT static void other_down(int c, int depth)
{
    char pad[48];
    pad[depth % 48] = 1;
    KEEP_ARRAY(pad);
    if (depth > 0)
        other_down(c, depth - 1);
    else
        probe("coroutine");
    KEEP_FRAME();
}

static void coro_other(int c, int turns)
{
    for (int turn = 0; turn < turns; turn++) {
        other_down(c, 2 + turn * 5 % 13);
        coro_yield(c);
    }
    coro_done[c] = 1;
}

static int coro_start(int c, void *stack, void (*fn)(int, int), int turns)
{
    if (!stack || getcontext(&coro[c]) != 0)
        return -1;
    coro[c].uc_stack.ss_sp = stack;
    coro[c].uc_stack.ss_size = CORO_STACK;
    coro[c].uc_link = &scheduler;
    makecontext(&coro[c], (void (*)(void))fn, 2, c, turns);
    return 0;
}

/* Coroutines 0-2 in turn; when 1 ends, 3 starts on its stack at once; when
 * 3 ends, its stack is freed and 4 starts on the block malloc gives next. */
NOINLINE static int coroutine_case(void)
{
    void *stacks[COROS] = { malloc(CORO_STACK), malloc(CORO_STACK), malloc(CORO_STACK) };
    for (int c = 0; c < 3; c++)
        if (coro_start(c, stacks[c], coro_main, c == 1 ? 5 : 12) != 0)
            return -1;
    for (int running = 1; running;) {
        running = 0;
        for (int c = 0; c < COROS; c++) {
            if (!stacks[c] || coro_done[c])
                continue;
            running++;
            if (swapcontext(&scheduler, &coro[c]) != 0)
                return -1;
            if (c == 1 && coro_done[1]) {
                stacks[3] = stacks[1];
                stacks[1] = NULL;
                if (coro_start(3, stacks[3], coro_twin, 6) != 0 || swapcontext(&scheduler, &coro[3]) != 0)
                    return -1;
            }
            if (c == 3 && coro_done[3]) {
                void *old = stacks[3];
                free(stacks[3]);
                stacks[3] = NULL;
                stacks[4] = malloc(CORO_STACK);
                printf("# coroutine stack reused: %s\n", stacks[4] == old ? "same address" : "elsewhere");
                if (coro_start(4, stacks[4], coro_other, 10) != 0)
                    return -1;
            }
            probe("coroutine");
        }
    }
    for (int c = 0; c < COROS; c++)
        free(stacks[c]);
    return 0;
}

/* ----------------------------------------------------------------- thread */

#define THREADS 4

static pthread_barrier_t start_line;

NOINLINE static void leaf_thread(int k)
{
    work = k;
    probe("thread");
    KEEP_FRAME();
}

DISTINCT static void thread_other_down(int depth)
{
    volatile int here = depth;
    if (here > 0)
        thread_other_down(depth - 1);
    else
        probe("thread");
    KEEP_FRAME();
}

/* All at once: the threads (and main, as the fifth) wait at the barrier;
 * in the second round, then through other functions as well. */
NOINLINE static void thread_loop(int t, int round)
{
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < 16; i++)
        down(round ? THREADS - t + i % 4 : t * 11 + i * 5 % 9, leaf_thread, i);
    for (int i = 0; round && i < 8; i++)
        thread_other_down(40 - t * 9 + i % 3);
}

/* Twins, as the threads' functions: the second round's threads, on the
 * stacks glibc keeps from the first's, put the same return addresses at the
 * same places in thread_loop's calls. */
DISTINCT static void *thread_main(void *arg)
{
    work = 41;
    thread_loop((int)(intptr_t)arg, 0);
    KEEP_FRAME();
    return NULL;
}

DISTINCT static void *thread_twin(void *arg)
{
    work = 42;
    thread_loop((int)(intptr_t)arg, 1);
    KEEP_FRAME();
    return NULL;
}

NOINLINE static int thread_case(void)
{
    void *(*const round[])(void *) = { thread_main, thread_twin };
    for (int r = 0; r < 2; r++) {
        pthread_t th[THREADS];
        if (pthread_barrier_init(&start_line, NULL, THREADS + 1) != 0)
            return -1;
        for (int t = 0; t < THREADS; t++)
            if (pthread_create(&th[t], NULL, round[r], (void *)(intptr_t)t) != 0)
                return -1;
        round[r]((void *)(intptr_t)THREADS);
        for (int t = 0; t < THREADS; t++)
            if (pthread_join(th[t], NULL) != 0)
                return -1;
        pthread_barrier_destroy(&start_line);
    }
    return 0;
}

/* ----------------------------------------------------------------- dlopen */

typedef void plug_walk_fn(int depth, void (*probe)(const char *));
static plug_walk_fn *plug_walk;

NOINLINE static void through_plugin(int depth)
{
    plug_walk(depth, probe);
    KEEP_FRAME();
}

static int with_plugin(const char *dir, const char *name, int round)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    struct link_map *lm = NULL;
    if (!h || !(plug_walk = (plug_walk_fn *)dlsym(h, "plug_walk")) || dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0) {
        fprintf(stderr, "%s: %s\n", path, dlerror());
        return -1;
    }
    printf("# dlopen %d %s %lx\n", round, name, (unsigned long)lm->l_addr);
    for (int i = 0; i < 8; i++)
        down(i % 3 + round, through_plugin, i * 3 % 7 + 1);
    return dlclose(h);
}

NOINLINE static int dlopen_case(const char *dir, const char *variant)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "libstackcheck_plug_a_%s.so", variant);
    snprintf(b, sizeof b, "libstackcheck_plug_b_%s.so", variant);
    for (int round = 0; round < 3; round++)
        if (with_plugin(dir, a, round) != 0 || with_plugin(dir, b, round) != 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------------- deep */

NOINLINE static void deep_rec(int frames)
{
    if (frames > 1)
        deep_rec(frames - 1);
    else
        probe("deep");
    KEEP_FRAME();
}

/* Stacks of exactly these many frames (as libunwind counts them). */
NOINLINE static void deep_case(void)
{
    static const short total[] = { 1000, 990, 1010, 127, 129, 128, 1000, 130, 126,
                                   1010, 20, 990, 129, 127, 128, 1000, 1000, 127 };
    int outer = probe_frames_outward(); /* this function's and those further out */
    for (unsigned i = 0; i < sizeof total / sizeof *total; i++)
        deep_rec(total[i] - outer - 1); /* deep_rec's frames and probe's */
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: stackcheck_cases DIR fp|nofp\n");
        return 2;
    }
    sites_case();
    depths_case();
    vla_case();
    rbp_case();
    tail_case();
    longjmp_case();
    deep_case();
    if (signal_case() != 0 || coroutine_case() != 0 || thread_case() != 0 ||
        dlopen_case(argv[1], argv[2]) != 0) {
        fprintf(stderr, "stackcheck_cases: a case could not be set up\n");
        return 1;
    }
    return probe_print() ? 1 : 0;
}
