/*
 * A snapshot's CPython objects (pyobjects.c): each with its refcount (its
 * ob_refcnt, read at the snapshot) and the references the scan found to it
 * (pointers to its start, past its PyGC_Head, from blocks and roots; weak
 * references' are none). A refcount above every reference found is a
 * reference nothing holds: never released (a missing Py_DECREF) or held
 * where no scan sees. What `refs` prints and `leaks` counts. A library
 * file: it prints nothing.
 */
#ifndef HEAPSCOPE_PYOBJECTS_H
#define HEAPSCOPE_PYOBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

struct pyobject {
    size_t block;
    int64_t refcount;
    uint32_t found, from_roots; /* references found, of them from roots */
};

/* The CPython objects of g's snapshot (none if it has none): those whose
 * refcount exceeds the references found first, the most unexplained first,
 * then in address order. Returns how many; *out is the caller's to free. */
size_t pyobjects_list(const struct graph *g, struct pyobject **out);

/* Whether o's refcount exceeds every reference found to it. */
static inline int pyobject_excess(const struct pyobject *o) { return o->refcount > (int64_t)o->found; }

#endif
