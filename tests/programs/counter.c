/* Allocates without end (keeping every eighth block, freeing the rest) and
 * writes how many allocations it has made to stdout after every 100, with
 * write(2): a count read from the pipe was made before it was written. For
 * the kill test (test_kill). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile kept[1 << 16];

int main(void)
{
    unsigned long made = 0;
    for (;;) {
        for (int i = 0; i < 100; i++) {
            void *p = malloc(16 + made % 200);
            made++;
            if (made % 8 == 0)
                kept[(made / 8) % (1 << 16)] = p;
            else
                free(p);
        }
        char line[32];
        int n = snprintf(line, sizeof line, "%lu\n", made);
        if (write(STDOUT_FILENO, line, (size_t)n) != n)
            return 1;
    }
}
