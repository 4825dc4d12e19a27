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

static int by_content(const void *a, const void *b)
{
    const struct model_block *x = &sort_model->blocks[*(const size_t *)a];
    const struct model_block *y = &sort_model->blocks[*(const size_t *)b];
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->addr < y->addr ? -1 : 1;
}

static struct {
    struct common_opts common;
    const char *type;
    uint64_t limit;
} env = { COMMON_OPTS_INIT, NULL, 100 };

static int aliases_main(int argc, char **argv)
{
    (void)argc;
    const char *path = argv[0], *type = env.type;
    const struct common_opts o = env.common;
    uint64_t limit = env.limit;
    struct model m;
    struct graph g;
    if (cli_load_graph(&m, &g, path, &o, 0) != 0)
        return EXIT_TRACE_ERROR;
    struct symbolizer *s = sym_open(&m);
    size_t n = m.n_blocks, n_shared = 0, n_dup = 0;
    size_t *idx = xmalloc((n ? n : 1) * sizeof *idx);

    /* shared: two or more referrers */
    for (size_t i = 0; i < n; i++) {
        if (g.in_start[i + 1] - g.in_start[i] < 2)
            continue;
        if (type) {
            const char *t = sym_block_type(s, &m, i);
            if (!t || strcmp(t, type) != 0)
                continue;
        }
        idx[n_shared++] = i;
    }
    sort_graph = &g;
    qsort(idx, n_shared, sizeof *idx, by_referrers);

    struct json j;
    json_init(&j, stdout);
    if (o.format == OUT_JSON) {
        json_object(&j, NULL);
        json_str(&j, "snapshot", m.snapshot->name);
        json_u64(&j, "shared_total", n_shared);
        json_array(&j, "shared");
    } else {
        printf("%zu block%s referred to from two or more places%s\n", n_shared, n_shared == 1 ? "" : "s",
               n_shared > limit ? " (the most referred first)" : "");
    }
    for (size_t k = 0; k < n_shared && k < limit; k++) {
        size_t t = idx[k];
        if (o.format == OUT_JSON) {
            json_object(&j, NULL);
            block_json(&j, "target", s, &m, t);
            json_array(&j, "referrers");
        } else {
            const char *ty = sym_block_type(s, &m, t);
            printf("\n0x%llx, %llu bytes%s%s, %u referrers:\n", (unsigned long long)m.blocks[t].addr,
                   (unsigned long long)m.blocks[t].size, ty ? ", " : "", ty ? ty : "",
                   g.in_start[t + 1] - g.in_start[t]);
        }
        for (uint32_t e = g.in_start[t]; e < g.in_start[t + 1]; e++) {
            const struct model_edge *me = &m.edges[g.in[e]];
            if (o.format == OUT_JSON) {
                json_object(&j, NULL);
                if (me->src_is_root) {
                    json_hex(&j, "address", m.roots[me->src].start + me->src_off);
                    json_u64(&j, "offset", me->src_off);
                    json_null(&j, "block");
                    root_json(&j, "root", s, &m, me->src, me->src_off);
                } else {
                    json_hex(&j, "address", m.blocks[me->src].addr + me->src_off);
                    json_u64(&j, "offset", me->src_off);
                    json_hex(&j, "block", m.blocks[me->src].addr);
                    json_null(&j, "root");
                }
                json_u64(&j, "target_offset", me->dst_off);
                json_object_end(&j);
            } else if (me->src_is_root) {
                char root[512];
                root_text(root, sizeof root, s, &m, me->src, me->src_off);
                printf("  %s\n", root);
            } else {
                printf("  block 0x%llx at offset %llu\n", (unsigned long long)m.blocks[me->src].addr,
                       (unsigned long long)me->src_off);
            }
        }
        if (o.format == OUT_JSON) {
            json_array_end(&j);
            json_object_end(&j);
        }
    }

    /* duplicates: equal size and contents */
    for (size_t i = 0; i < n; i++)
        if (m.blocks[i].size && !(m.blocks[i].flags & FMT_BLOCK_IGNORED))
            idx[n_dup++] = i;
    sort_model = &m;
    qsort(idx, n_dup, sizeof *idx, by_content);
    if (o.format == OUT_JSON) {
        json_array_end(&j);
        json_array(&j, "duplicates");
    } else {
        printf("\nblocks with equal contents (equal, not identical):\n");
    }
    size_t groups = 0;
    for (size_t i = 0; i < n_dup;) {
        size_t k = i + 1;
        while (k < n_dup && m.blocks[idx[k]].size == m.blocks[idx[i]].size &&
               m.blocks[idx[k]].hash == m.blocks[idx[i]].hash)
            k++;
        int typed_ok = !type; /* a group matches --type if any member has it */
        for (size_t q = i; q < k && !typed_ok; q++) {
            const char *t = sym_block_type(s, &m, idx[q]);
            typed_ok = t && strcmp(t, type) == 0;
        }
        if (k - i >= 2 && typed_ok && groups++ < limit) {
            if (o.format == OUT_JSON) {
                json_object(&j, NULL);
                json_u64(&j, "size", m.blocks[idx[i]].size);
                json_u64(&j, "count", k - i);
                json_array(&j, "blocks");
                for (size_t q = i; q < k; q++)
                    json_hex(&j, NULL, m.blocks[idx[q]].addr);
                json_array_end(&j);
                json_object_end(&j);
            } else {
                printf("  %zu blocks of %llu bytes:", k - i, (unsigned long long)m.blocks[idx[i]].size);
                for (size_t q = i; q < k && q < i + 8; q++)
                    printf(" 0x%llx", (unsigned long long)m.blocks[idx[q]].addr);
                printf(k - i > 8 ? " ...\n" : "\n");
            }
        }
        i = k;
    }
    if (o.format == OUT_JSON) {
        json_array_end(&j);
        json_u64(&j, "duplicate_groups", groups);
        json_object_end(&j);
    } else if (!groups) {
        printf("  none\n");
    }
    cli_sym_close(s);
    free(idx);
    graph_free(&g);
    model_free(&m);
    return 0;
}

static const struct opt options[] = {
    OPT_FORMAT(&env.common),
    OPT_SNAPSHOT(&env.common),
    OPT_HEURISTICS(&env.common.heuristics),
    OPT_STR(0, "type", &env.type, "TYPE", "only blocks of this type (tag or C++ class)"),
    OPT_NUM(0, "limit", &env.limit, "N", "show at most N blocks and N groups (default 100)"),
    OPT_TERMINATOR,
};

const struct command command_aliases = {
    .name = "aliases", .args = "FILE", .min_args = 1, .max_args = 1, .options = options, .main = aliases_main,
    .summary = "blocks pointed at from two or more places; blocks with equal contents",
};
