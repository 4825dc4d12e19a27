/* The cycles of a heap graph (cycles.h). */
#include "cycles.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A member's count at the snapshot: a CPython object's ob_refcnt, else the
 * refcount histories' (-1: none). */
static int64_t count_of(const struct graph *g, const struct rc_objects *rc, size_t b)
{
    const struct model *m = g->m;
    int64_t py = graph_py_refcount(m, b);
    if (py >= 0 || !rc || !rc->n)
        return py;
    return rc_count_at(rc, m, m->blocks[b].addr, m->snapshot->rc_seq);
}

/* For members with a count: the count, how many pointers to the object's
 * start come from the cycle's own members, and how many from anywhere. */
static void refcount_facts(struct cycles *c, const struct graph *g, const struct rc_objects *rc, struct cycle *y)
{
    const struct model *m = g->m;
    int counted = 0, uncounted = 0;
    y->self_kept = 1;
    for (size_t i = 0; i < y->n; i++) {
        size_t b = c->members[y->first + i];
        uint64_t start = graph_object_start(m, b);
        c->count[b] = count_of(g, rc, b);
        c->inside[b] = 0;
        c->found[b] = graph_references(g, b, NULL);
        for (uint32_t k = g->in_start[b]; k < g->in_start[b + 1]; k++) {
            const struct model_edge *e = &m->edges[g->in[k]];
            if (!e->src_is_root && e->dst_off == start && c->comp[e->src] == c->comp[b])
                c->inside[b]++;
        }
        if (c->count[b] < 0) {
            /* storage a CPython object owns holds references, not a count */
            uncounted += !(m->py && m->py[b].what == MODEL_PY_OWNED);
            continue;
        }
        counted++;
        if (c->count[b] != (int64_t)c->inside[b])
            y->self_kept = 0;
        if (c->count[b] > (int64_t)c->found[b])
            y->excess++;
    }
    y->refcounted = counted && !uncounted;
    y->self_kept = y->self_kept && y->refcounted;
}

static int by_bytes(const void *a, const void *b)
{
    const struct cycle *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->first < y->first ? -1 : 1;
}

/* Members grouped by component, in address order within each. */
static void group_members(struct cycles *c, const struct graph *g)
{
    const struct model *m = g->m;
    for (size_t i = 0; i < m->n_blocks; i++)
        if (c->comp[i] >= 0)
            c->cy[c->comp[i]].n++;
    size_t at = 0;
    for (size_t k = 0; k < c->n; k++) {
        c->cy[k].first = at;
        at += c->cy[k].n;
        c->cy[k].n = 0;
    }
    c->members = xmalloc((at ? at : 1) * sizeof *c->members);
    for (size_t i = 0; i < m->n_blocks; i++) {
        if (c->comp[i] < 0)
            continue;
        struct cycle *y = &c->cy[c->comp[i]];
        c->members[y->first + y->n++] = i;
        y->bytes += m->blocks[i].size;
        if (g->kind[i] == KIND_STILL_REACHABLE || g->kind[i] == KIND_POSSIBLY_LOST || g->kind[i] == KIND_IGNORED)
            y->reachable = 1;
    }
}

void cycles_build(struct cycles *c, const struct graph *g, const struct rc_objects *rc)
{
    size_t n = g->m->n_blocks;
    memset(c, 0, sizeof *c);
    c->comp = xmalloc((n ? n : 1) * sizeof *c->comp);
    c->n = graph_cycles(g, c->comp);
    c->cy = xcalloc(c->n ? c->n : 1, sizeof *c->cy);
    group_members(c, g);
    c->count = xmalloc((n ? n : 1) * sizeof *c->count);
    c->inside = xmalloc((n ? n : 1) * sizeof *c->inside);
    c->found = xmalloc((n ? n : 1) * sizeof *c->found);
    for (size_t k = 0; k < c->n; k++)
        refcount_facts(c, g, rc, &c->cy[k]);
    if (c->n) /* qsort wants an array, even of nothing */
        qsort(c->cy, c->n, sizeof *c->cy, by_bytes);
}

int cycles_member(const struct cycles *c, const struct cycle *y, size_t b)
{
    return c->comp[b] >= 0 && c->comp[b] == c->comp[c->members[y->first]];
}

void cycles_free(struct cycles *c)
{
    free(c->cy);
    free(c->members);
    free(c->comp);
    free(c->count);
    free(c->inside);
    free(c->found);
    memset(c, 0, sizeof *c);
}
