/*
 * heapscope cycles FILE: groups of blocks that point at each other in a
 * cycle (strongly connected components of the heap graph, including a block
 * that points at itself); for each, whether a root reaches it, its types,
 * and its members with their allocation stacks. Biggest first.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graph.h"
#include "rc_objects.h"
#include "util.h"

struct cycle {
    size_t first;   /* index into the member list */
    size_t n;
    uint64_t bytes;
    int reachable;
    int refcounted; /* every member is a live refcounted object */
    int self_kept;  /* ... and each count is explained by pointers from inside */
};

/* For refcounted members: the count at the snapshot, and how many pointers
 * to the member's start come from the cycle's own members. */
static void refcount_facts(const struct graph *g, const struct rc_objects *rc, const int32_t *comp,
                           const size_t *members, struct cycle *y, int64_t *count, uint32_t *inside)
{
    const struct model *m = g->m;
    y->refcounted = rc->n > 0;
    y->self_kept = y->refcounted;
    for (size_t i = 0; i < y->n; i++) {
        size_t b = members[y->first + i];
        count[b] = rc->n ? rc_count_at(rc, m, m->blocks[b].addr, m->snapshot->rc_seq) : -1;
        inside[b] = 0;
        for (uint32_t k = g->in_start[b]; k < g->in_start[b + 1]; k++) {
            const struct model_edge *e = &m->edges[g->in[k]];
            if (!e->src_is_root && e->dst_off == 0 && comp[e->src] == comp[b])
                inside[b]++;
        }
        if (count[b] < 0)
            y->refcounted = y->self_kept = 0;
        else if (count[b] != (int64_t)inside[b])
            y->self_kept = 0;
    }
}

static int by_bytes(const void *a, const void *b)
{
    const struct cycle *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->first < y->first ? -1 : 1;
}

/* The distinct types of a cycle's members, in member order. */
static size_t cycle_types(struct symbolizer *s, const struct model *m, const size_t *members, size_t n,
                          const char **out, size_t room)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = sym_block_type(s, m, members[i]);
        int seen = !t;
        for (size_t j = 0; j < k && !seen; j++)
            seen = strcmp(out[j], t) == 0;
        if (!seen && k < room)
            out[k++] = t;
    }
    return k;
}

static struct {
    struct common_opts common;
    uint64_t members; /* the most members shown of each cycle */
    int lost;         /* only cycles no root reaches */
} env = { COMMON_OPTS_INIT, 100, 0 };

static int cycles_main(int argc, char **argv)
{
    (void)argc;
    const char *path = argv[0];
    struct common_opts o = env.common;
    int lost_only = env.lost;
    uint64_t max_members = env.members;
    struct model m;
    struct graph g;
    if (cli_load_graph(&m, &g, path, &o, 1) != 0)
        return EXIT_TRACE_ERROR;
    size_t n = m.n_blocks;
    int32_t *comp = xmalloc((n ? n : 1) * sizeof *comp);
    size_t ncomp = graph_cycles(&g, comp);
    /* members grouped by component, in address order within each */
    struct cycle *cy = xcalloc(ncomp ? ncomp : 1, sizeof *cy);
    for (size_t i = 0; i < n; i++)
        if (comp[i] >= 0)
            cy[comp[i]].n++;
    size_t at = 0;
    for (size_t k = 0; k < ncomp; k++) {
        cy[k].first = at;
        at += cy[k].n;
        cy[k].n = 0;
    }
    size_t *members = xmalloc((at ? at : 1) * sizeof *members);
    for (size_t i = 0; i < n; i++) {
        if (comp[i] < 0)
            continue;
        struct cycle *y = &cy[comp[i]];
        members[y->first + y->n++] = i;
        y->bytes += m.blocks[i].size;
        if (g.kind[i] == KIND_STILL_REACHABLE || g.kind[i] == KIND_POSSIBLY_LOST || g.kind[i] == KIND_IGNORED)
            y->reachable = 1;
    }
    struct rc_objects rc;
    rc_objects_build(&rc, &m);
    int64_t *count = xmalloc((n ? n : 1) * sizeof *count);
    uint32_t *inside = xmalloc((n ? n : 1) * sizeof *inside);
    for (size_t k = 0; k < ncomp; k++)
        refcount_facts(&g, &rc, comp, members, &cy[k], count, inside);
    qsort(cy, ncomp, sizeof *cy, by_bytes);
    struct symbolizer *s = sym_open(&m);
    struct json j;
    json_init(&j, stdout);
    if (o.format == OUT_JSON) {
        json_object(&j, NULL);
        json_str(&j, "snapshot", m.snapshot->name);
        json_array(&j, "cycles");
    }
    size_t shown = 0;
    for (size_t k = 0; k < ncomp; k++) {
        const struct cycle *y = &cy[k];
        if (lost_only && y->reachable)
            continue;
        shown++;
        const char *types[16];
        size_t nt = cycle_types(s, &m, members + y->first, y->n, types, 16);
        if (o.format == OUT_JSON) {
            json_object(&j, NULL);
            json_u64(&j, "blocks", y->n);
            json_u64(&j, "bytes", y->bytes);
            json_bool(&j, "reachable", y->reachable);
            json_bool(&j, "refcounted", y->refcounted);
            if (y->refcounted)
                json_bool(&j, "kept_alive_by_cycle_only", y->self_kept);
            else
                json_null(&j, "kept_alive_by_cycle_only");
            json_array(&j, "types");
            for (size_t t = 0; t < nt; t++)
                json_str(&j, NULL, types[t]);
            json_array_end(&j);
            json_array(&j, "members");
            for (size_t i = 0; i < y->n && i < max_members; i++) {
                size_t b = members[y->first + i];
                json_object(&j, NULL);
                json_hex(&j, "address", m.blocks[b].addr);
                json_u64(&j, "size", m.blocks[b].size);
                json_str(&j, "type", sym_block_type(s, &m, b));
                json_str(&j, "kind", leak_kind_name(g.kind[b]));
                if (count[b] >= 0) {
                    json_i64(&j, "count", count[b]);
                    json_u64(&j, "references_from_cycle", inside[b]);
                }
                stack_print_json(&j, "stack", s, &m, m.blocks[b].stack_id);
                json_object_end(&j);
            }
            json_array_end(&j);
            json_object_end(&j);
        } else {
            char a[32], b[32];
            printf("%scycle of %s block%s, %s bytes, %s", shown > 1 ? "\n" : "", fmt_count(a, y->n),
                   y->n == 1 ? " (points at itself)" : "s", fmt_count(b, y->bytes),
                   y->reachable ? "reachable from a root" : "unreachable (leaked)");
            for (size_t t = 0; t < nt; t++)
                printf("%s%s", t ? ", " : "; types ", types[t]);
            if (y->refcounted)
                printf(y->self_kept ? "; refcounted, kept alive by the cycle alone"
                                    : "; refcounted, some counts come from outside the cycle");
            putchar('\n');
            for (size_t i = 0; i < y->n && i < max_members; i++) {
                size_t bl = members[y->first + i];
                const char *t = sym_block_type(s, &m, bl);
                printf("  0x%llx, %llu bytes%s%s, %s", (unsigned long long)m.blocks[bl].addr,
                       (unsigned long long)m.blocks[bl].size, t ? ", " : "", t ? t : "",
                       leak_kind_name(g.kind[bl]));
                if (count[bl] >= 0)
                    printf(", count %lld (%u from the cycle)", (long long)count[bl], inside[bl]);
                putchar('\n');
                stack_print_text(stdout, s, &m, m.blocks[bl].stack_id, "      ");
            }
            if (y->n > max_members)
                printf("  (%llu more members; --members N shows more)\n", (unsigned long long)(y->n - max_members));
        }
    }
    if (o.format == OUT_JSON) {
        json_array_end(&j);
        json_object_end(&j);
    } else if (!shown) {
        printf("no cycles in snapshot %s\n", m.snapshot->name);
    }
    cli_sym_close(s);
    rc_objects_free(&rc);
    free(count);
    free(inside);
    free(members);
    free(cy);
    free(comp);
    graph_free(&g);
    model_free(&m);
    return 0;
}

static const struct opt options[] = {
    OPT_FORMAT(&env.common),
    OPT_SNAPSHOT(&env.common),
    OPT_HEURISTICS(&env.common.heuristics),
    OPT_BOOL(0, "lost", &env.lost, "only the cycles no root reaches (leaked)"),
    OPT_NUM(0, "members", &env.members, "N", "show at most N members of each cycle (default 100)"),
    OPT_TERMINATOR,
};

const struct command command_cycles = {
    .name = "cycles", .args = "FILE", .min_args = 1, .max_args = 1, .options = options, .main = cycles_main,
    .summary = "blocks that point at each other in a cycle, reachable or leaked",
};
