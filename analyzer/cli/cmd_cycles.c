/*
 * heapscope cycles FILE: groups of blocks that point at each other in a
 * cycle (strongly connected components of the heap graph, including a block
 * that points at itself); for each, whether a root reaches it, its types,
 * and its members with their allocation stacks. Biggest first.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cycles.h"
#include "graph.h"
#include "rc_objects.h"
#include "util.h"

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

/* What the printers share: the snapshot, its graph and cycles. */
struct view {
    const struct model *m;
    const struct graph *g;
    const struct cycles *c;
    struct symbolizer *s;
};

static void member_json(struct json *j, const struct view *v, size_t b)
{
    const struct model *m = v->m;
    json_object(j, NULL);
    json_hex(j, "address", m->blocks[b].addr);
    if (graph_py_refcount(m, b) >= 0) /* a CPython object: where it starts (its id()) */
        json_hex(j, "object", m->blocks[b].addr + graph_object_start(m, b));
    json_u64(j, "size", m->blocks[b].size);
    json_str(j, "type", sym_block_type(v->s, m, b));
    json_str(j, "kind", leak_kind_name(v->g->kind[b]));
    if (v->c->count[b] >= 0) {
        json_i64(j, "count", v->c->count[b]);
        json_u64(j, "references_from_cycle", v->c->inside[b]);
        json_u64(j, "references_found", v->c->found[b]);
    }
    stack_print_json(j, "stack", v->s, m, m->blocks[b].stack_id);
    json_object_end(j);
}

static void cycle_json(struct json *j, const struct view *v, const struct cycle *y, const char **types, size_t nt)
{
    json_object(j, NULL);
    json_u64(j, "blocks", y->n);
    json_u64(j, "bytes", y->bytes);
    json_bool(j, "reachable", y->reachable);
    json_bool(j, "refcounted", y->refcounted);
    if (y->refcounted)
        json_bool(j, "kept_alive_by_cycle_only", y->self_kept);
    else
        json_null(j, "kept_alive_by_cycle_only");
    json_u64(j, "refcount_exceeds_references", y->excess);
    json_array(j, "types");
    for (size_t t = 0; t < nt; t++)
        json_str(j, NULL, types[t]);
    json_array_end(j);
    json_array(j, "members");
    for (size_t i = 0; i < y->n && i < env.members; i++)
        member_json(j, v, v->c->members[y->first + i]);
    json_array_end(j);
    json_object_end(j);
}

static void member_text(const struct view *v, size_t bl)
{
    const struct model *m = v->m;
    const char *t = sym_block_type(v->s, m, bl);
    printf("  0x%llx, %llu bytes%s%s, %s", (unsigned long long)m->blocks[bl].addr,
           (unsigned long long)m->blocks[bl].size, t ? ", " : "", t ? t : "", leak_kind_name(v->g->kind[bl]));
    if (v->c->count[bl] >= 0)
        printf(", count %lld (%u from the cycle, %u found)", (long long)v->c->count[bl], v->c->inside[bl],
               v->c->found[bl]);
    putchar('\n');
    stack_print_text(stdout, v->s, m, m->blocks[bl].stack_id, "      ");
}

static void cycle_text(const struct view *v, const struct cycle *y, const char **types, size_t nt, int first)
{
    char a[32], b[32];
    printf("%scycle of %s block%s, %s bytes, %s", first ? "" : "\n", fmt_count(a, y->n),
           y->n == 1 ? " (points at itself)" : "s", fmt_count(b, y->bytes),
           y->reachable ? "reachable from a root" : "unreachable (leaked)");
    for (size_t t = 0; t < nt; t++)
        printf("%s%s", t ? ", " : "; types ", types[t]);
    if (y->excess)
        printf("; %zu member%s with a refcount above every reference found (a reference never released)",
               y->excess, y->excess == 1 ? "" : "s");
    else if (y->refcounted && y->self_kept)
        printf(v->m->py ? "; refcounts explained by the cycle alone: garbage for the cyclic collector"
                        : "; refcounted, kept alive by the cycle alone");
    else if (y->refcounted)
        printf("; refcounted, some counts come from outside the cycle");
    putchar('\n');
    for (size_t i = 0; i < y->n && i < env.members; i++)
        member_text(v, v->c->members[y->first + i]);
    if (y->n > env.members)
        printf("  (%llu more members; --members N shows more)\n", (unsigned long long)(y->n - env.members));
}

static void print_cycles(const struct view *v)
{
    struct json j;
    json_init(&j, stdout);
    if (env.common.format == OUT_JSON) {
        json_object(&j, NULL);
        json_str(&j, "snapshot", v->m->snapshot->name);
        json_array(&j, "cycles");
    }
    size_t shown = 0;
    for (size_t k = 0; k < v->c->n; k++) {
        const struct cycle *y = &v->c->cy[k];
        if (env.lost && y->reachable)
            continue;
        const char *types[16];
        size_t nt = cycle_types(v->s, v->m, v->c->members + y->first, y->n, types, 16);
        if (env.common.format == OUT_JSON)
            cycle_json(&j, v, y, types, nt);
        else
            cycle_text(v, y, types, nt, shown == 0);
        shown++;
    }
    if (env.common.format == OUT_JSON) {
        json_array_end(&j);
        json_object_end(&j);
    } else if (!shown) {
        printf("no cycles in snapshot %s\n", v->m->snapshot->name);
    }
}

static int cycles_main(int argc, char **argv)
{
    (void)argc;
    struct model m;
    struct graph g;
    if (cli_load_graph(&m, &g, argv[0], &env.common, 1) != 0)
        return EXIT_TRACE_ERROR;
    struct rc_objects rc;
    struct cycles c;
    rc_objects_build(&rc, &m);
    cycles_build(&c, &g, &rc);
    struct view v = { &m, &g, &c, sym_open(&m) };
    print_cycles(&v);
    cli_sym_close(v.s);
    cycles_free(&c);
    rc_objects_free(&rc);
    graph_free(&g);
    model_free(&m);
    return 0;
}

static const struct opt options[] = {
    OPT_COMMON(&env.common),
    OPT_BOOL(0, "lost", &env.lost, "only the cycles no root reaches (leaked)"),
    OPT_NUM(0, "members", &env.members, "N", "show at most N members of each cycle (default 100)"),
    OPT_TERMINATOR,
};

const struct command command_cycles = {
    .name = "cycles", .args = "FILE", .min_args = 1, .max_args = 1, .options = options, .main = cycles_main,
    .summary = "blocks that point at each other in a cycle, reachable or leaked",
};
