/*
 * Concept 1: identity versus equality.
 *
 * Two questions sound alike but are different:
 *
 *   - "Are these the SAME object?"  (identity: one block of memory)
 *   - "Do these objects hold the SAME VALUE?"  (equality: equal contents)
 *
 * In C, a pointer names a block of memory. Two pointers are identical when
 * they hold the same address (a == b): then there is only one block, and a
 * change made through one pointer is seen through the other. Two blocks are
 * equal when their bytes are the same (memcmp(...) == 0), even though they
 * live at different addresses: changing one leaves the other alone.
 * (Python writes these `a is b` and `a == b`; Java `a == b` and a.equals(b).)
 *
 * This program makes:
 *   - one Point block, pointed at by two globals, a and b  (identical: a == b)
 *   - a second Point c with the same contents as the first (equal, not identical)
 *   - two more Points, d and e, with the same contents again
 * and prints what it knows about them.
 *
 * What heapscope sees (run `heapscope run -- ./01_identity`, then
 * `heapscope aliases --type Point heapscope.01_identity.*.hst`):
 *   - a shared block: the first Point, with two referrers, the globals a and b;
 *   - a duplicates group: the four Points with equal contents, at four
 *     different addresses (equal, not identical).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <heapscope/heapscope.h>

/* A small value type: three coordinates and a label. */
struct Point {
    long x, y, z;
    char label[8];
};

/* The pointers live in globals so that heapscope sees them as named roots
 * ("a", "b", ...) when it scans the program's memory. */
struct Point *a, *b, *c, *d, *e;

/* A new Point with the given contents. calloc zeroes the block first, so no
 * leftover bytes make two equal Points look different. hs_tag gives the block
 * a type name that heapscope shows in its reports. */
static struct Point *new_point(long x, long y, long z, const char *label)
{
    struct Point *p = calloc(1, sizeof *p);
    p->x = x;
    p->y = y;
    p->z = z;
    strncpy(p->label, label, sizeof p->label - 1);
    hs_tag(p, "Point");
    return p;
}

static const char *yes_no(int cond) { return cond ? "yes" : "no"; }

static int equal(const struct Point *p, const struct Point *q) { return memcmp(p, q, sizeof *p) == 0; }

int main(void)
{
    /* Step 1: one block, two names. Assigning a pointer copies the address,
     * not the block: a and b now refer to the very same Point. */
    a = new_point(1, 2, 3, "origin");
    b = a;

    /* Step 2: a second block with the same contents. c is equal to a but it
     * is not a: it is another block at another address. */
    c = new_point(1, 2, 3, "origin");

    /* Step 3: two more equal blocks. */
    d = new_point(1, 2, 3, "origin");
    e = new_point(1, 2, 3, "origin");

    /* What the program itself knows. */
    printf("a is b (same address): %s\n", yes_no(a == b));
    printf("a equals b (same contents): %s\n", yes_no(equal(a, b)));
    printf("a is c: %s\n", yes_no(a == c));
    printf("a equals c: %s\n", yes_no(equal(a, c)));
    printf("c is d: %s, d is e: %s\n", yes_no(c == d), yes_no(d == e));
    printf("a, c, d, e all equal: %s\n", yes_no(equal(a, c) && equal(a, d) && equal(a, e)));

    /* Step 4: identity shows when something changes. A change made through
     * b is seen through a (one block); c, only equal, keeps its old value. */
    b->x = 10;
    printf("after b->x = 10: a->x = %ld, c->x = %ld\n", a->x, c->x);

    /* ...and put it back, so that the four Points are equal again when
     * heapscope takes its snapshot at exit. */
    b->x = 1;
    printf("after b->x = 1: a equals c again: %s\n", yes_no(equal(a, c)));

    /* The blocks stay allocated: at exit heapscope still finds them through
     * the globals a..e (they are "still reachable", not leaks). */
    return 0;
}
