/*
 * The process's life as the trace tells it: the start of recording (from
 * the first allocation, or the constructor), what every trace starts with
 * (the process, its modules, a forked child's inherited stacks and types),
 * fork, exec, and the end (the last snapshot, the program's suppressions,
 * the end record, everything written).
 *
 * Must never take, from rec_start, a lock the caller may hold or start a
 * thread (the first allocation may come from anywhere: inside setenv, the
 * loader); what needs that waits for rec_start_late, from the constructor.
 * Must never finish a trace twice, nor the trace of another process (a
 * vfork child, a fork before our constructor).
 */
#include "internal.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

atomic_int rec_on;
uint64_t rec_epoch_ns;
unsigned rec_generation;

static pid_t pid;
static int forked_child; /* this process is a fork of a traced one */
static uint64_t start_unix_ns;
static atomic_int finished;

pid_t rec_pid(void) { return pid; }

/* ----------------------------------------------------------- preamble */

static void preamble_stack(uint32_t id, const uintptr_t *frames, unsigned n, void *arg)
{
    (void)arg;
    struct out_buf *ob = out_preamble_acquire(FMT_STACK_ROOM(n));
    if (!ob)
        return;
    fmt_put_stack(out_fmt(ob), id, frames, n);
}

static void preamble_type(uint32_t id, const char *name, void *arg)
{
    (void)arg;
    struct out_buf *ob = out_preamble_acquire(FMT_TYPE_ROOM(strlen(name)));
    if (ob)
        fmt_put_type(out_fmt(ob), id, name);
}

/* What every trace starts with: the process, its modules, and (in a forked
 * child) the stacks it inherited. Runs under the file lock. */
static void write_preamble(void)
{
    static char cmdline[4096], exe[4096];
    plat_cmdline(cmdline, sizeof cmdline);
    plat_exe_path(exe, sizeof exe);

    const char *program = plat_program_name();
    struct out_buf *ob = out_preamble_acquire(FMT_PROCESS_ROOM(strlen(program), strlen(exe), strlen(cmdline)));
    if (!ob)
        return;
    fmt_put_process(out_fmt(ob), (uint64_t)getpid(), (uint64_t)getppid(), start_unix_ns, hs_opt.max_frames,
                    program, exe, cmdline);

    rec_modules_preamble();
    if (forked_child) {
        stack_table_foreach(preamble_stack, NULL);
        type_table_lock();
        type_table_foreach(preamble_type, NULL);
        type_table_unlock();
    }
}

/* ------------------------------------------------------------ the end */

/* The program's own LeakSanitizer suppressions, asked for at its end as
 * LeakSanitizer does, recorded for the gate. */
static void write_suppressions(void)
{
    const char *(*fn)(void) = (const char *(*)(void))plat_program_function("__lsan_default_suppressions");
    const char *text = fn ? fn() : NULL;
    if (!text || !*text)
        return;
    struct out_buf *ob = out_global_acquire(FMT_SUPPRESSIONS_ROOM(strnlen(text, FMT_MAX_STRING)));
    if (!ob)
        return;
    fmt_put_suppressions(out_fmt(ob), text);
    out_release(ob);
}

static void write_end(unsigned reason)
{
    uint64_t allocs, frees, bytes;
    rec_totals(&allocs, &frees, &bytes);
    struct out_buf *ob = out_global_acquire(FMT_PROCESS_END_ROOM);
    if (!ob)
        return;
    fmt_put_process_end(out_fmt(ob), rec_now(), reason, allocs, frees, bytes,
                        (uint64_t)atomic_load(&rec_heap.peak_bytes), atomic_load(&rec_heap.peak_time_ns));
    out_release(ob);
}

/* The end of this process image: last snapshot, end record, all written. */
static void finish(const char *snapshot, unsigned reason, int closing, uintptr_t caller_sp)
{
    if (!atomic_load(&rec_on))
        return;
    rec_modules_changed();
    rec_snapshot_lock();
    atomic_store(&rec_on, 0); /* from here on, allocations pass through */
    rec_publish_live(rec_now());
    rec_snapshot_write(snapshot, hs_opt.scan, caller_sp);
    write_suppressions();
    write_end(reason);
    rec_snapshot_unlock();
    out_finish(closing);
    if (hs_opt.check_stacks) {
        uint64_t compared, differ, derived, fallbacks;
        stack_check_counts(&compared, &differ, &derived, &fallbacks);
        plat_say("stack check: %llu walks compared with libunwind's, %llu differ, %llu unwind rules derived, "
                 "%llu walks left to libunwind (pid %d)",
                 (unsigned long long)compared, (unsigned long long)differ, (unsigned long long)derived,
                 (unsigned long long)fallbacks, (int)getpid());
    }
}

void rec_exit(uintptr_t caller_sp)
{
    if (atomic_exchange(&finished, 1))
        return;
    struct rec_guard g = rec_guard_enter();
    if (getpid() == pid)
        finish("exit", FMT_END_EXIT, 1, caller_sp);
    rec_guard_leave(g);
}

void rec_exec(uintptr_t caller_sp)
{
    struct rec_guard g = rec_guard_enter();
    finish("exec", FMT_END_EXEC, 0, caller_sp);
    rec_guard_leave(g);
}

/* glibc's daemon() forks, and its parent leaves by an _exit of glibc's own,
 * which no hook sees (the trace was left without its end, and its journal
 * on disk): the parent's trace ends where its fork returns in it, as at an
 * exec. Should the fork fail, daemon returns in the parent, and the trace
 * goes on as after a failed exec. */
int rec_daemon(int (*real_daemon)(int, int), int nochdir, int noclose, uintptr_t caller_sp)
{
    pid_t parent = getpid();
    rec_self.daemon_sp = caller_sp;
    int r = real_daemon(nochdir, noclose);
    if (rec_self.daemon_sp == 0 && getpid() == parent) /* it ended here, and the fork failed */
        rec_exec_failed();
    rec_self.daemon_sp = 0;
    return r;
}

static void end_for_daemon(void)
{
    uintptr_t sp = rec_self.daemon_sp;
    rec_self.daemon_sp = 0;
    struct rec_guard g = rec_guard_enter();
    finish("exit", FMT_END_EXIT, 0, sp);
    rec_guard_leave(g);
}

void rec_exec_failed(void)
{
    /* The program goes on: so does its trace, in the same file. */
    if (!atomic_load(&finished) && !out_failed())
        atomic_store(&rec_on, 1);
}

/* --------------------------------------------------------------- fork */

static void fork_prepare(void)
{
    rec_self.guard++;
    /* the snapshot's lock first: a snapshot holds it while it takes the
     * output's locks (the other order deadlocked a fork against an interval
     * or signal snapshot) */
    rec_snapshot_lock();
    out_fork_prepare();
    rec_modules_lock();
    stack_table_lock_all();
    type_table_lock();
    live_lock_all();
    plat_own_lock();
}

static void fork_parent(void)
{
    plat_own_unlock();
    live_unlock_all();
    type_table_unlock();
    stack_table_unlock_all();
    rec_modules_unlock();
    out_fork_parent();
    rec_snapshot_unlock();
    rec_self.guard--;
    if (HS_UNLIKELY(rec_self.daemon_sp))
        end_for_daemon();
}

static void fork_child(void)
{
    plat_own_unlock();
    live_unlock_all();
    type_table_unlock();
    stack_table_unlock_all();
    rec_modules_unlock();
    rec_snapshot_fork_child(); /* its lock anew; counts from 0; the next peak above the inherited heap */
    rec_tick_fork_child();
    out_fork_child();
    plat_warn_reset();
    pid = getpid();
    forked_child = 1;
    rec_self.daemon_sp = 0; /* daemon's child goes on */
    rec_generation = (rec_generation + 1) & 63;
    hs_opt.first_process = 0;
    atomic_store(&rec_heap.peak_bytes, atomic_load(&rec_heap.live_bytes));
    if (!hs_opt.follow)
        atomic_store(&rec_on, 0);
    rec_self.guard--;
}

/* -------------------------------------------------------------- start */

/* Whether tracing was started: 0 not yet, 1 starting, 2 done (whether or
 * not recording came on); and whether the constructor's part is due. */
static atomic_int start_state;
static int recording_ready;

/* What recording needs, and only what is safe wherever the first allocation
 * comes from: no lock the caller may hold is taken (the loader's locks are
 * recursive; libc's own locks, such as the environment's or the fork
 * handlers', are not), and no thread is started. */
static void rec_init(void)
{
    struct rec_guard g = rec_guard_enter();
    options_init();
    pid = getpid();
    rec_epoch_ns = plat_now_ns();
    start_unix_ns = plat_unix_now_ns();
    if (rec_modules_init() != 0 || out_init() != 0) {
        rec_guard_leave(g);
        return;
    }
    stack_capture_init();
    scan_init();
    out_set_preamble(write_preamble);
    rec_modules_changed(); /* the analyzer takes a module id seen twice once */
    recording_ready = 1;
    atomic_store(&rec_on, 1);
    rec_guard_leave(g);
}

/* Called by the hooks while recording is off, and by the constructor: the
 * first call starts recording. A shared library's constructor may run before
 * ours (the loader runs independent libraries' constructors in either order),
 * so the first allocation starts it, wherever it comes from. The caller holds
 * no tracer lock; what rec_init allocates passes through (its guard), and a
 * thread that calls while another starts passes through untraced rather than
 * wait on it (that one may be inside the loader, holding its lock). */
int rec_start(void)
{
    if (HS_LIKELY(atomic_load_explicit(&start_state, memory_order_relaxed) == 2) || rec_self.guard)
        return 0;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&start_state, &expected, 1))
        return 0;
    rec_init();
    atomic_store(&start_state, 2);
    return atomic_load(&rec_on);
}

void rec_start_late(void)
{
    if (!recording_ready)
        return;
    if (getpid() != pid) { /* forked by a constructor before ours: the parent's recording, not ours */
        atomic_store(&rec_on, 0);
        return;
    }
    struct rec_guard g = rec_guard_enter();
    options_mark_root();
    if (!hs_opt.follow)
        options_unpreload();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    rec_snapshot_signal_claim();
    if (!notes_malloc_foreign()) /* else nothing will reach us: no thread of ours in the program */
        out_start_writer();
    rec_guard_leave(g);
}
