/* Built without frame pointers; calls through libstackcheck.so, which records
 * libunwind's view of the stack at the allocation of a 777-byte block. Prints
 * that stack, one return address per line. */
#include <stdio.h>
#include <stdlib.h>

extern void *stack_seen[];
extern int stack_seen_n;
void *lib_middle(size_t n, int depth);

static void *volatile sink;

__attribute__((noinline)) static void *exe_level(int depth)
{
    void *p = depth > 0 ? exe_level(depth - 1) : lib_middle(777, 3);
    __asm__ volatile("" ::: "memory");
    return p;
}

int main(void)
{
    sink = exe_level(4);
    for (int i = 0; i < stack_seen_n; i++)
        printf("%p\n", stack_seen[i]);
    return 0;
}
