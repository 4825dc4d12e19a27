/* Runs with ctor_leak_lib linked in: its constructor leaked 999 bytes
 * before main. */
#include <stdio.h>
#include <stdlib.h>

int ctor_leak_ready(void);

int main(void)
{
    printf("ready %d, started %s\n", ctor_leak_ready(), getenv("CTOR_LEAK_STARTED"));
    return 0;
}
