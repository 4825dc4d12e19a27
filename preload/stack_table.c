/*
 * Stack deduplication: frames -> a dense id (1, 2, ...). Each stack is stored
 * once, so the trace writes each stack once and events carry only its id.
 *
 * Sharded by the stack's hash, one small lock per shard, so threads meet only
 * when two of them intern stacks of the same shard at the same instant. Entries
 * are compared frame by frame, so a hash collision cannot merge two stacks.
 * Memory comes from plat_map; stacks are never removed.
 */
#include "internal.h"

#include <string.h>

#define SHARDS 64
#define ARENA_CHUNK (1u << 20)

struct entry {
    uint64_t hash;
    uint32_t id;
    uint32_t n;
    const uintptr_t *frames;
};

struct shard {
    struct plat_lock lock;
    struct entry *slots;
    size_t cap, count;
    uint8_t *arena; /* bump allocator for frame arrays */
    size_t arena_left;
};

static struct shard shards[SHARDS];
static atomic_uint next_id = 1;

uint64_t stack_hash(const uintptr_t *f, unsigned n)
{
    uint64_t h = STACK_HASH_SEED;
    for (unsigned i = n; i-- > 0;)
        h = stack_hash_step(h, f[i]);
    return stack_hash_finish(h, n);
}

static int grow(struct shard *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024;
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
    plat_unmap(s->slots, s->cap * sizeof *s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

static uintptr_t *arena_copy(struct shard *s, const uintptr_t *f, unsigned n)
{
    size_t need = (size_t)n * sizeof *f;
    if (need > s->arena_left) {
        size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        uint8_t *a = plat_map(size);
        if (!a)
            return NULL;
        s->arena = a;
        s->arena_left = size;
    }
    uintptr_t *copy = (uintptr_t *)s->arena;
    memcpy(copy, f, need);
    s->arena += need;
    s->arena_left -= need;
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
            uintptr_t *copy = arena_copy(s, frames, n);
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
