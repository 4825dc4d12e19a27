/* Allocates 1000 blocks of 100 bytes, says so, then waits to be killed. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *volatile keep[1000];

int main(void)
{
    for (int i = 0; i < 1000; i++)
        keep[i] = malloc(100);
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}
