/* Leak records of a snapshot (leak_report.h). */
#include "leak_report.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static unsigned block_kind(const struct leak_report *l, size_t i)
{
    if (l->m->blocks[i].flags & FMT_BLOCK_IGNORED)
        return KIND_IGNORED;
    return l->scanned ? l->g.kind[i] : KIND_NOT_FREED;
}

static unsigned block_via(const struct leak_report *l, size_t i)
{
    return l->scanned ? l->g.via[i] : 0;
}

static int block_inherited(const struct leak_report *l, size_t i)
{
    return (l->m->blocks[i].flags & FMT_BLOCK_INHERITED) != 0;
}

/* Blocks of one record share kind, rule, inheritance and stack. */
static int same_record(const struct leak_report *l, size_t x, size_t y)
{
    return block_kind(l, x) == block_kind(l, y) && block_via(l, x) == block_via(l, y) &&
           block_inherited(l, x) == block_inherited(l, y);
}

static const struct leak_report *sort_ctx;

static int by_kind_stack(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    const unsigned kx[] = { block_kind(sort_ctx, x), block_via(sort_ctx, x), (unsigned)block_inherited(sort_ctx, x) };
    const unsigned ky[] = { block_kind(sort_ctx, y), block_via(sort_ctx, y), (unsigned)block_inherited(sort_ctx, y) };
    for (size_t i = 0; i < sizeof kx / sizeof *kx; i++) /* what same_record compares, in that order */
        if (kx[i] != ky[i])
            return kx[i] < ky[i] ? -1 : 1;
    uint32_t sx = sort_ctx->m->blocks[x].stack_id, sy = sort_ctx->m->blocks[y].stack_id;
    return sx < sy ? -1 : sx > sy ? 1 : (x > y) - (x < y);
}

static int by_size_desc(const void *a, const void *b)
{
    const struct leak_record *x = a, *y = b;
    uint64_t tx = x->bytes + x->indirect, ty = y->bytes + y->indirect;
    if (tx != ty)
        return tx > ty ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind > y->kind ? -1 : 1; /* definitely lost before still reachable */
    return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

static void build_records(struct leak_report *l)
{
    const struct model *m = l->m;
    size_t *idx = xmalloc((m->n_blocks ? m->n_blocks : 1) * sizeof *idx);
    size_t n = 0;
    for (size_t i = 0; i < m->n_blocks; i++) {
        unsigned k = block_kind(l, i);
        if (k == KIND_IGNORED)
            continue;
        idx[n++] = i;
        if (block_inherited(l, i)) {
            l->inherited_bytes += m->blocks[i].size;
            l->inherited_blocks++;
            continue;
        }
        l->bytes[k] += m->blocks[i].size;
        l->blocks[k]++;
        unsigned via = block_via(l, i);
        if (via) {
            l->via_bytes[via - 1] += m->blocks[i].size;
            l->via_blocks[via - 1]++;
        }
    }
    sort_ctx = l;
    qsort(idx, n, sizeof *idx, by_kind_stack);
    l->rec = xcalloc(n ? n : 1, sizeof *l->rec);
    for (size_t i = 0; i < n; i++) {
        size_t b = idx[i];
        unsigned k = block_kind(l, b);
        const char *type = sym_block_type(l->sym, m, b);
        struct leak_record *r = l->n_rec ? &l->rec[l->n_rec - 1] : NULL;
        if (!r || !same_record(l, r->first, b) || r->stack_id != m->blocks[b].stack_id) {
            r = &l->rec[l->n_rec++];
            *r = (struct leak_record){ .kind = k, .via = block_via(l, b), .inherited = block_inherited(l, b),
                                       .stack_id = m->blocks[b].stack_id, .type = type, .first = b };
        } else if (r->type && (!type || strcmp(r->type, type) != 0)) {
            r->type = NULL;
        }
        r->bytes += m->blocks[b].size;
        r->blocks++;
        if (l->scanned && k == KIND_DEFINITELY_LOST)
            r->indirect += l->g.indirect[b];
        if (l->scanned && graph_py_refcount(m, b) > (int64_t)graph_references(&l->g, b, NULL))
            r->unreleased++;
    }
    free(idx);
    qsort(l->rec, l->n_rec, sizeof *l->rec, by_size_desc);
}

void leak_report_build(struct leak_report *r, const struct model *m, struct symbolizer *sym, unsigned heuristics)
{
    memset(r, 0, sizeof *r);
    r->m = m;
    r->sym = sym;
    r->scanned = m->snapshot->scanned;
    if (r->scanned)
        graph_build(&r->g, m, heuristics);
    build_records(r);
}

void leak_report_free(struct leak_report *r)
{
    free(r->rec);
    if (r->scanned)
        graph_free(&r->g);
    memset(r, 0, sizeof *r);
}

const char *leak_record_kind(unsigned k) { return k == KIND_NOT_FREED ? "not_freed" : leak_kind_name(k); }

size_t leak_report_most_leaked(const struct leak_report *r, size_t max, const struct leak_record **out)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_rec && n < max; i++) {
        const struct leak_record *rec = &r->rec[i];
        if (rec->inherited || rec->kind == KIND_STILL_REACHABLE)
            continue;
        out[n++] = rec;
    }
    return n;
}
