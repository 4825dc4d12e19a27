/*
 * Type tag names -> dense ids, so blocks and events carry a small number and
 * each name is written to the trace once. Tags are set far less often than
 * blocks are allocated, so one lock is enough; the name is copied, since the
 * caller's string need not outlive the call.
 */
#include "internal.h"

#include <string.h>

#define TYPES_MAX ((1u << 22) - 1)
#define NAME_MAX_LEN 255

struct type_entry {
    uint64_t hash;
    uint32_t id;
    char *name;
};

static struct plat_lock lock;
static struct type_entry *slots;
static size_t cap, count;
static char *arena;
static size_t arena_left;
static uint32_t next_id = 1;

static uint64_t hash_name(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h ? h : 1;
}

static int grow(void)
{
    size_t ncap = cap ? cap * 2 : 256;
    struct type_entry *n = plat_map(ncap * sizeof *n);
    if (!n)
        return -1;
    for (size_t i = 0; i < cap; i++)
        if (slots[i].hash) {
            size_t j = slots[i].hash & (ncap - 1);
            while (n[j].hash)
                j = (j + 1) & (ncap - 1);
            n[j] = slots[i];
        }
    plat_unmap(slots, cap * sizeof *slots);
    slots = n;
    cap = ncap;
    return 0;
}

static char *copy_name(const char *name, size_t n)
{
    if (n + 1 > arena_left) {
        if (!(arena = plat_map(1u << 16)))
            return NULL;
        arena_left = 1u << 16;
    }
    char *c = arena;
    memcpy(c, name, n);
    c[n] = 0;
    arena += n + 1;
    arena_left -= n + 1;
    return c;
}

uint32_t type_table_intern(const char *name, int *is_new)
{
    size_t n = strnlen(name, NAME_MAX_LEN);
    uint64_t h = hash_name(name, n);
    uint32_t id = 0;
    *is_new = 0;
    plat_lock(&lock);
    if ((count + 1) * 2 > cap && grow() != 0)
        goto out;
    for (size_t j = h & (cap - 1);; j = (j + 1) & (cap - 1)) {
        struct type_entry *e = &slots[j];
        if (e->hash == h && strncmp(e->name, name, n) == 0 && e->name[n] == 0) {
            id = e->id;
            break;
        }
        if (!e->hash) {
            if (next_id > TYPES_MAX || !(e->name = copy_name(name, n)))
                break;
            e->hash = h;
            id = e->id = next_id++;
            count++;
            *is_new = 1;
            break;
        }
    }
out:
    plat_unlock(&lock);
    return id;
}

void type_table_foreach(void (*fn)(uint32_t id, const char *name, void *arg), void *arg)
{
    for (size_t i = 0; i < cap; i++)
        if (slots[i].hash)
            fn(slots[i].id, slots[i].name, arg);
}

void type_table_lock(void) { plat_lock(&lock); }
void type_table_unlock(void) { plat_unlock(&lock); }
