/*
 * Concept 9: a cache of weak references.
 *
 * A cache should make objects quick to find again, but it should not be the
 * reason they stay in memory. A weak reference gives exactly that: it lets
 * you reach an object while somebody else keeps it alive, it does not add
 * to the object's count, and once the object is freed it reads as NULL
 * (Python: weakref.WeakValueDictionary).
 *
 * The program makes two Picture objects, puts a weak reference to each into
 * a small cache, and looks them up. The counts stay at 1: the cache holds
 * no strong reference. Then it drops the only strong reference to the first
 * picture: it is freed at once, and the cache no longer finds it. Then the
 * same for the second.
 *
 * What heapscope sees (`heapscope refs`): for each Picture the events new
 * (count 1), weak_new, release (count 0), weak_clear, free, and no retain:
 * the weak reference was cleared when the object was freed, and the cache
 * never kept an object alive.
 *
 *     heapscope run -- ./09_weak_cache
 *     heapscope refs --type Picture heapscope.09_weak_cache.*.hst
 */
#include <heapscope/heapscope.h>
#include <heapscope/refcount.h>
#include <stdio.h>
#include <string.h>

/* A cached object: here just a name and some pixels. */
struct picture {
    char name[16];
    unsigned char pixels[64];
};

/* The cache: a name and a WEAK reference per entry. A global, like most
 * caches. */
#define CACHE_SIZE 2
struct cache_entry {
    char name[16];
    hs_weak *ref; /* does not keep the picture alive */
};
struct cache_entry g_cache[CACHE_SIZE];

/* The program's own strong references: the owners of the pictures. */
struct picture *g_owner[CACHE_SIZE];

static struct picture *load_picture(const char *name)
{
    struct picture *p = hs_rc_new("Picture", sizeof *p); /* count 1: the caller's */
    snprintf(p->name, sizeof p->name, "%s", name);
    memset(p->pixels, name[0], sizeof p->pixels);
    return p;
}

/* Adds a weak reference to p under its name. hs_weak_new does not touch
 * p's count. */
static void cache_put(int slot, struct picture *p)
{
    snprintf(g_cache[slot].name, sizeof g_cache[slot].name, "%s", p->name);
    g_cache[slot].ref = hs_weak_new(p);
}

/* Looks a name up: the picture while it lives, NULL once it was freed.
 * hs_weak_get does not change the count either (the pointer is borrowed:
 * fine in a single-threaded program). */
static struct picture *cache_get(const char *name)
{
    for (int i = 0; i < CACHE_SIZE; i++)
        if (g_cache[i].ref && strcmp(g_cache[i].name, name) == 0)
            return hs_weak_get(g_cache[i].ref);
    return NULL;
}

static void lookup(const char *name)
{
    struct picture *p = cache_get(name);
    if (p)
        printf("  cache: %s found, count %ld\n", name, hs_rc_count(p));
    else
        printf("  cache: %s not found (freed)\n", name);
}

int main(void)
{
    /* Step 1: load two pictures and cache them. Each count is 1 before and
     * after caching: the cache does not own them. */
    g_owner[0] = load_picture("sunset");
    g_owner[1] = load_picture("harbour");
    long before = hs_rc_count(g_owner[0]);
    cache_put(0, g_owner[0]);
    cache_put(1, g_owner[1]);
    printf("cached 2 pictures; sunset count %ld before caching, %ld after\n", before,
           hs_rc_count(g_owner[0]));
    lookup("sunset");
    lookup("harbour");

    /* Step 2: drop the only strong reference to "sunset". Its count falls to
     * 0 and it is freed now, although the cache still refers to it: the weak
     * reference is cleared instead. */
    long left = hs_rc_release(g_owner[0]);
    g_owner[0] = NULL;
    printf("dropped sunset: count %ld\n", left);
    lookup("sunset");
    lookup("harbour");

    /* Step 3: the same for "harbour". */
    left = hs_rc_release(g_owner[1]);
    g_owner[1] = NULL;
    printf("dropped harbour: count %ld\n", left);
    lookup("sunset");
    lookup("harbour");

    /* Step 4: the cache entries themselves are small handles; free them. */
    for (int i = 0; i < CACHE_SIZE; i++) {
        hs_weak_free(g_cache[i].ref);
        g_cache[i].ref = NULL;
    }
    return 0;
}
