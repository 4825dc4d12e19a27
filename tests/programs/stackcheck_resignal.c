/* Allocates from a signal handler through a library, unloads it, loads the
 * other build of it (libstackcheck_frame_16.so, _80.so: the same code at the
 * same offsets, other frame sizes), usually at the same address, and again,
 * four times. A handler's stack has a signal frame, which the tracer hands
 * to libunwind: libunwind's own cache of frames, which nothing empties at a
 * dlclose, once gave the old library's frame to the new one's return
 * address. Each block's size is its own (3000 and up); prints "base LIB
 * ADDRESS" per load and "block SIZE LIB" per block.
 * Usage: stackcheck_resignal DIR */
#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

static void *volatile kept[64];
static volatile unsigned n_kept;
static void (*plug_call)(size_t, void (*)(size_t));

NOINLINE static void keep(size_t n)
{
    kept[n_kept++] = malloc(n);
    __asm__ volatile("" ::: "memory");
}

static volatile size_t next_size = 3000;

static void on_signal(int sig)
{
    (void)sig;
    plug_call(next_size++, keep);
}

/* Many distinct stacks first, so that the tracer's tables have grown before
 * the first unload and the next library can take the unloaded one's place. */
NOINLINE static void warm(int depth)
{
    if (depth > 0)
        warm(depth - 1);
    free(malloc(16));
    __asm__ volatile("" ::: "memory");
}

static int through(const char *dir, const char *lib)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/libstackcheck_frame_%s.so", dir, lib);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    struct link_map *lm = NULL;
    if (!h || !(plug_call = (void (*)(size_t, void (*)(size_t)))dlsym(h, "plug_call")) ||
        dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0) {
        fprintf(stderr, "%s: %s\n", path, dlerror());
        return -1;
    }
    printf("base %s %lx\n", lib, (unsigned long)lm->l_addr);
    for (int i = 0; i < 4; i++) {
        printf("block %zu %s\n", next_size, lib);
        raise(SIGUSR1);
    }
    return dlclose(h);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    signal(SIGUSR1, on_signal);
    for (int i = 0; i < 200; i++)
        warm(i * 8);
    for (int round = 0; round < 4; round++)
        if (through(argv[1], round % 2 ? "80" : "16") != 0)
            return 1;
    return 0;
}
