/* The check stackcheck_cases.c and stackcheck_throw.cpp share: probe()
 * records libunwind's unw_backtrace, then mallocs a block of a size no
 * other checked block has (2000 + its number), which stays allocated
 * (reachable from blocks[]). probe_print() prints one line per checked
 * block, in the order they were allocated:
 *
 *     CASE SIZE ADDR ADDR ...
 *
 * libunwind's return addresses, innermost first: the first is probe's own
 * call of unw_backtrace (the tracer's first frame is probe's call of malloc,
 * the line after); every later one must be the tracer's.
 *
 * Safe in signal handlers and threads: slots are taken by atomic increments,
 * and nothing locks or allocates but the checked malloc. probe_busy is set
 * while this thread is inside probe, so that a handler interrupting it can
 * leave the tracer (which does not record an allocation made while it is
 * busy on the same thread) alone. */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <stdio.h>
#include <stdlib.h>

#define PROBE_RAW_MAX 1200         /* deeper than the deepest case (1010 frames) */
#define PROBE_BLOCKS_MAX 4096
#define PROBE_POOL_MAX (1u << 19)  /* return addresses kept, all blocks together */
#define PROBE_FIRST_SIZE 2000

struct probe_block {
    char kase[16]; /* a copy: the name may be in a library unloaded since */
    unsigned size, start, n;
};

static struct probe_block blocks[PROBE_BLOCKS_MAX];
static void *volatile blocks_kept[PROBE_BLOCKS_MAX]; /* volatile: never read, still kept */
static void *probe_pool[PROBE_POOL_MAX];
static unsigned probe_blocks_n, probe_pool_used, probe_overflow;
static __thread volatile int probe_busy;

/* Frames libunwind reports of itself at the top of RAW: none with the
 * libunwind of today, whose first is its caller's; skipped should one. */
static int probe_own_frames(void *const *raw, int k)
{
    Dl_info lib, info;
    if (!dladdr((void *)unw_backtrace, &lib))
        return 0;
    int skip = 0;
    while (skip < k && dladdr(raw[skip], &info) && info.dli_fbase == lib.dli_fbase)
        skip++;
    return skip;
}

/* Without inlining, cloning or merging: the first frame is always this
 * function's one call of malloc. */
__attribute__((noipa)) static void probe(const char *kase)
{
    void *raw[PROBE_RAW_MAX];
    probe_busy++;
    unsigned id = __atomic_fetch_add(&probe_blocks_n, 1, __ATOMIC_RELAXED);
    unsigned size = PROBE_FIRST_SIZE + id;
    int k = unw_backtrace(raw, PROBE_RAW_MAX);
    void *p = malloc(size);
    __asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
    int skip = probe_own_frames(raw, k);
    unsigned n = (unsigned)(k - skip);
    unsigned start = __atomic_fetch_add(&probe_pool_used, n, __ATOMIC_RELAXED);
    if (id >= PROBE_BLOCKS_MAX || start + n > PROBE_POOL_MAX || k >= PROBE_RAW_MAX || !p) {
        probe_overflow = 1;
        free(p);
    } else {
        for (unsigned i = 0; i < n; i++)
            probe_pool[start + i] = raw[skip + i];
        for (unsigned i = 0; i + 1 < sizeof blocks[id].kase && kase[i]; i++)
            blocks[id].kase[i] = kase[i];
        blocks[id].size = size;
        blocks[id].start = start;
        blocks[id].n = n;
        blocks_kept[id] = p;
    }
    probe_busy--;
}

/* Libunwind's frames from the caller of this function outward. */
__attribute__((noipa, unused)) static int probe_frames_outward(void)
{
    void *raw[PROBE_RAW_MAX];
    int k = unw_backtrace(raw, PROBE_RAW_MAX);
    return k - probe_own_frames(raw, k) - 1;
}

/* Prints every checked block (after the threads are joined); -1 if some
 * could not be kept. */
static int probe_print(void)
{
    if (probe_overflow) {
        fprintf(stderr, "stackcheck: more blocks or frames than the probe keeps\n");
        return -1;
    }
    for (unsigned id = 0; id < probe_blocks_n; id++) {
        const struct probe_block *b = &blocks[id];
        printf("%s %u", b->kase, b->size);
        for (unsigned i = 0; i < b->n; i++)
            printf(" %p", probe_pool[b->start + i]);
        printf("\n");
    }
    return 0;
}
