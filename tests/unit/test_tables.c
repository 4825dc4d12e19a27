/*
 * Unit tests of the preload's two tables: the live-block table (live.c) and
 * the stack table (stack_table.c), compiled straight into this executable
 * with platform.c; and platform.c's memory for snapshots.
 *
 * Both tables are process-wide static state. Every test runs in its own
 * forked process (CK_FORK is forced in main), so each starts with empty
 * tables and a stack id counter at 1.
 */
#include "internal.h"

#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check_quiet.h"

/* ---------------------------------------------------------- live table */

#define LIVE_BASE 0x7f1200000000ull
#define LIVE_STRIDE 48u

static struct live_block live_block_of(size_t i)
{
    struct live_block b = {
        .addr = (uintptr_t)(LIVE_BASE + (uint64_t)i * LIVE_STRIDE),
        .size = (uint64_t)((i * 2654435761u) % 100000u) + 1,
        .stack_id = (uint32_t)(i % 4093u) + 1,
        .type_id = (uint32_t)((i * 131u) & 0xffffffu), /* all 24 bits */
        .flags = (uint32_t)(i % 3u),
        .birth_ns = 1000000000ull + (uint64_t)i * 3,
    };
    return b;
}

static void assert_block_eq(const struct live_block *got, const struct live_block *want,
                            const char *ctx)
{
    REQUIRE(got->addr == want->addr, "%s: addr %#" PRIxPTR ", want %#" PRIxPTR, ctx,
                  got->addr, want->addr);
    REQUIRE(got->size == want->size, "%s (addr %#" PRIxPTR "): size %" PRIu64 ", want %" PRIu64,
                  ctx, want->addr, got->size, want->size);
    REQUIRE(got->stack_id == want->stack_id,
                  "%s (addr %#" PRIxPTR "): stack_id %" PRIu32 ", want %" PRIu32, ctx, want->addr,
                  got->stack_id, want->stack_id);
    REQUIRE(got->type_id == want->type_id,
                  "%s (addr %#" PRIxPTR "): type_id %" PRIu32 ", want %" PRIu32, ctx, want->addr,
                  (uint32_t)got->type_id, (uint32_t)want->type_id);
    REQUIRE(got->flags == want->flags,
                  "%s (addr %#" PRIxPTR "): flags %" PRIu32 ", want %" PRIu32, ctx, want->addr,
                  (uint32_t)got->flags, (uint32_t)want->flags);
    REQUIRE(got->birth_ns == want->birth_ns,
                  "%s (addr %#" PRIxPTR "): birth_ns %" PRIu64 ", want %" PRIu64, ctx, want->addr,
                  got->birth_ns, want->birth_ns);
}

/* Everything live_collect hands out. */
struct collect {
    struct live_block *v;
    size_t n;
};

static int cmp_addr(const void *a, const void *b)
{
    uintptr_t x = ((const struct live_block *)a)->addr, y = ((const struct live_block *)b)->addr;
    return x < y ? -1 : x > y;
}

/* The live set, sorted by address: asked for with too little room first,
 * which must say how many there are. */
static struct collect live_snapshot(void)
{
    struct collect c = { 0 };
    size_t n = live_collect(NULL, 0);
    c.v = malloc((n + 1) * sizeof *c.v);
    if (!c.v)
        abort();
    c.n = live_collect(c.v, n + 1);
    REQUIRE(c.n == n, "live_collect: %zu blocks, then %zu", n, c.n);
    if (c.n)
        qsort(c.v, c.n, sizeof *c.v, cmp_addr);
    return c;
}

static size_t live_count(void)
{
    struct collect c = live_snapshot();
    free(c.v);
    return c.n;
}

START_TEST(test_live_200k)
{
    enum { N = 200000 };
    for (size_t i = 0; i < N; i++) {
        struct live_block b = live_block_of(i);
        REQ_EQ(live_insert(&b), 0);
    }
    REQ_EQ(live_count(), N);

    /* remove every even one: each comes back exactly as inserted */
    for (size_t i = 0; i < N; i += 2) {
        struct live_block want = live_block_of(i), out;
        memset(&out, 0, sizeof out);
        REQUIRE(live_remove(want.addr, &out) == 1, "remove of block %zu failed", i);
        assert_block_eq(&out, &want, "removed block");
    }
    /* and not twice */
    for (size_t i = 0; i < N; i += 2) {
        struct live_block out;
        REQUIRE(live_remove(live_block_of(i).addr, &out) == 0, "block %zu removed twice", i);
    }

    struct collect c = live_snapshot();
    REQ_EQ(c.n, N / 2);
    for (size_t k = 0; k < c.n; k++) {
        size_t i = 2 * k + 1; /* sorted by address: the odd ones, in order */
        struct live_block want = live_block_of(i);
        assert_block_eq(&c.v[k], &want, "live after removals");
    }
    free(c.v);
}
END_TEST

/* live_add (the hot path's insert, from scalars) records what live_insert
 * would: remove gives back each field, with no type and no flags. */
START_TEST(test_live_add)
{
    enum { N = 5000 };
    for (size_t i = 0; i < N; i++) {
        struct live_block b = live_block_of(i);
        REQ_EQ(live_add(b.addr, b.size, b.stack_id, b.birth_ns, (unsigned)(i % 64)), 0);
    }
    for (size_t i = 0; i < N; i++) {
        struct live_block want = live_block_of(i), out;
        want.type_id = 0;
        want.flags = 0;
        memset(&out, 0xff, sizeof out);
        REQUIRE(live_remove(want.addr, &out) == 1, "remove of block %zu failed", i);
        assert_block_eq(&out, &want, "added block");
        REQUIRE(out.gen == i % 64, "block %zu: gen %u, want %zu", i, (unsigned)out.gen, i % 64);
    }
    REQ_EQ(live_count(), 0);
}
END_TEST

START_TEST(test_live_replace)
{
    struct live_block a = { .addr = 0x5000, .size = 10, .stack_id = 1, .type_id = 0, .birth_ns = 1 };
    struct live_block a2 = { .addr = 0x5000, .size = 20, .stack_id = 2, .type_id = 3, .flags = 1,
                             .birth_ns = 2 };
    REQ_EQ(live_insert(&a), 0);
    REQ_EQ(live_insert(&a2), 0);
    struct collect c = live_snapshot();
    REQ_EQ(c.n, 1);
    assert_block_eq(&c.v[0], &a2, "replaced");
    free(c.v);
    struct live_block out;
    REQ_EQ(live_remove(0x5000, &out), 1);
    assert_block_eq(&out, &a2, "removed after replace");
    REQ_EQ(live_remove(0x5000, &out), 0);
    REQ_EQ(live_count(), 0);

    /* replacement where probe chains run through tombstones: insert many,
     * free half (tombstones), re-insert the rest with new values, then bring
     * the freed half back */
    enum { N = 20000 };
    for (size_t i = 0; i < N; i++) {
        struct live_block b = live_block_of(i);
        REQ_EQ(live_insert(&b), 0);
    }
    for (size_t i = 0; i < N; i += 2)
        REQ_EQ(live_remove(live_block_of(i).addr, &out), 1);
    for (size_t i = 1; i < N; i += 2) {
        struct live_block b = live_block_of(i);
        b.size += 1000000;
        b.stack_id = 77;
        REQ_EQ(live_insert(&b), 0);
    }
    c = live_snapshot();
    REQ_EQ(c.n, N / 2);
    for (size_t k = 0; k < c.n; k++) {
        struct live_block want = live_block_of(2 * k + 1);
        want.size += 1000000;
        want.stack_id = 77;
        assert_block_eq(&c.v[k], &want, "re-inserted over tombstones");
    }
    free(c.v);
    for (size_t i = 0; i < N; i += 2) {
        struct live_block b = live_block_of(i);
        REQ_EQ(live_insert(&b), 0);
    }
    c = live_snapshot();
    REQ_EQ(c.n, N);
    for (size_t i = 0; i < N; i++) {
        struct live_block want = live_block_of(i);
        if (i % 2) {
            want.size += 1000000;
            want.stack_id = 77;
        }
        assert_block_eq(&c.v[i], &want, "all back");
    }
    free(c.v);
}
END_TEST

START_TEST(test_live_remove_missing)
{
    struct live_block out;
    /* an empty table */
    REQ_EQ(live_remove(0x1000, &out), 0);
    REQ_EQ(live_remove((uintptr_t)LIVE_BASE, &out), 0);
    REQ_EQ(live_remove(UINTPTR_MAX, &out), 0);
    /* a populated one: neighbours, and addresses never inserted */
    for (size_t i = 0; i < 1000; i++) {
        struct live_block b = live_block_of(i);
        REQ_EQ(live_insert(&b), 0);
    }
    for (size_t i = 0; i < 1000; i++) {
        uintptr_t a = live_block_of(i).addr;
        REQ_EQ(live_remove(a + 16, &out), 0);
        REQ_EQ(live_remove(a - 16, &out), 0);
    }
    REQ_EQ(live_remove(live_block_of(1000).addr, &out), 0);
    REQ_EQ(live_remove(0x10, &out), 0);
    REQ_EQ(live_count(), 1000);
    /* removed, then missing */
    REQ_EQ(live_remove(live_block_of(500).addr, &out), 1);
    REQ_EQ(live_remove(live_block_of(500).addr, &out), 0);
    REQ_EQ(live_count(), 999);
}
END_TEST

START_TEST(test_live_update)
{
    enum { N = 3000 };
    for (size_t i = 0; i < N; i++) {
        struct live_block b = live_block_of(i);
        REQ_EQ(live_insert(&b), 0);
    }
    /* a type (non-zero) replaces the old one; flags are ORed in; type 0
     * leaves the type alone */
    for (size_t i = 0; i < N; i++) {
        uintptr_t a = live_block_of(i).addr;
        if (i % 4 == 0)
            REQ_EQ(live_update(a, 0xfffffe - (uint32_t)i, 0), 1);
        else if (i % 4 == 1)
            REQ_EQ(live_update(a, 0, FMT_BLOCK_IGNORED), 1);
        else if (i % 4 == 2)
            REQ_EQ(live_update(a, 5, 2), 1);
    }
    /* missing and removed addresses: 0, nothing changes */
    REQ_EQ(live_update(live_block_of(N).addr, 9, 1), 0);
    REQ_EQ(live_update(0x20, 9, 1), 0);
    struct live_block out;
    REQ_EQ(live_remove(live_block_of(7).addr, &out), 1);
    REQ_EQ(live_update(live_block_of(7).addr, 9, 1), 0);

    struct collect c = live_snapshot();
    REQ_EQ(c.n, N - 1);
    size_t k = 0;
    for (size_t i = 0; i < N; i++) {
        if (i == 7)
            continue;
        struct live_block want = live_block_of(i);
        if (i % 4 == 0)
            want.type_id = 0xfffffe - (uint32_t)i;
        else if (i % 4 == 1)
            want.flags |= FMT_BLOCK_IGNORED;
        else if (i % 4 == 2) {
            want.type_id = 5;
            want.flags |= 2;
        }
        assert_block_eq(&c.v[k++], &want, "after live_update");
    }
    free(c.v);
}
END_TEST

/* Address 0 is never live (EMPTY marks free slots with it), so removing or
 * updating it must find nothing, whatever the table holds. hash_addr(0) is 0:
 * shard 0, slot 0. */
START_TEST(test_live_null_address)
{
    enum { N = 20000 }; /* enough that shard 0 has slots */
    for (size_t i = 0; i < N; i++) {
        struct live_block b = live_block_of(i);
        REQ_EQ(live_insert(&b), 0);
    }
    struct live_block out;
    memset(&out, 0xab, sizeof out);
    REQUIRE(live_remove(0, &out) == 0,
            "live_remove(0) reports a live block (addr %#" PRIxPTR ", size %" PRIu64 ")", out.addr,
            out.size);
    REQUIRE(live_update(0, 5, FMT_BLOCK_IGNORED) == 0, "live_update(0) reports a live block");
    REQ_EQ(live_count(), N);
    /* and the table still works */
    for (size_t i = 0; i < N; i++)
        REQUIRE(live_remove(live_block_of(i).addr, &out) == 1, "block %zu lost", i);
    REQ_EQ(live_count(), 0);
}
END_TEST

/* Many rounds of fill-and-empty with fresh addresses: tombstones pile up and
 * must be swept, never making an insert or remove loop. */
START_TEST(test_live_churn)
{
    enum { ROUNDS = 60, PER = 5000 };
    struct live_block out;
    for (size_t r = 0; r < ROUNDS; r++) {
        size_t base = r * PER;
        for (size_t i = base; i < base + PER; i++) {
            struct live_block b = live_block_of(i);
            REQ_EQ(live_insert(&b), 0);
        }
        for (size_t i = base; i < base + PER; i++) {
            struct live_block want = live_block_of(i);
            REQ_EQ(live_remove(want.addr, &out), 1);
            assert_block_eq(&out, &want, "churn");
        }
        if (r % 10 == 0)
            REQ_EQ(live_count(), 0);
    }
    REQ_EQ(live_count(), 0);
    struct live_block b = live_block_of(7);
    REQ_EQ(live_insert(&b), 0);
    struct collect c = live_snapshot();
    REQ_EQ(c.n, 1);
    assert_block_eq(&c.v[0], &b, "after churn");
    free(c.v);
}
END_TEST

/* Removal shifts later entries of a probe run back: remove in a random order
 * from runs that wrap around the end of a shard's slots and mix home slots
 * (every 16-byte granule of a few regions, plus addresses 1 MiB apart that
 * share a shard and hash near each other), and after every removal batch
 * every survivor must still be found with its own values. */
START_TEST(test_live_remove_shifts)
{
    enum { N = 6000 };
    static uintptr_t addr[N];
    static uint8_t gone[N];
    for (size_t i = 0; i < N; i++)
        addr[i] = i < N / 2 ? 0x7e0000000000ull + i * 16 : 0x7e4000000000ull + (i - N / 2) * (1u << 20);
    for (size_t i = 0; i < N; i++) {
        struct live_block b = { .addr = addr[i], .size = i + 1, .stack_id = (uint32_t)i + 1, .birth_ns = i };
        REQ_EQ(live_insert(&b), 0);
    }
    uint64_t rng = 0x2545f4914f6cdd1dull;
    size_t left = N;
    struct live_block out;
    while (left) {
        for (int k = 0; k < 97 && left; k++) {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
            size_t i = rng % N;
            while (gone[i])
                i = (i + 1) % N;
            REQUIRE(live_remove(addr[i], &out) == 1, "remove of %zu failed", i);
            REQ_EQ(out.size, i + 1);
            gone[i] = 1;
            left--;
        }
        for (size_t i = 0; i < N; i++) {
            if (gone[i])
                continue;
            REQUIRE(live_update(addr[i], 0, 0) == 1, "survivor %zu lost with %zu left", i, left);
        }
        REQ_EQ(live_count(), left);
    }
}
END_TEST

/* ------------------------------------------------ live table, 4 threads */

#define NTHREADS 4
#define THREAD_BLOCKS 60000u

static pthread_barrier_t barrier;

static struct live_block thread_block(unsigned t, size_t i, int second)
{
    struct live_block b = {
        .addr = (uintptr_t)(0x100000000000ull * (t + 1) + (uint64_t)i * 16),
        .size = (uint64_t)i + 1 + (second ? 1000000u : 0),
        .stack_id = t + 1,
        .type_id = (uint32_t)(i % 5),
        .birth_ns = (uint64_t)i * 10 + t,
    };
    return b;
}

/* what stays: i%3 != 0 survive the first removal, i%6 == 0 come back (with a
 * second size), then every i%5 == 0 goes */
static int thread_final_live(size_t i) { return (i % 3 != 0 || i % 6 == 0) && i % 5 != 0; }

struct live_thread_arg {
    unsigned t;
    int failures;
};

static void *live_thread(void *p)
{
    struct live_thread_arg *a = p;
    unsigned t = a->t;
    struct live_block out;
    pthread_barrier_wait(&barrier);
    for (size_t i = 0; i < THREAD_BLOCKS; i++) {
        struct live_block b = thread_block(t, i, 0);
        a->failures += live_insert(&b) != 0;
    }
    for (size_t i = 0; i < THREAD_BLOCKS; i += 3) {
        struct live_block want = thread_block(t, i, 0);
        a->failures += live_remove(want.addr, &out) != 1 || memcmp(&out, &want, sizeof out) != 0;
    }
    for (size_t i = 0; i < THREAD_BLOCKS; i += 6) {
        struct live_block b = thread_block(t, i, 1);
        a->failures += live_insert(&b) != 0;
    }
    for (size_t i = 0; i < THREAD_BLOCKS; i += 5) {
        int was = i % 3 != 0 || i % 6 == 0;
        struct live_block want = thread_block(t, i, i % 6 == 0);
        int got = live_remove(want.addr, &out);
        a->failures += got != was || (got && memcmp(&out, &want, sizeof out) != 0);
    }
    return NULL;
}

START_TEST(test_live_threads)
{
    pthread_t th[NTHREADS];
    struct live_thread_arg args[NTHREADS];
    REQ_EQ(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
    for (unsigned t = 0; t < NTHREADS; t++) {
        args[t] = (struct live_thread_arg){ .t = t };
        REQ_EQ(pthread_create(&th[t], NULL, live_thread, &args[t]), 0);
    }
    for (unsigned t = 0; t < NTHREADS; t++) {
        REQ_EQ(pthread_join(th[t], NULL), 0);
        REQUIRE(args[t].failures == 0, "thread %u: %d wrong results", t, args[t].failures);
    }
    pthread_barrier_destroy(&barrier);

    size_t want_n = 0;
    for (size_t i = 0; i < THREAD_BLOCKS; i++)
        want_n += thread_final_live(i);
    want_n *= NTHREADS;

    struct collect c = live_snapshot();
    REQ_EQ(c.n, want_n);
    /* sorted by address: thread 0's range first, each range in order */
    size_t k = 0;
    for (unsigned t = 0; t < NTHREADS; t++)
        for (size_t i = 0; i < THREAD_BLOCKS; i++) {
            if (!thread_final_live(i))
                continue;
            struct live_block want = thread_block(t, i, i % 6 == 0);
            REQUIRE(k < c.n, "more blocks expected than found");
            assert_block_eq(&c.v[k], &want, "after threads");
            k++;
        }
    REQ_EQ(k, c.n);
    free(c.v);
}
END_TEST

/* --------------------------------------------------------- stack table */

/* Distinct stacks: frame 0 is unique to i; 1..64 frames. */
static unsigned gen_stack(size_t i, uintptr_t *f)
{
    unsigned n = 1 + (unsigned)(i * 7 % 64);
    f[0] = (uintptr_t)(0x400000 + i * 16);
    for (unsigned k = 1; k < n; k++)
        f[k] = (uintptr_t)(0x7f0000000000ull + ((i * 0x9E3779B1u + k * 0x1000193u) & 0xffffff) * 4);
    return n;
}

struct stack_seen {
    uint32_t id;
    unsigned n;
    uintptr_t frames[8];
};

struct stack_list {
    struct stack_seen *v;
    size_t n, cap;
};

static void stack_collect_cb(uint32_t id, const uintptr_t *frames, unsigned n, void *arg)
{
    struct stack_list *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            abort();
    }
    struct stack_seen *s = &l->v[l->n++];
    s->id = id;
    s->n = n;
    memset(s->frames, 0, sizeof s->frames);
    memcpy(s->frames, frames, (n < 8 ? n : 8) * sizeof *frames);
}

static int cmp_id(const void *a, const void *b)
{
    uint32_t x = ((const struct stack_seen *)a)->id, y = ((const struct stack_seen *)b)->id;
    return x < y ? -1 : x > y;
}

START_TEST(test_stack_dedup)
{
    uintptr_t a[] = { 0x401000, 0x401100, 0x401200 };
    uintptr_t a_copy[] = { 0x401000, 0x401100, 0x401200 };
    uintptr_t longer[] = { 0x401000, 0x401100, 0x401200, 0x401300 };
    uintptr_t other[] = { 0x401000, 0x401100, 0x401201 };
    uintptr_t rev[] = { 0x401200, 0x401100, 0x401000 };
    int is_new = -1;

    REQ_EQ(stack_table_intern(a, 3, &is_new), 1);
    REQ_EQ(is_new, 1);
    REQ_EQ(stack_table_intern(a_copy, 3, &is_new), 1);
    REQ_EQ(is_new, 0);
    REQ_EQ(stack_table_intern(a, 3, &is_new), 1);
    REQ_EQ(is_new, 0);
    /* same prefix, shorter and longer */
    REQ_EQ(stack_table_intern(a, 2, &is_new), 2);
    REQ_EQ(is_new, 1);
    REQ_EQ(stack_table_intern(a, 1, &is_new), 3);
    REQ_EQ(is_new, 1);
    REQ_EQ(stack_table_intern(longer, 4, &is_new), 4);
    REQ_EQ(is_new, 1);
    /* one frame different, and the same frames in another order */
    REQ_EQ(stack_table_intern(other, 3, &is_new), 5);
    REQ_EQ(is_new, 1);
    REQ_EQ(stack_table_intern(rev, 3, &is_new), 6);
    REQ_EQ(is_new, 1);
    /* all of them again: old ids, nothing new */
    REQ_EQ(stack_table_intern(a, 2, &is_new), 2);
    REQ_EQ(is_new, 0);
    REQ_EQ(stack_table_intern(a, 1, &is_new), 3);
    REQ_EQ(is_new, 0);
    REQ_EQ(stack_table_intern(longer, 4, &is_new), 4);
    REQ_EQ(is_new, 0);
    REQ_EQ(stack_table_intern(longer, 3, &is_new), 1);
    REQ_EQ(is_new, 0);
    REQ_EQ(stack_table_intern(other, 3, &is_new), 5);
    REQ_EQ(is_new, 0);
    REQ_EQ(stack_table_intern(rev, 3, &is_new), 6);
    REQ_EQ(is_new, 0);

    /* the table keeps its own copy of the frames */
    a[0] = 0xdead;
    REQ_EQ(stack_table_intern(a_copy, 3, &is_new), 1);
    REQ_EQ(is_new, 0);
    REQ_EQ(stack_table_intern(a, 3, &is_new), 7);
    REQ_EQ(is_new, 1);

    struct stack_list l = { 0 };
    stack_table_foreach(stack_collect_cb, &l);
    REQ_EQ(l.n, 7);
    qsort(l.v, l.n, sizeof *l.v, cmp_id);
    static const struct { unsigned n; uintptr_t f[4]; } want[] = {
        { 3, { 0x401000, 0x401100, 0x401200 } },
        { 2, { 0x401000, 0x401100 } },
        { 1, { 0x401000 } },
        { 4, { 0x401000, 0x401100, 0x401200, 0x401300 } },
        { 3, { 0x401000, 0x401100, 0x401201 } },
        { 3, { 0x401200, 0x401100, 0x401000 } },
        { 3, { 0xdead, 0x401100, 0x401200 } },
    };
    for (size_t i = 0; i < l.n; i++) {
        REQ_EQ(l.v[i].id, i + 1);
        REQ_EQ(l.v[i].n, want[i].n);
        REQUIRE(memcmp(l.v[i].frames, want[i].f, want[i].n * sizeof(uintptr_t)) == 0, "stack %zu: frames differ", i);
    }
    free(l.v);
}
END_TEST

/* White box: a copy of stack_table.c's hash_frames, to build stacks whose
 * hashes collide (each step is invertible in the frame, so that is easy).
 * The table promises that a collision cannot merge two stacks. If the hash
 * in stack_table.c changes, these cases stop colliding and test less, but
 * stay correct. */
static uint64_t hstep(uint64_t h, uint64_t f)
{
    h ^= f;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    return h;
}
static uint64_t h0(unsigned n) { return 0x9e3779b97f4a7c15ull ^ n; }
static uint64_t copy_hash(const uintptr_t *f, unsigned n)
{
    uint64_t h = h0(n);
    for (unsigned i = 0; i < n; i++)
        h = hstep(h, f[i]);
    return h ? h : 1;
}

START_TEST(test_stack_collisions)
{
    int is_new;
    /* same length, different frames, same hash */
    uintptr_t a[2] = { 0x401000, 0x401100 };
    uintptr_t b[2] = { 0x402000, 0 };
    b[1] = (uintptr_t)(hstep(h0(2), a[0]) ^ hstep(h0(2), b[0]) ^ a[1]);
    REQ_EQ(copy_hash(a, 2) == copy_hash(b, 2), 1);
    REQ_EQ(stack_table_intern(a, 2, &is_new), 1);
    REQ_EQ(is_new, 1);
    REQ_EQ(stack_table_intern(b, 2, &is_new), 2);
    REQ_EQ(is_new, 1);
    REQ_EQ(stack_table_intern(a, 2, &is_new), 1);
    REQ_EQ(is_new, 0);
    REQ_EQ(stack_table_intern(b, 2, &is_new), 2);
    REQ_EQ(is_new, 0);

    /* a stack and its own prefix, same hash: the longer one first ... */
    uintptr_t c[3] = { 0x403000, 0x403100, 0 };
    c[2] = (uintptr_t)(hstep(h0(2), c[0]) ^ c[1] ^ hstep(hstep(h0(3), c[0]), c[1]));
    REQ_EQ(copy_hash(c, 3) == copy_hash(c, 2), 1);
    REQ_EQ(stack_table_intern(c, 3, &is_new), 3);
    REQ_EQ(is_new, 1);
    REQ_EQ(stack_table_intern(c, 2, &is_new), 4);
    REQ_EQ(is_new, 1);
    /* ... and the shorter one first */
    uintptr_t d[3] = { 0x404000, 0x404100, 0 };
    d[2] = (uintptr_t)(hstep(h0(2), d[0]) ^ d[1] ^ hstep(hstep(h0(3), d[0]), d[1]));
    REQ_EQ(copy_hash(d, 3) == copy_hash(d, 2), 1);
    REQ_EQ(stack_table_intern(d, 2, &is_new), 5);
    REQ_EQ(is_new, 1);
    REQ_EQ(stack_table_intern(d, 3, &is_new), 6);
    REQ_EQ(is_new, 1);
    REQ_EQ(stack_table_intern(c, 3, &is_new), 3);
    REQ_EQ(stack_table_intern(c, 2, &is_new), 4);
    REQ_EQ(stack_table_intern(d, 2, &is_new), 5);
    REQ_EQ(stack_table_intern(d, 3, &is_new), 6);
    REQ_EQ(is_new, 0);

    struct stack_list l = { 0 };
    stack_table_foreach(stack_collect_cb, &l);
    REQ_EQ(l.n, 6);
    qsort(l.v, l.n, sizeof *l.v, cmp_id);
    static const unsigned want_n[] = { 2, 2, 3, 2, 2, 3 };
    const uintptr_t *want_f[] = { a, b, c, c, d, d };
    for (size_t i = 0; i < 6; i++) {
        REQ_EQ(l.v[i].id, i + 1);
        REQ_EQ(l.v[i].n, want_n[i]);
        REQUIRE(memcmp(l.v[i].frames, want_f[i], want_n[i] * sizeof(uintptr_t)) == 0,
                "stack id %zu: frames differ", i + 1);
    }
    free(l.v);
}
END_TEST

START_TEST(test_stack_dense_many)
{
    enum { N = 100000 };
    uintptr_t f[64];
    int is_new;
    for (size_t i = 0; i < N; i++) {
        unsigned n = gen_stack(i, f);
        uint32_t id = stack_table_intern(f, n, &is_new);
        REQUIRE(id == i + 1, "stack %zu: id %u, want %zu", i, id, i + 1);
        REQ_EQ(is_new, 1);
    }
    for (size_t i = N; i-- > 0;) {
        unsigned n = gen_stack(i, f);
        uint32_t id = stack_table_intern(f, n, &is_new);
        REQUIRE(id == i + 1, "stack %zu again: id %u, want %zu", i, id, i + 1);
        REQ_EQ(is_new, 0);
    }
    struct stack_list l = { 0 };
    stack_table_foreach(stack_collect_cb, &l);
    REQ_EQ(l.n, N);
    qsort(l.v, l.n, sizeof *l.v, cmp_id);
    for (size_t i = 0; i < N; i++) {
        unsigned n = gen_stack(i, f);
        REQ_EQ(l.v[i].id, i + 1);
        REQ_EQ(l.v[i].n, n);
        REQUIRE(memcmp(l.v[i].frames, f, (n < 8 ? n : 8) * sizeof *f) == 0, "stack id %zu: frames differ", i + 1);
    }
    free(l.v);
}
END_TEST

/* A stack bigger than an arena chunk (1 MiB), and the ones around it. */
START_TEST(test_stack_huge)
{
    enum { BIG = 200000 };
    uintptr_t *big = malloc(BIG * sizeof *big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = 0x500000 + i * 8;
    uintptr_t small[] = { 1, 2, 3 };
    int is_new;
    REQ_EQ(stack_table_intern(small, 3, &is_new), 1);
    REQ_EQ(stack_table_intern(big, BIG, &is_new), 2);
    REQ_EQ(is_new, 1);
    REQ_EQ(stack_table_intern(big, BIG - 1, &is_new), 3);
    REQ_EQ(is_new, 1);
    REQ_EQ(stack_table_intern(big, BIG, &is_new), 2);
    REQ_EQ(is_new, 0);
    REQ_EQ(stack_table_intern(small, 2, &is_new), 4);
    REQ_EQ(is_new, 1);
    REQ_EQ(stack_table_intern(small, 3, &is_new), 1);
    REQ_EQ(is_new, 0);
    big[BIG - 1] ^= 1;
    REQ_EQ(stack_table_intern(big, BIG, &is_new), 5);
    REQ_EQ(is_new, 1);
    free(big);
}
END_TEST

/* ----------------------------------------------- stack table, 4 threads */

#define SHARED_STACKS 20000u
#define PRIVATE_STACKS 3000u

struct stack_thread_arg {
    unsigned t;
    uint32_t shared_id[SHARED_STACKS];
    int shared_new[SHARED_STACKS];
    uint32_t private_id[PRIVATE_STACKS];
    int private_new[PRIVATE_STACKS];
};

_Static_assert(SHARED_STACKS / 6 >= PRIVATE_STACKS, "every private stack gets its turn");

static void *stack_thread(void *p)
{
    struct stack_thread_arg *a = p;
    /* each thread its own order over the shared stacks (strides are odd and
     * SHARED_STACKS is 2^5 * 5^4, so none shares a factor: a permutation) */
    static const size_t stride[NTHREADS] = { 1, 7001, 13, 19997 };
    uintptr_t f[64];
    pthread_barrier_wait(&barrier);
    for (size_t k = 0; k < SHARED_STACKS; k++) {
        size_t i = (k * stride[a->t] + a->t * 5003) % SHARED_STACKS;
        unsigned n = gen_stack(i, f);
        a->shared_id[i] = stack_table_intern(f, n, &a->shared_new[i]);
        /* a private stack after every sixth shared one */
        if (k % 6 == 5 && k / 6 < PRIVATE_STACKS) {
            size_t j = k / 6;
            n = gen_stack(1000000 + a->t * PRIVATE_STACKS + j, f);
            a->private_id[j] = stack_table_intern(f, n, &a->private_new[j]);
        }
    }
    return NULL;
}

START_TEST(test_stack_threads)
{
    static struct stack_thread_arg args[NTHREADS];
    pthread_t th[NTHREADS];
    memset(args, 0, sizeof args);
    REQ_EQ(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
    for (unsigned t = 0; t < NTHREADS; t++) {
        args[t].t = t;
        REQ_EQ(pthread_create(&th[t], NULL, stack_thread, &args[t]), 0);
    }
    for (unsigned t = 0; t < NTHREADS; t++)
        REQ_EQ(pthread_join(th[t], NULL), 0);
    pthread_barrier_destroy(&barrier);

    const size_t total = SHARED_STACKS + NTHREADS * PRIVATE_STACKS;
    /* which stack each id names; 0 = none yet */
    size_t *owner = calloc(total + 1, sizeof *owner);
    ck_assert_ptr_nonnull(owner);
    for (size_t i = 0; i < SHARED_STACKS; i++) {
        int news = 0;
        uint32_t id = args[0].shared_id[i];
        for (unsigned t = 0; t < NTHREADS; t++) {
            REQUIRE(args[t].shared_id[i] == id, "shared stack %zu: thread %u got id %u, "
                          "thread 0 got %u", i, t, args[t].shared_id[i], id);
            news += args[t].shared_new[i];
        }
        REQUIRE(news == 1, "shared stack %zu: is_new %d times", i, news);
        REQUIRE(id >= 1 && id <= total, "shared stack %zu: id %u out of 1..%zu", i, id, total);
        REQUIRE(owner[id] == 0, "id %u given to two stacks", id);
        owner[id] = i + 1;
    }
    for (unsigned t = 0; t < NTHREADS; t++)
        for (size_t j = 0; j < PRIVATE_STACKS; j++) {
            uint32_t id = args[t].private_id[j];
            REQ_EQ(args[t].private_new[j], 1);
            REQUIRE(id >= 1 && id <= total, "private stack: id %u out of 1..%zu", id, total);
            REQUIRE(owner[id] == 0, "id %u given to two stacks", id);
            owner[id] = 1000000 + t * PRIVATE_STACKS + j + 1;
        }
    /* dense: every id in 1..total is used (total ids, all distinct, in range) */
    for (size_t id = 1; id <= total; id++)
        REQUIRE(owner[id] != 0, "id %zu unused", id);

    struct stack_list l = { 0 };
    stack_table_foreach(stack_collect_cb, &l);
    REQ_EQ(l.n, total);
    qsort(l.v, l.n, sizeof *l.v, cmp_id);
    uintptr_t f[64];
    for (size_t k = 0; k < l.n; k++) {
        REQ_EQ(l.v[k].id, k + 1);
        unsigned n = gen_stack(owner[k + 1] - 1, f);
        REQ_EQ(l.v[k].n, n);
        REQUIRE(memcmp(l.v[k].frames, f, (n < 8 ? n : 8) * sizeof *f) == 0, "stack id %zu: frames differ", k + 1);
    }
    /* and a new stack after all that gets the next id */
    int is_new;
    f[0] = 0x1;
    REQ_EQ(stack_table_intern(f, 1, &is_new), total + 1);
    REQ_EQ(is_new, 1);
    free(l.v);
    free(owner);
}
END_TEST

/* ------------------------------------------------------ the tracer's memory */

/* Whether the tracer's own list holds [start, end) exactly. */
static int listed(uintptr_t start, uintptr_t end)
{
    struct plat_range r[4096];
    size_t n = plat_own_mappings(r, 4096);
    for (size_t i = 0; i < n && i < 4096; i++)
        if (r[i].start == start)
            return r[i].end == end;
    return 0;
}

/* The kB of huge pages in the mapping that holds a, from /proc/self/smaps;
 * -1 if not found. */
static long huge_kb(uintptr_t a)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int in = 0;
    long kb = -1;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            in = lo <= a && a < hi;
        else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
            break;
    }
    if (f)
        fclose(f);
    return kb;
}

/* Memory about to be written whole: from 2 MiB on, whole huge pages (the
 * request rounded up to them, aligned to them, listed so, and unmapped
 * whole by the caller's size); below, the request's pages. */
START_TEST(test_map_filled)
{
    const size_t huge = 2u << 20, size = 3 * huge / 2 + 1; /* 3 MiB and a byte: 4 MiB mapped */
    uint8_t *p = plat_map_filled(size);
    REQUIRE(p != NULL, "plat_map_filled(%zu) failed", size);
    REQ_EQ((uintptr_t)p % huge, 0);
    REQUIRE(listed((uintptr_t)p, (uintptr_t)p + 2 * huge), "not listed as [p, p + 4 MiB)");
    for (size_t i = 0; i < 2 * huge; i++)
        REQUIRE(p[i] == 0, "byte %zu is %u, not zero", i, p[i]);
    char mode[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        if (!fgets(mode, sizeof mode, f))
            mode[0] = 0;
        fclose(f);
    }
    if (strstr(mode, "[always]") || strstr(mode, "[madvise]")) /* else small pages are all there are */
        REQUIRE(huge_kb((uintptr_t)p) >= 4096, "%ld kB of huge pages, want 4096 (THP: %s)", huge_kb((uintptr_t)p),
                mode);
    plat_unmap(p, size);
    REQUIRE(!listed((uintptr_t)p, (uintptr_t)p + 2 * huge), "still listed after plat_unmap");
    unsigned char vec;
    REQUIRE(mincore(p + 2 * huge - 4096, 4096, &vec) != 0, "the rounded-up tail is still mapped");

    uint8_t *q = plat_map_filled(100000);
    REQUIRE(q != NULL, "plat_map_filled(100000) failed");
    REQUIRE(listed((uintptr_t)q, (uintptr_t)q + 102400), "a small one not listed as its request's 25 pages");
    plat_unmap(q, 100000);
    REQUIRE(!listed((uintptr_t)q, (uintptr_t)q + 102400), "a small one still listed after plat_unmap");
}
END_TEST

/* A mapping is listed as its whole pages: the rest of the last page is the
 * tracer's too, never a root of the program's (the scan read it, and
 * faulted when the writer thread unmapped it meanwhile). */
START_TEST(test_map_whole_pages)
{
    const size_t page = (size_t)getpagesize();
    uint8_t *p = plat_map(page + 1);
    REQUIRE(p != NULL, "plat_map(%zu) failed", page + 1);
    REQUIRE(listed((uintptr_t)p, (uintptr_t)p + 2 * page), "plat_map(page + 1) not listed as 2 pages");
    plat_unmap(p, page + 1);
    REQUIRE(!listed((uintptr_t)p, (uintptr_t)p + 2 * page), "still listed after plat_unmap");
    FILE *tmp = tmpfile();
    REQUIRE(tmp && ftruncate(fileno(tmp), (off_t)page) == 0, "no temporary file");
    int fd = fileno(tmp);
    uint8_t *f = plat_map_file(fd, 0, 100);
    REQUIRE(f != NULL, "plat_map_file(100) failed");
    REQUIRE(listed((uintptr_t)f, (uintptr_t)f + page), "plat_map_file(100) not listed as its page");
    plat_unmap(f, 100);
    fclose(tmp);
}
END_TEST

static Suite *tables_suite(void)
{
    Suite *s = suite_create("tables");
    TCase *live = tcase_create("live");
    tcase_set_timeout(live, 60);
    tcase_add_test(live, test_live_200k);
    tcase_add_test(live, test_live_add);
    tcase_add_test(live, test_live_replace);
    tcase_add_test(live, test_live_remove_missing);
    tcase_add_test(live, test_live_update);
    tcase_add_test(live, test_live_null_address);
    tcase_add_test(live, test_live_churn);
    tcase_add_test(live, test_live_remove_shifts);
    tcase_add_test(live, test_live_threads);
    suite_add_tcase(s, live);
    TCase *stack = tcase_create("stack");
    tcase_set_timeout(stack, 60);
    tcase_add_test(stack, test_stack_dedup);
    tcase_add_test(stack, test_stack_collisions);
    tcase_add_test(stack, test_stack_dense_many);
    tcase_add_test(stack, test_stack_huge);
    tcase_add_test(stack, test_stack_threads);
    suite_add_tcase(s, stack);
    TCase *memory = tcase_create("memory");
    tcase_add_test(memory, test_map_filled);
    tcase_add_test(memory, test_map_whole_pages);
    suite_add_tcase(s, memory);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tables_suite());
    /* the tables are static state: every test needs a fresh process */
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
