/* Allocates through mi_malloc (libmi_stub.so, not traced) and malloc
 * (traced), and frees both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *mi_malloc(size_t n);
void mi_free(void *p);

int main(void)
{
    char *a = mi_malloc(100), *b = malloc(50);
    strcpy(a, "mi");
    strcpy(b, "malloc");
    printf("%s %s\n", a, b);
    mi_free(a);
    free(b);
    return 0;
}
