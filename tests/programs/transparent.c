/* Prints what a program can learn about its heap from the allocator itself,
 * never an address: the distance between consecutive blocks, the heap bytes
 * a block costs, malloc_usable_size of blocks from every allocation function
 * over many sizes, on either side of the mmap threshold, whether realloc
 * moves a block, alignment, contents kept across realloc, calloc's zeroes,
 * and whether a block can be filled to its usable size without harming its
 * neighbour. All of it is the same in every native run, so a traced run must
 * print the same bytes (test_transparent). Then it keeps blocks of known
 * sizes from each function, for the leak report to list.
 *
 * The tracer allocates from glibc's heap before main: the loader's dlsym
 * error strings while it looks for other allocators (some freed again, sized
 * by the tracer's path), and under plain LD_PRELOAD setenv's copy of the
 * environment. So the program's heap starts elsewhere, and glibc's per-size
 * cache may hold blocks it never freed. A line starting "layout" holds a
 * number that depends on where the block sits: the usable size of a heap
 * block aligned past 16 bytes (glibc cuts it from a bigger one and gives
 * back the ends, each only if it is big enough to be a block). Natively the
 * same in every run, it is not compared traced. Everything else is measured
 * so that it holds wherever the heap starts and whatever waits in the cache
 * (the order of main, distances(), usable_sizes_small()). */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* stdout's buffer: stdio would otherwise malloc one at the first printf,
 * in the middle of what is measured. */
static char out_buf[1 << 16];

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ distances */

/* The distance between two blocks cut one after the other from the heap's
 * top is glibc's chunk size for the request: it shows blocks made bigger
 * than asked even when malloc_usable_size hides it. Only the last two of a
 * run of blocks are measured: the blocks the tracer freed before main wait
 * in glibc's per-size cache and are handed out first, wherever they are.
 * The runs stay allocated until the end (free_distances): freed, they would
 * leave free pieces between the cache's blocks, which ones depending on how
 * many blocks the tracer left there. Run first, on a fresh heap, and
 * single-threaded only: in a second thread the tracer starts its writer
 * thread at the first allocation, and the loader callocs that thread's TLS
 * from the calling thread's heap, between its blocks. */
enum { RUN = 12 };
/* one size of each of glibc's size classes: the blocks of a class freed
 * before would be handed out first to the next size of the same class */
static const size_t distance_sizes[] = {24, 40, 56, 100, 1000, 5000};
static void *runs[2][COUNT(distance_sizes)][RUN];

static void distances(void)
{
    for (size_t k = 0; k < COUNT(distance_sizes); k++) {
        size_t n = distance_sizes[k];
        void **run = runs[0][k], **crun = runs[1][k];
        for (int i = 0; i < RUN; i++)
            run[i] = malloc(n);
        printf("distance malloc(%zu) to malloc(%zu): %ld\n", n, n,
               (long)((uintptr_t)run[RUN - 1] - (uintptr_t)run[RUN - 2]));
        for (int i = 0; i < RUN; i++)
            crun[i] = calloc(1, n);
        printf("distance calloc(1, %zu) to calloc(1, %zu): %ld\n", n, n,
               (long)((uintptr_t)crun[RUN - 1] - (uintptr_t)crun[RUN - 2]));
        uintptr_t last = (uintptr_t)run[RUN - 1];
        free(run[RUN - 1]);
        run[RUN - 1] = malloc(n);
        printf("malloc(%zu) after freeing one: %s\n", n, (uintptr_t)run[RUN - 1] == last ? "that one" : "another");
    }
}

static void free_distances(void)
{
    for (size_t k = 0; k < COUNT(distance_sizes); k++)
        for (int i = 0; i < RUN; i++) {
            free(runs[0][k][i]);
            free(runs[1][k][i]);
        }
}

/* The heap bytes in use that blocks too big for glibc's per-size cache add:
 * the chunk sizes again, counted by glibc. */
static void heap_cost(void)
{
    static const size_t sizes[] = {1100, 2000, 4097};
    for (size_t k = 0; k < COUNT(sizes); k++) {
        void *run[20];
        size_t before = mallinfo2().uordblks;
        for (int i = 0; i < 20; i++)
            run[i] = malloc(sizes[k]);
        size_t after = mallinfo2().uordblks;
        printf("heap bytes in use for 20 malloc(%zu): %zu\n", sizes[k], after - before);
        for (int i = 0; i < 20; i++)
            free(run[i]);
    }
}

/* -------------------------------------------------------------- realloc */

static void in_place(const char *what, uintptr_t before, void *after)
{
    printf("realloc %s: %s\n", what, after == NULL ? "null" : (uintptr_t)after == before ? "same" : "moved");
}

static const char *neighbours(const void *a, const void *b)
{
    return (uintptr_t)b == (uintptr_t)a + malloc_usable_size((void *)a) + sizeof(size_t) ? "neighbours"
                                                                                          : "apart";
}

/* While nothing is free but the per-size cache's blocks, so consecutive
 * blocks are neighbours (printed: the cases mean that). */
static void realloc_moves(void)
{
    char *a = malloc(1000);
    uintptr_t was = (uintptr_t)a;
    a = realloc(a, 100);
    in_place("shrink 1000 -> 100", was, a);
    free(a);

    a = malloc(60000);
    was = (uintptr_t)a;
    a = realloc(a, 1000);
    in_place("shrink 60000 -> 1000", was, a);
    free(a);

    a = malloc(20);
    was = (uintptr_t)a;
    a = realloc(a, malloc_usable_size(a));
    in_place("grow 20 within its usable size", was, a);
    free(a);

    a = malloc(5000);
    was = (uintptr_t)a;
    a = realloc(a, malloc_usable_size(a));
    in_place("grow 5000 within its usable size", was, a);
    free(a);

    /* b, too big for the cache, is really free: a grows over it */
    a = malloc(2000);
    char *b = malloc(2000);
    char *guard = malloc(16);
    printf("malloc(2000) then malloc(2000): %s\n", neighbours(a, b));
    free(b);
    was = (uintptr_t)a;
    a = realloc(a, 3000);
    in_place("grow 2000 -> 3000 into a freed 2000", was, a);
    free(a);
    free(guard);

    /* b goes to the per-size cache (in use, to the heap): a cannot take it.
     * The last two of a run, as in distances(). */
    char *run[10];
    for (int i = 0; i < 10; i++)
        run[i] = malloc(900);
    a = run[8];
    b = run[9];
    guard = malloc(900);
    printf("malloc(900) then malloc(900): %s\n", neighbours(a, b));
    free(b);
    was = (uintptr_t)a;
    a = realloc(a, 1800);
    in_place("grow 900 -> 1800 past a freed 900", was, a);
    free(a);
    free(guard);
    for (int i = 0; i < 8; i++)
        free(run[i]);

    a = malloc(50000);
    was = (uintptr_t)a;
    a = realloc(a, 70000);
    in_place("grow 50000 -> 70000 at the heap's top", was, a);
    free(a);
}

/* Blocks of a MiB, mmapped with the threshold pinned (main): glibc mremaps them. */
static void realloc_moves_mmapped(void)
{
    char *a = malloc(1 << 20);
    uintptr_t was = (uintptr_t)a;
    a = realloc(a, 300000);
    in_place("shrink mmapped 1 MiB -> 300000", was, a);
    free(a);

    a = malloc(1 << 20);
    was = (uintptr_t)a;
    a = realloc(a, 4 << 20);
    in_place("grow mmapped 1 MiB -> 4 MiB", was, a);
    free(a);

    a = malloc(1 << 20);
    was = (uintptr_t)a;
    a = realloc(a, 100);
    in_place("shrink mmapped 1 MiB -> 100", was, a);
    free(a);
}

/* ------------------------------------------------------------ allocators */

static void *by_malloc(size_t n) { return malloc(n); }
static void *by_calloc(size_t n) { return calloc(n, 1); }
static void *by_realloc_grow(size_t n) { return realloc(malloc(n / 2), n); }
static void *by_realloc_shrink(size_t n) { return realloc(malloc(2 * n + 64), n); } /* n 0 frees */
static void *by_reallocarray_grow(size_t n) { return reallocarray(malloc(n / 2), n, 1); }
static void *by_reallocarray_shrink(size_t n) { return reallocarray(malloc(2 * n + 64), 1, n); }
static void *by_aligned_alloc_16(size_t n) { return aligned_alloc(16, n); }
static void *by_aligned_alloc_32(size_t n) { return aligned_alloc(32, n); }
static void *by_memalign_16(size_t n) { return memalign(16, n); }
static void *by_memalign_256(size_t n) { return memalign(256, n); }
static void *by_valloc(size_t n) { return valloc(n); }
static void *by_pvalloc(size_t n) { return pvalloc(n); }

static void *by_posix_memalign_16(size_t n)
{
    void *p;
    return posix_memalign(&p, 16, n) == 0 ? p : NULL;
}

static void *by_posix_memalign_64(size_t n)
{
    void *p;
    return posix_memalign(&p, 64, n) == 0 ? p : NULL;
}

/* pieces: the allocator leaves free pieces in the heap (what realloc cuts
 * off a block too big for glibc's per-size cache; the ends of an aligned
 * block). aligned: past 16 bytes, so a heap block's usable size is a
 * "layout" one. */
static const struct allocator {
    const char *name;
    void *(*alloc)(size_t n);
    int pieces, aligned;
} allocators[] = {
    {"malloc", by_malloc, 0, 0},
    {"calloc", by_calloc, 0, 0},
    {"realloc-grow", by_realloc_grow, 0, 0},
    {"reallocarray-grow", by_reallocarray_grow, 0, 0},
    {"posix_memalign-16", by_posix_memalign_16, 0, 0},
    {"aligned_alloc-16", by_aligned_alloc_16, 0, 0},
    {"memalign-16", by_memalign_16, 0, 0},
    {"realloc-shrink", by_realloc_shrink, 1, 0},
    {"reallocarray-shrink", by_reallocarray_shrink, 1, 0},
    {"posix_memalign-64", by_posix_memalign_64, 1, 1},
    {"aligned_alloc-32", by_aligned_alloc_32, 1, 1},
    {"memalign-256", by_memalign_256, 1, 1},
    {"valloc", by_valloc, 1, 1},
    {"pvalloc", by_pvalloc, 1, 1},
};

/* Around the mmap threshold (128 KiB, glibc's M_MMAP_THRESHOLD default) and
 * page boundaries above it, where a few bytes more would change a block from
 * heap to mmapped or add a page; then a few MiB. */
static const size_t large_sizes[] = {
    131072 - 64, 131072 - 40, 131072 - 32, 131072 - 24, 131072 - 17, 131072 - 16, 131072 - 9,
    131072 - 8, 131072 - 1, 131072, 131072 + 1, 131072 + 8, 131072 + 24, 131072 + 40,
    135168 - 40, 135168 - 24, 135168 - 17, 135168 - 16, 135168 - 8, 135168, 135168 + 8,
    200000, 262144 - 24, 262144 - 16, 262144 - 8, 262144,
    1 << 20, (1 << 20) + 1, (3 << 20) - 17, (4 << 20) - 24, (4 << 20) + 4095, 5 << 20,
};

static void usable_one(const char *section, const struct allocator *a, size_t n)
{
    void *p = a->alloc(n);
    if (p)
        printf("%s %s %zu: usable %zu\n", section, a->name, n, malloc_usable_size(p));
    else
        printf("%s %s %zu: null\n", section, a->name, n);
    free(p);
}

/* Small sizes, on the heap: first (pieces 0) the allocators that leave the
 * heap as they found it, while nothing is free but the per-size cache's
 * blocks; then the others. A free piece a little bigger than a request is
 * handed out whole, so once there are pieces about, a usable size depends
 * on what was freed before, and the blocks the tracer left in the cache
 * count: where a native run cuts a piece a traced one takes such a block. */
static void usable_sizes_small(int pieces)
{
    for (size_t i = 0; i < COUNT(allocators); i++)
        if (allocators[i].pieces == pieces)
            for (size_t n = 0; n <= 600; n++)
                usable_one(allocators[i].aligned ? "layout usable" : "usable", &allocators[i], n);
}

/* Large sizes with the mmap threshold pinned and the top trimmed (main):
 * each is mmapped or not as its own request says, and a mapping starts on a
 * page, so even aligned blocks do not depend on where the heap starts. */
static void usable_sizes_large(void)
{
    for (size_t i = 0; i < COUNT(allocators); i++)
        for (size_t k = 0; k < COUNT(large_sizes); k++)
            usable_one("usable", &allocators[i], large_sizes[k]);
}

/* ------------------------------------------------------------ alignment */

static void *aligned_by(int how, size_t align, size_t n)
{
    void *p = NULL;
    switch (how) {
    case 0:
        return posix_memalign(&p, align, n) == 0 ? p : NULL;
    case 1:
        return aligned_alloc(align, n);
    default:
        return memalign(align, n);
    }
}

/* Whether each block is aligned, and its usable size: a "layout" one on the
 * heap past 16-byte alignment; none past a page, where the block is cut from
 * a heap or mapping that starts on a random page, so its size differs
 * between native runs. 200000 bytes is past the pinned threshold (main),
 * so mmapped, and a mapping starts on a page. */
static void alignments(void)
{
    static const char *const names[] = {"posix_memalign", "aligned_alloc", "memalign"};
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t align = 16; align <= 65536; align *= 2) {
        const size_t sizes[] = {1, 100, align - 1, align, align + 1, 3 * align + 5, 200000};
        for (int how = 0; how < 3; how++) {
            for (size_t k = 0; k < COUNT(sizes); k++) {
                size_t n = sizes[k];
                unsigned char *p = aligned_by(how, align, n);
                printf("align %s %zu %zu: %s\n", names[how], align, n,
                       !p ? "null" : (uintptr_t)p % align == 0 ? "aligned" : "MISALIGNED");
                if (p && align <= page)
                    printf("%salign %s %zu %zu: usable %zu\n", align > 16 && n < 128 * 1024 ? "layout " : "",
                           names[how], align, n, malloc_usable_size(p));
                if (p)
                    memset(p, 0x3c, malloc_usable_size(p));
                free(p);
            }
        }
    }
    static const size_t page_sizes[] = {0, 1, 4096, 4097, 200000};
    for (size_t k = 0; k < COUNT(page_sizes); k++) {
        void *v = valloc(page_sizes[k]), *pv = pvalloc(page_sizes[k]);
        printf("align valloc %zu: %s\n", page_sizes[k], (uintptr_t)v % page == 0 ? "page" : "NOT PAGE");
        printf("align pvalloc %zu: %s\n", page_sizes[k], (uintptr_t)pv % page == 0 ? "page" : "NOT PAGE");
        free(v);
        free(pv);
    }
}

/* -------------------------------------------------------------- contents */

static void pattern(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 31 + seed);
}

static int has_pattern(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 31 + seed))
            return 0;
    return 1;
}

static void realloc_keeps(void)
{
    static const size_t moves[][2] = {
        {1, 1000}, {13, 4097}, {24, 25}, {100, 50}, {600, 601}, {4097, 13},
        {4097, 200000}, {200000, 4097}, {200000, 3 << 20}, {3 << 20, 200000}, {3 << 20, 5 << 20},
    };
    for (size_t k = 0; k < COUNT(moves); k++) {
        size_t from = moves[k][0], to = moves[k][1], kept = from < to ? from : to;
        unsigned char *p = malloc(from);
        pattern(p, from, (unsigned)k);
        p = realloc(p, to);
        printf("realloc %zu -> %zu keeps its contents: %s\n", from, to,
               p && has_pattern(p, kept, (unsigned)k) ? "yes" : "NO");
        free(p);
        p = malloc(from);
        pattern(p, from, (unsigned)k + 1);
        p = reallocarray(p, to, 1);
        printf("reallocarray %zu -> %zu keeps its contents: %s\n", from, to,
               p && has_pattern(p, kept, (unsigned)k + 1) ? "yes" : "NO");
        free(p);
    }
}

/* Each size first dirtied and freed, so calloc gets memory that was used. */
static void calloc_zeroes(void)
{
    static const size_t sizes[] = {1, 13, 24, 100, 1000, 4097, 65536, 131072, 200000, 3 << 20};
    for (size_t k = 0; k < COUNT(sizes); k++) {
        size_t n = sizes[k];
        unsigned char *dirty = malloc(n);
        memset(dirty, 0xa5, malloc_usable_size(dirty));
        free(dirty);
        unsigned char *p = calloc(n, 1);
        size_t nonzero = 0;
        for (size_t i = 0; i < n; i++)
            nonzero += p[i] != 0;
        printf("calloc %zu: %s\n", n, nonzero ? "NOT ZEROED" : "zeroed");
        free(p);
    }
}

/* A block filled to its usable size leaves the next block alone, and glibc's
 * own checks (the neighbours' headers, when blocks are freed and reused)
 * find nothing wrong: a write past the end would abort the program. */
static void fill_to_usable(void)
{
    static const size_t sizes[] = {0, 1, 8, 24, 25, 100, 1000, 4097, 131072 - 8, 200000};
    for (size_t i = 0; i < COUNT(allocators); i++) {
        for (size_t k = 0; k < COUNT(sizes); k++) {
            size_t n = sizes[k];
            unsigned char *a = allocators[i].alloc(n);
            unsigned char *b = allocators[i].alloc(n);
            if (!a || !b) {
                printf("fill %s %zu: null\n", allocators[i].name, n);
                free(a);
                free(b);
                continue;
            }
            pattern(b, malloc_usable_size(b), 7);
            memset(a, 0x5a, malloc_usable_size(a));
            int intact = has_pattern(b, malloc_usable_size(b), 7);
            memset(b, 0x5a, malloc_usable_size(b));
            free(a);
            free(b);
            for (int round = 0; round < 4; round++) {
                unsigned char *c = allocators[i].alloc(n), *d = malloc(n);
                if (c)
                    memset(c, 0x69, malloc_usable_size(c));
                memset(d, 0x69, malloc_usable_size(d));
                free(c);
                free(d);
            }
            printf("fill %s %zu: %s\n", allocators[i].name, n, intact ? "neighbour intact" : "NEIGHBOUR CHANGED");
        }
    }
}

/* ---------------------------------------------------------- kept blocks */

/* Still reachable from here at exit; each function's blocks come from its
 * own lines, so each is its own record in the leak report. */
static void *kept[64];
static int nkept;

static void keep(void *p)
{
    kept[nkept++] = p;
}

__attribute__((noinline)) static void keep_from_malloc(void)
{
    keep(malloc(1));
    keep(malloc(13));
    keep(malloc(4097));
    keep(malloc(200000));
}

__attribute__((noinline)) static void keep_from_calloc(void)
{
    keep(calloc(1, 1));
    keep(calloc(13, 1));
    keep(calloc(17, 241));
    keep(calloc(8, 25000));
}

__attribute__((noinline)) static void keep_from_realloc(void)
{
    keep(realloc(malloc(8), 1));           /* shrinking */
    keep(realloc(malloc(8), 13));          /* growing */
    keep(realloc(malloc(100000), 4097));   /* shrinking */
    keep(realloc(malloc(4097), 200000));   /* growing, onto mmap */
}

__attribute__((noinline)) static void keep_from_reallocarray(void)
{
    keep(reallocarray(NULL, 1, 1));
    keep(reallocarray(malloc(8), 13, 1));
    keep(reallocarray(malloc(8), 17, 241));
    keep(reallocarray(malloc(300000), 8, 25000));
}

__attribute__((noinline)) static void keep_from_posix_memalign(void)
{
    void *p;
    if (posix_memalign(&p, 64, 1) == 0)
        keep(p);
    if (posix_memalign(&p, 128, 13) == 0)
        keep(p);
    if (posix_memalign(&p, 4096, 4097) == 0)
        keep(p);
    if (posix_memalign(&p, 16, 200000) == 0)
        keep(p);
}

__attribute__((noinline)) static void keep_from_aligned_alloc(void)
{
    keep(aligned_alloc(16, 1));
    keep(aligned_alloc(32, 13));
    keep(aligned_alloc(1024, 4097));
    keep(aligned_alloc(64, 200000));
}

__attribute__((noinline)) static void keep_from_memalign(void)
{
    keep(memalign(16, 1));
    keep(memalign(256, 13));
    keep(memalign(8192, 4097));
    keep(memalign(32, 200000));
}

__attribute__((noinline)) static void keep_from_valloc(void)
{
    keep(valloc(1));
    keep(valloc(13));
    keep(valloc(4097));
    keep(valloc(200000));
}

__attribute__((noinline)) static void keep_from_pvalloc(void)
{
    keep(pvalloc(1));
    keep(pvalloc(13));
    keep(pvalloc(4097));
    keep(pvalloc(200000));
}

int main(void)
{
    setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
    distances();
    heap_cost();
    usable_sizes_small(0);
    realloc_moves();
    usable_sizes_small(1);
    /* With glibc's defaults whether a large block is mmapped depends on the
     * heap's top (glibc mmaps only what the top cannot hold, and the top ends
     * on a page, so where blocks sit counts) and on the blocks freed before
     * (freeing an mmapped block raises the threshold). Pinned at its default
     * and with the top trimmed at every free, each large size falls on the
     * side of 128 KiB its own request puts it. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 0);
    mallopt(M_TOP_PAD, 0);
    malloc_trim(0);
    usable_sizes_large();
    realloc_moves_mmapped();
    alignments();
    realloc_keeps();
    calloc_zeroes();
    fill_to_usable();
    free_distances();
    keep_from_malloc();
    keep_from_calloc();
    keep_from_realloc();
    keep_from_reallocarray();
    keep_from_posix_memalign();
    keep_from_aligned_alloc();
    keep_from_memalign();
    keep_from_valloc();
    keep_from_pvalloc();
    printf("kept %d blocks\n", nkept);
    return 0;
}
