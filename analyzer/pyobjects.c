/* A snapshot's CPython objects and their references (pyobjects.h). */
#include "pyobjects.h"

#include <stdlib.h>

#include "util.h"

static int most_unexplained_first(const void *a, const void *b)
{
    const struct pyobject *x = a, *y = b;
    int64_t ex = x->refcount - (int64_t)x->found, ey = y->refcount - (int64_t)y->found;
    if ((ex > 0) != (ey > 0))
        return ex > 0 ? -1 : 1;
    if (ex > 0 && ex != ey)
        return ex > ey ? -1 : 1;
    return (x->block > y->block) - (x->block < y->block);
}

size_t pyobjects_list(const struct graph *g, struct pyobject **out)
{
    const struct model *m = g->m;
    *out = xmalloc((m->n_py_objects ? m->n_py_objects : 1) * sizeof **out);
    size_t n = 0;
    for (size_t b = 0; m->py && b < m->n_blocks; b++) {
        int64_t count = graph_py_refcount(m, b);
        if (count < 0 || n == m->n_py_objects)
            continue;
        struct pyobject *o = &(*out)[n++];
        *o = (struct pyobject){ .block = b, .refcount = count };
        o->found = graph_references(g, b, &o->from_roots);
    }
    if (n)
        qsort(*out, n, sizeof **out, most_unexplained_first);
    return n;
}
