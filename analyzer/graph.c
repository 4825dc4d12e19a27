/*
 * The heap graph's analyses. Leak kinds follow valgrind memcheck exactly
 * (mc_leakcheck.c, with --leak-check-heuristics=none):
 *
 * - A pointer from a root, or from a block already known reachable, makes
 *   its target reachable if it points at the start, possibly lost if it
 *   points inside. A pointer from a possibly lost block makes its target
 *   possibly lost, whatever it points at. A block is upgraded when a better
 *   pointer is found later.
 * - Blocks left unreached are lost. In address order, each one not yet
 *   claimed leads a clique: every unreached block it reaches (by any pointer)
 *   is indirectly lost, and its bytes count as the leader's indirect bytes. A
 *   leader reached by a later leader becomes indirect too, and hands over
 *   its indirect bytes. The leaders are definitely lost.
 *
 * Blocks marked hs_ignore are roots, and are never reported.
 *
 * An interior pointer that one of the chosen rules explains (valgrind's
 * --leak-check-heuristics, whose tests the preload applied where it could
 * read the memory) counts as a pointer to the start. A still reachable block
 * that only such pointers reach says which rule: the lowest bit, valgrind's
 * order; any start pointer to it from a root or a reached block clears it.
 */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *const leak_kind_names[KIND_IGNORED + 1] = {
    "still_reachable", "possibly_lost", "indirectly_lost", "definitely_lost", NULL,
};

const char *leak_kind_name(enum leak_kind k)
{
    return k < KIND_IGNORED ? leak_kind_names[k] : k == KIND_IGNORED ? "ignored" : "?";
}

const char *const heuristic_names[FMT_HEUR_COUNT + 1] = {
    "stdstring", "length64", "newarray", "multipleinheritance", "dtv", "pygc", NULL,
};

const char *heuristic_name(unsigned i) { return i < FMT_HEUR_COUNT ? heuristic_names[i] : "?"; }

ssize_t graph_block_at(const struct model *m, uint64_t addr)
{
    size_t lo = 0, hi = m->n_blocks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->blocks[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    const struct model_block *b = &m->blocks[lo - 1];
    return addr < b->addr + b->size || addr == b->addr ? (ssize_t)(lo - 1) : -1;
}

uint64_t graph_object_start(const struct model *m, size_t b)
{
    return m->py && m->py[b].what == MODEL_PY_OBJECT ? m->py[b].off : 0;
}

int64_t graph_py_refcount(const struct model *m, size_t b)
{
    return m->py && m->py[b].what == MODEL_PY_OBJECT && m->py[b].refcount <= INT64_MAX ? (int64_t)m->py[b].refcount
                                                                                       : -1;
}

uint32_t graph_references(const struct graph *g, size_t b, uint32_t *from_roots)
{
    uint64_t start = graph_object_start(g->m, b);
    uint32_t n = 0, roots = 0;
    for (uint32_t k = g->in_start[b]; k < g->in_start[b + 1]; k++) {
        const struct model_edge *e = &g->m->edges[g->in[k]];
        n += e->dst_off == start;
        roots += e->dst_off == start && e->src_is_root;
    }
    if (from_roots)
        *from_roots = roots;
    return n;
}

/* Whether an edge counts: with the pygc rule chosen, a pointer to a CPython
 * GC object's PyGC_Head is the collector's list, and the words CPython does
 * not count (a weak reference's, a list's items past its size, a dead
 * object's) no reference either. */
static inline int edge_counts(const struct model_edge *e, unsigned heuristics)
{
    return !(e->rules & (FMT_EDGE_GC_LIST | FMT_EDGE_NOT_REF)) || !(heuristics & FMT_HEUR_PYGC);
}

/* Counting sort of the edges that count by a key (source or target block). */
static void index_edges(const struct model *m, unsigned heuristics, int by_dst, uint32_t **start_out,
                        uint32_t **list_out)
{
    size_t n = m->n_blocks;
    uint32_t *start = xcalloc(n + 2, sizeof *start);
    uint32_t *list = xmalloc((m->n_edges ? m->n_edges : 1) * sizeof *list);
    for (size_t i = 0; i < m->n_edges; i++) {
        const struct model_edge *e = &m->edges[i];
        if (!edge_counts(e, heuristics))
            continue;
        if (by_dst)
            start[e->dst + 2]++;
        else if (!e->src_is_root)
            start[e->src + 2]++;
    }
    for (size_t i = 2; i < n + 2; i++)
        start[i] += start[i - 1];
    for (size_t i = 0; i < m->n_edges; i++) {
        const struct model_edge *e = &m->edges[i];
        if (!edge_counts(e, heuristics))
            continue;
        if (by_dst)
            list[start[e->dst + 1]++] = (uint32_t)i;
        else if (!e->src_is_root)
            list[start[e->src + 1]++] = (uint32_t)i;
    }
    *start_out = start; /* start[i] .. start[i + 1] */
    *list_out = list;
}

enum { UNREACHED = 0, POSSIBLE = 1, REACHABLE = 2 };
#define UNREACHED_MARK 255 /* a lost block not yet given its kind */

/* Reachability from the roots (and hs_ignore'd blocks): REACHABLE through
 * start pointers (or interior ones a chosen rule explains) all the way,
 * else POSSIBLE; queue has room for 2n + 1. */
static void reach(const struct graph *g, uint8_t *state, uint32_t *queue)
{
    const struct model *m = g->m;
    size_t n = m->n_blocks, head = 0, tail = 0;
#define PUSH(b, definite, start)                                      \
    do {                                                              \
        uint8_t new_ = (definite) && (start) ? REACHABLE : POSSIBLE;  \
        if (state[b] < new_) {                                        \
            state[b] = new_;                                          \
            queue[tail++] = (uint32_t)(b);                            \
        }                                                             \
    } while (0)
    for (size_t i = 0; i < n; i++)
        if (m->blocks[i].flags & FMT_BLOCK_IGNORED)
            PUSH(i, 1, 1);
#define AS_START(e) ((e)->dst_off == 0 || ((e)->rules & g->heuristics))
    for (size_t i = 0; i < m->n_edges; i++)
        if (m->edges[i].src_is_root && edge_counts(&m->edges[i], g->heuristics))
            PUSH(m->edges[i].dst, 1, AS_START(&m->edges[i]));
    while (head < tail) {
        uint32_t b = queue[head++];
        int definite = state[b] == REACHABLE;
        for (uint32_t k = g->out_start[b]; k < g->out_start[b + 1]; k++) {
            const struct model_edge *e = &m->edges[g->out[k]];
            PUSH(e->dst, definite, AS_START(e));
        }
    }
#undef AS_START
#undef PUSH
}

/* Which rule, if only rules reached a reachable block. */
static void mark_via(struct graph *g, const uint8_t *state)
{
    const struct model *m = g->m;
    for (size_t i = 0; g->heuristics && i < m->n_blocks; i++) {
        if (state[i] != REACHABLE || (m->blocks[i].flags & FMT_BLOCK_IGNORED))
            continue;
        unsigned via = 0, start = 0;
        for (uint32_t k = g->in_start[i]; k < g->in_start[i + 1] && !start; k++) {
            const struct model_edge *e = &m->edges[g->in[k]];
            if (!e->src_is_root && state[e->src] == UNREACHED)
                continue;
            if (e->dst_off == 0)
                start = 1;
            else if (!via && (e->rules & g->heuristics) && (e->src_is_root || state[e->src] == REACHABLE))
                via = 1 + (unsigned)__builtin_ctz(e->rules & g->heuristics);
        }
        g->via[i] = start ? 0 : (uint8_t)via;
    }
}

/* Cliques of lost blocks (kind UNREACHED_MARK), leaders in address order. */
static void cliques(struct graph *g, uint32_t *queue)
{
    const struct model *m = g->m;
    for (size_t leader = 0; leader < m->n_blocks; leader++) {
        if (g->kind[leader] != UNREACHED_MARK)
            continue;
        g->kind[leader] = KIND_DEFINITELY_LOST;
        size_t head = 0, tail = 0;
        queue[tail++] = (uint32_t)leader;
        while (head < tail) {
            uint32_t b = queue[head++];
            for (uint32_t k = g->out_start[b]; k < g->out_start[b + 1]; k++) {
                uint32_t c = m->edges[g->out[k]].dst;
                if (c == leader)
                    continue;
                if (g->kind[c] == UNREACHED_MARK) {
                    g->kind[c] = KIND_INDIRECTLY_LOST;
                    g->indirect[leader] += m->blocks[c].size;
                    queue[tail++] = c;
                } else if (g->kind[c] == KIND_DEFINITELY_LOST) { /* an earlier leader */
                    g->kind[c] = KIND_INDIRECTLY_LOST;
                    g->indirect[leader] += m->blocks[c].size + g->indirect[c];
                    g->indirect[c] = 0;
                }
            }
        }
    }
}

static void classify(struct graph *g)
{
    const struct model *m = g->m;
    size_t n = m->n_blocks;
    uint8_t *state = xcalloc(n ? n : 1, 1);
    uint32_t *queue = xmalloc((2 * n + 1) * sizeof *queue);
    reach(g, state, queue);
    mark_via(g, state);
    for (size_t i = 0; i < n; i++)
        g->kind[i] = m->blocks[i].flags & FMT_BLOCK_IGNORED ? KIND_IGNORED
                     : state[i] == REACHABLE               ? KIND_STILL_REACHABLE
                     : state[i] == POSSIBLE                ? KIND_POSSIBLY_LOST
                                                           : UNREACHED_MARK;
    cliques(g, queue);
    free(state);
    free(queue);
}

void graph_build(struct graph *g, const struct model *m, unsigned heuristics)
{
    memset(g, 0, sizeof *g);
    g->m = m;
    g->heuristics = heuristics;
    g->via = xcalloc(m->n_blocks ? m->n_blocks : 1, 1);
    index_edges(m, heuristics, 0, &g->out_start, &g->out);
    index_edges(m, heuristics, 1, &g->in_start, &g->in);
    g->kind = xcalloc(m->n_blocks ? m->n_blocks : 1, 1);
    g->indirect = xcalloc(m->n_blocks ? m->n_blocks : 1, sizeof *g->indirect);
    classify(g);
}

void graph_free(struct graph *g)
{
    free(g->out_start);
    free(g->out);
    free(g->in_start);
    free(g->in);
    free(g->kind);
    free(g->via);
    free(g->indirect);
    memset(g, 0, sizeof *g);
}

void graph_totals(const struct graph *g, uint64_t bytes[KIND_COUNT], uint64_t blocks[KIND_COUNT],
                  uint64_t inherited[2])
{
    memset(bytes, 0, KIND_COUNT * sizeof *bytes);
    memset(blocks, 0, KIND_COUNT * sizeof *blocks);
    inherited[0] = inherited[1] = 0;
    for (size_t i = 0; i < g->m->n_blocks; i++) {
        if (g->m->blocks[i].flags & FMT_BLOCK_INHERITED) {
            inherited[0] += g->m->blocks[i].size;
            inherited[1]++;
            continue;
        }
        bytes[g->kind[i]] += g->m->blocks[i].size;
        blocks[g->kind[i]]++;
    }
}

int graph_leak_totals(const struct model *m, unsigned heuristics, uint64_t bytes[KIND_COUNT],
                      uint64_t blocks[KIND_COUNT], uint64_t inherited[2])
{
    if (!m->snapshot || !m->snapshot->scanned)
        return 0;
    struct graph g;
    graph_build(&g, m, heuristics);
    graph_totals(&g, bytes, blocks, inherited);
    graph_free(&g);
    return 1;
}

/* Tarjan's algorithm without recursion. */
size_t graph_cycles(const struct graph *g, int32_t *comp)
{
    const struct model *m = g->m;
    size_t n = m->n_blocks;
    uint32_t *index = xmalloc((n ? n : 1) * sizeof *index);
    uint32_t *low = xmalloc((n ? n : 1) * sizeof *low);
    uint32_t *stack = xmalloc((n ? n : 1) * sizeof *stack);
    uint8_t *on_stack = xcalloc(n ? n : 1, 1);
    struct frame { uint32_t v, next; } *calls = xmalloc((n ? n : 1) * sizeof *calls);
    const uint32_t unvisited = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        index[i] = unvisited;
        comp[i] = -1;
    }
    uint32_t counter = 0;
    size_t sp = 0, ncomp = 0;
    for (size_t root = 0; root < n; root++) {
        if (index[root] != unvisited)
            continue;
        size_t depth = 0;
        calls[depth++] = (struct frame){ (uint32_t)root, g->out_start[root] };
        index[root] = low[root] = counter++;
        stack[sp++] = (uint32_t)root;
        on_stack[root] = 1;
        while (depth) {
            struct frame *f = &calls[depth - 1];
            uint32_t v = f->v;
            if (f->next < g->out_start[v + 1]) {
                uint32_t w = m->edges[g->out[f->next++]].dst;
                if (index[w] == unvisited) {
                    index[w] = low[w] = counter++;
                    stack[sp++] = w;
                    on_stack[w] = 1;
                    calls[depth++] = (struct frame){ w, g->out_start[w] };
                } else if (on_stack[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            if (low[v] == index[v]) { /* v roots a component */
                size_t first = sp;
                do
                    first--;
                while (stack[first] != v);
                int cyclic = sp - first > 1;
                for (uint32_t k = g->out_start[v]; !cyclic && k < g->out_start[v + 1]; k++)
                    cyclic = m->edges[g->out[k]].dst == v;
                for (size_t k = first; k < sp; k++) {
                    on_stack[stack[k]] = 0;
                    if (cyclic)
                        comp[stack[k]] = (int32_t)ncomp;
                }
                sp = first;
                if (cyclic)
                    ncomp++;
            }
            depth--;
            if (depth && low[v] < low[calls[depth - 1].v])
                low[calls[depth - 1].v] = low[v];
        }
    }
    free(index);
    free(low);
    free(stack);
    free(on_stack);
    free(calls);
    return ncomp;
}

/* Whether an edge is a reference as the chosen rules read it: to its
 * target's start, or to an interior place a chosen rule explains. */
static int plain_reference(const struct graph *g, const struct model_edge *e)
{
    return e->dst_off == 0 || (e->rules & g->heuristics & HEURISTICS_ALL);
}

/* Reaches what the queue's blocks point at, breadth first, over the edges
 * any says: every edge, or plain references only. */
static void bfs_from(const struct graph *g, uint32_t *queue, size_t head, size_t *tail, int any,
                     uint32_t *parent_edge, uint32_t *depth)
{
    const struct model *m = g->m;
    while (head < *tail) {
        uint32_t b = queue[head++];
        for (uint32_t k = g->out_start[b]; k < g->out_start[b + 1]; k++) {
            const struct model_edge *e = &m->edges[g->out[k]];
            if (depth[e->dst] == UINT32_MAX && (any || plain_reference(g, e))) {
                depth[e->dst] = depth[b] + 1;
                parent_edge[e->dst] = g->out[k];
                queue[(*tail)++] = e->dst;
            }
        }
    }
}

void graph_bfs(const struct graph *g, uint32_t *parent_edge, uint32_t *depth)
{
    const struct model *m = g->m;
    size_t n = m->n_blocks;
    uint32_t *queue = xmalloc((n ? n : 1) * sizeof *queue);
    size_t tail = 0;
    for (size_t i = 0; i < n; i++) {
        parent_edge[i] = UINT32_MAX;
        depth[i] = UINT32_MAX;
        if (m->blocks[i].flags & FMT_BLOCK_IGNORED) { /* a root of its own */
            depth[i] = 0;
            queue[tail++] = (uint32_t)i;
        }
    }
    /* first over plain references only, so that a chain names what holds a
     * block where anything does; then a stray interior word may reach the rest */
    for (int any = 0; any < 2; any++) {
        for (size_t i = 0; i < m->n_edges; i++) {
            const struct model_edge *e = &m->edges[i];
            if (e->src_is_root && depth[e->dst] == UINT32_MAX && edge_counts(e, g->heuristics) &&
                (any || plain_reference(g, e))) {
                depth[e->dst] = 1;
                parent_edge[e->dst] = (uint32_t)i;
                queue[tail++] = e->dst;
            }
        }
        bfs_from(g, queue, 0, &tail, any, parent_edge, depth); /* the second pass: every block again */
    }
    free(queue);
}
