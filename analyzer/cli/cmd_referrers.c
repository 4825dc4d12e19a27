/*
 * heapscope referrers FILE --addr A | --type T | --site FUNC: who points at a
 * block: its direct referrers (blocks with the offset of the pointer, or
 * roots named by symbol, thread or register), and the shortest chains from a
 * root to it, one through each direct referrer that a root reaches.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graph.h"
#include "util.h"

#define CHAINS_MAX 5

/* The options: which blocks (one of the three), and how many at most. */
static struct query {
    struct common_opts common;
    int by_addr;
    uint64_t addr, limit;
    const char *type, *site;
} env = { .common = COMMON_OPTS_INIT, .limit = 10 };

/* Does block i match the query? */
static int matches(const struct query *q, struct symbolizer *s, const struct model *m, size_t i)
{
    if (q->by_addr)
        return graph_block_at(m, q->addr) == (ssize_t)i;
    if (q->type) {
        const char *t = sym_block_type(s, m, i);
        return t && strcmp(t, q->type) == 0;
    }
    const struct sym_frame *f;
    size_t n = sym_site(s, m, m->blocks[i].stack_id, &f);
    for (size_t k = 0; k < n; k++)
        if (f[k].function && strcmp(f[k].function, q->site) == 0)
            return 1;
    return 0;
}

struct ctx {
    const struct model *m;
    const struct graph *g;
    struct symbolizer *s;
    const uint32_t *parent, *depth;
};

/* The chain from a root to block b through edge `last` (b's referrer):
 * collected backwards by parent edges, written forwards. */
static size_t chain_edges(const struct ctx *c, uint32_t last, uint32_t *out, size_t room)
{
    size_t n = 0;
    uint32_t e = last;
    while (n < room) {
        out[n++] = e;
        const struct model_edge *me = &c->m->edges[e];
        if (me->src_is_root)
            break;
        uint32_t p = c->parent[me->src];
        if (p == UINT32_MAX) /* an hs_ignore'd block: a root of its own */
            break;
        e = p;
    }
    return n;
}

static void chain_json(struct json *j, const struct ctx *c, uint32_t last)
{
    uint32_t edges[4096];
    size_t n = chain_edges(c, last, edges, 4096);
    const struct model_edge *first = &c->m->edges[edges[n - 1]];
    json_object(j, NULL);
    if (first->src_is_root) {
        root_json(j, "root", c->s, c->m, first->src, first->src_off);
    } else {
        json_object(j, "root");
        json_str(j, "kind", "ignored");
        json_hex(j, "address", c->m->blocks[first->src].addr);
        json_object_end(j);
    }
    json_array(j, "path");
    if (!first->src_is_root) { /* the ignored block starts the path */
        json_object(j, NULL);
        json_hex(j, "address", c->m->blocks[first->src].addr);
        json_null(j, "offset");
        json_u64(j, "size", c->m->blocks[first->src].size);
        json_str(j, "type", sym_block_type(c->s, c->m, first->src));
        json_object_end(j);
    }
    for (size_t k = n; k-- > 0;) {
        const struct model_edge *e = &c->m->edges[edges[k]];
        const struct model_block *b = &c->m->blocks[e->dst];
        json_object(j, NULL);
        json_hex(j, "address", b->addr);
        json_u64(j, "offset", e->src_off); /* where in its referrer the pointer sits */
        json_u64(j, "size", b->size);
        json_str(j, "type", sym_block_type(c->s, c->m, e->dst));
        json_object_end(j);
    }
    json_array_end(j);
    json_object_end(j);
}

static void chain_text(const struct ctx *c, uint32_t last)
{
    uint32_t edges[4096];
    size_t n = chain_edges(c, last, edges, 4096);
    const struct model_edge *first = &c->m->edges[edges[n - 1]];
    char root[512];
    if (first->src_is_root)
        root_text(root, sizeof root, c->s, c->m, first->src, first->src_off);
    else
        snprintf(root, sizeof root, "ignored block 0x%llx", (unsigned long long)c->m->blocks[first->src].addr);
    printf("    %s", root);
    for (size_t k = n; k-- > 0;) {
        const struct model_edge *e = &c->m->edges[edges[k]];
        const char *t = sym_block_type(c->s, c->m, e->dst);
        /* the root's hop: where in the global, as its name above says */
        uint64_t at = e->src_is_root ? root_offset(c->s, c->m, e->src, e->src_off) : e->src_off;
        printf("\n      -> [+%llu] 0x%llx (%llu bytes%s%s)", (unsigned long long)at,
               (unsigned long long)c->m->blocks[e->dst].addr, (unsigned long long)c->m->blocks[e->dst].size,
               t ? ", " : "", t ? t : "");
    }
    putchar('\n');
}

/* The chains to target: through each referrer a root reaches, shortest first. */
/* How a chain through edge e ranks: a plain reference (to the target's
 * start, or to a place a chosen rule explains) before a stray interior
 * word, then the shallower first. */
static uint64_t chain_rank(const struct ctx *c, const struct model_edge *e)
{
    int stray = e->dst_off && !(e->rules & c->g->heuristics & HEURISTICS_ALL);
    return (uint64_t)stray << 32 | (e->src_is_root ? 0 : c->depth[e->src]);
}

static size_t chains_of(const struct ctx *c, size_t target, uint32_t *out)
{
    size_t n = 0;
    for (uint32_t k = c->g->in_start[target]; k < c->g->in_start[target + 1]; k++) {
        const struct model_edge *e = &c->m->edges[c->g->in[k]];
        if (!e->src_is_root && (c->depth[e->src] == UINT32_MAX || e->src == target))
            continue; /* not reached from a root, or the block itself */
        uint64_t r = chain_rank(c, e);
        size_t at = n < CHAINS_MAX ? n++ : CHAINS_MAX;
        while (at > 0 && chain_rank(c, &c->m->edges[out[at - 1]]) > r) { /* insertion by rank */
            if (at < CHAINS_MAX)
                out[at] = out[at - 1];
            at--;
        }
        if (at < CHAINS_MAX)
            out[at] = c->g->in[k];
    }
    return n;
}

static void target_json(struct json *j, const struct ctx *c, size_t t)
{
    block_json(j, "target", c->s, c->m, t);
    json_str(j, "kind", leak_kind_name(c->g->kind[t]));
    json_array(j, "referrers");
    for (uint32_t k = c->g->in_start[t]; k < c->g->in_start[t + 1]; k++)
        referrer_json(j, c->s, c->m, &c->m->edges[c->g->in[k]], 1);
    json_array_end(j);
    uint32_t chains[CHAINS_MAX];
    size_t n = chains_of(c, t, chains);
    json_array(j, "chains");
    for (size_t k = 0; k < n; k++)
        chain_json(j, c, chains[k]);
    json_array_end(j);
}

static void target_text(const struct ctx *c, size_t t)
{
    const struct model_block *b = &c->m->blocks[t];
    const char *type = sym_block_type(c->s, c->m, t);
    printf("block 0x%llx, %llu bytes%s%s, %s, allocated\n", (unsigned long long)b->addr,
           (unsigned long long)b->size, type ? ", type " : "", type ? type : "",
           leak_kind_name(c->g->kind[t]));
    stack_print_text(stdout, c->s, c->m, b->stack_id, "    ");
    printf("  referrers:\n");
    if (c->g->in_start[t] == c->g->in_start[t + 1])
        printf("    none\n");
    for (uint32_t k = c->g->in_start[t]; k < c->g->in_start[t + 1]; k++) {
        const struct model_edge *e = &c->m->edges[c->g->in[k]];
        char root[512];
        if (e->src_is_root) {
            root_text(root, sizeof root, c->s, c->m, e->src, e->src_off);
            printf("    %s", root);
        } else {
            const char *st = sym_block_type(c->s, c->m, e->src);
            printf("    block 0x%llx+%llu (%llu bytes%s%s)", (unsigned long long)c->m->blocks[e->src].addr,
                   (unsigned long long)e->src_off, (unsigned long long)c->m->blocks[e->src].size,
                   st ? ", " : "", st ? st : "");
        }
        printf(e->dst_off ? " -> +%llu (interior)\n" : "\n", (unsigned long long)e->dst_off);
    }
    uint32_t chains[CHAINS_MAX];
    size_t n = chains_of(c, t, chains);
    printf("  shortest chains from roots:%s\n", n ? "" : " none (not reachable)");
    for (size_t k = 0; k < n; k++)
        chain_text(c, chains[k]);
}

static int referrers_main(int argc, char **argv)
{
    (void)argc;
    const char *path = argv[0];
    const struct query *q = &env;
    const struct common_opts o = env.common;
    if (!!q->by_addr + !!q->type + !!q->site != 1)
        return opt_error(NULL, "needs one of --addr, --type and --site, and only one");
    struct model m;
    struct graph g;
    if (cli_load_graph(&m, &g, path, &o, 0) != 0)
        return EXIT_TRACE_ERROR;
    uint32_t *parent = xmalloc((m.n_blocks ? m.n_blocks : 1) * sizeof *parent);
    uint32_t *depth = xmalloc((m.n_blocks ? m.n_blocks : 1) * sizeof *depth);
    graph_bfs(&g, parent, depth);
    struct ctx cx = { &m, &g, sym_open(&m), parent, depth };
    size_t found = 0;
    struct json j;
    json_init(&j, stdout);
    if (o.format == OUT_JSON) {
        json_object(&j, NULL);
        json_array(&j, "targets");
    }
    for (size_t i = 0; i < m.n_blocks; i++) {
        if (!matches(q, cx.s, &m, i))
            continue;
        if (found++ >= q->limit)
            continue;
        if (o.format == OUT_JSON) {
            json_object(&j, NULL);
            target_json(&j, &cx, i);
            json_object_end(&j);
        } else {
            if (found > 1)
                putchar('\n');
            target_text(&cx, i);
        }
    }
    if (o.format == OUT_JSON) {
        json_array_end(&j);
        json_u64(&j, "matched", found);
        json_object_end(&j);
    } else if (found > q->limit) {
        printf("\n(%llu more blocks match; --limit N shows more)\n", (unsigned long long)(found - q->limit));
    }
    int status = 0;
    if (!found)
        status = cli_error("no block matches in snapshot %s", m.snapshot->name);
    cli_sym_close(cx.s);
    free(parent);
    free(depth);
    graph_free(&g);
    model_free(&m);
    return status;
}

static const struct opt options[] = {
    OPT_COMMON(&env.common),
    OPT_ADDR(0, "addr", &env.addr, "ADDR", "the block holding this address", .given = &env.by_addr),
    OPT_STR(0, "type", &env.type, "TYPE", "the blocks of this type (tag or C++ class)"),
    OPT_STR(0, "site", &env.site, "FUNCTION", "the blocks allocated in this function"),
    OPT_NUM(0, "limit", &env.limit, "N", "show at most N blocks (default 10)"),
    OPT_TERMINATOR,
};

const struct command command_referrers = {
    .name = "referrers", .args = "FILE", .min_args = 1, .max_args = 1, .options = options,
    .main = referrers_main,
    .summary = "who points at a block, and the shortest chains from roots",
    .about = "One of --addr, --type and --site picks the blocks.\n"
             "example: heapscope referrers --type Node heapscope.myprog.1234.hst\n",
};
