/*
 * heapscope leaks FILE: the blocks live at a snapshot (exit by default),
 * grouped by allocation stack, biggest first. Until the heap graph is
 * recorded, every such block is of kind "not_freed".
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static void print_json(const struct model *m, const struct model_group *g, size_t n)
{
    struct symbolizer *s = sym_open(m);
    struct json j;
    json_init(&j, stdout);
    json_object(&j, NULL);
    json_str(&j, "snapshot", m->snapshot->name);
    json_object(&j, "summary");
    json_object(&j, "not_freed");
    json_u64(&j, "bytes", m->reported_bytes);
    json_u64(&j, "blocks", m->reported_blocks);
    json_object_end(&j);
    json_object_end(&j);
    json_array(&j, "records");
    for (size_t i = 0; i < n; i++) {
        json_object(&j, NULL);
        json_str(&j, "kind", "not_freed");
        json_u64(&j, "bytes", g[i].bytes);
        json_u64(&j, "blocks", g[i].blocks);
        json_u64(&j, "indirect_bytes", 0);
        json_str(&j, "type", model_type(m, g[i].type_id));
        stack_print_json(&j, "stack", s, m, g[i].stack_id);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    sym_close(s);
}

static void print_text(const struct model *m, const struct model_group *g, size_t n)
{
    struct symbolizer *s = sym_open(m);
    char a[32], b[32], c[32];
    printf("%s (pid %llu): %s bytes in %s blocks not freed at snapshot \"%s\", from %s allocation stacks\n",
           m->program, (unsigned long long)m->pid, fmt_count(a, m->reported_bytes),
           fmt_count(b, m->reported_blocks), m->snapshot->name, fmt_count(c, n));
    for (size_t i = 0; i < n; i++) {
        const char *type = model_type(m, g[i].type_id);
        printf("\n%s bytes in %s block%s not freed%s%s\n", fmt_count(a, g[i].bytes),
               fmt_count(b, g[i].blocks), g[i].blocks == 1 ? "" : "s", type ? ", type " : "",
               type ? type : "");
        stack_print_text(stdout, s, m, g[i].stack_id, "    ");
    }
    sym_close(s);
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
    struct model_group *g;
    size_t n = model_group_by_stack(&m, &g);
    if (o.format == OUT_JSON)
        print_json(&m, g, n);
    else
        print_text(&m, g, n);
    free(g);
    model_free(&m);
    return 0;
}
