/*
 * The periodic work, every 100 ms: a HEAP_STAT record (live bytes and
 * blocks, totals) when anything changed, the module map brought up to
 * date, and the snapshots asked for by the signal or due by the interval.
 * The writer thread's clock runs it; while there is none, the allocation
 * that finds a tick due (output.c's out_tick).
 *
 * Must never run on a program thread but from out_tick (it takes the
 * loader's lock and may take a snapshot), nor count anything itself: the
 * counters are the threads' own (output.c), the live figures recorder.c's.
 */
#include "internal.h"

static uint64_t next_interval_ns, last_stat_allocs = ~0ull;

void rec_totals(uint64_t *allocs, uint64_t *frees, uint64_t *bytes)
{
    struct out_counters sum;
    out_sum_counters(&sum);
    *allocs = sum.allocs;
    *frees = sum.frees;
    *bytes = sum.bytes;
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
    fmt_put_heap_stat(out_fmt(ob), now, (uint64_t)atomic_load(&rec_heap.live_bytes),
                      (uint64_t)atomic_load(&rec_heap.live_blocks),
                      allocs, bytes, plat_rss_bytes());
    out_release(ob);
}

/* The writer thread's clock: heap statistics, and the snapshots asked for
 * by signal or by the interval. */
void rec_tick(uint64_t now_abs)
{
    if (!atomic_load(&rec_on))
        return;
    uint64_t now = now_abs - rec_epoch_ns;
    write_heap_stat(now);
    rec_modules_changed();
    if (rec_snapshot_requested())
        rec_snapshot_numbered("signal", 0);
    if (hs_opt.interval_ms && now >= next_interval_ns) {
        uint64_t every = (uint64_t)hs_opt.interval_ms * 1000000u, done = now;
        if (next_interval_ns) {
            rec_snapshot_numbered("interval", 0);
            done = rec_now();
        }
        /* From the snapshot's end, and at least nine times its length: a
         * snapshot (which pauses every thread) longer than the interval
         * made the next one due at once, and a loaded machine's program
         * spent nearly all its time paused (a second of it per 12 ms of
         * work, test_fork_exec's forks under 2 ms intervals). */
        next_interval_ns = done + (every > 9 * (done - now) ? every : 9 * (done - now));
    }
}

/* A forked child's clock starts again: the parent's due interval would
 * snapshot the child at its first allocation. */
void rec_tick_fork_child(void)
{
    next_interval_ns = 0;
    last_stat_allocs = ~0ull;
}
