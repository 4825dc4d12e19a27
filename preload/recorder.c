/*
 * Recording each allocation and free, the hot path: the stack (walked,
 * hashed, interned through a per-thread cache), the live table, the
 * thread's counters and its ALLOC or FREE record; and the live heap's size
 * and peak, published in batches. The hooks call rec_alloc, rec_free and the
 * realloc pair for every call they trace.
 *
 * Must never take a lock all threads share (only the thread's own buffer
 * lock and a live-table shard's), make a call that was not here before
 * without measuring it (bench/alloc_micro, callgrind), or lose errno: every
 * entry point holds the thread's guard (rec_guard_enter).
 */
#include "internal.h"

#include <string.h>

__thread struct rec_thread rec_self __attribute__((tls_model("initial-exec")));
struct rec_heap rec_heap;

/* Each thread publishes its change to the live heap in batches: one shared
 * atomic per event made two threads fight over its cache line. The live and
 * peak figures are so exact to within PUBLISH_BYTES per thread. */
#define PUBLISH_BYTES (16 * 1024)
#define PUBLISH_BLOCKS 32

void rec_publish_live(uint64_t when)
{
    int64_t bytes = rec_self.pending_bytes, blocks = rec_self.pending_blocks;
    rec_self.pending_bytes = rec_self.pending_blocks = 0;
    long live = atomic_fetch_add_explicit(&rec_heap.live_bytes, bytes, memory_order_relaxed) + bytes;
    atomic_fetch_add_explicit(&rec_heap.live_blocks, blocks, memory_order_relaxed);
    long peak = atomic_load_explicit(&rec_heap.peak_bytes, memory_order_relaxed);
    while (live > peak) {
        if (atomic_compare_exchange_weak(&rec_heap.peak_bytes, &peak, live)) {
            atomic_store_explicit(&rec_heap.peak_time_ns, when, memory_order_relaxed);
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
        rec_publish_live(when);
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
    uintptr_t frames[hs_opt.max_frames]; /* not FMT_MAX_FRAMES: a split-stack program's segment is small */
    uint64_t hash;
    unsigned n = stack_capture(from, out_stack_memo(), frames, hs_opt.max_frames, &hash);
    struct out_buf *ob = out_acquire(FMT_STACK_ROOM(n) + FMT_ALLOC_ROOM);
    if (!ob)
        return;
    int is_new;
    uint32_t sid = intern_stack(ob, frames, n, hash, &is_new);
    uint64_t now = rec_now_coarse();
    live_add((uintptr_t)ptr, size, sid, now, rec_generation);
    rec_self.last_alloc = ~(uintptr_t)ptr; /* not a pointer: TLS is a root the scan reads */
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
    uint64_t live = (uint64_t)atomic_load_explicit(&rec_heap.live_bytes, memory_order_relaxed);
    if (HS_UNLIKELY(live >= atomic_load_explicit(&rec_next_peak, memory_order_relaxed)))
        rec_snapshot_peak(live);
    out_tick(now + rec_epoch_ns);
}

/* What a FREE says of the block besides its size and stack: whether it was
 * temporary (heaptrack's word: freed by the thread that made it directly
 * after, no other allocation or free of that thread in between), and how
 * long it lived. The clock is the coarse one, whose tick (4 ms here) is the
 * measure's resolution: "under a millisecond" is born and freed within one
 * tick. */
static unsigned free_flags(const struct live_block *blk)
{
    unsigned flags = 0;
    if (blk->addr == ~rec_self.last_alloc)
        flags |= FMT_FREE_TEMPORARY;
    rec_self.last_alloc = 0;
    /* in the tag's units of 2^20 ns (1.05 ms): 0 is the same tick of the clock */
    uint64_t now = rec_now_coarse() >> 20, born = blk->birth_ns >> 20, age = now > born ? now - born : 0;
    unsigned cls = age == 0 ? FMT_AGE_UNDER_MS : age < 954 ? FMT_AGE_UNDER_S : FMT_AGE_LONGER;
    return flags | cls << FMT_FREE_AGE_SHIFT;
}

static void free_locked(const struct live_block *blk)
{
    note_live(-(int64_t)blk->size, -1, 0);
    struct out_buf *ob = out_acquire(FMT_FREE_ROOM);
    if (!ob)
        return;
    out_counters(ob)->frees++;
    fmt_put_free(out_fmt(ob), blk->size, blk->stack_id, free_flags(blk));
    out_release(ob);
}

void rec_alloc(unsigned fn, void *ptr, size_t size, const struct stack_origin *from)
{
    if (!ptr)
        return;
    struct rec_guard g = rec_guard_enter();
    alloc_locked(fn, ptr, size, from);
    rec_guard_leave(g);
}

void rec_free(void *ptr)
{
    struct rec_guard g = rec_guard_enter();
    struct live_block blk;
    if (live_remove((uintptr_t)ptr, &blk))
        free_locked(&blk);
    rec_guard_leave(g);
}

int rec_realloc_take(void *old, struct live_block *saved)
{
    if (!old)
        return 0;
    struct rec_guard g = rec_guard_enter();
    int had = live_remove((uintptr_t)old, saved);
    rec_guard_leave(g);
    return had;
}

void rec_realloc_done(void *old, int had, const struct live_block *saved, void *ptr, size_t size,
                      unsigned fn, const struct stack_origin *from)
{
    struct rec_guard g = rec_guard_enter();
    if (!ptr && size && old) { /* failed: the old block is still there */
        if (had)
            live_insert(saved);
    } else {
        if (had)
            free_locked(saved);
        if (ptr)
            alloc_locked(fn, ptr, size, from);
    }
    rec_guard_leave(g);
}

