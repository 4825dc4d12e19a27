/* Looks like a CPython of a version heapscope does not know (3.15): it
 * exports PyType_Type and Py_Version. heapscope must say so in one line and
 * trace it as any C program: its leaked 100 bytes are definitely lost. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((visibility("default"))) const unsigned long Py_Version = 0x030f00f0;
__attribute__((visibility("default"))) char PyType_Type[408];

int main(void)
{
    char *volatile p = malloc(100);
    printf("%d\n", p != NULL);
    p = NULL;
    return 0;
}
