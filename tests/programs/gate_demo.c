/* For the leak gate: `clean` frees everything; `leak N` leaks N blocks of
 * 100 bytes from leaky_helper; `fail N` leaks N blocks and exits 3. Built a
 * second time with -DOWN_SUPPRESSIONS, it carries LeakSanitizer's
 * __lsan_default_suppressions, suppressing leaky_helper. */
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
    void *kept = malloc(50);
    free(kept);
    if (write(1, "done\n", 5) != 5)
        return 4;
    return strcmp(argv[1], "fail") == 0 ? 3 : 0;
}
