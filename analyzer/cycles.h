/*
 * The cycles of a snapshot's heap graph (cycles.c): its strongly connected
 * components with a cycle (two or more blocks, or one that points at
 * itself), each with its members in address order, its bytes, whether a
 * root reaches it, and, given refcount histories, whether its refcounted
 * members are kept alive by the cycle alone. Biggest first. What `cycles`
 * prints and `report` draws. A library file: it prints nothing.
 */
#ifndef HEAPSCOPE_CYCLES_H
#define HEAPSCOPE_CYCLES_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "rc_objects.h"

struct cycle {
    size_t first, n;  /* its members: members[first .. first + n) */
    uint64_t bytes;
    int reachable;    /* a root reaches it */
    int refcounted;   /* every member is a live refcounted object (or a CPython one, or storage
                         one owns: a list's items), and one at least has a count */
    int self_kept;    /* ... and each count is explained by pointers from inside */
    size_t excess;    /* members whose count exceeds every reference found */
};

struct cycles {
    struct cycle *cy; /* biggest first */
    size_t n;
    size_t *members;  /* block indices, grouped by cycle */
    int32_t *comp;    /* per block: its component, or -1 */
    /* per member block: its count at the snapshot (the refcount histories',
     * or a CPython object's ob_refcnt; -1: no count), the pointers to its
     * start from its cycle's members, and from anywhere (the references
     * found) */
    int64_t *count;
    uint32_t *inside, *found;
};

/* The cycles of g's snapshot; rc (NULL: none) gives the refcount histories. */
void cycles_build(struct cycles *c, const struct graph *g, const struct rc_objects *rc);
void cycles_free(struct cycles *c);
/* Whether block b is a member of cycle y. */
int cycles_member(const struct cycles *c, const struct cycle *y, size_t b);

#endif
