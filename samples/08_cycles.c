/*
 * Concept 8: reference cycles need a cycle collector.
 *
 * With reference counting an object is freed when its count drops to 0. Two
 * objects that hold a reference to each other keep each other's count at 1
 * or more forever, even when nothing else in the program can reach them:
 * they are garbage that reference counting alone never frees. (Python adds
 * a cycle collector for exactly this; C with refcounts has none.)
 *
 * The program makes two pairs of refcounted nodes:
 *   - a CycleNode pair, A <-> B, each retaining the other (a cycle);
 *   - a PairNode pair, C -> D, where only C retains D (no cycle).
 * Then it drops its own references to all four. C and D are freed (their
 * finalizers print so); A and B stay alive with count 1 each: the cycle.
 *
 * What heapscope sees at exit:
 *   cycles: one unreachable cycle of 2 refcounted blocks, each count (1)
 *           explained by the pointer from the other: kept alive by the
 *           cycle alone;
 *   refs:   C and D end with free events, A and B end at count 1;
 *   leaks:  the cycle is lost: one block definitely lost (the head) and
 *           one indirectly lost (reached only from the lost head).
 *
 *     heapscope run -- ./08_cycles
 *     heapscope cycles heapscope.08_cycles.*.hst
 */
#include <heapscope/refcount.h>
#include <stdio.h>

/* One node: a name and a (strong, counted) reference to another node. */
struct node {
    const char *name;
    struct node *other; /* retained: holds one count of *other */
};

static int freed; /* how many nodes' finalizers ran */

/* Runs when a node's count reaches 0, just before its memory is freed: it
 * gives back the reference the node held, like a destructor. */
static void node_finalizer(void *obj)
{
    struct node *n = obj;
    printf("  finalizer: %s is freed\n", n->name);
    freed++;
    if (n->other)
        hs_rc_release(n->other);
}

/* A new node with count 1 (the caller's reference). hs_rc_new zeroes the
 * object and tags its block with the type, so heapscope names it. */
static struct node *new_node(const char *type, const char *name)
{
    struct node *n = hs_rc_new(type, sizeof *n);
    n->name = name;
    hs_rc_set_finalizer(n, node_finalizer);
    return n;
}

/* The pointers to the nodes are globals here, so dropping a reference is
 * visible to the reader as setting the variable to NULL. */
struct node *g_a, *g_b, *g_c, *g_d;

static void make_cycle(void)
{
    g_a = new_node("CycleNode", "A");
    g_b = new_node("CycleNode", "B");
    g_a->other = hs_rc_retain(g_b); /* A -> B: B's count 2 */
    g_b->other = hs_rc_retain(g_a); /* B -> A: A's count 2 */
    printf("cycle built: A count %ld, B count %ld\n", hs_rc_count(g_a), hs_rc_count(g_b));
}

static void make_pair(void)
{
    g_c = new_node("PairNode", "C");
    g_d = new_node("PairNode", "D");
    g_c->other = hs_rc_retain(g_d); /* C -> D: D's count 2; nothing points back at C */
    printf("pair built: C count %ld, D count %ld\n", hs_rc_count(g_c), hs_rc_count(g_d));
}

int main(void)
{
    /* Step 1: build both structures. */
    make_cycle();
    make_pair();

    /* Step 2: drop the program's own references to the cycle. Each count
     * falls to 1, not 0: the other node still holds it. Nothing is freed. */
    long a = hs_rc_release(g_a);
    long b = hs_rc_release(g_b);
    g_a = g_b = NULL;
    printf("dropped A and B: counts now %ld and %ld (the cycle holds them), %d freed\n", a, b, freed);

    /* Step 3: drop the references to the pair. D first: its count falls to
     * 1 (C still holds it). Then C: its count falls to 0, C is freed, and
     * its finalizer releases D, which is freed too. */
    long d = hs_rc_release(g_d);
    g_d = NULL;
    printf("dropped D: count now %ld (C holds it)\n", d);
    long c = hs_rc_release(g_c);
    g_c = NULL;
    printf("dropped C: count now %ld, %d freed in all\n", c, freed);

    /* Step 4: the program can no longer reach A or B, yet they were never
     * freed: a leak that only a cycle collector (or a weak reference, see
     * sample 10) would prevent. */
    printf("the A <-> B cycle is unreachable and still allocated\n");
    return 0;
}
