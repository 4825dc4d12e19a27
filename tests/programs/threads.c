/* Four threads allocate blocks and hand them to the next thread, which frees
 * them: every block is freed by another thread than the one that made it.
 * Each thread also leaks LEAKS_PER_THREAD blocks of 4000 bytes. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 4
#define ROUNDS 20000
#define LEAKS_PER_THREAD 5
#define RING 256

struct ring {
    _Atomic(void *) slot[RING];
};
static struct ring rings[THREADS];
static void *volatile sink;
static atomic_long made, freed;

static void *worker(void *arg)
{
    long id = (long)arg;
    struct ring *mine = &rings[id], *next = &rings[(id + 1) % THREADS];
    for (int i = 0; i < ROUNDS; i++) {
        void *p = malloc(16 + (size_t)(i % 200));
        atomic_fetch_add(&made, 1);
        /* put into the next thread's ring; free what was there */
        void *old = atomic_exchange(&next->slot[i % RING], p);
        if (old) {
            free(old);
            atomic_fetch_add(&freed, 1);
        }
        void *mine_old = atomic_exchange(&mine->slot[(i * 7) % RING], NULL);
        if (mine_old) {
            free(mine_old);
            atomic_fetch_add(&freed, 1);
        }
    }
    for (int i = 0; i < LEAKS_PER_THREAD; i++)
        sink = calloc(1, 4000); /* LEAK-THREAD (zeroed: no stale pointers inside) */
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int r = 0; r < THREADS; r++)
        for (int i = 0; i < RING; i++) {
            void *p = atomic_exchange(&rings[r].slot[i], NULL);
            if (p) {
                free(p);
                atomic_fetch_add(&freed, 1);
            }
        }
    printf("made %ld freed %ld leaked %d\n", (long)made, (long)freed, THREADS * LEAKS_PER_THREAD);
    return 0;
}
