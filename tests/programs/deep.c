/* Allocates 4242 bytes (leaked) at the bottom of a recursion ARGV[1] calls
 * deep (200 by default), and 321 bytes (leaked) inside an inlined function. */
#include <stdlib.h>

static void *volatile sink;

static inline __attribute__((always_inline)) void *inner(size_t n)
{
    return malloc(n); /* LEAK-INLINE-INNER */
}

__attribute__((noinline)) void *outer(void)
{
    void *p = inner(321); /* LEAK-INLINE-CALL */
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) void *recurse(int depth)
{
    void *p = depth ? recurse(depth - 1) : malloc(4242);
    __asm__ volatile("" ::: "memory");
    return p;
}

int main(int argc, char **argv)
{
    sink = recurse(argc > 1 ? atoi(argv[1]) : 200);
    sink = outer();
    return 0;
}
