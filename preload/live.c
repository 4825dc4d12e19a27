/*
 * The table of live blocks: address -> size, stack id, type, birth time.
 *
 * 256 shards chosen by the address's hash, each an open-addressing table with
 * linear probing under its own small lock: two threads contend only when they
 * touch the same shard at the same moment. A removal shifts the entries after
 * it back (no tombstones), so a table is rebuilt only to grow: rebuilding a
 * table full of tombstones every few thousand frees, with its mmap and
 * munmap, cost TLB-shootdown interrupts and lock waits with two threads.
 * Memory comes from plat_map.
 */
#include "internal.h"

#include <string.h>

#define SHARDS 256
#define EMPTY ((uintptr_t)0)

struct shard {
    struct plat_lock lock;
    struct live_block *slots;
    size_t cap, live;
} __attribute__((aligned(64)));

static struct shard shards[SHARDS];

/* Locality without clustering: the sixteen 16-byte granules of a 256-byte
 * region (two to eight blocks as malloc hands them out one after another)
 * share a group of eight slots, and groups are scattered by a multiplicative
 * hash, so neighbouring blocks cost one cache miss between them rather than
 * one each (python3: 8% less CPU than groups of 64 bytes). Keeping whole
 * regions in order made runs of occupied slots merge and probes walk
 * thousands of slots (a quarter of a python3 run); a full scatter costs a
 * cache miss per call. The shard is chosen by 1 MiB region: threads, which
 * allocate from different arenas, rarely share one, nor its cache lines
 * (by 64 KiB region, two threads of the microbenchmark shared several, and
 * the lines bounced between their cores). */
static inline uint64_t hash_addr(uintptr_t a)
{
    uint64_t group = (uint64_t)(a >> 8) * 0x9e3779b97f4a7c15ull;
    return (group >> 20 << 3) | ((a >> 4) & 7);
}

static inline struct shard *shard_of_addr(uintptr_t a)
{
    return &shards[((uint64_t)(a >> 20) * 0x9e3779b97f4a7c15ull) >> 56];
}

/* Rebuilds the shard at twice its size (or its first). */
static int rebuild(struct shard *s)
{
    size_t cap = s->cap ? s->cap * 2 : 256;
    struct live_block *slots = plat_map(cap * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < s->cap; i++) {
        uintptr_t a = s->slots[i].addr;
        if (a == EMPTY)
            continue;
        size_t j = hash_addr(a) & (cap - 1);
        while (slots[j].addr != EMPTY)
            j = (j + 1) & (cap - 1);
        slots[j] = s->slots[i];
    }
    plat_unmap(s->slots, s->cap * sizeof *s->slots);
    __atomic_store_n(&s->slots, slots, __ATOMIC_RELAXED); /* live_prefetch reads these unlocked */
    __atomic_store_n(&s->cap, cap, __ATOMIC_RELAXED);
    return 0;
}

void live_prefetch(uintptr_t addr)
{
    /* unlocked reads: a stale answer only prefetches the wrong line */
    struct shard *s = shard_of_addr(addr);
    struct live_block *slots = __atomic_load_n(&s->slots, __ATOMIC_RELAXED);
    size_t cap = __atomic_load_n(&s->cap, __ATOMIC_RELAXED);
    if (cap)
        __builtin_prefetch(&slots[hash_addr(addr) & (cap - 1)], 1);
}

/* Address 0 marks an empty slot: no block lives there. */
static inline int storable(uintptr_t addr) { return addr != EMPTY; }

int live_insert(const struct live_block *b)
{
    if (!storable(b->addr))
        return -1;
    uint64_t h = hash_addr(b->addr);
    struct shard *s = shard_of_addr(b->addr);
    plat_lock(&s->lock);
    if ((s->live + 1) * 4 >= s->cap * 3 && rebuild(s) != 0) { /* at most 3/4 full */
        plat_unlock(&s->lock);
        return -1;
    }
    size_t mask = s->cap - 1;
    for (size_t j = h & mask;; j = (j + 1) & mask) {
        uintptr_t a = s->slots[j].addr;
        if (a == b->addr) { /* an address we missed the free of: replace */
            s->slots[j] = *b;
            break;
        }
        if (a == EMPTY) {
            s->slots[j] = *b;
            s->live++;
            break;
        }
    }
    plat_unlock(&s->lock);
    return 0;
}

/* The slot holding addr, or NULL. The shard's lock is held. */
static struct live_block *find(struct shard *s, uintptr_t addr, uint64_t h)
{
    if (!s->cap)
        return NULL;
    size_t mask = s->cap - 1;
    for (size_t j = h & mask;; j = (j + 1) & mask) {
        uintptr_t a = s->slots[j].addr;
        if (a == EMPTY)
            return NULL;
        if (a == addr)
            return &s->slots[j];
    }
}

/* addr's slot with its shard locked (*sp, to unlock), or NULL and nothing
 * locked when addr cannot be stored. */
static struct live_block *lock_and_find(uintptr_t addr, struct shard **sp)
{
    *sp = NULL;
    if (!storable(addr))
        return NULL;
    struct shard *s = *sp = shard_of_addr(addr);
    plat_lock(&s->lock);
    return find(s, addr, hash_addr(addr));
}

/* Empties slot j, moving back each later entry of its run that may live
 * there: one whose home slot is not between j and itself. */
static void erase(struct shard *s, size_t j)
{
    size_t mask = s->cap - 1;
    for (size_t k = (j + 1) & mask;; k = (k + 1) & mask) {
        uintptr_t a = s->slots[k].addr;
        if (a == EMPTY)
            break;
        size_t home = hash_addr(a) & mask;
        if (((k - home) & mask) >= ((k - j) & mask)) {
            s->slots[j] = s->slots[k];
            j = k;
        }
    }
    s->slots[j].addr = EMPTY;
}

int live_remove(uintptr_t addr, struct live_block *out)
{
    struct shard *s;
    struct live_block *b = lock_and_find(addr, &s);
    if (b) {
        *out = *b;
        erase(s, (size_t)(b - s->slots));
        s->live--;
    }
    if (s)
        plat_unlock(&s->lock);
    return b != NULL;
}

int live_update(uintptr_t addr, uint32_t type_id, uint32_t flags)
{
    struct shard *s;
    struct live_block *b = lock_and_find(addr, &s);
    if (b) {
        if (type_id)
            b->type_id = type_id;
        b->flags |= flags;
    }
    if (s)
        plat_unlock(&s->lock);
    return b != NULL;
}

void live_foreach(void (*fn)(const struct live_block *b, void *arg), void *arg)
{
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &shards[i];
        plat_lock(&s->lock);
        for (size_t j = 0; j < s->cap; j++)
            if (s->slots[j].addr != EMPTY)
                fn(&s->slots[j], arg);
        plat_unlock(&s->lock);
    }
}

void live_lock_all(void)
{
    for (int i = 0; i < SHARDS; i++)
        plat_lock(&shards[i].lock);
}

void live_unlock_all(void)
{
    for (int i = 0; i < SHARDS; i++)
        plat_unlock(&shards[i].lock);
}
