/* Loaded by stackcheck_cases (dlopen) and unloaded again: built twice from
 * this file, as libstackcheck_plug_a_*.so and (with PLUG_B: other
 * functions, other frames) libstackcheck_plug_b_*.so, which usually loads
 * where the first was. plug_walk calls back into the program's probe from
 * inside DEPTH or more frames of its own. */
#include <stddef.h>

#define NOINLINE __attribute__((noinline))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
/* an array the compiler must keep on the stack as written */
#define KEEP_ARRAY(a) __asm__ volatile("" : : "r"(a) : "memory")

typedef void probe_fn(const char *kase);

static volatile int work;

#ifndef PLUG_B

NOINLINE static void plug_down(int depth, probe_fn *probe)
{
    if (depth > 0)
        plug_down(depth - 1, probe);
    else
        probe("dlopen");
    KEEP_FRAME();
}

void plug_walk(int depth, probe_fn *probe)
{
    plug_down(depth, probe);
    KEEP_FRAME();
}

#else

NOINLINE static void plug_odd(int depth, probe_fn *probe);

/* Two functions in turn, the one with a larger frame. */
NOINLINE static void plug_even(int depth, probe_fn *probe)
{
    char pad[96];
    pad[depth % 96] = 1;
    KEEP_ARRAY(pad);
    if (depth > 0)
        plug_odd(depth - 1, probe);
    else
        probe("dlopen");
    KEEP_FRAME();
}

NOINLINE static void plug_odd(int depth, probe_fn *probe)
{
    work = depth;
    if (depth > 0)
        plug_even(depth - 1, probe);
    else
        probe("dlopen");
    KEEP_FRAME();
}

void plug_walk(int depth, probe_fn *probe)
{
    work = -depth;
    plug_even(depth + 1, probe);
    probe("dlopen");
    KEEP_FRAME();
}

#endif
