/* Writes over its environment's strings, as setproctitle does (Chromium's
 * zygote), before anything makes the tracer open its trace. */
#include <stdlib.h>
#include <string.h>

extern char **environ;

int main(void)
{
    for (char **e = environ; *e; e++)
        memset(*e, 'x', strlen(*e));
    free(malloc(10));
    return 0;
}
