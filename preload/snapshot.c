/*
 * Snapshots: the live blocks, sorted by address, and (unless HEAPSCOPE_SCAN=0)
 * the heap graph scan.c finds among them while the program's other threads
 * are paused; taken by the API, the snapshot signal, the interval (tick.c),
 * at the heap's peak (blocks only) and at the end (process.c).
 *
 * Snapshots are serialised by one lock (rec_snapshot_lock), never taken
 * from the allocation hot path but for the peak's, which is bounded (once
 * each time the heap doubles). Must never leave the program's threads
 * paused, nor write a snapshot's records outside the process-wide buffer
 * (they stay in order there).
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned snapshot_count;
static atomic_int snapshot_requests; /* by the signal, for the next tick */

/* The heap's peak is kept as snapshot "peak": blocks only (no scan), taken
 * when live bytes first pass PEAK_FIRST, then each time they double, so a
 * growing heap costs a bounded number of snapshots (their blocks add up to
 * about twice the final heap). The exact peak is in the end record. */
#define PEAK_FIRST (1ull << 20)
_Atomic uint64_t rec_next_peak = PEAK_FIRST;

/* Sorts blocks by address: LSD radix sort, 12 bits a pass over the 48 bits
 * of a user-space address, through tmp (room for n blocks). Four linear
 * passes: a heapsort of a million blocks was a fifth of a traced run. The
 * counts are 32 KiB: 16 bits a pass made them 512 KiB, cleared three times
 * a snapshot and 128 page faults in every process (a millisecond), for the
 * few blocks it sorts (the table's, 64 KiB and more). */
#define RADIX_BITS 12
static void radix_sort(struct live_block *a, struct live_block *tmp, size_t n)
{
    static size_t count[1 << RADIX_BITS]; /* snapshots are serialised */
    const uint64_t mask = (1u << RADIX_BITS) - 1;
    struct live_block *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 48; shift += RADIX_BITS) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(src[i].addr >> shift) & mask]++;
        size_t sum = 0;
        for (size_t d = 0; d <= mask; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].addr >> shift) & mask]++] = src[i];
        struct live_block *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) /* an odd number of passes leaves the result in tmp */
        memcpy(a, src, n * sizeof *a);
}

/* Sorts the n blocks live_collect gave by address: the tagged ones come in
 * address order, the table's (64 KiB and more) after them in any order. So
 * only those are sorted, apart, and merged in from the end: the radix
 * sort's scattered writes over all blocks were a third of a peak snapshot.
 * 0, or -1 out of memory. */
static int sort_blocks(struct live_block *a, size_t n)
{
    size_t k = 1;
    while (k < n && a[k - 1].addr < a[k].addr)
        k++;
    if (k >= n)
        return 0;
    size_t m = n - k;
    struct live_block *tail = plat_map_filled(2 * m * sizeof *tail);
    if (!tail)
        return -1;
    memcpy(tail, a + k, m * sizeof *a);
    radix_sort(tail, tail + m, m);
    size_t i = k, j = m, o = n; /* merge from the end: tagged blocks above the tail's lowest move once */
    while (j > 0)
        a[--o] = i > 0 && a[i - 1].addr > tail[j - 1].addr ? a[--i] : tail[--j];
    plat_unmap(tail, 2 * m * sizeof *tail);
    return 0;
}

struct collect {
    struct live_block *blocks;
    size_t n, cap;
    uint64_t bytes;
};

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
                          blk->flags | (blk->gen != rec_generation ? FMT_BLOCK_INHERITED : 0),
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

void rec_snapshot_write(const char *name, int scan, uintptr_t caller_sp)
{
    static struct scan_result graph; /* big; snapshots are serialised */
    memset(&graph, 0, offsetof(struct scan_result, late));
    scan_pause(&graph); /* blocks' tags are read: paused threads hold no tracer lock and free nothing */
    struct collect c = { 0 };
    size_t cap = (size_t)atomic_load(&rec_heap.live_blocks) + 1024;
    for (;;) { /* the heap may grow while we count: try again with more room */
        c = (struct collect){ .cap = cap + cap / 4 };
        if (!(c.blocks = plat_map_filled(c.cap * sizeof *c.blocks)))
            break;
        if ((c.n = live_collect(c.blocks, c.cap)) <= c.cap)
            break;
        plat_unmap(c.blocks, c.cap * sizeof *c.blocks);
        cap = c.n * 2;
    }
    for (size_t i = 0; c.blocks && i < c.n; i++)
        c.bytes += c.blocks[i].size;
    if (c.blocks && sort_blocks(c.blocks, c.n) != 0) {
        plat_unmap(c.blocks, c.cap * sizeof *c.blocks);
        c.blocks = NULL; /* out of memory: no snapshot */
    }
    if (c.blocks)
        python_type_blocks(c.blocks, c.n, scan);
    int scanned = scan && c.blocks && scan_heap(c.blocks, c.n, caller_sp, &graph) == 0;
    scan_resume();
    if (!c.blocks)
        return;

    unsigned index = snapshot_count++;
    char label[257];
    snprintf(label, sizeof label, "%s", name);
    struct out_buf *ob = out_global_acquire(FMT_SNAPSHOT_BEGIN_ROOM(strlen(label)));
    if (ob) {
        fmt_put_snapshot_begin(out_fmt(ob), index, label, rec_now(), c.n, c.bytes, (uint64_t)scanned,
                               rc_sequence());
        out_release(ob);
    }
    put_blocks(c.blocks, c.n, scanned ? &graph : NULL);
    python_put_objects();
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
    struct rec_guard g = rec_guard_enter();
    rec_modules_changed();
    pthread_mutex_lock(&snapshot_lock);
    rec_snapshot_write(name, hs_opt.scan, caller_sp);
    pthread_mutex_unlock(&snapshot_lock);
    rec_guard_leave(g);
}

void rec_snapshot_numbered(const char *kind, uintptr_t caller_sp)
{
    char name[48];
    snprintf(name, sizeof name, "%s-%u", kind, snapshot_count);
    rec_snapshot(name, caller_sp);
}

void rec_snapshot_peak(uint64_t live)
{
    uint64_t want = atomic_load_explicit(&rec_next_peak, memory_order_relaxed);
    if (live < want || !atomic_compare_exchange_strong(&rec_next_peak, &want, UINT64_MAX))
        return;
    pthread_mutex_lock(&snapshot_lock);
    if (atomic_load(&rec_on))
        rec_snapshot_write("peak", 0, 0);
    pthread_mutex_unlock(&snapshot_lock);
    uint64_t now = (uint64_t)atomic_load(&rec_heap.live_bytes);
    atomic_store(&rec_next_peak, (now > live ? now : live) * 2);
}

/* The snapshot signal. Outside the tracer and the allocator (the hooks call
 * the real allocator with the guard held), the snapshot is taken here and
 * now, of the heap as it is when the signal comes (the other threads are
 * paused as for any snapshot): a program with one thread, idle in a system
 * call, may never allocate again to take it later, and a writer's tick
 * would take it later, of a heap the program went on changing. Inside the
 * tracer, the writer's next tick or the next allocation's takes it. */
static void on_snapshot_signal(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)info;
    (void)context;
    if (rec_self.guard || !atomic_load(&rec_on)) {
        atomic_fetch_add(&snapshot_requests, 1);
        return;
    }
    int saved = errno;
    rec_snapshot_numbered("signal", HS_CALLER_SP());
    errno = saved;
}

void rec_snapshot_signal_claim(void)
{
    if (hs_opt.snapshot_signal) /* only if the program left it alone */
        plat_signal_claim(hs_opt.snapshot_signal, on_snapshot_signal, 0);
}

int rec_snapshot_requested(void) { return atomic_exchange(&snapshot_requests, 0); }

void rec_snapshot_lock(void) { pthread_mutex_lock(&snapshot_lock); }
void rec_snapshot_unlock(void) { pthread_mutex_unlock(&snapshot_lock); }

void rec_snapshot_fork_child(void)
{
    pthread_mutex_init(&snapshot_lock, NULL);
    snapshot_count = 0;
    atomic_store(&rec_next_peak, (uint64_t)atomic_load(&rec_heap.live_bytes) * 2 + PEAK_FIRST);
}
