/*
 * The demo: a word counter with two classic leaks.
 *
 * It reads words into a linked list of entries, each with a copy of its word.
 * When it is done it frees the entries but forgets each entry's word (leak 1),
 * and it never frees the index it built over them (leak 2). Run it with
 *     heapscope run -- ./demo_leak
 * and `heapscope leaks` points at both lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *word;
    int count;
    struct entry *next;
};

static struct entry *find_or_add(struct entry **head, const char *word)
{
    for (struct entry *e = *head; e; e = e->next)
        if (strcmp(e->word, word) == 0)
            return e;
    struct entry *e = calloc(1, sizeof *e);
    e->word = strdup(word); /* leak 1: never freed */
    e->next = *head;
    *head = e;
    return e;
}

static struct entry **build_index(struct entry *head, int n)
{
    struct entry **index = malloc((size_t)n * sizeof *index); /* leak 2: never freed */
    for (int i = 0; head; head = head->next)
        index[i++] = head;
    return index;
}

int main(void)
{
    const char *text = "the quick brown fox jumps over the lazy dog the end";
    char buf[128];
    strcpy(buf, text);
    struct entry *head = NULL;
    int distinct = 0;
    for (char *w = strtok(buf, " "); w; w = strtok(NULL, " ")) {
        struct entry *e = find_or_add(&head, w);
        if (e->count++ == 0)
            distinct++;
    }
    struct entry **index = build_index(head, distinct);
    printf("%d words, %d distinct; most recent: %s\n", 11, distinct, index[0]->word);
    while (head) { /* frees the entries, forgets their words */
        struct entry *next = head->next;
        free(head);
        head = next;
    }
    return 0;
}
