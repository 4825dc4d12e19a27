/*
 * A program that keeps its pointers in memory it maps itself, as pool and
 * region allocators (and CPython's pymalloc) do. For the valgrind oracle
 * (tests/integration/test_valgrind_oracle.py).
 *
 * Ten records are malloc'd; the only pointer to each is in a slot of an
 * arena the program maps with mmap(MAP_PRIVATE | MAP_ANONYMOUS). Then one
 * record (77 bytes) is dropped for real: its slot is cleared, nothing freed.
 *
 * What is left at exit, by design: the 9 records still in the arena, 80 bytes
 * each, still reachable (720 bytes in 9 blocks); the dropped record,
 * definitely lost (77 bytes in 1 block). Nothing indirectly or possibly lost.
 *
 * No stdio (its buffer is freed by valgrind's __libc_freeres before it
 * looks); the stack is overwritten before exit so that no stale pointer to
 * the dropped record is left.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NOINLINE __attribute__((noinline))
#define RECORDS 10
#define DROPPED 3

struct arena {
    size_t used;
    void *slot[RECORDS];
};

static struct arena *g_arena; /* the mapping is not a heap block */

NOINLINE static void fill(void)
{
    void *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        abort();
    g_arena = m;
    for (int i = 0; i < RECORDS; i++) {
        size_t size = i == DROPPED ? 77 : 80;
        char *r = malloc(size);
        if (!r)
            abort();
        memset(r, 'a' + i, size);
        g_arena->slot[g_arena->used++] = r;
    }
}

NOINLINE static void drop(void)
{
    g_arena->slot[DROPPED] = NULL; /* the 77-byte record is lost */
}

NOINLINE static void scrub_stack(void)
{
    volatile char buf[64 * 1024];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = 0;
}

int main(void)
{
    fill();
    drop();
    scrub_stack();
    return 0;
}
