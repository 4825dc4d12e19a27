/* THREADS threads, each making and freeing PAIRS small blocks as fast as it
 * can (16 live at a time): more threads than CPUs fill the tracer's buffers
 * faster than its writer empties them. Usage: storm THREADS PAIRS */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static long pairs;

static void *worker(void *arg)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
    void *keep[16] = { 0 };
    for (long i = 0; i < pairs; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        char *p = malloc(16 + (rng & 255));
        p[0] = 1;
        free(keep[i & 15]);
        keep[i & 15] = p;
    }
    for (int k = 0; k < 16; k++)
        free(keep[k]);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 8;
    pairs = argc > 2 ? atol(argv[2]) : 1000000;
    pthread_t t[64];
    if (threads < 1 || threads > 64)
        return 2;
    for (long i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
            return 1;
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    printf("%d threads, %ld pairs each\n", threads, pairs);
    return 0;
}
