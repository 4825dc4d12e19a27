/* The allocation microbenchmark: PAIRS malloc/free pairs per thread, of
 * mixed sizes, each from a call stack 5 to 25 frames deep (varying, so the
 * tracer sees many distinct stacks), in THREADS threads.
 * Usage: alloc_micro [threads] [pairs per thread] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define RING 1024

struct state {
    uint64_t rng;
    void *ring[RING];
    unsigned at;
    uint64_t checksum;
};

static uint64_t next(struct state *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

static size_t pick_size(struct state *s)
{
    uint64_t r = next(s) % 100;
    if (r < 60) return 16 + next(s) % 112;     /* small */
    if (r < 95) return 128 + next(s) % 1920;   /* medium */
    return 2048 + next(s) % 30000;             /* large */
}

/* One allocation at the bottom of `depth` frames; frees the block it replaces. */
__attribute__((noinline)) static void descend(struct state *s, int depth)
{
    if (depth > 0) {
        descend(s, depth - 1);
        __asm__ volatile("" ::: "memory"); /* no tail call: every frame stays */
        return;
    }
    size_t n = pick_size(s);
    char *p = malloc(n);
    p[0] = (char)n;
    s->checksum += (unsigned char)p[0];
    unsigned slot = s->at++ % RING;
    free(s->ring[slot]);
    s->ring[slot] = p;
}

struct job {
    long pairs;
    unsigned id;
    uint64_t checksum;
};

static void *run(void *arg)
{
    struct job *j = arg;
    struct state *s = calloc(1, sizeof *s);
    s->rng = 0x9e3779b97f4a7c15ull * (j->id + 1);
    for (long i = 0; i < j->pairs; i++)
        descend(s, 5 + (int)(next(s) % 21));
    for (unsigned i = 0; i < RING; i++)
        free(s->ring[i]);
    j->checksum = s->checksum;
    free(s);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    long pairs = argc > 2 ? atol(argv[2]) : 2000000;
    pthread_t t[64];
    struct job jobs[64];
    for (int i = 0; i < threads && i < 64; i++) {
        jobs[i] = (struct job){ pairs, (unsigned)i, 0 };
        pthread_create(&t[i], NULL, run, &jobs[i]);
    }
    uint64_t sum = 0;
    for (int i = 0; i < threads && i < 64; i++) {
        pthread_join(t[i], NULL);
        sum += jobs[i].checksum;
    }
    printf("%d threads x %ld pairs, checksum %llu\n", threads, pairs, (unsigned long long)sum);
    return 0;
}
