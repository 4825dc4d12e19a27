/*
 * Heap-graph facts with known answers, one mode per fact:
 *   chain   g_head -> Holder(+16) -> Link(+8) -> Target: a chain of 3 blocks from a global
 *   diff    snapshots "one" and "two": +5 Apple (32 B), +3 Pear (64 B), -2 Plum (48 B)
 *   alias   a Shared block held by g_a, g_b and offset 8 of a Holder; 3 equal 40-byte blocks
 *   ignore  an hs_ignore'd holder keeps its child reachable and is not reported
 *   thread  a block held only by a thread that is still running at exit
 *   guard   a block made unreadable (PROT_NONE) before exit: the scan skips it
 * Blocks are zeroed (calloc) so that no stale pointer hides in them.
 */
#include <heapscope/heapscope.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *z(size_t n) { return calloc(1, n); }

void *g_head, *g_a, *g_b, *g_keep[8];

static void chain(void)
{
    char *holder = z(32), *link = z(24), *target = z(40);
    hs_tag(holder, "Holder");
    hs_tag(link, "Link");
    hs_tag(target, "Target");
    memcpy(holder + 16, &link, sizeof link);
    memcpy(link + 8, &target, sizeof target);
    g_head = holder;
}

static void diff(void)
{
    void *plum[4];
    for (int i = 0; i < 4; i++) {
        plum[i] = z(48);
        hs_tag(plum[i], "Plum");
        g_keep[i] = plum[i];
    }
    hs_snapshot("one");
    void **fruit = z(8 * sizeof *fruit);
    g_head = fruit;
    for (int i = 0; i < 5; i++) {
        fruit[i] = z(32);
        hs_tag(fruit[i], "Apple");
    }
    for (int i = 0; i < 3; i++) {
        g_keep[4 + i] = z(64);
        hs_tag(g_keep[4 + i], "Pear");
    }
    for (int i = 0; i < 2; i++) {
        free(g_keep[i]);
        g_keep[i] = NULL;
    }
    hs_snapshot("two");
}

static void alias(void)
{
    char *shared = z(16), *holder = z(32);
    hs_tag(shared, "Shared");
    hs_tag(holder, "Holder");
    memcpy(holder + 8, &shared, sizeof shared);
    g_a = shared;
    g_b = shared;
    g_head = holder;
    for (int i = 0; i < 4; i++) {
        char *d = z(40);
        strcpy(d, i < 3 ? "same contents" : "other contents");
        hs_tag(d, "Text");
        g_keep[i] = d;
    }
}

static void ignore(void)
{
    char *holder = z(64), *child = z(80);
    hs_tag(holder, "IgnoredHolder");
    hs_tag(child, "Child");
    memcpy(holder, &child, sizeof child);
    hs_ignore(holder); /* only this block holds holder: no other pointer to it survives */
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int started;

static void *holder_thread(void *arg)
{
    (void)arg;
    void *volatile mine = z(96); /* only on this thread's stack */
    hs_tag(mine, "ThreadHeld");
    pthread_mutex_lock(&mu);
    started = 1;
    pthread_cond_signal(&cv);
    for (;;)
        pthread_cond_wait(&cv, &mu);
    return NULL;
}

static void thread(void)
{
    pthread_t t;
    pthread_create(&t, NULL, holder_thread, NULL);
    pthread_mutex_lock(&mu);
    while (!started)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static void guard(void)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, 65536) != 0)
        exit(3);
    memset(p, 0xab, 65536);
    hs_tag(p, "Guarded");
    g_head = p;
    mprotect(p, 65536, PROT_NONE);
}

/* Overwrites the stack below main so no stale pointer survives there. */
__attribute__((noinline)) static void scrub(void)
{
    volatile char buf[16384];
    memset((char *)buf, 0, sizeof buf);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    const char *m = argv[1];
    if (!strcmp(m, "chain")) chain();
    else if (!strcmp(m, "diff")) diff();
    else if (!strcmp(m, "alias")) alias();
    else if (!strcmp(m, "ignore")) ignore();
    else if (!strcmp(m, "thread")) thread();
    else if (!strcmp(m, "guard")) guard();
    else return 2;
    scrub();
    exit(0); /* with the thread of "thread" still running */
}
