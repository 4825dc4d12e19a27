/*
 * Concept 11: hunting a leak.
 *
 * A leak in a long-running program is usually not "lost" memory: it is
 * memory still referenced from somewhere nobody looks at any more, such as
 * a global list that only grows. Leak checkers at exit call it "still
 * reachable"; the way to find it is to compare the heap at two moments and
 * ask who holds what grew.
 *
 * The program:
 *   1. takes a baseline snapshot ("baseline");
 *   2. handles 500 requests; each one appends a LeakyItem to a global
 *      array "for later" and forgets it: the leak;
 *   3. takes a second snapshot ("leaked");
 *   4. fixes it: clears the array, freeing the items; a third snapshot
 *      ("cleared").
 *
 * The hunt with heapscope:
 *     heapscope diff  TRACE baseline leaked      LeakyItem +500, the biggest growth
 *     heapscope referrers --snapshot leaked --type LeakyItem TRACE
 *                                                who holds them: g_pending -> array -> item
 *     heapscope diff  TRACE leaked cleared       LeakyItem -500: the fix works
 */
#include <heapscope/heapscope.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUESTS 500

/* One request's data. hs_tag names the block type "LeakyItem" for heapscope:
 * `diff --by type` and `referrers --type` use that name. */
struct leaky_item {
    int id;
    char payload[60];
};

/* The leak: a global, growable array of item pointers. Items are appended
 * and never removed. Being reachable from a global, they are never "lost". */
struct leaky_item **g_pending;
size_t g_pending_count, g_pending_cap;

static void remember(struct leaky_item *item)
{
    if (g_pending_count == g_pending_cap) {
        size_t cap = g_pending_cap ? 2 * g_pending_cap : 16;
        struct leaky_item **grown = calloc(cap, sizeof *grown); /* zeroed: no stale pointers */
        if (g_pending_count)
            memcpy(grown, g_pending, g_pending_count * sizeof *grown);
        free(g_pending);
        g_pending = grown;
        g_pending_cap = cap;
    }
    g_pending[g_pending_count++] = item;
}

static void handle_request(int id)
{
    struct leaky_item *item = calloc(1, sizeof *item);
    hs_tag(item, "LeakyItem");
    item->id = id;
    snprintf(item->payload, sizeof item->payload, "request %d", id);
    remember(item); /* "for later": nobody ever reads it again */
}

static void clear_pending(void)
{
    for (size_t i = 0; i < g_pending_count; i++)
        free(g_pending[i]);
    free(g_pending);
    g_pending = NULL;
    g_pending_count = g_pending_cap = 0;
}

/* Overwrites the dead stack below main, so no stale item pointer left by
 * the functions above is taken for a reference by the tracer's scan. */
__attribute__((noinline)) static void scrub(void)
{
    volatile char buf[16384];
    memset((char *)buf, 0, sizeof buf);
}

int main(void)
{
    /* Step 1: the baseline. */
    printf("baseline: %zu pending items\n", g_pending_count);
    scrub();
    hs_snapshot("baseline");

    /* Step 2: the work that leaks. */
    for (int id = 0; id < REQUESTS; id++)
        handle_request(id);
    printf("after %d requests: %zu pending items, %zu bytes of items, array of %zu slots\n", REQUESTS,
           g_pending_count, g_pending_count * sizeof(struct leaky_item), g_pending_cap);
    scrub();
    hs_snapshot("leaked");

    /* Step 3: the fix: release what is no longer needed. */
    clear_pending();
    printf("cleared: %zu pending items\n", g_pending_count);
    scrub();
    hs_snapshot("cleared");
    return 0;
}
