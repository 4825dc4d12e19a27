/*
 * The recording core: what happens on each allocation and free, snapshots,
 * the module map, and the process's life (start, fork, exec, exit). The hooks
 * call only this file's rec_* functions.
 *
 * Every rec_* entry point holds the thread's guard while it runs, so anything
 * the tracer itself allocates passes through untraced, and keeps errno as the
 * program left it.
 */
#include "internal.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__thread struct rec_thread rec_self __attribute__((tls_model("initial-exec")));
atomic_int rec_on;

static pid_t pid;
static int forked_child;            /* this process is a fork of a traced one */
/* Counts forks down from the first traced process (modulo 64): a block
 * made by another generation was inherited, and is its maker's to judge. */
static unsigned process_gen;
static uint64_t start_ns, start_unix_ns;
static atomic_long live_bytes, live_blocks, peak_bytes;
static _Atomic uint64_t peak_time_ns;
static pthread_mutex_t snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned snapshot_count;
static atomic_int snapshot_requests;
static uint64_t next_interval_ns, last_stat_allocs = ~0ull;
static atomic_int finished;

struct guard {
    int saved_errno;
};

static inline struct guard guard_enter(void)
{
    rec_self.guard++;
    return (struct guard){ errno };
}

static inline void guard_leave(struct guard g)
{
    errno = g.saved_errno;
    rec_unguard();
}

static inline uint64_t now_rel(void) { return plat_now_ns() - start_ns; }
/* For every allocation's time: the coarse clock costs a few ns, not 20. */
static inline uint64_t now_rel_coarse(void)
{
    uint64_t t = plat_coarse_ns();
    return t > start_ns ? t - start_ns : 0;
}

pid_t rec_pid(void) { return pid; }

void rec_totals(uint64_t *allocs, uint64_t *frees, uint64_t *bytes)
{
    struct out_counters sum;
    out_sum_counters(&sum);
    *allocs = sum.allocs;
    *frees = sum.frees;
    *bytes = sum.bytes;
}

/* ------------------------------------------------------------ modules */

#define MODULES_MAX 4096
#define MODULE_PATH_MAX 512

struct module {
    uint32_t id;
    int seen;
    uintptr_t bias, start, end;
    uint8_t build_id[64];
    size_t build_id_len;
    char path[MODULE_PATH_MAX];
};

static struct plat_lock modules_lock;   /* a leaf: nothing else is taken under it */
static struct module *modules;          /* plat_map'd, MODULES_MAX */
static unsigned n_modules, next_module_id = 1;
static uint64_t dl_adds = ~0ull, dl_subs = ~0ull;

static void module_record(struct fmt_buf *b, const struct module *m)
{
    fmt_put_module_load(b, m->id, m->bias, m->start, m->end, m->path, m->build_id, m->build_id_len);
}
#define MODULE_REC_MAX FMT_MODULE_LOAD_ROOM(MODULE_PATH_MAX, sizeof modules->build_id)

/* Records found by a rescan, written after modules_lock is let go. */
struct module_changes {
    uint8_t data[16 * MODULE_REC_MAX];
    struct fmt_buf b;
    int more; /* ran out of room: scan again */
};

static void rescan_cb(const struct plat_module *pm, void *arg)
{
    struct module_changes *c = arg;
    for (unsigned i = 0; i < n_modules; i++) {
        struct module *m = &modules[i];
        if (m->bias == pm->bias && m->start == pm->start && strncmp(m->path, pm->path, MODULE_PATH_MAX - 1) == 0) {
            m->seen = 1;
            return;
        }
    }
    if (n_modules == MODULES_MAX)
        return;
    if (c->b.len + MODULE_REC_MAX > c->b.cap) {
        c->more = 1;
        return;
    }
    struct module *m = &modules[n_modules++];
    *m = (struct module){ .id = next_module_id++, .seen = 1, .bias = pm->bias, .start = pm->start,
                          .end = pm->end, .build_id_len = pm->build_id_len };
    memcpy(m->build_id, pm->build_id, pm->build_id_len);
    snprintf(m->path, sizeof m->path, "%s", pm->path);
    module_record(&c->b, m);
}

/* Brings the module map up to date; cheap when nothing was loaded or
 * unloaded since the last call (glibc counts both). */
void rec_modules_changed(void)
{
    if (!modules) /* not started (dlclose may come first), or out of memory */
        return;
    struct guard g = guard_enter();
    uint64_t c[2];
    plat_modules_counts(&c[0], &c[1]);
    if (c[0] == dl_adds && c[1] == dl_subs) {
        guard_leave(g);
        return;
    }
    static struct module_changes changes; /* under modules_lock */
    int more;
    do {
        plat_lock(&modules_lock);
        dl_adds = c[0];
        dl_subs = c[1];
        changes.b = (struct fmt_buf){ changes.data, 0, sizeof changes.data };
        changes.more = 0;
        for (unsigned i = 0; i < n_modules; i++)
            modules[i].seen = 0;
        plat_modules_foreach(rescan_cb, &changes);
        for (unsigned i = 0; i < n_modules;) {
            if (modules[i].seen || changes.more) {
                i++;
                continue;
            }
            fmt_put_module_unload(&changes.b, modules[i].id);
            modules[i] = modules[--n_modules];
            if (changes.b.len + MODULE_REC_MAX > changes.b.cap)
                changes.more = 1;
        }
        uint8_t copy[sizeof changes.data];
        size_t len = changes.b.len;
        memcpy(copy, changes.data, len);
        more = changes.more;
        plat_unlock(&modules_lock);
        if (len) {
            struct out_buf *ob = out_global_acquire(len);
            if (ob) {
                struct fmt_buf *b = out_fmt(ob);
                memcpy(b->data + b->len, copy, len);
                b->len += len;
                out_release(ob);
            }
        }
    } while (more);
    guard_leave(g);
}

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

    plat_lock(&modules_lock);
    for (unsigned i = 0; i < n_modules; i++) {
        if (!(ob = out_preamble_acquire(MODULE_REC_MAX)))
            break;
        module_record(out_fmt(ob), &modules[i]);
    }
    plat_unlock(&modules_lock);
    if (forked_child) {
        stack_table_foreach(preamble_stack, NULL);
        type_table_lock();
        type_table_foreach(preamble_type, NULL);
        type_table_unlock();
    }
}

/* ------------------------------------------------------ alloc and free */


/* The heap's peak is kept as snapshot "peak": blocks only (no scan), taken
 * when live bytes first pass PEAK_FIRST, then each time they double, so a
 * growing heap costs a bounded number of snapshots (their blocks add up to
 * about twice the final heap). The exact peak is in the end record. */
#define PEAK_FIRST (1ull << 20)
static _Atomic uint64_t next_peak_snapshot = PEAK_FIRST;
static void write_snapshot(const char *name, int scan, uintptr_t caller_sp);

static void maybe_peak_snapshot(uint64_t live)
{
    uint64_t want = atomic_load_explicit(&next_peak_snapshot, memory_order_relaxed);
    if (live < want || !atomic_compare_exchange_strong(&next_peak_snapshot, &want, UINT64_MAX))
        return;
    pthread_mutex_lock(&snapshot_lock);
    if (atomic_load(&rec_on))
        write_snapshot("peak", 0, 0);
    pthread_mutex_unlock(&snapshot_lock);
    uint64_t now = (uint64_t)atomic_load(&live_bytes);
    atomic_store(&next_peak_snapshot, (now > live ? now : live) * 2);
}

/* Each thread publishes its change to the live heap in batches: one shared
 * atomic per event made two threads fight over its cache line. The live and
 * peak figures are so exact to within PUBLISH_BYTES per thread. */
#define PUBLISH_BYTES (16 * 1024)
#define PUBLISH_BLOCKS 32

static void publish_live(uint64_t when)
{
    int64_t bytes = rec_self.pending_bytes, blocks = rec_self.pending_blocks;
    rec_self.pending_bytes = rec_self.pending_blocks = 0;
    long live = atomic_fetch_add_explicit(&live_bytes, bytes, memory_order_relaxed) + bytes;
    atomic_fetch_add_explicit(&live_blocks, blocks, memory_order_relaxed);
    long peak = atomic_load_explicit(&peak_bytes, memory_order_relaxed);
    while (live > peak) {
        if (atomic_compare_exchange_weak(&peak_bytes, &peak, live)) {
            atomic_store_explicit(&peak_time_ns, when, memory_order_relaxed);
            break;
        }
    }
}

static inline void note_live(int64_t bytes, int64_t blocks, uint64_t when)
{
    rec_self.pending_bytes += bytes;
    rec_self.pending_blocks += blocks;
    if (rec_self.pending_bytes >= PUBLISH_BYTES || rec_self.pending_bytes <= -PUBLISH_BYTES ||
        rec_self.pending_blocks >= PUBLISH_BLOCKS || rec_self.pending_blocks <= -PUBLISH_BLOCKS)
        publish_live(when);
}

/* A thread's recent stacks, in front of the shared table: a hit costs a
 * hash and a compare, no lock. Direct-mapped; kept with the thread's buffer. */
#define STACK_CACHE 4096

struct stack_cache_entry {
    uint64_t hash;
    uint32_t id, n;
    const uintptr_t *frames; /* the shared table's copy */
};

static uint32_t intern_stack(struct out_buf *ob, const uintptr_t *frames, unsigned n, uint64_t h, int *is_new)
{
    *is_new = 0;
    if (!n)
        return FMT_NO_STACK;
    struct stack_cache_entry **cache = (struct stack_cache_entry **)out_stack_cache(ob);
    if (HS_UNLIKELY(!*cache))
        *cache = plat_map(STACK_CACHE * sizeof **cache);
    struct stack_cache_entry *e = *cache ? &(*cache)[h & (STACK_CACHE - 1)] : NULL;
    if (e && e->hash == h && e->n == n && memcmp(e->frames, frames, n * sizeof *frames) == 0)
        return e->id;
    const uintptr_t *stored = NULL;
    uint32_t id = stack_table_intern_hashed(frames, n, h, is_new, &stored);
    if (e && id)
        *e = (struct stack_cache_entry){ h, id, n, stored };
    return id;
}

static void alloc_locked(unsigned fn, void *ptr, size_t size, const struct stack_origin *from)
{
    live_prefetch((uintptr_t)ptr);
    uintptr_t frames[FMT_MAX_FRAMES];
    uint64_t hash;
    unsigned n = stack_capture(from, frames, hs_opt.max_frames, &hash);
    struct out_buf *ob = out_acquire(FMT_STACK_ROOM(n) + FMT_ALLOC_ROOM);
    if (!ob)
        return;
    int is_new;
    uint32_t sid = intern_stack(ob, frames, n, hash, &is_new);
    uint64_t now = now_rel_coarse();
    struct live_block blk = { .addr = (uintptr_t)ptr, .size = size, .stack_id = sid, .birth_ns = now,
                              .gen = process_gen };
    live_insert(&blk);
    note_live((int64_t)size, 1, now);
    struct out_counters *cnt = out_counters(ob);
    cnt->allocs++;
    cnt->bytes += size;
    struct fmt_buf *b = out_fmt(ob);
    if (is_new)
        fmt_put_stack(b, sid, frames, n);
    fmt_put_alloc(b, fn, size, sid, now);
    out_release(ob);
    if (HS_UNLIKELY(is_new))
        rec_modules_changed(); /* a new stack may come from a module loaded since */
    uint64_t live = (uint64_t)atomic_load_explicit(&live_bytes, memory_order_relaxed);
    if (HS_UNLIKELY(live >= atomic_load_explicit(&next_peak_snapshot, memory_order_relaxed)))
        maybe_peak_snapshot(live);
    out_tick(now + start_ns);
}

static void free_locked(const struct live_block *blk)
{
    note_live(-(int64_t)blk->size, -1, 0);
    struct out_buf *ob = out_acquire(FMT_FREE_ROOM);
    if (!ob)
        return;
    out_counters(ob)->frees++;
    fmt_put_free(out_fmt(ob), blk->size, blk->stack_id);
    out_release(ob);
}

void rec_alloc(unsigned fn, void *ptr, size_t size, const struct stack_origin *from)
{
    if (!ptr)
        return;
    struct guard g = guard_enter();
    alloc_locked(fn, ptr, size, from);
    guard_leave(g);
}

void rec_free(void *ptr)
{
    struct guard g = guard_enter();
    struct live_block blk;
    if (live_remove((uintptr_t)ptr, &blk))
        free_locked(&blk);
    guard_leave(g);
}

int rec_realloc_take(void *old, struct live_block *saved)
{
    if (!old)
        return 0;
    struct guard g = guard_enter();
    int had = live_remove((uintptr_t)old, saved);
    guard_leave(g);
    return had;
}

void rec_realloc_done(void *old, int had, const struct live_block *saved, void *ptr, size_t size,
                      unsigned fn, const struct stack_origin *from)
{
    struct guard g = guard_enter();
    if (!ptr && size && old) { /* failed: the old block is still there */
        if (had)
            live_insert(saved);
    } else {
        if (had)
            free_locked(saved);
        if (ptr)
            alloc_locked(fn, ptr, size, from);
    }
    guard_leave(g);
}

/* ---------------------------------------------------------- client API */

void rec_tag(const void *block, const char *type)
{
    if (!atomic_load(&rec_on))
        return;
    struct guard g = guard_enter();
    int is_new;
    uint32_t id = type_table_intern(type, &is_new);
    size_t type_room = FMT_TYPE_ROOM(strnlen(type, FMT_MAX_STRING));
    if (id && live_update((uintptr_t)block, id, 0)) {
        struct out_buf *ob = out_acquire(type_room + FMT_TAG_ROOM);
        if (ob) {
            struct fmt_buf *b = out_fmt(ob);
            if (is_new)
                fmt_put_type(b, id, type);
            fmt_put_tag(b, (uintptr_t)block, id);
            out_release(ob);
        }
    } else if (id && is_new) { /* not a live block, but the name must reach the trace */
        struct out_buf *ob = out_acquire(type_room);
        if (ob) {
            fmt_put_type(out_fmt(ob), id, type);
            out_release(ob);
        }
    }
    guard_leave(g);
}

void rec_rc(unsigned op, const void *obj, uint64_t id, long count, const char *type, uintptr_t ret, int misuse)
{
    if (!atomic_load(&rec_on))
        return;
    struct guard g = guard_enter();
    if (misuse)
        rc_misuse(op, obj, id, type, ret);
    else
        rc_event(op, obj, id, count, type, ret);
    guard_leave(g);
}

void rec_ignore(const void *block)
{
    if (!atomic_load(&rec_on))
        return;
    struct guard g = guard_enter();
    live_update((uintptr_t)block, 0, FMT_BLOCK_IGNORED);
    guard_leave(g);
}

/* ----------------------------------------------------------- snapshots */

/* Sorts blocks by address: LSD radix sort, 16 bits a pass over the 48 bits
 * of a user-space address, through tmp (room for n blocks). Three linear
 * passes: a heapsort of a million blocks was a fifth of a traced run. */
static void sort_blocks(struct live_block *a, struct live_block *tmp, size_t n)
{
    static size_t count[1 << 16]; /* snapshots are serialised */
    struct live_block *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 48; shift += 16) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(src[i].addr >> shift) & 0xffff]++;
        size_t sum = 0;
        for (size_t d = 0; d < (1 << 16); d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].addr >> shift) & 0xffff]++] = src[i];
        struct live_block *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) /* an odd number of passes leaves the result in tmp */
        memcpy(a, src, n * sizeof *a);
}

struct collect {
    struct live_block *blocks;
    size_t n, cap;
    uint64_t bytes;
    int overflow;
};

static void collect_cb(const struct live_block *b, void *arg)
{
    struct collect *c = arg;
    if (c->n == c->cap) {
        c->overflow = 1;
        return;
    }
    c->blocks[c->n++] = *b;
    c->bytes += b->size;
}

static void put_blocks(const struct live_block *blocks, size_t n, const struct scan_result *scan)
{
    const size_t batch = 8192;
    for (size_t i = 0; i < n; i += batch) {
        size_t k = n - i < batch ? n - i : batch;
        struct out_buf *ob = out_global_acquire(FMT_BLOCKS_ROOM(k));
        if (!ob)
            return;
        struct fmt_buf *b = out_fmt(ob);
        fmt_put_blocks(b, k);
        for (size_t j = i; j < i + k; j++) {
            const struct live_block *blk = &blocks[j];
            fmt_put_block(b, blk->addr, blk->size, blk->stack_id, blk->type_id, blk->birth_ns,
                          blk->flags | (blk->gen != process_gen ? FMT_BLOCK_INHERITED : 0),
                          scan ? scan->hashes[j] : 0, scan ? scan->word0[j] : 0);
        }
        out_release(ob);
    }
}

static void put_graph(const struct scan_result *scan)
{
    for (size_t i = 0; i < scan->n_roots; i++) {
        struct out_buf *ob = out_global_acquire(FMT_ROOT_ROOM);
        if (!ob)
            return;
        const struct scan_root *r = &scan->roots[i];
        fmt_put_root(out_fmt(ob), i, r->kind, r->start, r->end, (uint64_t)r->tid);
        out_release(ob);
    }
    const size_t batch = 16384;
    for (size_t i = 0; i < scan->n_edges; i += batch) {
        size_t k = scan->n_edges - i < batch ? scan->n_edges - i : batch;
        struct out_buf *ob = out_global_acquire(FMT_EDGES_ROOM(k));
        if (!ob)
            return;
        struct fmt_buf *b = out_fmt(ob);
        fmt_put_edges(b, k);
        for (size_t j = i; j < i + k; j++) {
            const struct scan_edge *e = &scan->edges[j];
            fmt_put_edge(b, e->src, e->src_is_root, e->src_off, e->dst, e->dst_off, e->rules);
        }
        out_release(ob);
    }
}

/* Writes a snapshot: the live blocks and, when scan is set, the heap graph.
 * caller_sp: see rec_snapshot. */
static void write_snapshot(const char *name, int scan, uintptr_t caller_sp)
{
    static struct scan_result graph; /* big; snapshots are serialised */
    if (scan) {
        memset(&graph, 0, offsetof(struct scan_result, late));
        scan_pause(&graph); /* paused threads hold no tracer lock: collecting is safe */
    }
    struct collect c = { 0 };
    size_t cap = (size_t)atomic_load(&live_blocks) + 1024;
    for (;;) { /* the heap may grow while we count: try again with more room */
        c = (struct collect){ .cap = cap + cap / 4 };
        if (!(c.blocks = plat_map(c.cap * sizeof *c.blocks)))
            break;
        live_foreach(collect_cb, &c);
        if (!c.overflow)
            break;
        plat_unmap(c.blocks, c.cap * sizeof *c.blocks);
        cap = c.cap * 2;
    }
    struct live_block *tmp = c.blocks ? plat_map((c.n ? c.n : 1) * sizeof *tmp) : NULL;
    if (tmp) {
        sort_blocks(c.blocks, tmp, c.n);
        plat_unmap(tmp, (c.n ? c.n : 1) * sizeof *tmp);
    } else if (c.blocks) {
        plat_unmap(c.blocks, c.cap * sizeof *c.blocks);
        c.blocks = NULL; /* out of memory: no snapshot */
    }
    int scanned = scan && c.blocks && scan_heap(c.blocks, c.n, caller_sp, &graph) == 0;
    if (scan)
        scan_resume();
    if (!c.blocks)
        return;

    unsigned index = snapshot_count++;
    char label[257];
    snprintf(label, sizeof label, "%s", name);
    struct out_buf *ob = out_global_acquire(FMT_SNAPSHOT_BEGIN_ROOM(strlen(label)));
    if (ob) {
        fmt_put_snapshot_begin(out_fmt(ob), index, label, now_rel(), c.n, c.bytes, (uint64_t)scanned,
                               rc_sequence());
        out_release(ob);
    }
    put_blocks(c.blocks, c.n, scanned ? &graph : NULL);
    if (scanned)
        put_graph(&graph);
    if ((ob = out_global_acquire(FMT_SNAPSHOT_END_ROOM))) {
        fmt_put_snapshot_end(out_fmt(ob), index);
        out_release(ob);
    }
    if (scan)
        scan_result_free(&graph, c.n);
    plat_unmap(c.blocks, c.cap * sizeof *c.blocks);
}

void rec_snapshot(const char *name, uintptr_t caller_sp)
{
    if (!atomic_load(&rec_on))
        return;
    struct guard g = guard_enter();
    rec_modules_changed();
    pthread_mutex_lock(&snapshot_lock);
    write_snapshot(name, hs_opt.scan, caller_sp);
    pthread_mutex_unlock(&snapshot_lock);
    guard_leave(g);
}

static void write_heap_stat(uint64_t now)
{
    uint64_t allocs, frees, bytes;
    rec_totals(&allocs, &frees, &bytes);
    if (allocs + frees == last_stat_allocs)
        return;
    last_stat_allocs = allocs + frees;
    struct out_buf *ob = out_global_acquire(FMT_HEAP_STAT_ROOM);
    if (!ob)
        return;
    fmt_put_heap_stat(out_fmt(ob), now, (uint64_t)atomic_load(&live_bytes), (uint64_t)atomic_load(&live_blocks),
                      allocs, bytes);
    out_release(ob);
}

/* The writer thread's clock: heap statistics, and the snapshots asked for
 * by signal or by the interval. */
void rec_tick(uint64_t now_abs)
{
    if (!atomic_load(&rec_on))
        return;
    uint64_t now = now_abs - start_ns;
    write_heap_stat(now);
    rec_modules_changed();
    char name[48];
    if (atomic_exchange(&snapshot_requests, 0)) {
        snprintf(name, sizeof name, "signal-%u", snapshot_count);
        rec_snapshot(name, 0);
    }
    if (hs_opt.interval_ms && now >= next_interval_ns) {
        if (next_interval_ns) {
            snprintf(name, sizeof name, "interval-%u", snapshot_count);
            rec_snapshot(name, 0);
        }
        next_interval_ns = now + (uint64_t)hs_opt.interval_ms * 1000000u;
    }
}

/* The snapshot signal. Outside the tracer and the allocator (the hooks call
 * the real allocator with the guard held), with no writer thread to ask, the
 * snapshot is taken here and now: a program with one thread, idle in a
 * system call, may never allocate again to take it later. Otherwise the
 * writer's next tick, or the next allocation's, takes it. */
static void on_snapshot_signal(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)info;
    (void)context;
    if (rec_self.guard || out_writer_tid() || !atomic_load(&rec_on)) {
        atomic_fetch_add(&snapshot_requests, 1);
        return;
    }
    int saved = errno;
    char name[48];
    snprintf(name, sizeof name, "signal-%u", snapshot_count);
    rec_snapshot(name, HS_CALLER_SP());
    errno = saved;
}

/* ------------------------------------------------------------- process */

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
    fmt_put_process_end(out_fmt(ob), now_rel(), reason, allocs, frees, bytes, (uint64_t)atomic_load(&peak_bytes),
                        atomic_load(&peak_time_ns));
    out_release(ob);
}

/* The end of this process image: last snapshot, end record, all written. */
static void finish(const char *snapshot, unsigned reason, int closing, uintptr_t caller_sp)
{
    if (!atomic_load(&rec_on))
        return;
    rec_modules_changed();
    pthread_mutex_lock(&snapshot_lock);
    atomic_store(&rec_on, 0); /* from here on, allocations pass through */
    publish_live(now_rel());
    write_snapshot(snapshot, hs_opt.scan, caller_sp);
    write_suppressions();
    write_end(reason);
    pthread_mutex_unlock(&snapshot_lock);
    out_finish(closing);
}

void rec_exit(uintptr_t caller_sp)
{
    if (atomic_exchange(&finished, 1))
        return;
    struct guard g = guard_enter();
    if (getpid() == pid)
        finish("exit", FMT_END_EXIT, 1, caller_sp);
    guard_leave(g);
}

void rec_exec(uintptr_t caller_sp)
{
    struct guard g = guard_enter();
    finish("exec", FMT_END_EXEC, 0, caller_sp);
    guard_leave(g);
}

void rec_exec_failed(void)
{
    /* The program goes on: so does its trace, in the same file. */
    if (!atomic_load(&finished) && !out_failed())
        atomic_store(&rec_on, 1);
}

static void fork_prepare(void)
{
    rec_self.guard++;
    out_fork_prepare();
    pthread_mutex_lock(&snapshot_lock);
    plat_lock(&modules_lock);
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
    plat_unlock(&modules_lock);
    pthread_mutex_unlock(&snapshot_lock);
    out_fork_parent();
    rec_self.guard--;
}

static void fork_child(void)
{
    plat_own_unlock();
    live_unlock_all();
    type_table_unlock();
    stack_table_unlock_all();
    plat_unlock(&modules_lock);
    pthread_mutex_init(&snapshot_lock, NULL);
    out_fork_child();
    plat_warn_reset();
    pid = getpid();
    forked_child = 1;
    process_gen = (process_gen + 1) & 63;
    hs_opt.first_process = 0;
    snapshot_count = 0;
    atomic_store(&peak_bytes, atomic_load(&live_bytes));
    atomic_store(&next_peak_snapshot, (uint64_t)atomic_load(&live_bytes) * 2 + PEAK_FIRST);
    if (!hs_opt.follow)
        atomic_store(&rec_on, 0);
    rec_self.guard--;
}

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
    struct guard g = guard_enter();
    options_init();
    pid = getpid();
    start_ns = plat_now_ns();
    start_unix_ns = plat_unix_now_ns();
    modules = plat_map(MODULES_MAX * sizeof *modules);
    if (!modules || out_init() != 0) {
        guard_leave(g);
        return;
    }
    stack_capture_init();
    scan_init();
    out_set_preamble(write_preamble);
    rec_modules_changed(); /* the analyzer takes a module id seen twice once */
    recording_ready = 1;
    atomic_store(&rec_on, 1);
    guard_leave(g);
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
    struct guard g = guard_enter();
    options_mark_root();
    if (!hs_opt.follow)
        options_unpreload();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    if (hs_opt.snapshot_signal) /* only if the program left it alone */
        plat_signal_claim(hs_opt.snapshot_signal, on_snapshot_signal, 0);
    if (!notes_malloc_foreign()) /* else nothing will reach us: no thread of ours in the program */
        out_start_writer();
    guard_leave(g);
}
