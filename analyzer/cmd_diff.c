/*
 * heapscope diff: the change in live blocks between two snapshots, of one
 * trace or of two, grouped by type (tag or C++ class; untagged blocks by the
 * function that allocated them) or by allocation site (function, file:line).
 * Biggest change first.
 *
 *   heapscope diff FILE              first snapshot -> exit (or last)
 *   heapscope diff FILE A B          snapshot A -> snapshot B
 *   heapscope diff FILE_A FILE_B     FILE_A's exit -> FILE_B's exit
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "util.h"

#include "diff.h"

static const char *first_frame(struct symbolizer *s, const struct model *m, uint32_t stack_id,
                               const struct sym_frame **frame)
{
    return sym_site(s, m, stack_id, frame) ? (*frame)->function : NULL;
}

static void key_of(struct symbolizer *s, const struct model *m, size_t b, int by_site, char *key, size_t room,
                   int *is_type)
{
    *is_type = 0;
    if (!by_site) {
        const char *t = sym_block_type(s, m, b);
        if (t) {
            *is_type = 1;
            snprintf(key, room, "%s", t);
            return;
        }
    }
    const struct sym_frame *f = NULL;
    const char *fn = first_frame(s, m, m->blocks[b].stack_id, &f);
    if (!by_site) { /* a demangled C++ name has its parameter list already */
        snprintf(key, room, fn && strchr(fn, '(') ? "%s" : "%s()", fn ? fn : "?");
        return;
    }
    if (f && f->file) {
        const char *base = strrchr(f->file, '/');
        snprintf(key, room, "%s (%s:%u)", fn ? fn : "?", base ? base + 1 : f->file, f->line);
    } else {
        snprintf(key, room, "%s (0x%llx)", fn ? fn : "?", f ? (unsigned long long)f->address : 0ull);
    }
}

void diff_add(struct diff_table *t, const struct model *m, int side, int by_site)
{
    struct symbolizer *s = sym_open(m);
    char key[1024];
    for (size_t b = 0; b < m->n_blocks; b++) {
        if (m->blocks[b].flags & FMT_BLOCK_IGNORED)
            continue;
        int is_type;
        key_of(s, m, b, by_site, key, sizeof key, &is_type);
        size_t *slot = strmap_get(&t->index, key, 1);
        if (*slot == SIZE_MAX) {
            if (t->n == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 256;
                t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
            }
            t->rows[t->n] = (struct diff_row){ .is_type = is_type };
            *slot = t->n++;
        }
        struct diff_row *r = &t->rows[*slot];
        r->count[side]++;
        r->bytes[side] += m->blocks[b].size;
    }
    cli_sym_close(s);
}

int64_t diff_delta(uint64_t before, uint64_t after) { return (int64_t)(after - before); }

static int by_change(const void *a, const void *b)
{
    const struct diff_row *x = a, *y = b;
    int64_t dx = llabs(diff_delta(x->bytes[0], x->bytes[1])), dy = llabs(diff_delta(y->bytes[0], y->bytes[1]));
    if (dx != dy)
        return dx > dy ? -1 : 1;
    dx = llabs(diff_delta(x->count[0], x->count[1]));
    dy = llabs(diff_delta(y->count[0], y->count[1]));
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *const by_names[] = { "type", "site", NULL };

static struct {
    int format; /* enum out_format */
    int by_site;
    int all;
} env;

static int diff_main(int argc, char **argv)
{
    int by_site = env.by_site, all = env.all;
    struct common_opts o = { .format = env.format };
    const char *file[2], *snap[2];
    if (argc == 1) {
        file[0] = file[1] = argv[0];
        snap[0] = "0";
        snap[1] = NULL;
    } else if (argc == 2 && is_file(argv[1])) {
        file[0] = argv[0];
        file[1] = argv[1];
        snap[0] = snap[1] = NULL;
    } else {
        file[0] = file[1] = argv[0];
        snap[0] = argv[1];
        snap[1] = argc == 3 ? argv[2] : NULL;
    }
    struct diff_table t = { 0 };
    const char *names[2];
    struct model m;
    for (int side = 0; side < 2; side++) {
        if (cli_load(&m, file[side], &(struct model_load_options){ .snapshot = snap[side] }) != 0) {
            diff_free(&t);
            return EXIT_TRACE_ERROR;
        }
        if (!m.snapshot) {
            model_free(&m);
            diff_free(&t);
            return cli_error("%s: the trace has no complete snapshot", file[side]);
        }
        names[side] = xstrdup(m.snapshot->name);
        diff_add(&t, &m, side, by_site);
        model_free(&m);
    }
    diff_finish(&t);
    struct json j;
    json_init(&j, stdout);
    if (o.format == OUT_JSON) {
        json_object(&j, NULL);
        json_str(&j, "by", by_site ? "site" : "type");
        json_str(&j, "from", names[0]);
        json_str(&j, "to", names[1]);
        if (file[0] != file[1]) {
            json_str(&j, "from_file", file[0]);
            json_str(&j, "to_file", file[1]);
        }
        json_array(&j, "rows");
    } else {
        printf("%-40s %12s %12s %14s\n", by_site ? "allocation site" : "type (or allocating function)",
               "count", "delta", "bytes delta");
    }
    for (size_t i = 0; i < t.n; i++) {
        const struct diff_row *r = &t.rows[i];
        if (!all && r->count[0] == r->count[1] && r->bytes[0] == r->bytes[1])
            continue;
        if (o.format == OUT_JSON) {
            json_object(&j, NULL);
            json_str(&j, "key", r->key);
            json_str(&j, "key_kind", by_site ? "site" : r->is_type ? "type" : "function");
            json_u64(&j, "count_before", r->count[0]);
            json_u64(&j, "count_after", r->count[1]);
            json_i64(&j, "count_delta", diff_delta(r->count[0], r->count[1]));
            json_u64(&j, "bytes_before", r->bytes[0]);
            json_u64(&j, "bytes_after", r->bytes[1]);
            json_i64(&j, "bytes_delta", diff_delta(r->bytes[0], r->bytes[1]));
            json_object_end(&j);
        } else {
            printf("%-40s %12llu %+12lld %+14lld\n", r->key, (unsigned long long)r->count[1],
                   (long long)diff_delta(r->count[0], r->count[1]), (long long)diff_delta(r->bytes[0], r->bytes[1]));
        }
    }
    if (o.format == OUT_JSON) {
        json_array_end(&j);
        json_object_end(&j);
    }
    free((void *)names[0]);
    free((void *)names[1]);
    diff_free(&t);
    return 0;
}

static const struct opt options[] = {
    OPT_FORMAT(&env),
    OPT_CHOICE(0, "by", &env.by_site, by_names, "rows by type (default; untyped blocks by function) or by site"),
    OPT_BOOL(0, "all", &env.all, "show the rows that did not change too"),
    OPT_TERMINATOR,
};

const struct command command_diff = {
    .name = "diff", .args = "(FILE [A B] | FILE_A FILE_B)", .min_args = 1, .max_args = 3, .options = options,
    .main = diff_main,
    .summary = "change in live blocks between two snapshots, by type or by site",
    .about = "  heapscope diff FILE              the first snapshot against exit (or the last)\n"
             "  heapscope diff FILE A B          snapshot A against snapshot B (names or indices)\n"
             "  heapscope diff FILE_A FILE_B     FILE_A's exit against FILE_B's\n",
};

void diff_finish(struct diff_table *t)
{
    for (size_t i = 0; i < t->index.cap; i++) /* rows take their keys from the map */
        if (t->index.keys[i])
            t->rows[t->index.vals[i]].key = t->index.keys[i];
    if (t->n) /* qsort wants an array, even of nothing */
        qsort(t->rows, t->n, sizeof *t->rows, by_change);
}

void diff_free(struct diff_table *t)
{
    strmap_free(&t->index);
    free(t->rows);
}
