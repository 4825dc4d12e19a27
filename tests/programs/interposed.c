/* Calls every interposed allocation function once and keeps each result,
 * then checks what allocation failure returns. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void *volatile keep[16];

int main(void)
{
    int k = 0;
    keep[k++] = malloc(11);                          /* SITE-malloc */
    keep[k++] = calloc(3, 7);                        /* SITE-calloc */
    void *r = malloc(5);                             /* SITE-realloc-src */
    keep[k++] = realloc(r, 33);                      /* SITE-realloc */
    void *ra = malloc(6);                            /* SITE-reallocarray-src */
    keep[k++] = reallocarray(ra, 4, 10);             /* SITE-reallocarray */
    void *pm = NULL;
    if (posix_memalign(&pm, 64, 100) == 0)           /* SITE-posix_memalign */
        keep[k++] = pm;
    keep[k++] = aligned_alloc(128, 256);             /* SITE-aligned_alloc */
    keep[k++] = memalign(32, 77);                    /* SITE-memalign */
    keep[k++] = valloc(99);                          /* SITE-valloc */
    keep[k++] = pvalloc(123);                        /* SITE-pvalloc */
    void *f = malloc(17);                            /* freed */
    free(f);
    printf("usable %d\n", malloc_usable_size(keep[0]) >= 11);
    errno = 0;
    void *huge = malloc(SIZE_MAX - 4096);
    printf("huge %s errno %s\n", huge ? "non-null" : "null", errno == ENOMEM ? "ENOMEM" : "other");
    void *huge2 = calloc(SIZE_MAX / 2, 4);
    printf("calloc overflow %s\n", huge2 ? "non-null" : "null");
    void *rnull = realloc(keep[0], SIZE_MAX - 4096);
    printf("realloc failure %s, old block kept\n", rnull ? "non-null" : "null");
    void *z = realloc(malloc(8), 0);                 /* realloc to 0 frees */
    printf("realloc0 %s\n", z ? "non-null" : "null");
    free(z);
    printf("kept %d blocks\n", k);
    return 0;
}
