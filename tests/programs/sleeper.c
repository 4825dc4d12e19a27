/* Allocates 1000 blocks of 100 bytes, says so, then waits to be killed:
 * idle, or with "tick", allocating and freeing a block every 10 ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile keep[1000];

int main(int argc, char **argv)
{
    for (int i = 0; i < 1000; i++)
        keep[i] = malloc(100);
    printf("ready\n");
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "tick") == 0)
        for (;;) {
            free(malloc(64));
            usleep(10000);
        }
    for (;;)
        pause();
}
