/* Leaks 1234 bytes, then execs ARGV[1] (ARGS...) in the same process. If the
 * exec fails, says so and exits 3. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *volatile sink;

int main(int argc, char **argv)
{
    sink = malloc(1234); /* LEAK-BEFORE-EXEC */
    if (argc < 2)
        return 2;
    fflush(stdout);
    execv(argv[1], argv + 1);
    perror("execv");
    sink = malloc(4321); /* LEAK-AFTER-FAILED-EXEC */
    return 3;
}
