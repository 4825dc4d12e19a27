/* A library with an allocator's API of its own beside malloc, named as
 * mimalloc's (mi_malloc, mi_free), each block its own mapping: heapscope
 * notes the API and cannot see what goes through it. */
#include <stddef.h>
#include <sys/mman.h>

void *mi_malloc(size_t n)
{
    size_t *p = mmap(NULL, n + 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    p[0] = n + 16;
    return p + 2;
}

void mi_free(void *q)
{
    if (q)
        munmap((size_t *)q - 2, ((size_t *)q)[-2]);
}
