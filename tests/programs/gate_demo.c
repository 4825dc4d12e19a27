/* For the leak gate: `clean` frees everything; `leak N` leaks N blocks of
 * 100 bytes from leaky_helper; `fail N` leaks N blocks and exits 3; `libc`
 * also drops a block allocated wholly inside the C library (a thread that
 * runs strdup, its result discarded), so no frame is the program's. Built a
 * second time with -DOWN_SUPPRESSIONS, it carries LeakSanitizer's
 * __lsan_default_suppressions, suppressing leaky_helper; a third time
 * without debug info (gate_demo_nodebug). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef OWN_SUPPRESSIONS
const char *__lsan_default_suppressions(void) { return "# ours\nleak:leaky_helper\n"; }
#endif

__attribute__((noinline)) void *leaky_helper(void)
{
    return malloc(100); /* LEAK-SITE */
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int n = argc > 2 ? atoi(argv[2]) : 0;
    for (int i = 0; i < n; i++) {
        void *volatile p = leaky_helper();
        p = NULL;
        (void)p;
    }
    if (strcmp(argv[1], "libc") == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, (void *(*)(void *))strdup, "from libc") != 0 || pthread_join(t, NULL) != 0)
            return 4;
    }
    void *kept = malloc(50);
    free(kept);
    if (write(1, "done\n", 5) != 5)
        return 4;
    return strcmp(argv[1], "fail") == 0 ? 3 : 0;
}
