/* Built without frame pointers (or with them) into libstackcheck.so: captures
 * its own stack with libunwind's unw_backtrace right before the malloc the
 * tracer records. Each call site has its own size (777, 778, ...) and its own
 * slot in stack_seen. */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SITES 4
void *stack_seen[SITES][256];
int stack_seen_n[SITES];

static int in_this_lib(void *addr)
{
    Dl_info info;
    return dladdr(addr, &info) && info.dli_fname && strstr(info.dli_fname, "libstackcheck_");
}

__attribute__((noinline)) void *lib_alloc(size_t n)
{
    void *raw[256];
    int k = unw_backtrace(raw, 256);
    int skip = 0, site = (int)(n - 777);
    while (skip < k && !in_this_lib(raw[skip])) /* libunwind's own frames */
        skip++;
    stack_seen_n[site] = 0;
    for (int i = skip; i < k; i++)
        stack_seen[site][stack_seen_n[site]++] = raw[i];
    void *p = malloc(n);
    __asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
    return p;
}

__attribute__((noinline)) void *lib_middle(size_t n, int depth)
{
    void *p = depth > 0 ? lib_middle(n, depth - 1) : lib_alloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
