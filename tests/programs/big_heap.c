/* A heap of COUNT (default 1,000,000) blocks of 256 bytes, 256 MiB, each
 * pointing at the next: a long list held by a global. Half of the list is
 * then cut off and lost. */
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    char pad[248];
};

struct node *g_list;

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 1000000;
    struct node *prev = NULL, *mid = NULL;
    for (long i = 0; i < count; i++) {
        struct node *n = malloc(sizeof *n);
        memset(n->pad, (int)(i & 0x7f), sizeof n->pad);
        n->next = prev;
        prev = n;
        if (i == count / 2)
            mid = n;
    }
    g_list = prev;
    mid->next = NULL; /* the older half is lost: one definite, the rest indirect */
    prev = mid = NULL;
    return 0;
}
