/* Uses the client API: type tags, named snapshots, an ignored block. Runs
 * the same with or without the preload. */
#include <heapscope/heapscope.h>
#include <stdio.h>
#include <stdlib.h>

struct node { struct node *next; int value; };

static struct node *volatile head;
static void *volatile sink;

int main(void)
{
    hs_snapshot("start");
    for (int i = 0; i < 10; i++) {
        struct node *n = malloc(sizeof *n); /* LEAK-NODE */
        hs_tag(n, "Node");
        n->next = head;
        n->value = i;
        head = n;
    }
    hs_snapshot("built");
    char *cache = malloc(5000); /* IGNORED */
    hs_ignore(cache);
    sink = cache;
    char *buf = malloc(300); /* LEAK-BUF */
    hs_tag(buf, "Buffer");
    sink = buf;
    printf("sum %d\n", head->value + head->next->value);
    return 0;
}
