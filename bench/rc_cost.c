/* The refcount shim's cost without the tracer: a retain+release pair against
 * a plain atomic increment+decrement pair, in nanoseconds, median of 7 runs.
 * Usage: rc_cost [pairs] */
#include <heapscope/refcount.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long pairs = argc > 1 ? atol(argv[1]) : 20000000;
    void *volatile obj = hs_rc_new("Bench", 32);
    static atomic_long plain = 1;
    atomic_long *volatile counter = &plain;
    double atomic_ns[7], shim_ns[7];
    for (int run = 0; run < 7; run++) {
        double t0 = now();
        for (long i = 0; i < pairs; i++) {
            atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
            atomic_fetch_sub_explicit(counter, 1, memory_order_acq_rel);
        }
        double t1 = now();
        for (long i = 0; i < pairs; i++) {
            hs_rc_retain(obj);
            hs_rc_release(obj);
        }
        double t2 = now();
        atomic_ns[run] = (t1 - t0) / (double)pairs;
        shim_ns[run] = (t2 - t1) / (double)pairs;
    }
    qsort(atomic_ns, 7, sizeof *atomic_ns, cmp);
    qsort(shim_ns, 7, sizeof *shim_ns, cmp);
    printf("atomic inc+dec pair: %.2f ns\nhs_rc_retain+hs_rc_release pair: %.2f ns (%.1fx)\n", atomic_ns[3],
           shim_ns[3], shim_ns[3] / atomic_ns[3]);
    return hs_rc_release(obj) == 0 ? 0 : 1;
}
