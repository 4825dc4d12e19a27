/*
 * massif's output format: a header (desc, cmd, time_unit), then snapshots in
 * time order, each with mem_heap_B and, for detailed ones, a heap tree: the
 * allocation functions at the root, under it the stacks' innermost callers,
 * under each its callers, every node "nK: BYTES ADDRESS: DESCRIPTION" with
 * K its children, indented one space a level, biggest first. See massif.h.
 */
#include "massif.h"

#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "util.h"

struct entry {
    uint32_t stack_id;
    uint64_t bytes;
};

struct tree {
    FILE *out;
    const struct model *m;
    struct symbolizer *sym;
};

static uint64_t frame_at(const struct model *m, uint32_t stack_id, size_t level)
{
    const struct model_stack *s = model_stack(m, stack_id);
    return s && level < s->n ? s->frames[level] : 0;
}

struct level {
    const struct model *m;
    size_t level;
};

static int by_frame(const void *a, const void *b, void *arg)
{
    const struct level *l = arg;
    const struct entry *x = a, *y = b;
    uint64_t fx = frame_at(l->m, x->stack_id, l->level), fy = frame_at(l->m, y->stack_id, l->level);
    return fx < fy ? -1 : fx > fy;
}

struct group {
    size_t first, n;
    uint64_t frame, bytes;
};

static int by_bytes(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->frame < y->frame ? -1 : x->frame > y->frame;
}

/* The groups of e[0..n) by their frame at level (frame 0: the stack ends
 * above it, no group); *out malloc'd. */
static size_t group(const struct tree *t, struct entry *e, size_t n, size_t level, struct group **out)
{
    struct level l = { t->m, level };
    qsort_r(e, n, sizeof *e, by_frame, &l);
    struct group *g = xmalloc((n ? n : 1) * sizeof *g);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        uint64_t f = frame_at(t->m, e[i].stack_id, level);
        size_t j = i;
        uint64_t bytes = 0;
        while (j < n && frame_at(t->m, e[j].stack_id, level) == f)
            bytes += e[j++].bytes;
        if (f)
            g[k++] = (struct group){ i, j - i, f, bytes };
        i = j;
    }
    qsort(g, k, sizeof *g, by_bytes);
    *out = g;
    return k;
}

static void describe(const struct tree *t, uint64_t addr)
{
    const struct sym_frame *f;
    size_t n = sym_resolve(t->sym, addr, &f);
    const char *fn = n && f[n - 1].function ? f[n - 1].function : "???";
    fprintf(t->out, "0x%llx: %s", (unsigned long long)addr, fn);
    if (n && f[0].file)
        fprintf(t->out, " (%s:%u)", base_name(f[0].file), f[0].line);
    else if (n && f[0].module)
        fprintf(t->out, " (in %s)", f[0].module);
}

static void node(const struct tree *t, struct entry *e, size_t n, size_t level, uint64_t bytes, uint64_t frame)
{
    struct group *g;
    size_t k = group(t, e, n, level + 1, &g);
    fprintf(t->out, "%*sn%zu: %llu ", (int)level + 1, "", k, (unsigned long long)bytes);
    describe(t, frame);
    fputc('\n', t->out);
    for (size_t i = 0; i < k; i++) {
        struct group gi = g[i];
        node(t, e + gi.first, gi.n, level + 1, gi.bytes, gi.frame);
    }
    free(g);
}

/* A detailed snapshot's tree of what each stack holds (bytes[] by stack id). */
static void heap_tree(const struct tree *t, const uint64_t *bytes, uint64_t total)
{
    const struct model *m = t->m;
    struct entry *e = xmalloc((m->n_stacks ? m->n_stacks : 1) * sizeof *e);
    size_t n = 0;
    for (size_t i = 0; i < m->n_stacks; i++)
        if (bytes[i])
            e[n++] = (struct entry){ (uint32_t)i, bytes[i] };
    struct group *g;
    size_t k = group(t, e, n, 0, &g);
    fprintf(t->out, "n%zu: %llu (heap allocation functions) malloc/new/new[], --alloc-fns, etc.\n", k,
            (unsigned long long)total);
    for (size_t i = 0; i < k; i++)
        node(t, e + g[i].first, g[i].n, 0, g[i].bytes, g[i].frame);
    free(g);
    free(e);
}

static void snapshot(const struct tree *t, unsigned index, uint64_t time_ns, uint64_t heap, const char *kind,
                     const uint64_t *bytes)
{
    fprintf(t->out, "#-----------\nsnapshot=%u\n#-----------\ntime=%llu\nmem_heap_B=%llu\n"
                    "mem_heap_extra_B=0\nmem_stacks_B=0\nheap_tree=%s\n",
            index, (unsigned long long)(time_ns / 1000000), (unsigned long long)heap, kind);
    if (bytes)
        heap_tree(t, bytes, heap);
}

int massif_write(FILE *out, const struct model *m, struct symbolizer *sym)
{
    struct tree t = { out, m, sym };
    fprintf(out, "desc: heapscope %s\ncmd: %s\ntime_unit: ms\n", m->path, m->cmdline ? m->cmdline : "");
    uint64_t *peak = xmalloc((m->n_stacks ? m->n_stacks : 1) * sizeof *peak);
    uint64_t *end = xmalloc((m->n_stacks ? m->n_stacks : 1) * sizeof *end);
    uint64_t end_bytes = 0;
    for (size_t i = 0; i < m->n_stacks; i++) {
        peak[i] = m->stacks[i].peak_bytes;
        end[i] = m->stacks[i].live_bytes > 0 ? (uint64_t)m->stacks[i].live_bytes : 0;
        end_bytes += end[i];
    }
    unsigned index = 0;
    int peak_done = !m->stream_peak_bytes;
    snapshot(&t, index++, 0, 0, "empty", NULL);
    for (size_t i = 0; i < m->n_series; i++) {
        if (!peak_done && m->series[i].time_ns >= m->stream_peak_time_ns) {
            snapshot(&t, index++, m->stream_peak_time_ns, m->stream_peak_bytes, "peak", peak);
            peak_done = 1;
        }
        snapshot(&t, index++, m->series[i].time_ns, m->series[i].live_bytes, "empty", NULL);
    }
    if (!peak_done)
        snapshot(&t, index++, m->stream_peak_time_ns, m->stream_peak_bytes, "peak", peak);
    snapshot(&t, index++, model_duration_ns(m), end_bytes, "detailed", end);
    free(peak);
    free(end);
    return ferror(out) ? -1 : 0;
}
