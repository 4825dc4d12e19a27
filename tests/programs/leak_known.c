/* Leaks known blocks from known lines (marked LEAK-*), frees the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink; /* keeps the compiler from dropping allocations */

__attribute__((noinline)) static void *make_node(size_t n)
{
    return malloc(n); /* LEAK-NODE */
}

__attribute__((noinline)) static void leak_nodes(int count)
{
    for (int i = 0; i < count; i++)
        sink = make_node(48); /* LEAK-NODES-CALL */
}

int main(void)
{
    char *big = malloc(4096); /* LEAK-BIG */
    memset(big, 1, 4096);
    sink = big;
    leak_nodes(3);
    for (int i = 0; i < 100; i++) { /* allocated and freed: not reported */
        void *p = malloc((size_t)i + 1);
        sink = p;
        free(p);
    }
    sink = calloc(7, 9); /* LEAK-CALLOC */
    printf("leaked 4096+3*48+63 bytes in 5 blocks\n");
    return 0;
}
