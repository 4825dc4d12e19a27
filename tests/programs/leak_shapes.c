/*
 * The classic leak shapes, one per run, for comparing heapscope's leak kinds
 * with valgrind memcheck's (run with --leak-check-heuristics=none).
 *
 *     leak_shapes tree|rings|self|interior|holders|lists|brk|rcgraph
 *
 * Each shape is built by a noinline function that returns; then
 * scrub_stack() overwrites the stack below main, so that no pointer to a
 * "lost" block is left in a local, a stale stack slot or a register at exit.
 * Pointers that keep blocks alive live in globals only. The expected kind of
 * every block is written next to it (DL definitely lost, IL indirectly lost,
 * PL possibly lost, SR still reachable).
 *
 * No stdio: its buffer is a heap block that valgrind frees at exit (through
 * __libc_freeres) but that is still live when heapscope snapshots. Only
 * rcgraph prints (one number, with write(2)), after the shape is built.
 * Nothing is freed except in rcgraph.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *xcalloc(size_t size)
{
    void *p = calloc(1, size); /* zeroed: no stale pointers inside blocks */
    if (!p)
        abort();
    return p;
}

/* ---------------------------------------------------------------- tree
 * A complete binary tree of 31 nodes (levels 0..4) held by g_tree. Nodes are
 * numbered heap-style (root 1, children of i are 2i and 2i+1) and allocated
 * depth-first, left before right, so node 31 (the rightmost leaf) is the
 * last block allocated. Three subtrees are cut by nulling the parent's
 * pointer:
 *   node 5  (child of 2):  5, 10, 11, 20..23   7 nodes: 5 DL, 6 IL
 *   node 15 (child of 7):  15, 30, 31          3 nodes: 15 DL, 2 IL
 *   node 24 (child of 12): a leaf              1 node:  DL
 * The other 20 nodes are SR.
 * Expected: DL 3 blocks 72 bytes, IL 8 blocks 192 bytes, SR 20 blocks 480.
 * A node is 24 bytes on purpose: with glibc malloc the header of the next
 * chunk lies inside a 24-byte block's last 8 bytes, so the allocator's own
 * pointers to chunk headers (main_arena's top and bins, in libc's .data)
 * can look like interior pointers into a node. They are not references.
 * The other shapes use sizes that are multiples of 16, where that cannot
 * happen.
 */
struct tnode {
    struct tnode *left, *right;
    long id;
};

static struct tnode *g_tree; /* SR root */

static struct tnode *tree_build(long id, int level)
{
    struct tnode *n = xcalloc(sizeof *n);
    n->id = id;
    if (level < 4) {
        n->left = tree_build(2 * id, level + 1);
        n->right = tree_build(2 * id + 1, level + 1);
    }
    return n;
}

NOINLINE static void shape_tree(void)
{
    g_tree = tree_build(1, 0);
    g_tree->left->right = NULL;              /* cuts node 5 (and 10, 11, 20..23) */
    g_tree->right->right->right = NULL;      /* cuts node 15 (and 30, 31) */
    g_tree->left->left->left->left = NULL;   /* cuts node 24, a leaf */
}

/* ---------------------------------------------------------------- rings
 * Rings (circular singly linked lists) of 2, 3 and 7 nodes, 32 bytes each.
 * Lost rings (nothing outside points in): one member DL, the others IL.
 * Kept rings: a global points at one member (not the first allocated); all SR.
 * Expected: DL 3 blocks 96 bytes, IL 1+2+6 = 9 blocks 288, SR 12 blocks 384.
 */
struct rnode {
    struct rnode *next;
    long id, pad[2];
};

static struct rnode *g_ring[3]; /* SR: one member of each kept ring */

static struct rnode *ring_build(int n)
{
    struct rnode *first = xcalloc(sizeof *first), *last = first;
    for (int i = 1; i < n; i++) {
        last->next = xcalloc(sizeof *last);
        last = last->next;
        last->id = i;
    }
    last->next = first;
    return first;
}

NOINLINE static void shape_rings(void)
{
    static const int sizes[3] = {2, 3, 7};
    for (int i = 0; i < 3; i++) {
        ring_build(sizes[i]);                    /* lost: 1 DL + (n-1) IL */
        g_ring[i] = ring_build(sizes[i])->next;  /* kept: n SR */
    }
}

/* ---------------------------------------------------------------- self
 * Blocks of 48 bytes pointing at themselves.
 *   A: points only at itself, nothing else points at it        DL
 *   B: points at itself and at C; nothing else points at B     DL
 *   C: pointed at only by B                                    IL
 *   K: points at itself, and g_self points at it               SR
 * Expected: DL 2 blocks 96 bytes, IL 1 block 48, SR 1 block 48.
 */
struct snode {
    struct snode *self, *other;
    long pad[4];
};

static struct snode *g_self; /* SR */

NOINLINE static void shape_self(void)
{
    struct snode *a = xcalloc(sizeof *a), *b = xcalloc(sizeof *b),
                 *c = xcalloc(sizeof *c), *k = xcalloc(sizeof *k);
    a->self = a;
    b->self = b;
    b->other = c;
    k->self = k;
    g_self = k;
}

/* ---------------------------------------------------------------- interior
 * Blocks of 64 bytes held only by pointers into their middle.
 *   P: g_p_mid = P + 8 (interior only)                          PL
 *   Q: P->child = Q (a start pointer, but from a PL block)       PL
 *   R: g_r = R and g_r_mid = R + 8 (a start pointer wins)        SR
 *   S: g_s_last = S + 63 (its last byte)                         PL
 *   T: g_t_end = T + 64 (one past its end: not inside T)         DL
 * Expected: DL 1 block 64 bytes, PL 3 blocks 192, SR 1 block 64.
 */
struct inode {
    long head;
    long mid;
    struct inode *child;
    long pad[5];
};

static char *g_p_mid, *g_r_mid, *g_s_last, *g_t_end;
static struct inode *g_r;

NOINLINE static void shape_interior(void)
{
    struct inode *p = xcalloc(sizeof *p), *q = xcalloc(sizeof *q), *r = xcalloc(sizeof *r),
                 *s = xcalloc(sizeof *s), *t = xcalloc(sizeof *t);
    p->child = q;
    g_p_mid = (char *)p + 8;
    g_r = r;
    g_r_mid = (char *)r + 8;
    g_s_last = (char *)s + 63;
    g_t_end = (char *)t + 64;
}

/* ---------------------------------------------------------------- holders
 * A holder is a 32-byte block with a start pointer to one 48-byte block and
 * an interior pointer (+16) to another.
 *   lost holder H (nothing points at it)                          DL
 *     H->start  = A                                               IL
 *     H->inside = B + 16                                          IL
 *   kept holder K (g_holder = K)                                  SR
 *     K->start  = A2                                              SR
 *     K->inside = B2 + 16 (only an interior pointer reaches B2)   PL
 * Expected: DL 1 block 32 bytes, IL 2 blocks 96, PL 1 block 48,
 * SR 2 blocks 80.
 */
struct holder {
    void *start;
    char *inside;
    long pad[2];
};

static struct holder *g_holder; /* SR */

NOINLINE static void shape_holders(void)
{
    struct holder *h = xcalloc(sizeof *h), *k = xcalloc(sizeof *k);
    h->start = xcalloc(48);
    h->inside = (char *)xcalloc(48) + 16;
    k->start = xcalloc(48);
    k->inside = (char *)xcalloc(48) + 16;
    g_holder = k;
}

/* ---------------------------------------------------------------- lists
 * Two singly linked lists of LIST_NODES 16-byte nodes, allocated
 * interleaved (lost node, kept node, lost node, ...).
 *   lost list: the head pointer is dropped: head DL, the rest IL
 *   kept list: g_list holds the head: all SR
 * Expected: DL 1 block 16 bytes, IL 99999 blocks 1599984,
 * SR 100000 blocks 1600000.
 */
#define LIST_NODES 100000

struct lnode {
    struct lnode *next;
    long value;
};

static struct lnode *g_list; /* SR */

NOINLINE static void shape_lists(void)
{
    struct lnode *lost = NULL, *lost_tail = NULL, *kept_tail = NULL;
    for (long i = 0; i < LIST_NODES; i++) {
        struct lnode *a = xcalloc(sizeof *a), *b = xcalloc(sizeof *b);
        a->value = b->value = i;
        if (lost_tail)
            lost_tail->next = a;
        else
            lost = a;
        lost_tail = a;
        if (kept_tail)
            kept_tail->next = b;
        else
            g_list = b;
        kept_tail = b;
    }
    lost = lost_tail = kept_tail = NULL; /* the lost list's head is dropped */
    (void)lost;
}

/* ---------------------------------------------------------------- rcgraph
 * Reference-counted objects (64 bytes each) with up to 4 children; each
 * child edge holds a reference on the child. RC_OBJECTS objects get random
 * edges (a fixed xorshift seed, so the graph is the same everywhere, self
 * edges and duplicate edges included: 143 of the 300 objects survive, in 11
 * groups that no other surviving object reaches, 55 of them on cycles). The program then releases its own
 * reference on every object: an object whose count drops to 0 releases its
 * children and is freed. What remains is kept alive only by cycles: nothing
 * outside the heap points at it, so every remaining object must be lost
 * (DL or IL; DL is one object per group that no other lost object reaches).
 * Prints the number of remaining objects.
 */
#define RC_OBJECTS 300
#define RC_MAX_CHILDREN 4

struct obj {
    long rc;
    long nchild;
    struct obj *child[RC_MAX_CHILDREN];
    long pad[2];
};

static long g_live_objects;
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static struct obj *obj_new(void)
{
    struct obj *o = xcalloc(sizeof *o);
    o->rc = 1;
    g_live_objects++;
    return o;
}

static void obj_release(struct obj *o)
{
    if (--o->rc > 0)
        return;
    for (long i = 0; i < o->nchild; i++)
        obj_release(o->child[i]);
    memset(o, 0, sizeof *o);
    g_live_objects--;
    free(o);
}

NOINLINE static void shape_rcgraph(void)
{
    struct obj **all = xcalloc(RC_OBJECTS * sizeof *all);
    for (int i = 0; i < RC_OBJECTS; i++)
        all[i] = obj_new();
    for (int i = 0; i < RC_OBJECTS; i++) {
        struct obj *o = all[i];
        /* 0..4 children, 1.25 on average: enough cycles that some survive */
        uint64_t r = rng() % 16;
        o->nchild = r < 5 ? 0 : r < 10 ? 1 : r < 13 ? 2 : r < 15 ? 3 : 4;
        for (long j = 0; j < o->nchild; j++) {
            /* a quarter of the edges go anywhere, the rest to a neighbour
             * within 8 (itself included): many small cycles, and objects
             * outside any cycle that only a cycle keeps alive */
            uint64_t x = rng();
            long to = x % 16 < 4 ? (long)((x >> 8) % RC_OBJECTS)
                                 : (i + (long)((x >> 8) % 17) - 8 + RC_OBJECTS) % RC_OBJECTS;
            struct obj *c = all[to];
            c->rc++; /* the edge retains the child */
            o->child[j] = c;
        }
    }
    for (int i = 0; i < RC_OBJECTS; i++) { /* release every root reference */
        obj_release(all[i]);
        all[i] = NULL;
    }
    free(all);
}

NOINLINE static void print_count(long n)
{
    char buf[32], *p = buf + sizeof buf;
    *--p = '\n';
    do {
        *--p = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    if (write(1, p, (size_t)(buf + sizeof buf - p)) < 0)
        abort();
}

/* ---------------------------------------------------------------- brk
 * A pool the program takes from the break itself (sbrk), beside malloc's
 * own arena in [heap]: memcheck scans it as the program's memory, a root.
 * It holds two 40-byte blocks (SR), the second of which holds a 24-byte one
 * (SR); a 16-byte block nothing holds (DL). */
NOINLINE static void shape_brk(void)
{
    void **pool = sbrk(4096);
    if (pool == (void *)-1)
        abort();
    memset(pool, 0, 4096);
    pool[3] = xcalloc(40);
    pool[100] = xcalloc(40);
    *(void **)pool[100] = xcalloc(24);
    xcalloc(16);
}

/* ---------------------------------------------------------------- main */

/* Overwrites the stack below main's frame, where the shape's functions left
 * their locals, and leaves nothing interesting in the registers. */
NOINLINE static void scrub_stack(void)
{
    volatile char buf[256 * 1024];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = 0;
}

static const struct {
    const char *name;
    void (*build)(void);
} shapes[] = {
    {"tree", shape_tree},       {"rings", shape_rings},     {"self", shape_self},
    {"interior", shape_interior}, {"holders", shape_holders}, {"lists", shape_lists},
    {"brk", shape_brk},
    {"rcgraph", shape_rcgraph},
};

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    int found = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (!strcmp(argv[1], shapes[i].name)) {
            shapes[i].build();
            found = 1;
        }
    if (!found)
        return 2;
    scrub_stack();
    if (!strcmp(argv[1], "rcgraph"))
        print_count(g_live_objects);
    scrub_stack();
    return 0;
}
