/*
 * Threads still running at exit, never joined, whose blocks are held only in
 * their stack locals and in __thread variables; and threads that were
 * created and joined, whose stacks glibc keeps for reuse (each with its
 * DTV, a block glibc allocated). For the valgrind oracle
 * (tests/integration/test_valgrind_oracle.py).
 *
 * Four threads stay alive (blocked in pause()) when main returns:
 *   2 "stack" threads: a 111-byte block in a volatile stack local; a 32-byte
 *     node in another, pointing at a 48-byte child. Before that each calls
 *     drop() (a kilobyte down, through drop_deep), which mallocs 55 bytes,
 *     stores the pointer all over a large frame and returns: the pointer is left only in the unused part of the
 *     stack, below the stack pointer, which is not a root.
 *   2 "tls" threads: a 222-byte block in a __thread variable, and a 64-byte
 *     block in another __thread variable, pointing at a 16-byte child.
 * Then three threads are created, each mallocs and frees 100 bytes, and all
 * three are joined (they run at the same time, so glibc caches three stacks).
 *
 * What is left at exit, by design:
 *   still reachable: 2 * (111 + 32 + 48) + 2 * (222 + 64 + 16) = 986 bytes
 *     in 12 blocks
 *   definitely lost: the two 55-byte blocks of drop(), 110 bytes in 2 blocks
 *   nothing indirectly lost
 *   glibc's blocks: the DTV of each of the four live threads (pointed at 16
 *     bytes in, from the thread's TCB: possibly lost unless the tracer knows
 *     glibc's layout), and the DTVs of the three joined threads in glibc's
 *     stack cache (freed by __libc_freeres under valgrind).
 *
 * No stdio (its buffer is freed by valgrind's __libc_freeres before it
 * looks).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define LIVE_STACK 2
#define LIVE_TLS 2
#define JOINED 3

struct node {
    struct node *next;
    long pad[3];
};

static __thread char *t_block;
static __thread struct node *t_node;
static sem_t g_ready;
static pthread_barrier_t g_joined_together;

static void *xmalloc(size_t size)
{
    void *p = calloc(1, size);
    if (!p)
        abort();
    return p;
}

NOINLINE static void drop(void)
{
    /* deeper than anything the thread calls afterwards */
    void *volatile slots[1024];
    void *p = xmalloc(55);
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        slots[i] = p;
}

/* Calls drop() a kilobyte further down the stack: its frame, its local
 * copy of the pointer included, must lie below where the frames the thread
 * calls next (sem_post, pause) will be. Slots those frames leave unwritten
 * (pause's frame has one) would otherwise still hold the pointer above the
 * stack pointer: memcheck ignores them (their bytes are undefined), a
 * conservative scan cannot tell and would see the block as reachable. */
NOINLINE static void drop_deep(void)
{
    char volatile pad[1024];
    pad[0] = 0;
    drop();
    pad[1] = pad[0];
}

NOINLINE static void *stack_thread(void *arg)
{
    (void)arg;
    drop_deep();
    char *volatile block = xmalloc(111);
    struct node *volatile node = xmalloc(32);
    node->next = xmalloc(48);
    sem_post(&g_ready);
    for (;;)
        pause();
    return (void *)block;
}

NOINLINE static void *tls_thread(void *arg)
{
    (void)arg;
    t_block = xmalloc(222);
    t_node = xmalloc(64);
    t_node->next = xmalloc(16);
    sem_post(&g_ready);
    for (;;)
        pause();
    return NULL;
}

static void *joined_thread(void *arg)
{
    (void)arg;
    char *volatile p = xmalloc(100);
    pthread_barrier_wait(&g_joined_together); /* all three stacks in use at once */
    free(p);
    return NULL;
}

int main(void)
{
    pthread_t t;
    sem_init(&g_ready, 0, 0);
    pthread_barrier_init(&g_joined_together, NULL, JOINED);
    for (int i = 0; i < LIVE_STACK; i++)
        if (pthread_create(&t, NULL, stack_thread, NULL))
            return 1;
    for (int i = 0; i < LIVE_TLS; i++)
        if (pthread_create(&t, NULL, tls_thread, NULL))
            return 1;
    for (int i = 0; i < LIVE_STACK + LIVE_TLS; i++)
        while (sem_wait(&g_ready))
            ;
    pthread_t joined[JOINED];
    for (int i = 0; i < JOINED; i++)
        if (pthread_create(&joined[i], NULL, joined_thread, NULL))
            return 1;
    for (int i = 0; i < JOINED; i++)
        pthread_join(joined[i], NULL);
    return 0;
}
