/* Allocations with known numbers, for the heaptrack views (summary's peak
 * consumers, temporary allocations, calls, sizes, lifetimes) and for
 * heaptrack_print as an oracle (test_profile). Single-threaded; prints
 * nothing until the end, so stdio's buffer comes after the peak.
 *
 * keep:   100 blocks of 1,000 bytes, kept to the end (in a global)
 * temp:   40 blocks of 64 bytes, each freed right after it is made: 40 temporary
 * burst:  10 blocks of 5,000 bytes, then freed last first: 1 temporary (the last)
 *         the peak: keep's 100,000 and burst's 50,000 bytes
 * pair:   10 and 20 bytes, freed 20 first: 1 temporary
 * twin:   two blocks of 32 bytes from one line, the first freed first: none
 *         temporary (heaptrack_print counts 1: it matches a free to the last
 *         allocation by size and stack, not by address)
 * life:   100 bytes freed after 50 ms, 200 bytes after 1.1 s: 2 temporary
 *         (nothing else happened in between, however long it took)
 *
 * Lifetimes are measured with the coarse clock (a 4 ms tick here): "under
 * 1 ms" is born and freed within one tick. So the short-lived groups start
 * just after a tick (next_tick): else a group straddling one counts some
 * blocks under 1 s (two of burst's, once in two runs of ctest -j3). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void *volatile kept[100];

__attribute__((noinline)) static void *keep(size_t n) { return malloc(n); }
__attribute__((noinline)) static void *temp(size_t n) { return malloc(n); }
__attribute__((noinline)) static void *burst(size_t n) { return malloc(n); }
__attribute__((noinline)) static void *pair(size_t n) { return malloc(n); }
__attribute__((noinline)) static void *twin(void) { return malloc(32); }
__attribute__((noinline)) static void *life(size_t n) { return malloc(n); }

static void next_tick(void)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &a);
    do
        clock_gettime(CLOCK_MONOTONIC_COARSE, &b);
    while (b.tv_sec == a.tv_sec && b.tv_nsec == a.tv_nsec);
}

int main(void)
{
    for (int i = 0; i < 100; i++)
        kept[i] = keep(1000);
    next_tick();
    for (int i = 0; i < 40; i++) {
        char *p = temp(64);
        p[0] = 1;
        free(p);
    }
    void *b[10];
    next_tick();
    for (int i = 0; i < 10; i++)
        b[i] = burst(5000);
    for (int i = 9; i >= 0; i--)
        free(b[i]);
    next_tick();
    void *x = pair(10), *y = pair(20);
    free(y);
    free(x);
    void *t[2];
    for (int i = 0; i < 2; i++)
        t[i] = twin();
    free(t[0]);
    free(t[1]);
    void *s = life(100);
    usleep(50 * 1000);
    free(s);
    void *l = life(200);
    usleep(1100 * 1000);
    free(l);
    printf("done\n");
    return 0;
}
