/*
 * Concept 3: dropping a name does not destroy the object.
 *
 * A variable is a name for an object, not the object itself. Several names
 * can refer to one object (they are aliases). Then:
 *
 *   - dropping one name (Python's `del a`, or here: releasing a's reference
 *     and setting a to NULL) only removes that name; the object lives on as
 *     long as another name still refers to it;
 *   - changing the object IN PLACE (clearing a list) is seen through every
 *     name that refers to it, because there is only one object;
 *   - REBINDING a name (making it refer to another object) changes that name
 *     only; the other names keep referring to the old object.
 *
 * The program follows this Python lesson, with refcounted objects from
 * heapscope's refcount shim:
 *
 *     a = [1, 2, 3]
 *     b = a          # two names, one list      count 2
 *     del a          # b still reads [1, 2, 3]  count 1
 *     c = b          # a new alias              count 2
 *     c.clear()      # b reads [] too
 *     c = [4, 5]     # rebinding c: b still []  count 1
 *
 * What heapscope sees: after `del a` (snapshot "dropped") and at exit the
 * first list is still live, and its only referrer is the global b. Its refcount
 * history (`heapscope refs --type List`) is new 1, retain 2, release 1,
 * retain 2, release 1: each drop is a release down to 1, never a free.
 */
#include <stdio.h>
#include <string.h>

#include <heapscope/heapscope.h>
#include <heapscope/refcount.h>

/* A small list of ints. */
struct List {
    int len;
    int items[6];
};

/* The names, as globals so that heapscope can show them by name. */
struct List *a, *b, *c;

/* A new list holding n ints. hs_rc_new gives a zeroed object, count 1. */
static struct List *make_list(const int *values, int n)
{
    struct List *l = hs_rc_new("List", sizeof *l); /* NEW_LIST */
    for (int i = 0; i < n; i++)
        l->items[l->len++] = values[i];
    return l;
}

/* Prints a list like Python does: [1, 2, 3]. */
static void print_list(const char *name, const struct List *l)
{
    printf("%s reads [", name);
    for (int i = 0; i < l->len; i++)
        printf(i ? ", %d" : "%d", l->items[i]);
    printf("]\n");
}

int main(void)
{
    static const int one_two_three[] = { 1, 2, 3 }, four_five[] = { 4, 5 };

    /* a = [1, 2, 3]; b = a
     * b takes its own reference: the count says two names hold the list. */
    a = make_list(one_two_three, 3);
    b = hs_rc_retain(a); /* RETAIN_B */
    printf("a is b: %s, count %ld\n", a == b ? "yes" : "no", hs_rc_count(b));

    /* del a
     * The name a gives its reference back and is cleared. The count drops
     * to 1, not 0: b still holds the list, so it is not freed. */
    hs_rc_release(a); /* RELEASE_A */
    a = NULL;
    printf("after dropping a: count %ld\n", hs_rc_count(b));
    print_list("b", b);
    hs_snapshot("dropped"); /* heapscope: the list is live, held by b alone */

    /* c = b; c.clear()
     * Clearing through c changes the one list, so b sees it too. */
    c = hs_rc_retain(b); /* RETAIN_C */
    c->len = 0;
    memset(c->items, 0, sizeof c->items);
    printf("c is b: %s, count %ld\n", c == b ? "yes" : "no", hs_rc_count(b));
    print_list("after clearing through c, b", b);
    print_list("c", c);

    /* c = [4, 5]
     * Rebinding c: it gives back its reference to the old list and refers
     * to a new one. b is not changed: it still refers to the cleared list. */
    hs_rc_release(c); /* RELEASE_C */
    c = make_list(four_five, 2);
    printf("after rebinding c: c is b: %s\n", c == b ? "yes" : "no");
    print_list("b", b);
    print_list("c", c);
    printf("counts: b's list %ld, c's list %ld\n", hs_rc_count(b), hs_rc_count(c));
    return 0;
}
