/* Loads libstackcheck_fp.so, allocates through it, unloads it, then loads
 * libstackcheck_nofp.so (usually at the same address: other code, other
 * unwind rules) and allocates through that: 777 bytes from the first, 778
 * from the second. Prints each library's load address on a line "base X",
 * then each stack libunwind saw, one return address per line, "--" after
 * each. A tracer that kept unwind rules across dlclose records wrong stacks
 * for the second. Usage: stackcheck_reload DIR (where the libraries are) */
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>

static void *volatile sink[2];

/* Many distinct stacks, so that the tracer has grown its tables before the
 * first library is unloaded: its own mappings would otherwise take the
 * library's place, and the second library would load elsewhere. */
__attribute__((noinline)) static void warm(int depth)
{
    if (depth > 0)
        warm(depth - 1);
    sink[0] = malloc(16); /* through a volatile: the compiler may not drop the pair */
    free(sink[0]);
    __asm__ volatile("" ::: "memory");
}

static int run(const char *dir, const char *variant, size_t size, int slot)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/libstackcheck_%s.so", dir, variant);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return -1;
    }
    void *(*middle)(size_t, int) = (void *(*)(size_t, int))dlsym(h, "lib_middle");
    void *(*seen)[256] = dlsym(h, "stack_seen");
    int *seen_n = dlsym(h, "stack_seen_n");
    struct link_map *lm = NULL;
    if (!middle || !seen || !seen_n || dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0)
        return -1;
    sink[slot] = middle(size, 3);
    int site = (int)(size - 777);
    printf("base %lx\n", (unsigned long)lm->l_addr);
    for (int i = 0; i < seen_n[site]; i++)
        printf("%p\n", seen[site][i]);
    printf("--\n");
    return dlclose(h);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    for (int i = 0; i < 200; i++)
        warm(i * 8); /* allocations at every depth: 1600 stacks */
    return run(argv[1], "fp", 777, 0) || run(argv[1], "nofp", 778, 1);
}
