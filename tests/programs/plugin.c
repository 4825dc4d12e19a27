/* A library the dlopen test loads at run time and unloads again. */
#include <stdlib.h>

static void *volatile sink;

__attribute__((noinline)) void plugin_leak(void)
{
    sink = malloc(555); /* LEAK-PLUGIN */
}
