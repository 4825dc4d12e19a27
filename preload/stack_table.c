/*
 * Stack deduplication: frames -> a dense id (1, 2, ...). Each stack is stored
 * once, so the trace writes each stack once and events carry only its id.
 *
 * Sharded by the stack's hash, one small lock per shard, so threads meet only
 * when two of them intern stacks of the same shard at the same instant. Entries
 * are compared frame by frame, so a hash collision cannot merge two stacks.
 * Stacks are never removed.
 *
 * Every process pays for what the table touches first: each shard starts
 * in a small static array (64 entries, 1.5 KiB, where 1,024 in a mapping of
 * their own cost sqlite3 "select 1" 6 pages a shard), and the frames of all
 * shards share one arena (the arena's lock is taken only under a shard's).
 * Grown slot arrays and further arena chunks come from plat_map.
 */
#include "internal.h"

#include <string.h>

#define SHARDS 64
#define FIRST_CAP 64
#define ARENA_CHUNK (1u << 20)

struct entry {
    uint64_t hash;
    uint32_t id;
    uint32_t n;
    const uintptr_t *frames;
};

struct shard {
    struct plat_lock lock;
    struct entry *slots; /* first_slots[i] until it grows */
    size_t cap, count;
};

static struct shard shards[SHARDS];
static struct entry first_slots[SHARDS][FIRST_CAP];
static atomic_uint next_id = 1;

/* The frames' bump allocator, shared by the shards. */
static struct {
    struct plat_lock lock;
    uint8_t *next;
    size_t left;
} arena;

uint64_t stack_hash(const uintptr_t *f, unsigned n)
{
    uint64_t h = STACK_HASH_SEED;
    for (unsigned i = n; i-- > 0;)
        h = stack_hash_step(h, f[i]);
    return stack_hash_finish(h, n);
}

static int grow(struct shard *s)
{
    if (!s->cap) {
        s->slots = first_slots[s - shards];
        s->cap = FIRST_CAP;
        return 0;
    }
    size_t cap = s->cap * 2;
    struct entry *slots = plat_map(cap * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i].hash)
            continue;
        size_t j = s->slots[i].hash & (cap - 1);
        while (slots[j].hash)
            j = (j + 1) & (cap - 1);
        slots[j] = s->slots[i];
    }
    if (s->slots != first_slots[s - shards])
        plat_unmap(s->slots, s->cap * sizeof *s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

static uintptr_t *arena_copy(const uintptr_t *f, unsigned n)
{
    size_t need = (size_t)n * sizeof *f;
    plat_lock(&arena.lock);
    if (need > arena.left) {
        size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        uint8_t *a = plat_map(size);
        if (!a) {
            plat_unlock(&arena.lock);
            return NULL;
        }
        arena.next = a;
        arena.left = size;
    }
    uintptr_t *copy = (uintptr_t *)arena.next;
    arena.next += need;
    arena.left -= need;
    plat_unlock(&arena.lock);
    memcpy(copy, f, need);
    return copy;
}

uint32_t stack_table_intern(const uintptr_t *frames, unsigned n, int *is_new)
{
    const uintptr_t *stored;
    return n ? stack_table_intern_hashed(frames, n, stack_hash(frames, n), is_new, &stored) : (*is_new = 0, FMT_NO_STACK);
}

uint32_t stack_table_intern_hashed(const uintptr_t *frames, unsigned n, uint64_t h, int *is_new,
                                   const uintptr_t **stored)
{
    *is_new = 0;
    if (n == 0)
        return FMT_NO_STACK;
    struct shard *s = &shards[h >> 58];
    plat_lock(&s->lock);
    if (s->count * 4 >= s->cap * 3 && grow(s) != 0) {
        plat_unlock(&s->lock);
        return 0;
    }
    size_t mask = s->cap - 1;
    for (size_t j = h & mask;; j = (j + 1) & mask) {
        struct entry *e = &s->slots[j];
        if (!e->hash) {
            uintptr_t *copy = arena_copy(frames, n);
            if (!copy) {
                plat_unlock(&s->lock);
                return 0;
            }
            e->frames = copy;
            e->n = n;
            e->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
            e->hash = h;
            s->count++;
            *is_new = 1;
            *stored = copy;
            plat_unlock(&s->lock);
            return e->id;
        }
        if (e->hash == h && e->n == n && memcmp(e->frames, frames, n * sizeof *frames) == 0) {
            uint32_t id = e->id;
            *stored = e->frames;
            plat_unlock(&s->lock);
            return id;
        }
    }
}

void stack_table_foreach(void (*fn)(uint32_t id, const uintptr_t *frames, unsigned n, void *arg),
                         void *arg)
{
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &shards[i];
        plat_lock(&s->lock);
        for (size_t j = 0; j < s->cap; j++)
            if (s->slots[j].hash)
                fn(s->slots[j].id, s->slots[j].frames, s->slots[j].n, arg);
        plat_unlock(&s->lock);
    }
}

void stack_table_lock_all(void)
{
    for (int i = 0; i < SHARDS; i++)
        plat_lock(&shards[i].lock);
}

void stack_table_unlock_all(void)
{
    for (int i = 0; i < SHARDS; i++)
        plat_unlock(&shards[i].lock);
}

unsigned stack_table_get(uint32_t id, uintptr_t *out, unsigned max)
{
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &shards[i];
        plat_lock(&s->lock);
        for (size_t j = 0; j < s->cap; j++)
            if (s->slots[j].hash && s->slots[j].id == id) {
                unsigned n = s->slots[j].n < max ? s->slots[j].n : max;
                memcpy(out, s->slots[j].frames, n * sizeof *out);
                plat_unlock(&s->lock);
                return n;
            }
        plat_unlock(&s->lock);
    }
    return 0;
}
