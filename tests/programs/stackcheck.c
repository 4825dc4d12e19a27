/* Built without frame pointers (or with them); calls through
 * libstackcheck.so, which records libunwind's view of the stack at the
 * allocation of a block: 777 bytes from the main thread, 778 from a second
 * thread, 779 from a signal handler (a signal frame in between). Prints each
 * stack, one return address per line, a line "--" after each. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#define SITES 4
extern void *stack_seen[SITES][256];
extern int stack_seen_n[SITES];
void *lib_middle(size_t n, int depth);

static void *volatile sink[SITES];

__attribute__((noinline)) static void *exe_level(size_t n, int depth)
{
    void *p = depth > 0 ? exe_level(n, depth - 1) : lib_middle(n, 3);
    __asm__ volatile("" ::: "memory");
    return p;
}

static void *in_thread(void *arg)
{
    (void)arg;
    sink[1] = exe_level(778, 4);
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    sink[2] = exe_level(779, 4);
}

int main(void)
{
    sink[0] = exe_level(777, 4);
    pthread_t t;
    if (pthread_create(&t, NULL, in_thread, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 1;
    signal(SIGUSR1, on_signal);
    raise(SIGUSR1);
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < stack_seen_n[s]; i++)
            printf("%p\n", stack_seen[s][i]);
        printf("--\n");
    }
    return 0;
}
