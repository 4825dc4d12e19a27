/* Built statically (and as static-pie): no loader runs, so nothing can be
 * preloaded into it. Leaks a block, prints a line, and exits 3 when its last
 * argument is "fail" (as a script's interpreter, its arguments are the
 * script's path and the script's own). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

int main(int argc, char **argv)
{
    sink = malloc(64);
    sink = NULL;
    printf("static hello\n");
    return strcmp(argv[argc - 1], "fail") == 0 ? 3 : 0;
}
