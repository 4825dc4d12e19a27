/* Built without frame pointers (or with them): C++ exceptions thrown
 * through frames that allocate, each allocation checked against libunwind
 * (stackcheck_probe.h):
 *
 *   throw    on the way down to the throw, and right before it; after one,
 *            in the dead frames thrown past, under another function
 *   unwind   in destructors the unwinding runs (landing pads: the frames
 *            thrown past are dead stack below, the unwinder's too)
 *   catch    in catch blocks at several depths, also through a rethrow and
 *            an exception thrown and caught inside a catch block
 *   after    after catching, at other depths, through other functions
 *
 * The exception objects themselves come from __cxa_allocate_exception's
 * malloc: traced, not checked. Prints the checked blocks. */
#include "stackcheck_probe.h"

#define NOINLINE __attribute__((noinline))
/* a twin that must stay a function of its own: no identical code folding */
#define DISTINCT __attribute__((noipa))
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
/* an array the compiler must keep on the stack as written */
#define KEEP_ARRAY(a) __asm__ volatile("" : : "r"(a) : "memory")

static volatile int work;

struct Boom {
    int depth;
};

enum { LOUD = 1, THROW = 2 };

/* Allocates when destroyed (by the unwinding: thrower always throws when
 * LOUD), every third frame. */
struct Cleanup {
    int depth, how;
    ~Cleanup()
    {
        if ((how & LOUD) && depth % 3 == 0)
            probe("unwind");
    }
};

/* Down to depth AT, allocating every 4 frames (and in destructors) when
 * LOUD; at AT, allocates, then throws when THROW. */
NOINLINE static void thrower(int depth, int at, int how)
{
    Cleanup c{ depth, how };
    if ((how & LOUD) && depth % 4 == 0)
        probe("throw");
    if (depth >= at) {
        probe("throw");
        if (how & THROW)
            throw Boom{ depth };
    } else {
        thrower(depth + 1, at, how);
    }
    KEEP_FRAME();
}

/* Twins: after a throw out of thrower under one, thrower under the other
 * puts the same return addresses where the dead frames hold them. */
DISTINCT static void throw_via_a(int at, int how)
{
    work = 1;
    thrower(0, at, how);
    KEEP_FRAME();
}

DISTINCT static void throw_via_b(int at, int how)
{
    work = 2;
    thrower(0, at, how);
    KEEP_FRAME();
}

NOINLINE static void after_down(int depth)
{
    if (depth > 0)
        after_down(depth - 1);
    else
        probe("after");
    KEEP_FRAME();
}

NOINLINE static void after_other(int depth)
{
    char pad[80];
    pad[depth % 80] = 1;
    KEEP_ARRAY(pad);
    if (depth > 0)
        after_other(depth - 1);
    else
        probe("after");
    KEEP_FRAME();
}

/* Catches what it throws itself, inside a catch block. */
NOINLINE static void nested_throw(int depth)
{
    try {
        thrower(depth, depth + 3, LOUD | THROW);
    } catch (const Boom &b) {
        probe("catch");
        after_down(b.depth % 5);
    }
    KEEP_FRAME();
}

/* Passes the exception on, allocating on its way. */
NOINLINE static void relay(int depth, int at)
{
    try {
        thrower(depth, at, LOUD | THROW);
    } catch (...) {
        probe("catch");
        throw;
    }
    KEEP_FRAME();
}

NOINLINE static void catcher(int depth, int catch_at, int throw_at)
{
    if (depth < catch_at) {
        catcher(depth + 1, catch_at, throw_at);
        KEEP_FRAME();
        return;
    }
    try {
        if (throw_at % 2)
            relay(depth, throw_at);
        else
            thrower(depth, throw_at, LOUD | THROW);
    } catch (const Boom &b) {
        probe("catch");
        after_down(b.depth % 7);
        nested_throw(depth % 4);
        probe("catch");
    }
    probe("after");
    KEEP_FRAME();
}

int main()
{
    static const unsigned char at[][2] = { { 2, 10 }, { 0, 30 }, { 5, 6 }, { 12, 40 }, { 1, 2 },
                                           { 20, 21 }, { 3, 50 }, { 0, 0 }, { 7, 33 }, { 30, 31 } };
    for (unsigned i = 0; i < sizeof at / sizeof *at; i++) {
        catcher(0, at[i][0], at[i][1]);
        after_down(at[i][1] - at[i][0]);
        after_other(at[i][1] / 2);
        after_down(at[i][0]);
        try {
            relay(at[i][0], at[i][1]);
        } catch (const Boom &b) {
            after_other(b.depth % 9);
        }
        /* quiet but for the throw's own allocations; the first one after
         * the catch is in the dead frames, under the other twin */
        try {
            (i % 2 ? throw_via_b : throw_via_a)(at[i][1], THROW);
        } catch (const Boom &) {
        }
        (i % 2 ? throw_via_a : throw_via_b)(at[i][1] > 3 ? at[i][1] - 3 : 0, 0);
        work = (int)i;
    }
    return probe_print() ? 1 : 0;
}
