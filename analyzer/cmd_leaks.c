/*
 * heapscope leaks FILE: the blocks live at a snapshot (exit by default),
 * classified by reachability into valgrind's kinds, grouped by kind and
 * allocation stack, biggest first. A snapshot without the heap graph
 * (HEAPSCOPE_SCAN=0) can only say "not_freed".
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graph.h"
#include "util.h"

#define KIND_NOT_FREED KIND_COUNT /* unscanned snapshot */

struct record {
    unsigned kind;
    uint32_t stack_id;
    uint64_t bytes, blocks, indirect;
    const char *type; /* shared by all its blocks, else NULL */
    size_t first;     /* a block of the record */
};

struct leaks {
    const struct model *m;
    const uint8_t *kind; /* per block, or NULL when unscanned */
    const uint64_t *indirect;
    struct symbolizer *sym;
    uint64_t bytes[KIND_COUNT + 1], blocks[KIND_COUNT + 1];
    struct record *rec;
    size_t n_rec;
};

static unsigned block_kind(const struct leaks *l, size_t i)
{
    if (l->m->blocks[i].flags & FMT_BLOCK_IGNORED)
        return KIND_IGNORED;
    return l->kind ? l->kind[i] : KIND_NOT_FREED;
}

static const struct leaks *sort_ctx;

static int by_kind_stack(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    unsigned kx = block_kind(sort_ctx, x), ky = block_kind(sort_ctx, y);
    if (kx != ky)
        return kx < ky ? -1 : 1;
    uint32_t sx = sort_ctx->m->blocks[x].stack_id, sy = sort_ctx->m->blocks[y].stack_id;
    return sx < sy ? -1 : sx > sy ? 1 : (x > y) - (x < y);
}

static int by_size_desc(const void *a, const void *b)
{
    const struct record *x = a, *y = b;
    uint64_t tx = x->bytes + x->indirect, ty = y->bytes + y->indirect;
    if (tx != ty)
        return tx > ty ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind > y->kind ? -1 : 1; /* definitely lost before still reachable */
    return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

static void build_records(struct leaks *l)
{
    const struct model *m = l->m;
    size_t *idx = xmalloc((m->n_blocks ? m->n_blocks : 1) * sizeof *idx);
    size_t n = 0;
    for (size_t i = 0; i < m->n_blocks; i++) {
        unsigned k = block_kind(l, i);
        if (k == KIND_IGNORED)
            continue;
        l->bytes[k] += m->blocks[i].size;
        l->blocks[k]++;
        idx[n++] = i;
    }
    sort_ctx = l;
    qsort(idx, n, sizeof *idx, by_kind_stack);
    l->rec = xcalloc(n ? n : 1, sizeof *l->rec);
    for (size_t i = 0; i < n; i++) {
        size_t b = idx[i];
        unsigned k = block_kind(l, b);
        const char *type = sym_block_type(l->sym, m, b);
        struct record *r = l->n_rec ? &l->rec[l->n_rec - 1] : NULL;
        if (!r || r->kind != k || r->stack_id != m->blocks[b].stack_id) {
            r = &l->rec[l->n_rec++];
            *r = (struct record){ .kind = k, .stack_id = m->blocks[b].stack_id, .type = type, .first = b };
        } else if (r->type && (!type || strcmp(r->type, type) != 0)) {
            r->type = NULL;
        }
        r->bytes += m->blocks[b].size;
        r->blocks++;
        if (l->indirect && k == KIND_DEFINITELY_LOST)
            r->indirect += l->indirect[b];
    }
    free(idx);
    qsort(l->rec, l->n_rec, sizeof *l->rec, by_size_desc);
}

static const char *kind_name(unsigned k) { return k == KIND_NOT_FREED ? "not_freed" : leak_kind_name(k); }

static const unsigned summary_kinds[] = { KIND_DEFINITELY_LOST, KIND_INDIRECTLY_LOST, KIND_POSSIBLY_LOST,
                                          KIND_STILL_REACHABLE };

static void print_json(const struct leaks *l)
{
    struct json j;
    json_init(&j, stdout);
    json_object(&j, NULL);
    json_str(&j, "snapshot", l->m->snapshot->name);
    json_bool(&j, "scanned", l->kind != NULL);
    json_object(&j, "summary");
    for (size_t i = 0; i < (l->kind ? 4u : 0u); i++) {
        json_object(&j, kind_name(summary_kinds[i]));
        json_u64(&j, "bytes", l->bytes[summary_kinds[i]]);
        json_u64(&j, "blocks", l->blocks[summary_kinds[i]]);
        json_object_end(&j);
    }
    if (!l->kind) {
        json_object(&j, "not_freed");
        json_u64(&j, "bytes", l->bytes[KIND_NOT_FREED]);
        json_u64(&j, "blocks", l->blocks[KIND_NOT_FREED]);
        json_object_end(&j);
    }
    json_object_end(&j);
    json_array(&j, "records");
    for (size_t i = 0; i < l->n_rec; i++) {
        const struct record *r = &l->rec[i];
        json_object(&j, NULL);
        json_str(&j, "kind", kind_name(r->kind));
        json_u64(&j, "bytes", r->bytes);
        json_u64(&j, "blocks", r->blocks);
        json_u64(&j, "indirect_bytes", r->indirect);
        json_str(&j, "type", r->type);
        stack_print_json(&j, "stack", l->sym, l->m, r->stack_id);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
}

static const char *kind_words(unsigned k)
{
    static const char *const words[] = { "still reachable", "possibly lost", "indirectly lost",
                                         "definitely lost", "ignored", "not freed" };
    return words[k];
}

static void print_text(const struct leaks *l)
{
    char a[32], b[32], c[32];
    const struct model *m = l->m;
    printf("%s (pid %llu), snapshot \"%s\":\n", m->program, (unsigned long long)m->pid, m->snapshot->name);
    if (l->kind) {
        for (size_t i = 0; i < 4; i++)
            printf("  %-16s %s bytes in %s blocks\n", kind_words(summary_kinds[i]),
                   fmt_count(a, l->bytes[summary_kinds[i]]), fmt_count(b, l->blocks[summary_kinds[i]]));
    } else {
        printf("  not freed %s bytes in %s blocks (no heap graph: HEAPSCOPE_SCAN=0)\n",
               fmt_count(a, l->bytes[KIND_NOT_FREED]), fmt_count(b, l->blocks[KIND_NOT_FREED]));
    }
    for (size_t i = 0; i < l->n_rec; i++) {
        const struct record *r = &l->rec[i];
        printf("\n%s", fmt_count(a, r->bytes));
        if (r->indirect)
            printf(" (+%s indirect)", fmt_count(c, r->indirect));
        printf(" bytes in %s block%s %s%s%s\n", fmt_count(b, r->blocks), r->blocks == 1 ? "" : "s",
               kind_words(r->kind), r->type ? ", type " : "", r->type ? r->type : "");
        stack_print_text(stdout, l->sym, m, r->stack_id, "    ");
    }
}

int cmd_leaks(int argc, char **argv)
{
    struct common_opts o;
    int status;
    const char *path = cli_parse_reader(argc, argv,
        "heapscope leaks [--format text|json] [--snapshot NAME|INDEX] FILE", &o, &status);
    if (!path)
        return status;
    struct model m;
    if (cli_load(&m, path, o.snapshot) != 0)
        return EXIT_TRACE_ERROR;
    if (!m.snapshot) {
        model_free(&m);
        return cli_error("%s: the trace has no complete snapshot", path);
    }
    struct graph g = { 0 };
    struct leaks l = { .m = &m, .sym = sym_open(&m) };
    if (m.snapshot->scanned) {
        graph_build(&g, &m);
        l.kind = g.kind;
        l.indirect = g.indirect;
    }
    build_records(&l);
    if (o.format == OUT_JSON)
        print_json(&l);
    else
        print_text(&l);
    free(l.rec);
    sym_close(l.sym);
    graph_free(&g);
    model_free(&m);
    return 0;
}
