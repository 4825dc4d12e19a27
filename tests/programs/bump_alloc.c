/* A program with an allocator of its own: malloc, free, calloc and realloc
 * defined here (a bump allocator over a static arena), as rustc's jemalloc
 * and Chromium's PartitionAlloc are. Every malloc call in the process binds
 * to these, before any preloaded library's. */
#include <stdio.h>
#include <string.h>

static _Alignas(16) char arena[1 << 20];
static size_t used;

void *malloc(size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need > sizeof arena - used)
        return NULL;
    void *p = arena + used;
    used += need;
    return p;
}

void free(void *p) { (void)p; }

void *calloc(size_t n, size_t size)
{
    return n && size > sizeof arena / n ? NULL : malloc(n * size); /* the arena starts zeroed, never reused */
}

void *realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (q && p)
        memcpy(q, p, n); /* the old block is at most n bytes before the arena's end */
    return q;
}

int main(void)
{
    char *s = malloc(32);
    strcpy(s, "bump");
    printf("%s %d\n", s, used >= 32);
    return 0;
}
