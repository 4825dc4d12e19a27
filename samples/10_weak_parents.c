/*
 * Concept 10: weak parent pointers break the cycle.
 *
 * A tree whose nodes know their parent is full of cycles: the parent points
 * at the child, the child points back at the parent. With strong (counted)
 * parent pointers, every parent is kept alive by its children and every
 * child by its parent, so dropping the root frees nothing: the whole tree
 * leaks (see sample 8 for a cycle of two). The usual fix: the owning
 * direction (parent -> child) stays strong, the back pointer (child ->
 * parent) becomes a weak reference, which does not count. Then dropping the
 * root frees the root, which releases its children, and so on down.
 *
 * The program builds the same 7-node tree (a root, 2 children, 4
 * grandchildren) in one of two ways:
 *     ./10_weak_parents strong    child -> parent is a retained pointer
 *     ./10_weak_parents weak      child -> parent is an hs_weak reference
 * walks from a leaf up to the root, drops the root and prints what was
 * freed.
 *
 * What heapscope sees at exit:
 *   strong: `cycles` one unreachable cycle holding all 7 TreeNode objects,
 *           kept alive by the cycle alone; `leaks` 1 block definitely lost
 *           and 6 indirectly lost;
 *   weak:   no cycle and no lost block: everything was freed.
 */
#include <heapscope/heapscope.h>
#include <heapscope/refcount.h>
#include <stdio.h>
#include <string.h>

struct node {
    char name[16];
    struct node *child[2]; /* strong: a parent owns its children */
    struct node *parent;   /* strong mode: a retained pointer to the parent */
    hs_weak *parent_ref;   /* weak mode: a weak reference to the parent */
};

static int weak_mode;
static int freed; /* how many nodes' finalizers ran */

/* The program's one outside reference: the root of the tree. */
struct node *g_root;

/* Runs when a node's count reaches 0: give back what the node holds. */
static void node_finalizer(void *obj)
{
    struct node *n = obj;
    freed++;
    for (int i = 0; i < 2; i++)
        if (n->child[i])
            hs_rc_release(n->child[i]); /* a child's count may now reach 0 */
    if (n->parent_ref)
        hs_weak_free(n->parent_ref); /* a weak reference is a small handle: free it */
    /* A strong n->parent would be released here too, but in the strong
     * version this finalizer never runs: no count ever reaches 0. */
    if (n->parent)
        hs_rc_release(n->parent);
}

static struct node *new_node(const char *name, struct node *parent)
{
    struct node *n = hs_rc_new("TreeNode", sizeof *n); /* zeroed, count 1 */
    snprintf(n->name, sizeof n->name, "%s", name);
    hs_rc_set_finalizer(n, node_finalizer);
    if (parent) {
        if (weak_mode)
            n->parent_ref = hs_weak_new(parent); /* the parent's count is unchanged */
        else
            n->parent = hs_rc_retain(parent); /* the parent's count + 1: the cycle */
    }
    return n;
}

/* The parent of n, or NULL: through whichever pointer this mode uses. */
static struct node *parent_of(const struct node *n)
{
    return weak_mode ? (n->parent_ref ? hs_weak_get(n->parent_ref) : NULL) : n->parent;
}

static void build_tree(void)
{
    g_root = new_node("root", NULL);
    for (int i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "child%d", i);
        /* new_node's count of 1 is the reference the parent's slot holds */
        struct node *c = g_root->child[i] = new_node(name, g_root);
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof name, "leaf%d%d", i, k);
            c->child[k] = new_node(name, c);
        }
    }
}

/* Overwrites the dead stack below main, so no stale node pointer left by
 * the functions above is taken for a reference by the tracer's scan. */
__attribute__((noinline)) static void scrub(void)
{
    volatile char buf[16384];
    memset((char *)buf, 0, sizeof buf);
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "strong") != 0 && strcmp(argv[1], "weak") != 0)) {
        fprintf(stderr, "usage: %s strong|weak\n", argv[0]);
        return 2;
    }
    weak_mode = strcmp(argv[1], "weak") == 0;
    printf("%s parent pointers\n", argv[1]);

    /* Step 1: build the tree. With strong parent pointers each parent's
     * count includes one per child; with weak ones it stays 1. */
    build_tree();
    printf("built 7 nodes: root count %ld, child0 count %ld, leaf00 count %ld\n", hs_rc_count(g_root),
           hs_rc_count(g_root->child[0]), hs_rc_count(g_root->child[0]->child[0]));

    /* Step 2: the parent pointers work the same in both versions. */
    printf("from leaf11 up:");
    for (struct node *n = g_root->child[1]->child[1]; n; n = parent_of(n))
        printf(" %s", n->name);
    printf("\n");
    scrub();
    hs_snapshot("built"); /* the tree, alive and reachable from g_root */

    /* Step 3: drop the program's only reference to the tree. */
    long left = hs_rc_release(g_root);
    g_root = NULL;
    printf("dropped the root: its count is now %ld; %d of 7 nodes freed\n", left, freed);
    if (freed == 7)
        printf("the weak parent pointers let the whole tree be freed\n");
    else
        printf("the strong parent pointers keep the whole tree alive, unreachable: a leak\n");
    return 0;
}
