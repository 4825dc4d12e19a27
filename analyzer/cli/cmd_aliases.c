/*
 * heapscope aliases FILE: shared references (blocks pointed at from two or
 * more places, each referrer as block and offset, or root) and duplicates
 * (blocks of equal size and equal contents: equal, but not identical).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graph.h"
#include "util.h"

static const struct graph *sort_graph;

static int by_referrers(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    uint32_t nx = sort_graph->in_start[x + 1] - sort_graph->in_start[x];
    uint32_t ny = sort_graph->in_start[y + 1] - sort_graph->in_start[y];
    if (nx != ny)
        return nx > ny ? -1 : 1;
    return (x > y) - (x < y);
}

static const struct model *sort_model;

/* What makes two blocks equal: their contents, or for a CPython list or
 * tuple its items (its header, refcount and item pointer are its own). */
static uint64_t content(const struct model *m, size_t b)
{
    return m->py && m->py[b].value ? m->py[b].value : m->blocks[b].hash;
}

static int by_content(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, k = *(const size_t *)b;
    const struct model_block *x = &sort_model->blocks[i], *y = &sort_model->blocks[k];
    uint64_t cx = content(sort_model, i), cy = content(sort_model, k);
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    if (cx != cy)
        return cx < cy ? -1 : 1;
    return x->addr < y->addr ? -1 : 1;
}

static struct {
    struct common_opts common;
    const char *type;
    uint64_t limit;
} env = { COMMON_OPTS_INIT, NULL, 100 };

/* What the printers share. */
struct view {
    const struct model *m;
    const struct graph *g;
    struct symbolizer *s;
    struct json j;
};

static int has_type(const struct view *v, size_t b)
{
    const char *t = sym_block_type(v->s, v->m, b);
    return !env.type || (t && strcmp(t, env.type) == 0);
}

/* The blocks with two or more referrers, the most referred first. */
static size_t shared_blocks(const struct view *v, size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < v->m->n_blocks; i++)
        if (v->g->in_start[i + 1] - v->g->in_start[i] >= 2 && has_type(v, i))
            idx[n++] = i;
    sort_graph = v->g;
    qsort(idx, n, sizeof *idx, by_referrers);
    return n;
}

static void shared_json(struct view *v, size_t t)
{
    const struct graph *g = v->g;
    json_object(&v->j, NULL);
    block_json(&v->j, "target", v->s, v->m, t);
    json_array(&v->j, "referrers");
    for (uint32_t e = g->in_start[t]; e < g->in_start[t + 1]; e++)
        referrer_json(&v->j, v->s, v->m, &v->m->edges[g->in[e]], 0);
    json_array_end(&v->j);
    json_object_end(&v->j);
}

static void shared_text(const struct view *v, size_t t)
{
    const struct model *m = v->m;
    const struct graph *g = v->g;
    const char *ty = sym_block_type(v->s, m, t);
    printf("\n0x%llx, %llu bytes%s%s, %u referrers:\n", (unsigned long long)m->blocks[t].addr,
           (unsigned long long)m->blocks[t].size, ty ? ", " : "", ty ? ty : "", g->in_start[t + 1] - g->in_start[t]);
    for (uint32_t e = g->in_start[t]; e < g->in_start[t + 1]; e++) {
        const struct model_edge *me = &m->edges[g->in[e]];
        char root[512];
        if (me->src_is_root) {
            root_text(root, sizeof root, v->s, m, me->src, me->src_off);
            printf("  %s\n", root);
        } else {
            printf("  block 0x%llx at offset %llu\n", (unsigned long long)m->blocks[me->src].addr,
                   (unsigned long long)me->src_off);
        }
    }
}

static void print_shared(struct view *v, const size_t *idx, size_t n_shared)
{
    if (env.common.format == OUT_JSON) {
        json_str(&v->j, "snapshot", v->m->snapshot->name);
        json_u64(&v->j, "shared_total", n_shared);
        json_array(&v->j, "shared");
    } else {
        printf("%zu block%s referred to from two or more places%s\n", n_shared, n_shared == 1 ? "" : "s",
               n_shared > env.limit ? " (the most referred first)" : "");
    }
    for (size_t k = 0; k < n_shared && k < env.limit; k++) {
        if (env.common.format == OUT_JSON)
            shared_json(v, idx[k]);
        else
            shared_text(v, idx[k]);
    }
    if (env.common.format == OUT_JSON)
        json_array_end(&v->j);
}

/* One group of equal blocks, idx[0 .. n). */
static void duplicates_group(struct view *v, const size_t *idx, size_t n)
{
    const struct model *m = v->m;
    if (env.common.format == OUT_JSON) {
        json_object(&v->j, NULL);
        json_u64(&v->j, "size", m->blocks[idx[0]].size);
        json_u64(&v->j, "count", n);
        json_array(&v->j, "blocks");
        for (size_t q = 0; q < n; q++)
            json_hex(&v->j, NULL, m->blocks[idx[q]].addr);
        json_array_end(&v->j);
        json_object_end(&v->j);
        return;
    }
    printf("  %zu blocks of %llu bytes:", n, (unsigned long long)m->blocks[idx[0]].size);
    for (size_t q = 0; q < n && q < 8; q++)
        printf(" 0x%llx", (unsigned long long)m->blocks[idx[q]].addr);
    printf(n > 8 ? " ...\n" : "\n");
}

/* Duplicates: blocks of equal size and contents (a group matches --type if
 * any member has it). */
static void print_duplicates(struct view *v, size_t *idx)
{
    const struct model *m = v->m;
    size_t n_dup = 0, groups = 0;
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i].size && !(m->blocks[i].flags & FMT_BLOCK_IGNORED))
            idx[n_dup++] = i;
    sort_model = m;
    qsort(idx, n_dup, sizeof *idx, by_content);
    if (env.common.format == OUT_JSON)
        json_array(&v->j, "duplicates");
    else
        printf("\nblocks with equal contents (equal, not identical):\n");
    for (size_t i = 0, k; i < n_dup; i = k) {
        int typed_ok = !env.type;
        for (k = i; k < n_dup && m->blocks[idx[k]].size == m->blocks[idx[i]].size &&
                    content(m, idx[k]) == content(m, idx[i]); k++)
            typed_ok = typed_ok || has_type(v, idx[k]);
        if (k - i >= 2 && typed_ok && groups++ < env.limit)
            duplicates_group(v, idx + i, k - i);
    }
    if (env.common.format == OUT_JSON) {
        json_array_end(&v->j);
        json_u64(&v->j, "duplicate_groups", groups);
    } else if (!groups) {
        printf("  none\n");
    }
}

static int aliases_main(int argc, char **argv)
{
    (void)argc;
    struct model m;
    struct graph g;
    if (cli_load_graph(&m, &g, argv[0], &env.common, 0) != 0)
        return EXIT_TRACE_ERROR;
    struct view v = { .m = &m, .g = &g, .s = sym_open(&m) };
    size_t *idx = xmalloc((m.n_blocks ? m.n_blocks : 1) * sizeof *idx);
    json_init(&v.j, stdout);
    if (env.common.format == OUT_JSON)
        json_object(&v.j, NULL);
    print_shared(&v, idx, shared_blocks(&v, idx));
    print_duplicates(&v, idx);
    if (env.common.format == OUT_JSON)
        json_object_end(&v.j);
    cli_sym_close(v.s);
    free(idx);
    graph_free(&g);
    model_free(&m);
    return 0;
}

static const struct opt options[] = {
    OPT_COMMON(&env.common),
    OPT_STR(0, "type", &env.type, "TYPE", "only blocks of this type (tag or C++ class)"),
    OPT_NUM(0, "limit", &env.limit, "N", "show at most N blocks and N groups (default 100)"),
    OPT_TERMINATOR,
};

const struct command command_aliases = {
    .name = "aliases", .args = "FILE", .min_args = 1, .max_args = 1, .options = options, .main = aliases_main,
    .summary = "blocks pointed at from two or more places; blocks with equal contents",
};
